//! Fault injection around a flash sale (`tests/tests/faults.rs`, `scripts/faults`): many
//! customers ordering one product of limited stock at once, as `scripts/bench checkout`
//! does, with a fault injected mid-sale; then the sweeps, and the books checked: every
//! accepted order settled, exactly the stock sold, nobody charged twice, nothing left in
//! flight. Payments go to a stand-in for Stripe, so the charges the provider was asked for
//! are counted outside the app.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::shop::EVENT_CONTEXTS;
use crate::{Client, HttpStub, Shop, WEBHOOK_SECRET, order_body, stocked_product, unique_name};

/// Statuses an order never leaves by itself (see the orders domain's state machine).
const FINAL: &[&str] = &[
    "paid",
    "rejected",
    "payment_failed",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
];

/// How big a sale: `FAULTS_ORDERS` one-unit orders for `FAULTS_UNITS` units over
/// `FAULTS_CONNECTIONS` concurrent clients. The defaults keep the acceptance suite quick;
/// `scripts/faults` sets the size (2,000 orders for 500 units at 64).
#[derive(Debug, Clone, Copy)]
pub struct SaleSize {
    pub orders: usize,
    pub units: i64,
    pub connections: usize,
}

impl SaleSize {
    pub fn from_env() -> SaleSize {
        SaleSize {
            orders: env_number("FAULTS_ORDERS", 300),
            units: env_number("FAULTS_UNITS", 100),
            connections: env_number("FAULTS_CONNECTIONS", 32),
        }
    }

    /// Customers share the orders (the fraud limit per customer is lifted): registering
    /// each costs two Argon2 hashes, so not one per order.
    fn customers(&self) -> usize {
        (self.orders / 20).clamp(4, 100)
    }
}

/// A number from the environment, or `default` when unset.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

/// A stand-in for Stripe that confirms every charge.
pub fn stripe_stub() -> HttpStub {
    HttpStub::start(vec![(
        200,
        json!({ "id": "pi_flash", "object": "payment_intent", "status": "succeeded" }),
    )])
}

/// The app variables of a sale: payments through `stub`, and no fraud review for
/// customers who order many times within minutes.
pub fn sale_variables(stub: &HttpStub) -> Vec<(&'static str, &str)> {
    vec![
        ("payment_provider", "stripe"),
        ("stripe_api_url", stub.url()),
        ("stripe_secret_key", "sk_test_faults"),
        ("stripe_webhook_secret", WEBHOOK_SECRET),
        ("fraud_max_orders", "1000000"),
    ]
}

/// What the clients of a sale were answered.
#[derive(Debug, Default)]
pub struct Answers {
    /// Ids of the orders answered 201.
    pub accepted: Vec<String>,
    /// Answers by kind: the status, and for a 503 whether it said `Retry-After`.
    pub by_kind: BTreeMap<String, usize>,
    /// A body of each kind other than 201, to tell why.
    pub samples: BTreeMap<String, String>,
    /// Requests that got no answer at all (the app killed under them).
    pub unanswered: usize,
    pub seconds: f64,
}

impl Answers {
    pub fn count(&self, kind: &str) -> usize {
        self.by_kind.get(kind).copied().unwrap_or_default()
    }

