//! Group-buying orders: once a campaign is successful, every participant gets one order
//! of one unit of the campaign's sku at the campaign's price, placed like any order
//! (order number, fraud rules, `order.created` with the campaign id) so the normal saga
//! reserves, charges and ships it. The `campaign.successful` events of one success carry
//! everyone who joined before it, each participant in one of its parts; `campaign.joined`
//! of a campaign already successful carries one latecomer. Each event is handled on its
//! own, and a participant named by two events, or by a redelivery, still gets one order:
//! the seat's unique index decides.

use crate::OrderSettings;
use crate::checkout::NewOrderItem;
use crate::orders::{CampaignSeat, Placement, place_order};
use crate::pricing::{CatalogProduct, Priced, Rates, catalog_products, price};
use contracts::{CampaignJoined, CampaignParticipant, CampaignSuccessful, Envelope};
use kit::db::Db;
use kit::outbound::Outbound;
use kit::outbox::HandlerError;
use kit::variables::Variables;

/// The `source` of the events `orders-on-campaign-successful` causes.
pub const ON_CAMPAIGN_SUCCESSFUL_SOURCE: &str = "/components/orders-on-campaign-successful";
/// The `source` of the events `orders-on-campaign-joined` causes.
pub const ON_CAMPAIGN_JOINED_SOURCE: &str = "/components/orders-on-campaign-joined";

/// What placing a campaign's orders needs from outside the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignTerms {
    pub settings: OrderSettings,
    /// The catalog's name for the campaign's sku, when the catalog answered with it.
    pub product_name: Option<String>,
}

/// The terms for `sku` in `tenant`: the settings and the catalog's name. Bad settings
/// are retried (a fixed deployment lets the event through, at worst by replaying its
/// dead letter); a catalog that does not answer only costs the line its name.
///
/// The handlers ask for them inside their transaction: one short GET to another
/// context's store, made only for events that place orders.
pub async fn campaign_terms(
    variables: &impl Variables,
    outbound: &impl Outbound,
    tenant: &str,
    sku: &str,
    request_id: &str,
) -> Result<CampaignTerms, HandlerError> {
    let settings = OrderSettings::from_variables(variables)
        .await
        .map_err(|error| HandlerError::Retry(format!("orders configuration: {error}")))?;
    let product_name = match catalog_products(outbound, tenant, [sku], request_id).await {
        Ok(products) => products
            .into_iter()
            .find(|product| product.sku == sku && product.active)
            .map(|product| product.name),
        Err(error) => {
            eprintln!("[{request_id}] catalog: {error}; the campaign line is named by its sku");
            None
        }
    };
    Ok(CampaignTerms {
        settings,
        product_name,
    })
}

/// A campaign's offer, as both events carry it.
#[derive(Debug, Clone, Copy)]
struct Offer<'a> {
    campaign_id: &'a str,
    sku: &'a str,
    price: i64,
    currency: &'a str,
}

impl<'a> Offer<'a> {
    fn of(campaign_id: &'a str, sku: &'a str, price: i64, currency: &'a str) -> Self {
        Self {
            campaign_id,
            sku,
            price,
            currency,
        }
    }
}

/// `campaign.successful`: an order for every participant of this part. `terms` is asked
/// once, with the campaign's sku.
pub async fn on_campaign_successful<D: Db>(
    db: &D,
    event: &Envelope<CampaignSuccessful>,
    terms: impl AsyncFnOnce(&str) -> Result<CampaignTerms, HandlerError>,
) -> Result<(), HandlerError> {
    let data = &event.data;
    let offer = Offer::of(&data.campaign_id, &data.sku, data.price, &data.currency);
    place_for(
        db,
        event,
        ON_CAMPAIGN_SUCCESSFUL_SOURCE,
        offer,
        &data.participants,
        terms,
    )
    .await
}

/// `campaign.joined`: when the campaign is already `successful`, the order for this
/// participant at once; while it is `active`, nothing (its `campaign.successful` will
/// carry them). `terms` is asked only when an order is placed.
pub async fn on_campaign_joined<D: Db>(
    db: &D,
    event: &Envelope<CampaignJoined>,
    terms: impl AsyncFnOnce(&str) -> Result<CampaignTerms, HandlerError>,
) -> Result<(), HandlerError> {
    let data = &event.data;
    match data.campaign_status.as_str() {
        "successful" => {}
        "active" => return Ok(()),
        other => {
            eprintln!(
                "{} {}: campaign {} is {other:?}, neither active nor successful; ignored",
                event.event_type, event.id, data.campaign_id
            );
            return Ok(());
        }
    }
    let offer = Offer::of(&data.campaign_id, &data.sku, data.price, &data.currency);
    place_for(
        db,
        event,
        ON_CAMPAIGN_JOINED_SOURCE,
        offer,
        std::slice::from_ref(&data.participant),
        terms,
    )
    .await
}

