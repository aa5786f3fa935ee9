//! The context's flow on a real (native) SQLite: storing per kind and customer, once per
//! event, the inbox, tenants, and email through a fake outbound world.

use crate::email::{
    DEFAULT_FROM, PostmarkEmail, SEND_RETRY_DELAYS, SERVER_TOKEN_HEADER, postmark_request,
    service_token,
};
use crate::messages::tests::*;
use crate::*;
use contracts::clients::accounts::ACCOUNTS_URL;
use contracts::{Envelope, Event};
use futures::executor::block_on;
use kit::auth::{JwtKey, Role};
use kit::db::{Db, NativeSqlite, migrate};
use kit::outbound::{Answer, Outbound};
use kit::outbox::{HandlerError, apply_once_calling_out};
use kit::pagination::{PageParams, decode_cursor};
use std::cell::{Cell, RefCell};
use std::time::Duration;

const TENANT: &str = "acme";
const NOW: i64 = 1_750_000_000;
const SECRET: &str = "notifications-test-secret";
const EMAIL_API: &str = "http://127.0.0.1:9/email";
const SUBSCRIBER: &str = "notifications-on-test";

fn store() -> NativeSqlite {
    let db = NativeSqlite::open_in_memory().unwrap();
    block_on(migrate(&db, CONTEXT, MIGRATIONS)).unwrap();
    db
}

fn event<E: Event>(tenant: &str, data: E) -> Envelope<E> {
    Envelope::new("/components/test", tenant, "req-1", data)
}

fn settings() -> EmailSettings {
    EmailSettings::from_variables(
        Some(EMAIL_API.into()),
        Some("server-token".into()),
        Some("shop@acme.example".into()),
        Some(SECRET.into()),
    )
    .unwrap()
    .unwrap()
}

/// Accounts with Ada and Bob, and an email API that fails its first `email_failures`
/// posts; it records every request and every wait.
#[derive(Default)]
struct FakeWorld {
    accounts_down: bool,
    email_failures: Cell<usize>,
    requests: RefCell<Vec<http::Request<Vec<u8>>>>,
    sleeps: RefCell<Vec<Duration>>,
}

impl FakeWorld {
    fn failing_emails(failures: usize) -> Self {
        Self {
            email_failures: Cell::new(failures),
            ..Self::default()
        }
    }

    fn posted(&self) -> Vec<serde_json::Value> {
        self.requests
            .borrow()
            .iter()
            .filter(|request| request.method() == http::Method::POST)
            .map(|request| serde_json::from_slice(request.body()).unwrap())
            .collect()
    }
}

impl Outbound for FakeWorld {
    async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Answer, String> {
        let url = request.uri().to_string();
        let reply = if let Some(user) = url.strip_prefix(&format!("{ACCOUNTS_URL}/api/v1/users/")) {
            let bearer = request.headers()[http::header::AUTHORIZATION]
                .to_str()
                .unwrap()
                .strip_prefix("Bearer ")
                .unwrap();
            let claims = JwtKey::new(SECRET).unwrap().verify(bearer, NOW).unwrap();
            assert_eq!(claims.role, Role::Service);
            let email = match user {
                ADA => Some("ada@example.com"),
                BOB => Some("bob@example.com"),
                _ => None,
            };
            match (self.accounts_down, email) {
                (true, _) => answer(503, b"{}".to_vec()),
                (false, Some(email)) => answer(
                    200,
                    serde_json::to_vec(&serde_json::json!({
                        "id": user, "email": email, "name": "N", "role": "customer",
                        "tenant": claims.tenant, "created_at": "t", "updated_at": "t"
                    }))
                    .unwrap(),
                ),
                (false, None) => answer(404, b"{}".to_vec()),
            }
        } else {
            assert_eq!(url, EMAIL_API);
            let failures = self.email_failures.get();
            if failures > 0 {
                self.email_failures.set(failures - 1);
                answer(500, b"{\"ErrorCode\":500}".to_vec())
            } else {
                answer(200, b"{\"ErrorCode\":0}".to_vec())
            }
        };
        self.requests.borrow_mut().push(request);
        Ok(reply)
    }

    async fn pause(&self, delay: Duration) {
        self.sleeps.borrow_mut().push(delay);
    }
}

fn answer(status: u16, body: Vec<u8>) -> Answer {
    http::Response::builder().status(status).body(body).unwrap()
}

