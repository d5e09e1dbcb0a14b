// Requests: what buyers ask for. Browse open requests (filters: kind, category, token, text), read
// one request (its details, the live listings that match it, its answers), answer it as a provider
// (a signed listing naming it: no gas) and accept an answer as the requester (buying that signed
// listing into escrow, an ordinary trade). Posting a request is views/newrequest.js.
import { api, post } from "../lib/api.js";
import { el, field, terms } from "../lib/dom.js";
import { CONDITIONS, ETH, KINDS, ZERO, date, duration, money, short, toUnits } from "../lib/format.js";
import { act, setStatus } from "../lib/status.js";
import { account, confirmationNote, sendPrepared, session, signTypedData } from "../lib/wallet.js";

const DAY = 86400;
const STATUS = { open: "Open", taken: "Taken: an answer was accepted", expired: "Expired" };

// The request's token as the page shows amounts (ETH, or the ERC-20's symbol and decimals).
async function tokenOf(req) {
  if (req.token === "ETH") return ETH;
  return api(`/api/tokens/${req.token}`).catch(() => ({ address: req.token, symbol: short(req.token), decimals: 0, known: false }));
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
  const show = (iso) => String(iso).replace("T", " ").replace(/:00(?=Z$|[+-]\d\d:\d\d$)/, "").replace(/Z$/, " UTC");
  if (window.start && window.end) return `${show(window.start)} – ${show(window.end)}`;
  return window.start ? `From ${show(window.start)}` : `Until ${show(window.end)}`;
}

function summary(req, token) {
  return el(
    "div",
    { class: "card", "data-testid": "request" },
    el(
      "div",
      { class: "body" },
      el("h3", {}, el("a", { href: `#/request/${req.request_id}` }, req.title)),
      terms([
        ["Max price", `${money(req.max_price, token)} per unit`],
        ["Kind", KINDS[req.kind] || req.kind],
        ["Where", where(req.document)],
        ["When", when(req.document)],
        ["Expires", date(req.expiry)],
        ["Status", STATUS[req.status] || req.status],
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
  const tokens = new Map(await Promise.all([...new Set(items.map((r) => r.token))].map(async (t) => [t, await tokenOf({ token: t })])));
  if (!ctx.current()) return;
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
    el("div", { class: "titlebar" }, el("h1", {}, "Requests"),
      el("a", { href: "#/requests/new", class: "button", "data-testid": "post-request" }, "Post a request")),
    form,
    items.length ? el("div", { class: "grid requests", "data-testid": "requests" }, ...items.map((r) => summary(r, tokens.get(r.token)))) : el("p", {}, "No open requests match."),
  );
}

// A signed listing as the #/signed/ link the listing page reads (base64url JSON).
function signedLink(signed) {
  return `#/signed/${btoa(JSON.stringify(signed)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

// One answer: its terms in the request's token; the requester's Accept opens a summary first.
function answerCard(req, answer, token, { mine, accept }) {
  const t = answer.signed_listing.terms;
  const n = BigInt(req.document?.quantity || 1);
  const deposit = BigInt(t.deposit);
  const pays = (BigInt(t.price) + deposit) * n;
  const doc = answer.document || {};
  const canAccept = mine && req.status === "open" && answer.status === "open";
  return el("article", { class: "offer", "data-testid": "answer", "data-id": answer.listing_id, "data-status": answer.status },
    el("h3", { class: "small" }, doc.title || "Answer"),
    el("p", { class: "price" }, `${money(t.price, token)} per unit`,
      el("span", { class: "muted" }, ` · the request pays at most ${money(req.max_price, token)}`)),
    doc.description ? el("p", { class: "description" }, doc.description) : null,
    terms([
      ["Provider", el("a", { href: `#/seller/${answer.seller}`, class: "mono", title: answer.seller }, short(answer.seller))],
      ["You pay", `${money(pays, token)} into escrow${n > 1n ? ` (${n} units)` : ""}${deposit > 0n ? `, with a ${money(deposit, token)} deposit per unit` : ""}`],
      ["Review window", duration(t.reviewWindow)],
      ["Arbitrator", t.arbitrator === ZERO ? "None: no disputes possible" : `${short(t.arbitrator)}, ${t.arbitratorFeeBps / 100}% fee if it rules`],
      ["Valid until", date(answer.expiry)],
      ["Status", el("span", { "data-testid": "answer-status" }, STATUS[answer.status] || answer.status)],
    ]),
    el("div", { class: "actions" },
      canAccept ? el("button", { type: "button", class: "primary", "data-testid": `accept-answer-${answer.listing_id}`, onclick: () => accept(answer, pays) }, "Accept and pay") : null,
      mine && answer.status === "taken" ? el("a", { href: "#/trades", "data-testid": "answer-trade" }, "Follow the trade in My trades") : null,
      el("a", { href: signedLink(answer.signed_listing), "data-testid": "answer-terms" }, "All its terms")));
}

