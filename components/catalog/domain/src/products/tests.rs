use super::*;
use crate::categories::{NewCategory, create_category};
use crate::test_support::{REQUEST_ID, TENANT, database};
use futures::executor::block_on;
use kit::db::NativeSqlite;
use serde_json::json;

fn new_product(sku: &str, name: &str) -> NewProduct {
    NewProduct {
        sku: sku.into(),
        name: name.into(),
        slug: None,
        description: None,
        price: 1250,
        currency: "EUR".into(),
        category_id: None,
        brand: None,
        image_url: None,
        attributes: None,
        active: None,
    }
}

fn create(db: &NativeSqlite, new: &NewProduct) -> Result<Product, CatalogError> {
    block_on(create_product(db, TENANT, REQUEST_ID, new))
}

fn update(db: &NativeSqlite, id: &str, patch: Value) -> Result<Product, CatalogError> {
    let patch: ProductPatch = serde_json::from_value(patch).unwrap();
    block_on(update_product(db, TENANT, REQUEST_ID, id, &patch))
}

/// (topic, envelope) of every outbox row, oldest first.
fn outbox(db: &NativeSqlite) -> Vec<(String, Value)> {
    block_on(db.query(
        "SELECT topic, payload FROM outbox ORDER BY created_at, id",
        &[],
    ))
    .unwrap()
    .iter()
    .map(|row| {
        let payload = serde_json::from_str(row.get_str(1).unwrap()).unwrap();
        (row.get_str(0).unwrap().to_owned(), payload)
    })
    .collect()
}