/// Applies `event` as a handler does: the email first, then the record, once.
fn handle<E: Notify>(
    db: &NativeSqlite,
    event: &Envelope<E>,
    world: &FakeWorld,
    settings: Option<&EmailSettings>,
) -> Result<Option<()>, HandlerError> {
    handle_as(SUBSCRIBER, db, event, world, settings)
}

fn handle_as<E: Notify>(
    subscriber: &str,
    db: &NativeSqlite,
    event: &Envelope<E>,
    world: &FakeWorld,
    settings: Option<&EmailSettings>,
) -> Result<Option<()>, HandlerError> {
    block_on(apply_once_calling_out(
        db,
        subscriber,
        &event.id,
        async |db| email_new_messages(db, event, world, settings, NOW).await,
        async |db, emailed| record(db, event, emailed).await,
    ))
}

fn inbox(db: &NativeSqlite, tenant: &str, customer: &str) -> Vec<Notification> {
    let page = PageParams {
        limit: 100,
        after: None,
    };
    block_on(list_notifications(db, tenant, customer, &page))
        .unwrap()
        .items
}

fn count(db: &NativeSqlite) -> i64 {
    block_on(db.query("SELECT COUNT(*) FROM notifications", &[])).unwrap()[0]
        .get_i64(0)
        .unwrap()
}

#[test]
fn each_kind_is_stored_for_its_customers_only() {
    let db = store();
    let world = FakeWorld::default();
    let single = [
        (
            handle(&db, &event(TENANT, payment_succeeded(ADA)), &world, None),
            Kind::OrderConfirmed,
        ),
        (
            handle(&db, &event(TENANT, payment_failed()), &world, None),
            Kind::PaymentFailed,
        ),
        (
            handle(&db, &event(TENANT, in_transit()), &world, None),
            Kind::Shipped,
        ),
        (
            handle(&db, &event(TENANT, delivered()), &world, None),
            Kind::Delivered,
        ),
        (
            handle(&db, &event(TENANT, cancelled(None)), &world, None),
            Kind::OrderCancelled,
        ),
        (
            handle(&db, &event(TENANT, refunded()), &world, None),
            Kind::PaymentRefunded,
        ),
        (
            handle(&db, &event(TENANT, return_requested()), &world, None),
            Kind::ReturnRequested,
        ),
        (
            handle(&db, &event(TENANT, return_approved()), &world, None),
            Kind::ReturnApproved,
        ),
        (
            handle(&db, &event(TENANT, return_rejected(None)), &world, None),
            Kind::ReturnRejected,
        ),
        (
            handle(&db, &event(TENANT, return_received()), &world, None),
            Kind::ReturnReceived,
        ),
        (
            handle(&db, &event(TENANT, return_refunded()), &world, None),
            Kind::ReturnRefunded,
        ),
    ];
    for (outcome, kind) in &single {
        assert_eq!(outcome, &Ok(Some(())), "{kind:?}");
    }
    // Ada's eleven, read back kind by kind, none of them Bob's.
    let ada: Vec<Kind> = inbox(&db, TENANT, ADA).iter().map(|n| n.kind).collect();
    let mut expected: Vec<Kind> = single.iter().map(|(_, kind)| *kind).collect();
    expected.reverse();
    assert_eq!(ada, expected, "newest first");
    assert!(inbox(&db, TENANT, BOB).is_empty());

    let success = event(TENANT, campaign_successful());
    let failure = event(TENANT, campaign_failed());
    handle(&db, &success, &world, None).unwrap();
    handle(&db, &failure, &world, None).unwrap();
    for customer in [ADA, BOB] {
        let kinds: Vec<Kind> = inbox(&db, TENANT, customer)
            .iter()
            .take(2)
            .map(|n| n.kind)
            .collect();
        assert_eq!(kinds, [Kind::CampaignFailed, Kind::CampaignSuccessful]);
    }
    let bob = inbox(&db, TENANT, BOB);
    assert_eq!(bob.len(), 2);
    assert_eq!(bob[0].event_id, failure.id);
    assert_eq!(bob[1].event_id, success.id);
    assert_eq!(bob[1].subject, "Group deal \"Mugs for all\" succeeded");
    assert_eq!(count(&db), 11 + 2 + 2);
    assert!(world.requests.borrow().is_empty(), "email is off");
}

