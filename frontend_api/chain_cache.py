"""Listing views read from the chain, kept for as long as the chain head stays the same.

A listing's state at a given block never changes, so a view read while the head was block B is
served again until the head moves. The key is the head's hash, not only its number, so a reorg
that replaces B also starts over. The head itself is read with one ``eth_getBlockByNumber``
at most every ``max_age`` seconds, shared by every request that arrives meanwhile; with
``max_age`` 0 each request waits for a head read that started after it arrived, so a change
mined before the request is always seen.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from p2pchain._views import Listing


@dataclass(frozen=True)
class Head:
    """The chain head a read was made at.

    Attributes:
        number: Its block number.
        hash: Its block hash (0x hex).
    """

    number: int
    hash: str


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


class ListingCache:
    """The last view read of each listing and the head it was read at (least recently used
    listings are dropped past ``size``).

    A view is served only while the head is the one it was read at. It was read after that head
    was seen, so it is never older than the head it is filed under.

    Args:
        size: Listings kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._views: OrderedDict[bytes, tuple[Head, Listing]] = OrderedDict()
        #: Lookups answered from the cache, and lookups that read the chain.
        self.hits = 0
        self.misses = 0

    def get(self, listing_id: bytes, head: Head) -> Listing | None:
        """The view of ``listing_id`` read at ``head``, or None."""
        with self._lock:
            entry = self._views.get(listing_id)
            if entry is None or entry[0] != head:
                self.misses += 1
                return None
            self._views.move_to_end(listing_id)
            self.hits += 1
            return entry[1]

    def put(self, listing_id: bytes, head: Head, listing: Listing) -> None:
        """File a view read after ``head`` was seen."""
        with self._lock:
            self._views[listing_id] = (head, listing)
            self._views.move_to_end(listing_id)
            while len(self._views) > self.size:
                self._views.popitem(last=False)

    def __len__(self) -> int:
        return len(self._views)
