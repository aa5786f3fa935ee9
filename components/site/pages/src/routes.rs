//! The pages' route table and the headers their answers carry.

use http::Method;
use kit::route::Route;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The OpenAPI document.
    Document,
    /// The API reference page.
    ReferencePage,
    /// A file of the reference page (its script and styles).
    ReferenceAsset,
    /// The storefront's page.
    Storefront,
    /// The admin's page.
    Admin,
    /// A file of the storefront or the admin (`web/assets/`).
    Asset,
}

pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/openapi.json", Endpoint::Document),
    Route::new(Method::GET, "/docs", Endpoint::ReferencePage),
    Route::new(Method::GET, "/docs/{file}", Endpoint::ReferenceAsset),
    Route::new(Method::GET, "/", Endpoint::Storefront),
    Route::new(Method::GET, "/admin", Endpoint::Admin),
    Route::new(Method::GET, "/assets/{file}", Endpoint::Asset),
];

/// What the storefront and the admin may load: only the app's own scripts (no inline
/// script) and styles, product images from the app or any web origin (`image_url` is any
/// http(s) URL the catalog chose), and calls to the app alone.
pub const PAGES_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' http: https: data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// What the reference page may load: as the pages, but inline styles are allowed because
/// Swagger UI sets some on its elements.
pub const REFERENCE_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Every reader gets the same bytes until the app is redeployed: a cache keeps them and
/// revalidates with the edge's `ETag` (a 304 costs no body).
pub const CACHE_CONTROL: &str = "public, no-cache";

/// The content type of a page's file by its extension; `None`: not one we serve.
pub fn content_type(file: &str) -> Option<&'static str> {
    match file.rsplit_once('.')?.1 {
        "js" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "png" => Some("image/png"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::route::find;

    #[test]
    fn each_page_has_its_route() {
        for (path, endpoint) in [
            ("/openapi.json", Endpoint::Document),
            ("/docs", Endpoint::ReferencePage),
            ("/docs/", Endpoint::ReferencePage),
            ("/docs/init.js", Endpoint::ReferenceAsset),
            ("/", Endpoint::Storefront),
            ("/admin", Endpoint::Admin),
            ("/assets/shop.js", Endpoint::Asset),
        ] {
            assert_eq!(
                find(ROUTES, &Method::GET, path).unwrap().0,
                endpoint,
                "{path}"
            );
        }
        assert!(find(ROUTES, &Method::POST, "/docs").is_err());
    }

    #[test]
    fn only_scripts_styles_and_images_have_a_content_type() {
        assert_eq!(content_type("a.js"), Some("text/javascript; charset=utf-8"));
        assert_eq!(content_type("a.css"), Some("text/css; charset=utf-8"));
        assert_eq!(content_type("a.map"), None);
        assert_eq!(content_type("README"), None);
    }

    #[test]
    fn the_policies_forbid_inline_scripts() {
        for policy in [PAGES_POLICY, REFERENCE_POLICY] {
            let scripts = policy
                .split(';')
                .find(|directive| directive.trim().starts_with("script-src"))
                .unwrap();
            assert_eq!(scripts.trim(), "script-src 'self'");
        }
    }
}
