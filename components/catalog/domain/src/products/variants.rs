//! Options and variants: a product with options (size, colour) sells variants, each a
//! SKU with its own price and one value of every option; a product without options is
//! its own single variant, its `sku` at its `price`. Stock is inventory's, per SKU, so a
//! variant's stock is its SKU's. The `variants` table maps every SKU a customer can buy
//! to its product, so a SKU is one variant of one product in a tenant.

use kit::db::{Db, DbError, SqlValue};
use kit::json::FieldErrors;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

pub const MAX_OPTIONS: usize = 3;
pub const MAX_OPTION_VALUES: usize = 100;
pub const MAX_OPTION_CHARS: usize = 50;
pub const MAX_VARIANTS: usize = 100;

/// An option and the values a variant may take, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductOption {
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    #[schema(min_items = 1, max_items = 100)]
    pub values: Vec<String>,
}

/// A variant as written: its SKU, price and the value of each of the product's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariant {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    /// Minor units of the product's currency.
    #[schema(minimum = 0)]
    pub price: i64,
    /// Each option's name and this variant's value of it, e.g. `{"size": "M"}`.
    pub options: BTreeMap<String, String>,
    /// Ignored (a variant's name follows the product's and its values), so a variant
    /// read from the API may be sent back as it is.
    #[serde(default)]
    #[schema(read_only)]
    pub name: Option<String>,
}

/// A variant as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Variant {
    pub sku: String,
    /// The product's name with the variant's values: `Tee (M / Red)`; the product's name
    /// alone for a product without options.
    pub name: String,
    /// Minor units of the product's currency.
    pub price: i64,
    pub options: BTreeMap<String, String>,
}

impl Variant {
    /// The single variant of a product without options.
    pub(crate) fn only(sku: &str, name: &str, price: i64) -> Self {
        Variant {
            sku: sku.to_owned(),
            name: name.to_owned(),
            price,
            options: BTreeMap::new(),
        }
    }
}

/// The name a variant of `product_name` with `options` (in their order) shows.
fn variant_name(
    product_name: &str,
    options: &[ProductOption],
    values: &BTreeMap<String, String>,
) -> String {
    let picked: Vec<&str> = options
        .iter()
        .filter_map(|option| values.get(&option.name).map(String::as_str))
        .collect();
    format!("{product_name} ({})", picked.join(" / "))
}

/// A trimmed text of 1 to [`MAX_OPTION_CHARS`] characters.
fn option_text(value: &str) -> Result<String, String> {
    let trimmed = value.trim();
    match trimmed.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > MAX_OPTION_CHARS => Err(format!("must be at most {MAX_OPTION_CHARS} characters")),
        _ => Ok(trimmed.to_owned()),
    }
}

/// `options` checked: 1 to [`MAX_OPTIONS`], names distinct, each with 1 to
/// [`MAX_OPTION_VALUES`] distinct values; texts trimmed. Errors name `options[i]...`.
pub(crate) fn checked_options(
    options: &[ProductOption],
    errors: &mut FieldErrors,
) -> Vec<ProductOption> {
    if options.is_empty() || options.len() > MAX_OPTIONS {
        errors.push("options", format!("must list 1 to {MAX_OPTIONS} options"));
        // Nothing more is read of a list over its limit: its length alone refuses it.
        return Vec::new();
    }
    let mut checked: Vec<ProductOption> = Vec::new();
    for (i, option) in options.iter().enumerate() {
        let name = match option_text(&option.name) {
            Ok(name) if checked.iter().any(|earlier| earlier.name == name) => {
                errors.push(format!("options[{i}].name"), "names another option too");
                continue;
            }
            Ok(name) => name,
            Err(message) => {
                errors.push(format!("options[{i}].name"), message);
                continue;
            }
        };
        if option.values.is_empty() || option.values.len() > MAX_OPTION_VALUES {
            errors.push(
                format!("options[{i}].values"),
                format!("must list 1 to {MAX_OPTION_VALUES} values"),
            );
            continue;
        }
        let mut values: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for (j, value) in option.values.iter().enumerate() {
            match option_text(value) {
                Ok(value) if !seen.insert(value.clone()) => {
                    errors.push(format!("options[{i}].values[{j}]"), "appears twice")
                }
                Ok(value) => values.push(value),
                Err(message) => errors.push(format!("options[{i}].values[{j}]"), message),
            }
        }
        checked.push(ProductOption { name, values });
    }
    checked
}

