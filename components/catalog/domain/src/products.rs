//! Products: validation, writes with their events, reads and keyset-paginated lists.
//! The rows and their SQL are in `store`, the event payloads in `events`.

mod events;
mod store;
mod variants;

use crate::categories::category_exists;
use crate::currency::known_currency;
use crate::slug::{MAX_SLUG_CHARS, check_slug, slugify};
use crate::{CatalogError, EVENT_SOURCE, Position};
use contracts::Envelope;
use events::{product_created, product_updated};
use kit::FieldError;
use kit::db::{Db, DbError, SqlValue, transaction};
use kit::json::FieldErrors;
use kit::pagination::{ListOrder, Page, PageParams};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
pub(crate) use store::{PRODUCT_COLUMNS, product_from_row};
use store::{insert_product, taken, update_product_row};
pub use variants::{NewVariant, ProductOption, Variant};
use variants::{checked_options, checked_variants, index_skus, renamed, taken_skus};

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
    /// With variants, the lowest of their prices.
    pub price: i64,
    pub currency: String,
    pub category_id: Option<String>,
    pub brand: Option<String>,
    pub image_url: Option<String>,
    /// Free-form attributes (e.g. `{"colour": "red"}`).
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    pub active: bool,
    /// What a customer picks (size, colour); empty for a product sold as one SKU.
    pub options: Vec<ProductOption>,
    /// The SKUs a customer buys: one per combination offered, each with its price; a
    /// product without options is its own single variant (its `sku` at its `price`).
    pub variants: Vec<Variant>,
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
    /// Minor units of `currency`; required without `variants`, omitted with them (each
    /// variant has its price).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub price: Option<i64>,
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
    /// Up to 3 options, each with its values; given with `variants`.
    #[serde(default)]
    #[schema(max_items = 3)]
    pub options: Option<Vec<ProductOption>>,
    /// Up to 100 variants, each a SKU with its price and a value of every option.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub variants: Option<Vec<NewVariant>>,
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
    /// Replaces the options, with `variants`; `null` or `[]` (without `variants`) makes
    /// the product its own single variant again, at its `price`.
    #[schema(value_type = Option<Vec<ProductOption>>)]
    pub options: Patch<Vec<ProductOption>>,
    /// Replaces the variants, with `options`.
    #[schema(value_type = Option<Vec<NewVariant>>)]
    pub variants: Patch<Vec<NewVariant>>,
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

/// What a product sells: one SKU at its price, or variants (and the lowest of their
/// prices as the product's).
struct Offer {
    price: i64,
    options: Vec<ProductOption>,
    variants: Vec<Variant>,
}

impl Offer {
    /// The offer of a product named `name` with its own `sku`: without options, its
    /// `price` (required); with them, `variants` (required, and `price` omitted).
    fn new(
        name: &str,
        sku: &str,
        given_price: Option<i64>,
        options: Option<&[ProductOption]>,
        variants: Option<&[NewVariant]>,
        errors: &mut FieldErrors,
    ) -> Offer {
        let options = options.filter(|options| !options.is_empty());
        match (options, variants) {
            (None, None) => {
                let price = match given_price.as_ref().map(price) {
                    None => {
                        errors.push("price", "is required (or variants with their prices)");
                        0
                    }
                    Some(Err(message)) => {
                        errors.push("price", message);
                        0
                    }
                    Some(Ok(price)) => price,
                };
                Offer {
                    price,
                    options: Vec::new(),
                    variants: vec![Variant::only(sku, name, price)],
                }
            }
            (Some(options), Some(variants)) => {
                if given_price.is_some() {
                    errors.push(
                        "price",
                        "must be omitted with variants: each variant has its price",
                    );
                }
                let options = checked_options(options, errors);
                if options.is_empty() {
                    // No option survived its checks: nothing to check the variants by.
                    return Offer::none();
                }
                let variants = checked_variants(name, &options, variants, errors);
                Offer {
                    price: variants
                        .iter()
                        .map(|variant| variant.price)
                        .min()
                        .unwrap_or(0),
                    options,
                    variants,
                }
            }
            (Some(_), None) => {
                errors.push("variants", "are required with options");
                Offer::none()
            }
            (None, Some(_)) => {
                errors.push(
                    "options",
                    "are required with variants: a product without options is its own single variant",
                );
                Offer::none()
            }
        }
    }

