// A seller's profile: trust explained, reviews with their texts, the seller's listings.
import { api } from "../lib/api.js";
import { el } from "../lib/dom.js";
import { date, money, short, stars, trustLine } from "../lib/format.js";
import { card } from "./browse.js";

// What the trust score means next to the stars, in words a buyer can use.
export function trustExplained(trust) {
  if (!trust.rating_count) {
    return el("p", { class: "muted", "data-testid": "trust-explained" },
      "Nobody has rated this seller yet, so nothing is known about them. The escrow still protects your payment: the seller is paid only when you release it or the review window ends without a dispute.");
  }
  const score = (Number(trust.score) * 100).toFixed(0);
  const parts = [
    `${trust.rating_count} rating${trust.rating_count === 1 ? "" : "s"} from ${trust.counterparties === 1 ? "1 account" : `${trust.counterparties} different accounts`}, ${Number(trust.average_stars).toFixed(1)} stars on average. `,
    `The trust score (${score}%) weighs each rating by the money paid in that trade and by how trusted the rater is, relative to the most trusted account here (100%). `,
  ];
  if (Number(trust.score) < 0.05) {
    parts.push("A low score next to good stars means the ratings so far come from small trades or from accounts nobody else vouches for: treat them as weak evidence.");
  } else {
    parts.push("Ratings from many different buyers who paid real money raise it; ratings traded back and forth in a small group count for little.");
  }
  return el("p", { class: "muted", "data-testid": "trust-explained" }, parts.join(""));
}

export function reviewList(ratings) {
  if (!ratings.length) return el("p", { class: "muted", "data-testid": "no-reviews" }, "No reviews yet.");
  return el("ul", { class: "reviews", "data-testid": "reviews", "aria-label": "Reviews" },
    ratings.map((r) => el("li", { "data-testid": "review" },
      el("div", { class: "stars", role: "img", "aria-label": `${r.score} out of 5 stars` }, el("span", { "aria-hidden": "true" }, stars(r.score))),
      r.review ? el("blockquote", { "data-testid": "review-text" }, r.review) : el("p", { class: "muted" }, r.review_error ? `(review unavailable: ${r.review_error})` : "(no written review)"),
      el("p", { class: "muted small" }, `by ${short(r.rater)} · trade of ${money(r.value, r.token)}${r.rated_at ? ` · ${date(r.rated_at)}` : ""}`))));
}

export async function showProfile(address, { view, current }) {
  const [trust, ratings, listings] = await Promise.all([
    api(`/api/accounts/${address}/trust`).catch(() => null),
    api(`/api/accounts/${address}/ratings`).catch(() => ({ items: [] })),
    api(`/api/listings?seller=${address}&limit=50&available_only=false`),
  ]);
  if (!current()) return;
  const t = trust ? trust.trust : null;
  view.replaceChildren(el("section", { class: "profile", "data-testid": "profile" },
    el("h1", {}, "Seller ", el("span", { class: "mono" }, short(address))),
    el("p", { class: "mono small" }, address),
    el("p", { class: "trustline", "data-testid": "profile-trust" }, t ? trustLine(t) : "Trust unknown"),
    t ? trustExplained(t) : null,
    el("h2", {}, "Reviews"),
    reviewList(ratings.items),
    el("h2", {}, "Listings"),
    listings.items.length
      ? el("div", { class: "grid", "data-testid": "profile-listings" }, listings.items.map(card))
      : el("p", { class: "muted" }, "No listings.")));
}
