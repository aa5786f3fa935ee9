//! What an operator sees of the app.
//! - Traces, which the host exports over OTLP: one order's checkout, reservation, charge,
//!   label and notifications are one trace, rooted at the client's `traceparent`, whether
//!   its events travel by chained requests or on Kafka, and no span carries a secret.
//! - Metrics: the outbox's (the app's route), with the host's requests and instances on
//!   fusion-host's admin listener.
//! - Logs: a JSON line per request and per delivery, naming the flow, and no secret.

use acceptance::bridge::{Bridge, Engine};
use acceptance::{
    ADMIN_PASSWORD, CUSTOMER_PASSWORD, JWT_SECRET, SERVICE_NAME, Shop, Store, assert_problem,
    eventually, for_both_stores, order_body, order_reaching, place_order, stocked_product, text,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use testing::otlp::{Collector, Span};

for_both_stores!(
    one_orders_saga_is_one_trace,
    a_checkout_shows_in_the_metrics,
    a_sagas_log_is_a_line_per_request_and_delivery_and_holds_no_secret,
);

fn a_sagas_log_is_a_line_per_request_and_delivery_and_holds_no_secret(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "LOG-1", 1250, 5);
    let customer = shop.customer();
    let placed = customer
        .client
        .request("POST", "/api/v1/orders")
        .header("x-request-id", "checkout-of-log-1")
        .json(&order_body(&[("LOG-1", 1)], "tok_visa"))
        .send()
        .expect_json(201);
    order_reaching(&customer.client, &text(&placed, "id"), "paid");

    let logs = eventually(
        || "no delivery of payment.succeeded to shipping logged".to_owned(),
        || {
            let logs = shop.logs();
            logs.contains("\"component\":\"shipping-on-payment-succeeded\"")
                .then_some(logs)
        },
    );
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &Value| line.get("kind").is_some())
        .collect();
    let checkout = lines
        .iter()
        .find(|line| line["request_id"] == "checkout-of-log-1" && line["component"] == "orders")
        .unwrap_or_else(|| panic!("no line for the checkout in {lines:#?}"));
    for (field, value) in [
        ("level", "info"),
        ("kind", "request"),
        ("correlation_id", "checkout-of-log-1"),
        ("tenant", "default"),
        ("component", "orders"),
        ("method", "POST"),
        ("route", "/api/v1/orders"),
    ] {
        assert_eq!(checkout[field], value, "{field}: {checkout}");
    }
    assert_eq!(checkout["status"], 201, "{checkout}");
    assert!(checkout["duration_ms"].as_f64().is_some(), "{checkout}");
    assert!(
        checkout["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{checkout}"
    );

    // Each handler's delivery names the flow: the checkout's request id.
    let delivered: HashSet<&str> = lines
        .iter()
        .filter(|line| line["kind"] == "delivery" && line["correlation_id"] == "checkout-of-log-1")
        .map(|line| line["component"].as_str().unwrap_or_default())
        .collect();
    for handler in [
        "inventory-on-order-created",
        "payments-on-inventory-reserved",
        "orders-on-payment-succeeded",
        "shipping-on-payment-succeeded",
    ] {
        assert!(
            delivered.contains(handler),
            "{handler} not in {delivered:?}"
        );
    }
    let refused = customer.client.get("/api/v1/orders/no-such-order");
    assert_eq!(refused.status, 404);
    let warned = eventually(
        || "no line for the 404".to_owned(),
        || {
            let logs = shop.logs();
            logs.lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|line| line["route"] == "/api/v1/orders/no-such-order")
        },
    );
    assert_eq!(
        (&warned["level"], &warned["status"]),
        (&json!("warn"), &json!(404))
    );

    for secret in [
        customer.client.token(),
        "tok_visa",
        CUSTOMER_PASSWORD,
        ADMIN_PASSWORD,
        JWT_SECRET,
        acceptance::EVENT_SIGNING_KEY,
    ] {
        assert!(!logs.contains(secret), "{secret:?} in the log:\n{logs}");
    }
}

const METRICS_KEY: &str = "acceptance-metrics-key";

