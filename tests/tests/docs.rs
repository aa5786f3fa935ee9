//! The API described: `/openapi.json` is the checked-in OpenAPI 3.1 document and `/docs`
//! renders it from the app's own files, under a policy that forbids inline scripts.

use acceptance::{Shop, assert_problem, on_both_stores};

on_both_stores!(the_app_serves_its_document_and_reference_page);

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
    assert_problem(&visitor.request("POST", "/openapi.json").send(), 405);
}
