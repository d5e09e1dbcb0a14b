"""Rentals booked by time: the library side of the Bookings contract.

:class:`RentalsClient` sits on a :class:`~p2pchain.market._client.MarketplaceClient` (its
connection, account, sender and journal) and offers one method per booking action and read::

    rentals = client.rentals
    car = rentals.create(rentals.make_terms(rate=5 * 10**16, unit=DAY, cid=cid, ...))
    booking = client.with_account(renter).rentals.book(car, start=friday_10am, units=2)
    rentals.confirm_return(booking)

Writes come as ``prepare_*`` (a :class:`PreparedCall`: checked before any gas is spent, usable by
a browser wallet) and as the plain method, which signs, sends and waits. Bookings are rebuilt from
the contract's events (:mod:`p2pchain.chain._booking_model`) and, like trades, checked against the
contract's stored hash before they are returned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from eth_utils import event_abi_to_log_topic, keccak
from hexbytes import HexBytes
from web3.types import TxReceipt

from p2pchain._errors import ChainError
from p2pchain.chain._booking_model import (
    SLOTS_PER_WORD,
    Booking,
    BookingState,
    RentalTerms,
    apply_booking_event,
    blocked_period,
    booking_hash,
    open_booking,
)
from p2pchain.chain._deploy import verify_bookings
from p2pchain.chain._events import DecodedEvent, EventDecoder
from p2pchain.chain._model import ZERO_ADDRESS, split_cid
from p2pchain.chain._sender import intent_of
from p2pchain.compiler._artifacts import load_artifact
from p2pchain.market import _validation as check
from p2pchain.market._calls import PreparedCall
from p2pchain.market._reads import NotFoundError, _Codec
from p2pchain.market._views import TxInfo

HOUR = 3_600
DAY = 86_400
#: Units a rate can be given per, by name.
UNITS: Mapping[str, int] = {"hour": HOUR, "day": DAY, "week": 7 * DAY}
#: Limits of the contract (see ``Bookings.sol``).
MIN_UNIT, MAX_UNIT, MAX_UNITS, MAX_WINDOW = 15 * 60, 7 * DAY, 1_000, 365 * DAY
MAX_SPAN = 10 * 365 * DAY
#: Events that create a booking record.
_OPENING = ("Booked", "PeriodBlocked")


#: Booking ids asked in one ``eth_getLogs`` (its first topic matches any of them).
_IDS_PER_READ = 200


@dataclass(frozen=True)
class RentalListing:
    """A rental listing as the chain knows it.

    Attributes:
        id: The listing id (``keccak256(owner, salt)``).
        terms: The current terms.
        live: Whether it takes bookings (not closed).
        salt: The owner's salt (known from the listing event).
        block_number: Block of the latest terms.
        tx: The transaction that produced this view, when it came from an action.
    """

    id: bytes
    terms: RentalTerms
    live: bool
    salt: bytes
    block_number: int
    tx: TxInfo | None = None

    @property
    def owner(self) -> str:
        return self.terms.owner


@dataclass(frozen=True)
class BookingView:
    """A booking (or an owner's blocked period) and what happened to it.

    Attributes:
        id: The booking id.
        booking: Its current struct (state ``NONE`` once cancelled or unblocked).
        history: ``(event name, block number, tx hash)`` in chain order.
        tx: The transaction that produced this view, when it came from an action.
    """

    id: bytes
    booking: Booking
    history: tuple[tuple[str, int, str], ...] = ()
    tx: TxInfo | None = None
    evidence: tuple[tuple[str, bytes], ...] = field(default=())

    @property
    def state(self) -> BookingState:
        return self.booking.state


def evidence_cid(value: bytes | str) -> bytes:
    """An evidence CID: empty, a binary CID (bytes) or a CID string (``Qm…``, ``bafy…``).

    Raises:
        InputError: Not a CID, or longer than 64 bytes.
    """
    if isinstance(value, str):
        return check.cid(value, "evidence") if value else b""
    return check.review_cid(value)


def parse_rate(text: str) -> tuple[str, int]:
    """``"0.05eth/day"`` -> ``("0.05eth", 86400)``: the amount text and the period in seconds.

    Raises:
        InputError: No ``/hour``, ``/day`` or ``/week`` suffix.
    """
    amount, sep, per = str(text).strip().rpartition("/")
    unit = UNITS.get(per.strip().lower())
    if not sep or unit is None or not amount.strip():
        raise check.InputError(
            f"rate {text!r} must be an amount per period, like 0.05eth/day or 5usdc/hour"
        )
    return amount.strip(), unit


class RentalsClient:
    """Booking actions and reads for one client (see the module docstring).

    Args:
        client: The :class:`~p2pchain.market._client.MarketplaceClient` whose connection,
            account and sender are used (typed loosely: the client module imports this one).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.address = client.deployment.bookings
        abi = list(load_artifact("Bookings").abi)
        self._b = _Codec(abi)
        self._events = EventDecoder(abi)
        self._topic = {
            str(e["name"]): event_abi_to_log_topic(cast(Any, e))
            for e in abi
            if e.get("type") == "event"
        }
        self._verified = False

    def _check_deployment(self) -> None:
        if not self._verified:
            verify_bookings(self.client.w3, self.client.deployment)
            self._verified = True

    # ------------------------------------------------------------------ terms

    def make_terms(
        self,
        *,
        rate: int,
        unit: int,
        cid: bytes | str,
        first_start: int,
        last_end: int,
        deposit: int = 0,
        token: str = ZERO_ADDRESS,
        arbitrator: str = ZERO_ADDRESS,
        arbitrator_fee_bps: int = 0,
        min_units: int = 1,
        max_units: int = 30,
        lead_time: int = 0,
        free_cancel: int = 2 * DAY,
        late_refund_bps: int = 5_000,
        claim_window: int = 3 * DAY,
        owner: str | None = None,
    ) -> RentalTerms:
        """Validated rental terms for the client's account (or ``owner``).

        Raises:
            InputError: A value out of the contract's bounds, named.
        """
        raw_cid = check.cid(cid)
        prefix, digest = split_cid(raw_cid)
        unit = check.uint(unit, "unit", bits=32)
        if not MIN_UNIT <= unit <= MAX_UNIT:
            raise check.InputError("a rental period must be 15 minutes to 7 days long")
        first = check.uint(first_start, "first start", bits=40)
        last = check.uint(last_end, "last end", bits=40)
        if first == 0 or last <= first or last - first > MAX_SPAN:
            raise check.InputError(
                "the bookable range must start after 1970, end after it starts, and span at most"
                " 10 years"
            )
        lo = check.uint(min_units, "minimum length", bits=16)
        hi = check.uint(max_units, "maximum length", bits=16)
        if lo == 0 or lo > hi or hi > MAX_UNITS:
            raise check.InputError(
                f"booking lengths must be 1 to {MAX_UNITS} periods, minimum <= maximum"
            )
        for value, what in (
            (lead_time, "lead time"),
            (free_cancel, "free cancellation"),
            (claim_window, "claim window"),
        ):
            if check.uint(value, what, bits=32) > MAX_WINDOW:
                raise check.InputError(f"the {what} must be at most a year")
        refund = check.uint(late_refund_bps, "late refund", bits=16)
        if refund > 10_000:
            raise check.InputError("the late refund is a share of the rent: at most 100%")
        arb = check.address(arbitrator, "arbitrator")
        fee = check.uint(arbitrator_fee_bps, "arbitrator fee", bits=16)
        if fee > 1_000 or (arb == ZERO_ADDRESS and fee):
            raise check.InputError("the arbitrator fee is at most 10%, and only with an arbitrator")
        rate_value = check.amount(rate, "rate")
        if rate_value == 0 or rate_value >= 1 << 128:
            raise check.InputError("the rate must be above zero and below 2^128")
        dep = check.amount(deposit, "deposit")
        if dep >= 1 << 128:
            raise check.InputError("the deposit must be below 2^128")
        who = self.client.address if owner is None else check.address(owner, "owner")
        return RentalTerms(
            owner=who,
            token=check.address(token, "token"),
            rate=rate_value,
            deposit=dep,
            arbitrator=arb,
            arbitrator_fee_bps=fee,
            unit=unit,
            first_start=first,
            last_end=last,
            min_units=lo,
            max_units=hi,
            lead_time=int(lead_time),
            free_cancel=int(free_cancel),
            late_refund_bps=refund,
            claim_window=int(claim_window),
            cid_prefix=prefix.ljust(8, b"\0"),
            cid_digest=digest,
        )

    # ------------------------------------------------------------------ listings

    def _prepare(
        self,
        action: str,
        data: bytes,
        finish: Any,
        *,
        sender: str | None,
        value: int = 0,
        before: Sequence[PreparedCall[Any]] = (),
        intent: bytes | None = None,
    ) -> PreparedCall[Any]:
        self._check_deployment()
        return self.client._prepare(
            action,
            self.client._sender_address(sender),
            data,
            finish,
            value=value,
            to=self.address,
            before=before,
            intent=intent,
        )

    def _one(self, receipt: TxReceipt, name: str) -> DecodedEvent:
        found = [e for e in self._events.decode(receipt["logs"], self.address) if e.name == name]
        if len(found) != 1:
            raise ChainError(f"expected one {name} event in the receipt, found {len(found)}")
        return found[0]

    def prepare_create(
        self, terms: RentalTerms, *, salt: bytes | str | None = None, sender: str | None = None
    ) -> PreparedCall[RentalListing]:
        """Prepare listing an item for booking; see :meth:`create`."""
        raw_salt = os.urandom(32) if salt is None else check.bytes32(salt, "salt")

        def finish(receipt: TxReceipt) -> RentalListing:
            event = self._one(receipt, "RentalListed")
            return RentalListing(
                id=bytes(event.args["listingId"]),
                terms=terms,
                live=True,
                salt=raw_salt,
                block_number=event.block_number,
                tx=TxInfo.from_receipt(receipt),
            )

        data = self._b.encode("list", terms.as_tuple(), raw_salt)
        return self._prepare("list", data, finish, sender=sender)

    def create(self, terms: RentalTerms, *, salt: bytes | str | None = None) -> RentalListing:
        """List an item for booking under ``terms`` (the owner must be the account)."""
        return cast(RentalListing, self.prepare_create(terms, salt=salt).send())

    def prepare_update(
        self, listing: RentalListing | bytes | str, terms: RentalTerms, *, sender: str | None = None
    ) -> PreparedCall[RentalListing]:
        """Prepare new terms for future bookings (the grid stays); see :meth:`update`."""
        current = self._listing(listing)

        def finish(receipt: TxReceipt) -> RentalListing:
            event = self._one(receipt, "RentalUpdated")
            tx = TxInfo.from_receipt(receipt)
            return RentalListing(current.id, terms, True, current.salt, event.block_number, tx)

        data = self._b.encode("updateListing", current.salt, terms.as_tuple())
        return self._prepare("updateListing", data, finish, sender=sender)

    def update(self, listing: RentalListing | bytes | str, terms: RentalTerms) -> RentalListing:
        """Change the rate, deposit, policy... for future bookings only."""
        return cast(RentalListing, self.prepare_update(listing, terms).send())

    def close(self, listing: RentalListing | bytes | str) -> RentalListing:
        """Stop taking bookings; existing ones go on."""
        current = self._listing(listing)

        def finish(receipt: TxReceipt) -> RentalListing:
            event = self._one(receipt, "RentalClosed")
            tx = TxInfo.from_receipt(receipt)
            return RentalListing(
                current.id, current.terms, False, current.salt, event.block_number, tx
            )

        data = self._b.encode("closeListing", current.salt)
        return cast(RentalListing, self._prepare("closeListing", data, finish, sender=None).send())

    def listing(self, listing_id: bytes | str) -> RentalListing:
        """The rental listing ``listing_id``, with its current terms.

        Raises:
            NotFoundError: No such rental listing on this deployment.
        """
        lid = check.bytes32(listing_id, "listing id")
        events = self._logs(
            [
                [
                    self._topic["RentalListed"],
                    self._topic["RentalUpdated"],
                    self._topic["RentalClosed"],
                ],
                lid,
            ]
        )
        if not events:
            raise NotFoundError(f"no rental listing {HexBytes(lid).to_0x_hex()} on this deployment")
        salt = b""
        terms: RentalTerms | None = None
        live, block = True, 0
        for e in events:
            if e.name == "RentalListed":
                salt = bytes(e.args["salt"])
            if e.name in ("RentalListed", "RentalUpdated"):
                terms = RentalTerms.from_abi(e.args["terms"])
                block = e.block_number
            if e.name == "RentalClosed":
                live = False
        assert terms is not None
        return RentalListing(lid, terms, live, salt, block)

    def _listing(self, listing: RentalListing | bytes | str) -> RentalListing:
        return listing if isinstance(listing, RentalListing) else self.listing(listing)

    def _logs(self, topics: Sequence[Any]) -> list[DecodedEvent]:
        self._check_deployment()
        raw = self.client._logs(topics, self.address)
        return sorted(self._events.decode(raw, self.address), key=lambda e: e.position)

    # ------------------------------------------------------------------ calendar

    def taken(
        self, listing: RentalListing | bytes | str, first_slot: int, last_slot: int
    ) -> set[int]:
        """Periods between ``first_slot`` and ``last_slot`` (inclusive) that are booked or blocked,
        read from the contract's calendar words (one ``eth_call`` per 255 periods)."""
        current = self._listing(listing)
        if last_slot < first_slot:
            return set()
        words = range(max(first_slot, 0) // SLOTS_PER_WORD, max(last_slot, 0) // SLOTS_PER_WORD + 1)
        answers = [
            self.client._eth_call(
                self.address,
                self._b.encode("calendarWord", current.id, w),
                "calendarWord",
                self._b,
            )[0]
            for w in words
        ]
        out: set[int] = set()
        for index, answer in zip(words, answers, strict=True):
            word = int(answer)
            for bit in range(SLOTS_PER_WORD):
                slot = index * SLOTS_PER_WORD + bit
                if word >> bit & 1 and first_slot <= slot <= last_slot:
                    out.add(slot)
        return out

    def slots_for(self, terms: RentalTerms, start: int, end: int) -> tuple[int, int]:
        """``(first slot, units)`` covering ``[start, end)`` exactly.

        Raises:
            InputError: The times are not on the listing's grid, or end before they start.
        """
        if end <= start:
            raise check.InputError("a booking must end after it starts")
        for t, what in ((start, "start"), (end, "end")):
            if t < terms.first_start or (t - terms.first_start) % terms.unit:
                raise check.InputError(
                    f"the {what} must fall on the rental's grid: periods of"
                    f" {terms.unit // 60} minutes from {terms.first_start} (unix time)"
                )
        return terms.slot_at(start), (end - start) // terms.unit

    # ------------------------------------------------------------------ bookings

    def prepare_book(
        self,
        listing: RentalListing | bytes | str,
        first_slot: int,
        units: int,
        *,
        sender: str | None = None,
        permit_ok: bool = True,
    ) -> PreparedCall[BookingView]:
        """Prepare booking ``units`` periods from ``first_slot``; see :meth:`book`.

        An ERC-20 rental whose allowance is short is paid with an EIP-2612 permit in the same
        transaction (``bookWithPermit``) when the token takes one and this client signs for the
        renter; otherwise (or with ``permit_ok=False``) an approval goes first (``before``).
        """
        current = self._listing(listing)
        terms = current.terms
        slot = check.uint(first_slot, "first period", bits=32)
        count = check.uint(units, "number of periods", bits=32)
        who = self.client._sender_address(sender)
        rent, deposit = terms.cost(count)
        total = rent + deposit
        before: list[PreparedCall[Any]] = []
        permit = None
        if terms.token != ZERO_ADDRESS:
            data = self.client._erc20.encode("allowance", who, self.address)
            allowed = int(self.client._eth_call(terms.token, data, "allowance")[0])
            if allowed < total and permit_ok:
                permit = self.client._purchase_permit(terms.token, total, who, self.address)
            if allowed < total and permit is None:
                before.append(
                    self.client.prepare_approve(
                        terms.token, total, spender=self.address, sender=who
                    )
                )

        def finish(receipt: TxReceipt) -> BookingView:
            event = self._one(receipt, "Booked")
            booking = open_booking(current.id, terms, who, slot, count)
            return BookingView(
                id=bytes(event.args["bookingId"]),
                booking=booking,
                history=(("Booked", event.block_number, event.tx_hash),),
                tx=TxInfo.from_receipt(receipt),
            )

        data = self._b.encode("book", current.id, terms.as_tuple(), slot, count)
        value = total if terms.token == ZERO_ADDRESS else 0
        if permit is None:
            return self._prepare("book", data, finish, sender=sender, value=value, before=before)
        # One transaction; the permit's deadline changes on every try, so what the call does
        # (its resume key) is the booking without it.
        plain = intent_of(self.address, 0, data)
        data = self._b.encode(
            "bookWithPermit", current.id, terms.as_tuple(), slot, count, permit.as_tuple()
        )
        return self._prepare("bookWithPermit", data, finish, sender=sender, intent=plain)

    def book(
        self, listing: RentalListing | bytes | str, first_slot: int, units: int
    ) -> BookingView:
        """Book ``units`` periods from ``first_slot``, paying rent and deposit into escrow.

        Raises:
            CustomError: The contract refuses (:class:`Unavailable`, :class:`TooSoon`,
                :class:`InvalidBookingLength`, :class:`TermsChanged`...) before any gas is spent.
        """
        return cast(BookingView, self.prepare_book(listing, first_slot, units).send())

    def block(
        self, listing: RentalListing | bytes | str, first_slot: int, units: int
    ) -> BookingView:
        """Owner: hold periods for yourself (own use, maintenance)."""
        return self.prepare_block(listing, first_slot, units).send()

    def prepare_block(
        self, listing: RentalListing | bytes | str, first_slot: int, units: int
    ) -> PreparedCall[BookingView]:
        """Prepare :meth:`block` (to show, sign elsewhere, or resume an earlier run's)."""
        current = self._listing(listing)
        slot = check.uint(first_slot, "first period", bits=32)
        count = check.uint(units, "number of periods", bits=32)

        def finish(receipt: TxReceipt) -> BookingView:
            event = self._one(receipt, "PeriodBlocked")
            t = current.terms
            booking = blocked_period(current.id, t.owner, t.first_start, t.unit, slot, count)
            return BookingView(
                bytes(event.args["bookingId"]),
                booking,
                (("PeriodBlocked", event.block_number, event.tx_hash),),
                TxInfo.from_receipt(receipt),
            )

        data = self._b.encode("blockPeriod", current.salt, slot, count)
        return cast(
            PreparedCall[BookingView], self._prepare("blockPeriod", data, finish, sender=None)
        )

    def booking(self, booking_id: bytes | str) -> BookingView:
        """Booking ``booking_id``, rebuilt from its events and checked against the contract.

        Raises:
            NotFoundError: No such booking on this deployment.
        """
        bid = check.bytes32(booking_id, "booking id")
        events = self._logs([None, bid])
        opening = [e for e in events if e.name in _OPENING]
        if not opening:
            raise NotFoundError(f"no booking {HexBytes(bid).to_0x_hex()} on this deployment")
        listing_id = bytes(opening[-1].args["listingId"])
        terms_events = self._logs(
            [[self._topic["RentalListed"], self._topic["RentalUpdated"]], listing_id]
        )
        view = self._rebuild(bid, events, terms_events)
        self._check(bid, view.booking)
        return view

    def _rebuild(
        self, bid: bytes, events: Sequence[DecodedEvent], terms_events: Sequence[DecodedEvent]
    ) -> BookingView:
        """A booking from its events (oldest first) and its listing's terms events."""
        first = [e for e in events if e.name in _OPENING][-1]
        listing_id = bytes(first.args["listingId"])
        slot, units = int(first.args["firstSlot"]), int(first.args["units"])
        before = [e for e in terms_events if e.position < first.position]
        if not before:
            raise ChainError(f"booking {bid.hex()} names a listing with no terms before it")
        terms = RentalTerms.from_abi(before[-1].args["terms"])
        if first.name == "Booked":
            booking = open_booking(listing_id, terms, first.args["renter"], slot, units)
        else:
            booking = blocked_period(
                listing_id, terms.owner, terms.first_start, terms.unit, slot, units
            )
        history = []
        evidence = []
        for e in events:
            if e.position < first.position:
                continue
            if e.position > first.position:
                booking = apply_booking_event(booking, e.name, e.args)
            history.append((e.name, e.block_number, e.tx_hash))
            cid = e.args.get("evidenceCid")
            if cid:
                by = "owner" if e.name in ("Returned",) else str(e.args.get("by", booking.renter))
                evidence.append((by, bytes(cid)))
        return BookingView(bid, booking, tuple(history), None, tuple(evidence))

    def _check(self, booking_id: bytes, booking: Booking) -> None:
        data = self._b.encode("bookingRecord", booking_id)
        (record,) = self.client._eth_call(self.address, data, "bookingRecord", self._b)
        self._compare(booking_id, booking, int(record))

    @staticmethod
    def _compare(booking_id: bytes, booking: Booking, record: int) -> None:
        expected = 0 if booking.state == BookingState.NONE else booking_hash(booking)
        if record & ~3 != expected:
            raise ChainError(
                f"booking {booking_id.hex()} rebuilt from events does not match the contract"
                " (the node's logs are incomplete?)"
            )

    def bookings(self, listing: RentalListing | bytes | str) -> list[BookingView]:
        """Every booking and blocked period of a listing, oldest first."""
        current = self._listing(listing)
        opened = self._logs(
            [[self._topic["Booked"], self._topic["PeriodBlocked"]], None, current.id]
        )
        # Both events index the booking id first and the listing id second.
        return self.many(list(dict.fromkeys(bytes(e.args["bookingId"]) for e in opened)))

    def many(self, booking_ids: Sequence[bytes | str]) -> list[BookingView]:
        """Bookings ``booking_ids``, as :meth:`booking` rebuilds and checks each, read together:
        every booking's events in one ``eth_getLogs`` per 200 ids, their listings' terms in one,
        and the contract's records in one batch.

        Raises:
            NotFoundError: One of them does not exist on this deployment.
        """
        ids = list(dict.fromkeys(check.bytes32(b, "booking id") for b in booking_ids))
        if not ids:
            return []
        events: dict[bytes, list[DecodedEvent]] = {i: [] for i in ids}
        for chunk in range(0, len(ids), _IDS_PER_READ):
            for e in self._logs([None, ids[chunk : chunk + _IDS_PER_READ]]):
                found = events.get(bytes(e.args.get("bookingId") or b""))
                if found is not None:
                    found.append(e)
        listings: dict[bytes, None] = {}
        for bid in ids:
            opening = [e for e in events[bid] if e.name in _OPENING]
            if not opening:
                raise NotFoundError(f"no booking {HexBytes(bid).to_0x_hex()} on this deployment")
            listings[bytes(opening[-1].args["listingId"])] = None
        terms: dict[bytes, list[DecodedEvent]] = {listing: [] for listing in listings}
        names = [self._topic["RentalListed"], self._topic["RentalUpdated"]]
        keys = list(listings)
        for chunk in range(0, len(keys), _IDS_PER_READ):
            for e in self._logs([names, keys[chunk : chunk + _IDS_PER_READ]]):
                terms[bytes(e.args["listingId"])].append(e)
        views = []
        for bid in ids:
            first = [e for e in events[bid] if e.name in _OPENING][-1]
            views.append(self._rebuild(bid, events[bid], terms[bytes(first.args["listingId"])]))
        self._check_many(views)
        return views

    def _check_many(self, views: Sequence[BookingView]) -> None:
        """:meth:`_check` for many bookings: one batch of ``bookingRecord`` calls where the node
        takes batches."""
        sender = self.client.sender
        if not sender.batching or len(views) < 2:
            for view in views:
                self._check(view.id, view.booking)
            return
        calls = [
            (
                "eth_call",
                [
                    {
                        "to": self.address,
                        "data": HexBytes(self._b.encode("bookingRecord", v.id)).to_0x_hex(),
                    },
                    "latest",
                ],
            )
            for v in views
        ]
        answers = sender.retry("bookingRecord batch", lambda: sender.batch(calls))
        for view, answer in zip(views, answers, strict=True):
            result = answer.get("result")
            if answer.get("error") is not None or not isinstance(result, str):
                self._check(view.id, view.booking)  # ask that one alone
                continue
            (record,) = self._b.decode("bookingRecord", bytes(HexBytes(result)))
            self._compare(view.id, view.booking, int(record))

    def _view(self, booking: BookingView | bytes | str) -> BookingView:
        return booking if isinstance(booking, BookingView) else self.booking(booking)

    def _booking_call(
        self, action: str, booking: BookingView | bytes | str, sender: str | None, *extra: Any
    ) -> PreparedCall[BookingView]:
        view = self._view(booking)

        def finish(receipt: TxReceipt) -> BookingView:
            current = view.booking
            history = list(view.history)
            for e in self._events.decode(receipt["logs"], self.address):
                if e.args.get("bookingId") is not None and bytes(e.args["bookingId"]) == view.id:
                    current = apply_booking_event(current, e.name, e.args)
                    history.append((e.name, e.block_number, e.tx_hash))
            return BookingView(view.id, current, tuple(history), TxInfo.from_receipt(receipt))

        data = self._b.encode(action, view.id, view.booking.as_tuple(), *extra)
        intent = keccak(
            b"p2pchain-booking-call" + bytes(HexBytes(self.address)) + action.encode() + view.id
        )
        return self._prepare(action, data, finish, sender=sender, intent=intent)

    #: Booking calls the API and wallets can prepare, with the extra argument each takes.
    ACTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "cancel": (),
        "pickup": ("evidence",),
        "confirmReturn": ("evidence",),
        "claimDamage": ("evidence",),
        "dispute": ("evidence",),
        "attachEvidence": ("evidence",),
        "finalize": (),
        "claimRulingTimeout": (),
        "unblockPeriod": (),
        "rule": ("share",),
    }

    def prepare_action(
        self,
        action: str,
        booking: BookingView | bytes | str,
        *,
        evidence: bytes | str = b"",
        renter_share: int = 0,
        sender: str | None = None,
    ) -> PreparedCall[BookingView]:
        """Prepare any booking call by its contract name (``pickup``, ``confirmReturn``...).

        Raises:
            InputError: An unknown action or a malformed argument.
        """
        takes = self.ACTIONS.get(action)
        if takes is None:
            raise check.InputError(
                f"unknown booking action {action!r}: one of {', '.join(self.ACTIONS)}"
            )
        extra: tuple[Any, ...] = ()
        if takes == ("evidence",):
            extra = (evidence_cid(evidence),)
        elif takes == ("share",):
            extra = (check.amount(renter_share, "renter share"),)
        return self._booking_call(action, booking, sender, *extra)

    def prepare_rate(
        self,
        booking: BookingView | bytes | str,
        score: int,
        review_cid: bytes | str = b"",
        *,
        sender: str | None = None,
    ) -> PreparedCall[TxInfo]:
        """Prepare rating the other side of a settled booking; see :meth:`rate`."""
        view = self._view(booking)
        value = check.score(score)
        cid = evidence_cid(review_cid)
        data = self.client._r.encode("rateBooking", view.id, view.booking.as_tuple(), value, cid)
        self._check_deployment()
        return self.client._prepare(
            "rateBooking",
            self.client._sender_address(sender),
            data,
            TxInfo.from_receipt,
            to=self.client.deployment.reputation,
        )

    def prepare_cancel(
        self, booking: BookingView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[BookingView]:
        return self._booking_call("cancel", booking, sender)

    def cancel(self, booking: BookingView | bytes | str) -> BookingView:
        """Renter (before the start, under the policy) or owner (refunding everything): cancel."""
        return cast(BookingView, self.prepare_cancel(booking).send())

    def pickup(
        self, booking: BookingView | bytes | str, evidence: bytes | str = b""
    ) -> BookingView:
        """Renter: confirm the pickup, optionally with a photo CID."""
        cid = evidence_cid(evidence)
        return cast(BookingView, self._booking_call("pickup", booking, None, cid).send())

    def confirm_return(
        self, booking: BookingView | bytes | str, evidence: bytes | str = b""
    ) -> BookingView:
        """Owner: the item is back; rent to the owner, deposit back to the renter."""
        cid = evidence_cid(evidence)
        return cast(BookingView, self._booking_call("confirmReturn", booking, None, cid).send())

    def claim_damage(
        self, booking: BookingView | bytes | str, evidence: bytes | str = b""
    ) -> BookingView:
        """Owner: dispute over the deposit (the rent is paid out now)."""
        cid = evidence_cid(evidence)
        return cast(BookingView, self._booking_call("claimDamage", booking, None, cid).send())

    def dispute(
        self, booking: BookingView | bytes | str, evidence: bytes | str = b""
    ) -> BookingView:
        """Renter: put everything held before the arbitrator."""
        cid = evidence_cid(evidence)
        return cast(BookingView, self._booking_call("dispute", booking, None, cid).send())

    def attach_evidence(
        self, booking: BookingView | bytes | str, evidence: bytes | str
    ) -> BookingView:
        """Renter or owner: attach a photo or report CID."""
        cid = evidence_cid(evidence)
        return cast(BookingView, self._booking_call("attachEvidence", booking, None, cid).send())

    def finalize(self, booking: BookingView | bytes | str) -> BookingView:
        """Anyone, after the claim window: rent to the owner, deposit back."""
        return cast(BookingView, self._booking_call("finalize", booking, None).send())

    def rule(self, booking: BookingView | bytes | str, renter_share: int) -> BookingView:
        """Arbitrator: split what is held (after the fee)."""
        share = check.amount(renter_share, "renter share")
        return cast(BookingView, self._booking_call("rule", booking, None, share).send())

    def claim_ruling_timeout(self, booking: BookingView | bytes | str) -> BookingView:
        """Anyone, after the ruling window: everything held back to the renter."""
        return cast(BookingView, self._booking_call("claimRulingTimeout", booking, None).send())

    def unblock(self, booking: BookingView | bytes | str) -> BookingView:
        """Owner: release a blocked period."""
        return cast(BookingView, self._booking_call("unblockPeriod", booking, None).send())

    def rate(
        self, booking: BookingView | bytes | str, score: int, review_cid: bytes | str = b""
    ) -> TxInfo:
        """Rate the other side of a settled booking (1 to 5)."""
        return cast(TxInfo, self.prepare_rate(booking, score, review_cid).send())
