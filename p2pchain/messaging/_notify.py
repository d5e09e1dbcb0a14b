"""Notices: what happened to an account's trades (from the chain) and its new messages.

:func:`trade_notices` reads every trade the account takes part in (as buyer, seller or
arbitrator) and turns its events into notices (bought, disputed, ruled, a settlement proposed, a
deposit returned...), plus a warning when the account's review window or ruling window closes
within 24 hours. :func:`inbox` merges them with the messages and, given an index reader (any
object with ``market_notices``: :class:`MarketNoticeSource`, e.g.
:class:`~p2pchain.indexer.IndexReader`), with the market notices it knows (listings matching
the account's requests, requests matching its listings, answers, offers made, accepted or
expiring), newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from p2pchain._errors import MessagingError

if TYPE_CHECKING:
    from p2pchain.market._reads import MarketReader
    from p2pchain.messaging._client import Message, MessagingClient

#: A window closing within this many seconds is announced.
SOON = 24 * 3600

_EVENTS = {
    "Purchased": ("bought", "bought"),
    "OfferAccepted": ("offer_accepted", "an offer was accepted and paid into escrow"),
    "Released": ("released", "payment released"),
    "DepositReturned": ("deposit_returned", "deposit returned"),
    "Refunded": ("refunded", "refunded"),
    "Finalized": ("finalized", "finalized after the review window"),
    "Disputed": ("disputed", "disputed"),
    "SettlementProposed": ("settlement_proposed", "a settlement was proposed"),
    "Settled": ("settled", "settled"),
    "Ruled": ("ruled", "ruled by the arbitrator"),
    "RulingTimedOut": ("ruling_timed_out", "the ruling window ran out"),
}


@dataclass(frozen=True)
class Notice:
    """One thing to tell the user.

    Attributes:
        kind: ``message``, ``bought``, ``disputed``, ``ruled``, ``settlement_proposed``,
            ``deposit_returned``..., ``review_window_closing`` or ``ruling_window_closing``;
            from an index: ``listing_matches_request``, ``request_matches_listing``,
            ``request_answered``, ``offer_received``, ``offer_accepted`` or ``offer_expiring``.
        at: When it happened (unix seconds); for a closing window or an expiring offer, when
            it closes.
        text: One line for people.
        trade: The trade id (0x hex), if about a trade.
        thread: The message thread, for messages.
        message: The message id, for messages.
        new: Not seen before.
        request: The request, for request notices.
        listing: The listing (matching, answering, or offered on), for market notices.
        offer: The offer, for ``offer_received`` and ``offer_expiring``.
    """

    kind: str
    at: int
    text: str
    trade: str | None = None
    thread: str | None = None
    message: str | None = None
    new: bool = True
    request: str | None = None
    listing: str | None = None
    offer: str | None = None

    @property
    def key(self) -> str:
        """A stable identity (for "seen"); a market notice's is its index's
        (:attr:`p2pchain.indexer.MarketNotice.key`)."""
        if self.request is not None:
            return f"{self.kind}/{self.request}/{self.listing}"
        if self.offer is not None:
            return f"{self.kind}/{self.offer}"
        return f"{self.kind}/{self.trade or self.thread}/{self.message or self.at}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _hours(seconds: int) -> str:
    return f"{max(seconds, 0) // 3600}h {max(seconds, 0) % 3600 // 60:02d}m"


def trade_notices(reader: MarketReader, account: str, now: int | None = None) -> list[Notice]:
    """Notices about every trade of ``account``, newest first."""
    from p2pchain.market._views import Role

    at = reader.now() if now is None else now
    out: list[Notice] = []
    for view in reader.trades_of(account):
        tid = "0x" + view.id.hex()
        role = view.role_of(account)
        who = role.name.lower() if role is not None else "party"
        for event in view.history:
            kind, words = _EVENTS.get(event.name, (event.name.lower(), event.name))
            by = event.args.get("by")
            suffix = f" by {by}" if isinstance(by, str) else ""
            out.append(
                Notice(
                    kind, event.timestamp, f"trade {tid[:10]}…: {words}{suffix} (you: {who})", tid
                )
            )
        deadline = view.review_deadline
        if (
            deadline is not None
            and role in (Role.BUYER, Role.SELLER)
            and at < deadline <= at + SOON
        ):
            out.append(
                Notice(
                    "review_window_closing",
                    deadline,
                    f"trade {tid[:10]}…: your review window closes in {_hours(deadline - at)}",
                    tid,
                )
            )
        deadline = view.ruling_deadline
        if deadline is not None and role == Role.ARBITRATOR and at < deadline <= at + SOON:
            out.append(
                Notice(
                    "ruling_window_closing",
                    deadline,
                    f"trade {tid[:10]}…: your ruling window closes in {_hours(deadline - at)}",
                    tid,
                )
            )
    out.reverse()  # events in one block (one second) stay newest first after the stable sort
    out.sort(key=lambda n: n.at, reverse=True)
    return out


def message_notice(message: Message) -> Notice:
    """A notice for one message."""
    who = message.author_address or message.author[:16] + "…"
    where = f"trade/listing {message.topic[:10]}…" if message.topic else "direct"
    text = message.text if len(message.text) <= 120 else message.text[:119] + "…"
    return Notice(
        "message",
        message.created_at,
        f"{where}: {who}: {text}",
        message.topic,
        message.thread,
        message.id,
        not message.read,
    )


class MarketNoticeLike(Protocol):
    """A notice from an index (:class:`p2pchain.indexer.MarketNotice`)."""

    @property
    def kind(self) -> str: ...
    @property
    def at(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def listing_id(self) -> str | None: ...
    @property
    def offer_id(self) -> str | None: ...
    @property
    def trade_id(self) -> str | None: ...


class MarketNoticeSource(Protocol):
    """What tells an account of matches and offers (:class:`p2pchain.indexer.IndexReader`)."""

    def market_notices(
        self, address: str, *, now: int | None = None, limit: int = 50
    ) -> Sequence[MarketNoticeLike]: ...


def market_notice(notice: MarketNoticeLike) -> Notice:
    """The :class:`Notice` of an index's market notice (the same key)."""
    return Notice(
        notice.kind,
        notice.at,
        notice.text,
        trade=notice.trade_id,
        request=notice.request_id,
        listing=notice.listing_id,
        offer=notice.offer_id,
    )


