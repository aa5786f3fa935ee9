//! Products: validation, writes with their events, reads and keyset-paginated lists.

use crate::categories::category_exists;
use crate::currency::known_currency;
use crate::slug::{MAX_SLUG_CHARS, check_slug, slugify};
use crate::{CatalogError, EVENT_SOURCE, Position};
use contracts::{Envelope, ProductCreated, ProductUpdated};
use kit::FieldError;
use kit::db::{Db, DbError, Row, SqlValue, transaction};
use kit::json::FieldErrors;
use kit::pagination::{ListOrder, Page, PageParams};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

pub const MAX_SKU_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_BRAND_CHARS: usize = 200;
pub const MAX_IMAGE_URL_CHARS: usize = 2_048;

const NOT_NULL: &str = "must not be null";

/// A product as the API shows it. Prices are minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub price: i64,
    pub currency: String,
    pub category_id: Option<String>,
    pub brand: Option<String>,
    pub image_url: Option<String>,
    /// Free-form attributes (e.g. `{"colour": "red"}`).
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/v1/products`. Absent optional fields: the slug is derived from the name,
/// the description is empty, attributes `{}`, and the product is active.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewProduct {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Minor units of `currency`.
    #[schema(minimum = 0)]
    pub price: i64,
    /// A known ISO 4217 code such as EUR, in any case (stored upper-case).
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub currency: String,
    #[serde(default)]
    pub category_id: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub brand: Option<String>,
    /// An absolute http(s) URL.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub image_url: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// One field of a PATCH body: absent (unchanged), `null` (cleared) or a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

/// Absence never reaches this: `#[serde(default)]` on the body gives [`Patch::Absent`].
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|value| value.map_or(Patch::Null, Patch::Set))
    }
}

/// As it would be sent: absent and `null` both as `null` (the API document's defaults).
impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Absent | Patch::Null => serializer.serialize_none(),
            Patch::Set(value) => serializer.serialize_some(value),
        }
    }
}

/// `PATCH /api/v1/products/{id}`. `null` clears `category_id`, `brand` and `image_url`,
/// empties `description` and `attributes`, and is an error for the other fields. A
/// changed name keeps the slug (links stay valid); a new slug must be given for that.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProductPatch {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub sku: Patch<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub name: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub slug: Patch<String>,
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Patch<String>,
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub price: Patch<i64>,
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z]{3}$")]
    pub currency: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub category_id: Patch<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub brand: Patch<String>,
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub image_url: Patch<String>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Patch<Value>,
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

/// List filters (`?category_id=`, `?active=`, `?sku=`); `None` and an empty `skus` match
/// every product.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub category_id: Option<String>,
    pub active: Option<bool>,
    /// Products with one of these skus (at most [`MAX_SKU_FILTER`]); empty: any sku.
    pub skus: Vec<String>,
}

/// Most skus one list request may name: a page holds at most 100 products.
pub const MAX_SKU_FILTER: usize = 100;

// Each field's rule: the stored value, or the message for the client.

fn sku(value: &str) -> Result<String, &'static str> {
    let well_formed = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    match value.len() {
        0 => Err("must not be empty"),
        n if n > MAX_SKU_CHARS => Err("must be at most 64 characters"),
        _ if !well_formed => Err("may contain only letters, digits, '.', '_' and '-'"),
        _ => Ok(value.to_owned()),
    }
}

fn name(value: &str) -> Result<String, &'static str> {
    let trimmed = value.trim();
    match trimmed.chars().count() {
        0 => Err("must not be empty"),
        n if n > MAX_NAME_CHARS => Err("must be at most 200 characters"),
        _ => Ok(trimmed.to_owned()),
    }
}

fn slug(value: &str) -> Result<String, &'static str> {
    check_slug(value).map(|()| value.to_owned())
}

fn description(value: &str) -> Result<String, &'static str> {
    if value.chars().count() > MAX_DESCRIPTION_CHARS {
        Err("must be at most 10000 characters")
    } else {
        Ok(value.to_owned())
    }
}

fn price(value: &i64) -> Result<i64, &'static str> {
    if *value < 0 {
        Err("must be zero or more (an integer amount of minor units)")
    } else {
        Ok(*value)
    }
}

fn currency(value: &str) -> Result<String, &'static str> {
    known_currency(value)
        .map(str::to_owned)
        .ok_or("must be an ISO 4217 currency code such as EUR or USD")
}

fn category_id(value: &str) -> Result<Option<String>, &'static str> {
    if value.is_empty() {
        Err("must not be empty; use null for no category")
    } else {
        Ok(Some(value.to_owned()))
    }
}

fn brand(value: &str) -> Result<Option<String>, &'static str> {
    let trimmed = value.trim();
    match trimmed.chars().count() {
        0 => Err("must not be empty; use null for no brand"),
        n if n > MAX_BRAND_CHARS => Err("must be at most 200 characters"),
        _ => Ok(Some(trimmed.to_owned())),
    }
}

