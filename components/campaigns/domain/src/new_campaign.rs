//! The body of `POST /api/v1/campaigns` and its rules. Times are checked against the
//! moment of the request, so validation takes `now` instead of implementing
//! `kit::json::Validate`.

use contracts::{is_currency_code, normalized_rfc3339};
use kit::FieldError;
use kit::json::FieldErrors;
use serde::Deserialize;

pub const MAX_NAME_CHARS: usize = 200;
/// The catalog's sku limit: a longer sku names no product.
pub const MAX_SKU_CHARS: usize = 64;
pub const MAX_PARTICIPANTS: i64 = 10_000;

/// `POST /api/v1/campaigns`. Numbers are read as `i64` so an out-of-range value is
/// refused by the rules below, with their message, rather than by the decoder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// Trimmed; 1 to 200 characters.
    #[schema(max_length = 200)]
    pub name: String,
    /// The catalog product's sku.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    /// The campaign price in minor units, below `original_price`.
    #[schema(minimum = 1)]
    pub price: i64,
    /// The usual price in minor units.
    pub original_price: i64,
    /// ISO 4217, upper case (`EUR`).
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub min_participants: i64,
    /// At least `min_participants`.
    #[schema(minimum = 1, maximum = 10000)]
    pub max_participants: i64,
    /// RFC 3339; absent means now.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339, after `starts_at` and in the future.
    #[schema(format = DateTime)]
    pub ends_at: String,
}

/// A [`NewCampaign`] that passed every rule: the name trimmed, times in the stored
/// fixed-width UTC form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCampaign {
    pub name: String,
    pub sku: String,
    pub price: i64,
    pub original_price: i64,
    pub currency: String,
    pub min_participants: u32,
    pub max_participants: u32,
    pub starts_at: String,
    pub ends_at: String,
}

