"""Market notices on a real chain and a real SQLite index: a listing matching a request (both
sides hear of it), an answer (the requester), offers (the seller; the buyer when accepted or
about to expire, never for a cancelled one), "seen" across inbox calls, nothing once a request
has expired."""

from __future__ import annotations

from pathlib import Path

import pytest
from _market import ONE, Market
from indexer.test_requests import THAMEL, add, ride_request, service

from messaging._helpers import Person
from p2pchain import publish_answer, publish_request
from p2pchain._errors import MessagingError
from p2pchain.indexer import Indexer, IndexerError, MarketNotice
from p2pchain.indexer._offers import OfferBook
from p2pchain.ipfs import LocalStore
from p2pchain.messaging._notify import Notice, inbox, market_notice, trade_notices

HOUR = 3600


def _told(notices: list[MarketNotice]) -> set[tuple[str, str | None, str | None]]:
    return {(n.kind, n.request_id, n.listing_id) for n in notices}


@pytest.fixture
def ipfs(tmp_path: Path) -> LocalStore:
    """An empty LocalStore."""
    return LocalStore(tmp_path / "ipfs")


@pytest.fixture
def indexer(market: Market, ipfs: LocalStore, tmp_path: Path) -> Indexer:
    """A real SQLite index of the market (synced by the tests)."""
    made = Indexer(
        f"sqlite:///{tmp_path}/index.sqlite",
        market.chain,
        market.seller.deployment,
        ipfs=ipfs,
        confirmations=0,
    )
    made.sync()
    return made


def _sync(market: Market, indexer: Indexer) -> None:
    market.chain.mine(1)
    indexer.sync()


