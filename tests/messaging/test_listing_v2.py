"""Listing documents version 2 carry the seller's messaging key; version 1 still reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _market import ONE, Market

from p2pchain import (
    ListingDocument,
    ListingError,
    fetch_listing,
    parse_listing_document,
    publish_listing,
)
from p2pchain.ipfs import LocalStore
from p2pchain.messaging import LoopbackRelay
from p2pchain.messaging._contacts import messaging_field, seller_contact

from ._helpers import Person


def _document(market: Market, **extra: object) -> dict[str, object]:
    return {
        "schema_version": 1,
        "title": "Bike helmet, size M",
        "category": "sports/bikes",
        "kind": "sale",
        "condition": "like_new",
        "price": str(ONE // 10),
        "seller": market.seller_account.address,
        "created_at": 1_800_000_000,
        **extra,
    }


def test_version_1_documents_read_and_serialize_as_before(market: Market) -> None:
    doc = parse_listing_document(_document(market))
    assert doc.schema_version == 1 and doc.messaging is None
    assert b"messaging" not in doc.canonical_json()  # same bytes, same CID as before v2
    fields = set(json.loads(doc.canonical_json()))
    # the v1 field set (later versions add messaging and request, left out when unset)
    assert fields == set(ListingDocument.model_fields) - {"messaging", "request"}
    assert b"request" not in doc.canonical_json()


def test_messaging_needs_version_2(market: Market, person: Person) -> None:
    seller = person(account=market.seller_account)
    with pytest.raises(ListingError, match="messaging: needs schema_version 2"):
        parse_listing_document(_document(market, messaging=messaging_field(seller)))
    with pytest.raises(ListingError, match="messaging"):
        parse_listing_document(_document(market, schema_version=2, messaging={"pubkey": "zz"}))


def test_buyer_writes_to_the_seller_found_in_a_published_v2_listing(
    market: Market, person: Person, tmp_path: Path, own_relay: LoopbackRelay
) -> None:
    ipfs = LocalStore(tmp_path / "ipfs")
    seller = person(account=market.seller_account, relays=[own_relay.url])
    buyer = person(account=market.buyer_account, relays=[own_relay.url])
    doc = _document(market, schema_version=2, messaging=messaging_field(seller))
    published = publish_listing(market.seller, ipfs, doc)
    assert published.listing is not None
    seen = fetch_listing(market.buyer, ipfs, published.listing.id)
    contact = seller_contact(seen.document)
    assert (
        contact.pubkey == seller.inbox.pubkey and contact.address == market.seller_account.address
    )
    buyer.send(published.listing.id, "Is it still available?", to=contact)
    report = seller.sync()
    assert report.received == 1
    assert [m.text for m in report.messages] == ["Is it still available?"]
    assert seller.thread(published.listing.id)[0].author_address == market.buyer_account.address


def test_a_messaging_key_not_vouched_for_by_the_seller_is_refused(
    market: Market, person: Person
) -> None:
    impostor = person()  # someone else's key and proof in the seller's document
    doc = parse_listing_document(
        _document(market, schema_version=2, messaging=messaging_field(impostor))
    )
    with pytest.raises(Exception, match="not vouched for by the seller"):
        seller_contact(doc)
    with pytest.raises(Exception, match="names no messaging key"):
        seller_contact(parse_listing_document(_document(market)))
