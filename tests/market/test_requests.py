"""Requests: signed (EIP-712, no gas), stored on IPFS, verified; answered by signed listings that
name them; accepted by buying the answer. Tampered documents, signatures, expiries and chains are
refused with one clear line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from _market import ONE, Market

from p2pchain import (
    RequestError,
    SignedRequest,
    TradeState,
    fetch_request,
    parse_request_document,
    publish_answer,
    publish_request,
    verify_request,
)
from p2pchain.ipfs import LocalStore
from p2pchain.market._requests import request_typed_data, sign_request

PRICE = 4 * ONE // 1000


def request_document(market: Market, **overrides: Any) -> dict[str, Any]:
    """The buyer asks for a ride, at most 0.004 ETH, open for a day."""
    now = market.buyer.now()
    doc: dict[str, Any] = {
        "schema_id": "p2pchain/request/1",
        "title": "Ride from Thamel to the airport",
        "description": "Two bags.",
        "kind": "service",
        "category": "transport/taxi",
        "location": {"text": "Thamel, Kathmandu", "country": "NP", "lat": 27.7154, "lon": 85.3123},
        "radius_km": 5,
        "when": {"start": "2026-12-06T08:00:00+05:45", "end": "2026-12-06T08:30:00+05:45"},
        "max_price": str(PRICE),
        "token": "ETH",
        "expiry": now + 86_400,
        "requester": market.buyer_account.address,
        "chain_id": market.buyer.chain_id,
        "marketplace": market.buyer.deployment.marketplace,
        "created_at": now,
    }
    doc.update(overrides)
    return doc


def answer_document(market: Market, **overrides: Any) -> dict[str, Any]:
    """The seller (a driver) offers the ride for 0.003 ETH."""
    doc: dict[str, Any] = {
        "schema_version": 3,
        "title": "Taxi Thamel to TIA, 8:00",
        "category": "transport/taxi",
        "kind": "service",
        "price": str(3 * ONE // 1000),
        "seller": market.seller_account.address,
        "created_at": 1_700_000_000,
        "location": {"text": "Thamel", "lat": 27.7150, "lon": 85.3120},
    }
    doc.update(overrides)
    return doc


def test_request_signed_stored_verified_and_accepted(market: Market, tmp_path: Any) -> None:
    store = LocalStore(tmp_path / "ipfs")
    nonce = market.chain.w3.eth.get_transaction_count(market.buyer_account.address)
    request = publish_request(market.buyer, store, request_document(market))
    # no transaction: a request costs no gas
    assert market.chain.w3.eth.get_transaction_count(market.buyer_account.address) == nonce
    assert store.has(request.signed.cid)
    assert request.signed.requester == market.buyer_account.address
    shared = request.signed.to_json()
    fetched = fetch_request(
        store, shared, chain_id=market.buyer.chain_id,
        marketplace=market.buyer.deployment.marketplace, now=market.buyer.now(),
    )  # fmt: skip
    assert fetched.id == request.id and fetched.document == request.document
    assert fetched.document.when is not None
    start = datetime(2026, 12, 6, 2, 15, tzinfo=UTC)  # 08:00 in Kathmandu (+05:45)
    assert fetched.document.when.unix()[0] == int(start.timestamp())

    answer = publish_answer(market.seller, store, request, answer_document(market))
    assert answer.signed_listing is not None and answer.document.request == request.id
    trade = market.buyer.buy(answer.signed_listing)
    assert trade.trade.amount == 3 * ONE // 1000 and trade.trade.state == TradeState.PAID
    assert trade.listing_id == answer.signed_listing.id
    assert trade.trade.buyer == market.buyer_account.address


def test_answers_that_do_not_fit_are_refused(market: Market, tmp_path: Any) -> None:
    store = LocalStore(tmp_path / "ipfs")
    request = publish_request(market.buyer, store, request_document(market))
    cases = {
        "price": (answer_document(market, price=str(PRICE + 1)), "is above the request's max"),
        "kind": (answer_document(market, kind="sale", condition="good"), "kind 'sale'"),
        "token": (
            answer_document(market, token=market.arbitrator_account.address),
            "the request pays in ETH",
        ),
    }
    for name, (doc, words) in cases.items():
        with pytest.raises(RequestError) as info:
            publish_answer(market.seller, store, request, doc)
        assert words in str(info.value), name
        assert "\n" not in str(info.value)
    own = answer_document(market, seller=market.buyer_account.address)
    with pytest.raises(RequestError, match="cannot answer their own request"):
        publish_answer(market.buyer, store, request, own)


def test_tampered_document_signature_expiry_and_chain_refused(
    market: Market, tmp_path: Any
) -> None:
    store = LocalStore(tmp_path / "ipfs")
    request = publish_request(market.buyer, store, request_document(market))
    chain_id, marketplace = market.buyer.chain_id, market.buyer.deployment.marketplace
    body = request.document.canonical_json()

    def refused(signed: Any, document: Any = body, **kw: Any) -> str:
        args = {"chain_id": chain_id, "marketplace": marketplace, **kw}
        with pytest.raises(RequestError) as info:
            verify_request(signed, document, **args)
        text = str(info.value)
        assert "\n" not in text
        return text

    shared = request.signed.to_json()
    tampered = body.replace(b"Thamel to the airport", b"Thamel to the airpark")
    assert "does not match the signed CID" in refused(shared, tampered)
    # a signature by someone else
    other = sign_request(market.seller_account, parse_request_document(
        request_document(market, requester=market.seller_account.address)
    ))  # fmt: skip
    forged = {**shared, "signature": other.to_json()["signature"]}
    forged.pop("id")
    assert "not by the requester" in refused(forged)
    # the signed expiry changed after signing: the id no longer matches; without it, the signer
    assert "it was altered" in refused({**shared, "expiry": shared["expiry"] + 1})
    later = {k: v for k, v in shared.items() if k != "id"}
    later["expiry"] += 1
    assert "not by the requester" in refused(later)
    # another chain or marketplace
    assert "not chain 999" in refused(shared, chain_id=999)
    assert "marketplace" in refused(shared, marketplace=market.arbitrator_account.address)
    # expired by the chain's clock
    assert "expired" in refused(shared, now=shared["expiry"])
    # a well-signed request whose document disagrees with what was signed
    doc = parse_request_document(request_document(market))
    signed = sign_request(market.buyer_account, doc)
    typed = request_typed_data(
        doc.requester, signed.cid, doc.expiry + 5, chain_id=chain_id, marketplace=marketplace
    )
    sig = market.buyer_account.sign_typed_data(full_message=typed).signature
    resigned = SignedRequest.from_json(
        {**signed.to_json(), "expiry": doc.expiry + 5, "signature": "0x" + sig.hex(), "id": None}
    )
    assert "disagrees with the signature on expiry" in refused(resigned, doc.canonical_json())
    # malformed shared requests
    assert "cid is not a CID" in refused({**shared, "cid": "nope"})
    assert "signature" in refused({**shared, "signature": "0x12"})
    assert "requester is missing" in refused({"cid": shared["cid"]})


def test_request_documents_are_checked(market: Market, tmp_path: Any) -> None:
    store = LocalStore(tmp_path / "ipfs")
    bad = {
        "max_price": ("0", "max_price: must be > 0"),
        "radius_km": (5, "radius_km: needs location"),
        "requester": ("0xabc", "requester: must be a 0x-prefixed 20-byte address"),
        "when": ({"start": "2026-12-06T08:00:00"}, "when.start"),
        "kind": ("gift", "kind"),
    }
    for field, (value, words) in bad.items():
        doc = request_document(market, **{field: value})
        if field == "radius_km":
            doc.pop("location")
        with pytest.raises(RequestError) as info:
            parse_request_document(doc)
        assert words in str(info.value), (field, str(info.value))
    with pytest.raises(RequestError, match="schema_id must be"):
        parse_request_document({"title": "x"})
    with pytest.raises(RequestError, match="not UTF-8 JSON"):
        parse_request_document(b"{nope")
    with pytest.raises(RequestError, match="is not after the chain's time"):
        publish_request(market.buyer, store, request_document(market, expiry=1, created_at=0))
    with pytest.raises(RequestError, match="the client signs as"):
        publish_request(market.seller, store, request_document(market))
