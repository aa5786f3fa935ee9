// The reader's orders (a list, and one order that follows its status live, with its
// returns and, once delivered, the form asking for one) and notifications.

import { call, query } from "./api.js";
import { h, show, link, money, when, badge, address, showProblem, discountLines, field } from "./ui.js";
import { outcome } from "./forms.js";
import { session, action, form, pages, signInFirst } from "./shop-kit.js";

/** Statuses the saga (or the team, for review) still moves on by itself. */
const MOVING = new Set(["pending", "reserved", "review", "paid"]);
const CANCELLABLE = new Set(["pending", "review", "reserved", "paid"]);
const POLL_MS = 1500;

const EXPLANATIONS = {
  pending: "We received your order and are reserving the items.",
  review: "Your order is held for a check by our team. We will go on as soon as it is approved.",
  reserved: "Your items are reserved; we are taking the payment.",
  rejected: "Some items were out of stock, so we could not take the order. You were not charged.",
  paid: "Paid, thank you! We are preparing your parcel.",
  payment_failed: "The payment did not go through, so the order was stopped. You were not charged.",
  shipped: "Your parcel is on its way.",
  delivered: "Your parcel was delivered. Enjoy!",
  cancelled: "The order was cancelled. If you had paid, the refund follows shortly.",
  refunded: "The order was cancelled and your payment refunded.",
};

const orderPath = (id) => `/api/v1/orders/${encodeURIComponent(id)}`;

function orderRow(order) {
  return h("tr", {},
    h("th", { scope: "row" }, link(`#/orders/${encodeURIComponent(order.id)}`, order.order_number)),
    h("td", {}, badge(order.status)),
    h("td", { class: "number" }, money(order.total, order.currency)),
    h("td", {}, when(order.created_at)));
}

/** #/orders */
export async function orders(view) {
  if (!session.claims) return signInFirst({ replace: true });
  view.loading();
  const load = (cursor) => call("GET", `/api/v1/orders${query({ limit: 20, cursor })}`, { session });
  const first = await load();
  if (!first.items.length) {
    view.show("My orders", h("h1", {}, "My orders"),
      h("p", { class: "empty" }, "You have not ordered anything yet."), h("p", {}, link("#/", "Browse products")));
    return;
  }
  const rows = h("tbody");
  const more = pages(rows, first, { more: "More orders", load, draw: orderRow });
  view.show("My orders",
    h("h1", {}, "My orders"),
    h("div", { class: "table-wrap" },
      h("table", {},
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Order"),
          h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col", class: "number" }, "Total"),
          h("th", { scope: "col" }, "Placed"))),
        rows)),
    more);
}

function itemsTable(order) {
  const amount = (minor) => money(minor, order.currency);
  const total = (label, minor, strong) =>
    h("tr", { class: strong ? "grand-total" : null },
      h("th", { scope: "row", colspan: 3 }, label), h("td", { class: "number" }, amount(minor)));
  return h("div", { class: "table-wrap" },
    h("table", {},
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Product"),
        h("th", { scope: "col", class: "number" }, "Price"),
        h("th", { scope: "col", class: "number" }, "Quantity"),
        h("th", { scope: "col", class: "number" }, "Total"))),
      h("tbody", {}, order.items.map((line) => h("tr", {},
        h("th", { scope: "row" }, line.name, h("span", { class: "muted sku" }, line.sku)),
        h("td", { class: "number" }, amount(line.unit_price)),
        h("td", { class: "number" }, String(line.quantity)),
        h("td", { class: "number" }, amount(line.line_total))))),
      h("tfoot", {},
        total("Subtotal", order.subtotal),
        discountLines(order).map(([label, minor]) => total(label, minor)),
        total("Tax", order.tax),
        total("Shipping", order.shipping),
        total("Total", order.total, true))));
}

