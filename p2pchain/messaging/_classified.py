"""NIP-99 classified listings (kind 30402): a p2pchain listing announced to Nostr clients.

Opt-in. :func:`classified_event` builds the event from a *verified* listing (chain + IPFS),
signed by the seller's messaging inbox key and carrying the seller's key proof, so any Nostr
marketplace client can show it (NIP-99's ``title``, ``summary``, ``location``, ``published_at``,
``price``, ``t``, ``image``, ``status``) and a p2pchain client can land on the real listing:

* ``["d", "p2pchain:<chain id>:<marketplace>:<listing id>"]``: one replaceable event per listing;
* ``["p2pchain-listing", <chain id>, <marketplace>, <listing id>, <document CID>]``: the pointer;
* ``["p2pchain-price", <base units>, <token>]``: the exact price (NIP-99's ``price`` is for
  people, in the token's units with a three-letter currency; ``XXX`` when the token has none);
* ``["r", "ipfs://<document CID>"]``, and ``["image", "ipfs://<CID>"]`` per photo;
* ``["proof", <seller address>, <EIP-191 signature vouching for the event's key>]``.

:func:`verify_classified` reads such an event back and returns the :class:`VerifiedListing`
only if everything it says agrees with the chain and the IPFS document: the signature, the
chain and marketplace, the document CID, the seller's proof for the signing key, the title,
description and price. Anything else is refused with :class:`ClassifiedMismatch`, naming the
field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from p2pchain._errors import MessagingError
from p2pchain.messaging._events import KIND_CLASSIFIED, Event, InvalidEvent, parse_event, sign_event
from p2pchain.messaging._keys import check_proof

if TYPE_CHECKING:
    from p2pchain.ipfs import IpfsBackend
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.market._listings import VerifiedListing
    from p2pchain.messaging._client import MessagingClient

_POINTER = "p2pchain-listing"
_PRICE = "p2pchain-price"
_STATUS = {"live": "active", "unused": "active", "sold_out": "sold", "closed": "sold"}


class ClassifiedMismatch(MessagingError):
    """A classified-listing event is not a faithful pointer to a p2pchain listing."""


def classified_d(chain_id: int, marketplace: str, listing_id: bytes) -> str:
    """The event's ``d`` tag: one replaceable event per listing."""
    return f"p2pchain:{chain_id}:{marketplace.lower()}:0x{listing_id.hex()}"


def _human_price(reader: MarketplaceClient, price: int, token: str) -> tuple[str, str]:
    from p2pchain.market._tokens import TokenCatalog

    info = TokenCatalog(reader).info(token)
    amount = Decimal(price) / (Decimal(10) ** info.decimals) if info.known else Decimal(price)
    text = format(amount.normalize(), "f")
    symbol = info.symbol.upper() if info.known else ""
    return text, symbol if len(symbol) == 3 and symbol.isalpha() else "XXX"


def _tags(reader: MarketplaceClient, verified: VerifiedListing, proof: str) -> list[list[str]]:
    listing, doc = verified.listing, verified.document
    token = "ETH" if int(listing.terms.token, 16) == 0 else listing.terms.token
    amount, currency = _human_price(reader, listing.terms.price, token)
    summary = (doc.description.strip().splitlines() or [doc.title])[0][:200]
    location = doc.location.text if doc.location is not None else "not given"
    marketplace = reader.deployment.marketplace
    tags = [
        ["d", classified_d(reader.chain_id, marketplace, listing.id)],
        ["title", doc.title],
        ["summary", summary],
        ["location", location],
        ["published_at", str(doc.created_at)],
        ["price", amount, currency],
        ["status", _STATUS.get(listing.status.value, "active")],
        *[["t", part] for part in doc.category.split("/") if part],
        *[["t", tag] for tag in doc.tags],
        ["r", f"ipfs://{verified.document_cid}"],
        *[["image", f"ipfs://{cid}"] for cid in doc.images],
        [
            _POINTER,
            str(reader.chain_id),
            marketplace,
            "0x" + listing.id.hex(),
            verified.document_cid,
        ],
        [_PRICE, str(listing.terms.price), token],
        ["proof", listing.seller, proof],
    ]
    return tags


def classified_event(
    messaging: MessagingClient, reader: MarketplaceClient, backend: IpfsBackend, listing_id: bytes
) -> Event:
    """The NIP-99 event for one of our listings, from the listing as chain and IPFS say it is.

    Raises:
        ClassifiedMismatch: The listing is not ours, or is a signed (off-chain) listing.
        NotFoundError, ListingError, IpfsError: As :func:`~p2pchain.market._listings.fetch_listing`.
    """
    from p2pchain.market._listings import fetch_listing

    verified = fetch_listing(reader, backend, listing_id, with_images=False)
    listing = verified.listing
    if listing.seller.lower() != messaging.address.lower():
        raise ClassifiedMismatch(
            f"listing 0x{listing_id.hex()} is {listing.seller}'s, not yours ({messaging.address})"
        )
    if listing.signed:
        raise ClassifiedMismatch("a signed listing is not on chain yet: share it as a link instead")
    proof = messaging.proof(messaging.inbox.pubkey)
    return sign_event(
        messaging.inbox,
        KIND_CLASSIFIED,
        verified.document.description,
        _tags(reader, verified, proof),
    )


