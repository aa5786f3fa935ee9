//! Product variants: a tee sold in sizes, each size a SKU with its own price and stock,
//! bought through the cart, the order and a group buy by its variant SKU; products
//! written before variants existed keep selling as their own single variant once the
//! store migrates.

use acceptance::{
    Shop, Store, assert_field_error, assert_problem, eventually, for_both_stores, items,
    order_body, order_reaching, stock_of, stocked_product, text,
};
use serde_json::json;

for_both_stores!(
    a_tee_in_sizes_is_bought_by_its_variant_sku,
    products_of_the_old_shape_sell_as_their_own_single_variant,
);

fn a_tee_in_sizes_is_bought_by_its_variant_sku(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    let tee = admin
        .post(
            "/api/v1/products",
            &json!({
                "sku": "TEE", "name": "Linen tee", "currency": "EUR",
                "options": [{ "name": "size", "values": ["S", "M", "L"] }],
                "variants": [
                    { "sku": "TEE-S", "price": 1500, "options": { "size": "S" } },
                    { "sku": "TEE-M", "price": 1500, "options": { "size": "M" } },
                    { "sku": "TEE-L", "price": 1700, "options": { "size": "L" } }
                ]
            }),
        )
        .expect_json(201);
    assert_eq!(tee["price"], 1500, "{tee}");
    assert_eq!(tee["variants"][2]["name"], "Linen tee (L)", "{tee}");
    for (sku, on_hand) in [("TEE-M", 5), ("TEE-L", 2)] {
        admin
            .request("PUT", &format!("/api/v1/inventory/{sku}"))
            .json(&json!({ "on_hand": on_hand }))
            .send()
            .expect_json(201);
    }
    let read = shop
        .anonymous()
        .get(&format!("/api/v1/products/{}", text(&tee, "id")))
        .expect_ok();
    assert_eq!(read["variants"], tee["variants"]);
    let found = items(&shop.anonymous().get("/api/v1/search?q=linen"));
    assert_eq!(found.len(), 1, "search shows the product once: {found:?}");
    let listed = items(&shop.anonymous().get("/api/v1/products?sku=TEE-L"));
    assert_eq!(text(&listed[0], "sku"), "TEE");

    // The cart and the order price the variant; inventory holds its SKU.
    let customer = shop.customer();
    customer
        .client
        .post(
            "/api/v1/cart/items",
            &json!({ "sku": "TEE-L", "quantity": 2 }),
        )
        .expect_json(201);
    // A promotion on the product takes its discount off each of its variants.
    admin
        .post(
            "/api/v1/promotions",
            &json!({ "name": "Tees", "code": "TEES", "percentage": 10, "skus": ["TEE"] }),
        )
        .expect_json(201);
    let mut checkout = order_body(&[], "tok_visa");
    checkout.as_object_mut().unwrap().remove("items");
    checkout["code"] = json!("TEES");
    let order = customer
        .client
        .post("/api/v1/cart/checkout", &checkout)
        .expect_json(201);
    let line = &order["items"][0];
    assert_eq!(
        (
            line["sku"].clone(),
            line["name"].clone(),
            line["unit_price"].clone()
        ),
        (json!("TEE-L"), json!("Linen tee (L)"), json!(1700)),
        "{order}"
    );
    assert_eq!(order["discount"], 340, "{order}");
    order_reaching(&customer.client, &text(&order, "id"), "paid");
    assert_eq!(stock_of(&admin, "TEE-L")["on_hand"], 0);
    assert_eq!(stock_of(&admin, "TEE-M")["on_hand"], 5);

    // A group buy of one size: its order names the variant.
    let ends_at = chrono::Utc::now() + chrono::Duration::hours(1);
    let campaign = admin
        .post(
            "/api/v1/campaigns",
            &json!({
                "name": "Medium tees", "sku": "TEE-M", "price": 1200, "original_price": 1500,
                "currency": "EUR", "min_participants": 1, "max_participants": 5,
                "ends_at": ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }),
        )
        .expect_json(201);
    let buyer = shop.customer();
    buyer
        .client
        .post(
            &format!("/api/v1/campaigns/{}/join", text(&campaign, "id")),
            &json!({
                "shipping_address": { "name": "Casey", "line1": "1 Market Street",
                    "city": "Lyon", "postal_code": "69001", "country": "FR" },
                "payment": { "token": "tok_visa" },
            }),
        )
        .expect_json(201);
    let group_order = eventually(
        || "the group buy placed no order".to_owned(),
        || {
            items(&buyer.client.get("/api/v1/orders"))
                .into_iter()
                .next()
        },
    );
    assert_eq!(group_order["items"][0]["sku"], "TEE-M", "{group_order}");
    assert_eq!(group_order["items"][0]["name"], "Linen tee (M)");
    order_reaching(&buyer.client, &text(&group_order, "id"), "paid");
    assert_eq!(stock_of(&admin, "TEE-M")["on_hand"], 4);

    // The style SKU is not for sale; a variant's SKU is one product's.
    assert_field_error(
        &customer
            .client
            .post("/api/v1/orders", &order_body(&[("TEE", 1)], "tok_visa")),
        "items[0].sku",
    );
    let clash = admin.post(
        "/api/v1/products",
        &json!({ "sku": "TEE-M", "name": "Mug", "price": 900, "currency": "EUR" }),
    );
    assert_eq!(assert_problem(&clash, 409)["errors"][0]["field"], "sku");
    assert_field_error(
        &admin.patch(
            &format!("/api/v1/products/{}", text(&tee, "id")),
            &json!({ "price": 1000 }),
        ),
        "price",
    );
    assert_field_error(
        &admin.post(
            "/api/v1/products",
            &json!({
                "sku": "CAP", "name": "Cap", "currency": "EUR",
                "options": [{ "name": "colour", "values": ["red"] }],
                "variants": [{ "sku": "CAP-R", "price": 900, "options": { "colour": "blue" } }]
            }),
        ),
        "variants[0].options",
    );
}

