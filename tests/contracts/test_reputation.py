"""Ratings: only the parties of a final trade, once each, with valid scores; events and aggregates."""

from __future__ import annotations

from typing import Any

import pytest

from p2pchain.chain._model import TradeState

from ._helpers import (
    FINAL_STATES,
    Market,
    deploy_test_contract,
    deploy_token,
    events_named,
    finish,
    forged,
    gas_cost,
    list_as_contract,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    mint_and_approve,
    open_trade_ref,
    reverts,
)
from .market import ETH, ONE, TradeRef


def _aggregate(market: Market, subject: str, token: str = ETH) -> tuple[int, int, int]:
    count, score_sum, volume = market.reputation.functions.aggregate(subject, token).call()
    return int(count), int(score_sum), int(volume)


def _rated_bits(market: Market, ref: TradeRef) -> int:
    current, rated = market.market.functions.checkTrade(ref.id, ref.trade.as_tuple()).call()
    assert current
    return int(rated)


def _completed(market: Market, **terms: int) -> TradeRef:
    return finish(market, open_trade_ref(market, **terms), TradeState.COMPLETED)


def test_contracts_know_each_other(market: Market) -> None:
    assert market.market.functions.REPUTATION().call() == market.reputation.address
    assert market.reputation.functions.MARKETPLACE().call() == market.address


def test_rate_emits_rated_with_token_and_value(market: Market) -> None:
    ref = _completed(market, price=3 * ONE, deposit=ONE)
    cid = bytes.fromhex("1220") + b"\xab" * 32
    receipt = market.rate(market.buyer, ref, 4, cid)
    (args,) = events_named(market, receipt, "Rated", market.reputation)
    assert bytes(args["tradeId"]) == ref.id
    assert args["rater"] == market.buyer.address
    assert args["subject"] == market.seller.address
    assert args["score"] == 4
    assert args["token"] == ETH
    assert args["value"] == 3 * ONE  # the price, deposit excluded
    assert bytes(args["reviewCid"]) == cid
    assert market.events(receipt) == []  # the marketplace itself emits nothing


def test_rate_while_paid_reverts_trade_not_final(market: Market) -> None:
    ref = open_trade_ref(market)
    with reverts("TradeNotFinal", ref.id, TradeState.PAID):
        market.rate(market.buyer, ref, 5)


def test_rate_while_disputed_reverts_trade_not_final(market: Market) -> None:
    ref = open_trade_ref(market)
    market.act("dispute", market.seller, ref)
    with reverts("TradeNotFinal", ref.id, TradeState.DISPUTED):
        market.rate(market.seller, ref, 1)


def test_rate_with_stale_trade_reverts_unknown_trade(market: Market) -> None:
    ref = open_trade_ref(market)
    stale = forged(ref)
    market.act("release", market.buyer, ref)
    with reverts("UnknownTrade", ref.id):
        market.rate(market.buyer, stale, 5)
    with reverts("UnknownTrade", ref.id):
        market.rate(market.buyer, forged(ref, amount=100 * ONE), 5)


@pytest.mark.parametrize("role", ["stranger", "arbitrator"])
def test_rate_by_non_party_reverts_unauthorized(market: Market, role: str) -> None:
    ref = finish(market, open_trade_ref(market), TradeState.RULED)
    account = getattr(market, role)
    with reverts("Unauthorized", ref.id, account.address):
        market.rate(account, ref, 3)


def test_rate_twice_reverts_already_rated(market: Market) -> None:
    ref = _completed(market)
    market.rate(market.buyer, ref, 5)
    assert _rated_bits(market, ref) == 1
    with reverts("AlreadyRated", ref.id, market.buyer.address):
        market.rate(market.buyer, ref, 4)
    market.rate(market.seller, ref, 2)
    assert _rated_bits(market, ref) == 3
    with reverts("AlreadyRated", ref.id, market.seller.address):
        market.rate(market.seller, ref, 2)


def test_seller_rating_first_does_not_block_buyer(market: Market) -> None:
    ref = _completed(market)
    market.rate(market.seller, ref, 3)
    assert _rated_bits(market, ref) == 2
    market.rate(market.buyer, ref, 3)
    assert _rated_bits(market, ref) == 3


@pytest.mark.parametrize("score", [0, 6, 255])
def test_rate_score_out_of_range_reverts_invalid_score(market: Market, score: int) -> None:
    ref = _completed(market)
    with reverts("InvalidScore", score):
        market.rate(market.buyer, ref, score)


