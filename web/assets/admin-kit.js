// What every admin view shares: the session and its API calls, navigation with a notice
// that survives the re-render, forms and buttons that show their own failures, paged
// tables, and a few small formatters.

import { ApiError, Session, call, query } from "./api.js";
import { h, notice, showProblem, toMinor } from "./ui.js";

export const session = new Session("admin");

/** Whether the signed-in token may use the admin (admins and vendors). */
export function isStaff() {
  const role = session.claims?.role;
  return role === "admin" || role === "vendor";
}

/** `call` with the admin's token; a 401 is marked so the page can go back to sign in. */
export async function api(method, path, options = {}) {
  try {
    return await call(method, path, { ...options, session });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) error.sessionEnded = true;
    throw error;
  }
}

/** Every item of a paged list (for short lists: categories, orders in review). */
export async function all(path, params = {}) {
  const items = [];
  let cursor;
  do {
    const page = await api("GET", path + query({ ...params, limit: 100, cursor }));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

export const enc = encodeURIComponent;

// The notice to show above the next rendered view ("Product saved"), and the last route
// (the skip link sets the hash to "#content", which is not a route).
let flash = null;
let navigations = 0;
let route = location.hash.startsWith("#/") ? location.hash : "#/";
window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/") || !location.hash) route = location.hash || "#/";
});

/** Shows `hash` (re-rendering it when it is the current one), with `message` on top. */
export function go(hash, message = null) {
  flash = message;
  navigations += 1;
  if (hash === (location.hash || "#/")) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** Renders the current view again (after an action changed what it shows). */
export function reload(message) {
  go(route, message);
}

/** The notice `go` left for this render, once. */
export function takeFlash() {
  const message = flash;
  flash = null;
  return message;
}

/** Where a form's or a button's outcome is shown and read out. */
export function messages() {
  return h("div", { class: "messages", "aria-live": "polite" });
}

/** Shows a failed call; a session that ended goes back to sign in. */
function failed(region, error, form) {
  if (error?.sessionEnded) reload("Your session has ended: sign in again.");
  else showProblem(region, error, form);
}

/** A region already showing `error` (for a view or a section that could not load). */
export function problemBox(error) {
  if (error?.sessionEnded) throw error;
  const region = messages();
  showProblem(region, error);
  return region;
}

function clearProblems(region, form) {
  region.replaceChildren();
  for (const message of form?.querySelectorAll(".field-error") || []) message.remove();
  for (const input of form?.querySelectorAll("[aria-invalid]") || []) input.removeAttribute("aria-invalid");
}

/**
 * Runs `run` with `button` disabled; a string it returns is shown in `region` as a notice,
 * a failure as the problem (next to `form`'s fields). A button whose run moved on to
 * another render stays disabled: the render replaces it, and a second click meanwhile
 * would repeat the request.
 */
async function busy(button, region, run, form) {
  const before = navigations;
  button.disabled = true;
  clearProblems(region, form);
  try {
    const message = await run();
    if (message) notice(region, message);
  } catch (error) {
    failed(region, error, form);
  } finally {
    if (navigations === before) button.disabled = false;
  }
}

/** A form whose submit button runs `run(form)` once at a time (see `busy`). */
export function form({ submit, run, class: className }, ...fields) {
  const region = messages();
  const button = h("button", { type: "submit" }, submit);
  const element = h("form", { class: className, novalidate: true },
    fields, h("div", { class: "row" }, button), region);
  element.addEventListener("submit", (event) => {
    // The page's CSP has form-action 'none': a form is never sent by the browser.
    event.preventDefault();
    if (!button.disabled) busy(button, region, () => run(element), element);
  });
  return element;
}

/** A button that runs `run()` once at a time (see `busy`), after `confirm` when given. */
export function action(text, run, { region, confirm: question, class: className = "secondary" }) {
  const button = h("button", { type: "button", class: className }, text);
  button.addEventListener("click", () => {
    if (question && !window.confirm(question)) return;
    busy(button, region, run);
  });
  return button;
}

const PAGE = 20;

/** A column header; `number` right-aligns it like its cells. */
export function th(text, number = false) {
  return h("th", { scope: "col", class: number ? "number" : null }, text);
}

/** A right-aligned cell (amounts, counts). */
export function num(...children) {
  return h("td", { class: "number" }, ...children);
}

/**
 * The first page of `path` as a table (`row` makes each item's <tr>) and a `more` button
 * that appends the next pages; `empty` when there is nothing.
 */
export async function pagedTable({ path, params = {}, head, row, more, empty }) {
  const first = await api("GET", path + query({ ...params, limit: PAGE }));
  if (first.items.length === 0) return h("p", { class: "muted" }, empty);
  const body = h("tbody", {}, first.items.map(row));
  const region = messages();
  let cursor = first.next_cursor;
  const button = action(more, async () => {
    const page = await api("GET", path + query({ ...params, limit: PAGE, cursor }));
    const rows = page.items.map(row);
    body.append(...rows);
    cursor = page.next_cursor;
    if (!cursor) {
      button.remove();
      // The button had the focus: give it to the first new row rather than the page.
      rows[0]?.querySelector("a, button")?.focus();
    }
  }, { region });
  return h("div", { class: "paged" },
    h("div", { class: "table-wrap" },
      h("table", {}, h("thead", {}, h("tr", {}, head.map((cell) => (typeof cell === "string" ? th(cell) : cell)))), body)),
    cursor ? h("div", { class: "row more" }, button) : null,
    region);
}

/** A definition list of [term, value] pairs, leaving out empty values. */
export function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** A postal address, one part a line. */
export function address(a) {
  if (!a) return null;
  const lines = [a.name, a.line1, `${a.postal_code} ${a.city}`, a.country];
  return h("address", {}, lines.flatMap((line, i) => (i ? [h("br"), line] : [line])));
}

/** A problem shaped like the app's 422, for a field checked before sending. */
export function invalid(field, message) {
  return new ApiError(422, { title: "Check the form", errors: [{ field, message }] });
}

/** The amount typed in `form`'s field `name` in minor units; undefined when empty and `optional`. */
export function amount(form, name, currency, { optional = false } = {}) {
  const text = form.elements[name].value.trim();
  if (optional && text === "") return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw invalid(name, "Enter an amount like 12.50");
  return toMinor(text, currency || undefined);
}

/** Minor units as a person types them ("12.50"), to fill a form. */
export function decimal(minor, currency) {
  const unit = toMinor("1", currency); // 100 for EUR, 1 for JPY
  return (minor / unit).toFixed(Math.round(Math.log10(unit)));
}

/** A datetime-local input's value as RFC 3339; undefined when empty. */
export function instant(form, name) {
  const text = form.elements[name].value;
  if (!text) return undefined;
  const date = new Date(text); // datetime-local has no offset: read as the reader's time
  if (Number.isNaN(date.getTime())) throw invalid(name, "Enter a date and time");
  return date.toISOString();
}