fn products_of_the_old_shape_sell_as_their_own_single_variant(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "OLD-1", 990, 10);
    // Take the catalog back to before variants, with a product written then.
    for sql in [
        "DROP TABLE variants",
        "ALTER TABLE products DROP COLUMN options",
        "ALTER TABLE products DROP COLUMN variants",
        "DELETE FROM schema_migrations WHERE name = '0002_variants'",
        "INSERT INTO products (id, tenant, sku, name, slug, price, currency, created_at, \
         updated_at) VALUES ('0190a1b2-0000-7000-8000-0000000000f1', 'default', 'OLD-2', \
         'Old tin', 'old-tin', 450, 'EUR', '2025-01-01T00:00:00.000000Z', \
         '2025-01-01T00:00:00.000000Z')",
    ] {
        shop.sql("catalog", sql);
    }
    admin
        .request("PUT", "/api/v1/inventory/OLD-2")
        .json(&json!({ "on_hand": 3 }))
        .send()
        .expect_json(201);
    // The next request migrates the store.
    let old = shop
        .anonymous()
        .get("/api/v1/products/0190a1b2-0000-7000-8000-0000000000f1")
        .expect_ok();
    assert_eq!(
        old["variants"],
        json!([{ "sku": "OLD-2", "name": "Old tin", "price": 450, "options": {} }]),
        "{old}"
    );
    assert_eq!(old["options"], json!([]));
    let customer = shop.customer();
    let order = customer
        .client
        .post(
            "/api/v1/orders",
            &order_body(&[("OLD-1", 1), ("OLD-2", 2)], "tok_visa"),
        )
        .expect_json(201);
    assert_eq!(order["subtotal"], 990 + 900, "{order}");
    order_reaching(&customer.client, &text(&order, "id"), "paid");
    let clash = admin.post(
        "/api/v1/products",
        &json!({ "sku": "NEW", "name": "New", "currency": "EUR",
                 "options": [{ "name": "size", "values": ["S"] }],
                 "variants": [{ "sku": "OLD-2", "price": 1, "options": { "size": "S" } }] }),
    );
    assert_eq!(
        assert_problem(&clash, 409)["errors"][0]["field"],
        "variants[0].sku"
    );
}
