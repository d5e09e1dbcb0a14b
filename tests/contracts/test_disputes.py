"""Disputes: who may open one, the arbitrator's ruling and fee, the ruling timeout, and the
ways the parties can still settle while a dispute is open."""

from __future__ import annotations

import pytest
from web3 import Web3

from p2pchain.chain._model import WAS_DISPUTED, ZERO_ADDRESS, TradeState
from p2pchain.compiler._artifacts import load_artifact

from ._helpers import (
    Market,
    escrow_balance,
    event_names,
    events_named,
    gas_cost,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    open_trade_ref,
    reverts,
    rewind,
    simulate,
)
from .market import DAY, ONE

HOUR = 3_600

# ---------------------------------------------------------------------------------- opening


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_dispute_by_party_before_deadline_starts_ruling_window(market: Market, role: str) -> None:
    ref = open_trade_ref(market)
    account = getattr(market, role)
    receipt = market.act("dispute", account, ref)
    ts = market.timestamp_of(receipt)
    (args,) = events_named(market, receipt, "Disputed")
    assert bytes(args["tradeId"]) == ref.id
    assert args["by"] == account.address
    assert args["rulingDeadline"] == ts + 3 * DAY == ts + market.ruling_window
    assert ref.trade.state is TradeState.DISPUTED
    assert ref.trade.deadline == ts + 3 * DAY
    assert escrow_balance(market) == ONE


def test_dispute_without_arbitrator_reverts_no_arbitrator(market: Market) -> None:
    ref = open_trade_ref(market, arbitrator=ZERO_ADDRESS, arbitrator_fee_bps=0)
    for account in (market.buyer, market.seller):
        with reverts("NoArbitrator", ref.id):
            market.act("dispute", account, ref)


def test_dispute_after_review_window_reverts_window_closed(market: Market) -> None:
    ref = open_trade_ref(market)
    market.warp_to(ref.trade.deadline + DAY)
    with reverts("WindowClosed", ref.id, ref.trade.deadline):
        market.act("dispute", market.buyer, ref)


def test_ruling_window_follows_constructor_argument(market: Market) -> None:
    assert market.market.functions.RULING_WINDOW().call() == market.ruling_window == 3 * DAY


# ---------------------------------------------------------------------------------- ruling


