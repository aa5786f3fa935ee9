// The storefront's and the admin's journeys in headless Chromium, run by
// tests/tests/browser.rs against a running app seeded with a catalog (FUSION_URL).
// Pages are driven by what a person sees: roles, labels and button names. Each step
// leaves a screenshot in $SCREENSHOTS; any page error, console error or refused
// Content-Security-Policy fails the run.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const base = process.env.FUSION_URL.replace(/\/$/, "");
const screenshots = process.env.SCREENSHOTS;
const customer = { name: "Ada Lovelace", email: `ada-${Date.now()}@example.com`, password: "correct horse battery" };
const timeout = { timeout: 30_000 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  // This machine's network is closed: no background calls to Google's services.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
let step = 0;

/** A person's browser tab, its errors collected. */
async function person(name, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => problems.push(`${name}: page error: ${error.message}`));
  // Chromium logs every 4xx the pages handle (a 401 before sign-in, say) as "Failed to
  // load resource": those are answers, not errors. A 5xx is one.
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`${name}: console error: ${message.text()}`);
    }
  });
  page.on("response", (response) => {
    if (response.status() >= 500) problems.push(`${name}: ${response.status()} from ${response.url()}`);
  });
  page.on("dialog", (dialog) => dialog.accept());
  return page;
}

