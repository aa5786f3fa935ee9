//! What an operator sees of the app: the traces fusion-host exports over OTLP. One order's
//! checkout, reservation, charge, label and notifications are one trace, rooted at the
//! client's `traceparent`, and no span carries a secret.

use acceptance::{
    ADMIN_PASSWORD, JWT_SECRET, SERVICE_NAME, Shop, Store, eventually, for_both_stores, order_body,
    order_reaching, stocked_product, text,
};
use std::collections::{HashMap, HashSet};
use testing::otlp::{Collector, Span};

for_both_stores!(one_orders_saga_is_one_trace);

/// The client's span: the order's trace continues it.
const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";

/// The invocations the order's saga makes, up to its label and its notification.
const SAGA: [&str; 7] = [
    "orders",
    "inventory-on-order-created",
    "orders-on-inventory-reserved",
    "payments-on-inventory-reserved",
    "orders-on-payment-succeeded",
    "shipping-on-payment-succeeded",
    "notifications-on-payment-succeeded",
];

fn one_orders_saga_is_one_trace(store: Store) {
    let collector = Collector::start();
    let shop = Shop::start_traced(store, &collector.endpoint);
    let admin = shop.admin();
    stocked_product(&admin, "TRACE-1", 1250, 5);
    let customer = shop.customer();
    let token = customer.client.token().to_owned();
    let placed = customer
        .client
        .request("POST", "/api/v1/orders")
        .header("traceparent", &format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"))
        .json(&order_body(&[("TRACE-1", 2)], "tok_visa"))
        .send()
        .expect_json(201);
    let order_id = text(&placed, "id");
    order_reaching(&customer.client, &order_id, "paid");

    let invoked = |spans: &[Span]| -> HashSet<String> {
        spans
            .iter()
            .filter_map(|span| span.name.strip_prefix("execute_wasm_component "))
            .map(str::to_owned)
            .collect()
    };
    let trace = eventually(
        || {
            format!(
                "the trace never held the saga's invocations {SAGA:?}; it has {:?}",
                invoked(&in_trace(&collector))
            )
        },
        || {
            let spans = in_trace(&collector);
            let names = invoked(&spans);
            SAGA.iter()
                .all(|component| names.contains(*component))
                .then_some(spans)
        },
    );

    // One tree: the request's server span is the client's child, and every other span's
    // parent is in the trace.
    let by_id: HashMap<&str, &Span> = trace.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let roots: Vec<&Span> = trace
        .iter()
        .filter(|span| {
            span.parent_span_id
                .as_deref()
                .is_none_or(|parent| !by_id.contains_key(parent))
        })
        .collect();
    let [root] = roots[..] else {
        panic!("one root expected, found {roots:#?}")
    };
    assert_eq!(
        root.parent_span_id.as_deref(),
        Some(CLIENT_SPAN),
        "{root:?}"
    );
    assert_eq!(root.name, "POST /api/v1/orders/...", "{root:?}");
    assert_eq!(root.kind, 2, "a server span: {root:?}");
    assert_eq!(root.attribute("http.response.status_code"), Some("201"));
    for span in &trace {
        assert!(span.end_nanos >= span.start_nanos, "{span:?}");
        assert_eq!(span.service, SERVICE_NAME, "{span:?}");
    }

    // An event handler runs under the dispatch that delivered to it: a client span of
    // the invocation that committed the event.
    let ancestors = |span: &Span| -> Vec<String> {
        let mut names = Vec::new();
        let mut parent = span.parent_span_id.as_deref();
        while let Some(up) = parent.and_then(|id| by_id.get(id)) {
            names.push(up.name.clone());
            parent = up.parent_span_id.as_deref();
        }
        names
    };
    let shipping = trace
        .iter()
        .find(|span| span.name == "execute_wasm_component shipping-on-payment-succeeded")
        .expect("the label's invocation");
    let chain = ancestors(shipping);
    for upstream in [
        "execute_wasm_component payments-on-inventory-reserved",
        "execute_wasm_component inventory-on-order-created",
        "execute_wasm_component orders",
        "POST /api/v1/orders/...",
    ] {
        assert!(
            chain.iter().any(|name| name == upstream),
            "{upstream} not in {chain:#?}"
        );
    }

    // Statements are traced with their text, never their values. (fusion-host writes
    // OpenTelemetry's current attribute names; Spin its older `db.system`, and the text
    // as `query` for SQLite, `statement` for PostgreSQL.)
    let system = match store {
        Store::Sqlite => "sqlite",
        Store::Postgres => "postgresql",
    };
    let statements: Vec<&Span> = trace
        .iter()
        .filter(|span| {
            span.attribute("db.system.name")
                .or(span.attribute("db.system"))
                == Some(system)
        })
        .collect();
    assert!(
        statements.iter().any(|span| span
            .attribute("db.query.text")
            .or(span.attribute("query"))
            .or(span.attribute("statement"))
            .is_some_and(|text| text.contains("INSERT INTO outbox"))),
        "no outbox write among {} statements",
        statements.len()
    );
    assert!(
        trace.iter().any(|span| span.name.contains("key_value.")),
        "no key-value span"
    );
    assert!(
        trace.iter().any(|span| span.kind == 3
            && span
                .attribute("url.full")
                .is_some_and(|url| url.starts_with("http://catalog.spin.internal/"))),
        "no chained call pricing the order"
    );

    // No secret is ever in a span: not the customer's token, the card token, the
    // passwords or the keys.
    for secret in [
        token.as_str(),
        "tok_visa",
        customer.password.as_str(),
        ADMIN_PASSWORD,
        JWT_SECRET,
        acceptance::EVENT_SIGNING_KEY,
    ] {
        for span in collector.spans() {
            let text = format!("{span:?}");
            assert!(!text.contains(secret), "{secret:?} in {span:#?}");
        }
    }
}

/// The spans received so far of the order's trace.
fn in_trace(collector: &Collector) -> Vec<Span> {
    collector
        .spans()
        .into_iter()
        .filter(|span| span.trace_id == TRACE_ID)
        .collect()
}
