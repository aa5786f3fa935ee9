// Shipment views: the list, and one shipment with its delivery log, a status change and
// its printable label.

import { address, badge, field, h, link, show, values, when } from "./ui.js";
import { outcome } from "./forms.js";
import { action, api, enc, facts, form, pagedTable, reload } from "./admin-kit.js";

// The moves an admin makes from each status (a label is voided, `cancelled`, only by
// cancelling its order); a status without any has nothing left to set.
const NEXT = {
  label_created: ["in_transit", "failed"],
  in_transit: ["delivered", "failed"],
};

export async function shipments() {
  const table = await pagedTable({
    path: "/api/v1/shipments",
    head: ["Tracking number", "Order", "Status", "Carrier", "Updated"],
    row: (s) => h("tr", {},
      h("td", {}, link(`#/shipments/${enc(s.id)}`, s.tracking_number)),
      h("td", {}, link(`#/orders/${enc(s.order_id)}`, h("code", {}, s.order_id))),
      h("td", {}, badge(s.status)),
      h("td", {}, s.carrier),
      h("td", {}, when(s.updated_at))),
    more: "More shipments",
    empty: "No shipments yet.",
  });
  return [h("h1", {}, "Shipments"), table];
}

function statusForm(shipment) {
  return form({
    submit: "Update status",
    class: "card",
    task: async (element) => {
      await api("PATCH", `/api/v1/shipments/${enc(shipment.id)}/status`, { body: values(element) });
      reload("Shipment status updated.");
    },
    fields: [
      h("h2", {}, "Update status"),
      field("New status", { name: "status", type: "select",
        options: NEXT[shipment.status].map((s) => [s, s.replace(/_/g, " ")]) }),
      field("Location", { name: "location", maxlength: 200, placeholder: "optional" }),
      field("Note", { name: "note", maxlength: 1000, placeholder: "optional" }),
    ],
  });
}

/** "Print label": fetches the label (it needs the bearer token), shows it, prints only it. */
function labelPrinter(shipment) {
  const region = outcome();
  const area = h("div", { class: "label-area" });
  const button = action("Print label", async () => {
    const response = await api("GET", `/api/v1/shipments/${enc(shipment.id)}/label`, { raw: true });
    show(area, h("pre", { class: "label" }, await response.text()));
    window.print(); // admin.css prints the label alone
  }, { region });
  return h("section", { class: "stack" }, h("div", { class: "row" }, button), region, area);
}

function history(events) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["When", "Status", "Location", "Note"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, events.map((e) => h("tr", {},
      h("td", {}, when(e.at)),
      h("td", {}, badge(e.status)),
      h("td", {}, e.location ?? ""),
      h("td", {}, e.note ?? ""))))));
}

export async function shipment({ id }) {
  const current = await api("GET", `/api/v1/shipments/${enc(id)}`);
  const status = badge(current.status);
  status.dataset.testid = "shipment-status";
  return [
    h("h1", {}, `Shipment ${current.tracking_number}`),
    h("p", { class: "row" }, link(`#/orders/${enc(current.order_id)}`, "Back to the order"),
      link("#/shipments", "All shipments")),
    h("p", { class: "row" }, "Status ", status),
    h("div", { class: "split" },
      h("div", { class: "stack" },
        facts([
          ["Carrier", current.carrier],
          ["Tracking number", h("code", {}, current.tracking_number)],
          ["Created", when(current.created_at)],
          ["Updated", when(current.updated_at)],
        ]),
        h("h2", {}, "Ship to"), address(current.shipping_address),
        h("h2", {}, "History"), history(current.events),
        labelPrinter(current)),
      NEXT[current.status] ? statusForm(current) : null),
  ];
}
