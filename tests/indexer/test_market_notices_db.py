"""Offer notices on SQLite and PostgreSQL: what the seller and the buyer hear of, and that an
offer cancelled on-chain (one by id, or all of a buyer's below a counter) is heard of no more."""

from __future__ import annotations

from indexer.conftest import ONE, Market, publish
from p2pchain.indexer import Indexer
from p2pchain.indexer._offers import OfferBook
from p2pchain.ipfs import LocalStore


def test_offer_notices_drop_cancelled_offers(market: Market, ipfs: LocalStore, db_url: str) -> None:
    bike = publish(market, ipfs)
    indexer = Indexer(db_url, market.chain, market.seller.deployment, confirmations=0)
    indexer.sync()
    book = OfferBook(indexer.db)
    now = market.buyer.now()
    one = market.buyer.make_offer(bike, ONE // 2, expiry=now + 3600)
    two = market.buyer.make_offer(bike, ONE // 3, expiry=now + 7200)
    three = market.stranger.make_offer(bike, ONE // 4)
    for signed in (one, two, three):
        book.store(signed, now=now)
    seller, buyer = market.seller_account.address, market.buyer_account.address

    def heard(who: str, kind: str) -> set[str | None]:
        return {n.offer_id for n in indexer.market_notices(who) if n.kind == kind}

    ids = ["0x" + s.id.hex() for s in (one, two, three)]
    assert heard(seller, "offer_received") == set(ids)
    assert heard(buyer, "offer_expiring") == set(ids[:2])
    assert heard(market.stranger_account.address, "offer_expiring") == set()  # 7 days away

    market.buyer.cancel_offer(one)
    market.chain.mine(1)
    indexer.sync()
    assert heard(seller, "offer_received") == set(ids[1:])
    assert heard(buyer, "offer_expiring") == {ids[1]}

    market.buyer.cancel_all_offers()
    market.chain.mine(1)
    indexer.sync()
    assert heard(seller, "offer_received") == {ids[2]}
    assert heard(buyer, "offer_expiring") == set()
    indexer.close()
