//! Faults during a flash sale (issue 11): the app killed with SIGKILL mid-sale and
//! restarted on the same state, and PostgreSQL restarted under the load. After the sweeps
//! every accepted order has settled, exactly the stock is sold, nobody is charged twice
//! and nothing is left in flight. Sizes come from `FAULTS_*` (see `SaleSize`);
//! `scripts/faults` runs the size and collects the `FAULTS` lines.
//! (Handlers failing then recovering, dead letters replayed and a stalled provider are
//! `stripe.rs`'s tests.)

use std::time::{Duration, Instant};

use acceptance::faults::{
    Answers, Books, FlashSale, Recovery, SaleSize, env_number, sale_variables, stripe_stub,
};
use acceptance::{Shop, Store, for_both_stores};
use testing::PostgresCluster;

for_both_stores!(a_flash_sale_survives_the_app_killed_mid_sale);

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
