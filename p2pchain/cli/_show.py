"""Listings, trades and ratings as JSON (for ``--json``) and as rich panels/tables."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from p2pchain.cli._common import (
    ZERO_ADDRESS,
    format_amount,
    format_duration,
    format_time,
    hex_id,
    panel,
    table,
    who,
)

if TYPE_CHECKING:
    from p2pchain.chain._model import ListingTerms
    from p2pchain.market._listings import VerifiedListing
    from p2pchain.market._views import Listing, Rating, TradeView


def cid_text(raw: bytes) -> str:
    """A binary CID as text (``bafk...`` / ``Qm...``)."""
    from p2pchain.ipfs import CID

    return str(CID.parse(raw))


def terms_json(t: ListingTerms) -> dict[str, Any]:
    """Listing terms as JSON (amounts as decimal strings)."""
    return {
        "seller": t.seller,
        "token": t.token,
        "price": str(t.price),
        "deposit": str(t.deposit),
        "arbitrator": t.arbitrator,
        "arbitrator_fee_bps": t.arbitrator_fee_bps,
        "review_window": t.review_window,
        "expiry": t.expiry,
        "cid": cid_text(t.cid),
    }


def listing_json(listing: Listing) -> dict[str, Any]:
    """A listing as JSON."""
    return {
        "id": hex_id(listing.id),
        "status": listing.status.value,
        "signed": listing.signed,
        "listed_quantity": listing.listed_quantity,
        "sold": listing.sold,
        "remaining": listing.remaining,
        "salt": hex_id(listing.salt),
        "terms": terms_json(listing.terms),
        "tx": listing.tx.tx_hash if listing.tx is not None else None,
    }


def arbitrator_text(address: str, fee_bps: int) -> str:
    """``0xabc... (fee 2.5%, paid only if it rules)`` or ``none``."""
    if address.lower() == ZERO_ADDRESS:
        return "none (no disputes possible)"
    return f"{who(address)} (fee {fee_bps / 100:g}% of the disputed value, paid only if it rules)"


def terms_rows(t: ListingTerms) -> list[tuple[str, Any]]:
    """Rows describing terms, for panels and confirmations."""
    rows: list[tuple[str, Any]] = [
        ("seller", who(t.seller)),
        ("price", format_amount(t.price, t.token)),
    ]
    if t.deposit:
        rows.append(("deposit", format_amount(t.deposit, t.token) + ", refundable"))
    rows += [
        ("arbitrator", arbitrator_text(t.arbitrator, t.arbitrator_fee_bps)),
        ("review window", f"{format_duration(t.review_window)} from the purchase"),
        ("expires", format_time(t.expiry) if t.expiry else "never"),
        ("document", cid_text(t.cid)),
    ]
    return rows


def show_listing(
    listing: Listing,
    verified: VerifiedListing | None,
    problem: str | None,
    *,
    now: int | None = None,
) -> None:
    """Print a listing (and its verified document) as a panel; ``now`` is the chain's clock."""
    rows: list[tuple[str, Any]] = []
    if verified is not None:
        d = verified.document
        rows += [("title", d.title), ("kind", d.kind), ("category", d.category)]
        if d.rental is not None:
            rows.append(
                (
                    "rental",
                    (
                        f"{format_time(d.rental.start)} to {format_time(d.rental.end)}"
                        f" ({format_duration(d.rental.end - d.rental.start)})"
                    ),
                )
            )
            ends = (int(time.time()) if now is None else now) + listing.terms.review_window
            if ends < d.rental.end:
                rows.append(
                    (
                        "warning",
                        (
                            f"bought now, the review window would end at {format_time(ends)},"
                            " before the rental ends: no dispute is possible after it"
                        ),
                    )
                )
        if d.condition:
            rows.append(("condition", d.condition))
        if d.description:
            rows.append(("description", d.description))
        if verified.image_cids:
            rows.append(("images", ", ".join(verified.image_cids)))
    elif problem:
        rows.append(("document", f"unavailable: {problem}"))
    rows += [
        ("id", hex_id(listing.id)),
        ("status", listing.status.value + (" (signed)" if listing.signed else "")),
        ("units", f"{listing.remaining} left of {listing.listed_quantity}, {listing.sold} sold"),
    ]
    rows += terms_rows(listing.terms)
    panel("listing", rows)


def listings_table(listings: list[Listing], titles: dict[bytes, str] | None = None) -> None:
    """Print listings as a table (with their titles, when given)."""
    names = titles or {}
    table(
        None,
        ["title", "id", "status", "price", "left", "sold"],
        [
            (names.get(x.id, "-"), hex_id(x.id), x.status.value,
             format_amount(x.terms.price, x.terms.token, short=True), x.remaining, x.sold)
            for x in listings
        ],
    )  # fmt: skip


def listing_titles(client: Any, backend: Any, listings: list[Any]) -> dict[bytes, str]:
    """Listing id -> title, read from each verified document (``(document unavailable)`` when
    it cannot be fetched or does not verify). ``listings`` holds listings or listing ids."""
    from p2pchain.market._listings import fetch_listing

    titles: dict[bytes, str] = {}
    for item in listings:
        key = item if isinstance(item, bytes) else item.id
        if key in titles:
            continue
        try:
            titles[key] = fetch_listing(client, backend, item, with_images=False).document.title
        except Exception:  # noqa: BLE001 - a missing document must not hide the list
            titles[key] = "(document unavailable)"
    return titles


