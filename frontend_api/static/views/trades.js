// My trades: each trade in words (what is held, until when, who may do what), and every action
// the connected account may take now, as buyer, seller or arbitrator; credits to withdraw.
import { api, post } from "../lib/api.js";
import { el, field, terms } from "../lib/dom.js";
import { STATES, date, money, short, toUnits } from "../lib/format.js";
import { act, setStatus } from "../lib/status.js";
import { account, confirmationNote, sendPrepared } from "../lib/wallet.js";

// Each action: its button, its endpoint, and (for some) a form asking for a reason, a split or
// a rating. `done` is the status line afterwards.
const ACTIONS = {
  release: { label: "Release payment to the seller", path: "release", done: "Released: the seller is paid." },
  return_deposit: { label: "Return the deposit", path: "return-deposit", done: "Deposit returned to the buyer." },
  accept_settlement: { label: "Accept the proposed split", path: "accept-settlement", done: "Settled: the split is paid out." },
  finalize: { label: "Finalize: pay out now", path: "finalize", done: "Finalized: the money is paid out." },
  claim_ruling_timeout: { label: "Claim the ruling timeout", path: "claim-ruling-timeout", done: "Claimed: everything held went back to the buyer." },
  refund: { label: "Refund the buyer in full", path: "refund", danger: true, form: "confirm", done: "Refunded: everything held went back to the buyer." },
  dispute: { label: "Open a dispute", path: "dispute", danger: true, form: "reason", done: "Disputed: the arbitrator will rule." },
  propose_settlement: { label: "Propose a split", path: "propose-settlement", form: "share", done: "Proposed: the other party can accept it." },
  rule: { label: "Rule on this dispute", path: "rule", form: "share", done: "Ruled: the split is paid out." },
  rate: { label: "Rate and review", path: "rate", form: "rate", done: "Rated: thank you." },
};

function roleName(role) {
  return { buyer: "You bought this", seller: "You sold this", arbitrator: "You are the arbitrator" }[role] || "";
}

// Where the trade stands, in sentences with this trade's numbers and dates.
function story(trade, me) {
  const token = trade.token_info;
  const lines = [];
  const held = BigInt(trade.held);
  if (trade.state === "paid") {
    lines.push(`${money(held, token)} is held in escrow.`);
    const ends = `Review window ends ${date(trade.deadline)}`;
    const dispute = trade.arbitrator ? " or open a dispute" : "";
    if (trade.flags & 1) {
      // the rent (or price) is already released: only the deposit is held, until the owner returns it
      const paidTo = trade.role === "seller" ? "you" : "the seller";
      const orDispute = dispute ? ", or either side opens a dispute before then" : "";
      const returner = trade.role === "seller" ? "you return it" : "the owner returns it";
      lines.push(`${ends}. The payment was released to ${paidTo}; the deposit stays held until ${returner}${orDispute}.`);
    } else if (trade.role === "buyer") {
      lines.push(`${ends}: until then you can release the payment${dispute}; after that anyone can finalize and the seller is paid.`);
    } else if (trade.role === "seller") {
      lines.push(`${ends}: until then the buyer can release the payment${dispute}; after that anyone can finalize and you are paid. You can refund or propose a split at any time.`);
    } else {
      lines.push(`${ends}: until then the buyer can release the payment${dispute}; after that anyone can finalize and the seller is paid.`);
    }
    if (!trade.arbitrator) lines.push("No arbitrator is named, so this trade cannot be disputed.");
  } else if (trade.state === "disputed") {
    lines.push(`${money(held, token)} is held in escrow while ${trade.disputed_by === trade.buyer ? "the buyer's" : trade.disputed_by === trade.seller ? "the seller's" : "a"} dispute is open.`);
    lines.push(`The arbitrator (${short(trade.arbitrator)}, fee ${trade.arbitrator_fee_bps / 100}%) must rule before ${date(trade.deadline)}; after that anyone can claim the timeout and everything held goes back to the buyer.`);
  } else {
    lines.push(STATES[trade.state] + ".");
  }
  if (BigInt(trade.deposit) > 0n) lines.push(`Deposit ${money(trade.deposit, token)}: ${trade.flags & 2 ? "returned" : "held until the owner returns it"}.`);
  if (trade.proposal_by) {
    const share = BigInt(trade.proposed_buyer_share);
    const who = trade.proposal_by === me ? "You proposed" : `${trade.proposal_by === trade.buyer ? "The buyer" : "The seller"} proposed`;
    lines.push(`${who}: the buyer gets ${money(share, token)}, the seller ${money(held - share, token)}.`);
  }
  if (trade.state !== "paid" && trade.state !== "disputed") {
    const rated = [trade.buyer_rated ? "the buyer rated the seller" : null, trade.seller_rated ? "the seller rated the buyer" : null].filter(Boolean);
    if (rated.length) lines.push(`Ratings: ${rated.join(", ")}.`);
  }
  return lines;
}

