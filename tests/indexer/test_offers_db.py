"""Offers kept in the index (SQLite and PostgreSQL): only verified offers on known listings, for
the chain and marketplace the index follows; listed by listing, buyer and seller, newest first."""

from __future__ import annotations

from dataclasses import replace

import pytest

from indexer.conftest import ONE, Market, publish
from p2pchain.indexer import Indexer, IndexerError
from p2pchain.indexer._offers import OfferBook
from p2pchain.ipfs import LocalStore
from p2pchain.market._offers import SignedOffer


def _book(market: Market, db_url: str) -> tuple[Indexer, OfferBook]:
    indexer = Indexer(db_url, market.chain, market.seller.deployment, confirmations=0)
    indexer.sync()
    return indexer, OfferBook(indexer.db)


def test_offers_are_stored_and_listed_newest_first(
    market: Market, ipfs: LocalStore, db_url: str
) -> None:
    bike = publish(market, ipfs)
    lamp = publish(market, ipfs, title="Lamp", price=str(ONE // 10))
    indexer, book = _book(market, db_url)
    now = market.buyer.now()
    first = market.buyer.make_offer(bike, ONE // 2)
    second = market.buyer.make_offer(bike, ONE // 3, expiry=now + 100)
    third = market.stranger.make_offer(lamp, ONE // 20)
    stored = [book.store(s.to_json(), now=now) for s in (first, second, third)]
    assert stored[0].id == "0x" + first.id.hex() and stored[0].price == ONE // 2
    assert stored[0].document == first.to_json()
    assert book.store(first, now=now + 5) == stored[0]  # the same offer again: unchanged

    on_bike = book.list(listing=bike.id, now=now)
    assert [o.id for o in on_bike] == [stored[1].id, stored[0].id]
    assert [o.id for o in book.list(buyer=market.buyer_account.address, now=now)] == [
        stored[1].id,
        stored[0].id,
    ]
    assert len(book.list(seller=market.seller_account.address, now=now)) == 3
    mine = book.list(seller=market.seller_account.address, buyer=market.stranger_account.address)
    assert [o.id for o in mine] == [stored[2].id]
    # expired ones only when asked
    later = now + 200
    assert [o.id for o in book.list(listing=bike.id, now=later)] == [stored[0].id]
    assert len(book.list(listing=bike.id, now=later, include_expired=True)) == 2
    assert book.get(stored[2].id) == stored[2]
    assert book.get("0x" + "00" * 32) is None
    indexer.close()


def test_unverified_offers_are_refused(market: Market, ipfs: LocalStore, db_url: str) -> None:
    bike = publish(market, ipfs)
    indexer, book = _book(market, db_url)
    now = market.buyer.now()
    good = market.buyer.make_offer(bike, ONE // 2)

    forged = market.stranger.make_offer(bike, ONE // 2)
    as_buyer = replace(forged.offer, buyer=market.buyer_account.address)
    doc = replace(forged, offer=as_buyer).to_json()
    doc.pop("id")
    with pytest.raises(IndexerError, match="is not signed by its buyer"):
        book.store(doc, now=now)

    other_chain = {**good.to_json(), "chainId": 5}
    other_chain.pop("id")
    with pytest.raises(IndexerError, match="this index follows chain"):
        book.store(other_chain, now=now)

    with pytest.raises(IndexerError, match="expired at"):
        book.store(good, now=good.offer.expiry)

    unknown = replace(good.offer, listing_id=b"\x11" * 32)
    signed = SignedOffer(unknown, b"", None, good.chain_id, good.marketplace, b"\x22" * 32)
    doc = signed.to_json()
    doc.pop("id")
    with pytest.raises(IndexerError, match="is not in the index"):
        book.store(doc, now=now)

    with pytest.raises(IndexerError, match="offer: price"):
        book.store({**good.to_json(), "price": "0"}, now=now)
    with pytest.raises(IndexerError, match="give a listing, a buyer or a seller"):
        book.list()
    with pytest.raises(IndexerError, match="not a 0x-prefixed 20-byte address"):
        book.list(buyer="0x12")
    assert book.list(listing=bike.id, now=now) == []
    indexer.close()


def test_a_buyer_keeps_a_bounded_number_of_open_offers(
    market: Market, ipfs: LocalStore, db_url: str
) -> None:
    bike = publish(market, ipfs)
    indexer, _ = _book(market, db_url)
    book = OfferBook(indexer.db, max_open_per_buyer=2)
    now = market.buyer.now()
    first, second, third = (market.buyer.make_offer(bike, ONE // n) for n in (2, 3, 4))
    book.store(first, now=now)
    book.store(second, now=now)
    with pytest.raises(IndexerError, match="already has 2 open offers here"):
        book.store(third, now=now)
    assert book.store(first, now=now).id == "0x" + first.id.hex()  # kept ones still answer
    other = market.stranger.make_offer(bike, ONE // 2)
    assert book.store(other, now=now).buyer == market.stranger_account.address
    indexer.close()
