"""Talking to Nostr relays (NIP-01) over WebSocket: publish, query, subscribe.

One :class:`RelayConnection` per relay URL, opened on first use and re-opened after a failure;
a reader thread dispatches what the relay sends (``EVENT``, ``EOSE``, ``OK``, ``CLOSED``) to the
waiting call. :class:`RelayPool` does the same thing on many relays at once and never raises
because one relay is down: each call reports, per relay, what happened.

Nothing here trusts what a relay sends: events are handed on as raw JSON objects, to be parsed
and verified by the caller. Connections never go through a proxy.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from p2pchain._errors import MessagingError

#: Seconds to open a connection, and to wait for a relay's OK or EOSE.
CONNECT_TIMEOUT = 3.0
REPLY_TIMEOUT = 5.0
#: Largest frame accepted from a relay (a 64 KiB message wrapped is ~90 KB).
MAX_FRAME = 512 * 1024

_ids = itertools.count(1)


class RelayError(MessagingError):
    """A relay URL is malformed, or no relay could be reached."""


def check_relay_url(url: str) -> str:
    """``url`` if it is a ws:// or wss:// URL with a host (no trailing slash).

    Raises:
        RelayError: It is not.
    """
    from urllib.parse import urlparse

    text = url.strip()
    parsed = urlparse(text)
    if parsed.scheme not in ("ws", "wss") or not parsed.hostname:
        raise RelayError(f"invalid relay URL {url!r}: expected ws://host[:port] or wss://host")
    try:
        parsed.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise RelayError(f"invalid relay URL {url!r}: the port must be 1-65535") from None
    return text.rstrip("/")


@dataclass(frozen=True)
class PublishResult:
    """What one relay said about one event.

    Attributes:
        relay: The relay URL.
        accepted: Whether it stored the event (``OK true``, or a duplicate).
        message: Its reason, or our error (unreachable, timeout).
    """

    relay: str
    accepted: bool
    message: str = ""


@dataclass
class _Sub:
    queue: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)


class RelayConnection:
    """One WebSocket to one relay, shared by every call (thread-safe)."""

    def __init__(self, url: str) -> None:
        self.url = check_relay_url(url)
        self._lock = threading.Lock()
        self._ws: Any = None
        self._waiters: dict[str, queue.Queue[tuple[bool, str]]] = {}
        self._subs: dict[str, _Sub] = {}

    @property
    def connected(self) -> bool:
        """Whether the socket is open."""
        return self._ws is not None

    def _connect(self) -> Any:
        with self._lock:
            if self._ws is not None:
                return self._ws
            from websockets.sync.client import connect

            try:
                ws = connect(
                    self.url,
                    open_timeout=CONNECT_TIMEOUT,
                    close_timeout=1,
                    max_size=MAX_FRAME,
                    proxy=None,
                    compression=None,
                )
            except Exception as exc:  # noqa: BLE001 - refused, DNS, handshake: all "unreachable"
                raise RelayError(f"cannot reach relay {self.url}: {_reason(exc)}") from None
            self._ws = ws
            threading.Thread(target=self._read, args=(ws,), daemon=True).start()
            return ws

    def _read(self, ws: Any) -> None:
        try:
            for frame in ws:
                self._dispatch(frame)
        except Exception:  # noqa: BLE001, S110 - the socket died; callers see it below
            pass
        with self._lock:
            if self._ws is ws:
                self._ws = None
            waiters, self._waiters = self._waiters, {}
            subs, self._subs = self._subs, {}
        for waiter in waiters.values():
            waiter.put((False, "connection lost"))
        for sub in subs.values():
            sub.queue.put(("closed", "connection lost"))

    def _dispatch(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            return
        if not isinstance(message, list) or not message or not isinstance(message[0], str):
            return
        kind = message[0]
        if kind == "EVENT" and len(message) >= 3 and isinstance(message[1], str):
            sub = self._subs.get(message[1])
            if sub is not None:
                sub.queue.put(("event", message[2]))
        elif kind == "EOSE" and len(message) >= 2:
            sub = self._subs.get(str(message[1]))
            if sub is not None:
                sub.queue.put(("eose", None))
        elif kind == "CLOSED" and len(message) >= 2:
            sub = self._subs.get(str(message[1]))
            if sub is not None:
                sub.queue.put(("closed", str(message[2]) if len(message) > 2 else ""))
        elif kind == "OK" and len(message) >= 3:
            waiter = self._waiters.pop(str(message[1]), None)
            if waiter is not None:
                reason = str(message[3]) if len(message) > 3 else ""
                ok = message[2] is True or reason.startswith("duplicate")
                waiter.put((ok, reason))

    def _send(self, payload: list[Any]) -> None:
        ws = self._connect()
        try:
            ws.send(json.dumps(payload, separators=(",", ":"), ensure_ascii=False))
        except Exception as exc:  # noqa: BLE001
            self.drop()
            raise RelayError(f"relay {self.url}: send failed: {_reason(exc)}") from None

    def publish(self, event: Mapping[str, Any], timeout: float = REPLY_TIMEOUT) -> PublishResult:
        """Send ``["EVENT", event]`` and wait for the relay's ``OK``."""
        waiter: queue.Queue[tuple[bool, str]] = queue.Queue()
        event_id = str(event["id"])
        try:
            self._connect()
            self._waiters[event_id] = waiter
            self._send(["EVENT", dict(event)])
            ok, reason = waiter.get(timeout=timeout)
        except RelayError as exc:
            return PublishResult(self.url, False, str(exc))
        except queue.Empty:
            return PublishResult(self.url, False, f"no answer from {self.url} in {timeout:g} s")
        finally:
            self._waiters.pop(event_id, None)
        return PublishResult(self.url, ok, reason)

    def open(
        self, sub_id: str, filters: Sequence[Mapping[str, Any]]
    ) -> queue.Queue[tuple[str, Any]]:
        """Send ``REQ``; what arrives for it is put on the returned queue."""
        sub = self._subs.setdefault(sub_id, _Sub())
        try:
            self._send(["REQ", sub_id, *[dict(f) for f in filters]])
        except RelayError:
            self._subs.pop(sub_id, None)
            raise
        return sub.queue

    def close_sub(self, sub_id: str) -> None:
        """Send ``CLOSE`` for a subscription (ignored if the socket is gone)."""
        if self._subs.pop(sub_id, None) is not None and self._ws is not None:
            try:
                self._ws.send(json.dumps(["CLOSE", sub_id]))
            except Exception:  # noqa: BLE001, S110
                pass

    def query(
        self, filters: Sequence[Mapping[str, Any]], timeout: float = REPLY_TIMEOUT
    ) -> list[Any]:
        """Every stored event matching ``filters``, up to the relay's ``EOSE``.

        Raises:
            RelayError: Unreachable, closed the subscription, or no EOSE in time.
        """
        sub_id = f"q{next(_ids)}"
        events: list[Any] = []
        q = self.open(sub_id, filters)
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RelayError(f"relay {self.url}: no end of stored events in {timeout:g} s")
                try:
                    kind, value = q.get(timeout=remaining)
                except queue.Empty:
                    continue
                if kind == "event":
                    events.append(value)
                elif kind == "eose":
                    return events
                else:
                    raise RelayError(f"relay {self.url} closed the query: {value}")
        finally:
            self.close_sub(sub_id)

    def drop(self) -> None:
        """Close the socket (the next call reconnects)."""
        with self._lock:
            ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except Exception:  # noqa: BLE001, S110
                pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


