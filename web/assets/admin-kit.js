// What every admin view shares: the session and its API calls, navigation with a notice
// that survives the re-render, its way of running forms, buttons and paged tables
// (forms.js), and a few small formatters.

import { ApiError, Session, call, query } from "./api.js";
import { h, showProblem, toMinor } from "./ui.js";
import { forms, outcome } from "./forms.js";

export const session = new Session("admin");

/** Whether the signed-in token may use the admin (admins and vendors). */
export function isStaff() {
  const role = session.claims?.role;
  return role === "admin" || role === "vendor";
}

/** Whether the signed-in token is an admin's (vendors keep to the catalog and campaigns). */
export function isAdmin() {
  return session.claims?.role === "admin";
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
let route = location.hash.startsWith("#/") ? location.hash : "#/";
window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/") || !location.hash) route = location.hash || "#/";
});

/** Shows `hash` (re-rendering it when it is the current one), with `message` on top. */
export function go(hash, message = null) {
  flash = message;
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

// Forms, buttons and "More" buttons (forms.js) as the admin runs them: a session that
// ended goes back to sign in.
const { form, action, more } = forms({
  fail: (region, error, scope) => {
    if (error?.sessionEnded) reload("Your session has ended: sign in again.");
    else showProblem(region, error, scope);
  },
  arrange: (button, region) => [h("div", { class: "row" }, button), region],
});
export { form, action };

/** A region already showing `error` (for a view or a section that could not load). */
export function problemBox(error) {
  if (error?.sessionEnded) throw error;
  const region = outcome();
  showProblem(region, error);
  return region;
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
export async function pagedTable({ path, params = {}, head, row, more: text, empty }) {
  const load = (cursor) => api("GET", path + query({ ...params, limit: PAGE, cursor }));
  const first = await load();
  if (first.items.length === 0) return h("p", { class: "muted" }, empty);
  const body = h("tbody");
  const region = outcome();
  const button = more(body, first, { text, load, draw: row, region });
  return h("div", { class: "paged" },
    h("div", { class: "table-wrap" },
      h("table", {}, h("thead", {}, h("tr", {}, head.map((cell) => (typeof cell === "string" ? th(cell) : cell)))), body)),
    button ? h("div", { class: "row more" }, button) : null,
    region);
}

/** A definition list of [term, value] pairs, leaving out empty values. */
export function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
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
