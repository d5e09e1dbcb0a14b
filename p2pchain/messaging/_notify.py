"""Notices: what happened to an account's trades (from the chain) and its new messages.

:func:`trade_notices` reads every trade the account takes part in (as buyer, seller or
arbitrator) and turns its events into notices (bought, disputed, ruled, a settlement proposed, a
deposit returned...), plus a warning when the account's review window or ruling window closes
within 24 hours. :func:`inbox` merges them with the messages, newest first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

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
            ``deposit_returned``..., ``review_window_closing`` or ``ruling_window_closing``.
        at: When it happened (unix seconds); for a closing window, when it closes.
        text: One line for people.
        trade: The trade id (0x hex), if about a trade.
        thread: The message thread, for messages.
        message: The message id, for messages.
        new: Not seen before.
    """

    kind: str
    at: int
    text: str
    trade: str | None = None
    thread: str | None = None
    message: str | None = None
    new: bool = True

    @property
    def key(self) -> str:
        """A stable identity (for "seen")."""
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


def inbox(
    messaging: MessagingClient,
    reader: MarketReader | None,
    *,
    now: int | None = None,
    limit: int = 100,
    mark_seen: bool = True,
) -> list[Notice]:
    """New messages and trade events, newest first (``new`` marks what was not seen before).

    Args:
        messaging: The account's messaging client (already synced, or not).
        reader: A market reader for trade notices (None: messages only).
        now: The time windows are measured from (default: the chain's latest block).
        limit: At most this many notices.
        mark_seen: Remember what was listed, so the next call marks only newer things new.
    """
    notices = [message_notice(m) for m in messaging.messages(limit=limit)]
    if reader is not None:
        seen = set((messaging.store.get("seen_notices") or "").split("\n"))
        for n in trade_notices(reader, messaging.address, now):
            notices.append(Notice(**{**n.__dict__, "new": n.key not in seen}))
        if mark_seen:
            keys = sorted(seen | {n.key for n in notices if n.kind != "message"})
            messaging.store.put("seen_notices", "\n".join(k for k in keys if k))
    if mark_seen:
        messaging.mark_read()
    notices.sort(key=lambda n: n.at, reverse=True)
    return notices[:limit]


__all__ = ["SOON", "Notice", "inbox", "message_notice", "trade_notices"]
