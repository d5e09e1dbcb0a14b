"""Verified reads: every block is re-hashed against its CID, every file DAG walked and sized.

Backends only know how to fetch a block's bytes (from disk, a Kubo node, a gateway). Nothing
they return is trusted: :func:`verify_block` re-hashes it, and :func:`iter_file` walks a UnixFS
file DAG checking that each node's sizes agree with its parent's (``blocksizes``) and its own
(``filesize``), so a truncated, tampered or inconsistent DAG raises
:class:`~p2pchain.ContentVerificationError` naming the offending CID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from p2pchain._errors import ContentVerificationError, IpfsError
from p2pchain.ipfs._dagpb import (
    UNIXFS_FILE,
    UNIXFS_RAW,
    UNIXFS_TYPE_NAMES,
    decode_node,
    decode_unixfs,
)
from p2pchain.ipfs._multiformats import CID, DAG_PB, RAW

#: Largest block any backend accepts (Kubo's hard limit is 2 MiB; its chunks are <= 1 MiB).
MAX_BLOCK_SIZE = 2 * 1024 * 1024
#: Default ceiling for ``cat``: listing documents and images are far smaller.
DEFAULT_MAX_CAT_SIZE = 64 * 1024 * 1024
#: Deepest DAG we walk (a balanced DAG of 174-link nodes needs 7 levels for 1 PB).
MAX_DAG_DEPTH = 64

#: Returns a block's bytes, unverified (the reader verifies them).
FetchBlock = Callable[[CID], bytes]


def verify_block(cid: CID, data: bytes) -> bytes:
    """Check that ``data`` hashes to ``cid``'s multihash.

    Args:
        cid: The CID the block was requested by.
        data: The bytes a backend returned.

    Returns:
        ``data`` unchanged.

    Raises:
        ContentVerificationError: If the bytes do not match (tampered, truncated, corrupted).
        IpfsError: If the CID uses a hash function we cannot compute.
    """
    if not cid.multihash.matches(data):
        raise ContentVerificationError(
            f"block {cid} failed verification: its {len(data)} bytes do not hash to the CID "
            "(tampered, truncated or corrupted content)"
        )
    return data


def _size_error(cid: CID, what: str) -> ContentVerificationError:
    return ContentVerificationError(f"block {cid} failed verification: {what}")


def iter_file(
    root: CID | str,
    fetch: FetchBlock,
    *,
    max_size: int | None = DEFAULT_MAX_CAT_SIZE,
) -> Iterator[bytes]:
    """Yield a UnixFS file's content in order, verifying every block on the way.

    Args:
        root: The file's CID (dag-pb UnixFS file, or a raw block).
        fetch: Returns a block's bytes by CID (unverified).
        max_size: Refuse files larger than this many bytes (None: no limit). Checked against
            the root's declared size before any other block is fetched, and against the bytes
            actually produced.

    Yields:
        Chunks of the file, each from one verified leaf.

    Raises:
        ContentVerificationError: If a block does not match its CID or sizes disagree.
        IpfsError: If the CID is not a file (a directory...), uses an unsupported codec or
            hash, is larger than ``max_size``, or a block cannot be fetched.
    """
    root_cid = CID.parse(root)
    stack: list[tuple[CID, int | None, int]] = [(root_cid, None, 0)]
    while stack:
        cid, expected, depth = stack.pop()
        if depth > MAX_DAG_DEPTH:
            raise IpfsError(f"DAG under {root_cid} is deeper than {MAX_DAG_DEPTH} levels")
        block = verify_block(cid, fetch(cid))
        if cid.codec == RAW:
            if expected is not None and len(block) != expected:
                raise _size_error(cid, f"raw leaf has {len(block)} bytes, parent says {expected}")
            if depth == 0:
                _check_max(root_cid, len(block), max_size)
            yield block
            continue
        if cid.codec != DAG_PB:
            raise IpfsError(f"{cid} is a {cid.codec_name} block, not a UnixFS file")
        try:
            node = decode_node(block)
            if node.data is None:
                raise ValueError("dag-pb node without UnixFS data")
            unixfs = decode_unixfs(node.data)
        except ValueError as exc:
            raise ContentVerificationError(
                f"block {cid} is not a valid UnixFS node: {exc}"
            ) from None
        if unixfs.type not in (UNIXFS_FILE, UNIXFS_RAW):
            kind = UNIXFS_TYPE_NAMES.get(unixfs.type, f"type {unixfs.type}")
            raise IpfsError(f"{cid} is a UnixFS {kind}, not a file")
        inline = unixfs.data or b""
        if len(unixfs.blocksizes) != len(node.links):
            raise _size_error(
                cid, f"{len(node.links)} links but {len(unixfs.blocksizes)} blocksizes"
            )
        total = len(inline) + sum(unixfs.blocksizes)
        if unixfs.filesize is not None and unixfs.filesize != total:
            raise _size_error(cid, f"filesize {unixfs.filesize} but its parts add up to {total}")
        if expected is not None and total != expected:
            raise _size_error(cid, f"holds {total} bytes, parent says {expected}")
        if depth == 0:
            _check_max(root_cid, total, max_size)
        if inline:
            yield inline
        for link, size in zip(reversed(node.links), reversed(unixfs.blocksizes), strict=True):
            stack.append((link.cid, size, depth + 1))


def _check_max(root: CID, size: int, max_size: int | None) -> None:
    if max_size is not None and size > max_size:
        raise IpfsError(
            f"{root} is {size} bytes, over the {max_size}-byte limit for cat "
            "(pass a larger max_size, or None for no limit)"
        )


def iter_dag(root: CID | str, fetch: FetchBlock) -> Iterator[tuple[CID, bytes]]:
    """Yield every distinct block of a DAG (dag-pb links followed), each verified.

    Used to check that a DAG is complete before pinning it.

    Args:
        root: The root CID.
        fetch: Returns a block's bytes by CID (unverified).

    Yields:
        ``(cid, block)`` pairs, each block once (blocks repeated in the DAG are visited once).

    Raises:
        ContentVerificationError: If a block does not match its CID or is malformed.
        IpfsError: If a block is missing or uses a codec whose links we cannot follow.
    """
    root_cid = CID.parse(root)
    seen: set[bytes] = set()
    stack = [root_cid]
    while stack:
        cid = stack.pop()
        key = cid.multihash.encode()
        if key in seen:
            continue
        seen.add(key)
        block = verify_block(cid, fetch(cid))
        if cid.codec == DAG_PB:
            try:
                node = decode_node(block)
            except ValueError as exc:
                raise ContentVerificationError(f"block {cid} is not valid dag-pb: {exc}") from None
            stack.extend(link.cid for link in reversed(node.links))
        elif cid.codec != RAW:
            raise IpfsError(f"cannot follow links in {cid.codec_name} block {cid}")
        yield cid, block
