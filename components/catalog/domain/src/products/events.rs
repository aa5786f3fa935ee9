//! The payloads of the events products emit: `product.created` and `product.updated`,
//! both carrying the product as the event contract records it.

use super::Product;
use contracts::{ProductCreated, ProductUpdated};
use serde_json::Value;

/// The event payload's view of a product.
fn event_record(product: &Product) -> contracts::Product {
    contracts::Product {
        id: product.id.clone(),
        sku: product.sku.clone(),
        name: product.name.clone(),
        slug: product.slug.clone(),
        description: product.description.clone(),
        price: product.price,
        currency: product.currency.clone(),
        category_id: product.category_id.clone(),
        brand: product.brand.clone(),
        image_url: product.image_url.clone(),
        attributes_json: Value::Object(product.attributes.clone()).to_string(),
        active: product.active,
        created_at: product.created_at.clone(),
        updated_at: product.updated_at.clone(),
        options: product
            .options
            .iter()
            .map(|option| contracts::ProductOption {
                name: option.name.clone(),
                values: option.values.clone(),
            })
            .collect(),
        variants: product
            .variants
            .iter()
            .map(|variant| contracts::ProductVariant {
                sku: variant.sku.clone(),
                name: variant.name.clone(),
                price: variant.price,
                // In the product's order of options.
                options: product
                    .options
                    .iter()
                    .filter_map(|option| {
                        let value = variant.options.get(&option.name)?;
                        Some(contracts::OptionValue {
                            name: option.name.clone(),
                            value: value.clone(),
                        })
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The `product.created` of the new `product`.
pub(super) fn product_created(product: &Product) -> ProductCreated {
    ProductCreated {
        product: event_record(product),
    }
}

/// The `product.updated` of `product` as written, naming its `changed_fields`.
pub(super) fn product_updated(product: &Product, changed_fields: Vec<String>) -> ProductUpdated {
    ProductUpdated {
        product: event_record(product),
        changed_fields,
    }
}
