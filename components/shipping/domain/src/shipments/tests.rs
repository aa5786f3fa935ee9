use super::*;
use crate::IllegalTransition;
use crate::tracking_number::{CODE_CHARS, PREFIX};
use crate::{API_SOURCE, CONTEXT, LABEL_SOURCE, MIGRATIONS};
use futures::executor::block_on;
use kit::db::{NativeSqlite, migrate};
use kit::outbox::apply_once;
use serde_json::Value;

const TENANT: &str = "acme";
const SUBSCRIBER: &str = "shipping-on-payment-succeeded";

fn database() -> NativeSqlite {
    let db = NativeSqlite::open_in_memory().unwrap();
    block_on(migrate(&db, CONTEXT, MIGRATIONS)).unwrap();
    db
}

fn paid(tenant: &str, order_id: &str) -> Envelope<PaymentSucceeded> {
    Envelope::new(
        "/components/payments-on-inventory-reserved",
        tenant,
        "flow-1",
        PaymentSucceeded {
            payment_id: "pay-1".into(),
            order_id: order_id.into(),
            customer_id: "cust-1".into(),
            amount: 3_000,
            currency: "EUR".into(),
            provider: "test".into(),
            provider_reference: "ch_1".into(),
            shipping_address: Address {
                name: "Ada Lovelace".into(),
                line1: "12 St James's Square".into(),
                city: "London".into(),
                postal_code: "SW1Y 4JH".into(),
                country: "GB".into(),
            },
        },
    )
}

/// Delivers `event` to the handler as the event transport does.
fn deliver(db: &NativeSqlite, event: &Envelope<PaymentSucceeded>) -> Option<()> {
    block_on(apply_once(db, SUBSCRIBER, &event.id, async |db| {
        create_label(db, event, "FusionPost").await
    }))
    .unwrap()
}

/// The single shipment of `order_id`, after its label was created.
fn shipped(db: &NativeSqlite, tenant: &str, order_id: &str) -> Shipment {
    let page = block_on(list_shipments(db, tenant, Some(order_id), &first_page(20))).unwrap();
    assert_eq!(page.items.len(), 1);
    page.items.into_iter().next().unwrap()
}

fn first_page(limit: u32) -> PageParams<Position> {
    PageParams { limit, after: None }
}

/// The outbox's events as JSON envelopes, oldest first.
fn outbox(db: &NativeSqlite) -> Vec<Value> {
    block_on(db.query("SELECT payload FROM outbox ORDER BY id", &[]))
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(row.get_str(0).unwrap()).unwrap())
        .collect()
}

fn change(status: ShipmentStatus, location: Option<&str>) -> StatusChange {
    StatusChange {
        status,
        location: location.map(str::to_owned),
        note: None,
    }
}

fn update(db: &NativeSqlite, id: &str, change: &StatusChange) -> Result<Shipment, ShippingError> {
    block_on(update_status(db, TENANT, id, change))
}

#[test]
fn a_paid_order_gets_a_shipment_a_label_and_an_event() {
    let db = database();
    let event = paid(TENANT, "order-1");
    assert_eq!(deliver(&db, &event), Some(()));

    let shipment = shipped(&db, TENANT, "order-1");
    assert_eq!(shipment.customer_id, "cust-1");
    assert_eq!(shipment.carrier, "FusionPost");
    assert_eq!(shipment.status, ShipmentStatus::LabelCreated);
    assert_eq!(shipment.shipping_address, event.data.shipping_address);
    assert_eq!(
        shipment.label_url,
        format!("/api/v1/shipments/{}/label", shipment.id)
    );
    assert!(shipment.tracking_number.starts_with(PREFIX));
    assert_eq!(shipment.tracking_number.len(), PREFIX.len() + CODE_CHARS);
    assert_eq!(shipment.events.len(), 1);
    assert_eq!(shipment.events[0].status, ShipmentStatus::LabelCreated);
    assert_eq!(shipment.events[0].at, shipment.created_at);

    let events = outbox(&db);
    assert_eq!(events.len(), 1);
    let created = &events[0];
    assert_eq!(created["type"], "shipping.label.created");
    assert_eq!(created["source"], LABEL_SOURCE);
    assert_eq!(created["tenant"], TENANT);
    assert_eq!(created["correlationid"], "flow-1");
    assert_eq!(created["causationid"], event.id.as_str());
    assert_eq!(
        created["data"]["shipment"]["shipment_id"],
        shipment.id.as_str()
    );
    assert_eq!(created["data"]["shipment"]["order_id"], "order-1");
    assert_eq!(
        created["data"]["shipment"]["tracking_number"],
        shipment.tracking_number.as_str()
    );
    assert_eq!(created["data"]["label_url"], shipment.label_url.as_str());
}

