//! The cart: lines in key-value priced live from the catalog, concurrent adds that lose
//! nothing, and checkout through orders, on the embedded key-value file and on Redis.

use acceptance::{
    Client, Shop, Store, assert_field_error, assert_problem, for_both_stores, order_body,
    order_reaching, product, stocked_product, text,
};
use serde_json::{Value, json};

for_both_stores!(
    lines_are_added_changed_removed_and_cleared_at_live_prices,
    bad_cart_requests_are_refused_naming_the_field,
    every_cart_route_needs_a_token,
    each_customer_has_a_cart_of_their_own,
    twenty_concurrent_adds_of_different_skus_keep_every_line,
    concurrent_adds_of_one_sku_each_count,
    checkout_places_a_paid_order_and_empties_the_cart,
    a_refused_checkout_keeps_the_cart,
    the_cart_lives_in_redis_shared_by_app_instances,
);

const CART: &str = "/api/v1/cart";
const ITEMS: &str = "/api/v1/cart/items";
const CHECKOUT: &str = "/api/v1/cart/checkout";

fn add(client: &Client, sku: &str, quantity: u32) -> Value {
    client
        .post(ITEMS, &json!({ "sku": sku, "quantity": quantity }))
        .expect_json(201)
}

fn line_path(sku: &str) -> String {
    format!("{ITEMS}/{sku}")
}

/// (sku, quantity) of each line of a cart answer.
fn lines(cart: &Value) -> Vec<(String, u64)> {
    cart["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {cart}"))
        .iter()
        .map(|item| (text(item, "sku"), item["quantity"].as_u64().unwrap_or(0)))
        .collect()
}

fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    expected
        .iter()
        .map(|(sku, quantity)| ((*sku).to_owned(), *quantity))
        .collect()
}

/// The checkout body: `order_body`'s address and payment, without items.
fn checkout_body(token: &str) -> Value {
    let mut body = order_body(&[], token);
    body.as_object_mut()
        .expect("an order body is an object")
        .remove("items");
    body
}

fn lines_are_added_changed_removed_and_cleared_at_live_prices(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    let mug = stocked_product(&admin, "CART-MUG", 1250, 10);
    stocked_product(&admin, "CART-TEA", 300, 10);
    let customer = shop.customer();
    let client = &customer.client;

    assert_eq!(
        client.get(CART).expect_ok(),
        json!({ "items": [], "subtotal": 0, "currency": null, "item_count": 0 })
    );

    let cart = add(client, "CART-MUG", 2);
    assert_eq!(
        cart["items"][0],
        json!({
            "sku": "CART-MUG", "name": "Stocked CART-MUG", "quantity": 2,
            "unit_price": 1250, "line_total": 2500, "available": true,
        })
    );
    assert_eq!(
        (&cart["subtotal"], &cart["currency"]),
        (&json!(2500), &json!("EUR"))
    );
    add(client, "CART-TEA", 3);
    let cart = add(client, "CART-MUG", 1);
    assert_eq!(lines(&cart), pairs(&[("CART-MUG", 3), ("CART-TEA", 3)]));
    assert_eq!(cart["subtotal"], 3 * 1250 + 3 * 300);
    assert_eq!(cart["item_count"], 6);

    // The price is the catalog's at every read, not the one when the line was added.
    let mug_path = format!("/api/v1/products/{}", text(&mug, "id"));
    admin
        .patch(&mug_path, &json!({ "price": 1000 }))
        .expect_ok();
    let cart = client.get(CART).expect_ok();
    assert_eq!(cart["items"][0]["unit_price"], 1000);
    assert_eq!(cart["items"][0]["line_total"], 3000);
    assert_eq!(cart["subtotal"], 3000 + 900);

    let cart = client
        .request("PUT", &line_path("CART-MUG"))
        .json(&json!({ "quantity": 5 }))
        .send()
        .expect_ok();
    assert_eq!(lines(&cart), pairs(&[("CART-MUG", 5), ("CART-TEA", 3)]));
    let cart = client
        .request("PUT", &line_path("CART-TEA"))
        .json(&json!({ "quantity": 0 }))
        .send()
        .expect_ok();
    assert_eq!(lines(&cart), pairs(&[("CART-MUG", 5)]));

    // A product no longer sold stays in the cart, unavailable and not charged.
    add(client, "CART-TEA", 1);
    admin.delete(&mug_path);
    let cart = client.get(CART).expect_ok();
    assert_eq!(cart["items"][0]["available"], false, "{cart}");
    assert_eq!(cart["items"][0]["unit_price"], Value::Null);
    assert_eq!(cart["items"][1]["available"], true, "{cart}");
    assert_eq!(cart["subtotal"], 300);

    assert_eq!(client.delete(&line_path("CART-MUG")).status, 204);
    assert_problem(&client.delete(&line_path("CART-MUG")), 404);
    assert_eq!(
        lines(&client.get(CART).expect_ok()),
        pairs(&[("CART-TEA", 1)])
    );

    assert_eq!(client.delete(CART).status, 204);
    assert_eq!(client.get(CART).expect_ok()["items"], json!([]));
    assert_eq!(client.delete(CART).status, 204, "clearing an empty cart");
    assert_eq!(
        lines(&add(client, "CART-TEA", 2)),
        pairs(&[("CART-TEA", 2)])
    );
}