/** #/orders/:id — follows the status while the order still moves on by itself. */
export async function order(view, { id }) {
  if (!session.claims) return signInFirst({ replace: true });
  view.loading();
  let current = await call("GET", orderPath(id), { session });

  const status = h("p", { class: "order-status", "data-testid": "order-status", "aria-live": "polite" });
  const about = h("div", { class: "status-about" });
  const actions = h("div", { class: "row order-actions" });
  const box = outcome();
  const state = h("section", { class: "card order-state", "aria-label": "Status", tabindex: -1 },
    h("div", { class: "row" }, h("span", { class: "muted" }, "Status"), status),
    about,
    box,
    actions);

  const cancel = action("Cancel order", async () => {
    // Paid (or about to be): a refund follows, so keep watching a little longer.
    const refundDue = current.status === "paid" || current.status === "reserved";
    update(await call("POST", `${orderPath(id)}/cancel`, { session }));
    state.focus(); // the button is gone now
    // A new schedule also drops a poll answer from before the cancel.
    follow(refundDue ? new Set([...MOVING, "cancelled"]) : MOVING, 20);
  }, { region: box, class: "danger", confirm: `Cancel order ${current.order_number}?` });

  // Redraws only what changed: a poll that finds the same status leaves the focus on
  // "Cancel order" and the live region silent.
  let shown = null;
  function update(next) {
    current = next;
    if (next.status === shown) return;
    shown = next.status;
    show(status, badge(next.status));
    show(about,
      h("p", {}, EXPLANATIONS[next.status] ?? ""),
      next.status_reason ? h("p", { class: "muted" }, `Reason: ${next.status_reason}`) : null);
    show(actions, CANCELLABLE.has(next.status) ? cancel : null);
  }

  // Polls while the status is one of `watched`, at most `budget` times; a failed poll
  // stops and says why.
  function follow(watched, budget = Infinity) {
    let left = budget;
    view.repeat(POLL_MS, async (live) => {
      if (!watched.has(current.status) || left-- <= 0) return false;
      try {
        const next = await call("GET", orderPath(id), { session });
        if (live()) update(next);
        return watched.has(next.status);
      } catch (error) {
        if (live()) showProblem(box, error);
        return false;
      }
    });
  }

  update(current);
  view.show(`Order ${current.order_number}`,
    h("h1", {}, `Order ${current.order_number}`),
    state,
    h("p", { class: "muted" }, `Placed ${when(current.created_at)}`,
      current.campaign_id ? [" through a ", link(`#/campaigns/${encodeURIComponent(current.campaign_id)}`, "group buy")] : null),
    h("h2", {}, "Items"),
    itemsTable(current),
    h("h2", {}, "Shipping to"),
    address(current.shipping_address),
    await returnsSection(current));
  follow(MOVING);
}

const RETURN_EXPLANATIONS = {
  requested: "We will look at it and tell you how to send the items.",
  approved: "Approved: please send the items back. We refund them once they arrive.",
  rejected: "We could not take this return.",
  received: "The items arrived; the refund is on its way.",
  refunded: "Refunded.",
};

function returnItem(ret) {
  return h("li", { class: "card return" },
    h("p", { class: "row" }, badge(ret.status), h("strong", {}, money(ret.refunded_amount ?? ret.amount, ret.currency))),
    h("p", {}, ret.items.map((line) => `${line.quantity} × ${line.name}`).join(", ")),
    h("p", { class: "muted" }, RETURN_EXPLANATIONS[ret.status] ?? "",
      ret.rejection_reason ? ` Reason: ${ret.rejection_reason}` : ""));
}

/** The order's returns and, while it is delivered, the form asking for another. */
async function returnsSection(order) {
  const list = h("div", { "data-testid": "returns" });
  async function draw() {
    const page = await call("GET", `/api/v1/returns${query({ order_id: order.id, limit: 100 })}`, { session });
    show(list, page.items.length
      ? h("ul", { class: "returns" }, page.items.map(returnItem))
      : h("p", { class: "muted" }, "No returns."));
  }
  await draw();
  if (order.status !== "delivered") return [h("h2", {}, "Returns"), list];
  const ask = form({
    class: "card return-form",
    fields: [
      ...order.items.map((line, i) => field(`Return how many of ${line.name}`, {
        type: "number", name: `return-${i}`, min: 0, max: line.quantity, value: 0, inputmode: "numeric",
      })),
      field("Why (optional)", { type: "textarea", name: "reason", rows: 2, maxlength: 500 }),
    ],
    submit: "Ask for a return",
    task: async (element) => {
      const items = order.items
        .map((line, i) => ({ sku: line.sku, quantity: Number(element.elements[`return-${i}`].value) }))
        .filter((item) => item.quantity > 0);
      if (!items.length) return "Choose how many of an item to return.";
      const reason = element.elements.reason.value.trim();
      await call("POST", `${orderPath(order.id)}/returns`, { session, body: reason ? { items, reason } : { items } });
      await draw();
      return "Return asked for: we will tell you when it is approved.";
    },
  });
  return [h("h2", {}, "Returns"), list, h("h3", {}, "Return items"), ask];
}

function notificationItem(note) {
  return h("li", { class: "card notification" },
    h("h2", {}, note.subject),
    h("p", { class: "body" }, note.body),
    h("p", { class: "muted" }, h("time", { datetime: note.created_at }, when(note.created_at))));
}

/** #/notifications */
export async function notifications(view) {
  if (!session.claims) return signInFirst({ replace: true });
  view.loading();
  const load = (cursor) => call("GET", `/api/v1/notifications${query({ limit: 20, cursor })}`, { session });
  const first = await load();
  const list = h("ul", { class: "notifications" });
  const more = pages(list, first, { more: "More notifications", load, draw: notificationItem });
  view.show("Notifications",
    h("h1", {}, "Notifications"),
    first.items.length ? [list, more] : h("p", { class: "empty" }, "Nothing yet: we will tell you here how your orders go."));
}
