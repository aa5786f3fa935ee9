//! CloudEvents 1.0 structured-mode JSON envelope with FusionCommerce's extensions.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The CloudEvents version this envelope implements.
pub const SPEC_VERSION: &str = "1.0";
const JSON_CONTENT_TYPE: &str = "application/json";

/// A payload record that travels as an event.
pub trait Event: Serialize + DeserializeOwned {
    /// The CloudEvents `type`, also the topic, e.g. `order.created`.
    const TYPE: &'static str;
    /// The payload schema's version (`dataversion`); bumped on an incompatible change.
    const DATA_VERSION: &'static str = "1";
    /// The id of the aggregate the event is about (an order, a campaign, a product).
    fn subject(&self) -> &str;
}

/// A CloudEvents 1.0 event in structured JSON mode. Field names are CloudEvents' own
/// (lower-case, no separators), extensions included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Envelope<T> {
    pub specversion: String,
    /// UUIDv7, unique per event; consumers deduplicate on it.
    pub id: String,
    /// The producing component, e.g. `/components/orders-api`.
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The aggregate the event is about ([`Event::subject`]); absent in events written
    /// before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// RFC 3339, UTC.
    pub time: String,
    pub datacontenttype: String,
    /// The tenant whose rows the event is about.
    pub tenant: String,
    /// Shared by every event of one business flow (the first request's id).
    pub correlationid: String,
    /// The id of the event that caused this one; absent for a flow's first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causationid: Option<String>,
    pub dataversion: String,
    /// W3C trace context of the flow (CloudEvents distributed tracing): the writer's
    /// outbox fills it in; absent in events written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    pub data: T,
}

impl<T: Event> Envelope<T> {
    /// The first event of a flow, e.g. caused by an HTTP request whose id becomes the
    /// correlation id.
    pub fn new(
        source: impl Into<String>,
        tenant: impl Into<String>,
        correlation_id: impl Into<String>,
        data: T,
    ) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.into(),
            event_type: T::TYPE.to_owned(),
            subject: Some(data.subject().to_owned()),
            time: now_rfc3339(),
            datacontenttype: JSON_CONTENT_TYPE.to_owned(),
            tenant: tenant.into(),
            correlationid: correlation_id.into(),
            causationid: None,
            dataversion: T::DATA_VERSION.to_owned(),
            traceparent: None,
            tracestate: None,
            data,
        }
    }

    /// An event caused by `cause`: same tenant and flow, `causationid` = the cause's id.
    pub fn caused_by<C>(cause: &Envelope<C>, source: impl Into<String>, data: T) -> Self {
        Self {
            causationid: Some(cause.id.clone()),
            ..Self::new(source, &cause.tenant, &cause.correlationid, data)
        }
    }

    /// Parses a structured-mode event, checking it is CloudEvents 1.0 and of type `T`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        // The attributes first, so an event of another type is named as such rather
        // than reported as a payload with missing fields.
        #[derive(Deserialize)]
        struct Attributes {
            specversion: String,
            #[serde(rename = "type")]
            event_type: String,
        }
        let attributes: Attributes = serde_json::from_slice(bytes).map_err(EnvelopeError::Json)?;
        if attributes.specversion != SPEC_VERSION {
            return Err(EnvelopeError::SpecVersion(attributes.specversion));
        }
        if attributes.event_type != T::TYPE {
            return Err(EnvelopeError::Type {
                expected: T::TYPE,
                found: attributes.event_type,
            });
        }
        serde_json::from_slice(bytes).map_err(EnvelopeError::Json)
    }
}

