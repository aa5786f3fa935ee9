//! The `users` table and the operations on it.

use crate::password::{DUMMY_HASH, hash_password, verify_password};
use crate::throttle;
use crate::validation::{check_email, check_password, normalize_email};
use crate::{AccountError, Credentials, PasswordChange, ProfileUpdate, Registration, User};
use kit::FieldError;
use kit::auth::{Role, TokenVersions};
use kit::db::{Db, DbError, Row, SqlValue, lock_key, query_i64, transaction};
use kit::json::Validate;

/// The columns [`user_from_row`] reads, in its order.
const USER_COLUMNS: &str = "id, tenant, email, name, role, created_at, updated_at";

/// The name the configured first admin gets; they can change it with `PATCH /users/me`.
const FIRST_ADMIN_NAME: &str = "Administrator";

fn user_from_row(row: &Row) -> Result<User, DbError> {
    let role = row.get_str(4)?;
    Ok(User {
        id: row.get_str(0)?.to_owned(),
        tenant: row.get_str(1)?.to_owned(),
        email: row.get_str(2)?.to_owned(),
        name: row.get_str(3)?.to_owned(),
        role: role
            .parse()
            .map_err(|_| DbError::Other(format!("users.role holds unknown role {role:?}")))?,
        created_at: row.get_str(5)?.to_owned(),
        updated_at: row.get_str(6)?.to_owned(),
    })
}

/// Registers a customer. The email is stored normalized; one already registered in the
/// tenant is a conflict on `email`.
pub async fn register<D: Db>(
    db: &D,
    tenant: &str,
    registration: &Registration,
) -> Result<User, AccountError> {
    registration.validate().map_err(AccountError::Invalid)?;
    let email = normalize_email(&registration.email);
    let password_hash = hash_password(&registration.password)?;
    insert_user(
        db,
        tenant,
        &email,
        registration.name.trim(),
        Role::Customer,
        &password_hash,
    )
    .await
}

/// A tenant's first admin, as its operator registered them (validated by the caller).
pub(crate) async fn create_admin<D: Db>(
    db: &D,
    tenant: &str,
    registration: &Registration,
) -> Result<User, AccountError> {
    let email = normalize_email(&registration.email);
    let password_hash = hash_password(&registration.password)?;
    let name = registration.name.trim();
    insert_user(db, tenant, &email, name, Role::Admin, &password_hash).await
}

async fn insert_user<D: Db>(
    db: &D,
    tenant: &str,
    email: &str,
    name: &str,
    role: Role,
    password_hash: &str,
) -> Result<User, AccountError> {
    let now = contracts::now_rfc3339();
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        tenant: tenant.to_owned(),
        email: email.to_owned(),
        name: name.to_owned(),
        role,
        created_at: now.clone(),
        updated_at: now,
    };
    let inserted = db
        .execute(
            "INSERT INTO users (id, tenant, email, name, role, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                user.id.as_str().into(),
                tenant.into(),
                email.into(),
                name.into(),
                role.as_str().into(),
                password_hash.into(),
                user.created_at.as_str().into(),
                user.updated_at.as_str().into(),
            ],
        )
        .await;
    match inserted {
        Ok(_) => Ok(user),
        Err(DbError::UniqueViolation(_)) => Err(AccountError::Conflict(FieldError::new(
            "email",
            "is already registered",
        ))),
        Err(error) => Err(error.into()),
    }
}

/// The user with `email` (normalized) and their password hash.
async fn find_by_email<D: Db>(
    db: &D,
    tenant: &str,
    email: &str,
) -> Result<Option<(User, String)>, DbError> {
    let rows = db
        .query(
            &format!(
                "SELECT {USER_COLUMNS}, password_hash FROM users WHERE tenant = $1 AND email = $2"
            ),
            &[tenant.into(), email.into()],
        )
        .await?;
    rows.first()
        .map(|row| Ok((user_from_row(row)?, row.get_str(7)?.to_owned())))
        .transpose()
}

