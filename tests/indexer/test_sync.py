"""Indexer sync on SQLite and PostgreSQL: what it rebuilds must equal what the chain says."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from _market import DAY, ONE

from indexer.conftest import Market, publish
from p2pchain.chain._model import ZERO_ADDRESS
from p2pchain.indexer import Indexer, IndexerError, IndexReader, SearchQuery
from p2pchain.indexer._db import Database
from p2pchain.ipfs import LocalStore


def _activity(market: Market) -> dict[str, Any]:
    """Every kind of event: list, update, close, signed, partial buys, each settlement path."""
    seller, buyer, arbitrator = market.seller, market.buyer, market.arbitrator
    multi = seller.create_listing(market.terms(), 3)
    t1 = buyer.buy(multi, 1)
    t1 = buyer.release(t1)
    seller.rate(t1, 4)
    buyer.rate(t1, 5)
    t2 = buyer.buy(multi, 1)
    t2 = buyer.dispute(t2)
    t2 = arbitrator.rule(t2, ONE // 4)
    updated = seller.update_listing(multi, market.terms(price=2 * ONE), 2)
    t3 = buyer.buy(updated, 2)  # takes the last units: trade id = listing id
    t3 = seller.propose_settlement(t3, ONE)
    t3 = buyer.accept_settlement(t3)
    rental = seller.create_listing(market.terms(deposit=ONE // 2), 1)
    t4 = buyer.buy(rental)
    t4 = seller.refund(t4)
    closed = seller.create_listing(market.terms(), 5)
    seller.close_listing(closed)
    signed = seller.sign_listing(market.terms(price=ONE // 3), 2)
    t5 = buyer.buy(signed, 1)
    t6 = buyer.buy(seller.create_listing(market.terms()))
    # Offers below the asking price (ETH from the buyer's credit): one of two units, then the
    # last one, which leaves the listing's record spent rather than taken over.
    offered = seller.create_listing(market.terms(deposit=ONE // 10), 2)
    buyer.add_credit(2 * ONE)
    t7 = seller.accept_offer(buyer.make_offer(offered, ONE * 8 // 10))
    t8 = seller.accept_offer(buyer.make_offer(offered, ONE * 7 // 10))
    t7 = buyer.release(t7)
    market.chain.increase_time(8 * DAY)
    t6 = market.stranger.finalize(t6)
    return {
        "listings": [multi.id, rental.id, closed.id, signed.id, t6.listing_id, offered.id],
        "trades": [t1.id, t2.id, t3.id, t4.id, t5.id, t6.id, t7.id, t8.id],
    }


def _indexer(market: Market, db_url: str, **kwargs: Any) -> Indexer:
    kwargs.setdefault("confirmations", 0)
    return Indexer(db_url, market.chain, market.seller.deployment, **kwargs)


def _state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every indexed row, comparable across two indexes of the same chain."""
    return {
        "listings": db.all(
            "SELECT listing_id, seller, signed, token, price, remaining, sold, closed,"
            " block_number, updated_block, content_status, title FROM listings ORDER BY listing_id"
        ),
        "trades": db.all("SELECT * FROM trades ORDER BY trade_id"),
        "ratings": db.all("SELECT * FROM ratings ORDER BY trade_id, rater"),
        "events": db.all(
            "SELECT block, log_index, name, address, topics, data FROM events ORDER BY block, log_index"
        ),
        "trust": db.all("SELECT address, score FROM trust ORDER BY address"),
    }


def test_sync_rebuilds_listings_and_trades_as_the_chain_has_them(
    market: Market, db_url: str
) -> None:
    ids = _activity(market)
    indexer = _indexer(market, db_url)
    report = indexer.sync()
    logs = market.chain.w3.eth.get_logs(
        {
            "fromBlock": market.seller.deployment.block,
            "toBlock": "latest",
            "address": [market.seller.deployment.marketplace, market.seller.deployment.reputation],
        }
    )
    assert report.events == len(logs) > 0
    assert indexer.cursor() == market.chain.w3.eth.block_number == report.to_block
    for listing_id in ids["listings"]:
        chain_view = market.seller.listing(listing_id)
        indexed = indexer.listing(listing_id)
        assert indexed is not None
        assert (indexed.remaining, indexed.sold, indexed.closed, indexed.signed) == (
            chain_view.remaining,
            chain_view.sold,
            chain_view.status.value == "closed",
            chain_view.signed,
        )
        assert indexed.price == chain_view.terms.price
        assert indexed.listed_quantity == chain_view.listed_quantity
    for trade_id in ids["trades"]:
        chain_trade = market.seller.trade(trade_id)
        indexed_trade = indexer.trade(trade_id)
        assert indexed_trade is not None
        t = chain_trade.trade
        assert indexed_trade.state == t.state.name.lower()
        assert (indexed_trade.amount, indexed_trade.deposit, indexed_trade.deadline) == (
            t.amount,
            t.deposit,
            t.deadline,
        )
        assert (indexed_trade.flags, indexed_trade.proposed_buyer_share) == (
            t.flags,
            t.proposed_buyer_share,
        )
        assert (indexed_trade.buyer_rated, indexed_trade.seller_rated) == (
            chain_trade.rated_by_buyer,
            chain_trade.rated_by_seller,
        )
        assert indexed_trade.opened_at == chain_trade.opened_at
    assert {t.trade_id for t in indexer.trades_of(market.buyer.address)} == {
        "0x" + i.hex() for i in ids["trades"]
    }
    assert indexer.trades_of(market.stranger.address) == []
    trust = indexer.trust(market.seller.address)
    assert trust.rating_count == 1 and trust.average_stars == 5.0 and trust.score > 0


