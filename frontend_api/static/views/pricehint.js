// Price hint on the sell form: what comparable items sold for (the index's completed trades of
// the last 90 days: median and middle half) and how many are on offer, with a small chart of
// those sales. With thin data it says so and draws no figure.
import { api } from "../lib/api.js";
import { el } from "../lib/dom.js";
import { ZERO, money } from "../lib/format.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

// Dots of each sale's unit price over time, and the median as a line.
export function chart(hint, token) {
  const width = 280, height = 64, pad = 4;
  const points = hint.history.map((p) => [p.at, BigInt(p.unit_price)]);
  const box = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "data-testid": "price-chart",
    "aria-label": `Unit prices of ${points.length} comparable sales over the last ${hint.window_days} days` });
  if (points.length === 0) return box;
  const prices = points.map(([, price]) => price);
  const low = prices.reduce((a, b) => (b < a ? b : a));
  const high = prices.reduce((a, b) => (b > a ? b : a));
  // across: the whole window, from its first day (left) to the index's clock (right)
  const t1 = hint.as_of, t0 = t1 - hint.window_days * 86400;
  const x = (at) => pad + (Math.min(Math.max(at, t0), t1) - t0) / (t1 - t0) * (width - 2 * pad);
  const y = (price) => height - pad - (high === low ? (height - 2 * pad) / 2 : Number(((price - low) * 1000n) / (high - low)) / 1000 * (height - 2 * pad));
  box.append(svg("rect", { x: 0, y: 0, width, height, fill: "none", stroke: "#d0d5dd" }));
  if (hint.median !== null) {
    const m = y(BigInt(hint.median));
    box.append(svg("line", { x1: pad, x2: width - pad, y1: m, y2: m, stroke: "#1d4ed8", "stroke-dasharray": "4 3" }));
  }
  for (const [at, price] of points) {
    const dot = svg("circle", { cx: x(at), cy: y(price), r: 3, fill: "#0f766e" });
    const label = svg("title", {});
    label.textContent = `${money(price, token)} on ${new Date(at * 1000).toLocaleDateString("en-GB", { dateStyle: "medium" })}`;
    dot.append(label);
    box.append(dot);
  }
  return box;
}

// The hint's words and chart for the form's current category, kind, token and condition.
export async function priceHint({ category, kind, token, condition }) {
  const query = new URLSearchParams({ category, kind, token: token.address === ZERO ? "ETH" : token.address });
  if (kind !== "service" && condition) query.set("condition", condition);
  const hint = await api(`/api/price-hint?${query}`);
  const offer = `${hint.live} like it on offer now.`;
  if (!hint.enough) {
    return el("div", { class: "price-hint", "data-testid": "price-hint" },
      el("p", {}, `Not enough sales to suggest a price: ${hint.trades} comparable sale${hint.trades === 1 ? "" : "s"} in the last ${hint.window_days} days (${hint.min_trades} needed). ${offer}`));
  }
  return el("div", { class: "price-hint", "data-testid": "price-hint" },
    el("p", {}, `Comparable items sold for ${money(hint.median, token)} (median); the middle half between ${money(hint.low, token)} and ${money(hint.high, token)}. From ${hint.trades} sales in the last ${hint.window_days} days. ${offer}`),
    chart(hint, token));
}
