"""Market notices: what the index knows that an account should hear of.

* ``listing_matches_request``: a live listing, listed since one of the account's open requests
  was added, that the request's own search finds (the requester hears of it). "Since" is by the
  index's clock (the last indexed block's time when the request was added): a listing of that
  same second counts as new; older matches are what ``p2pchain request matches`` lists;
* ``request_matches_listing``: an open request one of the account's live listings matches (the
  seller hears of it);
* ``request_answered``: a provider answered one of the account's open requests;
* ``offer_received``: an open offer on one of the account's listings (the seller);
* ``offer_accepted``: one of the account's offers was accepted (the buyer; the trade is in the
  index, its id is the offer's id);
* ``offer_expiring``: one of the account's open offers can be accepted for less than
  :data:`SOON` seconds more.

An offer is open while it is unexpired, its trade is not in the index, and no ``OfferCancelled``
(its id) or ``AllOffersCancelled`` (its buyer, a counter above the offer's) event is. Each
notice has a stable :attr:`MarketNotice.key`, the same one
:class:`~p2pchain.messaging._notify.Notice` derives from it (for "seen").
"""

from __future__ import annotations

import json
from typing import Any, Literal

from p2pchain.chain._model import ZERO_ADDRESS
from p2pchain.chain._revert import format_amount
from p2pchain.indexer._db import Database
from p2pchain.indexer._models import Id32, _Frozen

#: An offer that expires within this many seconds is announced to its buyer.
SOON = 24 * 3600
#: Most offers of each kind looked at per call.
MAX_OFFER_NOTICES = 100

MarketNoticeKind = Literal[
    "listing_matches_request",
    "request_matches_listing",
    "request_answered",
    "offer_received",
    "offer_accepted",
    "offer_expiring",
]


class MarketNotice(_Frozen):
    """Something in the index to tell an account.

    Attributes:
        kind: See the module's docstring.
        at: When (unix seconds): the listing's block time, the request's or answer's or
            offer's arrival in the index, the trade's block time; for ``offer_expiring``, when
            the offer expires.
        text: One line for people.
        request_id: The request, for request notices.
        listing_id: The matching listing, the answer, or the offer's listing.
        offer_id: The offer, for ``offer_received`` and ``offer_expiring``.
        trade_id: The trade, for ``offer_accepted`` (the offer's id).
    """

    kind: MarketNoticeKind
    at: int
    text: str
    request_id: Id32 | None = None
    listing_id: Id32 | None = None
    offer_id: Id32 | None = None
    trade_id: Id32 | None = None

    @property
    def key(self) -> str:
        """A stable identity (for "seen"); ``offer_accepted`` has the chain notice's key."""
        return notice_key(
            self.kind, self.at, self.request_id, self.listing_id, self.offer_id, self.trade_id
        )


def notice_key(
    kind: str,
    at: int,
    request_id: str | None,
    listing_id: str | None,
    offer_id: str | None,
    trade_id: str | None,
) -> str:
    """The key of a market notice from its fields."""
    if request_id is not None:
        return f"{kind}/{request_id}/{listing_id}"
    if offer_id is not None:
        return f"{kind}/{offer_id}"
    return f"{kind}/{trade_id}/{at}"


def amount_text(value: int, token: str) -> str:
    """An amount as the notices write it: ``0.5 ETH``, or ``250 units of token 0x…``."""
    return format_amount(value, ZERO_ADDRESS if token == "ETH" else token)


def _hours(seconds: int) -> str:
    return f"{max(seconds, 0) // 3600}h {max(seconds, 0) % 3600 // 60:02d}m"


