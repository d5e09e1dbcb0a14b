// One listing: every term in plain words, the escrow explained, the seller's trust and reviews,
// and buying with the wallet after a summary. The purchase carries the terms shown here.
import { api, post } from "../lib/api.js";
import { el, field, terms } from "../lib/dom.js";
import { CONDITIONS, DELIVERY, KINDS, ZERO, date, day, duration, money, short, stars, trustLine } from "../lib/format.js";
import { act, setStatus } from "../lib/status.js";
import { account, confirmationNote, sendPrepared, session } from "../lib/wallet.js";
import { offersPanel } from "./offers.js";
import { reviewList, trustExplained } from "./profile.js";
import { matchedRequestsPanel } from "./requests.js";
import { showRental } from "./rental.js";

export async function showListing(id, ctx) {
  let listing;
  try {
    listing = await api(`/api/listings/${id}`);
  } catch (err) {
    // Not a sale listing: a rental booked by date lives in the bookings contract.
    const rental = await api(`/api/rentals/${id}`).then(() => true, () => false);
    if (rental) return showRental(id, ctx);
    throw err;
  }
  const ratings = await api(`/api/accounts/${listing.seller}/ratings`).catch(() => ({ items: [] }));
  if (!ctx.current()) return;
  render(ctx.view, listing, ratings.items, { listing_id: listing.id });
}

// A signed listing shared as a link: checked by the API, bought with its signature.
export async function showSigned(encoded, ctx) {
  let signed;
  try {
    signed = JSON.parse(atob(encoded.replace(/-/g, "+").replace(/_/g, "/")));
  } catch (err) {
    throw new Error("this link does not hold a signed listing");
  }
  const listing = await post("/api/listings/signed", signed);
  const ratings = await api(`/api/accounts/${listing.seller}/ratings`).catch(() => ({ items: [] }));
  if (!ctx.current()) return;
  render(ctx.view, listing, ratings.items, { signed_listing: signed });
}

const STATUS = { live: "Available", unused: "Available (signed listing, not bought yet)", sold_out: "Sold out", closed: "Closed by the seller" };

// What happens to the money, and what each party can do when: one paragraph, this listing's numbers.
function escrowText(listing, doc, token) {
  const t = listing.terms;
  const window = duration(t.review_window);
  const rental = BigInt(t.deposit) > 0n;
  const parts = [
    `When you buy, your payment goes into the marketplace contract, not to the seller. ` +
      `The seller gets the price when you release it, or automatically ${window} after your purchase if you do nothing.`,
  ];
  if (rental) parts.push(` The deposit (${money(t.deposit, token)} per unit) stays in escrow until the owner returns it; within the ${window} the owner can instead dispute it for damage.`);
  if (t.arbitrator !== ZERO) {
    parts.push(` Within those ${window}, if something is wrong, you (or the seller) can open a dispute: the arbitrator then decides how the money is split and takes ${t.arbitrator_fee_bps / 100}% only if it has to rule; if it does not rule in time, everything goes back to you.`);
  } else {
    parts.push(" No arbitrator is named, so disputes are not possible: only the seller can refund you, and you can agree on a split together.");
  }
  parts.push(" The seller can refund you in full at any time, and either of you can propose a split the other accepts.");
  return parts.join("");
}