function actionForm(action, kind, trade, id, submit) {
  const token = trade.token_info;
  const controls = [];
  let read;
  if (kind === "reason") {
    const reason = el("textarea", { rows: "3", maxlength: "2000", required: true, "data-testid": `dispute-reason-${id}` });
    controls.push(field("What went wrong? The arbitrator and the other party will read this.", reason));
    read = () => {
      if (!reason.value.trim()) throw new Error("say what went wrong");
      return { reason: reason.value.trim() };
    };
  } else if (kind === "share") {
    const held = BigInt(trade.held);
    const fee = (held * BigInt(trade.arbitrator_fee_bps)) / 10000n;
    const ruling = action === "rule";
    const pot = ruling ? held - fee : held;
    const share = el("input", { inputmode: "decimal", required: true, "data-testid": `share-${id}` });
    controls.push(field(`Buyer gets (${token.symbol})`, share,
      ruling ? `Held ${money(held, token)}; your fee ${money(fee, token)}; the seller gets the rest of ${money(pot, token)}.`
        : `Held ${money(held, token)}; the seller gets the rest.`));
    read = () => {
      const units = toUnits(share.value, token.decimals, { allowZero: true });
      if (units > pot) throw new Error(`the buyer's share is at most ${money(pot, token)}`);
      return { buyer_share: units.toString() };
    };
  } else if (kind === "confirm") {
    controls.push(el("p", {}, `Everything still held, ${money(trade.held, token)}, goes back to the buyer. This cannot be undone.`));
    read = () => ({});
  } else if (kind === "rate") {
    const score = el("select", { "data-testid": `rate-score-${id}` }, [5, 4, 3, 2, 1].map((n) => el("option", { value: String(n) }, `${n} star${n === 1 ? "" : "s"}`)));
    const review = el("textarea", { rows: "3", maxlength: "2000", "data-testid": `rate-review-${id}` });
    controls.push(field("Stars", score), field("Review (optional, public)", review));
    read = () => ({ score: Number(score.value), ...(review.value.trim() ? { review: review.value.trim() } : {}) });
  }
  const form = el("form", { class: "action-form", hidden: true, "data-testid": `${action}-form-${id}`,
    onsubmit: (event) => { event.preventDefault(); submit(read); } },
  ...controls,
  el("button", { type: "submit", class: ACTIONS[action].danger ? "danger" : "", "data-testid": `${action}-submit-${id}` },
    kind === "confirm" ? "Yes, refund" : ACTIONS[action].label));
  return form;
}

function tradeActions(trade, me, now) {
  const id = trade.trade_id;
  const mine = (step) => (step.actor ? step.actor === me : trade.role !== null);
  const open = (step) => (step.not_before === null || now >= step.not_before) && (step.until === null || now < step.until);
  const seen = new Set();
  const buttons = [];
  const forms = [];
  for (const step of trade.next_steps) {
    const spec = ACTIONS[step.action];
    if (!spec || seen.has(step.action) || !mine(step) || !open(step)) continue;
    seen.add(step.action);
    const run = (extra = () => ({})) => act(spec.label, async () => {
      const body = { sender: me, trade_id: id, ...extra() };
      const prepared = await post(`/api/tx/${spec.path}`, body);
      await sendPrepared(prepared, spec.label);
      await window.route({ quiet: true });
      setStatus(spec.done + (await confirmationNote()), "done");
    });
    if (spec.form) {
      const form = actionForm(step.action, spec.form, trade, id, (read) => run(read));
      forms.push(form);
      buttons.push(el("button", { type: "button", class: spec.danger ? "danger" : "secondary", "aria-expanded": "false",
        "data-action": step.action, "data-testid": `${step.action}-${id}`,
        onclick: (event) => {
          form.hidden = !form.hidden;
          event.currentTarget.setAttribute("aria-expanded", String(!form.hidden));
          if (!form.hidden) form.querySelector("input, textarea, select, button").focus();
        } }, spec.label));
    } else {
      buttons.push(el("button", { type: "button", "data-action": step.action, "data-testid": `${step.action}-${id}`,
        onclick: () => run() }, spec.label));
    }
  }
  return [buttons.length ? el("div", { class: "actions" }, buttons) : null, ...forms];
}

