//! The Spin handler: each page from the bytes built into the component.

use crate::routes::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, Endpoint, ROUTES, content_type};
use http::{HeaderValue, StatusCode, header};
use kit::Problem;
use kit::http::{Response, with_body};
use kit::service::Call;

kit::api_component!(stateless "site", ROUTES, serve);

const DOCUMENT: &str = include_str!("../../../../web/openapi.json");
const REFERENCE_PAGE: &str = include_str!("../../../../web/docs/index.html");

/// The reference page's files: ours, then Swagger UI's from `web/node_modules`.
const REFERENCE_FILES: &[(&str, &[u8])] = &[
    ("init.js", include_bytes!("../../../../web/docs/init.js")),
    (
        "swagger-ui-bundle.js",
        include_bytes!("../../../../web/node_modules/swagger-ui-dist/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        include_bytes!("../../../../web/node_modules/swagger-ui-dist/swagger-ui.css"),
    ),
    (
        "favicon-32x32.png",
        include_bytes!("../../../../web/node_modules/swagger-ui-dist/favicon-32x32.png"),
    ),
];

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    let mut response = match endpoint {
        Endpoint::Document => with_body(StatusCode::OK, "application/json", DOCUMENT, request_id),
        Endpoint::ReferencePage => {
            let mut page = with_body(
                StatusCode::OK,
                "text/html; charset=utf-8",
                REFERENCE_PAGE,
                request_id,
            );
            page.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            page
        }
        Endpoint::ReferenceAsset => {
            let file = call.capture();
            let (bytes, content_type) = REFERENCE_FILES
                .iter()
                .find(|(name, _)| *name == file)
                .and_then(|(_, bytes)| Some((*bytes, content_type(file)?)))
                .ok_or_else(|| Problem::not_found(format!("no file /docs/{file}")))?;
            with_body(StatusCode::OK, content_type, bytes, request_id)
        }
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok(response)
}
