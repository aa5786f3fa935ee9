//! The catalog context's rules and SQL: products (with their `product.created` /
//! `product.updated` events written to the outbox in the same transaction), categories,
//! keyset-paginated lists and ranked full-text search on SQLite (FTS5) and PostgreSQL
//! (`tsvector`). Every function takes the tenant and touches only that tenant's rows.

mod categories;
pub mod currency;
mod products;
mod search;
pub mod slug;

pub use categories::{Category, NewCategory, create_category, list_categories};
pub use products::{
    MAX_SKU_FILTER, NewProduct, NewVariant, Patch, Product, ProductFilter, ProductOption,
    ProductPatch, Variant, create_product, deactivate_product, get_product, list_products,
    update_product,
};
pub use search::search;

use kit::db::{DbError, Migration};
use kit::{FieldError, Problem};
use std::fmt;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "catalog";

/// The `source` of the events this context emits.
pub const EVENT_SOURCE: &str = "catalog";

/// The catalog schema and its outbox, in order, for
/// `kit::db::migrate(db, CONTEXT, MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init", per_dialect),
    kit::outbox::MIGRATION,
    kit::outbox::DELIVERIES_MIGRATION,
    kit::outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
    kit::migration!("0002_variants"),
];

pub use kit::pagination::Position;

#[derive(Debug)]
pub enum CatalogError {
    /// The input breaks a rule; every broken field named (422).
    Invalid(Vec<FieldError>),
    /// A uniqueness rule refuses the write (409), naming the field (`sku`, `slug`).
    Conflict(FieldError),
    /// No such product in this tenant (404).
    NotFound,
    Db(DbError),
}

impl CatalogError {
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        CatalogError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<DbError> for CatalogError {
    fn from(error: DbError) -> Self {
        CatalogError::Db(error)
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                write!(f, "invalid fields: {}", fields.join(", "))
            }
            CatalogError::Conflict(error) => {
                write!(f, "conflict: {} {}", error.field, error.message)
            }
            CatalogError::NotFound => f.write_str("product not found"),
            CatalogError::Db(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for CatalogError {}

/// The HTTP answer. A database error becomes a bare 500: the caller logs the error
/// before converting it.
impl From<CatalogError> for Problem {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::Invalid(errors) => Problem::validation(errors),
            CatalogError::Conflict(error) => Problem {
                errors: vec![error.clone()],
                ..Problem::conflict(format!("{} {}", error.field, error.message))
            },
            CatalogError::NotFound => Problem::not_found("no such product"),
            CatalogError::Db(error) => error.into(),
        }
    }
}

/// The API logs a database failure before its bare answer.
impl kit::DomainError for CatalogError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            CatalogError::Db(cause) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod test_support {
    use kit::db::{NativeSqlite, migrate};

    pub const TENANT: &str = "acme";
    pub const REQUEST_ID: &str = "req-1";

    pub fn database() -> NativeSqlite {
        let db = NativeSqlite::open_in_memory().unwrap();
        futures::executor::block_on(migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
        db
    }
}