function tradeCard(trade, me, now) {
  const token = trade.token_info;
  const other = trade.role === "buyer" ? ["Seller", trade.seller] : trade.role === "seller" ? ["Buyer", trade.buyer] : null;
  return el("article", { class: "trade", "data-testid": "trade-row", "data-id": trade.trade_id, "data-state": trade.state },
    el("header", {},
      el("h2", {}, el("a", { href: `#/listing/${trade.listing_id}` }, trade.title || `Trade ${short(trade.trade_id)}`)),
      el("span", { class: `badge state-${trade.state}`, "data-testid": "trade-state" }, STATES[trade.state] || trade.state)),
    el("p", { class: "muted small" }, roleName(trade.role), ` · ${date(trade.opened_at)} · `, el("span", { class: "mono" }, short(trade.trade_id))),
    terms([
      ["Amount", money(trade.amount, token) + (trade.quantity > 1 ? ` for ${trade.quantity} units` : "")],
      other ? [other[0], el("a", { href: `#/seller/${other[1]}`, class: "mono" }, short(other[1]))] : ["Parties", `buyer ${short(trade.buyer)}, seller ${short(trade.seller)}`],
      trade.dispute_reason ? ["Dispute reason", el("q", { "data-testid": "dispute-reason" }, trade.dispute_reason)] : null,
    ]),
    el("ul", { class: "story" }, story(trade, me).map((line) => el("li", {}, line))),
    el("p", {}, el("a", { href: `#/conversation/${trade.trade_id}`, "data-testid": `conversation-${trade.trade_id}` },
      trade.role === "arbitrator" ? "Read the shared conversation" : "Conversation with the " + (trade.role === "buyer" ? "seller" : "buyer"))),
    ...tradeActions(trade, me, now));
}

const BOOKING_STATES = {
  booked: "Booked, rent and deposit held", disputed: "Disputed, waiting for the arbitrator",
  completed: "Completed", refunded: "Refunded by the owner", ruled: "Ruled",
  ruling_timed_out: "Ruling timed out: everything held went back", none: "Cancelled",
};

// A booking as its renter, owner or arbitrator sees it, with the moves open to them now.
function bookingCard(b, me) {
  const token = b.token_info;
  const id = b.booking_id;
  const run = (step, extra = {}) => act(step.label, async () => {
    const path = step.action === "rule" ? "booking/rule" : step.action === "rate" ? "booking/rate" : `booking/${step.action}`;
    const prepared = await post(`/api/tx/${path}`, { sender: me, booking_id: id, ...extra });
    await sendPrepared(prepared, step.label);
    await window.route({ quiet: true });
    setStatus(`${step.label}: done.${await confirmationNote()}`, "done");
  });
  const controls = b.steps.map((step) => {
    if (step.action === "rule") {
      const share = el("input", { type: "text", inputmode: "decimal", required: true, "data-testid": `booking-share-${id}` });
      return el("form", { class: "action-form", onsubmit: (e) => { e.preventDefault(); run(step, { renter_share: toUnits(share.value, token.decimals, { allowZero: true }).toString() }); } },
        field(`Renter's share (${token.symbol})`, share), el("button", { type: "submit", "data-testid": `booking-rule-${id}` }, step.label));
    }
    if (step.action === "rate") {
      const score = el("select", { "data-testid": `booking-score-${id}` }, [5, 4, 3, 2, 1].map((n) => el("option", { value: String(n) }, `${n} stars`)));
      return el("form", { class: "action-form", onsubmit: (e) => { e.preventDefault(); run(step, { score: Number(score.value) }); } },
        field("Stars", score), el("button", { type: "submit", "data-testid": `booking-rate-${id}` }, step.label));
    }
    if (["cancel", "claim", "dispute"].includes(step.action)) {
      // Money leaves or is frozen: say what happens and ask once more.
      const what = {
        cancel: b.role === "owner" ? `Everything held (${money(b.held, token)}) goes back to the renter.` : "The cancellation policy applies; the dates become free for others.",
        claim: `You get the rent now; the arbitrator decides about the ${money(b.deposit, token)} deposit.`,
        dispute: `The arbitrator decides about everything held (${money(b.held, token)}).`,
      }[step.action];
      const form = el("form", { class: "action-form", hidden: true, onsubmit: (e) => { e.preventDefault(); run(step); } },
        el("p", {}, what), el("button", { type: "submit", class: "danger", "data-testid": `booking-${step.action}-confirm-${id}` }, `Yes: ${step.label.toLowerCase()}`));
      const toggle = el("button", { type: "button", class: "danger", "aria-expanded": "false", "data-testid": `booking-${step.action}-${id}`,
        onclick: (event) => { form.hidden = !form.hidden; event.currentTarget.setAttribute("aria-expanded", String(!form.hidden)); } }, step.label);
      return el("div", {}, toggle, form);
    }
    return el("button", { type: "button", "data-testid": `booking-${step.action}-${id}`, onclick: () => run(step) }, step.label);
  });
  const role = { renter: "You booked this", owner: "You rent this out", arbitrator: "You are the arbitrator" }[b.role] || "";
  return el("article", { class: "trade", "data-testid": "booking-row", "data-id": id, "data-state": b.state },
    el("header", {},
      el("h2", {}, el("a", { href: `#/listing/${b.listing_id}` }, b.title || `Booking ${short(id)}`)),
      el("span", { class: `badge state-${b.state}` }, BOOKING_STATES[b.state] || b.state)),
    el("p", { class: "muted small" }, role, " · ", el("span", { class: "mono" }, short(id))),
    terms([
      ["When", `${date(b.start)} to ${date(b.end)}`],
      ["Rent", money(b.rent, token)],
      ["Deposit", money(b.deposit, token)],
      BigInt(b.held) > 0n ? ["Held now", money(b.held, token)] : null,
      b.state === "booked" ? ["Claim window ends", date(b.deadline)] : null,
      b.state === "disputed" ? ["Ruling due by", date(b.deadline)] : null,
      b.picked_up ? ["Pickup", "confirmed by the renter"] : null,
    ]),
    controls.length ? el("div", { class: "actions" }, controls) : null);
}

