//! Same requests, same bytes: a shop session (catalog, stock, accounts, cart, an order
//! through the saga, refusals) replayed against the answers recorded in
//! `tests/replay/shop-session.json`, which were recorded on the app as it was before the
//! performance work (84ea3d2), on SQLite. Replayed on both stores.
//!
//! What differs between two runs of one app is normalized on both sides: ids (UUIDs,
//! numbered by first appearance), timestamps, tokens, and the headers `date`,
//! `x-request-id` and `content-length`; and the test payment provider's references. The
//! headers changed on purpose since the recording are named in [`CHANGED_SINCE_RECORDING`],
//! each for the answers it concerns, and the order and product fields added since in
//! [`added_fields`]; every other header and every body must match (a JSON
//! body as a value: key order and whitespace are not compared; any other body as text).
//!
//! `REPLAY_RECORD=1 cargo test -p acceptance --test replay -- sqlite` writes the file
//! from the app under test instead of comparing.

use acceptance::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Reply, Shop, Store, for_both_stores};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

for_both_stores!(a_recorded_shop_session_answers_the_same_bytes);

const RECORDING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/replay/shop-session.json");

/// Headers that change with every run.
const VOLATILE_HEADERS: &[&str] = &["date", "x-request-id", "content-length"];

/// A header that changed on purpose since the recording.
struct HeaderChange {
    name: &'static str,
    /// Whether the change concerns the answer to this request (by its name in the
    /// session) with this status.
    concerns: fn(&str, u64) -> bool,
    /// Its value in the recording (`None`: absent).
    recorded: Option<&'static str>,
    /// Its value now (normalized).
    now: &'static str,
}

/// Issue 12's conditional GETs: every 200 GET carries its body's entity tag; anonymous
/// catalog reads may be cached if revalidated, per caller and tenant.
const CHANGED_SINCE_RECORDING: &[HeaderChange] = &[
    HeaderChange {
        name: "etag",
        concerns: |request, status| request.starts_with("GET ") && status == 200,
        recorded: None,
        now: "<entity tag>",
    },
    HeaderChange {
        name: "cache-control",
        concerns: anonymous_catalog_read,
        recorded: Some("no-store"),
        now: "public, no-cache",
    },
    HeaderChange {
        name: "vary",
        concerns: anonymous_catalog_read,
        recorded: None,
        now: "authorization, x-tenant-id",
    },
];

/// The fields added to `object` since the recording, each with the one value it can have
/// in this session; a recorded object without the field and one now with exactly that
/// value compare equal.
fn added_fields(object: &Map<String, Value>) -> Vec<(&'static str, Value)> {
    if object.contains_key("order_number") {
        // Issue 16's promotions: every order shows its `discount` and its `discounts`
        // lines, and the session uses no promotion.
        vec![("discount", json!(0)), ("discounts", json!([]))]
    } else if object.contains_key("slug") && object.contains_key("sku") {
        // Issue 16's variants: a product without options, as all of the session's are,
        // is its own single variant.
        let variant = json!({
            "sku": object["sku"], "name": object["name"], "price": object["price"], "options": {}
        });
        vec![("options", json!([])), ("variants", json!([variant]))]
    } else {
        Vec::new()
    }
}

/// The session's anonymous catalog reads that answer 200.
const ANONYMOUS_CATALOG_READS: [&str; 4] = [
    "GET the product, anonymous",
    "GET products, first page",
    "GET categories",
    "GET search",
];

fn anonymous_catalog_read(request: &str, status: u64) -> bool {
    ANONYMOUS_CATALOG_READS.contains(&request) && status == 200
}

/// Body fields whose value changes with every run although they are not ids or times.
const VOLATILE_FIELDS: &[&str] = &["access_token", "provider_reference"];