// The requester's summary before the wallet opens; confirming buys the signed listing.
function acceptDialog(req, token) {
  const dialog = el("dialog", { class: "confirm", "aria-labelledby": "accept-title", "data-testid": "accept-confirm" });
  const n = req.document?.quantity || 1;
  const open = (answer, pays) => {
    const t = answer.signed_listing.terms;
    dialog.replaceChildren(
      el("h2", { id: "accept-title" }, "Check before your wallet opens"),
      terms([
        ["You pay", money(pays, token)],
        ["Held by", "the marketplace contract, until you release it, or it is refunded, settled or ruled"],
        ["Provider", el("span", { class: "mono" }, answer.seller)],
        ["Review window", `${duration(t.reviewWindow)} after you accept: check what you get and dispute within it; after it the provider is paid automatically`],
        ["Arbitrator", t.arbitrator === ZERO ? "none: only the provider can refund you, or you agree a split" : `${short(t.arbitrator)}, ${t.arbitratorFeeBps / 100}% fee if it rules`],
      ]),
      el("p", { class: "muted" }, "Accepting buys this answer: an ordinary escrowed trade under the terms the provider signed."),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", "data-testid": "accept-cancel", onclick: () => dialog.close() }, "Cancel"),
        el("button", { type: "button", class: "primary", "data-testid": "accept-confirm-button", onclick: () => {
          dialog.close();
          act("Accepting the answer", async () => {
            const buyer = await account();
            const prepared = await post("/api/tx/buy", { buyer, quantity: n, signed_listing: answer.signed_listing });
            await sendPrepared(prepared, "Accept and pay");
            await window.route({ quiet: true });
            setStatus(`Accepted: your payment is held in escrow. Release it from My trades once you have what you asked for.${await confirmationNote()}`, "done");
          });
        } }, "Confirm and open wallet")));
    dialog.showModal();
  };
  return { dialog, open };
}

