//! The app against its own document: Schemathesis (`scripts/test` installs it) reads
//! `/openapi.json` from the running app and sends every operation generated requests,
//! valid and invalid, as an admin, into a shop that holds one of everything (a product,
//! its stock, a paid order with its payment and shipment, a campaign), whose ids it uses
//! for most requests; no answer may be a 5xx, and each must conform to the document (a
//! documented status, its content type, body schema and headers).
//!
//! SQLite only: the answers' shapes do not depend on the store, and the run is long.

use acceptance::{Client, Shop, Store, order_reaching, place_order, stocked_product, text};
use serde_json::{Value, json};

mod sqlite {
    #[test]
    fn generated_requests_get_documented_answers_and_never_a_server_error() {
        super::fuzz(acceptance::Store::Sqlite);
    }
}

/// Examples generated per operation and phase.
const EXAMPLES: &str = "12";

fn fuzz(store: Store) {
    // One client sends everything: the edge's rate limit would answer most of it 429.
    let shop = Shop::start_unthrottled(store);
    let admin = shop.admin();
    let config = tempfile::tempdir().unwrap();
    let config_file = config.path().join("schemathesis.toml");
    std::fs::write(&config_file, seeded_config(&admin)).unwrap();
    let schemathesis = testing::built_artifact(
        "schemathesis/bin/schemathesis",
        "source scripts/lib.sh && ensure_schemathesis",
    );
    let output = std::process::Command::new(schemathesis)
        // Its cache of found failures (`.schemathesis/`) goes with the run's files.
        .current_dir(config.path())
        .arg("--no-color")
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(shop.url("/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
            "--max-examples",
            EXAMPLES,
            // The same cases every run: a failure here is one to reproduce, not chance.
            "--seed",
            "20261207",
            "--generation-deterministic",
            // A new password for the admin, or another role, would revoke the token the
            // run sends (tokens carry the account's version): both are left to
            // tests/tests/accounts.rs.
            "--exclude-operation-id",
            "accounts.changePassword",
            "--exclude-operation-id",
            "accounts.changeRole",
        ])
        .arg("--header")
        .arg(format!("Authorization: Bearer {}", admin.token()))
        .arg("--report-dir")
        .arg(config.path())
        .output()
        .expect("run schemathesis");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "schemathesis found answers that break the document (see above)"
    );
}

/// Seeds the shop and says where its ids go: each path parameter takes a real id in most
/// requests (a generated one in the others), and reads name the shop's tenant.
fn seeded_config(admin: &Client) -> String {
    let sku = "FUZZ-1";
    let product = stocked_product(admin, sku, 1250, 1_000);
    let order = place_order(admin, &[(sku, 1)], "tok_visa");
    let order_id = text(&order, "id");
    order_reaching(admin, &order_id, "paid");
    let first = |path: String| -> Value { admin.get(&path).expect_ok()["items"][0].clone() };
    let payment = first(format!("/api/v1/payments?order_id={order_id}"));
    let shipment = first(format!("/api/v1/shipments?order_id={order_id}"));
    let ends_at = chrono::Utc::now() + chrono::Duration::days(7);
    let campaign = admin
        .post(
            "/api/v1/campaigns",
            &json!({
                "name": "Fuzzed group buy",
                "sku": sku,
                "price": 1000,
                "original_price": 1250,
                "currency": "EUR",
                "min_participants": 2,
                "max_participants": 50,
                "ends_at": ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }),
        )
        .expect_json(201);
    let me = admin.get("/api/v1/users/me").expect_ok();
    let dictionaries = [
        ("products", "^/api/v1/products/", "id", text(&product, "id")),
        ("orders", "^/api/v1/orders/", "id", order_id),
        ("payments", "^/api/v1/payments/", "id", text(&payment, "id")),
        (
            "shipments",
            "^/api/v1/shipments/",
            "id",
            text(&shipment, "id"),
        ),
        (
            "tracking",
            "^/api/v1/tracking/",
            "tracking_number",
            text(&shipment, "tracking_number"),
        ),
        (
            "campaigns",
            "^/api/v1/campaigns/",
            "id",
            text(&campaign, "id"),
        ),
        ("stock", "^/api/v1/inventory/", "sku", sku.to_owned()),
        ("lines", "^/api/v1/cart/items/", "sku", sku.to_owned()),
        ("users", "^/api/v1/users/", "id", text(&me, "id")),
    ];
    let mut config = String::from("[dictionaries]\ntenants = { values = [\"default\"] }\n");
    for (name, _, _, value) in &dictionaries {
        config.push_str(&format!("{name} = {{ values = [{value:?}] }}\n"));
    }
    config.push_str(
        "\n[parameters]\n\"header.x-tenant-id\" = { dictionary = \"tenants\", probability = 0.8 }\n",
    );
    for (name, path, parameter, _) in &dictionaries {
        config.push_str(&format!(
            "\n[[operations]]\ninclude-path-regex = {path:?}\n\
             parameters = {{ \"path.{parameter}\" = {{ dictionary = {name:?}, probability = 0.8 }} }}\n"
        ));
    }
    config
}