fn cancelled(order_id: &str) -> Envelope<OrderCancelled> {
    Envelope::new(
        "/components/orders",
        TENANT,
        "flow-1",
        OrderCancelled {
            order_id: order_id.into(),
            customer_id: "cust-1".into(),
            items: vec![],
            total: 3_000,
            currency: "EUR".into(),
            previous_status: "paid".into(),
            cancelled_by: "cust-1".into(),
            reason: None,
        },
    )
}

/// Delivers `event` to the cancellation handler as the event transport does.
fn deliver_cancellation(db: &NativeSqlite, event: &Envelope<OrderCancelled>) -> Option<()> {
    block_on(apply_once(
        db,
        "shipping-on-order-cancelled",
        &event.id,
        async |db| void_cancelled_order(db, event).await,
    ))
    .unwrap()
}

/// The shipment's statuses and log, what must not depend on which event came first.
fn outcome(shipment: &Shipment) -> (ShipmentStatus, Vec<(ShipmentStatus, Option<String>)>) {
    let log = shipment.events.iter();
    (
        shipment.status,
        log.map(|entry| (entry.status, entry.note.clone()))
            .collect(),
    )
}

#[test]
fn a_cancelled_orders_label_is_voided_whichever_event_comes_first() {
    let paid_first = database();
    deliver(&paid_first, &paid(TENANT, "order-1"));
    assert_eq!(
        deliver_cancellation(&paid_first, &cancelled("order-1")),
        Some(())
    );

    let cancelled_first = database();
    deliver_cancellation(&cancelled_first, &cancelled("order-1"));
    deliver(&cancelled_first, &paid(TENANT, "order-1"));

    let expected = (
        ShipmentStatus::Cancelled,
        vec![
            (ShipmentStatus::LabelCreated, None),
            (ShipmentStatus::Cancelled, Some(VOID_NOTE.to_owned())),
        ],
    );
    for db in [&paid_first, &cancelled_first] {
        let shipment = shipped(db, TENANT, "order-1");
        assert_eq!(outcome(&shipment), expected);
        // It ships no more, and its label is not printed.
        let moved = update(db, &shipment.id, &change(ShipmentStatus::InTransit, None));
        assert!(matches!(moved, Err(ShippingError::Illegal(_))), "{moved:?}");
        let label = block_on(printable_label(db, TENANT, &shipment.id));
        assert!(matches!(label, Err(ShippingError::Voided)), "{label:?}");
        let types: Vec<Value> = outbox(db).iter().map(|e| e["type"].clone()).collect();
        assert_eq!(types, ["shipping.label.created"]);
    }
}

#[test]
fn a_cancellation_leaves_a_shipment_that_left_alone_and_is_applied_once() {
    let db = database();
    deliver(&db, &paid(TENANT, "order-1"));
    let shipment = shipped(&db, TENANT, "order-1");
    update(&db, &shipment.id, &change(ShipmentStatus::InTransit, None)).unwrap();
    let cancellation = cancelled("order-1");
    assert_eq!(deliver_cancellation(&db, &cancellation), Some(()));
    assert_eq!(deliver_cancellation(&db, &cancellation), None);
    assert_eq!(
        shipped(&db, TENANT, "order-1").status,
        ShipmentStatus::InTransit
    );
    // Another order's cancellation, without a shipment, is recorded and nothing else.
    assert_eq!(deliver_cancellation(&db, &cancelled("order-2")), Some(()));
    assert_eq!(
        shipped(&db, TENANT, "order-1").status,
        ShipmentStatus::InTransit
    );
}

