"""Every time boundary, tried on both sides on the same trade (chain snapshots).

A window ``[start, deadline)`` is open at ``deadline - 1`` and closed at ``deadline``; the call
that needs it closed is refused at ``deadline - 1`` and allowed at ``deadline``. So at every second
exactly one of each pair (dispute/finalize, rule/claimRulingTimeout) is possible.
"""

from __future__ import annotations

from p2pchain.chain._model import TradeState

from ._helpers import (
    Market,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    open_trade_ref,
    reverts,
    rewind,
)
from .market import DAY, TradeRef


def _disputed(market: Market) -> TradeRef:
    ref = open_trade_ref(market)
    market.act("dispute", market.buyer, ref)
    return ref


def test_dispute_at_deadline_minus_one_succeeds(market: Market) -> None:
    ref = open_trade_ref(market)
    deadline = ref.trade.deadline
    market.warp_to(deadline - 1)
    receipt = market.act("dispute", market.buyer, ref)
    assert market.timestamp_of(receipt) == deadline - 1
    assert ref.trade.state is TradeState.DISPUTED
    assert ref.trade.deadline == deadline - 1 + market.ruling_window


def test_dispute_at_deadline_reverts_window_closed(market: Market) -> None:
    ref = open_trade_ref(market)
    deadline = ref.trade.deadline
    for account in (market.buyer, market.seller):
        with rewind(market, ref):
            market.warp_to(deadline)
            with reverts("WindowClosed", ref.id, deadline):
                market.act("dispute", account, ref)


def test_finalize_at_deadline_minus_one_reverts_window_open(market: Market) -> None:
    ref = open_trade_ref(market)
    deadline = ref.trade.deadline
    market.warp_to(deadline - 1)
    with reverts("WindowOpen", ref.id, deadline):
        market.act("finalize", market.stranger, ref)


def test_finalize_at_deadline_succeeds(market: Market) -> None:
    ref = open_trade_ref(market)
    deadline = ref.trade.deadline
    market.warp_to(deadline)
    receipt = market.act("finalize", market.stranger, ref)
    assert market.timestamp_of(receipt) == deadline
    assert ref.trade.state is TradeState.COMPLETED


def test_review_deadline_allows_exactly_one_of_dispute_and_finalize(market: Market) -> None:
    ref = open_trade_ref(market)
    deadline = ref.trade.deadline
    with rewind(market, ref):
        market.warp_to(deadline - 1)
        with reverts("WindowOpen", ref.id, deadline):
            market.act("finalize", market.stranger, ref)
        market.act("dispute", market.seller, ref)
    with rewind(market, ref):
        market.warp_to(deadline)
        with reverts("WindowClosed", ref.id, deadline):
            market.act("dispute", market.seller, ref)
        market.act("finalize", market.stranger, ref)
    assert ref.trade.state is TradeState.PAID  # rewound


def test_rule_at_ruling_deadline_minus_one_succeeds(market: Market) -> None:
    ref = _disputed(market)
    market.warp_to(ref.trade.deadline - 1)
    market.act("rule", market.arbitrator, ref, 0)
    assert ref.trade.state is TradeState.RULED


def test_rule_at_ruling_deadline_reverts_window_closed(market: Market) -> None:
    ref = _disputed(market)
    ruling_deadline = ref.trade.deadline
    market.warp_to(ruling_deadline)
    with reverts("WindowClosed", ref.id, ruling_deadline):
        market.act("rule", market.arbitrator, ref, 0)


def test_claim_ruling_timeout_at_ruling_deadline_minus_one_reverts_window_open(
    market: Market,
) -> None:
    ref = _disputed(market)
    ruling_deadline = ref.trade.deadline
    market.warp_to(ruling_deadline - 1)
    with reverts("WindowOpen", ref.id, ruling_deadline):
        market.act("claimRulingTimeout", market.stranger, ref)


def test_claim_ruling_timeout_at_ruling_deadline_succeeds(market: Market) -> None:
    ref = _disputed(market)
    market.warp_to(ref.trade.deadline)
    market.act("claimRulingTimeout", market.stranger, ref)
    assert ref.trade.state is TradeState.RULING_TIMED_OUT


def test_ruling_deadline_allows_exactly_one_of_rule_and_timeout(market: Market) -> None:
    ref = _disputed(market)
    ruling_deadline = ref.trade.deadline
    with rewind(market, ref):
        market.warp_to(ruling_deadline - 1)
        with reverts("WindowOpen", ref.id, ruling_deadline):
            market.act("claimRulingTimeout", market.stranger, ref)
        market.act("rule", market.arbitrator, ref, 1)
    with rewind(market, ref):
        market.warp_to(ruling_deadline)
        with reverts("WindowClosed", ref.id, ruling_deadline):
            market.act("rule", market.arbitrator, ref, 1)
        market.act("claimRulingTimeout", market.stranger, ref)


def test_dispute_at_last_second_moves_deadline_to_ruling_window(market: Market) -> None:
    ref = open_trade_ref(market, review_window=DAY)
    market.warp_to(ref.trade.deadline - 1)
    receipt = market.act("dispute", market.seller, ref)
    assert ref.trade.deadline == market.timestamp_of(receipt) + 3 * DAY
    # the old review deadline means nothing now: finalize stays refused after it
    market.warp_to(ref.trade.deadline - 1)
    with reverts("TradeNotInState", ref.id, TradeState.DISPUTED):
        market.act("finalize", market.stranger, ref)


def test_onchain_listing_expiry_boundary(market: Market) -> None:
    expiry = market.chain.latest_timestamp() + 1_000
    listing = market.list(market.terms(expiry=expiry), quantity=2)
    with rewind(market):
        market.warp_to(expiry - 1)
        ref = market.buy(listing)
        assert market.timestamp_of(ref.receipts[0]) == expiry - 1
    market.warp_to(expiry)
    with reverts("ListingExpired", listing.id, expiry):
        market.buy(listing)


def test_signed_listing_expiry_boundary(market: Market) -> None:
    expiry = market.chain.latest_timestamp() + 1_000
    listing = market.sign_listing(market.terms(expiry=expiry), quantity=3)
    with rewind(market):
        market.warp_to(expiry - 1)
        market.buy(listing)
    market.warp_to(expiry)
    with reverts("ListingExpired", listing.id, expiry):
        market.buy(listing)


def test_signed_listing_expiry_applies_to_later_fills(market: Market) -> None:
    expiry = market.chain.latest_timestamp() + 1_000
    listing = market.sign_listing(market.terms(expiry=expiry), quantity=3)
    market.buy(listing)
    with rewind(market):
        market.warp_to(expiry - 1)
        market.buy(listing)
    market.warp_to(expiry)
    with reverts("ListingExpired", listing.id, expiry):
        market.buy(listing)


def test_list_expiry_boundary(market: Market) -> None:
    now = market.chain.latest_timestamp() + 50
    with rewind(market):
        market.warp_to(now)
        market.list(market.terms(expiry=now + 1))
    market.warp_to(now)
    with reverts("InvalidExpiry", now):
        market.list(market.terms(expiry=now))


def test_longest_review_window_deadline(market: Market) -> None:
    ref = open_trade_ref(market, review_window=365 * DAY)
    deadline = ref.trade.deadline
    assert deadline == market.timestamp_of(ref.receipts[0]) + 365 * DAY
    with rewind(market, ref):
        market.warp_to(deadline - 1)
        market.act("dispute", market.buyer, ref)
    market.warp_to(deadline)
    market.act("finalize", market.stranger, ref)
    assert ref.trade.state is TradeState.COMPLETED
