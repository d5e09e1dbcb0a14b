"""``p2pchain request`` end to end on Anvil: bob asks for a ride, alice (a driver) answers with a
signed listing, bob accepts: a trade at the agreed price, and the request shows as taken."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .conftest import Market

ETHER = 10**18


def _json(market: Market, *args: str) -> Any:
    return json.loads(market(*args, "--json").stdout)


def test_request_post_answer_accept_makes_a_trade(market: Market, tmp_path: Path) -> None:
    db = str(tmp_path / "index.sqlite")
    taxi = market(
        "listing", "create", "--account", "alice", "--title", "Taxi in Thamel", "--price",
        "0.003eth", "--category", "transport/taxi", "--kind", "service", "--quiet",
    ).stdout.strip()  # fmt: skip
    market("index", "sync", "--db", db)

    # bob asks; signing asks first, and a "no" sends and stores nothing
    ask = (
        "request", "post", "--account", "bob", "--db", db, "--title",
        "Ride from Thamel to the airport", "--category", "transport", "--kind", "service",
        "--max-price", "0.004eth", "--from", "2026-12-06T08:00+05:45", "--expires-in", "1d",
    )  # fmt: skip
    refused = market(*ask, input="n\n")
    assert "cancelled" in refused.stderr and "no transaction" in refused.stderr
    assert _json(market, "request", "list", "--db", db)["items"] == []
    posted = _json(market, *ask, "--yes", "--out", str(tmp_path / "request.json"))
    request_id = posted["request_id"]
    assert posted["status"] == "open" and posted["max_price"] == str(4 * ETHER // 1000)
    assert posted["document"]["when"]["start"] == "2026-12-06T02:15:00Z"
    shared = json.loads((tmp_path / "request.json").read_text())
    assert shared["id"] == request_id and shared["requester"] == market.addresses["bob"]
    listed = _json(market, "request", "list", "--db", db, "--kind", "service")
    assert [r["request_id"] for r in listed["items"]] == [request_id]
    assert "1 open requests" in market("request", "list", "--db", db).stdout  # the rich table

    # matching both ways, with the search's own filters
    matches = _json(market, "request", "matches", request_id, "--db", db)
    assert [item["listing_id"] for item in matches["items"]] == [taxi]
    matching = _json(market, "request", "matching", taxi, "--db", db)
    assert [r["request_id"] for r in matching["items"]] == [request_id]

    # alice answers with a signed listing (no gas); too dear is refused in one line
    line = market.fails(
        "request", "answer", request_id, "--price", "0.005eth", "--account", "alice",
        "--db", db, "--yes",
    )  # fmt: skip
    assert "above the request's max_price" in line
    answered = _json(
        market, "request", "answer", request_id, "--price", "0.003eth", "--account", "alice",
        "--db", db, "--yes", "--title", "Taxi Thamel to TIA", "--out", str(tmp_path / "a.json"),
    )  # fmt: skip
    assert answered["status"] == "open" and answered["price"] == str(3 * ETHER // 1000)
    answers = _json(market, "request", "answers", request_id, "--db", db)
    assert [a["listing_id"] for a in answers["items"]] == [answered["listing_id"]]

    # only bob accepts; accepting buys the answer into escrow
    line = market.fails("request", "accept", request_id, "--account", "alice", "--db", db, "--yes")
    assert "only the requester" in line
    shown_first = market(
        "request", "accept", request_id, "--account", "bob", "--db", db, input="n\n"
    )
    assert "cancelled, nothing was sent" in shown_first.stderr
    for words in ("Taxi Thamel to TIA", "you pay", "0.003 ETH", "network gas"):
        assert words in shown_first.stderr, (words, shown_first.stderr)
    accepted = _json(
        market, "request", "accept", request_id, "--account", "bob", "--db", db, "--yes"
    )
    trade_id = accepted["id"]
    assert accepted["answer"] == answered["listing_id"]
    trade = _json(market, "trade", "show", trade_id)
    assert int(trade["amount"]) == 3 * ETHER // 1000
    assert (
        trade["buyer"] == market.addresses["bob"] and trade["seller"] == market.addresses["alice"]
    )

    market("index", "sync", "--db", db)
    shown = _json(market, "request", "show", request_id, "--db", db)
    assert shown["status"] == "taken" and shown["trade_id"] == trade_id
    assert "taken" in market("request", "show", request_id, "--db", db).stdout
    assert _json(market, "request", "list", "--db", db)["items"] == []
    assert _json(market, "request", "matching", taxi, "--db", db)["items"] == []
    line = market.fails("request", "accept", request_id, "--account", "bob", "--db", db, "--yes")
    assert "is taken" in line


def test_request_errors_are_one_line(market: Market, tmp_path: Path) -> None:
    db = str(tmp_path / "index.sqlite")
    assert "no index at" in market.fails("request", "list", "--db", db)
    market("index", "sync", "--db", db)
    assert "a request id" in market.fails("request", "show", "0x12", "--db", db)
    assert "no request" in market.fails("request", "show", "0x" + "ab" * 32, "--db", db)
    line = market.fails(
        "request", "post", "--account", "bob", "--db", db, "--title", "Bike", "--category",
        "sports/bikes", "--max-price", "0", "--yes",
    )  # fmt: skip
    assert "max_price: must be > 0" in line
    line = market.fails(
        "request", "post", "--account", "bob", "--db", db, "--title", "Bike", "--category",
        "sports/bikes", "--max-price", "0.1eth", "--radius-km", "5", "--yes",
    )  # fmt: skip
    assert "radius_km: needs location" in line
    assert "--status" in market.fails("request", "list", "--db", db, "--status", "old")
    assert "invalid --until" in market.fails(
        "request", "post", "--account", "bob", "--db", db, "--title", "Bike", "--category",
        "sports/bikes", "--max-price", "0.1eth", "--until", "tomorrow", "--yes",
    )  # fmt: skip


def test_request_with_a_place_matches_only_listings_near_it(market: Market, tmp_path: Path) -> None:
    db = str(tmp_path / "index.sqlite")
    market(
        "listing", "create", "--account", "alice", "--title", "Road bike", "--price", "0.05eth",
        "--category", "sports/bikes", "--condition", "good", "--quiet",
    )  # fmt: skip
    market("index", "sync", "--db", db)
    posted = _json(
        market, "request", "post", "--account", "bob", "--db", db, "--title", "Road bike 56 cm",
        "--category", "sports", "--max-price", "0.1eth", "--location", "Berlin", "--lat", "52.52",
        "--lon", "13.405", "--radius-km", "20", "--yes",
    )  # fmt: skip
    assert posted["document"]["location"] == {"text": "Berlin", "lat": 52.52, "lon": 13.405}
    assert posted["document"]["radius_km"] == 20 and posted["kind"] == "sale"
    # the bike gives no place: it cannot be shown to be within 20 km
    assert _json(market, "request", "matches", posted["request_id"], "--db", db)["items"] == []
    shown = market("request", "show", posted["request_id"], "--db", db).stdout
    assert "within 20" in shown and "Berlin" in shown


def test_a_rental_request_is_answered_for_its_window_with_a_deposit(
    market: Market, tmp_path: Path
) -> None:
    db = str(tmp_path / "index.sqlite")
    market("index", "sync", "--db", db)
    posted = _json(
        market, "request", "post", "--account", "bob", "--db", db, "--title", "Tent for a weekend",
        "--kind", "rental", "--category", "outdoor/tents", "--max-price", "0.02eth",
        "--from", "2027-06-05", "--until", "2027-06-07", "--yes",
    )  # fmt: skip
    request_id = posted["request_id"]
    answer = ("request", "answer", request_id, "--price", "0.01eth", "--account", "alice",
              "--db", db, "--yes")  # fmt: skip
    assert "needs --deposit" in market.fails(*answer)
    answered = _json(market, *answer, "--deposit", "0.05eth")
    start, end = (int(datetime(2027, 6, d, tzinfo=UTC).timestamp()) for d in (5, 7))
    assert answered["document"]["rental"] == {"start": start, "end": end}
    assert answered["document"]["deposit"] == str(5 * ETHER // 100)
    accepted = _json(market, "request", "accept", request_id, "--account", "bob", "--db", db,
                     "--yes")  # fmt: skip
    trade = _json(market, "trade", "show", accepted["id"])
    assert int(trade["amount"]) == ETHER // 100 and int(trade["deposit"]) == 5 * ETHER // 100