#[test]
fn an_admin_cannot_void_a_label_by_hand() {
    let errors = change(ShipmentStatus::Cancelled, None)
        .validate()
        .unwrap_err();
    assert_eq!(errors[0].field, "status");
}

#[test]
fn a_redelivered_or_duplicate_payment_changes_nothing() {
    let db = database();
    let event = paid(TENANT, "order-1");
    assert_eq!(deliver(&db, &event), Some(()));
    let first = shipped(&db, TENANT, "order-1");

    assert_eq!(deliver(&db, &event), None, "the same event again");
    let duplicate = paid(TENANT, "order-1");
    assert_eq!(
        deliver(&db, &duplicate),
        Some(()),
        "another event, same order"
    );

    assert_eq!(shipped(&db, TENANT, "order-1"), first);
    assert_eq!(outbox(&db).len(), 1);
}

#[test]
fn every_order_gets_its_own_tracking_number() {
    let db = database();
    for order in ["order-1", "order-2", "order-3"] {
        deliver(&db, &paid(TENANT, order));
    }
    let page = block_on(list_shipments(&db, TENANT, None, &first_page(20))).unwrap();
    let numbers: std::collections::HashSet<_> =
        page.items.iter().map(|s| &s.tracking_number).collect();
    assert_eq!(numbers.len(), 3);
}

#[test]
fn a_payment_without_an_order_is_refused() {
    let db = database();
    let event = paid(TENANT, "");
    let outcome = block_on(apply_once(&db, SUBSCRIBER, &event.id, async |db| {
        create_label(db, &event, "FusionPost").await
    }));
    assert!(matches!(outcome, Err(HandlerError::Refuse(_))));
}

#[test]
fn status_changes_log_each_move_and_emit_their_events() {
    let db = database();
    deliver(&db, &paid(TENANT, "order-1"));
    let id = shipped(&db, TENANT, "order-1").id;

    let moving = StatusChange {
        status: ShipmentStatus::InTransit,
        location: Some("  Leipzig hub ".into()),
        note: Some("picked up".into()),
    };
    let in_transit = update(&db, &id, &moving).unwrap();
    assert_eq!(in_transit.status, ShipmentStatus::InTransit);
    assert_eq!(in_transit.events.len(), 2);
    assert_eq!(
        in_transit.events[1].location.as_deref(),
        Some("Leipzig hub")
    );
    assert_eq!(in_transit.events[1].note.as_deref(), Some("picked up"));
    assert_eq!(in_transit.updated_at, in_transit.events[1].at);

    let delivered = update(&db, &id, &change(ShipmentStatus::Delivered, None)).unwrap();
    assert_eq!(delivered.status, ShipmentStatus::Delivered);
    let logged: Vec<_> = delivered.events.iter().map(|e| e.status).collect();
    assert_eq!(
        logged,
        [
            ShipmentStatus::LabelCreated,
            ShipmentStatus::InTransit,
            ShipmentStatus::Delivered
        ]
    );
    assert_eq!(block_on(get_shipment(&db, TENANT, &id)).unwrap(), delivered);

    let events = outbox(&db);
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["type"], "shipment.in_transit");
    assert_eq!(events[1]["source"], API_SOURCE);
    assert_eq!(events[1]["correlationid"], "flow-1");
    assert_eq!(events[1]["data"]["location"], "Leipzig hub");
    assert_eq!(events[1]["data"]["shipment"]["shipment_id"], id.as_str());
    assert_eq!(events[2]["type"], "shipment.delivered");
    assert_eq!(
        events[2]["data"]["delivered_at"],
        delivered.events[2].at.as_str()
    );

    for &status in ShipmentStatus::ALL {
        let refused = update(&db, &id, &change(status, None)).unwrap_err();
        assert!(
            matches!(refused, ShippingError::Illegal(IllegalTransition { from, to })
                    if from == ShipmentStatus::Delivered && to == status),
            "{refused}"
        );
    }
    assert_eq!(block_on(get_shipment(&db, TENANT, &id)).unwrap(), delivered);
    assert_eq!(outbox(&db).len(), 3);
}

