// Amounts in human units with the token's symbol (viem's formatUnits/parseUnits: exact, no
// floats), dates, durations, and the words the page uses for kinds, states and trust.
import { formatUnits, parseUnits } from "../vendor/viem.js";

export const ZERO = "0x0000000000000000000000000000000000000000";
export const ETH = { address: ZERO, symbol: "ETH", decimals: 18, known: true };

export function isEth(token) {
  return !token || token === "ETH" || /^0x0{40}$/i.test(token.address || token);
}

// "1.5 ETH", "20 USDC"; an unknown token's amount in base units with its short address.
export function money(amount, token = ETH) {
  const info = token && token.symbol ? token : ETH;
  return `${formatUnits(BigInt(amount), info.decimals)} ${info.symbol}`;
}

// "0.25" -> 250000000000000000n for 18 decimals; refuses what is not a plain decimal amount.
export function toUnits(text, decimals = 18, { allowZero = false } = {}) {
  const clean = String(text).trim();
  if (!/^\d+(\.\d+)?$/.test(clean)) throw new Error(`not an amount: "${text}"`);
  if ((clean.split(".")[1] || "").length > decimals) throw new Error(`"${text}" has more than ${decimals} decimals`);
  const units = parseUnits(clean, decimals);
  if (!allowZero && units === 0n) throw new Error("the amount must be above 0");
  return units;
}

export function short(value) {
  return value ? `${value.slice(0, 6)}…${value.slice(-4)}` : "";
}

export function date(ts) {
  if (!ts) return "never";
  return new Date(ts * 1000).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function day(ts) {
  return new Date(ts * 1000).toLocaleDateString("en-GB", { dateStyle: "medium" });
}

export function duration(seconds) {
  const units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  const parts = [];
  let rest = Number(seconds);
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(" ") : "0 seconds";
}

export const KINDS = { sale: "Item for sale", service: "Service", rental: "Rental" };
export const CONDITIONS = { new: "New", like_new: "Like new", good: "Good", fair: "Fair", for_parts: "For parts" };
export const DELIVERY = { shipping: "Shipping", pickup: "Pickup", digital: "Digital delivery", in_person: "In person" };

export const STATES = {
  paid: "Paid, held in escrow",
  disputed: "Disputed, waiting for the arbitrator",
  completed: "Completed",
  refunded: "Refunded",
  settled: "Settled by agreement",
  ruled: "Ruled by the arbitrator",
  ruling_timed_out: "Refunded: the arbitrator did not rule in time",
};

export function stars(score) {
  const n = Math.round(Number(score));
  return "★".repeat(n) + "☆".repeat(5 - n);
}

// One line a buyer understands: new sellers are labelled, stars and score explained elsewhere.
export function trustLine(trust) {
  if (!trust || !trust.rating_count) return "New seller: no ratings yet";
  const avg = Number(trust.average_stars).toFixed(1);
  const n = trust.rating_count;
  return `${avg}★ from ${n} rating${n === 1 ? "" : "s"} · trust ${(Number(trust.score) * 100).toFixed(0)}%`;
}
