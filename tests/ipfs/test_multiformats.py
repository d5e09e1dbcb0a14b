"""CIDs, multihashes, multibase and varints."""

from __future__ import annotations

import hashlib

import pytest

from p2pchain.ipfs import CID, IpfsError, Multihash
from p2pchain.ipfs._multiformats import (
    DAG_PB,
    RAW,
    b58decode,
    b58encode,
    decode_varint,
    encode_varint,
    multibase_decode,
    multibase_encode,
)

HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"  # "hello world\n", Kubo defaults
HELLO_V1_PB = "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby"
HELLO_V1_RAW = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 300, 2**32, 2**63 - 1])
def test_varint_round_trips(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded + b"\xff") == (value, len(encoded))


@pytest.mark.parametrize("data", [b"\x80", b"\x80\x00", b"\xff" * 10])
def test_varint_malformed_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_varint(data)


def test_base58_known_vectors_round_trip() -> None:
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58encode(b"\0\0\x01") == "112"
    assert b58decode("112") == b"\0\0\x01"
    assert b58decode("") == b""


def test_cid_v0_and_v1_texts_name_the_same_block() -> None:
    v0 = CID.parse(HELLO_V0)
    assert v0.version == 0 and v0.codec == DAG_PB
    assert str(v0) == HELLO_V0
    assert str(v0.to_v1()) == HELLO_V1_PB
    assert CID.parse(HELLO_V1_PB).multihash == v0.multihash
    assert CID.parse(bytes(v0)) == v0


def test_cid_raw_is_sha256_of_the_content() -> None:
    cid = CID.v1(RAW, hashlib.sha256(b"hello world\n").digest())
    assert str(cid) == HELLO_V1_RAW
    assert CID.parse(HELLO_V1_RAW) == cid
    assert cid.multihash.matches(b"hello world\n")
    assert not cid.multihash.matches(b"hello world!")


@pytest.mark.parametrize("base", ["base32", "base58btc", "base16", "base36", "base64url"])
def test_cid_every_multibase_parses_to_the_same_cid(base: str) -> None:
    cid = CID.parse(HELLO_V1_RAW)
    text = cid.encode(base)
    assert CID.parse(text) == cid
    assert multibase_decode(multibase_encode(bytes(cid), base)) == bytes(cid)


def test_cid_upper_case_base32_and_ipfs_prefix_parse() -> None:
    assert CID.parse("B" + HELLO_V1_RAW[1:].upper()) == CID.parse(HELLO_V1_RAW)
    assert CID.parse("/ipfs/" + HELLO_V0) == CID.parse(HELLO_V0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Qm",
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5O",
        "bafy!",
        "x123",
        "bAFKrei",
        HELLO_V1_RAW + "a",
        "z",
        "f01",
        "\u00e9\u00e9",
    ],
)
def test_cid_invalid_text_raises_ipfs_error(text: str) -> None:
    with pytest.raises(IpfsError, match="invalid CID"):
        CID.parse(text)


def test_cidv0_must_be_sha256_dag_pb() -> None:
    with pytest.raises(ValueError):
        CID(0, RAW, Multihash.sha2_256(b"x"))


def test_multihash_unknown_function_cannot_verify() -> None:
    with pytest.raises(IpfsError, match="unsupported hash"):
        Multihash(0x13, b"\0" * 64).matches(b"x")
    assert Multihash(0x00, b"abc").matches(b"abc")  # identity
