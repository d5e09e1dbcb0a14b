// Requests: what buyers ask for. Browse open requests (filters: kind, category, token, text) and
// read one request: its details, the live listings that match it and the answers it received.
// Not yet here: posting a request, answering, accepting (see the branch report).
import { api } from "../lib/api.js";
import { el, field, terms } from "../lib/dom.js";
import { ETH, KINDS, date, money, short } from "../lib/format.js";

function price(req) {
  if (req.token === "ETH") return money(req.max_price, ETH);
  return `${req.max_price} base units of ${short(req.token)}`;
}

function where(doc) {
  const place = doc && doc.location;
  if (!place) return "Anywhere";
  const radius = doc.radius_km ? ` (within ${doc.radius_km} km)` : "";
  return `${place.text}${radius}`;
}

// The wanted time window: ISO 8601 times with an offset, shown as written (the requester's clock).
function when(doc) {
  const window = doc && doc.when;
  if (!window || (!window.start && !window.end)) return "Any time";
  const show = (iso) => String(iso).replace("T", " ");
  if (window.start && window.end) return `${show(window.start)} – ${show(window.end)}`;
  return window.start ? `From ${show(window.start)}` : `Until ${show(window.end)}`;
}

function summary(req) {
  return el(
    "div",
    { class: "card", "data-testid": "request" },
    el(
      "div",
      { class: "body" },
      el("h3", {}, el("a", { href: `#/request/${req.request_id}` }, req.title)),
      terms([
        ["Max price", price(req)],
        ["Kind", KINDS[req.kind] || req.kind],
        ["Where", where(req.document)],
        ["When", when(req.document)],
        ["Expires", date(req.expiry)],
        ["Status", req.status],
      ]),
    ),
  );
}

export async function showRequests(ctx) {
  const p = ctx.params;
  const query = new URLSearchParams();
  for (const key of ["kind", "category", "token"]) if (p.get(key)) query.set(key, p.get(key));
  const data = await api(`/api/requests?${query}`);
  if (!ctx.current()) return;
  const text = (p.get("q") || "").toLowerCase();
  const items = data.items.filter((r) => !text || `${r.title} ${r.document?.description || ""}`.toLowerCase().includes(text));
  const kind = el("select", { name: "kind" }, el("option", { value: "" }, "Any kind"), ...Object.entries(KINDS).map(([v, label]) => el("option", { value: v }, label)));
  kind.value = p.get("kind") || "";
  const text_ = el("input", { name: "q", id: "request-q", type: "search", placeholder: "Search requests", value: p.get("q") || "" });
  const form = el(
    "form",
    { class: "search", role: "search", "data-testid": "request-filters" },
    el("div", { class: "searchbar" }, el("label", { for: "request-q", class: "visually-hidden" }, "Search requests"), text_, el("button", { type: "submit" }, "Filter")),
    el(
      "div",
      { class: "filters" },
      field("Kind", kind),
      field("Category", el("input", { name: "category", size: 10, value: p.get("category") || "" })),
      field("Token", el("input", { name: "token", size: 10, value: p.get("token") || "", placeholder: "ETH or 0x…" })),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (String(value).trim()) next.set(key, String(value).trim());
    location.hash = `#/requests?${next}`;
  });
  ctx.view.replaceChildren(
    el("h1", {}, "Requests"),
    form,
    items.length ? el("div", { class: "grid", "data-testid": "requests" }, ...items.map(summary)) : el("p", {}, "No open requests match."),
  );
}

export async function showRequest(id, ctx) {
  const [req, matches, answers] = await Promise.all([
    api(`/api/requests/${id}`),
    api(`/api/requests/${id}/matches`).catch(() => ({ items: [] })),
    api(`/api/requests/${id}/answers`).catch(() => ({ items: [] })),
  ]);
  if (!ctx.current()) return;
  const listings = matches.items || [];
  const answered = answers.items || [];
  ctx.view.replaceChildren(
    el("h1", {}, req.title),
    el("p", {}, req.document?.description || ""),
    terms([
      ["Requester", short(req.requester)],
      ["Max price", price(req)],
      ["Kind", KINDS[req.kind] || req.kind],
      ["Category", req.category],
      ["Where", where(req.document)],
      ["When", when(req.document)],
      ["Expires", date(req.expiry)],
      ["Status", req.status],
    ]),
    el("h2", {}, "Listings that match"),
    listings.length
      ? el("ul", {}, ...listings.map((l) => el("li", {}, el("a", { href: `#/listing/${l.listing_id}` }, l.title || `Listing ${l.listing_id}`))))
      : el("p", {}, "No live listing matches yet."),
    el("h2", {}, "Answers"),
    answered.length
      ? el("ul", {}, ...answered.map((a) => el("li", { "data-testid": "answer" }, `${a.title || "Answer"} from ${short(a.seller || a.provider || "")}`)))
      : el("p", {}, "No answers yet."),
  );
}
