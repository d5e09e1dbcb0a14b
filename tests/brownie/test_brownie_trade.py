"""p2pchain's contracts under brownie: a full trade, with brownie's own fixtures.

Run with ``brownie test tests/brownie`` (its development network, Anvil). The core test run does
not collect this folder (see ``norecursedirs`` in pyproject.toml); ``tests/frameworks`` runs it
through brownie.
"""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from eth_utils import keccak

ETH = "0x0000000000000000000000000000000000000000"
PRICE = 10**17
REVIEW_WINDOW = 3 * 24 * 3600
RULING_WINDOW = 7 * 24 * 3600
CID_PREFIX = "0x1220000000000000"
PAID, COMPLETED = 1, 3


@pytest.fixture(autouse=True)
def _isolation(fn_isolation: Any) -> None:
    """Every test starts from a snapshot of the chain and is reverted afterwards."""


def test_full_trade_pays_the_seller_and_both_parties_rate(
    Marketplace: Any, Reputation: Any, accounts: Any, chain: Any
) -> None:
    deployer, seller, buyer = accounts[0], accounts[1], accounts[2]
    market = Marketplace.deploy(RULING_WINDOW, {"from": deployer})
    reputation = Reputation.at(market.REPUTATION())
    terms = (seller.address, ETH, PRICE, 0, ETH, 0, REVIEW_WINDOW, 0, CID_PREFIX,
             "0x" + keccak(b"listing document").hex())  # fmt: skip
    salt = "0x" + keccak(b"salt").hex()

    listed = market.list(terms, salt, 1, {"from": seller})
    listing_id = listed.events["Listed"]["listingId"]
    assert bytes(listing_id) == keccak(bytes.fromhex(seller.address[2:]) + keccak(b"salt"))

    with brownie.reverts():
        market.buy(listing_id, terms, 1, {"from": buyer, "value": PRICE - 1})
    bought = market.buy(listing_id, terms, 1, {"from": buyer, "value": PRICE})
    trade_id = bought.events["Purchased"]["tradeId"]
    assert trade_id == listing_id
    assert market.balance() == PRICE
    deadline = bought.timestamp + REVIEW_WINDOW
    trade = (buyer.address, seller.address, ETH, ETH, 0, PRICE, 0, deadline, PAID, 0, 0)
    assert market.checkTrade(trade_id, trade)[0]

    seller_before = seller.balance()
    released = market.release(trade_id, trade, {"from": buyer})
    assert "Released" in released.events
    assert seller.balance() == seller_before + PRICE
    assert market.balance() == 0

    done = (*trade[:8], COMPLETED, 1, 0)
    assert market.checkTrade(trade_id, done)[0]
    reputation.rate(trade_id, done, 5, b"", {"from": buyer})
    reputation.rate(trade_id, done, 4, b"", {"from": seller})
    assert tuple(reputation.aggregate(seller.address, ETH)) == (1, 5, PRICE)
    assert tuple(reputation.aggregate(buyer.address, ETH)) == (1, 4, PRICE)
    with brownie.reverts():
        reputation.rate(trade_id, done, 5, b"", {"from": buyer})
