"""CIDs, multihashes, multibase and varints: the part of multiformats p2pchain needs.

Why our own module rather than PyPI ``multiformats``: we need CIDv0/CIDv1 with two codecs
(dag-pb, raw), two hash functions (sha2-256, identity) and a handful of multibase encodings.
That is about 200 lines with no dependencies, easy to audit, and checked in the tests against
two independent oracles (Debian ``ipfs_cid`` and real Kubo). The PyPI package is much larger,
configured through a global registry, and its last release is from 2023; pinning it would buy
nothing we use.

Everything here is pure and immutable. Encodings follow the multiformats specs:

* unsigned varint: LEB128, at most 9 bytes, minimally encoded.
* multihash: ``varint(code) varint(length) digest``.
* CIDv0: a bare sha2-256 multihash, written in base58btc (``Qm...``); codec dag-pb implied.
* CIDv1: ``varint(1) varint(codec) multihash``, written with a multibase prefix (base32 ``b``
  by default).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from p2pchain._errors import IpfsError

#: Multicodec codes used by UnixFS.
DAG_PB = 0x70
RAW = 0x55
#: Multihash function codes.
SHA2_256 = 0x12
IDENTITY = 0x00

CODEC_NAMES = {DAG_PB: "dag-pb", RAW: "raw", 0x71: "dag-cbor", 0x0129: "dag-json"}
HASH_NAMES = {SHA2_256: "sha2-256", IDENTITY: "identity"}

_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_B36_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


# --- varint -------------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint.

    Args:
        value: The integer, 0 <= value < 2**63.

    Returns:
        Its minimal varint bytes.

    Raises:
        ValueError: If the value is negative or too large.
    """
    if value < 0 or value >= 1 << 63:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode an unsigned varint.

    Args:
        data: The buffer.
        offset: Where the varint starts.

    Returns:
        ``(value, offset just past the varint)``.

    Raises:
        ValueError: If the varint is truncated, longer than 9 bytes or not minimal.
    """
    value = 0
    shift = 0
    pos = offset
    end = len(data)
    while True:
        if pos >= end:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and pos - offset > 1:
                raise ValueError("varint is not minimally encoded")
            return value, pos
        shift += 7
        if shift >= 63:
            raise ValueError("varint longer than 9 bytes")


# --- multibase ----------------------------------------------------------------------------


def b58encode(data: bytes) -> str:
    """Encode bytes in base58btc (the Bitcoin alphabet), keeping leading zero bytes as ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    out = bytearray()
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58_ALPHABET[rem])
    out.extend(b"1" * zeros)
    out.reverse()
    return out.decode("ascii")