fn a_recorded_shop_session_answers_the_same_bytes(store: Store) {
    let shop = Shop::start_with(store, &[("tax_rate_bps", "2000"), ("shipping_fee", "495")]);
    let mut session = Session::default();
    run_session(&shop, &mut session);
    let answers = session.normalized();
    if std::env::var_os("REPLAY_RECORD").is_some() {
        let text = serde_json::to_string_pretty(&answers).expect("answers serialize");
        std::fs::write(RECORDING, text + "\n").expect("write the recording");
        return;
    }
    let recorded: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(RECORDING).expect("read the recording"))
            .expect("the recording is JSON");
    assert_eq!(
        answers.len(),
        recorded.len(),
        "the session made another number of requests than the recording"
    );
    let mismatches: Vec<String> = recorded
        .iter()
        .zip(&answers)
        .filter_map(|(before, now)| {
            let now = as_recorded(before, now);
            let mut found = Vec::new();
            differences(before, &now, "", &mut found);
            (!found.is_empty()).then(|| {
                format!(
                    "{}:\n  {}",
                    before["request"].as_str().unwrap_or_default(),
                    found.join("\n  ")
                )
            })
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} answers differ:\n{}",
        mismatches.len(),
        answers.len(),
        mismatches.join("\n")
    );
}

/// The session: what a shop's first hour does, including what it gets wrong.
fn run_session(shop: &Shop, session: &mut Session) {
    let anonymous = shop.anonymous();
    let admin = anonymous.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    session.record(
        "GET a product that does not exist",
        anonymous.get("/api/v1/products/00000000-0000-4000-8000-000000000000"),
    );
    let category = session.record(
        "POST a category",
        admin.post("/api/v1/categories", &json!({ "name": "Kettles" })),
    );
    let kettle = json!({
        "sku": "KETTLE-1",
        "name": "Copper kettle",
        "description": "A 1.7 l kettle, hand-hammered",
        "price": 4990,
        "currency": "EUR",
        "brand": "Acme",
        "image_url": "https://images.example.com/kettle.png",
        "attributes": { "colour": "copper", "volume_l": "1.7" },
        "category_id": category["id"],
    });
    let product = session.record("POST a product", admin.post("/api/v1/products", &kettle));
    let product_path = format!("/api/v1/products/{}", product["id"].as_str().unwrap_or(""));
    session.record(
        "POST a product without a name",
        admin.post(
            "/api/v1/products",
            &json!({ "sku": "NO-NAME", "price": 100 }),
        ),
    );
    session.record(
        "POST a product whose SKU is taken",
        admin.post("/api/v1/products", &kettle),
    );
    let [product_read, products_read, categories_read, search_read] = ANONYMOUS_CATALOG_READS;
    session.record(product_read, anonymous.get(&product_path));
    session.record("GET the product, admin", admin.get(&product_path));
    session.record(products_read, anonymous.get("/api/v1/products?limit=10"));
    session.record(categories_read, anonymous.get("/api/v1/categories"));
    session.record(
        search_read,
        anonymous.get("/api/v1/search?q=kettle&limit=5"),
    );
    session.record(
        "PATCH the price",
        admin.patch(&product_path, &json!({ "price": 4590 })),
    );
    session.record(
        "PUT stock of a new SKU",
        admin
            .request("PUT", "/api/v1/inventory/KETTLE-1")
            .json(&json!({ "on_hand": 7 }))
            .send(),
    );
    session.record(
        "PUT stock below zero",
        admin
            .request("PUT", "/api/v1/inventory/KETTLE-1")
            .json(&json!({ "on_hand": -1 }))
            .send(),
    );
    session.record(
        "POST register",
        anonymous.post(
            "/api/v1/auth/register",
            &json!({ "email": "ada@shop.test", "password": "correct horse battery", "name": "Ada" }),
        ),
    );
    session.record(
        "POST register again",
        anonymous.post(
            "/api/v1/auth/register",
            &json!({ "email": "ada@shop.test", "password": "correct horse battery", "name": "Ada" }),
        ),
    );
    session.record(
        "POST login with a wrong password",
        anonymous.try_login("ada@shop.test", "wrong password 123"),
    );
    session.record(
        "POST login",
        anonymous.try_login("ada@shop.test", "correct horse battery"),
    );
    let customer = anonymous.login("ada@shop.test", "correct horse battery");
    session.record("GET me", customer.get("/api/v1/users/me"));
    session.record(
        "POST a cart line",
        customer.post(
            "/api/v1/cart/items",
            &json!({ "sku": "KETTLE-1", "quantity": 2 }),
        ),
    );
    session.record("GET the cart", customer.get("/api/v1/cart"));
    session.record(
        "GET the cart without a token",
        anonymous.get("/api/v1/cart"),
    );
    let order = session.record(
        "POST an order",
        customer.post(
            "/api/v1/orders",
            &acceptance::order_body(&[("KETTLE-1", 2)], "tok_visa"),
        ),
    );
    session.record(
        "POST an order for an unknown SKU",
        customer.post(
            "/api/v1/orders",
            &acceptance::order_body(&[("NOPE", 1)], "tok_visa"),
        ),
    );
    let order_id = order["id"].as_str().expect("an order id").to_owned();
    acceptance::order_reaching(&customer, &order_id, "paid");
    session.record(
        "GET the order, paid",
        customer.get(&format!("/api/v1/orders/{order_id}")),
    );
    session.record("GET my orders", customer.get("/api/v1/orders"));
    session.record(
        "GET the order's payments",
        admin.get(&format!("/api/v1/payments?order_id={order_id}")),
    );
    session.record(
        "GET the stock after the sale",
        admin.get("/api/v1/inventory/KETTLE-1"),
    );
    session.record(
        "GET the order as another customer",
        other_customer(&anonymous).get(&format!("/api/v1/orders/{order_id}")),
    );
    session.record("DELETE the product", admin.delete(&product_path));
    session.record("GET the deleted product", anonymous.get(&product_path));
    session.record("GET health", anonymous.get("/health"));
}