fn bad_cart_requests_are_refused_naming_the_field(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    let gone = stocked_product(&admin, "CART-GONE", 100, 1);
    admin.delete(&format!("/api/v1/products/{}", text(&gone, "id")));
    stocked_product(&admin, "CART-OK", 100, 1);
    let client = &shop.customer().client;

    for (body, field) in [
        (json!({ "sku": "NO-SUCH-SKU", "quantity": 1 }), "sku"),
        (json!({ "sku": "CART-GONE", "quantity": 1 }), "sku"),
        (json!({ "sku": "bad sku!", "quantity": 1 }), "sku"),
        (json!({ "quantity": 1 }), "sku"),
        (json!({ "sku": "CART-OK", "quantity": 0 }), "quantity"),
        (json!({ "sku": "CART-OK", "quantity": 1001 }), "quantity"),
        (json!({ "sku": "CART-OK", "quantity": "2" }), "quantity"),
        (
            json!({ "sku": "CART-OK", "quantity": 1, "price": 1 }),
            "price",
        ),
    ] {
        assert_field_error(&client.post(ITEMS, &body), field);
    }
    assert_problem(
        &client.request("POST", ITEMS).raw_json("{\"sku\": ").send(),
        400,
    );
    assert_eq!(client.get(CART).expect_ok()["items"], json!([]));

    // A line holds at most 1000 units in total.
    add(client, "CART-OK", 600);
    assert_field_error(
        &client.post(ITEMS, &json!({ "sku": "CART-OK", "quantity": 401 })),
        "quantity",
    );
    assert_eq!(
        lines(&client.get(CART).expect_ok()),
        pairs(&[("CART-OK", 600)])
    );

    let put = |path: &str, body: Value| client.request("PUT", path).json(&body).send();
    assert_field_error(
        &put(&line_path("CART-OK"), json!({ "quantity": 1001 })),
        "quantity",
    );
    assert_field_error(
        &put(&line_path("CART-OK"), json!({ "quantity": -1 })),
        "quantity",
    );
    assert_field_error(&put(&line_path("CART-OK"), json!({ "count": 1 })), "count");
    assert_problem(
        &put(&line_path("NOT-IN-CART"), json!({ "quantity": 1 })),
        404,
    );
    assert_problem(&client.delete(&line_path("NOT-IN-CART")), 404);
    assert_problem(&client.get("/api/v1/cart/items"), 405);
    assert_problem(&client.get("/api/v1/cart/elsewhere"), 404);
}

fn every_cart_route_needs_a_token(store: Store) {
    let shop = Shop::start(store);
    let anonymous = shop.anonymous();
    let forged = shop.with_token("not.a.token");
    let body = json!({ "sku": "ANY", "quantity": 1 });
    for client in [&anonymous, &forged] {
        for (method, path) in [
            ("GET", CART.to_owned()),
            ("DELETE", CART.to_owned()),
            ("POST", ITEMS.to_owned()),
            ("PUT", line_path("ANY")),
            ("DELETE", line_path("ANY")),
            ("POST", CHECKOUT.to_owned()),
        ] {
            let reply = client.request(method, &path).json(&body).send();
            assert_problem(&reply, 401);
        }
    }
    // A token of one tenant cannot reach into another's carts.
    let customer = shop.customer();
    assert_problem(&customer.client.clone().in_tenant("other").get(CART), 403);
}

fn each_customer_has_a_cart_of_their_own(store: Store) {
    let shop = Shop::start(store);
    stocked_product(&shop.admin(), "CART-OWN", 500, 5);
    let ada = shop.customer();
    let bob = shop.customer();

    add(&ada.client, "CART-OWN", 2);
    assert_eq!(bob.client.get(CART).expect_ok()["items"], json!([]));
    assert_problem(&bob.client.delete(&line_path("CART-OWN")), 404);
    add(&bob.client, "CART-OWN", 1);
    assert_eq!(bob.client.delete(CART).status, 204);
    assert_eq!(
        lines(&ada.client.get(CART).expect_ok()),
        pairs(&[("CART-OWN", 2)])
    );
}

fn twenty_concurrent_adds_of_different_skus_keep_every_line(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    let skus: Vec<String> = (0..20).map(|n| format!("CART-RACE-{n:02}")).collect();
    for sku in &skus {
        admin
            .post("/api/v1/products", &product(sku, &format!("Racer {sku}")))
            .expect_json(201);
    }
    let customer = shop.customer();
    let client = &customer.client;

    std::thread::scope(|scope| {
        let adds: Vec<_> = skus
            .iter()
            .map(|sku| {
                scope.spawn(move || client.post(ITEMS, &json!({ "sku": sku, "quantity": 1 })))
            })
            .collect();
        for add in adds {
            let reply = add.join().expect("an add thread");
            assert_eq!(reply.status, 201, "{}", reply.body);
        }
    });

    let cart = client.get(CART).expect_ok();
    let mut held = lines(&cart);
    held.sort();
    let expected: Vec<(String, u64)> = skus.iter().map(|sku| (sku.clone(), 1)).collect();
    assert_eq!(held, expected, "{cart}");
    assert_eq!(cart["subtotal"], 20 * 1999);
}