    fn none() -> Offer {
        Offer {
            price: 0,
            options: Vec::new(),
            variants: Vec::new(),
        }
    }
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
            ("currency", currency.as_ref().err()),
            ("category_id", category_id.as_ref().err()),
            ("brand", brand.as_ref().err()),
            ("image_url", image_url.as_ref().err()),
            ("attributes", attributes.as_ref().err()),
        ]
        .into_iter()
        .filter_map(|(field, error)| error.map(|message| FieldError::new(field, *message)))
        .collect();
        let mut offer = FieldErrors::new();
        let offered = Offer::new(
            self.name.trim(),
            &self.sku,
            self.price,
            self.options.as_deref(),
            self.variants.as_deref(),
            &mut offer,
        );
        let mut errors = errors;
        errors.extend(offer.into_result().err().unwrap_or_default());
        let rules = (
            sku,
            name,
            slug,
            description,
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
            Ok(currency),
            Ok(category_id),
            Ok(brand),
            Ok(image_url),
            Ok(attributes),
        ) = rules
        else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let product = Product {
            id,
            sku,
            name,
            slug: String::new(),
            description: description.unwrap_or_default(),
            price: offered.price,
            options: offered.options,
            variants: offered.variants,
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
        self.apply_offer(current, &mut next, e);
        errors.into_result().map(|()| next)
    }

    /// The options and variants after this patch: replaced when it names them (`null`
    /// options selling the product as one SKU again, at its price), else the variants
    /// renamed with the product, or the single variant following its SKU and price.
    fn apply_offer(&self, current: &Product, next: &mut Product, errors: &mut FieldErrors) {
        if matches!(
            (&self.options, &self.variants),
            (Patch::Absent, Patch::Absent)
        ) {
            if current.options.is_empty() {
                next.variants = vec![Variant::only(&next.sku, &next.name, next.price)];
            } else if matches!(self.price, Patch::Set(_)) {
                errors.push(
                    "price",
                    "each variant has its price: replace options and variants to change them",
                );
            } else {
                renamed(&next.name, &next.options, &mut next.variants);
            }
            return;
        }
        let options = match &self.options {
            Patch::Set(options) if !options.is_empty() => Some(options.as_slice()),
            // New variants of the same options.
            Patch::Absent if !current.options.is_empty() => Some(current.options.as_slice()),
            _ => None,
        };
        let variants = match &self.variants {
            Patch::Set(variants) => Some(variants.as_slice()),
            Patch::Null if options.is_some() => {
                errors.push(
                    "variants",
                    "must not be null; options: null sells the product as one SKU",
                );
                return;
            }
            _ => None,
        };
        let given_price = match (options, &self.price) {
            (Some(_), Patch::Set(price)) => Some(*price),
            (Some(_), _) => None,
            (None, _) => Some(next.price),
        };
        let offer = Offer::new(
            &next.name,
            &next.sku,
            given_price,
            options,
            variants,
            errors,
        );
        next.price = offer.price;
        next.options = offer.options;
        next.variants = offer.variants;
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
        ("options", before.options != after.options),
        // The single variant of a product without options follows its sku, name and
        // price, named as such.
        (
            "variants",
            before.variants != after.variants
                && !(before.options.is_empty() && after.options.is_empty()),
        ),
    ];
    differs
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(field, _)| field.to_owned())
        .collect()
}

fn conflict(field: &str, value: &str) -> CatalogError {
    CatalogError::Conflict(FieldError::new(
        field,
        format!("{value:?} is taken by another product"),
    ))
}

/// Queues the tenant's product writes one behind the other (PostgreSQL; SQLite's
/// writers queue anyway): a SKU is checked free and then taken, whether as a product's
/// own or a variant's, and a product is read and then rewritten, with no other write
/// in between.
async fn lock_products<D: Db>(db: &D, tenant: &str) -> Result<(), DbError> {
    kit::db::lock_key(db, &format!("catalog products\n{tenant}")).await
}

