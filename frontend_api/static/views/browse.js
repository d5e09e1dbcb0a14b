// Browse: search, category, kind, price range, sort, sold-out items, pages of cards.
import { api } from "../lib/api.js";
import { el, field } from "../lib/dom.js";
import { KINDS, money, toUnits, trustLine } from "../lib/format.js";

const PAGE = 12;
const SORTS = { newest: "Newest first", price_asc: "Price: low to high", price_desc: "Price: high to low", trust: "Most trusted sellers" };

export function card(item) {
  const title = item.title || "(listing details unavailable)";
  const image = item.image_urls.length
    ? el("img", { src: item.image_urls[0], alt: title, loading: "lazy" })
    : el("div", { class: "noimg" }, el("span", { class: "visually-hidden" }, title), "No photo");
  const sold = !item.available;
  return el("article", { class: `card${sold ? " sold" : ""}`, "data-testid": "listing-card", "data-id": item.listing_id },
    el("a", { href: `#/listing/${item.listing_id}`, class: "cover" }, image, sold ? el("span", { class: "badge sold" }, "Sold out") : null),
    el("div", { class: "body" },
      el("h3", {}, el("a", { href: `#/listing/${item.listing_id}` }, title)),
      el("div", { class: "price" }, money(item.price, item.token_info),
        item.unit > 0 ? ` / ${{ 3600: "hour", 86400: "day", 604800: "week" }[item.unit] || "period"}` : null,
        item.kind === "rental" ? el("span", { class: "muted" }, ` + ${money(item.deposit, item.token_info)} deposit`) : null),
      el("div", { class: "meta" }, KINDS[item.kind] || "Listing", item.category ? ` · ${item.category}` : ""),
      el("div", { class: "trust", "data-testid": "card-trust" }, trustLine(item.seller_trust_view))));
}

export async function showBrowse({ view, current, params }) {
  const q = params.get("q") || "";
  const kind = params.get("kind") || "";
  const category = params.get("category") || "";
  const sort = params.get("sort") || "newest";
  const min = params.get("min") || "";
  const max = params.get("max") || "";
  const sold = params.get("sold") === "1";
  const page = Math.max(1, Number(params.get("page") || 1));

  const query = new URLSearchParams({ limit: String(PAGE), offset: String((page - 1) * PAGE), sort, available_only: sold ? "false" : "true" });
  if (q) query.set("text", q);
  if (kind) query.set("kind", kind);
  if (category) query.set("category", category);
  try {
    if (min) query.set("min_price", toUnits(min, 18, { allowZero: true }).toString());
    if (max) query.set("max_price", toUnits(max, 18, { allowZero: true }).toString());
    if (min || max) query.set("token", "ETH");
  } catch (err) {
    throw new Error(`price filter: ${err.message}`);
  }
  const [result, cats] = await Promise.all([
    api(`/api/listings?${query}`),
    api(`/api/listings/categories?available_only=${sold ? "false" : "true"}`).catch(() => ({ items: [] })),
  ]);
  if (!current()) return;

  const input = el("input", { name: "q", type: "search", placeholder: "Search listings", value: q, "data-testid": "search-input" });
  const kindSelect = el("select", { name: "kind", "data-testid": "search-kind" },
    el("option", { value: "" }, "All kinds"), ...Object.entries(KINDS).map(([v, t]) => el("option", { value: v }, t)));
  kindSelect.value = kind;
  const catSelect = el("select", { name: "category", "data-testid": "search-category" },
    el("option", { value: "" }, "All categories"),
    ...cats.items.map((c) => el("option", { value: c.name }, `${c.name} (${c.count})`)));
  if (category && !cats.items.some((c) => c.name === category)) catSelect.append(el("option", { value: category }, category));
  catSelect.value = category;
  const sortSelect = el("select", { name: "sort", "data-testid": "search-sort" }, ...Object.entries(SORTS).map(([v, t]) => el("option", { value: v }, t)));
  sortSelect.value = sort;
  const minInput = el("input", { name: "min", inputmode: "decimal", placeholder: "0", value: min, size: "6", "data-testid": "search-min" });
  const maxInput = el("input", { name: "max", inputmode: "decimal", placeholder: "any", value: max, size: "6", "data-testid": "search-max" });
  const soldBox = el("input", { type: "checkbox", name: "sold", checked: sold, "data-testid": "search-sold" });

  const go = (overrides = {}) => {
    const next = new URLSearchParams();
    const values = { q: input.value.trim(), kind: kindSelect.value, category: catSelect.value, sort: sortSelect.value,
      min: minInput.value.trim(), max: maxInput.value.trim(), sold: soldBox.checked ? "1" : "", ...overrides };
    for (const [key, value] of Object.entries(values)) if (value && !(key === "sort" && value === "newest") && !(key === "page" && value === 1)) next.set(key, value);
    location.hash = `#/?${next}`;
  };
  const form = el("form", { class: "search", role: "search", onsubmit: (event) => { event.preventDefault(); go(); } },
    el("div", { class: "searchbar" },
      el("label", { for: "q", class: "visually-hidden" }, "Search listings"), Object.assign(input, { id: "q" }),
      el("button", { type: "submit", "data-testid": "search-button" }, "Search")),
    el("div", { class: "filters" },
      field("Category", catSelect), field("Kind", kindSelect), field("Sort", sortSelect),
      field("Min price (ETH)", minInput), field("Max price (ETH)", maxInput),
      el("div", { class: "field check" }, soldBox, el("label", { for: soldBox.id || (soldBox.id = "sold") }, "Show sold-out items"))));
  for (const control of [kindSelect, catSelect, sortSelect, soldBox]) control.addEventListener("change", () => go());

  const grid = el("div", { class: "grid", "data-testid": "results" });
  for (const item of result.items) grid.append(card(item));
  if (!result.items.length) grid.append(el("p", { class: "empty", "data-testid": "no-results" }, "No listings found."));
  const pages = Math.max(1, Math.ceil(result.total / PAGE));
  const pager = el("nav", { class: "pager", "aria-label": "Pages" },
    el("button", { type: "button", class: "secondary", disabled: page <= 1, "data-testid": "page-prev", onclick: () => go({ page: page - 1 }) }, "← Previous"),
    el("span", { "data-testid": "page-info" }, `Page ${page} of ${result.total_exact ? pages : `${pages}+`}`),
    el("button", { type: "button", class: "secondary", disabled: page >= pages, "data-testid": "page-next", onclick: () => go({ page: page + 1 }) }, "Next →"));
  view.replaceChildren(...[
    el("h1", { class: "visually-hidden" }, "Browse listings"),
    form,
    el("p", { class: "count", "data-testid": "result-count" }, `${result.total}${result.total_exact ? "" : "+"} listing${result.total === 1 ? "" : "s"}`),
    grid,
    pages > 1 ? pager : null].filter(Boolean));
}
