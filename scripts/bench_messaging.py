"""Messaging figures: round trip through a loopback relay, messages wrapped per second, and how
fast an inbox of 10,000 messages opens. Prints them and writes ``docs/bench-messaging.md``.

Usage: ``python scripts/bench_messaging.py [--round-trips 200] [--wrap 2000] [--inbox 10000]``.
Everything runs on 127.0.0.1: one ``nostr-relay`` process (:class:`LoopbackRelay`).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/bench_messaging.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account

from p2pchain.messaging import LoopbackRelay, MessagingClient
from p2pchain.messaging._events import Keys, sign_event
from p2pchain.messaging._relays import RelayConnection, RelayPool, Subscription
from p2pchain.messaging._wrap import channel_wrap

REPORT = Path(__file__).resolve().parent.parent / "docs" / "bench-messaging.md"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def round_trips(relay: LoopbackRelay, count: int) -> list[float]:
    """Publish a channel-wrapped message and wait for it on a live subscription, one at a time."""
    author, channel = Keys.generate(), Keys.generate()
    pool = RelayPool()
    sub = Subscription(pool, [relay.url], [{"kinds": [1059], "authors": [channel.pubkey]}])
    sender = RelayConnection(relay.url)
    time.sleep(0.5)
    times = []
    for i in range(count):
        wrap = channel_wrap(sign_event(author, 14, f"message {i}"), channel).to_dict()
        start = time.perf_counter()
        sender.publish(wrap)
        while True:
            _url, event = sub.events.get(timeout=10)
            if event["id"] == wrap["id"]:
                break
        times.append((time.perf_counter() - start) * 1000)
    sub.close()
    pool.close()
    sender.drop()
    return times


def wrap_rate(count: int) -> float:
    """Messages signed by their author, NIP-44 encrypted and wrapped (signed) per second."""
    author, channel = Keys.generate(), Keys.generate()
    start = time.perf_counter()
    for i in range(count):
        channel_wrap(sign_event(author, 14, f"message number {i}: pickup at 9?"), channel)
    return count / (time.perf_counter() - start)


def inbox_open(folder: Path, count: int) -> tuple[float, float]:
    """Fill a store with ``count`` received messages, then time opening it and listing the
    newest 100 and one thread."""
    account = Account.create()
    client = MessagingClient(account, ["ws://127.0.0.1:9"], folder / "inbox.sqlite", chain_id=1)
    author = Keys.generate()
    rows = []
    now = int(time.time())
    for i in range(count):
        event = sign_event(
            author, 14, f"message {i}", [["p2pchain", "1", "0x" + "11" * 32]], now - count + i
        )
        rows.append(
            client._row(event, "1/0x" + "11" * 32, 1, "0x" + "11" * 32, None, False, "received")
        )
    with client.store.transaction() as db:
        cols = ", ".join(rows[0])
        db.executemany(
            f"INSERT INTO messages ({cols}) VALUES ({', '.join('?' * len(rows[0]))})",
            [list(r.values()) for r in rows],
        )
    client.close()
    start = time.perf_counter()
    reopened = MessagingClient(account, ["ws://127.0.0.1:9"], folder / "inbox.sqlite", chain_id=1)
    newest = reopened.messages(limit=100)
    threads = reopened.threads()
    opened = time.perf_counter() - start
    assert len(newest) == 100 and threads[0].messages == count
    start = time.perf_counter()
    whole = reopened.thread("0x" + "11" * 32)
    thread_time = time.perf_counter() - start
    assert len(whole) == count
    reopened.close()
    return opened, thread_time


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements, print them and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--wrap", type=int, default=2000)
    parser.add_argument("--inbox", type=int, default=10_000)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="p2pchain-bench-msg-") as tmp:
        with LoopbackRelay(Path(tmp) / "relay") as relay:
            trips = round_trips(relay, args.round_trips)
        rate = wrap_rate(args.wrap)
        opened, thread_time = inbox_open(Path(tmp), args.inbox)
    p50, p99 = _pct(trips, 50), _pct(trips, 99)
    lines = [
        (
            f"round trip through the loopback relay ({len(trips)} messages, one at a time):"
            f" p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {statistics.mean(trips):.1f} ms"
            f"  (target p50 <= 50 ms, p99 <= 200 ms)"
        ),
        (
            f"signed, NIP-44 encrypted and wrapped in one process: {rate:,.0f} messages/s"
            f"  (target >= 500/s)"
        ),
        (
            f"inbox of {args.inbox:,} messages: opened (newest 100 + thread list) in {opened:.3f} s,"
            f" whole thread read in {thread_time:.3f} s  (target <= 0.5 s)"
        ),
    ]
    for line in lines:
        print(line)
    if not args.no_report:
        REPORT.write_text(
            "# Messaging benchmark\n\n"
            "`python scripts/bench_messaging.py` (defaults: 200 round trips, 2,000 wraps, an\n"
            "inbox of 10,000 messages). One `nostr-relay` 1.14 process on 127.0.0.1 (SQLite);\n"
            "the round trip is publish -> the relay's OK and its push to a live subscription of\n"
            "the same machine, one message at a time; messages are thread messages (signed by\n"
            "the author, NIP-44 v2 under the channel key, wrapped and signed by it).\n\n"
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
            " (shared with other work while measured).\n\n"
            + "\n".join(f"- {line}" for line in lines)
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
