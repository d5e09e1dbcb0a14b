"""No trade can strand funds: from every reachable open state, each party has a way out that the
other party (and the arbitrator) need not cooperate in, and it empties the trade's escrow.

Each exit is a list of steps run by the party itself or by a stranger, with time passing where
the party would have to wait; every exit is tried on the same trade from the same state (chain
snapshots). Listings likewise can always be withdrawn by their seller while units remain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from p2pchain.chain._model import ZERO_ADDRESS

from ._helpers import (
    Market,
    close_listing,
    credits_total,
    escrow_balance,
    held_total,
    listing_state,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    open_trade_ref,
    reverts,
    rewind,
    update_listing,
)
from .market import DAY, ONE, Listing, TradeRef

#: A step of an exit: ``WAIT`` (let the trade's current deadline pass) or ``(role, action, *args)``.
WAIT = ("wait",)
Step = tuple[Any, ...]

RENT = ONE
DEPOSIT = 2 * ONE


def _sale(market: Market) -> TradeRef:
    return open_trade_ref(market, price=RENT)


def _rental(market: Market) -> TradeRef:
    return open_trade_ref(market, price=RENT, deposit=DEPOSIT)


def _released_rental(market: Market) -> TradeRef:
    ref = _rental(market)
    market.act("release", market.buyer, ref)
    return ref


def _returned_rental(market: Market) -> TradeRef:
    ref = _rental(market)
    market.act("returnDeposit", market.seller, ref)
    return ref


def _seller_proposal(market: Market) -> TradeRef:
    ref = _rental(market)
    market.act("proposeSettlement", market.seller, ref, ONE)
    return ref


def _buyer_proposal(market: Market) -> TradeRef:
    ref = _rental(market)
    market.act("proposeSettlement", market.buyer, ref, 2 * ONE)
    return ref


def _disputed_sale(market: Market) -> TradeRef:
    ref = _sale(market)
    market.act("dispute", market.buyer, ref)
    return ref


def _disputed_rental(market: Market) -> TradeRef:
    ref = _rental(market)
    market.act("dispute", market.seller, ref)
    return ref


def _disputed_after_release(market: Market) -> TradeRef:
    ref = _released_rental(market)
    market.act("dispute", market.seller, ref)  # a damage claim
    return ref


def _disputed_after_return(market: Market) -> TradeRef:
    ref = _returned_rental(market)
    market.act("dispute", market.buyer, ref)
    return ref


def _disputed_with_proposal(market: Market) -> TradeRef:
    ref = _rental(market)
    market.act("dispute", market.buyer, ref)
    market.act("proposeSettlement", market.seller, ref, ONE)
    return ref


def _disputed_without_fee_arbitrator(market: Market) -> TradeRef:
    ref = open_trade_ref(market, price=RENT, arbitrator_fee_bps=0)
    market.act("dispute", market.seller, ref)
    return ref


FINALIZE = [WAIT, ("stranger", "finalize")]
TIMEOUT = [WAIT, ("stranger", "claimRulingTimeout")]

# state name -> (setup, the buyer's exits, the seller's exits)
EXITS: dict[str, tuple[Callable[[Market], TradeRef], list[list[Step]], list[list[Step]]]] = {
    "paid_sale": (
        _sale,
        [[("buyer", "release")], FINALIZE, [("buyer", "dispute"), *TIMEOUT]],
        [[("seller", "refund")], FINALIZE, [("seller", "dispute"), *TIMEOUT]],
    ),
    "paid_rental": (
        _rental,
        [FINALIZE, [("buyer", "release"), *FINALIZE], [("buyer", "dispute"), *TIMEOUT]],
        [[("seller", "refund")], FINALIZE, [("seller", "returnDeposit"), *FINALIZE]],
    ),
    "paid_buyer_released": (
        _released_rental,
        [FINALIZE],
        [
            [("seller", "returnDeposit")],
            [("seller", "refund")],
            FINALIZE,
            [("seller", "dispute"), *TIMEOUT],
        ],
    ),
    "paid_deposit_returned": (
        _returned_rental,
        [[("buyer", "release")], FINALIZE, [("buyer", "dispute"), *TIMEOUT]],
        [FINALIZE, [("seller", "refund")]],
    ),
    "paid_seller_proposal": (
        _seller_proposal,
        [[("buyer", "acceptSettlement")], FINALIZE, [("buyer", "dispute"), *TIMEOUT]],
        [
            [("seller", "refund")],
            FINALIZE,
            [("seller", "proposeSettlement", 0), *FINALIZE],
            [("seller", "withdrawProposal"), *FINALIZE],
        ],
    ),
    "paid_buyer_proposal": (
        _buyer_proposal,
        [
            FINALIZE,
            [("buyer", "release"), ("buyer", "proposeSettlement", 0), *FINALIZE],
            [("buyer", "withdrawProposal"), *FINALIZE],
        ],
        [[("seller", "acceptSettlement")], [("seller", "refund")], FINALIZE],
    ),
    "disputed_sale": (
        _disputed_sale,
        [TIMEOUT, [("buyer", "release")]],
        [[("seller", "refund")], TIMEOUT],
    ),
    "disputed_rental": (
        _disputed_rental,
        [TIMEOUT, [("buyer", "release"), *TIMEOUT]],
        [[("seller", "refund")], TIMEOUT, [("seller", "returnDeposit"), *TIMEOUT]],
    ),
    "disputed_after_release": (
        _disputed_after_release,
        [TIMEOUT],
        [[("seller", "returnDeposit")], [("seller", "refund")], TIMEOUT],
    ),
    "disputed_after_return": (
        _disputed_after_return,
        [[("buyer", "release")], TIMEOUT],
        [[("seller", "refund")], TIMEOUT],
    ),
    "disputed_with_proposal": (
        _disputed_with_proposal,
        [[("buyer", "acceptSettlement")], TIMEOUT],
        [[("seller", "refund")], TIMEOUT, [("seller", "withdrawProposal"), *TIMEOUT]],
    ),
    "disputed_fee_free": (
        _disputed_without_fee_arbitrator,
        [TIMEOUT],
        [[("seller", "refund")], TIMEOUT],
    ),
}


def _run_exit(market: Market, ref: TradeRef, steps: list[Step]) -> None:
    for step in steps:
        if step == WAIT:
            market.warp_to(max(ref.trade.deadline, market.chain.latest_timestamp() + 1))
            continue
        role, action, *extra = step
        market.act(action, getattr(market, role), ref, *extra)


@pytest.mark.parametrize("state", list(EXITS))
def test_every_open_state_has_exits_for_each_party_alone(market: Market, state: str) -> None:
    setup, buyer_exits, seller_exits = EXITS[state]
    # bystanders: other open trades whose funds must stay put
    bystanders = [_rental(market), _disputed_sale(market)]
    ref = setup(market)
    assert ref.trade.state.is_open
    others = held_total(*(b.trade for b in bystanders))
    assert escrow_balance(market) == others + ref.trade.held_total

    for side, exits in (("buyer", buyer_exits), ("seller", seller_exits)):
        assert exits, f"{state}: no exit for the {side}"
        for steps in exits:
            roles = {s[0] for s in steps if s != WAIT}
            assert roles <= {side, "stranger"}, f"{state}: {steps} needs {roles}"
            with rewind(market, ref):
                _run_exit(market, ref, steps)
                where = f"{state}, {side} exit {steps}"
                assert ref.trade.state.is_final, where
                assert escrow_balance(market) == others + credits_total(market, ZERO_ADDRESS), where
                assert credits_total(market, ZERO_ADDRESS) == 0, where


# ---------------------------------------------------------------------------------- listings


def _onchain_stages(market: Market) -> list[tuple[str, Listing]]:
    fresh = market.list(quantity=3)
    partly = market.list(quantity=3)
    market.buy(partly, 2)
    updated = market.list(quantity=1)
    updated = update_listing(market, updated, market.terms(price=2 * ONE), 4)
    expiring = market.list(market.terms(expiry=market.chain.latest_timestamp() + DAY), quantity=2)
    return [("fresh", fresh), ("partly_sold", partly), ("updated", updated), ("expiring", expiring)]


def test_onchain_listing_can_always_be_closed(market: Market) -> None:
    stages = _onchain_stages(market)
    market.warp_to(market.chain.latest_timestamp() + 2 * DAY)  # the expiring one has expired
    for name, listing in stages:
        assert listing_state(market, listing.id)[0], name
        close_listing(market, listing.salt)
        assert listing_state(market, listing.id) == (False, 0, 0, 0), name
        with reverts("ListingNotActive", listing.id):
            market.buy(listing)


def test_sold_out_listing_has_nothing_to_close(market: Market) -> None:
    listing = market.list(quantity=2)
    market.buy(listing, 2)
    with reverts("ListingNotActive", listing.id):
        close_listing(market, listing.salt)


def _cancel(market: Market, listing: Listing) -> None:
    fn = market.market.functions.cancelSignedListing(
        listing.terms.as_tuple(), listing.quantity, listing.salt
    )
    market.send(market.seller, fn)


def test_signed_listing_can_always_be_cancelled_while_units_remain(market: Market) -> None:
    never_bought = market.sign_listing(quantity=2)
    partly = market.sign_listing(quantity=3)
    market.buy(partly, 1)
    market.buy(partly, 1, buyer=market.others[0])
    expiring = market.sign_listing(
        market.terms(expiry=market.chain.latest_timestamp() + DAY), quantity=2
    )
    market.buy(expiring)
    market.warp_to(market.chain.latest_timestamp() + 2 * DAY)
    for listing in (never_bought, partly, expiring):
        _cancel(market, listing)
        assert listing_state(market, listing.id) == (False, 0, 0, 0)
        assert market.market.functions.record(listing.id).call() == 1  # spent forever
        with reverts("ListingNotActive", listing.id):
            market.buy(listing)
        with reverts("ListingNotActive", listing.id):
            _cancel(market, listing)


def test_cancel_signed_listing_emits_listing_closed(market: Market) -> None:
    listing = market.sign_listing()
    fn = market.market.functions.cancelSignedListing(
        listing.terms.as_tuple(), listing.quantity, listing.salt
    )
    receipt = market.send(market.seller, fn)
    events = market.events(receipt)
    assert [name for name, _ in events] == ["ListingClosed"]
    args = events[0][1]
    assert (bytes(args["listingId"]), args["seller"]) == (listing.id, market.seller.address)


def test_cancel_signed_listing_after_sold_out_reverts_listing_not_active(market: Market) -> None:
    listing = market.sign_listing(quantity=2)
    ref = market.buy(listing, 2)
    assert ref.id == listing.id
    with reverts("ListingNotActive", listing.id):
        _cancel(market, listing)


def test_cancel_signed_listing_by_other_account_reverts_not_seller(market: Market) -> None:
    listing = market.sign_listing()
    fn = market.market.functions.cancelSignedListing(
        listing.terms.as_tuple(), listing.quantity, listing.salt
    )
    with reverts("NotSeller", market.stranger.address, market.seller.address):
        market.send(market.stranger, fn)
    market.buy(listing)
