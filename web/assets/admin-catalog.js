// Catalog views: products (list, create, edit, deactivate, their stock), categories and
// group-buying campaigns. Vendors may use all of them.

import { badge, field, h, link, money, picture, values, when } from "./ui.js";
import { outcome } from "./forms.js";
import {
  action, all, amount, api, decimal, enc, facts, form, go, instant, isAdmin, num, pagedTable,
  problemBox, reload, th,
} from "./admin-kit.js";

export async function products() {
  const table = await pagedTable({
    path: "/api/v1/products",
    head: ["Name", "SKU", th("Price", true), "Active"],
    row: (p) => h("tr", {},
      h("td", {}, link(`#/products/${enc(p.id)}`, p.name)),
      h("td", {}, h("code", {}, p.sku)),
      num(money(p.price, p.currency)),
      h("td", {}, p.active ? "yes" : "no")),
    more: "More products",
    empty: "No products yet.",
  });
  return [
    h("div", { class: "row heading" }, h("h1", {}, "Products"),
      h("a", { href: "#/products/new", class: "button" }, "New product")),
    table,
  ];
}

// Fields that `null` clears in a ProductPatch; the others must not be null.
const CLEARABLE = new Set(["description", "category_id", "brand", "image_url"]);

/** Only what the form changed: an emptied clearable field is null, an untouched one absent. */
function productChanges(product, element) {
  const patch = {};
  for (const name of ["name", "description", "currency", "category_id", "brand", "image_url"]) {
    const value = element.elements[name].value;
    if (value === (product[name] ?? "")) continue;
    patch[name] = value === "" && CLEARABLE.has(name) ? null : value;
  }
  // A product with options has no price of its own: each variant has one.
  if (product.options.length) return patch;
  const price = amount(element, "price", element.elements.currency.value);
  // The same text is another amount in another currency: send both when either changed.
  if (price !== product.price || "currency" in patch) patch.price = price;
  return patch;
}

function productForm(product, categoryList) {
  const editing = Boolean(product);
  return form({
    submit: editing ? "Save" : "Create product",
    class: "card",
    task: async (element) => {
      if (editing) {
        const patch = productChanges(product, element);
        if (Object.keys(patch).length === 0) return "Nothing to save: no field was changed.";
        await api("PATCH", `/api/v1/products/${enc(product.id)}`, { body: patch });
        reload("Product saved.");
      } else {
        const body = values(element);
        body.price = amount(element, "price", body.currency);
        const created = await api("POST", "/api/v1/products", { body });
        go(`#/products/${enc(created.id)}`, "Product created.");
      }
    },
    fields: [
      field("SKU", { name: "sku", value: product?.sku, readonly: editing, autocomplete: "off" }),
      field("Name", { name: "name", value: product?.name }),
      field("Description", { name: "description", type: "textarea", rows: 4, value: product?.description }),
      h("div", { class: "row fields" },
        product?.options.length
          ? field("Price from (each variant has its own)", { name: "price", readonly: true,
            value: decimal(product.price, product.currency) })
          : field("Price", { name: "price", inputmode: "decimal", placeholder: "12.50",
            value: product ? decimal(product.price, product.currency) : "" }),
        field("Currency", { name: "currency", value: product?.currency ?? "EUR", maxlength: 3, size: 4 })),
      field("Category", {
        name: "category_id", type: "select", value: product?.category_id ?? "",
        options: [["", "None"], ...categoryList.map((c) => [c.id, c.name])],
      }),
      field("Brand", { name: "brand", value: product?.brand }),
      field("Image URL", { name: "image_url", type: "url", value: product?.image_url }),
    ],
  });
}

/** A product's variants: each SKU with its values, its price and a link to its stock. */
function variantsCard(product) {
  return h("section", { class: "card" },
    h("h2", {}, "Variants"),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Variant"), h("th", {}, "SKU"), th("Price", true), h("th", {}, "Stock"))),
      h("tbody", {}, product.variants.map((variant) => h("tr", {},
        h("td", {}, product.options.map((option) => variant.options[option.name]).join(" / ")),
        h("td", {}, h("code", {}, variant.sku)),
        num(money(variant.price, product.currency)),
        h("td", {}, link(`#/inventory/${enc(variant.sku)}`, "Manage stock")))))),
    h("p", { class: "muted" }, "Options and variants are set through the API (PATCH with options and variants)."));
}

/** The product's stock level, or why there is none to show. */
async function stockCard(sku) {
  let body;
  try {
    const level = await api("GET", `/api/v1/inventory/${enc(sku)}`);
    body = facts([["On hand", level.on_hand], ["Reserved", level.reserved], ["Available", level.available]]);
  } catch (error) {
    body = error.status === 404 ? h("p", {}, "No stock level yet") : problemBox(error);
  }
  return h("section", { class: "card" },
    h("h2", {}, "Stock"), body, link(`#/inventory/${enc(sku)}`, "Manage stock"));
}

