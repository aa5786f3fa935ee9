// Building pages without ever parsing a string as HTML: every text the app sends goes
// into a text node (a product named "<script>" shows as text), so nothing here uses
// innerHTML. Also the hash router both pages use, money, dates, addresses, product pictures
// and problem display.

/**
 * An element: `attributes` become properties or attributes (`on*` functions become
 * listeners, `class` the class name); `children` are nodes or strings (text), arrays are
 * flattened, null and false skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `container` shows. */
export function show(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

/** A labelled input: the label names it for screen readers and keyboard users. */
export function field(label, attributes = {}) {
  const id = attributes.id || `field-${attributes.name}`;
  const control =
    attributes.type === "textarea"
      ? h("textarea", { ...attributes, type: null, id })
      : attributes.type === "select"
        ? h("select", { ...attributes, type: null, options: null, id },
            (attributes.options || []).map(([value, text]) => h("option", { value }, text)))
        : h("input", { ...attributes, id });
  // A select's and a textarea's value is a property, not an attribute.
  if ((attributes.type === "select" || attributes.type === "textarea") && attributes.value !== undefined) {
    control.value = attributes.value;
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

/** A form's values by input name (numbers for `type=number`, empty strings dropped). */
export function values(form) {
  const result = {};
  for (const element of form.elements) {
    if (!element.name || element.value === "") continue;
    result[element.name] = element.type === "number" ? Number(element.value) : element.value;
  }
  return result;
}

/**
 * Shows a failed call in `container`: the problem's `detail` (or title), and each of its
 * `errors` next to the field it names when the form has one, as a list otherwise.
 */
export function showProblem(container, error, form) {
  const problem = error?.problem || { detail: String(error?.message || error) };
  if (form) clearFieldErrors(form);
  const unplaced = [];
  for (const fieldError of problem.errors || []) {
    const input = form?.querySelector(`[name="${CSS.escape(fieldError.field)}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.after(h("p", { class: "field-error" }, fieldError.message));
    } else {
      unplaced.push(fieldError);
    }
  }
  show(
    container,
    h("div", { class: "alert", role: "alert" },
      h("strong", {}, problem.title || "Something went wrong"),
      problem.detail && problem.detail !== problem.title ? h("p", {}, problem.detail) : null,
      unplaced.length
        ? h("ul", {}, unplaced.map((e) => h("li", {}, h("code", {}, e.field), ": ", e.message)))
        : null),
  );
}

/** Removes the field errors a previous failure left in `form` (or any element holding fields). */
export function clearFieldErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** A short confirmation in `container`, read out by screen readers. */
export function notice(container, text) {
  show(container, h("div", { class: "notice", role: "status" }, text));
}

/** An order's discounts as [label, minor units] pairs (negative: taken off), for its totals. */
export function discountLines(order) {
  return (order.discounts ?? []).map((discount) =>
    [discount.code ? `${discount.name} (${discount.code})` : discount.name, -discount.amount]);
}

/** Minor units of `currency` as the reader's locale writes them. */
export function money(minor, currency) {
  if (minor === undefined || minor === null) return "";
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(minor / 10 ** digits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

/** An amount typed by a person ("12.50") in minor units of `currency`. */
export function toMinor(text, currency = "EUR") {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat(undefined, { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits;
  } catch {}
  return Math.round(Number(text) * 10 ** digits);
}

/** A time (RFC 3339 or Unix milliseconds) in the reader's locale. */
export function when(time) {
  if (time === undefined || time === null) return "";
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : date.toLocaleString();
}

/** A postal address, one part a line. */
export function address(a) {
  if (!a) return null;
  const lines = [a.name, a.line1, `${a.postal_code} ${a.city}`, a.country];
  return h("address", {}, lines.flatMap((line, i) => (i ? [h("br"), line] : [line])));
}

/**
 * A product's picture (`attributes` go to the <img>, `class` added to its box's), or a
 * tinted block with its initial when it has none or it does not load (a dead URL, a closed
 * network) rather than the browser's broken-image icon.
 */
export function picture(product, { class: className, ...attributes } = {}) {
  const box = className ? `product-image ${className}` : "product-image";
  const placeholder = () =>
    h("div", { class: `${box} placeholder`, "aria-hidden": "true" }, product.name.trim().charAt(0));
  if (!product.image_url) return placeholder();
  return h("img", {
    ...attributes, src: product.image_url, alt: "", class: box,
    onerror: (event) => event.target.replaceWith(placeholder()),
  });
}

/** A status as a badge whose class names it (for its colour). */
export function badge(status) {
  return h("span", { class: `badge status-${String(status).replace(/[^a-z_]/g, "")}` }, String(status).replace(/_/g, " "));
}

/**
 * The hash router: `routes` maps a pattern like "#/products/:id" to a function of the
 * captured parameters and the query. Navigating is changing `location.hash`, so the back
 * button, links and bookmarks work without a server-side route per page.
 */
export function router(routes, fallback) {
  const compiled = Object.entries(routes).map(([pattern, render]) => {
    const names = [];
    const regex = new RegExp(
      `^${pattern.replace(/:[a-z_]+/g, (name) => {
        names.push(name.slice(1));
        return "([^/]+)";
      })}$`,
    );
    return { regex, names, render };
  });
  const dispatch = () => {
    // An in-page anchor (the skip link's "#content") is not a page.
    if (location.hash && !location.hash.startsWith("#/")) return;
    const [path, search = ""] = (location.hash || "#/").split("?");
    const params = new URLSearchParams(search);
    for (const { regex, names, render } of compiled) {
      const match = path.match(regex);
      if (match) {
        let captured;
        try {
          captured = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
        } catch {
          return fallback(path); // a malformed escape in the address is no page
        }
        return render(captured, params);
      }
    }
    return fallback(path);
  };
  window.addEventListener("hashchange", dispatch);
  dispatch();
  return dispatch;
}

/** A link to a page of this app's hash router. */
export function link(hash, ...children) {
  return h("a", { href: hash }, ...children);
}
