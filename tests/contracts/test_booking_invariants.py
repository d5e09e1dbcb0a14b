"""Stateful invariant tests of the Bookings contract on the embedded chain (hypothesis).

:class:`BookingMachine` drives random sequences of rental listings (ETH and a TestERC20, day and
hour periods), bookings by random renters over random periods (overlapping ones included),
owner blocks, cancellations by either side at any time, pickups, returns, damage claims,
disputes, rulings, finalizations, timeouts and clock jumps. Every call is predicted from the
machine's own model (success, or the custom error's name); a mismatch fails the test. After every
step it checks that:

* solvency, per token: the contract holds exactly what the open bookings hold plus every credit;
* no two bookings (or blocks) that hold periods overlap, and the contract's calendar words mark
  exactly the periods the model's live bookings hold;
* every booking the model knows matches the chain's record.

At the end of every example the clock jumps past every deadline and a stranger closes every
booking that still holds money (``finalize`` or ``claimRulingTimeout``): each must succeed, and
the contract is then left holding only credits: every non-final booking had an exit that needed
nobody's cooperation.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.contract import Contract

from p2pchain.chain._booking_model import SLOTS_PER_WORD, BookingState, booking_hash
from p2pchain.chain._nodes import EmbeddedChain

from ._helpers import deploy_token
from .bookings import HOUR, BookingRef, Rental, Rentals
from .market import DAY, ETH, Market, Reverted

#: (action, "ok" or the predicted error) -> count, over the whole run.
OUTCOMES: Counter[tuple[str, str]] = Counter()

RATE = 10**15
DEPOSIT = 3 * 10**15


@dataclass
class MRental:
    rental: Rental
    token: str
    taken: dict[int, bytes] = field(default_factory=dict)  # slot -> booking id holding it


@dataclass
class MBooking:
    ref: BookingRef
    rental: MRental
    renter: LocalAccount | None  # None for an owner's block


class BookingMachine(RuleBasedStateMachine):
    """See the module docstring."""

    m: Market
    r: Rentals
    token: Contract

    def __init__(self) -> None:
        super().__init__()
        self.rentals: list[MRental] = []
        self.bookings: list[MBooking] = []
        self.snapshot = self.chain().snapshot()
        self.t = int(self.r.now()) + 10

    @classmethod
    def chain(cls) -> EmbeddedChain:
        return cls.m.chain  # type: ignore[return-value]

    def teardown(self) -> None:
        self.chain().revert(self.snapshot)

    # ------------------------------------------------------------------ plumbing

    def tick(self, seconds: int = 1) -> None:
        """The next transaction's block carries ``self.t`` (advanced by ``seconds``)."""
        self.t += seconds
        self.r.warp(self.t)

    def attempt(self, label: str, expected: str | None, send: Any) -> Any:
        """Send; the outcome must be what the model predicts (None: success)."""
        OUTCOMES[(label, expected or "ok")] += 1
        self.tick()
        try:
            result = send()
        except Reverted as exc:
            assert expected is not None, f"the model expected success, the chain said {exc}"
            assert exc.name == expected, f"expected {expected}, the chain said {exc}"
            self.chain().mine(1)  # the warp applies to a block even though nothing was mined
            self.t = max(self.t, int(self.r.now()))
            return None
        assert expected is None, f"the model expected {expected}, the chain accepted it"
        return result

    def renters(self) -> list[LocalAccount]:
        return [self.m.buyer, *self.m.others[:2]]

    # ------------------------------------------------------------------ rules

    @initialize(hourly=st.booleans(), lead=st.sampled_from([0, 6 * HOUR]))
    def start(self, hourly: bool, lead: int) -> None:
        """Two rentals to begin with: ETH by the day with an arbitrator and a deposit, and the
        token by the hour (or the day) without an arbitrator."""
        self.list_rental("ETH", False, 0, DEPOSIT, True)
        self.list_rental("ERC20", hourly, lead, DEPOSIT, False)

    @rule(
        token=st.sampled_from(["ETH", "ERC20"]),
        hourly=st.booleans(),
        lead=st.sampled_from([0, 6 * HOUR]),
        deposit=st.sampled_from([0, DEPOSIT]),
        arbitrated=st.booleans(),
    )
    def list_rental(
        self, token: str, hourly: bool, lead: int, deposit: int, arbitrated: bool
    ) -> None:
        if len(self.rentals) >= 3:
            return
        unit = HOUR if hourly else DAY
        first = (self.t // HOUR + 2) * HOUR
        terms = self.r.terms(
            token=ETH if token == "ETH" else self.token.address,
            rate=RATE,
            deposit=deposit,
            unit=unit,
            first_start=first,
            last_end=first + 300 * unit,
            max_units=5,
            lead_time=lead,
            free_cancel=3 * unit,
            late_refund_bps=2_500,
            claim_window=2 * unit,
            arbitrator=self.m.arbitrator.address if arbitrated else ETH,
            arbitrator_fee_bps=300 if arbitrated else 0,
        )
        self.tick()
        rental = self.r.list(terms)
        self.rentals.append(MRental(rental, terms.token))

    def _book_error(self, mr: MRental, slot: int, units: int) -> str | None:
        t = mr.rental.terms
        if units < t.min_units or units > t.max_units:
            return "InvalidBookingLength"
        start = t.slot_start(slot)
        if start + units * t.unit > t.last_end:
            return "OutsideCalendar"
        if start < self.t + 1 + t.lead_time:
            return "TooSoon"
        if any(s in mr.taken for s in range(slot, slot + units)):
            return "Unavailable"
        return None

    @rule(data=st.data(), tries=st.integers(1, 3))
    def book(self, data: st.DataObject, tries: int) -> None:
        for _ in range(tries):
            units = data.draw(st.sampled_from([1, 1, 2, 2, 3, 4, 5, 0, 6]))
            renter = data.draw(st.integers(0, 2))
            self._book(data, units, renter)

    def _book(self, data: st.DataObject, units: int, renter: int) -> None:
        if not self.rentals:
            return
        mr = data.draw(st.sampled_from(self.rentals))
        t = mr.rental.terms
        now_slot = max(0, t.slot_at(self.t))
        slot = data.draw(st.integers(max(0, now_slot - 1), now_slot + 12))
        who = self.renters()[renter]
        expected = self._book_error(mr, slot, units)
        ref = self.attempt(
            "book", expected, lambda: self.r.book(mr.rental, slot, units, renter=who)
        )
        if ref is not None:
            for s in range(slot, slot + units):
                mr.taken[s] = ref.id
            self.bookings.append(MBooking(ref, mr, who))

    @rule(data=st.data(), units=st.integers(1, 4), go=st.integers(0, 3))
    def block(self, data: st.DataObject, units: int, go: int) -> None:
        if not self.rentals or go:  # one call in four: blocks are the owner's side show
            return
        mr = data.draw(st.sampled_from(self.rentals))
        now_slot = max(0, mr.rental.terms.slot_at(self.t))
        slot = data.draw(st.integers(now_slot, now_slot + 20))
        clash = any(s in mr.taken for s in range(slot, slot + units))
        ref = self.attempt(
            "block", "Unavailable" if clash else None, lambda: self.r.block(mr.rental, slot, units)
        )
        if ref is not None:
            for s in range(slot, slot + units):
                mr.taken[s] = ref.id
            self.bookings.append(MBooking(ref, mr, None))

    def _free(self, mb: MBooking) -> None:
        for s in range(mb.ref.booking.first_slot, mb.ref.booking.first_slot + mb.ref.booking.units):
            assert mb.rental.taken.pop(s) == mb.ref.id

    def _pick(self, data: st.DataObject, *states: BookingState) -> MBooking | None:
        """A booking the model knows; mostly one in ``states`` when there is one."""
        live = [b for b in self.bookings if b.ref.booking.state != BookingState.NONE]
        wanted = [b for b in live if b.ref.booking.state in states]
        if wanted and data.draw(st.integers(0, 4)) > 0:
            return data.draw(st.sampled_from(wanted))
        return data.draw(st.sampled_from(live)) if live else None

    @rule(data=st.data(), by=st.sampled_from(["renter", "owner", "stranger"]))
    def cancel(self, data: st.DataObject, by: str) -> None:
        mb = self._pick(data, BookingState.BOOKED, BookingState.BLOCKED)
        if mb is None:
            return
        b = mb.ref.booking
        now = self.t + 1
        if b.state == BookingState.BLOCKED:
            who = self.m.seller if by != "stranger" else self.m.stranger
            expected = None if by != "stranger" else "Unauthorized"
            if (
                self.attempt("unblock", expected, lambda: self.r.act("unblockPeriod", who, mb.ref))
                is not None
            ):
                self._free(mb)
            return
        account = {"renter": mb.renter, "owner": self.m.seller, "stranger": self.m.stranger}[by]
        assert account is not None
        if b.state != BookingState.BOOKED:
            expected: str | None = "BookingNotInState"
        elif by == "stranger":
            expected = "Unauthorized"
        elif by == "renter" and (b.flags & 1 or now >= b.start):
            expected = "WindowClosed"
        else:
            expected = None
        if (
            self.attempt(f"cancel by {by}", expected, lambda: self.r.act("cancel", account, mb.ref))
            is not None
        ):
            self._free(mb)

    @rule(data=st.data())
    def pickup(self, data: st.DataObject) -> None:
        mb = self._pick(data, BookingState.BOOKED)
        if mb is None or mb.renter is None:
            return
        b = mb.ref.booking
        now = self.t + 1
        if b.state != BookingState.BOOKED or b.flags & 1:
            expected: str | None = "BookingNotInState"
        elif now >= b.end:
            expected = "WindowClosed"
        else:
            expected = None
        self.attempt("pickup", expected, lambda: self.r.act("pickup", mb.renter, mb.ref, b""))

    @rule(
        data=st.data(), how=st.sampled_from(["confirmReturn", "claimDamage", "dispute", "finalize"])
    )
    def settle(self, data: st.DataObject, how: str) -> None:
        mb = self._pick(data, BookingState.BOOKED)
        if mb is None or mb.renter is None:
            return
        b = mb.ref.booking
        now = self.t + 1
        who = (
            mb.renter
            if how == "dispute"
            else self.m.stranger
            if how == "finalize"
            else self.m.seller
        )
        expected: str | None = None
        if b.state != BookingState.BOOKED:
            expected = "BookingNotInState"
        elif how == "confirmReturn":
            expected = "WindowOpen" if now < b.start else None
        elif how == "claimDamage":
            if b.arbitrator == ETH:
                expected = "NoArbitrator"
            elif b.deposit == 0:
                expected = "NothingToClaim"
            elif now < b.start:
                expected = "WindowOpen"
            elif now >= b.deadline:
                expected = "WindowClosed"
        elif how == "dispute":
            if b.arbitrator == ETH:
                expected = "NoArbitrator"
            elif now >= b.deadline:
                expected = "WindowClosed"
        elif how == "finalize":
            expected = "WindowOpen" if now < b.deadline else None
        extra = () if how == "finalize" else (b"",)
        self.attempt(how, expected, lambda: self.r.act(how, who, mb.ref, *extra))

    @rule(data=st.data(), share=st.integers(0, 100), late=st.booleans())
    def rule_or_timeout(self, data: st.DataObject, share: int, late: bool) -> None:
        mb = self._pick(data, BookingState.DISPUTED)
        if mb is None or mb.renter is None:
            return
        b = mb.ref.booking
        if b.state != BookingState.DISPUTED:
            return
        now = self.t + 1
        if late:
            expected = None if now >= b.deadline else "WindowOpen"
            self.attempt(
                "claimRulingTimeout",
                expected,
                lambda: self.r.act("claimRulingTimeout", self.m.stranger, mb.ref),
            )
            return
        held = b.held
        available = held - held * b.arbitrator_fee_bps // 10_000
        amount = available * share // 100
        expected = None if now < b.deadline else "WindowClosed"
        self.attempt(
            "rule", expected, lambda: self.r.act("rule", self.m.arbitrator, mb.ref, amount)
        )

    @rule(
        data=st.data(),
        story=st.sampled_from(
            ["return", "claim and rule", "dispute and time out", "finalize", "renter cancels"]
        ),
    )
    def play_out(self, data: st.DataObject, story: str) -> None:
        """Steer to the settlement paths random rules starve: take a booked booking to its start
        (or past its claim window) and settle it one way, whole."""
        booked = [b for b in self.bookings if b.ref.booking.state == BookingState.BOOKED]
        if not booked:
            return
        mb = data.draw(st.sampled_from(booked))
        b = mb.ref.booking
        assert mb.renter is not None
        if story == "renter cancels":
            closed = b.flags & 1 or self.t + 1 >= b.start
            if (
                self.attempt(
                    "cancel by renter",
                    "WindowClosed" if closed else None,
                    lambda: self.r.act("cancel", mb.renter, mb.ref),
                )
                is not None
            ):
                self._free(mb)
            return
        late = max(self.t, b.start) + 1 >= b.deadline
        if (b.arbitrator == ETH or late) and story in ("claim and rule", "dispute and time out"):
            story = "return"
        if story == "finalize":
            self.t = max(self.t, b.deadline)
            self.attempt("finalize", None, lambda: self.r.act("finalize", self.m.stranger, mb.ref))
            return
        self.t = max(self.t, b.start)
        if story == "return":
            self.attempt(
                "confirmReturn",
                None,
                lambda: self.r.act("confirmReturn", self.m.seller, mb.ref, b""),
            )
            return
        if b.arbitrator == ETH:
            return
        if story == "claim and rule":
            expected = "NothingToClaim" if b.deposit == 0 else None
            if (
                self.attempt(
                    "claimDamage",
                    expected,
                    lambda: self.r.act("claimDamage", self.m.seller, mb.ref, b""),
                )
                is None
            ):
                return
            held = mb.ref.booking.held
            share = (held - held * b.arbitrator_fee_bps // 10_000) // 3
            self.attempt("rule", None, lambda: self.r.act("rule", self.m.arbitrator, mb.ref, share))
            return
        self.attempt("dispute", None, lambda: self.r.act("dispute", mb.renter, mb.ref, b""))
        self.t = max(self.t, mb.ref.booking.deadline)
        self.attempt(
            "claimRulingTimeout",
            None,
            lambda: self.r.act("claimRulingTimeout", self.m.stranger, mb.ref),
        )

    @rule(hours=st.sampled_from([1, 5, 24, 72, 24 * 7]))
    def advance(self, hours: int) -> None:
        self.t += hours * HOUR

    # ------------------------------------------------------------------ invariants

    @invariant()
    def solvent_per_token(self) -> None:
        for token in {ETH, self.token.address}:
            held = sum(
                b.ref.booking.held
                for b in self.bookings
                if b.rental.token == token and b.ref.booking.state.is_open
            )
            credits = sum(
                int(self.r.contract.functions.credit(token, a.address).call())
                for a in self.m.chain.accounts[:8]
            )
            balance = (
                self.r.escrow()
                if token == ETH
                else int(self.token.functions.balanceOf(self.r.contract.address).call())
            )
            assert balance == held + credits, (token, balance, held, credits)

    @invariant()
    def calendar_matches_and_nothing_overlaps(self) -> None:
        for mr in self.rentals:
            holders = [b for b in self.bookings if b.rental is mr and b.ref.id in mr.taken.values()]
            seen: set[int] = set()
            for b in holders:
                slots = set(
                    range(b.ref.booking.first_slot, b.ref.booking.first_slot + b.ref.booking.units)
                )
                assert not slots & seen, "two bookings hold the same period"
                seen |= slots
            assert seen == set(mr.taken)
            words = {s // SLOTS_PER_WORD for s in seen} | {0}
            on_chain: set[int] = set()
            for w in words:
                word = int(self.r.contract.functions.calendarWord(mr.rental.id, w).call())
                on_chain |= {w * SLOTS_PER_WORD + i for i in range(SLOTS_PER_WORD) if word >> i & 1}
            assert on_chain == seen

    @invariant()
    def records_match(self) -> None:
        for b in self.bookings:
            stored = self.r.record(b.ref.id)
            if b.ref.booking.state == BookingState.NONE:
                assert stored == 0
            else:
                assert stored & ~3 == booking_hash(b.ref.booking)

    def every_open_booking_has_an_exit(self) -> None:
        """Past every deadline, a stranger closes every booking that still holds money."""
        open_ = [b for b in self.bookings if b.ref.booking.state.is_open]
        if not open_:
            return
        self.t = max(self.t, *(b.ref.booking.deadline for b in open_)) + 1
        for b in open_:
            action = (
                "finalize" if b.ref.booking.state == BookingState.BOOKED else "claimRulingTimeout"
            )
            self.tick()
            self.r.act(action, self.m.stranger, b.ref)
            assert not b.ref.booking.state.is_open
        self.solvent_per_token()


@pytest.fixture
def booking_world(embedded_chain: EmbeddedChain) -> Iterator[type[BookingMachine]]:
    m = Market(embedded_chain)
    r = Rentals(m)
    token = deploy_token(m)
    for who in (m.buyer, *m.others[:2]):
        m.send(m.deployer, token.functions.mint(who.address, 10**24))
        m.send(who, token.functions.approve(m.bookings.address, 2**255))
    BookingMachine.m, BookingMachine.r, BookingMachine.token = m, r, token
    yield BookingMachine


def test_booking_invariants(booking_world: type[BookingMachine]) -> None:
    examples = int(os.environ.get("P2PCHAIN_BOOKING_EXAMPLES", "15"))

    class Checked(booking_world):  # type: ignore[misc, valid-type]
        def teardown(self) -> None:
            try:
                self.every_open_booking_has_an_exit()
            finally:
                super().teardown()

    run_state_machine_as_test(
        Checked,
        settings=settings(
            max_examples=examples,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print("\n" + "\n".join(f"{n:5d}  {a}: {o}" for (a, o), n in sorted(OUTCOMES.items())))
    # the run reached the paths that matter: bookings taken and refused for overlapping, and
    # money leaving the escrow by most of its exits
    assert OUTCOMES[("book", "ok")] > 10 and OUTCOMES[("book", "Unavailable")] > 0
    exits = {
        "confirmReturn", "claimDamage", "dispute", "finalize", "rule", "claimRulingTimeout",
        "cancel by renter", "cancel by owner",
    }  # fmt: skip
    reached = {action for (action, outcome), n in OUTCOMES.items() if outcome == "ok" and n}
    assert len(exits & reached) >= 6, f"the machine reached only {sorted(exits & reached)}"