/// `variants` of a product named `product_name` with `options`, checked: 1 to
/// [`MAX_VARIANTS`], SKUs well formed (as a product's) and distinct, prices not negative,
/// and each giving one of its values to every option and nothing else, no two alike.
pub(crate) fn checked_variants(
    product_name: &str,
    options: &[ProductOption],
    variants: &[NewVariant],
    errors: &mut FieldErrors,
) -> Vec<Variant> {
    if variants.is_empty() || variants.len() > MAX_VARIANTS {
        errors.push(
            "variants",
            format!("must list 1 to {MAX_VARIANTS} variants"),
        );
        return Vec::new();
    }
    let mut checked: Vec<Variant> = Vec::new();
    let (mut skus, mut combinations) = (HashSet::new(), HashSet::new());
    for (i, variant) in variants.iter().enumerate() {
        let field = |name: &str| format!("variants[{i}].{name}");
        match super::sku(&variant.sku) {
            Ok(_) if !skus.insert(variant.sku.as_str()) => {
                errors.push(field("sku"), "is another variant's too")
            }
            Ok(_) => {}
            Err(message) => errors.push(field("sku"), message),
        }
        if variant.price < 0 {
            errors.push(
                field("price"),
                "must be zero or more (an integer amount of minor units)",
            );
        }
        let mut values = BTreeMap::new();
        for (name, value) in &variant.options {
            let (name, value) = (name.trim(), value.trim());
            match options.iter().find(|option| option.name == name) {
                _ if values.contains_key(name) => {
                    errors.push(field("options"), format!("names {name:?} twice"))
                }
                None => errors.push(
                    field("options"),
                    format!("names {name:?}, which is not an option"),
                ),
                Some(option) if !option.values.iter().any(|known| known == value) => errors.push(
                    field("options"),
                    format!("{value:?} is not one of the values of {name:?}"),
                ),
                Some(_) => {
                    values.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        if let Some(missing) = options.iter().find(|option| {
            !variant
                .options
                .keys()
                .any(|name| name.trim() == option.name)
        }) {
            errors.push(
                field("options"),
                format!("needs a value of {:?}", missing.name),
            );
        }
        if !combinations.insert(values.clone()) {
            errors.push(field("options"), "are another variant's too");
        }
        checked.push(Variant {
            sku: variant.sku.clone(),
            name: variant_name(product_name, options, &values),
            price: variant.price,
            options: values,
        });
    }
    checked
}

/// Names the variants of a product called `product_name` anew (after a rename).
pub(crate) fn renamed(product_name: &str, options: &[ProductOption], variants: &mut [Variant]) {
    for variant in variants {
        variant.name = if options.is_empty() {
            product_name.to_owned()
        } else {
            variant_name(product_name, options, &variant.options)
        };
    }
}

/// Which of `skus` another product of the tenant than `except_id` sells or has as its
/// own.
pub(crate) async fn taken_skus<D: Db>(
    db: &D,
    tenant: &str,
    skus: &[&str],
    except_id: &str,
) -> Result<HashSet<String>, DbError> {
    if skus.is_empty() {
        return Ok(HashSet::new());
    }
    let mut params: Vec<SqlValue> = vec![tenant.into(), except_id.into()];
    params.extend(skus.iter().map(|sku| SqlValue::from(*sku)));
    let listed: Vec<String> = (3..=params.len()).map(|n| format!("${n}")).collect();
    let listed = listed.join(", ");
    let rows = db
        .query(
            &format!(
                "SELECT sku FROM variants WHERE tenant = $1 AND product_id <> $2 AND sku IN ({listed}) \
                 UNION SELECT sku FROM products WHERE tenant = $1 AND id <> $2 AND sku IN ({listed})"
            ),
            &params,
        )
        .await?;
    rows.iter()
        .map(|row| Ok(row.get_str(0)?.to_owned()))
        .collect()
}

/// Makes the product's SKUs in the `variants` table exactly `skus`.
pub(crate) async fn index_skus<D: Db>(
    db: &D,
    tenant: &str,
    product_id: &str,
    skus: &[&str],
) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM variants WHERE tenant = $1 AND product_id = $2",
        &[tenant.into(), product_id.into()],
    )
    .await?;
    if skus.is_empty() {
        return Ok(());
    }
    let mut params: Vec<SqlValue> = vec![tenant.into(), product_id.into()];
    let rows: Vec<String> = skus
        .iter()
        .map(|sku| {
            params.push((*sku).into());
            format!("($1, ${}, $2)", params.len())
        })
        .collect();
    db.execute(
        &format!(
            "INSERT INTO variants (tenant, sku, product_id) VALUES {}",
            rows.join(", ")
        ),
        &params,
    )
    .await?;
    Ok(())
}
