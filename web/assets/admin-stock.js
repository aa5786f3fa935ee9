// Inventory views: look a SKU up, see its level and movements, set or adjust it.

import { badge, field, h, link, values, when } from "./ui.js";
import { api, enc, facts, form, go, invalid, num, pagedTable, reload, th } from "./admin-kit.js";

export async function stockLookup() {
  return [
    h("h1", {}, "Inventory"),
    form({
      submit: "Look up",
      class: "card narrow",
      task: async (element) => {
        const sku = element.elements.sku.value.trim();
        if (!sku) throw invalid("sku", "Enter a SKU");
        go(`#/inventory/${enc(sku)}`);
      },
      fields: field("SKU", { name: "sku", autocomplete: "off" }),
    }),
  ];
}

/** The level, or null when the SKU has none yet (404). */
async function level(sku) {
  try {
    return await api("GET", `/api/v1/inventory/${enc(sku)}`);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

function setForm(sku, current) {
  return form({
    submit: "Set on hand",
    class: "card",
    task: async (element) => {
      await api("PUT", `/api/v1/inventory/${enc(sku)}`, { body: values(element) });
      reload("Units on hand set.");
    },
    fields: [
      h("h2", {}, "Count"),
      field("On hand", { name: "on_hand", type: "number", min: 0, step: 1, value: current?.on_hand }),
    ],
  });
}

function adjustForm(sku) {
  return form({
    submit: "Adjust",
    class: "card",
    task: async (element) => {
      await api("POST", `/api/v1/inventory/${enc(sku)}/adjust`, { body: values(element) });
      reload("Stock adjusted.");
    },
    fields: [
      h("h2", {}, "Adjust"),
      field("Delta", { name: "delta", type: "number", step: 1, placeholder: "-2 lost, 3 found" }),
      field("Reason", { name: "reason", placeholder: "damaged in the warehouse" }),
    ],
  });
}

function movements(sku) {
  return pagedTable({
    path: `/api/v1/inventory/${enc(sku)}/movements`,
    head: ["When", "Reason", th("On hand", true), th("Reserved", true), "Order", "Note"],
    row: (m) => h("tr", {},
      h("td", {}, when(m.created_at)),
      h("td", {}, badge(m.reason)),
      num(signed(m.on_hand_delta)),
      num(signed(m.reserved_delta)),
      h("td", {}, m.order_id ? link(`#/orders/${enc(m.order_id)}`, "Order") : ""),
      h("td", {}, m.note ?? "")),
    more: "More movements",
    empty: "No movements yet.",
  });
}

function signed(delta) {
  return delta > 0 ? `+${delta}` : String(delta);
}

export async function stock({ sku }) {
  const current = await level(sku);
  return [
    h("h1", {}, "Stock of ", h("code", {}, sku)),
    h("p", {}, link("#/inventory", "Look up another SKU")),
    current
      ? facts([["On hand", current.on_hand], ["Reserved", current.reserved],
        ["Available", current.available], ["Version", current.version]])
      : h("p", { class: "no-stock" }, "No stock level yet"),
    h("div", { class: "grid forms" }, setForm(sku, current), current ? adjustForm(sku) : null),
    current ? [h("h2", {}, "Movements"), await movements(sku)] : null,
  ];
}
