"""Sending a signed transaction so that it is never sent twice, and asking the node about it.

:class:`Broadcaster` sends signed bytes and makes sense of whatever comes back:

* The node acknowledged exactly this hash: sent.
* The node answered an error: classified (already known, nonce too low, refused...). Only a
  refusal by the node itself, or a request that never left (no connection could be opened),
  counts as "not sent".
* Anything else (a dropped connection, a timeout, a gateway error, a garbled or partial answer)
  leaves the outcome unknown: the node is asked for the hash, and the *identical* bytes are sent
  again only when it does not know them and the nonce is still free. A transaction is never
  re-signed. When the node cannot tell, :class:`~p2pchain.chain._pending.ConnectionLost` says so.

It also answers the questions the rest of the sender asks about a transaction: is it known, is
its nonce used, where is its receipt, does it wait behind a missing nonce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from p2pchain._errors import ChainError, P2PChainError
from p2pchain.chain._fees import SenderPolicy
from p2pchain.chain._node_errors import (
    CONNECTION_ERRORS,
    MalformedAnswer,
    classify,
    error_message,
    garbled,
    never_left,
    node_errors,
    reason,
    transient,
)
from p2pchain.chain._nonces import NonceManager
from p2pchain.chain._pending import (
    BatchSubmitError,
    ConnectionLost,
    NonceConflict,
    NotSent,
    OutcomeUnknown,
    PendingTransaction,
    SignedVersion,
    TransactionRejected,
    unknown_outcome,
)
from p2pchain.chain._rpc import NodeRpc


class Broadcaster:
    """Sends signed transactions, never twice, and looks transactions up (see the module).

    Args:
        rpc: The node.
        policy: Attempts and delays.
        nonces: The nonce manager (refused nonces go back, nonce errors resync it).
        sleep: Sleep function.
    """

    def __init__(
        self,
        rpc: NodeRpc,
        policy: SenderPolicy,
        nonces: NonceManager,
        sleep: Callable[[float], None],
    ) -> None:
        self.rpc = rpc
        self.w3: Web3 = rpc.w3
        self.policy = policy
        self.nonces = nonces
        self._sleep = sleep

    # ------------------------------------------------------------------ asking the node

    def count(self, address: str, block: str) -> int:
        """The account's transaction count at ``latest`` (mined) or ``pending``."""
        return int(
            self.rpc.retry(
                "eth_getTransactionCount",
                lambda: int(
                    self.w3.eth.get_transaction_count(cast(Any, address), cast(Any, block))
                ),
            )
        )

    def receipt(self, tx_hash: HexBytes) -> TxReceipt | None:
        """The receipt of this hash, if mined.

        Raises:
            ChainError: The node cannot be asked (:class:`MalformedAnswer` for a receipt that is
                not this transaction's).
        """
        try:
            receipt = self.rpc.retry(
                "eth_getTransactionReceipt", lambda: self.w3.eth.get_transaction_receipt(tx_hash)
            )
        except TransactionNotFound:
            return None
        if receipt is not None and HexBytes(receipt["transactionHash"]) != tx_hash:
            raise MalformedAnswer(
                f"the node answered the receipt of {tx_hash.to_0x_hex()} with another"
                " transaction's receipt"
            )
        return receipt

    def missing_nonce(self, pending: PendingTransaction) -> int | None:
        """The nonce ``pending`` waits behind, if the node has it queued behind a gap."""
        latest = self.count(pending.sender, "latest")
        if latest > pending.nonce:
            return None
        executable = self.count(pending.sender, "pending")
        if executable >= pending.nonce or not self.known(pending):
            return None
        return executable

    # ------------------------------------------------------------------ sending

    def send_raw(self, version: SignedVersion) -> None:
        """Send the signed bytes; return once the node acknowledged exactly this hash."""
        if self.rpc.batching:
            result = self.rpc.request("eth_sendRawTransaction", [HexBytes(version.raw).to_0x_hex()])
            if not isinstance(result, str) or HexBytes(result) != version.hash:
                raise MalformedAnswer(
                    f"the node answered eth_sendRawTransaction with {result!r:.80}, not the hash"
                    f" {version.hash.to_0x_hex()}"
                )
        else:
            self.w3.eth.send_raw_transaction(version.raw)

    def failure(self, exc: Exception) -> str | None:
        """For a failed send: None if it certainly never left, else why it may have arrived.

        Raises:
            Exception: ``exc`` itself when it is the node's answer (to be classified).
        """
        if never_left(exc):
            return None
        if isinstance(exc, CONNECTION_ERRORS) or garbled(exc, remote=self.rpc.remote):
            return reason(exc)
        if isinstance(exc, node_errors()) and transient(exc):
            return reason(exc)  # a rate limit may come after the node took it
        raise exc

    def broadcast(
        self, pending: PendingTransaction, version: SignedVersion, *, release: bool
    ) -> None:
        """Send one version; survive dropped connections without ever sending twice.

        Raises:
            NotSent: Every attempt failed before the request left (nonce released if
                ``release``).
            TransactionRejected, NonceConflict: The node refused it.
            ConnectionLost: The outcome stayed unknown.
        """
        delay = self.policy.retry_delay
        why: str | None = None  # why it may have reached the node; None: it never left
        for attempt in range(1, self.policy.rpc_attempts + 1):
            try:
                self.send_raw(version)
                return
            except Exception as exc:  # noqa: BLE001 - every failure of a send is classified
                try:
                    failed = self.failure(exc)
                except node_errors():
                    self.on_send_error(pending, exc, uncertain=why, release=release)
                    return
                why = why or failed
            if attempt == self.policy.rpc_attempts:
                break
            self._sleep(delay)
            delay = min(delay * 2, 2.0)
            if why is not None and self.resolved(pending):
                return  # the node has it: do not send it again
        if why is None:
            if release:
                self.nonces.release(pending.sender, pending.nonce)
            raise NotSent(
                f"cannot reach the node (no connection could be opened): {pending.describe()}"
                " was not sent, nothing was paid",
                pending,
            )
        if self.resolved(pending):
            return
        raise ConnectionLost(unknown_outcome(pending, why), pending, why)

    def resolved(self, pending: PendingTransaction) -> bool:
        """After an uncertain send: True if the node has it; False if not, or if it cannot tell.

        Raises:
            NonceConflict: Its nonce was used by another transaction.
        """
        try:
            return self.resolve_uncertain(pending)
        except NonceConflict:
            raise
        except P2PChainError:
            return False

    def resolve_uncertain(self, pending: PendingTransaction) -> bool:
        """After a dropped send: True if the node has it; raise if its nonce was taken."""
        state = self.landed(pending)
        if state == "known":
            return True
        if state == "nonce-used":
            self.nonces.resync(pending.sender)
            raise NonceConflict(
                f"nonce {pending.nonce} of {pending.sender} was used by another transaction;"
                f" {pending.describe()} was not mined and never will be (nothing was paid)",
                pending,
            )
        return False

    def on_send_error(
        self,
        pending: PendingTransaction,
        exc: BaseException,
        *,
        uncertain: str | None,
        release: bool,
    ) -> None:
        """Handle a node's error answer to a send: return if the transaction is in, else raise.

        Args:
            pending: The transaction.
            exc: The node's error answer.
            uncertain: Why an earlier attempt may have reached the node (None: none did).
            release: Hand the nonce back if it was certainly not sent.
        """
        kind = classify(exc)
        if kind == "known":
            return
        if uncertain or kind == "nonce-low":
            try:
                if self.resolve_uncertain(pending):
                    return
            except NonceConflict:
                raise
            except P2PChainError as lookup:
                if not uncertain:  # it never reached the node before: this one was refused
                    raise NonceConflict(
                        f"the node says nonce {pending.nonce} of {pending.sender} is already"
                        f" used; {pending.describe()} was not sent (nothing was paid)",
                        pending,
                    ) from exc
                why = (
                    f"{uncertain}; sent again, the node answered {error_message(exc)!r}, and"
                    " could not be asked which transaction has its nonce"
                )
                raise ConnectionLost(unknown_outcome(pending, why), pending, why) from lookup
            if kind == "nonce-low":
                self.nonces.resync(pending.sender)
                raise NonceConflict(
                    f"nonce {pending.nonce} of {pending.sender} is already used;"
                    f" {pending.describe()} was not sent (nothing was paid)",
                    pending,
                ) from exc
        if release:
            self.nonces.release(pending.sender, pending.nonce)
        if kind == "nonce-high":
            self.nonces.resync(pending.sender)
        message = error_message(exc)
        raise TransactionRejected(
            f"the node refused {pending.describe()}: {message}", pending, message
        ) from exc

    def landed(self, pending: PendingTransaction) -> str:
        """``known`` (the node has a version), ``nonce-used`` (by something else) or ``unknown``."""
        if self.known(pending):
            return "known"
        mined = self.count(pending.sender, "latest")
        if mined > pending.nonce:
            return "known" if self.known(pending) else "nonce-used"
        return "unknown"

    def known(self, pending: PendingTransaction) -> bool:
        return any(self.has_transaction(h) for h in pending.hashes)

    def has_transaction(self, tx_hash: HexBytes) -> bool:
        try:
            found = self.rpc.retry(
                "eth_getTransactionByHash", lambda: self.w3.eth.get_transaction(tx_hash)
            )
        except TransactionNotFound:
            return False
        return found is not None

    def broadcast_many(
        self, pendings: list[PendingTransaction], managed: list[bool]
    ) -> list[PendingTransaction | P2PChainError]:
        """Send many versions as one batch; each one's outcome (never raises for one of them)."""
        if not self.rpc.batching or len(pendings) == 1:
            results: list[PendingTransaction | P2PChainError] = []
            for pending, own in zip(pendings, managed, strict=True):
                try:
                    self.broadcast(pending, pending.versions[0], release=own)
                    results.append(pending)
                except P2PChainError as exc:
                    results.append(exc)
            return results
        todo = list(range(len(pendings)))
        outcome: dict[int, PendingTransaction | P2PChainError] = {}
        why: dict[int, str] = {}
        delay = self.policy.retry_delay
        for attempt in range(1, self.policy.rpc_attempts + 1):
            calls = [
                ("eth_sendRawTransaction", [HexBytes(pendings[i].raw).to_0x_hex()]) for i in todo
            ]
            try:
                answers: list[dict[str, Any] | None] | None = self.rpc.batch(calls)
            except ChainError as exc:
                if not isinstance(exc, MalformedAnswer):
                    # the node refused the batch as a whole (it ran none of it): one by one
                    for i in todo:
                        try:
                            self.broadcast(pendings[i], pendings[i].versions[0], release=managed[i])
                            outcome[i] = pendings[i]
                        except P2PChainError as err:
                            outcome[i] = err
                    todo = []
                    break
                answers = None
                for i in todo:
                    why.setdefault(i, reason(exc))
            except Exception as exc:  # noqa: BLE001 - every failure of a send is classified
                failed = self.failure(exc)
                answers = None
                if failed is not None:
                    for i in todo:
                        why.setdefault(i, failed)
            remaining: list[int] = []
            if answers is None:
                remaining = todo
            else:
                for i, answer in zip(todo, answers, strict=True):
                    if answer is None:
                        why.setdefault(i, "the node's batch answer left it out")
                        remaining.append(i)
                        continue
                    if answer.get("error") is None:
                        result = answer.get("result")
                        if isinstance(result, str) and HexBytes(result) == pendings[i].hash:
                            outcome[i] = pendings[i]
                        else:
                            why.setdefault(i, "the node answered with another hash")
                            remaining.append(i)
                        continue
                    error = Web3RPCError(str(answer["error"]), rpc_response=cast(Any, answer))
                    if transient(error):
                        why.setdefault(i, reason(error))
                        remaining.append(i)
                        continue
                    try:
                        self.on_send_error(
                            pendings[i], error, uncertain=why.get(i), release=managed[i]
                        )
                        outcome[i] = pendings[i]
                    except P2PChainError as err:
                        outcome[i] = err
            todo = remaining
            if not todo or attempt == self.policy.rpc_attempts:
                break
            self._sleep(delay)
            delay = min(delay * 2, 2.0)
            still: list[int] = []
            for i in todo:
                if i in why:
                    try:
                        if self.resolved(pendings[i]):
                            outcome[i] = pendings[i]
                            continue
                    except NonceConflict as err:
                        outcome[i] = err
                        continue
                still.append(i)
            todo = still
            if not todo:
                break
        for i in todo:
            if i not in why:
                if managed[i]:
                    self.nonces.release(pendings[i].sender, pendings[i].nonce)
                outcome[i] = NotSent(
                    f"cannot reach the node (no connection could be opened):"
                    f" {pendings[i].describe()} was not sent, nothing was paid",
                    pendings[i],
                )
                continue
            try:
                if self.resolved(pendings[i]):
                    outcome[i] = pendings[i]
                    continue
            except NonceConflict as err:
                outcome[i] = err
                continue
            outcome[i] = ConnectionLost(unknown_outcome(pendings[i], why[i]), pendings[i], why[i])
        return [outcome[i] for i in range(len(pendings))]

    @staticmethod
    def batch_outcome(
        results: list[PendingTransaction | P2PChainError],
    ) -> list[PendingTransaction]:
        failed = [r for r in results if isinstance(r, P2PChainError)]
        if failed:
            unknown = [r for r in failed if isinstance(r, OutcomeUnknown)]
            what = (
                f"{len(failed) - len(unknown)} of {len(results)} transactions were not sent"
                if len(unknown) < len(failed)
                else ""
            )
            if unknown:
                what += (", and " if what else "") + (
                    f"the outcome of {len(unknown)} of {len(results)} is unknown (find out with"
                    " client.wait on err.pendings; sending the same calls again resumes them)"
                )
            raise BatchSubmitError(f"{what}; first: {failed[0]}", results)
        return cast(list[PendingTransaction], results)


__all__ = ["Broadcaster"]
