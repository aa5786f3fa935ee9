//! Tenants: `default` exists once its configured first admin does (made on first use);
//! any other tenant exists only once a platform operator created it with its first
//! admin ([`create_tenant`]). Logins and registrations in a tenant that does not exist
//! are refused, so no password opens a tenant nobody provisioned.

use crate::users::{create_admin, ensure_admin};
use crate::{AccountError, Registration, User};
use kit::FieldError;
use kit::auth::{DEFAULT_TENANT, check_tenant_id};
use kit::db::{Db, DbError, transaction};
use kit::json::Validate;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/tenants`: the new tenant's id and its first admin.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 1 to 64 letters, digits, `-` or `_`; not `default` (it always exists).
    pub id: String,
    /// The tenant's first admin (errors named `admin.<field>`).
    pub admin: Registration,
}

impl Validate for NewTenant {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(message) = check_tenant_id(&self.id) {
            errors.push(FieldError::new("id", message));
        }
        if let Err(admin) = self.admin.validate() {
            errors.extend(
                admin
                    .into_iter()
                    .map(|error| FieldError::new(format!("admin.{}", error.field), error.message)),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A tenant as the operator's API shows it, with the admin it was created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: String,
    pub created_at: String,
    pub admin: User,
}

/// Creates the tenant and its first admin in one transaction: 409 on `id` when the
/// tenant exists (`default` always does), 422 naming each bad field.
pub async fn create_tenant<D: Db>(db: &D, new: &NewTenant) -> Result<Tenant, AccountError> {
    new.validate().map_err(AccountError::Invalid)?;
    let taken = || AccountError::Conflict(FieldError::new("id", "is already a tenant"));
    if new.id == DEFAULT_TENANT {
        return Err(taken());
    }
    transaction(db, async |db| {
        let created_at = contracts::now_rfc3339();
        match insert_tenant(db, &new.id, &created_at).await {
            Ok(true) => {}
            Ok(false) => return Err(taken()),
            Err(error) => return Err(error.into()),
        }
        let admin = create_admin(db, &new.id, &new.admin).await?;
        Ok(Tenant {
            id: new.id.clone(),
            created_at,
            admin,
        })
    })
    .await
}

/// Whether `tenant` may be logged in or registered to. `default` is provisioned on the
/// way (its row and its configured first admin, so registering the admin's email
/// first can never take the admin's place), which costs one query once it exists.
pub async fn open_tenant<D: Db>(
    db: &D,
    tenant: &str,
    first_admin: Option<(&str, &str)>,
) -> Result<(), AccountError> {
    if tenant_exists(db, tenant).await? {
        return Ok(());
    }
    if tenant != DEFAULT_TENANT {
        return Err(AccountError::NoSuchTenant);
    }
    let Some((email, password)) = first_admin else {
        return Err(AccountError::Unprovisioned(
            "admin_email and admin_password are not set".into(),
        ));
    };
    ensure_admin(db, DEFAULT_TENANT, email, password)
        .await
        .map_err(|error| match error {
            AccountError::Invalid(errors) => AccountError::Unprovisioned(format!(
                "the configured first admin is invalid: {errors:?}"
            )),
            other => other,
        })?;
    insert_tenant(db, DEFAULT_TENANT, &contracts::now_rfc3339()).await?;
    Ok(())
}

async fn tenant_exists<D: Db>(db: &D, tenant: &str) -> Result<bool, DbError> {
    let rows = db
        .query("SELECT 1 FROM tenants WHERE id = $1", &[tenant.into()])
        .await?;
    Ok(!rows.is_empty())
}

/// Whether the row was new.
async fn insert_tenant<D: Db>(db: &D, id: &str, created_at: &str) -> Result<bool, DbError> {
    let inserted = db
        .execute(
            "INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            &[id.into(), created_at.into()],
        )
        .await?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{database, fields, versions};
    use crate::{Credentials, login, register};
    use futures::executor::block_on;
    use kit::db::{NativeSqlite, migrate};

    const ADMIN: (&str, &str) = ("root@example.com", "correct horse battery");

    fn registration(email: &str) -> Registration {
        Registration {
            email: email.into(),
            password: "owner password 1".into(),
            name: "Olive Owner".into(),
        }
    }

    fn new_tenant(id: &str) -> NewTenant {
        NewTenant {
            id: id.into(),
            admin: registration("owner@acme.test"),
        }
    }

    #[test]
    fn only_default_opens_without_an_operator_and_it_gets_its_admin_first() {
        let db = database();
        let opened = block_on(open_tenant(&db, "acme", Some(ADMIN)));
        assert!(
            matches!(opened, Err(AccountError::NoSuchTenant)),
            "{opened:?}"
        );
        block_on(open_tenant(&db, DEFAULT_TENANT, Some(ADMIN))).unwrap();
        // The admin's email is taken before anyone may register it.
        let squat = block_on(register(&db, DEFAULT_TENANT, &registration(ADMIN.0)));
        assert!(matches!(squat, Err(AccountError::Conflict(_))), "{squat:?}");
        // Once open, the configuration is not needed (nor read) again.
        block_on(open_tenant(&db, DEFAULT_TENANT, None)).unwrap();
    }

    #[test]
    fn default_without_a_valid_first_admin_is_not_opened() {
        let db = database();
        let unset = block_on(open_tenant(&db, DEFAULT_TENANT, None));
        assert!(
            matches!(unset, Err(AccountError::Unprovisioned(_))),
            "{unset:?}"
        );
        let invalid = block_on(open_tenant(&db, DEFAULT_TENANT, Some(("nope", "x"))));
        assert!(
            matches!(invalid, Err(AccountError::Unprovisioned(_))),
            "{invalid:?}"
        );
        block_on(open_tenant(&db, DEFAULT_TENANT, Some(ADMIN))).unwrap();
    }

    #[test]
    fn an_operator_creates_a_tenant_with_its_first_admin_once() {
        let db = database();
        let tenant = block_on(create_tenant(&db, &new_tenant("acme"))).unwrap();
        assert_eq!(tenant.admin.role, kit::auth::Role::Admin);
        assert_eq!(tenant.admin.tenant, "acme");
        block_on(open_tenant(&db, "acme", None)).unwrap();
        let credentials = Credentials {
            email: "owner@acme.test".into(),
            password: "owner password 1".into(),
        };
        block_on(login(
            &db,
            &versions(),
            "acme",
            &credentials,
            "203.0.113.7",
            0,
        ))
        .unwrap();
        for taken in ["acme", DEFAULT_TENANT] {
            let again = block_on(create_tenant(&db, &new_tenant(taken)));
            assert!(
                matches!(again, Err(AccountError::Conflict(_))),
                "{taken}: {again:?}"
            );
        }
    }

    #[test]
    fn a_bad_tenant_names_each_field_and_creates_nothing() {
        let db = database();
        let bad = NewTenant {
            id: "no spaces".into(),
            admin: Registration {
                email: "nope".into(),
                password: "x".into(),
                name: " ".into(),
            },
        };
        let error = block_on(create_tenant(&db, &bad)).unwrap_err();
        assert_eq!(
            fields(error),
            ["id", "admin.email", "admin.password", "admin.name"]
        );
        // A taken admin email cannot happen in a new tenant; a failed insert leaves no tenant.
        assert!(matches!(
            block_on(open_tenant(&db, "no spaces", None)),
            Err(AccountError::NoSuchTenant)
        ));
    }

    #[test]
    fn tenants_that_had_users_before_tenants_existed_stay_open() {
        let db = NativeSqlite::open_in_memory().unwrap();
        let before: Vec<_> = crate::MIGRATIONS
            .iter()
            .filter(|m| m.name != "0003_tenants")
            .cloned()
            .collect();
        block_on(migrate(&db, crate::CONTEXT, &before)).unwrap();
        block_on(register(&db, "old-shop", &registration("ada@old.test"))).unwrap();
        block_on(migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
        block_on(open_tenant(&db, "old-shop", None)).unwrap();
    }
}