def test_rate_scores_one_and_five_are_valid(market: Market) -> None:
    ref = _completed(market)
    market.rate(market.buyer, ref, 1)
    market.rate(market.seller, ref, 5)
    assert _aggregate(market, market.seller.address) == (1, 1, ONE)
    assert _aggregate(market, market.buyer.address) == (1, 5, ONE)


def test_rate_review_cid_over_64_bytes_reverts_invalid_review_cid(market: Market) -> None:
    ref = _completed(market)
    with reverts("InvalidReviewCid", 65):
        market.rate(market.buyer, ref, 5, b"\x01" * 65)
    market.rate(market.buyer, ref, 5, b"\x01" * 64)


def test_consume_rating_called_directly_reverts_unauthorized(market: Market) -> None:
    ref = _completed(market)
    for account in (market.buyer, market.seller, market.stranger):
        fn = market.market.functions.consumeRating(ref.id, ref.trade.as_tuple(), account.address)
        with reverts("Unauthorized", ref.id, account.address):
            market.send(account, fn)
    assert _rated_bits(market, ref) == 0


def test_aggregates_accumulate_per_subject_and_token(market: Market) -> None:
    token = deploy_token(market)
    a = _completed(market, price=ONE)
    b = finish(market, open_trade_ref(market, price=2 * ONE, deposit=ONE), TradeState.REFUNDED)
    listing = market.list(market.terms(token=token.address, price=500))
    mint_and_approve(market, token, market.buyer, 500)
    c = finish(market, market.buy(listing), TradeState.COMPLETED)
    market.rate(market.buyer, a, 5)
    market.rate(market.buyer, b, 2)
    market.rate(market.buyer, c, 4)
    market.rate(market.seller, a, 3)
    # b was refunded: its rating counts, but it moved no money to the seller
    assert _aggregate(market, market.seller.address) == (2, 7, ONE)
    assert _aggregate(market, market.seller.address, token.address) == (1, 4, 500)
    assert _aggregate(market, market.buyer.address) == (1, 3, ONE)
    assert _aggregate(market, market.buyer.address, token.address) == (0, 0, 0)
    assert _aggregate(market, market.stranger.address) == (0, 0, 0)


def test_aggregate_counts_ratings_from_several_buyers(market: Market) -> None:
    listing = market.list(quantity=3)
    refs = [market.buy(listing, 1, buyer=b) for b in market.others[:3]]
    for ref, score in zip(refs, (5, 4, 1), strict=True):
        buyer = next(b for b in market.others if b.address == ref.trade.buyer)
        market.act("release", buyer, ref)
        market.rate(buyer, ref, score)
    assert _aggregate(market, market.seller.address) == (3, 10, 3 * ONE)


#: What ``finish`` pays the seller of a 2 ETH sale with a 1 ETH deposit (2% arbitrator fee).
PAID_TO_SELLER_BY_FINISH = {
    TradeState.COMPLETED: 2 * ONE,
    TradeState.REFUNDED: 0,
    TradeState.SETTLED: 3 * ONE - 3 * ONE // 2,  # the buyer proposed half of the 3 ETH held
    TradeState.RULED: 3 * ONE - 3 * ONE * 200 // 10_000 - ONE,  # fee, a third to the buyer
    TradeState.RULING_TIMED_OUT: 0,
}


@pytest.mark.parametrize("state", FINAL_STATES, ids=[s.name for s in FINAL_STATES])
def test_rating_works_after_every_final_state(market: Market, state: TradeState) -> None:
    ref = finish(market, open_trade_ref(market, price=2 * ONE, deposit=ONE), state)
    market.rate(market.buyer, ref, 2)
    market.rate(market.seller, ref, 5)
    assert _rated_bits(market, ref) == 3
    value = PAID_TO_SELLER_BY_FINISH[state]
    assert _aggregate(market, market.seller.address) == (1, 2, value)
    assert _aggregate(market, market.buyer.address) == (1, 5, value)


# ---------------------------------------------------------------------------------- rating value

PRICE, DEPOSIT, FEE_BPS = 2 * ONE, ONE, 500


def _wait(market: Market, ref: TradeRef) -> None:
    market.warp_to(ref.trade.deadline)


