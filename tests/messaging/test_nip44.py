"""NIP-44 v2 against the official test vectors (paulmillr/nip44 ``nip44.vectors.json``).

The file's sha256 is the one the NIP publishes, so these are the vectors every implementation
(nostr-tools, rust-nostr...) is checked against.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from coincurve import PrivateKey

from p2pchain.messaging._nip44 import (
    Nip44Error,
    conversation_key,
    decrypt,
    encrypt,
    message_keys,
    padded_length,
)

VECTORS_FILE = Path(__file__).with_name("nip44.vectors.json")
VECTORS_SHA256 = "269ed0f69e4c192512cc779e78c555090cebc7c785b609e338a62afc3ce25040"
V2: dict[str, Any] = json.loads(VECTORS_FILE.read_text())["v2"]


def _xonly(secret_hex: str) -> bytes:
    return PrivateKey(bytes.fromhex(secret_hex)).public_key.format(compressed=True)[1:]


def test_vectors_file_is_the_published_one() -> None:
    assert hashlib.sha256(VECTORS_FILE.read_bytes()).hexdigest() == VECTORS_SHA256


@pytest.mark.parametrize("v", V2["valid"]["get_conversation_key"])
def test_conversation_key_matches_vector(v: dict[str, str]) -> None:
    key = conversation_key(bytes.fromhex(v["sec1"]), bytes.fromhex(v["pub2"]))
    assert key.hex() == v["conversation_key"]


@pytest.mark.parametrize("v", V2["invalid"]["get_conversation_key"])
def test_conversation_key_refuses_invalid_keys(v: dict[str, str]) -> None:
    with pytest.raises(Nip44Error):
        conversation_key(bytes.fromhex(v["sec1"]), bytes.fromhex(v["pub2"]))


def test_message_keys_match_vectors() -> None:
    mk = V2["valid"]["get_message_keys"]
    conv = bytes.fromhex(mk["conversation_key"])
    for v in mk["keys"]:
        chacha_key, chacha_nonce, hmac_key = message_keys(conv, bytes.fromhex(v["nonce"]))
        assert chacha_key.hex() == v["chacha_key"]
        assert chacha_nonce.hex() == v["chacha_nonce"]
        assert hmac_key.hex() == v["hmac_key"]


@pytest.mark.parametrize(("length", "padded"), V2["valid"]["calc_padded_len"])
def test_padded_length_matches_vector(length: int, padded: int) -> None:
    assert padded_length(length) == padded


@pytest.mark.parametrize("v", V2["valid"]["encrypt_decrypt"])
def test_encrypt_decrypt_match_vector(v: dict[str, str]) -> None:
    sec1, sec2 = bytes.fromhex(v["sec1"]), bytes.fromhex(v["sec2"])
    key = conversation_key(sec1, _xonly(v["sec2"]))
    assert key.hex() == v["conversation_key"]
    assert conversation_key(sec2, _xonly(v["sec1"])) == key  # symmetric
    assert encrypt(v["plaintext"], key, bytes.fromhex(v["nonce"])) == v["payload"]
    assert decrypt(v["payload"], key) == v["plaintext"]


@pytest.mark.parametrize("v", V2["valid"]["encrypt_decrypt_long_msg"])
def test_long_messages_match_vector(v: dict[str, Any]) -> None:
    plaintext = v["pattern"] * v["repeat"]
    assert hashlib.sha256(plaintext.encode()).hexdigest() == v["plaintext_sha256"]
    key = bytes.fromhex(v["conversation_key"])
    payload = encrypt(plaintext, key, bytes.fromhex(v["nonce"]))
    assert hashlib.sha256(payload.encode()).hexdigest() == v["payload_sha256"]
    assert decrypt(payload, key) == plaintext


@pytest.mark.parametrize("v", V2["invalid"]["encrypt_msg_lengths"])
def test_encrypt_refuses_lengths_outside_the_nip(v: int) -> None:
    with pytest.raises(Nip44Error, match="plaintext length"):
        encrypt(b"a" * v, bytes(32))


@pytest.mark.parametrize("v", V2["invalid"]["decrypt"], ids=lambda v: v["note"])
def test_decrypt_refuses_invalid_payload(v: dict[str, str]) -> None:
    with pytest.raises(Nip44Error):
        decrypt(v["payload"], bytes.fromhex(v["conversation_key"]))
