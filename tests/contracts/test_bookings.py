"""The Bookings contract on a real chain: booking by period, no double booking at any boundary,
the lifecycle (cancel, pickup, return, damage claim, dispute, finalize, rulings, timeouts), an exit
from every state, ratings, ERC-20 rentals, hostile receivers, and a race for one weekend in one
block on Anvil.

Every booking is rebuilt from events by ``p2pchain.chain._booking_model`` and checked against the
contract's record after every step (see ``bookings.py``).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from p2pchain.chain._booking_model import BookingState
from p2pchain.chain._nodes import AnvilChain

from ._helpers import deploy_token, events_named, market_fixture, reverts  # noqa: F401
from .bookings import DEPOSIT, HOUR, RATE, BookingRef, Rental, Rentals
from .market import DAY, ETH, Market
from .test_adversarial import Actor, calldata, deploy_actor, execute, reentries


@pytest.fixture
def r(market: Market) -> Rentals:
    return Rentals(market)


@pytest.fixture
def car(r: Rentals) -> Rental:
    return r.list()


def credited(r: Rentals, receipt: object) -> list[tuple[str, str, int]]:
    """``(token, account, amount)`` of every ``Credited`` the Bookings contract logged."""
    found = events_named(r.m, receipt, "Credited", r.contract)  # type: ignore[arg-type]
    return [(a["token"], a["account"], a["amount"]) for a in found]


def _held(r: Rentals, *refs: BookingRef) -> int:
    return sum(ref.booking.held for ref in refs)


# ============================================================================ booking


def test_book_takes_rent_and_deposit_into_escrow_and_marks_the_calendar(
    r: Rentals, car: Rental
) -> None:
    before = r.escrow()
    ref = r.book(car, 3, 2)
    b = ref.booking
    assert (b.start, b.end) == (car.terms.first_start + 3 * DAY, car.terms.first_start + 5 * DAY)
    assert (b.rent, b.deposit) == (2 * RATE, DEPOSIT)
    assert b.deadline == b.end + 3 * DAY and b.free_cancel_until == b.start - 2 * DAY
    assert r.escrow() - before == 2 * RATE + DEPOSIT == _held(r, ref)
    assert not r.is_free(car, 3, 1) and not r.is_free(car, 4, 1)
    assert r.is_free(car, 2, 1) and r.is_free(car, 5, 1)


#: (first slot, units) tried against a booking of slots 10, 11, 12 and whether it fits.
BOUNDARIES = (
    (7, 3, True),  # ends exactly where it starts
    (13, 2, True),  # starts exactly where it ends
    (9, 2, False),  # overlaps its first day
    (12, 2, False),  # overlaps its last day
    (10, 3, False),  # the same days
    (11, 1, False),  # inside
    (8, 7, False),  # straddles it
    (10, 1, False),  # its first day alone
    (12, 1, False),  # its last day alone
)


@pytest.mark.parametrize(("first", "units", "fits"), BOUNDARIES)
def test_no_double_booking_at_any_boundary(
    r: Rentals, car: Rental, first: int, units: int, fits: bool
) -> None:
    r.book(car, 10, 3)
    other = r.m.others[0]
    if fits:
        ref = r.book(car, first, units, renter=other)
        assert ref.booking.state is BookingState.BOOKED
    else:
        before = r.escrow()
        with reverts("Unavailable", car.id, first, units):
            r.book(car, first, units, renter=other)
        assert r.escrow() == before


def test_bookings_across_a_calendar_word_boundary(r: Rentals) -> None:
    hourly = r.list(r.terms(unit=HOUR, max_units=48, last_end=r.now() + 400 * DAY))
    r.book(hourly, 250, 10)  # periods 250..259: words 0 and 1
    assert int(r.contract.functions.calendarWord(hourly.id, 1).call()) == (1 << 255) | 0b11111
    for first, units in ((254, 2), (255, 1), (259, 3), (240, 11)):
        with reverts("Unavailable", hourly.id, first, units):
            r.book(hourly, first, units, renter=r.m.others[0])
    r.book(hourly, 260, 5, renter=r.m.others[0])
    r.book(hourly, 245, 5, renter=r.m.others[1])


def test_length_limits_and_the_last_date(r: Rentals, car: Rental) -> None:
    with reverts("InvalidBookingLength", 15, 1, 14):
        r.book(car, 0, 15)
    with reverts("InvalidBookingLength", 0, 1, 14):
        r.book(car, 0, 0)
    t = car.terms
    with reverts(
        "OutsideCalendar", t.first_start + 364 * DAY, t.first_start + 366 * DAY, t.last_end
    ):
        r.book(car, 364, 2)
    r.book(car, 363, 2)  # ends exactly at the last date


def test_lead_time_self_booking_and_arbitrator_are_refused(r: Rentals) -> None:
    t = r.terms(lead_time=3 * DAY)
    car = r.list(t)
    now = r.now()
    # slot 0 starts within 2 days + 10 h: sooner than the 3-day lead time
    with pytest.raises(Exception, match="TooSoon"):
        r.book(car, 0, 1)
    assert now + 3 * DAY <= t.first_start + 2 * DAY
    r.book(car, 2, 1)
    with reverts("SelfBooking", r.owner.address):
        r.book(car, 5, 1, renter=r.owner)
    with reverts("ArbitratorIsParty", r.m.arbitrator.address):
        r.book(car, 5, 1, renter=r.m.arbitrator)


def test_wrong_payment_and_stale_terms_are_refused(r: Rentals, car: Rental) -> None:
    with reverts("WrongPayment", RATE + DEPOSIT, RATE + DEPOSIT - 1):
        r.book(car, 0, 1, value=RATE + DEPOSIT - 1)
    cheaper = replace(car.terms, rate=1)
    with reverts("TermsChanged", car.id):
        r.book(car, 0, 1, terms=cheaper, value=1 + DEPOSIT)


def test_owner_changes_the_rate_for_future_bookings_only(r: Rentals, car: Rental) -> None:
    early = r.book(car, 0, 2)
    new_terms = replace(car.terms, rate=2 * RATE, max_units=30)
    r.m.send(r.owner, r.contract.functions.updateListing(car.salt, new_terms.as_tuple()))
    with reverts("TermsChanged", car.id):
        r.book(car, 5, 1)
    later = r.book(Rental(car.id, new_terms, car.salt), 5, 20)
    assert (early.booking.rent, later.booking.rent) == (2 * RATE, 40 * RATE)
    # the grid cannot move under existing bookings
    for change in ({"unit": HOUR}, {"first_start": car.terms.first_start + HOUR}):
        moved = replace(new_terms, **change)
        with reverts("GridChanged", car.id):
            r.m.send(r.owner, r.contract.functions.updateListing(car.salt, moved.as_tuple()))
    r.warp(early.booking.start)
    owner_before = r.m.balance(r.owner.address)
    receipt = r.act("confirmReturn", r.owner, early, b"")
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert r.m.balance(r.owner.address) == owner_before + 2 * RATE - spent


def test_closed_listing_takes_no_bookings_but_existing_ones_go_on(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 0, 1)
    r.m.send(r.owner, r.contract.functions.closeListing(car.salt))
    with reverts("ListingNotActive", car.id):
        r.book(car, 3, 1)
    r.warp(ref.booking.start)
    r.act("confirmReturn", r.owner, ref, b"")
    assert ref.booking.state is BookingState.COMPLETED


def test_owner_blocks_and_unblocks_periods(r: Rentals, car: Rental) -> None:
    hold = r.block(car, 20, 5)
    with reverts("Unavailable", car.id, 22, 1):
        r.book(car, 22, 1)
    with reverts("Unauthorized", hold.id, r.renter.address):
        r.act("unblockPeriod", r.renter, hold)
    r.act("unblockPeriod", r.owner, hold)
    r.book(car, 22, 1)


def test_terms_are_validated(r: Rentals) -> None:
    bad: list[tuple[dict[str, object], str]] = [
        ({"rate": 0}, "InvalidRate"),
        ({"unit": 60}, "InvalidCalendar"),
        ({"last_end": 0}, "InvalidCalendar"),
        ({"min_units": 0}, "InvalidLengths"),
        ({"min_units": 5, "max_units": 4}, "InvalidLengths"),
        ({"max_units": 1001}, "InvalidLengths"),
        ({"late_refund_bps": 10_001}, "InvalidPolicy"),
        ({"claim_window": 366 * DAY}, "InvalidPolicy"),
        ({"arbitrator_fee_bps": 1_001}, "InvalidArbitratorFee"),
        ({"cid_digest": b"\0" * 32}, "InvalidCid"),
    ]
    for change, error in bad:
        terms = r.terms(**change)
        with pytest.raises(Exception, match=error):
            r.list(terms)


# ============================================================================ lifecycle


def test_return_pays_the_rent_and_gives_the_deposit_back(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 1, 2)
    with reverts("WindowOpen", ref.id, ref.booking.start):
        r.act("confirmReturn", r.owner, ref, b"")
    r.warp(ref.booking.start + HOUR)
    photos = bytes.fromhex("1220") + b"\x11" * 32
    r.act("pickup", r.renter, ref, photos)
    renter_before = r.m.balance(r.renter.address)
    owner_before = r.m.balance(r.owner.address)
    r.warp(ref.booking.end)
    with reverts("Unauthorized", ref.id, r.renter.address):
        r.act("confirmReturn", r.renter, ref, b"")
    receipt = r.act("confirmReturn", r.owner, ref, photos)
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert ref.booking.state is BookingState.COMPLETED
    assert r.m.balance(r.renter.address) == renter_before + DEPOSIT
    assert r.m.balance(r.owner.address) == owner_before + 2 * RATE - spent
    assert [e["evidenceCid"] for e in events_named(r.m, receipt, "Returned", r.contract)] == [
        photos
    ]


def test_cancellation_policy(r: Rentals, car: Rental) -> None:
    free = r.book(car, 10, 2)
    late = r.book(car, 20, 2)
    before = r.m.balance(r.renter.address)
    receipt = r.act("cancel", r.renter, free)
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert r.m.balance(r.renter.address) == before + 2 * RATE + DEPOSIT - spent
    assert r.is_free(car, 10, 2)
    # the freed days can be booked again, by someone else
    r.book(car, 10, 2, renter=r.m.others[0])
    # late: after freeCancelUntil, half the rent back, the other half to the owner
    r.warp(late.booking.free_cancel_until)
    owner_before = r.m.balance(r.owner.address)
    receipt = r.act("cancel", r.renter, late)
    (cancelled,) = events_named(r.m, receipt, "Cancelled", r.contract)
    assert (cancelled["renterRefund"], cancelled["ownerShare"]) == (RATE + DEPOSIT, RATE)
    assert r.m.balance(r.owner.address) == owner_before + RATE


def test_no_cancellation_after_the_start_or_the_pickup(r: Rentals, car: Rental) -> None:
    started = r.book(car, 5, 2)
    picked = r.book(car, 10, 2)
    r.act("pickup", r.renter, picked, b"")
    with reverts("WindowClosed", picked.id, picked.booking.start):
        r.act("cancel", r.renter, picked)
    r.warp(started.booking.start)
    with reverts("WindowClosed", started.id, started.booking.start):
        r.act("cancel", r.renter, started)
    with reverts("Unauthorized", started.id, r.m.stranger.address):
        r.act("cancel", r.m.stranger, started)


def test_owner_cancel_refunds_everything_and_can_be_rated(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 4, 3)
    before = r.m.balance(r.renter.address)
    r.act("cancel", r.owner, ref)
    assert ref.booking.state is BookingState.REFUNDED
    assert r.m.balance(r.renter.address) == before + 3 * RATE + DEPOSIT
    assert r.is_free(car, 4, 3)
    receipt = r.rate(r.renter, ref, 1)
    (rated,) = events_named(r.m, receipt, "Rated", r.m.reputation)
    assert (rated["subject"], rated["value"]) == (r.owner.address, 0)


def test_damage_claim_pays_the_rent_now_and_the_arbitrator_rules_over_the_deposit(
    r: Rentals, car: Rental
) -> None:
    ref = r.book(car, 2, 2)
    r.warp(ref.booking.end + HOUR)
    owner_before = r.m.balance(r.owner.address)
    receipt = r.act("claimDamage", r.owner, ref, bytes.fromhex("1220") + b"\x22" * 32)
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert r.m.balance(r.owner.address) == owner_before + 2 * RATE - spent
    assert ref.booking.state is BookingState.DISPUTED and ref.booking.held == DEPOSIT
    r.act("attachEvidence", r.renter, ref, bytes.fromhex("1220") + b"\x33" * 32)
    fee = DEPOSIT * 200 // 10_000
    with reverts("ShareTooLarge", ref.id, DEPOSIT, DEPOSIT - fee):
        r.act("rule", r.m.arbitrator, ref, DEPOSIT)
    renter_before = r.m.balance(r.renter.address)
    r.act("rule", r.m.arbitrator, ref, 30 * DEPOSIT // 100)
    assert r.m.balance(r.renter.address) == renter_before + 30 * DEPOSIT // 100
    assert r.escrow() == 0
    # the owner's rating is valued by what it was paid: the rent plus its part of the deposit
    receipt = r.rate(r.renter, ref, 2)
    (rated,) = events_named(r.m, receipt, "Rated", r.m.reputation)
    assert rated["value"] == 2 * RATE + DEPOSIT - fee - 30 * DEPOSIT // 100
    with reverts("AlreadyRated", ref.id, r.renter.address):
        r.rate(r.renter, ref, 2)
    r.rate(r.owner, ref, 3)


def test_ruling_timeout_returns_the_deposit(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 2, 1)
    r.warp(ref.booking.start)
    r.act("claimDamage", r.owner, ref, b"")
    with reverts("WindowOpen", ref.id, ref.booking.deadline):
        r.act("claimRulingTimeout", r.m.stranger, ref)
    r.warp(ref.booking.deadline)
    with reverts("WindowClosed", ref.id, ref.booking.deadline):
        r.act("rule", r.m.arbitrator, ref, 0)
    before = r.m.balance(r.renter.address)
    r.act("claimRulingTimeout", r.m.stranger, ref)
    assert r.m.balance(r.renter.address) == before + DEPOSIT
    assert ref.booking.state is BookingState.RULING_TIMED_OUT and r.escrow() == 0


def test_claim_window_runs_from_the_end_not_from_the_booking(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 30, 2)  # a month ahead: a window from the booking would be long gone
    r.warp(ref.booking.end + 3 * DAY - 1)
    r.act("claimDamage", r.owner, ref, b"")
    assert ref.booking.state is BookingState.DISPUTED


def test_claims_need_an_arbitrator_a_deposit_and_the_window(r: Rentals) -> None:
    plain = r.list(r.terms(arbitrator=ETH, arbitrator_fee_bps=0))
    ref = r.book(plain, 1, 1)
    r.warp(ref.booking.start)
    with reverts("NoArbitrator", ref.id):
        r.act("claimDamage", r.owner, ref, b"")
    with reverts("NoArbitrator", ref.id):
        r.act("dispute", r.renter, ref, b"")
    no_deposit = r.list(r.terms(deposit=0))
    ref2 = r.book(no_deposit, 3, 1)
    r.warp(ref2.booking.start)
    with reverts("NothingToClaim", ref2.id):
        r.act("claimDamage", r.owner, ref2, b"")
    r.warp(ref2.booking.deadline)
    with reverts("WindowClosed", ref2.id, ref2.booking.deadline):
        r.act("dispute", r.renter, ref2, b"")


def test_renter_dispute_puts_everything_before_the_arbitrator(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 1, 2)
    r.act("dispute", r.renter, ref, b"")
    assert ref.booking.held == 2 * RATE + DEPOSIT
    r.warp(ref.booking.deadline)
    before = r.m.balance(r.renter.address)
    r.act("claimRulingTimeout", r.owner, ref)
    assert r.m.balance(r.renter.address) == before + 2 * RATE + DEPOSIT


# ============================================================================ exits


def test_every_state_has_an_exit_without_the_other_party(r: Rentals, car: Rental) -> None:
    """Booked -> finalize by a stranger; Disputed -> timeout by a stranger; Blocked -> unblock."""
    booked = r.book(car, 1, 1)
    with reverts("WindowOpen", booked.id, booked.booking.deadline):
        r.act("finalize", r.m.stranger, booked)
    disputed = r.book(car, 5, 1)
    r.act("dispute", r.renter, disputed, b"")
    blocked = r.block(car, 40, 2)
    r.warp(max(booked.booking.deadline, disputed.booking.deadline))
    r.act("finalize", r.m.stranger, booked)
    r.act("claimRulingTimeout", r.m.stranger, disputed)
    r.act("unblockPeriod", r.owner, blocked)
    assert booked.booking.state is BookingState.COMPLETED
    assert disputed.booking.state is BookingState.RULING_TIMED_OUT
    assert blocked.booking.state is BookingState.NONE
    assert r.escrow() == 0
    # final states take no more settlement calls
    for action in ("finalize", "cancel", "claimRulingTimeout"):
        with pytest.raises(Exception, match="BookingNotInState"):
            r.act(action, r.owner, booked)


def test_forged_or_stale_bookings_are_refused(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 1, 1)
    forged = BookingRef(ref.id, replace(ref.booking, deposit=0, rent=10 * RATE))
    with reverts("UnknownBooking", ref.id):
        r.act("cancel", r.renter, forged)
    r.act("cancel", r.renter, ref)
    with reverts("UnknownBooking", ref.id):
        r.act(
            "cancel", r.renter, BookingRef(ref.id, replace(ref.booking, state=BookingState.BOOKED))
        )


def test_only_settled_bookings_are_rated_once_per_side(r: Rentals, car: Rental) -> None:
    ref = r.book(car, 1, 1)
    with reverts("BookingNotFinal", ref.id, int(BookingState.BOOKED)):
        r.rate(r.renter, ref, 5)
    r.warp(ref.booking.start)
    r.act("confirmReturn", r.owner, ref, b"")
    with reverts("Unauthorized", ref.id, r.m.stranger.address):
        r.rate(r.m.stranger, ref, 5)
    receipt = r.rate(r.renter, ref, 5)
    (rated,) = events_named(r.m, receipt, "Rated", r.m.reputation)
    assert (rated["tradeId"], rated["subject"], rated["value"]) == (ref.id, r.owner.address, RATE)
    r.rate(r.owner, ref, 4)
    agg = r.m.reputation.functions.aggregate(r.owner.address, ETH).call()
    assert (agg[0], agg[1], agg[2]) == (1, 5, RATE)


# ============================================================================ hostile parties


def test_erc20_rental_round_trip(r: Rentals) -> None:
    token = deploy_token(r.m)
    terms = r.terms(token=token.address, rate=50, deposit=100)
    rental = r.list(terms)
    r.m.send(r.m.deployer, token.functions.mint(r.renter.address, 1_000))
    with pytest.raises(Exception, match="ERC20InsufficientAllowance"):
        r.book(rental, 1, 2)
    r.m.send(r.renter, token.functions.approve(r.contract.address, 200))
    ref = r.book(rental, 1, 2)
    assert token.functions.balanceOf(r.contract.address).call() == 200
    r.warp(ref.booking.start)
    r.act("confirmReturn", r.owner, ref, b"")
    assert token.functions.balanceOf(r.owner.address).call() == 100
    assert token.functions.balanceOf(r.renter.address).call() == 1_000 - 100
    assert token.functions.balanceOf(r.contract.address).call() == 0


def _hostile_owner(r: Rentals) -> tuple[Actor, Rental]:
    actor = deploy_actor(r.m, "ReentrantReceiver", r.m.others[0])
    terms = r.terms(owner=actor.address)
    import os

    salt = os.urandom(32)
    execute(r.m, actor, r.contract, "list", terms.as_tuple(), salt)
    from p2pchain.chain._booking_model import rental_listing_id

    return actor, Rental(rental_listing_id(actor.address, salt), terms, salt)


@pytest.mark.parametrize("action", ["finalize", "claimRulingTimeout", "cancel"])
def test_hostile_owner_reentering_during_its_payout_cannot_take_twice(
    r: Rentals, action: str
) -> None:
    actor, rental = _hostile_owner(r)
    ref = r.book(rental, 1, 1)
    r.warp(ref.booking.deadline)
    # while being paid the rent, the owner calls back into the same booking
    args = (ref.id, ref.booking.as_tuple())
    r.m.send(
        actor.owner,
        actor.contract.functions.arm(
            r.contract.address, calldata(r.contract, action, *args), False
        ),
    )
    receipt = r.act("finalize", r.m.stranger, ref)
    outcomes = reentries(r.m, receipt, actor.contract, "Reentered")
    assert len(outcomes) == 1 and outcomes[0][0] is False
    assert r.m.balance(actor.address) == RATE
    assert r.escrow() == 0
    assert credited(r, receipt) == []


def test_hostile_owner_that_refuses_payment_is_credited_and_the_renter_still_gets_its_deposit(
    r: Rentals,
) -> None:
    actor = deploy_actor(r.m, "RevertingReceiver", r.m.others[1])
    import os

    from p2pchain.chain._booking_model import rental_listing_id

    terms = r.terms(owner=actor.address)
    salt = os.urandom(32)
    execute(r.m, actor, r.contract, "list", terms.as_tuple(), salt)
    rental = Rental(rental_listing_id(actor.address, salt), terms, salt)
    ref = r.book(rental, 1, 1)
    r.warp(ref.booking.deadline)
    before = r.m.balance(r.renter.address)
    receipt = r.act("finalize", r.m.stranger, ref)
    assert credited(r, receipt) == [(ETH, actor.address, RATE)]
    assert r.m.balance(r.renter.address) == before + DEPOSIT
    assert r.escrow() == RATE == int(r.contract.functions.credit(ETH, actor.address).call())


# ============================================================================ one-block race


def test_two_renters_racing_for_one_weekend_in_one_block(anvil_chain: AnvilChain) -> None:
    """Exactly one wins; the other's transaction reverts with Unavailable and pays nothing into
    escrow (only its gas)."""
    from p2pchain.chain._tx import send_transaction  # noqa: F401 - the path Market.send takes

    m = Market(anvil_chain)
    r = Rentals(m)
    car = r.list()
    a, b = m.others[0], m.others[1]
    value = 2 * RATE + DEPOSIT
    w3 = m.w3
    anvil_chain.rpc("evm_setAutomine", [False])
    try:
        hashes = []
        for who in (a, b):
            tx = r.contract.functions.book(car.id, car.terms.as_tuple(), 5, 2).build_transaction(
                {
                    "from": who.address,
                    "value": value,
                    "gas": 300_000,
                    "nonce": w3.eth.get_transaction_count(who.address),
                }
            )
            signed = who.sign_transaction(tx)
            hashes.append(w3.eth.send_raw_transaction(signed.raw_transaction))
        escrow_before = r.escrow()
        b_before = m.balance(b.address)
        anvil_chain.rpc("evm_mine", [])
    finally:
        anvil_chain.rpc("evm_setAutomine", [True])
    first, second = (w3.eth.get_transaction_receipt(h) for h in hashes)
    assert first["blockNumber"] == second["blockNumber"]
    assert (first["status"], second["status"]) == (1, 0)
    assert r.escrow() - escrow_before == value
    spent = second["gasUsed"] * second["effectiveGasPrice"]
    assert m.balance(b.address) == b_before - spent
    # the loser's revert names the conflict
    with reverts("Unavailable", car.id, 5, 2):
        r.book(car, 5, 2, renter=b)
    r.book(car, 12, 2, renter=b)  # and it books the next weekend instead


def test_booking_gas_does_not_grow_with_prior_bookings(r: Rentals) -> None:
    hourly = r.list(r.terms(unit=HOUR, max_units=2, last_end=r.now() + 300 * DAY))
    gas = []
    for i in range(0, 120, 2):
        ref = r.book(hourly, i, 1, renter=r.m.others[i % 4])
        gas.append(int(ref.receipts[0]["gasUsed"]))
    # one word (255 hours): after the first booking of each renter, every booking costs the same
    assert max(gas[8:]) - min(gas[8:]) <= 32, gas


def test_fee_on_transfer_token_rental_is_refused_and_pays_nothing(r: Rentals) -> None:
    from .test_adversarial import deploy_fixture

    token = deploy_fixture(r.m, "FeeOnTransferToken")
    rental = r.list(r.terms(token=token.address, rate=1_000, deposit=1_000))
    r.m.send(r.renter, token.functions.mint(r.renter.address, 10_000))
    r.m.send(r.renter, token.functions.approve(r.contract.address, 10_000))
    with pytest.raises(Exception, match="UnsupportedToken"):
        r.book(rental, 1, 1)
    assert token.functions.balanceOf(r.contract.address).call() == 0
    assert r.is_free(rental, 1, 1)


def test_frozen_token_payout_is_credited_and_the_other_side_still_paid(r: Rentals) -> None:
    """A token that freezes the owner: the return still completes; the rent waits as a credit
    the owner withdraws once unfrozen, and the renter's deposit comes back at once."""
    from .test_adversarial import deploy_fixture

    token = deploy_fixture(r.m, "BlocklistToken")
    rental = r.list(r.terms(token=token.address, rate=1_000, deposit=5_000))
    r.m.send(r.m.deployer, token.functions.mint(r.renter.address, 10_000))
    r.m.send(r.renter, token.functions.approve(r.contract.address, 10_000))
    ref = r.book(rental, 1, 2)
    r.m.send(r.m.deployer, token.functions.setBlocked(r.owner.address, True))
    r.warp(ref.booking.start)
    receipt = r.act("confirmReturn", r.owner, ref, b"")
    assert credited(r, receipt) == [(token.address, r.owner.address, 2_000)]
    assert token.functions.balanceOf(r.renter.address).call() == 10_000 - 2_000
    r.m.send(r.m.deployer, token.functions.setBlocked(r.owner.address, False))
    r.m.send(r.owner, r.contract.functions.withdraw(token.address, r.owner.address))
    assert token.functions.balanceOf(r.owner.address).call() == 2_000
    assert token.functions.balanceOf(r.contract.address).call() == 0


def test_renter_with_a_hostile_receiver_cannot_block_the_owner_finalizing(r: Rentals) -> None:
    """A renter contract that reverts on every payment cannot hold the owner's rent hostage:
    finalize pays the owner and credits the renter's deposit."""
    actor = deploy_actor(r.m, "RevertingReceiver", r.m.others[2])
    car = r.list()
    t = car.terms
    value = t.rate + t.deposit
    receipt = execute(r.m, actor, r.contract, "book", car.id, t.as_tuple(), 3, 1, value=value)
    (args,) = events_named(r.m, receipt, "Booked", r.contract)
    from p2pchain.chain._booking_model import open_booking

    ref = BookingRef(bytes(args["bookingId"]), open_booking(car.id, t, actor.address, 3, 1))
    r.assert_current(ref)
    r.warp(ref.booking.deadline)
    before = r.m.balance(r.owner.address)
    receipt = r.act("finalize", r.owner, ref)
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert r.m.balance(r.owner.address) == before + t.rate - spent
    assert credited(r, receipt) == [(ETH, actor.address, t.deposit)]
