//! The catalog over HTTP: product CRUD with soft delete, categories and the category filter,
//! cursor pagination without duplicates or gaps, ranked full-text search, and anonymous
//! reads a cache may keep and revalidate (`ETag`, 304).

use std::collections::BTreeSet;

use acceptance::{Shop, assert_field_error, assert_problem, items, on_both_stores, product, text};
use serde_json::{Value, json};

on_both_stores!(
    product_crud_with_soft_delete,
    categories_and_the_category_filter,
    pages_cover_every_product_once,
    bad_list_parameters_are_422_naming_the_parameter,
    search_ranks_name_matches_above_description_matches,
    an_anonymous_read_revalidates_to_304_until_the_product_changes,
);

fn product_crud_with_soft_delete(shop: &Shop) {
    let admin = shop.admin();
    let created = admin
        .post("/api/v1/products", &product("MUG-1", "Blue Mug"))
        .expect_json(201);
    for (field, expected) in [
        ("sku", json!("MUG-1")),
        ("name", json!("Blue Mug")),
        ("slug", json!("blue-mug")),
        ("price", json!(1999)),
        ("currency", json!("EUR")),
        ("brand", json!("Acme")),
        ("image_url", json!("https://images.example.com/p.png")),
        ("attributes", json!({ "colour": "red" })),
        ("active", json!(true)),
    ] {
        assert_eq!(created[field], expected, "{field} of {created}");
    }
    for field in ["id", "description", "created_at", "updated_at"] {
        assert!(created[field].is_string(), "{field} of {created}");
    }
    let id = text(&created, "id");
    let path = format!("/api/v1/products/{id}");

    let visitor = shop.anonymous();
    assert_eq!(visitor.get(&path).expect_ok(), created);

    let patched = admin
        .patch(&path, &json!({ "price": 2499, "name": "Big Blue Mug" }))
        .expect_ok();
    assert_eq!(patched["price"], 2499);
    assert_eq!(patched["name"], "Big Blue Mug");
    assert_eq!(patched["sku"], "MUG-1", "fields not in the patch stay");
    assert_eq!(patched["created_at"], created["created_at"]);
    assert!(text(&patched, "updated_at") >= text(&created, "updated_at"));
    assert_eq!(visitor.get(&path).expect_ok(), patched);

    let deleted = admin.delete(&path);
    assert_eq!(deleted.status, 204, "delete: {}", deleted.body);
    assert!(deleted.body.is_empty(), "204 has no body: {}", deleted.body);
    assert_problem(&visitor.get(&path), 404);
    assert!(
        !ids(&items(&visitor.get("/api/v1/products"))).contains(&id),
        "the public list hides a deleted product"
    );
    assert!(items(&visitor.get("/api/v1/search?q=mug")).is_empty());
    // Soft delete: the writers still see it, inactive.
    assert_eq!(admin.get(&path).expect_ok()["active"], false);
}

fn categories_and_the_category_filter(shop: &Shop) {
    let admin = shop.admin();
    let shoes = admin
        .post("/api/v1/categories", &json!({ "name": "Running Shoes" }))
        .expect_json(201);
    assert_eq!(shoes["name"], "Running Shoes");
    assert_eq!(shoes["slug"], "running-shoes");
    let shoes_id = text(&shoes, "id");
    let hats_id = text(
        &admin
            .post("/api/v1/categories", &json!({ "name": "Hats" }))
            .expect_json(201),
        "id",
    );

    let listed = items(&shop.anonymous().get("/api/v1/categories"));
    let names: BTreeSet<_> = listed.iter().map(|c| text(c, "name")).collect();
    assert_eq!(
        names,
        BTreeSet::from(["Hats".into(), "Running Shoes".into()])
    );

    let in_category = |sku: &str, category_id: &str| {
        let mut body = product(sku, sku);
        body["category_id"] = json!(category_id);
        text(
            &admin.post("/api/v1/products", &body).expect_json(201),
            "id",
        )
    };
    let shoe_ids = BTreeSet::from([
        in_category("SHOE-1", &shoes_id),
        in_category("SHOE-2", &shoes_id),
    ]);
    in_category("HAT-1", &hats_id);

    let filtered = items(
        &shop
            .anonymous()
            .get(&format!("/api/v1/products?category_id={shoes_id}")),
    );
    assert_eq!(ids(&filtered), shoe_ids);
    assert!(filtered.iter().all(|p| p["category_id"] == json!(shoes_id)));
}

