"""Reorgs deeper than the confirmation depth, on a real Anvil: the vanished blocks are rolled back."""

from __future__ import annotations

from typing import Any

from _market import Market, make_market

from p2pchain.chain._nodes import AnvilChain
from p2pchain.indexer import Indexer
from p2pchain.indexer._db import Database
from p2pchain.market._client import MarketplaceClient

CONFIRMATIONS = 2


def _state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "listings": db.all(
            "SELECT listing_id, remaining, sold, closed, price, block_number, updated_block"
            " FROM listings ORDER BY listing_id"
        ),
        "trades": db.all("SELECT * FROM trades ORDER BY trade_id"),
        "ratings": db.all("SELECT * FROM ratings ORDER BY trade_id, rater"),
        "events": db.all("SELECT block, log_index, name FROM events ORDER BY block, log_index"),
        "trust": db.all("SELECT address, rating_count FROM trust ORDER BY address"),
    }


def _fresh(market: Market, account: Any) -> MarketplaceClient:
    """A new client (local nonces re-read from the node after the revert)."""
    return MarketplaceClient.connect(
        market.chain, account=account, deployments=market.seller.deployment
    )


def test_a_reorg_deeper_than_the_confirmations_is_rolled_back(
    anvil_chain: AnvilChain, db_url: str, tmp_path: Any
) -> None:
    market = make_market(anvil_chain)
    shared = market.seller.create_listing(market.terms(), 3)  # before the fork: survives
    kept_trade = market.buyer.buy(shared, 1)
    indexer = Indexer(db_url, anvil_chain, market.seller.deployment, confirmations=CONFIRMATIONS)
    snapshot = anvil_chain.snapshot()
    fork_block = anvil_chain.w3.eth.block_number

    # the branch that will vanish: touches the surviving listing, adds its own
    lost_trade = market.buyer.buy(shared, 1)
    lost_trade = market.buyer.release(lost_trade)
    market.buyer.rate(lost_trade, 5)
    doomed = market.seller.create_listing(market.terms(price=7))
    closed = market.seller.create_listing(market.terms())
    market.seller.close_listing(closed)
    anvil_chain.mine(CONFIRMATIONS + 3)
    indexer.sync()
    assert indexer.listing(doomed.id) is not None
    assert indexer.listing(shared.id).remaining == 1  # type: ignore[union-attr]
    assert indexer.trust(market.seller.address).rating_count == 1
    old_cursor = indexer.cursor()
    assert old_cursor is not None and old_cursor - fork_block > CONFIRMATIONS

    # the chain drops that branch: shorter than the indexed cursor at first
    anvil_chain.revert(snapshot)
    assert anvil_chain.w3.eth.block_number < old_cursor
    report = indexer.sync()
    assert report.reorged_blocks == old_cursor - fork_block
    assert indexer.listing(doomed.id) is None
    assert indexer.listing(closed.id) is None
    assert indexer.trade(lost_trade.id) is None
    assert indexer.listing(shared.id).remaining == 2  # type: ignore[union-attr]
    assert indexer.trade(kept_trade.id) is not None
    assert indexer.trust(market.seller.address).rating_count == 0

    # then grows a different, longer branch
    seller = _fresh(market, market.seller_account)
    buyer = _fresh(market, market.buyer_account)
    other = seller.create_listing(market.terms(price=11))
    buyer.buy(seller.listing(shared.id), 2)
    anvil_chain.mine(old_cursor - anvil_chain.w3.eth.block_number + CONFIRMATIONS + 2)
    indexer.sync()
    assert indexer.listing(other.id) is not None
    assert indexer.listing(doomed.id) is None
    assert indexer.listing(shared.id).remaining == 0  # type: ignore[union-attr]

    # exactly what an index built from scratch on the new chain holds
    scratch = Indexer(
        f"sqlite:///{tmp_path}/scratch.sqlite",
        anvil_chain,
        market.seller.deployment,
        confirmations=CONFIRMATIONS,
    )
    scratch.sync(to_block=indexer.cursor())
    assert _state(indexer.db) == _state(scratch.db)


def test_a_reorg_that_replaces_blocks_at_the_same_height_is_detected(
    anvil_chain: AnvilChain, db_url: str
) -> None:
    market = make_market(anvil_chain)
    indexer = Indexer(db_url, anvil_chain, market.seller.deployment, confirmations=0)
    snapshot = anvil_chain.snapshot()
    gone = market.seller.create_listing(market.terms(price=5))
    indexer.sync()
    height = indexer.cursor()
    anvil_chain.revert(snapshot)
    anvil_chain.mine(1)  # the same height, another block
    assert anvil_chain.w3.eth.block_number == height
    report = indexer.sync()
    # back to the newest stored block still on the chain (here: before the deployment block)
    assert report.reorged_blocks == height - market.seller.deployment.block + 1
    assert indexer.listing(gone.id) is None
    assert indexer.cursor() == height
