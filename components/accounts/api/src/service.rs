//! The Spin handler: each endpoint's tenant or caller, body and domain call.

use crate::routes::{AccessToken, Endpoint, ROLE_ADMINS, ROUTES};
use accounts_domain::{
    AccountError, Credentials, PasswordChange, ProfileUpdate, Registration, RoleChange,
};
use http::{HeaderValue, StatusCode, header};
use kit::Problem;
use kit::auth::{tenant_from_headers, unix_now};
use kit::http::{Response, empty, json};
use kit::outbox::now_ms;
use kit::service::Call;
use kit::spin::{jwt_key, variable};

kit::api_component!(accounts_domain, ROUTES, serve);

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    match endpoint {
        Endpoint::Register => {
            let tenant = tenant_from_headers(call.headers())?;
            let registration: Registration = call.json()?;
            let user = accounts_domain::register(call.db().await?, &tenant, &registration)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::CREATED, &user, request_id))
        }
        Endpoint::Login => login(call).await,
        Endpoint::Me => {
            let caller = call.caller().await?;
            user_answer(call, &caller.tenant, &caller.user_id).await
        }
        // An admin reads any user of their tenant.
        Endpoint::GetUser => {
            let caller = call.caller().await?;
            caller.require_role(ROLE_ADMINS)?;
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
    let tenant = tenant_from_headers(call.headers())?;
    let credentials: Credentials = call.json()?;
    let key = jwt_key().await?;
    ensure_first_admin(call, &tenant).await?;
    let user = match accounts_domain::login(call.db().await?, &tenant, &credentials, now_ms()).await
    {
        Ok(user) => user,
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
    let token = AccessToken::issue(&key, &user.id, user.role, &tenant, unix_now());
    Ok(json(StatusCode::OK, &token, request_id))
}

/// Creates the configured first admin of `tenant` if missing (one query when present),
/// so they can log in. A misconfigured admin is logged, not blamed on the client: the
/// tenant's other users still log in.
async fn ensure_first_admin(call: &Call, tenant: &str) -> Result<(), Problem> {
    let request_id = call.request_id();
    let db = call.db().await?;
    let email = variable("admin_email").await.ok().flatten();
    let password = variable("admin_password").await.ok().flatten();
    let (Some(email), Some(password)) = (email, password) else {
        eprintln!("[{request_id}] admin_email or admin_password is not set; no first admin");
        return Ok(());
    };
    match accounts_domain::ensure_admin(db, tenant, &email, &password).await {
        Ok(_) => Ok(()),
        Err(AccountError::Invalid(errors)) => {
            eprintln!("[{request_id}] the configured first admin is invalid: {errors:?}");
            Ok(())
        }
        Err(error) => Err(call.domain(error)),
    }
}

async fn user_answer(call: &Call, tenant: &str, id: &str) -> Result<Response, Problem> {
    let user = accounts_domain::get_user(call.db().await?, tenant, id)
        .await
        .map_err(|error| call.domain(error))?;
    Ok(json(StatusCode::OK, &user, call.request_id()))
}