fn image_url(value: &str) -> Result<Option<String>, &'static str> {
    let has_host = ["https://", "http://"]
        .iter()
        .find_map(|scheme| value.strip_prefix(scheme))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !has_host || value.chars().any(char::is_whitespace) {
        Err("must be an absolute http(s) URL")
    } else if value.len() > MAX_IMAGE_URL_CHARS {
        Err("must be at most 2048 characters")
    } else {
        Ok(Some(value.to_owned()))
    }
}

fn attributes(value: &Value) -> Result<Map<String, Value>, &'static str> {
    value.as_object().cloned().ok_or("must be a JSON object")
}

/// Applies one PATCH field to `target`. `cleared` is the value `null` sets; `None` makes
/// `null` an error.
fn apply<T, U>(
    errors: &mut FieldErrors,
    field: &str,
    patch: &Patch<T>,
    rule: impl Fn(&T) -> Result<U, &'static str>,
    cleared: Option<U>,
    target: &mut U,
) {
    match patch {
        Patch::Absent => {}
        Patch::Null => match cleared {
            Some(value) => *target = value,
            None => errors.push(field, NOT_NULL),
        },
        Patch::Set(value) => match rule(value) {
            Ok(value) => *target = value,
            Err(message) => errors.push(field, message),
        },
    }
}

impl NewProduct {
    /// The product this body describes, slug aside (`None` when it is to be derived).
    fn to_product(
        &self,
        id: String,
        now: String,
    ) -> Result<(Product, Option<String>), Vec<FieldError>> {
        let sku = sku(&self.sku);
        let name = name(&self.name);
        let slug = self.slug.as_deref().map(slug).transpose();
        let description = self.description.as_deref().map(description).transpose();
        let price = price(&self.price);
        let currency = currency(&self.currency);
        let category_id = self.category_id.as_deref().map(category_id).transpose();
        let brand = self.brand.as_deref().map(brand).transpose();
        let image_url = self.image_url.as_deref().map(image_url).transpose();
        let attributes = self.attributes.as_ref().map(attributes).transpose();
        let errors: Vec<FieldError> = [
            ("sku", sku.as_ref().err()),
            ("name", name.as_ref().err()),
            ("slug", slug.as_ref().err()),
            ("description", description.as_ref().err()),
            ("price", price.as_ref().err()),
            ("currency", currency.as_ref().err()),
            ("category_id", category_id.as_ref().err()),
            ("brand", brand.as_ref().err()),
            ("image_url", image_url.as_ref().err()),
            ("attributes", attributes.as_ref().err()),
        ]
        .into_iter()
        .filter_map(|(field, error)| error.map(|message| FieldError::new(field, *message)))
        .collect();
        let rules = (
            sku,
            name,
            slug,
            description,
            price,
            currency,
            category_id,
            brand,
            image_url,
            attributes,
        );
        let (
            Ok(sku),
            Ok(name),
            Ok(slug),
            Ok(description),
            Ok(price),
            Ok(currency),
            Ok(category_id),
            Ok(brand),
            Ok(image_url),
            Ok(attributes),
        ) = rules
        else {
            return Err(errors);
        };
        let product = Product {
            id,
            sku,
            name,
            slug: String::new(),
            description: description.unwrap_or_default(),
            price,
            currency,
            category_id: category_id.flatten(),
            brand: brand.flatten(),
            image_url: image_url.flatten(),
            attributes: attributes.unwrap_or_default(),
            active: self.active.unwrap_or(true),
            created_at: now.clone(),
            updated_at: now,
        };
        Ok((product, slug))
    }
}

impl ProductPatch {
    /// `current` with this patch applied (`updated_at` untouched).
    fn applied_to(&self, current: &Product) -> Result<Product, Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let mut next = current.clone();
        let e = &mut errors;
        apply(e, "sku", &self.sku, |v| sku(v), None, &mut next.sku);
        apply(e, "name", &self.name, |v| name(v), None, &mut next.name);
        apply(e, "slug", &self.slug, |v| slug(v), None, &mut next.slug);
        apply(
            e,
            "description",
            &self.description,
            |v| description(v),
            Some(String::new()),
            &mut next.description,
        );
        apply(e, "price", &self.price, price, None, &mut next.price);
        apply(
            e,
            "currency",
            &self.currency,
            |v| currency(v),
            None,
            &mut next.currency,
        );
        apply(
            e,
            "category_id",
            &self.category_id,
            |v| category_id(v),
            Some(None),
            &mut next.category_id,
        );
        apply(
            e,
            "brand",
            &self.brand,
            |v| brand(v),
            Some(None),
            &mut next.brand,
        );
        apply(
            e,
            "image_url",
            &self.image_url,
            |v| image_url(v),
            Some(None),
            &mut next.image_url,
        );
        apply(
            e,
            "attributes",
            &self.attributes,
            attributes,
            Some(Map::new()),
            &mut next.attributes,
        );
        apply(
            e,
            "active",
            &self.active,
            |v| Ok(*v),
            None,
            &mut next.active,
        );
        errors.into_result().map(|()| next)
    }
}

