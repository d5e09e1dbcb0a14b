// A rental booked by date: its calendar (read from the contract), a booking form that shows
// the periods, rent, deposit and total before the wallet opens, and the rental's rules in words.
import { api, post } from "../lib/api.js";
import { el, field, terms } from "../lib/dom.js";
import { DELIVERY, ZERO, date, duration, money, short, trustLine } from "../lib/format.js";
import { act, setStatus } from "../lib/status.js";
import { account, confirmationNote, sendPrepared, session } from "../lib/wallet.js";

const DAY = 86400;
const PER = { 3600: "hour", 86400: "day", 604800: "week" };
const per = (unit) => PER[unit] || duration(unit);
const pad = (n) => String(n).padStart(2, "0");
// A unix time as the value of a <input type=date> (UTC) or <input type=datetime-local> (UTC).
const asDay = (ts) => new Date(ts * 1000).toISOString().slice(0, 10);
const asTime = (ts) => new Date(ts * 1000).toISOString().slice(0, 16);
const fromInput = (value) => Math.floor(Date.parse(value.length === 10 ? `${value}T00:00:00Z` : `${value}:00Z`) / 1000);

// A plain day means that day's period start (the pickup hour), as on the command line.
function onGrid(t, ts, isDay) {
  if (!isDay) return ts;
  const off = (((ts - t.first_start) % t.unit) + t.unit) % t.unit;
  return off === 0 ? ts : ts + t.unit - off;
}