fn invalid_fields(error: CatalogError) -> Vec<String> {
    match error {
        CatalogError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn conflict_field(error: CatalogError) -> String {
    match error {
        CatalogError::Conflict(error) => error.field,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn invalid_products_name_each_field() {
    let db = database();
    let with = |change: &dyn Fn(&mut NewProduct)| {
        let mut new = new_product("MUG-1", "Mug");
        change(&mut new);
        new
    };
    let cases: Vec<(NewProduct, Vec<&str>)> = vec![
        (with(&|p| p.sku = String::new()), vec!["sku"]),
        (with(&|p| p.sku = "MUG 1".into()), vec!["sku"]),
        (with(&|p| p.sku = "M".repeat(65)), vec!["sku"]),
        (with(&|p| p.name = "  ".into()), vec!["name"]),
        (with(&|p| p.name = "n".repeat(201)), vec!["name"]),
        (with(&|p| p.slug = Some("Not A Slug".into())), vec!["slug"]),
        (
            with(&|p| p.description = Some("d".repeat(10_001))),
            vec!["description"],
        ),
        (with(&|p| p.price = -1), vec!["price"]),
        (with(&|p| p.currency = "ABC".into()), vec!["currency"]),
        (with(&|p| p.currency = "€".into()), vec!["currency"]),
        (
            with(&|p| p.category_id = Some(String::new())),
            vec!["category_id"],
        ),
        (with(&|p| p.brand = Some(" ".into())), vec!["brand"]),
        (
            with(&|p| p.image_url = Some("ftp://example.com/a.png".into())),
            vec!["image_url"],
        ),
        (
            with(&|p| p.image_url = Some("https://".into())),
            vec!["image_url"],
        ),
        (
            with(&|p| p.attributes = Some(json!([1, 2]))),
            vec!["attributes"],
        ),
        (
            with(&|p| p.attributes = Some(json!("red"))),
            vec!["attributes"],
        ),
        (
            with(&|p| {
                p.sku = String::new();
                p.price = -5;
                p.currency = "XYZ".into();
            }),
            vec!["sku", "price", "currency"],
        ),
        // Checked against the database, after the rules above.
        (
            with(&|p| p.category_id = Some("no-such-category".into())),
            vec!["category_id"],
        ),
    ];
    for (new, fields) in cases {
        let error = create(&db, &new).unwrap_err();
        assert_eq!(invalid_fields(error), fields, "{new:?}");
    }
    assert!(outbox(&db).is_empty());
    let problem = kit::Problem::from(create(&db, &with(&|p| p.price = -1)).unwrap_err());
    assert_eq!(
        (problem.status, problem.errors[0].field.as_str()),
        (422, "price")
    );
}

#[test]
fn create_stores_defaults_and_enqueues_product_created() {
    let db = database();
    let mut new = new_product("MUG-1", "  Blue Mug ");
    new.currency = "eur".into();
    let product = create(&db, &new).unwrap();
    assert_eq!(product.name, "Blue Mug");
    assert_eq!(product.slug, "blue-mug");
    assert_eq!(product.currency, "EUR");
    assert_eq!(product.description, "");
    assert_eq!(product.attributes, Map::new());
    assert!(product.active);
    assert_eq!(product.created_at, product.updated_at);
    assert_eq!(
        block_on(get_product(&db, TENANT, &product.id)).unwrap(),
        product
    );

    let events = outbox(&db);
    assert_eq!(events.len(), 1);
    let (topic, envelope) = &events[0];
    assert_eq!(topic, "product.created");
    assert_eq!(envelope["source"], "catalog");
    assert_eq!(envelope["tenant"], TENANT);
    assert_eq!(envelope["correlationid"], REQUEST_ID);
    assert_eq!(envelope["data"]["product"]["id"], product.id.as_str());
    assert_eq!(envelope["data"]["product"]["price"], 1250);
    assert_eq!(envelope["data"]["product"]["attributes_json"], "{}");
}

#[test]
fn create_keeps_every_given_field() {
    let db = database();
    let category = block_on(create_category(
        &db,
        TENANT,
        &NewCategory {
            name: "Kitchen".into(),
            slug: None,
        },
    ))
    .unwrap();
    let new = NewProduct {
        slug: Some("kettle-deluxe".into()),
        description: Some("Boils water fast.".into()),
        category_id: Some(category.id.clone()),
        brand: Some("Acme".into()),
        image_url: Some("https://img.example.com/kettle.png".into()),
        attributes: Some(json!({"color": "red", "litres": 1.5})),
        active: Some(false),
        price: 0,
        ..new_product("KET-1", "Kettle")
    };
    let product = create(&db, &new).unwrap();
    assert_eq!(product.slug, "kettle-deluxe");
    assert_eq!(product.category_id, Some(category.id));
    assert_eq!(product.attributes["color"], "red");
    assert!(!product.active);
    assert_eq!(
        block_on(get_product(&db, TENANT, &product.id)).unwrap(),
        product
    );
    let json = serde_json::to_value(&product).unwrap();
    assert_eq!(json["attributes"], json!({"color": "red", "litres": 1.5}));
    assert_eq!(json["price"], 0);
}

#[test]
fn product_from_another_tenant_is_not_found() {
    let db = database();
    let product = create(&db, &new_product("MUG-1", "Mug")).unwrap();
    let missing = block_on(get_product(&db, "other", &product.id)).unwrap_err();
    assert!(matches!(missing, CatalogError::NotFound), "{missing:?}");
    assert_eq!(kit::Problem::from(missing).status, 404);
}

#[test]
fn duplicate_sku_is_a_conflict_and_writes_no_event() {
    let db = database();
    create(&db, &new_product("MUG-1", "Mug")).unwrap();
    let error = create(&db, &new_product("MUG-1", "Other mug")).unwrap_err();
    let problem = kit::Problem::from(error);
    assert_eq!(
        (problem.status, problem.errors[0].field.as_str()),
        (409, "sku")
    );
    assert_eq!(outbox(&db).len(), 1);
    // Skus are unique per tenant only.
    block_on(create_product(
        &db,
        "other",
        REQUEST_ID,
        &new_product("MUG-1", "Mug"),
    ))
    .unwrap();
}

#[test]
fn unique_violation_from_a_race_names_its_field() {
    let product = create(&database(), &new_product("MUG-1", "Mug")).unwrap();
    let sqlite = "UNIQUE constraint failed: products.tenant, products.sku";
    let postgres = "duplicate key value violates unique constraint \"products_slug_unique\"";
    let conflict = |message| match unique_violation_conflict(message, &product) {
        CatalogError::Conflict(error) => (error.field, error.message),
        other => panic!("expected a conflict, got {other:?}"),
    };
    assert_eq!(
        conflict(sqlite),
        ("sku".into(), "\"MUG-1\" is taken by another product".into())
    );
    assert_eq!(
        conflict(postgres),
        ("slug".into(), "\"mug\" is taken by another product".into())
    );
}

#[test]
fn slugs_are_unique_per_tenant() {
    let db = database();
    let first = create(&db, &new_product("MUG-1", "Blue Mug")).unwrap();
    let second = create(&db, &new_product("MUG_2", "Blue mug!")).unwrap();
    assert_eq!(
        (first.slug.as_str(), second.slug.as_str()),
        ("blue-mug", "blue-mug-mug-2")
    );
    let third = create(&db, &new_product("日本-1", "日本茶"));
    assert_eq!(invalid_fields(third.unwrap_err()), ["sku"]);
    let tea = create(&db, &new_product("TEA-1", "日本茶")).unwrap();
    assert_eq!(tea.slug, "tea-1");

    let explicit = NewProduct {
        slug: Some("blue-mug".into()),
        ..new_product("MUG-3", "Mug")
    };
    assert_eq!(conflict_field(create(&db, &explicit).unwrap_err()), "slug");
    let error = update(&db, &second.id, json!({"slug": "blue-mug"})).unwrap_err();
    assert_eq!(conflict_field(error), "slug");
}

#[test]
fn patch_distinguishes_absent_null_and_value() {
    let patch: ProductPatch = serde_json::from_value(json!({"brand": null, "price": 5})).unwrap();
    assert_eq!(patch.brand, Patch::Null);
    assert_eq!(patch.price, Patch::Set(5));
    assert_eq!(patch.name, Patch::Absent);
    assert!(serde_json::from_value::<ProductPatch>(json!({"price": "5"})).is_err());
}

#[test]
fn update_applies_the_patch_and_enqueues_product_updated() {
    let db = database();
    let new = NewProduct {
        brand: Some("Acme".into()),
        description: Some("Old".into()),
        attributes: Some(json!({"size": "L"})),
        ..new_product("MUG-1", "Mug")
    };
    let product = create(&db, &new).unwrap();
    let updated = update(
            &db,
            &product.id,
            json!({"name": "Big Mug", "price": 1500, "brand": null, "description": null, "currency": "usd"}),
        )
        .unwrap();
    assert_eq!(updated.name, "Big Mug");
    assert_eq!(updated.slug, "mug", "a rename keeps the slug");
    assert_eq!(updated.price, 1500);
    assert_eq!(updated.currency, "USD");
    assert_eq!(updated.brand, None);
    assert_eq!(updated.description, "");
    assert_eq!(updated.attributes, product.attributes, "absent stays");
    assert_eq!(updated.created_at, product.created_at);
    assert!(updated.updated_at >= product.updated_at);
    assert_eq!(
        block_on(get_product(&db, TENANT, &product.id)).unwrap(),
        updated
    );

    let events = outbox(&db);
    assert_eq!(events.len(), 2);
    let (topic, envelope) = &events[1];
    assert_eq!(topic, "product.updated");
    assert_eq!(envelope["source"], "catalog");
    assert_eq!(
        envelope["data"]["changed_fields"],
        json!(["name", "description", "price", "currency", "brand"])
    );
    assert_eq!(envelope["data"]["product"]["name"], "Big Mug");

    // Nothing changed: nothing written.
    let same = update(&db, &product.id, json!({"price": 1500})).unwrap();
    assert_eq!(same, updated);
    assert_eq!(outbox(&db).len(), 2);
}

#[test]
fn update_rejects_bad_fields_nulls_and_taken_skus() {
    let db = database();
    let product = create(&db, &new_product("MUG-1", "Mug")).unwrap();
    create(&db, &new_product("MUG-2", "Other")).unwrap();
    let error = update(
        &db,
        &product.id,
        json!({"name": null, "price": -1, "attributes": [1]}),
    )
    .unwrap_err();
    assert_eq!(invalid_fields(error), ["name", "price", "attributes"]);
    let error = update(&db, &product.id, json!({"category_id": "nope"})).unwrap_err();
    assert_eq!(invalid_fields(error), ["category_id"]);
    let error = update(&db, &product.id, json!({"sku": "MUG-2"})).unwrap_err();
    assert_eq!(conflict_field(error), "sku");
    let missing = update(&db, "no-such-id", json!({"price": 1})).unwrap_err();
    assert!(matches!(missing, CatalogError::NotFound), "{missing:?}");
    let patch = ProductPatch::default();
    let other_tenant = block_on(update_product(
        &db,
        "other",
        REQUEST_ID,
        &product.id,
        &patch,
    ));
    assert!(matches!(other_tenant, Err(CatalogError::NotFound)));
    assert_eq!(
        block_on(get_product(&db, TENANT, &product.id)).unwrap(),
        product
    );
    assert_eq!(outbox(&db).len(), 2);
}

#[test]
fn deactivate_is_a_soft_delete_with_an_event() {
    let db = database();
    let product = create(&db, &new_product("MUG-1", "Mug")).unwrap();
    let deleted = block_on(deactivate_product(&db, TENANT, REQUEST_ID, &product.id)).unwrap();
    assert!(!deleted.active);
    assert!(
        !block_on(get_product(&db, TENANT, &product.id))
            .unwrap()
            .active
    );
    let again = block_on(deactivate_product(&db, TENANT, REQUEST_ID, &product.id)).unwrap();
    assert_eq!(again, deleted);
    let events = outbox(&db);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].1["data"]["changed_fields"], json!(["active"]));
    // The sku stays taken.
    assert_eq!(
        conflict_field(create(&db, &new_product("MUG-1", "Mug")).unwrap_err()),
        "sku"
    );
}

#[test]
fn failed_transaction_leaves_neither_product_nor_event() {
    let db = database();
    // The event cannot be written: the product must not be either.
    block_on(db.execute("DROP TABLE outbox", &[])).unwrap();
    let error = create(&db, &new_product("MUG-1", "Mug")).unwrap_err();
    assert!(matches!(error, CatalogError::Db(_)), "{error:?}");
    let rows = block_on(db.query("SELECT COUNT(*) FROM products", &[])).unwrap();
    assert_eq!(rows[0].get_i64(0).unwrap(), 0);
}

/// Walks every page of `filter`, checking each page's size.
fn all_pages(db: &NativeSqlite, filter: &ProductFilter, limit: u32) -> Vec<Product> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = block_on(list_products(
            db,
            TENANT,
            filter,
            &PageParams { limit, after },
        ))
        .unwrap();
        assert!(page.items.len() <= limit as usize);
        seen.extend(page.items);
        match page.next_cursor {
            Some(cursor) => after = Some(kit::pagination::decode_cursor(&cursor).unwrap()),
            None => return seen,
        }
    }
}

