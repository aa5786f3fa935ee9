//! The Spin handler: each endpoint's tenant or caller, body and domain call.

use crate::routes::{AccessToken, Endpoint, ROLE_ADMINS, ROUTES, USER_READERS};
use accounts_domain::{
    AccountError, Credentials, NewTenant, PasswordChange, ProfileUpdate, Registration, RoleChange,
};
use http::{HeaderValue, StatusCode, header};
use kit::Problem;
use kit::auth::{tenant_from_headers, unix_now};
use kit::http::{Response, empty, json};
use kit::json::Validate;
use kit::outbox::now_ms;
use kit::service::Call;
use kit::spin::{Spin, authorize_operator, jwt_key, variable};

kit::api_component!(accounts_domain, ROUTES, serve);

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    match endpoint {
        Endpoint::Register => {
            let tenant = open_tenant(call).await?;
            let registration: Registration = call.json()?;
            let user = accounts_domain::register(call.db().await?, &tenant, &registration)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::CREATED, &user, request_id))
        }
        Endpoint::Login => login(call).await,
        // A platform operator's, not a tenant user's: the key, not a token.
        Endpoint::CreateTenant => {
            authorize_operator(call.headers()).await?;
            let new: NewTenant = call.json()?;
            let tenant = accounts_domain::create_tenant(call.db().await?, &new)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::CREATED, &tenant, request_id))
        }
        Endpoint::Me => {
            let caller = call.caller().await?;
            user_answer(call, &caller.tenant, &caller.user_id).await
        }
        // An admin reads any user of their tenant, and so does a component's service
        // token (notifications reading a customer's email): its only route.
        Endpoint::GetUser => {
            let caller = call.caller_or_service().await?;
            caller.require_role(USER_READERS)?;
            user_answer(call, &caller.tenant, call.capture()).await
        }
        Endpoint::UpdateMe => {
            let caller = call.caller().await?;
            let update: ProfileUpdate = call.json()?;
            let user = accounts_domain::update_profile(
                call.db().await?,
                &caller.tenant,
                &caller.user_id,
                &update,
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &user, request_id))
        }
        Endpoint::ChangePassword => {
            let caller = call.caller().await?;
            let change: PasswordChange = call.json()?;
            accounts_domain::change_password(
                call.db().await?,
                &Spin,
                &caller.tenant,
                &caller.user_id,
                &change,
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(empty(StatusCode::NO_CONTENT, request_id))
        }
        Endpoint::ChangeRole => {
            let caller = call.caller().await?;
            caller.require_role(ROLE_ADMINS)?;
            let change: RoleChange = call.json()?;
            let user = accounts_domain::change_role(
                call.db().await?,
                &Spin,
                &caller.tenant,
                call.capture(),
                change.role,
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &user, request_id))
        }
    }
}

async fn login(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    let tenant = open_tenant(call).await?;
    let credentials: Credentials = call.json()?;
    // A blank email or password is the request's fault, not a failed attempt to throttle.
    credentials.validate().map_err(Problem::validation)?;
    let key = jwt_key().await?;
    let client = kit::edge::client_ip(call.headers());
    let db = call.db().await?;
    let login = accounts_domain::login(db, &Spin, &tenant, &credentials, &client, now_ms()).await;
    let (user, token_version) = match login {
        Ok(logged_in) => logged_in,
        Err(AccountError::Throttled { retry_after_secs }) => {
            let problem: Problem = AccountError::Throttled { retry_after_secs }.into();
            let mut response = problem.to_response(request_id);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return Ok(response);
        }
        Err(error) => return Err(call.domain(error)),
    };
    let token = AccessToken::issue(&key, &user, token_version, unix_now());
    Ok(json(StatusCode::OK, &token, request_id))
}

/// The request's tenant (`x-tenant-id`, `default` without it), which must exist: 404
/// for one no operator created. `default` is set up on first use with the configured
/// first admin (`admin_email` / `admin_password`).
async fn open_tenant(call: &Call) -> Result<String, Problem> {
    let tenant = tenant_from_headers(call.headers())?;
    let email = variable("admin_email").await.ok().flatten();
    let password = variable("admin_password").await.ok().flatten();
    let first_admin = email.as_deref().zip(password.as_deref());
    accounts_domain::open_tenant(call.db().await?, &tenant, first_admin)
        .await
        .map_err(|error| call.domain(error))?;
    Ok(tenant)
}

async fn user_answer(call: &Call, tenant: &str, id: &str) -> Result<Response, Problem> {
    let user = accounts_domain::get_user(call.db().await?, tenant, id)
        .await
        .map_err(|error| call.domain(error))?;
    Ok(json(StatusCode::OK, &user, call.request_id()))
}