#[test]
fn a_failed_shipment_is_logged_without_an_event() {
    let db = database();
    deliver(&db, &paid(TENANT, "order-1"));
    let id = shipped(&db, TENANT, "order-1").id;
    let failed = StatusChange {
        status: ShipmentStatus::Failed,
        location: None,
        note: Some("address not found".into()),
    };
    let shipment = update(&db, &id, &failed).unwrap();
    assert_eq!(shipment.status, ShipmentStatus::Failed);
    assert_eq!(
        shipment.events[1].note.as_deref(),
        Some("address not found")
    );
    assert_eq!(outbox(&db).len(), 1, "only the label's event");
    assert!(matches!(
        update(&db, &id, &change(ShipmentStatus::InTransit, None)),
        Err(ShippingError::Illegal(_))
    ));
}

#[test]
fn a_change_from_a_stale_status_changes_nothing() {
    let db = database();
    deliver(&db, &paid(TENANT, "order-1"));
    let id = shipped(&db, TENANT, "order-1").id;
    let from_label = |status| {
        block_on(transaction(&db, async |db| {
            change_status_from(
                db,
                TENANT,
                &id,
                ShipmentStatus::LabelCreated,
                &change(status, None),
            )
            .await
        }))
    };
    // Two admins both saw `label_created`; the first change wins.
    let first = from_label(ShipmentStatus::InTransit).unwrap();
    let second = from_label(ShipmentStatus::Failed).unwrap_err();
    assert!(
        matches!(
            second,
            ShippingError::Stale {
                expected: ShipmentStatus::LabelCreated,
                current: ShipmentStatus::InTransit
            }
        ),
        "{second}"
    );
    assert_eq!(block_on(get_shipment(&db, TENANT, &id)).unwrap(), first);
    assert_eq!(outbox(&db).len(), 2, "the label's and the first change's");
}

#[test]
fn unknown_shipments_are_not_found() {
    let db = database();
    assert!(matches!(
        block_on(get_shipment(&db, TENANT, "nope")),
        Err(ShippingError::NotFound)
    ));
    assert!(matches!(
        update(&db, "nope", &change(ShipmentStatus::InTransit, None)),
        Err(ShippingError::NotFound)
    ));
    assert!(matches!(
        block_on(track(&db, TENANT, "FP000000000000")),
        Err(ShippingError::NotFound)
    ));
}

#[test]
fn tracking_shows_progress_but_no_personal_data() {
    let db = database();
    deliver(&db, &paid(TENANT, "order-1"));
    let shipment = shipped(&db, TENANT, "order-1");
    update(
        &db,
        &shipment.id,
        &change(ShipmentStatus::InTransit, Some("Leipzig")),
    )
    .unwrap();

    let typed = format!(" {} ", shipment.tracking_number.to_ascii_lowercase());
    let tracking = block_on(track(&db, TENANT, &typed)).unwrap();
    assert_eq!(tracking.status, ShipmentStatus::InTransit);
    assert_eq!(tracking.events.len(), 2);

    let json = serde_json::to_value(&tracking).unwrap();
    let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["carrier", "events", "status", "tracking_number"]);
    let text = json.to_string();
    for personal in [
        "Ada",
        "James",
        "London",
        "SW1Y",
        "cust-1",
        "order-1",
        &shipment.id,
    ] {
        assert!(!text.contains(personal), "{personal} leaks into {text}");
    }
}