/// One order per participant who has none for this campaign yet, its `order.created`
/// caused by `event` from `source`, on the `terms` of the offer's sku.
async fn place_for<D: Db, E>(
    db: &D,
    event: &Envelope<E>,
    source: &str,
    offer: Offer<'_>,
    participants: &[CampaignParticipant],
    terms: impl AsyncFnOnce(&str) -> Result<CampaignTerms, HandlerError>,
) -> Result<(), HandlerError> {
    let terms = terms(offer.sku).await?;
    let priced = campaign_priced(
        offer.sku,
        terms.product_name.as_deref(),
        offer.price,
        offer.currency,
        terms.settings.rates,
    )
    .map_err(|reason| HandlerError::Refuse(format!("campaign {}: {reason}", offer.campaign_id)))?;
    for participant in participants {
        let placement = Placement {
            customer_id: &participant.customer_id,
            shipping_address: participant.shipping_address.clone(),
            payment_token: &participant.payment_token,
            priced: priced.clone(),
            seat: Some(CampaignSeat {
                campaign_id: offer.campaign_id,
                participant_id: &participant.participant_id,
            }),
        };
        let placed = place_order(
            db,
            &event.tenant,
            placement,
            &terms.settings.fraud,
            |data| Envelope::caused_by(event, source, data),
        )
        .await?;
        if placed.is_none() {
            eprintln!(
                "{} {}: participant {} of campaign {} already has an order",
                event.event_type, event.id, participant.participant_id, offer.campaign_id
            );
        }
    }
    Ok(())
}