def test_market_notices_tell_both_sides_of_matches_answers_and_offers(
    market: Market, ipfs: LocalStore, indexer: Indexer, person: Person
) -> None:
    buyer, seller = market.buyer_account.address, market.seller_account.address
    before = service(market, ipfs, "Taxi from the old stand", 3 * ONE // 1000, THAMEL)
    market.warp_to(market.buyer.now() + 60)  # the index's clock passes the listing's time
    _sync(market, indexer)
    request = publish_request(market.buyer, ipfs, ride_request(market))
    request_id = add(indexer, ipfs, request)
    assert [n.kind for n in indexer.market_notices(buyer)] == []  # nothing new listed yet

    taxi = service(market, ipfs, "Taxi in Thamel", 3 * ONE // 1000, THAMEL)
    _sync(market, indexer)
    heard = indexer.market_notices(buyer)
    # the requester hears of the listing listed since the request, not of the one before it
    assert _told(heard) == {("listing_matches_request", request_id, taxi)}
    assert "matches your request" in heard[0].text and "Taxi in Thamel" in heard[0].text
    assert heard[0].key == f"listing_matches_request/{request_id}/{taxi}"
    # the seller hears of the request both its listings match
    assert {("request_matches_listing", request_id, taxi)} | {
        ("request_matches_listing", request_id, before)
    } <= _told(indexer.market_notices(seller))

    answer_doc = {
        "title": "Taxi Thamel to TIA",
        "category": "transport/taxi",
        "kind": "service",
        "price": str(3 * ONE // 1000),
        "seller": seller,
        "created_at": 1_700_000_000,
    }
    answer = publish_answer(market.seller, ipfs, request, answer_doc)
    assert answer.signed_listing is not None
    answered = indexer.add_answer(answer.signed_listing.to_json(), ipfs.cat(answer.document_cid))
    assert ("request_answered", request_id, answered.listing_id) in _told(
        indexer.market_notices(buyer)
    )

    # offers: the seller hears of an open one; the buyer of one expiring within a day
    book = OfferBook(indexer.db)
    now = market.buyer.now()
    soon = market.buyer.make_offer(taxi, 2 * ONE // 1000, expiry=now + 2 * HOUR)
    later = market.buyer.make_offer(taxi, ONE // 1000, expiry=now + 3 * 24 * HOUR)
    for signed in (soon, later):
        book.store(signed, now=now)
    soon_id, later_id = "0x" + soon.id.hex(), "0x" + later.id.hex()
    to_seller = [n for n in indexer.market_notices(seller) if n.kind == "offer_received"]
    assert {(n.offer_id, n.listing_id) for n in to_seller} == {(soon_id, taxi), (later_id, taxi)}
    assert "offers 0.002 ETH per unit x 1" in next(
        n.text for n in to_seller if n.offer_id == soon_id
    )
    expiring = [n for n in indexer.market_notices(buyer) if n.kind == "offer_expiring"]
    assert [(n.offer_id, n.at) for n in expiring] == [(soon_id, soon.offer.expiry)]
    assert "expires in " in expiring[0].text and "unless the seller accepts it" in expiring[0].text
    assert expiring[0].key == f"offer_expiring/{soon_id}"

    # cancelled: neither side hears of it any more; accepted: the buyer does
    market.buyer.cancel_offer(soon)
    market.buyer.add_credit(ONE // 1000)
    trade = market.seller.accept_offer(later)
    _sync(market, indexer)
    to_seller = [n for n in indexer.market_notices(seller) if n.kind.startswith("offer_")]
    assert to_seller == []
    to_buyer = [n for n in indexer.market_notices(buyer) if n.kind.startswith("offer_")]
    assert [(n.kind, n.trade_id) for n in to_buyer] == [("offer_accepted", later_id)]
    assert trade.id == later.id
    # the same key as the chain's own notice of the acceptance: listed once in the inbox
    (chain,) = [n for n in trade_notices(market.buyer, buyer) if n.kind == "offer_accepted"]
    assert market_notice(to_buyer[0]).key == chain.key == to_buyer[0].key

    # "seen": the first inbox marks everything new, the next nothing
    messaging = person(account=market.buyer_account)
    first = inbox(messaging, market.buyer, index=indexer)
    kinds = [n.kind for n in first]
    assert kinds.count("offer_accepted") == 1
    # the taxi's one unit went to the accepted offer: it no longer matches, the answer still does
    assert {"request_answered", "offer_accepted"} <= set(kinds)
    assert "listing_matches_request" not in kinds
    assert all(n.new for n in first)
    again = inbox(messaging, market.buyer, index=indexer)
    assert [n.key for n in again] == [n.key for n in first]
    assert not any(n.new for n in again)
    shown = next(n for n in again if n.kind == "request_answered").to_json()
    assert (shown["request"], shown["listing"]) == (request_id, answered.listing_id)
    # a new match later is the only new thing
    newer = service(market, ipfs, "Taxi near the stupa", 2 * ONE // 1000, THAMEL)
    _sync(market, indexer)
    fresh = [n for n in inbox(messaging, market.buyer, index=indexer, mark_seen=False) if n.new]
    assert [(n.kind, n.listing) for n in fresh] == [("listing_matches_request", newer)]


def test_an_expired_request_brings_no_notices(
    market: Market, ipfs: LocalStore, indexer: Indexer
) -> None:
    buyer, seller = market.buyer_account.address, market.seller_account.address
    request = publish_request(market.buyer, ipfs, ride_request(market, expiry_in=600))
    request_id = add(indexer, ipfs, request)
    service(market, ipfs, "Taxi in Thamel", 3 * ONE // 1000, THAMEL)
    _sync(market, indexer)
    assert [n.kind for n in indexer.market_notices(buyer)] == ["listing_matches_request"]
    assert [n.request_id for n in indexer.market_notices(seller)] == [request_id]

    market.warp_to(request.signed.expiry + 1)
    _sync(market, indexer)
    assert indexer.market_notices(buyer) == []
    assert indexer.market_notices(seller) == []


def test_market_notices_refuse_bad_input_in_one_line(
    market: Market, indexer: Indexer, person: Person
) -> None:
    for call, words in (
        (lambda: indexer.market_notices("0x12"), "not a 0x-prefixed 20-byte address"),
        (lambda: indexer.market_notices(market.buyer_account.address, limit=0), "limit"),
        (lambda: indexer.market_notices(market.buyer_account.address, now=-1), "now"),
    ):
        with pytest.raises(IndexerError, match=words) as caught:
            call()
        assert "\n" not in str(caught.value)
    with pytest.raises(MessagingError, match="limit must be 1..500"):
        inbox(person(), None, limit=501)


def test_a_notice_keeps_its_market_key() -> None:
    rid, lid, oid = "0x" + "11" * 32, "0x" + "22" * 32, "0x" + "33" * 32
    for notice in (
        MarketNotice(
            kind="listing_matches_request", at=5, text="t", request_id=rid, listing_id=lid
        ),
        MarketNotice(kind="request_answered", at=5, text="t", request_id=rid, listing_id=lid),
        MarketNotice(kind="offer_received", at=5, text="t", listing_id=lid, offer_id=oid),
        MarketNotice(kind="offer_expiring", at=9, text="t", listing_id=lid, offer_id=oid),
        MarketNotice(kind="offer_accepted", at=7, text="t", listing_id=lid, trade_id=oid),
    ):
        assert market_notice(notice).key == notice.key
    assert Notice("bought", 7, "t", oid).key == f"bought/{oid}/7"
