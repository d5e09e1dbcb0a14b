"""Messaging and notices for the page: who to write to, where, and what happened to my trades.

The page talks without any server of ours: it derives its keys from the wallet, encrypts and
publishes to Nostr relays itself (``static/lib/messaging.js``). The API only tells it

* the relays to use (``GET /api/messaging/relays``, from ``P2PCHAIN_API_RELAYS``);
* a seller's contact from a listing document (schema version 2) and anyone's from their address
  card on the relays, each checked against the Ethereum address's key proof;
* the account's notices (``GET /api/notifications``: the library's
  :func:`~p2pchain.messaging._notify.trade_notices` and, from the index,
  :func:`~p2pchain.messaging._notify.market_notices`, as ``p2pchain inbox`` lists them) and a
  Server-Sent Events stream of new ones (``GET /api/notifications/stream``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from frontend_api.deps import ServicesDep
from frontend_api.errors import ApiError
from frontend_api.routes.events import (
    IDLE_RETRY_MS,
    KEEP_ALIVE,
    RETRY_MS,
    STREAM_SECONDS,
    TICK,
    sse_event,
    sse_response,
)
from frontend_api.schemas import ContactOut, ErrorOut, NoticeOut, NotificationsOut, RelaysOut
from frontend_api.services import Services
from p2pchain._errors import MessagingError, P2PChainError
from p2pchain.ipfs import CID

router = APIRouter(prefix="/api", tags=["messaging"])

AddressQuery = Annotated[
    str, Query(pattern=r"^0x[0-9a-fA-F]{40}$", description="The account (0x + 40 hex digits).")
]
AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
#: Seconds between re-reads of the notices on a stream when the index reports no change (a
#: window starting to close within 24 h is no chain event).
RECHECK_SECONDS = 30.0
#: Notices whose time is when a window closes, not when they were announced.
_CLOSING = frozenset({"review_window_closing", "ruling_window_closing", "offer_expiring"})


def notices_of(services: Services, address: str) -> tuple[int, list[NoticeOut]]:
    """The chain's time and ``address``'s notices, newest first: its trades' (from the chain)
    and the index's (matches, answers, offers; none when the index cannot answer). A notice
    both tell of (an accepted offer) is listed once."""
    from p2pchain.messaging._notify import Notice, market_notices, trade_notices

    client = services.client
    now = client.now()
    found: list[Notice] = trade_notices(client, address, now)
    try:
        found += market_notices(services.index, address, limit=500)
    except P2PChainError:
        pass  # no index yet, or it cannot be read: the chain's notices alone
    out: dict[str, NoticeOut] = {}
    for n in found:
        out.setdefault(
            n.key,
            NoticeOut(
                key=n.key,
                kind=n.kind,
                at=n.at,
                text=n.text,
                trade=n.trade,
                request=n.request,
                listing=n.listing,
                offer=n.offer,
            ),
        )
    return now, sorted(out.values(), key=lambda n: n.at, reverse=True)


def _relays(services: Services) -> list[str]:
    return list(services.settings.relays)


@router.get("/notifications", operation_id="get_notifications")
def notifications(
    address: AddressQuery,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> NotificationsOut:
    """``address``'s notices, newest first: on its trades (bought, an offer accepted, released,
    deposit returned, disputed, a settlement proposed, settled, ruled..., and its review window
    (buyer, seller) or ruling window (arbitrator) closing within 24 hours), and from the index:
    listings matching its open requests, open requests matching its listings, answers to its
    requests, offers on its listings, and its own offers expiring within 24 hours."""
    who = to_checksum_address(address)
    now, notices = notices_of(services, who)
    return NotificationsOut(address=who, now=now, notifications=notices[:limit])


@router.get(
    "/notifications/stream",
    operation_id="stream_notifications",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An SSE stream."}},
)
async def notification_stream(
    address: AddressQuery,
    request: Request,
    services: ServicesDep,
    since: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**40,
            description="Chain time (unix seconds) the caller last saw: notices from then on "
            "are sent even if they happened before the stream opened.",
        ),
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """A ``text/event-stream``: ``hello`` (``{"address", "following"}``), then one ``notice``
    event (a :class:`NoticeOut`) per new notice of ``address``, oldest first, as the index
    sees the chain change (and every :data:`RECHECK_SECONDS`, for windows starting to close).

    Without ``since`` the notices at connection time are not sent (``GET /api/notifications``
    lists them). With ``since`` (the ``now`` of an earlier ``GET /api/notifications``) the ones
    that happened at or after it are, so nothing is lost between a page's first read and its
    stream. Every event's id is the chain time it was computed at; a reconnecting browser sends
    it back (``Last-Event-ID``) and gets what it missed. A notice may come twice around one
    second: its ``key`` tells. ``following`` false: this API does not follow the chain itself,
    so the stream ends at once (poll ``GET /api/notifications`` instead)."""
    who = to_checksum_address(address)
    if last_event_id is not None and last_event_id.isdigit():
        since = max(since or 0, int(last_event_id))
    await run_in_threadpool(lambda: services.index)  # opens the index and starts following
    feed = services.feed
    if not services.following:

        async def idle() -> AsyncIterator[str]:
            yield f"retry: {IDLE_RETRY_MS}\n\n" + sse_event(
                "hello", {"address": who, "following": False}
            )

        return StreamingResponse(idle(), media_type="text/event-stream")
    opened, first = await run_in_threadpool(notices_of, services, who)

    async def stream() -> AsyncIterator[str]:
        # What the caller has already seen: everything before ``since`` (all, without it) and
        # every closing window (its time is when it closes, not when it was announced).
        sent = {n.key for n in first if since is None or n.at < since or n.kind in _CLOSING}
        seen, _ = feed.latest()
        yield f"retry: {RETRY_MS}\n\n" + sse_event(
            "hello", {"address": who, "following": True}, str(opened)
        )
        for notice in reversed(first):
            if notice.key not in sent:
                sent.add(notice.key)
                yield sse_event("notice", notice.model_dump(mode="json"), str(opened))
        started = quiet = checked = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            version, _ = feed.latest()
            if version != seen or time.monotonic() - checked > RECHECK_SECONDS:
                seen, checked = version, time.monotonic()
                now, notices = await run_in_threadpool(notices_of, services, who)
                for notice in reversed(notices):
                    if notice.key not in sent:
                        sent.add(notice.key)
                        quiet = time.monotonic()
                        yield sse_event("notice", notice.model_dump(mode="json"), str(now))
            if time.monotonic() - quiet > KEEP_ALIVE:
                quiet = time.monotonic()
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(TICK)

    return sse_response(stream())


@router.get("/messaging/relays", operation_id="get_messaging_relays")
def relays(services: ServicesDep) -> RelaysOut:
    """The Nostr relays the page reads and publishes through (empty: messaging is off)."""
    return RelaysOut(relays=_relays(services))


@router.get(
    "/listings/{listing_id}/contact",
    operation_id="get_listing_contact",
    responses={502: {"model": ErrorOut, "description": "The document's key is not the seller's"}},
)
def listing_contact(
    listing_id: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")], services: ServicesDep
) -> ContactOut:
    """The seller's messaging contact from the listing's document (schema version 2), its key
    proof checked against the seller's address: where "ask the seller" writes to. 404: the
    document names no messaging key (version 1)."""
    from p2pchain.market._listings import check_agreement
    from p2pchain.messaging._contacts import seller_contact

    listing = services.listing(bytes.fromhex(listing_id[2:]))
    document = services.document(str(CID.parse(listing.terms.cid)))
    check_agreement(document, listing)
    if document.messaging is None:
        raise ApiError(
            404,
            f"the listing's document (version {document.schema_version}) names no messaging"
            " key: the seller can republish it as version 2",
        )
    try:
        contact = seller_contact(document)
    except MessagingError as exc:
        raise ApiError(502, str(exc)) from None
    return ContactOut(
        address=contact.address or listing.seller,
        pubkey=contact.pubkey,
        relays=list(contact.relays),
        source="listing",
    )


@router.get("/accounts/{address}/contact", operation_id="get_account_contact")
def account_contact(address: AddressPath, services: ServicesDep) -> ContactOut:
    """``address``'s messaging contact from its address card (a kind 30078 event it published
    with ``p2pchain message announce`` or the page), read from this API's relays and checked
    against the address's key proof. 404: no card on these relays."""
    from p2pchain.messaging._cards import best_card, card_filter
    from p2pchain.messaging._relays import RelayPool

    urls = _relays(services)
    if not urls:
        raise ApiError(
            404, "this API has no relays configured (P2PCHAIN_API_RELAYS) to find cards on"
        )
    who = to_checksum_address(address)
    pool = RelayPool()
    try:
        events, errors = pool.query([card_filter(who)], urls)
    finally:
        pool.close()
    found = best_card(events, who)
    if found is None:
        if errors and len(errors) == len(urls):
            raise ApiError(503, f"no relay could be reached: {next(iter(errors.values()))}")
        raise ApiError(404, f"{who} has no address card on the relays {', '.join(urls)}")
    return ContactOut(address=who, pubkey=found[0], relays=list(found[1]), source="card")
