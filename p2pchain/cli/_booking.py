"""``p2pchain booking``: rentals booked by date. See the calendar, book, cancel, pick up, return,
claim damage, and the rest of a booking's life. Every move of money asks first.

A rental is listed with ``p2pchain listing create --kind rental --rate 0.05eth/day ...``
(:func:`create_rental`). Dates given as plain days (``2026-12-12``) mean that day's pickup time
on the listing's grid, so ``--from 2026-12-12 --until 2026-12-14`` is two days, picked up on the
12th and returned on the 14th at the listing's hour.
"""

from __future__ import annotations

import calendar as calendar_module
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from p2pchain.cli._common import (
    command,
    confirm,
    earlier,
    emit,
    fees_row,
    format_amount,
    format_duration,
    format_time,
    hex_id,
    noun_app,
    opts,
    panel,
    parse_amount,
    parse_duration,
    parse_time,
    status,
    table,
    who,
)
from p2pchain.cli._errors import CliError

if TYPE_CHECKING:
    from p2pchain.chain._booking_model import RentalTerms
    from p2pchain.market._bookings import BookingView, RentalsClient

booking_app = noun_app("Rentals by date: calendar, book, cancel, pickup, return, damage claims.")

MONEY = ("network", "account", "passphrase_file", "json_output", "yes")
READ = ("network", "json_output")
ListingArg = Annotated[str, typer.Argument(help="The rental listing id (0x + 64 hex digits).")]
BookingArg = Annotated[str, typer.Argument(help="The booking id (0x + 64 hex digits).")]
FromOpt = Annotated[
    str, typer.Option("--from", help="First day (2026-12-12: at the pickup hour) or a time.")
]
UntilOpt = Annotated[
    str, typer.Option("--until", help="Return day (2026-12-14: at the return hour) or a time.")
]
PhotoOpt = Annotated[
    str | None, typer.Option("--photo", help="CID of photos or a report (ipfs add them first).")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the booking id.")]

_STATE_WORDS = {
    "NONE": "cancelled",
    "BOOKED": "booked",
    "DISPUTED": "disputed",
    "COMPLETED": "completed",
    "REFUNDED": "refunded by the owner",
    "RULED": "ruled",
    "RULING_TIMED_OUT": "ruling timed out",
    "BLOCKED": "blocked by the owner",
}


def _id(value: str, what: str) -> bytes:
    from p2pchain.market._validation import bytes32

    return bytes32(value.strip(), what)


def per_text(unit: int) -> str:
    """``day`` for 86400 seconds, ``hour``, ``week``; else the duration."""
    return {3_600: "hour", 86_400: "day", 604_800: "week"}.get(unit, format_duration(unit))


def rate_text(terms: RentalTerms) -> str:
    return f"{format_amount(terms.rate, terms.token)} per {per_text(terms.unit)}"


def _moment(terms: RentalTerms, text: str, what: str) -> int:
    """A time on the listing's grid: a plain day means that day's period start (pickup hour)."""
    value = text.strip()
    at = parse_time(value, what)
    is_day = len(value) == 10 and value[4] == "-" and value[7] == "-"
    if is_day:
        offset = (at - terms.first_start) % terms.unit
        return at if offset == 0 else at + terms.unit - offset
    return at


def _span(terms: RentalTerms, start_text: str, end_text: str) -> tuple[int, int]:
    from p2pchain.market._validation import InputError

    start = _moment(terms, start_text, "--from")
    end = _moment(terms, end_text, "--until")
    try:
        first = (start - terms.first_start) // terms.unit
        if start < terms.first_start:
            raise InputError(
                f"the rental can be booked from {format_time(terms.first_start)} on, not"
                f" {format_time(start)}"
            )
        if end <= start:
            raise InputError("--until must be after --from")
        if (start - terms.first_start) % terms.unit or (end - start) % terms.unit:
            raise InputError(
                f"times must fall on the rental's grid: whole {per_text(terms.unit)}s from"
                f" {format_time(terms.first_start)}"
            )
    except InputError as exc:
        raise CliError(str(exc)) from None
    return first, (end - start) // terms.unit


def booking_json(view: BookingView) -> dict[str, Any]:
    b = view.booking
    return {
        "id": hex_id(view.id),
        "listing_id": hex_id(b.listing_id),
        "state": b.state.name.lower(),
        "renter": b.renter,
        "owner": b.owner,
        "token": b.token,
        "arbitrator": b.arbitrator,
        "arbitrator_fee_bps": b.arbitrator_fee_bps,
        "first_period": b.first_slot,
        "periods": b.units,
        "start": b.start,
        "end": b.end,
        "free_cancel_until": b.free_cancel_until,
        "late_refund_bps": b.late_refund_bps,
        "rent": str(b.rent),
        "deposit": str(b.deposit),
        "deadline": b.deadline,
        "flags": b.flags,
        "renter_share": str(b.renter_share),
        "held": str(b.held),
        "history": [{"event": n, "block": blk, "tx": tx} for n, blk, tx in view.history],
        "tx": view.tx.tx_hash if view.tx else None,
    }


def _rows(view: BookingView) -> list[tuple[str, Any]]:
    b = view.booking
    rows: list[tuple[str, Any]] = [
        ("booking", hex_id(view.id)),
        ("state", _STATE_WORDS.get(b.state.name, b.state.name.lower())),
        ("listing", hex_id(b.listing_id)),
        ("renter", who(b.renter)),
        ("owner", who(b.owner)),
        ("when", f"{format_time(b.start)} to {format_time(b.end)}"),
    ]
    if b.rent or b.deposit:
        rows += [
            ("rent", format_amount(b.rent, b.token)),
            ("deposit", format_amount(b.deposit, b.token)),
            ("held in escrow", format_amount(b.held, b.token)),
        ]
    if b.state.name == "BOOKED" and b.rent:
        rows.append(("free cancellation until", format_time(b.free_cancel_until)))
        rows.append(("claim window ends", format_time(b.deadline)))
    if b.state.name == "DISPUTED":
        rows.append(("ruling due by", format_time(b.deadline)))
    if b.flags & 1:
        rows.append(("pickup", "confirmed by the renter"))
    return rows


def _show(view: BookingView, title: str, quiet: bool = False) -> None:
    if quiet:
        typer.echo(hex_id(view.id))
        return
    emit(booking_json(view), lambda: panel(title, _rows(view), style="green"))


def _rentals(signer: bool = True) -> RentalsClient:
    return opts().client(signer=signer).rentals


# ------------------------------------------------------------------------------ reading


@command(booking_app, "calendar", shared=READ)
def calendar(
    listing: ListingArg,
    month: Annotated[
        str | None, typer.Option(help="The month to show, 2026-12 (default: the first bookable).")
    ] = None,
) -> None:
    """A month of a rental's calendar: which days are free, booked or outside its range."""
    listing_id = _id(listing, "a listing id")
    rentals = _rentals(signer=False)
    rental = rentals.listing(listing_id)
    t = rental.terms
    if month is None:
        start = datetime.fromtimestamp(max(t.first_start, rentals.client.now()), UTC)
        year, mon = start.year, start.month
    else:
        try:
            year, mon = (int(p) for p in month.split("-"))
            datetime(year, mon, 1, tzinfo=UTC)
        except ValueError:
            raise CliError(f"invalid --month {month!r}: expected e.g. 2026-12") from None
    days = calendar_module.monthrange(year, mon)[1]
    month_start = int(datetime(year, mon, 1, tzinfo=UTC).timestamp())
    month_end = month_start + days * 86_400
    first = max(0, t.slot_at(month_start))
    last = max(0, t.slot_at(month_end - 1))
    taken = rentals.taken(rental, first, last)
    now = rentals.client.now()
    out_days = []
    for d in range(days):
        day_start = month_start + d * 86_400
        # each period belongs to the day it starts on (a day rental runs pickup to pickup)
        first_slot = max(0, -((t.first_start - day_start) // t.unit))
        slots = [
            s
            for s in range(first_slot, t.slot_at(day_start + 86_399) + 1)
            if day_start <= t.slot_start(s) < day_start + 86_400
            and t.slot_start(s) + t.unit <= t.last_end
        ]
        free = [s for s in slots if s not in taken and t.slot_start(s) >= now + t.lead_time]
        out_days.append(
            {
                "date": f"{year:04d}-{mon:02d}-{d + 1:02d}",
                "periods": len(slots),
                "free": len(free),
                "booked": len([s for s in slots if s in taken]),
            }
        )
    data = {
        "listing_id": hex_id(rental.id),
        "month": f"{year:04d}-{mon:02d}",
        "rate": str(t.rate),
        "unit": t.unit,
        "token": t.token,
        "days": out_days,
    }

    def render() -> None:
        from rich.table import Table

        from p2pchain.cli._common import console

        grid = Table(
            title=f"{calendar_module.month_name[mon]} {year}",
            caption=(
                f"{format_amount(t.rate, t.token, short=True)} per {per_text(t.unit)}\n"
                "[green]free[/]  [red]✕ booked[/]  [dim]grey: not bookable[/]"
            ),
        )
        for name in ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"):
            grid.add_column(name, justify="center")
        week: list[str] = [""] * datetime(year, mon, 1, tzinfo=UTC).weekday()
        for d, info in enumerate(out_days):
            label = f"{d + 1:2d}"
            if info["periods"] == 0:
                cell = f"[dim]{label}[/]"
            elif info["free"] == info["periods"]:
                cell = f"[green]{label}[/]"
            elif info["booked"] == info["periods"]:
                cell = f"[red]{label}✕[/]"
            elif info["free"] == 0:
                cell = f"[dim]{label}[/]"
            else:  # part of the day is free (hourly rentals)
                cell = f"[yellow]{label}[/]\n[dim]{info['free']}/{info['periods']}[/]"
            week.append(cell)
            if len(week) == 7:
                grid.add_row(*week)
                week = []
        if week:
            grid.add_row(*(week + [""] * (7 - len(week))))
        console().print(grid)

    emit(data, render)


@command(booking_app, "show", shared=READ)
def show(booking: BookingArg) -> None:
    """A booking: who, when, what is held, and its state."""
    view = _rentals(signer=False).booking(_id(booking, "a booking id"))
    emit(booking_json(view), lambda: panel("booking", _rows(view)))


@command(booking_app, "list", shared=READ)
def list_(listing: ListingArg) -> None:
    """Every booking and blocked period of a rental."""
    views = _rentals(signer=False).bookings(_id(listing, "a listing id"))
    rows = [
        [
            hex_id(v.id)[:10] + "…",
            _STATE_WORDS.get(v.state.name, v.state.name.lower()),
            format_time(v.booking.start),
            format_time(v.booking.end),
            who(v.booking.renter),
        ]
        for v in views
    ]
    emit(
        [booking_json(v) for v in views],
        lambda: table("bookings", ["id", "state", "from", "until", "renter"], rows),
    )


# ------------------------------------------------------------------------------ booking


@command(booking_app, "book", shared=MONEY)
def book(listing: ListingArg, from_: FromOpt, until: UntilOpt, quiet: QuietOpt = False) -> None:
    """Renter: book dates and pay rent and deposit into escrow (the total is shown first)."""
    o = opts()
    listing_id = _id(listing, "a listing id")
    rentals = _rentals()
    rental = rentals.listing(listing_id)
    if not rental.live:
        raise CliError(f"rental {hex_id(rental.id)} is closed: it takes no bookings")
    t = rental.terms
    first, units = _span(t, from_, until)
    call = rentals.prepare_book(rental, first, units)
    resumed = earlier(call)
    if resumed is not None:
        with status(o, "waiting for the earlier booking"):
            _show(resumed.result(), "booked", quiet)
        return
    rent, deposit = t.cost(units)
    start = t.slot_start(first)
    end = start + units * t.unit
    free_until = max(start - t.free_cancel, 0)
    rows: list[tuple[str, Any]] = [
        ("rental", hex_id(rental.id)),
        ("owner", who(t.owner)),
        ("when", f"{format_time(start)} to {format_time(end)} ({units} {per_text(t.unit)}s)"),
        ("rent", f"{rate_text(t)} x {units} = {format_amount(rent, t.token)}"),
        ("deposit", f"{format_amount(deposit, t.token)}, back after the return"),
        ("you pay now", format_amount(rent + deposit, t.token)),
        (
            "cancellation",
            (
                f"everything back until {format_time(free_until)}; then"
                f" {t.late_refund_bps / 100:g}% of the rent (and the deposit) until the start"
            ),
        ),
        (
            "after the end",
            f"{format_duration(t.claim_window)} for a damage claim; then anyone can finalize",
        ),
        ("arbitrator", who(t.arbitrator) if t.arbitrator != "0x" + "0" * 40 else "none"),
        fees_row(call),
        ("from", who(rentals.client.address)),
    ]
    confirm(o, "book", rows)
    with status(o, "waiting for the booking to be mined"):
        view = call.send()
    _show(view, "booked", quiet)


def _act(booking: str, title: str, describe: Any, prepare: Any, done: str) -> None:
    """Load the booking, prepare the call (a revert fails here), resume an earlier run's
    transaction of unknown outcome instead of sending again, else show, ask, send, report."""
    o = opts()
    booking_id = _id(booking, "a booking id")  # bad input fails before connecting or unlocking
    rentals = _rentals()
    view = rentals.booking(booking_id)
    call = prepare(rentals, view)
    resumed = earlier(call)
    if resumed is not None:
        with status(o, "waiting for the earlier transaction"):
            _show(resumed.result(), done)
        return
    confirm(o, title, [*_rows(view), *describe(view, rentals), fees_row(call)])
    with status(o, "waiting for the transaction"):
        result = call.send()
    _show(result, done)


@command(booking_app, "cancel", shared=MONEY)
def cancel(booking: BookingArg) -> None:
    """Renter (before the start, under the policy) or owner (refunding everything): cancel."""

    def describe(view: BookingView, rentals: RentalsClient) -> list[tuple[str, Any]]:
        b = view.booking
        if rentals.client.address == b.owner:
            return [("pays", f"{format_amount(b.held, b.token)} back to the renter (all of it)")]
        back, kept = b.cancel_refund(rentals.client.now())
        rows = [("you get back", format_amount(back, b.token))]
        if kept:
            rows.append(("the owner keeps", f"{format_amount(kept, b.token)} (late cancellation)"))
        return rows

    _act(
        booking, "cancel booking", describe, lambda r, v: r.prepare_action("cancel", v), "cancelled"
    )


@command(booking_app, "pickup", shared=MONEY)
def pickup(booking: BookingArg, photo: PhotoOpt = None) -> None:
    """Renter: confirm you have the item (optionally with photos); no cancelling after this."""
    _act(
        booking,
        "confirm pickup",
        lambda v, r: [("after this", "the booking can no longer be cancelled by you")],
        lambda r, v: r.prepare_action("pickup", v, evidence=photo or b""),
        "picked up",
    )


@command(booking_app, "return", shared=MONEY)
def return_(booking: BookingArg, photo: PhotoOpt = None) -> None:
    """Owner: the item is back; the rent is paid to you and the deposit goes back."""
    _act(
        booking,
        "confirm return",
        lambda v, r: [
            ("pays", f"{format_amount(v.booking.rent, v.booking.token)} rent to you (the owner)"),
            ("and", f"{format_amount(v.booking.deposit, v.booking.token)} deposit to the renter"),
        ],
        lambda r, v: r.prepare_action("confirmReturn", v, evidence=photo or b""),
        "returned",
    )


@command(booking_app, "claim", shared=MONEY)
def claim(booking: BookingArg, photo: PhotoOpt = None) -> None:
    """Owner: claim damage against the deposit; the arbitrator rules (the rent is paid now)."""
    _act(
        booking,
        "claim damage",
        lambda v, r: [
            ("pays now", f"{format_amount(v.booking.rent, v.booking.token)} rent to you"),
            ("disputed", f"{format_amount(v.booking.deposit, v.booking.token)} deposit"),
            ("arbitrator", who(v.booking.arbitrator)),
        ],
        lambda r, v: r.prepare_action("claimDamage", v, evidence=photo or b""),
        "claimed",
    )


@command(booking_app, "dispute", shared=MONEY)
def dispute(booking: BookingArg, photo: PhotoOpt = None) -> None:
    """Renter: put everything held before the arbitrator."""
    _act(
        booking,
        "dispute booking",
        lambda v, r: [("arbitrator", who(v.booking.arbitrator))],
        lambda r, v: r.prepare_action("dispute", v, evidence=photo or b""),
        "disputed",
    )


@command(booking_app, "evidence", shared=MONEY)
def evidence(booking: BookingArg, photo: Annotated[str, typer.Option("--photo")]) -> None:
    """Renter or owner: attach photos or a report (a CID) to a booking."""
    _act(
        booking,
        "attach evidence",
        lambda v, r: [("evidence", photo)],
        lambda r, v: r.prepare_action("attachEvidence", v, evidence=photo),
        "evidence attached",
    )


@command(booking_app, "finalize", shared=MONEY)
def finalize(booking: BookingArg) -> None:
    """Anyone, after the claim window: rent to the owner, deposit back to the renter."""
    _act(
        booking,
        "finalize booking",
        lambda v, r: [],
        lambda r, v: r.prepare_action("finalize", v),
        "finalized",
    )


@command(booking_app, "rule", shared=MONEY)
def rule(
    booking: BookingArg,
    renter_share: Annotated[
        str, typer.Option("--renter-share", help="What the renter gets; the rest to the owner.")
    ],
) -> None:
    """Arbitrator: split what the booking holds (after your fee)."""

    def share(view: BookingView) -> int:
        return parse_amount(renter_share, "--renter-share", view.booking.token)

    _act(
        booking,
        "rule",
        lambda v, r: [("renter gets", format_amount(share(v), v.booking.token))],
        lambda r, v: r.prepare_action("rule", v, renter_share=share(v)),
        "ruled",
    )


@command(booking_app, "timeout", shared=MONEY)
def timeout(booking: BookingArg) -> None:
    """Anyone, after the ruling window: everything held goes back to the renter."""
    _act(
        booking,
        "claim ruling timeout",
        lambda v, r: [("pays", f"{format_amount(v.booking.held, v.booking.token)} to the renter")],
        lambda r, v: r.prepare_action("claimRulingTimeout", v),
        "timed out",
    )


@command(booking_app, "block", shared=MONEY)
def block(listing: ListingArg, from_: FromOpt, until: UntilOpt) -> None:
    """Owner: hold dates for yourself (own use, maintenance)."""
    o = opts()
    rentals = _rentals()
    rental = rentals.listing(_id(listing, "a listing id"))
    first, units = _span(rental.terms, from_, until)
    start = rental.terms.slot_start(first)
    end = start + units * rental.terms.unit
    call = rentals.prepare_block(rental, first, units)
    resumed = earlier(call)
    if resumed is not None:
        with status(o, "waiting for the earlier transaction"):
            _show(resumed.result(), "blocked")
        return
    confirm(
        o,
        "block dates",
        [
            ("rental", hex_id(rental.id)),
            ("when", f"{format_time(start)} to {format_time(end)}"),
            fees_row(call),
        ],
    )
    with status(o, "waiting for the transaction"):
        view = call.send()
    _show(view, "blocked")


@command(booking_app, "unblock", shared=MONEY)
def unblock(booking: BookingArg) -> None:
    """Owner: release dates you blocked."""
    _act(
        booking,
        "unblock dates",
        lambda v, r: [],
        lambda r, v: r.prepare_action("unblockPeriod", v),
        "unblocked",
    )


@command(booking_app, "rate", shared=MONEY)
def rate(
    booking: BookingArg,
    score: Annotated[int, typer.Option(min=1, max=5, help="1 (worst) to 5 (best).")],
) -> None:
    """Rate the other side of a settled booking."""
    o = opts()
    rentals = _rentals()
    view = rentals.booking(_id(booking, "a booking id"))
    other = (
        view.booking.owner if rentals.client.address == view.booking.renter else view.booking.renter
    )
    call = rentals.prepare_rate(view, score)
    resumed = earlier(call)
    if resumed is not None:
        with status(o, "waiting for the earlier rating"):
            tx = resumed.result()
    else:
        confirm(
            o,
            "rate",
            [
                ("booking", hex_id(view.id)),
                ("rating", who(other)),
                ("score", f"{score}/5"),
                fees_row(call),
            ],
        )
        with status(o, "waiting for the transaction"):
            tx = call.send()
    emit(
        {"booking": hex_id(view.id), "subject": other, "score": score, "tx": tx.tx_hash},
        lambda: typer.echo(f"rated {who(other)} {score}/5 (tx {tx.tx_hash})"),
    )


@command(booking_app, "update", shared=MONEY)
def update(
    listing: ListingArg,
    rate: Annotated[
        str | None, typer.Option(help="New rate for future bookings, e.g. 0.06eth/day.")
    ] = None,
    deposit: Annotated[str | None, typer.Option(help="New deposit for future bookings.")] = None,
    max_length: Annotated[
        str | None, typer.Option(help="New longest booking, e.g. 21d (whole periods).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="New last bookable time (the range's end).")
    ] = None,
) -> None:
    """Owner: change the rate, deposit, longest booking or last date, for future bookings only."""
    from dataclasses import replace

    from p2pchain.market._bookings import parse_rate

    o = opts()
    rentals = _rentals()
    rental = rentals.listing(_id(listing, "a listing id"))
    t = rental.terms
    changes: dict[str, Any] = {}
    if rate is not None:
        amount, unit = parse_rate(rate)
        if unit != t.unit:
            raise CliError(
                f"--rate must be per {per_text(t.unit)}, as the rental's periods are (they cannot change)"
            )
        changes["rate"] = parse_amount(amount, "--rate", t.token)
    if deposit is not None:
        changes["deposit"] = parse_amount(deposit, "--deposit", t.token)
    if max_length is not None:
        seconds = parse_duration(max_length, "--max-length")
        if seconds % t.unit:
            raise CliError(
                f"--max-length {max_length!r} is not a whole number of {per_text(t.unit)}s"
            )
        changes["max_units"] = seconds // t.unit
    if until is not None:
        changes["last_end"] = parse_time(until, "--until")
    if not changes:
        raise CliError("nothing to change: give --rate, --deposit, --max-length or --until")
    new = replace(t, **changes)
    terms_checked = rentals.make_terms(
        rate=new.rate, unit=new.unit, cid=new.cid, first_start=new.first_start,
        last_end=new.last_end, deposit=new.deposit, token=new.token, arbitrator=new.arbitrator,
        arbitrator_fee_bps=new.arbitrator_fee_bps, min_units=new.min_units,
        max_units=new.max_units, lead_time=new.lead_time, free_cancel=new.free_cancel,
        late_refund_bps=new.late_refund_bps, claim_window=new.claim_window, owner=new.owner,
    )  # fmt: skip
    rows = [("rental", hex_id(rental.id))]
    for key, old, value in (
        ("rate", rate_text(t), rate_text(terms_checked)),
        ("deposit", format_amount(t.deposit, t.token), format_amount(terms_checked.deposit, t.token)),
        ("longest booking", f"{t.max_units} {per_text(t.unit)}s", f"{terms_checked.max_units} {per_text(t.unit)}s"),
        ("last date", format_time(t.last_end), format_time(terms_checked.last_end)),
    ):  # fmt: skip
        if old != value:
            rows.append((key, f"{old} -> {value}"))
    rows.append(("existing bookings", "keep their rent, deposit and dates"))
    confirm(o, "update rental", rows)
    with status(o, "waiting for the transaction"):
        updated = rentals.update(rental, terms_checked)
    emit(
        {"id": hex_id(updated.id), "rate": str(updated.terms.rate), "deposit": str(updated.terms.deposit),
         "max_units": updated.terms.max_units, "last_end": updated.terms.last_end},
        lambda: typer.echo(f"updated rental {hex_id(updated.id)}: {rate_text(updated.terms)}"),
    )  # fmt: skip


@command(booking_app, "close", shared=MONEY)
def close(listing: ListingArg) -> None:
    """Owner: stop taking bookings; existing ones go on."""
    o = opts()
    rentals = _rentals()
    rental = rentals.listing(_id(listing, "a listing id"))
    if not rental.live:
        raise CliError(f"rental {hex_id(rental.id)} is already closed")
    confirm(o, "close rental", [("rental", hex_id(rental.id)), ("existing bookings", "go on")])
    with status(o, "waiting for the transaction"):
        closed = rentals.close(rental)
    emit(
        {"id": hex_id(closed.id), "live": closed.live},
        lambda: typer.echo(f"closed rental {hex_id(closed.id)}: no new bookings"),
    )
