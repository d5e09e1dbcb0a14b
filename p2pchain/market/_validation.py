"""Checking what callers pass before it reaches web3: addresses, amounts, ids, scores, terms.

Every check raises a subclass of :class:`InputError` (itself a :class:`P2PChainError` and a
``ValueError``) naming the argument and what is wrong with it, so a front end shows one clear line
instead of a web3 or eth-abi traceback. Nothing has been sent when one of these is raised.
"""

from __future__ import annotations

from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from p2pchain._errors import P2PChainError
from p2pchain.chain._model import ZERO_ADDRESS, ListingTerms

UINT256_MAX = 2**256 - 1
UINT32_MAX = 2**32 - 1
#: Longest review CID the Reputation contract accepts (``MAX_CID_LENGTH``).
MAX_REVIEW_CID_LENGTH = 64


class InputError(P2PChainError, ValueError):
    """An argument is malformed or out of range; nothing was sent."""


class AddressError(InputError):
    """Not an Ethereum address, a mistyped checksum, or the zero address where none is allowed."""


class AmountError(InputError):
    """An amount is not a whole number, is negative, or does not fit its Solidity type."""


class QuantityError(InputError):
    """A quantity is not a whole number of units between 1 and 2^32 - 1."""


class ScoreError(InputError):
    """A rating score is not 1, 2, 3, 4 or 5."""


class IdError(InputError):
    """An id, salt, digest or CID has the wrong form or length."""


def address(value: Any, what: str, *, allow_zero: bool = True) -> ChecksumAddress:
    """An address in checksum form.

    Args:
        value: ``0x`` + 40 hex digits (all lower, all upper, or correctly checksummed), or 20
            bytes.
        what: The argument's name, for the message.
        allow_zero: Whether the zero address is acceptable (it means "ETH" for a token and "none"
            for an arbitrator).

    Raises:
        AddressError: Anything else.
    """
    if isinstance(value, (bytes, bytearray)) and len(value) == 20:
        value = "0x" + bytes(value).hex()
    if not isinstance(value, str) or not is_hex_address(value):
        raise AddressError(
            f"{what} must be an address (0x followed by 40 hex digits), got {value!r}"
        )
    body = value[2:]
    mixed = body != body.lower() and body != body.upper()
    if mixed and not is_checksum_address(value):
        raise AddressError(f"{what} {value} has a wrong checksum: is there a typo?")
    checksummed = to_checksum_address(value)
    if not allow_zero and checksummed == ZERO_ADDRESS:
        raise AddressError(f"{what} cannot be the zero address")
    return checksummed


def uint(value: Any, what: str, *, bits: int = 256, error: type[InputError] = AmountError) -> int:
    """A non-negative whole number that fits ``uint<bits>``.

    Raises:
        AmountError: (or ``error``) Not an int (bools and floats are refused), negative, or too
            large.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{what} must be a whole number (in the token's smallest unit), got {value!r}")
    if value < 0:
        raise error(f"{what} cannot be negative, got {value}")
    if value >= 1 << bits:
        raise error(f"{what} {value} is too large: at most 2^{bits} - 1")
    return int(value)


def amount(value: Any, what: str = "amount") -> int:
    """A uint256 amount in the token's smallest unit (wei for ETH)."""
    return uint(value, what)


def quantity(value: Any, what: str = "quantity") -> int:
    """A number of units: 1 to 2^32 - 1.

    Raises:
        QuantityError: Not a whole number in that range.
    """
    number = uint(value, what, bits=32, error=QuantityError)
    if number == 0:
        raise QuantityError(f"{what} must be at least 1")
    return number


