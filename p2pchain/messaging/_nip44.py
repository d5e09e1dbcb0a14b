"""NIP-44 version 2: the encrypted payloads of Nostr (audited December 2023).

secp256k1 ECDH (the unhashed shared x coordinate), HKDF-SHA256, the NIP's padding, ChaCha20 and
HMAC-SHA256, base64. Checked against the official test vectors
(``tests/messaging/nip44.vectors.json``, sha256 ``269ed0f6...5040`` as the NIP publishes it).

* :func:`conversation_key`: ``HKDF-extract(salt="nip44-v2", ikm=shared_x)``; symmetric, so
  ``conversation_key(a, B) == conversation_key(b, A)``.
* :func:`encrypt` / :func:`decrypt`: one payload (``version 2 || nonce || ciphertext || mac``,
  base64) under a conversation key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from coincurve import PrivateKey, PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from p2pchain._errors import MessagingError

VERSION = 2
#: Largest plaintext NIP-44 v2 encrypts, in bytes (64 KiB - 1).
MAX_PLAINTEXT = 65_535
_SALT = b"nip44-v2"
_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class Nip44Error(MessagingError):
    """A payload is malformed, of another version, or fails its MAC; or a key is invalid."""


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _secret(secret: bytes) -> PrivateKey:
    if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < _ORDER:
        raise Nip44Error("invalid secret key: must be 32 bytes in 1..n-1")
    return PrivateKey(secret)


def _public(pubkey: bytes) -> PublicKey:
    if len(pubkey) != 32:
        raise Nip44Error("invalid public key: must be a 32-byte x-only key")
    try:
        return PublicKey(b"\x02" + pubkey)
    except ValueError:
        raise Nip44Error(f"invalid public key {pubkey.hex()}: not on the curve") from None


def shared_x(secret: bytes, pubkey: bytes) -> bytes:
    """The unhashed x coordinate of ``secret * P`` (P the even-y point of ``pubkey``)."""
    point = _public(pubkey).multiply(_secret(secret).secret)
    return point.format(compressed=True)[1:]


def conversation_key(secret: bytes, pubkey: bytes) -> bytes:
    """The 32-byte conversation key between ``secret`` and the x-only ``pubkey``.

    Raises:
        Nip44Error: Either key is invalid.
    """
    return hmac.new(_SALT, shared_x(secret, pubkey), hashlib.sha256).digest()


def message_keys(conv_key: bytes, nonce: bytes) -> tuple[bytes, bytes, bytes]:
    """ChaCha20 key, ChaCha20 nonce (12 bytes) and HMAC key for one ``nonce``."""
    if len(conv_key) != 32:
        raise Nip44Error("invalid conversation key: must be 32 bytes")
    if len(nonce) != 32:
        raise Nip44Error("invalid nonce: must be 32 bytes")
    keys = _hkdf_expand(conv_key, nonce, 76)
    return keys[:32], keys[32:44], keys[44:76]


def padded_length(length: int) -> int:
    """The NIP's padded size of a ``length``-byte plaintext (without the 2-byte prefix)."""
    if length <= 0:
        raise Nip44Error("invalid plaintext length: must be at least 1")
    if length <= 32:
        return 32
    next_power = 1 << (length - 1).bit_length()
    chunk = 32 if next_power <= 256 else next_power // 8
    return chunk * ((length - 1) // chunk + 1)


def _pad(plaintext: bytes) -> bytes:
    n = len(plaintext)
    if not 1 <= n <= MAX_PLAINTEXT:
        raise Nip44Error(
            f"invalid plaintext length {n}: NIP-44 encrypts 1 to {MAX_PLAINTEXT} bytes"
        )
    return n.to_bytes(2, "big") + plaintext + bytes(padded_length(n) - n)


def _unpad(padded: bytes) -> bytes:
    n = int.from_bytes(padded[:2], "big")
    if n == 0 or len(padded) != 2 + padded_length(n) or len(padded) < 2 + n:
        raise Nip44Error("invalid padding")
    return padded[2 : 2 + n]


def _chacha(key: bytes, nonce12: bytes, data: bytes) -> bytes:
    cipher = Cipher(algorithms.ChaCha20(key, b"\x00\x00\x00\x00" + nonce12), mode=None)
    return cipher.encryptor().update(data)


def encrypt(plaintext: str | bytes, conv_key: bytes, nonce: bytes | None = None) -> str:
    """Encrypt ``plaintext`` (UTF-8 text or bytes) under ``conv_key``; a base64 payload.

    Args:
        plaintext: 1 to 65,535 bytes.
        conv_key: From :func:`conversation_key`.
        nonce: 32 bytes; random when None (give one only to reproduce test vectors).

    Raises:
        Nip44Error: The plaintext is empty or too long, or a key or nonce is malformed.
    """
    data = plaintext.encode() if isinstance(plaintext, str) else bytes(plaintext)
    nonce = os.urandom(32) if nonce is None else nonce
    chacha_key, chacha_nonce, hmac_key = message_keys(conv_key, nonce)
    ciphertext = _chacha(chacha_key, chacha_nonce, _pad(data))
    mac = hmac.new(hmac_key, nonce + ciphertext, hashlib.sha256).digest()
    return base64.b64encode(bytes([VERSION]) + nonce + ciphertext + mac).decode()


def decrypt_bytes(payload: str, conv_key: bytes) -> bytes:
    """Decrypt a base64 payload; the plaintext bytes.

    Raises:
        Nip44Error: Not version 2, malformed, wrong size, or the MAC does not match.
    """
    if not isinstance(payload, str) or not payload:
        raise Nip44Error("invalid payload: empty")
    if payload[0] == "#":
        raise Nip44Error("unknown encryption version (payload starts with '#')")
    if not 132 <= len(payload) <= 87_472:
        raise Nip44Error(f"invalid payload size {len(payload)}")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise Nip44Error("invalid payload: not base64") from None
    if not 99 <= len(data) <= 65_603:
        raise Nip44Error(f"invalid payload: {len(data)} bytes decoded")
    if data[0] != VERSION:
        raise Nip44Error(f"unknown encryption version {data[0]}")
    nonce, ciphertext, mac = data[1:33], data[33:-32], data[-32:]
    chacha_key, chacha_nonce, hmac_key = message_keys(conv_key, nonce)
    expected = hmac.new(hmac_key, nonce + ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise Nip44Error("invalid MAC")
    return _unpad(_chacha(chacha_key, chacha_nonce, ciphertext))


def decrypt(payload: str, conv_key: bytes) -> str:
    """Decrypt a base64 payload to text (UTF-8).

    Raises:
        Nip44Error: As :func:`decrypt_bytes`, or the plaintext is not UTF-8.
    """
    try:
        return decrypt_bytes(payload, conv_key).decode("utf-8")
    except UnicodeDecodeError:
        raise Nip44Error("invalid plaintext: not UTF-8") from None


__all__ = [
    "MAX_PLAINTEXT",
    "Nip44Error",
    "conversation_key",
    "decrypt",
    "decrypt_bytes",
    "encrypt",
    "message_keys",
    "padded_length",
    "shared_x",
]
