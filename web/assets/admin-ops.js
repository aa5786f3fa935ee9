// Operations: the dashboard (health, orders held for review) and the dead letters.

import { ApiError } from "./api.js";
import { badge, h, link, when } from "./ui.js";
import { outcome } from "./forms.js";
import { action, all, api, enc, isAdmin, num, pagedTable, problemBox, reload, th } from "./admin-kit.js";

/** GET /health answers 503 with the same shape when a check fails: both are a result. */
async function health() {
  try {
    return await api("GET", "/health");
  } catch (error) {
    if (error instanceof ApiError && error.problem?.checks) return error.problem;
    return error;
  }
}

function healthCard(result) {
  const body = result instanceof Error
    ? problemBox(result)
    : [
      h("p", { class: "row" }, "Overall ", badge(result.status)),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, th("Check"), th("Status"))),
        h("tbody", {}, Object.entries(result.checks).map(([name, status]) =>
          h("tr", {}, h("td", {}, name.replace(/_/g, " ")), h("td", {}, badge(status))))))),
    ];
  return h("section", { class: "card" },
    h("h2", {}, "Health"), body);
}

function reviewCard(held) {
  const body = held instanceof Error
    ? problemBox(held)
    : [
      h("p", { class: "count" }, String(held.length)),
      h("p", {}, held.length === 1 ? "order is held for review." : "orders are held for review."),
      link("#/orders?status=review", "Orders in review"),
    ];
  return h("section", { class: "card" },
    h("h2", {}, "Fraud review"), body);
}

export async function dashboard() {
  // Orders are an admin's: a vendor's dashboard is the stores' health.
  const [checks, held] = await Promise.all([
    health(),
    isAdmin() ? all("/api/v1/orders", { status: "review" }).catch((error) => error) : null,
  ]);
  return [h("h1", {}, "Dashboard"),
    h("div", { class: "grid" }, healthCard(checks), held ? reviewCard(held) : null)];
}

function deadLetterRow(letter, region) {
  return h("tr", {},
    h("td", {}, h("code", {}, letter.topic)),
    h("td", {}, letter.subscriber, h("br"), h("span", { class: "muted" }, letter.context)),
    num(letter.attempts),
    h("td", { class: "error-text" }, letter.last_error ?? ""),
    h("td", {}, when(letter.failed_at)),
    h("td", {}, h("details", {}, h("summary", {}, "Event"),
      h("pre", { class: "event" }, JSON.stringify(letter.event, null, 2)))),
    h("td", {}, action("Replay", async () => {
      const { dispatch } = await api("POST", `/api/v1/admin/dead-letters/${enc(letter.id)}/replay`);
      reload(`Replayed: ${dispatch.delivered} delivered, ${dispatch.retrying} retrying, ${dispatch.dead} dead again.`);
    }, { region })));
}

export async function deadLetters() {
  const region = outcome();
  const table = await pagedTable({
    path: "/api/v1/admin/dead-letters",
    head: ["Topic", "Subscriber", th("Attempts", true), "Last error", "Failed at", "Event", "Action"],
    row: (letter) => deadLetterRow(letter, region),
    more: "More dead letters",
    empty: "No dead letters",
  });
  return [
    h("h1", {}, "Dead letters"),
    h("p", { class: "muted" }, "Event deliveries that gave up after their retries, oldest first. Replaying one delivers it again."),
    region,
    table,
  ];
}
