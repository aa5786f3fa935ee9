// Group buys: a product at a lower price once enough people join before the end.

import { call, query } from "./api.js";
import { h, show, link, money, when, badge, notice } from "./ui.js";
import { session, form, pages, addressFields, addressBody } from "./shop-kit.js";

const campaignPath = (id) => `/api/v1/campaigns/${encodeURIComponent(id)}`;

function prices(campaign) {
  const saving = Math.round((1 - campaign.price / campaign.original_price) * 100);
  return h("p", { class: "campaign-price" },
    h("span", { class: "price" }, money(campaign.price, campaign.currency)), " ",
    h("span", { class: "was" },
      h("span", { class: "sr-only" }, "instead of "),
      h("s", {}, money(campaign.original_price, campaign.currency))),
    saving > 0 ? h("span", { class: "saving" }, `Save ${saving}%`) : null);
}

/** Progress towards the minimum, named by its own text ("N of MIN joined"). */
function progress(campaign) {
  const id = `joined-${campaign.id}`;
  return h("div", { class: "campaign-progress" },
    h("progress", {
      max: campaign.min_participants,
      value: Math.min(campaign.participants, campaign.min_participants),
      "aria-labelledby": id,
    }),
    h("p", { class: "joined" },
      h("span", { id }, `${campaign.participants} of ${campaign.min_participants} joined`),
      h("span", { class: "muted" }, ` · ${campaign.max_participants} places`)));
}

function timing(campaign) {
  const ended = Date.parse(campaign.ends_at) <= Date.now();
  return h("p", { class: "muted" }, `${ended ? "Ended" : "Ends"} ${when(campaign.ends_at)}`);
}

function campaignCard(campaign) {
  return h("li", { class: "card campaign-card" },
    h("div", { class: "row spread" },
      h("h2", {}, link(`#/campaigns/${encodeURIComponent(campaign.id)}`, campaign.name)),
      badge(campaign.status)),
    prices(campaign),
    progress(campaign),
    timing(campaign));
}

/** #/campaigns */
export async function campaigns(view) {
  view.loading();
  const load = (cursor) => call("GET", `/api/v1/campaigns${query({ limit: 20, cursor })}`);
  const first = await load();
  const list = h("ul", { class: "grid campaign-grid" });
  const more = pages(list, first, { more: "More group buys", load, draw: campaignCard });
  view.show("Group buys",
    h("h1", {}, "Group buys"),
    h("p", { class: "lead" }, "Join with others: once enough people are in by the end date, everyone pays the group price."),
    first.items.length ? [list, more] : h("p", { class: "empty" }, "No group buys right now."));
}

const OUTLOOK = {
  active: (c) => `${Math.max(c.min_participants - c.participants, 0) || "No"} more needed to go ahead.`,
  successful: () => "It is on: enough people joined, and everyone pays the group price.",
  failed: () => "Not enough people joined in time, so it did not go ahead. Nobody was charged.",
};

/** Whether one more can still join: open, not ended, not full (joins stay open after success). */
function joinable(campaign) {
  return campaign.status !== "failed"
    && Date.parse(campaign.ends_at) > Date.now()
    && campaign.participants < campaign.max_participants;
}

/** The product sold, for a link to its page; null when the catalog does not show it. */
async function productOf(sku) {
  try {
    return (await call("GET", `/api/v1/products${query({ sku })}`)).items[0] ?? null;
  } catch {
    return null;
  }
}

function joinSection(campaign, onJoined) {
  const section = h("section", { class: "card join", "aria-labelledby": "join-title" },
    h("h2", { id: "join-title" }, "Join this group buy"));
  if (!session.claims) {
    section.append(h("p", {},
      link(`#/login${query({ next: location.hash })}`, "Log in to join"),
      " or ", link(`#/register${query({ next: location.hash })}`, "create an account"), "."));
    return section;
  }
  const done = h("div", { class: "outcome", tabindex: -1 });
  const joinForm = form({
    fields: [
      h("p", {}, campaign.status === "successful"
        ? `It is already on: you pay ${money(campaign.price, campaign.currency)} when you join.`
        : `You pay ${money(campaign.price, campaign.currency)} only if the group buy goes ahead.`),
      addressFields(),
    ],
    submit: "Join",
    task: async (element) => {
      const joined = await call("POST", `${campaignPath(campaign.id)}/join`, { session, body: addressBody(element) });
      element.remove();
      notice(done, "You joined");
      done.append(h("p", {}, joined.campaign.status === "successful"
        ? "The group buy is on: your order is being placed and will show among your orders."
        : "We take the payment once the group buy goes ahead; the order then shows among your orders."));
      done.focus();
      onJoined(joined.campaign);
    },
  });
  section.append(done, joinForm);
  return section;
}

/** #/campaigns/:id */
export async function campaign(view, { id }) {
  view.loading();
  const data = await call("GET", campaignPath(id));
  const item = await productOf(data.sku);
  const state = h("div", { class: "campaign-state" });
  const drawState = (c) => show(state,
    h("div", { class: "row" }, h("span", { class: "muted" }, "Status"), badge(c.status)),
    progress(c),
    h("p", {}, OUTLOOK[c.status]?.(c) ?? ""),
    timing(c));
  drawState(data);
  view.show(data.name,
    h("div", { class: "split" },
      h("article", { class: "card campaign-detail" },
        h("h1", {}, data.name),
        h("p", {}, "Product: ", item ? link(`#/products/${encodeURIComponent(item.id)}`, item.name) : data.sku),
        prices(data),
        state),
      joinable(data)
        ? joinSection(data, drawState)
        : h("p", { class: "card muted campaign-closed" }, data.status === "failed" || Date.parse(data.ends_at) <= Date.now()
          ? "This group buy is closed."
          : "This group buy is full.")));
}