/// 409 when another product has `product`'s own SKU or sells one of its variants' SKUs
/// (only those new since `current`, when it is an update), naming the first such field.
async fn check_skus<D: Db>(
    db: &D,
    tenant: &str,
    product: &Product,
    current: Option<&Product>,
) -> Result<(), CatalogError> {
    let known: BTreeSet<&str> = current
        .map(Product::skus)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut asked: Vec<(String, &str)> = Vec::new();
    if current.is_none_or(|current| current.sku != product.sku) {
        asked.push(("sku".into(), &product.sku));
    }
    // Without options, its single variant is its own SKU.
    if !product.options.is_empty() {
        for (i, variant) in product.variants.iter().enumerate() {
            if !known.contains(variant.sku.as_str()) {
                asked.push((format!("variants[{i}].sku"), &variant.sku));
            }
        }
    }
    let skus: Vec<&str> = asked.iter().map(|(_, sku)| *sku).collect();
    let taken = taken_skus(db, tenant, &skus, &product.id).await?;
    match asked.iter().find(|(_, sku)| taken.contains(*sku)) {
        Some((field, sku)) => Err(conflict(field, sku)),
        None => Ok(()),
    }
}

impl Product {
    /// The SKUs a customer buys: its variants'.
    fn skus(&self) -> Vec<&str> {
        self.variants
            .iter()
            .map(|variant| variant.sku.as_str())
            .collect()
    }
}

/// A unique violation that got past the checks (a concurrent write): the constraint's
/// name or columns in the driver's message tell which field.
fn unique_violation_conflict(message: &str, product: &Product) -> CatalogError {
    if message.contains("slug") {
        conflict("slug", &product.slug)
    } else if message.contains("variants") {
        CatalogError::Conflict(FieldError::new(
            "variants",
            "a variant's SKU is taken by another product",
        ))
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
        lock_products(db, tenant).await?;
        check_category(db, tenant, product.category_id.as_deref()).await?;
        check_skus(db, tenant, &product, None).await?;
        product.slug = new_product_slug(db, tenant, &product, given_slug).await?;
        let unique = |error| match error {
            DbError::UniqueViolation(message) => unique_violation_conflict(&message, &product),
            other => other.into(),
        };
        insert_product(db, tenant, &product).await.map_err(unique)?;
        index_skus(db, tenant, &product.id, &product.skus())
            .await
            .map_err(unique)?;
        let event = product_created(&product);
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
        lock_products(db, tenant).await?;
        let current = get_product(db, tenant, id).await?;
        let mut next = patch.applied_to(&current).map_err(CatalogError::Invalid)?;
        let changed = changed_fields(&current, &next);
        if changed.is_empty() {
            return Ok(current);
        }
        if next.category_id != current.category_id {
            check_category(db, tenant, next.category_id.as_deref()).await?;
        }
        if current.slug != next.slug && taken(db, tenant, "slug", &next.slug, id).await? {
            return Err(conflict("slug", &next.slug));
        }
        check_skus(db, tenant, &next, Some(&current)).await?;
        next.updated_at = contracts::now_rfc3339();
        let unique = |error| match error {
            DbError::UniqueViolation(message) => unique_violation_conflict(&message, &next),
            other => other.into(),
        };
        update_product_row(db, tenant, id, &next)
            .await
            .map_err(unique)?;
        if next.skus() != current.skus() {
            index_skus(db, tenant, id, &next.skus())
                .await
                .map_err(unique)?;
        }
        let event = product_updated(&next, changed);
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
        let placeholders = placeholders.join(", ");
        // The product's own SKU, or one of its variants': one set of ids, each half on
        // its unique index.
        sql.push_str(&format!(
            " AND p.id IN (SELECT v.product_id FROM variants v \
             WHERE v.tenant = $1 AND v.sku IN ({placeholders}) \
             UNION SELECT s.id FROM products s WHERE s.tenant = $1 AND s.sku IN ({placeholders}))"
        ));
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
mod tests;