def score(value: Any) -> int:
    """A rating: 1 to 5 stars.

    Raises:
        ScoreError: Anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ScoreError(f"a rating must be a whole number of stars from 1 to 5, got {value!r}")
    return int(value)


def bytes32(value: Any, what: str) -> bytes:
    """A 32-byte value: bytes, or ``0x`` + 64 hex digits.

    Raises:
        IdError: Anything else.
    """
    given = value
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            pass
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        shown = repr(given) if len(repr(given)) <= 80 else repr(given)[:77] + "..."
        raise IdError(f"{what} must be 32 bytes (0x + 64 hex digits), got {shown}")
    return bytes(value)


def review_cid(value: Any) -> bytes:
    """A binary review CID: empty, or at most 64 bytes.

    Raises:
        IdError: Not bytes, or too long.
    """
    if not isinstance(value, (bytes, bytearray)):
        raise IdError(f"the review CID must be bytes (a binary CID), got {type(value).__name__}")
    if len(value) > MAX_REVIEW_CID_LENGTH:
        raise IdError(
            f"the review CID is {len(value)} bytes long; at most {MAX_REVIEW_CID_LENGTH} fit"
        )
    return bytes(value)


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58(text: str) -> bytes:
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise ValueError(f"{char!r} is not a base58 digit")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return bytes(len(text) - len(text.lstrip("1"))) + body


def cid(value: Any, what: str = "cid") -> bytes:
    """A binary CID from bytes, a CID object (``bytes(cid)``), or CID text.

    Text may be a CIDv0 (``Qm...``, base58btc) or a multibase CIDv1: ``b...`` (base32, what
    ``ipfs add --cid-version=1`` prints), ``z...`` (base58btc) or ``f...`` (base16). So the CID an
    IPFS backend returns for a published listing document can be passed as it is.

    Raises:
        IdError: Not a CID in one of these forms.
    """
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str) and hasattr(value, "__bytes__"):
        return bytes(value)
    if not isinstance(value, str) or len(value) < 2:
        raise IdError(f"{what} must be a CID (bytes or text), got {value!r}")
    try:
        if value.startswith("Qm") and len(value) == 46:
            return _base58(value)
        prefix, body = value[0], value[1:]
        if prefix == "b":
            import base64

            return base64.b32decode(body.upper() + "=" * (-len(body) % 8))
        if prefix == "z":
            return _base58(body)
        if prefix == "f":
            return bytes.fromhex(body)
    except ValueError as exc:
        raise IdError(f"{what} {value!r} is not a valid CID: {exc}") from None
    raise IdError(f"{what} {value!r} is not a CIDv0 (Qm...) or a b/z/f multibase CIDv1")


def terms(value: Any) -> ListingTerms:
    """Listing terms whose every field fits its Solidity type, addresses checksummed.

    Whether the values make sense (a price above zero, a fee within bounds...) is the
    contract's call: its typed errors say so on the pre-flight check.

    Raises:
        InputError: Not a :class:`ListingTerms`, or a field that cannot be encoded.
    """
    if not isinstance(value, ListingTerms):
        raise InputError(f"terms must be a ListingTerms, got {type(value).__name__}")
    prefix = value.cid_prefix
    if not isinstance(prefix, (bytes, bytearray)) or len(prefix) > 8:
        raise IdError("terms.cid_prefix must be at most 8 bytes")
    return ListingTerms(
        seller=address(value.seller, "terms.seller", allow_zero=False),
        token=address(value.token, "terms.token"),
        price=uint(value.price, "terms.price"),
        deposit=uint(value.deposit, "terms.deposit"),
        arbitrator=address(value.arbitrator, "terms.arbitrator"),
        arbitrator_fee_bps=uint(value.arbitrator_fee_bps, "terms.arbitrator_fee_bps", bits=16),
        review_window=uint(value.review_window, "terms.review_window", bits=32),
        expiry=uint(value.expiry, "terms.expiry", bits=40),
        cid_prefix=bytes(prefix).ljust(8, b"\0"),
        cid_digest=bytes32(value.cid_digest, "terms.cid_digest"),
    )


#: Order of the secp256k1 group; a signature's ``s`` above half of it is the malleated twin.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _shown(raw: bytes) -> str:
    text = "0x" + raw.hex()
    return text if len(text) <= 42 else f"{text[:20]}…{text[-8:]} ({len(raw)} bytes)"


def signature(value: Any, what: str = "signature") -> bytes:
    """An ECDSA signature as the marketplace contract accepts it: 65 bytes ``r ‖ s ‖ v``, with
    ``v`` 27 or 28 and ``s`` in the lower half of the curve order.

    Every form a wallet produces is brought to that one form, so that what the library accepts
    is exactly what the contract accepts (OpenZeppelin's ``ECDSA.tryRecover``):

    * ``v`` 0 or 1 (hardware wallets, some libraries) becomes 27 or 28;
    * a 64-byte EIP-2098 compact signature (``r ‖ yParity·2²⁵⁵ + s``) is expanded;
    * a high-``s`` signature (its malleated twin, equally valid for the same signer and
      message) becomes its low-``s`` twin, with ``v`` flipped. The listing id is the signed
      digest, not the signature, so this changes nothing a buyer relies on.

    Raises:
        InputError: Not hex or bytes, a length other than 64 or 65, ``v`` not 0, 1, 27 or 28,
            or ``r``/``s`` zero or out of range. The message shows the value as hex.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value.strip().removeprefix("0x").removeprefix("0X")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise InputError(
                f"{what} must be hex (0x + 130 hex digits), got {value!r:.80}"
            ) from None
    else:
        raise InputError(f"{what} must be hex or bytes, got {type(value).__name__}")
    if len(raw) == 64:  # EIP-2098: the top bit of the second word is the y parity
        vs = int.from_bytes(raw[32:], "big")
        raw = raw[:32] + (vs & ((1 << 255) - 1)).to_bytes(32, "big") + bytes([27 + (vs >> 255)])
    elif len(raw) != 65:
        raise InputError(
            f"{what} must be 65 bytes (r, s, v) or 64 bytes (EIP-2098), got {len(raw)} bytes:"
            f" {_shown(raw)}"
        )
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:64], "big")
    v = raw[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise InputError(
            f"{what} has v = {raw[64]}: it must be 27 or 28 (or 0 or 1): {_shown(raw)}"
        )
    if not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
        raise InputError(f"{what} has r or s out of range: {_shown(raw)}")
    if s > SECP256K1_N // 2:
        s = SECP256K1_N - s
        v = 55 - v  # 27 <-> 28
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


__all__ = [
    "AddressError",
    "AmountError",
    "IdError",
    "InputError",
    "QuantityError",
    "ScoreError",
    "address",
    "amount",
    "bytes32",
    "cid",
    "quantity",
    "review_cid",
    "score",
    "signature",
    "terms",
    "uint",
]
