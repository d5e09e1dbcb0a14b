"""Ratings: only the parties of a final trade, once each, with valid scores; events and aggregates."""

from __future__ import annotations

import pytest

from p2pchain.chain._model import TradeState

from ._helpers import (
    FINAL_STATES,
    Market,
    deploy_token,
    events_named,
    finish,
    forged,
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
    assert _aggregate(market, market.seller.address) == (2, 7, 3 * ONE)
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


@pytest.mark.parametrize("state", FINAL_STATES, ids=[s.name for s in FINAL_STATES])
def test_rating_works_after_every_final_state(market: Market, state: TradeState) -> None:
    ref = finish(market, open_trade_ref(market, price=2 * ONE, deposit=ONE), state)
    market.rate(market.buyer, ref, 2)
    market.rate(market.seller, ref, 5)
    assert _rated_bits(market, ref) == 3
    assert _aggregate(market, market.seller.address) == (1, 2, 2 * ONE)
    assert _aggregate(market, market.buyer.address) == (1, 5, 2 * ONE)
