"""Requests in the index, on SQLite and PostgreSQL: verified before they are stored, matched to
listings both ways by the search's own query (kind, category, token, price, place and radius),
answered by signed listings, taken when the requester buys an answer, dropped once expired."""

from __future__ import annotations

from typing import Any

import pytest
from _market import ONE

from indexer.conftest import Market, publish
from p2pchain import RequestError, publish_answer, publish_listing, publish_request
from p2pchain.indexer import Indexer, IndexerError
from p2pchain.ipfs import LocalStore
from p2pchain.market._requests import VerifiedRequest

THAMEL = (27.7154, 85.3123)
PATAN = (27.6710, 85.3240)  # about 5 km south
POKHARA = (28.2096, 83.9856)  # about 140 km west
MAX = 4 * ONE // 1000


def ride_request(market: Market, *, expiry_in: int = 86_400, **overrides: Any) -> dict[str, Any]:
    now = market.buyer.now()
    doc: dict[str, Any] = {
        "schema_id": "p2pchain/request/1",
        "title": "Ride from Thamel to the airport",
        "kind": "service",
        "category": "transport",
        "location": {"text": "Thamel", "lat": THAMEL[0], "lon": THAMEL[1]},
        "radius_km": 10,
        "max_price": str(MAX),
        "expiry": now + expiry_in,
        "requester": market.buyer_account.address,
        "chain_id": market.buyer.chain_id,
        "marketplace": market.buyer.deployment.marketplace,
        "created_at": now,
    }
    doc.update(overrides)
    return doc


def service(
    market: Market, ipfs: LocalStore, title: str, price: int, where: tuple[float, float], **kw: Any
) -> str:
    listing = publish(
        market, ipfs, title=title, kind="service", condition=None,
        category=kw.pop("category", "transport/taxi"), price=str(price),
        location={"text": title, "lat": where[0], "lon": where[1]}, **kw,
    )  # fmt: skip
    return "0x" + listing.id.hex()


def add(indexer: Indexer, ipfs: LocalStore, request: VerifiedRequest) -> str:
    return indexer.add_request(request.signed.to_json(), ipfs.cat(request.signed.cid)).request_id


