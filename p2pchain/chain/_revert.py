"""What every revert becomes in Python: the base exceptions, their wording helpers, and the raw
revert data dug out of whatever web3, a node or eth-tester raised.

* :class:`ContractRevert` is the root (a :class:`p2pchain._errors.ContractError`); it is used as
  is for reverts that cannot be decoded.
* :class:`Panic` (``Panic(uint256)``) and :class:`RevertReason` (``Error(string)``).
* :class:`CustomError` is the base of the one-class-per-contract-error catalogue in
  :mod:`p2pchain.chain._contract_errors`, which also decodes revert data into those classes.
* :func:`revert_data` finds the revert data in an exception; :func:`format_amount`,
  :func:`format_time`, :func:`format_duration` and :func:`short_id` word the messages.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from p2pchain._errors import ContractError
from p2pchain.chain._model import ZERO_ADDRESS

#: Selector of Solidity's ``Error(string)``.
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
#: Selector of Solidity's ``Panic(uint256)``.
PANIC_SELECTOR = bytes.fromhex("4e487b71")

#: What each Solidity panic code means.
PANIC_CODES: Mapping[int, str] = {
    0x00: "a generic compiler panic",
    0x01: "an assertion failed",
    0x11: "an arithmetic overflow or underflow",
    0x12: "a division or modulo by zero",
    0x21: "a value out of an enum's range",
    0x22: "an incorrectly encoded storage byte array",
    0x31: "pop() on an empty array",
    0x32: "an array index out of bounds",
    0x41: "too much memory allocated",
    0x51: "a call to an uninitialised function",
}


# --------------------------------------------------------------------------------------------
# formatting helpers for messages


def format_time(timestamp: int) -> str:
    """``2026-11-28 12:00 UTC`` (seconds shown only when not zero); ``unix time N`` for a time
    no calendar holds (a uint256 from a contract can be anything)."""
    try:
        when = datetime.fromtimestamp(int(timestamp), UTC)
    except (OverflowError, OSError, ValueError):
        return f"unix time {int(timestamp)}"
    return when.strftime("%Y-%m-%d %H:%M:%S UTC" if when.second else "%Y-%m-%d %H:%M UTC")


def format_duration(seconds: int) -> str:
    """``3 days``, ``2 hours``, ``1 day 6 hours``, ``45 seconds``."""
    seconds = int(seconds)
    parts: list[str] = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "0 seconds"


def format_amount(amount: int, token: str = ZERO_ADDRESS) -> str:
    """Native currency in ETH (``1.5 ETH``); tokens in base units (``250 units of token 0x…``)."""
    if token == ZERO_ADDRESS:
        text = format(Decimal(int(amount)) / Decimal(10**18), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return f"{text} ETH"
    return f"{int(amount)} units of token {token}"


def short_id(value: bytes) -> str:
    """A 32-byte id shortened for people: ``0x1234abcd…ef01``."""
    text = bytes(value).hex()
    return f"0x{text[:8]}…{text[-4:]}" if len(text) > 16 else f"0x{text}"


# --------------------------------------------------------------------------------------------
# base classes


class ContractRevert(ContractError):
    """A contract call reverted. Used as is for reverts that cannot be decoded.

    Attributes:
        data: The raw revert data (empty if the node returned none).
        action: The contract function that reverted (``release``, ``buy``...), when known.
        tx_hash: The mined transaction that reverted (0x hex), when the revert happened on-chain
            rather than in a pre-flight ``eth_call``.
    """

    def __init__(self, message: str, *, data: bytes = b"", action: str | None = None) -> None:
        super().__init__(message)
        self.data = bytes(data)
        self.action = action
        self.tx_hash: str | None = None


class Panic(ContractRevert):
    """A Solidity panic (``Panic(uint256)``): a bug or an impossible state, never a user error.

    Attributes:
        code: The panic code (``0x11`` for an overflow...).
    """

    def __init__(self, code: int, *, data: bytes = b"", action: str | None = None) -> None:
        self.code = int(code)
        meaning = PANIC_CODES.get(self.code, "an unknown panic")
        super().__init__(
            f"the contract panicked with code 0x{self.code:02x} ({meaning})",
            data=data,
            action=action,
        )


class RevertReason(ContractRevert):
    """A revert with a reason string (``Error(string)``), e.g. from a token contract.

    Attributes:
        reason: The reason string.
    """

    def __init__(self, reason: str, *, data: bytes = b"", action: str | None = None) -> None:
        self.reason = reason
        super().__init__(f"the call reverted: {reason}", data=data, action=action)


def _snake(name: str) -> str:
    """``listingId`` -> ``listing_id``; a builtin's name gets a trailing underscore (``str_``)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return f"{snake}_" if snake in dir(builtins) or keyword.iskeyword(snake) else snake


