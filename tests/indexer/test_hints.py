"""Price hints from the index's own settled trades, on SQLite and PostgreSQL: comparable trades
only (category, kind, token, condition, 90 days, completed), quartiles, live counts, and no
figure made up when data is thin."""

from __future__ import annotations

import pytest
from _market import ONE
from pydantic import ValidationError

from indexer.conftest import Market, publish
from p2pchain.indexer import HintQuery, Indexer
from p2pchain.ipfs import LocalStore

DAY = 86_400


def _sell(
    market: Market, ipfs: LocalStore, price: int, *, release: bool = True, **doc: object
) -> None:
    listing = publish(market, ipfs, price=str(price), **doc)  # type: ignore[arg-type]
    trade = market.buyer.buy(listing)
    if release:
        market.buyer.release(trade)
    else:
        market.seller.refund(trade)


def test_hint_is_the_median_and_quartiles_of_comparable_completed_sales(
    market: Market, db_url: str, ipfs: LocalStore
) -> None:
    old = ONE // 100  # bought more than 90 days ago: left out
    _sell(market, ipfs, 50 * old)
    market.chain.increase_time(91 * DAY)
    for tenths in (2, 4, 5, 6, 9):  # five comparable sales: 0.2 .. 0.9 ETH
        _sell(market, ipfs, tenths * ONE // 10)
    _sell(market, ipfs, 7 * ONE, release=False)  # refunded: says nothing about the price
    _sell(market, ipfs, 8 * ONE, condition="for_parts")  # another condition
    _sell(market, ipfs, 9 * ONE, category="sports/skis")  # another category
    publish(market, ipfs, price=str(ONE))  # live, comparable
    publish(market, ipfs, price=str(ONE), condition="new")  # live, another condition
    market.chain.mine(1)
    indexer = Indexer(db_url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    indexer.sync()

    hint = indexer.price_hint({"category": "sports/bikes", "kind": "sale", "condition": "good"})
    assert hint.enough and hint.trades == 5
    assert hint.median == 5 * ONE // 10
    assert (hint.low, hint.high) == (4 * ONE // 10, 6 * ONE // 10)
    assert hint.live == 1
    assert [p.unit_price for p in hint.history] == [t * ONE // 10 for t in (2, 4, 5, 6, 9)]
    assert "5 comparable sales in the last 90 days" in hint.note

    any_condition = indexer.price_hint(HintQuery(category="sports/bikes"))
    assert any_condition.trades == 6 and any_condition.live == 2  # for_parts counts now


def test_thin_data_gives_no_figure(market: Market, db_url: str, ipfs: LocalStore) -> None:
    for tenths in (3, 4, 5, 6):  # four sales: one short
        _sell(market, ipfs, tenths * ONE // 10)
    market.chain.mine(1)
    indexer = Indexer(db_url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    indexer.sync()
    hint = indexer.price_hint({"category": "sports/bikes"})
    assert hint.trades == 4 and not hint.enough
    assert (hint.median, hint.low, hint.high) == (None, None, None)
    assert "not enough data: 4 comparable sale(s)" in hint.note and "5 needed" in hint.note
    other = indexer.price_hint({"category": "sports/bikes", "token": market.seller.address})
    assert other.trades == 0 and other.live == 0


@pytest.mark.parametrize(
    "bad",
    [{}, {"category": ""}, {"category": "x", "kind": "auction"}, {"category": "x", "token": "DOGE"},
     {"category": "x", "condition": "mint"}],
)  # fmt: skip
def test_hint_queries_are_validated(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        HintQuery.model_validate(bad)
