use super::*;
use crate::join::{MAX_ADDRESS_CHARS, MAX_TOKEN_CHARS, Payment, ShippingAddress};
use crate::new_campaign::{MAX_NAME_CHARS, MAX_SKU_CHARS};
use crate::parts::PARTICIPANTS_PER_EVENT;
use crate::{CONTEXT, EVENT_SOURCE, MIGRATIONS};
use futures::executor::block_on;
use kit::db::{NativeSqlite, migrate};
use serde_json::Value;

const TENANT: &str = "acme";
const CREATED: &str = "2030-01-01T00:00:00.000000Z";
const DURING: &str = "2030-01-03T00:00:00.000000Z";
const ENDS: &str = "2030-01-08T00:00:00.000000Z";
const AFTER: &str = "2030-01-09T00:00:00.000000Z";

fn database() -> NativeSqlite {
    let db = NativeSqlite::open_in_memory().unwrap();
    block_on(migrate(&db, CONTEXT, MIGRATIONS)).unwrap();
    db
}

fn new_campaign(min: i64, max: i64) -> NewCampaign {
    NewCampaign {
        name: "Espresso machine".into(),
        sku: "ESPRESSO-1".into(),
        price: 19_900,
        original_price: 29_900,
        currency: "EUR".into(),
        min_participants: min,
        max_participants: max,
        starts_at: None,
        ends_at: ENDS.into(),
    }
}

fn create_in(db: &NativeSqlite, tenant: &str, new: &NewCampaign) -> Campaign {
    block_on(create_campaign(
        db,
        tenant,
        "vendor-1",
        "req-create",
        new,
        CREATED,
    ))
    .unwrap()
}

fn create(db: &NativeSqlite, min: i64, max: i64) -> Campaign {
    create_in(db, TENANT, &new_campaign(min, max))
}

fn join_request(token: &str) -> JoinRequest {
    JoinRequest {
        shipping_address: ShippingAddress {
            name: " Ada Lovelace ".into(),
            line1: "12 St James's Square".into(),
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            country: "GB".into(),
        },
        payment: Payment {
            token: token.into(),
        },
    }
}

fn join_at(
    db: &NativeSqlite,
    tenant: &str,
    campaign_id: &str,
    customer: &str,
    now: &str,
) -> Result<Joined, CampaignError> {
    block_on(join_campaign(
        db,
        tenant,
        campaign_id,
        customer,
        &format!("req-{customer}"),
        &join_request("tok_visa"),
        now,
    ))
}

fn join(db: &NativeSqlite, campaign_id: &str, customer: &str) -> Result<Joined, CampaignError> {
    join_at(db, TENANT, campaign_id, customer, DURING)
}