class CustomError(ContractRevert):
    """Base of the classes for the contracts' custom errors.

    Subclasses are named like the Solidity error and declare one annotated attribute per error
    argument (the ABI name in snake_case). Their ABI details are filled in from the artifacts.

    Attributes:
        values: The decoded arguments, in ABI order.
    """

    #: ``Name(type,...)``, from the ABI.
    signature: ClassVar[str] = ""
    #: The 4-byte selector, from the ABI.
    selector: ClassVar[bytes] = b""
    #: Attribute names of the arguments, in ABI order.
    fields: ClassVar[tuple[str, ...]] = ()
    #: ABI types of the arguments.
    abi_types: ClassVar[tuple[str, ...]] = ()
    #: Solidity ``internalType`` of the arguments (``enum TradeState``...).
    internal_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *values: Any, data: bytes = b"", action: str | None = None) -> None:
        if len(values) != len(self.fields):
            raise TypeError(f"{type(self).__name__} takes {len(self.fields)} values")
        self.values = tuple(values)
        for name, value in zip(self.fields, values, strict=True):
            setattr(self, name, value)
        self.action = action
        super().__init__(self.describe(), data=data, action=action)

    @property
    def name(self) -> str:
        """The Solidity error name."""
        return type(self).__name__

    @property
    def arguments(self) -> dict[str, Any]:
        """The decoded arguments by attribute name."""
        return dict(zip(self.fields, self.values, strict=True))

    def describe(self) -> str:
        """The one-line message; subclasses say what happened and what to do."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"the contract refused the call with {self.name}({args})"


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by an exception from web3 or eth-tester, if it is a revert.

    Handles web3's ``ContractLogicError`` family (data as hex, or Ganache's ``{"result": ...}``),
    eth-tester's ``TransactionFailed`` (the embedded chain) and JSON-RPC errors whose ``data``
    holds the revert.

    Returns:
        The revert data (possibly empty), or None if ``exc`` is not a revert.
    """
    from web3.exceptions import ContractLogicError, Web3RPCError

    if isinstance(exc, ContractLogicError):
        return _data_field(exc.data) or b""
    # the embedded chain's reverts: eth-tester is loaded only when that chain is in use
    tester = sys.modules.get("eth_tester.exceptions")
    if tester is not None and isinstance(exc, tester.TransactionFailed):
        return _tester_revert_data(exc)
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, Mapping):
        error = exc.rpc_response.get("error")
        if isinstance(error, Mapping) and "revert" in str(error.get("message", "")).lower():
            return _data_field(error.get("data")) or b""
    return None


def _data_field(value: Any) -> bytes | None:
    if isinstance(value, Mapping):
        value = value.get("result", value.get("data"))
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        text = value.removeprefix("0x")
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    return None


_REVERTED = "execution reverted"


def _tester_revert_data(exc: BaseException) -> bytes | None:
    message: Any = exc.args[0] if exc.args else b""
    if isinstance(message, Exception) and message.args:
        message = message.args[0]
    if isinstance(message, bytes):
        return message
    text = str(message)
    if not text.startswith(_REVERTED):
        return None
    text = text[len(_REVERTED) :].lstrip(": ")
    if not text:
        return b""
    if text.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    # eth-tester decoded an Error(string) reason itself
    from eth_abi import encode as abi_encode

    return ERROR_STRING_SELECTOR + abi_encode(["string"], [text])


__all__ = [
    "ERROR_STRING_SELECTOR",
    "PANIC_CODES",
    "PANIC_SELECTOR",
    "ContractRevert",
    "CustomError",
    "Panic",
    "RevertReason",
    "format_amount",
    "format_duration",
    "format_time",
    "revert_data",
    "short_id",
]
