"""The UnixFS file importer: the same DAG, and so the same CID, as Kubo's ``ipfs add``.

Kubo's defaults, reproduced here (boxo ``ipld/unixfs/importer/balanced``):

* fixed-size chunks of 262144 bytes (``size-262144``); the last one may be shorter; a file that
  is an exact multiple of the chunk size has no empty trailing chunk;
* a *balanced* DAG: chunks become leaves; leaves are grouped 174 to a node, those nodes 174 to
  a node above, and so on. The tree is left-filled: every subtree is full except along the
  right edge. A file of one chunk is just that leaf; a node can have a single child (175
  chunks give a root with two children: one full node of 174 leaves and one node of 1 leaf);
* leaves are dag-pb UnixFS ``File`` nodes (``Type=File, Data=chunk, filesize=len``) for CIDv0,
  and raw blocks (codec ``raw``) for CIDv1 unless ``raw_leaves=False``;
* internal nodes are dag-pb: links first (``Hash``, empty ``Name``, ``Tsize``), then UnixFS
  ``Type=File, filesize, blocksizes`` (one per child: the file bytes below that child);
* ``Tsize`` of a link and the ``Size`` Kubo prints: the block's length plus the ``Tsize`` of
  all its links (a raw leaf's is its length);
* the empty file is one empty leaf: ``QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH`` (CIDv0)
  or the raw empty block ``bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku``.

The importer streams: it holds one chunk buffer and, per tree level, at most 174 pending links,
so memory stays flat whatever the file size. Leaves are hashed in place (prefix, chunk and
suffix fed to one sha256) and handed to the block sink as separate parts, so chunk bytes are
never copied into a block.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from p2pchain._errors import IpfsError
from p2pchain.ipfs._dagpb import (
    encode_link,
    encode_node,
    encode_unixfs_file,
    unixfs_file_leaf_prefix,
)
from p2pchain.ipfs._multiformats import CID, DAG_PB, RAW

#: Kubo's default chunk size (``--chunker=size-262144``).
DEFAULT_CHUNK_SIZE = 262144
#: Kubo's default maximum number of links per node in the balanced layout.
DEFAULT_MAX_LINKS = 174
#: Kubo refuses chunks larger than this (1 MiB).
MAX_CHUNK_SIZE = 1024 * 1024

#: What :func:`import_file` and every backend's ``add`` accept: bytes, a path, or a binary stream.
AddSource = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]

#: Receives each new block: its CID and its bytes as one or more parts to be concatenated.
BlockSink = Callable[[CID, Sequence[bytes | bytearray | memoryview]], None]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome of importing one file.

    Attributes:
        cid: The root CID.
        size: The cumulative size of the DAG (what Kubo's ``add`` reports as ``Size``).
        file_size: The number of content bytes.
        blocks: How many blocks the DAG has (counting repeated blocks each time).
    """

    cid: CID
    size: int
    file_size: int
    blocks: int


@dataclass(frozen=True, slots=True)
class _Entry:
    cid_bytes: bytes
    tsize: int
    file_size: int


def parse_chunker(spec: str | None) -> int:
    """Parse a Kubo chunker spec; only fixed-size chunking is supported.

    Args:
        spec: ``size-<bytes>`` (``None`` or ``""`` mean the default ``size-262144``).

    Returns:
        The chunk size.

    Raises:
        IpfsError: For rabin/buzhash or a size outside 1..1048576.
    """
    if not spec:
        return DEFAULT_CHUNK_SIZE
    if not spec.startswith("size-"):
        raise IpfsError(
            f"unsupported chunker {spec!r}: only fixed-size chunking ('size-N') is supported"
        )
    try:
        size = int(spec[len("size-") :])
    except ValueError:
        raise IpfsError(f"invalid chunker {spec!r}: expected 'size-<bytes>'") from None
    if not 0 < size <= MAX_CHUNK_SIZE:
        raise IpfsError(f"chunker size {size} out of range 1..{MAX_CHUNK_SIZE}")
    return size


