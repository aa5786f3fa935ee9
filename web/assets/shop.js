// The storefront: the header (search, navigation, the cart's count) and the hash routes.
// Each view lives in its own module; shop-kit.js holds what they share.

import { call, query } from "./api.js";
import { h, show, router, link } from "./ui.js";
import { session, View, sessionChanged } from "./shop-kit.js";
import { home, search, product } from "./shop-catalog.js";
import { login, register } from "./shop-account.js";
import { cart, checkout } from "./shop-cart.js";
import { orders, order, notifications } from "./shop-orders.js";
import { campaigns, campaign } from "./shop-campaigns.js";

const bar = document.getElementById("bar");

// Kept across header redraws; its label, not the "Cart" link's name, carries the count.
const cartCount = h("span", { class: "cart-count", role: "img", "data-testid": "cart-count", hidden: true });

function setCartCount(count) {
  cartCount.hidden = !count;
  cartCount.textContent = String(count || 0);
  cartCount.setAttribute("aria-label", `${count || 0} ${count === 1 ? "item" : "items"} in cart`);
}

async function refreshCartCount() {
  if (!session.claims) return setCartCount(0);
  try {
    setCartCount((await call("GET", "/api/v1/cart", { session })).item_count);
  } catch (error) {
    setCartCount(0);
    if (error.status === 401) sessionChanged();
  }
}

/** A navigation link; `sections` are the first path segments it stands for. */
function navLink(hash, text, sections, ...extra) {
  return h("li", {}, h("a", { href: hash, dataset: { sections: sections.join(" ") } }, text), ...extra);
}

function searchForm() {
  const input = h("input", {
    type: "search", id: "search-q", name: "q", autocomplete: "off", placeholder: "Search products",
  });
  return h("form", {
    role: "search", class: "search", novalidate: true,
    onsubmit: (event) => {
      event.preventDefault();
      const q = input.value.trim();
      if (q) location.hash = `#/search${query({ q })}`;
      else input.focus();
    },
  }, h("label", { for: "search-q", class: "sr-only" }, "Search"), input, h("button", { type: "submit" }, "Search"));
}

function renderHeader() {
  const signedIn = Boolean(session.claims);
  const signOut = () => {
    session.token = null;
    sessionChanged();
    location.hash = "#/";
  };
  show(bar,
    h("a", { href: "#/", class: "brand" }, "FusionCommerce"),
    searchForm(),
    h("nav", { "aria-label": "Main" },
      h("ul", { class: "nav-list" },
        navLink("#/", "Shop", ["", "products", "search"]),
        navLink("#/campaigns", "Group buys", ["campaigns"]),
        navLink("#/cart", "Cart", ["cart", "checkout"], cartCount),
        signedIn
          ? [
              navLink("#/orders", "My orders", ["orders"]),
              navLink("#/notifications", "Notifications", ["notifications"]),
              h("li", {}, h("button", { type: "button", class: "secondary sign-out", onclick: signOut }, "Sign out")),
            ]
          : [
              navLink("#/login", "Sign in", ["login"]),
              navLink("#/register", "Register", ["register"]),
            ])));
  markCurrent();
}

/** aria-current on the nav link of the page shown ("page") or of its section ("true"). */
function markCurrent() {
  const [path, search = ""] = (location.hash || "#/").split("?");
  const section = path.split("/")[1] || "";
  for (const anchor of bar.querySelectorAll("nav a")) {
    const exact = anchor.getAttribute("href") === path;
    const within = anchor.dataset.sections.split(" ").includes(section);
    if (exact || within) anchor.setAttribute("aria-current", exact ? "page" : "true");
    else anchor.removeAttribute("aria-current");
  }
  // The search box shows what the results are for.
  const input = bar.querySelector("#search-q");
  if (input && section === "search") input.value = new URLSearchParams(search).get("q") || "";
}

/** A route's render, run in a fresh View whose failures show as a page. */
function page(render) {
  return (params, search) => {
    const view = new View();
    markCurrent();
    render(view, params, search).catch((error) => view.fail(error));
  };
}

async function notFound(view) {
  view.show("Page not found",
    h("h1", {}, "Page not found"),
    h("p", {}, "There is no page at this address."),
    h("p", {}, link("#/", "Go to the home page")));
}

document.addEventListener("shop:session", () => {
  renderHeader();
  refreshCartCount();
});
document.addEventListener("shop:cart", (event) => {
  if (event.detail === undefined) refreshCartCount();
  else setCartCount(event.detail);
});

renderHeader();
refreshCartCount();
router({
  "#/": page(home),
  "#/search": page(search),
  "#/products/:id": page(product),
  "#/login": page(login),
  "#/register": page(register),
  "#/cart": page(cart),
  "#/checkout": page(checkout),
  "#/orders": page(orders),
  "#/orders/:id": page(order),
  "#/notifications": page(notifications),
  "#/campaigns": page(campaigns),
  "#/campaigns/:id": page(campaign),
}, page(notFound));
