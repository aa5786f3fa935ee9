//! The `#[http_service]` handler (wasm only: it calls Spin's interfaces).

use kit::http::{Response, health};
use spin_sdk::http::{Request, StatusCode};
use spin_sdk::{http_service, key_value};

/// The contexts whose databases must answer; each is a SQLite label or Postgres schema.
const CONTEXTS: [&str; 2] = ["accounts", "catalog"];

#[http_service]
async fn handle(request: Request) -> Response {
    let request_id = kit::request_id::from_headers(request.headers());
    if request.method() != spin_sdk::http::Method::GET {
        return kit::problem::Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "/health answers GET only",
        )
        .to_response(&request_id);
    }
    let mut checks = Vec::with_capacity(CONTEXTS.len() + 1);
    for context in CONTEXTS {
        checks.push((context, database_answers(context).await));
    }
    checks.push(("key_value", key_value_answers().await));
    health(&checks, &request_id)
}

async fn database_answers(context: &str) -> bool {
    match kit::spin::open_for_context(context).await {
        Ok(db) => kit::db::ping(&db).await.is_ok(),
        Err(error) => {
            eprintln!("health: {context}: {error}");
            false
        }
    }
}

async fn key_value_answers() -> bool {
    match key_value::Store::open_default().await {
        Ok(store) => store.exists("health").await.is_ok(),
        Err(error) => {
            eprintln!("health: key-value: {error:?}");
            false
        }
    }
}