/// The user whose email and password match. An unknown email and a wrong password give
/// the same error, and an unknown email still costs one hash verification, so neither
/// the answer nor its timing tells which emails are registered. Attempts from `client`
/// (its address) are throttled per email and per address (see [`crate::throttle`]): a
/// throttled attempt checks no password. Answers the user with their token version to
/// issue at: read before the role, so a role change racing the login either shows in
/// the role or revokes the token (see [`revoke_tokens_around`]).
pub async fn login<D: Db>(
    db: &D,
    versions: &impl TokenVersions,
    tenant: &str,
    credentials: &Credentials,
    client: &str,
    now_ms: i64,
) -> Result<(User, i64), AccountError> {
    let email = normalize_email(&credentials.email);
    let attempt = throttle::Attempt {
        tenant,
        email: &email,
        client,
        now_ms,
    };
    throttle::admit(db, &attempt).await?;
    let verified = match find_by_email(db, tenant, &email).await? {
        Some((user, password_hash)) => {
            verify_password(&credentials.password, &password_hash)?.then_some(user)
        }
        None => {
            verify_password(&credentials.password, DUMMY_HASH)?;
            None
        }
    };
    match verified {
        Some(user) => {
            throttle::succeeded(db, &attempt).await?;
            let version = versions
                .token_version(tenant, &user.id)
                .await
                .map_err(AccountError::TokenVersions)?;
            Ok((get_user(db, tenant, &user.id).await?, version))
        }
        None => {
            throttle::failed(db, &attempt).await?;
            Err(AccountError::InvalidCredentials)
        }
    }
}

/// `GET /users/me`, and any lookup by id within the tenant.
pub async fn get_user<D: Db>(db: &D, tenant: &str, id: &str) -> Result<User, AccountError> {
    let rows = db
        .query(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND id = $2"),
            &[tenant.into(), id.into()],
        )
        .await?;
    let row = rows.first().ok_or(AccountError::NotFound)?;
    Ok(user_from_row(row)?)
}

/// Sets `column` (a constant of this module, never input) and `updated_at` of one user,
/// answering the updated user.
async fn update_column<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    column: &str,
    value: SqlValue,
) -> Result<User, AccountError> {
    let rows = db
        .query(
            &format!(
                "UPDATE users SET {column} = $3, updated_at = $4 WHERE tenant = $1 AND id = $2 \
                 RETURNING {USER_COLUMNS}"
            ),
            &[
                tenant.into(),
                id.into(),
                value,
                contracts::now_rfc3339().into(),
            ],
        )
        .await?;
    let row = rows.first().ok_or(AccountError::NotFound)?;
    Ok(user_from_row(row)?)
}

/// `PATCH /users/me`: changes the fields present.
pub async fn update_profile<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    update: &ProfileUpdate,
) -> Result<User, AccountError> {
    update.validate().map_err(AccountError::Invalid)?;
    match &update.name {
        Some(name) => update_column(db, tenant, id, "name", name.trim().into()).await,
        None => get_user(db, tenant, id).await,
    }
}

/// `POST /users/me/password`: the current password must verify (else a field error on
/// `current_password`), the new one must follow the registration rule. Every token
/// issued before stops working.
pub async fn change_password<D: Db>(
    db: &D,
    versions: &impl TokenVersions,
    tenant: &str,
    id: &str,
    change: &PasswordChange,
) -> Result<(), AccountError> {
    change.validate().map_err(AccountError::Invalid)?;
    let rows = db
        .query(
            "SELECT password_hash FROM users WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    let current_hash = rows.first().ok_or(AccountError::NotFound)?.get_str(0)?;
    if !verify_password(&change.current_password, current_hash)? {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "current_password",
            "does not match your password",
        )]));
    }
    let new_hash = hash_password(&change.new_password)?;
    revoke_tokens_around(db, versions, tenant, id, async |db| {
        update_column(db, tenant, id, "password_hash", new_hash.into()).await
    })
    .await?;
    Ok(())
}

/// `PATCH /users/{id}` by an admin. The tenant's last admin cannot lose the role, so a
/// tenant is never left without someone who can change roles. Every token the user
/// was issued before stops working, so the old role is gone at once.
pub async fn change_role<D: Db>(
    db: &D,
    versions: &impl TokenVersions,
    tenant: &str,
    id: &str,
    role: Role,
) -> Result<User, AccountError> {
    if role == Role::Service {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "role",
            "service is a component's role, not a user's; use customer, vendor or admin",
        )]));
    }
    revoke_tokens_around(db, versions, tenant, id, async |db| {
        // Two concurrent demotions must not each count the other as the admin who stays:
        // one tenant's role changes take turns (SQLite's BEGIN IMMEDIATE already does).
        lock_key(db, &format!("accounts\nroles\n{tenant}")).await?;
        let user = get_user(db, tenant, id).await?;
        if user.role == Role::Admin && role != Role::Admin {
            let admins = query_i64(
                db,
                "SELECT COUNT(*) FROM users WHERE tenant = $1 AND role = 'admin'",
                &[tenant.into()],
            )
            .await?;
            if admins <= 1 {
                return Err(AccountError::Conflict(FieldError::new(
                    "role",
                    "cannot be taken from the tenant's last admin",
                )));
            }
        }
        update_column(db, tenant, id, "role", role.as_str().into()).await
    })
    .await
}

