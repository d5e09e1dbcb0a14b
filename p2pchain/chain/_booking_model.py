"""Typed mirrors of the Bookings contract's structs, and the booking state machine as pure
functions.

Like trades, a booking is stored on-chain only as a hash; callers pass the whole :class:`Booking`
back. This module rebuilds it exactly as ``contracts/Bookings.sol`` does: from the listing's terms
at booking time (:func:`open_booking`), then one transition per event (:func:`apply_booking_event`).
The tests check every transition against the chain through ``hashBooking``/``bookingRecord``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from eth_utils import keccak

from p2pchain.chain._model import checksum_address, join_cid

#: Booking.flags bits (see ``Bookings.sol``).
PICKED_UP = 1
RENT_PAID = 2
WAS_DISPUTED = 4

#: Periods per calendar word (bit 255 of a word marks it in use).
SLOTS_PER_WORD = 255
#: Bits of a stored booking record that hold its hash (the two rating bits cleared).
BOOKING_HASH_MASK = ((1 << 256) - 1) & ~3

RENTAL_TERMS_TYPE = (
    "RentalTerms(address owner,address token,uint256 rate,uint256 deposit,address arbitrator,"
    "uint16 arbitratorFeeBps,uint32 unit,uint40 firstStart,uint40 lastEnd,uint16 minUnits,"
    "uint16 maxUnits,uint32 leadTime,uint32 freeCancel,uint16 lateRefundBps,uint32 claimWindow,"
    "bytes8 cidPrefix,bytes32 cidDigest)"
)
_TERMS_ABI = [
    "address",
    "address",
    "uint256",
    "uint256",
    "address",
    "uint16",
    "uint32",
    "uint40",
    "uint40",
    "uint16",
    "uint16",
    "uint32",
    "uint32",
    "uint16",
    "uint32",
    "bytes8",
    "bytes32",
]
_BOOKING_ABI = [
    "bytes32",
    "address",
    "address",
    "address",
    "address",
    "uint16",
    "uint32",
    "uint32",
    "uint40",
    "uint40",
    "uint40",
    "uint16",
    "uint256",
    "uint256",
    "uint40",
    "uint8",
    "uint8",
    "uint256",
]


class BookingState(enum.IntEnum):
    """Where a booking is in its life; mirrors ``BookingState`` in ``BookingTypes.sol``."""

    NONE = 0
    BOOKED = 1
    DISPUTED = 2
    COMPLETED = 3
    REFUNDED = 4
    RULED = 5
    RULING_TIMED_OUT = 6
    BLOCKED = 7

    @property
    def is_open(self) -> bool:
        """Whether the booking still holds funds."""
        return self in (BookingState.BOOKED, BookingState.DISPUTED)

    @property
    def is_final(self) -> bool:
        """Whether the booking is settled and can be rated."""
        return BookingState.COMPLETED <= self <= BookingState.RULING_TIMED_OUT


@dataclass(frozen=True)
class RentalTerms:
    """An owner's rental terms; mirrors ``RentalTerms`` in ``BookingTypes.sol``."""

    owner: str
    token: str
    rate: int
    deposit: int
    arbitrator: str
    arbitrator_fee_bps: int
    unit: int
    first_start: int
    last_end: int
    min_units: int
    max_units: int
    lead_time: int
    free_cancel: int
    late_refund_bps: int
    claim_window: int
    cid_prefix: bytes
    cid_digest: bytes

    @property
    def cid(self) -> bytes:
        """The listing document's binary CID."""
        return join_cid(self.cid_prefix, self.cid_digest)

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in field order."""
        return (
            self.owner,
            self.token,
            self.rate,
            self.deposit,
            self.arbitrator,
            self.arbitrator_fee_bps,
            self.unit,
            self.first_start,
            self.last_end,
            self.min_units,
            self.max_units,
            self.lead_time,
            self.free_cancel,
            self.late_refund_bps,
            self.claim_window,
            self.cid_prefix,
            self.cid_digest,
        )

    @classmethod
    def from_abi(cls, value: Mapping[str, Any] | tuple[Any, ...]) -> RentalTerms:
        """Terms from a decoded ABI tuple or an event's named struct."""
        if isinstance(value, Mapping):
            names = [
                "owner",
                "token",
                "rate",
                "deposit",
                "arbitrator",
                "arbitratorFeeBps",
                "unit",
                "firstStart",
                "lastEnd",
                "minUnits",
                "maxUnits",
                "leadTime",
                "freeCancel",
                "lateRefundBps",
                "claimWindow",
                "cidPrefix",
                "cidDigest",
            ]
            value = tuple(value[n] for n in names)
        v = tuple(value)
        return cls(
            owner=checksum_address(v[0]),
            token=checksum_address(v[1]),
            rate=int(v[2]),
            deposit=int(v[3]),
            arbitrator=checksum_address(v[4]),
            arbitrator_fee_bps=int(v[5]),
            unit=int(v[6]),
            first_start=int(v[7]),
            last_end=int(v[8]),
            min_units=int(v[9]),
            max_units=int(v[10]),
            lead_time=int(v[11]),
            free_cancel=int(v[12]),
            late_refund_bps=int(v[13]),
            claim_window=int(v[14]),
            cid_prefix=bytes(v[15]),
            cid_digest=bytes(v[16]),
        )

    def slot_start(self, slot: int) -> int:
        """When period ``slot`` begins."""
        return self.first_start + slot * self.unit

    def slot_at(self, timestamp: int) -> int:
        """The period that contains ``timestamp`` (negative before ``first_start``)."""
        return (timestamp - self.first_start) // self.unit

    def cost(self, units: int) -> tuple[int, int]:
        """``(rent, deposit)`` a booking of ``units`` periods pays into escrow."""
        return self.rate * units, self.deposit


