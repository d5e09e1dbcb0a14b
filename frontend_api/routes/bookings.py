"""Rentals booked by date: reads (the rental, its calendar, a quote, bookings) and the unsigned
transactions a browser wallet signs (book, cancel, pickup, return, damage claim, dispute, rule,
finalize, timeout, rate).

Everything is read from the chain (the Bookings contract's calendar words and events), so the
calendar a page shows is the one the contract enforces. Like every write of the API, a call the
contract would refuse answers 409 with the contract's error before the wallet opens.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from frontend_api.deps import ClientDep, ServicesDep
from frontend_api.errors import ApiError
from frontend_api.routes.tx import prepared
from frontend_api.schemas import (
    Address,
    Amount,
    CidText,
    Hex32,
    PreparedOut,
    TokenOut,
    _Body,
)
from p2pchain.indexer import TrustView
from p2pchain.market._bookings import BookingView, RentalListing

router = APIRouter(tags=["bookings"])

IdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
#: Longest calendar range one request reads: a year of days, or about two months of hours.
MAX_CALENDAR_PERIODS = 1_530
#: API action names and the contract calls they prepare.
ACTIONS: dict[str, str] = {
    "cancel": "cancel",
    "pickup": "pickup",
    "return": "confirmReturn",
    "claim": "claimDamage",
    "dispute": "dispute",
    "evidence": "attachEvidence",
    "finalize": "finalize",
    "claim-ruling-timeout": "claimRulingTimeout",
    "unblock": "unblockPeriod",
}


class RentalTermsOut(BaseModel):
    """A rental's terms; amounts in base units as decimal strings, times in unix seconds."""

    owner: str
    token: str
    rate: str
    unit: int
    rate_per_day: str
    deposit: str
    arbitrator: str
    arbitrator_fee_bps: int
    first_start: int
    last_end: int
    min_units: int
    max_units: int
    lead_time: int
    free_cancel: int
    late_refund_bps: int
    claim_window: int
    cid: str


class RentalOut(BaseModel):
    """A rental listing as the chain knows it, with its document (fetched from IPFS, verified
    and checked against the terms), its photos' URLs, its token and the owner's trust."""

    listing_id: str
    live: bool
    terms: RentalTermsOut
    token: TokenOut | None = None
    now: int = 0
    document: dict[str, Any] | None = None
    document_error: str | None = None
    image_urls: list[str] = []
    seller_trust: TrustView | None = None


class CalendarOut(BaseModel):
    """Taken periods of a rental between ``from_time`` and ``to_time``, merged into intervals."""

    listing_id: str
    unit: int
    from_time: int
    to_time: int
    taken: list[tuple[int, int]]


class QuoteOut(BaseModel):
    """What a booking of ``[start, end)`` would cost, and whether it is free now."""

    listing_id: str
    first_period: int
    periods: int
    start: int
    end: int
    rent: str
    deposit: str
    total: str
    token: str
    free_cancel_until: int
    available: bool
    problem: str | None = None


class BookingOut(BaseModel):
    """A booking (or a blocked period) and its history."""

    booking_id: str
    listing_id: str
    state: str
    renter: str
    owner: str
    token: str
    arbitrator: str
    start: int
    end: int
    rent: str
    deposit: str
    held: str
    free_cancel_until: int
    deadline: int
    picked_up: bool
    renter_share: str
    history: list[str]


class BookingStep(BaseModel):
    """Something a party may do with a booking now: the API action (``POST
    /api/tx/booking/{action}``, or ``rule``/``rate``) and what it does, in words."""

    action: str
    label: str


class AccountBookingOut(BookingOut):
    """A booking as one of its parties sees it: its role and what it may do now."""

    role: str
    title: str | None = None
    token_info: TokenOut
    steps: list[BookingStep]


class AccountBookingsOut(BaseModel):
    """The bookings of an account (as renter, owner or arbitrator), newest first."""

    address: str
    now: int
    items: list[AccountBookingOut]


class BookIn(_Body):
    """A booking of periods ``first_period`` .. ``first_period + periods - 1``, with the rate and
    deposit the renter was shown (refused with 409 if the owner changed them since)."""

    sender: Address
    listing_id: Hex32
    first_period: Annotated[int, Field(ge=0, le=2**32 - 1)]
    periods: Annotated[int, Field(ge=1, le=1000)]
    rate: Amount
    deposit: Amount


class BookingActionIn(_Body):
    """A party's action on a booking, with optional evidence (a CID of photos or a report)."""

    sender: Address
    booking_id: Hex32
    evidence_cid: CidText | None = None


class BookingRuleIn(_Body):
    """The arbitrator's ruling: the renter's share of what the booking holds, after the fee."""

    sender: Address
    booking_id: Hex32
    renter_share: Amount


