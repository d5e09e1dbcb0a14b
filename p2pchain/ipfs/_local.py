"""LocalStore: blocks and pins in a folder on disk, no daemon needed.

Layout of the store folder (by default ``<data dir>/ipfs``, the data dir being
``$P2PCHAIN_DATA_DIR`` or the per-user data folder)::

    blocks/<shard>/<KEY>.data   one file per block; KEY is the base32 (RFC 4648, upper case, no
                                padding) of the block's multihash and <shard> its next-to-last
                                two characters: the layout of Kubo's flatfs blockstore
    pins.sqlite                 the recursive pin set (table ``pins``)

Blocks are keyed by multihash, as in Kubo, so a CIDv0 and a CIDv1 of the same bytes share one
file. Each block is written to a temporary file and renamed into place, so readers never see a
partial block; blocks are not fsynced (this is a development and cache store, and every read is
verified anyway). SQLite serialises pin updates across threads and processes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from p2pchain._errors import IpfsError
from p2pchain._paths import DATA_DIR_ENV, data_dir  # noqa: F401 - DATA_DIR_ENV re-exported
from p2pchain.ipfs._backend import CIDLike, VerifiedReader
from p2pchain.ipfs._importer import (
    DEFAULT_CHUNK_SIZE,
    AddSource,
    ImportResult,
    import_file,
)
from p2pchain.ipfs._multiformats import CID, DAG_PB, RAW
from p2pchain.ipfs._reader import MAX_BLOCK_SIZE, iter_dag


def default_store_dir() -> Path:
    """Return the default LocalStore folder: ``$P2PCHAIN_DATA_DIR/ipfs`` or the user data dir's."""
    return data_dir() / "ipfs"


