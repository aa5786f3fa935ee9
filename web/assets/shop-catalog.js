// Browsing: the product grid (by category, a page at a time), search results, and a
// product's page with its stock and the add-to-cart form.

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
    h("p", { class: "price" }, money(product.price, product.currency)));
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

function addToCartForm(product) {
  return form({
    class: "add-to-cart",
    fields: field("Quantity", {
      type: "number", name: "quantity", min: 1, max: 1000, value: 1, inputmode: "numeric", class: "quantity",
    }),
    submit: "Add to cart",
    task: async (element) => {
      if (!session.claims) return signInFirst();
      const cart = await call("POST", "/api/v1/cart/items", {
        session,
        body: { sku: product.sku, quantity: Number(element.elements.quantity.value) },
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
  const available = await inStock(item.sku);
  const buy = addToCartForm(item);
  if (available === false) {
    // Nothing to sell: say so rather than let the order be rejected later.
    buy.querySelector("button[type=submit]").disabled = true;
    buy.append(h("p", { class: "muted" }, "Check back soon: we are restocking."));
  } else if (!session.claims) {
    buy.append(h("p", { class: "muted" }, "You will be asked to sign in first."));
  }
  view.show(item.name,
    h("article", { class: "product-detail" },
      picture(item, { loading: "lazy" }),
      h("div", { class: "product-info" },
        h("h1", {}, item.name),
        item.brand ? h("p", { class: "muted brand" }, item.brand) : null,
        h("p", { class: "price big" }, money(item.price, item.currency)),
        stockLine(available),
        item.description ? h("p", { class: "description" }, item.description) : null,
        buy,
        h("p", { class: "muted sku" }, `SKU ${item.sku}`))));
}