export async function showRental(id, ctx) {
  const rental = await api(`/api/rentals/${id}`);
  if (!ctx.current()) return;
  const listing = { id: rental.listing_id, image_urls: rental.image_urls, seller_trust: rental.seller_trust };
  const t = rental.terms;
  const token = rental.token;
  const doc = rental.document || {};
  const daily = t.unit >= DAY;
  const now = rental.now || Math.floor(Date.now() / 1000);
  const own = session.account && session.account.toLowerCase() === t.owner.toLowerCase();

  // ---- calendar: a month at a time, each day free, booked, partly booked or not bookable
  let month = new Date(Math.max(t.first_start, now) * 1000);
  month = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), 1));
  const grid = el("div", { class: "calendar", role: "list", "aria-labelledby": "cal-title", "data-testid": "rental-calendar" });
  const title = el("h3", { class: "month", "aria-live": "polite", "data-testid": "calendar-month" });
  const drawMonth = async () => {
    const from = Math.floor(month.getTime() / 1000);
    const next = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
    const to = Math.floor(next.getTime() / 1000);
    title.textContent = month.toLocaleDateString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
    const cal = await api(`/api/rentals/${listing.id}/calendar?from_time=${from}&to_time=${to}`);
    const taken = cal.taken;
    const cells = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"].map((d) => el("div", { class: "dow", "aria-hidden": "true" }, d));
    const lead = (month.getUTCDay() + 6) % 7;
    for (let i = 0; i < lead; i++) cells.push(el("div", { class: "blank", "aria-hidden": "true" }));
    for (let d = from; d < to; d += DAY) {
      // Each period belongs to the day it starts on: a day rental runs pickup to pickup.
      const starts = [];
      for (let p = onGrid(t, Math.max(d, t.first_start), true); p < d + DAY; p += t.unit) {
        if (p + t.unit <= t.last_end && p >= now) starts.push(p);
      }
      const busy = starts.filter((p) => taken.some(([a, b]) => a < p + t.unit && b > p)).length;
      const state = !starts.length ? "off" : busy === starts.length ? "booked" : busy ? "part" : "free";
      const words = { off: "not bookable", booked: "booked", part: "partly booked", free: "free" }[state];
      const label = new Date(d * 1000).toLocaleDateString("en-GB", { day: "numeric", month: "long", timeZone: "UTC" });
      cells.push(el("div", { class: `day ${state}`, role: "listitem", "aria-label": `${label}: ${words}`, "data-state": state, "data-date": asDay(d) },
        String(new Date(d * 1000).getUTCDate()), state === "booked" ? el("span", { class: "mark", "aria-hidden": "true" }, "✕") : null));
    }
    grid.replaceChildren(...cells);
  };
  const step = (delta) => act("Loading the calendar", async () => {
    month = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + delta, 1));
    await drawMonth();
  });
  const calendar = el("section", { class: "panel", "aria-labelledby": "cal-title" },
    el("h2", { id: "cal-title" }, "Availability"),
    el("div", { class: "calnav" },
      el("button", { type: "button", class: "secondary", "aria-label": "Previous month", "data-testid": "calendar-prev", onclick: () => step(-1) }, "‹"),
      title,
      el("button", { type: "button", class: "secondary", "aria-label": "Next month", "data-testid": "calendar-next", onclick: () => step(1) }, "›")),
    grid,
    el("p", { class: "legend small" },
      el("span", { class: "day free sample" }, "1"), " free  ",
      el("span", { class: "day booked sample" }, "1", el("span", { class: "mark" }, "✕")), " booked  ",
      el("span", { class: "day part sample" }, "1"), " partly booked  ",
      el("span", { class: "day off sample" }, "1"), " not bookable"));

  // ---- the booking form: dates in, the quote out, before anything else
  const firstFree = Math.max(t.first_start, onGrid(t, now + t.lead_time + t.unit, true));
  const startInput = el("input", { type: daily ? "date" : "datetime-local", required: true, value: daily ? asDay(firstFree) : asTime(firstFree), "data-testid": "book-from" });
  const endInput = el("input", { type: daily ? "date" : "datetime-local", required: true, value: daily ? asDay(firstFree + t.min_units * t.unit) : asTime(firstFree + t.min_units * t.unit), "data-testid": "book-until" });
  const quoteBox = el("div", { class: "quote", "aria-live": "polite", "data-testid": "book-quote" });
  let quote = null;
  const button = el("button", { type: "button", class: "primary", disabled: true, "data-testid": "book" }, "Book");
  const refresh = async () => {
    quote = null;
    button.disabled = true;
    const start = onGrid(t, fromInput(startInput.value), daily);
    const end = onGrid(t, fromInput(endInput.value), daily);
    if (!(end > start)) {
      quoteBox.replaceChildren(el("p", { class: "warning" }, "The return must be after the pickup."));
      return;
    }
    try {
      quote = await api(`/api/rentals/${listing.id}/quote?start=${start}&end=${end}`);
    } catch (err) {
      quoteBox.replaceChildren(el("p", { class: "warning" }, err.message));
      return;
    }
    const problem = quote.available ? [] : [el("p", { class: "warning", role: "alert", "data-testid": "quote-problem" }, `Not bookable: ${quote.problem}.`)];
    quoteBox.replaceChildren(terms([
      ["When", `${date(quote.start)} to ${date(quote.end)} (${quote.periods} ${per(t.unit)}${quote.periods === 1 ? "" : "s"})`, "quote-when"],
      ["Rent", `${quote.periods} × ${money(t.rate, token)} = ${money(quote.rent, token)}`, "quote-rent"],
      ["Deposit", `${money(quote.deposit, token)}, back when the owner confirms the return`],
      ["You pay now", el("strong", {}, money(quote.total, token)), "quote-total"],
      ["Free cancellation", `until ${date(quote.free_cancel_until)}`],
    ]), ...problem);
    button.disabled = !quote.available || own || !rental.live;
  };
  startInput.addEventListener("change", refresh);
  endInput.addEventListener("change", refresh);

  const dialog = el("dialog", { class: "confirm", "aria-labelledby": "book-confirm-title", "data-testid": "book-confirm" });
  button.addEventListener("click", () => {
    if (!quote) return;
    dialog.replaceChildren(
      el("h2", { id: "book-confirm-title" }, "Check before your wallet opens"),
      terms([
        ["You pay", `${money(quote.total, token)} (${money(quote.rent, token)} rent + ${money(quote.deposit, token)} deposit)`, "confirm-total"],
        ["When", `${date(quote.start)} to ${date(quote.end)}`],
        ["Held by", "the bookings contract: the rent goes to the owner at the return, the deposit back to you"],
        ["Cancellation", `everything back until ${date(quote.free_cancel_until)}; then ${t.late_refund_bps / 100}% of the rent and the whole deposit, until the start`],
        ["Owner", el("span", { class: "mono" }, t.owner)],
      ]),
      el("p", { class: "muted" }, "The rate and deposit shown here go with the booking: if the owner changed them, or someone booked these dates first, nothing is paid."),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", "data-testid": "book-cancel", onclick: () => dialog.close() }, "Cancel"),
        el("button", { type: "button", class: "primary", "data-testid": "book-confirm-button", onclick: () => { dialog.close(); book(quote); } }, "Confirm and open wallet")));
    dialog.showModal();
  });
  const book = (q) => act("Booking", async () => {
    const sender = await account();
    const prepared = await post("/api/tx/book", { sender, listing_id: listing.id, first_period: q.first_period, periods: q.periods, rate: t.rate, deposit: t.deposit });
    await sendPrepared(prepared, "Book");
    await drawMonth();
    await refresh();
    setStatus(`Booked ${date(q.start)} to ${date(q.end)}: ${money(q.total, token)} held in escrow.${await confirmationNote()}`, "done");
  });

  const rules = [
    ["Rate", `${money(t.rate, token)} per ${per(t.unit)}`, "rental-rate"],
    ["Deposit", `${money(t.deposit, token)} per booking, refundable`, "rental-deposit"],
    ["Booking length", `${t.min_units} to ${t.max_units} ${per(t.unit)}s`],
    ["Bookable", `${date(t.first_start)} to ${date(t.last_end)}`],
    t.lead_time ? ["Notice", `book at least ${duration(t.lead_time)} ahead`] : null,
    ["Cancellation", `free until ${duration(t.free_cancel)} before the start; later, ${t.late_refund_bps / 100}% of the rent back (the deposit always)`, "rental-cancellation"],
    ["After the return", `${duration(t.claim_window)} in which the owner can claim damage against the deposit${t.arbitrator !== ZERO ? `, ruled by ${short(t.arbitrator)} (fee ${t.arbitrator_fee_bps / 100}% if it rules)` : " (no arbitrator: no claims)"}; then anyone can settle it`],
    doc.delivery && doc.delivery.length ? ["Pickup and return", doc.delivery.map((d) => `${DELIVERY[d.method] || d.method}${d.note ? `: ${d.note}` : ""}`).join("; ")] : null,
    doc.location ? ["Location", doc.location.text] : null,
    ["Owner", el("a", { href: `#/seller/${t.owner}`, class: "mono" }, t.owner)],
    listing.seller_trust ? ["Owner's trust", trustLine(listing.seller_trust)] : null,
  ];

  ctx.view.replaceChildren(el("article", { class: "detail", "data-testid": "rental-detail" },
    el("div", { class: "gallery" },
      listing.image_urls.length
        ? listing.image_urls.map((url, i) => el("img", { src: url, alt: `${doc.title || "Rental"}, photo ${i + 1}` }))
        : el("div", { class: "noimg big", "aria-hidden": "true" }, "No photo")),
    el("div", { class: "info" },
      el("h1", { "data-testid": "listing-title" }, doc.title || "(rental details unavailable)"),
      rental.document_error ? el("p", { class: "warning", role: "alert" }, `The rental's details cannot be shown: ${rental.document_error}`) : null,
      doc.description ? el("p", { class: "description" }, doc.description) : null,
      el("section", { class: "buybox rentalbox", "aria-label": "Book" },
        el("p", { class: "price big", "data-testid": "rental-price" }, `${money(t.rate, token)} / ${per(t.unit)}`,
          el("span", { class: "muted" }, ` + ${money(t.deposit, token)} deposit`)),
        rental.live ? null : el("p", { class: "warning" }, "The owner closed this rental: it takes no bookings."),
        field(daily ? "Pickup day" : "Pickup", startInput, daily ? `at ${new Date(t.first_start * 1000).toISOString().slice(11, 16)} UTC` : null),
        field(daily ? "Return day" : "Return", endInput),
        quoteBox,
        own ? el("p", { class: "muted" }, "This is your rental.") : button),
      calendar,
      el("section", { class: "panel", "aria-labelledby": "rental-rules" },
        el("h2", { id: "rental-rules" }, "The rules"),
        terms(rules, { "data-testid": "rental-terms" })))),
    dialog);
  await drawMonth();
  await refresh();
}