#[test]
fn a_refund_for_a_return_is_acknowledged_but_neither_stored_nor_emailed() {
    let db = store();
    let world = FakeWorld::default();
    let refund = event(TENANT, refunded_for_return());
    assert_eq!(
        handle(&db, &refund, &world, Some(&settings())),
        Ok(Some(()))
    );
    assert_eq!(handle(&db, &refund, &world, Some(&settings())), Ok(None));
    assert_eq!(count(&db), 0);
    assert!(world.requests.borrow().is_empty());

    // The return's own event tells Ada, once.
    handle(
        &db,
        &event(TENANT, return_refunded()),
        &world,
        Some(&settings()),
    )
    .unwrap();
    let ada = inbox(&db, TENANT, ADA);
    assert_eq!(ada.len(), 1);
    assert_eq!(ada[0].kind, Kind::ReturnRefunded);
    assert_eq!(ada[0].subject, "Refund of 10.00 EUR for your return");
    assert_eq!(world.posted().len(), 1);
}

#[test]
fn an_event_that_tells_nothing_needs_no_email_settings() {
    use std::collections::HashMap;
    let db = store();
    let world = FakeWorld::default();
    // Email on, but no `jwt_secret` to read addresses with: a message waits for the fix…
    let broken = HashMap::from([("email_api_url", EMAIL_API)]);
    let told = block_on(email(&db, &event(TENANT, refunded()), &broken, &world));
    assert!(matches!(told, Err(HandlerError::Retry(_))), "{told:?}");
    // …while an event without one has nothing to wait for.
    let silent = block_on(email(
        &db,
        &event(TENANT, refunded_for_return()),
        &broken,
        &world,
    ));
    assert_eq!(silent, Ok(()));
    assert!(world.requests.borrow().is_empty());
}

#[test]
fn a_redelivered_event_stores_nothing_new() {
    let db = store();
    let world = FakeWorld::default();
    let paid = event(TENANT, campaign_successful());
    assert_eq!(handle(&db, &paid, &world, Some(&settings())), Ok(Some(())));
    assert_eq!(handle(&db, &paid, &world, Some(&settings())), Ok(None));
    assert_eq!(count(&db), 2);
    assert_eq!(world.posted().len(), 2, "no email twice either");

    // Even past the inbox of applied events (another subscriber id), the table keeps one
    // message per customer and event, and nothing is emailed again.
    let again = handle_as("another-subscriber", &db, &paid, &world, Some(&settings()));
    assert_eq!(again, Ok(Some(())));
    assert_eq!(count(&db), 2);
    assert_eq!(world.posted().len(), 2);
}

#[test]
fn a_message_without_a_customer_is_not_stored() {
    let db = store();
    let mut failed = campaign_failed();
    failed.customer_ids = vec![" ".into(), BOB.into()];
    handle(&db, &event(TENANT, failed), &FakeWorld::default(), None).unwrap();
    assert_eq!(count(&db), 1);
    assert_eq!(inbox(&db, TENANT, BOB).len(), 1);
}

#[test]
fn the_inbox_pages_newest_first() {
    let db = store();
    let world = FakeWorld::default();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let paid = event(TENANT, payment_succeeded(ADA));
        ids.push(paid.id.clone());
        handle(&db, &paid, &world, None).unwrap();
        handle(&db, &event(TENANT, payment_succeeded(BOB)), &world, None).unwrap();
    }
    ids.reverse();

    let mut seen = Vec::new();
    let mut page = PageParams::<Position> {
        limit: 2,
        after: None,
    };
    loop {
        let got = block_on(list_notifications(&db, TENANT, ADA, &page)).unwrap();
        assert!(got.items.len() <= 2);
        seen.extend(got.items.iter().map(|n| n.event_id.clone()));
        match got.next_cursor {
            Some(cursor) => page.after = Some(decode_cursor(&cursor).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "all of Ada's, newest first, each once");

    let all = inbox(&db, TENANT, ADA);
    assert!(
        all.windows(2)
            .all(|w| (&w[0].created_at, &w[0].id) > (&w[1].created_at, &w[1].id))
    );
    let json = serde_json::to_value(&all[0]).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["body", "created_at", "event_id", "id", "kind", "subject"]
    );
    assert_eq!(json["kind"], "order_confirmed");
}

