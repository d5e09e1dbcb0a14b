"""Rentals (a deposit per unit): rent and deposit released separately, damage claims, and the
rights each party waives by releasing its side."""

from __future__ import annotations

from p2pchain.chain._model import AMOUNT_RELEASED, DEPOSIT_RETURNED, PROPOSED_BY_SELLER, TradeState

from ._helpers import (
    Market,
    escrow_balance,
    event_names,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    open_trade_ref,
    reverts,
)
from .market import ONE

RENT = ONE
DEPOSIT = 3 * ONE


def test_release_pays_rent_and_keeps_deposit_held(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    seller_before = market.balance(market.seller.address)
    receipt = market.act("release", market.buyer, ref)
    assert event_names(market, receipt) == ["Released"]
    assert market.balance(market.seller.address) == seller_before + RENT
    assert ref.trade.state is TradeState.PAID
    assert ref.trade.flags == AMOUNT_RELEASED
    assert escrow_balance(market) == DEPOSIT


def test_release_then_return_deposit_completes(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("release", market.buyer, ref)
    buyer_before = market.balance(market.buyer.address)
    receipt = market.act("returnDeposit", market.seller, ref)
    assert event_names(market, receipt) == ["DepositReturned"]
    assert market.balance(market.buyer.address) == buyer_before + DEPOSIT
    assert ref.trade.state is TradeState.COMPLETED
    assert ref.trade.flags == AMOUNT_RELEASED | DEPOSIT_RETURNED
    assert escrow_balance(market) == 0


def test_return_deposit_then_release_completes(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    buyer_before = market.balance(market.buyer.address)
    market.act("returnDeposit", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + DEPOSIT
    assert ref.trade.state is TradeState.PAID
    assert escrow_balance(market) == RENT
    seller_before = market.balance(market.seller.address)
    market.act("release", market.buyer, ref)
    assert market.balance(market.seller.address) == seller_before + RENT
    assert ref.trade.state is TradeState.COMPLETED
    assert escrow_balance(market) == 0


def test_finalize_pays_rent_to_seller_and_deposit_to_buyer(market: Market) -> None:
    listing = market.list(market.terms(price=RENT, deposit=DEPOSIT), quantity=2)
    ref = market.buy(listing, 2)
    seller_before = market.balance(market.seller.address)
    buyer_before = market.balance(market.buyer.address)
    market.warp_to(ref.trade.deadline)
    market.act("finalize", market.stranger, ref)
    assert market.balance(market.seller.address) == seller_before + 2 * RENT
    assert market.balance(market.buyer.address) == buyer_before + 2 * DEPOSIT
    assert ref.trade.state is TradeState.COMPLETED
    assert escrow_balance(market) == 0


def test_finalize_after_release_returns_only_deposit(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("release", market.buyer, ref)
    seller_before = market.balance(market.seller.address)
    buyer_before = market.balance(market.buyer.address)
    market.warp_to(ref.trade.deadline)
    market.act("finalize", market.stranger, ref)
    assert market.balance(market.seller.address) == seller_before
    assert market.balance(market.buyer.address) == buyer_before + DEPOSIT
    assert escrow_balance(market) == 0


def test_damage_claim_after_release_splits_only_deposit(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT, arbitrator_fee_bps=500)
    market.act("release", market.buyer, ref)
    market.act("dispute", market.seller, ref)
    fee = DEPOSIT * 500 // 10_000
    available = DEPOSIT - fee
    with reverts("ShareTooLarge", ref.id, available + 1, available):
        market.act("rule", market.arbitrator, ref, available + 1)
    buyer_before = market.balance(market.buyer.address)
    seller_before = market.balance(market.seller.address)
    market.act("rule", market.arbitrator, ref, ONE)
    assert market.balance(market.buyer.address) == buyer_before + ONE
    assert market.balance(market.seller.address) == seller_before + available - ONE
    assert ref.trade.state is TradeState.RULED
    assert escrow_balance(market) == 0


def test_damage_claim_ignored_by_arbitrator_returns_deposit_to_buyer(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("release", market.buyer, ref)
    market.act("dispute", market.seller, ref)
    buyer_before = market.balance(market.buyer.address)
    market.warp_to(ref.trade.deadline)
    market.act("claimRulingTimeout", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + DEPOSIT
    assert escrow_balance(market) == 0


def test_buyer_who_released_cannot_dispute(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("release", market.buyer, ref)
    with reverts("Unauthorized", ref.id, market.buyer.address):
        market.act("dispute", market.buyer, ref)


def test_seller_who_returned_deposit_cannot_dispute(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("returnDeposit", market.seller, ref)
    with reverts("Unauthorized", ref.id, market.seller.address):
        market.act("dispute", market.seller, ref)
    market.act("dispute", market.buyer, ref)  # the buyer kept its claim on the rent
    assert ref.trade.state is TradeState.DISPUTED


def test_return_deposit_on_sale_reverts_nothing_to_release(market: Market) -> None:
    ref = open_trade_ref(market)
    with reverts("NothingToRelease", ref.id):
        market.act("returnDeposit", market.seller, ref)


def test_return_deposit_twice_reverts_nothing_to_release(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("returnDeposit", market.seller, ref)
    with reverts("NothingToRelease", ref.id):
        market.act("returnDeposit", market.seller, ref)


def test_release_twice_on_rental_reverts_nothing_to_release(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("release", market.buyer, ref)
    with reverts("NothingToRelease", ref.id):
        market.act("release", market.buyer, ref)


def test_release_clears_standing_proposal(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("proposeSettlement", market.seller, ref, RENT + DEPOSIT)
    assert ref.trade.flags == PROPOSED_BY_SELLER
    market.act("release", market.buyer, ref)
    assert (ref.trade.flags, ref.trade.proposed_buyer_share) == (AMOUNT_RELEASED, 0)
    with reverts("NoProposal", ref.id):
        market.act("acceptSettlement", market.buyer, ref)


def test_return_deposit_clears_standing_proposal(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("proposeSettlement", market.buyer, ref, DEPOSIT)
    market.act("returnDeposit", market.seller, ref)
    assert (ref.trade.flags, ref.trade.proposed_buyer_share) == (DEPOSIT_RETURNED, 0)
    with reverts("NoProposal", ref.id):
        market.act("acceptSettlement", market.seller, ref)


def test_refund_after_release_returns_deposit_only(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("release", market.buyer, ref)
    buyer_before = market.balance(market.buyer.address)
    market.act("refund", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + DEPOSIT
    assert ref.trade.state is TradeState.REFUNDED
    assert escrow_balance(market) == 0


def test_settlement_after_return_deposit_splits_rent_only(market: Market) -> None:
    ref = open_trade_ref(market, price=RENT, deposit=DEPOSIT)
    market.act("returnDeposit", market.seller, ref)
    with reverts("ShareTooLarge", ref.id, RENT + 1, RENT):
        market.act("proposeSettlement", market.buyer, ref, RENT + 1)
    market.act("proposeSettlement", market.buyer, ref, RENT // 4)
    buyer_before = market.balance(market.buyer.address)
    market.act("acceptSettlement", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + RENT // 4
    assert escrow_balance(market) == 0
