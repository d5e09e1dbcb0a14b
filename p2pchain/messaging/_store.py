"""The local message store (SQLite): messages, threads' channels, the outbox, what was dropped.

One file per messaging identity (``<data dir>/messaging/<address>.sqlite`` by default). It holds
the sender's own copy of every message, so a thread reads without a relay; the outbox, so a
message written while every relay is down is sent when one is back; the ids of every wrap seen,
so a relay replaying old events changes nothing; and a count of every event dropped, by reason.
Channel secrets are stored here; they are derivable again from the wallet (see ``_keys``),
except those disclosed to us.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    pubkey TEXT PRIMARY KEY,          -- the channel key's public key (relays see only this)
    secret BLOB NOT NULL,
    chain_id INTEGER NOT NULL,
    topic TEXT NOT NULL,              -- 0x listing or trade id
    role TEXT NOT NULL,               -- opener | responder | reader (disclosed to us)
    my_pubkey TEXT,                   -- our key in the thread (None for a reader)
    peer_pubkey TEXT,
    relays TEXT NOT NULL,             -- JSON list
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS channels_topic ON channels (chain_id, topic);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,              -- the message event's id (stable across relays and re-wraps)
    thread TEXT NOT NULL,             -- "<chain id>/<topic>" or "dm/<peer pubkey>"
    chain_id INTEGER,
    topic TEXT,
    channel TEXT,
    author TEXT NOT NULL,             -- author pubkey
    author_address TEXT,              -- Ethereum address proven by the message's key proof
    outgoing INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    content TEXT NOT NULL,
    event TEXT NOT NULL,              -- the signed event (or the rumor of a direct message)
    signed INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL              -- queued | sent | received
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (thread, created_at);
CREATE INDEX IF NOT EXISTS messages_new ON messages (created_at DESC);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,              -- the message (or rumor, or event) id
    kind TEXT NOT NULL,               -- channel | gift | event: how to wrap it at each attempt
    payload TEXT NOT NULL,            -- the signed message, the rumor, or the final event
    key BLOB,                         -- the channel secret, or the sealing secret
    recipient TEXT,                   -- a gift wrap's recipient
    relays TEXT NOT NULL,             -- JSON list of relays that must accept it
    accepted TEXT NOT NULL DEFAULT '[]',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (wrap_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS dropped (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Channel:
    """One thread channel (see ``_keys``): its key, thread and relays."""

    pubkey: str
    secret: bytes
    chain_id: int
    topic: str
    role: str
    my_pubkey: str | None
    peer_pubkey: str | None
    relays: tuple[str, ...]
    created_at: int


class Store:
    """The SQLite store (thread-safe: one connection, serialized)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read."""
        with self._lock:
            return list(self._db.execute(sql, args))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # -- channels

    def add_channel(self, channel: Channel) -> bool:
        """Record a channel; False if it was known."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO channels VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    channel.pubkey,
                    channel.secret,
                    channel.chain_id,
                    channel.topic,
                    channel.role,
                    channel.my_pubkey,
                    channel.peer_pubkey,
                    json.dumps(list(channel.relays)),
                    channel.created_at,
                ),
            )
            return cur.rowcount == 1

    def channels(self, chain_id: int | None = None, topic: str | None = None) -> list[Channel]:
        """Every channel, or those of one thread."""
        sql, args = "SELECT * FROM channels", []
        if topic is not None:
            sql += " WHERE chain_id = ? AND topic = ?"
            args = [chain_id, topic]
        return [
            Channel(
                r["pubkey"],
                bytes(r["secret"]),
                r["chain_id"],
                r["topic"],
                r["role"],
                r["my_pubkey"],
                r["peer_pubkey"],
                tuple(json.loads(r["relays"])),
                r["created_at"],
            )
            for r in self.rows(sql + " ORDER BY created_at", args)
        ]

    # -- messages

    def add_message(self, row: dict[str, Any]) -> bool:
        """Store a message; False if its id was already stored (a duplicate)."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as db:
            cur = db.execute(
                f"INSERT OR IGNORE INTO messages ({cols}) VALUES ({marks})", list(row.values())
            )
            return cur.rowcount == 1

    def set_status(self, message_id: str, status: str) -> None:
        """Update a sent message's delivery status."""
        with self.transaction() as db:
            db.execute("UPDATE messages SET status = ? WHERE id = ?", (status, message_id))

    def mark_read(self, thread: str | None = None) -> int:
        """Mark a thread's messages (or all) read; how many changed."""
        with self.transaction() as db:
            if thread is None:
                cur = db.execute("UPDATE messages SET read = 1 WHERE read = 0")
            else:
                cur = db.execute(
                    "UPDATE messages SET read = 1 WHERE read = 0 AND thread = ?", (thread,)
                )
            return cur.rowcount

    # -- outbox

    def queue(
        self,
        item_id: str,
        kind: str,
        payload: str,
        relays: Sequence[str],
        key: bytes | None = None,
        recipient: str | None = None,
    ) -> None:
        """Put something to publish in the outbox for ``relays`` (wrapped at each attempt)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO outbox (id, kind, payload, key, recipient, relays,"
                " created_at) VALUES (?,?,?,?,?,?,?)",
                (
                    item_id,
                    kind,
                    payload,
                    key,
                    recipient,
                    json.dumps(sorted(set(relays))),
                    int(time.time()),
                ),
            )

    def outbox(self) -> list[sqlite3.Row]:
        """Wraps some relay has still to accept, oldest first."""
        return self.rows("SELECT * FROM outbox ORDER BY created_at, rowid")

    def delivered(self, item_id: str, accepted: Sequence[str], error: str | None) -> list[str]:
        """Record the relays that accepted an item; the ones still missing (row gone if none)."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT relays, accepted FROM outbox WHERE id = ?", (item_id,)
            ).fetchone()
            if row is None:
                return []
            done = sorted(set(json.loads(row["accepted"])) | set(accepted))
            missing = [r for r in json.loads(row["relays"]) if r not in done]
            if missing:
                db.execute(
                    "UPDATE outbox SET accepted = ?, attempts = attempts + 1, last_error = ?"
                    " WHERE id = ?",
                    (json.dumps(done), error, item_id),
                )
            else:
                db.execute("DELETE FROM outbox WHERE id = ?", (item_id,))
            return missing

    # -- seen wraps, drops, state

    def seen(self, wrap_id: str) -> bool:
        """Whether this wrap was processed before."""
        return bool(self.rows("SELECT 1 FROM seen WHERE wrap_id = ?", (wrap_id,)))

    def mark_seen(self, wrap_id: str) -> None:
        """Remember a processed wrap."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (wrap_id,))

    def count_drop(self, reason: str) -> None:
        """Count one dropped event."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO dropped VALUES (?, 1) ON CONFLICT(reason) DO UPDATE SET count = count + 1",
                (reason,),
            )

    def drops(self) -> dict[str, int]:
        """Dropped events by reason."""
        return {r["reason"]: r["count"] for r in self.rows("SELECT * FROM dropped ORDER BY reason")}

    def get(self, key: str) -> str | None:
        """A state value."""
        rows = self.rows("SELECT value FROM state WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def put(self, key: str, value: str) -> None:
        """Set a state value."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))


__all__ = ["Channel", "Store"]