export async function showTrades({ view, current }) {
  const me = await account();
  const [result, credits, notices, bookings] = await Promise.all([
    api(`/api/accounts/${me}/trades`),
    api(`/api/accounts/${me}/credits`).catch(() => ({ items: [] })),
    api(`/api/notifications?address=${me}&limit=8`).catch(() => ({ notifications: [] })),
    api(`/api/accounts/${me}/bookings`).catch(() => ({ items: [] })),
  ]);
  if (!current()) return;
  const now = result.now;
  const creditPanel = credits.items.length
    ? el("section", { class: "panel", "aria-labelledby": "credits-title", "data-testid": "credits" },
      el("h2", { id: "credits-title" }, "Payouts waiting for you"),
      el("p", { class: "muted" }, "The marketplace could not send these to you directly, so it kept them for you, or you added them to back your ETH offers (withdrawing leaves those offers unfunded). Withdraw them to your account."),
      credits.items.map((c) => el("p", {}, money(c.amount, c.token), " ",
        el("button", { type: "button", "data-testid": `withdraw-${c.token.symbol}`, onclick: () => act("Withdrawing", async () => {
          const prepared = await post("/api/tx/withdraw", { sender: me, token: c.token.address });
          await sendPrepared(prepared, "Withdraw");
          await window.route({ quiet: true });
          setStatus(`Withdrew ${money(c.amount, c.token)}.`, "done");
        }) }, "Withdraw"))))
    : null;
  const noticePanel = notices.notifications.length
    ? el("section", { class: "panel", "aria-labelledby": "notices-title", "data-testid": "notifications" },
      el("h2", { id: "notices-title" }, "What happened lately"),
      el("ul", {}, notices.notifications.map((n) => el("li", { "data-kind": n.kind }, `${date(n.at)}: ${n.text}`))))
    : null;
  view.replaceChildren(...[
    el("h1", {}, "My trades"),
    creditPanel,
    noticePanel,
    result.items.length
      ? el("div", { class: "trades", "data-testid": "trades" }, result.items.map((trade) => tradeCard(trade, me, now)))
      : el("p", { class: "empty", "data-testid": "no-trades" }, "No trades yet."),
    bookings.items.length ? el("h2", {}, "My bookings") : null,
    bookings.items.length
      ? el("div", { class: "trades", "data-testid": "bookings" }, bookings.items.map((b) => bookingCard(b, me)))
      : null].filter(Boolean));
}