fn pages_cover_every_product_once(shop: &Shop) {
    const PRODUCTS: usize = 45;
    const LIMIT: usize = 10;
    let admin = shop.admin();
    let created: BTreeSet<String> = (0..PRODUCTS)
        .map(|n| {
            let body = product(&format!("PAGE-{n:02}"), &format!("Page Product {n}"));
            text(
                &admin.post("/api/v1/products", &body).expect_json(201),
                "id",
            )
        })
        .collect();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/api/v1/products?limit={LIMIT}"),
            Some(cursor) => format!("/api/v1/products?limit={LIMIT}&cursor={cursor}"),
        };
        let page = shop.anonymous().get(&path).expect_ok();
        let page_items = page["items"].as_array().expect("items").clone();
        assert!(page_items.len() <= LIMIT, "page over the limit: {page}");
        seen.extend(page_items.iter().map(|p| text(p, "id")));
        pages += 1;
        assert!(pages <= PRODUCTS, "pagination does not end");
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(page_items.len(), LIMIT, "only the last page may be short");
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a product appeared on two pages");
    assert_eq!(
        unique, created,
        "the pages together are exactly the products"
    );
    assert_eq!(pages, PRODUCTS.div_ceil(LIMIT));
}

fn bad_list_parameters_are_422_naming_the_parameter(shop: &Shop) {
    let visitor = shop.anonymous();
    for (query, field) in [
        ("/api/v1/products?limit=0", "limit"),
        ("/api/v1/products?limit=101", "limit"),
        ("/api/v1/products?limit=ten", "limit"),
        ("/api/v1/products?cursor=not-a-cursor", "cursor"),
        ("/api/v1/search", "q"),
        ("/api/v1/search?q=%20", "q"),
        ("/api/v1/search?q=mug&limit=500", "limit"),
    ] {
        assert_field_error(&visitor.get(query), field);
    }
}

fn search_ranks_name_matches_above_description_matches(shop: &Shop) {
    let admin = shop.admin();
    let create = |sku: &str, name: &str, description: &str| {
        let mut body = product(sku, name);
        body["description"] = json!(description);
        text(
            &admin.post("/api/v1/products", &body).expect_json(201),
            "id",
        )
    };
    let in_description = create(
        "SEARCH-1",
        "Plain Mug",
        "Pairs well with our kettle for a morning brew",
    );
    let in_name = create("SEARCH-2", "Copper Kettle", "Boils water on any stove");
    create("SEARCH-3", "Wool Scarf", "Warm and soft");

    let found = items(&shop.anonymous().get("/api/v1/search?q=kettle"));
    let order: Vec<String> = found.iter().map(|p| text(p, "id")).collect();
    assert_eq!(
        order,
        vec![in_name, in_description],
        "the name match ranks first and the scarf does not match: {found:?}"
    );
    assert!(items(&shop.anonymous().get("/api/v1/search?q=submarine")).is_empty());
}

fn an_anonymous_read_revalidates_to_304_until_the_product_changes(shop: &Shop) {
    let admin = shop.admin();
    let created = admin
        .post("/api/v1/products", &product("ETAG-1", "Tagged Mug"))
        .expect_json(201);
    let path = format!("/api/v1/products/{}", text(&created, "id"));
    let visitor = shop.anonymous();

    let first = visitor.get(&path);
    assert_eq!(first.status, 200, "{}", first.body);
    let tag = first
        .header("etag")
        .expect("a read carries an ETag")
        .to_owned();
    assert_eq!(first.header("cache-control"), Some("public, no-cache"));
    assert_eq!(first.header("vary"), Some("authorization, x-tenant-id"));

    let revalidated = visitor
        .request("GET", &path)
        .header("if-none-match", &tag)
        .send();
    assert_eq!(revalidated.status, 304, "{}", revalidated.body);
    assert!(
        revalidated.body.is_empty(),
        "304 has no body: {}",
        revalidated.body
    );
    assert_eq!(revalidated.header("etag"), Some(tag.as_str()));
    assert_eq!(
        revalidated.header("cache-control"),
        Some("public, no-cache")
    );

    admin.patch(&path, &json!({ "price": 2999 })).expect_ok();
    let changed = visitor
        .request("GET", &path)
        .header("if-none-match", &tag)
        .send();
    assert_eq!(changed.status, 200, "a changed product is sent again");
    assert_eq!(changed.json()["price"], 2999);
    assert_ne!(changed.header("etag"), Some(tag.as_str()));

    // A reader with a token may see what others do not (inactive products): its answer
    // stays private to it.
    let as_admin = admin.get(&path);
    assert_eq!(as_admin.header("cache-control"), Some("no-store"));
    assert!(as_admin.header("etag").is_some());
    let listed = visitor.get("/api/v1/products");
    assert_eq!(listed.header("cache-control"), Some("public, no-cache"));
    assert!(listed.header("etag").is_some());
}

fn ids(products: &[Value]) -> BTreeSet<String> {
    products.iter().map(|p| text(p, "id")).collect()
}