#[test]
fn tenants_never_see_each_other_s_messages() {
    let db = store();
    let world = FakeWorld::default();
    handle(&db, &event(TENANT, payment_succeeded(ADA)), &world, None).unwrap();
    handle(&db, &event("globex", refunded()), &world, None).unwrap();
    let acme: Vec<Kind> = inbox(&db, TENANT, ADA).iter().map(|n| n.kind).collect();
    let globex: Vec<Kind> = inbox(&db, "globex", ADA).iter().map(|n| n.kind).collect();
    assert_eq!(acme, [Kind::OrderConfirmed]);
    assert_eq!(globex, [Kind::PaymentRefunded]);
    assert!(inbox(&db, "initech", ADA).is_empty());
}

#[test]
fn each_message_is_emailed_to_its_customer() {
    let db = store();
    let world = FakeWorld::default();
    handle(&db, &event(TENANT, in_transit()), &world, Some(&settings())).unwrap();

    let requests = world.requests.borrow();
    assert_eq!(requests.len(), 2);
    let lookup = &requests[0];
    assert_eq!(lookup.method(), http::Method::GET);
    assert_eq!(
        lookup.uri().to_string(),
        format!("{ACCOUNTS_URL}/api/v1/users/{ADA}")
    );
    let token = lookup.headers()[http::header::AUTHORIZATION]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let claims = JwtKey::new(SECRET).unwrap().verify(token, NOW).unwrap();
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.role,
            claims.tenant.as_str(),
            claims.exp
        ),
        ("notifications", Role::Service, TENANT, NOW + 60)
    );

    let post = &requests[1];
    assert_eq!(post.method(), http::Method::POST);
    assert_eq!(post.headers()[SERVER_TOKEN_HEADER], "server-token");
    assert_eq!(post.headers()[http::header::ACCEPT], "application/json");
    assert_eq!(
        post.headers()[http::header::CONTENT_TYPE],
        "application/json"
    );
    let stored = &inbox(&db, TENANT, ADA)[0];
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(post.body()).unwrap(),
        serde_json::json!({
            "From": "shop@acme.example",
            "To": "ada@example.com",
            "Subject": "Your order has shipped",
            "TextBody": stored.body,
            "MessageStream": "outbound",
        })
    );
    assert!(stored.body.contains("FusionPost") && stored.body.contains("FP3K7QW9ZC1M4T"));
    assert!(world.sleeps.borrow().is_empty());
}

#[test]
fn every_participant_gets_their_own_email() {
    let db = store();
    let world = FakeWorld::default();
    handle(
        &db,
        &event(TENANT, campaign_failed()),
        &world,
        Some(&settings()),
    )
    .unwrap();
    let to: Vec<serde_json::Value> = world.posted().iter().map(|b| b["To"].clone()).collect();
    assert_eq!(to, ["ada@example.com", "bob@example.com"]);
}

#[test]
fn an_unknown_user_gets_no_email_but_the_message() {
    let db = store();
    let world = FakeWorld::default();
    let stranger = "0190a1b2-0000-7000-8000-0000000000cc";
    let outcome = handle(
        &db,
        &event(TENANT, payment_succeeded(stranger)),
        &world,
        Some(&settings()),
    );
    assert_eq!(outcome, Ok(Some(())));
    assert_eq!(inbox(&db, TENANT, stranger).len(), 1);
    assert!(world.posted().is_empty());
    assert_eq!(world.requests.borrow().len(), 1, "only the lookup");
}

#[test]
fn a_failing_email_api_is_retried_with_backoff() {
    let db = store();
    let world = FakeWorld::failing_emails(2);
    let outcome = handle(
        &db,
        &event(TENANT, payment_failed()),
        &world,
        Some(&settings()),
    );
    assert_eq!(outcome, Ok(Some(())));
    assert_eq!(world.posted().len(), 3);
    assert_eq!(*world.sleeps.borrow(), SEND_RETRY_DELAYS);
    assert_eq!(count(&db), 1);
}

