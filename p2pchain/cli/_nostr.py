"""``p2pchain listing nostr-publish`` and ``nostr-open``: NIP-99 classified-listing events
(kind 30402) that point to an on-chain listing and its IPFS document (opt-in).

``nostr-publish`` signs the event with your messaging inbox key (derived from the wallet) and
your key proof, and publishes it to your relays; ``nostr-open`` reads one back from relays by
its event id and shows the listing only if the event agrees with the chain and the document.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from p2pchain.cli._common import command, emit, opts, panel
from p2pchain.cli._errors import CliError
from p2pchain.cli._listing import listing_app
from p2pchain.cli._message import RelayOpt, _open, _relays, _topic

EventArg = Annotated[str, typer.Argument(help="The event id (64 hex digits).")]
ListingIdArg = Annotated[str, typer.Argument(help="The on-chain listing id (0x + 64 hex digits).")]


@command(
    listing_app,
    "nostr-publish",
    shared=("network", "account", "passphrase_file", "ipfs", "json_output"),
)
def nostr_publish(listing: ListingIdArg, relay: RelayOpt = None) -> None:
    """Publish your listing as a NIP-99 classified listing (kind 30402) to your relays."""
    from p2pchain.messaging._classified import publish_classified

    client, messaging = _open(relay)
    event, accepted = publish_classified(
        messaging, client, opts().backend(read=True), _topic(listing)
    )
    emit(
        {"event_id": event.id, "pubkey": event.pubkey, "kind": event.kind, "accepted_by": accepted},
        lambda: panel(
            "published to Nostr (NIP-99)",
            [
                ("event", event.id),
                ("key", event.pubkey),
                ("accepted by", ", ".join(accepted) or "none yet (kept in the outbox)"),
            ],
        ),
    )


@command(listing_app, "nostr-open", shared=("network", "ipfs", "json_output"))
def nostr_open(event_id: EventArg, relay: RelayOpt = None) -> None:
    """Read a NIP-99 event from relays and show the p2pchain listing it points to, verified
    against the chain and IPFS (refused when anything disagrees)."""
    from p2pchain.messaging._classified import verify_classified
    from p2pchain.messaging._events import KIND_CLASSIFIED
    from p2pchain.messaging._relays import RelayPool

    wanted = event_id.lower().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]{64}", wanted):
        raise CliError(f"invalid event id {event_id!r}: expected 64 hex digits")
    urls = _relays(relay)
    pool = RelayPool()
    try:
        events, errors = pool.query([{"ids": [wanted], "kinds": [KIND_CLASSIFIED]}], urls)
    finally:
        pool.close()
    found = [e for e in events if isinstance(e, dict) and e.get("id") == wanted]
    if not found:
        why = f" ({'; '.join(errors.values())})" if errors else ""
        raise CliError(f"no classified listing {wanted} on {', '.join(urls)}{why}")
    o = opts()
    client = o.client(signer=False)
    verified = verify_classified(found[0], client, o.backend(read=True))
    listing, doc = verified.listing, verified.document
    emit(
        {
            "event_id": wanted,
            "listing_id": "0x" + listing.id.hex(),
            "seller": listing.seller,
            "status": listing.status.value,
            "document_cid": verified.document_cid,
            "document": doc.model_dump(mode="json"),
        },
        lambda: panel(
            "verified p2pchain listing",
            [
                ("listing", "0x" + listing.id.hex()),
                ("title", doc.title),
                ("seller", listing.seller),
                ("status", listing.status.value),
                ("document", verified.document_cid),
            ],
        ),
    )