def test_sync_is_incremental_and_a_second_sync_adds_nothing(market: Market, db_url: str) -> None:
    indexer = _indexer(market, db_url)
    first = market.seller.create_listing(market.terms())
    assert indexer.sync().listings == 1
    again = indexer.sync()
    assert (again.events, again.listings, again.from_block) == (0, 0, again.to_block + 1)
    market.buyer.buy(first)
    later = indexer.sync()
    assert (later.events, later.trades) == (1, 1)
    assert indexer.listing(first.id).remaining == 0  # type: ignore[union-attr]
    rows = indexer.db.one("SELECT count(*), count(DISTINCT block * 100000 + log_index) FROM events")
    assert rows == (2, 2)


def test_sync_with_tiny_ranges_equals_one_big_range(
    market: Market, db_url: str, tmp_path: Any
) -> None:
    _activity(market)
    big = _indexer(market, f"sqlite:///{tmp_path}/big.sqlite")
    big.sync()
    small = _indexer(market, db_url, max_range=1)
    report = small.sync()
    assert report.requests >= report.to_block - report.from_block + 1
    assert _state(small.db) == _state(big.db)


def test_sync_stays_confirmations_behind_the_head(market: Market, db_url: str) -> None:
    early = market.seller.create_listing(market.terms())
    indexer = _indexer(market, db_url, confirmations=3)
    market.chain.mine(2)
    late = market.seller.create_listing(market.terms())  # within the last 3 blocks
    report = indexer.sync()
    head = market.chain.w3.eth.block_number
    assert report.to_block == indexer.cursor() == head - 3
    assert indexer.listing(early.id) is not None
    assert indexer.listing(late.id) is None
    market.chain.mine(3)
    indexer.sync()
    assert indexer.listing(late.id) is not None


def test_sync_to_block_stops_there(market: Market, db_url: str) -> None:
    market.seller.create_listing(market.terms())
    block = market.chain.w3.eth.block_number
    market.seller.create_listing(market.terms())
    indexer = _indexer(market, db_url)
    assert indexer.sync(to_block=block).to_block == block
    assert indexer.search(SearchQuery()).total == 1
    assert indexer.sync().listings == 1
    assert indexer.search(SearchQuery()).total == 2


def test_rebuild_gives_the_same_index(market: Market, db_url: str) -> None:
    _activity(market)
    indexer = _indexer(market, db_url)
    indexer.sync()
    before = _state(indexer.db)
    report = indexer.rebuild()
    assert report.from_block == market.seller.deployment.block
    assert _state(indexer.db) == before


def test_documents_are_fetched_verified_and_marked(
    market: Market, db_url: str, ipfs: LocalStore
) -> None:
    good = publish(market, ipfs, title="Blue road bike")
    missing = market.seller.create_listing(
        market.terms(arbitrator=ZERO_ADDRESS, arbitrator_fee_bps=0)
    )
    not_json = ipfs.add(b"this is not a listing document")
    broken = market.seller.create_listing(
        market.terms(cid=not_json, arbitrator=ZERO_ADDRESS, arbitrator_fee_bps=0)
    )
    cheap = publish(market, ipfs, title="Cheap bike")
    disagree = market.seller.create_listing(  # same document, but the terms ask twice the price
        market.terms(
            price=2 * ONE, cid=cheap.terms.cid, arbitrator=ZERO_ADDRESS, arbitrator_fee_bps=0
        )
    )
    indexer = _indexer(market, db_url, ipfs=ipfs)
    report = indexer.sync()
    assert report.documents_fetched == 4  # cheap and disagree share one document

    def status(listing_id: bytes) -> tuple[str, str | None]:
        item = indexer.listing(listing_id)
        assert item is not None
        return item.content_status, item.content_reason

    ok = indexer.listing(good.id)
    assert ok is not None and ok.content_status == "ok" and ok.title == "Blue road bike"
    assert ok.document is not None and ok.document["seller"] == market.seller.address
    assert status(missing.id)[0] == "unavailable" and status(missing.id)[1]
    state, reason = status(broken.id)
    assert state == "invalid" and reason is not None and "JSON" in reason
    assert status(cheap.id) == ("ok", None)
    state, reason = status(disagree.id)
    assert state == "invalid" and reason is not None and "price" in reason
    # nothing is dropped: every listing is still searchable without text
    assert indexer.search(SearchQuery(limit=100)).total == 5


