// Order views: the filtered list, one order with its payments, shipments and the admin's
// actions (approve or reject a fraud hold, cancel, refund), and returns with theirs
// (approve, reject, receive the goods).

import { query } from "./api.js";
import { address, badge, discountLines, field, h, link, money, when } from "./ui.js";
import { outcome } from "./forms.js";
import {
  action, amount, api, enc, facts, form, go, num, pagedTable, problemBox, reload, th,
} from "./admin-kit.js";

const STATUSES = ["pending", "review", "reserved", "rejected", "paid", "payment_failed",
  "shipped", "delivered", "cancelled", "refunded"];
const RETURN_STATUSES = ["requested", "approved", "rejected", "received", "refunded"];
const CANCELLABLE = new Set(["pending", "review", "reserved", "paid"]);
const REFUNDABLE = new Set(["succeeded", "partially_refunded"]);

// Set when the status filter changed the route, so the new view gives the focus back to
// the filter instead of the page (a keyboard user may be stepping through the options).
let filterChanged = false;

/** The status filter of the list at `route`, among `statuses`. */
function statusFilter(status, statuses = STATUSES, route = "#/orders") {
  const control = field("Status", {
    name: "status", type: "select", value: status,
    options: [["", "All"], ...statuses.map((s) => [s, s.replace(/_/g, " ")])],
    onchange: (event) => {
      filterChanged = true;
      go(`${route}${query({ status: event.target.value })}`);
    },
  });
  if (filterChanged) control.querySelector("select").dataset.focus = "";
  filterChanged = false;
  return control;
}

export async function orders(_, search) {
  const status = search.get("status") || "";
  const table = await pagedTable({
    path: "/api/v1/orders",
    params: { status },
    head: ["Order", "Status", "Customer", th("Total", true), "Created"],
    row: (o) => h("tr", {},
      h("td", {}, link(`#/orders/${enc(o.id)}`, o.order_number)),
      h("td", {}, badge(o.status)),
      h("td", { title: o.customer_id }, o.shipping_address?.name),
      num(money(o.total, o.currency)),
      h("td", {}, when(o.created_at))),
    more: "More orders",
    empty: status ? `No orders are ${status.replace(/_/g, " ")}.` : "No orders yet.",
  });
  return [h("h1", {}, "Orders"), h("div", { class: "filters" }, statusFilter(status)), table];
}

function items(order) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, th("SKU"), th("Product"), th("Quantity", true), th("Unit price", true), th("Total", true))),
    h("tbody", {}, order.items.map((line) => h("tr", {},
      h("td", {}, h("code", {}, line.sku)),
      h("td", {}, line.name),
      num(line.quantity),
      num(money(line.unit_price, order.currency)),
      num(money(line.line_total, order.currency)))))));
}

/** Approve/reject (a fraud hold) and cancel, each confirmed, with an optional reason. */
function orderActions(order) {
  const region = outcome();
  const review = order.status === "review";
  const cancellable = CANCELLABLE.has(order.status);
  if (!review && !cancellable) return null;
  const reason = field("Reason", { name: "reason", id: "order-reason", maxlength: 500,
    placeholder: "optional, when rejecting or cancelling" });
  const withReason = () => ({ reason: reason.querySelector("input").value.trim() || undefined });
  const post = (verb, body, done) => async () => {
    await api("POST", `/api/v1/orders/${enc(order.id)}/${verb}`, { body: body() });
    reload(done);
  };
  const number = order.order_number;
  return h("section", { class: "card actions" },
    h("h2", {}, "Actions"),
    reason,
    h("div", { class: "row" },
      review && action("Approve", post("approve", () => ({}), `Order ${number} approved.`),
        { region, class: "", confirm: `Approve order ${number}? It goes on to payment.` }),
      review && action("Reject", post("reject", withReason, `Order ${number} rejected.`),
        { region, class: "danger", confirm: `Reject order ${number}?` }),
      cancellable && action("Cancel order", post("cancel", withReason, `Order ${number} cancelled.`),
        { region, class: "danger", confirm: `Cancel order ${number}? A payment taken is refunded.` })),
    region);
}

function refundForm(payment) {
  const rest = payment.amount - payment.refunded_amount;
  return form({
    submit: "Refund",
    class: "refund",
    task: async (element) => {
      const value = amount(element, "amount", payment.currency, { optional: true });
      const question = value === undefined
        ? `Refund the rest, ${money(rest, payment.currency)}?`
        : `Refund ${money(value, payment.currency)}?`;
      if (!window.confirm(question)) return null;
      const body = value === undefined ? {} : { amount: value };
      const refunded = await api("POST", `/api/v1/payments/${enc(payment.id)}/refund`, { body });
      reload(`Refund done: the payment is ${refunded.status.replace(/_/g, " ")}.`);
      return null;
    },
    fields: field("Refund amount", { name: "amount", id: `refund-${payment.id}`, inputmode: "decimal",
      placeholder: `empty: the rest, ${money(rest, payment.currency)}` }),
  });
}