class BookingRateIn(_Body):
    """A 1-5 star rating of the other side of a settled booking."""

    sender: Address
    booking_id: Hex32
    score: Annotated[int, Field(ge=1, le=5)]


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def rental_out(rental: RentalListing) -> RentalOut:
    from p2pchain.ipfs import CID

    t = rental.terms
    return RentalOut(
        listing_id=_hex(rental.id),
        live=rental.live,
        terms=RentalTermsOut(
            owner=t.owner,
            token=t.token,
            rate=str(t.rate),
            unit=t.unit,
            rate_per_day=str(t.rate * 86_400 // t.unit),
            deposit=str(t.deposit),
            arbitrator=t.arbitrator,
            arbitrator_fee_bps=t.arbitrator_fee_bps,
            first_start=t.first_start,
            last_end=t.last_end,
            min_units=t.min_units,
            max_units=t.max_units,
            lead_time=t.lead_time,
            free_cancel=t.free_cancel,
            late_refund_bps=t.late_refund_bps,
            claim_window=t.claim_window,
            cid=str(CID.parse(t.cid)),
        ),
    )


def booking_out(view: BookingView) -> BookingOut:
    b = view.booking
    return BookingOut(
        booking_id=_hex(view.id),
        listing_id=_hex(b.listing_id),
        state=b.state.name.lower(),
        renter=b.renter,
        owner=b.owner,
        token=b.token,
        arbitrator=b.arbitrator,
        start=b.start,
        end=b.end,
        rent=str(b.rent),
        deposit=str(b.deposit),
        held=str(b.held),
        free_cancel_until=b.free_cancel_until,
        deadline=b.deadline,
        picked_up=bool(b.flags & 1),
        renter_share=str(b.renter_share),
        history=[name for name, _, _ in view.history],
    )


@router.get("/api/rentals/{listing_id}", operation_id="get_rental")
def rental(listing_id: IdPath, services: ServicesDep) -> RentalOut:
    """A rental listing's current terms, whether it takes bookings, its verified document and
    photos, and its owner's trust."""
    from frontend_api.routes.accounts import index_now, token_out
    from frontend_api.routes.listings import seller_trust
    from p2pchain._errors import IpfsError, ListingError
    from p2pchain.market._rental_listings import check_rental_agreement

    found = services.client.rentals.listing(listing_id)
    out = rental_out(found)
    try:
        verified = services.document(out.terms.cid)
        check_rental_agreement(verified, found.terms)
    except (ListingError, IpfsError) as exc:
        out.document_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        out.document = verified.model_dump(mode="json")
        out.image_urls = [services.image_url(cid) for cid in verified.images]
    out.token = token_out(services, found.terms.token)
    out.now = index_now(services)
    out.seller_trust = seller_trust(services, found.terms.owner)
    return out


@router.get("/api/rentals/{listing_id}/calendar", operation_id="get_rental_calendar")
def calendar(
    listing_id: IdPath,
    client: ClientDep,
    from_time: Annotated[int, Query(ge=0, le=2**40)],
    to_time: Annotated[int, Query(ge=0, le=2**40)],
) -> CalendarOut:
    """Booked and blocked periods overlapping ``[from_time, to_time)``, as merged intervals.
    At most 1,530 periods per request (a year of days)."""
    rentals = client.rentals
    rental = rentals.listing(listing_id)
    t = rental.terms
    if to_time <= from_time:
        raise ApiError(422, "to_time: must be after from_time")
    first = max(0, t.slot_at(from_time))
    last = max(0, t.slot_at(to_time - 1))
    if last - first + 1 > MAX_CALENDAR_PERIODS:
        raise ApiError(422, f"the range covers more than {MAX_CALENDAR_PERIODS} periods; ask less")
    taken = sorted(rentals.taken(rental, first, last))
    intervals: list[tuple[int, int]] = []
    for slot in taken:
        start = t.slot_start(slot)
        if intervals and intervals[-1][1] == start:
            intervals[-1] = (intervals[-1][0], start + t.unit)
        else:
            intervals.append((start, start + t.unit))
    return CalendarOut(
        listing_id=_hex(rental.id),
        unit=t.unit,
        from_time=from_time,
        to_time=to_time,
        taken=intervals,
    )


@router.get("/api/rentals/{listing_id}/quote", operation_id="quote_booking")
def quote(
    listing_id: IdPath,
    client: ClientDep,
    start: Annotated[int, Query(ge=0, le=2**40)],
    end: Annotated[int, Query(ge=0, le=2**40)],
) -> QuoteOut:
    """The periods, rent, deposit and total of a booking of ``[start, end)`` (on the rental's
    grid), and whether the contract would take it now (``problem`` says why not)."""
    from p2pchain.market._validation import InputError

    rentals = client.rentals
    rental = rentals.listing(listing_id)
    t = rental.terms
    try:
        first, units = rentals.slots_for(t, start, end)
    except InputError as exc:
        raise ApiError(422, str(exc)) from None
    rent, deposit = t.cost(units)
    problem = None
    if not rental.live:
        problem = "the rental is closed"
    elif units < t.min_units or units > t.max_units:
        problem = f"bookings here are {t.min_units} to {t.max_units} periods long"
    else:
        taken = rentals.taken(rental, first, first + units - 1)
        if taken:
            problem = "some of those periods are already booked"
        elif end > t.last_end:
            problem = "the rental cannot be booked that late"
        elif start < client.now() + t.lead_time:
            problem = "too soon: the owner needs more notice"
    return QuoteOut(
        listing_id=_hex(rental.id),
        first_period=first,
        periods=units,
        start=start,
        end=end,
        rent=str(rent),
        deposit=str(deposit),
        total=str(rent + deposit),
        token=t.token,
        free_cancel_until=max(start - t.free_cancel, 0),
        available=problem is None,
        problem=problem,
    )


@router.get("/api/rentals/{listing_id}/bookings", operation_id="list_rental_bookings")
def bookings(listing_id: IdPath, client: ClientDep) -> list[BookingOut]:
    """Every booking and blocked period of a rental, oldest first."""
    return [booking_out(v) for v in client.rentals.bookings(listing_id)]


@router.get("/api/bookings/{booking_id}", operation_id="get_booking")
def booking(booking_id: IdPath, client: ClientDep) -> BookingOut:
    """A booking, rebuilt from its events and checked against the contract."""
    return booking_out(client.rentals.booking(booking_id))


@router.post("/api/tx/book", operation_id="prepare_book")
def book(body: BookIn, client: ClientDep) -> PreparedOut:
    """The unsigned booking (an ERC-20 approval first, if the allowance is short)."""
    rentals = client.rentals
    rental = rentals.listing(body.listing_id)
    t = rental.terms
    if (str(t.rate), str(t.deposit)) != (body.rate, body.deposit):
        raise ApiError(
            409,
            f"TermsChanged: the rate or deposit changed since you saw them (now {t.rate} per"
            f" period, deposit {t.deposit}); reload the rental",
        )
    return prepared(
        rentals.prepare_book(rental, body.first_period, body.periods, sender=body.sender)
    )


@router.post("/api/tx/booking/rule", operation_id="prepare_booking_rule")
def rule(body: BookingRuleIn, client: ClientDep) -> PreparedOut:
    """The arbitrator's ruling on a disputed booking."""
    call = client.rentals.prepare_action(
        "rule", body.booking_id, renter_share=int(body.renter_share), sender=body.sender
    )
    return prepared(call)


@router.post("/api/tx/booking/rate", operation_id="prepare_booking_rate")
def rate(body: BookingRateIn, client: ClientDep) -> PreparedOut:
    """A rating of the other side of a settled booking."""
    return prepared(client.rentals.prepare_rate(body.booking_id, body.score, sender=body.sender))


@router.post("/api/tx/booking/{action}", operation_id="prepare_booking_action")
def action(
    action: Literal[
        "cancel",
        "pickup",
        "return",
        "claim",
        "dispute",
        "evidence",
        "finalize",
        "claim-ruling-timeout",
        "unblock",
    ],
    body: BookingActionIn,
    client: ClientDep,
) -> PreparedOut:
    """A party's action on a booking: ``cancel`` (renter before the start, or owner),
    ``pickup`` (renter), ``return`` (owner), ``claim`` (owner: damage), ``dispute`` (renter),
    ``evidence`` (either), ``finalize`` and ``claim-ruling-timeout`` (anyone), ``unblock``
    (owner)."""
    if action == "evidence" and not body.evidence_cid:
        raise ApiError(422, "evidence_cid: required to attach evidence")
    call = client.rentals.prepare_action(
        ACTIONS[action], body.booking_id, evidence=body.evidence_cid or b"", sender=body.sender
    )
    return prepared(call)


def booking_steps(b: Any, me: str, now: int) -> tuple[str, list[BookingStep]]:
    """The role of ``me`` in booking ``b`` and what it may do at ``now`` (the library's
    :func:`~p2pchain.chain._booking_model.booking_moves`), as the page shows them."""
    from p2pchain.chain._booking_model import booking_moves

    role, moves = booking_moves(b, me, now)
    return role, [BookingStep(action=a, label=label) for a, label in moves]


@router.get("/api/accounts/{address}/bookings", operation_id="bookings_of")
def bookings_of(
    address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")], services: ServicesDep
) -> AccountBookingsOut:
    """The bookings where ``address`` is the renter, the owner or the arbitrator, newest first,
    each read from the chain, with what that party may do now."""
    from eth_utils import to_checksum_address

    from frontend_api.routes.accounts import index_now, token_out

    who = to_checksum_address(address)
    now = index_now(services)
    rentals = services.client.rentals
    items = []
    for view in rentals.many(services.index.bookings_of(who)):  # read together, not one by one
        role, steps = booking_steps(view.booking, who, now)
        row = services.index.listing("0x" + view.booking.listing_id.hex())
        items.append(
            AccountBookingOut(
                **booking_out(view).model_dump(),
                role=role,
                title=row.title if row is not None else None,
                token_info=token_out(services, view.booking.token),
                steps=steps,
            )
        )
    return AccountBookingsOut(address=who, now=now, items=items)
