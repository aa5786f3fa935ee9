//! Faults during a flash sale (issue 11): the app killed with SIGKILL mid-sale and
//! restarted on the same state, and PostgreSQL restarted under the load. After the sweeps
//! every accepted order has settled, exactly the stock is sold, nobody is charged twice
//! and nothing is left in flight. Sizes come from `FAULTS_*` (see `SaleSize`);
//! `scripts/faults` runs the size and collects the `FAULTS` lines.
//! Also: orders posted with an `Idempotency-Key` when the app is killed never make a
//! second order when the same request comes again. (Handlers failing then recovering,
//! dead letters replayed and a stalled provider are `stripe.rs`'s tests.)

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use acceptance::faults::{
    Answers, Books, FlashSale, Recovery, SaleSize, env_number, sale_variables, stripe_stub,
};
use acceptance::{Shop, Store, for_both_stores, order_body, stocked_product};
use testing::PostgresCluster;

for_both_stores!(
    a_flash_sale_survives_the_app_killed_mid_sale,
    a_key_cut_off_by_a_kill_never_makes_a_second_order,
);

fn a_flash_sale_survives_the_app_killed_mid_sale(store: Store) {
    let stub = stripe_stub();
    let shop = Shop::start_with(store, &sale_variables(&stub));
    let sale = FlashSale::prepare(&shop, &stub, SaleSize::from_env());
    let (answers, restart) = sale.run(|| {
        shop.kill();
        let killed = Instant::now();
        shop.restart();
        killed.elapsed()
    });
    let recovery = sale.settle();
    let books = sale.books(&answers);
    report(
        "kill-9",
        store,
        &sale,
        &answers,
        &recovery,
        &books,
        &format!("restart_ms={}", restart.as_millis()),
    );
    books.assert_sound();
    // Requests cut off by the kill got no answer; the others were taken, or refused for
    // a busy store (SQLite under this load) with Retry-After.
    assert_taken_or_retry_later(&answers);
}

/// Customers post orders, each with a fresh `Idempotency-Key`, and the app is killed
/// under them: some requests had committed their order and were answering (the answer
/// waits for the saga) when they died. After the restart, and after the five minutes a
/// claim may sit abandoned (moved on in the store, as waiting would), each request comes
/// again with its key: it is replayed, refused as cut off after its change (409), or —
/// when nothing of it had committed — made now. Never twice: every key ends with one
/// order.
fn a_key_cut_off_by_a_kill_never_makes_a_second_order(store: Store) {
    let shop = Shop::start(store);
    stocked_product(&shop.admin(), "KEYED-1", 500, 100_000);
    let customers: Vec<_> = (0..16).map(|_| shop.customer()).collect();
    let body = order_body(&[("KEYED-1", 1)], "tok_visa");
    let post = |customer: &acceptance::Account, key: &str| {
        customer
            .client
            .request("POST", "/api/v1/orders")
            .header("idempotency-key", key)
            .json(&body)
            .try_send()
    };
    let keys: Vec<Mutex<Vec<String>>> = customers.iter().map(|_| Mutex::default()).collect();
    let answered = AtomicUsize::new(0);
    let killed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (customer, sent) in customers.iter().zip(&keys) {
            let (answered, killed, post) = (&answered, &killed, &post);
            scope.spawn(move || {
                while !killed.load(Ordering::SeqCst) {
                    let key = format!("order-{}", testing::unique_name("key"));
                    sent.lock().unwrap().push(key.clone());
                    if post(customer, &key).is_ok() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        acceptance::eventually(
            || "the customers' orders were never answered",
            || (answered.load(Ordering::SeqCst) >= 48).then_some(()),
        );
        shop.kill();
        killed.store(true, Ordering::SeqCst);
    });
    shop.restart();
    shop.sql(
        "orders",
        "UPDATE idempotency_keys SET created_at = created_at - 600000",
    );

    let mut cut_off = 0;
    for (customer, sent) in customers.iter().zip(&keys) {
        let sent = sent.lock().unwrap();
        for key in sent.iter() {
            let again = post(customer, key).expect("the restarted app answers");
            match again.status {
                201 => {}
                409 if again.body.contains("cut off") => cut_off += 1,
                other => panic!("{key} again: {other} {}", again.body),
            }
        }
        let orders = shop.sql(
            "orders",
            &format!(
                "SELECT COUNT(*) FROM orders WHERE customer_id = '{}'",
                customer.id
            ),
        );
        assert_eq!(
            orders.trim(),
            sent.len().to_string(),
            "one order per key for customer {}",
            customer.id
        );
    }
    println!("keys cut off after their order committed: {cut_off}");
}

/// The database stops (`pg_ctl stop -m fast`, sessions terminated) a third into the sale
/// and comes back `FAULTS_PG_DOWN_MS` later (2 s by default), on a cluster of this test's
/// own. Meanwhile orders are refused with 503 and `Retry-After`, never a 500.
#[test]
fn a_postgres_restart_during_a_flash_sale_loses_no_order() {
    let cluster = PostgresCluster::start();
    let stub = stripe_stub();
    let shop = Shop::start_on_postgres_at(&cluster.addr(), &sale_variables(&stub));
    let sale = FlashSale::prepare(&shop, &stub, SaleSize::from_env());
    let down = Duration::from_millis(env_number("FAULTS_PG_DOWN_MS", 2000));
    let (answers, outage) = sale.run(|| {
        let stopping = Instant::now();
        cluster.stop();
        std::thread::sleep(down);
        cluster.start_server();
        stopping.elapsed()
    });
    let recovery = sale.settle();
    let books = sale.books(&answers);
    report(
        "postgres-restart",
        Store::Postgres,
        &sale,
        &answers,
        &recovery,
        &books,
        &format!("outage_ms={}", outage.as_millis()),
    );
    books.assert_sound();
    assert_taken_or_retry_later(&answers);
    assert_eq!(answers.unanswered, 0, "the app itself stayed up");
}

/// Every answer was an order taken (201) or a 503 with `Retry-After`: never a 500.
fn assert_taken_or_retry_later(answers: &Answers) {
    assert_eq!(
        answers.count("201") + answers.count("503+retry-after"),
        answers.by_kind.values().sum::<usize>(),
        "{:?}",
        answers.samples
    );
}

/// One `FAULTS` line of figures for `scripts/faults`.
fn report(
    scenario: &str,
    store: Store,
    sale: &FlashSale,
    answers: &Answers,
    recovery: &Recovery,
    books: &Books,
    fault: &str,
) {
    println!(
        "FAULTS scenario={scenario} store={} orders={} connections={} sale_s={:.1} answers={} {fault} \
         sweeps={} waited_for_the_clock={} recover_ms={} {}",
        format!("{store:?}").to_lowercase(),
        sale.size.orders,
        sale.size.connections,
        answers.seconds,
        answers.summary(),
        recovery.sweeps,
        recovery.waited_for_the_clock,
        (recovery.seconds * 1000.0).round(),
        books.figures(),
    );
}
