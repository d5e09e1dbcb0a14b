"""p2pchain's contracts under ape: a full trade and a dispute, with ape's own fixtures.

Run with ``ape test tests/ape`` (ape's local network) or ``ape test tests/ape --network
ethereum:local:foundry`` (Anvil). The core test run does not collect this folder (see
``norecursedirs`` in pyproject.toml); ``tests/frameworks`` runs it through ape.
"""

from __future__ import annotations

from typing import Any

import ape
import pytest
from eth_utils import keccak

ETH = "0x0000000000000000000000000000000000000000"
PRICE = 10**17
REVIEW_WINDOW = 3 * 24 * 3600
RULING_WINDOW = 7 * 24 * 3600
CID_PREFIX = bytes.fromhex("1220") + bytes(6)
CID_DIGEST = keccak(b"listing document")
PAID, DISPUTED, COMPLETED, RULED = 1, 2, 3, 6


@pytest.fixture
def seller(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture
def buyer(accounts: Any) -> Any:
    return accounts[2]


@pytest.fixture
def arbitrator(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture
def market(project: Any, accounts: Any) -> Any:
    """A fresh Marketplace (it deploys its Reputation) from ape's build of contracts/."""
    return project.Marketplace.deploy(RULING_WINDOW, sender=accounts[0])


@pytest.fixture
def reputation(project: Any, market: Any) -> Any:
    return project.Reputation.at(market.REPUTATION())


def _terms(seller: Any, arbitrator: Any = None, fee_bps: int = 0) -> tuple[Any, ...]:
    """ListingTerms, in the struct's field order."""
    arb = arbitrator.address if arbitrator is not None else ETH
    return (seller.address, ETH, PRICE, 0, arb, fee_bps, REVIEW_WINDOW, 0, CID_PREFIX, CID_DIGEST)


def _list_and_buy(
    market: Any, seller: Any, buyer: Any, terms: tuple[Any, ...]
) -> tuple[bytes, tuple[Any, ...]]:
    """List one unit, buy it; return the trade id and the trade as the contract stored it."""
    salt = keccak(b"salt")
    listed = market.list(terms, salt, 1, sender=seller)
    (event,) = listed.decode_logs(market.Listed)
    listing_id = bytes(event.listingId)
    assert listing_id == keccak(bytes.fromhex(seller.address[2:]) + salt)
    cheaper = (*terms[:2], PRICE - 1, *terms[3:])
    with ape.reverts(market.TermsChanged, listingId=listing_id):
        market.buy(listing_id, cheaper, 1, sender=buyer, value=PRICE - 1)
    bought = market.buy(listing_id, terms, 1, sender=buyer, value=PRICE)
    (purchase,) = bought.decode_logs(market.Purchased)
    trade_id = bytes(purchase.tradeId)
    assert trade_id == listing_id  # the last unit: the trade takes over the listing's record
    deadline = ape.chain.blocks[bought.block_number].timestamp + REVIEW_WINDOW
    trade = (buyer.address, seller.address, ETH, terms[4], terms[5], PRICE, 0, deadline, PAID, 0, 0)
    assert market.checkTrade(trade_id, trade)[0]
    return trade_id, trade


def _with(trade: tuple[Any, ...], **changes: int) -> tuple[Any, ...]:
    fields = ["buyer", "seller", "token", "arbitrator", "arbitratorFeeBps", "amount", "deposit",
              "deadline", "state", "flags", "proposedBuyerShare"]  # fmt: skip
    values = dict(zip(fields, trade, strict=True))
    values.update(changes)
    return tuple(values[f] for f in fields)


def test_full_trade_pays_the_seller_and_both_parties_rate(
    market: Any, reputation: Any, seller: Any, buyer: Any
) -> None:
    terms = _terms(seller)
    unknown = keccak(b"never listed")
    with ape.reverts(market.ListingNotActive, listingId=unknown):
        market.buy(unknown, terms, 1, sender=buyer, value=PRICE)
    trade_id, trade = _list_and_buy(market, seller, buyer, terms)
    assert market.balance == PRICE

    with ape.reverts(market.Unauthorized, tradeId=trade_id, caller=seller.address):
        market.release(trade_id, trade, sender=seller)
    seller_before = seller.balance
    market.release(trade_id, trade, sender=buyer)
    assert seller.balance == seller_before + PRICE
    assert market.balance == 0

    done = _with(trade, state=COMPLETED, flags=1)
    assert market.checkTrade(trade_id, done)[0]
    reputation.rate(trade_id, done, 5, b"", sender=buyer)
    reputation.rate(trade_id, done, 4, b"", sender=seller)
    # Reputation's ABI declares the errors it passes on from the marketplace, so ape decodes the
    # revert with Reputation's own AlreadyRated
    with ape.reverts(reputation.AlreadyRated, tradeId=trade_id, rater=buyer.address):
        reputation.rate(trade_id, done, 5, b"", sender=buyer)
    count, score_sum, volume = reputation.aggregate(seller.address, ETH)
    assert (count, score_sum, volume) == (1, 5, PRICE)


def test_dispute_is_ruled_by_the_arbitrator(
    market: Any, seller: Any, buyer: Any, arbitrator: Any, accounts: Any
) -> None:
    terms = _terms(seller, arbitrator, fee_bps=500)
    trade_id, trade = _list_and_buy(market, seller, buyer, terms)

    stranger = accounts[4]
    with ape.reverts(market.Unauthorized, tradeId=trade_id, caller=stranger.address):
        market.dispute(trade_id, trade, sender=stranger)
    receipt = market.dispute(trade_id, trade, sender=buyer)
    (event,) = receipt.decode_logs(market.Disputed)
    ruling_deadline = ape.chain.blocks[receipt.block_number].timestamp + RULING_WINDOW
    assert event.rulingDeadline == ruling_deadline
    # a dispute marks the trade (WAS_DISPUTED, flag 16): a split then pays the arbitrator's fee
    disputed = _with(trade, state=DISPUTED, deadline=ruling_deadline, flags=16)

    fee = PRICE * 500 // 10_000
    available = PRICE - fee
    with ape.reverts(market.ShareTooLarge, tradeId=trade_id, buyerShare=PRICE, available=available):
        market.rule(trade_id, disputed, PRICE, sender=arbitrator)
    with ape.reverts(market.Unauthorized, tradeId=trade_id, caller=seller.address):
        market.rule(trade_id, disputed, 0, sender=seller)

    before = (buyer.balance, seller.balance, arbitrator.balance)
    buyer_share = available // 4
    ruled = market.rule(trade_id, disputed, buyer_share, sender=arbitrator)
    assert buyer.balance == before[0] + buyer_share
    assert seller.balance == before[1] + available - buyer_share
    assert arbitrator.balance == before[2] + fee - ruled.total_fees_paid
    assert market.balance == 0
    # the final struct records the ruling's split
    assert market.checkTrade(
        trade_id, _with(disputed, state=RULED, proposedBuyerShare=buyer_share)
    )[0]
