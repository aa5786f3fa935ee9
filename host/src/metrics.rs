//! Prometheus metrics of the host, served on the admin listener (`--admin-listen`) at
//! `GET /metrics`: requests by component, route and status, their latency, requests in
//! flight, and the instances made. Without the admin listener nothing is counted: each
//! hook is one relaxed load.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);
static IN_FLIGHT: AtomicI64 = AtomicI64::new(0);
static SERIES: Mutex<Series> = Mutex::new(Series {
    routes: BTreeMap::new(),
    instances: BTreeMap::new(),
});

/// Latency buckets' upper bounds, in seconds (Prometheus' defaults, with 25 and 50 ms).
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Maps by name, so a request finds its series by `&str` and allocates only the first
/// time a component or route is seen.
struct Series {
    /// component → route → its series.
    routes: BTreeMap<String, BTreeMap<String, RouteSeries>>,
    /// component → instances made.
    instances: BTreeMap<String, u64>,
}

#[derive(Default)]
struct RouteSeries {
    /// status → requests.
    statuses: BTreeMap<u16, u64>,
    latency: Histogram,
}

/// The entry of `key` in `map`, made (with an owned key) only when missing.
fn entry<'a, V: Default>(map: &'a mut BTreeMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("just inserted")
}

#[derive(Default)]
struct Histogram {
    /// Observations at most each bound of [`BUCKETS`] (not cumulative).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

pub fn enable() {
    ENABLED.store(true, Relaxed);
}

fn series() -> std::sync::MutexGuard<'static, Series> {
    SERIES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request starts: counted in flight, and timed, until [`InFlight`] is dropped.
pub fn request_started() -> Option<InFlight> {
    ENABLED.load(Relaxed).then(|| {
        IN_FLIGHT.fetch_add(1, Relaxed);
        InFlight {
            started: Instant::now(),
        }
    })
}

pub struct InFlight {
    started: Instant,
}

impl InFlight {
    /// The request was answered: counted by component, route and status.
    pub fn answered(self, component: &str, route: &str, status: u16) {
        record(component, route, status, self.started.elapsed());
    }
}

fn record(component: &str, route: &str, status: u16, took: Duration) {
    let mut series = series();
    let route = entry(entry(&mut series.routes, component), route);
    *route.statuses.entry(status).or_default() += 1;
    route.latency.observe(took.as_secs_f64());
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Relaxed);
    }
}

pub fn instance_made(component: &str) {
    if ENABLED.load(Relaxed) {
        *entry(&mut series().instances, component) += 1;
    }
}

/// A label value escaped for the text format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Every series in Prometheus' text format.
pub fn render() -> String {
    let series = series();
    let mut text = String::new();
    text.push_str(
        "# HELP fusion_host_requests_total HTTP requests served, by component, route and status.\n\
         # TYPE fusion_host_requests_total counter\n",
    );
    let routes = || {
        series.routes.iter().flat_map(|(component, routes)| {
            routes
                .iter()
                .map(move |(route, measured)| (component, route, measured))
        })
    };
    for (component, route, measured) in routes() {
        for (status, count) in &measured.statuses {
            _ = writeln!(
                text,
                "fusion_host_requests_total{{component=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                label(component),
                label(route)
            );
        }
    }
    text.push_str(
        "# HELP fusion_host_request_duration_seconds Time to a request's response head.\n\
         # TYPE fusion_host_request_duration_seconds histogram\n",
    );
    for (component, route, measured) in routes() {
        let histogram = &measured.latency;
        let labels = format!(
            "component=\"{}\",route=\"{}\"",
            label(component),
            label(route)
        );
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
            cumulative += count;
            _ = writeln!(
                text,
                "fusion_host_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
            );
        }
        _ = writeln!(
            text,
            "fusion_host_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
             fusion_host_request_duration_seconds_sum{{{labels}}} {}\n\
             fusion_host_request_duration_seconds_count{{{labels}}} {}",
            histogram.count, histogram.sum, histogram.count
        );
    }
    _ = writeln!(
        text,
        "# HELP fusion_host_requests_in_flight Requests being served.\n\
         # TYPE fusion_host_requests_in_flight gauge\n\
         fusion_host_requests_in_flight {}",
        IN_FLIGHT.load(Relaxed)
    );
    text.push_str(
        "# HELP fusion_host_instances_total Component instances made.\n\
         # TYPE fusion_host_instances_total counter\n",
    );
    for (component, count) in &series.instances {
        _ = writeln!(
            text,
            "fusion_host_instances_total{{component=\"{}\"}} {count}",
            label(component)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_and_timed_in_prometheus_text() {
        enable();
        let request = request_started().expect("counting is on");
        assert!(render().contains("fusion_host_requests_in_flight 1"));
        drop(request);
        record(
            "catalog",
            "/api/v1/products/...",
            200,
            Duration::from_millis(30),
        );
        record(
            "catalog",
            "/api/v1/products/...",
            404,
            Duration::from_secs(60),
        );
        // Timed by its own clock: a quick answer lands in the first buckets.
        request_started()
            .unwrap()
            .answered("catalog", "/api/v1/categories/...", 200);
        instance_made("catalog");
        let text = render();
        for line in [
            "fusion_host_requests_total{component=\"catalog\",route=\"/api/v1/products/...\",status=\"200\"} 1",
            "fusion_host_requests_total{component=\"catalog\",route=\"/api/v1/products/...\",status=\"404\"} 1",
            "fusion_host_request_duration_seconds_bucket{component=\"catalog\",route=\"/api/v1/products/...\",le=\"0.025\"} 0",
            "fusion_host_request_duration_seconds_bucket{component=\"catalog\",route=\"/api/v1/products/...\",le=\"0.05\"} 1",
            "fusion_host_request_duration_seconds_bucket{component=\"catalog\",route=\"/api/v1/products/...\",le=\"30\"} 1",
            "fusion_host_request_duration_seconds_bucket{component=\"catalog\",route=\"/api/v1/products/...\",le=\"+Inf\"} 2",
            "fusion_host_request_duration_seconds_count{component=\"catalog\",route=\"/api/v1/products/...\"} 2",
            "fusion_host_requests_in_flight 0",
            "fusion_host_requests_total{component=\"catalog\",route=\"/api/v1/categories/...\",status=\"200\"} 1",
            "fusion_host_request_duration_seconds_bucket{component=\"catalog\",route=\"/api/v1/categories/...\",le=\"30\"} 1",
            "fusion_host_instances_total{component=\"catalog\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert_eq!(label("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }
}