class _Chunks:
    """Fixed-size chunks of a source, as memoryviews valid until the next chunk is read."""

    def __init__(self, source: AddSource, chunk_size: int) -> None:
        self._source = source
        self._size = chunk_size

    def __iter__(self) -> Iterator[memoryview]:
        source = self._source
        if isinstance(source, (bytes, bytearray, memoryview)):
            view = memoryview(source).cast("B")
            for start in range(0, len(view), self._size):
                yield view[start : start + self._size]
            return
        if isinstance(source, (str, os.PathLike)):
            try:
                stream: IO[bytes] = open(Path(source), "rb", buffering=0)  # noqa: SIM115
            except OSError as exc:
                raise IpfsError(f"cannot read {source}: {exc.strerror or exc}") from None
            with stream:
                yield from self._from_stream(stream)
            return
        yield from self._from_stream(source)

    def _from_stream(self, stream: IO[bytes]) -> Iterator[memoryview]:
        buffer = bytearray(self._size)
        view = memoryview(buffer)
        readinto = getattr(stream, "readinto", None)
        while True:
            filled = 0
            while filled < self._size:
                try:
                    if readinto is not None:
                        got = readinto(view[filled:])
                    else:
                        data = stream.read(self._size - filled)
                        got = len(data) if data else 0
                        view[filled : filled + got] = data
                except (OSError, io.UnsupportedOperation) as exc:
                    raise IpfsError(f"cannot read the content to add: {exc}") from None
                if not got:
                    break
                filled += got
            if filled:
                yield view[:filled]
            if filled < self._size:
                return


class UnixFSImporter:
    """Build Kubo's balanced UnixFS DAG for one file, chunk by chunk.

    Args:
        cid_version: 0 (Kubo's default) or 1.
        raw_leaves: Use raw leaves; by default True for CIDv1 and False for CIDv0, as Kubo.
        chunk_size: Bytes per leaf (``size-N``).
        max_links: Links per internal node.
        sink: Called with every block created, or None to only hash (``--only-hash``).
    """

    def __init__(
        self,
        *,
        cid_version: int = 0,
        raw_leaves: bool | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_links: int = DEFAULT_MAX_LINKS,
        sink: BlockSink | None = None,
    ) -> None:
        if cid_version not in (0, 1):
            raise IpfsError(f"unsupported CID version {cid_version} (use 0 or 1)")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise IpfsError(f"chunk size {chunk_size} out of range 1..{MAX_CHUNK_SIZE}")
        if max_links < 2:
            raise IpfsError("max_links must be at least 2")
        self.cid_version = cid_version
        self.raw_leaves = (cid_version == 1) if raw_leaves is None else raw_leaves
        self.chunk_size = chunk_size
        self.max_links = max_links
        self._sink = sink
        self._levels: list[list[_Entry]] = []
        self._file_size = 0
        self._blocks = 0
        self._leaves = 0
        self._pending = bytearray()

    def _emit(self, cid: CID, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        self._blocks += 1
        if self._sink is not None:
            self._sink(cid, parts)

    def _leaf(self, chunk: memoryview | bytes | bytearray) -> _Entry:
        size = len(chunk)
        if self.raw_leaves:
            cid = CID.v1(RAW, hashlib.sha256(chunk).digest())
            self._emit(cid, (chunk,))
            return _Entry(bytes(cid), size, size)
        prefix, suffix = unixfs_file_leaf_prefix(size)
        hasher = hashlib.sha256(prefix)
        hasher.update(chunk)
        hasher.update(suffix)
        digest = hasher.digest()
        cid = CID.v0(digest) if self.cid_version == 0 else CID.v1(DAG_PB, digest)
        self._emit(cid, (prefix, chunk, suffix))
        return _Entry(bytes(cid), len(prefix) + size + len(suffix), size)

    def _node(self, children: list[_Entry]) -> _Entry:
        links = [encode_link(child.cid_bytes, child.tsize) for child in children]
        sizes = [child.file_size for child in children]
        total = sum(sizes)
        block = encode_node(links, encode_unixfs_file(total, sizes))
        digest = hashlib.sha256(block).digest()
        cid = CID.v0(digest) if self.cid_version == 0 else CID.v1(DAG_PB, digest)
        self._emit(cid, (block,))
        return _Entry(bytes(cid), len(block) + sum(child.tsize for child in children), total)

    def _push(self, level: int, entry: _Entry) -> None:
        if level == len(self._levels):
            self._levels.append([])
        pending = self._levels[level]
        if len(pending) == self.max_links:
            self._levels[level] = []
            self._push(level + 1, self._node(pending))
            pending = self._levels[level]
        pending.append(entry)

    def add_chunk(self, chunk: memoryview | bytes | bytearray) -> None:
        """Add the next chunk (exactly ``chunk_size`` bytes except for the last one).

        Don't mix with :meth:`update`, which chunks for you.
        """
        if not chunk:
            return
        self._file_size += len(chunk)
        self._leaves += 1
        self._push(0, self._leaf(chunk))

    def update(self, data: bytes | memoryview) -> None:
        """Feed content of any length; full chunks are added as they fill up.

        Args:
            data: The next bytes of the file.
        """
        view = memoryview(data).cast("B")
        while view:
            if not self._pending and len(view) >= self.chunk_size:
                self.add_chunk(view[: self.chunk_size])
                view = view[self.chunk_size :]
                continue
            take = min(self.chunk_size - len(self._pending), len(view))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) == self.chunk_size:
                self.add_chunk(self._pending)
                self._pending = bytearray()

    def finish(self) -> ImportResult:
        """Close the tree and return the root.

        Returns:
            The root CID and sizes.
        """
        if self._pending:
            self.add_chunk(self._pending)
            self._pending = bytearray()
        if self._leaves == 0:
            entry = self._leaf(b"")
            return ImportResult(CID.decode(entry.cid_bytes)[0], entry.tsize, 0, self._blocks)
        level = 0
        while True:
            pending = self._levels[level]
            if level == len(self._levels) - 1 and len(pending) == 1:
                root = pending[0]
                break
            self._levels[level] = []
            self._push(level + 1, self._node(pending))
            level += 1
        self._levels = []
        return ImportResult(
            CID.decode(root.cid_bytes)[0], root.tsize, self._file_size, self._blocks
        )