def b58decode(text: str) -> bytes:
    """Decode base58btc text.

    Raises:
        ValueError: On a character outside the alphabet.
    """
    raw = text.encode("ascii", "strict") if text.isascii() else b"\xff"
    number = 0
    for char in raw:
        index = _B58_INDEX.get(char)
        if index is None:
            raise ValueError("invalid base58btc character")
        number = number * 58 + index
    zeros = len(raw) - len(raw.lstrip(b"1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _b36encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 36)
        out.append(_B36_ALPHABET[rem])
    return "0" * zeros + "".join(reversed(out))


def _b36decode(text: str) -> bytes:
    text = text.lower()
    if not text or any(c not in _B36_ALPHABET for c in text):
        raise ValueError("invalid base36 text")
    zeros = len(text) - len(text.lstrip("0"))
    number = int(text, 36)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _b32decode(text: str) -> bytes:
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _b64decode(text: str, *, url: bool) -> bytes:
    text = text.rstrip("=")
    padded = text + "=" * (-len(text) % 4)
    if url:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    return base64.b64decode(padded.encode("ascii"), validate=True)


def multibase_encode(data: bytes, base: str = "base32") -> str:
    """Encode bytes with a multibase prefix.

    Args:
        data: The bytes.
        base: ``base32`` (prefix ``b``), ``base58btc`` (``z``), ``base16`` (``f``),
            ``base36`` (``k``) or ``base64url`` (``u``).

    Returns:
        The prefixed text.

    Raises:
        ValueError: For an unsupported base.
    """
    if base == "base32":
        return "b" + base64.b32encode(data).decode("ascii").rstrip("=").lower()
    if base == "base58btc":
        return "z" + b58encode(data)
    if base == "base16":
        return "f" + data.hex()
    if base == "base36":
        return "k" + _b36encode(data)
    if base == "base64url":
        return "u" + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
    raise ValueError(f"unsupported multibase: {base}")


def multibase_decode(text: str) -> bytes:
    """Decode multibase text (prefixes ``b B z f F k K u m``).

    Raises:
        ValueError: For an unknown prefix or malformed text.
    """
    if not text:
        raise ValueError("empty multibase text")
    prefix, body = text[0], text[1:]
    try:
        if prefix in "bB":
            if body != (body.lower() if prefix == "b" else body.upper()):
                raise ValueError("mixed case in base32 text")
            return _b32decode(body)
        if prefix == "z":
            return b58decode(body)
        if prefix in "fF":
            return bytes.fromhex(body)
        if prefix in "kK":
            return _b36decode(body)
        if prefix == "u":
            return _b64decode(body, url=True)
        if prefix == "m":
            return _b64decode(body, url=False)
    except (ValueError, UnicodeEncodeError) as exc:  # binascii.Error is a ValueError
        raise ValueError(f"malformed multibase text: {exc}") from None
    raise ValueError(f"unsupported multibase prefix {prefix!r}")


# --- multihash ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Multihash:
    """A self-describing hash: function code and digest."""

    code: int
    digest: bytes

    @classmethod
    def sha2_256(cls, data: bytes | memoryview) -> Multihash:
        """Hash ``data`` with sha2-256."""
        return cls(SHA2_256, hashlib.sha256(data).digest())

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> tuple[Multihash, int]:
        """Parse a multihash from ``data`` at ``offset``.

        Returns:
            ``(multihash, offset just past it)``.

        Raises:
            ValueError: If truncated or malformed.
        """
        code, pos = decode_varint(data, offset)
        length, pos = decode_varint(data, pos)
        if pos + length > len(data):
            raise ValueError("truncated multihash digest")
        digest = bytes(data[pos : pos + length])
        if code == SHA2_256 and length != 32:
            raise ValueError("sha2-256 multihash must have a 32-byte digest")
        return cls(code, digest), pos + length

    def encode(self) -> bytes:
        """Return the binary multihash."""
        return encode_varint(self.code) + encode_varint(len(self.digest)) + self.digest

    @property
    def name(self) -> str:
        """The hash function's multicodec name, or its hex code."""
        return HASH_NAMES.get(self.code, hex(self.code))

    def matches(self, data: bytes | memoryview) -> bool:
        """Tell whether ``data`` hashes to this multihash.

        Raises:
            IpfsError: If the hash function is not one we can compute.
        """
        if self.code == SHA2_256:
            return hashlib.sha256(data).digest() == self.digest
        if self.code == IDENTITY:
            return bytes(data) == self.digest
        raise IpfsError(f"unsupported hash function {self.name} (only sha2-256 and identity)")


# --- CID ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CID:
    """A content identifier (CIDv0 or CIDv1).

    Compare and hash CIDs as values; ``str(cid)`` gives the canonical text (base58btc for v0,
    base32 for v1) and ``bytes(cid)`` the binary form used inside dag-pb links.
    """

    version: int
    codec: int
    multihash: Multihash

    def __post_init__(self) -> None:
        if self.version == 0:
            if self.codec != DAG_PB or self.multihash.code != SHA2_256:
                raise ValueError("CIDv0 must be dag-pb with a sha2-256 multihash")
        elif self.version != 1:
            raise ValueError(f"unsupported CID version {self.version}")

    @classmethod
    def v0(cls, digest: bytes) -> CID:
        """A CIDv0 for a sha2-256 digest of a dag-pb block."""
        return cls(0, DAG_PB, Multihash(SHA2_256, digest))

    @classmethod
    def v1(cls, codec: int, digest: bytes) -> CID:
        """A CIDv1 for a sha2-256 digest of a block of the given codec."""
        return cls(1, codec, Multihash(SHA2_256, digest))

    @classmethod
    def parse(cls, value: str | bytes | CID) -> CID:
        """Parse a CID from text or binary form.

        Args:
            value: ``Qm...`` (CIDv0), a multibase CIDv1 (``bafy...``, ``z...``...), the binary
                form, or a CID (returned as is).

        Returns:
            The CID.

        Raises:
            IpfsError: If the value is not a valid CID.
        """
        if isinstance(value, CID):
            return value
        try:
            if isinstance(value, str):
                text = value.strip()
                text = text.removeprefix("/ipfs/")
                if len(text) == 46 and text.startswith("Qm"):
                    return cls._from_binary(b58decode(text))
                return cls._from_binary(multibase_decode(text))
            return cls._from_binary(bytes(value))
        except ValueError as exc:
            shown = value if isinstance(value, str) else bytes(value).hex()
            raise IpfsError(f"invalid CID {shown[:100]!r}: {exc}") from None

    @classmethod
    def _from_binary(cls, data: bytes) -> CID:
        if len(data) == 34 and data[0] == SHA2_256 and data[1] == 32:
            mh, _ = Multihash.decode(data)
            return cls(0, DAG_PB, mh)
        cid, end = cls.decode(data, 0)
        if end != len(data):
            raise ValueError("trailing bytes after CID")
        return cid

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> tuple[CID, int]:
        """Parse a binary CID embedded in ``data`` (as in a dag-pb link).

        Returns:
            ``(cid, offset just past it)``.

        Raises:
            ValueError: If malformed.
        """
        if len(data) - offset >= 2 and data[offset] == SHA2_256 and data[offset + 1] == 32:
            mh, end = Multihash.decode(data, offset)
            return cls(0, DAG_PB, mh), end
        version, pos = decode_varint(data, offset)
        if version != 1:
            raise ValueError(f"unsupported CID version {version}")
        codec, pos = decode_varint(data, pos)
        mh, end = Multihash.decode(data, pos)
        return cls(1, codec, mh), end

    def __bytes__(self) -> bytes:
        if self.version == 0:
            return self.multihash.encode()
        return encode_varint(1) + encode_varint(self.codec) + self.multihash.encode()

    def __str__(self) -> str:
        return self.encode()

    def encode(self, base: str | None = None) -> str:
        """Return the CID as text.

        Args:
            base: A multibase name for CIDv1 (default base32); CIDv0 is always base58btc.
        """
        if self.version == 0:
            return b58encode(bytes(self))
        return multibase_encode(bytes(self), base or "base32")

    def to_v1(self) -> CID:
        """The same content addressed as CIDv1 (same codec and multihash)."""
        return CID(1, self.codec, self.multihash)

    @property
    def codec_name(self) -> str:
        """The codec's multicodec name (``dag-pb``, ``raw``...)."""
        return CODEC_NAMES.get(self.codec, hex(self.codec))
