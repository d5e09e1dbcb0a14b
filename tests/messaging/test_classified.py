"""NIP-99 classified listings: a p2pchain listing published as a kind 30402 event to a real
relay, parsed by npm nostr-tools' NIP-99 code, and read back to the verified listing; events
that disagree with the chain or the IPFS document are refused, naming what disagrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _market import ONE, Market

from p2pchain.ipfs import LocalStore
from p2pchain.market._listings import PublishedListing, publish_listing
from p2pchain.messaging import LoopbackRelay, MessagingClient
from p2pchain.messaging._classified import (
    ClassifiedMismatch,
    classified_d,
    classified_event,
    publish_classified,
    verify_classified,
)
from p2pchain.messaging._events import KIND_CLASSIFIED, sign_event
from p2pchain.messaging._relays import RelayConnection

from ._helpers import Person
from .test_interop import _node


def _document(market: Market) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "title": "Family car, weekend rental",
        "description": "Seven seats, child seat included.\nPickup at the station.",
        "category": "vehicles/cars",
        "kind": "sale",
        "condition": "good",
        "price": str(ONE // 4),
        "seller": market.seller_account.address,
        "created_at": 1_800_000_000,
        "location": {"text": "Lisbon, Alcântara", "country": "PT"},
        "tags": ["family", "car"],
    }


@pytest.fixture
def car(market: Market, tmp_path: Path) -> tuple[LocalStore, PublishedListing]:
    store = LocalStore(tmp_path / "ipfs")
    published = publish_listing(market.seller, store, _document(market))
    assert published.listing is not None
    return store, published


def _resign(seller: MessagingClient, event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The event with ``changes`` (tag name -> new tag, or ``content``), signed again by the
    same key: a well-formed event that says something else."""
    tags = [list(t) for t in event["tags"]]
    for name, value in changes.items():
        if name != "content":
            tags = [value if t[0] == name else t for t in tags]
    content = changes.get("content", event["content"])
    return sign_event(seller.inbox, event["kind"], content, tags).to_dict()


def test_a_published_listing_reads_back_from_the_relay_to_the_verified_listing(
    market: Market, person: Person, own_relay: LoopbackRelay, car: tuple[LocalStore, Any]
) -> None:
    store, published = car
    seller = person(account=market.seller_account, relays=[own_relay.url])
    event, accepted = publish_classified(seller, market.seller, store, published.listing.id)
    assert accepted == [own_relay.url] and seller.pending() == 0
    d = classified_d(
        market.seller.chain_id, market.seller.deployment.marketplace, published.listing.id
    )
    (raw,) = RelayConnection(own_relay.url).query([{"kinds": [KIND_CLASSIFIED], "#d": [d]}])
    assert raw["id"] == event.id
    verified = verify_classified(raw, market.buyer, store)
    assert verified.listing.id == published.listing.id
    assert verified.document.title == "Family car, weekend rental"
    tags = {t[0]: t[1:] for t in raw["tags"]}
    assert tags["price"] == ["0.25", "ETH"] and tags["p2pchain-price"] == [str(ONE // 4), "ETH"]
    assert tags["location"] == ["Lisbon, Alcântara"] and tags["status"] == ["active"]
    assert tags["r"] == [f"ipfs://{verified.document_cid}"]


def test_nostr_tools_parses_the_event_as_a_nip_99_classified_listing(
    market: Market, person: Person, own_relay: LoopbackRelay, car: tuple[LocalStore, Any]
) -> None:
    store, published = car
    seller = person(account=market.seller_account, relays=[own_relay.url])
    event = classified_event(seller, market.seller, store, published.listing.id)
    got = _node({"op": "classified", "event": event.to_dict()})
    assert got["sig_ok"] and got["valid"]
    listing = got["listing"]
    assert listing["title"] == "Family car, weekend rental" and not listing["isDraft"]
    assert listing["summary"] == "Seven seats, child seat included."
    assert listing["price"] == {"amount": "0.25", "currency": "ETH"}
    assert listing["location"] == "Lisbon, Alcântara" and listing["publishedAt"] == "1800000000"
    assert listing["hashtags"] == ["vehicles", "cars", "family", "car"]
    assert listing["content"] == _document(market)["description"]


def test_events_that_disagree_with_the_listing_are_refused_by_name(
    market: Market, person: Person, own_relay: LoopbackRelay, car: tuple[LocalStore, Any]
) -> None:
    store, published = car
    seller = person(account=market.seller_account, relays=[own_relay.url])
    good = classified_event(seller, market.seller, store, published.listing.id).to_dict()
    pointer = next(t for t in good["tags"] if t[0] == "p2pchain-listing")
    cases = [
        (_resign(seller, good, title=["title", "Sports car"]), "'title' disagrees"),
        (_resign(seller, good, price=["price", "0.01", "ETH"]), "'price' disagrees"),
        (
            _resign(seller, good, **{"p2pchain-price": ["p2pchain-price", "1", "ETH"]}),
            "'p2pchain-price' disagrees",
        ),
        (_resign(seller, good, content="Cheap!"), "description disagrees"),
        (
            _resign(
                seller,
                good,
                **{
                    "p2pchain-listing": [
                        *pointer[:4],
                        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
                    ]
                },
            ),
            "the event names document QmT78",
        ),
        (
            _resign(seller, good, **{"p2pchain-listing": [pointer[0], "1", *pointer[2:]]}),
            "the listing is on chain 1",
        ),
        (
            _resign(
                seller,
                good,
                **{"p2pchain-listing": [pointer[0], pointer[1], "0x" + "11" * 20, *pointer[3:]]},
            ),
            "the listing is on marketplace 0x1111",
        ),
        ({**good, "content": "tampered after signing"}, "not a valid signed Nostr event"),
        ({**good, "kind": 1}, "not a valid signed Nostr event"),
    ]
    for event, words in cases:
        with pytest.raises(ClassifiedMismatch, match=words.replace("(", r"\(")):
            verify_classified(event, market.buyer, store)
    # An impostor copies every tag (the seller's proof included) and signs with its own key.
    impostor = person()
    copied = sign_event(impostor.inbox, KIND_CLASSIFIED, good["content"], good["tags"]).to_dict()
    with pytest.raises(ClassifiedMismatch, match="is not vouched for by the seller"):
        verify_classified(copied, market.buyer, store)
    assert verify_classified(json.loads(json.dumps(good)), market.buyer, store).listing.id == (
        published.listing.id
    )


def test_only_the_seller_publishes_its_listing(
    market: Market, person: Person, car: tuple[LocalStore, Any]
) -> None:
    store, published = car
    buyer = person(account=market.buyer_account)
    with pytest.raises(ClassifiedMismatch, match="not yours"):
        classified_event(buyer, market.buyer, store, published.listing.id)
