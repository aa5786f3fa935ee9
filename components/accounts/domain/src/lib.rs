//! The accounts context's rules and SQL: registration, login, profile, password and role
//! changes, and the configured first admin. Every function takes the tenant and touches
//! only that tenant's rows. Tokens are not issued here (kit's `auth` does that from the
//! returned [`User`]).

pub mod password;
mod tenants;
#[cfg(test)]
mod test_support;
pub mod throttle;
mod users;
pub mod validation;

pub use tenants::{NewTenant, Tenant, create_tenant, open_tenant};
pub use users::{
    change_password, change_role, ensure_admin, get_user, login, register, update_profile,
};

use kit::auth::Role;
use kit::db::{DbError, Migration};
use kit::{FieldError, Problem};
use password::HashError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "accounts";

/// The accounts schema, in order, for `kit::db::migrate(db, CONTEXT, MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init"),
    kit::migration!("0002_login_failures"),
    kit::edge::IDEMPOTENCY_MIGRATION,
    kit::migration!("0003_tenants"),
    kit::migration!("0004_login_failures_by_client"),
];

/// A user as the API shows it; the password hash never leaves this crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub tenant: String,
    /// Trimmed and lower-case, as stored.
    pub email: String,
    pub name: String,
    #[schema(schema_with = user_role)]
    pub role: Role,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/v1/auth/register`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    /// Stored trimmed and lower-case: unique in the tenant ignoring case.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 10 to 1024 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    /// 1 to 200 characters once trimmed.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// `PATCH /api/v1/users/me`: an absent field stays as it is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ProfileUpdate {
    /// 1 to 200 characters once trimmed; absent or `null`: unchanged.
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /api/v1/users/me/password`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    /// Must match the password in use (else 422 naming this field).
    pub current_password: String,
    /// 10 to 1024 characters.
    pub new_password: String,
}

/// `PATCH /api/v1/users/{id}` (admins only).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    #[schema(schema_with = user_role)]
    pub role: Role,
}

/// The schema of a user's [`Role`]: `service` is a component's role, never a user's
/// (a [`RoleChange`] to it is refused, 422).
fn user_role() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            [Role::Customer, Role::Vendor, Role::Admin].map(Role::as_str),
        ))
        .description(Some(
            "What the user may do: `customer`, `vendor` or `admin`.",
        ))
        .build()
}

#[derive(Debug)]
pub enum AccountError {
    /// The input breaks a rule; every broken field named (422).
    Invalid(Vec<FieldError>),
    /// A uniqueness or state rule refuses the change (409), e.g. an email already taken.
    Conflict(FieldError),
    /// Unknown email or wrong password: one answer for both, on purpose (401).
    InvalidCredentials,
    /// No such user in this tenant (404).
    NotFound,
    /// The tenant was never created (404): only an operator creates tenants.
    NoSuchTenant,
    /// The `default` tenant cannot be set up: its configured first admin is missing or
    /// invalid (503; the cause is logged, not shown).
    Unprovisioned(String),
    /// Too many failed logins for this email lately (429, `Retry-After` seconds).
    Throttled {
        retry_after_secs: i64,
    },
    Hash(HashError),
    Db(DbError),
    /// The key-value store holding token versions failed (503; logged).
    TokenVersions(String),
}

impl From<DbError> for AccountError {
    fn from(error: DbError) -> Self {
        AccountError::Db(error)
    }
}

impl From<HashError> for AccountError {
    fn from(error: HashError) -> Self {
        AccountError::Hash(error)
    }
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                write!(f, "invalid fields: {}", fields.join(", "))
            }
            AccountError::Conflict(error) => {
                write!(f, "conflict: {} {}", error.field, error.message)
            }
            AccountError::InvalidCredentials => f.write_str("invalid email or password"),
            AccountError::NotFound => f.write_str("user not found"),
            AccountError::NoSuchTenant => f.write_str("no such tenant"),
            AccountError::Unprovisioned(cause) => {
                write!(f, "the default tenant cannot be set up: {cause}")
            }
            AccountError::Throttled { retry_after_secs } => {
                write!(f, "too many failed logins; retry in {retry_after_secs} s")
            }
            AccountError::Hash(error) => error.fmt(f),
            AccountError::Db(error) => error.fmt(f),
            AccountError::TokenVersions(cause) => write!(f, "token versions: {cause}"),
        }
    }
}

impl std::error::Error for AccountError {}

/// The HTTP answer. Internal causes (hashing, database) become a bare 500: the caller
/// logs the error before converting it.
impl From<AccountError> for Problem {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid(errors) => Problem::validation(errors),
            AccountError::Conflict(error) => Problem {
                errors: vec![error.clone()],
                ..Problem::conflict(format!("{} {}", error.field, error.message))
            },
            AccountError::InvalidCredentials => Problem::unauthorized("invalid email or password"),
            AccountError::NotFound => Problem::not_found("no such user"),
            AccountError::NoSuchTenant => Problem::not_found(
                "no such tenant: tenants are created by a platform operator (POST /api/v1/tenants)",
            ),
            AccountError::Unprovisioned(_) => {
                Problem::unavailable("the shop is not set up yet; its operator has been told")
            }
            AccountError::Throttled { retry_after_secs } => Problem::too_many_requests(format!(
                "too many failed logins for this account; retry in {retry_after_secs} s"
            )),
            AccountError::Hash(_) => Problem::internal(),
            AccountError::Db(error) => error.into(),
            AccountError::TokenVersions(_) => {
                Problem::unavailable("sign-ins cannot be updated right now; retry shortly")
            }
        }
    }
}

/// The API logs database and hashing failures before its bare answer.
impl kit::DomainError for AccountError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            AccountError::Db(_)
            | AccountError::Hash(_)
            | AccountError::Unprovisioned(_)
            | AccountError::TokenVersions(_) => Some(self),
            _ => None,
        }
    }
}
