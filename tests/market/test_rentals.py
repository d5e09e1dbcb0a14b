"""The library's bookings API (``client.rentals``) on a real chain: terms validated before any
transaction, booking by period, the calendar read back from the contract, a refused overlap as a
typed error before any gas is spent, the lifecycle, bookings rebuilt from events alone, and
ERC-20 rentals with the approval prepared in front."""

from __future__ import annotations

import pytest
from _market import ONE, Market, random_cid

from p2pchain import InputError, TermsChanged, Unavailable
from p2pchain.chain._booking_model import BookingState
from p2pchain.market._bookings import DAY, HOUR, parse_rate

RATE = 5 * 10**16


def _now(market: Market) -> int:
    return int(market.chain.w3.eth.get_block("latest")["timestamp"])


def _car(market: Market, **overrides: object):  # type: ignore[no-untyped-def]
    first = (_now(market) // DAY + 2) * DAY + 10 * HOUR
    values: dict[str, object] = {
        "rate": RATE,
        "unit": DAY,
        "cid": random_cid(),
        "first_start": first,
        "last_end": first + 180 * DAY,
        "deposit": ONE // 10,
        "arbitrator": market.arbitrator_account.address,
        "arbitrator_fee_bps": 200,
        "max_units": 14,
    }
    values.update(overrides)
    rentals = market.seller.rentals
    return rentals.create(rentals.make_terms(**values))  # type: ignore[arg-type]


def test_terms_are_checked_before_any_transaction(market: Market) -> None:
    rentals = market.seller.rentals
    first = _now(market) + DAY
    ok = {"rate": RATE, "unit": DAY, "cid": random_cid(), "first_start": first,
          "last_end": first + 30 * DAY}  # fmt: skip
    for change, message in (
        ({"unit": 60}, "15 minutes to 7 days"),
        ({"rate": 0}, "above zero"),
        ({"min_units": 5, "max_units": 2}, "minimum <= maximum"),
        ({"late_refund_bps": 20_000}, "at most 100%"),
        ({"last_end": first}, "end after it starts"),
        ({"arbitrator_fee_bps": 100}, "only with an arbitrator"),
    ):
        with pytest.raises(InputError, match=message):
            rentals.make_terms(**{**ok, **change})  # type: ignore[arg-type]


def test_parse_rate() -> None:
    assert parse_rate("0.05eth/day") == ("0.05eth", DAY)
    assert parse_rate("5 usdc / hour") == ("5 usdc", HOUR)
    with pytest.raises(InputError, match="amount per period"):
        parse_rate("0.05eth")
    with pytest.raises(InputError, match="amount per period"):
        parse_rate("1eth/fortnight")


def test_book_calendar_overlap_and_return(market: Market) -> None:
    car = _car(market)
    renter = market.buyer.rentals
    booking = renter.book(car.id, 5, 2)
    assert booking.state is BookingState.BOOKED
    assert booking.booking.rent == 2 * RATE
    assert market.seller.rentals.taken(car.id, 0, 30) == {5, 6}
    # a second renter is refused before sending anything (no gas spent)
    stranger = market.stranger.rentals
    balance = market.chain.w3.eth.get_balance(market.stranger_account.address)
    with pytest.raises(Unavailable, match="already booked"):
        stranger.book(car.id, 6, 2)
    assert market.chain.w3.eth.get_balance(market.stranger_account.address) == balance
    stranger.book(car.id, 7, 2)  # the next days are free
    # rebuilt from events alone, and checked against the contract
    again = market.stranger.rentals.booking(booking.id)
    assert again.booking == booking.booking
    assert [h[0] for h in again.history] == ["Booked"]
    assert next(b.id for b in market.seller.rentals.bookings(car.id)) == booking.id
    market.warp_to(booking.booking.start)
    done = market.seller.rentals.confirm_return(booking.id, random_cid())
    assert done.state is BookingState.COMPLETED
    rated = market.buyer.rentals.rate(done, 5)
    assert rated.gas_used > 0


def test_rate_change_applies_to_future_bookings_only(market: Market) -> None:
    car = _car(market)
    first = market.buyer.rentals.book(car, 3, 1)
    owner = market.seller.rentals
    from dataclasses import replace

    updated = owner.update(car.id, replace(car.terms, rate=2 * RATE))
    with pytest.raises(TermsChanged):
        market.stranger.rentals.book(car, 9, 1)  # the old terms, as seen before the change
    later = market.stranger.rentals.book(updated.id, 9, 1)
    assert (first.booking.rent, later.booking.rent) == (RATE, 2 * RATE)


def test_cancel_block_and_slots_for(market: Market) -> None:
    car = _car(market)
    rentals = market.buyer.rentals
    start = car.terms.first_start + 4 * DAY
    slot, units = rentals.slots_for(car.terms, start, start + 2 * DAY)
    assert (slot, units) == (4, 2)
    with pytest.raises(InputError, match="grid"):
        rentals.slots_for(car.terms, start + HOUR, start + DAY)
    booking = rentals.book(car, slot, units)
    cancelled = rentals.cancel(booking)
    assert cancelled.state is BookingState.NONE
    assert market.seller.rentals.taken(car, 0, 10) == set()
    held = market.seller.rentals.block(car, 4, 3)
    with pytest.raises(Unavailable):
        rentals.book(car, 5, 1)
    market.seller.rentals.unblock(held)
    rentals.book(car, 5, 1)


def test_erc20_rental_prepares_the_approval_first(market: Market) -> None:
    token = market.deploy_token("TestERC20", "Test", "TST")
    market.call_token(market.deployer, token, "mint", market.buyer_account.address, 10**6)
    car = _car(market, token=token.address, rate=1_000, deposit=5_000)
    call = market.buyer.rentals.prepare_book(car, 2, 3)
    assert [c.action for c in call.before] == ["approve"]
    booking = call.send()
    assert booking.booking.rent == 3_000
    assert token.functions.balanceOf(market.seller.deployment.bookings).call() == 8_000


@pytest.mark.anvil
def test_a_listings_bookings_are_read_together_and_match_one_by_one(anvil_chain) -> None:  # type: ignore[no-untyped-def]
    """Five bookings in different states: ``bookings()`` rebuilds each exactly as ``booking()``
    does, in five requests to the node, not three per booking."""
    from _market import make_market
    from chain._faulty_rpc import FaultyRpc

    from p2pchain import MarketplaceClient

    market = make_market(anvil_chain)
    car = _car(market)
    renter = market.buyer.rentals
    kept = renter.book(car.id, 3, 2)
    renter.cancel(renter.book(car.id, 6, 1))
    market.stranger.rentals.book(car.id, 8, 3)
    held = market.seller.rentals.block(car.id, 12, 2)
    market.seller.rentals.unblock(held)
    market.seller.rentals.block(car.id, 20, 1)
    singly = [market.seller.rentals.booking(b.id) for b in market.seller.rentals.bookings(car.id)]
    with FaultyRpc(anvil_chain.url) as proxy:
        reader = MarketplaceClient.connect(proxy.url, deployments=market.seller.deployment)
        reader.rentals.listing(car.id)  # the Bookings deployment check and the listing
        before = len(proxy.requests)
        together = reader.rentals.bookings(car.id)
        asked = proxy.requests[before:]
        reader.close()
    assert [(v.id, v.booking, v.history) for v in together] == [
        (v.id, v.booking, v.history) for v in singly
    ]
    assert len(together) == 5 and together[0].id == kept.id
    assert [v.state for v in together].count(BookingState.NONE) == 2  # cancelled, unblocked
    # the listing, its openings, every booking's events, the terms, one batch of records
    assert asked == [["eth_getLogs"]] * 4 + [["eth_call"] * 5], asked
