"""Transactions whose outcome is not settled yet: their journal, their reconciliation, status.

:class:`Outstanding` keeps the books of a :class:`~p2pchain.chain._sender.TransactionSender`:

* every signed version goes to the :class:`~p2pchain.chain._journal.Journal` before it is sent,
  and the nonce is closed there once its outcome is known (mined, refused, never sent, nonce used);
* **orphans** are transactions whose outcome nobody is waiting for: one the caller was told is
  unknown, or one found open in the journal (another process's, or an earlier run's). A new
  call with the same intent resumes an orphan instead of signing a second payment
  (:meth:`Outstanding.take`);
* :meth:`Outstanding.reconcile` checks the orphans of an account against the chain: mined,
  still pending (or queued behind a missing nonce), lost by the node (the identical signed bytes
  are sent again), or replaced (its nonce was used by another transaction);
* :meth:`Outstanding.status` tells what the node and the journal know about any hash.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from p2pchain._errors import ChainError, P2PChainError
from p2pchain.chain._broadcast import Broadcaster
from p2pchain.chain._journal import Journal, JournalEntry, chain_key, decode_signed
from p2pchain.chain._node_errors import ChainMismatch
from p2pchain.chain._nonces import NonceManager
from p2pchain.chain._pending import (
    NonceConflict,
    NotSent,
    OutcomeUnknown,
    PendingTransaction,
    Reconciled,
    SignedVersion,
    TransactionRejected,
)


@dataclass(frozen=True)
class TxStatus:
    """What is known about one transaction hash (:meth:`Outstanding.status`).

    Attributes:
        hash: The transaction hash (0x hex).
        state: ``mined`` (succeeded), ``reverted``, ``pending`` (the node has it), ``queued``
            (the node has it, behind a nonce nothing was sent with: ``missing``), ``dropped``
            (only the journal knows it: the node lost it; resend or cancel it), ``replaced``
            (its nonce was used by another transaction: it will never be mined), ``unknown``
            (neither the node nor the journal knows it).
        sender: Who signed it (when known).
        nonce: Its nonce (when known).
        action: What it does, from the journal.
        block: The block it was mined in.
        confirmations: Blocks since, that one included.
        fee: Wei paid for gas.
        missing: For ``queued``: the nonce it waits for.
        replaced_by: For ``replaced``: the version of it mined instead, if the journal knows it.
        journaled: Whether the local journal holds it as open.
    """

    hash: str
    state: str
    sender: str | None = None
    nonce: int | None = None
    action: str | None = None
    block: int | None = None
    confirmations: int | None = None
    fee: int | None = None
    missing: int | None = None
    replaced_by: str | None = None
    journaled: bool = False


class Outstanding:
    """The books of one sender: journal, orphans, reconciliation (see the module).

    Args:
        node: Lookups and never-twice sending.
        nonces: The sender's nonce manager.
        journal: The journal, or None (orphans are then this process's only).
        chain_id: Returns the session's chain id.
        verify_chain: Raises :class:`ChainMismatch` when the node is on another chain.
        clock: Monotonic clock.
    """

    def __init__(
        self,
        node: Broadcaster,
        nonces: NonceManager,
        journal: Journal | None,
        chain_id: Callable[[], int],
        verify_chain: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node = node
        self.nonces = nonces
        self.journal = journal
        self._chain_id = chain_id
        self._verify_chain = verify_chain
        self._clock = clock
        self._chain: str | None = None
        self._lock = threading.RLock()
        self._tracked: set[HexBytes] = set()  # every version hash the sender has a handle on
        self._orphans: dict[ChecksumAddress, list[PendingTransaction]] = {}

    # ------------------------------------------------------------------ the journal

    def know_genesis(self, genesis: bytes) -> None:
        """The genesis block's hash, already read (from the command's first request)."""
        if self._chain is None:
            self._chain = chain_key(self._chain_id(), genesis)

    def chain(self) -> str:
        """This chain's journal folder name (chain id and genesis hash), read once."""
        if self._chain is None:
            w3 = self.node.w3
            genesis = self.node.rpc.retry("eth_getBlockByNumber", lambda: w3.eth.get_block(0))
            self._chain = chain_key(self._chain_id(), bytes(HexBytes(genesis["hash"])))
        return self._chain

    def entry(self, pending: PendingTransaction, version: SignedVersion) -> JournalEntry:
        """The journal line of one signed version."""
        tx = version.tx
        return JournalEntry(
            sender=pending.sender,
            nonce=pending.nonce,
            hash=version.hash.to_0x_hex(),
            raw=version.raw,
            to=tx.get("to"),
            value=int(tx.get("value", 0)),
            action="cancel" if version.cancel else pending.action,
            intent=pending.intent.hex(),
            chain_id=int(tx.get("chainId", self._chain_id())),
            at=time.time(),
        )

    def record(self, pending: PendingTransaction, version: SignedVersion) -> None:
        """Journal one more version of a transaction (a replacement, a cancellation).

        Raises:
            ChainError: The journal cannot be written (then it must not be sent).
        """
        if self.journal is not None:
            self.journal.record(self.chain(), [self.entry(pending, version)])

    def sign_into(
        self, address: ChecksumAddress, make: Callable[[set[int]], list[JournalEntry]]
    ) -> None:
        """Pick nonces and sign under the account's journal lock; see :meth:`Journal.sign_into`."""
        if self.journal is None:
            make(set())
        else:
            self.journal.sign_into(self.chain(), address, make)

    def settle(self, pending: PendingTransaction, outcome: str) -> None:
        """Record how ``pending`` ended. Unless mined, it can no longer be resumed."""
        with self._lock:
            orphans = self._orphans.get(pending.sender, [])
            if pending in orphans and outcome != "mined":
                orphans.remove(pending)
        if self.journal is None:
            return
        block = tx_hash = None
        if pending.receipt is not None:
            block = int(pending.receipt["blockNumber"])
            tx_hash = HexBytes(pending.receipt["transactionHash"]).to_0x_hex()
        try:
            self.journal.settle(
                self.chain(), pending.sender, pending.nonce, outcome, tx_hash=tx_hash, block=block
            )
        except ChainError:
            pass  # the next reconciliation finds the same outcome on the chain

    # ------------------------------------------------------------------ handles and orphans

    def track(self, pending: PendingTransaction) -> None:
        """The sender holds a handle on ``pending`` (its journal lines are not orphans)."""
        with self._lock:
            self._tracked.update(pending.hashes)

    def orphan(self, pending: PendingTransaction) -> None:
        """Nobody waits for ``pending`` any more: the caller was told its outcome is unknown."""
        with self._lock:
            orphans = self._orphans.setdefault(pending.sender, [])
            if pending not in orphans:
                orphans.append(pending)

    def forget(self, pending: PendingTransaction) -> None:
        """``pending`` is being waited for again (or its outcome was delivered)."""
        with self._lock:
            orphans = self._orphans.get(pending.sender, [])
            if pending in orphans:
                orphans.remove(pending)

    def orphans(self, address: str) -> list[PendingTransaction]:
        """Transactions of ``address`` whose outcome nobody waits for, by nonce (this process's
        and the journal's)."""
        checksum = to_checksum_address(address)
        self._load(checksum)
        with self._lock:
            return sorted(self._orphans.get(checksum, []), key=lambda p: p.nonce)

    def take(self, address: ChecksumAddress, intent: bytes) -> PendingTransaction | None:
        """Hand out the lowest-nonce orphan of ``address`` with this intent (to be waited for)."""
        if not intent:
            return None
        with self._lock:
            orphans = self._orphans.get(address, [])
            matches = [p for p in orphans if p.intent == intent]
            if not matches:
                return None
            chosen = min(matches, key=lambda p: p.nonce)
            orphans.remove(chosen)
            return chosen

    def _load(self, address: ChecksumAddress) -> None:
        """Open journal lines no handle covers become orphans."""
        if self.journal is None:
            return
        by_nonce: dict[int, list[JournalEntry]] = {}
        for entry in self.journal.open_entries(self.chain(), address):
            by_nonce.setdefault(entry.nonce, []).append(entry)
        for nonce, versions in sorted(by_nonce.items()):
            with self._lock:
                if {HexBytes(v.hash) for v in versions} & self._tracked:
                    continue
            pending = _from_journal(address, nonce, versions, self._clock())
            if pending is not None:
                self.track(pending)
                self.orphan(pending)

    # ------------------------------------------------------------------ receipts

    def poll(self, pending: PendingTransaction) -> TxReceipt | None:
        """The receipt of whichever version of ``pending`` was mined, if any yet.

        Raises:
            ChainError: The node cannot be asked (after retries).
        """
        if pending.receipt is not None:
            return pending.receipt
        for tx_hash in pending.hashes:
            receipt = self.node.receipt(tx_hash)
            if receipt is not None:
                self.mined(pending, receipt)
                return receipt
        return None

    def mined(self, pending: PendingTransaction, receipt: TxReceipt) -> None:
        """Record the receipt of ``pending``.

        It stays open in the journal until its outcome is delivered (:meth:`delivered`): a
        process that dies in between leaves it for the next one to report.
        """
        pending.receipt = receipt
        self.nonces.settle(pending.sender, pending.nonce)

    def delivered(self, pending: PendingTransaction) -> None:
        """The outcome of a mined ``pending`` reached the caller: close it in the journal."""
        self.forget(pending)
        mined = pending.mined_version
        cancelled = mined is not None and mined.cancel and not pending.versions[0].cancel
        self.settle(pending, "cancelled" if cancelled else "mined")

    # ------------------------------------------------------------------ reconciling

    def reconcile(self, address: str) -> list[Reconciled]:
        """Check every orphan of ``address`` against the chain; see
        :meth:`TransactionSender.reconcile`."""
        todo = [p for p in self.orphans(address) if p.receipt is None]
        if not todo:
            return []
        self._verify_chain()
        return [self._reconcile_one(pending) for pending in todo]

    def _reconcile_one(self, pending: PendingTransaction) -> Reconciled:
        what = pending.describe()
        used = f"{what} was not mined: nonce {pending.nonce} was used by another transaction"
        try:
            receipt = self.poll(pending)
            if receipt is not None:
                block = int(receipt["blockNumber"])
                mined = pending.mined_version
                cancelled = mined is not None and mined.cancel and not pending.versions[0].cancel
                # reported now; a mined one stays resumable in this process (same intent)
                self.settle(pending, "cancelled" if cancelled else "mined")
                if mined is not None and mined.cancel and not pending.versions[0].cancel:
                    return Reconciled(pending, "replaced", f"{what} was cancelled in block {block}")
                if int(receipt["status"]) != 1:
                    return Reconciled(
                        pending, "reverted", f"{what} was mined in block {block}, but it reverted"
                    )
                return Reconciled(pending, "mined", f"{what} was mined in block {block}")
            state = self.node.landed(pending)
            if state == "known":
                missing = self.node.missing_nonce(pending)
                if missing is not None:
                    return Reconciled(
                        pending,
                        "queued",
                        f"{what} waits behind nonce {missing}, which nothing was sent with",
                        missing,
                    )
                return Reconciled(pending, "pending", f"{what} is waiting to be mined")
            if state == "nonce-used":
                self.settle(pending, "nonce-used")
                return Reconciled(pending, "replaced", used)
            try:
                self.node.broadcast(pending, pending.versions[-1], release=False)
            except (TransactionRejected, NotSent) as exc:
                why = exc.reason if isinstance(exc, TransactionRejected) else "no connection"
                self.settle(pending, "refused")
                self.nonces.release(pending.sender, pending.nonce)
                return Reconciled(
                    pending,
                    "refused",
                    f"{what} was not on the node, and the node refused it again ({why}): it was"
                    f" not sent, and nonce {pending.nonce} is free again",
                )
            except NonceConflict:
                self.settle(pending, "nonce-used")
                return Reconciled(pending, "replaced", used)
            return Reconciled(
                pending,
                "resent",
                f"{what} was not on the node: the identical signed transaction was sent again",
            )
        except ChainMismatch:
            raise
        except OutcomeUnknown as exc:
            return Reconciled(
                pending, "unknown", f"{what}: its outcome is still unknown ({exc.reason})"
            )
        except P2PChainError as exc:
            return Reconciled(pending, "unknown", f"{what}: the node could not be asked ({exc})")

    # ------------------------------------------------------------------ status

    def status(self, tx_hash: str | bytes) -> TxStatus:
        """What the node and the journal know about one transaction hash.

        Raises:
            ChainError: The node cannot be asked.
        """
        node = self.node
        w3 = node.w3
        h = HexBytes(tx_hash)
        text = h.to_0x_hex()
        entry = self.journal.find(self.chain(), text) if self.journal is not None else None
        action = entry.action if entry is not None else None
        receipt = node.receipt(h)
        if receipt is not None:
            block = int(receipt["blockNumber"])
            head = int(node.rpc.retry("eth_blockNumber", lambda: w3.eth.block_number))
            found = node.rpc.retry("eth_getTransactionByHash", lambda: w3.eth.get_transaction(h))
            price = int(receipt.get("effectiveGasPrice") or 0)
            return TxStatus(
                hash=text,
                state="mined" if int(receipt["status"]) == 1 else "reverted",
                sender=to_checksum_address(receipt["from"]),
                nonce=int(found["nonce"]),
                action=action,
                block=block,
                confirmations=max(head - block + 1, 1),
                fee=int(receipt["gasUsed"]) * price,
                journaled=entry is not None,
            )
        known: Any = None
        try:
            known = node.rpc.retry("eth_getTransactionByHash", lambda: w3.eth.get_transaction(h))
        except TransactionNotFound:
            known = None
        if known is not None:
            found = known
            pending = PendingTransaction(
                sender=to_checksum_address(found["from"]),
                nonce=int(found["nonce"]),
                action=action,
                versions=[SignedVersion(tx={}, raw=b"", hash=h)],
            )
            missing = node.missing_nonce(pending)
            return TxStatus(
                hash=text,
                state="queued" if missing is not None else "pending",
                sender=pending.sender,
                nonce=pending.nonce,
                action=action,
                missing=missing,
                journaled=entry is not None,
            )
        if entry is None or self.journal is None:
            return TxStatus(hash=text, state="unknown")
        common: dict[str, Any] = {
            "hash": text,
            "sender": entry.sender,
            "nonce": entry.nonce,
            "action": action,
        }
        if node.count(entry.sender, "latest") <= entry.nonce:
            return TxStatus(state="dropped", journaled=True, **common)
        replaced_by = None
        for other in self.journal.open_entries(self.chain(), entry.sender):
            mine = other.nonce == entry.nonce and other.hash != text
            if mine and node.receipt(HexBytes(other.hash)) is not None:
                replaced_by = other.hash
        return TxStatus(
            state="replaced",
            replaced_by=replaced_by,
            journaled=True,
            **common,
        )


def _from_journal(
    address: ChecksumAddress, nonce: int, versions: Sequence[JournalEntry], now: float
) -> PendingTransaction | None:
    """A handle on a journaled transaction; lines that do not match their hash are skipped."""
    signed = []
    for version in versions:
        try:
            fields = decode_signed(version.raw)
        except ValueError:
            continue
        if HexBytes(keccak(version.raw)) != HexBytes(version.hash):
            continue  # a damaged line: never send bytes that do not match their hash
        if fields.get("nonce") != nonce or fields.get("from") != address:
            continue
        signed.append(
            SignedVersion(
                tx=fields,
                raw=version.raw,
                hash=HexBytes(version.hash),
                cancel=version.action == "cancel",
            )
        )
    if not signed:
        return None
    first = versions[0]
    action = next((v.action for v in versions if v.action != "cancel"), first.action)
    return PendingTransaction(
        sender=address,
        nonce=nonce,
        action=action,
        versions=signed,
        submitted_at=now,
        intent=bytes.fromhex(first.intent.removeprefix("0x")) if first.intent else b"",
    )


__all__ = ["Outstanding", "TxStatus"]
