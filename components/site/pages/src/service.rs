//! The Spin handler: each page from the bytes built into the component.

use crate::routes::{
    CACHE_CONTROL, Endpoint, PAGES_POLICY, REFERENCE_POLICY, ROUTES, content_type,
};
use http::{HeaderValue, StatusCode, header};
use kit::Problem;
use kit::http::{Response, with_body};
use kit::service::Call;

kit::api_component!(stateless "site", ROUTES, serve);

const DOCUMENT: &str = include_str!("../../../../web/openapi.json");
const REFERENCE_PAGE: &str = include_str!("../../../../web/docs/index.html");
/// The storefront's and the admin's page, `{page}` standing for which.
const PAGE: &str = include_str!("../../../../web/page.html");

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

// `ASSETS`: the storefront's and the admin's files, listed by build.rs.
include!(concat!(env!("OUT_DIR"), "/assets.rs"));

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    let page = |html: String, policy: &'static str| {
        let mut page = with_body(StatusCode::OK, "text/html; charset=utf-8", html, request_id);
        page.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
        page
    };
    let file = |files: &[(&str, &'static [u8])], folder: &str| {
        let name = call.capture();
        files
            .iter()
            .find(|(candidate, _)| *candidate == name)
            .and_then(|(_, bytes)| Some((*bytes, content_type(name)?)))
            .map(|(bytes, content_type)| with_body(StatusCode::OK, content_type, bytes, request_id))
            .ok_or_else(|| Problem::not_found(format!("no file /{folder}/{name}")))
    };
    let mut response = match endpoint {
        Endpoint::Document => with_body(StatusCode::OK, "application/json", DOCUMENT, request_id),
        Endpoint::ReferencePage => page(REFERENCE_PAGE.to_owned(), REFERENCE_POLICY),
        Endpoint::ReferenceAsset => file(REFERENCE_FILES, "docs")?,
        Endpoint::Storefront => page(PAGE.replace("{page}", "shop"), PAGES_POLICY),
        Endpoint::Admin => page(PAGE.replace("{page}", "admin"), PAGES_POLICY),
        Endpoint::Asset => file(ASSETS, "assets")?,
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok(response)
}