async function snap(page, what) {
  step += 1;
  const file = path.join(screenshots, `${String(step).padStart(2, "0")}-${what}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`step ${step}: ${what}`);
}

async function signIn(page, email, password) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  // The keyboard submits the form, as it does for a person without a mouse.
  await page.getByLabel("Password").press("Enter");
}

async function fillAddress(page) {
  await page.getByLabel("Full name").fill(customer.name);
  await page.getByLabel("Address").fill("12 St James Square");
  await page.getByLabel("City").fill("London");
  await page.getByLabel("Postal code").fill("SW1Y 4LB");
  const country = page.getByLabel("Country");
  if ((await country.evaluate((element) => element.tagName)) === "SELECT") await country.selectOption("GB");
  else await country.fill("GB");
  await page.getByLabel("Card").selectOption("tok_visa");
}

/** Puts `quantity` of the product named `name` in the cart, found by searching `query`. */
async function addToCart(page, query, name, quantity) {
  await page.getByLabel("Search").fill(query);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
  await page.getByTestId("stock").filter({ hasText: "In stock" }).waitFor();
  await page.getByLabel("Quantity", { exact: true }).fill(String(quantity));
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText("Added to cart").waitFor();
}

async function checkout(page, code) {
  await page.getByRole("link", { name: "Cart", exact: true }).click();
  await page.getByRole("link", { name: "Checkout" }).or(page.getByRole("button", { name: "Checkout" })).click();
  await fillAddress(page);
  if (code) await page.getByLabel("Promotion code").fill(code);
  await page.getByRole("button", { name: "Place order" }).click();
  await page.getByRole("heading", { level: 1, name: /^Order / }).waitFor();
  return (await page.getByRole("heading", { level: 1 }).textContent()).replace(/^Order /, "").trim();
}

async function statusReaches(page, testId, status) {
  await page.getByTestId(testId).filter({ hasText: new RegExp(`^\\s*${status}\\s*$`) }).waitFor(timeout);
}

/** The admin opens the order numbered `number` from the orders list (filtered by `status`). */
async function openOrder(page, number, status) {
  await page.getByRole("link", { name: "Orders", exact: true }).click();
  await page.getByLabel("Status").selectOption(status);
  await page.getByRole("link", { name: number, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: `Order ${number}` }).waitFor();
}

try {
  // A customer registers, finds the tea, changes the cart and pays.
  const shopper = await person("customer");
  await shopper.goto(`${base}/`);
  await shopper.getByRole("link", { name: "Sencha green tea", exact: true }).waitFor();
  await snap(shopper, "storefront");
  await shopper.getByRole("link", { name: "Register" }).click();
  await shopper.getByLabel("Name").fill(customer.name);
  await shopper.getByLabel("Email").fill(customer.email);
  await shopper.getByLabel("Password").fill(customer.password);
  await shopper.getByRole("button", { name: "Create account" }).click();
  await shopper.getByRole("button", { name: "Sign out" }).waitFor();

  await addToCart(shopper, "sencha", "Sencha green tea", 1);
  await snap(shopper, "product-page");
  await shopper.getByRole("link", { name: "Cart", exact: true }).click();
  await shopper.getByLabel("Quantity of Sencha green tea").fill("3");
  await shopper.getByLabel("Quantity of Sencha green tea").press("Tab");
  await shopper.getByText(/37[.,]50/).first().waitFor();
  await snap(shopper, "cart");
  // The seeded coupon (10% off tea), typed in lower case: the order shows its line.
  const paidNumber = await checkout(shopper, "teaweek");
  await shopper.getByRole("row", { name: /Tea week \(TEAWEEK\).*3[.,]75/ }).waitFor();
  await statusReaches(shopper, "order-status", "paid");
  await snap(shopper, "order-paid");

  // The admin ships it.
  const admin = await person("admin");
  await admin.goto(`${base}/admin`);
  await signIn(admin, process.env.ADMIN_EMAIL, process.env.ADMIN_PASSWORD);
  await admin.getByRole("button", { name: "Sign out" }).waitFor();
  await snap(admin, "admin-dashboard");
  await openOrder(admin, paidNumber, "paid");
  await snap(admin, "admin-order");
  await admin.getByRole("link", { name: /^Shipment / }).click();
  await admin.getByLabel("New status").selectOption("in_transit");
  await admin.getByRole("button", { name: "Update status" }).click();
  await statusReaches(admin, "shipment-status", "in transit");
  await snap(admin, "admin-shipment-in-transit");

  // The customer's order page, still open, sees it shipped.
  await statusReaches(shopper, "order-status", "shipped");
  await snap(shopper, "order-shipped");

  // Delivered, the customer returns one tin; the admin approves the return and receives
  // the goods, and the customer's order shows the return refunded.
  await admin.getByLabel("New status").selectOption("delivered");
  await admin.getByRole("button", { name: "Update status" }).click();
  await statusReaches(admin, "shipment-status", "delivered");
  await shopper.reload();
  await statusReaches(shopper, "order-status", "delivered");
  await shopper.getByLabel("Return how many of Sencha green tea").fill("1");
  await shopper.getByLabel("Why (optional)").fill("Too much tea");
  await shopper.getByRole("button", { name: "Ask for a return" }).click();
  await shopper.getByText("Return asked for").waitFor();
  await admin.getByRole("link", { name: "Returns", exact: true }).click();
  await admin.getByRole("button", { name: "Approve" }).click();
  await admin.getByRole("button", { name: "Receive" }).click();
  await admin.getByText("Goods received").waitFor();
  await snap(admin, "admin-returns");
  // The coupon shows its one use; the admin switches it off.
  await admin.getByRole("link", { name: "Promotions", exact: true }).click();
  const teaWeek = admin.getByRole("row", { name: /Tea week/ });
  await teaWeek.getByRole("cell", { name: "1", exact: true }).waitFor();
  await teaWeek.getByRole("button", { name: "Switch off" }).click();
  await admin.getByText("Tea week is off").waitFor();
  await admin.getByLabel("Name", { exact: true }).fill("Tee days");
  await admin.getByLabel("Takes off").selectOption("amount");
  await admin.getByLabel("Percent or amount").fill("2.50");
  await admin.getByLabel("SKUs").fill("TEE");
  await admin.getByRole("button", { name: "Create promotion" }).click();
  await admin.getByRole("row", { name: /Tee days.*2[.,]50 off.*TEE/ }).waitFor();
  await snap(admin, "admin-promotions");
  for (let tries = 0; ; tries++) {
    await shopper.reload();
    await shopper.getByTestId("returns").waitFor();
    const returns = await shopper.getByTestId("returns").textContent();
    if (/refunded/.test(returns)) break;
    assert.ok(tries < 40, `the return was never refunded: ${returns}`);
    await shopper.waitForTimeout(250);
  }
  await snap(shopper, "return-refunded");

  // An order above the fraud rules' threshold is held; the admin approves it.
  await addToCart(shopper, "espresso", "Espresso machine Pro", 1);
  const heldNumber = await checkout(shopper);
  await statusReaches(shopper, "order-status", "review");
  await snap(shopper, "order-held");
  await openOrder(admin, heldNumber, "review");
  await admin.getByRole("button", { name: "Approve" }).click();
  await statusReaches(admin, "order-status", "(reserved|paid)");
  await snap(admin, "admin-approved");
  await statusReaches(shopper, "order-status", "paid");
  await snap(shopper, "held-order-paid");

  // The admin sees the tee's variants, each SKU with its price and its stock.
  await admin.getByRole("link", { name: "Products", exact: true }).click();
  await admin.getByRole("link", { name: "Linen tee", exact: true }).click();
  await admin.getByRole("heading", { level: 2, name: "Variants" }).waitFor();
  await admin.getByRole("cell", { name: "TEE-L", exact: true }).waitFor();
  await snap(admin, "admin-variants");

  // The customer's own lists.
  await shopper.getByRole("link", { name: "My orders" }).click();
  await shopper.getByRole("link", { name: heldNumber, exact: true }).waitFor();
  await shopper.getByRole("link", { name: "Notifications" }).click();
  await shopper.getByRole("heading", { level: 1 }).waitFor();
  await snap(shopper, "notifications");

  // A tee in sizes: the first is sold out; picking L shows its price and stock, and the
  // cart holds that variant.
  await shopper.getByLabel("Search").fill("linen");
  await shopper.getByRole("button", { name: "Search" }).click();
  await shopper.getByText(/From \D*15[.,]00/).first().waitFor();
  await shopper.getByRole("link", { name: "Linen tee", exact: true }).click();
  await shopper.getByTestId("stock").filter({ hasText: "Out of stock" }).waitFor();
  await shopper.getByLabel("size", { exact: true }).selectOption("L");
  await shopper.getByTestId("stock").filter({ hasText: "In stock" }).waitFor();
  await shopper.getByText(/17[.,]00/).first().waitFor();
  await snap(shopper, "variant-picked");
  await shopper.getByRole("button", { name: "Add to cart" }).click();
  await shopper.getByText("Added to cart").waitFor();
  await shopper.getByRole("link", { name: "Cart", exact: true }).click();
  await shopper.getByText("Linen tee (L)").first().waitFor();

  // A name that is markup shows as text and runs nothing.
  const markup = "<img src=x onerror=\"window.injected=1\"><script>window.injected=1</script>";
  await shopper.goto(`${base}/`);
  await shopper.getByRole("link", { name: markup, exact: true }).waitFor();
  assert.equal(await shopper.evaluate(() => window.injected), undefined, "a product's name ran as code");
  await snap(shopper, "markup-as-text");

  // A phone-sized screen: the product grid and the checkout form fit its width.
  const phone = await person("phone", { width: 375, height: 800 });
  await phone.goto(`${base}/`);
  await phone.getByRole("link", { name: "Sencha green tea", exact: true }).waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the storefront is ${overflow}px wider than a phone`);
  await snap(phone, "phone-storefront");

  assert.deepEqual(problems, [], "the pages reported errors");
  console.log("journey passed");
} catch (error) {
  console.error(error);
  for (const problem of problems) console.error(problem);
  process.exitCode = 1;
} finally {
  await browser.close();
}