#[test]
fn an_email_api_that_stays_down_retries_the_event_and_stores_nothing() {
    let db = store();
    let world = FakeWorld::failing_emails(3);
    let paid = event(TENANT, payment_succeeded(ADA));
    let outcome = handle(&db, &paid, &world, Some(&settings()));
    let Err(HandlerError::Retry(reason)) = outcome else {
        panic!("expected a retry, got {outcome:?}");
    };
    assert!(
        reason.contains("failed 3 times") && reason.contains("HTTP 500"),
        "{reason}"
    );
    assert_eq!(world.posted().len(), 3);
    assert_eq!(*world.sleeps.borrow(), SEND_RETRY_DELAYS);
    assert_eq!(count(&db), 0, "nothing stored before it is sent");

    // The dispatcher's redelivery, once the API is back, stores and sends it once.
    assert_eq!(handle(&db, &paid, &world, Some(&settings())), Ok(Some(())));
    assert_eq!(count(&db), 1);
    assert_eq!(world.posted().len(), 4);
}

#[test]
fn accounts_unavailable_retries_the_event() {
    let db = store();
    let world = FakeWorld {
        accounts_down: true,
        ..FakeWorld::default()
    };
    let outcome = handle(&db, &event(TENANT, delivered()), &world, Some(&settings()));
    assert!(
        matches!(&outcome, Err(HandlerError::Retry(reason)) if reason.contains("HTTP 503")),
        "{outcome:?}"
    );
    assert_eq!(count(&db), 0);
    assert!(world.posted().is_empty());
}

#[test]
fn email_settings_come_from_the_variables() {
    let off = |url: Option<&str>| {
        EmailSettings::from_variables(url.map(str::to_owned), None, None, None).unwrap()
    };
    assert!(off(None).is_none());
    assert!(off(Some("")).is_none());
    assert!(off(Some("  ")).is_none());

    let no_secret = EmailSettings::from_variables(Some(EMAIL_API.into()), None, None, None);
    assert!(no_secret.unwrap_err().contains("JWT secret"));

    let defaults = EmailSettings::from_variables(
        Some(EMAIL_API.into()),
        None,
        Some(" ".into()),
        Some(SECRET.into()),
    )
    .unwrap()
    .unwrap();
    assert_eq!(defaults.from, DEFAULT_FROM);
    assert_eq!(defaults.api_token, "");
    assert_eq!(settings().from, "shop@acme.example");
}

#[test]
fn the_postmark_request_carries_the_token_and_the_body() {
    let message = Message {
        customer_id: ADA.into(),
        kind: Kind::Delivered,
        subject: "Your order has been delivered".into(),
        body: "Enjoy \"it\"!".into(),
    };
    let email = PostmarkEmail::new("shop@acme.example", "ada@example.com", &message);
    let request = postmark_request(&settings(), &email).unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), EMAIL_API);
    assert_eq!(request.headers()["x-postmark-server-token"], "server-token");
    assert_eq!(
        String::from_utf8_lossy(request.body()),
        r#"{"From":"shop@acme.example","To":"ada@example.com","Subject":"Your order has been delivered","TextBody":"Enjoy \"it\"!","MessageStream":"outbound"}"#
    );
}

#[test]
fn the_retry_schedule_is_short() {
    assert_eq!(
        SEND_RETRY_DELAYS,
        [Duration::from_millis(100), Duration::from_millis(400)]
    );
}

#[test]
fn the_service_token_is_a_short_lived_admin_of_the_tenant() {
    let key = JwtKey::new(SECRET).unwrap();
    let token = service_token(&key, "globex", NOW);
    let claims = key.verify(&token, NOW + 59).unwrap();
    assert_eq!(claims.sub, "notifications");
    assert_eq!(claims.role, Role::Service);
    assert_eq!(claims.tenant, "globex");
    assert!(key.verify(&token, NOW + 60).is_err());
}

#[test]
fn the_variables_turn_email_on() {
    use std::collections::HashMap;
    let configured = |variables: &[(&'static str, &'static str)]| {
        block_on(EmailSettings::configured(&HashMap::from_iter(
            variables.iter().copied(),
        )))
    };
    assert!(configured(&[]).unwrap().is_none());
    assert!(configured(&[("email_api_url", " ")]).unwrap().is_none());
    let on = configured(&[("email_api_url", EMAIL_API), ("jwt_secret", SECRET)])
        .unwrap()
        .unwrap();
    assert_eq!(
        (on.api_url.as_str(), on.from.as_str()),
        (EMAIL_API, DEFAULT_FROM)
    );
    assert!(configured(&[("email_api_url", EMAIL_API)]).is_err());
}
