"""LocalStore: blocks and pins on disk, every read verified."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from p2pchain.ipfs import (
    CID,
    ContentVerificationError,
    IpfsBackend,
    IpfsError,
    LocalStore,
    compute_cid,
    default_store_dir,
)
from p2pchain.ipfs._dagpb import decode_node

from ._lying import drop_last_byte, flip_last_byte, tamper_file
from .conftest import CHUNK

LIES = [pytest.param(flip_last_byte, id="tampered"), pytest.param(drop_last_byte, id="truncated")]


def test_local_store_is_an_ipfs_backend(store: LocalStore) -> None:
    assert isinstance(store, IpfsBackend)


@pytest.mark.parametrize("cid_version", [0, 1])
@pytest.mark.parametrize("size", [0, 10, CHUNK, 3 * CHUNK + 1])
def test_local_add_then_cat_returns_the_content(
    store: LocalStore, cid_version: int, size: int
) -> None:
    data = os.urandom(size)
    cid = store.add(data, cid_version=cid_version)
    assert cid == compute_cid(data, cid_version=cid_version)
    assert store.cat(cid) == data
    assert b"".join(store.iter_cat(cid)) == data
    assert store.has(cid)
    assert cid in store.pins()


def test_local_add_unpinned_and_only_hash(store: LocalStore) -> None:
    unpinned = store.add(b"not pinned", pin=False)
    assert store.has(unpinned) and store.pins() == []
    hashed = store.add(b"only hashed", only_hash=True)
    assert not store.has(hashed) and store.pins() == []


def test_local_pin_unpin_pins(store: LocalStore) -> None:
    cid = store.add(os.urandom(2 * CHUNK), pin=False)
    store.pin(cid)
    store.pin(cid)  # idempotent
    assert store.pins() == [cid]
    store.unpin(cid)
    assert store.pins() == []
    with pytest.raises(IpfsError, match="not pinned"):
        store.unpin(cid)


def test_local_pin_of_incomplete_dag_raises(store: LocalStore) -> None:
    cid = store.add(os.urandom(2 * CHUNK), pin=False)
    first_leaf = decode_node(store.get_block(cid)).links[0].cid
    store.block_path(first_leaf).unlink()
    with pytest.raises(IpfsError, match="not in the local store"):
        store.pin(cid)
    assert store.pins() == []


def test_local_get_block_returns_verified_bytes(store: LocalStore) -> None:
    cid = store.put_block(b"raw block")
    assert store.get_block(cid) == b"raw block"
    assert store.block_size(cid) == 9
    with pytest.raises(IpfsError, match="not in the local store"):
        store.get_block(compute_cid(b"never stored"))


@pytest.mark.parametrize("lie", LIES)
@pytest.mark.parametrize("which", ["root", "leaf"])
def test_local_tampered_block_is_refused(
    store: LocalStore, lie: Callable[[bytes], bytes], which: str
) -> None:
    cid = CID.parse(store.add(os.urandom(3 * CHUNK)))
    target = cid if which == "root" else decode_node(store.get_block(cid)).links[1].cid
    tamper_file(store.block_path(target), lie)
    with pytest.raises(ContentVerificationError, match=str(target)):
        store.get_block(target)
    with pytest.raises(ContentVerificationError, match=str(target)):
        store.cat(cid)
    with pytest.raises(ContentVerificationError, match=str(target)):
        store.pin(cid)


def test_local_block_swapped_for_another_is_refused(store: LocalStore) -> None:
    cid = CID.parse(store.add(b"the listing"))
    other = CID.parse(store.add(b"another listing"))
    store.block_path(cid).write_bytes(store.block_path(other).read_bytes())
    with pytest.raises(ContentVerificationError, match=str(cid)):
        store.cat(cid)


def test_local_cat_over_max_size_raises_before_reading_leaves(store: LocalStore) -> None:
    cid = CID.parse(store.add(os.urandom(2 * CHUNK + 5)))
    for link in decode_node(store.get_block(cid)).links:
        store.block_path(link.cid).unlink()  # the limit is checked on the root alone
    with pytest.raises(IpfsError, match=r"524293 bytes, over the 1000-byte limit"):
        store.cat(cid, max_size=1000)
    small = store.add(b"x" * 2000, cid_version=1)
    with pytest.raises(IpfsError, match="over the 1999-byte limit"):
        store.cat(small, max_size=1999)
    assert store.cat(small, max_size=2000) == b"x" * 2000


def test_local_cat_of_non_file_raises(store: LocalStore) -> None:
    directory = store.put_block(bytes.fromhex("0a020801"), codec="dag-pb")  # UnixFS directory
    with pytest.raises(IpfsError, match="directory, not a file"):
        store.cat(directory)
    cbor = CID.v1(0x71, CID.parse(store.put_block(b"\xa0")).multihash.digest)
    with pytest.raises(IpfsError, match="dag-cbor block"):
        store.cat(cbor)


def test_local_store_default_dir_follows_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("P2PCHAIN_DATA_DIR", str(tmp_path / "data"))
    assert default_store_dir() == tmp_path / "data" / "ipfs"
    store = LocalStore()
    assert store.path == tmp_path / "data" / "ipfs"
    assert store.add(b"hi") in LocalStore().pins()


def test_local_store_shares_blocks_between_cid_versions(store: LocalStore) -> None:
    v0 = CID.parse(store.put_block(b"\x0a\x00", codec="dag-pb", cid_version=0))
    assert store.has(v0.to_v1())
    assert store.block_path(v0) == store.block_path(v0.to_v1())