function render(view, listing, ratings, target) {
  const doc = listing.document || {};
  const t = listing.terms;
  const token = listing.token;
  const now = listing.now || Math.floor(Date.now() / 1000);
  const buyable = listing.status === "live" || listing.status === "unused";
  const rental = doc.rental;
  const arbitrator = t.arbitrator !== ZERO;
  const trust = listing.seller_trust;

  const gallery = el("div", { class: "gallery" },
    listing.image_urls.length
      ? listing.image_urls.map((url, i) => el("img", { src: url, alt: `${doc.title || "Listing"}, photo ${i + 1}`, "data-testid": "listing-image" }))
      : el("div", { class: "noimg big", "aria-hidden": "true" }, "No photo"));

  const rows = [
    ["Price", money(t.price, token) + (listing.listed_quantity > 1 ? " per unit" : ""), "listing-price"],
    BigInt(t.deposit) > 0n ? ["Refundable deposit", `${money(t.deposit, token)} per unit, returned when the owner confirms the return`, "listing-deposit"] : null,
    !token.known ? ["Token", `${t.token}: this address does not answer as a token; amounts are in its base units`] : (token.address !== ZERO ? ["Token", `${token.symbol} (${t.token})`, "listing-token"] : null),
    ["Kind", KINDS[doc.kind] || "Unknown (no listing details)", "listing-kind"],
    rental ? ["Rental dates", `${day(rental.start)} to ${day(rental.end)}`, "listing-rental"] : null,
    doc.condition ? ["Condition", CONDITIONS[doc.condition] || doc.condition] : null,
    ["Review window", `${duration(t.review_window)} after purchase. Buy now and it ends ${date(now + t.review_window)}.`, "listing-window"],
    ["Arbitrator", arbitrator
      ? el("span", {}, el("span", { class: "mono", title: t.arbitrator }, short(t.arbitrator)), `, fee ${t.arbitrator_fee_bps / 100}% of what it splits, paid only if it rules`)
      : "None: no disputes possible", "listing-arbitrator"],
    ["Available until", t.expiry ? date(t.expiry) : "No end date", "listing-expiry"],
    ["Quantity", `${listing.remaining} of ${listing.listed_quantity} left`, "listing-remaining"],
    ["Status", STATUS[listing.status] || listing.status, "listing-status"],
    doc.location ? ["Location", doc.location.text + (doc.location.country ? ` (${doc.location.country})` : "")] : null,
    doc.delivery && doc.delivery.length ? ["Delivery", el("ul", { class: "plain" }, doc.delivery.map((d) =>
      el("li", {}, DELIVERY[d.method] || d.method, BigInt(d.cost || 0) > 0n ? `, ${money(d.cost, token)} paid outside the escrow` : "", d.note ? `: ${d.note}` : "")))] : null,
    doc.terms_note ? ["Seller's terms", doc.terms_note] : null,
    ["Listing document", el("span", { class: "mono" }, listing.document_cid)],
  ];

  const quantity = el("input", { type: "number", min: "1", max: String(Math.max(1, listing.remaining)), value: "1", "data-testid": "buy-quantity" });
  const total = el("p", { class: "total", "data-testid": "buy-total" });
  const units = () => Math.min(Math.max(1, Number(quantity.value) || 1), Math.max(1, listing.remaining));
  const updateTotal = () => {
    const n = BigInt(units());
    total.textContent = `You pay ${money((BigInt(t.price) + BigInt(t.deposit)) * n, token)} into escrow`;
  };
  quantity.addEventListener("input", updateTotal);
  updateTotal();

  const dialog = el("dialog", { class: "confirm", "aria-labelledby": "confirm-title", "data-testid": "buy-confirm" });
  const buy = el("button", { type: "button", class: "primary", disabled: !buyable, "data-testid": "buy", onclick: () => {
    const n = BigInt(units());
    dialog.replaceChildren(
      el("h2", { id: "confirm-title" }, "Check before your wallet opens"),
      terms([
        ["You pay", `${money((BigInt(t.price) + BigInt(t.deposit)) * n, token)} (${n} × ${money(t.price, token)}${BigInt(t.deposit) > 0n ? ` + ${money(t.deposit, token)} deposit` : ""})`],
        ["Held by", "the marketplace contract, until released, refunded, settled or ruled"],
        ["Seller", el("span", { class: "mono" }, listing.seller)],
        ["Review window", `${duration(t.review_window)}, ends about ${date(now + t.review_window)}`],
        ["Arbitrator", arbitrator ? `${short(t.arbitrator)}, ${t.arbitrator_fee_bps / 100}% fee if it rules` : "none"],
      ]),
      el("p", { class: "muted" }, "These exact terms go with your purchase: if the seller changed anything since this page loaded, the purchase is refused and nothing is paid."),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", "data-testid": "buy-cancel", onclick: () => dialog.close() }, "Cancel"),
        el("button", { type: "button", class: "primary", "data-testid": "buy-confirm-button", onclick: () => { dialog.close(); purchase(Number(n)); } }, "Confirm and open wallet")));
    dialog.showModal();
  } }, buyable ? "Buy" : STATUS[listing.status] || "Not available");

  const purchase = (n) => act("Buying", async () => {
    const buyer = await account();
    // The terms shown on this page go with the purchase: if the seller changed them since, the
    // contract refuses it (TermsChanged) instead of taking the money under new terms.
    const body = { buyer, quantity: n, ...target };
    if (target.listing_id) body.terms = t;
    const prepared = await post("/api/tx/buy", body);
    await sendPrepared(prepared, "Buy");
    await window.route({ quiet: true });
    setStatus(`Bought: your payment is held in escrow. Release it from My trades once you have what you paid for.${await confirmationNote()}`, "done");
  });

  // The seller's own on-chain listing: it can be closed for good (units sold stay sold).
  const own = session.account && session.account.toLowerCase() === listing.seller.toLowerCase();
  const close = own && !listing.signed && listing.status === "live"
    ? el("button", { type: "button", class: "danger", "data-testid": "close-listing", onclick: () => act("Closing the listing", async () => {
      const prepared = await post("/api/tx/close-listing", { sender: session.account, listing_id: listing.id });
      await sendPrepared(prepared, "Close listing");
      await window.route({ quiet: true });
      setStatus(`Closed: nobody can buy it any more.${await confirmationNote()}`, "done");
    }) }, "Close this listing")
    : null;

  const seller = el("section", { class: "panel", "aria-labelledby": "seller-title", "data-testid": "seller-panel" },
    el("h2", { id: "seller-title" }, "The seller"),
    el("p", {}, el("a", { href: `#/seller/${listing.seller}`, class: "mono", "data-testid": "seller-link" }, listing.seller)),
    doc.messaging && !own && !listing.signed
      ? el("p", {}, el("a", { href: `#/conversation/${listing.id}`, "data-testid": "ask-seller" }, "Ask the seller (end-to-end encrypted)"))
      : null,
    el("p", { class: "trustline", "data-testid": "listing-trust" }, trust ? trustLine(trust) : "Trust unknown (the index is not available)"),
    trust ? trustExplained(trust) : null,
    reviewList(ratings));

  view.replaceChildren(el("article", { class: "detail", "data-testid": "listing-detail" },
    gallery,
    el("div", { class: "info" },
      el("h1", { "data-testid": "listing-title" }, doc.title || "(listing details unavailable)"),
      listing.document_error ? el("p", { class: "warning", role: "alert" }, `The listing's details cannot be shown: ${listing.document_error}`) : null,
      doc.description ? el("p", { class: "description" }, doc.description) : null,
      el("section", { class: "buybox", "aria-label": "Buy" },
        el("p", { class: "price big" }, money(t.price, token), BigInt(t.deposit) > 0n ? el("span", { class: "muted" }, ` + ${money(t.deposit, token)} deposit`) : null),
        listing.remaining > 1 && buyable ? field("Quantity", quantity) : null,
        buyable ? total : null,
        own ? el("p", { class: "muted" }, "This is your listing.") : null,
        own ? close : buy),
      target.listing_id ? offersPanel(listing, token, { own, now, refresh: () => window.route({ quiet: true }) }) : null,
      own && target.listing_id && listing.status === "live" ? matchedRequestsPanel(listing.id) : null,
      el("section", { class: "panel", "aria-labelledby": "escrow-title" },
        el("h2", { id: "escrow-title" }, "How your payment is protected"),
        el("p", { "data-testid": "escrow-text" }, escrowText(listing, doc, token))),
      el("section", { class: "panel", "aria-labelledby": "terms-title" },
        el("h2", { id: "terms-title" }, "Terms"),
        terms(rows, { "data-testid": "listing-terms" })),
      seller)),
    dialog);
}