fn refusal(outcome: Result<Joined, CampaignError>) -> JoinRefusal {
    match outcome {
        Err(CampaignError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The outbox's events as JSON envelopes, in the order they were enqueued.
fn outbox(db: &NativeSqlite) -> Vec<Value> {
    block_on(db.query("SELECT payload FROM outbox ORDER BY id", &[]))
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(row.get_str(0).unwrap()).unwrap())
        .collect()
}

/// The outbox's events of `event_type` as stored: the bodies their deliveries send.
fn bodies_of(db: &NativeSqlite, event_type: &str) -> Vec<String> {
    block_on(db.query(
        "SELECT payload FROM outbox WHERE topic = $1 ORDER BY id",
        &[event_type.into()],
    ))
    .unwrap()
    .iter()
    .map(|row| row.get_str(0).unwrap().to_owned())
    .collect()
}

fn events_of(db: &NativeSqlite, event_type: &str) -> Vec<Value> {
    outbox(db)
        .into_iter()
        .filter(|event| event["type"] == event_type)
        .collect()
}

fn participant_rows(db: &NativeSqlite) -> i64 {
    block_on(db.query("SELECT COUNT(*) FROM campaign_participants", &[])).unwrap()[0]
        .get_i64(0)
        .unwrap()
}

fn reload(db: &NativeSqlite, id: &str) -> Campaign {
    block_on(get_campaign(db, TENANT, id)).unwrap()
}

fn first_page(limit: u32) -> PageParams<Position> {
    PageParams { limit, after: None }
}

#[test]
fn a_created_campaign_is_active_empty_and_announced() {
    let db = database();
    let campaign = create(&db, 3, 5);
    assert_eq!(campaign.status, CampaignStatus::Active);
    assert_eq!(campaign.participants, 0);
    assert_eq!(campaign.starts_at, CREATED);
    assert_eq!(campaign.ends_at, ENDS);
    assert_eq!(campaign.created_at, CREATED);
    assert_eq!(reload(&db, &campaign.id), campaign);

    let events = outbox(&db);
    assert_eq!(events.len(), 1);
    let created = &events[0];
    assert_eq!(created["type"], "campaign.created");
    assert_eq!(created["source"], EVENT_SOURCE);
    assert_eq!(created["tenant"], TENANT);
    assert_eq!(created["correlationid"], "req-create");
    let data = &created["data"];
    assert_eq!(data["campaign_id"], campaign.id.as_str());
    assert_eq!(data["price"], 19_900);
    assert_eq!(data["original_price"], 29_900);
    assert_eq!(data["min_participants"], 3);
    assert_eq!(data["max_participants"], 5);
    assert_eq!(data["created_by"], "vendor-1");

    let json = serde_json::to_value(&campaign).unwrap();
    for field in [
        "id",
        "name",
        "sku",
        "price",
        "original_price",
        "currency",
        "min_participants",
        "max_participants",
        "participants",
        "starts_at",
        "ends_at",
        "status",
    ] {
        assert!(json.get(field).is_some(), "{field} missing from {json}");
    }
    assert_eq!(json["status"], "active");
}

#[test]
fn an_invalid_campaign_is_refused_without_a_trace() {
    let db = database();
    let mut new = new_campaign(5, 3);
    new.currency = "euro".into();
    let outcome = block_on(create_campaign(&db, TENANT, "v", "r", &new, CREATED));
    let Err(CampaignError::Invalid(errors)) = outcome else {
        panic!("expected Invalid, got {outcome:?}");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["currency", "max_participants"]);
    assert!(outbox(&db).is_empty());
    let listed = block_on(list_campaigns(&db, TENANT, None, &first_page(20))).unwrap();
    assert!(listed.items.is_empty());
}

#[test]
fn joins_reach_success_once_with_every_participant() {
    let db = database();
    let campaign = create(&db, 3, 5);
    let first = join(&db, &campaign.id, "cust-1").unwrap();
    assert_eq!(first.campaign.participants, 1);
    assert_eq!(first.campaign.status, CampaignStatus::Active);
    assert_eq!(
        join(&db, &campaign.id, "cust-2")
            .unwrap()
            .campaign
            .participants,
        2
    );
    assert!(events_of(&db, "campaign.successful").is_empty());

    let third = join(&db, &campaign.id, "cust-3").unwrap();
    assert_eq!(third.campaign.participants, 3);
    assert_eq!(third.campaign.status, CampaignStatus::Successful);
    assert_eq!(third.campaign.updated_at, DURING);
    assert_eq!(reload(&db, &campaign.id), third.campaign);

    let joined = events_of(&db, "campaign.joined");
    assert_eq!(joined.len(), 3);
    let statuses: Vec<_> = joined
        .iter()
        .map(|e| e["data"]["campaign_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "active", "successful"]);
    let data = &joined[0]["data"];
    assert_eq!(data["participants"], 1);
    assert_eq!(data["price"], 19_900);
    assert_eq!(data["sku"], "ESPRESSO-1");
    assert_eq!(
        data["participant"]["participant_id"],
        first.participant_id.as_str()
    );
    assert_eq!(data["participant"]["customer_id"], "cust-1");
    assert_eq!(data["participant"]["payment_token"], "tok_visa");
    assert_eq!(
        data["participant"]["shipping_address"]["name"], "Ada Lovelace",
        "trimmed"
    );
    assert_eq!(joined[0]["correlationid"], "req-cust-1");

    let successful = events_of(&db, "campaign.successful");
    assert_eq!(successful.len(), 1);
    let data = &successful[0]["data"];
    assert_eq!(data["campaign_id"], campaign.id.as_str());
    assert_eq!(data["price"], 19_900);
    assert_eq!(data["currency"], "EUR");
    assert_eq!((&data["part"], &data["parts"]), (&1.into(), &1.into()));
    let customers: Vec<_> = data["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(customers, ["cust-1", "cust-2", "cust-3"]);
    assert_eq!(successful[0]["correlationid"], "req-cust-3");

    let kinds: Vec<_> = outbox(&db)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("campaign.successful"),
        "after the joined event of the join that reached the minimum"
    );
}

#[test]
fn joins_stay_open_after_success_until_full() {
    let db = database();
    let campaign = create(&db, 2, 4);
    for customer in ["cust-1", "cust-2", "cust-3", "cust-4"] {
        join(&db, &campaign.id, customer).unwrap();
    }
    let full = refusal(join(&db, &campaign.id, "cust-5"));
    assert_eq!(
        full,
        JoinRefusal::Full {
            max_participants: 4
        }
    );

    let after = reload(&db, &campaign.id);
    assert_eq!(after.participants, 4);
    assert_eq!(after.status, CampaignStatus::Successful);
    assert_eq!(participant_rows(&db), 4, "the refused join left no row");
    assert_eq!(events_of(&db, "campaign.successful").len(), 1);
    let joined = events_of(&db, "campaign.joined");
    assert_eq!(joined.len(), 4);
    assert_eq!(joined[3]["data"]["campaign_status"], "successful");
    assert_eq!(joined[3]["data"]["participants"], 4);
}

#[test]
fn fifty_joins_for_thirty_places_count_thirty_and_succeed_once() {
    let db = database();
    let campaign = create(&db, 10, 30);
    let outcomes: Vec<_> = (0..50)
        .map(|n| join(&db, &campaign.id, &format!("cust-{n}")))
        .collect();
    let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(accepted, 30);
    assert!(
        outcomes[30..]
            .iter()
            .all(|o| matches!(o, Err(CampaignError::Refused(JoinRefusal::Full { .. }))))
    );
    assert_eq!(reload(&db, &campaign.id).participants, 30);
    assert_eq!(participant_rows(&db), 30);
    let successful = events_of(&db, "campaign.successful");
    assert_eq!(successful.len(), 1);
    assert_eq!(
        successful[0]["data"]["participants"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
}

#[test]
fn a_customer_joins_once() {
    let db = database();
    let campaign = create(&db, 3, 5);
    join(&db, &campaign.id, "cust-1").unwrap();
    assert_eq!(
        refusal(join(&db, &campaign.id, "cust-1")),
        JoinRefusal::AlreadyJoined
    );
    assert_eq!(reload(&db, &campaign.id).participants, 1);
    assert_eq!(participant_rows(&db), 1);
    assert_eq!(events_of(&db, "campaign.joined").len(), 1);
}

#[test]
fn joins_outside_the_campaign_time_are_refused_and_leave_no_row() {
    let db = database();
    let campaign = create(&db, 1, 5);
    let ended = refusal(join_at(&db, TENANT, &campaign.id, "cust-1", ENDS));
    assert_eq!(
        ended,
        JoinRefusal::Ended {
            ends_at: ENDS.into()
        }
    );
    assert_eq!(
        refusal(join_at(&db, TENANT, &campaign.id, "cust-1", AFTER)),
        ended
    );

    let mut later = new_campaign(1, 5);
    later.starts_at = Some("2030-01-05T00:00:00Z".into());
    let later = create_in(&db, TENANT, &later);
    assert_eq!(
        refusal(join(&db, &later.id, "cust-1")),
        JoinRefusal::NotStarted {
            starts_at: "2030-01-05T00:00:00.000000Z".into()
        }
    );
    assert_eq!(participant_rows(&db), 0);
    assert_eq!(reload(&db, &campaign.id).participants, 0);
    assert!(events_of(&db, "campaign.joined").is_empty());
}

#[test]
fn unknown_campaigns_are_not_found() {
    let db = database();
    assert!(matches!(
        block_on(get_campaign(&db, TENANT, "nope")),
        Err(CampaignError::NotFound)
    ));
    assert!(matches!(
        join(&db, "nope", "cust-1"),
        Err(CampaignError::NotFound)
    ));
    assert_eq!(participant_rows(&db), 0, "the participant was rolled back");
}

#[test]
fn the_sweep_fails_ended_campaigns_below_their_minimum_only() {
    let db = database();
    let expired = create(&db, 3, 5);
    join(&db, &expired.id, "cust-1").unwrap();
    join(&db, &expired.id, "cust-2").unwrap();
    let succeeded = create(&db, 1, 5);
    join(&db, &succeeded.id, "cust-1").unwrap();
    let mut open = new_campaign(3, 5);
    open.ends_at = "2030-02-01T00:00:00Z".into();
    let open = create_in(&db, TENANT, &open);
    let elsewhere = create_in(&db, "globex", &new_campaign(2, 5));

    assert_eq!(
        block_on(fail_ended_campaigns(&db, "req-sweep", DURING)).unwrap(),
        0,
        "nothing has ended yet"
    );
    assert_eq!(
        block_on(fail_ended_campaigns(&db, "req-sweep", AFTER)).unwrap(),
        2
    );
    assert_eq!(reload(&db, &expired.id).status, CampaignStatus::Failed);
    assert_eq!(reload(&db, &expired.id).updated_at, AFTER);
    assert_eq!(
        reload(&db, &succeeded.id).status,
        CampaignStatus::Successful
    );
    assert_eq!(reload(&db, &open.id).status, CampaignStatus::Active);
    let theirs = block_on(get_campaign(&db, "globex", &elsewhere.id)).unwrap();
    assert_eq!(theirs.status, CampaignStatus::Failed);

    let failed = events_of(&db, "campaign.failed");
    assert_eq!(failed.len(), 2);
    let ours = failed
        .iter()
        .find(|e| e["data"]["campaign_id"] == expired.id.as_str())
        .unwrap();
    assert_eq!(ours["tenant"], TENANT);
    assert_eq!(ours["correlationid"], "req-sweep");
    assert_eq!(
        ours["data"]["customer_ids"],
        serde_json::json!(["cust-1", "cust-2"])
    );
    assert_eq!(ours["data"]["reason"], "ended with 2 of 3 participants");
    assert_eq!(ours["data"]["sku"], "ESPRESSO-1");
    let other = failed
        .iter()
        .find(|e| e["data"]["campaign_id"] == elsewhere.id.as_str())
        .unwrap();
    assert_eq!(other["tenant"], "globex");
    assert_eq!(
        other["data"]["customer_ids"],
        serde_json::json!([]),
        "a failure with nobody is still announced, in one part"
    );
    assert_eq!(
        (&other["data"]["part"], &other["data"]["parts"]),
        (&1.into(), &1.into())
    );
    assert_eq!(other["data"]["reason"], "ended with 0 of 2 participants");

    assert_eq!(
        block_on(fail_ended_campaigns(&db, "req-sweep-2", AFTER)).unwrap(),
        0,
        "a failed campaign stays failed and is announced once"
    );
    assert_eq!(events_of(&db, "campaign.failed").len(), 2);
    assert_eq!(
        refusal(join_at(&db, TENANT, &expired.id, "cust-9", AFTER)),
        JoinRefusal::Failed
    );
}

#[test]
fn tenants_see_and_join_only_their_own_campaigns() {
    let db = database();
    let ours = create(&db, 1, 5);
    let theirs = create_in(&db, "globex", &new_campaign(1, 5));
    assert!(matches!(
        block_on(get_campaign(&db, "globex", &ours.id)),
        Err(CampaignError::NotFound)
    ));
    assert!(matches!(
        join_at(&db, "globex", &ours.id, "cust-1", DURING),
        Err(CampaignError::NotFound)
    ));
    assert_eq!(reload(&db, &ours.id).participants, 0);
    let listed = block_on(list_campaigns(&db, "globex", None, &first_page(20))).unwrap();
    assert_eq!(listed.items, [theirs]);
    // The same customer id in two tenants is two customers.
    join(&db, &ours.id, "cust-1").unwrap();
    join_at(&db, "globex", &listed.items[0].id, "cust-1", DURING).unwrap();
}

#[test]
fn lists_page_newest_first_and_filter_by_status() {
    let db = database();
    let created: Vec<Campaign> = (0..5).map(|_| create(&db, 1, 5)).collect();
    join(&db, &created[1].id, "cust-1").unwrap();
    join(&db, &created[3].id, "cust-1").unwrap();

    let first = block_on(list_campaigns(&db, TENANT, None, &first_page(2))).unwrap();
    let cursor = first.next_cursor.as_deref().unwrap();
    let second = block_on(list_campaigns(
        &db,
        TENANT,
        None,
        &PageParams {
            limit: 2,
            after: Some(kit::pagination::decode_cursor(cursor).unwrap()),
        },
    ))
    .unwrap();
    let cursor = second.next_cursor.as_deref().unwrap();
    let third = block_on(list_campaigns(
        &db,
        TENANT,
        None,
        &PageParams {
            limit: 2,
            after: Some(kit::pagination::decode_cursor(cursor).unwrap()),
        },
    ))
    .unwrap();
    assert_eq!(third.next_cursor, None);
    let listed: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .chain(&third.items)
        .map(|c| c.id.as_str())
        .collect();
    let newest_first: Vec<_> = created.iter().rev().map(|c| c.id.as_str()).collect();
    assert_eq!(listed, newest_first);

    let successful = block_on(list_campaigns(
        &db,
        TENANT,
        Some(CampaignStatus::Successful),
        &first_page(20),
    ))
    .unwrap();
    let ids: Vec<_> = successful.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, [created[3].id.as_str(), created[1].id.as_str()]);
    let failed = block_on(list_campaigns(
        &db,
        TENANT,
        Some(CampaignStatus::Failed),
        &first_page(20),
    ))
    .unwrap();
    assert!(failed.items.is_empty());
}

/// 2,000 customers (UUIDs, as accounts names them) in one campaign of a tenant and
/// with a request id as long as they go, each joined at the largest sizes a join
/// accepts, every character the one JSON spells longest (`\u0001`: six bytes); the
/// campaign's name and sku as long as they go. The campaign needs `min` participants.
fn two_thousand_at_the_largest_sizes(db: &NativeSqlite, min: i64) -> (String, Vec<String>) {
    let longest = |chars: usize| "\u{1}".repeat(chars);
    let tenant = "t".repeat(64);
    let mut new = new_campaign(min, min);
    new.name = longest(MAX_NAME_CHARS);
    new.sku = "S".repeat(MAX_SKU_CHARS);
    let campaign = create_in(db, &tenant, &new);
    let join = JoinRequest {
        shipping_address: ShippingAddress {
            name: longest(MAX_ADDRESS_CHARS),
            line1: longest(MAX_ADDRESS_CHARS),
            city: longest(MAX_ADDRESS_CHARS),
            postal_code: longest(MAX_ADDRESS_CHARS),
            country: "GB".into(),
        },
        payment: Payment {
            token: longest(MAX_TOKEN_CHARS),
        },
    };
    kit::json::Validate::validate(&join).expect("the largest join is a valid one");
    let request_id = "r".repeat(128);
    let customers: Vec<String> = (0..2_000)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    for customer in &customers {
        block_on(join_campaign(
            db,
            &tenant,
            &campaign.id,
            customer,
            &request_id,
            &join,
            DURING,
        ))
        .unwrap();
    }
    (campaign.id, customers)
}

/// The events of `event_type`: each body below a third of the 1 MiB a delivery may
/// carry, numbered 1 to `parts`, of `parts` at most [`PARTICIPANTS_PER_EVENT`] each;
/// returns their `data`.
fn parts_below_the_body_limit(db: &NativeSqlite, event_type: &str) -> Vec<Value> {
    let bodies = bodies_of(db, event_type);
    let largest = bodies.iter().map(String::len).max().unwrap();
    assert!(
        largest < kit::json::MAX_BODY_BYTES / 3,
        "the largest {event_type} is {largest} bytes"
    );
    let parts = u32::try_from(bodies.len()).unwrap();
    assert_eq!(parts, 2_000_u32.div_ceil(PARTICIPANTS_PER_EVENT as u32));
    bodies
        .iter()
        .zip(1..)
        .map(|(body, part)| {
            let event: Value = serde_json::from_str(body).unwrap();
            assert_eq!(event["dataversion"], "2");
            let data = &event["data"];
            assert_eq!(
                (&data["part"], &data["parts"]),
                (&part.into(), &parts.into())
            );
            data.clone()
        })
        .collect()
}

#[test]
fn a_success_of_2000_at_the_largest_sizes_comes_in_parts_below_the_body_limit() {
    let db = database();
    let (campaign_id, customers) = two_thousand_at_the_largest_sizes(&db, 2_000);
    let parts = parts_below_the_body_limit(&db, "campaign.successful");
    let mut participant_ids = Vec::new();
    let mut named = Vec::new();
    for data in &parts {
        assert_eq!(data["campaign_id"], campaign_id.as_str());
        let participants = data["participants"].as_array().unwrap();
        assert!((1..=PARTICIPANTS_PER_EVENT).contains(&participants.len()));
        for participant in participants {
            participant_ids.push(participant["participant_id"].as_str().unwrap());
            named.push(participant["customer_id"].as_str().unwrap());
        }
    }
    assert_eq!(named, customers, "every participant once, in joining order");
    participant_ids.sort_unstable();
    participant_ids.dedup();
    assert_eq!(participant_ids.len(), 2_000);
}

#[test]
fn a_failure_of_2000_comes_in_parts_below_the_body_limit() {
    let db = database();
    let (campaign_id, customers) = two_thousand_at_the_largest_sizes(&db, 2_001);
    assert_eq!(
        block_on(fail_ended_campaigns(&db, &"r".repeat(128), AFTER)).unwrap(),
        1
    );
    let parts = parts_below_the_body_limit(&db, "campaign.failed");
    let mut named = Vec::new();
    for data in &parts {
        assert_eq!(data["campaign_id"], campaign_id.as_str());
        assert_eq!(data["reason"], "ended with 2000 of 2001 participants");
        let customer_ids = data["customer_ids"].as_array().unwrap();
        assert!((1..=PARTICIPANTS_PER_EVENT).contains(&customer_ids.len()));
        named.extend(customer_ids.iter().map(|id| id.as_str().unwrap()));
    }
    assert_eq!(named, customers, "every customer once, in joining order");
}
