//! Serving under stress: a trapping guest fails only its own request, requests run
//! concurrently, SIGTERM stops the host gracefully (in-flight requests finish, exit 0)
//! within its shutdown timeout, and a client that never finishes its headers is dropped.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{App, manifest, probe_component, send};

fn app() -> App {
    App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_component("probe", "")
    )))
}

#[test]
fn a_trapping_request_gets_500_and_the_host_keeps_serving() {
    let app = app();
    let host = app.start();
    for _ in 0..3 {
        assert_eq!(host.get("/trap").status, 500);
        assert_eq!(host.get_json("/after-the-trap")["component"], "probe");
    }
}

#[test]
fn requests_are_served_concurrently() {
    const REQUESTS: u32 = 32;
    const SLEEP_MS: u32 = 200;
    let app = app();
    let host = app.start();
    host.get_json("/sleep/1"); // warm up: the first instance may take longer

    let url = host.url(&format!("/sleep/{SLEEP_MS}"));
    let started = Instant::now();
    let workers: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || send("GET", &url, None))
        })
        .collect();
    for worker in workers {
        let reply = worker.join().expect("request thread");
        assert_eq!(reply.expect_ok()["slept_ms"], SLEEP_MS);
    }
    let elapsed = started.elapsed();

    // Serially this takes 32 × 200 ms = 6.4 s; overlapping requests finish in about one sleep.
    // The bound is generous for two busy cores but fails whenever requests are serialized.
    let bound = Duration::from_millis(u64::from(8 * SLEEP_MS));
    assert!(
        elapsed < bound,
        "{REQUESTS} concurrent requests sleeping {SLEEP_MS} ms took {elapsed:?} (bound {bound:?})"
    );
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_0() {
    let app = app();
    let host = app.start();
    let addr = host.addr;
    let url = host.url("/sleep/1500");
    let in_flight = std::thread::spawn(move || send("GET", &url, None));
    std::thread::sleep(Duration::from_millis(500));

    let status = host.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
    let reply = in_flight.join().expect("request thread");
    assert_eq!(
        reply.expect_ok()["slept_ms"],
        1500,
        "the request in flight at SIGTERM completes"
    );
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
        "nothing listens after exit"
    );
}

#[test]
fn a_client_that_never_finishes_its_headers_is_dropped_and_others_are_served() {
    let app = app();
    let host = app.start_with_args(&["--header-read-timeout", "1"]);
    let mut slow = TcpStream::connect(host.addr).expect("connect");
    slow.write_all(b"GET /ok HTTP/1.1\r\nhost: slow\r\n")
        .expect("half a request");
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let started = Instant::now();
    let mut rest = Vec::new();
    let closed = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the half-sent request kept its connection for {:?} ({closed:?})",
        started.elapsed()
    );
    send("GET", &host.url("/ok"), None).expect_ok();
}

#[test]
fn sigterm_stops_within_the_shutdown_timeout_whatever_is_in_flight() {
    let app = app();
    let host = app.start_with_args(&["--shutdown-timeout", "1"]);
    let url = host.url("/sleep/20000");
    let _stuck = std::thread::spawn(move || send("GET", &url, None));
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let status = host.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a request sleeping 20 s held the shutdown for {:?}",
        started.elapsed()
    );
}

#[test]
fn sigterm_on_an_idle_host_exits_0() {
    let app = app();
    let host = app.start();
    let started = Instant::now();
    let status = host.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an idle host stops promptly, took {:?}",
        started.elapsed()
    );
}
