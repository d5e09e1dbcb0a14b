// Post a request: what is wanted, its kind and category, where and when, the most the requester
// pays per unit (ETH or an ERC-20 token) and until when it is open. The API stores the document
// on IPFS and answers the EIP-712 typed data; the wallet signs it (no gas, nothing paid); the
// API verifies and indexes the signed request. Mistakes are named in one line in the form.
import { api, post } from "../lib/api.js";
import { el, field } from "../lib/dom.js";
import { ETH, KINDS, money, toUnits } from "../lib/format.js";
import { act, setStatus } from "../lib/status.js";
import { account, config, signTypedData } from "../lib/wallet.js";

const DAY = 86400;
const pad = (n) => String(n).padStart(2, "0");

// Unix seconds as a datetime-local value, in the browser's time zone.
export function localInput(ts) {
  const d = new Date(ts * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A datetime-local value as unix seconds; `what` names the field in the error.
function unix(value, what) {
  const ts = Date.parse(value);
  if (!value || Number.isNaN(ts)) throw new Error(`${what}: give a date and time`);
  return Math.floor(ts / 1000);
}

// A datetime-local value as ISO 8601 with the browser's offset, as request documents take it.
function isoWithOffset(value, what) {
  const ts = unix(value, what);
  const offset = -new Date(ts * 1000).getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const hours = pad(Math.floor(Math.abs(offset) / 60));
  return `${value.length === 16 ? `${value}:00` : value}${sign}${hours}:${pad(Math.abs(offset) % 60)}`;
}

export async function showNewRequest({ view, current }) {
  const [cats, page] = await Promise.all([
    api("/api/listings/categories?available_only=false").catch(() => ({ items: [] })),
    api("/api/requests?limit=1"),
  ]);
  if (!current()) return;
  const now = page.now;
  const input = (attrs) => el("input", attrs);
  const title = input({ name: "title", maxlength: "140", placeholder: "A ride from Thamel to the airport", "data-testid": "request-title" });
  const description = el("textarea", { name: "description", maxlength: "5000", rows: "3", "data-testid": "request-description" });
  const kind = el("select", { name: "kind", "data-testid": "request-kind" }, ...Object.entries(KINDS).map(([v, t]) => el("option", { value: v }, t)));
  kind.value = "service";
  const category = input({ name: "category", maxlength: "64", list: "request-categories", placeholder: "transport/taxi", "data-testid": "request-category" });
  const quantity = input({ type: "number", name: "quantity", min: "1", value: "1", "data-testid": "request-quantity" });
  const place = input({ name: "location", maxlength: "200", placeholder: "Thamel, Kathmandu (optional)", "data-testid": "request-location" });
  const country = input({ name: "country", maxlength: "2", size: "2", placeholder: "NP", "data-testid": "request-country" });
  const from = input({ type: "datetime-local", name: "from", "data-testid": "request-from" });
  const until = input({ type: "datetime-local", name: "until", "data-testid": "request-until" });
  const tokenMode = el("select", { name: "token-mode", "data-testid": "request-token-mode" },
    el("option", { value: "eth" }, "ETH"), el("option", { value: "erc20" }, "An ERC-20 token"));
  const tokenAddress = input({ name: "token", placeholder: "0x… token contract", "data-testid": "request-token" });
  const tokenName = el("small", { class: "hint", "aria-live": "polite", "data-testid": "request-token-symbol" });
  const maxPrice = input({ name: "max-price", inputmode: "decimal", placeholder: "0.004", "data-testid": "request-max-price" });
  const expiry = input({ type: "datetime-local", name: "expiry", value: localInput(now + 7 * DAY), "data-testid": "request-expiry" });
  const error = el("p", { class: "form-error", role: "alert", "data-testid": "request-error" });

  let token = ETH;
  const readToken = async () => {
    if (tokenMode.value === "eth") { token = ETH; tokenName.textContent = ""; return token; }
    const address = tokenAddress.value.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error("Token: give the token contract's 0x address");
    token = await api(`/api/tokens/${address}`);
    tokenName.textContent = token.known ? `${token.symbol}, ${token.decimals} decimals` : "This address does not answer as an ERC-20 token.";
    if (!token.known) throw new Error("Token: this address does not answer as an ERC-20 token");
    return token;
  };
  tokenAddress.addEventListener("change", () => readToken().catch((err) => { tokenName.textContent = err.message; }));
  const sync = () => { tokenAddress.closest(".field").hidden = tokenMode.value === "eth"; };
  tokenMode.addEventListener("change", sync);

  // The first mistake: its field marked invalid and focused, its message in one line.
  const bad = (control, message) => {
    control.setAttribute("aria-invalid", "true");
    control.focus();
    return new Error(message);
  };

  // The request document as typed, or the first mistake in one line (checked before any wallet).
  const read = async () => {
    const what = title.value.trim();
    if (!what) throw bad(title, "Title: say what you want");
    if (!category.value.trim()) throw bad(category, "Category: give one, e.g. transport/taxi");
    const units = Number(quantity.value);
    if (!Number.isInteger(units) || units < 1) throw bad(quantity, "Quantity: a whole number, 1 or more");
    await readToken();
    let price;
    try {
      price = toUnits(maxPrice.value, token.decimals);
    } catch (err) {
      throw bad(maxPrice, `Max price: ${err.message}`);
    }
    let closes;
    try {
      closes = unix(expiry.value, "Open until");
    } catch (err) {
      throw bad(expiry, err.message);
    }
    if (closes <= now) throw bad(expiry, "Open until: must be in the future");
    const doc = {
      schema_id: "p2pchain/request/1",
      title: what,
      description: description.value.trim(),
      kind: kind.value,
      category: category.value.trim(),
      quantity: units,
      max_price: price.toString(),
      token: tokenMode.value === "eth" ? "ETH" : token.address,
      expiry: closes,
      created_at: now,
    };
    if (place.value.trim()) {
      const code = country.value.trim().toUpperCase();
      if (code && !/^[A-Z]{2}$/.test(code)) throw bad(country, "Country code: two letters, e.g. NP");
      doc.location = { text: place.value.trim(), ...(code ? { country: code } : {}) };
    } else if (country.value.trim()) {
      throw bad(place, "Location: give the place too, not only the country");
    }
    if (kind.value === "rental" && !(from.value && until.value)) {
      throw bad(from.value ? until : from, "From, Until: a rental request needs both, the period to rent for");
    }
    if (from.value || until.value) {
      doc.when = {};
      if (from.value) doc.when.start = isoWithOffset(from.value, "From");
      if (until.value) doc.when.end = isoWithOffset(until.value, "Until");
      if (from.value && until.value && unix(until.value, "Until") <= unix(from.value, "From")) throw bad(until, "Until: must be after From");
    }
    return doc;
  };

  const form = el("form", { class: "sell", novalidate: true, "data-testid": "request-form", oninput: (event) => { error.textContent = ""; event.target.removeAttribute("aria-invalid"); }, onsubmit: (event) => {
    event.preventDefault();
    act("Posting the request", async () => {
      const doc = await read();
      const requester = await account();
      const { chain_id: chainId, marketplace } = await config();
      const out = await post("/api/requests/typed-data", { ...doc, requester, chain_id: chainId, marketplace });
      setStatus("Sign the request in your wallet (no gas, nothing is paid)…", "busy");
      const signature = await signTypedData(requester, out.typed_data);
      const stored = await post("/api/requests", { signed_request: { ...out.signed_request, signature } });
      window.location.hash = `#/request/${stored.request_id}`;
      setStatus(`Request posted: providers can answer at up to ${money(stored.max_price, token)} per unit.`, "done");
    }, { shown: error });
  } },
    el("datalist", { id: "request-categories" }, cats.items.map((c) => el("option", { value: c.name }))),
    el("fieldset", { class: "group" }, el("legend", {}, "What you want"),
      field("Title", title), field("Description", description), field("Kind", kind),
      field("Category", category, "A path, e.g. transport/taxi or sports/bikes"), field("Quantity", quantity)),
    el("fieldset", { class: "group" }, el("legend", {}, "Where and when"),
      field("Location", place), field("Country code", country),
      field("From", from, "Optional: the earliest time (a rental: when it starts)"), field("Until", until, "Optional: the latest time (a rental: when it ends)")),
    el("fieldset", { class: "group" }, el("legend", {}, "Price and expiry"),
      el("div", {}, field("Paid in", tokenMode), field("Token address", tokenAddress), tokenName),
      field("Max price per unit", maxPrice, "Providers answer at this price or less."),
      field("Open until", expiry, "After this, nobody can answer.")),
    el("p", { class: "muted", "data-testid": "request-how" },
      "Your wallet signs the request: that costs no gas and pays nothing. Providers answer with offers at or below your max price. " +
      "You pay only when you accept one, and then into escrow: the provider is paid when you release it, or after the review window."),
    error,
    el("button", { type: "submit", class: "primary", "data-testid": "request-submit" }, "Sign and post request"));
  view.replaceChildren(el("h1", {}, "Post a request"), form);
  sync();
}
