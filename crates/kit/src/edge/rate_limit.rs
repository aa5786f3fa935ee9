//! A limit per caller: `burst` requests in any window of `burst / per_second` seconds
//! (so `per_second` on average, with bursts of up to `burst`), counted with a sliding
//! window over key-value counters: the current window's count, plus the previous
//! window's weighted by how much of it the sliding window still covers.
//!
//! Counters change only by key-value's atomic `increment`, so concurrent requests of one
//! caller are each counted exactly (see `kit::spin::key_value` for why not
//! compare-and-swap). A refused request takes its count back.

const DEFAULT_PER_SECOND: f64 = 50.0;
const DEFAULT_BURST: f64 = 100.0;

/// Whether a request may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; the request would pass after `retry_after` whole seconds (at least 1).
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

/// Where a request falls: its window's number (the counter's key suffix) and how far
/// into that window it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPosition {
    pub window: i64,
    pub elapsed_ms: i64,
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

    /// The window length in milliseconds: the time `burst` requests take at the rate.
    pub fn window_ms(&self) -> i64 {
        ((self.burst / self.per_second) * 1000.0).ceil().max(1.0) as i64
    }

    /// The window `now_ms` (Unix milliseconds) falls in.
    pub fn position(&self, now_ms: i64) -> WindowPosition {
        let window_ms = self.window_ms();
        WindowPosition {
            window: now_ms.div_euclid(window_ms),
            elapsed_ms: now_ms.rem_euclid(window_ms),
        }
    }

    /// Whether a request passes, given the count of the current window including it
    /// (`current`, at least 1) and the previous window's count.
    pub fn decide(&self, position: WindowPosition, previous: i64, current: i64) -> Decision {
        let window_ms = self.window_ms() as f64;
        let previous_weight = 1.0 - position.elapsed_ms as f64 / window_ms;
        let used = previous.max(0) as f64 * previous_weight + current as f64;
        if used <= self.burst {
            return Decision::Allowed;
        }
        // The previous window's share fades linearly until the window ends; after that
        // only this window's own count is left against the next one.
        let over = used - self.burst;
        let fade_ms = if previous > 0 && current as f64 <= self.burst {
            over / previous as f64 * window_ms
        } else {
            window_ms - position.elapsed_ms as f64
        };
        Decision::Limited {
            retry_after: ((fade_ms / 1000.0).ceil() as u64).max(1),
        }
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

    /// Counts requests at the given times the way the edge does, refusing (and taking
    /// back) those over the limit: the decisions.
    fn run(limit: RateLimit, times: &[i64]) -> Vec<Decision> {
        let mut counts = std::collections::HashMap::<i64, i64>::new();
        times
            .iter()
            .map(|now| {
                let position = limit.position(*now);
                let current = *counts
                    .entry(position.window)
                    .and_modify(|count| *count += 1)
                    .or_insert(1);
                let previous = counts.get(&(position.window - 1)).copied().unwrap_or(0);
                let decision = limit.decide(position, previous, current);
                if decision != Decision::Allowed {
                    *counts.get_mut(&position.window).unwrap() -= 1;
                }
                decision
            })
            .collect()
    }

    #[test]
    fn a_burst_passes_then_the_next_waits() {
        // 2/s with a burst of 3: a window of 1.5 s.
        let limit = limit("2", "3");
        assert_eq!(limit.window_ms(), 1500);
        let start = limit.position(T0).window * 1500;
        let decisions = run(limit, &[start, start, start, start]);
        assert_eq!(decisions[..3], [Decision::Allowed; 3]);
        assert_eq!(decisions[3], Decision::Limited { retry_after: 2 });
    }

    #[test]
    fn the_previous_window_fades_out() {
        let limit = limit("2", "3");
        let start = limit.position(T0).window * 1500;
        // Three at the start of a window, then one as the next window starts: the
        // previous three still count in full, so it waits.
        let mut times = vec![start; 3];
        times.push(start + 1500);
        assert_eq!(run(limit, &times)[3], Decision::Limited { retry_after: 1 });
        // Half-way through the next window half of them count: one more passes.
        times[3] = start + 2250;
        assert_eq!(run(limit, &times)[3], Decision::Allowed);
    }

    #[test]
    fn never_more_than_the_burst_in_any_window() {
        let limit = limit("10", "20");
        let start = limit.position(T0).window * limit.window_ms();
        // 400 requests spread over 4 s: at most 20 pass in any 2-second span (within
        // one previous-window share of rounding).
        let times: Vec<i64> = (0..400).map(|n| start + n * 10).collect();
        let decisions = run(limit, &times);
        let allowed: Vec<i64> = times
            .iter()
            .zip(&decisions)
            .filter(|(_, decision)| **decision == Decision::Allowed)
            .map(|(time, _)| *time)
            .collect();
        for (n, first) in allowed.iter().enumerate() {
            let within = allowed[n..]
                .iter()
                .take_while(|time| **time < first + 2000)
                .count();
            assert!(within <= 40, "{within} passed within 2 s from {first}");
        }
        // The average rate holds: about 10 per second over the 4 s.
        assert!((35..=65).contains(&allowed.len()), "{}", allowed.len());
    }

    #[test]
    fn a_clock_stepping_back_never_panics() {
        let limit = limit("1", "1");
        let position = limit.position(-5);
        assert_eq!(position.elapsed_ms, 995);
        assert_eq!(limit.decide(position, 0, 1), Decision::Allowed);
    }
}
