//! The products' storage: the columns of a `products` row, its mapping to [`Product`],
//! and the SQL that checks, inserts and updates the rows.

use super::{Product, Variant};
use kit::db::{Db, DbError, Row, SqlValue};
use serde_json::Value;

/// The columns [`product_from_row`] reads, in its order, of `products p`.
pub(crate) const PRODUCT_COLUMNS: &str = "p.id, p.sku, p.name, p.slug, p.description, p.price, \
     p.currency, p.category_id, p.brand, p.image_url, p.attributes, p.active, p.created_at, p.updated_at, \
     p.options, p.variants";

pub(crate) fn product_from_row(row: &Row) -> Result<Product, DbError> {
    let attributes = row.get_str(10)?;
    let json = |column: &str, text: &str| {
        DbError::Other(format!(
            "products.{column} is not what it should be: {text}"
        ))
    };
    let options =
        serde_json::from_str(row.get_str(14)?).map_err(|e| json("options", &e.to_string()))?;
    let mut variants: Vec<Variant> =
        serde_json::from_str(row.get_str(15)?).map_err(|e| json("variants", &e.to_string()))?;
    let (sku, name, price) = (row.get_str(1)?, row.get_str(2)?, row.get_i64(5)?);
    if variants.is_empty() {
        variants.push(Variant::only(sku, name, price));
    }
    Ok(Product {
        options,
        variants,
        id: row.get_str(0)?.to_owned(),
        sku: row.get_str(1)?.to_owned(),
        name: row.get_str(2)?.to_owned(),
        slug: row.get_str(3)?.to_owned(),
        description: row.get_str(4)?.to_owned(),
        price: row.get_i64(5)?,
        currency: row.get_str(6)?.to_owned(),
        category_id: row.get_opt_str(7)?.map(str::to_owned),
        brand: row.get_opt_str(8)?.map(str::to_owned),
        image_url: row.get_opt_str(9)?.map(str::to_owned),
        attributes: serde_json::from_str(attributes).map_err(|e| {
            DbError::Other(format!("products.attributes is not a JSON object: {e}"))
        })?,
        active: row.get_bool(11)?,
        created_at: row.get_str(12)?.to_owned(),
        updated_at: row.get_str(13)?.to_owned(),
    })
}

/// The values of the columns a write sets, from `sku` to `active` in table order.
fn writable_values(product: &Product) -> Vec<SqlValue> {
    vec![
        product.sku.as_str().into(),
        product.name.as_str().into(),
        product.slug.as_str().into(),
        product.description.as_str().into(),
        product.price.into(),
        product.currency.as_str().into(),
        product.category_id.as_deref().into(),
        product.brand.as_deref().into(),
        product.image_url.as_deref().into(),
        Value::Object(product.attributes.clone()).to_string().into(),
        product.active.into(),
        serde_json::json!(product.options).to_string().into(),
        stored_variants(product).into(),
    ]
}

/// The `variants` column: the variants of a product with options; `[]` for one without,
/// which is its own single variant.
fn stored_variants(product: &Product) -> String {
    if product.options.is_empty() {
        "[]".to_owned()
    } else {
        serde_json::json!(product.variants).to_string()
    }
}

/// Whether another product of the tenant than `except_id` has `value` in `column`
/// (`sku` or `slug`, constants of the `products` module: it is spliced into the SQL).
pub(super) async fn taken<D: Db>(
    db: &D,
    tenant: &str,
    column: &str,
    value: &str,
    except_id: &str,
) -> Result<bool, DbError> {
    let rows = db
        .query(
            &format!("SELECT 1 FROM products WHERE tenant = $1 AND {column} = $2 AND id <> $3"),
            &[tenant.into(), value.into(), except_id.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Inserts the new `product` of the tenant.
pub(super) async fn insert_product<D: Db>(
    db: &D,
    tenant: &str,
    product: &Product,
) -> Result<u64, DbError> {
    let mut params: Vec<SqlValue> = vec![product.id.as_str().into(), tenant.into()];
    params.extend(writable_values(product));
    params.push(product.created_at.as_str().into());
    params.push(product.updated_at.as_str().into());
    db.execute(
        "INSERT INTO products (id, tenant, sku, name, slug, description, price, currency, \
         category_id, brand, image_url, attributes, active, options, variants, created_at, \
         updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        &params,
    )
    .await
}

/// Writes `next` over the tenant's product `id`: every writable column and `updated_at`.
pub(super) async fn update_product_row<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    next: &Product,
) -> Result<u64, DbError> {
    let mut params: Vec<SqlValue> = vec![tenant.into(), id.into()];
    params.extend(writable_values(next));
    params.push(next.updated_at.as_str().into());
    db.execute(
        "UPDATE products SET sku = $3, name = $4, slug = $5, description = $6, price = $7, \
         currency = $8, category_id = $9, brand = $10, image_url = $11, attributes = $12, \
         active = $13, options = $14, variants = $15, updated_at = $16 \
         WHERE tenant = $1 AND id = $2",
        &params,
    )
    .await
}