/// The fields that differ, named as the API spells them.
fn changed_fields(before: &Product, after: &Product) -> Vec<String> {
    let differs = [
        ("sku", before.sku != after.sku),
        ("name", before.name != after.name),
        ("slug", before.slug != after.slug),
        ("description", before.description != after.description),
        ("price", before.price != after.price),
        ("currency", before.currency != after.currency),
        ("category_id", before.category_id != after.category_id),
        ("brand", before.brand != after.brand),
        ("image_url", before.image_url != after.image_url),
        ("attributes", before.attributes != after.attributes),
        ("active", before.active != after.active),
    ];
    differs
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(field, _)| field.to_owned())
        .collect()
}

/// The columns [`product_from_row`] reads, in its order, of `products p`.
pub(crate) const PRODUCT_COLUMNS: &str = "p.id, p.sku, p.name, p.slug, p.description, p.price, \
     p.currency, p.category_id, p.brand, p.image_url, p.attributes, p.active, p.created_at, p.updated_at";

pub(crate) fn product_from_row(row: &Row) -> Result<Product, DbError> {
    let attributes = row.get_str(10)?;
    Ok(Product {
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
    ]
}

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
    }
}

/// Whether another product of the tenant than `except_id` has `value` in `column`
/// (`sku` or `slug`, constants of this module).
async fn taken<D: Db>(
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

fn conflict(field: &str, value: &str) -> CatalogError {
    CatalogError::Conflict(FieldError::new(
        field,
        format!("{value:?} is taken by another product"),
    ))
}

/// A unique violation that got past the checks (a concurrent write): the constraint's
/// name or columns in the driver's message tell which field.
fn unique_violation_conflict(message: &str, product: &Product) -> CatalogError {
    if message.contains("slug") {
        conflict("slug", &product.slug)
    } else {
        conflict("sku", &product.sku)
    }
}

/// The slug of a new product: the one given, else one derived from the name (or the sku
/// when the name has no ASCII letter or digit), suffixed with the sku when another
/// product of the tenant has it already.
async fn new_product_slug<D: Db>(
    db: &D,
    tenant: &str,
    product: &Product,
    given: Option<String>,
) -> Result<String, CatalogError> {
    if let Some(slug) = given {
        return match taken(db, tenant, "slug", &slug, &product.id).await? {
            true => Err(conflict("slug", &slug)),
            false => Ok(slug),
        };
    }
    let sku_slug = slugify(&product.sku, MAX_SKU_CHARS);
    let mut base = slugify(&product.name, MAX_SLUG_CHARS);
    if base.is_empty() {
        base.clone_from(&sku_slug);
    }
    if !taken(db, tenant, "slug", &base, &product.id).await? {
        return Ok(base);
    }
    let mut suffixed = slugify(&base, MAX_SLUG_CHARS - 1 - sku_slug.len());
    suffixed.push('-');
    suffixed.push_str(&sku_slug);
    match taken(db, tenant, "slug", &suffixed, &product.id).await? {
        true => Err(CatalogError::Conflict(FieldError::new(
            "slug",
            format!("derived slug {suffixed:?} is taken by another product; give a slug"),
        ))),
        false => Ok(suffixed),
    }
}

async fn check_category<D: Db>(
    db: &D,
    tenant: &str,
    category_id: Option<&str>,
) -> Result<(), CatalogError> {
    match category_id {
        Some(id) if !category_exists(db, tenant, id).await? => {
            Err(CatalogError::invalid("category_id", "names no category"))
        }
        _ => Ok(()),
    }
}

/// Creates a product and its `product.created` event in one transaction.
/// `correlation_id` is the request's id, which starts the event's flow.
pub async fn create_product<D: Db>(
    db: &D,
    tenant: &str,
    correlation_id: &str,
    new: &NewProduct,
) -> Result<Product, CatalogError> {
    let (mut product, given_slug) = new
        .to_product(uuid::Uuid::now_v7().to_string(), contracts::now_rfc3339())
        .map_err(CatalogError::Invalid)?;
    transaction(db, async move |db| {
        check_category(db, tenant, product.category_id.as_deref()).await?;
        if taken(db, tenant, "sku", &product.sku, &product.id).await? {
            return Err(conflict("sku", &product.sku));
        }
        product.slug = new_product_slug(db, tenant, &product, given_slug).await?;
        let mut params: Vec<SqlValue> = vec![product.id.as_str().into(), tenant.into()];
        params.extend(writable_values(&product));
        params.push(product.created_at.as_str().into());
        params.push(product.updated_at.as_str().into());
        db.execute(
            "INSERT INTO products (id, tenant, sku, name, slug, description, price, currency, \
             category_id, brand, image_url, attributes, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &params,
        )
        .await
        .map_err(|error| match error {
            DbError::UniqueViolation(message) => unique_violation_conflict(&message, &product),
            other => other.into(),
        })?;
        let event = ProductCreated {
            product: event_record(&product),
        };
        kit::outbox::enqueue(
            db,
            &Envelope::new(EVENT_SOURCE, tenant, correlation_id, event),
        )
        .await?;
        Ok(product)
    })
    .await
}

/// The product `id` of the tenant, active or not.
pub async fn get_product<D: Db>(db: &D, tenant: &str, id: &str) -> Result<Product, CatalogError> {
    let rows = db
        .query(
            &format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant = $1 AND p.id = $2"),
            &[tenant.into(), id.into()],
        )
        .await?;
    let row = rows.first().ok_or(CatalogError::NotFound)?;
    Ok(product_from_row(row)?)
}

/// Applies a PATCH and writes `product.updated` (naming the changed fields) in one
/// transaction. A patch that changes nothing writes nothing and emits nothing.
pub async fn update_product<D: Db>(
    db: &D,
    tenant: &str,
    correlation_id: &str,
    id: &str,
    patch: &ProductPatch,
) -> Result<Product, CatalogError> {
    transaction(db, async |db| {
        let current = get_product(db, tenant, id).await?;
        let mut next = patch.applied_to(&current).map_err(CatalogError::Invalid)?;
        let changed = changed_fields(&current, &next);
        if changed.is_empty() {
            return Ok(current);
        }
        if next.category_id != current.category_id {
            check_category(db, tenant, next.category_id.as_deref()).await?;
        }
        for (field, before, after) in [
            ("sku", &current.sku, &next.sku),
            ("slug", &current.slug, &next.slug),
        ] {
            if before != after && taken(db, tenant, field, after, id).await? {
                return Err(conflict(field, after));
            }
        }
        next.updated_at = contracts::now_rfc3339();
        let mut params: Vec<SqlValue> = vec![tenant.into(), id.into()];
        params.extend(writable_values(&next));
        params.push(next.updated_at.as_str().into());
        db.execute(
            "UPDATE products SET sku = $3, name = $4, slug = $5, description = $6, price = $7, \
             currency = $8, category_id = $9, brand = $10, image_url = $11, attributes = $12, \
             active = $13, updated_at = $14 WHERE tenant = $1 AND id = $2",
            &params,
        )
        .await
        .map_err(|error| match error {
            DbError::UniqueViolation(message) => unique_violation_conflict(&message, &next),
            other => other.into(),
        })?;
        let event = ProductUpdated {
            product: event_record(&next),
            changed_fields: changed,
        };
        kit::outbox::enqueue(
            db,
            &Envelope::new(EVENT_SOURCE, tenant, correlation_id, event),
        )
        .await?;
        Ok(next)
    })
    .await
}

/// `DELETE /api/v1/products/{id}`: a soft delete that sets `active = false` (with its
/// `product.updated`). Rows stay because orders, inventory and campaigns refer to the
/// sku, the event contract has no deletion, and a reused sku would confuse them; the
/// sku stays taken. Deleting an inactive product changes nothing.
pub async fn deactivate_product<D: Db>(
    db: &D,
    tenant: &str,
    correlation_id: &str,
    id: &str,
) -> Result<Product, CatalogError> {
    let patch = ProductPatch {
        active: Patch::Set(false),
        ..ProductPatch::default()
    };
    update_product(db, tenant, correlation_id, id, &patch).await
}

/// One page of the tenant's products matching `filter`, oldest first.
pub async fn list_products<D: Db>(
    db: &D,
    tenant: &str,
    filter: &ProductFilter,
    page: &PageParams<Position>,
) -> Result<Page<Product>, CatalogError> {
    let mut sql = format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant = $1");
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    if let Some(category_id) = &filter.category_id {
        params.push(category_id.as_str().into());
        sql.push_str(&format!(" AND p.category_id = ${}", params.len()));
    }
    if let Some(active) = filter.active {
        params.push(active.into());
        sql.push_str(&format!(" AND p.active = ${}", params.len()));
    }
    if !filter.skus.is_empty() {
        let first = params.len() + 1;
        params.extend(filter.skus.iter().map(|sku| sku.as_str().into()));
        let placeholders: Vec<String> = (first..=params.len()).map(|n| format!("${n}")).collect();
        sql.push_str(&format!(" AND p.sku IN ({})", placeholders.join(", ")));
    }
    page.finish_query(&mut sql, &mut params, ListOrder::OldestFirst, Some("p"));
    let rows = db.query(&sql, &params).await?;
    let products = rows
        .iter()
        .map(product_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(products, page.limit, |product| {
        Position::of(&product.created_at, &product.id)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::categories::{NewCategory, create_category};
    use crate::test_support::{REQUEST_ID, TENANT, database};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;
    use serde_json::json;

    fn new_product(sku: &str, name: &str) -> NewProduct {
        NewProduct {
            sku: sku.into(),
            name: name.into(),
            slug: None,
            description: None,
            price: 1250,
            currency: "EUR".into(),
            category_id: None,
            brand: None,
            image_url: None,
            attributes: None,
            active: None,
        }
    }

    fn create(db: &NativeSqlite, new: &NewProduct) -> Result<Product, CatalogError> {
        block_on(create_product(db, TENANT, REQUEST_ID, new))
    }

    fn update(db: &NativeSqlite, id: &str, patch: Value) -> Result<Product, CatalogError> {
        let patch: ProductPatch = serde_json::from_value(patch).unwrap();
        block_on(update_product(db, TENANT, REQUEST_ID, id, &patch))
    }

    /// (topic, envelope) of every outbox row, oldest first.
    fn outbox(db: &NativeSqlite) -> Vec<(String, Value)> {
        block_on(db.query(
            "SELECT topic, payload FROM outbox ORDER BY created_at, id",
            &[],
        ))
        .unwrap()
        .iter()
        .map(|row| {
            let payload = serde_json::from_str(row.get_str(1).unwrap()).unwrap();
            (row.get_str(0).unwrap().to_owned(), payload)
        })
        .collect()
    }

    fn invalid_fields(error: CatalogError) -> Vec<String> {
        match error {
            CatalogError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    fn conflict_field(error: CatalogError) -> String {
        match error {
            CatalogError::Conflict(error) => error.field,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn invalid_products_name_each_field() {
        let db = database();
        let with = |change: &dyn Fn(&mut NewProduct)| {
            let mut new = new_product("MUG-1", "Mug");
            change(&mut new);
            new
        };
        let cases: Vec<(NewProduct, Vec<&str>)> = vec![
            (with(&|p| p.sku = String::new()), vec!["sku"]),
            (with(&|p| p.sku = "MUG 1".into()), vec!["sku"]),
            (with(&|p| p.sku = "M".repeat(65)), vec!["sku"]),
            (with(&|p| p.name = "  ".into()), vec!["name"]),
            (with(&|p| p.name = "n".repeat(201)), vec!["name"]),
            (with(&|p| p.slug = Some("Not A Slug".into())), vec!["slug"]),
            (
                with(&|p| p.description = Some("d".repeat(10_001))),
                vec!["description"],
            ),
            (with(&|p| p.price = -1), vec!["price"]),
            (with(&|p| p.currency = "ABC".into()), vec!["currency"]),
            (with(&|p| p.currency = "€".into()), vec!["currency"]),
            (
                with(&|p| p.category_id = Some(String::new())),
                vec!["category_id"],
            ),
            (with(&|p| p.brand = Some(" ".into())), vec!["brand"]),
            (
                with(&|p| p.image_url = Some("ftp://example.com/a.png".into())),
                vec!["image_url"],
            ),
            (
                with(&|p| p.image_url = Some("https://".into())),
                vec!["image_url"],
            ),
            (
                with(&|p| p.attributes = Some(json!([1, 2]))),
                vec!["attributes"],
            ),
            (
                with(&|p| p.attributes = Some(json!("red"))),
                vec!["attributes"],
            ),
            (
                with(&|p| {
                    p.sku = String::new();
                    p.price = -5;
                    p.currency = "XYZ".into();
                }),
                vec!["sku", "price", "currency"],
            ),
            // Checked against the database, after the rules above.
            (
                with(&|p| p.category_id = Some("no-such-category".into())),
                vec!["category_id"],
            ),
        ];
        for (new, fields) in cases {
            let error = create(&db, &new).unwrap_err();
            assert_eq!(invalid_fields(error), fields, "{new:?}");
        }
        assert!(outbox(&db).is_empty());
        let problem = kit::Problem::from(create(&db, &with(&|p| p.price = -1)).unwrap_err());
        assert_eq!(
            (problem.status, problem.errors[0].field.as_str()),
            (422, "price")
        );
    }

    #[test]
    fn create_stores_defaults_and_enqueues_product_created() {
        let db = database();
        let mut new = new_product("MUG-1", "  Blue Mug ");
        new.currency = "eur".into();
        let product = create(&db, &new).unwrap();
        assert_eq!(product.name, "Blue Mug");
        assert_eq!(product.slug, "blue-mug");
        assert_eq!(product.currency, "EUR");
        assert_eq!(product.description, "");
        assert_eq!(product.attributes, Map::new());
        assert!(product.active);
        assert_eq!(product.created_at, product.updated_at);
        assert_eq!(
            block_on(get_product(&db, TENANT, &product.id)).unwrap(),
            product
        );

        let events = outbox(&db);
        assert_eq!(events.len(), 1);
        let (topic, envelope) = &events[0];
        assert_eq!(topic, "product.created");
        assert_eq!(envelope["source"], "catalog");
        assert_eq!(envelope["tenant"], TENANT);
        assert_eq!(envelope["correlationid"], REQUEST_ID);
        assert_eq!(envelope["data"]["product"]["id"], product.id.as_str());
        assert_eq!(envelope["data"]["product"]["price"], 1250);
        assert_eq!(envelope["data"]["product"]["attributes_json"], "{}");
    }

    #[test]
    fn create_keeps_every_given_field() {
        let db = database();
        let category = block_on(create_category(
            &db,
            TENANT,
            &NewCategory {
                name: "Kitchen".into(),
                slug: None,
            },
        ))
        .unwrap();
        let new = NewProduct {
            slug: Some("kettle-deluxe".into()),
            description: Some("Boils water fast.".into()),
            category_id: Some(category.id.clone()),
            brand: Some("Acme".into()),
            image_url: Some("https://img.example.com/kettle.png".into()),
            attributes: Some(json!({"color": "red", "litres": 1.5})),
            active: Some(false),
            price: 0,
            ..new_product("KET-1", "Kettle")
        };
        let product = create(&db, &new).unwrap();
        assert_eq!(product.slug, "kettle-deluxe");
        assert_eq!(product.category_id, Some(category.id));
        assert_eq!(product.attributes["color"], "red");
        assert!(!product.active);
        assert_eq!(
            block_on(get_product(&db, TENANT, &product.id)).unwrap(),
            product
        );
        let json = serde_json::to_value(&product).unwrap();
        assert_eq!(json["attributes"], json!({"color": "red", "litres": 1.5}));
        assert_eq!(json["price"], 0);
    }

    #[test]
    fn product_from_another_tenant_is_not_found() {
        let db = database();
        let product = create(&db, &new_product("MUG-1", "Mug")).unwrap();
        let missing = block_on(get_product(&db, "other", &product.id)).unwrap_err();
        assert!(matches!(missing, CatalogError::NotFound), "{missing:?}");
        assert_eq!(kit::Problem::from(missing).status, 404);
    }

    #[test]
    fn duplicate_sku_is_a_conflict_and_writes_no_event() {
        let db = database();
        create(&db, &new_product("MUG-1", "Mug")).unwrap();
        let error = create(&db, &new_product("MUG-1", "Other mug")).unwrap_err();
        let problem = kit::Problem::from(error);
        assert_eq!(
            (problem.status, problem.errors[0].field.as_str()),
            (409, "sku")
        );
        assert_eq!(outbox(&db).len(), 1);
        // Skus are unique per tenant only.
        block_on(create_product(
            &db,
            "other",
            REQUEST_ID,
            &new_product("MUG-1", "Mug"),
        ))
        .unwrap();
    }

    #[test]
    fn unique_violation_from_a_race_names_its_field() {
        let product = create(&database(), &new_product("MUG-1", "Mug")).unwrap();
        let sqlite = "UNIQUE constraint failed: products.tenant, products.sku";
        let postgres = "duplicate key value violates unique constraint \"products_slug_unique\"";
        let conflict = |message| match unique_violation_conflict(message, &product) {
            CatalogError::Conflict(error) => (error.field, error.message),
            other => panic!("expected a conflict, got {other:?}"),
        };
        assert_eq!(
            conflict(sqlite),
            ("sku".into(), "\"MUG-1\" is taken by another product".into())
        );
        assert_eq!(
            conflict(postgres),
            ("slug".into(), "\"mug\" is taken by another product".into())
        );
    }

    #[test]
    fn slugs_are_unique_per_tenant() {
        let db = database();
        let first = create(&db, &new_product("MUG-1", "Blue Mug")).unwrap();
        let second = create(&db, &new_product("MUG_2", "Blue mug!")).unwrap();
        assert_eq!(
            (first.slug.as_str(), second.slug.as_str()),
            ("blue-mug", "blue-mug-mug-2")
        );
        let third = create(&db, &new_product("日本-1", "日本茶"));
        assert_eq!(invalid_fields(third.unwrap_err()), ["sku"]);
        let tea = create(&db, &new_product("TEA-1", "日本茶")).unwrap();
        assert_eq!(tea.slug, "tea-1");

        let explicit = NewProduct {
            slug: Some("blue-mug".into()),
            ..new_product("MUG-3", "Mug")
        };
        assert_eq!(conflict_field(create(&db, &explicit).unwrap_err()), "slug");
        let error = update(&db, &second.id, json!({"slug": "blue-mug"})).unwrap_err();
        assert_eq!(conflict_field(error), "slug");
    }

    #[test]
    fn patch_distinguishes_absent_null_and_value() {
        let patch: ProductPatch =
            serde_json::from_value(json!({"brand": null, "price": 5})).unwrap();
        assert_eq!(patch.brand, Patch::Null);
        assert_eq!(patch.price, Patch::Set(5));
        assert_eq!(patch.name, Patch::Absent);
        assert!(serde_json::from_value::<ProductPatch>(json!({"price": "5"})).is_err());
    }

    #[test]
    fn update_applies_the_patch_and_enqueues_product_updated() {
        let db = database();
        let new = NewProduct {
            brand: Some("Acme".into()),
            description: Some("Old".into()),
            attributes: Some(json!({"size": "L"})),
            ..new_product("MUG-1", "Mug")
        };
        let product = create(&db, &new).unwrap();
        let updated = update(
            &db,
            &product.id,
            json!({"name": "Big Mug", "price": 1500, "brand": null, "description": null, "currency": "usd"}),
        )
        .unwrap();
        assert_eq!(updated.name, "Big Mug");
        assert_eq!(updated.slug, "mug", "a rename keeps the slug");
        assert_eq!(updated.price, 1500);
        assert_eq!(updated.currency, "USD");
        assert_eq!(updated.brand, None);
        assert_eq!(updated.description, "");
        assert_eq!(updated.attributes, product.attributes, "absent stays");
        assert_eq!(updated.created_at, product.created_at);
        assert!(updated.updated_at >= product.updated_at);
        assert_eq!(
            block_on(get_product(&db, TENANT, &product.id)).unwrap(),
            updated
        );

        let events = outbox(&db);
        assert_eq!(events.len(), 2);
        let (topic, envelope) = &events[1];
        assert_eq!(topic, "product.updated");
        assert_eq!(envelope["source"], "catalog");
        assert_eq!(
            envelope["data"]["changed_fields"],
            json!(["name", "description", "price", "currency", "brand"])
        );
        assert_eq!(envelope["data"]["product"]["name"], "Big Mug");

        // Nothing changed: nothing written.
        let same = update(&db, &product.id, json!({"price": 1500})).unwrap();
        assert_eq!(same, updated);
        assert_eq!(outbox(&db).len(), 2);
    }

    #[test]
    fn update_rejects_bad_fields_nulls_and_taken_skus() {
        let db = database();
        let product = create(&db, &new_product("MUG-1", "Mug")).unwrap();
        create(&db, &new_product("MUG-2", "Other")).unwrap();
        let error = update(
            &db,
            &product.id,
            json!({"name": null, "price": -1, "attributes": [1]}),
        )
        .unwrap_err();
        assert_eq!(invalid_fields(error), ["name", "price", "attributes"]);
        let error = update(&db, &product.id, json!({"category_id": "nope"})).unwrap_err();
        assert_eq!(invalid_fields(error), ["category_id"]);
        let error = update(&db, &product.id, json!({"sku": "MUG-2"})).unwrap_err();
        assert_eq!(conflict_field(error), "sku");
        let missing = update(&db, "no-such-id", json!({"price": 1})).unwrap_err();
        assert!(matches!(missing, CatalogError::NotFound), "{missing:?}");
        let patch = ProductPatch::default();
        let other_tenant = block_on(update_product(
            &db,
            "other",
            REQUEST_ID,
            &product.id,
            &patch,
        ));
        assert!(matches!(other_tenant, Err(CatalogError::NotFound)));
        assert_eq!(
            block_on(get_product(&db, TENANT, &product.id)).unwrap(),
            product
        );
        assert_eq!(outbox(&db).len(), 2);
    }

    #[test]
    fn deactivate_is_a_soft_delete_with_an_event() {
        let db = database();
        let product = create(&db, &new_product("MUG-1", "Mug")).unwrap();
        let deleted = block_on(deactivate_product(&db, TENANT, REQUEST_ID, &product.id)).unwrap();
        assert!(!deleted.active);
        assert!(
            !block_on(get_product(&db, TENANT, &product.id))
                .unwrap()
                .active
        );
        let again = block_on(deactivate_product(&db, TENANT, REQUEST_ID, &product.id)).unwrap();
        assert_eq!(again, deleted);
        let events = outbox(&db);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].1["data"]["changed_fields"], json!(["active"]));
        // The sku stays taken.
        assert_eq!(
            conflict_field(create(&db, &new_product("MUG-1", "Mug")).unwrap_err()),
            "sku"
        );
    }

    #[test]
    fn failed_transaction_leaves_neither_product_nor_event() {
        let db = database();
        // The event cannot be written: the product must not be either.
        block_on(db.execute("DROP TABLE outbox", &[])).unwrap();
        let error = create(&db, &new_product("MUG-1", "Mug")).unwrap_err();
        assert!(matches!(error, CatalogError::Db(_)), "{error:?}");
        let rows = block_on(db.query("SELECT COUNT(*) FROM products", &[])).unwrap();
        assert_eq!(rows[0].get_i64(0).unwrap(), 0);
    }

    /// Walks every page of `filter`, checking each page's size.
    fn all_pages(db: &NativeSqlite, filter: &ProductFilter, limit: u32) -> Vec<Product> {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = block_on(list_products(
                db,
                TENANT,
                filter,
                &PageParams { limit, after },
            ))
            .unwrap();
            assert!(page.items.len() <= limit as usize);
            seen.extend(page.items);
            match page.next_cursor {
                Some(cursor) => after = Some(kit::pagination::decode_cursor(&cursor).unwrap()),
                None => return seen,
            }
        }
    }

    fn ids(products: &[Product]) -> Vec<&str> {
        products.iter().map(|p| p.id.as_str()).collect()
    }

    #[test]
    fn pages_cover_every_product_once_in_order() {
        let db = database();
        let created: Vec<Product> = (0..53)
            .map(|n| {
                create(
                    &db,
                    &new_product(&format!("SKU-{n:02}"), &format!("Product {n}")),
                )
                .unwrap()
            })
            .collect();
        block_on(create_product(
            &db,
            "other",
            REQUEST_ID,
            &new_product("SKU-X", "Elsewhere"),
        ))
        .unwrap();

        let first = block_on(list_products(
            &db,
            TENANT,
            &ProductFilter::default(),
            &PageParams {
                limit: 10,
                after: None,
            },
        ))
        .unwrap();
        assert_eq!(first.items.len(), 10);
        let listed = all_pages(&db, &ProductFilter::default(), 10);
        assert_eq!(ids(&listed), ids(&created));

        // Identical timestamps: the id breaks the tie, still without gaps or repeats.
        block_on(db.execute(
            "UPDATE products SET created_at = '2025-01-01T00:00:00.000000Z'",
            &[],
        ))
        .unwrap();
        let mut expected = ids(&created);
        expected.sort_unstable();
        assert_eq!(
            ids(&all_pages(&db, &ProductFilter::default(), 10)),
            expected
        );
        assert_eq!(
            ids(&all_pages(&db, &ProductFilter::default(), 100)),
            expected
        );
    }

    #[test]
    fn lists_filter_by_category_and_active() {
        let db = database();
        let category = block_on(create_category(
            &db,
            TENANT,
            &NewCategory {
                name: "Mugs".into(),
                slug: None,
            },
        ))
        .unwrap();
        let in_category = |sku: &str, active: bool| NewProduct {
            category_id: Some(category.id.clone()),
            active: Some(active),
            ..new_product(sku, sku)
        };
        let a = create(&db, &in_category("A", true)).unwrap();
        let b = create(&db, &in_category("B", false)).unwrap();
        let c = create(&db, &new_product("C", "C")).unwrap();
        let filter = |category_id: Option<&str>, active: Option<bool>| ProductFilter {
            category_id: category_id.map(str::to_owned),
            active,
            skus: Vec::new(),
        };
        let cases = [
            (filter(None, None), vec![&a, &b, &c]),
            (filter(Some(&category.id), None), vec![&a, &b]),
            (filter(Some(&category.id), Some(true)), vec![&a]),
            (filter(None, Some(false)), vec![&b]),
            (filter(Some("no-such-category"), None), vec![]),
        ];
        for (filter, expected) in cases {
            let listed = all_pages(&db, &filter, 1);
            let expected: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();
            assert_eq!(ids(&listed), expected, "{filter:?}");
        }
    }

    #[test]
    fn lists_filter_by_skus_with_the_other_filters() {
        let db = database();
        let a = create(&db, &new_product("A-1", "A")).unwrap();
        let b = create(
            &db,
            &NewProduct {
                active: Some(false),
                ..new_product("B-1", "B")
            },
        )
        .unwrap();
        let c = create(&db, &new_product("C-1", "C")).unwrap();
        block_on(create_product(
            &db,
            "other",
            REQUEST_ID,
            &new_product("A-1", "A elsewhere"),
        ))
        .unwrap();
        let filter = |skus: &[&str], active: Option<bool>| ProductFilter {
            skus: skus.iter().map(|sku| (*sku).to_owned()).collect(),
            active,
            ..ProductFilter::default()
        };
        let cases = [
            (filter(&["A-1", "C-1"], None), vec![&a, &c]),
            (filter(&["A-1", "B-1", "NOPE"], None), vec![&a, &b]),
            (filter(&["A-1", "B-1"], Some(true)), vec![&a]),
            (filter(&["NOPE"], None), vec![]),
            (filter(&[], None), vec![&a, &b, &c]),
        ];
        for (filter, expected) in cases {
            let expected: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();
            assert_eq!(ids(&all_pages(&db, &filter, 1)), expected, "{filter:?}");
            assert_eq!(ids(&all_pages(&db, &filter, 100)), expected, "{filter:?}");
        }
    }
}
