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
    """The node answered the transaction with an error (insufficient funds, fee too low...).

    The node itself refused it, so nothing was sent; its nonce is handed out again.

    Attributes:
        reason: The node's message.
    """

    def __init__(self, message: str, pending: PendingTransaction | None, reason: str) -> None:
        super().__init__(message, pending)
        self.reason = reason


class NotSent(TransactionError):
    """The transaction never left: no connection to the node could be opened. Nothing was sent.

    Its nonce is handed out again, and it is closed in the journal.
    """


class NonceConflict(TransactionError):
    """The transaction's nonce was used by another transaction; this one was never mined."""


class TransactionCancelled(TransactionError):
    """The zero-value transfer that cancels the transaction was mined at its nonce instead.

    Only the gas of that transfer was paid.
    """


def unknown_outcome(pending: PendingTransaction, why: str) -> str:
    """The message for a transaction whose outcome is unknown: what, why, and how to find out."""
    return (
        f"{pending.describe()} was signed and may have reached the node, but its outcome is"
        f" unknown: {why}. It may still be mined. Find out with client.wait(err.pending);"
        " calling the same action again resumes it instead of paying twice"
    )


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C (or another ``KeyboardInterrupt``) while sending signed transactions or waiting
    for them.

    Still a ``KeyboardInterrupt``, so a script stops as it would; it also says which
    transactions were left with an unknown outcome. They stay in the journal: ``client.wait``
    on them, or calling the same action again, resumes them instead of paying twice.

    Attributes:
        pendings: The transactions nobody waits for any more.
    """

    def __init__(self, pendings: list[PendingTransaction]) -> None:
        self.pendings = pendings
        first = pendings[0]
        more = f" (and {len(pendings) - 1} more)" if len(pendings) > 1 else ""
        super().__init__(unknown_outcome(first, "it was interrupted after signing") + more)

    @property
    def pending(self) -> PendingTransaction:
        """The first (lowest-nonce) transaction left waiting."""
        return self.pendings[0]


class OutcomeUnknown(TransactionError):
    """A transaction was signed and may have been sent, but whether it will be mined is unknown.

    It stays in the journal. Find out with ``client.wait(err.pending)`` (or
    :meth:`TransactionSender.wait`); calling the same action again resumes it (the journal's
    reconciliation sends the identical signed bytes again if the node lost them) instead of
    signing a second payment.

    Attributes:
        reason: Why the outcome is unknown, in a few words.
    """

    def __init__(
        self, message: str, pending: PendingTransaction | None = None, reason: str = ""
    ) -> None:
        super().__init__(message, pending)
        self.reason = reason


class ConnectionLost(OutcomeUnknown):
    """The node could not be reached while sending; the transaction may or may not have been sent.

    Wait for ``err.pending`` with :meth:`TransactionSender.wait` once the node is back: it is
    either mined (once) or never will be.
    """


class TransactionTimeout(OutcomeUnknown):
    """The transaction was not mined in time. It may still be mined: wait again or replace it."""


class NonceGap(TransactionTimeout):
    """The transaction waits behind a nonce the node has no transaction for.

    It cannot be mined until that nonce is used: the next transaction from the account fills it,
    or :meth:`TransactionSender.cancel` sends a zero-value transfer to the account itself there
    (``p2pchain tx cancel --nonce N``).

    Attributes:
        missing: The nonce nothing was sent with.
    """

    def __init__(
        self, message: str, pending: PendingTransaction | None, reason: str, missing: int
    ) -> None:
        super().__init__(message, pending, reason)
        self.missing = missing


class BatchSubmitError(TransactionError):
    """Some transactions of a batch were not sent, or their outcome is unknown.

    Attributes:
        results: One entry per submitted transaction, in order: its :class:`PendingTransaction`
            if it was sent, else the error that stopped it (an :class:`OutcomeUnknown` carries
            its transaction too).
        calls: Filled by :meth:`MarketplaceClient.submit_all`: a ``PendingCall`` for every
            call whose transaction was signed and may be mined.
    """

    def __init__(self, message: str, results: list[PendingTransaction | P2PChainError]) -> None:
        super().__init__(message)
        self.results = results
        self.calls: list[Any] = []

    @property
    def pendings(self) -> list[PendingTransaction]:
        """Every transaction that was signed and may be mined: sent, or of unknown outcome."""
        out: list[PendingTransaction] = []
        for result in self.results:
            if isinstance(result, PendingTransaction):
                out.append(result)
            elif isinstance(result, OutcomeUnknown) and result.pending is not None:
                out.append(result.pending)
        return out


# --------------------------------------------------------------------------------------------
# pending transactions


@dataclass(frozen=True)
class SignedVersion:
    """One signed version of a transaction (the original, a fee-bumped replacement, or the
    zero-value transfer to the sender itself that cancels it)."""

    tx: Mapping[str, Any]
    raw: bytes
    hash: HexBytes
    cancel: bool = False


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
        intent: What it does, as a key: a second call with the same key while this one's
            outcome is unknown resumes this one instead of paying again.
    """

    sender: ChecksumAddress
    nonce: int
    action: str | None
    versions: list[SignedVersion]
    receipt: TxReceipt | None = None
    submitted_at: float = 0.0
    intent: bytes = b""

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

    @property
    def mined_version(self) -> SignedVersion | None:
        """The version that was mined, once the receipt is in."""
        if self.receipt is None:
            return None
        mined = HexBytes(self.receipt["transactionHash"])
        return next((v for v in self.versions if v.hash == mined), None)

    def describe(self) -> str:
        """``transaction 0x… (buy, nonce 7 of 0xabc…)``."""
        what = f"{self.action}, " if self.action else ""
        return f"transaction {self.tx_hash} ({what}nonce {self.nonce} of {self.sender})"


#: What reconciliation found out about a transaction from the journal.
RECONCILED_STATES = (
    "mined",
    "reverted",
    "pending",
    "queued",
    "resent",
    "replaced",
    "refused",
    "unknown",
)


@dataclass(frozen=True)
class Reconciled:
    """One journaled transaction, checked against the chain.

    Attributes:
        pending: The transaction (its receipt is set when it was mined).
        state: ``mined`` or ``reverted`` (a version has a receipt), ``pending`` (the node has it),
            ``queued`` (the node has it, but it waits behind a nonce nothing was sent with:
            ``missing``), ``resent`` (the node had lost it: the identical signed bytes were
            sent again), ``replaced`` (its nonce was used by another transaction: it will never
            be mined), ``refused`` (lost, and the node refused the identical bytes again: it was
            not sent, its nonce is free), ``unknown`` (the node could not be asked).
        detail: One line for people.
        missing: For ``queued``: the nonce it waits for.
    """

    pending: PendingTransaction
    state: str
    detail: str
    missing: int | None = None


__all__ = [
    "RECONCILED_STATES",
    "BatchSubmitError",
    "ConnectionLost",
    "NonceConflict",
    "NonceGap",
    "NotSent",
    "OutcomeUnknown",
    "PendingTransaction",
    "Reconciled",
    "SignedVersion",
    "TransactionCancelled",
    "TransactionError",
    "TransactionRejected",
    "TransactionTimeout",
    "unknown_outcome",
]
