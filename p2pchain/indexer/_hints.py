"""Price hints: what comparable items actually sold for, from the index's own settled trades.

A hint compares like with like: the same category, kind, token and (for goods) condition, over
the last :data:`WINDOW_DAYS` days of purchases, and only trades the seller was paid in full for
(``COMPLETED``: released or finalized). Refunds, splits and rulings say little about a price and
are left out. Below :data:`MIN_TRADES` trades there is no figure: the hint says how many there
are instead of making one up.

The rows are narrowed by SQL (one category, kind, token, time window); the quartiles are taken in
Python over exact integers (uint256 amounts do not fit the engines' numeric types portably).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field

from p2pchain.indexer._db import Database
from p2pchain.indexer._models import ListingKind, Token, _Frozen

#: Purchases older than this many days do not count.
WINDOW_DAYS = 90
#: Fewest comparable trades behind a figure.
MIN_TRADES = 5
#: ``TradeState.COMPLETED``: the seller was paid the full price.
_COMPLETED = 3

Condition = Literal["new", "like_new", "good", "fair", "for_parts"]


class HintQuery(_Frozen):
    """What a draft listing is: the fields a hint compares on.

    Attributes:
        category: The exact category path (``sports/bikes``).
        kind: ``sale``, ``service`` or ``rental``.
        token: ``"ETH"`` or an ERC-20 address.
        condition: For goods, the condition; ``None`` matches any.
    """

    category: Annotated[str, Field(min_length=1, max_length=64)]
    kind: ListingKind = "sale"
    token: Token = "ETH"
    condition: Condition | None = None


class PricePoint(_Frozen):
    """One comparable sale: when it was bought and the unit price paid (base units)."""

    at: int
    unit_price: int


class PriceHint(_Frozen):
    """What comparable items sold for, and how many are on offer now.

    Attributes:
        trades: Comparable completed trades in the window.
        enough: Whether there are at least :data:`MIN_TRADES` of them; without, the figures are
            ``None``.
        median, low, high: The median unit price and the interquartile range (25th and 75th
            percentiles), in base units of ``token``.
        live: Comparable listings on offer now.
        as_of: The index's clock (its head block's time) the window ends at.
        history: The comparable sales, oldest first (for a chart; at most 200, the newest).
    """

    query: HintQuery
    as_of: int
    window_days: int
    min_trades: int
    trades: int
    enough: bool
    median: int | None
    low: int | None
    high: int | None
    live: int
    history: tuple[PricePoint, ...]
    note: str


def _quantile(ordered: list[int], q: float) -> int:
    """The ``q`` quantile of sorted integers, by linear interpolation (rounded down)."""
    position = (len(ordered) - 1) * q
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + int((ordered[above] - ordered[below]) * fraction)


def price_hint(db: Database, query: HintQuery, now: int) -> PriceHint:
    """The price hint for ``query`` as of ``now`` (unix seconds, the chain's clock)."""
    since = now - WINDOW_DAYS * 86_400
    params: dict[str, Any] = {
        "category": query.category,
        "kind": query.kind,
        "token": query.token,
        "since": since,
        "state": _COMPLETED,
    }
    rows = db.all(
        "SELECT t.opened_at, t.amount, t.quantity, l.document FROM trades t"
        " JOIN listings l ON l.listing_id = t.listing_id"
        " WHERE l.category = :category AND l.kind = :kind AND l.token = :token"
        " AND t.state = :state AND t.opened_at >= :since"
        " ORDER BY t.opened_at, t.block_number, t.trade_id",
        params,
    )
    points = [
        PricePoint(at=int(at), unit_price=int(amount) // max(int(quantity), 1))
        for at, amount, quantity, document in rows
        if _condition_matches(document, query.condition)
    ]
    live_rows = db.all(
        "SELECT l.document FROM listings l WHERE l.category = :category AND l.kind = :kind"
        " AND l.token = :token AND l.closed = 0 AND l.remaining > 0"
        " AND (l.expiry = 0 OR l.expiry > :now)",
        {**params, "now": now},
    )
    live = sum(_condition_matches(document, query.condition) for (document,) in live_rows)
    prices = sorted(p.unit_price for p in points)
    enough = len(prices) >= MIN_TRADES
    median: int | None = None
    low: int | None = None
    high: int | None = None
    if enough:
        median, low, high = (_quantile(prices, q) for q in (0.5, 0.25, 0.75))
        note = f"{len(prices)} comparable sales in the last {WINDOW_DAYS} days"
    else:
        note = (
            f"not enough data: {len(prices)} comparable sale(s) in the last {WINDOW_DAYS} days,"
            f" {MIN_TRADES} needed for a figure"
        )
    return PriceHint(
        query=query,
        as_of=now,
        window_days=WINDOW_DAYS,
        min_trades=MIN_TRADES,
        trades=len(prices),
        enough=enough,
        median=median,
        low=low,
        high=high,
        live=live,
        history=tuple(points[-200:]),
        note=note,
    )


def _condition_matches(document: str | None, condition: str | None) -> bool:
    if condition is None:
        return True
    if not document:
        return False
    try:
        return bool(json.loads(document).get("condition") == condition)
    except (ValueError, AttributeError):
        return False


__all__ = ["MIN_TRADES", "WINDOW_DAYS", "HintQuery", "PriceHint", "PricePoint", "price_hint"]