// A provider's answer: a signed listing (no gas) naming the request, in its token, at most its
// price, for the units it asks, valid as long as the request. Checked here before the wallet opens.
function answerForm(req, token) {
  const want = req.document || {};
  const rental = req.kind === "rental";
  const window_ = want.when || {};
  const price = el("input", { inputmode: "decimal", placeholder: "e.g. 0.003", "data-testid": "answer-price" });
  const title = el("input", { maxlength: "140", value: req.title, "data-testid": "answer-title" });
  const description = el("textarea", { maxlength: "5000", rows: "3", "data-testid": "answer-description" });
  const condition = el("select", { "data-testid": "answer-condition" }, Object.entries(CONDITIONS).map(([v, t]) => el("option", { value: v, selected: v === "good" }, t)));
  const deposit = el("input", { inputmode: "decimal", placeholder: "e.g. 0.01", "data-testid": "answer-deposit" });
  // a rental's review window must outlast the rental: at least that many days by default
  const rentalEnd = rental && window_.end ? Math.floor(Date.parse(window_.end) / 1000) : 0;
  const fewest = rentalEnd ? Math.ceil((rentalEnd - Date.now() / 1000) / DAY) + 1 : 0;
  const days = el("input", { type: "number", min: "1", max: "365", value: String(Math.min(365, Math.max(7, fewest))), "data-testid": "answer-window" });
  const arbitrator = el("input", { placeholder: "0x… (optional)", "data-testid": "answer-arbitrator" });
  const fee = el("input", { inputmode: "decimal", value: "2", "data-testid": "answer-fee" });
  const error = el("p", { class: "form-error", role: "alert", "data-testid": "answer-error" });
  const form = el("form", { class: "offer-form", novalidate: true, "data-testid": "answer-form", oninput: () => { error.textContent = ""; }, onsubmit: (event) => {
    event.preventDefault();
    act("Answering the request", async () => {
      const amount = (text, what) => {
        try { return toUnits(text, token.decimals); } catch (err) { throw new Error(`${what}: ${err.message}`); }
      };
      const units = amount(price.value, "Your price");
      if (units > BigInt(req.max_price)) throw new Error(`Your price: at most ${money(req.max_price, token)}, the request's max price`);
      if (!title.value.trim()) throw new Error("Title: say what you offer");
      const reviewWindow = Math.round(Number(days.value) * DAY);
      if (!(reviewWindow >= DAY && reviewWindow <= 365 * DAY)) throw new Error("Review window: 1 to 365 days");
      const seller = await account();
      if (seller.toLowerCase() === req.requester.toLowerCase()) throw new Error("This is your own request: someone else answers it");
      const body = { seller, price: units.toString(), title: title.value.trim(), description: description.value.trim(), review_window: reviewWindow };
      if (req.kind === "sale") body.condition = condition.value;
      const arb = arbitrator.value.trim();
      if (arb) {
        if (!/^0x[0-9a-fA-F]{40}$/.test(arb)) throw new Error("Arbitrator: give a 0x address, or leave it empty");
        if ([seller, req.requester].some((a) => a.toLowerCase() === arb.toLowerCase())) throw new Error("Arbitrator: someone other than you and the requester");
        const bps = Math.round(Number(fee.value) * 100);
        if (!(bps >= 0 && bps <= 1000)) throw new Error("Arbitrator fee: 0 to 10%");
        body.arbitrator = arb;
        body.arbitrator_fee_bps = bps;
      }
      if (rental) {
        body.deposit = amount(deposit.value, "Deposit").toString();
        // the window runs from the purchase: it must outlast the rental, or nobody could dispute
        // (a damage claim against the deposit, say) once the item is back
        const need = Math.ceil((rentalEnd - Math.floor(Date.now() / 1000)) / DAY) + 1;
        if (reviewWindow < need * DAY) throw new Error(`Review window: it would end before the rental does; give at least ${need} days`);
      }
      // the API writes the answer as the CLI does (from the request), checks it and stores it
      setStatus("Storing your answer on IPFS…", "busy");
      const out = await post(`/api/requests/${req.request_id}/answer-typed-data`, body);
      setStatus("Sign your answer in your wallet (no gas)…", "busy");
      const signature = await signTypedData(seller, out.typed_data);
      const signed = await post("/api/tx/signed-listing", { typed_data: out.typed_data, signature });
      await post(`/api/requests/${req.request_id}/answers`, { signed_listing: signed });
      price.value = "";
      await window.route({ quiet: true });
      setStatus(`Answer sent: ${money(units, token)} per unit. The requester accepts it by paying into escrow.`, "done");
    }, { shown: error });
  } },
    field("Your price per unit", price, `The request pays at most ${money(req.max_price, token)}`),
    field("Title", title),
    field("What you offer", description),
    req.kind === "sale" ? field("Condition", condition) : null,
    rental ? el("p", { class: "muted small" }, `You rent it out for the request's period: ${when(want)}.`) : null,
    rental ? field("Deposit per unit", deposit, "Held in escrow with the rent, returned when the item is back.") : null,
    field("Review window (days)", days, "How long the requester can check and dispute before you are paid."),
    field("Arbitrator", arbitrator, "Optional: someone you both trust to rule disputes. Without one, disputes are not possible."),
    field("Arbitrator fee (%)", fee, "0 to 10%, paid only if it has to rule."),
    el("p", { class: "muted small" }, `Signing costs no gas. Your answer stays valid until the request closes (${date(req.expiry)}); if the requester accepts it, the payment goes into escrow.`),
    error,
    el("button", { type: "submit", class: "secondary", "data-testid": "answer-submit" }, "Sign and send answer"));
  if (rental && !(window_.start && window_.end)) {
    return el("p", { class: "muted" }, "This rental request gives no start and end, so it cannot be answered with a rental listing.");
  }
  return form;
}

