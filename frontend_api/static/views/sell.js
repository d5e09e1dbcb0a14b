// Sell: goods, a service or a rental; price in ETH or an ERC-20 token (shown by its symbol);
// deposit and dates for rentals; arbitrator and fee; review window, expiry, quantity; photos,
// location and delivery. Listed on-chain, or signed for free and shared as a link.
import { api, post, upload } from "../lib/api.js";
import { identity, messagingField, relaysOfApi } from "../lib/messaging.js";
import { el, field } from "../lib/dom.js";
import { CONDITIONS, DELIVERY, ETH, KINDS, ZERO, money, toUnits } from "../lib/format.js";
import { act, setStatus } from "../lib/status.js";
import { account, confirmationNote, sendPrepared, signTypedData } from "../lib/wallet.js";
import { priceHint } from "./pricehint.js";

const DAY = 86400;

function toUnix(dateText, endOfDay = false) {
  const ts = Date.parse(`${dateText}T${endOfDay ? "23:59:59" : "00:00:00"}Z`);
  if (Number.isNaN(ts)) throw new Error(`not a date: "${dateText}"`);
  return Math.floor(ts / 1000);
}

export async function showSell({ view, current }) {
  const [cats, relays] = await Promise.all([
    api("/api/listings/categories?available_only=false").catch(() => ({ items: [] })),
    relaysOfApi().catch(() => []),
  ]);
  if (!current()) return;
  const input = (attrs) => el("input", attrs);
  const title = input({ name: "title", required: true, maxlength: "140", "data-testid": "sell-title" });
  const description = el("textarea", { name: "description", maxlength: "5000", rows: "4", "data-testid": "sell-description" });
  const category = input({ name: "category", value: "misc", required: true, maxlength: "64", list: "categories", "data-testid": "sell-category" });
  const kind = el("select", { name: "kind", "data-testid": "sell-kind" }, ...Object.entries(KINDS).map(([v, t]) => el("option", { value: v }, t)));
  const condition = el("select", { name: "condition", "data-testid": "sell-condition" }, ...Object.entries(CONDITIONS).map(([v, t]) => el("option", { value: v }, t)));
  condition.value = "good";
  const tokenMode = el("select", { name: "token-mode", "data-testid": "sell-token-mode" },
    el("option", { value: "eth" }, "ETH"), el("option", { value: "erc20" }, "An ERC-20 token"));
  const tokenAddress = input({ name: "token", placeholder: "0x… token contract", pattern: "0x[0-9a-fA-F]{40}", "data-testid": "sell-token" });
  const tokenName = el("small", { class: "hint", "data-testid": "sell-token-symbol", "aria-live": "polite" });
  const price = input({ name: "price", inputmode: "decimal", placeholder: "0.1", required: true, "data-testid": "sell-price" });
  const deposit = input({ name: "deposit", inputmode: "decimal", placeholder: "0.5", "data-testid": "sell-deposit" });
  const rentalStart = input({ type: "date", name: "rental-start", "data-testid": "sell-rental-start" });
  const rentalEnd = input({ type: "date", name: "rental-end", "data-testid": "sell-rental-end" });
  const quantity = input({ type: "number", name: "quantity", min: "1", value: "1", "data-testid": "sell-quantity" });
  const windowDays = input({ type: "number", name: "review-days", min: "1", max: "365", value: "7", "data-testid": "sell-window" });
  const expiry = input({ type: "date", name: "expiry", "data-testid": "sell-expiry" });
  const arbitrator = input({ name: "arbitrator", placeholder: "0x… (optional)", pattern: "0x[0-9a-fA-F]{40}", "data-testid": "sell-arbitrator" });
  const fee = input({ name: "fee", inputmode: "decimal", value: "2", "data-testid": "sell-fee" });
  const photos = input({ type: "file", name: "photos", accept: "image/*", multiple: true, "data-testid": "sell-photo" });
  const location = input({ name: "location", maxlength: "200", placeholder: "Berlin, Kreuzberg", "data-testid": "sell-location" });
  const country = input({ name: "country", maxlength: "2", size: "2", placeholder: "DE", "data-testid": "sell-country" });
  const delivery = Object.entries(DELIVERY).map(([value, text]) => {
    const box = input({ type: "checkbox", name: "delivery", value, id: `delivery-${value}`, "data-testid": `sell-delivery-${value}` });
    return el("span", { class: "check" }, box, el("label", { for: box.id }, text));
  });
  const deliveryNote = input({ name: "delivery-note", maxlength: "200", placeholder: "Ships within the EU", "data-testid": "sell-delivery-note" });
  const mode = el("select", { name: "mode", "data-testid": "sell-mode" },
    el("option", { value: "onchain" }, "List on-chain (one transaction)"),
    el("option", { value: "signed" }, "Sign off-chain (free, share a link)"));
  const share = el("div", { class: "share", "aria-live": "polite" });
  // Buyers can message the seller when the document carries its messaging key (version 2).
  const talk = relays.length ? input({ type: "checkbox", name: "messaging", checked: true, id: "sell-messaging", "data-testid": "sell-messaging" }) : null;

  let token = ETH;
  const readToken = async () => {
    if (tokenMode.value === "eth") { token = ETH; tokenName.textContent = ""; return token; }
    const address = tokenAddress.value.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error("token: give the token contract's 0x address");
    token = await api(`/api/tokens/${address}`);
    tokenName.textContent = token.known ? `${token.symbol}, ${token.decimals} decimals` : "This address does not answer as an ERC-20 token.";
    if (!token.known) throw new Error("token: this address does not answer as an ERC-20 token");
    return token;
  };
  tokenAddress.addEventListener("change", () => readToken().catch((err) => { tokenName.textContent = err.message; }));
  // What comparable items sold for, redrawn when what is sold or its token changes.
  const hintBox = el("div", { "aria-live": "polite", "data-testid": "price-hint-box" });
  let hintTurn = 0;
  const showHint = async () => {
    const turn = ++hintTurn;
    const what = category.value.trim();
    if (!what) { hintBox.replaceChildren(); return; }
    try {
      const paidIn = tokenMode.value === "eth" ? ETH : await readToken();
      const shown = await priceHint({ category: what, kind: kind.value, token: paidIn, condition: condition.value });
      if (turn === hintTurn) hintBox.replaceChildren(shown);
    } catch (err) {
      if (turn === hintTurn) hintBox.replaceChildren();  // no index or no answer: no hint, no noise
    }
  };
  for (const input of [category, kind, condition, tokenMode, tokenAddress]) input.addEventListener("change", () => showHint());

  const rentalFields = el("fieldset", { class: "group", "data-testid": "sell-rental" }, el("legend", {}, "Rental"),
    field("From", rentalStart), field("Until", rentalEnd),
    field("Deposit per unit", deposit, "Held in escrow with the rent and returned when you confirm the item came back."));
  const tokenFields = el("div", {}, field("Paid in", tokenMode), field("Token address", tokenAddress), tokenName);
  const sync = () => {
    rentalFields.hidden = kind.value !== "rental";
    condition.closest(".field").hidden = kind.value === "service";
    tokenAddress.closest(".field").hidden = tokenMode.value === "eth";
  };
  kind.addEventListener("change", sync);
  tokenMode.addEventListener("change", () => { sync(); readToken().catch(() => {}); });

  const submit = (event) => {
    event.preventDefault();
    act("Publishing", async () => {
      const seller = await account();
      await readToken();
      const units = (text, what, opts) => {
        try { return toUnits(text, token.decimals, opts).toString(); } catch (err) { throw new Error(`${what}: ${err.message}`); }
      };
      const wei = units(price.value, "price");
      const k = kind.value;
      const depositUnits = k === "rental" ? units(deposit.value, "deposit") : "0";
      const arb = arbitrator.value.trim();
      if (arb && !/^0x[0-9a-fA-F]{40}$/.test(arb)) throw new Error("arbitrator: give a 0x address");
      const feeBps = arb ? Math.round(Number(fee.value) * 100) : 0;
      if (arb && !(feeBps >= 0 && feeBps <= 1000)) throw new Error("arbitrator fee: 0 to 10%");
      const qty = Math.max(1, Number(quantity.value) || 1);
      const reviewWindow = Math.round(Number(windowDays.value) * DAY);
      if (!(reviewWindow >= 1 && reviewWindow <= 365 * DAY)) throw new Error("review window: 1 to 365 days");
      const images = [];
      for (const [i, file] of [...photos.files].slice(0, 10).entries()) {
        setStatus(`Storing photo ${i + 1} on IPFS…`, "busy");
        images.push(await upload(file));
      }
      const doc = { schema_version: 1, title: title.value.trim(), description: description.value.trim(),
        category: category.value.trim(), kind: k, price: wei, token: token.address === ZERO ? "ETH" : token.address, seller,
        quantity: qty, created_at: Math.floor(Date.now() / 1000), images };
      if (k !== "service") doc.condition = condition.value;
      if (k === "rental") {
        if (!rentalStart.value || !rentalEnd.value) throw new Error("rental: give both dates");
        doc.rental = { start: toUnix(rentalStart.value), end: toUnix(rentalEnd.value, true) };
        if (doc.rental.end <= doc.rental.start) throw new Error("rental: the end must come after the start");
        // the window runs from the purchase: bought now, it must outlast the rental, or nobody
        // could dispute (a damage claim against the deposit, say) once the item is back
        const now = Math.floor(Date.now() / 1000);
        if (now + reviewWindow < doc.rental.end) {
          const need = Math.ceil((doc.rental.end - now) / DAY) + 1;
          throw new Error(`review window: ${windowDays.value} days would end before the rental does, and nobody could dispute after it; give at least ${need} days`);
        }
        doc.deposit = depositUnits;
      }
      if (arb) doc.arbitrator = { address: arb, fee_bps: feeBps };
      if (talk && talk.checked) {
        setStatus("Sign in your wallet to derive your messaging key (once), and to vouch for it…", "busy");
        doc.schema_version = 2;
        doc.messaging = await messagingField(await identity(seller), relays);
      }
      if (location.value.trim()) doc.location = { text: location.value.trim(), ...(country.value.trim() ? { country: country.value.trim().toUpperCase() } : {}) };
      const methods = delivery.map((s) => s.querySelector("input")).filter((b) => b.checked);
      doc.delivery = methods.map((b) => ({ method: b.value, ...(deliveryNote.value.trim() ? { note: deliveryNote.value.trim() } : {}) }));
      setStatus("Storing the listing document on IPFS…", "busy");
      const stored = await post("/api/ipfs/document", doc);
      const termsBody = { seller, price: wei, cid: stored.cid, token: token.address, deposit: depositUnits,
        arbitrator: arb || ZERO, arbitrator_fee_bps: feeBps, review_window: reviewWindow,
        expiry: expiry.value ? toUnix(expiry.value, true) : 0, quantity: qty };
      if (mode.value === "onchain") {
        const prepared = await post("/api/tx/create-listing", termsBody);
        await sendPrepared(prepared, "List");
        window.location.hash = `#/listing/${prepared.listing_id}`;
        setStatus(`Listed on-chain for ${money(wei, token)}.${await confirmationNote()}`, "done");
        return;
      }
      const out = await post("/api/tx/listing-typed-data", termsBody);
      setStatus("Sign the listing in your wallet…", "busy");
      const signature = await signTypedData(seller, out.typed_data);
      const signed = await post("/api/tx/signed-listing", { typed_data: out.typed_data, signature });
      const encoded = btoa(JSON.stringify(signed)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      const link = `${window.location.origin}${window.location.pathname}#/signed/${encoded}`;
      const copied = el("span", { class: "muted", "aria-live": "polite", "data-testid": "share-copied" });
      share.replaceChildren(
        el("p", {}, "Share this link with buyers: ", el("a", { href: link, "data-testid": "share-link" }, "your signed listing")),
        el("button", { type: "button", class: "secondary", "data-testid": "share-copy", onclick: async () => {
          try {
            await navigator.clipboard.writeText(link);
            copied.textContent = " Copied.";
          } catch (err) {
            copied.textContent = " Copying failed: select the link and copy it.";
          }
        } }, "Copy link"), copied);
      share.scrollIntoView({ block: "center" });
      share.querySelector("button").focus({ preventScroll: true });
      setStatus("Signed: nothing was sent to the chain; the first buyer puts it there. Share the link below.", "done");
    });
  };

  const form = el("form", { class: "sell", "data-testid": "sell-form", onsubmit: submit },
    el("datalist", { id: "categories" }, cats.items.map((c) => el("option", { value: c.name }))),
    el("fieldset", { class: "group" }, el("legend", {}, "What"),
      field("Kind", kind), field("Title", title), field("Description", description),
      field("Category", category, "A path, e.g. sports/bikes"), field("Condition", condition), field("Photos", photos, "Up to 10 images, 5 MB each")),
    rentalFields,
    el("fieldset", { class: "group" }, el("legend", {}, "Price and terms"),
      tokenFields, field("Price per unit", price), hintBox, field("Quantity", quantity),
      field("Review window (days)", windowDays, "How long the buyer has to check and dispute before you are paid automatically."),
      field("Available until", expiry, "Optional: after this day nobody can buy."),
      field("Arbitrator", arbitrator, "Optional: someone both sides trust to rule disputes. Without one, disputes are not possible."),
      field("Arbitrator fee (%)", fee, "0 to 10%, paid only if it has to rule.")),
    el("fieldset", { class: "group" }, el("legend", {}, "Where and how"),
      field("Location", location), field("Country code", country),
      el("div", { class: "field" }, el("span", { class: "label" }, "Delivery"), el("div", { class: "checks" }, delivery)),
      field("Delivery note", deliveryNote),
      talk ? el("div", { class: "field check" }, talk, el("label", { for: talk.id }, "Let buyers message me, end-to-end encrypted (your wallet signs to derive your messaging key)")) : null),
    field("Publish", mode),
    el("button", { type: "submit", class: "primary", "data-testid": "sell-submit" }, "Publish"),
    share);
  view.replaceChildren(el("h1", {}, "Sell something"), form);
  sync();
  showHint();
}