def import_file(
    source: AddSource,
    *,
    cid_version: int = 0,
    raw_leaves: bool | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_links: int = DEFAULT_MAX_LINKS,
    sink: BlockSink | None = None,
) -> ImportResult:
    """Chunk, hash and (through ``sink``) store a file the way Kubo's ``ipfs add`` does.

    Args:
        source: The content: bytes, a file path, or a binary stream read to its end.
        cid_version: 0 (default, ``Qm...``) or 1 (``bafy...``/``bafk...``).
        raw_leaves: Raw leaves; default True for CIDv1, False for CIDv0 (as Kubo).
        chunk_size: Fixed chunk size (Kubo ``--chunker=size-N``).
        max_links: Links per internal node (Kubo uses 174).
        sink: Receives every block; None only computes the CID (``--only-hash``).

    Returns:
        The root CID, the DAG's cumulative size and the content size.

    Raises:
        IpfsError: If the source cannot be read or an option is out of range.
    """
    importer = UnixFSImporter(
        cid_version=cid_version,
        raw_leaves=raw_leaves,
        chunk_size=chunk_size,
        max_links=max_links,
        sink=sink,
    )
    for chunk in _Chunks(source, chunk_size):
        importer.add_chunk(chunk)
    return importer.finish()


def compute_cid(source: AddSource, *, cid_version: int = 0, raw_leaves: bool | None = None) -> str:
    """Return the CID Kubo's ``ipfs add`` would give ``source``, storing nothing.

    Args:
        source: Bytes, a path or a binary stream.
        cid_version: 0 or 1.
        raw_leaves: As in :func:`import_file`.

    Returns:
        The CID as text.
    """
    return str(import_file(source, cid_version=cid_version, raw_leaves=raw_leaves).cid)