def market_notices(
    index: MarketNoticeSource, account: str, now: int | None = None, limit: int = 100
) -> list[Notice]:
    """``account``'s market notices from an index, newest first (at most ``limit``, 1..500).

    Raises:
        IndexerError: The index cannot answer (a bad address, an unreadable database).
    """
    return [market_notice(n) for n in index.market_notices(account, now=now, limit=limit)]


def inbox(
    messaging: MessagingClient,
    reader: MarketReader | None,
    *,
    index: MarketNoticeSource | None = None,
    now: int | None = None,
    limit: int = 100,
    mark_seen: bool = True,
) -> list[Notice]:
    """New messages, trade events and market notices, newest first (``new`` marks what was not
    seen before).

    Args:
        messaging: The account's messaging client (already synced, or not).
        reader: A market reader for trade notices (None: none).
        index: An index reader for market notices (None: none). A notice both tell of (an
            accepted offer) is listed once.
        now: The time windows are measured from (default: the chain's latest block; the
            index's clock for offers).
        limit: At most this many notices (1..500).
        mark_seen: Remember what was listed, so the next call marks only newer things new.

    Raises:
        MessagingError: A bad limit.
        IndexerError: The index cannot answer.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
        raise MessagingError(f"limit must be 1..500, not {limit!r}")
    notices = [message_notice(m) for m in messaging.messages(limit=limit)]
    if reader is not None or index is not None:
        seen = set((messaging.store.get("seen_notices") or "").split("\n"))
        found: list[Notice] = []
        if reader is not None:
            found += trade_notices(reader, messaging.address, now)
        if index is not None:
            found += market_notices(index, messaging.address, now, limit)
        listed: set[str] = set()
        for n in found:
            if n.key not in listed:
                listed.add(n.key)
                notices.append(Notice(**{**n.__dict__, "new": n.key not in seen}))
        if mark_seen:
            keys = sorted(seen | {n.key for n in notices if n.kind != "message"})
            messaging.store.put("seen_notices", "\n".join(k for k in keys if k))
    if mark_seen:
        messaging.mark_read()
    notices.sort(key=lambda n: n.at, reverse=True)
    return notices[:limit]


__all__ = [
    "SOON",
    "MarketNoticeLike",
    "MarketNoticeSource",
    "Notice",
    "inbox",
    "market_notice",
    "market_notices",
    "message_notice",
    "trade_notices",
]