def test_requests_matched_answered_taken_and_expired(
    market: Market, db_url: str, ipfs: LocalStore
) -> None:
    taxi = service(market, ipfs, "Taxi in Thamel", 3 * ONE // 1000, THAMEL)
    near = service(market, ipfs, "Taxi from Patan", 4 * ONE // 1000, PATAN)
    dear = service(market, ipfs, "Limousine in Thamel", 9 * ONE // 1000, THAMEL)
    far = service(market, ipfs, "Taxi in Pokhara", 2 * ONE // 1000, POKHARA)
    other = service(market, ipfs, "Trekking guide", ONE // 1000, THAMEL, category="travel/guides")
    market.chain.mine(1)
    indexer = Indexer(db_url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    indexer.sync()

    request = publish_request(market.buyer, ipfs, ride_request(market))
    request_id = add(indexer, ipfs, request)
    assert add(indexer, ipfs, request) == request_id  # adding again changes nothing
    short = publish_request(market.buyer, ipfs, ride_request(market, expiry_in=600, title="Soon"))
    short_id = add(indexer, ipfs, short)
    stored = indexer.request(request_id)
    assert stored is not None and stored.status == "open" and stored.answers == 0
    assert stored.requester == market.buyer_account.address and stored.max_price == MAX

    # listings matching the request: within 10 km, at most the price, under "transport"
    page = indexer.listings_for_request(request_id)
    assert [item.listing_id for item in page.items] == [taxi, near]  # nearest first
    assert [i.listing_id for i in indexer.listings_for_request(request_id, text="patan").items] == [
        near
    ]
    # requests matching a listing: the same query, the other way round
    assert {r.request_id for r in indexer.requests_for_listing(taxi)} == {request_id, short_id}
    for unmatched in (dear, far, other):
        assert indexer.requests_for_listing(unmatched) == []

    # an answer: a signed listing naming the request
    answer_doc = {
        "title": "Taxi Thamel to TIA",
        "category": "transport/taxi",
        "kind": "service",
        "price": str(3 * ONE // 1000),
        "seller": market.seller_account.address,
        "created_at": 1_700_000_000,
    }
    answer = publish_answer(market.seller, ipfs, request, answer_doc)
    assert answer.signed_listing is not None
    shared = answer.signed_listing.to_json()
    stored_answer = indexer.add_answer(shared, ipfs.cat(answer.document_cid))
    assert stored_answer.status == "open" and stored_answer.price == 3 * ONE // 1000
    assert [a.listing_id for a in indexer.answers(request_id)] == [stored_answer.listing_id]
    # notices: the requester hears of the answer, the seller of requests its listings match
    heard = indexer.request_notices(market.buyer_account.address)
    assert [(n.kind, n.listing_id) for n in heard] == [
        ("request_answered", stored_answer.listing_id)
    ]
    assert f"answers at {3 * ONE // 1000} wei" in heard[0].text
    told = {(n.kind, n.request_id, n.listing_id) for n in indexer.request_notices(
        market.seller_account.address
    )}  # fmt: skip
    assert ("request_matches_listing", request_id, taxi) in told
    assert ("request_matches_listing", request_id, dear) not in told

    # answers that do not fit are refused, in one line
    dear_doc = {**answer_doc, "price": str(MAX + 1), "schema_version": 3, "request": request_id}
    dear_answer = publish_listing(market.seller, ipfs, dear_doc, signed=True)
    assert dear_answer.signed_listing is not None
    with pytest.raises(RequestError, match="above the request's max_price"):
        indexer.add_answer(dear_answer.signed_listing.to_json(), ipfs.cat(dear_answer.document_cid))
    with pytest.raises(RequestError, match="does not match the signed CID"):
        indexer.add_answer(shared, ipfs.cat(dear_answer.document_cid))
    with pytest.raises(RequestError, match="not the digest of its terms"):
        indexer.add_answer({**shared, "quantity": 2}, ipfs.cat(answer.document_cid))
    plain = publish_listing(market.seller, ipfs, {**answer_doc, "schema_version": 1}, signed=True)
    assert plain.signed_listing is not None
    with pytest.raises(RequestError, match="names no request"):
        indexer.add_answer(plain.signed_listing.to_json(), ipfs.cat(plain.document_cid))
    with pytest.raises(RequestError, match="does not match the signed CID"):
        indexer.add_request(request.signed.to_json(), ipfs.cat(short.signed.cid))

    # the requester accepts: buys the answer; the request is taken
    market.buyer.buy(answer.signed_listing)
    market.chain.mine(1)
    indexer.sync()
    taken = indexer.request(request_id)
    assert taken is not None and taken.status == "taken" and taken.trade_id is not None
    assert indexer.answers(request_id)[0].status == "taken"
    assert [r.request_id for r in indexer.requests()] == [short_id]
    assert [r.request_id for r in indexer.requests({"status": "taken"})] == [request_id]
    assert [r.request_id for r in indexer.requests_for_listing(taxi)] == [short_id]
    with pytest.raises(RequestError, match="already taken"):
        indexer.add_answer(shared, ipfs.cat(answer.document_cid))

    # expired requests drop out
    market.warp_to(short.signed.expiry + 1)
    market.chain.mine(1)
    indexer.sync()
    assert indexer.requests() == []
    assert indexer.requests_for_listing(taxi) == []
    expired = indexer.request(short_id)
    assert expired is not None and expired.status == "expired"
    with pytest.raises(RequestError, match="expired"):
        add(indexer, ipfs, short)
    everything = indexer.requests({"status": None, "requester": market.buyer_account.address})
    assert {r.request_id for r in everything} == {short_id, request_id}
    with pytest.raises(IndexerError, match="kind"):
        indexer.requests({"kind": "gift"})
    with pytest.raises(IndexerError, match="no request"):
        indexer.listings_for_request("0x" + "ab" * 32)


def test_a_rental_request_matches_rentals_free_in_its_window(
    market: Market, db_url: str, ipfs: LocalStore
) -> None:
    from datetime import UTC, datetime

    from indexer.test_bookings_search import RATE, _rental
    from p2pchain.market._bookings import DAY, HOUR

    now = int(market.chain.w3.eth.get_block("latest")["timestamp"])
    first = (now // DAY + 2) * DAY + 10 * HOUR
    berlin = (52.52, 13.405)
    golf = _rental(market, ipfs, "Golf in Berlin", first=first, unit=DAY, rate=3 * RATE,
                   place=berlin)  # fmt: skip
    _rental(market, ipfs, "Van in Berlin", first=first, unit=DAY, rate=8 * RATE, place=berlin)
    market.buyer.rentals.book(golf.id, 10, 3)  # days 10, 11, 12 taken
    indexer = Indexer(db_url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    indexer.sync()

    def iso(day: int) -> str:
        return datetime.fromtimestamp(first + day * DAY, UTC).isoformat()

    def ask(start: int, end: int) -> str:
        doc = ride_request(
            market, title="A car for a few days", kind="rental", category="vehicles",
            max_price=str(5 * RATE), radius_km=20, when={"start": iso(start), "end": iso(end)},
            location={"text": "Berlin", "lat": berlin[0], "lon": berlin[1]},
            requester=market.stranger_account.address,
        )  # fmt: skip
        return add(indexer, ipfs, publish_request(market.stranger, ipfs, doc))

    golf_id = "0x" + golf.id.hex()
    taken_days, free_days = ask(11, 13), ask(20, 22)
    assert indexer.listings_for_request(taken_days).items == ()  # the van is too dear
    assert [i.listing_id for i in indexer.listings_for_request(free_days).items] == [golf_id]
    assert [r.request_id for r in indexer.requests_for_listing(golf_id)] == [free_days]
