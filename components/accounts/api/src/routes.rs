//! The accounts route table and the login answer.

use accounts_domain::User;
use http::Method;
use kit::auth::{Claims, JwtKey, Role};
use kit::route::Route;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Register,
    Login,
    Me,
    UpdateMe,
    ChangePassword,
    /// `{id}`: a user an admin reads (other components read a customer's email this way).
    GetUser,
    /// `{id}`: the user whose role an admin changes.
    ChangeRole,
    /// A platform operator creates a tenant and its first admin.
    CreateTenant,
}

/// DESIGN §3's accounts routes; `/users/me` is listed before `/users/{id}` so it owns
/// its path.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::POST, "/api/v1/auth/register", Endpoint::Register),
    Route::new(Method::POST, "/api/v1/auth/login", Endpoint::Login),
    Route::new(Method::GET, "/api/v1/users/me", Endpoint::Me),
    Route::new(Method::PATCH, "/api/v1/users/me", Endpoint::UpdateMe),
    Route::new(
        Method::POST,
        "/api/v1/users/me/password",
        Endpoint::ChangePassword,
    ),
    Route::new(Method::GET, "/api/v1/users/{id}", Endpoint::GetUser),
    Route::new(Method::PATCH, "/api/v1/users/{id}", Endpoint::ChangeRole),
    Route::new(Method::POST, "/api/v1/tenants", Endpoint::CreateTenant),
];

/// Who may change roles.
pub const ROLE_ADMINS: &[Role] = &[Role::Admin];
/// Who may read other users: admins, and components with a service token.
pub const USER_READERS: &[Role] = &[Role::Admin, Role::Service];

/// How long an access token lives; there are no refresh tokens, so a client logs in
/// again after an hour.
pub const TOKEN_TTL_SECONDS: i64 = 3600;

/// The login answer (DESIGN §3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessToken {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    #[schema(schema_with = bearer)]
    pub token_type: &'static str,
    /// Seconds the token is valid for (3600); then log in again.
    pub expires_in: i64,
}

/// `token_type`: always `Bearer`.
fn bearer() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["Bearer"]))
        .build()
}

impl AccessToken {
    /// A bearer token for `user` in their tenant, issued at `now` and at the user's
    /// token version `version`.
    pub fn issue(key: &JwtKey, user: &User, version: i64, now: i64) -> Self {
        let claims = Claims::new(&user.id, user.role, &user.tenant, now, TOKEN_TTL_SECONDS)
            .with_version(version);
        Self {
            access_token: key.issue(&claims),
            token_type: "Bearer",
            expires_in: TOKEN_TTL_SECONDS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_cover_design_section_3() {
        let cases = [
            (Method::POST, "/api/v1/auth/register", Endpoint::Register),
            (Method::POST, "/api/v1/auth/login", Endpoint::Login),
            (Method::GET, "/api/v1/users/me", Endpoint::Me),
            (Method::PATCH, "/api/v1/users/me", Endpoint::UpdateMe),
            (
                Method::POST,
                "/api/v1/users/me/password",
                Endpoint::ChangePassword,
            ),
            (Method::GET, "/api/v1/users/0190a", Endpoint::GetUser),
            (Method::PATCH, "/api/v1/users/0190a", Endpoint::ChangeRole),
        ];
        for (method, path, endpoint) in cases {
            assert_eq!(find(ROUTES, &method, path).unwrap().0, endpoint, "{path}");
        }
        assert_eq!(
            find(ROUTES, &Method::PATCH, "/api/v1/users/0190a")
                .unwrap()
                .1,
            ["0190a"]
        );
    }

    #[test]
    fn wrong_methods_and_unknown_paths() {
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/auth/login"),
            Err(NoRoute::MethodNotAllowed(vec![Method::POST]))
        );
        assert_eq!(
            find(ROUTES, &Method::DELETE, "/api/v1/users/me"),
            Err(NoRoute::MethodNotAllowed(vec![Method::GET, Method::PATCH]))
        );
        assert_eq!(
            find(ROUTES, &Method::POST, "/api/v1/auth/logout"),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/users"),
            Err(NoRoute::NotFound)
        );
    }

    #[test]
    fn access_token_carries_the_claims_and_shape() {
        let key = JwtKey::new("accounts-api-test-secret").unwrap();
        let now = 1_750_000_000;
        let user = accounts_domain::User {
            id: "user-1".into(),
            tenant: "acme".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            role: Role::Vendor,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let token = AccessToken::issue(&key, &user, 3, now);
        let claims = key.verify(&token.access_token, now + 1).unwrap();
        assert_eq!(
            claims,
            Claims::new("user-1", Role::Vendor, "acme", now, TOKEN_TTL_SECONDS).with_version(3)
        );
        let json = serde_json::to_value(&token).unwrap();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 3600);
    }
}
