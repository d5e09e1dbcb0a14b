"""Settling trades without the arbitrator: release, refund, finalize, proposals; who may call
what, stale or forged trade data, final states, and withdrawing credits."""

from __future__ import annotations

import os
from typing import Any

import pytest

from p2pchain.chain._model import ZERO_ADDRESS, TradeState

from ._helpers import (
    FINAL_STATES,
    Market,
    credits_total,
    deploy_token,
    escrow_balance,
    event_names,
    events_named,
    finish,
    forged,
    gas_cost,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    mint_and_approve,
    open_trade_ref,
    reverts,
    rewind,
    simulate,
    with_id,
)
from .market import ONE, TradeRef

# ---------------------------------------------------------------------------------- release


def test_release_pays_seller_exact_amount_and_completes(market: Market) -> None:
    ref = open_trade_ref(market, price=3 * ONE)
    seller_before = market.balance(market.seller.address)
    receipt = market.act("release", market.buyer, ref)
    assert market.balance(market.seller.address) == seller_before + 3 * ONE
    assert escrow_balance(market) == 0
    assert ref.trade.state is TradeState.COMPLETED
    assert event_names(market, receipt) == ["Released"]
    assert bytes(events_named(market, receipt, "Released")[0]["tradeId"]) == ref.id


def test_release_twice_reverts_trade_not_in_state(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("release", market.buyer, ref)
    with reverts("TradeNotInState", ref.id, TradeState.COMPLETED):
        market.act("release", market.buyer, ref)


def test_release_only_pays_the_released_trade(market: Market) -> None:
    listing = market.list(quantity=3)
    a = market.buy(listing, 1)
    b = market.buy(listing, 2, buyer=market.others[0])
    market.act("release", market.buyer, a)
    assert escrow_balance(market) == 2 * ONE
    assert b.trade.state is TradeState.PAID


# ---------------------------------------------------------------------------------- refund


def test_refund_by_seller_returns_everything_held_to_buyer(market: Market) -> None:
    ref = open_trade_ref(market, price=2 * ONE, deposit=ONE)
    buyer_before = market.balance(market.buyer.address)
    seller_before = market.balance(market.seller.address)
    receipt = market.act("refund", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + 3 * ONE
    assert market.balance(market.seller.address) == seller_before - gas_cost(receipt)
    assert escrow_balance(market) == 0
    assert ref.trade.state is TradeState.REFUNDED
    assert event_names(market, receipt) == ["Refunded"]


def test_refund_during_dispute_returns_everything_to_buyer(market: Market) -> None:
    ref = open_trade_ref(market, deposit=ONE // 2)
    market.act("dispute", market.seller, ref)
    buyer_before = market.balance(market.buyer.address)
    arbitrator_before = market.balance(market.arbitrator.address)
    market.act("refund", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + ONE + ONE // 2
    assert market.balance(market.arbitrator.address) == arbitrator_before
    assert ref.trade.state is TradeState.REFUNDED
    assert escrow_balance(market) == 0


def test_refund_by_buyer_reverts_unauthorized(market: Market) -> None:
    ref = open_trade_ref(market)
    with reverts("Unauthorized", ref.id, market.buyer.address):
        market.act("refund", market.buyer, ref)


# ---------------------------------------------------------------------------------- finalize


def test_finalize_by_stranger_after_window_pays_default_outcome(market: Market) -> None:
    ref = open_trade_ref(market, price=2 * ONE, deposit=ONE)
    seller_before = market.balance(market.seller.address)
    buyer_before = market.balance(market.buyer.address)
    market.warp_to(ref.trade.deadline)
    receipt = market.act("finalize", market.stranger, ref)
    assert market.balance(market.seller.address) == seller_before + 2 * ONE
    assert market.balance(market.buyer.address) == buyer_before + ONE
    assert ref.trade.state is TradeState.COMPLETED
    assert escrow_balance(market) == 0
    assert event_names(market, receipt) == ["Finalized"]


def test_finalize_before_window_ends_reverts_window_open(market: Market) -> None:
    ref = open_trade_ref(market)
    with reverts("WindowOpen", ref.id, ref.trade.deadline):
        market.act("finalize", market.stranger, ref)


def test_finalize_disputed_trade_reverts_trade_not_in_state(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("dispute", market.buyer, ref)
    market.warp_to(ref.trade.deadline)
    with reverts("TradeNotInState", ref.id, TradeState.DISPUTED):
        market.act("finalize", market.stranger, ref)


# ---------------------------------------------------------------------------------- proposals


def test_buyer_proposal_accepted_by_seller_pays_split(market: Market) -> None:
    ref = open_trade_ref(market, price=ONE, deposit=ONE)
    receipt = market.act("proposeSettlement", market.buyer, ref, ONE + ONE // 4)
    (args,) = events_named(market, receipt, "SettlementProposed")
    assert (args["by"], args["buyerShare"]) == (market.buyer.address, ONE + ONE // 4)
    buyer_before = market.balance(market.buyer.address)
    seller_before = market.balance(market.seller.address)
    receipt = market.act("acceptSettlement", market.seller, ref)
    assert market.balance(market.buyer.address) == buyer_before + ONE + ONE // 4
    assert market.balance(market.seller.address) == (
        seller_before + 3 * ONE // 4 - gas_cost(receipt)
    )
    assert events_named(market, receipt, "Settled")[0]["buyerShare"] == ONE + ONE // 4
    assert ref.trade.state is TradeState.SETTLED
    assert escrow_balance(market) == 0


def test_seller_proposal_accepted_by_buyer_pays_split(market: Market) -> None:
    ref = open_trade_ref(market, price=ONE)
    market.act("proposeSettlement", market.seller, ref, ONE // 10)
    seller_before = market.balance(market.seller.address)
    market.act("acceptSettlement", market.buyer, ref)
    assert market.balance(market.seller.address) == seller_before + 9 * ONE // 10
    assert ref.trade.state is TradeState.SETTLED
    assert escrow_balance(market) == 0


def test_proposal_of_everything_or_nothing_is_accepted(market: Market) -> None:
    everything = open_trade_ref(market)
    market.act("proposeSettlement", market.seller, everything, ONE)
    buyer_before = market.balance(market.buyer.address)
    receipt = market.act("acceptSettlement", market.buyer, everything)
    assert market.balance(market.buyer.address) == buyer_before + ONE - gas_cost(receipt)
    nothing = open_trade_ref(market)
    market.act("proposeSettlement", market.buyer, nothing, 0)
    seller_before = market.balance(market.seller.address)
    receipt = market.act("acceptSettlement", market.seller, nothing)
    assert market.balance(market.seller.address) == seller_before + ONE - gas_cost(receipt)
    assert escrow_balance(market) == 0


def test_proposer_accepting_own_proposal_reverts_unauthorized(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("proposeSettlement", market.buyer, ref, 1)
    with reverts("Unauthorized", ref.id, market.buyer.address):
        market.act("acceptSettlement", market.buyer, ref)
    market.act("proposeSettlement", market.seller, ref, 2)
    with reverts("Unauthorized", ref.id, market.seller.address):
        market.act("acceptSettlement", market.seller, ref)


def test_new_proposal_replaces_old_and_stale_accept_reverts_unknown_trade(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("proposeSettlement", market.buyer, ref, ONE // 3)
    stale = forged(ref)
    market.act("proposeSettlement", market.seller, ref, ONE // 5)
    with reverts("UnknownTrade", ref.id):
        market.act("acceptSettlement", market.seller, stale)
    market.act("proposeSettlement", market.seller, ref, ONE // 2)
    seller_before = market.balance(market.seller.address)
    market.act("acceptSettlement", market.buyer, ref)
    assert market.balance(market.seller.address) == seller_before + ONE // 2


def test_proposal_above_held_reverts_share_too_large(market: Market) -> None:
    ref = open_trade_ref(market, price=ONE, deposit=ONE // 2)
    held = ONE + ONE // 2
    with reverts("ShareTooLarge", ref.id, held + 1, held):
        market.act("proposeSettlement", market.buyer, ref, held + 1)
    market.act("proposeSettlement", market.buyer, ref, held)


def test_proposal_after_release_is_limited_to_deposit(market: Market) -> None:
    ref = open_trade_ref(market, price=ONE, deposit=ONE // 2)
    market.act("release", market.buyer, ref)
    with reverts("ShareTooLarge", ref.id, ONE // 2 + 1, ONE // 2):
        market.act("proposeSettlement", market.seller, ref, ONE // 2 + 1)


def test_accept_without_proposal_reverts_no_proposal(market: Market) -> None:
    ref = open_trade_ref(market)
    with reverts("NoProposal", ref.id):
        market.act("acceptSettlement", market.seller, ref)
    with reverts("NoProposal", ref.id):
        market.act("acceptSettlement", market.buyer, ref)


def test_settlement_before_a_dispute_pays_no_fee(market: Market) -> None:
    ref = open_trade_ref(market, arbitrator_fee_bps=1_000)
    market.act("proposeSettlement", market.seller, ref, ONE // 4)
    arbitrator_before = market.balance(market.arbitrator.address)
    receipt = market.act("acceptSettlement", market.buyer, ref)
    assert market.balance(market.arbitrator.address) == arbitrator_before
    (args,) = events_named(market, receipt, "Settled")
    assert (args["buyerShare"], args["fee"]) == (ONE // 4, 0)


def test_settlement_during_dispute_pays_the_fee_then_the_split(market: Market) -> None:
    ref = open_trade_ref(market, price=ONE, deposit=ONE // 2, arbitrator_fee_bps=400)
    market.act("dispute", market.buyer, ref)
    held = ONE + ONE // 2
    fee = held * 400 // 10_000
    with reverts("ShareTooLarge", ref.id, held - fee + 1, held - fee):
        market.act("proposeSettlement", market.seller, ref, held - fee + 1)
    market.act("proposeSettlement", market.seller, ref, ONE // 4)
    buyer_before = market.balance(market.buyer.address)
    seller_before = market.balance(market.seller.address)
    arbitrator_before = market.balance(market.arbitrator.address)
    receipt = market.act("acceptSettlement", market.buyer, ref)
    assert market.balance(market.buyer.address) == buyer_before + ONE // 4 - gas_cost(receipt)
    assert market.balance(market.seller.address) == seller_before + held - fee - ONE // 4
    assert market.balance(market.arbitrator.address) == arbitrator_before + fee
    (args,) = events_named(market, receipt, "Settled")
    assert (args["buyerShare"], args["fee"]) == (ONE // 4, fee)
    assert ref.trade.state is TradeState.SETTLED
    assert escrow_balance(market) == 0


# ---------------------------------------------------------------------------------- proposal life


def test_stale_proposal_cannot_be_accepted_ahead_of_finalize(market: Market) -> None:
    """The issue's case: the seller offered a split in the window; once it closed, the buyer
    can no longer take that offer ahead of the seller's finalize."""
    ref = open_trade_ref(market, price=ONE)
    market.act("proposeSettlement", market.seller, ref, ONE // 2)
    market.warp_to(ref.trade.deadline)
    with reverts("WindowClosed", ref.id, ref.trade.deadline):
        market.act("acceptSettlement", market.buyer, ref)
    seller_before = market.balance(market.seller.address)
    market.act("finalize", market.stranger, ref)
    assert market.balance(market.seller.address) == seller_before + ONE


@pytest.mark.parametrize("disputed", [False, True], ids=["review_window", "ruling_window"])
def test_proposal_lives_until_the_trades_deadline(market: Market, disputed: bool) -> None:
    ref = open_trade_ref(market)
    if disputed:
        market.act("dispute", market.buyer, ref)
    deadline = ref.trade.deadline
    with rewind(market, ref):
        market.warp_to(deadline - 2)
        market.act("proposeSettlement", market.buyer, ref, ONE // 3)
        market.warp_to(deadline - 1)  # the last second of the window
        market.act("acceptSettlement", market.seller, ref)
        assert ref.trade.state is TradeState.SETTLED
    market.act("proposeSettlement", market.buyer, ref, ONE // 3)
    market.warp_to(deadline)
    with reverts("WindowClosed", ref.id, deadline):
        market.act("acceptSettlement", market.seller, ref)
    with reverts("WindowClosed", ref.id, deadline):
        market.act("proposeSettlement", market.seller, ref, ONE // 3)
    # the default outcome is open to anyone instead
    market.act("claimRulingTimeout" if disputed else "finalize", market.stranger, ref)
    assert ref.trade.state.is_final


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_proposer_withdraws_proposal_so_it_cannot_be_accepted(market: Market, role: str) -> None:
    ref = open_trade_ref(market, deposit=ONE)
    proposer = getattr(market, role)
    other = market.seller if role == "buyer" else market.buyer
    market.act("proposeSettlement", proposer, ref, ONE)
    stale = forged(ref)
    receipt = market.act("withdrawProposal", proposer, ref)
    (args,) = events_named(market, receipt, "ProposalWithdrawn")
    assert (bytes(args["tradeId"]), args["by"]) == (ref.id, proposer.address)
    assert event_names(market, receipt) == ["ProposalWithdrawn"]
    assert (ref.trade.proposer, ref.trade.proposed_buyer_share, ref.trade.flags) == (None, 0, 0)
    with reverts("NoProposal", ref.id):
        market.act("acceptSettlement", other, ref)
    with reverts("UnknownTrade", ref.id):
        market.act("acceptSettlement", other, stale)
    assert escrow_balance(market) == 2 * ONE


def test_withdraw_proposal_by_anyone_but_the_proposer_reverts_unauthorized(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("proposeSettlement", market.buyer, ref, 1)
    for account in (market.seller, market.arbitrator, market.stranger):
        with reverts("Unauthorized", ref.id, account.address):
            market.act("withdrawProposal", account, ref)


def test_withdraw_without_proposal_reverts_no_proposal(market: Market) -> None:
    ref = open_trade_ref(market)
    for account in (market.buyer, market.seller):
        with reverts("NoProposal", ref.id):
            market.act("withdrawProposal", account, ref)


def test_lapsed_proposal_can_still_be_withdrawn(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("dispute", market.seller, ref)
    market.act("proposeSettlement", market.seller, ref, ONE // 2)
    market.warp_to(ref.trade.deadline + 1)
    market.act("withdrawProposal", market.seller, ref)
    market.act("claimRulingTimeout", market.stranger, ref)
    assert ref.trade.state is TradeState.RULING_TIMED_OUT


# ---------------------------------------------------------------------------------- who may call


def _dispute(market: Market, ref: TradeRef) -> None:
    market.act("dispute", market.buyer, ref)


def _propose(market: Market, ref: TradeRef) -> None:
    market.act("proposeSettlement", market.buyer, ref, 1)


# function, extra args, setup, accounts (by role) that are refused
PARTY_ONLY: list[tuple[str, tuple[Any, ...], Any, tuple[str, ...]]] = [
    ("release", (), None, ("seller", "arbitrator", "stranger")),
    ("returnDeposit", (), None, ("buyer", "arbitrator", "stranger")),
    ("refund", (), None, ("buyer", "arbitrator", "stranger")),
    ("dispute", (), None, ("arbitrator", "stranger")),
    ("proposeSettlement", (1,), None, ("arbitrator", "stranger")),
    ("withdrawProposal", (), _propose, ("seller", "arbitrator", "stranger")),
    ("acceptSettlement", (), _propose, ("buyer", "arbitrator", "stranger")),
    ("rule", (0,), _dispute, ("buyer", "seller", "stranger")),
]


@pytest.mark.parametrize(
    ("action", "extra", "setup", "refused"), PARTY_ONLY, ids=[p[0] for p in PARTY_ONLY]
)
def test_party_only_function_by_other_account_reverts_unauthorized(
    market: Market, action: str, extra: tuple[Any, ...], setup: Any, refused: tuple[str, ...]
) -> None:
    ref = open_trade_ref(market, deposit=ONE)
    if setup is not None:
        setup(market, ref)
    for role in refused:
        account = getattr(market, role)
        with reverts("Unauthorized", ref.id, account.address):
            market.act(action, account, ref, *extra)


# ---------------------------------------------------------------------------------- stale data


ALL_ACTIONS: list[tuple[str, str, tuple[Any, ...]]] = [
    ("release", "buyer", ()),
    ("returnDeposit", "seller", ()),
    ("refund", "seller", ()),
    ("finalize", "stranger", ()),
    ("dispute", "buyer", ()),
    ("proposeSettlement", "buyer", (0,)),
    ("withdrawProposal", "buyer", ()),
    ("acceptSettlement", "seller", ()),
    ("rule", "arbitrator", (0,)),
    ("claimRulingTimeout", "stranger", ()),
]


@pytest.mark.parametrize(("action", "role", "extra"), ALL_ACTIONS, ids=[a[0] for a in ALL_ACTIONS])
def test_forged_amount_reverts_unknown_trade(
    market: Market, action: str, role: str, extra: tuple[Any, ...]
) -> None:
    ref = open_trade_ref(market, deposit=ONE)
    with reverts("UnknownTrade", ref.id):
        market.act(action, getattr(market, role), forged(ref, amount=ref.trade.amount - 1), *extra)


FORGERIES: dict[str, dict[str, Any]] = {
    "buyer": {"buyer": "0x" + "44" * 20},
    "seller": {"seller": "0x" + "55" * 20},
    "token": {"token": "0x" + "66" * 20},
    "arbitrator": {"arbitrator": ZERO_ADDRESS},
    "fee": {"arbitrator_fee_bps": 0},
    "amount": {"amount": 10 * ONE},
    "deposit": {"deposit": 0},
    "deadline": {"deadline": 2**40 - 1},
    "state": {"state": TradeState.DISPUTED},
    "flags": {"flags": 2},
    "disputed_flag": {"flags": 16},
    "proposal": {"proposed_buyer_share": 1},
}


@pytest.mark.parametrize("change", FORGERIES.values(), ids=list(FORGERIES))
def test_any_changed_trade_field_reverts_unknown_trade(
    market: Market, change: dict[str, Any]
) -> None:
    ref = open_trade_ref(market, deposit=ONE)
    with reverts("UnknownTrade", ref.id):
        market.act("refund", market.seller, forged(ref, **change))
    check = market.market.functions.checkTrade(ref.id, forged(ref, **change).trade.as_tuple())
    assert check.call() == [False, 0]


def test_trade_data_under_another_id_reverts_unknown_trade(market: Market) -> None:
    listing = market.list(quantity=2)
    a = market.buy(listing, 1)
    other = with_id(a, os.urandom(32))
    with reverts("UnknownTrade", other.id):
        market.act("release", market.buyer, other)
    # the listing id itself holds a live listing, not this trade
    with reverts("UnknownTrade", listing.id):
        market.act("release", market.buyer, with_id(a, listing.id))


def test_stale_trade_after_transition_reverts_unknown_trade(market: Market) -> None:
    ref = open_trade_ref(market, deposit=ONE)
    stale = forged(ref)
    market.act("release", market.buyer, ref)
    with reverts("UnknownTrade", ref.id):
        market.act("refund", market.seller, stale)
    with reverts("UnknownTrade", ref.id):
        market.act("release", market.buyer, stale)


# ---------------------------------------------------------------------------------- final states


@pytest.mark.parametrize("state", FINAL_STATES, ids=[s.name for s in FINAL_STATES])
def test_every_action_on_final_trade_reverts_trade_not_in_state(
    market: Market, state: TradeState
) -> None:
    ref = finish(market, open_trade_ref(market, deposit=ONE // 2), state)
    assert escrow_balance(market) == 0
    for action, role, extra in ALL_ACTIONS:
        with reverts("TradeNotInState", ref.id, state):
            market.act(action, getattr(market, role), ref, *extra)


def test_open_state_mismatches_revert_trade_not_in_state(market: Market) -> None:
    paid = open_trade_ref(market)
    with reverts("TradeNotInState", paid.id, TradeState.PAID):
        market.act("rule", market.arbitrator, paid, 0)
    with reverts("TradeNotInState", paid.id, TradeState.PAID):
        market.act("claimRulingTimeout", market.stranger, paid)
    disputed = open_trade_ref(market)
    market.act("dispute", market.seller, disputed)
    with reverts("TradeNotInState", disputed.id, TradeState.DISPUTED):
        market.act("dispute", market.buyer, disputed)


# ---------------------------------------------------------------------------------- withdraw


def test_withdraw_without_credit_reverts_nothing_to_withdraw(market: Market) -> None:
    fn = market.market.functions.withdraw(ZERO_ADDRESS, market.buyer.address)
    with reverts("NothingToWithdraw", ZERO_ADDRESS, market.buyer.address):
        market.send(market.buyer, fn)
    token = "0x" + "77" * 20
    fn = market.market.functions.withdraw(token, market.seller.address)
    with reverts("NothingToWithdraw", token, market.seller.address):
        market.send(market.seller, fn)


def test_withdraw_to_zero_address_reverts_invalid_recipient(market: Market) -> None:
    fn = market.market.functions.withdraw(ZERO_ADDRESS, ZERO_ADDRESS)
    with reverts("InvalidRecipient", ZERO_ADDRESS):
        market.send(market.buyer, fn)


def test_payouts_to_accounts_leave_no_credit(market: Market) -> None:
    ref = open_trade_ref(market, deposit=ONE)
    market.act("dispute", market.buyer, ref)
    receipt = market.act("rule", market.arbitrator, ref, ONE)
    assert "Credited" not in event_names(market, receipt)
    for account in (market.buyer, market.seller, market.arbitrator):
        assert market.credit(ZERO_ADDRESS, account.address) == 0


def test_plain_eth_transfer_to_marketplace_reverts(market: Market) -> None:
    tx = {"from": market.stranger.address, "to": market.address, "value": ONE}
    error = simulate(market, tx)
    assert error is not None
    assert (error.name, error.args_) == ("Revert", ())  # no receive or fallback function
    assert escrow_balance(market) == 0


# ---------------------------------------------------------------------------------- ERC-20


# outcome -> steps, then (buyer, seller, arbitrator) token payouts for price 10_000, deposit 4_000,
# fee 300 bps
ERC20_OUTCOMES: dict[str, tuple[list[tuple[str, str, tuple[Any, ...]]], tuple[int, int, int]]] = {
    "release_return": (
        [("buyer", "release", ()), ("seller", "returnDeposit", ())],
        (4_000, 10_000, 0),
    ),
    "refund": ([("seller", "refund", ())], (14_000, 0, 0)),
    "finalize": ([("wait", "", ()), ("stranger", "finalize", ())], (4_000, 10_000, 0)),
    "settle": (
        [("seller", "proposeSettlement", (5_001,)), ("buyer", "acceptSettlement", ())],
        (5_001, 8_999, 0),
    ),
    "rule": (
        [("buyer", "dispute", ()), ("arbitrator", "rule", (7_000,))],
        (7_000, 14_000 - 420 - 7_000, 420),
    ),
    "timeout": (
        [("seller", "dispute", ()), ("wait", "", ()), ("stranger", "claimRulingTimeout", ())],
        (14_000, 0, 0),
    ),
}


@pytest.mark.parametrize("outcome", list(ERC20_OUTCOMES))
def test_erc20_outcome_pays_exact_token_amounts(market: Market, outcome: str) -> None:
    token = deploy_token(market)
    terms = market.terms(token=token.address, price=10_000, deposit=4_000, arbitrator_fee_bps=300)
    listing = market.list(terms)
    mint_and_approve(market, token, market.buyer, 14_000)
    ref = market.buy(listing)
    steps, expected = ERC20_OUTCOMES[outcome]
    for role, action, extra in steps:
        if role == "wait":
            market.warp_to(ref.trade.deadline)
        else:
            market.act(action, getattr(market, role), ref, *extra)
    assert ref.trade.state.is_final
    paid = tuple(
        market.balance(a.address, token.address)
        for a in (market.buyer, market.seller, market.arbitrator)
    )
    assert paid == expected
    assert market.balance(market.address, token.address) == 0
    assert credits_total(market, token.address) == 0
