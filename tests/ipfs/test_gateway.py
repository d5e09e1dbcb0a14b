"""GatewayBackend: read-only, block by block, every block verified."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from p2pchain.ipfs import (
    CID,
    ContentVerificationError,
    DevNode,
    GatewayBackend,
    IpfsBackend,
    IpfsError,
    LocalStore,
    compute_cid,
)
from p2pchain.ipfs._dagpb import decode_node

from ._lying import LyingStore, drop_last_byte, flip_last_byte
from .conftest import CHUNK

LIES = [pytest.param(flip_last_byte, id="tampered"), pytest.param(drop_last_byte, id="truncated")]


@pytest.mark.parametrize("cid_version", [0, 1])
@pytest.mark.parametrize("size", [0, 5, CHUNK, 200 * CHUNK + 7])
def test_gateway_cat_rebuilds_the_file(
    dev_node: DevNode, store: LocalStore, cid_version: int, size: int
) -> None:
    data = os.urandom(size)
    cid = store.add(data, cid_version=cid_version)
    with GatewayBackend(dev_node.url) as gateway:
        assert isinstance(gateway, IpfsBackend)
        assert gateway.cat(cid, max_size=None) == data
        assert gateway.has(cid)
        assert gateway.get_block(cid) == store.get_block(cid)


def test_gateway_is_read_only(dev_node: DevNode, store: LocalStore) -> None:
    cid = store.add(b"listing")
    with GatewayBackend(dev_node.url) as gateway:
        for write in (
            lambda: gateway.add(b"x"),
            lambda: gateway.pin(cid),
            lambda: gateway.unpin(cid),
        ):
            with pytest.raises(IpfsError, match="read-only"):
                write()
        assert gateway.pins() == []
    assert store.pins() == [cid]


def test_gateway_missing_block(dev_node: DevNode) -> None:
    missing = compute_cid(b"absent")
    with GatewayBackend(dev_node.url) as gateway:
        assert not gateway.has(missing)
        with pytest.raises(IpfsError, match="HTTP 404"):
            gateway.cat(missing)


def test_gateway_cat_over_max_size(dev_node: DevNode, store: LocalStore) -> None:
    cid = store.add(os.urandom(3 * CHUNK))
    with GatewayBackend(dev_node.url) as gateway, pytest.raises(IpfsError, match="limit"):
        gateway.cat(cid, max_size=CHUNK)


@pytest.mark.parametrize("lie", LIES)
@pytest.mark.parametrize("which", ["root", "leaf"])
def test_gateway_that_lies_is_caught(
    tmp_path: Path, lie: Callable[[bytes], bytes], which: str
) -> None:
    store = LyingStore(tmp_path / "lying", lie)
    cid = CID.parse(store.add(os.urandom(2 * CHUNK + 1), cid_version=1))
    target = cid if which == "root" else decode_node(store._fetch_block(cid)).links[-1].cid
    store.targets = {target}
    with DevNode(store) as node, GatewayBackend(node.url) as gateway:
        with pytest.raises(ContentVerificationError, match=str(target)):
            gateway.cat(cid)
        with pytest.raises(ContentVerificationError, match=str(target)):
            gateway.get_block(target)


def test_gateway_serving_another_file_is_caught(tmp_path: Path) -> None:
    store = LyingStore(tmp_path / "lying", lambda data: b"some other listing")
    cid = store.add(b"the listing the contract anchors")
    with (
        DevNode(store) as node,
        GatewayBackend(node.url) as gateway,
        pytest.raises(ContentVerificationError, match=cid),
    ):
        gateway.cat(cid)


def test_gateway_unreachable_raises_ipfs_error(dev_node: DevNode) -> None:
    url = dev_node.url
    dev_node.stop()
    with GatewayBackend(url, timeout=5) as gateway, pytest.raises(IpfsError, match="cannot fetch"):
        gateway.cat(compute_cid(b"x"))


def test_gateway_bad_url_raises_ipfs_error() -> None:
    with pytest.raises(IpfsError, match="invalid gateway URL"):
        GatewayBackend("127.0.0.1:8080")
