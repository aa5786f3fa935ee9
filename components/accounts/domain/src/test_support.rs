//! What the unit tests of users and tenants share: a migrated in-memory store, token
//! versions in memory, and the fields a validation error names.

use crate::AccountError;
use futures::executor::block_on;
use kit::db::{NativeSqlite, migrate};

pub fn database() -> NativeSqlite {
    let db = NativeSqlite::open_in_memory().unwrap();
    block_on(migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
    db
}

pub type Versions = std::cell::RefCell<std::collections::HashMap<String, i64>>;

pub fn versions() -> Versions {
    Versions::default()
}

pub fn fields(error: AccountError) -> Vec<String> {
    match error {
        AccountError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}
