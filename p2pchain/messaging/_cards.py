"""Address cards: how anyone finds an Ethereum address's messaging inbox on relays.

A card is a kind 30078 (NIP-78 app data) event by the inbox key, ``d`` tag
``p2pchain:address:<address, lower case>``, whose content is ``{"address", "proof", "relays"}``:
the proof is the address's EIP-191 signature vouching for the inbox key (``_keys.check_proof``).
:meth:`MessagingClient.announce` publishes one; :func:`card_filter` and :func:`best_card` read
them back (the client's :meth:`~MessagingClient.lookup`, the HTTP API's contact endpoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from p2pchain.messaging._events import KIND_APP_DATA, InvalidEvent, parse_event
from p2pchain.messaging._keys import check_proof
from p2pchain.messaging._relays import RelayError, check_relay_url


def card_tag(address: str) -> str:
    """The ``d`` tag of ``address``'s card (``address`` checksummed or not)."""
    return f"p2pchain:address:{address.lower()}"


def card_filter(address: str) -> dict[str, Any]:
    """The relay filter that finds ``address``'s cards."""
    return {"kinds": [KIND_APP_DATA], "#d": [card_tag(address)]}


def best_card(events: Iterable[Any], address: str) -> tuple[str, tuple[str, ...]] | None:
    """The newest valid card of ``address`` among raw relay events: (inbox pubkey, relays).

    Events that are forged, malformed, about another address or not vouched for by
    ``address`` are skipped; relay URLs that are not ws(s):// URLs make the card invalid.
    """
    from eth_utils import to_checksum_address

    wanted = to_checksum_address(address)
    best: tuple[int, str, tuple[str, ...]] | None = None
    for raw in events:
        try:
            event = parse_event(raw)
            if event.kind != KIND_APP_DATA or event.tag_values("d") != [card_tag(wanted)]:
                continue
            card = json.loads(event.content)
            if card.get("address") != wanted or not check_proof(
                event.pubkey, wanted, str(card.get("proof"))
            ):
                continue
            found = tuple(check_relay_url(u) for u in card.get("relays", []))
        except (InvalidEvent, RelayError, ValueError, AttributeError, TypeError):
            continue
        if best is None or event.created_at > best[0]:
            best = (event.created_at, event.pubkey, found)
    return (best[1], best[2]) if best else None


__all__ = ["best_card", "card_filter", "card_tag"]