fn is_sku(sku: &str) -> bool {
    (1..=MAX_SKU_CHARS).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl NewCampaign {
    /// Every rule, checked at `now` (the stored time form): 422 material naming each
    /// broken field, or the campaign as it will be stored.
    pub fn validate_at(&self, now: &str) -> Result<ValidCampaign, Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim();
        errors.check(
            (1..=MAX_NAME_CHARS).contains(&name.chars().count()),
            "name",
            &format!("must be 1 to {MAX_NAME_CHARS} characters"),
        );
        errors.check(
            is_sku(&self.sku),
            "sku",
            &format!("must be 1 to {MAX_SKU_CHARS} of A-Z, a-z, 0-9, '.', '_' or '-'"),
        );
        errors.check(
            self.price > 0,
            "price",
            "must be a positive amount in minor units",
        );
        errors.check(
            self.original_price > self.price,
            "original_price",
            "must be more than the campaign price",
        );
        errors.check(
            is_currency_code(&self.currency),
            "currency",
            "must be an ISO 4217 code of 3 upper-case letters, such as EUR",
        );
        errors.check(
            (1..=MAX_PARTICIPANTS).contains(&self.min_participants),
            "min_participants",
            &format!("must be from 1 to {MAX_PARTICIPANTS}"),
        );
        errors.check(
            (1..=MAX_PARTICIPANTS).contains(&self.max_participants)
                && self.max_participants >= self.min_participants,
            "max_participants",
            &format!("must be from min_participants to {MAX_PARTICIPANTS}"),
        );
        let starts_at = match &self.starts_at {
            None => Some(now.to_owned()),
            Some(text) => {
                let parsed = normalized_rfc3339(text);
                errors.check(
                    parsed.is_some(),
                    "starts_at",
                    "must be an RFC 3339 time such as 2030-01-31T12:00:00Z",
                );
                parsed
            }
        };
        let ends_at = normalized_rfc3339(&self.ends_at);
        match &ends_at {
            None => errors.push(
                "ends_at",
                "must be an RFC 3339 time such as 2030-01-31T12:00:00Z",
            ),
            Some(ends_at) if ends_at.as_str() <= now => {
                errors.push("ends_at", "must be in the future");
            }
            Some(ends_at) => {
                if let Some(starts_at) = &starts_at {
                    errors.check(ends_at > starts_at, "ends_at", "must be after starts_at");
                }
            }
        }
        errors.into_result()?;
        // Every rule held, so the times parsed and the counts are in 1..=10,000.
        let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(ValidCampaign {
            name: name.to_owned(),
            sku: self.sku.clone(),
            price: self.price,
            original_price: self.original_price,
            currency: self.currency.clone(),
            min_participants: count(self.min_participants),
            max_participants: count(self.max_participants),
            starts_at: starts_at.unwrap_or_default(),
            ends_at: ends_at.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: &str = "2030-01-01T00:00:00.000000Z";

    fn body() -> Value {
        json!({
            "name": " Espresso machine group buy ",
            "sku": "ESPRESSO-1",
            "price": 19_900,
            "original_price": 29_900,
            "currency": "EUR",
            "min_participants": 3,
            "max_participants": 30,
            "ends_at": "2030-01-08T12:00:00+02:00",
        })
    }

    fn check(body: &Value) -> Result<ValidCampaign, Vec<String>> {
        let new: NewCampaign = serde_json::from_value(body.clone()).unwrap();
        new.validate_at(NOW)
            .map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    fn with(change: impl FnOnce(&mut Value)) -> Value {
        let mut body = body();
        change(&mut body);
        body
    }

    #[test]
    fn a_valid_campaign_is_trimmed_and_normalized() {
        let valid = check(&body()).unwrap();
        assert_eq!(valid.name, "Espresso machine group buy");
        assert_eq!(valid.starts_at, NOW, "starts now by default");
        assert_eq!(valid.ends_at, "2030-01-08T10:00:00.000000Z");
        assert_eq!((valid.min_participants, valid.max_participants), (3, 30));

        let later = check(&with(|b| b["starts_at"] = json!("2030-01-02T00:00:00Z"))).unwrap();
        assert_eq!(later.starts_at, "2030-01-02T00:00:00.000000Z");
    }

    #[test]
    fn names_and_skus_have_limits() {
        for name in ["", "   ", &"n".repeat(MAX_NAME_CHARS + 1)] {
            assert_eq!(
                check(&with(|b| b["name"] = json!(name))).unwrap_err(),
                ["name"]
            );
        }
        assert!(check(&with(|b| b["name"] = json!("é".repeat(MAX_NAME_CHARS)))).is_ok());
        for sku in [
            "",
            "has space",
            "ümlaut",
            "a/b",
            &"S".repeat(MAX_SKU_CHARS + 1),
        ] {
            assert_eq!(
                check(&with(|b| b["sku"] = json!(sku))).unwrap_err(),
                ["sku"],
                "{sku}"
            );
        }
        assert!(check(&with(|b| b["sku"] = json!("a.B_c-9"))).is_ok());
    }

    #[test]
    fn the_price_is_positive_and_below_the_original() {
        assert_eq!(
            check(&with(|b| b["price"] = json!(0))).unwrap_err(),
            ["price"]
        );
        assert_eq!(
            check(&with(|b| b["price"] = json!(-5))).unwrap_err(),
            ["price"]
        );
        assert_eq!(
            check(&with(|b| b["original_price"] = json!(19_900))).unwrap_err(),
            ["original_price"]
        );
    }

    #[test]
    fn the_currency_is_three_upper_case_letters() {
        for currency in ["eur", "EU", "EURO", "E1R", ""] {
            assert_eq!(
                check(&with(|b| b["currency"] = json!(currency))).unwrap_err(),
                ["currency"],
                "{currency}"
            );
        }
    }

    #[test]
    fn participants_are_bounded_and_ordered() {
        let counts = |min: i64, max: i64| {
            check(&with(|b| {
                b["min_participants"] = json!(min);
                b["max_participants"] = json!(max);
            }))
        };
        assert!(counts(1, 1).is_ok());
        assert!(counts(10_000, 10_000).is_ok());
        assert_eq!(counts(0, 5).unwrap_err(), ["min_participants"]);
        assert_eq!(counts(5, 4).unwrap_err(), ["max_participants"]);
        assert_eq!(counts(5, 10_001).unwrap_err(), ["max_participants"]);
        assert_eq!(
            counts(-1, 0).unwrap_err(),
            ["min_participants", "max_participants"]
        );
    }

    #[test]
    fn times_are_rfc3339_ordered_and_ending_in_the_future() {
        for (change, field) in [
            (json!({"ends_at": "next week"}), "ends_at"),
            (json!({"ends_at": "2030-01-08"}), "ends_at"),
            (json!({"ends_at": "2029-12-31T23:59:59Z"}), "ends_at"),
            (json!({"ends_at": NOW}), "ends_at"),
            (json!({"starts_at": "soon"}), "starts_at"),
            (
                json!({"starts_at": "2030-02-01T00:00:00Z", "ends_at": "2030-01-15T00:00:00Z"}),
                "ends_at",
            ),
        ] {
            let body = with(|b| {
                for (key, value) in change.as_object().unwrap() {
                    b[key] = value.clone();
                }
            });
            assert_eq!(check(&body).unwrap_err(), [field], "{change}");
        }
    }

    #[test]
    fn the_body_shape_is_strict() {
        let parse = |body: &Value| kit::json::parse::<NewCampaign>(body.to_string().as_bytes());
        assert!(parse(&body()).is_ok());
        let unknown = parse(&with(|b| b["discount"] = json!(10))).unwrap_err();
        assert_eq!(unknown.errors[0].field, "discount");
        let missing = parse(&with(|b| {
            b.as_object_mut().unwrap().remove("ends_at");
        }))
        .unwrap_err();
        assert_eq!(missing.errors[0].field, "ends_at");
        let wrong = parse(&with(|b| b["price"] = json!("cheap"))).unwrap_err();
        assert_eq!(wrong.errors[0].field, "price");
    }

    #[test]
    fn the_documented_limits_are_the_checked_ones() {
        let schema = serde_json::to_value(<NewCampaign as utoipa::PartialSchema>::schema());
        let properties = &schema.unwrap()["properties"];
        assert_eq!(properties["name"]["maxLength"], MAX_NAME_CHARS);
        assert_eq!(
            properties["sku"]["pattern"],
            format!("^[A-Za-z0-9._-]{{1,{MAX_SKU_CHARS}}}$")
        );
        for count in ["min_participants", "max_participants"] {
            assert_eq!(properties[count]["maximum"], MAX_PARTICIPANTS, "{count}");
        }
    }

    #[test]
    fn times_normalize_to_fixed_width_utc() {
        assert_eq!(
            normalized_rfc3339("2030-06-01T08:30:00.5-01:00").as_deref(),
            Some("2030-06-01T09:30:00.500000Z")
        );
        assert_eq!(normalized_rfc3339("2030-06-01 08:30:00"), None);
        assert_eq!(normalized_rfc3339("9999-12-31T23:00:00-05:00"), None);
        assert_eq!(normalized_rfc3339(""), None);
    }
}
