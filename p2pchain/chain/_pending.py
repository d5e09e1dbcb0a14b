"""A sent transaction (every signed version of it) and the errors sending can end in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3.types import TxReceipt

from p2pchain._errors import ChainError, P2PChainError

# --------------------------------------------------------------------------------------------
# errors


class TransactionError(ChainError):
    """A transaction could not be sent or confirmed.

    Attributes:
        pending: The transaction concerned (its hash, nonce and signed bytes).
    """

    def __init__(self, message: str, pending: PendingTransaction | None = None) -> None:
        super().__init__(message)
        self.pending = pending


class TransactionRejected(TransactionError):
    """The node refused the transaction (insufficient funds, fee too low...). Nothing was sent.

    Attributes:
        reason: The node's message.
    """

    def __init__(self, message: str, pending: PendingTransaction | None, reason: str) -> None:
        super().__init__(message, pending)
        self.reason = reason


class NonceConflict(TransactionError):
    """The transaction's nonce was used by another transaction; this one was never mined."""


class ConnectionLost(TransactionError):
    """The node could not be reached while sending; the transaction may or may not have been sent.

    Wait for ``err.pending`` with :meth:`TransactionSender.wait` once the node is back: it is
    either mined (once) or never will be.
    """


class TransactionTimeout(TransactionError):
    """The transaction was not mined in time. It may still be mined: wait again or replace it."""


class BatchSubmitError(TransactionError):
    """Some transactions of a batch were not sent.

    Attributes:
        results: One entry per submitted transaction, in order: its :class:`PendingTransaction`
            if it was sent, else the error that stopped it.
    """

    def __init__(self, message: str, results: list[PendingTransaction | P2PChainError]) -> None:
        super().__init__(message)
        self.results = results


# --------------------------------------------------------------------------------------------
# pending transactions


@dataclass(frozen=True)
class SignedVersion:
    """One signed version of a transaction (the original, or a fee-bumped replacement)."""

    tx: Mapping[str, Any]
    raw: bytes
    hash: HexBytes


@dataclass
class PendingTransaction:
    """A signed transaction that was sent, and every replacement of it.

    Attributes:
        sender: The signing account's address.
        nonce: The nonce every version shares.
        action: What it does (a contract function name), for messages.
        versions: The original first, then each replacement.
        receipt: The receipt, once mined.
        submitted_at: ``time.monotonic()`` when the first version was sent.
    """

    sender: ChecksumAddress
    nonce: int
    action: str | None
    versions: list[SignedVersion]
    receipt: TxReceipt | None = None
    submitted_at: float = 0.0

    @property
    def hash(self) -> HexBytes:
        """The hash of the latest version."""
        return self.versions[-1].hash

    @property
    def tx_hash(self) -> str:
        """The latest version's hash as 0x hex."""
        return self.hash.to_0x_hex()

    @property
    def hashes(self) -> list[HexBytes]:
        """Every version's hash, newest first."""
        return [v.hash for v in reversed(self.versions)]

    @property
    def tx(self) -> Mapping[str, Any]:
        """The latest version's fields."""
        return self.versions[-1].tx

    @property
    def raw(self) -> bytes:
        """The latest version's signed bytes."""
        return self.versions[-1].raw

    def describe(self) -> str:
        """``transaction 0x… (buy, nonce 7 of 0xabc…)``."""
        what = f"{self.action}, " if self.action else ""
        return f"transaction {self.tx_hash} ({what}nonce {self.nonce} of {self.sender})"


__all__ = [
    "BatchSubmitError",
    "ConnectionLost",
    "NonceConflict",
    "PendingTransaction",
    "SignedVersion",
    "TransactionError",
    "TransactionRejected",
    "TransactionTimeout",
]
