// Offers on a listing: a buyer proposes a price (signed in the wallet, no gas: an EIP-712 offer,
// with an EIP-2612 permit for tokens that take one, or a Permit2 permit for a token the buyer
// approved to Permit2; ETH offers are paid from the buyer's
// marketplace credit, added first), the seller sees every offer and accepts one in a single
// transaction, the buyer can cancel. The API verifies and keeps the signed offers.
import { api, post } from "../lib/api.js";
import { el, field, terms } from "../lib/dom.js";
import { date, isEth, money, short, toUnits } from "../lib/format.js";
import { act, setStatus } from "../lib/status.js";
import { account, confirmationNote, sendPrepared, session, signTypedData } from "../lib/wallet.js";

const DAY = 86400;
const STATUS = { open: "Open", accepted: "Accepted", cancelled: "Cancelled", expired: "Expired" };
const EXPIRIES = [[1, "1 day"], [3, "3 days"], [7, "7 days"], [14, "14 days"], [30, "30 days"]];

// A 65-byte signature as the permit's { v, r, s }. A Permit2 permit takes it in EIP-2098
// compact form: v 0, and s with the y-parity in its top bit.
function splitSignature(signature, kind) {
  const hex = signature.slice(2);
  let v = parseInt(hex.slice(128, 130), 16);
  if (v < 27) v += 27;
  const r = `0x${hex.slice(0, 64)}`;
  if (kind === "permit2") {
    const s = BigInt(`0x${hex.slice(64, 128)}`) | (BigInt(v - 27) << 255n);
    return { r, s: `0x${s.toString(16).padStart(64, "0")}`, v: 0 };
  }
  return { r, s: `0x${hex.slice(64, 128)}`, v };
}

// "80% of the asking price", "the asking price", "120% of ..." (whole percent, rounded down).
function versusAsking(price, asking) {
  const p = BigInt(price);
  const a = BigInt(asking);
  if (a === 0n || p === a) return "the asking price";
  return `${(p * 100n) / a}% of the asking price`;
}

function stateText(offer) {
  const s = offer.state;
  if (!s) return "Unknown (the chain could not be asked)";
  const parts = [STATUS[s.status] || s.status];
  if (s.status === "open") {
    if (!s.funded) parts.push("the buyer's funds do not cover it now");
    if (!s.approved) parts.push("the payment is not approved");
    if (!s.listing_live) parts.push("the listing changed or has too few units");
  }
  return parts.join(": ");
}

function acceptable(offer) {
  const s = offer.state;
  return Boolean(s && s.status === "open" && s.funded && s.approved && s.listing_live);
}