def publish_classified(
    messaging: MessagingClient, reader: MarketplaceClient, backend: IpfsBackend, listing_id: bytes
) -> tuple[Event, list[str]]:
    """Publish our listing as a NIP-99 event to our relays (through the outbox).

    Returns:
        The event and the relays that accepted it (the others keep it in the outbox).
    """
    event = classified_event(messaging, reader, backend, listing_id)
    messaging.store.queue(event.id, "event", event.to_json(), messaging.relays)
    messaging.flush()
    pending = {
        relay
        for row in messaging.store.outbox()
        if row["id"] == event.id
        for relay in messaging.relays
        if relay not in json.loads(row["accepted"])
    }
    return event, [r for r in messaging.relays if r not in pending]


def _one(event: Event, name: str) -> tuple[str, ...]:
    found = [t for t in event.tags if t and t[0] == name]
    if len(found) != 1:
        raise ClassifiedMismatch(f"classified {event.id[:12]}: needs exactly one {name!r} tag")
    return found[0]


def verify_classified(raw: Any, reader: MarketplaceClient, backend: IpfsBackend) -> VerifiedListing:
    """The p2pchain listing a NIP-99 event points to, verified against chain and IPFS.

    Args:
        raw: The event as a relay sent it (a dict).
        reader: A client on the chain and marketplace the event must name.
        backend: Where to read the listing document.

    Returns:
        The verified listing (chain terms, document checked against its CID and the terms).

    Raises:
        ClassifiedMismatch: Forged or malformed, another chain or marketplace, or anything in
            it that disagrees with the listing (the message names the field).
        NotFoundError: No such listing on this marketplace.
    """
    from eth_utils import to_checksum_address

    from p2pchain.market._listings import fetch_listing

    try:
        event = parse_event(raw)
    except InvalidEvent as exc:
        raise ClassifiedMismatch(f"not a valid signed Nostr event: {exc}") from None
    if event.kind != KIND_CLASSIFIED:
        raise ClassifiedMismatch(f"event {event.id[:12]}: kind {event.kind}, expected 30402")
    pointer = _one(event, _POINTER)
    if len(pointer) != 5:
        raise ClassifiedMismatch(f"classified {event.id[:12]}: malformed {_POINTER!r} tag")
    _, chain, marketplace, listing_hex, cid = pointer
    if chain != str(reader.chain_id):
        raise ClassifiedMismatch(
            f"the listing is on chain {chain}, this client on {reader.chain_id}"
        )
    if marketplace.lower() != reader.deployment.marketplace.lower():
        raise ClassifiedMismatch(
            f"the listing is on marketplace {marketplace}, not {reader.deployment.marketplace}"
        )
    try:
        listing_id = bytes.fromhex(listing_hex.removeprefix("0x"))
    except ValueError:
        listing_id = b""
    if len(listing_id) != 32:
        raise ClassifiedMismatch(
            f"classified {event.id[:12]}: malformed listing id {listing_hex!r}"
        )
    if _one(event, "d")[1:2] != (classified_d(reader.chain_id, marketplace, listing_id),):
        raise ClassifiedMismatch("the 'd' tag does not name the listing the pointer names")
    verified = fetch_listing(reader, backend, listing_id, with_images=False)
    doc, listing = verified.document, verified.listing
    if cid != verified.document_cid or _one(event, "r")[1:2] != (f"ipfs://{cid}",):
        raise ClassifiedMismatch(
            f"the event names document {cid}, the listing anchors {verified.document_cid}"
        )
    proof = _one(event, "proof")
    if (
        len(proof) < 3
        or to_checksum_address(listing.seller) != _checksum(proof[1])
        or not check_proof(event.pubkey, listing.seller, proof[2])
    ):
        raise ClassifiedMismatch(
            f"the event's key {event.pubkey[:16]}... is not vouched for by the seller {listing.seller}"
        )
    expected = {tuple(t) for t in _tags(reader, verified, proof[2])}
    for name in ("title", "summary", "price", _PRICE, "location", "published_at"):
        if _one(event, name) not in expected:
            raise ClassifiedMismatch(f"the event's {name!r} disagrees with the listing")
    if event.content != doc.description:
        raise ClassifiedMismatch("the event's description disagrees with the listing document")
    return verified


def _checksum(address: str) -> str:
    from eth_utils import is_address, to_checksum_address

    return to_checksum_address(address) if is_address(address) else ""


__all__ = [
    "ClassifiedMismatch",
    "classified_d",
    "classified_event",
    "publish_classified",
    "verify_classified",
]