export async function showRequest(id, ctx) {
  const [req, matches, answers] = await Promise.all([
    api(`/api/requests/${id}`),
    api(`/api/requests/${id}/matches`).catch(() => ({ items: [] })),
    api(`/api/requests/${id}/answers`).catch(() => ({ items: [] })),
  ]);
  const token = await tokenOf(req);
  if (!ctx.current()) return;
  const listings = matches.items || [];
  const answered = answers.items || [];
  const me = session.account;
  const mine = Boolean(me && me.toLowerCase() === req.requester.toLowerCase());
  const { dialog, open } = acceptDialog(req, token);
  const quantity = req.document?.quantity || 1;
  const respond = req.status === "open" && !mine
    ? el("section", { class: "panel", id: "answer", "aria-labelledby": "answer-title", "data-testid": "answer-panel" },
      el("h2", { id: "answer-title" }, "Answer this request"),
      answerForm(req, token))
    : null;
  ctx.view.replaceChildren(...[
    el("h1", { "data-testid": "request-heading" }, req.title),
    req.document?.description ? el("p", { class: "description" }, req.document.description) : null,
    terms([
      ["Requester", el("a", { href: `#/seller/${req.requester}`, class: "mono", title: req.requester }, mine ? "You" : short(req.requester))],
      ["Max price", `${money(req.max_price, token)} per unit`],
      quantity > 1 ? ["Quantity", String(quantity)] : null,
      ["Kind", KINDS[req.kind] || req.kind],
      ["Category", req.category],
      ["Where", where(req.document)],
      ["When", when(req.document)],
      ["Open until", date(req.expiry)],
      ["Status", el("span", { "data-testid": "request-status" }, STATUS[req.status] || req.status)],
    ], { "data-testid": "request-terms" }),
    el("section", { class: "panel", "aria-labelledby": "answers-title", "data-testid": "answers-panel" },
      el("h2", { id: "answers-title" }, mine ? "Answers to your request" : "Answers"),
      answered.length
        ? el("div", { class: "offer-list" }, answered.map((a) => answerCard(req, a, token, { mine, accept: open })))
        : el("p", { class: "empty" }, "No answers yet."),
      !me && answered.length ? el("p", { class: "muted small" }, "Connect your wallet: the requester accepts an answer here.") : null),
    respond,
    el("section", { class: "panel", "aria-labelledby": "matches-title" },
      el("h2", { id: "matches-title" }, "Listings that match"),
      listings.length
        ? el("ul", {}, ...listings.map((l) => el("li", {}, el("a", { href: `#/listing/${l.listing_id}` }, l.title || `Listing ${l.listing_id}`))))
        : el("p", { class: "empty" }, "No live listing matches yet.")),
    dialog,
  ].filter(Boolean));
  if (respond && ctx.params.get("answer")) respond.scrollIntoView({ block: "start" });
}

// The seller's panel on an own listing: open requests it matches, each with a link to answer.
export function matchedRequestsPanel(listingId) {
  const panel = el("section", { class: "panel", "aria-labelledby": "matched-title", "data-testid": "matched-requests" },
    el("h2", { id: "matched-title" }, "Requests this listing matches"));
  const list = el("div", {}, el("p", { class: "muted" }, "Looking for requests…"));
  panel.append(list);
  api(`/api/listings/${listingId}/requests`).then(async ({ items }) => {
    if (!items.length) {
      list.replaceChildren(el("p", { class: "empty" }, "No open request matches it now."));
      return;
    }
    const rows = await Promise.all(items.map(async (req) => {
      const token = await tokenOf(req);
      return el("li", { "data-testid": "matched-request" },
        el("div", {}, el("a", { href: `#/request/${req.request_id}` }, req.title),
          el("span", { class: "muted" }, ` · at most ${money(req.max_price, token)} per unit · open until ${date(req.expiry)}`)),
        el("a", { href: `#/request/${req.request_id}?answer=1`, class: "button small", "data-testid": `answer-link-${req.request_id}` }, "Answer it"));
    }));
    list.replaceChildren(el("p", { class: "muted small" }, "People asked for something like this. Answer with a signed offer (no gas); they pay into escrow if they accept."),
      el("ul", { class: "plain matched" }, rows));
  }, (err) => list.replaceChildren(el("p", { class: "muted" }, `Requests cannot be shown: ${err.message}`)));
  return panel;
}