class RelayPool:
    """Connections to many relays; every call goes to the relays given, concurrently."""

    def __init__(self) -> None:
        self._connections: dict[str, RelayConnection] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="relay")

    def connection(self, url: str) -> RelayConnection:
        """The (shared) connection to ``url``."""
        key = check_relay_url(url)
        with self._lock:
            conn = self._connections.get(key)
            if conn is None:
                conn = self._connections[key] = RelayConnection(key)
            return conn

    def publish(self, event: Mapping[str, Any], relays: Iterable[str]) -> list[PublishResult]:
        """Publish to every relay at once; one result per relay."""
        urls = sorted({check_relay_url(u) for u in relays})
        futures = [self._executor.submit(self.connection(u).publish, event) for u in urls]
        return [f.result() for f in futures]

    def query(
        self, filters: Sequence[Mapping[str, Any]], relays: Iterable[str]
    ) -> tuple[list[Any], dict[str, str]]:
        """Stored events from every relay (duplicates included) and the relays that failed."""
        urls = sorted({check_relay_url(u) for u in relays})
        futures = {u: self._executor.submit(self.connection(u).query, filters) for u in urls}
        events: list[Any] = []
        errors: dict[str, str] = {}
        for url, future in futures.items():
            try:
                events.extend(future.result())
            except RelayError as exc:
                errors[url] = str(exc)
        return events, errors

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            conns = list(self._connections.values())
            self._connections.clear()
        for conn in conns:
            conn.drop()
        self._executor.shutdown(wait=False, cancel_futures=True)


class Subscription:
    """A live subscription on many relays, reconnecting to any that drop.

    Events arrive on :attr:`events` as ``(relay, raw_event)``. :meth:`update` replaces the
    filters (e.g. when a new thread starts).
    """

    def __init__(
        self, pool: RelayPool, relays: Iterable[str], filters: Sequence[Mapping[str, Any]]
    ) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._pool = pool
        self._relays = sorted({check_relay_url(u) for u in relays})
        self._filters = [dict(f) for f in filters]
        self._sub_id = f"live{next(_ids)}"
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._threads = [
            threading.Thread(target=self._follow, args=(url,), daemon=True) for url in self._relays
        ]
        for t in self._threads:
            t.start()

    def update(self, filters: Sequence[Mapping[str, Any]]) -> None:
        """Replace the filters on every relay."""
        self._filters = [dict(f) for f in filters]
        self._changed.set()

    def _follow(self, url: str) -> None:
        conn = self._pool.connection(url)
        backoff = 0.2
        while not self._stop.is_set():
            try:
                q = conn.open(self._sub_id, self._filters)
            except RelayError:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.2
            filters = self._filters
            while not self._stop.is_set():
                if self._filters is not filters:
                    break  # re-send REQ with the new filters (same id: replaces it)
                try:
                    kind, value = q.get(timeout=0.2)
                except queue.Empty:
                    continue
                if kind == "event":
                    self.events.put((url, value))
                elif kind == "closed":
                    break
        conn.close_sub(self._sub_id)

    def close(self) -> None:
        """Stop following."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)


__all__ = [
    "PublishResult",
    "RelayConnection",
    "RelayError",
    "RelayPool",
    "Subscription",
    "check_relay_url",
]
