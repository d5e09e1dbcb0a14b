"""Nonces reserved locally per account, so many transactions can be in flight at once."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_typing import ChecksumAddress

# --------------------------------------------------------------------------------------------
# nonces


@dataclass
class _AccountNonces:
    next: int
    free: list[int] = field(default_factory=list)  # heap of nonces handed back
    in_flight: set[int] = field(default_factory=set)


class NonceManager:
    """Per-account nonces reserved locally, so transactions need not wait for each other.

    The first reservation for an account reads the node's ``pending`` transaction count; later
    ones count up locally. A nonce whose transaction the node refused is :meth:`release`-d and
    handed out again before any new one, so no gap is left behind. :meth:`resync` re-reads the
    node after a nonce error.

    With a journal, nonces held by open transactions of other processes (or of earlier runs) are
    skipped (:meth:`avoid`), and the holes below them are handed out first, so a gap heals with
    the next transaction. Without one, another process sending with the same key at the same
    time makes both see :class:`NonceConflict`.

    Args:
        fetch: Returns an account's ``pending`` transaction count from the node.
    """

    def __init__(self, fetch: Callable[[ChecksumAddress], int]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._accounts: dict[ChecksumAddress, _AccountNonces] = {}

    def reserve(self, address: ChecksumAddress) -> int:
        """Return the next nonce to use for ``address`` and mark it in flight."""
        with self._lock:
            state = self._accounts.get(address)
        if state is None:
            fetched = self._fetch(address)
            with self._lock:
                state = self._accounts.setdefault(address, _AccountNonces(next=fetched))
        with self._lock:
            if state.free:
                nonce = heapq.heappop(state.free)
            else:
                nonce = state.next
                state.next += 1
            state.in_flight.add(nonce)
            return nonce

    def ensure(self, address: ChecksumAddress) -> None:
        """Read the node's count for ``address`` now, if not known yet (so :meth:`reserve`
        needs no request)."""
        with self._lock:
            known = address in self._accounts
        if not known:
            fetched = self._fetch(address)
            with self._lock:
                self._accounts.setdefault(address, _AccountNonces(next=fetched))

    def known(self, address: ChecksumAddress) -> bool:
        """Whether ``address``'s count has been read (:meth:`reserve` needs no request)."""
        with self._lock:
            return address in self._accounts

    def seed(self, address: ChecksumAddress, count: int) -> None:
        """Take ``count`` as the node's ``pending`` count for ``address``, read along with
        something else, unless one was read already."""
        with self._lock:
            self._accounts.setdefault(address, _AccountNonces(next=int(count)))

    def avoid(self, address: ChecksumAddress, taken: set[int]) -> None:
        """Never hand out ``taken`` (nonces of open transactions this manager did not reserve).

        Holes below the highest one are handed out first, so they get filled.
        """
        if not taken:
            return
        with self._lock:
            state = self._accounts.get(address)
            if state is None:
                return
            top = max(taken)
            if top >= state.next:
                holes = [n for n in range(state.next, top) if n not in taken]
                state.next = top + 1
                state.free.extend(holes)
            state.free = [n for n in state.free if n not in taken]
            heapq.heapify(state.free)

    def release(self, address: ChecksumAddress, nonce: int) -> None:
        """Hand back a nonce whose transaction the node never accepted."""
        with self._lock:
            state = self._accounts.get(address)
            if state is None:
                return
            state.in_flight.discard(nonce)
            if nonce == state.next - 1:
                state.next -= 1
                while state.free and max(state.free) == state.next - 1:
                    state.free.remove(state.next - 1)
                    heapq.heapify(state.free)
                    state.next -= 1
            elif nonce < state.next and nonce not in state.free:
                heapq.heappush(state.free, nonce)

    def settle(self, address: ChecksumAddress, nonce: int) -> None:
        """Record that a transaction with this nonce was mined."""
        with self._lock:
            state = self._accounts.get(address)
            if state is not None:
                state.in_flight.discard(nonce)

    def resync(self, address: ChecksumAddress) -> int:
        """Re-read the node's ``pending`` count for ``address``; return the next nonce.

        Nonces below the node's count are dropped from the free list. The local counter moves
        up to the node's; it moves down only when none of this process's transactions is in
        flight (otherwise the node may just not have seen them yet).
        """
        fetched = self._fetch(address)
        with self._lock:
            state = self._accounts.setdefault(address, _AccountNonces(next=fetched))
            state.free = [n for n in state.free if n >= fetched]
            heapq.heapify(state.free)
            if fetched > state.next or not any(n >= fetched for n in state.in_flight):
                state.next = fetched
                state.free = []
                state.in_flight = {n for n in state.in_flight if n >= fetched}
            return state.next

    def peek(self, address: ChecksumAddress) -> int | None:
        """The next nonce that would be handed out, if the account is known."""
        with self._lock:
            state = self._accounts.get(address)
            if state is None:
                return None
            return state.free[0] if state.free else state.next


__all__ = [
    "NonceManager",
]
