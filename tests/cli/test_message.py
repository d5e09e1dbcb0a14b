"""``p2pchain message``, ``inbox`` and ``watch`` as real subprocesses, against a real relay
process and a marketplace deployed on Anvil."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from p2pchain.messaging import LoopbackRelay

from .conftest import Market, entry_point


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackRelay]:
    """A real relay process on 127.0.0.1."""
    with LoopbackRelay(tmp_path_factory.mktemp("relay")) as running:
        yield running


def _run(market: Market, relay: LoopbackRelay, *args: str) -> subprocess.CompletedProcess[str]:
    done = market.cli.run(*args, "--network", market.url, "--relay", relay.url)
    return done


def _ok(market: Market, relay: LoopbackRelay, *args: str) -> str:
    done = _run(market, relay, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _bought_helmet(market: Market) -> tuple[str, str]:
    listing = market(
        "listing",
        "create",
        "--account",
        "alice",
        "--title",
        "Helmet",
        "--price",
        "0.1eth",
        "--category",
        "sports/bikes",
        "--arbitrator",
        "arb",
        "--arbitrator-fee",
        "250",
        "--quiet",
    ).stdout.strip()
    return listing, listing  # one unit: the trade id is the listing id


def test_ask_before_buying_answer_share_and_arbitrator_reads(
    market: Market, relay: LoopbackRelay
) -> None:
    listing, _ = _bought_helmet(market)
    _ok(market, relay, "message", "announce", "--account", "alice")
    _ok(market, relay, "message", "announce", "--account", "arb")
    sent = json.loads(
        _ok(
            market, relay, "message", "send", listing, "Is it size M?", "--account", "bob", "--json"
        )
    )
    assert sent["status"] == "sent" and sent["accepted_by"] == [relay.url]

    inbox = json.loads(_ok(market, relay, "inbox", "--account", "alice", "--json"))
    (notice,) = [n for n in inbox["notices"] if n["kind"] == "message"]
    assert (
        notice["new"]
        and "Is it size M?" in notice["text"]
        and market.addresses["bob"] in notice["text"]
    )
    _ok(market, relay, "message", "send", listing, "Yes, M (55-58 cm).", "--account", "alice")

    market("trade", "buy", listing, "--account", "bob", "--yes", "--quiet")
    market("trade", "dispute", listing, "--account", "bob", "--yes")
    events = json.loads(_ok(market, relay, "inbox", "--account", "alice", "--json"))["notices"]
    kinds = [n["kind"] for n in events if n["kind"] != "message"]
    assert kinds[:2] == ["disputed", "bought"]  # newest first

    shared = _run(market, relay, "message", "share", listing, "--account", "bob")
    assert shared.returncode == 0, shared.stderr
    thread = json.loads(
        _ok(market, relay, "message", "thread", listing, "--account", "arb", "--json")
    )
    assert [(m["party"], m["text"]) for m in thread] == [
        ("buyer", "Is it size M?"),
        ("seller", "Yes, M (55-58 cm)."),
    ]
    refused = _run(market, relay, "message", "send", listing, "I withdraw", "--account", "arb")
    assert (
        refused.returncode == 1
        and refused.stderr.startswith("error: ")
        and "read-only" in refused.stderr
    )


def test_watch_prints_a_message_as_it_arrives(
    market: Market, relay: LoopbackRelay, tmp_path: Path
) -> None:
    listing, _ = _bought_helmet(market)
    _ok(market, relay, "message", "announce", "--account", "alice")
    _ok(market, relay, "message", "send", listing, "hello?", "--account", "bob")
    _ok(market, relay, "inbox", "--account", "alice")  # alice accepts the thread
    watcher = subprocess.Popen(
        [
            *entry_point(),
            "watch",
            "--json",
            "--count",
            "1",
            "--timeout",
            "60",
            "--account",
            "alice",
            "--network",
            market.url,
            "--relay",
            relay.url,
        ],
        env={**os.environ, **market.cli.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        time.sleep(3)  # the watcher unlocks the wallet and subscribes
        _ok(market, relay, "message", "send", listing, "Pickup at 9 tomorrow?", "--account", "bob")
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    (line,) = out.strip().splitlines()
    notice = json.loads(line)
    assert notice["kind"] == "message" and "Pickup at 9 tomorrow?" in notice["text"]


def test_message_errors_are_one_line(market: Market, relay: LoopbackRelay) -> None:
    listing, _ = _bought_helmet(market)
    _ok(market, relay, "message", "announce", "--account", "alice")
    big = _run(market, relay, "message", "send", listing, "x" * 70_000, "--account", "bob")
    assert big.returncode == 1 and big.stderr.count("\n") == 1
    assert "message too large" in big.stderr and "64 KiB" in big.stderr
    no_relay = market.cli.run("inbox", "--account", "bob", "--network", market.url)
    assert no_relay.returncode == 1 and "no relay" in no_relay.stderr
    bad = _run(market, relay, "message", "send", "0x1234", "hi", "--account", "bob")
    assert bad.returncode == 1 and "32-byte" in bad.stderr


def test_listing_nostr_publish_then_open_lands_on_the_verified_listing(
    market: Market, relay: LoopbackRelay
) -> None:
    listing, _ = _bought_helmet(market)
    published = json.loads(
        _ok(market, relay, "listing", "nostr-publish", listing, "--account", "alice", "--json")
    )
    assert published["kind"] == 30402 and published["accepted_by"] == [relay.url]
    opened = json.loads(
        _ok(market, relay, "listing", "nostr-open", published["event_id"], "--json")
    )
    assert opened["listing_id"] == listing and opened["seller"] == market.addresses["alice"]
    assert opened["document"]["title"] == "Helmet"

    not_mine = _run(market, relay, "listing", "nostr-publish", listing, "--account", "bob")
    assert not_mine.returncode == 1 and "not yours" in not_mine.stderr
    assert len(not_mine.stderr.strip().splitlines()) == 1 and "Traceback" not in not_mine.stderr
    missing = _run(market, relay, "listing", "nostr-open", "ab" * 32)
    assert missing.returncode == 1 and "no classified listing" in missing.stderr
    bad = _run(market, relay, "listing", "nostr-open", "xyz")
    assert bad.returncode == 1 and "invalid event id 'xyz'" in bad.stderr


def test_a_seller_asked_by_two_people_names_whom_to_answer(
    market: Market, relay: LoopbackRelay
) -> None:
    """bob and arb both ask about alice's listing; `message send` without `--with` refuses in
    one line naming both, and `--with bob` answers only bob."""
    listing, _ = _bought_helmet(market)
    _ok(market, relay, "message", "announce", "--account", "alice")
    _ok(market, relay, "message", "send", listing, "Size M?", "--account", "bob")
    _ok(market, relay, "message", "send", listing, "Any scratches?", "--account", "arb")
    _ok(market, relay, "inbox", "--account", "alice")
    refused = _run(market, relay, "message", "send", listing, "Yes.", "--account", "alice")
    assert refused.returncode == 1 and refused.stderr.startswith("error: 2 people"), refused.stderr
    assert market.addresses["bob"].lower() in refused.stderr
    _ok(market, relay, "message", "send", listing, "Yes, M.", "--account", "alice", "--with", "bob")
    bob = json.loads(_ok(market, relay, "message", "thread", listing, "--account", "bob", "--json"))
    arb = json.loads(_ok(market, relay, "message", "thread", listing, "--account", "arb", "--json"))
    assert [m["text"] for m in bob] == ["Size M?", "Yes, M."]
    assert [m["text"] for m in arb] == ["Any scratches?"]


def test_inbox_tells_of_a_listing_matching_my_request_from_the_index(
    market: Market, relay: LoopbackRelay, tmp_path: Path
) -> None:
    """bob asks for a ride; alice lists a taxi after it; with the index (``--db``), bob's inbox
    tells him of the match and alice's of the request, as text and as JSON, once new."""
    (tmp_path / "shared").mkdir()
    db = str(tmp_path / "shared" / "index.sqlite")  # not the default (the working folder's)
    market("index", "sync", "--db", db)
    request_id = market(
        "request", "post", "--account", "bob", "--db", db, "--title", "Ride to the airport",
        "--category", "transport", "--kind", "service", "--max-price", "0.004eth",
        "--expires-in", "1d", "--yes", "--quiet",
    ).stdout.strip()  # fmt: skip
    taxi = market(
        "listing", "create", "--account", "alice", "--title", "Taxi in Thamel", "--price",
        "0.003eth", "--category", "transport/taxi", "--kind", "service", "--quiet",
    ).stdout.strip()  # fmt: skip
    market("index", "sync", "--db", db)

    shown = _ok(market, relay, "inbox", "--account", "bob", "--db", db, "--peek")
    assert "matches your request" in shown and "Taxi in Thamel" in shown
    inbox = json.loads(_ok(market, relay, "inbox", "--account", "bob", "--db", db, "--json"))
    assert inbox["index"] == db
    (match,) = [n for n in inbox["notices"] if n["kind"] == "listing_matches_request"]
    assert (match["request"], match["listing"], match["new"]) == (request_id, taxi, True)
    again = json.loads(
        _ok(market, relay, "inbox", "--account", "bob", "--db", db, "--new", "--json")
    )
    assert [n for n in again["notices"] if n["kind"] == "listing_matches_request"] == []

    seller = json.loads(_ok(market, relay, "inbox", "--account", "alice", "--db", db, "--json"))
    told = [n for n in seller["notices"] if n["kind"] == "request_matches_listing"]
    assert [(n["request"], n["listing"]) for n in told] == [(request_id, taxi)]
    # without an index at the default place: messages and trades only, no error
    plain = json.loads(_ok(market, relay, "inbox", "--account", "alice", "--json"))
    assert plain["index"] is None
    assert not [n for n in plain["notices"] if n["kind"] == "request_matches_listing"]
    missing = _run(market, relay, "inbox", "--account", "bob", "--db", str(tmp_path / "no.db"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: no index at")
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr


def test_an_answer_carries_a_message_to_the_requester(
    market: Market, relay: LoopbackRelay, tmp_path: Path
) -> None:
    """alice answers bob's request with ``--message``: bob's inbox has the message (in the thread
    about the answer) and the answer; arb, who published no address card, gets no message, and
    alice is told why in one line; an empty message is refused before anything is signed."""
    (tmp_path / "shared").mkdir()
    db = str(tmp_path / "shared" / "index.sqlite")
    market("index", "sync", "--db", db)
    _ok(market, relay, "message", "announce", "--account", "bob")

    def ask(who: str) -> str:
        return str(
            market(
                "request", "post", "--account", who, "--db", db, "--title", "Ride to the airport",
                "--category", "transport", "--kind", "service", "--max-price", "0.004eth",
                "--yes", "--quiet",
            ).stdout.strip()
        )  # fmt: skip

    answer = ("--price", "0.003eth", "--account", "alice", "--db", db, "--yes", "--json")
    request_id = ask("bob")
    empty = _run(market, relay, "request", "answer", request_id, *answer, "--message", " ")
    assert empty.returncode == 1 and empty.stderr.strip() == "error: --message is empty"
    answered = json.loads(
        _ok(market, relay, "request", "answer", request_id, *answer, "--message", "At 8?")
    )
    assert answered["message"]["sent"] and answered["message"]["accepted_by"] == [relay.url]

    inbox = json.loads(_ok(market, relay, "inbox", "--account", "bob", "--db", db, "--json"))
    (note,) = [n for n in inbox["notices"] if n["kind"] == "message"]
    assert "At 8?" in note["text"] and market.addresses["alice"] in note["text"]
    assert note["trade"] == answered["listing_id"]  # the thread about the answer
    (heard,) = [n for n in inbox["notices"] if n["kind"] == "request_answered"]
    assert (heard["request"], heard["listing"]) == (request_id, answered["listing_id"])

    unknown = ask("arb")
    quiet = json.loads(
        _ok(market, relay, "request", "answer", unknown, *answer, "--message", "Hello")
    )
    assert quiet["message"]["sent"] is False and "no address card" in quiet["message"]["why"]
    assert quiet["status"] == "open"  # the answer itself is stored


def test_watch_prints_a_new_match_from_the_index(
    market: Market, relay: LoopbackRelay, tmp_path: Path
) -> None:
    (tmp_path / "shared").mkdir()
    db = str(tmp_path / "shared" / "index.sqlite")
    market("index", "sync", "--db", db)
    market(
        "request", "post", "--account", "bob", "--db", db, "--title", "Ride to the airport",
        "--category", "transport", "--kind", "service", "--max-price", "0.004eth", "--yes",
    )  # fmt: skip
    watcher = subprocess.Popen(
        [
            *entry_point(), "watch", "--count", "1", "--timeout", "60", "--interval", "0.5",
            "--db", db, "--account", "bob", "--network", market.url, "--relay", relay.url,
        ],
        env={**os.environ, **market.cli.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().startswith("watching as")  # what is there is seen
        taxi = market(
            "listing", "create", "--account", "alice", "--title", "Taxi in Thamel", "--price",
            "0.003eth", "--category", "transport/taxi", "--kind", "service", "--quiet",
        ).stdout.strip()  # fmt: skip
        market("index", "sync", "--db", db)
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    (line,) = out.strip().splitlines()
    assert f"listing {taxi[:10]}… (Taxi in Thamel)" in line and "matches your request" in line
