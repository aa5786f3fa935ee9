//! The fraud rules engine: pure scoring of an order at creation, with thresholds from
//! the `fraud_max_total`, `fraud_max_orders` and `fraud_allowed_countries` variables.
//!
//! DESIGN §4 lists fraud rules among the consumers of `order.created`. They run at
//! creation instead, inside the order's own transaction, because a consumer of
//! `order.created` would be too late: inventory reserves and payments charges in
//! reaction to that event, in parallel, so nothing consuming it could hold the payment
//! back. An order that a rule flags is stored in `review` and its `order.created` is
//! not enqueued at all; holding the event is what keeps the charge (and the
//! reservation) from happening until an admin approves it, which sends that same event.

use std::fmt;

/// The span in which a customer's orders are counted against `max_orders`.
pub const RECENT_ORDERS_MINUTES: i64 = 10;

/// A rule that sends an order to review; its name is what `review_reasons` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FraudRule {
    /// The total is above `fraud_max_total`.
    TotalAboveLimit,
    /// The customer placed more than `fraud_max_orders` orders in the last
    /// [`RECENT_ORDERS_MINUTES`] minutes.
    TooManyRecentOrders,
    /// The shipping country is outside `fraud_allowed_countries`.
    CountryNotAllowed,
}

impl FraudRule {
    pub fn as_str(self) -> &'static str {
        match self {
            FraudRule::TotalAboveLimit => "total_above_limit",
            FraudRule::TooManyRecentOrders => "too_many_recent_orders",
            FraudRule::CountryNotAllowed => "country_not_allowed",
        }
    }
}

impl fmt::Display for FraudRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFacts<'a> {
    /// The order's total in minor units.
    pub total: i64,
    /// The customer's orders in the last [`RECENT_ORDERS_MINUTES`] minutes, this one
    /// included.
    pub recent_orders: i64,
    /// ISO 3166-1 alpha-2 code of the shipping address.
    pub country: &'a str,
}

/// The thresholds. The defaults are DESIGN §3's lenient ones: above 10,000.00, more
/// than 10 orders in 10 minutes, every country allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudRules {
    /// The highest total in minor units that passes.
    pub max_total: i64,
    /// The most orders in [`RECENT_ORDERS_MINUTES`] minutes that pass.
    pub max_orders: i64,
    /// Upper-case country codes that pass; empty: every country.
    pub allowed_countries: Vec<String>,
}

impl Default for FraudRules {
    fn default() -> Self {
        Self {
            max_total: 1_000_000,
            max_orders: 10,
            allowed_countries: Vec::new(),
        }
    }
}

