//! The pages in a real browser: headless Chromium (Debian's, which `scripts/test`
//! installs) driven by Playwright's driver library through `tests/browser/journey.mjs`.
//! A customer finds a product, buys it through the storefront and sees it paid; an admin
//! ships it and the customer sees it shipped; a fraud-held order is approved by the admin
//! and the customer sees it paid. Names from the catalog are shown as text, never run.
//! Every step leaves a screenshot in `target/browser-screenshots/` (the test prints where).
//!
//! SQLite only: the pages call the same API whatever the store.

use acceptance::{ADMIN_EMAIL, ADMIN_PASSWORD, Client, Shop, Store, stocked_product, text};
use serde_json::json;

mod sqlite {
    #[test]
    fn a_customer_buys_through_the_storefront_and_an_admin_ships_and_approves_through_the_admin() {
        super::journey(acceptance::Store::Sqlite);
    }
}

fn journey(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    seed_catalog(&admin);

    let workspace = testing::workspace_dir();
    let screenshots = testing::target_dir().join("browser-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    std::fs::create_dir_all(&screenshots).unwrap();

    let install = "run `source scripts/lib.sh && ensure_browser_tests` (scripts/test does)";
    assert!(
        workspace
            .join("tests/browser/node_modules/playwright-core")
            .is_dir(),
        "Playwright's driver is not installed: {install}"
    );
    let chromium = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no chromium on PATH: {install}"));

    let output = std::process::Command::new("node")
        .arg(workspace.join("tests/browser/journey.mjs"))
        .env("CHROMIUM", chromium)
        .env("FUSION_URL", shop.url(""))
        .env("ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SCREENSHOTS", &screenshots)
        .output()
        .expect("run node (Node.js 20 or later)");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    println!("screenshots: {}", screenshots.display());
    assert!(
        output.status.success(),
        "the browser journey failed (see above; screenshots in {})",
        screenshots.display()
    );
}

/// What the journey buys: tea in a category (10% off with the code TEAWEEK), an espresso
/// machine above the fraud rules' 10,000.00 (its order is held for review), a product
/// whose name is markup, and a tee in sizes S (sold out) and L.
fn seed_catalog(admin: &Client) {
    let tea = admin
        .post(
            "/api/v1/categories",
            &json!({ "name": "Tea", "slug": "tea" }),
        )
        .expect_json(201);
    let products = [
        (
            "SENCHA-100",
            1250,
            20,
            json!({
                "name": "Sencha green tea",
                "description": "Steamed green tea from Shizuoka, 100 g.",
                "category_id": text(&tea, "id"),
            }),
        ),
        (
            "ESPRESSO-PRO",
            1_200_000,
            3,
            json!({ "name": "Espresso machine Pro" }),
        ),
        (
            "MARKUP-1",
            100,
            1,
            json!({ "name": "<img src=x onerror=\"window.injected=1\"><script>window.injected=1</script>" }),
        ),
    ];
    for (sku, price, on_hand, details) in products {
        let product = stocked_product(admin, sku, price, on_hand);
        admin
            .patch(
                &format!("/api/v1/products/{}", text(&product, "id")),
                &details,
            )
            .expect_json(200);
    }
    admin
        .post(
            "/api/v1/promotions",
            &json!({
                "name": "Tea week", "code": "TEAWEEK", "percentage": 10,
                "category_ids": [text(&tea, "id")],
            }),
        )
        .expect_json(201);
    admin
        .post(
            "/api/v1/products",
            &json!({
                "sku": "TEE", "name": "Linen tee", "currency": "EUR",
                "options": [{ "name": "size", "values": ["S", "L"] }],
                "variants": [
                    { "sku": "TEE-S", "price": 1500, "options": { "size": "S" } },
                    { "sku": "TEE-L", "price": 1700, "options": { "size": "L" } }
                ]
            }),
        )
        .expect_json(201);
    admin
        .request("PUT", "/api/v1/inventory/TEE-L")
        .json(&json!({ "on_hand": 5 }))
        .send()
        .expect_json(201);
}