/// Runs `change` to the user in a transaction and revokes the user's tokens twice:
/// before the commit, so a committed change never leaves an earlier token working (a
/// failed commit merely signs the user out), and after it, so a login that read the
/// version before the first bump and the row before the commit gets a token that is
/// revoked too. A failure of either bump fails the request (503).
async fn revoke_tokens_around<D: Db, T>(
    db: &D,
    versions: &impl TokenVersions,
    tenant: &str,
    id: &str,
    change: impl AsyncFnOnce(&D) -> Result<T, AccountError>,
) -> Result<T, AccountError> {
    let revoke = async || {
        versions
            .revoke_tokens(tenant, id)
            .await
            .map_err(AccountError::TokenVersions)
    };
    let changed = transaction(db, async |db| {
        let changed = change(db).await?;
        revoke().await?;
        Ok::<_, AccountError>(changed)
    })
    .await?;
    revoke().await?;
    Ok(changed)
}

/// Makes sure the configured first admin (`admin_email` / `admin_password`) exists in
/// `tenant`: creates them when the email is not registered there, and otherwise leaves
/// the user as it is — a password or role changed since is never reset. Cheap when the
/// user exists (one query), so a component may call it on every request; two instances
/// racing both answer the same user.
pub async fn ensure_admin<D: Db>(
    db: &D,
    tenant: &str,
    admin_email: &str,
    admin_password: &str,
) -> Result<User, AccountError> {
    let email = normalize_email(admin_email);
    let mut errors = Vec::new();
    if let Err(message) = check_email(&email) {
        errors.push(FieldError::new("admin_email", message));
    }
    if let Err(message) = check_password(admin_password) {
        errors.push(FieldError::new("admin_password", message));
    }
    if !errors.is_empty() {
        return Err(AccountError::Invalid(errors));
    }
    if let Some((user, _)) = find_by_email(db, tenant, &email).await? {
        return Ok(user);
    }
    let password_hash = hash_password(admin_password)?;
    match insert_user(
        db,
        tenant,
        &email,
        FIRST_ADMIN_NAME,
        Role::Admin,
        &password_hash,
    )
    .await
    {
        // Another instance created them between our lookup and insert.
        Err(AccountError::Conflict(_)) => find_by_email(db, tenant, &email)
            .await?
            .map(|(user, _)| user)
            .ok_or(AccountError::NotFound),
        created => created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{database, fields, versions};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;

    const TENANT: &str = "acme";
    /// A fixed clock for logins: throttling counts failures within a window of it.
    const NOW: i64 = 1_800_000_000_000;
    const PASSWORD: &str = "correct horse battery";

    fn registration(email: &str) -> Registration {
        Registration {
            email: email.into(),
            password: PASSWORD.into(),
            name: " Ada Lovelace ".into(),
        }
    }

    fn credentials(email: &str, password: &str) -> Credentials {
        Credentials {
            email: email.into(),
            password: password.into(),
        }
    }

    #[test]
    fn register_stores_a_normalized_customer() {
        let db = database();
        let user = block_on(register(&db, TENANT, &registration(" Ada@Example.COM"))).unwrap();
        assert_eq!(user.email, "ada@example.com");
        assert_eq!(user.name, "Ada Lovelace");
        assert_eq!(user.role, Role::Customer);
        assert_eq!(user.tenant, TENANT);
        assert_eq!(
            uuid::Uuid::parse_str(&user.id).unwrap().get_version_num(),
            7
        );
        assert_eq!(block_on(get_user(&db, TENANT, &user.id)).unwrap(), user);
    }

    #[test]
    fn register_rejects_invalid_input_by_field() {
        let db = database();
        let bad = Registration {
            email: "not-an-email".into(),
            password: "short".into(),
            name: String::new(),
        };
        let error = block_on(register(&db, TENANT, &bad)).unwrap_err();
        assert_eq!(fields(error), ["email", "password", "name"]);
    }

    #[test]
    fn email_is_unique_per_tenant_ignoring_case() {
        let db = database();
        block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        let error = block_on(register(&db, TENANT, &registration("ADA@example.com"))).unwrap_err();
        assert!(
            matches!(&error, AccountError::Conflict(e) if e.field == "email"),
            "{error:?}"
        );
        let problem = kit::Problem::from(error);
        assert_eq!(problem.status, 409);
        assert_eq!(problem.errors[0].field, "email");
        // Another tenant has its own users.
        block_on(register(&db, "other", &registration("ada@example.com"))).unwrap();
    }

    fn try_login(
        db: &NativeSqlite,
        email: &str,
        password: &str,
        now: i64,
    ) -> Result<User, AccountError> {
        try_login_from(db, email, password, "203.0.113.7", now)
    }

    fn try_login_from(
        db: &NativeSqlite,
        email: &str,
        password: &str,
        client: &str,
        now: i64,
    ) -> Result<User, AccountError> {
        block_on(login(
            db,
            &versions(),
            TENANT,
            &credentials(email, password),
            client,
            now,
        ))
        .map(|(user, _)| user)
    }

    #[test]
    fn guesses_from_one_address_never_lock_the_owner_out_from_another() {
        let db = database();
        block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        let guesser = "198.51.100.9";
        for _ in 0..throttle::MAX_FAILURES {
            assert!(try_login_from(&db, "ada@example.com", "guess", guesser, NOW).is_err());
        }
        let throttled = try_login_from(&db, "ada@example.com", PASSWORD, guesser, NOW);
        assert!(
            matches!(throttled, Err(AccountError::Throttled { .. })),
            "{throttled:?}"
        );
        // The owner, elsewhere, logs in; that forgives nothing of the guesser's.
        try_login_from(&db, "ada@example.com", PASSWORD, "203.0.113.7", NOW).unwrap();
        let still = try_login_from(&db, "ada@example.com", PASSWORD, guesser, NOW);
        assert!(
            matches!(still, Err(AccountError::Throttled { .. })),
            "{still:?}"
        );
    }

    #[test]
    fn one_address_guessing_many_emails_is_throttled_as_a_whole() {
        let db = database();
        block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        let guesser = "198.51.100.9";
        for n in 0..throttle::MAX_ADDRESS_FAILURES {
            let email = format!("user{n}@example.com");
            assert!(matches!(
                try_login_from(&db, &email, "guess", guesser, NOW),
                Err(AccountError::InvalidCredentials)
            ));
        }
        let next = try_login_from(&db, "ada@example.com", PASSWORD, guesser, NOW);
        assert!(
            matches!(next, Err(AccountError::Throttled { .. })),
            "{next:?}"
        );
        try_login_from(&db, "ada@example.com", PASSWORD, "203.0.113.7", NOW).unwrap();
    }

    #[test]
    fn five_failures_in_fifteen_minutes_throttle_the_email_until_one_expires() {
        let db = database();
        block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        for minute in 0..5 {
            let failed = try_login(
                &db,
                "ada@example.com",
                "wrong password",
                NOW + minute * 60_000,
            );
            assert!(
                matches!(failed, Err(AccountError::InvalidCredentials)),
                "{failed:?}"
            );
        }
        // Even the right password is refused now, with the time until the first failure expires.
        let later = NOW + 5 * 60_000;
        match try_login(&db, "ada@example.com", PASSWORD, later) {
            Err(AccountError::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 600),
            other => panic!("expected throttling, got {other:?}"),
        }
        // Refused attempts do not extend the lock; another email and tenant are unaffected.
        for _ in 0..3 {
            assert!(try_login(&db, "ada@example.com", "wrong", later).is_err());
        }
        assert!(matches!(
            try_login(&db, "bob@example.com", PASSWORD, later),
            Err(AccountError::InvalidCredentials)
        ));
        // Once the first failure leaves the window, one more attempt is admitted.
        let after_first_expired = NOW + throttle::WINDOW_MS + 1;
        assert!(try_login(&db, "ada@example.com", PASSWORD, after_first_expired).is_ok());
        // Success forgave the others.
        for _ in 0..4 {
            assert!(try_login(&db, "ada@example.com", "wrong", after_first_expired).is_err());
        }
        assert!(try_login(&db, "ada@example.com", PASSWORD, after_first_expired).is_ok());
    }

    #[test]
    fn unknown_emails_are_throttled_alike() {
        let db = database();
        for _ in 0..5 {
            assert!(matches!(
                try_login(&db, "nobody@example.com", PASSWORD, NOW),
                Err(AccountError::InvalidCredentials)
            ));
        }
        assert!(matches!(
            try_login(&db, "nobody@example.com", PASSWORD, NOW),
            Err(AccountError::Throttled { .. })
        ));
        let problem =
            kit::Problem::from(try_login(&db, "nobody@example.com", PASSWORD, NOW).unwrap_err());
        assert_eq!(problem.status, 429);
    }

    #[test]
    fn login_answers_the_same_for_wrong_password_and_unknown_email() {
        let db = database();
        let user = block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        let logged_in = block_on(login(
            &db,
            &versions(),
            TENANT,
            &credentials("ADA@example.com ", PASSWORD),
            "203.0.113.7",
            NOW,
        ))
        .unwrap();
        assert_eq!(logged_in, (user, 0));

        let wrong = block_on(login(
            &db,
            &versions(),
            TENANT,
            &credentials("ada@example.com", "wrong password"),
            "203.0.113.7",
            NOW,
        ))
        .unwrap_err();
        let unknown = block_on(login(
            &db,
            &versions(),
            TENANT,
            &credentials("bob@example.com", PASSWORD),
            "203.0.113.7",
            NOW,
        ))
        .unwrap_err();
        let other_tenant = block_on(login(
            &db,
            &versions(),
            "other",
            &credentials("ada@example.com", PASSWORD),
            "203.0.113.7",
            NOW,
        ))
        .unwrap_err();
        for error in [wrong, unknown, other_tenant] {
            assert!(
                matches!(error, AccountError::InvalidCredentials),
                "{error:?}"
            );
            let problem = kit::Problem::from(error);
            assert_eq!(
                (problem.status, problem.detail.as_str()),
                (401, "invalid email or password")
            );
        }
    }

    #[test]
    fn dummy_hash_uses_the_current_parameters() {
        // Verifying against it must cost what verifying a real hash costs.
        let real = hash_password(PASSWORD).unwrap();
        let params = |phc: &str| phc.split('$').nth(3).unwrap().to_owned();
        assert_eq!(params(DUMMY_HASH), params(&real));
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$"));
        assert_eq!(verify_password(PASSWORD, DUMMY_HASH), Ok(false));
    }

    #[test]
    fn profile_update_changes_only_the_name() {
        let db = database();
        let user = block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        let unchanged = block_on(update_profile(
            &db,
            TENANT,
            &user.id,
            &ProfileUpdate::default(),
        ))
        .unwrap();
        assert_eq!(unchanged, user);
        let renamed = ProfileUpdate {
            name: Some(" Countess ".into()),
        };
        let updated = block_on(update_profile(&db, TENANT, &user.id, &renamed)).unwrap();
        assert_eq!(updated.name, "Countess");
        assert_eq!(updated.email, user.email);
        assert!(updated.updated_at >= user.updated_at);
        let empty = ProfileUpdate {
            name: Some(" ".into()),
        };
        let error = block_on(update_profile(&db, TENANT, &user.id, &empty)).unwrap_err();
        assert_eq!(fields(error), ["name"]);
        let missing = block_on(update_profile(&db, "other", &user.id, &renamed)).unwrap_err();
        assert!(matches!(missing, AccountError::NotFound), "{missing:?}");
    }

    #[test]
    fn password_change_needs_the_current_password() {
        let db = database();
        let user = block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        let change = |current: &str, new: &str| PasswordChange {
            current_password: current.into(),
            new_password: new.into(),
        };
        let error = block_on(change_password(
            &db,
            &versions(),
            TENANT,
            &user.id,
            &change("wrong password", "new password 1"),
        ))
        .unwrap_err();
        assert_eq!(fields(error), ["current_password"]);
        let error = block_on(change_password(
            &db,
            &versions(),
            TENANT,
            &user.id,
            &change(PASSWORD, "short"),
        ))
        .unwrap_err();
        assert_eq!(fields(error), ["new_password"]);

        block_on(change_password(
            &db,
            &versions(),
            TENANT,
            &user.id,
            &change(PASSWORD, "new password 1"),
        ))
        .unwrap();
        let old = block_on(login(
            &db,
            &versions(),
            TENANT,
            &credentials("ada@example.com", PASSWORD),
            "203.0.113.7",
            NOW,
        ))
        .unwrap_err();
        assert!(matches!(old, AccountError::InvalidCredentials));
        block_on(login(
            &db,
            &versions(),
            TENANT,
            &credentials("ada@example.com", "new password 1"),
            "203.0.113.7",
            NOW,
        ))
        .unwrap();
    }

    #[test]
    fn role_change_keeps_one_admin() {
        let db = database();
        let admin = block_on(ensure_admin(&db, TENANT, "root@example.com", PASSWORD)).unwrap();
        let user = block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();

        let vendor = block_on(change_role(
            &db,
            &versions(),
            TENANT,
            &user.id,
            Role::Vendor,
        ))
        .unwrap();
        assert_eq!(vendor.role, Role::Vendor);
        assert_eq!(
            block_on(get_user(&db, TENANT, &user.id)).unwrap().role,
            Role::Vendor
        );

        let error = block_on(change_role(
            &db,
            &versions(),
            TENANT,
            &admin.id,
            Role::Customer,
        ))
        .unwrap_err();
        assert!(
            matches!(&error, AccountError::Conflict(e) if e.field == "role"),
            "{error:?}"
        );

        block_on(change_role(&db, &versions(), TENANT, &user.id, Role::Admin)).unwrap();
        let demoted = block_on(change_role(
            &db,
            &versions(),
            TENANT,
            &admin.id,
            Role::Customer,
        ))
        .unwrap();
        assert_eq!(demoted.role, Role::Customer);

        let missing = block_on(change_role(
            &db,
            &versions(),
            "other",
            &user.id,
            Role::Vendor,
        ))
        .unwrap_err();
        assert!(matches!(missing, AccountError::NotFound), "{missing:?}");
    }

    #[test]
    fn role_and_password_changes_move_the_token_version_past_earlier_logins() {
        let db = database();
        let versions = versions();
        block_on(ensure_admin(&db, TENANT, "root@example.com", PASSWORD)).unwrap();
        let user = block_on(register(&db, TENANT, &registration("ada@example.com"))).unwrap();
        let login_as = |password: &str| {
            block_on(login(
                &db,
                &versions,
                TENANT,
                &credentials("ada@example.com", password),
                "203.0.113.7",
                NOW,
            ))
            .unwrap()
        };
        let (_, first) = login_as(PASSWORD);
        block_on(change_role(&db, &versions, TENANT, &user.id, Role::Vendor)).unwrap();
        let (vendor, second) = login_as(PASSWORD);
        assert_eq!(vendor.role, Role::Vendor);
        assert!(second > first, "{second} > {first}");

        let change = PasswordChange {
            current_password: PASSWORD.into(),
            new_password: "new password 1".into(),
        };
        block_on(change_password(&db, &versions, TENANT, &user.id, &change)).unwrap();
        let (_, third) = login_as("new password 1");
        assert!(third > second, "{third} > {second}");

        // A refused change revokes nothing.
        let root = block_on(find_by_email(&db, TENANT, "root@example.com"))
            .unwrap()
            .unwrap()
            .0;
        let before = block_on(versions.token_version(TENANT, &root.id)).unwrap();
        block_on(change_role(
            &db,
            &versions,
            TENANT,
            &root.id,
            Role::Customer,
        ))
        .unwrap_err();
        assert_eq!(
            block_on(versions.token_version(TENANT, &root.id)).unwrap(),
            before
        );
    }

    #[test]
    fn role_change_body_accepts_only_known_roles() {
        let parsed: crate::RoleChange = serde_json::from_str(r#"{"role":"vendor"}"#).unwrap();
        assert_eq!(parsed.role, Role::Vendor);
        assert!(serde_json::from_str::<crate::RoleChange>(r#"{"role":"root"}"#).is_err());
    }

    #[test]
    fn first_admin_is_created_once() {
        let db = database();
        let admin = block_on(ensure_admin(&db, TENANT, "Root@Example.com", PASSWORD)).unwrap();
        assert_eq!(
            (admin.role, admin.email.as_str()),
            (Role::Admin, "root@example.com")
        );
        let again = block_on(ensure_admin(&db, TENANT, "root@example.com", PASSWORD)).unwrap();
        assert_eq!(again, admin);
        let count = block_on(db.query("SELECT COUNT(*) FROM users", &[])).unwrap();
        assert_eq!(count[0].get_i64(0).unwrap(), 1);
        block_on(login(
            &db,
            &versions(),
            TENANT,
            &credentials("root@example.com", PASSWORD),
            "203.0.113.7",
            NOW,
        ))
        .unwrap();

        // Each tenant gets its own.
        let elsewhere = block_on(ensure_admin(&db, "other", "root@example.com", PASSWORD)).unwrap();
        assert_ne!(elsewhere.id, admin.id);

        let error = block_on(ensure_admin(&db, TENANT, "nobody", "short")).unwrap_err();
        assert_eq!(fields(error), ["admin_email", "admin_password"]);
    }
}
