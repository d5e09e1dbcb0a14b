"""Who to write to: the seller's contact from a listing document (schema version 2), and the
``messaging`` field a seller puts in one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p2pchain._errors import MessagingError
from p2pchain.messaging._keys import check_proof
from p2pchain.messaging._relays import RelayError, check_relay_url

if TYPE_CHECKING:
    from p2pchain.market._listings import ListingDocument
    from p2pchain.messaging._client import Contact, MessagingClient


def messaging_field(client: MessagingClient) -> dict[str, Any]:
    """The ``messaging`` field of a version 2 listing document: our inbox, relays and proof."""
    if not client.relays:
        raise MessagingError("give at least one relay to publish a messaging key")
    return {
        "pubkey": client.inbox.pubkey,
        "relays": list(client.relays[:8]),
        "proof": client.proof(client.inbox.pubkey),
    }


def seller_contact(document: ListingDocument) -> Contact:
    """The seller's contact from a verified listing document.

    Raises:
        MessagingError: The document names no messaging key (version 1), or its proof is not
            the seller's signature.
    """
    from p2pchain.messaging._client import Contact

    info = document.messaging
    if info is None:
        raise MessagingError(
            f"the listing document (version {document.schema_version}) names no messaging key:"
            " the seller has to republish it as version 2 with `messaging`"
        )
    if not check_proof(info.pubkey, document.seller, info.proof):
        raise MessagingError(
            f"the listing's messaging key {info.pubkey[:16]}... is not vouched for by the"
            f" seller {document.seller}: refusing to write to it"
        )
    relays: list[str] = []
    for url in info.relays:
        try:
            relays.append(check_relay_url(url))
        except RelayError:
            continue
    return Contact(info.pubkey, tuple(relays), document.seller)


__all__ = ["messaging_field", "seller_contact"]
