//! A token bucket per caller: `burst` tokens, refilled at `per_second`; a request
//! takes one.

use serde::{Deserialize, Serialize};

const DEFAULT_PER_SECOND: f64 = 50.0;
const DEFAULT_BURST: f64 = 100.0;

/// A caller's bucket as stored (JSON): tokens left at `updated_ms` (Unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub tokens: f64,
    pub updated_ms: i64,
}

/// Whether a request may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; a token is back after `retry_after` whole seconds (at least 1).
    Limited {
        retry_after: u64,
    },
}

/// The limit, from the `rate_limit_per_second` and `rate_limit_burst` variables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
}

impl RateLimit {
    /// The limit from the variables' values; absent or empty means the default (50/s,
    /// burst 100). A rate must be a positive number, a burst at least 1.
    /// `None` when `per_second` is `0`: the limit is off (an ingress in front of the app
    /// limits instead), and the edge touches no key-value store for it.
    pub fn from_variables(
        per_second: Option<&str>,
        burst: Option<&str>,
    ) -> Result<Option<Self>, String> {
        if per_second.map(str::trim) == Some("0") {
            return Ok(None);
        }
        Ok(Some(Self {
            per_second: number(per_second, DEFAULT_PER_SECOND, 0.0).ok_or_else(|| {
                format!(
                    "rate_limit_per_second must be a number above 0, not {:?}",
                    per_second.unwrap_or_default()
                )
            })?,
            burst: number(burst, DEFAULT_BURST, 1.0).ok_or_else(|| {
                format!(
                    "rate_limit_burst must be a number of at least 1, not {:?}",
                    burst.unwrap_or_default()
                )
            })?,
        }))
    }

    /// Takes a token from `bucket` (a new caller's is full) at `now_ms`: the bucket to
    /// store, and whether the request passes. A clock that stepped back refills nothing.
    pub fn take(&self, bucket: Option<Bucket>, now_ms: i64) -> (Bucket, Decision) {
        let tokens = match bucket {
            None => self.burst,
            Some(bucket) => {
                let elapsed_ms = now_ms.saturating_sub(bucket.updated_ms).max(0);
                (bucket.tokens + elapsed_ms as f64 / 1000.0 * self.per_second).min(self.burst)
            }
        };
        if tokens >= 1.0 {
            let bucket = Bucket {
                tokens: tokens - 1.0,
                updated_ms: now_ms,
            };
            return (bucket, Decision::Allowed);
        }
        let wait_seconds = ((1.0 - tokens) / self.per_second).ceil();
        let retry_after = if wait_seconds >= 1.0 {
            wait_seconds as u64
        } else {
            1
        };
        let bucket = Bucket {
            tokens,
            updated_ms: now_ms,
        };
        (bucket, Decision::Limited { retry_after })
    }
}

/// A finite `value` above `floor` (`default` when absent or blank); `None` otherwise.
fn number(value: Option<&str>, default: f64, floor: f64) -> Option<f64> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Some(default),
        Some(value) => value
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite() && *number > 0.0 && *number >= floor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_750_000_000_000;

    fn limit(per_second: &str, burst: &str) -> RateLimit {
        RateLimit::from_variables(Some(per_second), Some(burst))
            .unwrap()
            .expect("a limit that is on")
    }

    #[test]
    fn variables_default_and_are_checked() {
        assert_eq!(
            RateLimit::from_variables(None, Some(" ")).unwrap(),
            Some(RateLimit {
                per_second: 50.0,
                burst: 100.0
            })
        );
        assert_eq!(
            RateLimit::from_variables(Some("0"), None).unwrap(),
            None,
            "0 = off"
        );
        assert_eq!(limit("0.5", "3").per_second, 0.5);
        for (rate, burst) in [
            ("0.0001x", "1"),
            ("-1", "1"),
            ("x", "1"),
            ("inf", "1"),
            ("1", "0.5"),
            ("1", "NaN"),
        ] {
            let error = RateLimit::from_variables(Some(rate), Some(burst)).unwrap_err();
            assert!(error.contains("rate_limit_"), "{error}");
        }
    }

    #[test]
    fn a_burst_passes_then_the_next_waits() {
        let limit = limit("2", "3");
        let mut bucket = None;
        for _ in 0..3 {
            let (next, decision) = limit.take(bucket, T0);
            assert_eq!(decision, Decision::Allowed);
            bucket = Some(next);
        }
        let (next, decision) = limit.take(bucket, T0);
        assert_eq!(decision, Decision::Limited { retry_after: 1 });
        // Half a second at 2/s gives one token back.
        let (_, decision) = limit.take(Some(next), T0 + 500);
        assert_eq!(decision, Decision::Allowed);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let slow = limit("0.25", "1");
        let (bucket, decision) = slow.take(None, T0);
        assert_eq!(decision, Decision::Allowed);
        let (bucket, decision) = slow.take(Some(bucket), T0 + 1000);
        // 0.25 tokens back after 1 s; 0.75 more take 3 s.
        assert_eq!(decision, Decision::Limited { retry_after: 3 });
        assert_eq!(bucket.tokens, 0.25);
        let (_, decision) = slow.take(Some(bucket), T0 + 4000);
        assert_eq!(decision, Decision::Allowed);
    }

    #[test]
    fn refill_stops_at_the_burst_and_ignores_a_clock_stepping_back() {
        let limit = limit("10", "2");
        let idle = Bucket {
            tokens: 0.0,
            updated_ms: T0,
        };
        let (bucket, _) = limit.take(Some(idle), T0 + 3_600_000);
        assert_eq!(bucket.tokens, 1.0);
        let (bucket, decision) = limit.take(Some(idle), T0 - 5_000);
        assert_eq!(decision, Decision::Limited { retry_after: 1 });
        assert_eq!(bucket.tokens, 0.0);
    }

    #[test]
    fn buckets_round_trip_as_json() {
        let bucket = Bucket {
            tokens: 1.5,
            updated_ms: T0,
        };
        let json = serde_json::to_string(&bucket).unwrap();
        assert_eq!(json, r#"{"tokens":1.5,"updated_ms":1750000000000}"#);
        assert_eq!(serde_json::from_str::<Bucket>(&json).unwrap(), bucket);
    }
}
