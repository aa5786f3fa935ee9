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
        price: Some(1250),
        currency: "EUR".into(),
        category_id: None,
        brand: None,
        image_url: None,
        attributes: None,
        active: None,
        options: None,
        variants: None,
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
        (with(&|p| p.price = Some(-1)), vec!["price"]),
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
                p.price = Some(-5);
                p.currency = "XYZ".into();
            }),
            vec!["sku", "currency", "price"],
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
    let problem = kit::Problem::from(create(&db, &with(&|p| p.price = Some(-1))).unwrap_err());
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
        price: Some(0),
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

/// A tee sold in sizes S (15.00) and L (17.00), its own SKU `TEE` a style number.
fn tee() -> NewProduct {
    serde_json::from_value(json!({
        "sku": "TEE", "name": "Tee", "currency": "EUR",
        "options": [{ "name": "size", "values": ["S", "L"] }],
        "variants": [
            { "sku": "TEE-S", "price": 1500, "options": { "size": "S" } },
            { "sku": "TEE-L", "price": 1700, "options": { "size": " L " } }
        ]
    }))
    .unwrap()
}

fn listed_by_sku(db: &NativeSqlite, sku: &str) -> Vec<String> {
    let filter = ProductFilter {
        skus: vec![sku.into()],
        ..ProductFilter::default()
    };
    all_pages(db, &filter, 10)
        .into_iter()
        .map(|product| product.sku)
        .collect()
}

#[test]
fn a_product_with_options_sells_its_variants() {
    let db = database();
    let product = create(&db, &tee()).unwrap();
    assert_eq!(product.price, 1500, "the lowest variant price");
    let names: Vec<(&str, &str, i64)> = product
        .variants
        .iter()
        .map(|variant| (variant.sku.as_str(), variant.name.as_str(), variant.price))
        .collect();
    assert_eq!(
        names,
        [("TEE-S", "Tee (S)", 1500), ("TEE-L", "Tee (L)", 1700)]
    );
    assert_eq!(product.variants[1].options["size"], "L", "trimmed");
    assert_eq!(
        block_on(get_product(&db, TENANT, &product.id)).unwrap(),
        product
    );
    assert_eq!(listed_by_sku(&db, "TEE-L"), ["TEE"]);
    assert_eq!(
        listed_by_sku(&db, "TEE"),
        ["TEE"],
        "its own SKU still lists it"
    );
    let (_, event) = &outbox(&db)[0];
    assert_eq!(event["dataversion"], "2");
    assert_eq!(event["data"]["product"]["variants"][1]["sku"], "TEE-L");
    assert_eq!(
        event["data"]["product"]["variants"][1]["options"],
        json!([{ "name": "size", "value": "L" }])
    );

    let single = create(&db, &new_product("MUG-1", "Mug")).unwrap();
    assert!(single.options.is_empty());
    assert_eq!(
        single.variants,
        [Variant::only("MUG-1", "Mug", 1250)],
        "a product without options is its own single variant"
    );
}

#[test]
fn options_and_variants_name_each_bad_field() {
    let db = database();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = json!({
            "sku": "TEE", "name": "Tee", "currency": "EUR",
            "options": [{ "name": "size", "values": ["S", "L"] }],
            "variants": [
                { "sku": "TEE-S", "price": 1500, "options": { "size": "S" } },
                { "sku": "TEE-L", "price": 1700, "options": { "size": "L" } }
            ]
        });
        change(&mut body);
        serde_json::from_value::<NewProduct>(body).unwrap()
    };
    let cases: Vec<(NewProduct, Vec<&str>)> = vec![
        (with(&|b| b["price"] = json!(1500)), vec!["price"]),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("variants");
            }),
            vec!["variants"],
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("options");
            }),
            vec!["options"],
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("options");
                b.as_object_mut().unwrap().remove("variants");
            }),
            vec!["price"],
        ),
        (
            with(&|b| b["variants"][1]["options"]["size"] = json!("XL")),
            vec!["variants[1].options"],
        ),
        (
            with(&|b| b["variants"][1]["options"] = json!({})),
            vec!["variants[1].options"],
        ),
        (
            with(&|b| b["variants"][1]["options"]["colour"] = json!("red")),
            vec!["variants[1].options"],
        ),
        (
            with(&|b| b["variants"][1]["options"]["size"] = json!("S")),
            vec!["variants[1].options"],
        ),
        (
            with(&|b| b["variants"][1]["sku"] = json!("TEE-S")),
            vec!["variants[1].sku"],
        ),
        (
            with(&|b| b["variants"][1]["sku"] = json!("TEE L")),
            vec!["variants[1].sku"],
        ),
        (
            with(&|b| b["variants"][1]["price"] = json!(-1)),
            vec!["variants[1].price"],
        ),
        (with(&|b| b["variants"] = json!([])), vec!["variants"]),
        (
            with(&|b| b["options"][0]["values"] = json!(["S", "L", "S"])),
            vec!["options[0].values[2]"],
        ),
        (
            with(&|b| {
                b["options"] = json!([
                    { "name": "size", "values": ["S", "L"] },
                    { "name": "size", "values": ["red"] }
                ]);
            }),
            vec!["options[1].name"],
        ),
        (
            with(&|b| {
                b["options"] = json!([
                    { "name": "a", "values": ["1"] }, { "name": "b", "values": ["1"] },
                    { "name": "c", "values": ["1"] }, { "name": "d", "values": ["1"] }
                ]);
                b["variants"] = json!([{ "sku": "T-1", "price": 1,
                    "options": { "a": "1", "b": "1", "c": "1", "d": "1" } }]);
            }),
            vec!["options"],
        ),
    ];
    for (new, fields) in cases {
        let error = create(&db, &new).unwrap_err();
        assert_eq!(invalid_fields(error), fields, "{new:?}");
    }
    assert!(outbox(&db).is_empty());
}