    /// `kind:count` pairs, e.g. `201:120 503+retry-after:4`.
    pub fn summary(&self) -> String {
        self.by_kind
            .iter()
            .map(|(kind, count)| format!("{kind}:{count}"))
            .chain((self.unanswered > 0).then(|| format!("none:{}", self.unanswered)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A stocked product, its customers, and the stand-in provider of one shop.
pub struct FlashSale<'a> {
    shop: &'a Shop,
    stub: &'a HttpStub,
    admin: Client<'a>,
    customers: Vec<Client<'a>>,
    sku: String,
    pub size: SaleSize,
}

impl<'a> FlashSale<'a> {
    /// Stocks `size.units` of a new product and registers the customers (concurrently).
    pub fn prepare(shop: &'a Shop, stub: &'a HttpStub, size: SaleSize) -> FlashSale<'a> {
        let admin = shop.admin();
        let sku = unique_name("FLASH").to_uppercase();
        stocked_product(&admin, &sku, 1999, size.units);
        let customers = std::thread::scope(|scope| {
            let registering: Vec<_> = (0..size.customers())
                .map(|_| scope.spawn(|| shop.customer().client))
                .collect();
            registering
                .into_iter()
                .map(|customer| customer.join().expect("a customer's registration"))
                .collect()
        });
        FlashSale {
            shop,
            stub,
            admin,
            customers,
            sku,
            size,
        }
    }

    /// Places the orders over `size.connections` clients; once a third of them were
    /// answered, `fault` runs on a thread of its own while the sale goes on. A client
    /// that gets no answer waits until the app answers again before its next order, as a
    /// shopper would. Returns the answers and what `fault` returned.
    pub fn run<T: Send>(&self, fault: impl FnOnce() -> T + Send) -> (Answers, T) {
        let next = AtomicUsize::new(0);
        let answered = AtomicUsize::new(0);
        let answers = Mutex::new(Answers::default());
        let started = Instant::now();
        let faulted = std::thread::scope(|scope| {
            let fault = scope.spawn(|| {
                while answered.load(Ordering::Relaxed) < self.size.orders / 3 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                fault()
            });
            for _ in 0..self.size.connections {
                scope.spawn(|| {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= self.size.orders {
                            return;
                        }
                        self.order(n, &answers);
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            fault.join().expect("the fault's thread")
        });
        let mut answers = answers.into_inner().unwrap_or_else(|e| e.into_inner());
        answers.seconds = started.elapsed().as_secs_f64();
        (answers, faulted)
    }

    fn order(&self, n: usize, answers: &Mutex<Answers>) {
        let client = &self.customers[n % self.customers.len()];
        let reply = client
            .request("POST", "/api/v1/orders")
            .json(&order_body(&[(&self.sku, 1)], "tok_visa"))
            .try_send();
        let Ok(reply) = reply else {
            lock(answers).unanswered += 1;
            self.wait_until_answering();
            return;
        };
        let kind = match (reply.status, reply.header("retry-after")) {
            (503, Some(_)) => "503+retry-after".to_owned(),
            (503, None) => "503-without-retry-after".to_owned(),
            (status, _) => status.to_string(),
        };
        let mut answers = lock(answers);
        if reply.status == 201 {
            answers.accepted.push(crate::text(&reply.json(), "id"));
        } else {
            answers
                .samples
                .entry(kind.clone())
                .or_insert_with(|| reply.body.clone());
        }
        *answers.by_kind.entry(kind).or_default() += 1;
    }

    fn wait_until_answering(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while testing::Request::new("GET", &self.shop.url("/health"))
            .try_send()
            .is_err()
        {
            assert!(Instant::now() < deadline, "the app never answered again");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sweeps the outboxes until no delivery is pending anywhere. A delivery claimed by a
    /// dispatcher that died (or retried during an outage) is due again only after its
    /// 30 s lease (or its backoff): once a sweep has sent all that is due, the clock is
    /// moved on for what remains by making it due now in the store — what waiting would
    /// do, as nothing else dispatches by then (the sale is over, sweeps run one at a
    /// time), so no live claim is cut short.
    pub fn settle(&self) -> Recovery {
        let started = Instant::now();
        let mut recovery = Recovery::default();
        loop {
            let swept = self.admin.post("/api/v1/admin/outbox/sweep", &json!({}));
            assert_eq!(swept.status, 200, "the sweep: {}", swept.body);
            recovery.sweeps += 1;
            let pending = self.deliveries("status = 'pending'");
            if recovery.sweeps == 1 {
                recovery.waited_for_the_clock = pending;
            }
            if pending == 0 {
                break;
            }
            assert!(
                recovery.sweeps < 20,
                "{pending} deliveries still pending after {} sweeps",
                recovery.sweeps
            );
            for context in EVENT_CONTEXTS {
                self.shop.sql(
                    context,
                    "UPDATE outbox_deliveries SET next_attempt_at = 0 WHERE status = 'pending'",
                );
            }
        }
        recovery.seconds = started.elapsed().as_secs_f64();
        recovery
    }

    /// Deliveries matching `condition` in every context's outbox.
    fn deliveries(&self, condition: &str) -> usize {
        let counts = self.shop.deliveries_where(condition);
        usize::try_from(counts.iter().map(|(_, count)| count).sum::<i64>()).unwrap_or(0)
    }

    /// The books after the sale: orders, stock, payments and the provider's charges.
    pub fn books(&self, answers: &Answers) -> Books {
        let orders: HashMap<String, (String, i64)> = rows(
            &self
                .shop
                .sql("orders", "SELECT id, status, total FROM orders"),
        )
        .map(|row| (row[0].clone(), (row[1].clone(), number(&row[2]))))
        .collect();
        let settled = |id: &String| {
            orders
                .get(id)
                .is_some_and(|(status, _)| FINAL.contains(&status.as_str()))
        };
        let mut by_status = BTreeMap::<String, usize>::new();
        for (status, _) in orders.values() {
            *by_status.entry(status.clone()).or_default() += 1;
        }
        let paid: HashSet<&String> = orders
            .iter()
            .filter(|(_, (status, _))| ["paid", "shipped", "delivered"].contains(&status.as_str()))
            .map(|(id, _)| id)
            .collect();

        let stock = rows(&self.shop.sql(
            "inventory",
            &format!(
                "SELECT on_hand, reserved FROM stock WHERE sku = '{}'",
                self.sku
            ),
        ))
        .next()
        .expect("the sale's stock row");
        let held = count(&self.shop.sql(
            "inventory",
            "SELECT COUNT(*) FROM reservations WHERE status = 'held'",
        ));

        let mut payments_per_order = HashMap::<String, usize>::new();
        let mut succeeded = 0;
        let mut succeeded_amount = 0;
        let mut succeeded_unpaid = 0;
        for row in rows(
            &self
                .shop
                .sql("payments", "SELECT order_id, status, amount FROM payments"),
        ) {
            *payments_per_order.entry(row[0].clone()).or_default() += 1;
            if row[1] == "succeeded" {
                succeeded += 1;
                succeeded_amount += number(&row[2]);
                succeeded_unpaid += usize::from(!paid.contains(&row[0]));
            }
        }
        let mut keys_per_order = HashMap::<String, HashSet<String>>::new();
        let mut charge_requests = 0;
        for charge in self.stub.received() {
            if charge.path != "/v1/payment_intents" {
                continue;
            }
            charge_requests += 1;
            let order = form_value(&charge.body, "metadata%5Border_id%5D");
            let key = charge.header("idempotency-key").unwrap_or_default();
            keys_per_order
                .entry(order)
                .or_default()
                .insert(key.to_owned());
        }

        Books {
            accepted: answers.accepted.len(),
            accepted_settled: answers.accepted.iter().filter(|id| settled(id)).count(),
            stored: orders.len(),
            stored_unsettled: orders.keys().filter(|id| !settled(id)).count(),
            by_status,
            sold: paid.len(),
            units: self.size.units,
            on_hand: number(&stock[0]),
            reserved: number(&stock[1]),
            held,
            succeeded_payments: succeeded,
            succeeded_unpaid,
            paid_total: paid.iter().map(|id| orders[*id].1).sum(),
            succeeded_amount,
            orders_with_two_payments: payments_per_order.values().filter(|n| **n > 1).count(),
            charged_orders: keys_per_order.len(),
            orders_charged_twice: keys_per_order
                .values()
                .filter(|keys| keys.len() > 1)
                .count(),
            charge_requests,
            pending_deliveries: self.deliveries("status = 'pending'"),
            dead_deliveries: self.deliveries("status = 'dead'"),
        }
    }
}

/// How the sweeps brought the shop back.
#[derive(Debug, Default)]
pub struct Recovery {
    pub sweeps: usize,
    /// Deliveries still pending after the first sweep: claimed by the dead dispatcher (or
    /// backing off), so only the clock made them due again.
    pub waited_for_the_clock: usize,
    pub seconds: f64,
}

/// The state of the shop after a sale, counted from its stores and the provider.
#[derive(Debug)]
pub struct Books {
    /// Orders answered 201, and how many of them reached a final status.
    pub accepted: usize,
    pub accepted_settled: usize,
    /// Orders stored (also those whose answer the fault cut off), and those not final.
    pub stored: usize,
    pub stored_unsettled: usize,
    pub by_status: BTreeMap<String, usize>,
    /// Orders paid (or further), the units for sale, and the stock row afterwards.
    pub sold: usize,
    pub units: i64,
    pub on_hand: i64,
    pub reserved: i64,
    /// Reservations still held by some order.
    pub held: usize,
    pub succeeded_payments: usize,
    /// Succeeded payments whose order is not paid.
    pub succeeded_unpaid: usize,
    pub paid_total: i64,
    pub succeeded_amount: i64,
    pub orders_with_two_payments: usize,
    /// Orders the provider was asked to charge, those asked under two different
    /// Idempotency-Keys (charged twice), and all its charge requests (a retry with the
    /// same key is not a second charge).
    pub charged_orders: usize,
    pub orders_charged_twice: usize,
    pub charge_requests: usize,
    pub pending_deliveries: usize,
    pub dead_deliveries: usize,
}

impl Books {
    /// Accepted orders that never settled.
    pub fn lost(&self) -> usize {
        self.accepted - self.accepted_settled
    }

    pub fn double_charges(&self) -> usize {
        self.orders_charged_twice + self.orders_with_two_payments
    }

    /// The guarantees: nothing accepted is lost, the stock is sold exactly (all of it
    /// when demand exceeds it), nobody is charged twice, and nothing is left in flight.
    pub fn assert_sound(&self) {
        let demand = i64::try_from(self.stored).expect("a count");
        let checks = [
            ("every accepted order settled", self.lost() == 0),
            ("every stored order settled", self.stored_unsettled == 0),
            (
                "the stock sold exactly (all of it when demand exceeds it)",
                i64::try_from(self.sold).ok() == Some(self.units.min(demand))
                    && self.on_hand == self.units - self.units.min(demand),
            ),
            (
                "nothing left reserved",
                self.reserved == 0 && self.held == 0,
            ),
            (
                "no payment failed",
                !self.by_status.contains_key("payment_failed"),
            ),
            (
                "one succeeded payment per paid order, for its total",
                self.succeeded_payments == self.sold
                    && self.succeeded_unpaid == 0
                    && self.succeeded_amount == self.paid_total,
            ),
            ("nobody charged twice", self.double_charges() == 0),
            (
                "the provider charged the paid orders",
                self.charged_orders == self.sold,
            ),
            (
                "nothing in flight or dead",
                self.pending_deliveries == 0 && self.dead_deliveries == 0,
            ),
        ];
        let failed: Vec<_> = checks
            .iter()
            .filter(|(_, holds)| !holds)
            .map(|(what, _)| *what)
            .collect();
        assert!(failed.is_empty(), "broken: {failed:?}\n{self:#?}");
    }

    /// The figures as `key=value` words, which `scripts/faults` collects.
    pub fn figures(&self) -> String {
        format!(
            "accepted={} settled={} lost={} stored={} statuses={} sold={} stock={} \
             on_hand={} reserved={} double_charges={} charge_requests={} \
             pending={} dead={}",
            self.accepted,
            self.accepted_settled,
            self.lost(),
            self.stored,
            self.by_status
                .iter()
                .map(|(status, n)| format!("{status}:{n}"))
                .collect::<Vec<_>>()
                .join(","),
            self.sold,
            self.units,
            self.on_hand,
            self.reserved,
            self.double_charges(),
            self.charge_requests,
            self.pending_deliveries,
            self.dead_deliveries,
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The rows of [`Shop::sql`]'s output, columns split.
fn rows(output: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    output
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split('|').map(str::to_owned).collect())
}

fn number(text: &str) -> i64 {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

fn count(output: &str) -> usize {
    usize::try_from(number(output)).expect("a count")
}

/// The value of `name` in a form-encoded body (`name` as encoded).
fn form_value(body: &str, name: &str) -> String {
    body.split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_default()
        .to_owned()
}
