//! The app's pages: the storefront at `/` and the admin at `/admin` (`web/page.html` and
//! the modules, styles and images of `web/assets/`), the OpenAPI document
//! (`web/openapi.json`, written by `cargo run -p openapi`) and the reference page at
//! `/docs` (Swagger UI from npm's `swagger-ui-dist`, installed under `web/node_modules` by
//! `scripts/setup`), served as assets built into the component, so no page needs a CDN at
//! run time.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