fn ids(products: &[Product]) -> Vec<&str> {
    products.iter().map(|p| p.id.as_str()).collect()
}

#[test]
fn pages_cover_every_product_once_in_order() {
    let db = database();
    let created: Vec<Product> = (0..53)
        .map(|n| {
            create(
                &db,
                &new_product(&format!("SKU-{n:02}"), &format!("Product {n}")),
            )
            .unwrap()
        })
        .collect();
    block_on(create_product(
        &db,
        "other",
        REQUEST_ID,
        &new_product("SKU-X", "Elsewhere"),
    ))
    .unwrap();

    let first = block_on(list_products(
        &db,
        TENANT,
        &ProductFilter::default(),
        &PageParams {
            limit: 10,
            after: None,
        },
    ))
    .unwrap();
    assert_eq!(first.items.len(), 10);
    let listed = all_pages(&db, &ProductFilter::default(), 10);
    assert_eq!(ids(&listed), ids(&created));

    // Identical timestamps: the id breaks the tie, still without gaps or repeats.
    block_on(db.execute(
        "UPDATE products SET created_at = '2025-01-01T00:00:00.000000Z'",
        &[],
    ))
    .unwrap();
    let mut expected = ids(&created);
    expected.sort_unstable();
    assert_eq!(
        ids(&all_pages(&db, &ProductFilter::default(), 10)),
        expected
    );
    assert_eq!(
        ids(&all_pages(&db, &ProductFilter::default(), 100)),
        expected
    );
}

