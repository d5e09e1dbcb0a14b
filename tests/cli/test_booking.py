"""``p2pchain listing create --kind rental --rate ...`` and ``p2pchain booking ...`` against a real
Anvil: list a car by the day, see its month, book a weekend (the total shown before the prompt),
a second renter refused for overlapping dates with one line, cancel, pick up, return, rate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cli.conftest import Market, make_wallets

DAY = 86_400


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _car(market: Market, *extra: str) -> tuple[str, int]:
    now = int(market.chain.w3.eth.get_block("latest")["timestamp"])
    first = (now // DAY + 2) * DAY + 10 * 3_600
    start = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%dT%H:%M")
    result = market(
        "listing", "create", "--kind", "rental", "--rate", "0.05eth/day", "--deposit", "0.2eth",
        "--title", "Red hatchback", "--category", "vehicles/cars", "--rental-from", start,
        "--rental-until", _day(first + 120 * DAY), "--max-length", "14d", "--free-cancel", "2d",
        "--late-refund", "50", "--pickup", "Main St 5, 10:00-18:00", "--arbitrator", "arb",
        "--arbitrator-fee", "200", "--account", "alice", "--quiet", *extra,
    )  # fmt: skip
    return result.stdout.strip(), first


def test_rental_by_the_day_book_overlap_return_rate(market: Market) -> None:
    car, first = _car(market)
    assert car.startswith("0x") and len(car) == 66
    month = datetime.fromtimestamp(first, UTC).strftime("%Y-%m")
    cal = json.loads(market("booking", "calendar", car, "--month", month, "--json").stdout)
    assert cal["rate"] == str(5 * 10**16) and cal["unit"] == DAY

    friday = _day(first + 5 * DAY)
    sunday = _day(first + 7 * DAY)
    # the prompt shows the total before anything is sent; "n" sends nothing
    asked = market("booking", "book", car, "--from", friday, "--until", sunday,
                   "--account", "bob", input="n\n", ok=False)  # fmt: skip
    assert asked.exit_code == 0
    assert "0.1 ETH" in asked.stderr and "0.3 ETH" in asked.stderr  # rent x 2, rent + deposit
    assert "cancelled, nothing was sent" in asked.stderr
    booking = market("booking", "book", car, "--from", friday, "--until", sunday,
                     "--account", "bob", "--yes", "--quiet").stdout.strip()  # fmt: skip
    shown = json.loads(market("booking", "show", booking, "--json").stdout)
    assert (shown["state"], shown["rent"], shown["deposit"]) == (
        "booked",
        str(10**17),
        str(2 * 10**17),
    )
    assert shown["end"] - shown["start"] == 2 * DAY

    # a second renter asking for an overlapping day gets one line and pays nothing
    carol = make_wallets(("carol",))["carol"]
    market("node", "fund", "carol", "--amount", "5eth")
    before = market.chain.w3.eth.get_balance(carol)
    line = market.fails("booking", "book", car, "--from", _day(first + 6 * DAY),
                        "--until", _day(first + 8 * DAY), "--account", "carol", "--yes")  # fmt: skip
    assert "already booked" in line
    assert market.chain.w3.eth.get_balance(carol) == before
    assert "owns this rental" in market.fails(
        "booking",
        "book",
        car,
        "--from",
        _day(first + 9 * DAY),
        "--until",
        _day(first + 10 * DAY),
        "--account",
        "alice",
        "--yes",
    )
    # the next weekend is free
    market("booking", "book", car, "--from", _day(first + 12 * DAY), "--until",
           _day(first + 14 * DAY), "--account", "carol", "--yes")  # fmt: skip

    cal = json.loads(market("booking", "calendar", car, "--month", friday[:7], "--json").stdout)
    booked_days = [d["date"] for d in cal["days"] if d["booked"]]
    assert friday in booked_days  # the month the booking starts in, whatever today is

    # search the index by date and rate: not free that weekend, free the one between
    db = str(market.cli.home / "index.sqlite")
    market("index", "sync", "--db", db)
    taken = market("index", "search", "--db", db, "--available", f"{friday}..{sunday}", "--json")
    assert json.loads(taken.stdout)["total"] == 0
    between = f"{_day(first + 9 * DAY)}T10:00..{_day(first + 11 * DAY)}T10:00"
    free = market("index", "search", "--db", db, "--available", between, "--max-rate",
                  "0.05eth/day", "--json")  # fmt: skip
    assert [i["listing_id"] for i in json.loads(free.stdout)["items"]] == [car]
    shown = market("index", "search", "--db", db, "--available", between).stdout
    assert "0.05 ETH/day" in shown and "Red hatchback" in shown
    dear = market("index", "search", "--db", db, "--max-rate", "0.04eth/day", "--json")
    assert json.loads(dear.stdout)["total"] == 0

    market.chain.increase_time(8 * DAY)
    market.chain.mine(1)
    market("booking", "pickup", booking, "--account", "bob", "--yes")
    done = json.loads(market("booking", "return", booking, "--account", "alice", "--yes",
                             "--json").stdout)  # fmt: skip
    assert done["state"] == "completed"
    market("booking", "rate", booking, "--score", "5", "--account", "bob", "--yes")
    listed = json.loads(market("booking", "list", car, "--json").stdout)
    assert booking in [b["id"] for b in listed]


def test_overlapping_booking_is_refused_with_one_line(market: Market) -> None:
    car, first = _car(market)
    market("booking", "book", car, "--from", _day(first + 3 * DAY), "--until",
           _day(first + 5 * DAY), "--account", "bob", "--yes")  # fmt: skip
    make_wallets(("carol",))
    market("node", "fund", "carol", "--amount", "1eth")
    line = market.fails("booking", "book", car, "--from", _day(first + 4 * DAY), "--until",
                        _day(first + 6 * DAY), "--account", "carol", "--yes")  # fmt: skip
    assert line.startswith("error: ") and "already booked" in line


def test_bad_input_is_one_line(market: Market) -> None:
    car, first = _car(market)
    assert "amount per period" in market.fails(
        "listing", "create", "--kind", "rental", "--rate", "0.05eth", "--deposit", "0.1eth",
        "--title", "x", "--category", "c", "--rental-from", "2030-01-01", "--rental-until",
        "2030-02-01", "--account", "alice",
    )  # fmt: skip
    assert "--until must be after --from" in market.fails(
        "booking",
        "book",
        car,
        "--from",
        _day(first + 5 * DAY),
        "--until",
        _day(first + 5 * DAY),
        "--account",
        "bob",
        "--yes",
    )
    assert "grid" in market.fails(
        "booking",
        "book",
        car,
        "--from",
        _day(first + 5 * DAY) + "T03:00",
        "--until",
        _day(first + 7 * DAY),
        "--account",
        "bob",
        "--yes",
    )
    assert "a booking id" in market.fails("booking", "show", "0x12")
    assert "invalid --month" in market.fails("booking", "calendar", car, "--month", "2026-13")


def test_owner_changes_the_rate_for_future_bookings_and_closes(market: Market) -> None:
    car, first = _car(market)
    early = market("booking", "book", car, "--from", _day(first + 3 * DAY), "--until",
                   _day(first + 5 * DAY), "--account", "bob", "--yes", "--quiet").stdout.strip()  # fmt: skip
    assert "per day" in market.fails("booking", "update", car, "--rate", "1eth/hour",
                                     "--account", "alice", "--yes")  # fmt: skip
    assert "nothing to change" in market.fails(
        "booking", "update", car, "--account", "alice", "--yes"
    )
    market("booking", "update", car, "--rate", "0.08eth/day", "--account", "alice", "--yes")
    late = market("booking", "book", car, "--from", _day(first + 8 * DAY), "--until",
                  _day(first + 9 * DAY), "--account", "bob", "--yes", "--quiet").stdout.strip()  # fmt: skip
    rents = [
        json.loads(market("booking", "show", b, "--json").stdout)["rent"] for b in (early, late)
    ]
    assert rents == [str(10**17), str(8 * 10**16)]  # 2 days at 0.05; 1 day at 0.08
    market("booking", "close", car, "--account", "alice", "--yes")
    assert "closed" in market.fails("booking", "book", car, "--from", _day(first + 20 * DAY),
                                    "--until", _day(first + 21 * DAY), "--account", "bob", "--yes")  # fmt: skip
    shown = json.loads(market("booking", "show", early, "--json").stdout)
    assert shown["state"] == "booked"  # existing bookings go on


def test_blocking_dates_resumes_an_earlier_run_instead_of_blocking_twice(market: Market) -> None:
    """The node mines the owner's blockPeriod but answers no receipt before the command gives
    up (the outcome is unknown): the same command again resumes that transaction instead of
    signing a new one; the dates are held once."""
    from chain._faulty_rpc import Fault, FaultyRpc

    car, first = _car(market)
    span = ("--from", _day(first + 10 * DAY), "--until", _day(first + 12 * DAY))
    argv = ("booking", "block", car, *span, "--account", "alice", "--yes", "--json")
    saved = dict(market.cli.env)
    market.cli.env.update({"P2PCHAIN_TX_TIMEOUT": "2", "P2PCHAIN_RPC_TIMEOUT": "2"})
    try:
        with FaultyRpc(market.url) as proxy:
            proxy.arm(Fault("eth_getTransactionReceipt", "error-before", times=None))
            lost = market.cli.run(*argv, "--network", proxy.url)
            proxy.clear()
            again = market.cli.run(*argv, "--network", proxy.url)
            sent = proxy.count("eth_sendRawTransaction")
    finally:
        market.cli.env.clear()
        market.cli.env.update(saved)
    assert lost.returncode != 0 and "Traceback" not in lost.stderr, lost.stderr
    assert "may still be mined" in " ".join(lost.stderr.split()), lost.stderr
    assert again.returncode == 0, again.stderr
    assert "resuming transaction" in again.stderr, again.stderr
    assert json.loads(again.stdout)["state"] == "blocked"
    assert sent == 1  # nothing new was signed or sent
    refused = market.fails("booking", "book", car, *span, "--account", "bob", "--yes")
    assert "already booked for some of those dates" in refused, refused
    blocks = [b for b in json.loads(market("booking", "list", car, "--json").stdout)
              if b["state"] == "blocked"]  # fmt: skip
    assert len(blocks) == 1