class LocalStore(VerifiedReader):
    """An IPFS block store and pin set in a local folder.

    Args:
        path: The store folder (created if missing); default :func:`default_store_dir`.

    Raises:
        IpfsError: If the folder cannot be created.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_dir()
        self._blocks = self.path / "blocks"
        self._pins_db = self.path / "pins.sqlite"
        self._shards: set[str] = set()
        try:
            self._blocks.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.execute("CREATE TABLE IF NOT EXISTS pins (cid TEXT PRIMARY KEY)")
        except (OSError, sqlite3.Error) as exc:
            raise IpfsError(f"cannot open the IPFS store at {self.path}: {exc}") from None

    def __repr__(self) -> str:
        return f"LocalStore({str(self.path)!r})"

    # --- blocks ---------------------------------------------------------------------------

    def block_path(self, cid: CIDLike) -> Path:
        """Return the file that holds (or would hold) a block.

        Args:
            cid: The block's CID.
        """
        key = base64.b32encode(CID.parse(cid).multihash.encode()).decode("ascii").rstrip("=")
        return self._blocks / key[-3:-1] / f"{key}.data"

    def _write_block(self, cid: CID, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        target = self.block_path(cid)
        if target.exists():
            return
        shard = target.parent
        if shard.name not in self._shards:
            shard.mkdir(parents=True, exist_ok=True)
            self._shards.add(shard.name)
        fd, tmp = tempfile.mkstemp(dir=shard, prefix=".tmp-")
        try:
            try:
                for part in parts:
                    view = memoryview(part)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def put_block(self, data: bytes, *, codec: str = "raw", cid_version: int = 1) -> str:
        """Store one block as is (like ``ipfs block put``).

        Args:
            data: The block's bytes (at most 2 MiB).
            codec: ``raw`` or ``dag-pb``.
            cid_version: 1, or 0 (dag-pb only).

        Returns:
            The block's CID.

        Raises:
            IpfsError: If the block is too large or the options are invalid.
        """
        if len(data) > MAX_BLOCK_SIZE:
            raise IpfsError(f"block of {len(data)} bytes is over the {MAX_BLOCK_SIZE}-byte limit")
        codes = {"raw": RAW, "dag-pb": DAG_PB}
        if codec not in codes:
            raise IpfsError(f"unsupported codec {codec!r} (use 'raw' or 'dag-pb')")
        digest = hashlib.sha256(data).digest()
        try:
            cid = CID.v0(digest) if cid_version == 0 else CID.v1(codes[codec], digest)
        except ValueError as exc:
            raise IpfsError(str(exc)) from None
        self._write_block(cid, (data,))
        return str(cid)

    def _fetch_block(self, cid: CID) -> bytes:
        path = self.block_path(cid)
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_BLOCK_SIZE + 1)
        except FileNotFoundError:
            raise IpfsError(f"block {cid} is not in the local store {self.path}") from None
        except OSError as exc:
            raise IpfsError(f"cannot read block {cid}: {exc}") from None
        return data

    def has(self, cid: CIDLike) -> bool:
        """Tell whether the store holds the block (present, not verified)."""
        return self.block_path(cid).is_file()

    def block_size(self, cid: CIDLike) -> int:
        """Return a stored block's size in bytes, after verifying it.

        Raises:
            ContentVerificationError: If the stored block does not match its CID.
            IpfsError: If the block is missing.
        """
        return len(self.get_block(cid))

    # --- files ----------------------------------------------------------------------------

    def add_file(
        self,
        data: AddSource,
        *,
        cid_version: int = 0,
        raw_leaves: bool | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        pin: bool = True,
        only_hash: bool = False,
    ) -> ImportResult:
        """Import content as Kubo's ``ipfs add`` does and return the full result.

        Args:
            data: Bytes, a path or a binary stream.
            cid_version: 0 or 1.
            raw_leaves: Raw leaves (default: True for CIDv1).
            chunk_size: Fixed chunk size.
            pin: Pin the root recursively.
            only_hash: Compute the CID without storing or pinning anything.

        Returns:
            The root CID, DAG size and content size.

        Raises:
            IpfsError: If the content cannot be read or stored.
        """
        try:
            result = import_file(
                data,
                cid_version=cid_version,
                raw_leaves=raw_leaves,
                chunk_size=chunk_size,
                sink=None if only_hash else self._write_block,
            )
        except OSError as exc:
            raise IpfsError(f"cannot write to the IPFS store at {self.path}: {exc}") from None
        if pin and not only_hash:
            self._insert_pin(result.cid)
        return result

    def add(
        self,
        data: AddSource,
        *,
        cid_version: int = 0,
        pin: bool = True,
        raw_leaves: bool | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        only_hash: bool = False,
    ) -> str:
        """Import content as Kubo's ``ipfs add`` does; return its CID.

        Args:
            data: Bytes, a path or a binary stream.
            cid_version: 0 (``Qm...``) or 1 (``bafy...``, raw leaves).
            pin: Pin the root recursively.
            raw_leaves: Raw leaves (default: True for CIDv1).
            chunk_size: Fixed chunk size.
            only_hash: Compute the CID without storing anything.

        Returns:
            The CID as text.

        Raises:
            IpfsError: If the content cannot be read or stored.
        """
        return str(
            self.add_file(
                data,
                cid_version=cid_version,
                raw_leaves=raw_leaves,
                chunk_size=chunk_size,
                pin=pin,
                only_hash=only_hash,
            ).cid
        )

    # --- pins -----------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self._pins_db, timeout=30)) as db, db:
            yield db

    def _insert_pin(self, cid: CID) -> None:
        try:
            with self._db() as db:
                db.execute("INSERT OR IGNORE INTO pins (cid) VALUES (?)", (str(cid),))
        except sqlite3.Error as exc:
            raise IpfsError(f"cannot record pin {cid}: {exc}") from None

    def pin(self, cid: CIDLike) -> None:
        """Pin a DAG recursively, after checking every block of it is here and intact.

        Args:
            cid: The root CID.

        Raises:
            ContentVerificationError: If a stored block is corrupted.
            IpfsError: If a block is missing.
        """
        parsed = CID.parse(cid)
        for _ in iter_dag(parsed, self._fetch_block):
            pass
        self._insert_pin(parsed)

    def unpin(self, cid: CIDLike) -> None:
        """Remove a recursive pin (the blocks stay until a future garbage collection).

        Raises:
            IpfsError: If the CID is not pinned.
        """
        parsed = CID.parse(cid)
        try:
            with self._db() as db:
                removed = db.execute("DELETE FROM pins WHERE cid = ?", (str(parsed),)).rowcount
        except sqlite3.Error as exc:
            raise IpfsError(f"cannot remove pin {parsed}: {exc}") from None
        if not removed:
            raise IpfsError(f"{parsed} is not pinned")

    def pins(self) -> list[str]:
        """Return the recursively pinned CIDs, sorted."""
        try:
            with self._db() as db:
                rows = db.execute("SELECT cid FROM pins ORDER BY cid").fetchall()
        except sqlite3.Error as exc:
            raise IpfsError(f"cannot read pins: {exc}") from None
        return [row[0] for row in rows]

    def is_pinned(self, cid: CIDLike) -> bool:
        """Tell whether a CID is pinned recursively."""
        return str(CID.parse(cid)) in set(self.pins())
