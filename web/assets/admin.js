// The admin page: the header, signing in, and the hash routes to each section's views
// (admin-*.js). Each view is an async function returning the nodes to show; `page` shows
// them, or the problem when the data could not be loaded.

import { ApiError, call } from "./api.js";
import { field, h, router, show, values } from "./ui.js";
import { form, go, isAdmin, isStaff, problemBox, session, takeFlash } from "./admin-kit.js";
import { campaigns, categories, product, products } from "./admin-catalog.js";
import { stock, stockLookup } from "./admin-stock.js";
import { order, orders, returns } from "./admin-orders.js";
import { promotions } from "./admin-promotions.js";
import { shipment, shipments } from "./admin-shipping.js";
import { dashboard, deadLetters } from "./admin-ops.js";

const bar = document.getElementById("bar");
const content = document.getElementById("content");

// The route last rendered, to tell a reload (keep showing the view until the new one is
// ready) from a navigation (show "Loading…" at once); and the render in flight, so a slow
// answer for a page already left is dropped.
let rendered = null;
let ticket = 0;

// [name, route, open to vendors]: the API answers a vendor 403 in the others.
const SECTIONS = [
  ["Dashboard", "#/", true],
  ["Products", "#/products", true],
  ["Categories", "#/categories", true],
  ["Inventory", "#/inventory", false],
  ["Orders", "#/orders", false],
  ["Returns", "#/returns", false],
  ["Promotions", "#/promotions", false],
  ["Shipments", "#/shipments", false],
  ["Campaigns", "#/campaigns", true],
  ["Dead letters", "#/dead-letters", false],
];

function renderBar() {
  const claims = isStaff() ? session.claims : null;
  show(bar,
    h("a", { class: "brand", href: "#/" }, "FusionCommerce admin"),
    h("nav", { "aria-label": "Sections" },
      claims
        ? SECTIONS.filter(([, , vendors]) => vendors || isAdmin()).map(([text, hash]) => h("a", { href: hash }, text))
        : null,
      h("a", { href: "/" }, "Shop"),
      claims ? h("span", { class: "who" }, `${claims.role} · ${claims.tenant}`) : null,
      claims ? h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out") : null));
  markCurrent();
}

/** aria-current on the section the route belongs to ("#/orders/1" is in Orders). */
function markCurrent() {
  if (location.hash && !location.hash.startsWith("#/")) return;
  const section = `#/${(location.hash || "#/").slice(2).split(/[/?]/)[0]}`;
  for (const a of bar.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function signOut() {
  session.token = null;
  go("#/", "Signed out.");
}

function signIn(message) {
  renderBar();
  rendered = null;
  ticket += 1;
  const signInForm = form({
    submit: "Sign in",
    task: async (element) => {
      const { access_token: token } = await call("POST", "/api/v1/auth/login", { body: values(element), keyed: false });
      session.token = token;
      if (!isStaff()) {
        session.token = null;
        throw new ApiError(403, { title: "This account is not an admin or vendor" });
      }
      renderBar();
      go(location.hash.startsWith("#/") ? location.hash : "#/", "Signed in.");
    },
    fields: [
      field("Email", { name: "email", type: "email", autocomplete: "username" }),
      field("Password", { name: "password", type: "password", autocomplete: "current-password" }),
    ],
  });
  show(content,
    h("h1", {}, "Admin sign in"),
    message ? h("div", { class: "notice", role: "status" }, message) : null,
    h("div", { class: "card sign-in" }, signInForm));
  titled();
  content.focus();
}

/** The tab's title names the view, as its <h1> does. */
function titled() {
  document.title = `${content.querySelector("h1")?.textContent} · FusionCommerce admin`;
}

/** A route showing what `load` returns, under `heading` when loading failed. */
function page(heading, load) {
  return async (params, search) => {
    if (!isStaff()) return signIn(takeFlash());
    const mine = ++ticket;
    const hash = location.hash || "#/";
    if (hash !== rendered) show(content, h("p", { class: "muted", role: "status" }, "Loading…"));
    rendered = hash;
    const message = takeFlash();
    let nodes;
    try {
      nodes = await load(params, search);
    } catch (error) {
      if (mine !== ticket) return;
      if (error?.sessionEnded) return signIn("Your session has ended: sign in again.");
      nodes = [h("h1", {}, heading), problemBox(error)];
    }
    if (mine !== ticket) return;
    show(content, message ? h("div", { class: "notice", role: "status" }, message) : null, nodes);
    titled();
    // A view may ask to keep the focus on the control that changed the route.
    (content.querySelector("[data-focus]") || content).focus();
  };
}

function notFound() {
  show(content, h("h1", {}, "Page not found"),
    h("p", {}, "There is no such admin page. ", h("a", { href: "#/" }, "Go to the dashboard"), "."));
  rendered = null;
  ticket += 1;
  titled();
  content.focus();
}

renderBar();
window.addEventListener("hashchange", markCurrent);
router({
  "#/": page("Dashboard", dashboard),
  "#/products": page("Products", products),
  "#/products/new": page("New product", product),
  "#/products/:id": page("Product", product),
  "#/categories": page("Categories", categories),
  "#/inventory": page("Inventory", stockLookup),
  "#/inventory/:sku": page("Stock", stock),
  "#/orders": page("Orders", orders),
  "#/orders/:id": page("Order", order),
  "#/returns": page("Returns", returns),
  "#/promotions": page("Promotions", promotions),
  "#/shipments": page("Shipments", shipments),
  "#/shipments/:id": page("Shipment", shipment),
  "#/campaigns": page("Campaigns", campaigns),
  "#/dead-letters": page("Dead letters", deadLetters),
}, notFound);