/// One unit of `sku` at the campaign's `price` (never the catalog's), named `name` or,
/// when the catalog did not answer with it, by its sku; tax and shipping as for any
/// order. An amount that cannot be an order is the error.
pub fn campaign_priced(
    sku: &str,
    name: Option<&str>,
    price_each: i64,
    currency: &str,
    rates: Rates,
) -> Result<Priced, String> {
    if price_each < 0 {
        return Err(format!("the campaign price {price_each} is negative"));
    }
    let product = CatalogProduct {
        sku: sku.to_owned(),
        name: name.unwrap_or(sku).to_owned(),
        price: price_each,
        currency: currency.to_owned(),
        active: true,
        category_id: None,
        product_sku: None,
    };
    price(&[NewOrderItem::new(sku, 1)], &[product], rates).map_err(|errors| {
        errors
            .into_iter()
            .map(|error| error.message)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fraud::FraudRules;
    use crate::orders::{Order, approve_order, list_orders};
    use crate::status::Status;
    use crate::test_support::{REQUEST_ID, TENANT, admin, database, outbox, place_in};
    use contracts::Address;
    use futures::executor::block_on;
    use kit::db::NativeSqlite;
    use kit::outbox::apply_once;
    use kit::pagination::PageParams;
    use serde_json::Value;

    const CAMPAIGN: &str = "0190a1b2-0000-7000-8000-00000000c001";

    fn participant(n: u32) -> CampaignParticipant {
        CampaignParticipant {
            participant_id: format!("participant-{n}"),
            customer_id: format!("customer-{n}"),
            shipping_address: Address {
                name: format!("Buyer {n}"),
                line1: "1 Rue de Rivoli".into(),
                city: "Paris".into(),
                postal_code: "75001".into(),
                country: "FR".into(),
            },
            payment_token: "tok_visa".into(),
        }
    }

    fn successful(participants: &[u32]) -> Envelope<CampaignSuccessful> {
        Envelope::new(
            "/components/campaigns",
            TENANT,
            "req-campaign",
            CampaignSuccessful {
                campaign_id: CAMPAIGN.into(),
                name: "Mugs for all".into(),
                sku: "MUG-1".into(),
                price: 900,
                currency: "EUR".into(),
                part: 1,
                parts: 1,
                participants: participants.iter().map(|n| participant(*n)).collect(),
            },
        )
    }

    fn joined(n: u32, campaign_status: &str) -> Envelope<CampaignJoined> {
        Envelope::new(
            "/components/campaigns",
            TENANT,
            "req-join",
            CampaignJoined {
                campaign_id: CAMPAIGN.into(),
                sku: "MUG-1".into(),
                price: 900,
                currency: "EUR".into(),
                participant: participant(n),
                participants: n,
                campaign_status: campaign_status.into(),
            },
        )
    }

    fn terms(fraud: FraudRules) -> CampaignTerms {
        CampaignTerms {
            settings: OrderSettings {
                rates: Rates {
                    tax_rate_bps: 2_000,
                    shipping_fee: 100,
                },
                fraud,
                takes_payments: true,
            },
            product_name: Some("Mug".into()),
        }
    }

    /// Applies the event as `serve_event` does (once per event id), with `terms`.
    fn apply_successful(
        db: &NativeSqlite,
        event: &Envelope<CampaignSuccessful>,
        terms: CampaignTerms,
    ) -> Result<Option<()>, HandlerError> {
        block_on(apply_once(
            db,
            "orders-on-campaign-successful",
            &event.id,
            async |db| on_campaign_successful(db, event, async |_| Ok(terms)).await,
        ))
    }

    fn apply_joined(
        db: &NativeSqlite,
        event: &Envelope<CampaignJoined>,
        terms: CampaignTerms,
    ) -> Result<Option<()>, HandlerError> {
        block_on(apply_once(
            db,
            "orders-on-campaign-joined",
            &event.id,
            async |db| on_campaign_joined(db, event, async |_| Ok(terms)).await,
        ))
    }

    fn all_orders(db: &NativeSqlite) -> Vec<Order> {
        let all = PageParams {
            limit: 100,
            after: None,
        };
        let mut orders = block_on(list_orders(db, admin(), None, &all))
            .unwrap()
            .items;
        orders.reverse();
        orders
    }

    fn created_events(db: &NativeSqlite) -> Vec<Value> {
        outbox(db)
            .into_iter()
            .filter(|(topic, _)| topic == "order.created")
            .map(|(_, envelope)| envelope)
            .collect()
    }

    #[test]
    fn the_campaign_price_is_one_unit_with_tax_and_shipping() {
        let rates = Rates {
            tax_rate_bps: 2_000,
            shipping_fee: 100,
        };
        let priced = campaign_priced("MUG-1", Some("Mug"), 900, "EUR", rates).unwrap();
        assert_eq!(priced.lines.len(), 1);
        let line = &priced.lines[0];
        assert_eq!(
            (line.sku.as_str(), line.name.as_str(), line.quantity),
            ("MUG-1", "Mug", 1)
        );
        assert_eq!((line.unit_price, line.line_total), (900, 900));
        assert_eq!(
            (priced.subtotal, priced.tax, priced.shipping, priced.total),
            (900, 180, 100, 1180)
        );
        assert_eq!(priced.currency, "EUR");
        let unnamed = campaign_priced("MUG-1", None, 900, "EUR", rates).unwrap();
        assert_eq!(
            unnamed.lines[0].name, "MUG-1",
            "the sku when the catalog is silent"
        );
        assert!(campaign_priced("MUG-1", None, -1, "EUR", rates).is_err());
        let huge = Rates {
            tax_rate_bps: 0,
            shipping_fee: i64::MAX,
        };
        assert!(campaign_priced("MUG-1", None, 1, "EUR", huge).is_err());
    }

    #[test]
    fn success_places_one_order_per_participant_at_the_campaign_price() {
        let db = database();
        let event = successful(&[1, 2, 3]);
        apply_successful(&db, &event, terms(FraudRules::default())).unwrap();
        let orders = all_orders(&db);
        assert_eq!(orders.len(), 3);
        for (n, order) in (1..).zip(&orders) {
            assert_eq!(order.status, Status::Pending);
            assert_eq!(order.customer_id, format!("customer-{n}"));
            assert_eq!(order.shipping_address.name, format!("Buyer {n}"));
            assert_eq!(order.campaign_id.as_deref(), Some(CAMPAIGN));
            assert_eq!(order.items.len(), 1);
            assert_eq!(order.items[0].name, "Mug");
            assert_eq!(
                (order.items[0].unit_price, order.items[0].quantity),
                (900, 1)
            );
            assert_eq!(order.total, 1180);
            assert_eq!(order.currency, "EUR");
        }
        let numbers: Vec<&str> = orders.iter().map(|o| o.order_number.as_str()).collect();
        assert_eq!(numbers, ["FC-000001", "FC-000002", "FC-000003"]);

        let events = created_events(&db);
        assert_eq!(events.len(), 3);
        for (envelope, order) in events.iter().zip(&orders) {
            assert_eq!(envelope["source"], ON_CAMPAIGN_SUCCESSFUL_SOURCE);
            assert_eq!(envelope["causationid"], event.id.as_str());
            assert_eq!(envelope["correlationid"], "req-campaign");
            let data = &envelope["data"];
            assert_eq!(data["order_id"], order.id.as_str());
            assert_eq!(data["campaign_id"], CAMPAIGN);
            assert_eq!(data["payment_token"], "tok_visa");
            assert_eq!(data["items"][0]["unit_price"], 900);
            assert_eq!(data["total"], 1180);
        }
        let json = serde_json::to_value(&orders[0]).unwrap();
        assert_eq!(json["campaign_id"], CAMPAIGN);
        assert_eq!(json["review_reasons"], serde_json::json!([]));
    }

    #[test]
    fn each_part_of_a_success_places_its_own_participants_orders() {
        let db = database();
        let mut first = successful(&[1, 2]);
        let mut second = successful(&[3]);
        (first.data.parts, second.data.part, second.data.parts) = (2, 2, 2);
        apply_successful(&db, &second, terms(FraudRules::default())).unwrap();
        apply_successful(&db, &first, terms(FraudRules::default())).unwrap();
        assert_eq!(
            apply_successful(&db, &second, terms(FraudRules::default())).unwrap(),
            None,
            "a redelivered part is a no-op"
        );
        let mut customers: Vec<String> =
            all_orders(&db).into_iter().map(|o| o.customer_id).collect();
        customers.sort_unstable();
        assert_eq!(customers, ["customer-1", "customer-2", "customer-3"]);
        let causes: Vec<Value> = created_events(&db)
            .iter()
            .map(|e| e["causationid"].clone())
            .collect();
        assert_eq!(
            causes,
            [&second.id, &first.id, &first.id].map(|id| Value::from(id.as_str()))
        );
    }

    #[test]
    fn a_join_while_active_places_nothing_and_asks_for_no_terms() {
        let db = database();
        let event = joined(1, "active");
        block_on(apply_once(
            &db,
            "orders-on-campaign-joined",
            &event.id,
            async |db| {
                on_campaign_joined(
                    db,
                    &event,
                    async |_| -> Result<CampaignTerms, HandlerError> {
                        panic!("an active campaign needs no terms")
                    },
                )
                .await
            },
        ))
        .unwrap();
        let failed = joined(2, "failed");
        apply_joined(&db, &failed, terms(FraudRules::default())).unwrap();
        assert!(all_orders(&db).is_empty());
        assert!(outbox(&db).is_empty());
    }

    #[test]
    fn a_join_after_success_places_that_participants_order_at_once() {
        let db = database();
        let event = joined(7, "successful");
        apply_joined(&db, &event, terms(FraudRules::default())).unwrap();
        let orders = all_orders(&db);
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].customer_id, "customer-7");
        assert_eq!(orders[0].campaign_id.as_deref(), Some(CAMPAIGN));
        let events = created_events(&db);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["source"], ON_CAMPAIGN_JOINED_SOURCE);
        assert_eq!(events[0]["data"]["campaign_id"], CAMPAIGN);
    }

    #[test]
    fn each_participant_gets_one_order_across_both_events_and_redelivery() {
        let db = database();
        // The latecomer's join is handled before the success that also lists them.
        apply_joined(&db, &joined(3, "successful"), terms(FraudRules::default())).unwrap();
        let success = successful(&[1, 2, 3]);
        apply_successful(&db, &success, terms(FraudRules::default())).unwrap();
        // Redelivered: the same event id is a no-op.
        assert_eq!(
            apply_successful(&db, &success, terms(FraudRules::default())).unwrap(),
            None
        );
        // The same participants in another event (a replay under a new id).
        apply_successful(&db, &successful(&[1, 2, 3]), terms(FraudRules::default())).unwrap();
        apply_joined(&db, &joined(2, "successful"), terms(FraudRules::default())).unwrap();

        let orders = all_orders(&db);
        let mut customers: Vec<&str> = orders.iter().map(|o| o.customer_id.as_str()).collect();
        customers.sort_unstable();
        assert_eq!(customers, ["customer-1", "customer-2", "customer-3"]);
        assert_eq!(created_events(&db).len(), 3);
        let numbers: Vec<&str> = orders.iter().map(|o| o.order_number.as_str()).collect();
        assert_eq!(
            numbers,
            ["FC-000001", "FC-000002", "FC-000003"],
            "a seat already taken uses up no order number"
        );
        // Another campaign's seats are its own.
        let mut other = successful(&[1]);
        other.data.campaign_id = "another-campaign".into();
        apply_successful(&db, &other, terms(FraudRules::default())).unwrap();
        assert_eq!(all_orders(&db).len(), 4);
    }

    #[test]
    fn a_campaign_order_flagged_by_fraud_waits_in_review() {
        let db = database();
        // Participant 2 has been busy: three earlier orders in the last minutes.
        for _ in 0..3 {
            place_in(&db, TENANT, "customer-2");
        }
        let events_before = created_events(&db).len();
        let strict = FraudRules {
            max_orders: 3,
            ..FraudRules::default()
        };
        apply_successful(&db, &successful(&[1, 2]), terms(strict)).unwrap();
        let orders: Vec<Order> = all_orders(&db)
            .into_iter()
            .filter(|order| order.campaign_id.is_some())
            .collect();
        assert_eq!(orders[0].status, Status::Pending);
        assert_eq!(orders[1].customer_id, "customer-2");
        assert_eq!(orders[1].status, Status::Review);
        assert_eq!(orders[1].review_reasons, ["too_many_recent_orders"]);
        let created = created_events(&db);
        assert_eq!(
            created.len(),
            events_before + 1,
            "only the clean order's event"
        );
        assert_eq!(
            created.last().unwrap()["data"]["order_id"],
            orders[0].id.as_str()
        );

        let approved = block_on(approve_order(&db, admin(), REQUEST_ID, &orders[1].id)).unwrap();
        assert_eq!(approved.status, Status::Pending);
        let created = created_events(&db);
        let data = &created.last().unwrap()["data"];
        assert_eq!(data["order_id"], orders[1].id.as_str());
        assert_eq!(data["campaign_id"], CAMPAIGN);
        assert_eq!(data["payment_token"], "tok_visa");
        assert_eq!(data["total"], 1180);
    }

    #[test]
    fn a_negative_campaign_price_is_refused() {
        let db = database();
        let mut event = successful(&[1]);
        event.data.price = -5;
        let error = apply_successful(&db, &event, terms(FraudRules::default())).unwrap_err();
        assert!(matches!(error, HandlerError::Refuse(_)), "{error:?}");
        assert!(all_orders(&db).is_empty());
    }

    /// The catalog as a stub: `answer` to every request (`None`: it cannot be reached).
    struct Catalog(Option<(u16, &'static str)>);

    impl Outbound for Catalog {
        async fn send(
            &self,
            request: http::Request<Vec<u8>>,
        ) -> Result<kit::outbound::Answer, String> {
            assert!(request.uri().to_string().contains("sku=MUG-1"));
            let (status, body) = self.0.ok_or("connection refused")?;
            Ok(http::Response::builder()
                .status(status)
                .body(body.as_bytes().to_vec())
                .unwrap())
        }
    }

    const MUG: &str = r#"{"items": [{"sku": "MUG-1", "name": "Mug", "price": 900, "currency": "EUR", "active": true}], "next_cursor": null}"#;

    #[test]
    fn terms_come_from_the_variables_and_the_catalog() {
        let variables = std::collections::HashMap::from([("tax_rate_bps", "2000")]);
        let terms = |catalog| {
            block_on(campaign_terms(
                &variables, &catalog, TENANT, "MUG-1", REQUEST_ID,
            ))
            .unwrap()
        };
        let named = terms(Catalog(Some((200, MUG))));
        assert_eq!(named.product_name.as_deref(), Some("Mug"));
        assert_eq!(named.settings.rates.tax_rate_bps, 2_000);
        assert!(
            !named.settings.takes_payments,
            "payment_provider is not set"
        );
        let set = std::collections::HashMap::from([("payment_provider", "stripe")]);
        let settings = block_on(OrderSettings::from_variables(&set)).unwrap();
        assert!(settings.takes_payments);
        // A catalog that fails only costs the line its name.
        assert_eq!(terms(Catalog(Some((503, "")))).product_name, None);
        assert_eq!(terms(Catalog(None)).product_name, None);
    }

    #[test]
    fn bad_settings_are_retried() {
        let variables = std::collections::HashMap::from([("shipping_fee", "-1")]);
        let error = block_on(campaign_terms(
            &variables,
            &Catalog(Some((200, MUG))),
            TENANT,
            "MUG-1",
            REQUEST_ID,
        ))
        .unwrap_err();
        assert!(
            matches!(&error, HandlerError::Retry(reason) if reason.contains("shipping_fee")),
            "{error:?}"
        );
    }
}