fn a_checkout_shows_in_the_metrics(store: Store) {
    let shop = Shop::start_with(store, &[("metrics_key", METRICS_KEY)]);
    let admin = shop.admin();
    stocked_product(&admin, "METRIC-1", 1250, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("METRIC-1", 1)], "tok_visa");
    order_reaching(&customer.client, &text(&order, "id"), "paid");

    // The app's outbox metrics: for the scraper's key or an admin, no one else.
    let path = "/api/v1/admin/metrics";
    assert_problem(&shop.anonymous().get(path), 401);
    assert_problem(&customer.client.get(path), 403);
    let with_key = |key: &str| {
        shop.anonymous()
            .request("GET", path)
            .header("x-metrics-key", key)
            .send()
    };
    assert_problem(&with_key("not-the-key"), 401);
    let scraped = with_key(METRICS_KEY);
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    assert!(
        scraped
            .header("content-type")
            .is_some_and(|kind| kind.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        scraped.header("content-type")
    );
    assert_eq!(admin.get(path).status, 200);
    // The order's saga is settled: nothing waits, nothing died.
    let outbox = scraped.body;
    for context in ["orders", "inventory", "payments", "shipping"] {
        for line in [
            format!("fusion_outbox_pending{{context=\"{context}\"}} 0"),
            format!("fusion_outbox_oldest_pending_seconds{{context=\"{context}\"}} 0.000"),
            format!("fusion_outbox_dead_letters{{context=\"{context}\"}} 0"),
            format!("fusion_outbox_deliveries_retried_total{{context=\"{context}\"}} 0"),
        ] {
            assert!(outbox.lines().any(|l| l == line), "{line} not in\n{outbox}");
        }
    }

    // fusion-host's admin listener: its series, then the app's.
    let Some(url) = shop.host_metrics_url() else {
        assert!(
            std::env::var_os("SPIN_BIN").is_some(),
            "fusion-host serves /metrics"
        );
        return;
    };
    let reply = testing::Request::new("GET", &url).send();
    assert_eq!(reply.status, 200);
    let host = reply.body;
    for line in [
        "fusion_host_requests_total{component=\"orders\",route=\"/api/v1/orders/...\",status=\"201\"} 1",
        "fusion_host_request_duration_seconds_count{component=\"orders\",route=\"/api/v1/orders/...\"} ",
        "fusion_host_requests_total{component=\"inventory-on-order-created\",route=\"/...\",status=\"200\"} 1",
        "fusion_host_instances_total{component=\"orders\"} ",
        "fusion_host_requests_in_flight 0",
        "fusion_outbox_pending{context=\"orders\"} 0",
    ] {
        // A line ending in a space names a series whatever its value; others are whole.
        let found = match line.ends_with(' ') {
            true => host.lines().any(|l| l.starts_with(line)),
            false => host.lines().any(|l| l == line),
        };
        assert!(found, "{line} not in\n{host}");
    }
}

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

/// Places an order in the trace of [`CLIENT_SPAN`]; answers the customer's token, and
/// the order's trace once it holds every invocation of the [`SAGA`].
fn traced_order(shop: &Shop, collector: &Collector) -> (String, Vec<Span>) {
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
                "the trace never held the saga's invocations {SAGA:?} with every parent; it has {:?}",
                invoked(&in_trace(collector))
            )
        },
        || {
            let spans = in_trace(collector);
            let names = invoked(&spans);
            // Spans come in batches, a parent often after its children: wait for all.
            let ids: HashSet<&str> = spans.iter().map(|span| span.span_id.as_str()).collect();
            let whole = spans.iter().all(|span| {
                span.parent_span_id
                    .as_deref()
                    .is_some_and(|parent| parent == CLIENT_SPAN || ids.contains(parent))
            });
            (whole && SAGA.iter().all(|component| names.contains(*component))).then_some(spans)
        },
    );
    (token, trace)
}

fn one_orders_saga_is_one_trace(store: Store) {
    let collector = Collector::start();
    let shop = Shop::start_traced(store, &collector.endpoint, &[]);
    let (token, trace) = traced_order(&shop, &collector);

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

    no_secret_in(&collector, &token);
}

/// On a bus, each handler's delivery comes from the bridge with its event's
/// `traceparent`: the trace holds, though its deliveries hang from the invocation that
/// wrote the event (fusion-host) or from the client's span (Spin, which hands the
/// guest the client's `traceparent`).
///
/// On SQLite only: the store plays no part in how a trace crosses the broker, and a run
/// on Kafka takes half a minute.
#[test]
fn one_orders_saga_is_one_trace_through_kafka() {
    let collector = Collector::start();
    let shop = Shop::start_traced(
        Store::Sqlite,
        &collector.endpoint,
        &[("event_transport", "kafka")],
    );
    let bridge = Bridge::start(&shop, Engine::Kafka);
    let (token, trace) = traced_order(&shop, &collector);
    let ids: HashSet<&str> = trace.iter().map(|span| span.span_id.as_str()).collect();
    for span in &trace {
        let parent = span.parent_span_id.as_deref();
        assert!(
            parent.is_some_and(|parent| parent == CLIENT_SPAN || ids.contains(parent)),
            "a span out of the tree: {span:#?}"
        );
    }
    let deliveries = trace
        .iter()
        .filter(|span| span.kind == 2 && span.name.starts_with("POST /events/"))
        .count();
    assert!(
        deliveries >= SAGA.len() - 1,
        "{deliveries} deliveries traced"
    );
    no_secret_in(&collector, &token);

    // The bridge's own metrics count what it handed over.
    let metrics = bridge.metrics();
    let taken = "fusion_bridge_deliveries_total{handler=\"payments-on-inventory-reserved\",outcome=\"taken\"} ";
    assert!(
        metrics.lines().any(|line| line.starts_with(taken)),
        "{taken} not in\n{metrics}"
    );
    assert!(
        metrics.contains("# TYPE fusion_bridge_lag gauge"),
        "{metrics}"
    );
}

/// No span holds a secret: the customer's token, the card token, the passwords or the
/// keys.
fn no_secret_in(collector: &Collector, token: &str) {
    for secret in [
        token,
        "tok_visa",
        CUSTOMER_PASSWORD,
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