/// Concurrent adds of one sku: each counts, on the key-value file and on Redis.
fn concurrent_adds_of_one_sku_each_count(store: Store) {
    for shop in [Shop::start(store), Shop::start_on_redis(store)] {
        let admin = shop.admin();
        let sku = "CART-SAME-1";
        admin
            .post("/api/v1/products", &product(sku, "Popular"))
            .expect_json(201);
        let customer = shop.customer();
        let client = &customer.client;
        std::thread::scope(|scope| {
            let adds: Vec<_> = (0..20)
                .map(|_| {
                    scope.spawn(move || client.post(ITEMS, &json!({ "sku": sku, "quantity": 2 })))
                })
                .collect();
            for add in adds {
                let reply = add.join().expect("an add thread");
                assert_eq!(reply.status, 201, "{}", reply.body);
            }
        });
        let cart = client.get(CART).expect_ok();
        assert_eq!(lines(&cart), pairs(&[(sku, 40)]), "{cart}");
    }
}

fn checkout_places_a_paid_order_and_empties_the_cart(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "CART-BUY-1", 1250, 10);
    stocked_product(&admin, "CART-BUY-2", 300, 10);
    let customer = shop.customer();
    let client = &customer.client;
    add(client, "CART-BUY-1", 2);
    add(client, "CART-BUY-2", 1);

    let reply = client.post(CHECKOUT, &checkout_body("tok_visa"));
    let order = reply.expect_json(201);
    let id = text(&order, "id");
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/orders/{id}").as_str())
    );
    assert_eq!(order["status"], "pending", "{order}");
    assert_eq!(order["subtotal"], 2 * 1250 + 300);
    let ordered: Vec<(String, u64)> = lines(&order);
    assert_eq!(ordered, pairs(&[("CART-BUY-1", 2), ("CART-BUY-2", 1)]));
    assert_eq!(client.get(CART).expect_ok()["items"], json!([]));

    // The order is the customer's own, and the saga takes it to paid.
    let paid = order_reaching(client, &id, "paid");
    assert_eq!(paid["total"], order["total"]);
    // With the cart empty, a second checkout has nothing to order.
    assert_problem(&client.post(CHECKOUT, &checkout_body("tok_visa")), 409);
}

fn a_refused_checkout_keeps_the_cart(store: Store) {
    let shop = Shop::start(store);
    stocked_product(&shop.admin(), "CART-KEEP", 700, 10);
    let client = &shop.customer().client;

    assert_problem(&client.post(CHECKOUT, &checkout_body("tok_visa")), 409);
    add(client, "CART-KEEP", 2);

    // Refused by orders: its 422 names the field, and the cart stays as it was.
    let mut bad_address = checkout_body("tok_visa");
    bad_address["shipping_address"]["country"] = json!("France");
    assert_field_error(
        &client.post(CHECKOUT, &bad_address),
        "shipping_address.country",
    );
    assert_field_error(&client.post(CHECKOUT, &checkout_body("")), "payment.token");
    // Refused by the cart itself.
    assert_problem(
        &client
            .request("POST", CHECKOUT)
            .raw_json("{\"payment\"")
            .send(),
        400,
    );
    assert_field_error(
        &client.post(CHECKOUT, &json!({ "payment": { "token": "tok_visa" } })),
        "shipping_address",
    );
    let mut with_items = checkout_body("tok_visa");
    with_items["items"] = json!([{ "sku": "CART-KEEP", "quantity": 1 }]);
    assert_field_error(&client.post(CHECKOUT, &with_items), "items");

    let cart = client.get(CART).expect_ok();
    assert_eq!(lines(&cart), pairs(&[("CART-KEEP", 2)]));
    assert_eq!(cart["subtotal"], 1400);
}

fn the_cart_lives_in_redis_shared_by_app_instances(store: Store) {
    let shop = Shop::start_on_redis(store);
    stocked_product(&shop.admin(), "CART-REDIS", 450, 5);
    let customer = shop.customer();
    let client = &customer.client;
    add(client, "CART-REDIS", 2);
    let cart = client.get(CART).expect_ok();
    assert_eq!(lines(&cart), pairs(&[("CART-REDIS", 2)]));
    assert_eq!(cart["subtotal"], 900);

    // A second instance of the app on the same Redis (its own databases, the same JWT
    // secret) sees the same cart: the lines are in Redis, not in the instance. Its
    // catalog never sold the sku, so there the line is unavailable.
    let other = Shop::start_on_redis(store);
    let elsewhere = other.with_token(client.token());
    let cart = elsewhere.get(CART).expect_ok();
    assert_eq!(lines(&cart), pairs(&[("CART-REDIS", 2)]));
    assert_eq!(cart["items"][0]["available"], false, "{cart}");
    assert_eq!(elsewhere.delete(CART).status, 204);
    assert_eq!(client.get(CART).expect_ok()["items"], json!([]));
}
