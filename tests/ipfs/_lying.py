"""A dev node store that lies: serves blocks tampered with, without verifying them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from p2pchain.ipfs import CID, CIDLike, LocalStore


def flip_last_byte(data: bytes) -> bytes:
    """The block with its last byte changed (tampered)."""
    return data[:-1] + bytes([data[-1] ^ 0xFF]) if data else b"\xff"


def drop_last_byte(data: bytes) -> bytes:
    """The block cut one byte short (truncated)."""
    return data[:-1]


class LyingStore(LocalStore):
    """A LocalStore whose reads return ``lie(block)`` for the CIDs in ``targets`` (all if empty)."""

    def __init__(self, path: Path, lie: Callable[[bytes], bytes]) -> None:
        super().__init__(path)
        self.lie = lie
        self.targets: set[CID] = set()

    def _lying(self, cid: CIDLike) -> bytes:
        parsed = CID.parse(cid)
        data = self._fetch_block(parsed)
        return self.lie(data) if not self.targets or parsed in self.targets else data

    def get_block(self, cid: CIDLike) -> bytes:
        return self._lying(cid)

    def iter_cat(self, cid: CIDLike, *, max_size: int | None = None) -> Iterator[bytes]:
        yield self._lying(cid)


def tamper_file(path: Path, lie: Callable[[bytes], bytes]) -> None:
    """Rewrite a stored block file in place."""
    path.write_bytes(lie(path.read_bytes()))