/// Why bytes are not an event of the expected type.
#[derive(Debug)]
pub enum EnvelopeError {
    Json(serde_json::Error),
    SpecVersion(String),
    Type {
        expected: &'static str,
        found: String,
    },
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "not a valid event envelope: {e}"),
            Self::SpecVersion(v) => write!(f, "unsupported CloudEvents specversion {v:?}"),
            Self::Type { expected, found } => {
                write!(f, "expected an event of type {expected:?}, found {found:?}")
            }
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// The current time as RFC 3339 UTC with microseconds and a `Z`; fixed width, so these
/// strings sort in time order.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// `text` (RFC 3339, any offset) in the form [`now_rfc3339`] writes (UTC, microseconds,
/// `Z`), whose text order is time order; `None` when it is not RFC 3339, or when its UTC
/// year is not 0000–9999 (written with a sign, it would sort out of time order).
pub fn normalized_rfc3339(text: &str) -> Option<String> {
    use chrono::Datelike;
    let time = chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()?
        .with_timezone(&chrono::Utc);
    (0..=9999)
        .contains(&time.year())
        .then(|| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// The Unix millisecond `ms` as [`now_rfc3339`] writes times (so the two compare as text).
pub fn rfc3339_at_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, OrderCreated, OrderLine, PaymentSucceeded, topics};

    fn address() -> Address {
        Address {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            country: "GB".into(),
        }
    }

    fn order_created() -> OrderCreated {
        OrderCreated {
            order_id: "0190a1b2-0000-7000-8000-000000000001".into(),
            order_number: "FC-1001".into(),
            customer_id: "0190a1b2-0000-7000-8000-0000000000aa".into(),
            items: vec![OrderLine {
                sku: "MUG-1".into(),
                name: "Mug".into(),
                quantity: 2,
                unit_price: 1250,
                line_total: 2500,
            }],
            subtotal: 2500,
            tax: 0,
            shipping: 500,
            total: 3000,
            currency: "EUR".into(),
            shipping_address: address(),
            discount: None,
            payment_token: "tok_visa".into(),
            campaign_id: None,
        }
    }

    #[test]
    fn envelope_round_trips_through_json() {
        let envelope = Envelope::new("/components/orders-api", "acme", "req-1", order_created());
        let json = serde_json::to_vec(&envelope).unwrap();
        let back = Envelope::<OrderCreated>::from_json(&json).unwrap();
        assert_eq!(back, envelope);
    }

    #[test]
    fn field_names_are_cloudevents_and_snake_case() {
        let envelope = Envelope::new("/components/orders-api", "acme", "req-1", order_created());
        let value = serde_json::to_value(&envelope).unwrap();
        let object = value.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "correlationid",
                "data",
                "datacontenttype",
                "dataversion",
                "id",
                "source",
                "specversion",
                "subject",
                "tenant",
                "time",
                "type"
            ]
        );
        assert_eq!(value["specversion"], "1.0");
        assert_eq!(value["type"], topics::ORDER_CREATED);
        assert_eq!(
            value["subject"], value["data"]["order_id"],
            "the order it is about"
        );
        assert_eq!(value["datacontenttype"], "application/json");
        assert_eq!(value["data"]["items"][0]["unit_price"], 1250);
        assert_eq!(value["data"]["shipping_address"]["postal_code"], "SW1Y 4JH");
        let id = uuid::Uuid::parse_str(value["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);
        chrono::DateTime::parse_from_rfc3339(value["time"].as_str().unwrap()).unwrap();
    }

    #[test]
    fn caused_event_keeps_the_flow() {
        let order = Envelope::new("/components/orders-api", "acme", "req-1", order_created());
        let paid = Envelope::caused_by(
            &order,
            "/components/payments-on-inventory-reserved",
            PaymentSucceeded {
                payment_id: "p1".into(),
                order_id: order.data.order_id.clone(),
                customer_id: order.data.customer_id.clone(),
                amount: 3000,
                currency: "EUR".into(),
                provider: "test".into(),
                provider_reference: "ch_1".into(),
                shipping_address: address(),
            },
        );
        assert_eq!(paid.tenant, "acme");
        assert_eq!(paid.correlationid, "req-1");
        assert_eq!(paid.causationid.as_deref(), Some(order.id.as_str()));
        assert_ne!(paid.id, order.id);
        let json = serde_json::to_value(&paid).unwrap();
        assert_eq!(json["causationid"], order.id.as_str());
    }

    #[test]
    fn parsing_rejects_another_type_or_version() {
        let envelope = Envelope::new("/c", "acme", "req-1", order_created());
        let json = serde_json::to_vec(&envelope).unwrap();
        let err = Envelope::<PaymentSucceeded>::from_json(&json).unwrap_err();
        assert!(matches!(err, EnvelopeError::Type { .. }), "{err}");

        let mut value = serde_json::to_value(&envelope).unwrap();
        value["specversion"] = "0.3".into();
        let err =
            Envelope::<OrderCreated>::from_json(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(matches!(err, EnvelopeError::SpecVersion(_)), "{err}");
    }

    #[test]
    fn every_event_type_is_distinct() {
        let mut all = topics::ALL.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), topics::ALL.len());
    }
}
