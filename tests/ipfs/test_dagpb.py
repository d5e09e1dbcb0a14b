"""dag-pb and UnixFS protobuf encoding."""

from __future__ import annotations

import pytest

from p2pchain.ipfs import CID
from p2pchain.ipfs._dagpb import (
    UNIXFS_FILE,
    decode_node,
    decode_unixfs,
    encode_link,
    encode_node,
    encode_unixfs_file,
    unixfs_file_leaf_prefix,
)


def test_leaf_encoding_is_kubos_hello_world_block() -> None:
    prefix, suffix = unixfs_file_leaf_prefix(12)
    block = prefix + b"hello world\n" + suffix
    assert block.hex() == "0a1208021" + "20c" + b"hello world\n".hex() + "180c"
    assert str(CID.v0(__import__("hashlib").sha256(block).digest())) == (
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    )


def test_empty_leaf_has_no_data_field() -> None:
    prefix, suffix = unixfs_file_leaf_prefix(0)
    assert (prefix + suffix).hex() == "0a0408021800"


def test_node_round_trips_links_first() -> None:
    child = CID.parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    data = encode_unixfs_file(24, [12, 12])
    block = encode_node([encode_link(bytes(child), 20), encode_link(bytes(child), 20)], data)
    assert block[0] == 0x12  # field 2 (Links) first, as canonical dag-pb
    node = decode_node(block)
    assert [link.cid for link in node.links] == [child, child]
    assert [link.name for link in node.links] == ["", ""]
    assert [link.tsize for link in node.links] == [20, 20]
    unixfs = decode_unixfs(node.data or b"")
    assert (unixfs.type, unixfs.filesize, unixfs.blocksizes) == (UNIXFS_FILE, 24, (12, 12))


@pytest.mark.parametrize(
    "block",
    [b"\x0a", b"\x0a\x05ab", b"\x12\x02\x0a\x00", b"\x1a\x00", b"\x0a\x00\x0a\x00", b"\x08\x01"],
)
def test_malformed_blocks_raise_value_error(block: bytes) -> None:
    with pytest.raises(ValueError):
        decode_node(block)


def test_unixfs_without_type_is_refused() -> None:
    with pytest.raises(ValueError, match="without Type"):
        decode_unixfs(b"\x18\x00")