#: path -> (steps, the final state). A step is (role, action, *args) or ("wait",).
VALUE_PATHS: dict[str, tuple[list[tuple[Any, ...]], TradeState]] = {
    "completed_by_release": (
        [("buyer", "release"), ("seller", "returnDeposit")], TradeState.COMPLETED
    ),
    "completed_by_finalize": ([("wait",), ("stranger", "finalize")], TradeState.COMPLETED),
    "completed_in_dispute": (
        [("seller", "dispute"), ("buyer", "release"), ("seller", "returnDeposit")],
        TradeState.COMPLETED,
    ),
    "refunded": ([("seller", "refund")], TradeState.REFUNDED),
    "refunded_in_dispute": ([("buyer", "dispute"), ("seller", "refund")], TradeState.REFUNDED),
    "refunded_after_rent_released": (
        [("buyer", "release"), ("seller", "refund")], TradeState.REFUNDED
    ),
    "settled": (
        [("buyer", "proposeSettlement", ONE + ONE // 3), ("seller", "acceptSettlement")],
        TradeState.SETTLED,
    ),
    "settled_all_to_buyer": (
        [("seller", "proposeSettlement", PRICE + DEPOSIT), ("buyer", "acceptSettlement")],
        TradeState.SETTLED,
    ),
    "settled_in_dispute": (
        [
            ("buyer", "dispute"),
            ("seller", "proposeSettlement", ONE // 7),
            ("buyer", "acceptSettlement"),
        ],
        TradeState.SETTLED,
    ),
    "settled_after_rent_released": (  # the seller keeps part of the deposit for damage
        [("buyer", "release"), ("seller", "proposeSettlement", ONE // 4), ("buyer", "acceptSettlement")],
        TradeState.SETTLED,
    ),
    "ruled": ([("buyer", "dispute"), ("arbitrator", "rule", ONE)], TradeState.RULED),
    "ruled_all_to_buyer": (
        [("buyer", "dispute"), ("arbitrator", "rule", (PRICE + DEPOSIT) * 95 // 100)],
        TradeState.RULED,
    ),
    "ruled_over_a_proposal": (
        [
            ("seller", "dispute"),
            ("buyer", "proposeSettlement", ONE),
            ("arbitrator", "rule", ONE // 3),
        ],
        TradeState.RULED,
    ),
    "ruled_damage_claim": (  # rent released, the seller disputes over the deposit
        [("buyer", "release"), ("seller", "dispute"), ("arbitrator", "rule", ONE // 2)],
        TradeState.RULED,
    ),
    "ruling_timed_out": (
        [("buyer", "dispute"), ("wait",), ("stranger", "claimRulingTimeout")],
        TradeState.RULING_TIMED_OUT,
    ),
    "ruling_timed_out_after_rent_released": (
        [("buyer", "release"), ("seller", "dispute"), ("wait",), ("stranger", "claimRulingTimeout")],
        TradeState.RULING_TIMED_OUT,
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", list(VALUE_PATHS))
def test_rating_value_is_what_the_seller_was_really_paid(market: Market, path: str) -> None:
    """Rated.value and both parties' aggregate volume equal the seller's measured receipts."""
    steps, state = VALUE_PATHS[path]
    ref = open_trade_ref(market, price=PRICE, deposit=DEPOSIT, arbitrator_fee_bps=FEE_BPS)
    seller = market.seller.address
    before = market.balance(seller)
    spent = 0
    for step in steps:
        if step == ("wait",):
            _wait(market, ref)
            continue
        role, action, *extra = step
        receipt = market.act(action, getattr(market, role), ref, *extra)
        if receipt["from"] == seller:
            spent += gas_cost(receipt)
    assert ref.trade.state is state
    paid = market.balance(seller) - before + spent + market.credit(ETH, seller)
    values = []
    for rater in (market.buyer, market.seller):
        receipt = market.rate(rater, ref, 5)
        (args,) = events_named(market, receipt, "Rated", market.reputation)
        values.append(args["value"])
    assert values == [paid, paid]
    assert _aggregate(market, seller) == (1, 5, paid)
    assert _aggregate(market, market.buyer.address) == (1, 5, paid)
    if state in (TradeState.REFUNDED, TradeState.RULING_TIMED_OUT) and "released" not in path:
        assert paid == 0  # the money went back to the buyer: no value


def test_rating_value_counts_a_credited_payout_as_paid(market: Market) -> None:
    """A seller whose payout was credited (its receiver refused) was still paid."""
    refuser = deploy_test_contract(market, "RevertingReceiver", deployer=market.seller)
    listing = list_as_contract(market, refuser, market.seller, market.terms(seller=refuser.address))
    ref = market.buy(listing)
    market.act("release", market.buyer, ref)
    assert market.credit(ETH, refuser.address) == ONE
    receipt = market.rate(market.buyer, ref, 4)
    (args,) = events_named(market, receipt, "Rated", market.reputation)
    assert args["value"] == ONE
    assert _aggregate(market, refuser.address) == (1, 4, ONE)
