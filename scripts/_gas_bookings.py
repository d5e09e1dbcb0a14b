"""Booking figures for the gas report (``scripts/gas_report.py``): real receipts from the same
Anvil deployment as the sale figures.

Measured, ETH rentals at 0.05 ETH per day with a 0.1 ETH deposit and an arbitrator:

* ``book`` with 1, 100 and 1,000 bookings already on the listing (to show its cost does not
  grow), each into a calendar word already in use (every booking but the first of each 255-period
  window; the owner's ``list`` opens the first window), and the first booking of a new window;
* book + return (the owner confirms the return: rent to the owner, deposit back);
* cancel within the free-cancellation window (everything back to the renter);
* the other booking calls, for the record.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.types import TxReceipt

from p2pchain.chain._booking_model import (
    BookingState,
    RentalTerms,
    apply_booking_event,
    open_booking,
)
from p2pchain.chain._events import receipt_events
from p2pchain.compiler._artifacts import load_artifact

if TYPE_CHECKING:
    from gas_report import Bench

DAY = 86_400
HOUR = 3_600
RATE = 5 * 10**16
DEPOSIT = 10**17
#: The issue's budgets, ETH.
BUDGETS: Mapping[str, int] = {"book": 70_000, "book_return": 125_000, "cancel_free": 45_000}
#: Prior bookings at which ``book`` is measured.
PRIOR = (1, 100, 1_000)


class _Rentals:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.contract: Contract = bench.w3.eth.contract(
            address=bench.deployment.bookings, abi=list(load_artifact("Bookings").abi)
        )
        self.owner = bench.seller
        self.renters: Sequence[LocalAccount] = bench.chain.accounts[5:10]
        self.count = 0

    def now(self) -> int:
        return int(self.bench.w3.eth.get_block("latest")["timestamp"])

    def list(self, unit: int = DAY, span_days: int = 3_000) -> tuple[bytes, RentalTerms]:
        first = (self.now() // DAY + 1) * DAY + 10 * HOUR
        terms = RentalTerms(
            owner=self.owner.address,
            token="0x" + "00" * 20,
            rate=RATE,
            deposit=DEPOSIT,
            arbitrator=self.bench.arbitrator.address,
            arbitrator_fee_bps=200,
            unit=unit,
            first_start=first,
            last_end=first + span_days * DAY,
            min_units=1,
            max_units=48,
            lead_time=0,
            free_cancel=2 * DAY,
            late_refund_bps=5_000,
            claim_window=3 * DAY,
            cid_prefix=bytes.fromhex("1220").ljust(8, b"\0"),
            cid_digest=self.bench.fresh("rental cid"),
        )
        receipt = self.bench.send(
            self.owner,
            self.contract.functions.list(terms.as_tuple(), self.bench.fresh("rental salt")),
        )
        (args,) = [a for n, a in receipt_events(self.contract, receipt) if n == "RentalListed"]
        self.list_gas = int(receipt["gasUsed"])
        return bytes(args["listingId"]), terms

    def book(
        self, listing: bytes, terms: RentalTerms, slot: int, units: int = 1
    ) -> tuple[Any, int]:
        renter = self.renters[self.count % len(self.renters)]
        self.count += 1
        fn = self.contract.functions.book(listing, terms.as_tuple(), slot, units)
        receipt = self.bench.send(renter, fn, value=RATE * units + DEPOSIT)
        (args,) = [a for n, a in receipt_events(self.contract, receipt) if n == "Booked"]
        booking = open_booking(listing, terms, renter.address, slot, units)
        return (bytes(args["bookingId"]), booking, renter), int(receipt["gasUsed"])

    def act(self, action: str, account: LocalAccount, ref: Any, *extra: Any) -> tuple[Any, int]:
        booking_id, booking, renter = ref
        fn = getattr(self.contract.functions, action)(booking_id, booking.as_tuple(), *extra)
        receipt: TxReceipt = self.bench.send(account, fn)
        for name, args in receipt_events(self.contract, receipt):
            if bytes(args.get("bookingId", b"")) == booking_id:
                booking = apply_booking_event(booking, name, args)
        return (booking_id, booking, renter), int(receipt["gasUsed"])


def _stat(values: Sequence[int]) -> dict[str, int]:
    return {"median": int(statistics.median(values)), "min": min(values), "max": max(values)}


def measure_bookings(bench: Bench, repetitions: int, log: Any) -> dict[str, Any]:
    """Run the booking plan on ``bench``'s deployment; returns the report's ``bookings`` section."""
    r = _Rentals(bench)
    listing, terms = r.list()
    figures: dict[str, list[int]] = {}

    def add(key: str, value: int) -> None:
        figures.setdefault(key, []).append(value)

    # 1,000+ bookings on one daily listing, one day each, every other day; measured at 1, 100
    # and 1,000 prior bookings (the next booking is then the 2nd, 101st, 1001st).
    slot = 0
    made = 0
    last_log = 0
    while made <= PRIOR[-1] + repetitions:
        _, used = r.book(listing, terms, slot)
        for prior in PRIOR:
            if prior <= made < prior + repetitions and (slot // 255) == ((slot - 2) // 255):
                add(f"book_after_{prior}", used)
        if slot % 255 < 2 and slot >= 255:
            add("book_new_window", used)
        made += 1
        slot += 2
        if made - last_log >= 250:
            log(f"bookings: {made} made on one listing")
            last_log = made
    # book + return, cancel in the free window, pickup, claim, rule, finalize (fresh listing)
    listing, terms = r.list()
    returns, claims, finals = [], [], []
    for i in range(repetitions):
        ref, used = r.book(listing, terms, 10 + 4 * i, 2)
        returns.append((ref, used))
        ref, used = r.book(listing, terms, 40 + 4 * i, 2)
        add("book_2_days", used)
        _, used = r.act("cancel", ref[2], ref)
        add("cancel_free", used)
        ref, _ = r.book(listing, terms, 80 + 4 * i, 1)
        ref, used = r.act("pickup", ref[2], ref, b"")
        add("pickup", used)
        claims.append(ref)
        ref, _ = r.book(listing, terms, 120 + 4 * i, 1)
        finals.append(ref)

    def until(timestamp: int) -> None:
        now = r.now()
        if timestamp > now:
            bench.warp(timestamp - now)

    for ref, booked in returns:
        until(ref[1].start + HOUR)
        _, used = r.act("confirmReturn", r.owner, ref, b"")
        add("return", used)
        add("book_return", booked + used)
    for ref in claims:
        until(ref[1].start + HOUR)
        photo = b"\x12\x20" + bench.fresh("photo")
        ref, used = r.act("claimDamage", r.owner, ref, photo)
        add("claim", used)
        _, used = r.act("rule", bench.arbitrator, ref, DEPOSIT // 2)
        add("rule", used)
    until(max(ref[1].deadline for ref in finals) + HOUR)
    for ref in finals:
        ref, used = r.act("finalize", bench.buyer, ref)
        add("finalize", used)
        assert ref[1].state is BookingState.COMPLETED
    stats = {k: _stat(v) for k, v in figures.items()}
    stats["list"] = _stat([r.list_gas])
    book = stats[f"book_after_{PRIOR[-1]}"]["median"]
    return {
        "budgets": dict(BUDGETS),
        "figures": stats,
        "verdicts": {
            "book": book <= BUDGETS["book"],
            "book_return": stats["book_return"]["median"] <= BUDGETS["book_return"],
            "cancel_free": stats["cancel_free"]["median"] <= BUDGETS["cancel_free"],
        },
        "method": (
            f"ETH rental at 0.05 ETH/day, 0.1 ETH deposit, arbitrator at 2%; renters are 5 funded "
            f"accounts taking turns; median of {repetitions} (book: the {repetitions} bookings "
            "after 1, 100 and 1,000 prior ones on the same listing, one day each, every other day)"
        ),
    }


_ROWS = (
    ("book_after_1", "book, 1 prior booking on the listing", "book"),
    ("book_after_100", "book, 100 prior bookings", "book"),
    ("book_after_1000", "book, 1,000 prior bookings", "book"),
    ("book_new_window", "book, first booking of a new 255-period calendar window", None),
    ("book_2_days", "book, 2 days", None),
    ("book_return", "book + confirmReturn (rent to the owner, deposit back)", "book_return"),
    ("return", "confirmReturn alone", None),
    ("cancel_free", "cancel by the renter within the free window (all back)", "cancel_free"),
    ("pickup", "pickup (renter confirms, no evidence)", None),
    ("claim", "claimDamage (owner, 34-byte evidence CID; rent paid out)", None),
    ("rule", "rule on a damage claim (fee, renter share, owner rest)", None),
    ("finalize", "finalize after the claim window (rent and deposit paid)", None),
    ("list", "list a rental (opens the first calendar window)", None),
)


def _fig(s: Mapping[str, int]) -> str:
    text = f"{s['median']:,}"
    return text if s["min"] == s["max"] else f"{text} ({s['min']:,}–{s['max']:,})"


def bookings_markdown(section: Mapping[str, Any]) -> list[str]:
    """The report's bookings section, as markdown lines."""
    out = ["## Bookings (rentals by period)", "", str(section["method"]) + ".", ""]
    out += ["| Operation | ETH | Budget | vs budget |", "|---|---:|---:|---|"]
    figures, budgets = section["figures"], section["budgets"]
    for key, title, budget_key in _ROWS:
        if key not in figures:
            continue
        s = figures[key]
        if budget_key:
            budget = budgets[budget_key]
            ok = s["median"] <= budget
            diff = abs(budget - s["median"])
            verdict = f"{'✅ met' if ok else '❌ over by'} {diff:,}{' under' if ok else ''}"
            out.append(f"| {title} | {_fig(s)} | {budget:,} | {verdict} |")
        else:
            out.append(f"| {title} | {_fig(s)} | – | |")
    out += [
        "",
        (
            "The calendar is a bitmap: 255 periods per storage word. A booking reads and writes the "
            "word(s) its periods fall in and stores one hash, so its cost does not depend on how many "
            "bookings the listing has. The first booking of each 255-period window pays 20,000 more to "
            "open its word (the owner's `list` opens the first one)."
        ),
        "",
    ]
    return out


def bookings_console(console: Any, section: Mapping[str, Any]) -> list[str]:
    """Print the bookings table; return the budgets missed."""
    from rich.table import Table

    table = Table(title="Bookings (ETH)")
    for col in ("Operation", "Gas", "Budget"):
        table.add_column(col, justify="left" if col == "Operation" else "right")
    missed = []
    for key, title, budget_key in _ROWS:
        s = section["figures"].get(key)
        if s is None:
            continue
        budget = section["budgets"].get(budget_key) if budget_key else None
        table.add_row(title, _fig(s), f"{budget:,}" if budget else "–")
        if budget and s["median"] > budget:
            missed.append(f"{title}: {s['median']:,} > {budget:,}")
    console.print(table)
    return missed
