// The cart (quantities change as they are typed, lines can be removed) and checkout.

import { call } from "./api.js";
import { h, show, link, money } from "./ui.js";
import { outcome } from "./forms.js";
import {
  session, run, form, addressFields, addressBody, hinted, signInFirst, cartChanged,
} from "./shop-kit.js";

// The cart changes in flight, chained (see `cartRow`).
let changes = Promise.resolve();

const lineName = (line) => line.name || line.sku;
const skuPath = (sku) => `/api/v1/cart/items/${encodeURIComponent(sku)}`;

function emptyCart() {
  return [h("p", { class: "empty" }, "Your cart is empty."), h("p", {}, link("#/", "Browse products"))];
}

/**
 * Redraws the cart's lines and totals into `body`. A redraw replaces the controls, so the
 * one that had focus (named by its data-key) gets it back; when it is gone (a removed
 * line), focus goes to main rather than being lost.
 */
function drawCart(body, box, cart) {
  const focused = document.activeElement?.dataset?.key;
  cartChanged(cart.item_count);
  drawLines(body, box, cart);
  const again = focused && body.querySelector(`[data-key="${CSS.escape(focused)}"]`);
  if (again) again.focus();
  else if (document.activeElement === document.body) document.getElementById("content").focus();
}

function drawLines(body, box, cart) {
  if (!cart.items.length) {
    show(body, emptyCart());
    return;
  }
  const unavailable = cart.items.some((line) => !line.available);
  show(body,
    h("div", { class: "table-wrap" },
      h("table", { class: "cart-table" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Product"),
          h("th", { scope: "col", class: "number unit-price" }, "Price"),
          h("th", { scope: "col" }, "Quantity"),
          h("th", { scope: "col", class: "number" }, "Total"))),
        h("tbody", {}, cart.items.map((line) => cartRow(body, box, cart, line))))),
    unavailable
      ? h("p", { class: "alert" }, "Some items are no longer sold; remove them before you check out.")
      : null,
    h("div", { class: "checkout-row" },
      h("p", { class: "subtotal" }, "Subtotal ", h("span", { class: "price" }, money(cart.subtotal, cart.currency))),
      h("p", { class: "muted" }, "Tax and shipping are added at checkout."),
      h("a", { href: "#/checkout", class: "button" }, "Checkout")));
}

function cartRow(body, box, cart, line) {
  const name = lineName(line);
  const quantity = h("input", {
    type: "number", name: "quantity", min: 0, max: 1000, value: line.quantity, inputmode: "numeric",
    class: "quantity", "aria-label": `Quantity of ${name}`, dataset: { key: `quantity:${line.sku}` },
  });
  const remove = h("button", {
    type: "button", class: "link-button", "aria-label": `Remove ${name}`, dataset: { key: `remove:${line.sku}` },
  }, "Remove");
  const row = h("tr", {},
    h("th", { scope: "row" },
      h("span", { class: "line-name" }, name),
      h("span", { class: "muted sku" }, line.sku),
      line.available ? null : h("span", { class: "unavailable" }, "No longer available"),
      remove),
    h("td", { class: "number unit-price" }, line.available ? money(line.unit_price, cart.currency) : "—"),
    h("td", {}, quantity),
    h("td", { class: "number" }, line.available ? money(line.line_total, cart.currency) : "—"));

  // Both change the cart, then redraw it; a failure is shown next to the line's input.
  // The input turns read-only, not disabled, so focus stays where the reader put it.
  // Changes run one after another, so the last cart drawn is the last one answered.
  const change = (request, done) => {
    changes = changes.then(() => run([quantity, remove], box, async () => {
      drawCart(body, box, await request());
      return done;
    }, row));
  };
  // An emptied field is sent as null: the app names it (422) rather than removing the line.
  const typed = () => (quantity.value.trim() === "" ? null : Number(quantity.value));
  quantity.addEventListener("change", () =>
    change(() => call("PUT", skuPath(line.sku), { session, body: { quantity: typed() } })));
  remove.addEventListener("click", () =>
    change(async () => {
      await call("DELETE", skuPath(line.sku), { session });
      return call("GET", "/api/v1/cart", { session });
    }, `Removed ${name}`));
  return row;
}

/** #/cart */
export async function cart(view) {
  if (!session.claims) return signInFirst({ replace: true });
  view.loading();
  const data = await call("GET", "/api/v1/cart", { session });
  const box = outcome();
  const body = h("div", { class: "cart-body" });
  view.show("Your cart", h("h1", {}, "Your cart"), box, body);
  drawCart(body, box, data);
}

function summary(cart) {
  return h("aside", { class: "card summary", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Order summary"),
    h("ul", { class: "summary-lines" },
      cart.items.map((line) => h("li", {},
        h("span", {}, `${line.quantity} × ${lineName(line)}`),
        h("span", {}, line.available ? money(line.line_total, cart.currency) : "not available")))),
    h("p", { class: "summary-total" }, h("span", {}, "Subtotal"), h("span", { class: "price" }, money(cart.subtotal, cart.currency))),
    h("p", { class: "muted" }, "Tax and shipping are added to the order."));
}

/** #/checkout */
export async function checkout(view) {
  if (!session.claims) return signInFirst({ replace: true });
  view.loading();
  const data = await call("GET", "/api/v1/cart", { session });
  if (!data.items.length) {
    view.show("Checkout", h("h1", {}, "Checkout"), emptyCart());
    return;
  }
  const checkoutForm = form({
    class: "card",
    fields: [
      ...addressFields(),
      hinted("Promotion code", "Optional; the order shows what it takes off.", {
        name: "code", autocomplete: "off", maxlength: 32,
      }),
    ],
    submit: "Place order",
    task: async (element) => {
      const body = addressBody(element);
      if (!body.code.trim()) delete body.code;
      const placed = await call("POST", "/api/v1/cart/checkout", { session, body });
      cartChanged();
      location.hash = `#/orders/${encodeURIComponent(placed.id)}`;
    },
  });
  view.show("Checkout", h("h1", {}, "Checkout"), h("div", { class: "split checkout" }, checkoutForm, summary(data)));
}