@dataclass(frozen=True)
class Booking:
    """A booking's full state; mirrors ``Booking`` in ``BookingTypes.sol``."""

    listing_id: bytes
    renter: str
    owner: str
    token: str
    arbitrator: str
    arbitrator_fee_bps: int
    first_slot: int
    units: int
    start: int
    end: int
    free_cancel_until: int
    late_refund_bps: int
    rent: int
    deposit: int
    deadline: int
    state: BookingState
    flags: int = 0
    renter_share: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in field order."""
        return (
            self.listing_id,
            self.renter,
            self.owner,
            self.token,
            self.arbitrator,
            self.arbitrator_fee_bps,
            self.first_slot,
            self.units,
            self.start,
            self.end,
            self.free_cancel_until,
            self.late_refund_bps,
            self.rent,
            self.deposit,
            self.deadline,
            int(self.state),
            self.flags,
            self.renter_share,
        )

    @property
    def held(self) -> int:
        """What the escrow holds for this booking."""
        if not self.state.is_open:
            return 0
        return self.deposit if self.flags & RENT_PAID else self.rent + self.deposit

    def cancel_refund(self, now: int) -> tuple[int, int]:
        """``(to the renter, to the owner)`` if the renter cancelled at ``now`` (before the start)."""
        refund = (
            self.rent
            if now < self.free_cancel_until
            else self.rent * self.late_refund_bps // 10_000
        )
        return refund + self.deposit, self.rent - refund


def open_booking(
    listing_id: bytes, terms: RentalTerms, renter: str, first_slot: int, units: int
) -> Booking:
    """The booking a ``Booked`` event creates, from the terms in force."""
    start = terms.slot_start(first_slot)
    end = start + units * terms.unit
    return Booking(
        listing_id=bytes(listing_id),
        renter=checksum_address(renter),
        owner=terms.owner,
        token=terms.token,
        arbitrator=terms.arbitrator,
        arbitrator_fee_bps=terms.arbitrator_fee_bps,
        first_slot=first_slot,
        units=units,
        start=start,
        end=end,
        free_cancel_until=max(start - terms.free_cancel, 0),
        late_refund_bps=terms.late_refund_bps,
        rent=terms.rate * units,
        deposit=terms.deposit,
        deadline=end + terms.claim_window,
        state=BookingState.BOOKED,
    )


def blocked_period(
    listing_id: bytes, owner: str, first_start: int, unit: int, first_slot: int, units: int
) -> Booking:
    """The record a ``PeriodBlocked`` event creates."""
    start = first_start + first_slot * unit
    end = start + units * unit
    zero = checksum_address("0x" + "00" * 20)
    return Booking(
        listing_id=bytes(listing_id),
        renter=checksum_address(owner),
        owner=checksum_address(owner),
        token=zero,
        arbitrator=zero,
        arbitrator_fee_bps=0,
        first_slot=first_slot,
        units=units,
        start=start,
        end=end,
        free_cancel_until=0,
        late_refund_bps=0,
        rent=0,
        deposit=0,
        deadline=end,
        state=BookingState.BLOCKED,
    )


#: Events that move a booking from one state to the next (what :func:`apply_booking_event` takes).
BOOKING_TRANSITIONS = (
    "Cancelled",
    "Refunded",
    "PickedUp",
    "Returned",
    "Finalized",
    "Disputed",
    "Ruled",
    "RulingTimedOut",
    "PeriodUnblocked",
)


def apply_booking_event(booking: Booking, event: str, args: Mapping[str, Any]) -> Booking:
    """The booking after one of its events, exactly as the contract computed it. A cancelled
    booking or an unblocked period is deleted on-chain; it comes back here in state ``NONE``."""
    if event in ("Cancelled", "PeriodUnblocked"):
        return replace(booking, state=BookingState.NONE)
    if event == "Refunded":
        return replace(booking, state=BookingState.REFUNDED)
    if event == "PickedUp":
        return replace(booking, flags=booking.flags | PICKED_UP)
    if event in ("Returned", "Finalized"):
        return replace(booking, state=BookingState.COMPLETED)
    if event == "Disputed":
        by = checksum_address(args["by"])
        extra = RENT_PAID if by == booking.owner else 0
        return replace(
            booking,
            state=BookingState.DISPUTED,
            flags=booking.flags | WAS_DISPUTED | extra,
            deadline=int(args["rulingDeadline"]),
        )
    if event == "Ruled":
        return replace(booking, state=BookingState.RULED, renter_share=int(args["renterShare"]))
    if event == "RulingTimedOut":
        return replace(booking, state=BookingState.RULING_TIMED_OUT)
    return booking


def rental_terms_hash(terms: RentalTerms) -> bytes:
    """``hashTerms(terms)``: the type hash followed by the ABI words, hashed."""
    from eth_abi import encode

    return keccak(keccak(text=RENTAL_TERMS_TYPE) + encode(_TERMS_ABI, list(terms.as_tuple())))


def booking_hash(booking: Booking) -> int:
    """The value the contract stores for ``booking`` (before rating bits)."""
    from eth_abi import encode

    encoded = encode(_BOOKING_ABI, list(booking.as_tuple()))
    return int.from_bytes(keccak(encoded), "big") & BOOKING_HASH_MASK


def rental_listing_id(owner: str, salt: bytes) -> bytes:
    """``keccak256(abi.encodePacked(owner, salt))``."""
    return keccak(bytes.fromhex(checksum_address(owner)[2:]) + bytes(salt))


def booking_id(listing_id: bytes, first_slot: int, block_number: int) -> bytes:
    """``keccak256(abi.encode(listingId, firstSlot, block.number))``."""
    return keccak(
        bytes(listing_id) + first_slot.to_bytes(32, "big") + block_number.to_bytes(32, "big")
    )


def taken_slots(words: Mapping[int, int]) -> set[int]:
    """The periods marked in calendar words ``{index: word}`` (as ``calendarWord`` returns)."""
    out: set[int] = set()
    for index, word in words.items():
        for bit in range(SLOTS_PER_WORD):
            if word >> bit & 1:
                out.add(index * SLOTS_PER_WORD + bit)
    return out


def booking_moves(b: Booking, me: str, now: int) -> tuple[str, list[tuple[str, str]]]:
    """The role of ``me`` in booking ``b`` (``renter``, ``owner``, ``arbitrator`` or "") and
    what it may do at ``now``, as the contract allows: ``(action, label)`` pairs, the action
    being the CLI's ``booking`` command (``cancel``, ``pickup``, ``dispute``, ``return``,
    ``claim``, ``finalize``, ``rule``, ``claim-ruling-timeout``, ``rate``)."""
    role = (
        "renter" if me == b.renter else "owner" if me == b.owner
        else "arbitrator" if me == b.arbitrator else ""
    )  # fmt: skip
    steps: list[tuple[str, str]] = []
    has_arbitrator = int(b.arbitrator, 16) != 0
    if b.state == BookingState.BOOKED:
        if role == "renter":
            if not b.flags & 1 and now < b.start:
                _back, kept = b.cancel_refund(now)
                steps.append(
                    (
                        "cancel",
                        "Cancel"
                        + (
                            " (everything back)"
                            if not kept
                            else " (late: part of the rent stays with the owner)"
                        ),
                    )
                )
            if not b.flags & 1 and now < b.end:
                steps.append(("pickup", "Confirm the pickup"))
            if has_arbitrator and now < b.deadline:
                steps.append(("dispute", "Open a dispute"))
        if role == "owner":
            if now >= b.start:
                steps.append(("return", "Confirm the return (rent to you, deposit back)"))
            if has_arbitrator and b.deposit and b.start <= now < b.deadline:
                steps.append(("claim", "Claim damage against the deposit"))
            steps.append(("cancel", "Cancel and refund everything"))
        if now >= b.deadline:
            steps.append(("finalize", "Finalize: rent to the owner, deposit back"))
    elif b.state == BookingState.DISPUTED:
        if role == "arbitrator" and now < b.deadline:
            steps.append(("rule", "Rule on this booking"))
        if now >= b.deadline:
            steps.append(("claim-ruling-timeout", "Claim the ruling timeout"))
    elif b.state.is_final and role in ("renter", "owner"):
        steps.append(("rate", "Rate the " + ("owner" if role == "renter" else "renter")))
    return role, steps
