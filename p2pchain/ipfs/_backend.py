"""The one interface every IPFS backend implements, and the verified reads they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from p2pchain.ipfs._importer import AddSource
from p2pchain.ipfs._multiformats import CID
from p2pchain.ipfs._reader import DEFAULT_MAX_CAT_SIZE, iter_file, verify_block

#: A CID given as text (``Qm...``, ``bafy...``) or parsed.
CIDLike = str | CID


@runtime_checkable
class IpfsBackend(Protocol):
    """Store and fetch content by CID. Every read is verified against the CID it was asked for.

    Implementations: :class:`~p2pchain.ipfs.LocalStore` (default, a folder on disk),
    :class:`~p2pchain.ipfs.KuboBackend` (a Kubo node's RPC API) and
    :class:`~p2pchain.ipfs.GatewayBackend` (a read-only HTTP gateway).
    """

    def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> str:
        """Import content as a UnixFS file, as Kubo's ``ipfs add`` does; return its CID."""
        ...

    def cat(self, cid: CIDLike, *, max_size: int | None = DEFAULT_MAX_CAT_SIZE) -> bytes:
        """Return a file's content, verified block by block; refuse files over ``max_size``."""
        ...

    def get_block(self, cid: CIDLike) -> bytes:
        """Return one raw block, verified against its CID."""
        ...

    def pin(self, cid: CIDLike) -> None:
        """Pin a DAG recursively (keep it)."""
        ...

    def unpin(self, cid: CIDLike) -> None:
        """Remove a recursive pin."""
        ...

    def pins(self) -> list[str]:
        """Return the recursively pinned CIDs."""
        ...

    def has(self, cid: CIDLike) -> bool:
        """Tell whether the block is available locally to this backend."""
        ...


class VerifiedReader(ABC):
    """Verified ``get_block``/``cat``/``iter_cat`` on top of a raw block fetch."""

    @abstractmethod
    def _fetch_block(self, cid: CID) -> bytes:
        """Return a block's bytes as the source has them (unverified).

        Raises:
            IpfsError: If the block is missing or cannot be fetched.
        """

    def get_block(self, cid: CIDLike) -> bytes:
        """Return one raw block, verified against its CID.

        Args:
            cid: The block's CID.

        Returns:
            The block's bytes.

        Raises:
            ContentVerificationError: If the bytes do not hash to the CID.
            IpfsError: If the CID is invalid or the block cannot be fetched.
        """
        parsed = CID.parse(cid)
        return verify_block(parsed, self._fetch_block(parsed))

    def iter_cat(
        self, cid: CIDLike, *, max_size: int | None = DEFAULT_MAX_CAT_SIZE
    ) -> Iterator[bytes]:
        """Stream a file's content, verifying every block before yielding its bytes.

        Args:
            cid: The file's CID.
            max_size: Refuse files larger than this (None: no limit).

        Yields:
            Verified chunks, in order.

        Raises:
            ContentVerificationError: If any block is tampered or sizes disagree.
            IpfsError: If the file is too large, not a file, or a block is missing.
        """
        return iter_file(CID.parse(cid), self._fetch_block, max_size=max_size)

    def cat(self, cid: CIDLike, *, max_size: int | None = DEFAULT_MAX_CAT_SIZE) -> bytes:
        """Return a file's whole content, verified.

        Args:
            cid: The file's CID.
            max_size: Refuse files larger than this many bytes (None: no limit).

        Returns:
            The content.

        Raises:
            ContentVerificationError: If any block is tampered or sizes disagree.
            IpfsError: If the file is too large, not a file, or a block is missing.
        """
        return b"".join(self.iter_cat(cid, max_size=max_size))
