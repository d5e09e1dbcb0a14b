"""A test driver for the Bookings contract, on top of :class:`market.Market`'s deployment.

Every write is a real signed transaction. Bookings are rebuilt from the receipts' events with
:mod:`p2pchain.chain._booking_model`, and each rebuilt booking is checked against the contract's
own record (``hashBooking`` against ``bookingRecord``), so the Python mirror of the state machine
is verified on every step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from p2pchain.chain._booking_model import (
    Booking,
    BookingState,
    RentalTerms,
    apply_booking_event,
    blocked_period,
    booking_hash,
    open_booking,
    rental_listing_id,
)

from .market import CIDV0_PREFIX, DAY, ETH, Market

HOUR = 3_600
#: A rate that reads well in failures: 0.05 ETH per day.
RATE = 5 * 10**16
DEPOSIT = 10**17


@dataclass
class Rental:
    """A rental listing the driver created."""

    id: bytes
    terms: RentalTerms
    salt: bytes


@dataclass
class BookingRef:
    """A booking's id and its current full state, as rebuilt from events."""

    id: bytes
    booking: Booking
    receipts: list[TxReceipt] = field(default_factory=list)


class Rentals:
    """Drives the Bookings contract of one :class:`Market` deployment."""

    def __init__(self, market: Market) -> None:
        self.m = market
        self.contract = market.bookings
        self.owner = market.seller
        self.renter = market.buyer

    def now(self) -> int:
        return int(self.m.w3.eth.get_block("latest")["timestamp"])

    def terms(self, **overrides: Any) -> RentalTerms:
        """Daily rental from the next midnight-aligned day + 2, bookable for a year, 1 to 14 days,
        no lead time, free cancellation until 2 days before, then half the rent back, 3-day
        claim window, the market's arbitrator at 2%."""
        first = (self.now() // DAY + 2) * DAY + 10 * HOUR
        values: dict[str, Any] = {
            "owner": self.owner.address,
            "token": ETH,
            "rate": RATE,
            "deposit": DEPOSIT,
            "arbitrator": self.m.arbitrator.address,
            "arbitrator_fee_bps": 200,
            "unit": DAY,
            "first_start": first,
            "last_end": first + 365 * DAY,
            "min_units": 1,
            "max_units": 14,
            "lead_time": 0,
            "free_cancel": 2 * DAY,
            "late_refund_bps": 5_000,
            "claim_window": 3 * DAY,
            "cid_prefix": CIDV0_PREFIX,
            "cid_digest": os.urandom(32),
        }
        values.update(overrides)
        return RentalTerms(**values)

    def list(
        self, terms: RentalTerms | None = None, *, owner: LocalAccount | None = None
    ) -> Rental:
        owner = owner or self.owner
        terms = terms or self.terms(owner=owner.address)
        salt = os.urandom(32)
        receipt = self.m.send(owner, self.contract.functions.list(terms.as_tuple(), salt))
        ((_, args),) = [e for e in self.events(receipt) if e[0] == "RentalListed"]
        assert bytes(args["listingId"]) == rental_listing_id(owner.address, salt)
        return Rental(id=bytes(args["listingId"]), terms=terms, salt=salt)

    def events(self, receipt: TxReceipt) -> list[tuple[str, Any]]:
        return self.m.events(receipt, self.contract)

    def book(
        self,
        rental: Rental,
        first_slot: int,
        units: int,
        *,
        renter: LocalAccount | None = None,
        terms: RentalTerms | None = None,
        value: int | None = None,
    ) -> BookingRef:
        renter = renter or self.renter
        seen = terms or rental.terms
        if value is None:
            value = seen.rate * units + seen.deposit if seen.token == ETH else 0
        fn = self.contract.functions.book(rental.id, seen.as_tuple(), first_slot, units)
        receipt = self.m.send(renter, fn, value=value)
        ((_, args),) = [e for e in self.events(receipt) if e[0] == "Booked"]
        booking = open_booking(rental.id, seen, renter.address, first_slot, units)
        ref = BookingRef(id=bytes(args["bookingId"]), booking=booking, receipts=[receipt])
        self.assert_current(ref)
        return ref

    def block(self, rental: Rental, first_slot: int, units: int) -> BookingRef:
        fn = self.contract.functions.blockPeriod(rental.salt, first_slot, units)
        receipt = self.m.send(self.owner, fn)
        ((_, args),) = [e for e in self.events(receipt) if e[0] == "PeriodBlocked"]
        t = rental.terms
        booking = blocked_period(rental.id, t.owner, t.first_start, t.unit, first_slot, units)
        ref = BookingRef(id=bytes(args["bookingId"]), booking=booking, receipts=[receipt])
        self.assert_current(ref)
        return ref

    def act(self, action: str, account: LocalAccount, ref: BookingRef, *extra: Any) -> TxReceipt:
        """Call a booking function (``cancel``, ``confirmReturn``...) and advance ``ref``."""
        fn = getattr(self.contract.functions, action)(ref.id, ref.booking.as_tuple(), *extra)
        receipt = self.m.send(account, fn)
        for name, args in self.events(receipt):
            if "bookingId" in args and bytes(args["bookingId"]) == ref.id:
                ref.booking = apply_booking_event(ref.booking, name, args)
        ref.receipts.append(receipt)
        self.assert_current(ref)
        return receipt

    def rate(
        self, account: LocalAccount, ref: BookingRef, score: int, cid: bytes = b""
    ) -> TxReceipt:
        fn = self.m.reputation.functions.rateBooking(ref.id, ref.booking.as_tuple(), score, cid)
        return self.m.send(account, fn)

    def record(self, booking_id: bytes) -> int:
        return int(self.contract.functions.bookingRecord(booking_id).call())

    def assert_current(self, ref: BookingRef) -> None:
        """The rebuilt booking is what the chain stores (or deleted, if rebuilt as NONE)."""
        stored = self.record(ref.id)
        if ref.booking.state == BookingState.NONE:
            assert stored == 0, "a cancelled or unblocked booking must be deleted"
            return
        assert stored & ~3 == booking_hash(ref.booking), f"rebuilt booking differs: {ref.booking}"
        on_chain = int(self.contract.functions.hashBooking(ref.booking.as_tuple()).call())
        assert on_chain == booking_hash(ref.booking)

    def is_free(self, rental: Rental, first_slot: int, units: int) -> bool:
        return bool(self.contract.functions.isFree(rental.id, first_slot, units).call())

    def escrow(self) -> int:
        return self.m.balance(self.contract.address)

    def warp(self, timestamp: int) -> None:
        self.m.warp_to(timestamp)