#[test]
fn a_sku_belongs_to_one_product_whether_its_own_or_a_variants() {
    let db = database();
    create(&db, &new_product("MUG-1", "Mug")).unwrap();
    let mut clash = tee();
    clash.variants.as_mut().unwrap()[1].sku = "MUG-1".into();
    assert_eq!(
        conflict_field(create(&db, &clash).unwrap_err()),
        "variants[1].sku"
    );
    create(&db, &tee()).unwrap();
    let error = create(&db, &new_product("TEE-S", "Another")).unwrap_err();
    assert_eq!(conflict_field(error), "sku");
    let mut again = tee();
    again.sku = "TEE-2".into();
    again.name = "Tee 2".into();
    assert_eq!(
        conflict_field(create(&db, &again).unwrap_err()),
        "variants[0].sku"
    );
}

#[test]
fn a_patch_renames_replaces_or_drops_the_variants() {
    let db = database();
    let product = create(&db, &tee()).unwrap();
    let renamed = update(&db, &product.id, json!({ "name": "Shirt" })).unwrap();
    assert_eq!(renamed.variants[0].name, "Shirt (S)");
    let error = update(&db, &product.id, json!({ "price": 900 })).unwrap_err();
    assert_eq!(invalid_fields(error), ["price"]);
    let error = update(&db, &product.id, json!({ "variants": [] })).unwrap_err();
    assert_eq!(invalid_fields(error), ["variants"]);
    let error = update(&db, &product.id, json!({ "variants": null })).unwrap_err();
    assert_eq!(invalid_fields(error), ["variants"]);
    // New variants of the same options; a variant read back may be sent as it is.
    let mut variants = serde_json::to_value(&renamed.variants).unwrap();
    variants[1]["price"] = json!(1800);
    let repriced = update(&db, &product.id, json!({ "variants": variants })).unwrap();
    assert_eq!(repriced.variants[1].price, 1800);
    assert_eq!(repriced.options, product.options);

    let replaced = update(
        &db,
        &product.id,
        json!({
            "options": [{ "name": "size", "values": ["M"] }],
            "variants": [{ "sku": "TEE-M", "price": 1600, "options": { "size": "M" } }]
        }),
    )
    .unwrap();
    assert_eq!(replaced.price, 1600);
    assert_eq!(listed_by_sku(&db, "TEE-M"), ["TEE"]);
    assert!(
        listed_by_sku(&db, "TEE-S").is_empty(),
        "a dropped SKU sells no more"
    );
    // Dropped SKUs are free for another product.
    create(&db, &new_product("TEE-S", "Small tee")).unwrap();

    let single = update(&db, &product.id, json!({ "options": null, "price": 1400 })).unwrap();
    assert!(single.options.is_empty());
    assert_eq!(single.variants, [Variant::only("TEE", "Shirt", 1400)]);
    assert_eq!(listed_by_sku(&db, "TEE"), ["TEE"]);
    let (_, last) = outbox(&db).pop().unwrap();
    assert_eq!(
        last["data"]["changed_fields"],
        json!(["price", "options", "variants"])
    );
}

#[test]
fn products_of_the_old_shape_become_their_own_single_variant() {
    let db = NativeSqlite::open_in_memory().unwrap();
    let before_variants = crate::MIGRATIONS
        .iter()
        .position(|migration| migration.name == "0002_variants")
        .unwrap();
    block_on(kit::db::migrate(
        &db,
        crate::CONTEXT,
        &crate::MIGRATIONS[..before_variants],
    ))
    .unwrap();
    block_on(db.execute(
        "INSERT INTO products (id, tenant, sku, name, slug, price, currency, created_at, \
         updated_at) VALUES ('p-old', $1, 'OLD-1', 'Old mug', 'old-mug', 990, 'EUR', \
         '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
        &[TENANT.into()],
    ))
    .unwrap();
    block_on(kit::db::migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
    let old = block_on(get_product(&db, TENANT, "p-old")).unwrap();
    assert!(old.options.is_empty());
    assert_eq!(old.variants, [Variant::only("OLD-1", "Old mug", 990)]);
    assert_eq!(listed_by_sku(&db, "OLD-1"), ["OLD-1"]);
    let error = create(&db, &new_product("OLD-1", "Clash")).unwrap_err();
    assert_eq!(conflict_field(error), "sku");
    let mut clash = tee();
    clash.variants.as_mut().unwrap()[0].sku = "OLD-1".into();
    assert_eq!(
        conflict_field(create(&db, &clash).unwrap_err()),
        "variants[0].sku"
    );
}