fn other_customer<'a>(anonymous: &Client<'a>) -> Client<'a> {
    anonymous.register("bo@shop.test", "correct horse battery", "Bo");
    anonymous.login("bo@shop.test", "correct horse battery")
}

/// The answers of a session, as received.
#[derive(Default)]
struct Session {
    answers: Vec<(String, Reply)>,
}

impl Session {
    /// Keeps `reply` as the answer to `request`; its JSON body (`Null` when none).
    fn record(&mut self, request: &str, reply: Reply) -> Value {
        let body = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        self.answers.push((request.to_owned(), reply));
        body
    }

    /// Every answer with what differs between runs replaced by placeholders, ids
    /// numbered in order of first appearance across the whole session.
    fn normalized(&self) -> Vec<Value> {
        let mut ids = Ids::default();
        self.answers
            .iter()
            .map(|(request, reply)| {
                let headers: BTreeMap<String, Value> = reply
                    .headers
                    .iter()
                    .filter(|(name, _)| !VOLATILE_HEADERS.contains(&name.as_str()))
                    .map(|(name, value)| {
                        let value = String::from_utf8_lossy(value.as_bytes());
                        let value = match name.as_str() {
                            "etag" => "<entity tag>".to_owned(),
                            _ => ids.replace_in(&value),
                        };
                        (name.to_string(), Value::String(value))
                    })
                    .collect();
                let body = match serde_json::from_str::<Value>(&reply.body) {
                    Ok(json) => ids.normalize(json),
                    Err(_) => Value::String(ids.replace_in(&reply.body)),
                };
                json!({
                    "request": request,
                    "status": reply.status,
                    "headers": headers,
                    "body": body,
                })
            })
            .collect()
    }
}