def test_unavailable_documents_are_retried_later(
    market: Market, db_url: str, ipfs: LocalStore, tmp_path: Any
) -> None:
    elsewhere = LocalStore(tmp_path / "elsewhere")
    listing = publish(market, elsewhere, title="Lamp")
    indexer = _indexer(market, db_url, ipfs=ipfs)
    indexer.sync()
    assert indexer.listing(listing.id).content_status == "unavailable"  # type: ignore[union-attr]
    cid = indexer.listing(listing.id).cid  # type: ignore[union-attr]
    assert str(ipfs.add(elsewhere.cat(cid), cid_version=1)) == cid
    assert indexer.sync().documents_fetched == 1
    item = indexer.listing(listing.id)
    assert item is not None and item.content_status == "ok" and item.title == "Lamp"
    assert indexer.search(SearchQuery(text="lamp")).total == 1


def test_an_index_refuses_another_deployment(market: Market, db_url: str) -> None:
    _indexer(market, db_url).sync()
    from _market import make_market

    other = make_market(market.chain)
    with pytest.raises(IndexerError, match="this index follows marketplace"):
        Indexer(db_url, other.chain, other.seller.deployment, confirmations=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confirmations": -1}, "confirmations must be 0..1000"),
        ({"confirmations": "2"}, "confirmations must be an integer"),
        ({"max_range": 0}, "max_range must be 1..1000000"),
        ({"ipfs": "/tmp/store"}, "ipfs must be an IPFS backend"),
    ],
)
def test_indexer_arguments_are_checked(
    market: Market, tmp_path: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(IndexerError, match=message):
        Indexer(f"sqlite:///{tmp_path}/i.sqlite", market.chain, market.seller.deployment, **kwargs)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/db", "unsupported database URL scheme 'mysql'"),
        ("", "database URL is empty"),
        ("sqlite:///no/such/folder/i.sqlite", "does not exist"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot connect to PostgreSQL"),
    ],
)
def test_bad_database_urls_fail_with_one_line(url: str, message: str) -> None:
    with pytest.raises(IndexerError, match=message) as info:
        IndexReader(url)
    assert "\n" not in str(info.value)


def test_sync_to_block_must_be_a_block_number(market: Market, db_url: str) -> None:
    with pytest.raises(IndexerError, match="to_block must be a block number"):
        _indexer(market, db_url).sync(to_block=-5)


def test_follow_indexes_new_blocks_until_stopped_while_threads_read(
    anvil_chain: Any, db_url: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from _market import make_market

    market = make_market(anvil_chain)
    indexer = Indexer(db_url, anvil_chain, market.seller.deployment, confirmations=0)
    stop = threading.Event()
    reports: list[Any] = []
    follower = threading.Thread(
        target=indexer.follow,
        kwargs={"poll_interval": 0.05, "stop": stop, "on_sync": reports.append},
    )
    follower.start()
    try:
        listings = [market.seller.create_listing(market.terms()) for _ in range(5)]
        deadline = time.monotonic() + 30

        def read(_: int) -> int:  # the same object, from other threads, while it writes
            return indexer.search(SearchQuery(limit=100)).total

        with ThreadPoolExecutor(4) as pool:
            while indexer.search(SearchQuery(limit=100)).total < len(listings):
                assert time.monotonic() < deadline, "follow() did not index the new listings"
                assert all(n <= len(listings) for n in pool.map(read, range(8)))
    finally:
        stop.set()
        follower.join(timeout=30)
    assert not follower.is_alive()
    assert sum(r.listings for r in reports) == len(listings)
    with pytest.raises(IndexerError, match="poll_interval"):
        indexer.follow(poll_interval=0)


def test_sync_over_ganache_rpc(ganache_chain: Any, tmp_path: Any) -> None:
    """Ganache's logs carry no block timestamps: headers are fetched in batches instead."""
    from _market import make_market

    market = make_market(ganache_chain)
    listing = market.seller.create_listing(market.terms(), 2)
    trade = market.buyer.release(market.buyer.buy(listing, 1))
    market.buyer.rate(trade, 4)
    indexer = Indexer(
        f"sqlite:///{tmp_path}/g.sqlite",
        ganache_chain.url,
        market.seller.deployment,
        confirmations=0,
    )
    report = indexer.sync()
    assert (report.events, report.listings, report.trades, report.ratings) == (4, 1, 1, 1)
    indexed = indexer.trade(trade.id)
    assert indexed is not None and indexed.state == "completed"
    assert indexed.opened_at == market.seller.trade(trade.id).opened_at
    assert indexer.listing(listing.id).remaining == 1  # type: ignore[union-attr]