// The panel under the buy box; filled once the offers are read.
export function offersPanel(listing, token, { own, now, refresh }) {
  const t = listing.terms;
  const panel = el("section", { class: "panel offers", "aria-labelledby": "offers-title", "data-testid": "offers-panel" },
    el("h2", { id: "offers-title" }, own ? "Offers on your listing" : "Make an offer"));
  const list = el("div", { "data-testid": "offers-list" });

  const offerCard = (offer, me) => {
    const mine = me && offer.buyer.toLowerCase() === me.toLowerCase();
    const status = offer.state ? offer.state.status : "unknown";
    const buttons = [];
    if (own && acceptable(offer)) {
      buttons.push(el("button", { type: "button", class: "primary", "data-testid": `accept-offer-${offer.id}`, onclick: () => act("Accepting the offer", async () => {
        const seller = await account();
        const prepared = await post("/api/tx/accept-offer", { sender: seller, offer_id: offer.id });
        await sendPrepared(prepared, "Accept offer");
        await refresh();
        setStatus(`Offer accepted: the buyer's payment is held in escrow. Follow the trade in My trades.${await confirmationNote()}`, "done");
      }) }, "Accept"));
    }
    if (mine && status === "open") {
      buttons.push(el("button", { type: "button", class: "secondary", "data-testid": `cancel-offer-${offer.id}`, onclick: () => act("Cancelling the offer", async () => {
        const buyer = await account();
        const prepared = await post("/api/tx/cancel-offer", { sender: buyer, offer_id: offer.id });
        await sendPrepared(prepared, "Cancel offer");
        await refresh();
        setStatus("Offer cancelled: it can no longer be accepted.", "done");
      }) }, "Cancel offer"));
    }
    return el("article", { class: "offer", "data-testid": "offer-row", "data-id": offer.id, "data-status": status },
      el("p", { class: "price" }, `${money(offer.price, token)} per unit`,
        el("span", { class: "muted" }, ` · ${versusAsking(offer.price, t.price)} (${money(t.price, token)})`)),
      terms([
        ["Quantity", String(offer.quantity)],
        ["Buyer pays", money(offer.total, token)],
        ["Buyer", el("a", { href: `#/seller/${offer.buyer}`, class: "mono", title: offer.buyer }, mine ? "You" : short(offer.buyer))],
        ["Valid until", date(offer.expiry)],
        ["Status", el("span", { "data-testid": "offer-status" }, stateText(offer))],
      ]),
      buttons.length ? el("div", { class: "actions" }, buttons) : null);
  };

  const load = async () => {
    try {
      const { offers } = await api(`/api/listings/${listing.id}/offers`);
      const me = session.account;
      const shown = own ? offers : offers.filter((o) => me && o.buyer.toLowerCase() === me.toLowerCase());
      if (!shown.length) {
        list.replaceChildren(own ? el("p", { class: "empty", "data-testid": "offers-empty" }, "No offers yet.") : "");
        return;
      }
      list.replaceChildren(
        own ? "" : el("h3", { class: "small" }, "Your offers"),
        el("div", { class: "offer-list" }, shown.map((o) => offerCard(o, me))));
    } catch (err) {
      list.replaceChildren(el("p", { class: "muted" }, `Offers cannot be shown: ${err.message}`));
    }
  };

  if (!own && listing.status === "live" && !listing.signed) {
    const decimals = token.decimals ?? 18;
    const price = el("input", { type: "text", inputmode: "decimal", required: true, value: "", placeholder: "e.g. 0.8", "data-testid": "offer-price" });
    const quantity = el("input", { type: "number", min: "1", max: String(Math.max(1, listing.remaining)), value: "1", "data-testid": "offer-quantity" });
    const expiry = el("select", { "data-testid": "offer-expiry" }, EXPIRIES.map(([days, label]) => el("option", { value: String(days), selected: days === 3 }, label)));
    const how = isEth(token)
      ? "Signing costs no gas. ETH offers are paid from your marketplace credit: if it falls short, your wallet first asks you to add the difference (you can withdraw it any time)."
      : "Signing costs no gas. The seller accepts with one transaction that moves your payment into escrow.";
    const form = el("form", { class: "offer-form", "data-testid": "offer-form", onsubmit: (event) => {
      event.preventDefault();
      act("Making an offer", async () => {
        const units = toUnits(price.value, decimals);
        const n = Math.min(Math.max(1, Number(quantity.value) || 1), Math.max(1, listing.remaining));
        const buyer = await account();
        const out = await post("/api/offer-typed-data", {
          listing_id: listing.id,
          buyer,
          price: units.toString(),
          quantity: n,
          expiry: now + Number(expiry.value) * DAY,
        });
        if (out.funding) {
          const credit = out.funding.transactions.reduce((sum, tx) => sum + BigInt(tx.value), 0n);
          await sendPrepared(out.funding, `Add ${money(credit, token)} of credit for the offer`);
        }
        setStatus("Sign the offer in your wallet…", "busy");
        const document = { ...out.document, signature: await signTypedData(buyer, out.offer_typed_data) };
        if (out.permit_typed_data) {
          setStatus("Sign the payment permit in your wallet…", "busy");
          const signed = await signTypedData(buyer, out.permit_typed_data);
          const parts = splitSignature(signed, out.permit_kind);
          document.permit = { value: out.permit_value, deadline: out.permit_deadline, ...parts };
        }
        await post("/api/offers", document);
        price.value = "";
        await load();
        setStatus(`Offer sent: ${money(units, token)} per unit. The seller sees it on this listing.`, "done");
      });
    } },
      field("Your price per unit", price, `Asking: ${money(t.price, token)}`),
      listing.remaining > 1 ? field("Quantity", quantity) : null,
      field("Valid for", expiry),
      el("p", { class: "muted small" }, how),
      el("button", { type: "submit", class: "secondary", "data-testid": "offer-submit" }, "Sign and send offer"));
    panel.append(form);
  } else if (!own) {
    return null;
  }
  panel.append(list);
  load();
  return panel;
}