@pytest.mark.parametrize(
    ("price", "deposit", "bps", "share"),
    [
        (ONE, 0, 200, ONE // 2),
        (1_234_567_891, 987_654_321, 333, 1_000_000_007),  # fee rounds down
        (ONE, ONE // 2, 1_000, 0),  # max fee, all to the seller
        (ONE, 0, 0, ONE),  # no fee, all to the buyer
        (9_999, 0, 1, 9_999),  # fee rounds to zero
    ],
)
def test_rule_pays_fee_and_exact_split(
    market: Market, price: int, deposit: int, bps: int, share: int
) -> None:
    ref = open_trade_ref(market, price=price, deposit=deposit, arbitrator_fee_bps=bps)
    market.act("dispute", market.buyer, ref)
    held = price + deposit
    fee = held * bps // 10_000
    balances = {a: market.balance(a) for a in (market.buyer.address, market.seller.address)}
    arbitrator_before = market.balance(market.arbitrator.address)
    receipt = market.act("rule", market.arbitrator, ref, share)
    assert market.balance(market.arbitrator.address) == arbitrator_before + fee - gas_cost(receipt)
    assert market.balance(market.buyer.address) == balances[market.buyer.address] + share
    assert market.balance(market.seller.address) == (
        balances[market.seller.address] + held - fee - share
    )
    (args,) = events_named(market, receipt, "Ruled")
    assert (args["buyerShare"], args["fee"]) == (share, fee)
    assert ref.trade.state is TradeState.RULED
    assert ref.trade.proposed_buyer_share == share  # the final struct records the split
    assert escrow_balance(market) == 0


def test_rule_share_above_held_minus_fee_reverts_share_too_large(market: Market) -> None:
    ref = open_trade_ref(market, price=ONE, deposit=ONE, arbitrator_fee_bps=250)
    market.act("dispute", market.seller, ref)
    available = 2 * ONE - 2 * ONE * 250 // 10_000
    with reverts("ShareTooLarge", ref.id, available + 1, available):
        market.act("rule", market.arbitrator, ref, available + 1)
    market.act("rule", market.arbitrator, ref, available)
    assert escrow_balance(market) == 0


def test_rule_after_ruling_deadline_reverts_window_closed(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("dispute", market.buyer, ref)
    market.warp_to(ref.trade.deadline + 1)
    with reverts("WindowClosed", ref.id, ref.trade.deadline):
        market.act("rule", market.arbitrator, ref, 0)


def test_rule_on_open_trade_by_arbitrator_of_another_trade_reverts_unauthorized(
    market: Market,
) -> None:
    other = market.others[0]
    ref = open_trade_ref(market)
    market.act("dispute", market.buyer, ref)
    market.buy(market.list(market.terms(arbitrator=other.address)), buyer=market.others[1])
    with reverts("Unauthorized", ref.id, other.address):
        market.act("rule", other, ref, 0)


# ---------------------------------------------------------------------------------- timeout


def test_claim_ruling_timeout_by_anyone_refunds_buyer_everything(market: Market) -> None:
    ref = open_trade_ref(market, price=2 * ONE, deposit=ONE)
    market.act("dispute", market.seller, ref)
    buyer_before = market.balance(market.buyer.address)
    seller_before = market.balance(market.seller.address)
    arbitrator_before = market.balance(market.arbitrator.address)
    market.warp_to(ref.trade.deadline)
    receipt = market.act("claimRulingTimeout", market.stranger, ref)
    assert market.balance(market.buyer.address) == buyer_before + 3 * ONE
    assert market.balance(market.seller.address) == seller_before
    assert market.balance(market.arbitrator.address) == arbitrator_before
    assert event_names(market, receipt) == ["RulingTimedOut"]
    assert ref.trade.state is TradeState.RULING_TIMED_OUT
    assert escrow_balance(market) == 0


def test_claim_ruling_timeout_before_deadline_reverts_window_open(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("dispute", market.buyer, ref)
    with reverts("WindowOpen", ref.id, ref.trade.deadline):
        market.act("claimRulingTimeout", market.buyer, ref)


# ---------------------------------------------------------------------------------- settling


def test_dispute_clears_a_proposal_made_before_it(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("proposeSettlement", market.seller, ref, ONE // 2)
    market.act("dispute", market.buyer, ref)
    assert (ref.trade.proposer, ref.trade.proposed_buyer_share) == (None, 0)
    assert ref.trade.flags == WAS_DISPUTED
    with reverts("NoProposal", ref.id):
        market.act("acceptSettlement", market.buyer, ref)
    # a proposal made in the dispute's own window can be accepted
    market.act("proposeSettlement", market.seller, ref, ONE // 2)
    market.act("acceptSettlement", market.buyer, ref)
    assert ref.trade.state is TradeState.SETTLED
    assert escrow_balance(market) == 0


def test_arbitrator_gains_nothing_by_ruling_ahead_of_an_acceptance(market: Market) -> None:
    """The fee is the dispute's price: the same whether it ends by this proposal or a ruling."""
    ref = open_trade_ref(market, price=ONE, deposit=ONE // 2, arbitrator_fee_bps=1_000)
    market.act("dispute", market.buyer, ref)
    fee = (ONE + ONE // 2) // 10
    market.act("proposeSettlement", market.seller, ref, ONE // 2)
    earned = {}
    for how in ("accepted", "ruled_ahead"):
        with rewind(market, ref):
            before = market.balance(market.arbitrator.address)
            if how == "accepted":
                receipt = market.act("acceptSettlement", market.buyer, ref)
                gas = 0
            else:  # a standing proposal does not stop the ruling
                receipt = market.act("rule", market.arbitrator, ref, ONE // 2)
                gas = gas_cost(receipt)
            earned[how] = market.balance(market.arbitrator.address) - before + gas
            assert ref.trade.state.is_final
    assert earned == {"accepted": fee, "ruled_ahead": fee}


def test_buyer_release_during_dispute_completes_sale(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("dispute", market.seller, ref)
    seller_before = market.balance(market.seller.address)
    market.act("release", market.buyer, ref)
    assert market.balance(market.seller.address) == seller_before + ONE
    assert ref.trade.state is TradeState.COMPLETED
    assert escrow_balance(market) == 0
    with reverts("TradeNotInState", ref.id, TradeState.COMPLETED):
        market.act("rule", market.arbitrator, ref, 0)


def test_buyer_release_during_rental_dispute_leaves_deposit_for_ruling(market: Market) -> None:
    ref = open_trade_ref(market, price=ONE, deposit=ONE // 2, arbitrator_fee_bps=1_000)
    market.act("dispute", market.buyer, ref)
    market.act("release", market.buyer, ref)
    assert ref.trade.state is TradeState.DISPUTED
    assert escrow_balance(market) == ONE // 2
    fee = (ONE // 2) // 10
    with reverts("ShareTooLarge", ref.id, ONE // 2 - fee + 1, ONE // 2 - fee):
        market.act("rule", market.arbitrator, ref, ONE // 2 - fee + 1)
    buyer_before = market.balance(market.buyer.address)
    market.act("rule", market.arbitrator, ref, ONE // 4)
    assert market.balance(market.buyer.address) == buyer_before + ONE // 4
    assert escrow_balance(market) == 0


def test_seller_refund_during_dispute_ends_it_without_fee(market: Market) -> None:
    ref = open_trade_ref(market, arbitrator_fee_bps=1_000)
    market.act("dispute", market.buyer, ref)
    arbitrator_before = market.balance(market.arbitrator.address)
    buyer_before = market.balance(market.buyer.address)
    market.act("refund", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + ONE
    assert market.balance(market.arbitrator.address) == arbitrator_before
    assert ref.trade.state is TradeState.REFUNDED


# ---------------------------------------------------------------------------------- constructor


def _deploy_data(window: int) -> str:
    artifact = load_artifact("Marketplace")
    factory = Web3().eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    return str(factory.constructor(window).data_in_transaction)


@pytest.mark.parametrize("window", [0, HOUR - 1, 90 * DAY + 1, 2**32 - 1])
def test_constructor_ruling_window_out_of_bounds_reverts(market: Market, window: int) -> None:
    tx = {"from": market.deployer.address, "data": _deploy_data(window)}
    error = simulate(market, tx)
    assert error is not None
    assert (error.name, error.args_) == ("InvalidRulingWindow", (window,))


@pytest.mark.parametrize("window", [HOUR, 90 * DAY])
def test_ruling_window_bounds_are_accepted_and_used(market: Market, window: int) -> None:
    tx = {"from": market.deployer.address, "data": _deploy_data(window)}
    assert simulate(market, tx) is None
    other = Market(market.chain, ruling_window=window)
    assert other.market.functions.RULING_WINDOW().call() == window
    ref = other.buy(other.list())
    receipt = other.act("dispute", other.buyer, ref)
    assert ref.trade.deadline == other.timestamp_of(receipt) + window