function activation(product) {
  const region = outcome();
  const button = product.active
    ? action("Deactivate", async () => {
      await api("DELETE", `/api/v1/products/${enc(product.id)}`);
      reload("Product deactivated: the shop no longer shows it.");
    }, { region, class: "danger", confirm: `Deactivate ${product.name}? The shop stops showing it.` })
    : action("Activate", async () => {
      await api("PATCH", `/api/v1/products/${enc(product.id)}`, { body: { active: true } });
      reload("Product activated.");
    }, { region });
  return h("div", { class: "stack" }, h("div", { class: "row" }, button), region);
}

/** #/products/new (no id) and #/products/:id. */
export async function product({ id }) {
  const [current, categoryList] = await Promise.all([
    id ? api("GET", `/api/v1/products/${enc(id)}`) : null,
    all("/api/v1/categories"),
  ]);
  if (!current) {
    return [h("h1", {}, "New product"), h("p", {}, link("#/products", "Back to products")),
      productForm(null, categoryList)];
  }
  return [
    h("h1", {}, current.name),
    h("p", { class: "row" }, link("#/products", "Back to products"),
      badge(current.active ? "active" : "inactive"),
      h("span", { class: "muted" }, `Updated ${when(current.updated_at)}`)),
    h("div", { class: "split" },
      h("div", { class: "stack" }, productForm(current, categoryList), activation(current)),
      h("div", { class: "stack" },
        current.options.length ? variantsCard(current) : null,
        isAdmin() && !current.options.length ? await stockCard(current.sku) : null,
        current.image_url ? picture(current, { class: "preview" }) : null)),
  ];
}

export async function categories() {
  const table = await pagedTable({
    path: "/api/v1/categories",
    head: ["Name", "Slug"],
    row: (c) => h("tr", {}, h("td", {}, c.name), h("td", {}, h("code", {}, c.slug))),
    more: "More categories",
    empty: "No categories yet.",
  });
  return [
    h("h1", {}, "Categories"),
    h("div", { class: "split" },
      h("section", {}, table),
      h("section", {},
        h("h2", {}, "New category"),
        form({
          submit: "Create category",
          class: "card",
          task: async (element) => {
            await api("POST", "/api/v1/categories", { body: values(element) });
            reload("Category created.");
          },
          fields: [
            field("Name", { name: "name" }),
            field("Slug", { name: "slug", placeholder: "from the name when empty" }),
          ],
        }))),
  ];
}

function campaignForm() {
  return form({
    submit: "Create campaign",
    class: "card",
    task: async (element) => {
      const body = values(element);
      body.price = amount(element, "price", body.currency);
      body.original_price = amount(element, "original_price", body.currency);
      body.starts_at = instant(element, "starts_at");
      body.ends_at = instant(element, "ends_at");
      await api("POST", "/api/v1/campaigns", { body });
      reload("Campaign created.");
    },
    fields: [
      field("Name", { name: "name" }),
      field("SKU", { name: "sku", autocomplete: "off" }),
      h("div", { class: "row fields" },
        field("Price", { name: "price", inputmode: "decimal", placeholder: "9.99" }),
        field("Original price", { name: "original_price", inputmode: "decimal", placeholder: "12.50" }),
        field("Currency", { name: "currency", value: "EUR", maxlength: 3, size: 4 })),
      h("div", { class: "row fields" },
        field("Min participants", { name: "min_participants", type: "number", min: 1, step: 1 }),
        field("Max participants", { name: "max_participants", type: "number", min: 1, step: 1 })),
      h("div", { class: "row fields" },
        field("Starts at", { name: "starts_at", type: "datetime-local" }),
        field("Ends at", { name: "ends_at", type: "datetime-local" })),
      h("p", { class: "muted" }, "Times are yours; an empty start is now."),
    ],
  });
}

export async function campaigns() {
  const table = await pagedTable({
    path: "/api/v1/campaigns",
    head: ["Name", "SKU", th("Price", true), th("Usually", true), th("Participants", true), "Status", "Ends"],
    row: (c) => h("tr", {},
      h("td", {}, c.name),
      h("td", {}, h("code", {}, c.sku)),
      num(money(c.price, c.currency)),
      num(money(c.original_price, c.currency)),
      num(`${c.participants} (${c.min_participants}–${c.max_participants})`),
      h("td", {}, badge(c.status)),
      h("td", {}, when(c.ends_at))),
    more: "More campaigns",
    empty: "No campaigns yet.",
  });
  return [
    h("h1", {}, "Campaigns"),
    table,
    h("section", {},
      h("h2", {}, "New campaign"), campaignForm()),
  ];
}
