// What the storefront's views share: the session, a view's lifetime (so a slow answer or a
// poll never draws over the page the reader has moved on to), its way of running forms and
// lists that grow a page at a time (forms.js), fields sent as nested JSON, and the
// address-and-card fields that checkout and joining a group buy both ask for.

import { Session } from "./api.js";
import { h, show, field, showProblem, link } from "./ui.js";
import { forms, outcome } from "./forms.js";

export const session = new Session("shop");

const content = () => document.getElementById("content");
let current = null;

/** One navigation's page. Creating a view leaves the previous one. */
export class View {
  #left = false;
  #shown = false;
  #timer = null;
  #schedule = 0;

  constructor() {
    current?.leave();
    current = this;
  }

  /** True once the reader has navigated elsewhere: late answers are then dropped. */
  get left() {
    return this.#left;
  }

  leave() {
    this.#left = true;
    clearTimeout(this.#timer);
  }

  /** A placeholder while the first call runs (focus stays put until the page is there). */
  loading() {
    if (!this.left) show(content(), h("p", { class: "muted", role: "status" }, "Loading…"));
  }

  /**
   * Shows the page, titled `title`, unless the reader has left it. The first time, focus
   * moves to main so keyboard and screen-reader users start at the new content.
   */
  show(title, ...children) {
    if (this.left) return;
    document.title = `${title} · FusionCommerce`;
    show(content(), ...children);
    if (!this.#shown) {
      this.#shown = true;
      // A new page starts at its top, header included (focusing main alone would scroll past it).
      content().focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  }

  /** A page for a call that failed: its problem, and a way on. */
  fail(error) {
    if (this.left) return;
    if (error?.status === 401) {
      // The token expired (api.js forgot it): the header must say so, then sign in again.
      sessionChanged();
      signInFirst({ replace: true });
      return;
    }
    const box = outcome();
    showProblem(box, error);
    this.show(
      "Something went wrong",
      h("h1", {}, error?.status === 404 ? "Not found" : "Something went wrong"),
      box,
      h("p", {}, link("#/", "Browse products")),
    );
  }

  /**
   * Runs `task(live)` every `ms` milliseconds, one run at a time, until it resolves to
   * false or the view is left. A new call replaces the previous schedule; `live()` tells a
   * run still in flight whether its answer is still wanted.
   */
  repeat(ms, task) {
    clearTimeout(this.#timer);
    const schedule = ++this.#schedule;
    const live = () => !this.left && schedule === this.#schedule;
    const tick = async () => {
      if (!live()) return;
      const again = await task(live);
      if (again && live()) this.#timer = setTimeout(tick, ms);
    };
    this.#timer = setTimeout(tick, ms);
  }
}

/** Tells the header that the reader signed in or out. */
export function sessionChanged() {
  document.dispatchEvent(new CustomEvent("shop:session"));
}

/** Tells the header the cart now holds `count` units (undefined: ask the app). */
export function cartChanged(count) {
  document.dispatchEvent(new CustomEvent("shop:cart", { detail: count }));
}

/** Sends the reader to sign in, then back here. `replace` for pages that need it to show at all. */
export function signInFirst({ replace = false } = {}) {
  const target = `#/login?next=${encodeURIComponent(location.hash || "#/")}`;
  if (replace) location.replace(target);
  else location.hash = target;
}

// Forms, buttons and "More" buttons (forms.js) as the storefront runs them: a form's
// outcome shows just above its button, where the reader's eyes are.
const { run, form, action, more } = forms({ arrange: (button, region) => [region, button] });
export { run, form, action };

/**
 * A form's fields as a nested object: "shipping_address.city" becomes
 * `{ shipping_address: { city } }`. Blank fields stay "" so the app names all of them at once.
 */
function nested(form) {
  const result = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    const path = element.name.split(".");
    const last = path.pop();
    let target = result;
    for (const key of path) target = target[key] ??= {};
    target[last] = element.value.trim();
  }
  return result;
}

const COUNTRIES = [
  ["GB", "United Kingdom"], ["DE", "Germany"], ["FR", "France"], ["NL", "Netherlands"],
  ["IE", "Ireland"], ["ES", "Spain"], ["IT", "Italy"], ["US", "United States"],
];

/** A field with a hint under its label, tied to the input for screen readers. */
export function hinted(label, hint, attributes) {
  const id = `hint-${attributes.name.replace(/\W/g, "-")}`;
  const wrapper = field(label, { ...attributes, "aria-describedby": id });
  wrapper.querySelector("label").after(h("span", { class: "hint", id }, hint));
  return wrapper;
}

/** Where to ship and which test card to pay with: checkout's and a group buy's join form. */
export function addressFields() {
  return [
    h("fieldset", {},
      h("legend", {}, "Shipping address"),
      field("Full name", { name: "shipping_address.name", autocomplete: "name", required: true }),
      field("Address", { name: "shipping_address.line1", autocomplete: "address-line1", required: true }),
      h("div", { class: "pair" },
        field("City", { name: "shipping_address.city", autocomplete: "address-level2", required: true }),
        field("Postal code", { name: "shipping_address.postal_code", autocomplete: "postal-code", required: true })),
      hinted("Country", "Two-letter code, e.g. GB or DE", {
        name: "shipping_address.country", autocomplete: "country", list: "countries",
        maxlength: 2, class: "country", required: true,
      }),
      h("datalist", { id: "countries" }, COUNTRIES.map(([code, name]) => h("option", { value: code }, name)))),
    h("fieldset", {},
      h("legend", {}, "Payment"),
      hinted("Card", "Test cards: no money moves.", {
        type: "select", name: "payment.token",
        options: [["tok_visa", "Visa (test, succeeds)"], ["tok_chargeDeclined", "Declined card (test)"]],
      })),
  ];
}

/** The body of a checkout or a join, from a form built with addressFields(). */
export function addressBody(form) {
  const body = nested(form);
  body.shipping_address.country = body.shipping_address.country.toUpperCase();
  return body;
}

/** Appends `first`'s items to `list`; a "More …" button (forms.js' `more`) with its outcome below, or null. */
export function pages(list, first, { more: text, load, draw }) {
  const box = outcome();
  const button = more(list, first, { text, load, draw, region: box });
  return button && h("div", { class: "more" }, button, box);
}
