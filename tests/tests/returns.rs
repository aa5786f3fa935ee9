//! Returns: a customer returns part of a delivered order, an admin approves and receives
//! it, the goods go back on hand as a `returned` movement and the lines are refunded
//! from the payment, with a message at each step; what cannot be returned is refused
//! naming the field, or 409 for an order or a return whose state does not allow it
//! (a return of an order an admin refunded whole is not received).

use acceptance::{
    Client, Shop, Store, assert_field_error, assert_problem, eventually, for_both_stores, items,
    order_reaching, place_order, stock_of, stocked_product, text,
};
use serde_json::{Value, json};

for_both_stores!(
    a_delivered_order_is_returned_restocked_and_refunded,
    returns_refuse_what_they_cannot_take,
);

/// Places `lines` for `customer`, pays, ships and delivers it; the order's id.
fn delivered_order(shop: &Shop, customer: &Client, lines: &[(&str, u32)]) -> String {
    let admin = shop.admin();
    let id = text(&place_order(customer, lines, "tok_visa"), "id");
    order_reaching(customer, &id, "paid");
    let shipment = eventually(
        || format!("order {id} never got a shipment"),
        || {
            items(&admin.get(&format!("/api/v1/shipments?order_id={id}")))
                .into_iter()
                .next()
        },
    );
    let status_path = format!("/api/v1/shipments/{}/status", text(&shipment, "id"));
    for status in ["in_transit", "delivered"] {
        admin
            .patch(&status_path, &json!({ "status": status }))
            .expect_ok();
    }
    order_reaching(customer, &id, "delivered");
    id
}

fn ask_return(customer: &Client, order_id: &str, lines: &[(&str, u32)]) -> acceptance::Reply {
    let items: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
        .collect();
    customer.post(
        &format!("/api/v1/orders/{order_id}/returns"),
        &json!({ "items": items, "reason": "Not what I expected" }),
    )
}

/// The caller's notification kinds once `kind` is among them.
fn kinds_once(client: &Client, kind: &str) -> Vec<String> {
    eventually(
        || format!("no {kind} notification"),
        || {
            let kinds: Vec<String> = items(&client.get("/api/v1/notifications?limit=100"))
                .iter()
                .map(|message| text(message, "kind"))
                .collect();
            kinds.iter().any(|found| found == kind).then_some(kinds)
        },
    )
}

fn a_delivered_order_is_returned_restocked_and_refunded(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "RET-1", 1250, 10);
    stocked_product(&admin, "RET-2", 300, 10);
    let customer = shop.customer();
    let order_id = delivered_order(&shop, &customer.client, &[("RET-1", 2), ("RET-2", 1)]);
    assert_eq!(stock_of(&admin, "RET-1")["on_hand"], 8);

    let reply = ask_return(&customer.client, &order_id, &[("RET-1", 1)]);
    let requested = reply.expect_json(201);
    let return_id = text(&requested, "id");
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/returns/{return_id}").as_str())
    );
    assert_eq!(requested["status"], "requested", "{requested}");
    assert_eq!(requested["amount"], 1250, "{requested}");
    assert_eq!(requested["items"][0]["name"], "Stocked RET-1");
    let path = format!("/api/v1/returns/{return_id}");

    // Only an admin moves a return on, one step at a time.
    assert_problem(
        &customer.client.post(&format!("{path}/approve"), &json!({})),
        403,
    );
    assert_problem(&admin.post(&format!("{path}/receive"), &json!({})), 409);
    let approved = admin
        .post(&format!("{path}/approve"), &json!({}))
        .expect_ok();
    assert_eq!(approved["status"], "approved");
    let received = admin
        .post(&format!("{path}/receive"), &json!({}))
        .expect_ok();
    assert_eq!(received["status"], "received");

    let refunded = eventually(
        || format!("return {return_id} never refunded"),
        || {
            let read = customer.client.get(&path).expect_ok();
            (read["status"] == "refunded").then_some(read)
        },
    );
    assert_eq!(refunded["refunded_amount"], 1250, "{refunded}");
    let payments = items(&admin.get(&format!("/api/v1/payments?order_id={order_id}")));
    assert_eq!(payments[0]["status"], "partially_refunded", "{payments:?}");
    assert_eq!(payments[0]["refunded_amount"], 1250);
    assert_eq!(
        payments[0]["refunds"][0]["id"], refunded["refund_id"],
        "{refunded}"
    );
    let stock = stock_of(&admin, "RET-1");
    assert_eq!(stock["on_hand"], 9, "{stock}");
    let movements = items(&admin.get("/api/v1/inventory/RET-1/movements?limit=100"));
    let restock = movements
        .iter()
        .find(|movement| movement["reason"] == "returned")
        .unwrap_or_else(|| panic!("no returned movement: {movements:?}"));
    assert_eq!(restock["on_hand_delta"], 1);
    assert_eq!(restock["order_id"], order_id.as_str());

    let mut kinds = kinds_once(&customer.client, "return_refunded");
    kinds.retain(|kind| kind.starts_with("return_") || kind == "payment_refunded");
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "return_approved",
            "return_received",
            "return_refunded",
            "return_requested"
        ],
        "one message per step, and the refund told once"
    );
    let order = customer
        .client
        .get(&format!("/api/v1/orders/{order_id}"))
        .expect_ok();
    assert_eq!(order["status"], "delivered", "a partial return: {order}");

    // What was returned is no longer returnable; a rejected return gives its units back.
    assert_field_error(
        &ask_return(&customer.client, &order_id, &[("RET-1", 2)]),
        "items[0].quantity",
    );
    let second = ask_return(&customer.client, &order_id, &[("RET-2", 1)]).expect_json(201);
    let rejected = admin
        .post(
            &format!("/api/v1/returns/{}/reject", text(&second, "id")),
            &json!({ "reason": "Opened" }),
        )
        .expect_ok();
    assert_eq!(rejected["rejection_reason"], "Opened", "{rejected}");
    kinds_once(&customer.client, "return_rejected");
    let third = ask_return(&customer.client, &order_id, &[("RET-2", 1)]).expect_json(201);

    let mine = items(&customer.client.get("/api/v1/returns"));
    assert_eq!(mine.len(), 3, "{mine:?}");
    let refunded_ones = items(&admin.get(&format!(
        "/api/v1/returns?status=refunded&order_id={order_id}"
    )));
    assert_eq!(refunded_ones.len(), 1);
    assert!(items(&shop.customer().client.get("/api/v1/returns")).is_empty());
    assert_problem(&shop.customer().client.get(&path), 404);

    // An admin refunds the rest of the payment: the order is refunded, and the return
    // approved before it cannot be received (there is nothing left to refund it from).
    let third_path = format!("/api/v1/returns/{}", text(&third, "id"));
    admin
        .post(&format!("{third_path}/approve"), &json!({}))
        .expect_ok();
    let refund = format!("/api/v1/payments/{}/refund", text(&payments[0], "id"));
    admin.post(&refund, &json!({})).expect_ok();
    order_reaching(&customer.client, &order_id, "refunded");
    let not_received = assert_problem(
        &admin.post(&format!("{third_path}/receive"), &json!({})),
        409,
    );
    assert!(
        text(&not_received, "detail").contains("the order is refunded"),
        "{not_received}"
    );
}

