// Browsing: the product grid (by category, a page at a time), search results, and a
// product's page with its options, the chosen variant's price and stock, and the
// add-to-cart form.

import { call, query } from "./api.js";
import { h, link, money, field, picture } from "./ui.js";
import { session, form, pages, signInFirst, cartChanged } from "./shop-kit.js";

const PAGE_SIZE = 12;

/** A product in a grid; the whole card is clickable through its name's link. */
function productCard(product) {
  return h("li", { class: "card product-card" },
    picture(product, { loading: "lazy" }),
    h("h2", { class: "product-name" }, link(`#/products/${encodeURIComponent(product.id)}`, product.name)),
    product.brand ? h("p", { class: "muted brand" }, product.brand) : null,
    h("p", { class: "price" }, fromPrice(product)));
}

/** The product's price; "From …" when its variants differ in price. */
function fromPrice(product) {
  const prices = new Set((product.variants || []).map((variant) => variant.price));
  return `${prices.size > 1 ? "From " : ""}${money(product.price, product.currency)}`;
}

/** The variant of `product` with the option values `picked` (name → value); null when
 * none is sold with them. */
function variantWith(product, picked) {
  return product.variants.find((variant) =>
    product.options.every((option) => variant.options[option.name] === picked[option.name])) ?? null;
}

function productGrid() {
  return h("ul", { class: "grid product-grid" });
}

function loadProducts(categoryId, cursor) {
  return call("GET", `/api/v1/products${query({ category_id: categoryId, limit: PAGE_SIZE, cursor })}`);
}

function categoryNav(categories, activeId) {
  const chip = (hash, text, active) =>
    h("li", {}, h("a", { href: hash, class: "chip", "aria-current": active ? "page" : null }, text));
  return h("nav", { "aria-label": "Categories" },
    h("ul", { class: "chips" },
      chip("#/", "All products", !activeId),
      categories.map((category) =>
        chip(`#/${query({ category: category.id })}`, category.name, category.id === activeId))));
}

/** #/ and #/?category=ID */
export async function home(view, _params, search) {
  const categoryId = search.get("category") || "";
  view.loading();
  const [categories, first] = await Promise.all([
    call("GET", `/api/v1/categories${query({ limit: 100 })}`),
    loadProducts(categoryId),
  ]);
  const category = categories.items.find((c) => c.id === categoryId);
  const grid = productGrid();
  const more = pages(grid, first, {
    more: "More products",
    load: (cursor) => loadProducts(categoryId, cursor),
    draw: productCard,
  });
  view.show(category?.name ?? "Shop",
    h("h1", {}, category?.name ?? "All products"),
    categories.items.length ? categoryNav(categories.items, categoryId) : null,
    first.items.length ? [grid, more] : h("p", { class: "empty" }, "No products here yet."));
}

/** #/search?q= */
export async function search(view, _params, params) {
  const q = (params.get("q") || "").trim();
  if (!q) {
    view.show("Search", h("h1", {}, "Search"), h("p", {}, "Type what you are looking for in the search box above."));
    return;
  }
  view.loading();
  const results = await call("GET", `/api/v1/search${query({ q, limit: 48 })}`);
  const grid = productGrid();
  grid.append(...results.items.map(productCard));
  view.show(`Results for “${q}”`,
    h("h1", {}, `Results for “${q}”`),
    results.items.length
      ? grid
      : h("p", { class: "empty" }, "Nothing matches. Try another word, or ", link("#/", "browse all products"), "."));
}

/** Whether one unit of `sku` can be had (the public stock check); null when unknown. */
async function inStock(sku) {
  try {
    const answer = await call("POST", "/api/v1/inventory/check-availability", {
      body: { items: [{ sku, quantity: 1 }] },
      keyed: false,
    });
    return answer.items.every((line) => line.available);
  } catch {
    return null;
  }
}

function stockLine(available) {
  const text = available === null ? "Stock unknown" : available ? "In stock" : "Out of stock";
  const tone = available === null ? "" : available ? "in" : "out";
  return h("p", { class: `stock ${tone}`, "data-testid": "stock" }, text);
}

/** The add-to-cart form for the variant `chosen()` names when it is sent. */
function addToCartForm(chosen) {
  return form({
    class: "add-to-cart",
    fields: field("Quantity", {
      type: "number", name: "quantity", min: 1, max: 1000, value: 1, inputmode: "numeric", class: "quantity",
    }),
    submit: "Add to cart",
    task: async (element) => {
      if (!session.claims) return signInFirst();
      if (!chosen()) return "Pick a combination that is sold.";
      const cart = await call("POST", "/api/v1/cart/items", {
        session,
        body: { sku: chosen().sku, quantity: Number(element.elements.quantity.value) },
      });
      cartChanged(cart.item_count);
      return "Added to cart";
    },
  });
}

/** #/products/:id */
export async function product(view, { id }) {
  view.loading();
  const item = await call("GET", `/api/v1/products/${encodeURIComponent(id)}`);
  let chosen = item.variants[0];
  const picked = { ...chosen.options };
  const buy = addToCartForm(() => chosen);
  const submit = buy.querySelector("button[type=submit]");
  // Nothing to sell: say so rather than let the order be rejected later.
  const restocking = h("p", { class: "muted", hidden: true }, "Check back soon: we are restocking.");
  buy.append(restocking);
  if (!session.claims) buy.append(h("p", { class: "muted" }, "You will be asked to sign in first."));
  const price = h("p", { class: "price big" });
  const stock = h("div", { class: "stock-slot" });
  const sku = h("p", { class: "muted sku" });
  async function choose(variant) {
    chosen = variant;
    submit.disabled = true; // until this variant's stock is known
    price.textContent = variant ? money(variant.price, item.currency) : "";
    sku.textContent = variant ? `SKU ${variant.sku}` : "";
    const available = variant ? await inStock(variant.sku) : false;
    if (variant !== chosen) return; // another choice came meanwhile
    stock.replaceChildren(variant
      ? stockLine(available)
      : h("p", { class: "stock out", "data-testid": "stock" }, "Not sold in this combination"));
    submit.disabled = !variant || available === false;
    restocking.hidden = !variant || available !== false;
  }
  const picker = item.options.map((option, i) => field(option.name, {
    type: "select", name: `option-${i}`, value: picked[option.name],
    options: option.values.map((value) => [value, value]),
    onchange: (event) => {
      picked[option.name] = event.target.value;
      choose(variantWith(item, picked));
    },
  }));
  await choose(chosen);
  view.show(item.name,
    h("article", { class: "product-detail" },
      picture(item, { loading: "lazy" }),
      h("div", { class: "product-info" },
        h("h1", {}, item.name),
        item.brand ? h("p", { class: "muted brand" }, item.brand) : null,
        price,
        picker.length ? h("div", { class: "variant-picker" }, picker) : null,
        stock,
        item.description ? h("p", { class: "description" }, item.description) : null,
        buy,
        sku)));
}