impl FraudRules {
    /// Thresholds from the variables' text; absent or empty means the default. A
    /// threshold that is not a non-negative integer, or a listed country that is not
    /// two letters, is a deployment error, named.
    pub fn from_variables(
        max_total: Option<&str>,
        max_orders: Option<&str>,
        allowed_countries: Option<&str>,
    ) -> Result<Self, String> {
        let defaults = Self::default();
        let threshold =
            |name: &str, value: Option<&str>, default: i64| -> Result<i64, String> {
                match value.map(str::trim).unwrap_or_default() {
                    "" => Ok(default),
                    text => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                        format!("{name} must be a non-negative integer, not {text:?}")
                    }),
                }
            };
        let allowed_countries = allowed_countries
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .map(|code| {
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(code.to_ascii_uppercase())
                } else {
                    Err(format!(
                        "fraud_allowed_countries must list ISO 3166-1 alpha-2 codes \
                         separated by commas, not {code:?}"
                    ))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            max_total: threshold("fraud_max_total", max_total, defaults.max_total)?,
            max_orders: threshold("fraud_max_orders", max_orders, defaults.max_orders)?,
            allowed_countries,
        })
    }

    /// Every rule the order breaks, in a fixed order; empty: it may proceed.
    pub fn review_reasons(&self, facts: &OrderFacts<'_>) -> Vec<FraudRule> {
        let country_allowed = self.allowed_countries.is_empty()
            || self
                .allowed_countries
                .iter()
                .any(|code| code == facts.country);
        [
            (facts.total > self.max_total, FraudRule::TotalAboveLimit),
            (
                facts.recent_orders > self.max_orders,
                FraudRule::TooManyRecentOrders,
            ),
            (!country_allowed, FraudRule::CountryNotAllowed),
        ]
        .into_iter()
        .filter_map(|(fired, rule)| fired.then_some(rule))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FraudRule::*;

    fn facts(total: i64, recent_orders: i64, country: &str) -> OrderFacts<'_> {
        OrderFacts {
            total,
            recent_orders,
            country,
        }
    }

    #[test]
    fn an_ordinary_order_passes_the_defaults() {
        let rules = FraudRules::default();
        assert!(rules.review_reasons(&facts(2_800, 1, "GB")).is_empty());
        assert!(
            rules.review_reasons(&facts(1_000_000, 10, "NZ")).is_empty(),
            "the thresholds themselves pass"
        );
    }

    #[test]
    fn a_total_above_the_limit_fires() {
        let rules = FraudRules::default();
        assert_eq!(
            rules.review_reasons(&facts(1_000_001, 1, "GB")),
            [TotalAboveLimit]
        );
        let strict = FraudRules {
            max_total: 5_000,
            ..FraudRules::default()
        };
        assert!(strict.review_reasons(&facts(5_000, 1, "GB")).is_empty());
        assert_eq!(
            strict.review_reasons(&facts(5_001, 1, "GB")),
            [TotalAboveLimit]
        );
    }

    #[test]
    fn more_recent_orders_than_allowed_fires() {
        let rules = FraudRules::default();
        assert_eq!(
            rules.review_reasons(&facts(100, 11, "GB")),
            [TooManyRecentOrders]
        );
        let none = FraudRules {
            max_orders: 0,
            ..FraudRules::default()
        };
        assert_eq!(
            none.review_reasons(&facts(100, 1, "GB")),
            [TooManyRecentOrders]
        );
    }

    #[test]
    fn countries_outside_the_allow_list_fire_and_an_empty_list_allows_all() {
        let rules = FraudRules {
            allowed_countries: vec!["FR".into(), "DE".into()],
            ..FraudRules::default()
        };
        assert!(rules.review_reasons(&facts(100, 1, "DE")).is_empty());
        assert_eq!(
            rules.review_reasons(&facts(100, 1, "GB")),
            [CountryNotAllowed]
        );
        for country in ["GB", "US", "JP"] {
            assert!(
                FraudRules::default()
                    .review_reasons(&facts(100, 1, country))
                    .is_empty()
            );
        }
    }

    #[test]
    fn every_firing_rule_is_a_reason() {
        let rules = FraudRules {
            max_total: 100,
            max_orders: 1,
            allowed_countries: vec!["FR".into()],
        };
        let reasons = rules.review_reasons(&facts(101, 2, "GB"));
        assert_eq!(
            reasons,
            [TotalAboveLimit, TooManyRecentOrders, CountryNotAllowed]
        );
        let names: Vec<&str> = reasons.iter().map(|rule| rule.as_str()).collect();
        assert_eq!(
            names,
            [
                "total_above_limit",
                "too_many_recent_orders",
                "country_not_allowed"
            ]
        );
        assert_eq!(CountryNotAllowed.to_string(), "country_not_allowed");
    }

    #[test]
    fn thresholds_come_from_variables() {
        assert_eq!(
            FraudRules::from_variables(None, None, None),
            Ok(FraudRules::default())
        );
        assert_eq!(
            FraudRules::from_variables(Some(""), Some(" "), Some("")),
            Ok(FraudRules::default())
        );
        assert_eq!(
            FraudRules::from_variables(Some("5000"), Some(" 2 "), Some("fr, DE,")),
            Ok(FraudRules {
                max_total: 5_000,
                max_orders: 2,
                allowed_countries: vec!["FR".into(), "DE".into()],
            })
        );
        for (total, orders, countries, named) in [
            ("-1", "10", "", "fraud_max_total"),
            ("10.5", "10", "", "fraud_max_total"),
            ("1000", "ten", "", "fraud_max_orders"),
            ("1000", "-3", "", "fraud_max_orders"),
            ("1000", "10", "GB;FR", "fraud_allowed_countries"),
            ("1000", "10", "GBR", "fraud_allowed_countries"),
            ("1000", "10", "G1", "fraud_allowed_countries"),
        ] {
            let error =
                FraudRules::from_variables(Some(total), Some(orders), Some(countries)).unwrap_err();
            assert!(error.contains(named), "{error}");
        }
    }
}
