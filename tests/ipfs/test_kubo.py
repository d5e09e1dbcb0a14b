"""KuboBackend over real HTTP, against the dev node on a free port."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from p2pchain.ipfs import (
    CID,
    ContentVerificationError,
    DevNode,
    ImportResult,
    IpfsBackend,
    IpfsError,
    KuboBackend,
    LocalStore,
    compute_cid,
)
from p2pchain.ipfs._dagpb import decode_node

from ._lying import LyingStore, drop_last_byte, flip_last_byte
from .conftest import CHUNK, LINKS

LIES = [pytest.param(flip_last_byte, id="tampered"), pytest.param(drop_last_byte, id="truncated")]


@pytest.fixture
def kubo(dev_node: DevNode) -> Iterator[KuboBackend]:
    with KuboBackend(dev_node.url, timeout=30) as backend:
        yield backend


def test_kubo_backend_is_an_ipfs_backend(kubo: KuboBackend) -> None:
    assert isinstance(kubo, IpfsBackend)
    assert kubo.version().endswith("p2pchain-devnode")


@pytest.mark.parametrize("cid_version", [0, 1])
@pytest.mark.parametrize("size", [0, 100, CHUNK + 1, LINKS * CHUNK + 1])
def test_kubo_add_then_cat_over_http(
    kubo: KuboBackend, store: LocalStore, cid_version: int, size: int
) -> None:
    data = os.urandom(size)
    cid = kubo.add(data, cid_version=cid_version)
    assert cid == compute_cid(data, cid_version=cid_version)
    assert kubo.cat(cid, max_size=None) == data
    assert kubo.has(cid) and store.has(cid)
    assert cid in kubo.pins()


def test_kubo_add_path_and_stream(kubo: KuboBackend, tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 3)
    path = tmp_path / "listing.bin"
    path.write_bytes(data)
    expected = compute_cid(data, cid_version=1)
    assert kubo.add(path, cid_version=1) == expected
    with open(path, "rb") as handle:
        assert kubo.add(handle, cid_version=1) == expected
    assert kubo.add(io.BytesIO(data), cid_version=1) == expected


def test_kubo_add_unpinned_and_only_hash(kubo: KuboBackend, store: LocalStore) -> None:
    cid = kubo.add(b"unpinned", pin=False)
    assert store.has(cid) and kubo.pins() == []
    hashed = kubo.add(b"hash only", only_hash=True)
    assert hashed == compute_cid(b"hash only") and not kubo.has(hashed)


def test_kubo_pin_unpin_pins_block(kubo: KuboBackend) -> None:
    cid = kubo.add(os.urandom(CHUNK + 1), pin=False)
    assert kubo.pins() == []
    kubo.pin(cid)
    assert kubo.pins() == [cid]
    kubo.unpin(cid)
    assert kubo.pins() == []
    with pytest.raises(IpfsError, match="not pinned"):
        kubo.unpin(cid)
    root = kubo.get_block(cid)
    assert CID.parse(cid).multihash.matches(root)
    assert kubo.block_size(cid) == len(root)


def test_kubo_missing_content(kubo: KuboBackend) -> None:
    missing = compute_cid(b"never added")
    assert not kubo.has(missing)
    with pytest.raises(IpfsError, match="not found"):
        kubo.cat(missing)
    with pytest.raises(IpfsError):
        kubo.pin(missing)


def test_kubo_cat_over_max_size(kubo: KuboBackend) -> None:
    cid = kubo.add(os.urandom(CHUNK + 10))
    with pytest.raises(IpfsError, match="over the 1000-byte limit"):
        kubo.cat(cid, max_size=1000)


@pytest.mark.parametrize("lie", LIES)
@pytest.mark.parametrize("which", ["root", "leaf"])
def test_kubo_lying_node_is_caught(
    tmp_path: Path, lie: Callable[[bytes], bytes], which: str
) -> None:
    store = LyingStore(tmp_path / "lying", lie)
    data = os.urandom(3 * CHUNK)
    cid = CID.parse(store.add(data))
    target = cid if which == "root" else decode_node(store._fetch_block(cid)).links[2].cid
    store.targets = {target}
    with DevNode(store) as node, KuboBackend(node.url) as kubo:
        with pytest.raises(ContentVerificationError, match=str(target)):
            kubo.cat(cid)
        with pytest.raises(ContentVerificationError, match=str(target)):
            kubo.get_block(target)


class _WrongCidStore(LocalStore):
    """A node whose import settings differ from Kubo's defaults (like a changed Import config)."""

    def add_file(self, data: object, **kwargs: object) -> ImportResult:
        kwargs["chunk_size"] = 1024
        return super().add_file(data, **kwargs)  # type: ignore[arg-type]


def test_kubo_add_refuses_a_cid_other_than_kubos_defaults(tmp_path: Path) -> None:
    with (
        DevNode(_WrongCidStore(tmp_path / "s")) as node,
        KuboBackend(node.url) as kubo,
        pytest.raises(IpfsError, match="Import config"),
    ):
        kubo.add(os.urandom(5000))


def test_kubo_unreachable_node_raises_ipfs_error(dev_node: DevNode) -> None:
    url = dev_node.url
    dev_node.stop()
    with KuboBackend(url, timeout=5) as kubo:
        with pytest.raises(IpfsError, match=r"Kubo at http://127\.0\.0\.1"):
            kubo.add(b"x")
        with pytest.raises(IpfsError):
            kubo.cat(compute_cid(b"x"))


@pytest.mark.parametrize("url", ["127.0.0.1:5001", "ftp://x", "http://"])
def test_kubo_bad_url_raises_ipfs_error(url: str) -> None:
    with pytest.raises(IpfsError, match="invalid Kubo RPC URL"):
        KuboBackend(url)