def _cancelled(db: Database, rows: list[dict[str, Any]]) -> set[str]:
    """Ids of the offers among ``rows`` (offer_id, buyer, document) cancelled on-chain."""
    if not rows:
        return set()
    ids = {str(r["offer_id"]).removeprefix("0x"): str(r["offer_id"]) for r in rows}
    marks = ", ".join(f":o{i}" for i in range(len(ids)))
    found = db.all(
        "SELECT substr(topics, 65, 64) FROM events WHERE name = 'OfferCancelled'"
        f" AND substr(topics, 65, 64) IN ({marks})",
        {f"o{i}": key for i, key in enumerate(ids)},
    )
    out = {ids[str(r[0])] for r in found if str(r[0]) in ids}
    buyers = sorted({str(r["buyer"]) for r in rows})
    marks = ", ".join(f":b{i}" for i in range(len(buyers)))
    floors: dict[str, int] = {}
    for topic, data in db.all(
        "SELECT substr(topics, 89, 40), data FROM events WHERE name = 'AllOffersCancelled'"
        f" AND substr(topics, 89, 40) IN ({marks})",
        {f"b{i}": b.lower().removeprefix("0x") for i, b in enumerate(buyers)},
    ):
        floors[str(topic)] = max(floors.get(str(topic), 0), int(str(data) or "0", 16))
    for r in rows:
        floor = floors.get(str(r["buyer"]).lower().removeprefix("0x"))
        if floor is not None and int(json.loads(r["document"])["counter"]) < floor:
            out.add(str(r["offer_id"]))
    return out


_OFFER_SELECT = (
    "SELECT o.offer_id, o.listing_id, o.buyer, o.token, o.price, o.quantity, o.expiry,"
    " o.received_at, o.document, l.title, t.trade_id, t.opened_at FROM offers o"
    " LEFT JOIN listings l ON l.listing_id = o.listing_id"
    " LEFT JOIN trades t ON t.trade_id = o.offer_id"
)
_OFFER_COLUMNS = (
    "offer_id", "listing_id", "buyer", "token", "price", "quantity", "expiry", "received_at",
    "document", "title", "trade_id", "opened_at",
)  # fmt: skip


def _offers(db: Database, side: str, who: str, where: str, now: int) -> list[dict[str, Any]]:
    raw = db.all(
        f"{_OFFER_SELECT} WHERE o.{side} = :who AND {where} ORDER BY o.seq DESC LIMIT :n",
        {"who": who, "now": now, "n": MAX_OFFER_NOTICES},
    )
    return [dict(zip(_OFFER_COLUMNS, r, strict=True)) for r in raw]


def _what(row: dict[str, Any]) -> str:
    lid = str(row["listing_id"])
    title = f" ({row['title']})" if row["title"] else ""
    return f"listing {lid[:10]}…{title}"


def offer_notices(db: Database, who: str, now: int) -> list[MarketNotice]:
    """Offers on ``who``'s listings (open), and ``who``'s own offers accepted or expiring
    within :data:`SOON` seconds, newest first.

    Args:
        db: The index database.
        who: A checksummed address.
        now: The time expiries are measured against (the index's chain time).
    """
    open_ = "o.expiry > :now AND t.trade_id IS NULL"
    received = _offers(db, "seller", who, open_, now)
    accepted = _offers(db, "buyer", who, "t.trade_id IS NOT NULL", now)
    expiring = _offers(db, "buyer", who, f"{open_} AND o.expiry <= :now + {SOON}", now)
    gone = _cancelled(db, received + expiring)
    out: list[MarketNotice] = []
    for row in received:
        if row["offer_id"] in gone:
            continue
        price = amount_text(int(row["price"]), str(row["token"]))
        out.append(
            MarketNotice(
                kind="offer_received",
                at=int(row["received_at"]),
                text=f"{_what(row)}: {row['buyer']} offers {price} per unit"
                f" x {row['quantity']}: accept it before it expires",
                listing_id=row["listing_id"],
                offer_id=row["offer_id"],
            )
        )
    for row in accepted:
        out.append(
            MarketNotice(
                kind="offer_accepted",
                at=int(row["opened_at"]),
                text=f"{_what(row)}: your offer was accepted and paid into escrow"
                f" (trade {str(row['trade_id'])[:10]}…)",
                listing_id=row["listing_id"],
                trade_id=row["trade_id"],
            )
        )
    for row in expiring:
        if row["offer_id"] in gone:
            continue
        expiry = int(row["expiry"])
        out.append(
            MarketNotice(
                kind="offer_expiring",
                at=expiry,
                text=f"{_what(row)}: your offer {str(row['offer_id'])[:10]}… expires in"
                f" {_hours(expiry - now)} unless the seller accepts it",
                listing_id=row["listing_id"],
                offer_id=row["offer_id"],
            )
        )
    out.sort(key=lambda n: n.at, reverse=True)
    return out


__all__ = [
    "MAX_OFFER_NOTICES",
    "SOON",
    "MarketNotice",
    "MarketNoticeKind",
    "amount_text",
    "notice_key",
    "offer_notices",
]