#[test]
fn tenants_see_only_their_own_shipments() {
    let db = database();
    deliver(&db, &paid(TENANT, "order-1"));
    // The same order id in another tenant is another order.
    deliver(&db, &paid("globex", "order-1"));
    let ours = shipped(&db, TENANT, "order-1");
    let theirs = shipped(&db, "globex", "order-1");
    assert_ne!(ours.id, theirs.id);

    assert!(matches!(
        block_on(get_shipment(&db, "globex", &ours.id)),
        Err(ShippingError::NotFound)
    ));
    assert!(matches!(
        block_on(track(&db, "globex", &ours.tracking_number)),
        Err(ShippingError::NotFound)
    ));
    assert!(matches!(
        block_on(update_status(
            &db,
            "globex",
            &ours.id,
            &change(ShipmentStatus::InTransit, None)
        )),
        Err(ShippingError::NotFound)
    ));
    let listed = block_on(list_shipments(&db, "globex", None, &first_page(20))).unwrap();
    assert_eq!(listed.items, [theirs]);
    assert_eq!(block_on(get_shipment(&db, TENANT, &ours.id)).unwrap(), ours);
}

#[test]
fn lists_page_by_keyset_and_filter_by_order() {
    let db = database();
    for order in ["order-1", "order-2", "order-3"] {
        deliver(&db, &paid(TENANT, order));
    }
    let first = block_on(list_shipments(&db, TENANT, None, &first_page(2))).unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.items.iter().all(|s| s.events.len() == 1));
    let cursor = first.next_cursor.as_deref().unwrap();
    let after = PageParams {
        limit: 2,
        after: Some(kit::pagination::decode_cursor(cursor).unwrap()),
    };
    let second = block_on(list_shipments(&db, TENANT, None, &after)).unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None);
    let orders: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|s| s.order_id.as_str())
        .collect();
    assert_eq!(orders, ["order-1", "order-2", "order-3"]);

    let none = block_on(list_shipments(
        &db,
        TENANT,
        Some("order-9"),
        &first_page(20),
    ))
    .unwrap();
    assert!(none.items.is_empty());
}

#[test]
fn the_label_names_carrier_tracking_number_and_address() {
    let db = database();
    deliver(&db, &paid(TENANT, "order-1"));
    let shipment = shipped(&db, TENANT, "order-1");
    let label = label_text(&shipment);
    for expected in [
        "FusionPost",
        shipment.tracking_number.as_str(),
        "Ada Lovelace",
        "12 St James's Square",
        "SW1Y 4JH London",
        "GB",
    ] {
        assert!(label.contains(expected), "{expected} missing from\n{label}");
    }
}

#[test]
fn status_change_bodies_are_checked() {
    let parse = |body: &str| kit::json::parse_valid::<StatusChange>(body.as_bytes());
    let ok = parse(r#"{"status": "in_transit", "location": "Leipzig"}"#).unwrap();
    assert_eq!(ok, change(ShipmentStatus::InTransit, Some("Leipzig")));
    for (body, field) in [
        (r#"{"status": "lost"}"#, "status"),
        (r#"{"location": "Leipzig"}"#, "status"),
        (r#"{"status": "failed", "carrier": "x"}"#, "carrier"),
        (r#"{"status": "failed", "location": " "}"#, "location"),
        (r#"{"status": "failed", "note": 5}"#, "note"),
    ] {
        let problem = parse(body).unwrap_err();
        assert_eq!(problem.status, 422, "{body}");
        assert_eq!(problem.errors[0].field, field, "{body}");
    }
    let long = format!(
        r#"{{"status": "failed", "note": "{}"}}"#,
        "x".repeat(MAX_NOTE_CHARS + 1)
    );
    assert_eq!(parse(&long).unwrap_err().errors[0].field, "note");
    assert_eq!(parse("{").unwrap_err().status, 400);
}

#[test]
fn the_documented_limits_are_the_checked_ones() {
    let schema = serde_json::to_value(<StatusChange as utoipa::PartialSchema>::schema());
    let properties = &schema.unwrap()["properties"];
    assert_eq!(properties["location"]["maxLength"], MAX_LOCATION_CHARS);
    assert_eq!(properties["note"]["maxLength"], MAX_NOTE_CHARS);
}