/// `now` with each header of [`CHANGED_SINCE_RECORDING`] that concerns this answer as
/// recorded, where it changed exactly as that says.
fn as_recorded(before: &Value, now: &Value) -> Value {
    let mut now = now.clone();
    let request = before["request"].as_str().unwrap_or_default();
    let status = before["status"].as_u64().unwrap_or_default();
    if let Some(headers) = now["headers"].as_object_mut() {
        let concerned = CHANGED_SINCE_RECORDING
            .iter()
            .filter(|change| (change.concerns)(request, status));
        for change in concerned {
            let recorded = before["headers"].get(change.name).and_then(Value::as_str);
            let current = headers.get(change.name).and_then(Value::as_str);
            if recorded == change.recorded && current == Some(change.now) {
                match change.recorded {
                    Some(value) => headers.insert(change.name.to_owned(), value.into()),
                    None => headers.remove(change.name),
                };
            }
        }
    }
    without_added_fields(&before["body"], &mut now["body"]);
    now
}

/// `now` without the [`added_fields`] of each object in it that `before` lacks.
fn without_added_fields(before: &Value, now: &mut Value) {
    match (before, now) {
        (Value::Object(recorded), Value::Object(current)) => {
            for (name, value) in added_fields(current) {
                if !recorded.contains_key(name) && current.get(name) == Some(&value) {
                    current.remove(name);
                }
            }
            for (name, value) in current.iter_mut() {
                if let Some(recorded) = recorded.get(name) {
                    without_added_fields(recorded, value);
                }
            }
        }
        (Value::Array(recorded), Value::Array(current)) => {
            for (recorded, current) in recorded.iter().zip(current) {
                without_added_fields(recorded, current);
            }
        }
        _ => {}
    }
}

/// Where `before` and `now` differ, as "path: before → now" lines.
fn differences(before: &Value, now: &Value, path: &str, found: &mut Vec<String>) {
    match (before, now) {
        (Value::Object(a), Value::Object(b)) => {
            let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for name in names {
                let (a, b) = (&before[name.as_str()], &now[name.as_str()]);
                differences(a, b, &format!("{path}/{name}"), found);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (a, b)) in a.iter().zip(b).enumerate() {
                differences(a, b, &format!("{path}/{index}"), found);
            }
        }
        _ if before != now => found.push(format!("{path}: {before} → {now}")),
        _ => {}
    }
}

/// UUIDs seen so far, each with its placeholder.
#[derive(Default)]
struct Ids {
    seen: Vec<String>,
}

impl Ids {
    fn placeholder(&mut self, id: &str) -> String {
        let position = match self.seen.iter().position(|seen| seen == id) {
            Some(position) => position,
            None => {
                self.seen.push(id.to_owned());
                self.seen.len() - 1
            }
        };
        format!("<id {}>", position + 1)
    }

    /// `text` with each UUID in it replaced.
    fn replace_in(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            if rest.len() >= 36 && rest.is_char_boundary(36) && is_uuid(&rest[..36]) {
                let placeholder = self.placeholder(&rest[..36]);
                out.push_str(&placeholder);
                rest = &rest[36..];
            } else {
                let next = rest.chars().next().map_or(1, char::len_utf8);
                out.push_str(&rest[..next]);
                rest = &rest[next..];
            }
        }
        out
    }

    fn normalize(&mut self, value: Value) -> Value {
        match value {
            Value::String(text) if is_timestamp(&text) => Value::String("<time>".into()),
            Value::String(text) => Value::String(self.replace_in(&text)),
            Value::Array(values) => {
                Value::Array(values.into_iter().map(|v| self.normalize(v)).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(name, value)| {
                        let value = if VOLATILE_FIELDS.contains(&name.as_str()) {
                            Value::String(format!("<{name}>"))
                        } else {
                            self.normalize(value)
                        };
                        (name, value)
                    })
                    .collect::<Map<_, _>>(),
            ),
            other => other,
        }
    }
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_timestamp(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}