def trade_json(view: TradeView, at: int | None = None) -> dict[str, Any]:
    """A trade as JSON."""
    t = view.trade
    held = view.held
    return {
        "id": hex_id(view.id),
        "listing_id": hex_id(view.listing_id),
        "state": t.state.name.lower(),
        "buyer": t.buyer,
        "seller": t.seller,
        "arbitrator": t.arbitrator,
        "arbitrator_fee_bps": t.arbitrator_fee_bps,
        "token": t.token,
        "amount": str(t.amount),
        "deposit": str(t.deposit),
        "quantity": view.quantity,
        "held": {"seller_pot": str(held.seller_pot), "buyer_pot": str(held.buyer_pot)},
        "deadline": t.deadline,
        "opened_at": view.opened_at,
        "proposal": (
            {"by": view.proposal[0], "buyer_share": str(view.proposal[1])}
            if view.proposal
            else None
        ),
        "rated_by_buyer": view.rated_by_buyer,
        "rated_by_seller": view.rated_by_seller,
        "next_steps": [
            {"action": s.action, "actor": s.actor, "not_before": s.not_before, "until": s.until}
            for s in view.next_steps(at)
        ],
        "tx": view.tx.tx_hash if view.tx is not None else None,
    }


def _step_text(step: Any) -> str:
    actor = step.actor or "anyone"
    when = ""
    if step.not_before is not None:
        when = f" from {format_time(step.not_before)}"
    if step.until is not None:
        when = f" until {format_time(step.until)}"
    return f"{step.action.replace('_', '-')}: {actor}{when}"


def show_trade(view: TradeView, at: int | None = None) -> None:
    """Print a trade as a panel, with its next steps and history."""
    t = view.trade
    held = view.held
    rows: list[tuple[str, Any]] = [
        ("id", hex_id(view.id)),
        ("state", t.state.name.lower().replace("_", " ")),
        ("buyer", who(t.buyer)),
        ("seller", who(t.seller)),
        ("arbitrator", arbitrator_text(t.arbitrator, t.arbitrator_fee_bps)),
        ("price", format_amount(t.amount, t.token)),
    ]
    if t.deposit:
        rows.append(("deposit", format_amount(t.deposit, t.token)))
    rows.append(("held in escrow", format_amount(held.total, t.token)))
    if view.review_deadline is not None:
        rows.append(("review window ends", format_time(view.review_deadline)))
    if view.ruling_deadline is not None:
        rows.append(("ruling deadline", format_time(view.ruling_deadline)))
    if view.proposal is not None:
        rows.append(
            (
                "proposal",
                f"buyer gets {format_amount(view.proposal[1], t.token)} (by {who(view.proposal[0])})",
            )
        )
    steps = view.next_steps(at)
    rows.append(("next steps", "\n".join(_step_text(s) for s in steps) or "none"))
    panel("trade", rows)
    if view.history:
        table(
            "history",
            ["time", "event", "tx"],
            [(format_time(e.timestamp), e.name, e.tx_hash) for e in view.history],
        )


def _role(view: TradeView, me: str) -> str:
    role = view.role_of(me)
    return role.value if role is not None else "-"


def trades_table(views: list[TradeView], me: str, titles: dict[bytes, str] | None = None) -> None:
    """Print trades as a table, with the viewer's role (and the listings' titles, when given)."""
    names = titles or {}
    table(
        None,
        ["title", "id", "role", "state", "price", "held"],
        [
            (
                names.get(v.listing_id, "-"),
                hex_id(v.id),
                _role(v, me),
                v.state.name.lower(),
                format_amount(v.trade.amount, v.trade.token, short=True),
                format_amount(v.held.total, v.trade.token, short=True),
            )
            for v in views
        ],
    )


#: Reviews are written with at most 2,000 characters (``p2pchain rate --review``).
MAX_REVIEW_BYTES = 8_000


def review_texts(backend: Any, cids: list[bytes]) -> dict[bytes, str]:
    """Review CID -> its text, fetched from IPFS and verified against the CID. A review that
    cannot be fetched, is too large or is not text shows as ``(review unavailable: why)``."""
    texts: dict[bytes, str] = {}
    for raw in cids:
        if not raw or raw in texts:
            continue
        try:
            texts[raw] = backend.cat(cid_text(raw), max_size=MAX_REVIEW_BYTES).decode("utf-8")
        except UnicodeDecodeError:
            texts[raw] = "(review unavailable: not UTF-8 text)"
        except Exception as exc:  # noqa: BLE001 - one bad review must not hide the others
            texts[raw] = f"(review unavailable: {str(exc).splitlines()[0][:80]})"
    return texts


def rating_json(r: Rating, review: str | None = None) -> dict[str, Any]:
    """A rating as JSON."""
    return {
        "trade_id": hex_id(r.trade_id),
        "rater": r.rater,
        "subject": r.subject,
        "score": r.score,
        "token": r.token,
        "value": str(r.value),
        "review_cid": cid_text(r.review_cid) if r.review_cid else None,
        "review": review,
        "block": r.block_number,
        "tx": r.tx.tx_hash if r.tx is not None else None,
    }
