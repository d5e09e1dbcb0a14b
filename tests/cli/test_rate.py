"""``p2pchain rate`` and ``p2pchain reputation`` after finished trades."""

from __future__ import annotations

import json
from pathlib import Path

from p2pchain.ipfs import LocalStore

from .conftest import Market


def _finished_trade(market: Market) -> str:
    listing_id = market(
        "listing", "create", "--account", "alice", "--title", "Book", "--price", "0.02eth",
        "--category", "books", "--quiet",
    ).stdout.strip()  # fmt: skip
    trade_id = market("trade", "buy", listing_id, "--account", "bob", "--yes", "--quiet").stdout
    market("trade", "release", trade_id.strip(), "--account", "bob", "--yes")
    return trade_id.strip()


def test_rate_both_ways_and_reputation(market: Market) -> None:
    trade_id = _finished_trade(market)
    rated = json.loads(market("rate", trade_id, "5", "--account", "bob", "--json").stdout)
    assert rated["subject"] == market.addresses["alice"] and rated["score"] == 5
    review = json.loads(
        market(
            "rate", trade_id, "4", "--account", "alice", "--review", "paid fast", "--json"
        ).stdout
    )
    store = LocalStore(Path(market.cli.env["P2PCHAIN_DATA_DIR"]) / "ipfs")
    assert store.cat(review["review_cid"]) == b"paid fast"

    alice = json.loads(market("reputation", "alice", "--json").stdout)
    assert (alice["count"], alice["average"], alice["volume"]) == (1, 5.0, str(2 * 10**16))
    assert [r["trade_id"] for r in alice["ratings"]] == [trade_id]
    bob = json.loads(market("reputation", market.addresses["bob"], "--json").stdout)
    assert (bob["count"], bob["score_sum"]) == (1, 4)
    assert "5.00 / 5" in market("reputation", "alice").stdout


def test_rate_twice_is_refused(market: Market) -> None:
    trade_id = _finished_trade(market)
    market("rate", trade_id, "5", "--account", "bob")
    line = market.fails("rate", trade_id, "1", "--account", "bob")
    assert "AlreadyRated" in line or "already rated" in line.lower()


def test_rate_an_open_trade_is_refused(market: Market) -> None:
    listing_id = market(
        "listing", "create", "--account", "alice", "--title", "Pen", "--price", "1000wei",
        "--category", "office", "--quiet",
    ).stdout.strip()  # fmt: skip
    trade_id = market("trade", "buy", listing_id, "--account", "bob", "--yes", "--quiet").stdout
    line = market.fails("rate", trade_id.strip(), "5", "--account", "bob")
    assert "is still paid; rate it once it is final" in line


def test_rate_score_out_of_range(market: Market) -> None:
    assert market.fails("rate", "0x" + "ab" * 32, "6", "--account", "bob") == (
        "error: invalid score 6: give 1 to 5"
    )


def test_reputation_of_a_newcomer_is_empty(market: Market) -> None:
    data = json.loads(market("reputation", "arb", "--json").stdout)
    assert (data["count"], data["average"], data["ratings"]) == (0, None, [])
    assert "no ratings yet" in market("reputation", "arb").stdout


def test_reputation_shows_review_texts_verified_and_terminal_safe(market: Market) -> None:
    """Review texts come from IPFS (verified against their CID) and are shown beside ratings;
    an escape sequence in a review cannot repaint the terminal."""
    trade_id = _finished_trade(market)
    hostile = "great seller\x1b[2J\x1b]0;pwned\x07"
    market("rate", trade_id, "5", "--account", "bob", "--review", hostile)
    data = json.loads(market("reputation", "alice", "--json").stdout)
    assert data["ratings"][0]["review"] == hostile  # JSON keeps the exact text
    market.cli.env["COLUMNS"] = "250"  # a wide terminal: the review on one line
    shown = market("reputation", "alice").stdout
    assert "great seller" in shown, shown
    assert "\x1b[2J" not in shown and "\x07" not in shown and "\ufffd" in shown
    assert "bob (0x" in shown  # the rater is one of this folder's wallets: shown by name
