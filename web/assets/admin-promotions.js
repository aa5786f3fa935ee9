// Promotions: the list (what each takes off, on what, its uses and dates, switched on or
// off) and the form creating one. Admins only.

import { badge, field, h, money, values, when } from "./ui.js";
import { outcome } from "./forms.js";
import { action, all, amount, api, enc, form, instant, num, pagedTable, reload, th } from "./admin-kit.js";

/** "10%" or "€2.50 off". */
function takesOff(promotion) {
  return promotion.percentage
    ? `${promotion.percentage}%`
    : `${money(promotion.amount_off, promotion.currency)} off`;
}

/** What a promotion applies to, named with the categories' names. */
function scope(promotion, categoryNames) {
  const parts = [
    ...promotion.skus.map((sku) => h("code", {}, sku)),
    ...promotion.category_ids.map((id) => categoryNames.get(id) ?? id),
  ];
  if (!parts.length) return "the whole order";
  return parts.flatMap((part, i) => (i ? [", ", part] : [part]));
}

function switcher(promotion) {
  const region = outcome();
  const next = !promotion.active;
  const button = action(next ? "Switch on" : "Switch off", async () => {
    await api("PATCH", `/api/v1/promotions/${enc(promotion.id)}`, { body: { active: next } });
    reload(next ? `${promotion.name} is on.` : `${promotion.name} is off: orders placed keep their discounts.`);
  }, { region, class: next ? "" : "danger" });
  return h("div", { class: "stack" }, button, region);
}

/** The whole numbers typed in `form`'s field `name`; undefined when empty. */
function whole(form, name) {
  const text = form.elements[name].value.trim();
  return text === "" ? undefined : Number(text);
}

function promotionForm(categoryList) {
  return form({
    submit: "Create promotion",
    class: "card",
    task: async (element) => {
      const typed = values(element);
      const body = {
        name: typed.name,
        code: typed.code,
        skus: (typed.skus ?? "").split(",").map((sku) => sku.trim()).filter(Boolean),
        category_ids: typed.category_id ? [typed.category_id] : [],
        usage_limit: whole(element, "usage_limit"),
        per_customer_limit: whole(element, "per_customer_limit"),
        starts_at: instant(element, "starts_at"),
        ends_at: instant(element, "ends_at"),
        combinable: element.elements.combinable.checked,
      };
      if (typed.kind === "percentage") {
        body.percentage = whole(element, "value");
      } else {
        body.currency = typed.currency;
        body.amount_off = amount(element, "value", typed.currency);
      }
      const minimum = amount(element, "min_subtotal", typed.currency, { optional: true });
      if (minimum !== undefined) body.min_subtotal = minimum;
      await api("POST", "/api/v1/promotions", { body });
      reload("Promotion created.");
    },
    fields: [
      field("Name", { name: "name", maxlength: 200 }),
      field("Code", { name: "code", autocomplete: "off", placeholder: "empty: it applies by itself" }),
      h("div", { class: "row fields" },
        field("Takes off", { name: "kind", type: "select", options: [["percentage", "a percentage"], ["amount", "an amount"]] }),
        field("Percent or amount", { name: "value", inputmode: "decimal", placeholder: "10 or 2.50" }),
        field("Currency", { name: "currency", value: "EUR", maxlength: 3, size: 4 })),
      field("SKUs", { name: "skus", autocomplete: "off", placeholder: "comma-separated; a product's SKU covers its variants" }),
      field("Category", {
        name: "category_id", type: "select",
        options: [["", "Any"], ...categoryList.map((c) => [c.id, c.name])],
      }),
      h("div", { class: "row fields" },
        field("Minimum subtotal", { name: "min_subtotal", inputmode: "decimal", placeholder: "none" }),
        field("Uses in all", { name: "usage_limit", type: "number", min: 1, step: 1 }),
        field("Uses per customer", { name: "per_customer_limit", type: "number", min: 1, step: 1 })),
      h("div", { class: "row fields" },
        field("Starts at", { name: "starts_at", type: "datetime-local" }),
        field("Ends at", { name: "ends_at", type: "datetime-local" })),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "combinable" }),
        " Combines with the promotions that apply by themselves"),
    ],
  });
}

export async function promotions() {
  const categoryList = await all("/api/v1/categories");
  const categoryNames = new Map(categoryList.map((c) => [c.id, c.name]));
  const table = await pagedTable({
    path: "/api/v1/promotions",
    head: ["Name", "Code", "Takes off", "On", th("Uses", true), "From", "Until", "Active", ""],
    row: (p) => h("tr", {},
      h("td", {}, p.name),
      h("td", {}, p.code ? h("code", {}, p.code) : h("span", { class: "muted" }, "by itself")),
      h("td", {}, takesOff(p)),
      h("td", {}, scope(p, categoryNames)),
      num(p.usage_limit ? `${p.uses} of ${p.usage_limit}` : String(p.uses)),
      h("td", {}, p.starts_at ? when(p.starts_at) : ""),
      h("td", {}, p.ends_at ? when(p.ends_at) : ""),
      h("td", {}, badge(p.active ? "on" : "off")),
      h("td", {}, switcher(p))),
    more: "More promotions",
    empty: "No promotions yet.",
  });
  return [
    h("h1", {}, "Promotions"),
    table,
    h("section", {}, h("h2", {}, "New promotion"), promotionForm(categoryList)),
  ];
}
