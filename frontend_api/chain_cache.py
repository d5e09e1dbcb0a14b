"""Listing views read from the chain, kept for as long as the chain head says they are current.

A listing's state at a given block never changes, so a view read at head B is served again while
the head is B. When the head moves on, the marketplace's logs of the new blocks (one
``eth_getLogs``: by block hash for B's child; by range for a few blocks, if B and the new head
are both still on the chain afterwards) say which listings they touched: only their views are
dropped, the others stay current. A listing's state changes only in transactions that log an
event naming it, so an untouched view is still exact. A reorg, a gap too long to read, or a
failed read drops every view (see :class:`frontend_api.services.Services`).

The head is read with one ``eth_getBlockByNumber`` at most every ``max_age`` seconds, shared by
every request that arrives meanwhile; with ``max_age`` 0 each request waits for a head read that
started after it arrived, so a change mined before the request is always seen.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from p2pchain.market._views import Listing


@dataclass(frozen=True)
class Head:
    """The chain head a read was made at.

    Attributes:
        number: Its block number.
        hash: Its block hash (0x hex).
        parent_hash: Its parent's hash (0x hex).
        time: Its timestamp (not part of its identity).
    """

    number: int
    hash: str
    parent_hash: str = ""
    time: int = field(default=0, compare=False)


class HeadTracker:
    """The chain head, read at most every ``max_age`` seconds, one read at a time.

    A caller gets a head read that *started* at most ``max_age`` seconds before its call. When a
    read is under way, callers it is fresh enough for wait for it instead of sending their own,
    so a burst of requests costs one request to the node.

    Args:
        fetch: Reads the head from the node (its errors reach the caller).
        max_age: Seconds a head stays good; 0: every call sees a read started after it.
        clock: Monotonic seconds (``time.monotonic``).
    """

    def __init__(
        self,
        fetch: Callable[[], Head],
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_age < 0:
            raise ValueError(f"max_age must be at least 0 seconds, got {max_age}")
        self._fetch = fetch
        self.max_age = max_age
        self._clock = clock
        self._cond = threading.Condition()
        self._head: Head | None = None
        self._started = float("-inf")  # when the read that gave _head started
        self._reading = False
        #: Head reads sent to the node so far, and callers waiting for one now.
        self.reads = 0
        self.waiting = 0

    def current(self) -> Head:
        """The head, as of a read that started at most ``max_age`` seconds ago.

        Raises:
            Whatever ``fetch`` raises (the node cannot be reached, an unreadable answer).
        """
        oldest = self._clock() - self.max_age
        with self._cond:
            while True:
                if self._head is not None and self._started >= oldest:
                    return self._head
                if not self._reading:
                    break
                self.waiting += 1
                try:
                    self._cond.wait()
                finally:
                    self.waiting -= 1
            self._reading = True
            started = self._clock()
        try:
            head = self._fetch()
        except BaseException:
            with self._cond:
                self._reading = False
                self._cond.notify_all()
            raise
        with self._cond:
            self._head, self._started, self._reading = head, started, False
            self.reads += 1
            self._cond.notify_all()
        return head

    @property
    def latest(self) -> Head | None:
        """The newest head read so far (None before the first read)."""
        return self._head

    def fresh(self) -> Head | None:
        """The head, if a read that started at most ``max_age`` seconds ago gave it (never with
        ``max_age`` 0), without waiting or reading."""
        head = self._head
        if head is not None and self.max_age > 0 and self._started >= self._clock() - self.max_age:
            return head
        return None


class AsyncHeads:
    """:meth:`HeadTracker.current` for coroutines on one event loop, without a thread each.

    A caller awaits the next call of ``heads.current()`` that starts after it arrived, made in a
    worker thread for every caller waiting then: the same guarantee as a call of its own (a head
    read that started at most ``max_age`` seconds before), one thread and one read per wave.

    Args:
        heads: The tracker.
        run_in_thread: Runs a blocking function in a worker thread (the web server's pool).
    """

    def __init__(
        self, heads: HeadTracker, run_in_thread: Callable[[Callable[[], Head]], Any]
    ) -> None:
        self.heads = heads
        self._run = run_in_thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[Head] | None = None  # for callers that came after the call
        self._task: asyncio.Future[None] | None = None  # the call under way

    async def current(self) -> Head:
        """The head, as of a read that started at most ``heads.max_age`` seconds ago.

        Raises:
            Whatever the read raises.
        """
        head = self.heads.fresh()
        if head is not None:
            return head
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # served by another loop now (a new server or test client)
            self._loop, self._next, self._task = loop, None, None
        future = self._next
        if future is None:
            future = self._next = loop.create_future()
            if self._task is None:
                self._launch()
        return await asyncio.shield(future)

    def _launch(self) -> None:
        future, self._next = self._next, None
        assert future is not None
        self._task = asyncio.ensure_future(self._call(future))

    async def _call(self, future: asyncio.Future[Head]) -> None:
        try:
            head = await self._run(self.heads.current)
        except Exception as exc:  # noqa: BLE001 - every waiter gets it
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: no warning when every waiter has gone
        except BaseException:
            future.cancel()
            raise
        else:
            if not future.done():
                future.set_result(head)
        finally:
            if asyncio.get_running_loop() is self._loop:
                self._task = None
                if self._next is not None:
                    self._launch()


class ListingCache:
    """Views of listings, all current at one head (least recently used dropped past ``size``).

    A view is filed only if it was asked for at the cache's current head, and read after that
    head was seen, so it is never older than that head. :meth:`advance` moves the cache to a
    new head, dropping the views the move may have changed.

    Args:
        size: Listings kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._views: OrderedDict[bytes, Listing] = OrderedDict()
        #: The head every kept view is current at.
        self.head: Head | None = None
        #: Lookups answered from the cache, and lookups that read the chain.
        self.hits = 0
        self.misses = 0
        #: Views dropped by head moves, and views a head move kept.
        self.dropped = 0
        self.kept = 0

    def get(self, listing_id: bytes, head: Head, *, count_miss: bool = True) -> Listing | None:
        """The view of ``listing_id`` current at ``head``, or None (counted as a miss unless
        ``count_miss`` is false: the caller reads it through :meth:`get` again)."""
        with self._lock:
            view = self._views.get(listing_id) if head == self.head else None
            if view is None:
                self.misses += count_miss
                return None
            self._views.move_to_end(listing_id)
            self.hits += 1
            return view

    def put(self, listing_id: bytes, head: Head, listing: Listing) -> None:
        """File a view read after ``head`` was seen (ignored if the cache has moved on)."""
        with self._lock:
            if head != self.head:
                return
            self._views[listing_id] = listing
            self._views.move_to_end(listing_id)
            while len(self._views) > self.size:
                self._views.popitem(last=False)

    def advance(self, head: Head, touched: set[bytes] | None) -> None:
        """Move to ``head``.

        Args:
            head: The new head.
            touched: Ids named by the marketplace's logs between the current head and ``head``
                (their views are dropped); None when that is not known: every view is dropped.
        """
        with self._lock:
            before = len(self._views)
            if touched is None:
                self._views.clear()
            else:
                for key in touched:
                    self._views.pop(key, None)
            self.dropped += before - len(self._views)
            self.kept += len(self._views)
            self.head = head

    def __len__(self) -> int:
        return len(self._views)