#[test]
fn lists_filter_by_category_and_active() {
    let db = database();
    let category = block_on(create_category(
        &db,
        TENANT,
        &NewCategory {
            name: "Mugs".into(),
            slug: None,
        },
    ))
    .unwrap();
    let in_category = |sku: &str, active: bool| NewProduct {
        category_id: Some(category.id.clone()),
        active: Some(active),
        ..new_product(sku, sku)
    };
    let a = create(&db, &in_category("A", true)).unwrap();
    let b = create(&db, &in_category("B", false)).unwrap();
    let c = create(&db, &new_product("C", "C")).unwrap();
    let filter = |category_id: Option<&str>, active: Option<bool>| ProductFilter {
        category_id: category_id.map(str::to_owned),
        active,
        skus: Vec::new(),
    };
    let cases = [
        (filter(None, None), vec![&a, &b, &c]),
        (filter(Some(&category.id), None), vec![&a, &b]),
        (filter(Some(&category.id), Some(true)), vec![&a]),
        (filter(None, Some(false)), vec![&b]),
        (filter(Some("no-such-category"), None), vec![]),
    ];
    for (filter, expected) in cases {
        let listed = all_pages(&db, &filter, 1);
        let expected: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids(&listed), expected, "{filter:?}");
    }
}

#[test]
fn lists_filter_by_skus_with_the_other_filters() {
    let db = database();
    let a = create(&db, &new_product("A-1", "A")).unwrap();
    let b = create(
        &db,
        &NewProduct {
            active: Some(false),
            ..new_product("B-1", "B")
        },
    )
    .unwrap();
    let c = create(&db, &new_product("C-1", "C")).unwrap();
    block_on(create_product(
        &db,
        "other",
        REQUEST_ID,
        &new_product("A-1", "A elsewhere"),
    ))
    .unwrap();
    let filter = |skus: &[&str], active: Option<bool>| ProductFilter {
        skus: skus.iter().map(|sku| (*sku).to_owned()).collect(),
        active,
        ..ProductFilter::default()
    };
    let cases = [
        (filter(&["A-1", "C-1"], None), vec![&a, &c]),
        (filter(&["A-1", "B-1", "NOPE"], None), vec![&a, &b]),
        (filter(&["A-1", "B-1"], Some(true)), vec![&a]),
        (filter(&["NOPE"], None), vec![]),
        (filter(&[], None), vec![&a, &b, &c]),
    ];
    for (filter, expected) in cases {
        let expected: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids(&all_pages(&db, &filter, 1)), expected, "{filter:?}");
        assert_eq!(ids(&all_pages(&db, &filter, 100)), expected, "{filter:?}");
    }
}
