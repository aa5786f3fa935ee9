//! The app's pages: `/openapi.json` is the checked-in OpenAPI 3.1 document and `/docs`
//! renders it; `/` (the storefront) and `/admin` load only the app's own files. Every page
//! is under a policy that forbids inline scripts (tests/tests/browser.rs drives them).

use acceptance::{Shop, assert_problem, on_both_stores};

on_both_stores!(
    the_app_serves_its_document_and_reference_page,
    the_storefront_and_the_admin_are_pages_without_inline_scripts
);

fn the_app_serves_its_document_and_reference_page(shop: &Shop) {
    let visitor = shop.anonymous();
    let document = visitor.get("/openapi.json");
    assert_eq!(document.header("content-type"), Some("application/json"));
    let document = document.expect_ok();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document.to_string(),
        serde_json::from_str::<serde_json::Value>(include_str!("../../web/openapi.json"))
            .unwrap()
            .to_string(),
        "the app serves the checked-in document"
    );

    let page = visitor.get("/docs");
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(
        !page.body.contains("<script>"),
        "no inline script: {}",
        page.body
    );
    for script in ["/docs/swagger-ui-bundle.js", "/docs/init.js"] {
        assert!(
            page.body
                .contains(&format!("<script src=\"{script}\"></script>"))
        );
        let file = visitor.get(script);
        assert_eq!(file.status, 200, "{script}");
        assert_eq!(
            file.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
    }
    let styles = visitor.get("/docs/swagger-ui.css");
    assert_eq!(
        styles.header("content-type"),
        Some("text/css; charset=utf-8")
    );

    // A cache revalidates: the same bytes answer 304 to their tag.
    let bundle = visitor.get("/docs/swagger-ui-bundle.js");
    let tag = bundle.header("etag").expect("a GET's 200 carries an ETag");
    let again = visitor
        .request("GET", "/docs/swagger-ui-bundle.js")
        .header("if-none-match", tag)
        .send();
    assert_eq!(again.status, 304);

    assert_problem(&visitor.get("/docs/swagger-ui.js.map"), 404);
}

fn the_storefront_and_the_admin_are_pages_without_inline_scripts(shop: &Shop) {
    let visitor = shop.anonymous();
    for (path, script) in [("/", "/assets/shop.js"), ("/admin", "/assets/admin.js")] {
        let page = visitor.get(path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let policy = page.header("content-security-policy").unwrap();
        for directive in [
            "script-src 'self';",
            "style-src 'self';",
            "connect-src 'self';",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!page.body.contains("<script>"), "{path}: an inline script");
        assert!(!page.body.contains("style="), "{path}: an inline style");
        assert!(
            page.body.contains(&format!(
                "<script type=\"module\" src=\"{script}\"></script>"
            )),
            "{path}"
        );
        let file = visitor.get(script);
        assert_eq!(file.status, 200, "{script}");
        assert_eq!(
            file.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
    }
    let styles = visitor.get("/assets/style.css");
    assert_eq!(
        styles.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_problem(&visitor.get("/assets/missing.js"), 404);
    assert_problem(&visitor.get("/assets/"), 404);
    assert_problem(&visitor.request("POST", "/admin").send(), 405);
    assert_problem(&visitor.request("POST", "/openapi.json").send(), 405);
}
