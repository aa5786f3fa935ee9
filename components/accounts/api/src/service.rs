//! The Spin handler: tenant, caller, body and store around each domain call.

use crate::routes::{AccessToken, Endpoint, ROLE_ADMINS, ROUTES};
use accounts_domain::{
    AccountError, CONTEXT, Credentials, MIGRATIONS, PasswordChange, ProfileUpdate, Registration,
    RoleChange,
};
use http::{HeaderValue, StatusCode, header};
use kit::Problem;
use kit::auth::{Caller, tenant_from_headers, unix_now};
use kit::edge::Edge;
use kit::http::Request;
use kit::http::{Response, empty, json, respond};
use kit::json::read_json;
use kit::outbox::now_ms;
use kit::spin::{SpinDb, jwt_key, open_store, variable};
use kit::{request_id, route};

kit::api_component!(
    Edge {
        context: Some(CONTEXT),
        migrations: MIGRATIONS,
    },
    handle_request
);

/// The routes, behind the edge (CORS, rate limit, idempotency, security headers).
async fn handle_request(request: Request) -> Response {
    let request_id = request_id::from_headers(request.headers());
    let path = request.uri().path().to_owned();
    let (endpoint, captures) = match route::find(ROUTES, request.method(), &path) {
        Ok(found) => found,
        Err(no_route) => return no_route.to_response(request.method(), &path, &request_id),
    };
    let outcome = match (endpoint, captures.as_slice()) {
        (Endpoint::Register, _) => register(request, &request_id).await,
        (Endpoint::Login, _) => login(request, &request_id).await,
        (Endpoint::Me, _) => me(&request, &request_id).await,
        (Endpoint::UpdateMe, _) => update_me(request, &request_id).await,
        (Endpoint::ChangePassword, _) => change_password(request, &request_id).await,
        (Endpoint::GetUser, [id]) => get_user(&request, id, &request_id).await,
        (Endpoint::ChangeRole, [id]) => change_role(request, id, &request_id).await,
        // The table's `{id}` patterns give these exactly one capture.
        (Endpoint::GetUser | Endpoint::ChangeRole, _) => Err(Problem::internal()),
    };
    respond(outcome, &request_id)
}

async fn authenticate(request: &Request) -> Result<Caller, Problem> {
    kit::spin::authenticate(request.headers()).await
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The domain's answer as a problem; internal causes are logged, then a bare 500.
fn domain_problem(request_id: &str) -> impl Fn(AccountError) -> Problem + '_ {
    move |error| {
        if matches!(error, AccountError::Db(_) | AccountError::Hash(_)) {
            eprintln!("[{request_id}] accounts: {error}");
        }
        error.into()
    }
}

/// Creates the configured first admin of `tenant` if missing (one query when present),
/// so they can log in. A misconfigured admin is logged, not blamed on the client: the
/// tenant's other users still log in.
async fn ensure_first_admin(db: &SpinDb, tenant: &str, request_id: &str) -> Result<(), Problem> {
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
        Err(error) => Err(domain_problem(request_id)(error)),
    }
}

async fn register(request: Request, request_id: &str) -> Result<Response, Problem> {
    let tenant = tenant_from_headers(request.headers())?;
    let registration: Registration = read_json(request).await?;
    let db = store(request_id).await?;
    let user = accounts_domain::register(&db, &tenant, &registration)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::CREATED, &user, request_id))
}

async fn login(request: Request, request_id: &str) -> Result<Response, Problem> {
    let tenant = tenant_from_headers(request.headers())?;
    let credentials: Credentials = read_json(request).await?;
    let key = jwt_key().await?;
    let db = store(request_id).await?;
    ensure_first_admin(&db, &tenant, request_id).await?;
    let user = match accounts_domain::login(&db, &tenant, &credentials, now_ms()).await {
        Ok(user) => user,
        Err(AccountError::Throttled { retry_after_secs }) => {
            let problem: Problem = AccountError::Throttled { retry_after_secs }.into();
            let mut response = problem.to_response(request_id);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return Ok(response);
        }
        Err(error) => return Err(domain_problem(request_id)(error)),
    };
    let token = AccessToken::issue(&key, &user.id, user.role, &tenant, unix_now());
    Ok(json(StatusCode::OK, &token, request_id))
}

async fn me(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(request).await?;
    user_answer(&caller.tenant, &caller.user_id, request_id).await
}

/// `GET /users/{id}`: an admin reads any user of their tenant.
async fn get_user(request: &Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(request).await?;
    caller.require_role(ROLE_ADMINS)?;
    user_answer(&caller.tenant, id, request_id).await
}

async fn user_answer(tenant: &str, id: &str, request_id: &str) -> Result<Response, Problem> {
    let db = store(request_id).await?;
    let user = accounts_domain::get_user(&db, tenant, id)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &user, request_id))
}

async fn update_me(request: Request, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(&request).await?;
    let update: ProfileUpdate = read_json(request).await?;
    let db = store(request_id).await?;
    let user = accounts_domain::update_profile(&db, &caller.tenant, &caller.user_id, &update)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &user, request_id))
}

async fn change_password(request: Request, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(&request).await?;
    let change: PasswordChange = read_json(request).await?;
    let db = store(request_id).await?;
    accounts_domain::change_password(&db, &caller.tenant, &caller.user_id, &change)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(empty(StatusCode::NO_CONTENT, request_id))
}

async fn change_role(request: Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(&request).await?;
    caller.require_role(ROLE_ADMINS)?;
    let change: RoleChange = read_json(request).await?;
    let db = store(request_id).await?;
    let user = accounts_domain::change_role(&db, &caller.tenant, id, change.role)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &user, request_id))
}