function paymentCard(payment) {
  return h("article", { class: "card payment" },
    h("h3", { class: "row" }, "Payment ", badge(payment.status)),
    facts([
      ["Amount", money(payment.amount, payment.currency)],
      ["Refunded", payment.refunded_amount ? money(payment.refunded_amount, payment.currency) : null],
      ["Provider", payment.provider],
      ["Reference", payment.provider_reference],
      ["Failure", [payment.failure_reason, payment.decline_code].filter(Boolean).join(" · ")],
      ["Created", when(payment.created_at)],
    ]),
    payment.refunds.length
      ? h("ul", { class: "plain" }, payment.refunds.map((r) =>
        h("li", {}, `Refund of ${money(r.amount, payment.currency)} `, badge(r.status), ` ${when(r.created_at)}`)))
      : null,
    REFUNDABLE.has(payment.status) ? refundForm(payment) : null);
}

function payments(list) {
  if (list instanceof Error) return problemBox(list);
  if (list.items.length === 0) return h("p", { class: "muted" }, "No payment yet.");
  return h("div", { class: "stack" }, list.items.map(paymentCard));
}

function shipments(list) {
  if (list instanceof Error) return problemBox(list);
  if (list.items.length === 0) return h("p", { class: "muted" }, "No shipment yet.");
  return h("ul", { class: "plain" }, list.items.map((s) => h("li", { class: "row" },
    link(`#/shipments/${enc(s.id)}`, `Shipment ${s.tracking_number}`), badge(s.status),
    h("span", { class: "muted" }, s.carrier))));
}

/** What an admin may do with a return next: approve or reject it, or receive its goods. */
function returnActions(ret) {
  const region = outcome();
  const post = (verb, done) => async () => {
    await api("POST", `/api/v1/returns/${enc(ret.id)}/${verb}`, { body: {} });
    reload(done);
  };
  const worth = money(ret.amount, ret.currency);
  const buttons = {
    requested: [
      action("Approve", post("approve", "Return approved: the customer may send the items."),
        { region, class: "", confirm: `Approve the return of ${worth}?` }),
      action("Reject", post("reject", "Return rejected."),
        { region, class: "danger", confirm: `Reject the return of ${worth}?` }),
    ],
    approved: [action("Receive", post("receive", `Goods received: ${worth} is being refunded.`),
      { region, class: "", confirm: `The items are back? This restocks them and refunds ${worth}.` })],
  }[ret.status];
  return buttons ? h("div", { class: "stack" }, h("div", { class: "row" }, buttons), region) : null;
}

/** #/returns, filtered by `status` and `order_id`. */
export async function returns(_, search) {
  const status = search.get("status") || "";
  const orderId = search.get("order_id") || "";
  const table = await pagedTable({
    path: "/api/v1/returns",
    params: { status, order_id: orderId },
    head: ["Order", "Status", "Items", th("Worth", true), "Asked", "Actions"],
    row: (r) => h("tr", {},
      h("td", {}, link(`#/orders/${enc(r.order_id)}`, r.order_number)),
      h("td", {}, badge(r.status)),
      h("td", {}, r.items.map((line) => `${line.quantity} × ${line.name}`).join(", "),
        r.reason ? h("p", { class: "muted" }, r.reason) : null),
      num(money(r.amount, r.currency)),
      h("td", {}, when(r.created_at)),
      h("td", {}, returnActions(r))),
    more: "More returns",
    empty: status ? `No returns are ${status}.` : "No returns yet.",
  });
  return [h("h1", {}, "Returns"),
    h("div", { class: "filters" }, statusFilter(status, RETURN_STATUSES, "#/returns")), table];
}

export async function order({ id }) {
  // Payments and shipments are their own sections: one failing still shows the order.
  const [current, paymentList, shipmentList] = await Promise.all([
    api("GET", `/api/v1/orders/${enc(id)}`),
    api("GET", `/api/v1/payments${query({ order_id: id })}`).catch((error) => error),
    api("GET", `/api/v1/shipments${query({ order_id: id })}`).catch((error) => error),
  ]);
  const status = badge(current.status);
  status.dataset.testid = "order-status";
  const refresh = h("button", { type: "button", class: "secondary", onclick: () => reload() }, "Refresh");
  return [
    h("div", { class: "row heading" }, h("h1", {}, `Order ${current.order_number}`), refresh),
    h("p", {}, link("#/orders", "All orders")),
    h("p", { class: "row" }, "Status ", status,
      current.status_reason ? h("span", { class: "muted" }, current.status_reason) : null),
    current.review_reasons.length
      ? h("div", { class: "review-reasons" }, h("strong", {}, "Held for review: "),
        h("ul", {}, current.review_reasons.map((r) => h("li", {}, h("code", {}, r)))))
      : null,
    orderActions(current),
    h("div", { class: "split" },
      h("div", { class: "stack" },
        items(current),
        facts([
          ["Subtotal", money(current.subtotal, current.currency)],
          ...discountLines(current).map(([label, minor]) => [label, money(minor, current.currency)]),
          ["Tax", money(current.tax, current.currency)],
          ["Shipping", money(current.shipping, current.currency)],
          ["Total", money(current.total, current.currency)],
        ]),
        h("p", {}, link(`#/returns${query({ order_id: current.id })}`, "Returns of this order")),
        h("h2", {}, "Payments"), payments(paymentList),
        h("h2", {}, "Shipments"), shipments(shipmentList)),
      h("div", { class: "stack" },
        h("section", { class: "card" },
          h("h2", {}, "Ship to"), address(current.shipping_address),
          facts([
            ["Customer", h("code", {}, current.customer_id)],
            ["Campaign", current.campaign_id],
            ["Created", when(current.created_at)],
            ["Updated", when(current.updated_at)],
          ])))),
  ];
}
