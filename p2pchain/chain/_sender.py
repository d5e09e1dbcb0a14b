"""Sending many transactions from one process: local signing, nonces, receipts, and never paying
twice, whatever the node does.

:class:`TransactionSender` signs every transaction locally (a ``LocalAccount``) and sends it raw,
so it works the same on the embedded chain, Anvil, Ganache and a real network. It is built for a
process that sends a lot:

* **Nonces** come from a per-account :class:`NonceManager` that reserves them locally, so many
  transactions can be in flight without waiting for receipts. A nonce whose transaction was
  certainly not sent (the node refused it, or no connection could be opened) goes back to the
  pool; on nonce errors the manager resynchronises from the node's ``pending`` count.
* **Fees, gas, the chain id** and the pre-flight simulation: :class:`~p2pchain.chain._preflight.
  Preflight`. The chain id is the session's, fixed when the sender is made (from the deployment),
  and checked against the node's answer before anything is signed.
* **Receipts** are awaited with a timeout, through dropped connections and garbled answers; a
  transaction stuck in the mempool can be replaced by the same transaction with fees raised by
  12.5%, and one the node lost is sent again, byte for byte.
* **Batches**: :meth:`TransactionSender.submit_many` and :meth:`TransactionSender.wait_many` put
  many estimates, sends and receipt polls into single JSON-RPC batch requests on HTTP nodes.

Never paying twice
------------------
A connection can drop after the node received a transaction but before it answered; an answer
can come back garbled; a node can restart and forget its pool. The rules:

1. The transaction hash is computed locally (``keccak(raw)``) before sending, and the signed
   transaction is written to the :class:`~p2pchain.chain._journal.Journal` (and flushed to disk)
   before it leaves.
2. When it is unknown whether the node got it (connection dropped, timeout, HTTP error, garbled
   answer), the sender asks the node for that hash. If the node knows it, it was sent. If not,
   the *identical signed bytes* are sent again: the same nonce and signature can be mined at most
   once. If the node still cannot tell, the caller gets
   :class:`~p2pchain.chain._pending.OutcomeUnknown` with the hash and the nonce, never "refused".
3. Before anything is broadcast again (a re-send or a replacement), the sender checks that no
   version of the transaction is known and that the account's mined nonce has not moved past it.
   The node is never trusted to refuse a used nonce: Ganache 7 executes a re-sent transaction a
   second time (trufflesuite/ganache#3794, reproduced here).
4. A transaction is never re-signed with a new nonce. If its nonce was taken by another
   transaction, :class:`NonceConflict` says so and nothing was paid.
5. A replacement keeps the nonce, recipient, value and data and only raises the fees, so at most
   one version is ever mined. A cancellation is a zero-value transfer to the sender itself at
   that nonce.
6. A transaction whose outcome is unknown stays in the journal. :meth:`reconcile` checks each one
   against the chain (mined, still pending, lost by the node, replaced) and sends lost ones again
   byte for byte. A new call with the same *intent* (the same recipient, value and data, or the
   key the caller gives) resumes the earlier transaction instead of signing a second one
   (:meth:`adopt`), in this process or the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.datastructures import AttributeDict
from web3.types import BlockIdentifier, TxReceipt

from p2pchain._errors import ChainError, P2PChainError
from p2pchain.chain._broadcast import Broadcaster
from p2pchain.chain._contract_errors import decode_revert
from p2pchain.chain._fees import Fees, SenderPolicy
from p2pchain.chain._journal import Journal, JournalEntry
from p2pchain.chain._node_errors import CONNECTION_ERRORS, MalformedAnswer, node_errors
from p2pchain.chain._nonces import NonceManager
from p2pchain.chain._outstanding import Outstanding, TxStatus
from p2pchain.chain._pending import (
    ConnectionLost,
    NonceConflict,
    NonceGap,
    NotSent,
    OutcomeUnknown,
    PendingTransaction,
    Reconciled,
    SignedVersion,
    TransactionCancelled,
    TransactionError,
    TransactionRejected,
    TransactionTimeout,
    WaitInterrupted,
    unknown_outcome,
)
from p2pchain.chain._preflight import Preflight, call_fields
from p2pchain.chain._revert import ContractRevert, revert_data
from p2pchain.chain._rpc import NodeFacts, NodeRpc

T = TypeVar("T")


def _quiet() -> tuple[type[BaseException], ...]:
    """Failures of an optional question to the node (which client is it?)."""
    return (*node_errors(), *CONNECTION_ERRORS, ChainError)


#: Gas of a plain transfer (a cancellation).
TRANSFER_GAS = 21_000


def intent_of(to: str | None, value: int, data: bytes) -> bytes:
    """The default intent key of a transaction: what it calls, with what, paying what."""
    target = bytes(HexBytes(to)) if to else b""
    return keccak(b"p2pchain-intent" + target + abi_encode(["uint256"], [int(value)]) + data)


class TransactionSender:
    """Signs, sends and confirms transactions for any number of local accounts.

    Args:
        w3: Connection to the chain.
        policy: Fee, gas, retry and timeout settings.
        chain_id: The chain id every transaction is signed for (from the deployment); read once
            from the node when not given. A node that later answers another is refused.
        journal: Where signed transactions wait until their outcome is known; None keeps them
            in memory only (the process's own retries still never pay twice).
        facts: What the node said in the command's first request (genesis, client, automine),
            so none of it is asked again; its chain id must be ``chain_id``.
        sleep: Sleep function (tests replace it).
        clock: Monotonic clock (tests replace it).
    """

    def __init__(
        self,
        w3: Web3,
        policy: SenderPolicy | None = None,
        *,
        chain_id: int | None = None,
        journal: Journal | None = None,
        facts: NodeFacts | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.w3 = w3
        self.policy = policy or SenderPolicy()
        self._sleep = sleep
        self._clock = clock
        self._chain_id = None if chain_id is None else int(chain_id)
        self.rpc = NodeRpc(w3, self.policy, sleep)
        self.preflight = Preflight(self.rpc, self.policy, lambda: self.chain_id, clock)
        self.nonces = NonceManager(self._pending_count)
        self.node = Broadcaster(self.rpc, self.policy, self.nonces, sleep)
        self.journal = journal
        self.outstanding = Outstanding(
            self.node, self.nonces, journal, lambda: self.chain_id, self.verify_chain, clock
        )
        self._batching = self.rpc.batching
        self._signers: dict[ChecksumAddress, LocalAccount] = {}  # for replacements
        self._anvil_automine: bool | None = None
        if facts is not None:
            if self._chain_id is None:
                self._chain_id = facts.chain_id
            if facts.chain_id == self._chain_id:
                self.outstanding.know_genesis(facts.genesis)
                self._anvil_automine = bool(facts.automine)

    # ------------------------------------------------------------------ plumbing

    def retry(self, what: str, fn: Callable[[], T]) -> T:
        """Run a read-only request, retrying connection errors, "try again" answers and
        malformed answers.

        Raises:
            ChainError: Still failing after ``policy.rpc_attempts`` attempts
                (:class:`MalformedAnswer` when the answers were garbage).
        """
        return self.rpc.retry(what, fn)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
        """Send raw JSON-RPC requests as one batch (HTTP nodes), answers in request order.

        Each answer is the raw response object (``result`` or ``error``), matched to its request
        by id. Connection errors propagate: callers decide whether retrying is safe.

        Raises:
            MalformedAnswer: The answer is garbled or leaves requests unanswered.
            ChainError: The node answered the batch with a single error.
        """
        return self.rpc.complete_batch(calls)

    @property
    def batching(self) -> bool:
        """Whether requests go to the node as JSON-RPC batches (HTTP nodes)."""
        return self._batching

    @property
    def chain_id(self) -> int:
        """The chain id transactions are signed for: given, or read once and then fixed."""
        if self._chain_id is None:
            self._chain_id = self.rpc.chain_id()
        return self._chain_id

    def verify_chain(self) -> None:
        """Refuse a node that now answers another chain id than the session's.

        Raises:
            ChainMismatch: It does; nothing may be signed or sent.
        """
        self.preflight.verify_chain()

    def _pending_count(self, address: ChecksumAddress) -> int:
        return self.node.count(address, "pending")

    # ------------------------------------------------------------------ fees, gas, checks

    def suggest_fees(self, *, fresh: bool = False) -> Fees:
        """Fees for a new transaction; see :meth:`Preflight.suggest_fees`."""
        return self.preflight.suggest_fees(fresh=fresh)

    def check(self, tx: Mapping[str, Any], *, action: str | None = None) -> None:
        """Simulate ``tx`` on the pending block; see :meth:`Preflight.check`."""
        self.preflight.check(tx, action=action)

    def estimate_gas(self, tx: Mapping[str, Any], *, action: str | None = None) -> int:
        """Gas limit for ``tx``, checking that it would not revert; see
        :meth:`Preflight.estimate_gas`."""
        return self.preflight.estimate_gas(tx, action=action)

    def call(self, tx: Mapping[str, Any], block: BlockIdentifier = "latest") -> bytes:
        """``eth_call``; the raw return data. See :meth:`Preflight.call`."""
        return self.preflight.call(tx, block)

    def fill(
        self, tx: Mapping[str, Any], *, sender: str, action: str | None = None, check: bool = True
    ) -> dict[str, Any]:
        """Complete ``tx`` (sender, chain id, value, gas, fees; no nonce); see
        :meth:`Preflight.fill`. On HTTP nodes the sender's pending count comes in the same
        request when this process does not know it yet."""
        address = Web3.to_checksum_address(sender)
        counted = None
        if "nonce" not in tx and not self.nonces.known(address):

            def counted(count: int) -> None:
                self.nonces.seed(address, count)

        return self.preflight.fill(tx, sender=sender, action=action, check=check, counted=counted)

    # ------------------------------------------------------------------ reconciling

    def orphans(self, address: str) -> list[PendingTransaction]:
        """Transactions of ``address`` whose outcome is unknown and nobody waits for: those the
        caller was told are unknown, and those open in the journal (another process's, or an
        earlier run's)."""
        return self.outstanding.orphans(address)

    def reconcile(self, address: str) -> list[Reconciled]:
        """Check every transaction of ``address`` whose outcome is unknown against the chain.

        Each journaled transaction (and each this process was told is unknown) is looked up:
        mined (its receipt is recorded and the journal entry closed), still pending (and whether
        it waits behind a missing nonce), lost by the node (the identical signed bytes are sent
        again), or its nonce used by another transaction (closed: it will never be mined).
        :meth:`submit` does this before anything new is signed.

        Returns:
            One :class:`Reconciled` per transaction unresolved before the call, by nonce.

        Raises:
            ChainMismatch: The node is on another chain (nothing is looked up or sent).
        """
        return self.outstanding.reconcile(address)

    def adopt(self, address: str, intent: bytes) -> PendingTransaction | None:
        """Resume an earlier transaction of ``address`` with this intent, if its outcome is unknown.

        Reconciles first (:meth:`reconcile`). A transaction found is handed back instead of a new
        one being signed: wait for it (it may be mined already, then its receipt is set).

        Returns:
            The earlier transaction, or None.
        """
        checksum = to_checksum_address(address)
        self.reconcile(checksum)
        return self.outstanding.take(checksum, intent)

    # ------------------------------------------------------------------ signing and sending

    def submit(
        self,
        account: LocalAccount,
        tx: Mapping[str, Any],
        *,
        action: str | None = None,
        check: bool = True,
        intent: bytes | None = None,
        resume: bool = True,
    ) -> PendingTransaction:
        """Fill, sign and send ``tx`` without waiting for it to be mined.

        An earlier transaction with the same intent whose outcome is unknown (journaled by this
        or another process) is resumed instead: it is returned, and nothing new is signed.

        Args:
            account: The signer.
            tx: Partial transaction (``to``, ``data``, ``value``; anything else is filled in).
                A ``nonce`` given here is used as is and not managed (nor resumed).
            action: Contract function name, for typed revert messages.
            check: Pre-check with ``eth_call`` when ``gas`` is given (the estimate is the check
                otherwise).
            intent: What the transaction does, as a key; by default its recipient, value and
                data (:func:`intent_of`).
            resume: Look for an earlier transaction with this intent first (False when the
                caller just did, with :meth:`adopt`).

        Returns:
            The pending transaction; pass it to :meth:`wait`.

        Raises:
            ContractRevert: It would revert (nothing was sent).
            ChainMismatch: The node is on another chain (nothing was signed).
            TransactionRejected: The node refused it (nothing was sent; the nonce is reused).
            NotSent: No connection to the node could be opened (nothing was sent).
            NonceConflict: Its nonce was used by another transaction.
            OutcomeUnknown: It may or may not have been sent (``err.pending``); calling again
                with the same intent resumes it.
        """
        key = intent if intent is not None else _intent_of_tx(tx)
        with _nothing_sent():
            if resume and "nonce" not in tx:
                earlier = self.adopt(account.address, key)
                if earlier is not None:
                    return earlier
            filled = self.fill(tx, sender=account.address, action=action, check=check)
        self._signers[account.address] = account
        managed = "nonce" not in filled
        (pending,) = self._sign_all(account, [(filled, action, key, managed)])
        self._send(pending, release=managed)
        return pending

    def submit_many(
        self,
        items: Sequence[tuple[LocalAccount, Mapping[str, Any], str | None]],
        *,
        check: bool = True,
        intents: Sequence[bytes | None] | None = None,
    ) -> list[PendingTransaction]:
        """Fill, sign and send many transactions, pipelined, in as few requests as possible.

        Earlier transactions with the same intents whose outcome is unknown are resumed (see
        :meth:`submit`). Then the estimates (the pre-flight checks) go to the node as one batch,
        every transaction is signed with a reserved nonce and journaled, and all are sent as one
        batch. Nothing is signed if any pre-flight check fails.

        Args:
            items: ``(account, partial tx, action)`` per transaction, sent in this order.
            check: As for :meth:`submit`.
            intents: Intent keys, one per item (None: the default).

        Returns:
            The pending transactions, in order.

        Raises:
            ContractRevert: One would revert; ``err.batch_index`` says which. Nothing was sent.
            BatchSubmitError: Some were not sent or have an unknown outcome; ``err.results``
                has each one's outcome, ``err.pendings`` every transaction that may be mined.
        """
        if not items:
            return []
        keys = [
            (intents[i] if intents is not None and intents[i] is not None else None)
            or _intent_of_tx(tx)
            for i, (_, tx, _) in enumerate(items)
        ]
        results: list[PendingTransaction | P2PChainError | None] = [None] * len(items)
        with _nothing_sent():
            for address in {account.address for account, tx, _ in items if "nonce" not in tx}:
                self.reconcile(address)
        todo: list[int] = []
        for index, (account, tx, _) in enumerate(items):
            earlier = None if "nonce" in tx else self.outstanding.take(account.address, keys[index])
            if earlier is not None:
                results[index] = earlier
            else:
                todo.append(index)
        if todo:
            try:
                with _nothing_sent():
                    filled = self.preflight.fill_many([items[i] for i in todo], check=check)
            except ContractRevert as exc:
                inner = getattr(exc, "batch_index", None)
                if inner is not None:
                    exc.batch_index = todo[inner]  # type: ignore[attr-defined]
                raise
            groups: dict[ChecksumAddress, list[int]] = {}
            for position, index in enumerate(todo):
                groups.setdefault(items[index][0].address, []).append(position)
            signed: dict[int, PendingTransaction] = {}
            managed: dict[int, bool] = {}
            for positions in groups.values():
                account = items[todo[positions[0]]][0]
                self._signers[account.address] = account
                batch = []
                for position in positions:
                    own = "nonce" not in filled[position]
                    managed[position] = own
                    index = todo[position]
                    batch.append((filled[position], items[index][2], keys[index], own))
                for position, pending in zip(
                    positions, self._sign_all(account, batch), strict=True
                ):
                    signed[position] = pending
            ordered = [signed[p] for p in range(len(todo))]
            with self._interruptible(ordered):
                outcomes = self.node.broadcast_many(ordered, [managed[p] for p in range(len(todo))])
            for position, outcome in enumerate(outcomes):
                self._after_send(ordered[position], outcome)
                results[todo[position]] = outcome
        return self.node.batch_outcome(cast(list[PendingTransaction | P2PChainError], results))

    def _sign_all(
        self,
        account: LocalAccount,
        items: Sequence[tuple[dict[str, Any], str | None, bytes, bool]],
    ) -> list[PendingTransaction]:
        """Reserve nonces, sign and journal ``items`` of one account, atomically for the account.

        Raises:
            ChainError: The journal cannot be written (nothing was sent; nonces released).
        """
        address = account.address
        if any(managed for *_, managed in items):
            self.nonces.ensure(address)  # a request, so before the journal's lock
        pendings: list[PendingTransaction] = []

        def make(taken: set[int]) -> list[JournalEntry]:
            self.nonces.avoid(address, taken)
            for filled, action, key, managed in items:
                if managed:
                    filled["nonce"] = self.nonces.reserve(address)
                try:
                    pendings.append(self._sign(account, filled, action, key))
                except Exception:
                    if managed:
                        self.nonces.release(address, int(filled["nonce"]))
                    raise
            return [self.outstanding.entry(p, p.versions[0]) for p in pendings]

        try:
            with _nothing_sent():
                self.outstanding.sign_into(address, make)
        except BaseException:
            for pending, (_, _, _, managed) in zip(pendings, items, strict=False):
                if managed:
                    self.nonces.release(address, pending.nonce)
            raise
        for pending in pendings:
            self.outstanding.track(pending)
        return pendings

    def _sign(
        self, account: LocalAccount, tx: Mapping[str, Any], action: str | None, intent: bytes
    ) -> PendingTransaction:
        fields = {k: v for k, v in tx.items() if k != "from"}
        signed = account.sign_transaction(fields)
        raw = bytes(signed.raw_transaction)
        version = SignedVersion(tx=dict(tx), raw=raw, hash=HexBytes(keccak(raw)))
        return PendingTransaction(
            sender=account.address,
            nonce=int(tx["nonce"]),
            action=action,
            versions=[version],
            submitted_at=self._clock(),
            intent=intent,
        )

    def _send(self, pending: PendingTransaction, *, release: bool) -> None:
        try:
            with self._interruptible([pending]):
                self.node.broadcast(pending, pending.versions[0], release=release)
        except P2PChainError as exc:
            self._after_send(pending, exc)
            raise
        self._after_send(pending, pending)

    def _after_send(
        self, pending: PendingTransaction, outcome: PendingTransaction | P2PChainError
    ) -> None:
        """Journal what a send ended in: closed when certainly not sent, orphaned if unknown."""
        if isinstance(outcome, NonceConflict):
            self.outstanding.settle(pending, "nonce-used")
        elif isinstance(outcome, NotSent):
            self.outstanding.settle(pending, "unsent")
        elif isinstance(outcome, TransactionRejected):
            self.outstanding.settle(pending, "refused")
        elif isinstance(outcome, OutcomeUnknown):
            self.outstanding.orphan(pending)

    # ------------------------------------------------------------------ waiting

    def poll(self, pending: PendingTransaction) -> TxReceipt | None:
        """The receipt of whichever version of ``pending`` was mined, if any yet.

        Raises:
            ChainError: The node cannot be asked (after retries).
        """
        return self.outstanding.poll(pending)

    def _finished(self, pending: PendingTransaction, *, require_success: bool) -> TxReceipt:
        """The receipt of a mined transaction, or the error it ended in."""
        self.outstanding.delivered(pending)
        receipt = cast(TxReceipt, pending.receipt)
        mined = pending.mined_version
        if mined is not None and mined.cancel and not pending.versions[0].cancel:
            raise TransactionCancelled(
                f"{pending.describe()} was cancelled: nonce {pending.nonce} was used by the"
                f" zero-value transfer {mined.hash.to_0x_hex()} (block"
                f" {int(receipt['blockNumber'])}); only its gas was paid",
                pending,
            )
        if require_success and int(receipt["status"]) != 1:
            raise self.explain_failure(pending, receipt)
        return receipt

    def _unfinished(
        self, pending: PendingTransaction, limit: float, failing: P2PChainError | None
    ) -> OutcomeUnknown:
        """The error for a wait that ran out: why the outcome is unknown, gaps explained."""
        self.outstanding.orphan(pending)
        if failing is not None:
            why = f"the node stopped answering while waiting for it ({failing})"
            return ConnectionLost(unknown_outcome(pending, why), pending, why)
        try:
            missing = self.node.missing_nonce(pending)
        except P2PChainError:
            missing = None
        if missing is not None:
            why = (
                f"it waits behind nonce {missing}, which nothing was sent with: it cannot be mined"
                f" until that nonce is used (by the next transaction, or a zero-value transfer to"
                f" yourself: sender.cancel(account, {missing}), `p2pchain tx cancel --nonce"
                f" {missing}`)"
            )
            return NonceGap(unknown_outcome(pending, why), pending, why, missing)
        why = f"it was not mined within {limit:g} s"
        return TransactionTimeout(unknown_outcome(pending, why), pending, why)

    def _rebroadcast(self, pending: PendingTransaction) -> None:
        """While waiting: if the node lost the transaction, send the identical bytes again.

        Raises:
            NonceConflict: Its nonce was used by another transaction: it will never be mined.
        """
        try:
            state = self.node.landed(pending)
            if state != "unknown":
                if state == "nonce-used" and self.poll(pending) is None:
                    self.outstanding.settle(pending, "nonce-used")
                    raise NonceConflict(
                        f"nonce {pending.nonce} of {pending.sender} was used by another"
                        f" transaction; {pending.describe()} was not mined and never will be",
                        pending,
                    )
                return
            self.verify_chain()
            self.node.broadcast(pending, pending.versions[-1], release=False)
        except NonceConflict:
            raise
        except P2PChainError:
            return  # keep waiting; the wait's end says what is known

    def wait(
        self,
        pending: PendingTransaction,
        *,
        timeout: float | None = None,
        require_success: bool = True,
        replace_after: float | None = None,
    ) -> TxReceipt:
        """Wait until a version of ``pending`` is mined and return its receipt.

        Dropped connections and garbled answers do not end the wait: polling goes on until the
        timeout. A transaction the node lost is sent again byte for byte (every
        ``policy.rebroadcast_after`` seconds without a receipt).

        Args:
            pending: From :meth:`submit`.
            timeout: Seconds; ``policy.receipt_timeout`` by default.
            require_success: Raise if it reverted on-chain.
            replace_after: Replace it with higher fees (:meth:`replace`) each time this many
                seconds pass without it being mined; default: see :meth:`stall_replacement`.

        Raises:
            TransactionTimeout: Not mined in time (it may still be); :class:`NonceGap` when it
                waits behind a nonce nothing was sent with.
            ConnectionLost: The node stopped answering (it may still be mined).
            NonceConflict: Its nonce was used by another transaction.
            TransactionCancelled: A cancellation was mined at its nonce instead.
            ContractRevert: It reverted on-chain (typed when the revert can be reproduced).
        """
        limit = self.policy.receipt_timeout if timeout is None else timeout
        if replace_after is None:
            replace_after = self.stall_replacement()
        with self._interruptible([pending]):
            self._wait_loop(pending, limit, replace_after)
        return self._finished(pending, require_success=require_success)

    @contextmanager
    def _interruptible(self, pendings: Sequence[PendingTransaction]) -> Iterator[None]:
        """Turn Ctrl-C while sending or waiting into :class:`WaitInterrupted`, naming what was
        left with an unknown outcome (they stay in the journal)."""
        try:
            yield
        except KeyboardInterrupt as exc:
            if isinstance(exc, WaitInterrupted):
                raise
            left = sorted((p for p in pendings if p.receipt is None), key=lambda p: p.nonce)
            if not left:
                raise
            for pending in left:
                self.outstanding.orphan(pending)
            raise WaitInterrupted(left) from None

    def _wait_loop(
        self, pending: PendingTransaction, limit: float, replace_after: float | None
    ) -> None:
        """Poll until ``pending`` is mined (its receipt set), or raise why the outcome is unknown."""
        start = self._clock()
        next_replacement = start + replace_after if replace_after else None
        every = self.policy.rebroadcast_after
        next_rebroadcast = start + every if every else None
        while True:
            failing: P2PChainError | None = None
            try:
                receipt = self.poll(pending)
            except P2PChainError as exc:
                receipt, failing = None, exc
            if receipt is not None:
                return
            now = self._clock()
            if now - start >= limit:
                raise self._unfinished(pending, limit, failing)
            if failing is None:
                if next_rebroadcast is not None and now >= next_rebroadcast:
                    self._rebroadcast(pending)
                    next_rebroadcast = now + cast(float, every)
                if next_replacement is not None and now >= next_replacement:
                    try:
                        self.replace(pending)
                    except OutcomeUnknown:
                        pass
                    next_replacement = now + cast(float, replace_after)
            self._sleep(self.policy.poll_interval)

    def wait_many(
        self,
        pendings: Sequence[PendingTransaction],
        *,
        timeout: float | None = None,
        require_success: bool = True,
        replace_after: float | None = None,
    ) -> list[TxReceipt]:
        """Wait for many transactions, polling their receipts in batches; receipts in order.

        Args:
            pendings: From :meth:`submit` or :meth:`submit_many`.
            timeout: Seconds; ``policy.receipt_timeout`` by default.
            require_success: Raise if one reverted on-chain.
            replace_after: When no transaction got mined for this many seconds, replace the
                lowest-nonce waiting transaction of each account (:meth:`replace`); default: see
                :meth:`stall_replacement`.

        Raises:
            TransactionTimeout: One was not mined in time (``err.pending``).
            ConnectionLost: The node stopped answering.
            ContractRevert: One reverted on-chain (with ``require_success``).
        """
        limit = self.policy.receipt_timeout if timeout is None else timeout
        stall = self.stall_replacement() if replace_after is None else replace_after
        with self._interruptible(pendings):
            self._wait_many_loop(pendings, limit, stall)
        return [self._finished(p, require_success=require_success) for p in pendings]

    def _wait_many_loop(
        self, pendings: Sequence[PendingTransaction], limit: float, stall: float | None
    ) -> None:
        start = last_progress = self._clock()
        every = self.policy.rebroadcast_after
        next_rebroadcast = start + every if every else None
        mined = sum(p.receipt is not None for p in pendings)
        while True:
            waiting = [p for p in pendings if p.receipt is None]
            if not waiting:
                break
            failing: P2PChainError | None = None
            try:
                if self._batching and len(waiting) > 1:
                    self._poll_batch(waiting)
                else:
                    for pending in waiting:
                        self.poll(pending)
            except P2PChainError as exc:
                failing = exc
            if all(p.receipt is not None for p in waiting):
                break
            now = self._clock()
            if now - start >= limit:
                late = [p for p in pendings if p.receipt is None]
                for other in late[1:]:
                    self.outstanding.orphan(other)
                raise self._unfinished(late[0], limit, failing)
            progress = sum(p.receipt is not None for p in pendings)
            if progress > mined:
                mined, last_progress = progress, now
            elif failing is None:
                heads = self._heads([p for p in pendings if p.receipt is None])
                if next_rebroadcast is not None and now >= next_rebroadcast:
                    for head in heads:
                        self._rebroadcast(head)
                    next_rebroadcast = now + cast(float, every)
                if stall is not None and now - last_progress >= stall:
                    for head in heads:
                        try:
                            self.replace(head)
                        except TransactionError:
                            continue  # mined meanwhile, or refused: keep waiting
                    last_progress = now
            self._sleep(self.policy.poll_interval)

    @staticmethod
    def _heads(waiting: Sequence[PendingTransaction]) -> list[PendingTransaction]:
        """The lowest-nonce waiting transaction of each account (the one blocking the others)."""
        heads: dict[ChecksumAddress, PendingTransaction] = {}
        for pending in waiting:
            head = heads.get(pending.sender)
            if head is None or pending.nonce < head.nonce:
                heads[pending.sender] = pending
        return list(heads.values())

    def stall_replacement(self) -> float | None:
        """Seconds without progress after which waits replace stuck transactions, by default.

        ``policy.replace_after`` when set. Otherwise 2 s on Anvil in automine mode, where a
        transaction that arrives while a block is being mined can be left unmined, queued behind
        a nonce that was just mined (foundry-rs/foundry#10122, reproduced by batches of 100
        transactions); a replacement (same nonce, higher fees) un-sticks it. None (never)
        elsewhere: on a real network, speeding up costs fees and is the caller's decision.
        """
        if self.policy.replace_after is not None:
            return self.policy.replace_after
        if self._anvil_automine is None:
            self._anvil_automine = False
            if self._batching:
                try:
                    version = str(self.rpc.request("web3_clientVersion", []))
                    if version.lower().startswith("anvil"):
                        self._anvil_automine = bool(self.rpc.request("anvil_getAutomine", []))
                except _quiet():
                    pass
        return 2.0 if self._anvil_automine else None

    def _poll_batch(self, waiting: Sequence[PendingTransaction]) -> None:
        from web3._utils.method_formatters import receipt_formatter

        calls: list[tuple[str, list[Any]]] = []
        owners: list[tuple[PendingTransaction, HexBytes]] = []
        for pending in waiting:
            for tx_hash in pending.hashes:
                calls.append(("eth_getTransactionReceipt", [tx_hash.to_0x_hex()]))
                owners.append((pending, tx_hash))
        answers = self.retry("receipt batch", lambda: self.rpc.batch(calls))
        for (pending, tx_hash), answer in zip(owners, answers, strict=True):
            result = answer.get("result") if answer is not None else None
            if not result or pending.receipt is not None:
                continue  # not mined yet, or left out of the answer: ask again next round
            try:
                receipt = cast(TxReceipt, AttributeDict.recursive(receipt_formatter(result)))
                if HexBytes(receipt["transactionHash"]) != tx_hash:
                    continue
            except Exception:  # noqa: BLE001, S112 - a garbled receipt: ask again next round
                continue
            self.outstanding.mined(pending, receipt)

    def explain_failure(self, pending: PendingTransaction, receipt: TxReceipt) -> ContractRevert:
        """The error for a transaction that reverted on-chain, replayed with ``eth_call``."""
        fields = call_fields(pending.tx)
        block = int(receipt["blockNumber"])
        error: ContractRevert
        try:
            self.retry("eth_call", lambda: self.w3.eth.call(fields, block))
        except node_errors() as exc:
            data = revert_data(exc)
            error = (
                decode_revert(data, action=pending.action)
                if data
                else ContractRevert(
                    f"{pending.describe()} reverted on-chain", action=pending.action
                )
            )
        else:
            error = ContractRevert(
                f"{pending.describe()} reverted on-chain (out of gas, or the state changed before"
                " it was mined)",
                action=pending.action,
            )
        error.tx_hash = pending.tx_hash
        return error

    # ------------------------------------------------------------------ replacing, cancelling

    def replace(
        self, pending: PendingTransaction, *, fees: Fees | None = None
    ) -> PendingTransaction:
        """Re-send a stuck transaction with the same nonce and higher fees ("speed up").

        The replacement carries the same recipient, value and data, so whichever version is
        mined, the effect is the same and happens once. Fees rise by ``policy.replacement_bump``
        (and at least to the current suggestion). Nothing is sent if a version was already mined
        or the nonce was used.

        Args:
            pending: The transaction (updated in place with the new version).
            fees: Explicit new fees; each must be at least the bump over the current ones.

        Returns:
            ``pending``.

        Raises:
            TransactionRejected: The node refused the replacement (e.g. underpriced).
            NonceConflict: The nonce was used by a transaction that is not a version of this one.
        """
        if self.poll(pending) is not None:
            return pending
        state = self.node.landed(pending)
        if state == "nonce-used":
            raise NonceConflict(
                f"nonce {pending.nonce} of {pending.sender} was used by another transaction;"
                f" {pending.describe()} will never be mined",
                pending,
            )
        if state == "known" and self.poll(pending) is not None:
            return pending
        tx = {
            k: v
            for k, v in pending.tx.items()
            if k not in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")
        }
        tx.update(self._bumped(Fees.of(pending.tx), fees).as_params())
        self._replace_with(pending, tx, cancel=pending.versions[-1].cancel)
        return pending

    def _bumped(self, current: Fees, fees: Fees | None) -> Fees:
        minimum = current.bumped(self.policy.replacement_bump)
        if fees is None:
            suggested = self.suggest_fees(fresh=True)
            if suggested.legacy == current.legacy:
                minimum = minimum.at_least(suggested)
            return minimum
        if fees.at_least(minimum) != fees:
            raise ChainError(
                f"replacement fees must be at least {minimum} (+"
                f"{float(self.policy.replacement_bump - 1):.1%} on each field)"
            )
        return fees

    def _replace_with(
        self, pending: PendingTransaction, tx: dict[str, Any], *, cancel: bool
    ) -> None:
        """Sign ``tx`` as a new version of ``pending``, journal it, and broadcast it."""
        self.verify_chain()
        signer = self._signers.get(pending.sender)
        if signer is None:
            raise ChainError(f"no signing key for {pending.sender} in this sender")
        signed = signer.sign_transaction({k: v for k, v in tx.items() if k != "from"})
        raw = bytes(signed.raw_transaction)
        version = SignedVersion(tx=tx, raw=raw, hash=HexBytes(keccak(raw)), cancel=cancel)
        self.outstanding.record(pending, version)
        probe = PendingTransaction(
            sender=pending.sender,
            nonce=pending.nonce,
            action=pending.action,
            versions=[*pending.versions, version],
        )
        self.node.broadcast(probe, version, release=False)
        pending.versions.append(version)
        self.outstanding.track(pending)

    def cancel(
        self,
        account: LocalAccount,
        target: PendingTransaction | int,
        *,
        fees: Fees | None = None,
    ) -> PendingTransaction:
        """Use a nonce for a zero-value transfer from ``account`` to itself.

        Given a transaction, this replaces it (same nonce, fees raised by the replacement bump):
        whichever is mined first, the other never is; wait for ``target`` and
        :class:`TransactionCancelled` says the cancellation won. Given a bare nonce, this fills
        it, un-sticking transactions queued behind it.

        Returns:
            The transaction to wait for (``target`` itself when it is a transaction).

        Raises:
            TransactionError: It was already mined, or its nonce already used.
            TransactionRejected: The node refused the cancellation (e.g. underpriced).
            ChainMismatch: The node is on another chain.
        """
        address = account.address
        self._signers[address] = account
        self.verify_chain()
        if isinstance(target, PendingTransaction):
            if target.sender != address:
                raise ChainError(f"{target.describe()} is not signed by {address}")
            receipt = self.poll(target)
            if receipt is not None:
                raise TransactionError(
                    f"{target.describe()} was already mined in block"
                    f" {int(receipt['blockNumber'])}: it cannot be cancelled",
                    target,
                )
            if self.node.landed(target) == "nonce-used":
                self.outstanding.settle(target, "nonce-used")
                raise NonceConflict(
                    f"nonce {target.nonce} of {address} was already used by another transaction:"
                    f" {target.describe()} will never be mined, there is nothing to cancel",
                    target,
                )
            tx = self._cancel_tx(address, target.nonce, self._bumped(Fees.of(target.tx), fees))
            self._replace_with(target, tx, cancel=True)
            return target
        nonce = int(target)
        if nonce < 0:
            raise ChainError(f"invalid nonce {nonce}")
        used = self.node.count(address, "latest")
        if used > nonce:
            raise TransactionError(
                f"nonce {nonce} of {address} is already used ({used} transactions mined): there"
                " is nothing to cancel or fill"
            )
        tx = self._cancel_tx(address, nonce, fees or self.suggest_fees(fresh=True))
        signed = account.sign_transaction({k: v for k, v in tx.items() if k != "from"})
        raw = bytes(signed.raw_transaction)
        version = SignedVersion(tx=tx, raw=raw, hash=HexBytes(keccak(raw)), cancel=True)
        pending = PendingTransaction(
            sender=address,
            nonce=nonce,
            action="cancel",
            versions=[version],
            submitted_at=self._clock(),
            intent=b"cancel",
        )
        self.outstanding.record(pending, version)
        self.outstanding.track(pending)
        self.nonces.avoid(address, {nonce})
        self._send(pending, release=False)
        return pending

    def _cancel_tx(self, address: ChecksumAddress, nonce: int, fees: Fees) -> dict[str, Any]:
        tx: dict[str, Any] = {
            "from": address,
            "to": address,
            "value": 0,
            "data": b"",
            "gas": TRANSFER_GAS,
            "nonce": nonce,
            "chainId": self.chain_id,
        }
        tx.update(fees.as_params())
        return tx

    def resend(self, pending: PendingTransaction) -> str:
        """Send the identical signed bytes of ``pending`` again, if the node lost them.

        Returns:
            ``mined`` (nothing to do), ``pending`` (the node has it: nothing sent) or ``resent``.

        Raises:
            NonceConflict: Its nonce was used by another transaction (it will never be mined).
            TransactionRejected: The node refused the bytes (nothing was sent).
            ChainMismatch: The node is on another chain.
        """
        self.verify_chain()
        if self.poll(pending) is not None:
            return "mined"
        state = self.node.landed(pending)
        if state == "known":
            return "pending"
        if state == "nonce-used":
            self.outstanding.settle(pending, "nonce-used")
            raise NonceConflict(
                f"nonce {pending.nonce} of {pending.sender} was used by another transaction;"
                f" {pending.describe()} will never be mined",
                pending,
            )
        try:
            self.node.broadcast(pending, pending.versions[-1], release=False)
        except (TransactionRejected, NotSent) as exc:
            if isinstance(exc, TransactionRejected):
                self.outstanding.settle(pending, "refused")
                self.nonces.release(pending.sender, pending.nonce)
            raise
        return "resent"

    # ------------------------------------------------------------------ status

    def status(self, tx_hash: str | bytes) -> TxStatus:
        """What the node and the journal know about one transaction hash; see
        :meth:`Outstanding.status`.

        Raises:
            ChainError: The node cannot be asked.
        """
        return self.outstanding.status(tx_hash)

    # ------------------------------------------------------------------ convenience

    def send(
        self,
        account: LocalAccount,
        tx: Mapping[str, Any],
        *,
        action: str | None = None,
        timeout: float | None = None,
        check: bool = True,
        require_success: bool = True,
    ) -> TxReceipt:
        """:meth:`submit` then :meth:`wait`; the receipt.

        Raises:
            ContractRevert: It would revert (typed, before sending) or reverted on-chain.
            TransactionError: It could not be sent or was not mined in time.
        """
        pending = self.submit(account, tx, action=action, check=check)
        return self.wait(pending, timeout=timeout, require_success=require_success)


@contextmanager
def _nothing_sent() -> Iterator[None]:
    """Before anything is signed, a node that cannot be reached (or answers garbage) means that
    nothing was sent: say so, since the person asks themselves exactly that."""
    try:
        yield
    except (ChainError, MalformedAnswer) as exc:
        if type(exc) not in (ChainError, MalformedAnswer) or "nothing was sent" in str(exc):
            raise
        raise type(exc)(f"{exc}; nothing was signed or sent") from exc


def _intent_of_tx(tx: Mapping[str, Any]) -> bytes:
    return intent_of(tx.get("to"), int(tx.get("value", 0)), bytes(HexBytes(tx.get("data") or b"")))


__all__ = ["TRANSFER_GAS", "TransactionSender", "TxStatus", "intent_of"]
