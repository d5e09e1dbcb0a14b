// The p2pchain web page: browse and search listings, open one, buy it with an injected EIP-1193
// wallet (window.ethereum), see your trades and release or dispute them. Plain JavaScript, no
// build step, no external URLs: everything comes from this API.
"use strict";

const state = { account: null, route: 0 };
const view = document.getElementById("view");
const statusLine = document.getElementById("status");

// ------------------------------------------------------------------ helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "onclick" || key === "onsubmit") node[key] = value;
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setStatus(text, kind = "info") {
  statusLine.textContent = text;
  statusLine.dataset.state = kind;
}

async function api(path, options = {}) {
  const init = { headers: { "Content-Type": "application/json" }, ...options };
  if (init.body && typeof init.body !== "string") init.body = JSON.stringify(init.body);
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

// Amounts are decimal strings of base units; show them with 18 decimals (ETH) without floats.
function formatUnits(value, decimals = 18) {
  const n = BigInt(value);
  const base = 10n ** BigInt(decimals);
  const whole = n / base;
  const frac = (n % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}

// "0.25" (ETH) -> "250000000000000000" (wei), exactly, without floats.
function parseUnits(text, decimals = 18) {
  const match = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(text);
  if (!match || (match[2] || "").length > decimals) throw new Error(`not an amount: "${text}"`);
  const wei = BigInt(match[1]) * 10n ** BigInt(decimals) + BigInt((match[2] || "").padEnd(decimals, "0") || "0");
  if (wei === 0n) throw new Error("the price must be above 0");
  return wei.toString();
}

function toBase64Url(text) {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  return atob(text.replace(/-/g, "+").replace(/_/g, "/"));
}

function priceText(amount, token) {
  return token === "ETH" || /^0x0{40}$/i.test(token) ? `${formatUnits(amount)} ETH` : `${amount} units of ${token}`;
}

function short(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "";
}

function trustText(score) {
  return `seller trust ${(Number(score) * 100).toFixed(0)}%`;
}

// ------------------------------------------------------------------ wallet

function wallet() {
  if (!window.ethereum) throw new Error("no wallet found: install a browser wallet (EIP-1193)");
  return window.ethereum;
}

async function connect() {
  const accounts = await wallet().request({ method: "eth_requestAccounts" });
  if (!accounts || !accounts.length) throw new Error("the wallet shared no account");
  state.account = accounts[0];
  document.getElementById("account").textContent = short(state.account);
  document.getElementById("account").title = state.account;
  document.getElementById("connect").textContent = "Connected";
  return state.account;
}

async function waitMined(hash) {
  for (let i = 0; i < 240; i++) {
    try {
      const s = await api(`/api/tx/${hash}`);
      if (s.status === "success") return s;
      if (s.status === "reverted") throw new Error(`transaction ${hash} reverted`);
    } catch (err) {
      if (!String(err.message).startsWith("no transaction")) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`transaction ${hash} not mined after 2 minutes`);
}

// Sign and send each prepared transaction in turn with the wallet (an approval may come first).
async function sendPrepared(prepared) {
  let last = null;
  for (const tx of prepared.transactions) {
    const params = Object.fromEntries(Object.entries(tx).filter(([, v]) => v !== null));
    setStatus(`Confirm "${prepared.action}" in your wallet…`, "busy");
    const hash = await wallet().request({ method: "eth_sendTransaction", params: [params] });
    setStatus(`Waiting for ${hash} to be mined…`, "busy");
    last = await waitMined(hash);
  }
  return last;
}

async function act(label, work) {
  try {
    setStatus(`${label}…`, "busy");
    await work();
  } catch (err) {
    setStatus(`${label} failed: ${err.message}`, "error");
  }
}

// ------------------------------------------------------------------ screens

async function showBrowse(params, current) {
  const text = params.get("q") || "";
  const kind = params.get("kind") || "";
  const input = el("input", { name: "q", type: "search", placeholder: "Search listings", value: text, "data-testid": "search-input" });
  const select = el("select", { name: "kind", "data-testid": "search-kind" },
    el("option", { value: "" }, "All kinds"), el("option", { value: "sale" }, "For sale"),
    el("option", { value: "service" }, "Services"), el("option", { value: "rental" }, "Rentals"));
  select.value = kind;
  const form = el("form", { class: "search", onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (input.value.trim()) next.set("q", input.value.trim());
    if (select.value) next.set("kind", select.value);
    location.hash = `#/?${next}`;
  } }, input, select, el("button", { type: "submit", "data-testid": "search-button" }, "Search"));
  const grid = el("div", { class: "grid", "data-testid": "results" });
  const query = new URLSearchParams({ limit: "50" });
  if (text) query.set("text", text);
  if (kind) query.set("kind", kind);
  const page = await api(`/api/listings?${query}`);
  if (!current()) return;
  view.replaceChildren(form, el("p", { class: "count", "data-testid": "result-count" }, `${page.total}${page.total_exact ? "" : "+"} listing(s)`), grid);
  if (!page.items.length) grid.append(el("p", { class: "empty", "data-testid": "no-results" }, "No listings found."));
  for (const item of page.items) {
    const image = item.image_urls.length
      ? el("img", { src: item.image_urls[0], alt: item.title || "listing photo" })
      : el("div", { class: "noimg" });
    grid.append(el("article", { class: "card", "data-testid": "listing-card", "data-id": item.listing_id,
      onclick: () => { location.hash = `#/listing/${item.listing_id}`; } },
      image,
      el("div", { class: "body" },
        el("h3", {}, item.title || "(document unavailable)"),
        el("div", { class: "price" }, priceText(item.price, item.token)),
        el("div", { class: "trust", "data-testid": "card-trust" }, trustText(item.seller_trust)))));
  }
}

async function showListing(id, current) {
  const listing = await api(`/api/listings/${id}`);
  if (!current()) return;
  renderListing(listing, { listing_id: listing.id });
}

// A signed listing shared as a link: checked by the API, bought with its signature.
async function showSigned(encoded, current) {
  let signed;
  try {
    signed = JSON.parse(fromBase64Url(encoded));
  } catch (err) {
    throw new Error("this link does not hold a signed listing");
  }
  const listing = await api("/api/listings/signed", { method: "POST", body: signed });
  if (!current()) return;
  renderListing(listing, { signed_listing: signed });
}

function renderListing(listing, target) {
  const doc = listing.document || {};
  const images = el("div", {}, ...listing.image_urls.map((url) => el("img", { src: url, alt: doc.title || "photo", "data-testid": "listing-image" })));
  const trust = listing.seller_trust;
  const buy = el("button", { "data-testid": "buy", onclick: () => act("Buying", async () => {
    const buyer = state.account || (await connect());
    // The terms shown on this page go with the purchase: if the seller changed them since, the
    // contract refuses it (TermsChanged) instead of taking the buyer's money under new terms.
    const body = { buyer, quantity: 1, ...target };
    if (target.listing_id) body.terms = listing.terms;
    const prepared = await api("/api/tx/buy", { method: "POST", body });
    await sendPrepared(prepared);
    await route();
    setStatus("Bought: the price is held in escrow until you release it.", "done");
  }) }, "Buy with wallet");
  buy.disabled = !(listing.status === "live" || listing.status === "unused");
  const info = el("dl", {},
    el("dt", {}, "Price"), el("dd", { class: "price", "data-testid": "listing-price" }, priceText(listing.terms.price, listing.terms.token)),
    el("dt", {}, "Status"), el("dd", { "data-testid": "listing-status" }, `${listing.status.replace("_", " ")} (${listing.remaining} left)`),
    el("dt", {}, "Seller"), el("dd", { class: "mono" }, listing.seller),
    el("dt", {}, "Trust"), el("dd", { "data-testid": "listing-trust" }, trust
      ? `${trustText(trust.score)}, ${trust.rating_count} rating(s)${trust.average_stars ? `, ${trust.average_stars.toFixed(1)}★` : ""}`
      : "unknown"),
    el("dt", {}, "Document"), el("dd", { class: "mono" }, listing.document_cid));
  view.replaceChildren(el("section", { class: "detail", "data-testid": "listing-detail" },
    images,
    el("div", {},
      el("h2", { "data-testid": "listing-title" }, doc.title || "(document unavailable)"),
      listing.document_error ? el("p", { class: "empty" }, listing.document_error) : null,
      el("p", {}, doc.description || ""),
      info, buy)));
}

function tradeButtons(trade) {
  const mine = (step) => step.actor && state.account && step.actor.toLowerCase() === state.account.toLowerCase();
  const now = Date.now() / 1000;
  const open = (step) => (step.not_before === null || now >= step.not_before) && (step.until === null || now < step.until);
  const wanted = { release: ["Release", "release", ""], dispute: ["Dispute", "dispute", "danger"] };
  const buttons = [];
  for (const step of trade.next_steps) {
    const spec = wanted[step.action];
    if (!spec || !mine(step) || !open(step) || buttons.some((b) => b.dataset.action === step.action)) continue;
    buttons.push(el("button", { class: spec[2], "data-action": step.action, "data-testid": `${step.action}-${trade.trade_id}`,
      onclick: () => act(spec[0], async () => {
        const prepared = await api(`/api/tx/${spec[1]}`, { method: "POST", body: { sender: state.account, trade_id: trade.trade_id } });
        await sendPrepared(prepared);
        await route();
        setStatus(`${spec[0]}d: trade ${short(trade.trade_id)}.`, "done");
      }) }, spec[0]));
  }
  return buttons;
}

async function showTrades(current) {
  const account = state.account || (await connect());
  const result = await api(`/api/accounts/${account}/trades`);
  if (!current()) return;
  const rows = result.items.map((trade) => el("tr", { "data-testid": "trade-row", "data-id": trade.trade_id, "data-state": trade.state },
    el("td", { class: "mono" }, short(trade.trade_id)),
    el("td", {}, trade.role || ""),
    el("td", { "data-testid": "trade-state" }, trade.state),
    el("td", {}, priceText(trade.amount, trade.token)),
    el("td", { class: "mono" }, short(trade.role === "buyer" ? trade.seller : trade.buyer)),
    el("td", { class: "actions" }, ...tradeButtons(trade))));
  const table = el("table", { "data-testid": "trades" },
    el("thead", {}, el("tr", {}, ...["Trade", "Role", "State", "Amount", "With", ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
  view.replaceChildren(el("h2", {}, "My trades"), rows.length ? table : el("p", { class: "empty", "data-testid": "no-trades" }, "No trades yet."));
}

function field(label, control) {
  return el("label", { class: "field" }, el("span", {}, label), control);
}

function showSell(current) {
  if (!current()) return;
  const title = el("input", { name: "title", required: "", maxlength: "140", "data-testid": "sell-title" });
  const description = el("textarea", { name: "description", maxlength: "5000", rows: "3", "data-testid": "sell-description" });
  const category = el("input", { name: "category", value: "misc", maxlength: "64", "data-testid": "sell-category" });
  const kind = el("select", { name: "kind", "data-testid": "sell-kind" },
    el("option", { value: "sale" }, "Goods for sale"), el("option", { value: "service" }, "A service"));
  const condition = el("select", { name: "condition", "data-testid": "sell-condition" },
    ...["new", "like_new", "good", "fair", "for_parts"].map((c) => el("option", { value: c }, c.replace("_", " "))));
  condition.value = "good";
  const price = el("input", { name: "price", placeholder: "0.1", required: "", "data-testid": "sell-price" });
  const photo = el("input", { name: "photo", type: "file", accept: "image/*", "data-testid": "sell-photo" });
  const mode = el("select", { name: "mode", "data-testid": "sell-mode" },
    el("option", { value: "onchain" }, "List on-chain (one transaction)"),
    el("option", { value: "signed" }, "Sign off-chain (free, share a link)"));
  const share = el("p", { class: "share" });
  const form = el("form", { class: "sell", "data-testid": "sell-form", onsubmit: (event) => {
    event.preventDefault();
    act("Publishing", async () => {
      const seller = state.account || (await connect());
      const wei = parseUnits(price.value);
      const images = [];
      if (photo.files.length) {
        setStatus("Storing the photo on IPFS…", "busy");
        const data = new FormData();
        data.append("file", photo.files[0]);
        const response = await fetch("/api/ipfs/upload", { method: "POST", body: data });
        const stored = await response.json();
        if (!response.ok) throw new Error(stored.detail || `HTTP ${response.status}`);
        images.push(stored.cid);
      }
      const doc = { schema_version: 1, title: title.value.trim(), description: description.value.trim(),
        category: category.value.trim(), kind: kind.value, price: wei, token: "ETH", seller,
        created_at: Math.floor(Date.now() / 1000), images };
      if (kind.value === "sale") doc.condition = condition.value;
      setStatus("Storing the listing document on IPFS…", "busy");
      const stored = await api("/api/ipfs/document", { method: "POST", body: doc });
      const terms = { seller, price: wei, cid: stored.cid };
      if (mode.value === "onchain") {
        const prepared = await api("/api/tx/create-listing", { method: "POST", body: terms });
        await sendPrepared(prepared);
        location.hash = `#/listing/${prepared.listing_id}`;
        setStatus("Listed on-chain.", "done");
        return;
      }
      const out = await api("/api/tx/listing-typed-data", { method: "POST", body: terms });
      setStatus("Sign the listing in your wallet…", "busy");
      const signature = await wallet().request({ method: "eth_signTypedData_v4", params: [seller, JSON.stringify(out.typed_data)] });
      const signed = await api("/api/tx/signed-listing", { method: "POST", body: { typed_data: out.typed_data, signature } });
      const link = `${location.origin}${location.pathname}#/signed/${toBase64Url(JSON.stringify(signed))}`;
      share.replaceChildren("Share this link: ", el("a", { href: link, "data-testid": "share-link" }, "signed listing"));
      setStatus("Signed: nothing was sent to the chain; the first buyer puts it there.", "done");
    });
  } },
  field("Title", title), field("Description", description), field("Category", category),
  field("Kind", kind), field("Condition", condition), field("Price (ETH)", price), field("Photo", photo),
  field("How", mode), el("button", { type: "submit", "data-testid": "sell-submit" }, "Publish"), share);
  kind.onchange = () => { condition.disabled = kind.value !== "sale"; };
  view.replaceChildren(el("h2", {}, "Sell something"), form);
}

// Show the screen the location names. A later call supersedes an earlier one still loading.
async function route() {
  const hash = location.hash || "#/";
  const [path, query] = hash.slice(1).split("?");
  const mine = ++state.route;
  const current = () => mine === state.route;
  try {
    if (path.startsWith("/listing/")) await showListing(path.slice("/listing/".length), current);
    else if (path.startsWith("/signed/")) await showSigned(path.slice("/signed/".length), current);
    else if (path === "/trades") await showTrades(current);
    else if (path === "/sell") showSell(current);
    else await showBrowse(new URLSearchParams(query || ""), current);
  } catch (err) {
    setStatus(err.message, "error");
  }
}

document.getElementById("connect").onclick = () => act("Connecting", async () => {
  await connect();
  await route();
  setStatus(`Connected as ${state.account}`, "done");
});
window.addEventListener("hashchange", route);
route();