fn returns_refuse_what_they_cannot_take(store: Store) {
    // A window of no days: a delivered order is past it at once.
    let shop = Shop::start_with(store, &[("return_window_days", "0")]);
    let admin = shop.admin();
    stocked_product(&admin, "NORET-1", 500, 10);
    let customer = shop.customer();
    let paid = text(
        &place_order(&customer.client, &[("NORET-1", 1)], "tok_visa"),
        "id",
    );
    order_reaching(&customer.client, &paid, "paid");
    let not_delivered =
        assert_problem(&ask_return(&customer.client, &paid, &[("NORET-1", 1)]), 409);
    assert!(
        text(&not_delivered, "detail").contains("delivered"),
        "{not_delivered}"
    );

    let delivered = delivered_order(&shop, &customer.client, &[("NORET-1", 1)]);
    let late = assert_problem(
        &ask_return(&customer.client, &delivered, &[("NORET-1", 1)]),
        409,
    );
    assert!(text(&late, "detail").contains("0 days"), "{late}");

    let path = format!("/api/v1/orders/{delivered}/returns");
    for (body, field) in [
        (json!({ "items": [] }), "items"),
        (
            json!({ "items": [{ "sku": "NORET-1", "quantity": 0 }] }),
            "items[0].quantity",
        ),
        (
            json!({ "items": [{ "sku": "", "quantity": 1 }] }),
            "items[0].sku",
        ),
        (
            json!({ "items": [{ "sku": "NORET-1", "quantity": 1 }], "reason": "x".repeat(501) }),
            "reason",
        ),
    ] {
        assert_field_error(&customer.client.post(&path, &body), field);
    }
    assert_field_error(
        &customer.client.post(&path, &json!({ "items": "all" })),
        "items",
    );
    assert_problem(
        &ask_return(&shop.customer().client, &delivered, &[("NORET-1", 1)]),
        404,
    );
    assert_problem(
        &ask_return(&customer.client, "no-such-order", &[("NORET-1", 1)]),
        404,
    );
    assert_field_error(
        &customer.client.get("/api/v1/returns?status=lost"),
        "status",
    );
    assert_problem(&admin.get("/api/v1/returns/no-such-return"), 404);
    assert_problem(
        &admin.post("/api/v1/returns/no-such-return/approve", &json!({})),
        404,
    );
    assert!(items(&admin.get("/api/v1/returns")).is_empty());
}
