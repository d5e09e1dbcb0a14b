"""Sending many transactions from one process: local signing, nonces, fees, receipts, retries.

:class:`TransactionSender` signs every transaction locally (a ``LocalAccount``) and sends it raw,
so it works the same on the embedded chain, Anvil, Ganache and a real network. It is built for a
process that sends a lot:

* **Nonces** come from a per-account :class:`NonceManager` that reserves them locally, so many
  transactions can be in flight without waiting for receipts. A nonce that was never accepted by
  the node is handed out again; on nonce errors the manager resynchronises from the node's
  ``pending`` transaction count.
* **Fees** are EIP-1559: ``maxFeePerGas = base fee x 2 + priority fee``, the priority fee being the
  node's suggestion (``eth_maxPriorityFeePerGas``) unless configured. Chains without a base fee get
  a legacy ``gasPrice``. Suggestions are cached for a second.
* **Gas** is estimated on the ``pending`` block with a margin. The estimate doubles as the
  pre-flight check: a call that would revert raises the contract's typed error
  (:mod:`p2pchain.chain._contract_errors`) before any gas is spent.
* **Receipts** are awaited with a timeout; a transaction stuck in the mempool can be replaced by
  the same transaction with fees raised by 12.5% (above geth's 10% rule), automatically after
  ``replace_after`` seconds if asked.
* **Batches**: :meth:`TransactionSender.submit_many` and :meth:`TransactionSender.wait_many` put
  many estimates, sends and receipt polls into single JSON-RPC batch requests on HTTP nodes.

Never paying twice
------------------
A connection can drop after the node received a transaction but before it answered. The rules:

1. The transaction hash is computed locally (``keccak(raw)``) before sending.
2. When it is unknown whether the node got the transaction (connection dropped, timeout, HTTP
   error), the sender asks the node for that hash. If the node knows it, it was sent. If not, the
   *identical signed bytes* are sent again: the same nonce and signature can be mined at most once.
3. Before anything is broadcast again (a re-send or a replacement), the sender checks that no
   version of the transaction is known and that the account's mined nonce has not moved past it.
   The node is never trusted to refuse a used nonce: Ganache 7 executes a re-sent transaction a
   second time (trufflesuite/ganache#3794, reproduced here).
4. A transaction is never re-signed with a new nonce. If its nonce was taken by another
   transaction, :class:`NonceConflict` says so and nothing was paid.
5. A replacement keeps the nonce, recipient, value and data and only raises the fees, so at most
   one version is ever mined.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.datastructures import AttributeDict
from web3.exceptions import (
    MethodUnavailable,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.providers import HTTPProvider
from web3.types import BlockIdentifier, RPCEndpoint, TxParams, TxReceipt

from p2pchain._errors import ChainError, P2PChainError
from p2pchain.chain._contract_errors import decode_revert
from p2pchain.chain._fees import Fees, SenderPolicy
from p2pchain.chain._node_errors import (
    CONNECTION_ERRORS,
    NODE_ERRORS,
    RETRYABLE,
    classify,
    error_message,
    method_missing,
    transient,
)
from p2pchain.chain._nonces import NonceManager
from p2pchain.chain._pending import (
    BatchSubmitError,
    ConnectionLost,
    NonceConflict,
    PendingTransaction,
    SignedVersion,
    TransactionError,
    TransactionRejected,
    TransactionTimeout,
)
from p2pchain.chain._revert import ContractRevert, revert_data

T = TypeVar("T")

# --------------------------------------------------------------------------------------------
# the sender


def _rpc_tx(tx: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction as JSON-RPC wants it (hex quantities) for eth_call / eth_estimateGas."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if key in ("from", "to"):
            out[key] = value
        elif key == "data":
            out[key] = HexBytes(value).to_0x_hex()
        elif key in ("value", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "nonce"):
            out[key] = hex(int(value))
    return out


def _call_fields(tx: Mapping[str, Any]) -> TxParams:
    keep = ("from", "to", "data", "value", "gas")
    return cast(TxParams, {k: tx[k] for k in keep if k in tx})


class TransactionSender:
    """Signs, sends and confirms transactions for any number of local accounts.

    Args:
        w3: Connection to the chain.
        policy: Fee, gas, retry and timeout settings.
        sleep: Sleep function (tests replace it).
        clock: Monotonic clock (tests replace it).
    """

    def __init__(
        self,
        w3: Web3,
        policy: SenderPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.w3 = w3
        self.policy = policy or SenderPolicy()
        self._sleep = sleep
        self._clock = clock
        self.nonces = NonceManager(self._pending_count)
        self._chain_id: int | None = None
        self._fees: tuple[float, Fees] | None = None
        self._pending_estimates = True  # cleared for nodes that cannot estimate on "pending"
        self._batching = isinstance(w3.provider, HTTPProvider)
        self._signers: dict[ChecksumAddress, LocalAccount] = {}  # for replacements
        self._anvil_automine: bool | None = None

    # ------------------------------------------------------------------ plumbing

    def retry(self, what: str, fn: Callable[[], T]) -> T:
        """Run a read-only request, retrying connection errors and "try again" answers.

        Raises:
            ChainError: Still failing after ``policy.rpc_attempts`` attempts.
        """
        delay = self.policy.retry_delay
        last: BaseException | None = None
        for attempt in range(self.policy.rpc_attempts):
            try:
                return fn()
            except RETRYABLE as exc:
                if not transient(exc):
                    raise
                last = exc
                if attempt + 1 < self.policy.rpc_attempts:
                    self._sleep(delay)
                    delay = min(delay * 2, 2.0)
        raise ChainError(f"cannot reach the node ({what}): {last}") from last

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
        """Send raw JSON-RPC requests as one batch (HTTP nodes), answers in order.

        Each answer is the raw response object (``result`` or ``error``); nothing is formatted.
        Connection errors propagate: callers decide whether retrying is safe.

        Raises:
            ChainError: The node answered the batch with a single error.
        """
        if not calls:
            return []
        provider = self.w3.provider
        if self._batching and len(calls) > 1:
            requests_ = [(RPCEndpoint(m), list(p)) for m, p in calls]
            response = cast(HTTPProvider, provider).make_batch_request(requests_)
            if isinstance(response, list):
                return [dict(r) for r in response]
            raise ChainError(f"the node refused a batch request: {response.get('error')}")
        return [dict(provider.make_request(RPCEndpoint(m), list(p))) for m, p in calls]

    @property
    def batching(self) -> bool:
        """Whether requests go to the node as JSON-RPC batches (HTTP nodes)."""
        return self._batching

    @property
    def chain_id(self) -> int:
        """The chain id, read once."""
        if self._chain_id is None:
            self._chain_id = int(self.retry("eth_chainId", lambda: self.w3.eth.chain_id))
        return self._chain_id

    def _pending_count(self, address: ChecksumAddress) -> int:
        return int(
            self.retry(
                "eth_getTransactionCount",
                lambda: self.w3.eth.get_transaction_count(address, "pending"),
            )
        )

    # ------------------------------------------------------------------ fees and gas

    def suggest_fees(self, *, fresh: bool = False) -> Fees:
        """Fees for a new transaction (cached for ``policy.fee_cache_seconds``).

        EIP-1559 on chains with a base fee: ``maxFeePerGas = base x multiplier + priority``, the
        priority fee being ``policy.priority_fee`` or the node's suggestion (at least
        ``policy.min_priority_fee``). Legacy ``gasPrice`` (the node's ``eth_gasPrice``) otherwise.
        """
        now = self._clock()
        if not fresh and self._fees is not None:
            at, fees = self._fees
            if now - at < self.policy.fee_cache_seconds:
                return fees
        block = self.retry("eth_getBlockByNumber", lambda: self.w3.eth.get_block("latest"))
        base_fee = block.get("baseFeePerGas")
        if base_fee is None or self.policy.legacy:
            fees = Fees(gas_price=int(self.retry("eth_gasPrice", lambda: self.w3.eth.gas_price)))
        else:
            priority = self.policy.priority_fee
            if priority is None:
                priority = max(self._node_priority_fee(), self.policy.min_priority_fee)
            fees = Fees(int(base_fee) * self.policy.base_fee_multiplier + priority, priority)
        self._fees = (now, fees)
        return fees

    def _node_priority_fee(self) -> int:
        try:
            return int(self.retry("eth_maxPriorityFeePerGas", lambda: self.w3.eth.max_priority_fee))
        except (Web3Exception, ValueError, NotImplementedError, ChainError):
            return self.policy.fallback_priority_fee

    def check(self, tx: Mapping[str, Any], *, action: str | None = None) -> None:
        """Pre-flight ``eth_call`` on the pending block; raise the typed revert if it fails.

        Raises:
            ContractRevert: The call reverts (a :class:`~p2pchain.chain._contract_errors.CustomError`
                subclass for a contract error).
            TransactionRejected: The node refused the call for another reason.
        """
        try:
            if self._batching:
                self.retry(
                    "eth_call",
                    lambda: self._raw("eth_call", [_rpc_tx(_call_fields(tx)), "pending"]),
                )
            else:
                self.retry("eth_call", lambda: self.w3.eth.call(_call_fields(tx), "pending"))
        except NODE_ERRORS as exc:
            raise self._preflight_error(exc, tx, action) from None

    def estimate_gas(self, tx: Mapping[str, Any], *, action: str | None = None) -> int:
        """Gas limit for ``tx`` (estimate x margin), checking on the way that it does not revert.

        The estimate runs on the pending block and fails with the same revert data as an
        ``eth_call``. On nodes that cannot estimate on the pending block, an ``eth_call`` on the
        pending block is the check and the estimate is made on the latest block.

        Raises:
            ContractRevert: The transaction would revert (typed).
            TransactionRejected: The node refused it for another reason (insufficient funds...).
        """
        fields = cast(TxParams, {k: v for k, v in _call_fields(tx).items() if k != "gas"})
        if self._pending_estimates:
            try:
                return self._with_margin(self._estimate_pending(fields))
            except (MethodUnavailable, NotImplementedError):
                self._pending_estimates = False
            except NODE_ERRORS as exc:
                if method_missing(exc):
                    self._pending_estimates = False
                else:
                    raise self._estimate_error(exc, tx, action) from None
        self.check(tx, action=action)
        try:
            estimate = self.retry("eth_estimateGas", lambda: self.w3.eth.estimate_gas(fields))
        except NODE_ERRORS as exc:
            if revert_data(exc) is None:
                raise self._preflight_error(exc, tx, action) from None
            return self.policy.fallback_gas  # passes on the pending block, not on the latest
        return self._with_margin(int(estimate))

    def call(self, tx: Mapping[str, Any], block: BlockIdentifier = "latest") -> bytes:
        """``eth_call`` (retried on connection errors); the raw return data.

        Raises:
            Web3RPCError, ContractLogicError: The node's error (a revert, typically); decode it
                with :func:`p2pchain.chain._contract_errors.revert_data`.
        """
        if self._batching:
            tag = hex(block) if isinstance(block, int) else block
            result = self.retry("eth_call", lambda: self._raw("eth_call", [_rpc_tx(tx), tag]))
            return bytes(HexBytes(result))
        return bytes(
            self.retry("eth_call", lambda: self.w3.eth.call(cast(TxParams, dict(tx)), block))
        )

    def _estimate_pending(self, fields: TxParams) -> int:
        if self._batching:
            result = self.retry(
                "eth_estimateGas",
                lambda: self._raw("eth_estimateGas", [_rpc_tx(fields), "pending"]),
            )
            return int(result, 16)
        return int(
            self.retry("eth_estimateGas", lambda: self.w3.eth.estimate_gas(fields, "pending"))
        )

    def _raw(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request past web3's middleware (which asks for the chain id every time).

        Used on HTTP nodes for the hot path: estimates, pre-flight calls, raw sends.

        Raises:
            Web3RPCError: The node answered with an error (the response is attached).
        """
        response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise Web3RPCError(str(response["error"]), rpc_response=response)
        return response.get("result")

    def _with_margin(self, estimate: int) -> int:
        return math.ceil(estimate * self.policy.gas_margin)

    def _estimate_error(
        self, exc: BaseException, tx: Mapping[str, Any], action: str | None
    ) -> P2PChainError:
        data = revert_data(exc)
        if data is None:
            return self._preflight_error(exc, tx, action)
        if data:
            return decode_revert(data, action=action)
        # some nodes' estimators drop the revert data: ask eth_call for it
        try:
            self.check(tx, action=action)
        except ContractRevert as typed:
            return typed
        return decode_revert(b"", action=action)

    def _preflight_error(
        self, exc: BaseException, tx: Mapping[str, Any], action: str | None
    ) -> P2PChainError:
        if isinstance(exc, P2PChainError):
            return exc
        data = revert_data(exc)
        if data is not None:
            return decode_revert(data, action=action)
        message = error_message(exc)
        if "insufficient funds" in message.lower():
            return TransactionRejected(
                f"{tx.get('from')} cannot pay for this transaction (value {int(tx.get('value', 0))}"
                f" wei plus gas): insufficient funds",
                None,
                message,
            )
        return TransactionRejected(f"the node refused the call: {message}", None, message)

    def fill(
        self, tx: Mapping[str, Any], *, sender: str, action: str | None = None, check: bool = True
    ) -> dict[str, Any]:
        """Complete ``tx`` with sender, chain id, value, gas and fees (no nonce).

        Fields already present are kept. Without ``gas``, the estimate is also the pre-flight
        check; with ``gas`` the check is an ``eth_call`` (unless ``check`` is False).

        Raises:
            ContractRevert: It would revert.
            TransactionRejected: The node refused it for another reason.
        """
        filled: dict[str, Any] = dict(tx)
        filled["from"] = Web3.to_checksum_address(filled.get("from", sender))
        if filled["from"] != Web3.to_checksum_address(sender):
            raise ChainError(f"transaction 'from' {filled['from']} is not the sender {sender}")
        filled.setdefault("value", 0)
        filled.setdefault("chainId", self.chain_id)
        if "gas" not in filled:
            filled["gas"] = self.estimate_gas(filled, action=action)
        elif check:
            self.check(filled, action=action)
        if "gasPrice" not in filled and "maxFeePerGas" not in filled:
            filled.update(self.suggest_fees().as_params())
        return filled

    # ------------------------------------------------------------------ sending

    def submit(
        self,
        account: LocalAccount,
        tx: Mapping[str, Any],
        *,
        action: str | None = None,
        check: bool = True,
    ) -> PendingTransaction:
        """Fill, sign and send ``tx`` without waiting for it to be mined.

        Args:
            account: The signer.
            tx: Partial transaction (``to``, ``data``, ``value``; anything else is filled in).
                A ``nonce`` given here is used as is and not managed.
            action: Contract function name, for typed revert messages.
            check: Pre-check with ``eth_call`` when ``gas`` is given (the estimate is the check
                otherwise).

        Returns:
            The pending transaction; pass it to :meth:`wait`.

        Raises:
            ContractRevert: It would revert (nothing was sent).
            TransactionRejected: The node refused it (nothing was sent; the nonce is reused).
            NonceConflict: Its nonce was used by another transaction.
            ConnectionLost: The node became unreachable; ``err.pending`` may still be mined.
        """
        filled = self.fill(tx, sender=account.address, action=action, check=check)
        self._signers[account.address] = account
        managed = "nonce" not in filled
        if managed:
            filled["nonce"] = self.nonces.reserve(account.address)
        try:
            pending = self._sign(account, filled, action)
        except Exception:
            if managed:
                self.nonces.release(account.address, int(filled["nonce"]))
            raise
        self._broadcast(pending, pending.versions[0], release=managed)
        return pending

    def submit_many(
        self,
        items: Sequence[tuple[LocalAccount, Mapping[str, Any], str | None]],
        *,
        check: bool = True,
    ) -> list[PendingTransaction]:
        """Fill, sign and send many transactions, pipelined, in as few requests as possible.

        Estimates (the pre-flight checks) go to the node as one batch, then every transaction is
        signed with a reserved nonce, then all are sent as one batch. Nothing is sent if any
        pre-flight check fails.

        Args:
            items: ``(account, partial tx, action)`` per transaction, sent in this order.
            check: As for :meth:`submit`.

        Returns:
            The pending transactions, in order.

        Raises:
            ContractRevert: One would revert; ``err.batch_index`` says which. Nothing was sent.
            BatchSubmitError: Some were not sent; ``err.results`` has each one's outcome.
        """
        if not items:
            return []
        filled = self._fill_many(items, check=check)
        pendings: list[PendingTransaction] = []
        managed: list[bool] = []
        for (account, _, action), tx in zip(items, filled, strict=True):
            self._signers[account.address] = account
            own = "nonce" not in tx
            if own:
                tx["nonce"] = self.nonces.reserve(account.address)
            managed.append(own)
            pendings.append(self._sign(account, tx, action))
        return self._broadcast_many(pendings, managed)

    def _fill_many(
        self,
        items: Sequence[tuple[LocalAccount, Mapping[str, Any], str | None]],
        *,
        check: bool,
    ) -> list[dict[str, Any]]:
        if not self._batching or not self._pending_estimates:
            out = []
            for index, (account, tx, action) in enumerate(items):
                try:
                    out.append(self.fill(tx, sender=account.address, action=action, check=check))
                except ContractRevert as exc:
                    exc.batch_index = index  # type: ignore[attr-defined]
                    raise
            return out
        fees = self.suggest_fees()
        chain_id = self.chain_id
        prepared: list[dict[str, Any]] = []
        calls: list[tuple[str, list[Any]]] = []
        slots: list[int] = []
        for index, (account, tx, _) in enumerate(items):
            filled = dict(tx)
            filled["from"] = account.address
            filled.setdefault("value", 0)
            filled.setdefault("chainId", chain_id)
            if "gasPrice" not in filled and "maxFeePerGas" not in filled:
                filled.update(fees.as_params())
            prepared.append(filled)
            fields = {k: v for k, v in filled.items() if k in ("from", "to", "data", "value")}
            if "gas" not in filled:
                calls.append(("eth_estimateGas", [_rpc_tx(fields), "pending"]))
                slots.append(index)
            elif check:
                calls.append(("eth_call", [_rpc_tx(dict(fields, gas=filled["gas"])), "pending"]))
                slots.append(index)
        answers = self.retry("estimate batch", lambda: self.batch(calls))
        for index, call, answer in zip(slots, calls, answers, strict=True):
            action = items[index][2]
            if "error" in answer:
                error = Web3RPCError(str(answer["error"]), rpc_response=cast(Any, answer))
                if call[0] == "eth_estimateGas" and method_missing(error):
                    self._pending_estimates = False  # this node cannot estimate on "pending"
                    return self._fill_many(items, check=check)
                typed = self._estimate_error(error, prepared[index], action)
                typed.batch_index = index  # type: ignore[attr-defined]
                raise typed
            if call[0] == "eth_estimateGas":
                prepared[index]["gas"] = self._with_margin(int(answer["result"], 16))
        return prepared

    def _sign(
        self, account: LocalAccount, tx: Mapping[str, Any], action: str | None
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
        )

    def _send_raw(self, raw: bytes) -> None:
        if self._batching:
            self._raw("eth_sendRawTransaction", [HexBytes(raw).to_0x_hex()])
        else:
            self.w3.eth.send_raw_transaction(raw)

    def _broadcast(
        self, pending: PendingTransaction, version: SignedVersion, *, release: bool
    ) -> None:
        """Send one version; survive dropped connections without ever sending twice."""
        delay = self.policy.retry_delay
        uncertain = False
        attempts = 0
        while True:
            attempts += 1
            try:
                self._send_raw(version.raw)
                return
            except CONNECTION_ERRORS as exc:
                uncertain = True
                if attempts >= self.policy.rpc_attempts:
                    raise ConnectionLost(
                        f"lost the connection to the node while sending {pending.describe()}:"
                        f" it may still be mined; wait for it before sending anything else"
                        f" ({exc})",
                        pending,
                    ) from exc
                self._sleep(delay)
                delay = min(delay * 2, 2.0)
                if self._resolve_uncertain(pending):
                    return
                continue  # the node never got it: send the identical bytes again
            except NODE_ERRORS as exc:
                if transient(exc) and attempts < self.policy.rpc_attempts:
                    uncertain = True  # a rate limit may come after the node took it
                    self._sleep(delay)
                    delay = min(delay * 2, 2.0)
                    if self._resolve_uncertain(pending):
                        return
                    continue
                self._on_send_error(pending, exc, uncertain=uncertain, release=release)
                return

    def _resolve_uncertain(self, pending: PendingTransaction) -> bool:
        """After a dropped send: True if the node has it; raise if its nonce was taken."""
        state = self._landed(pending)
        if state == "known":
            return True
        if state == "nonce-used":
            self.nonces.resync(pending.sender)
            raise NonceConflict(
                f"nonce {pending.nonce} of {pending.sender} was used by another transaction;"
                f" {pending.describe()} was not sent and never will be (nothing was paid)",
                pending,
            )
        return False

    def _on_send_error(
        self, pending: PendingTransaction, exc: BaseException, *, uncertain: bool, release: bool
    ) -> None:
        """Handle a node's error answer to a send: return if the transaction is in, else raise."""
        kind = classify(exc)
        if kind == "known":
            return
        if uncertain or kind == "nonce-low":
            if self._resolve_uncertain(pending):
                return
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

    def _landed(self, pending: PendingTransaction) -> str:
        """``known`` (the node has a version), ``nonce-used`` (by something else) or ``unknown``."""
        if self._known(pending):
            return "known"
        mined = int(
            self.retry(
                "eth_getTransactionCount",
                lambda: self.w3.eth.get_transaction_count(pending.sender, "latest"),
            )
        )
        if mined > pending.nonce:
            return "known" if self._known(pending) else "nonce-used"
        return "unknown"

    def _known(self, pending: PendingTransaction) -> bool:
        return any(self._has_transaction(h) for h in pending.hashes)

    def _has_transaction(self, tx_hash: HexBytes) -> bool:
        try:
            self.retry("eth_getTransactionByHash", lambda: self.w3.eth.get_transaction(tx_hash))
        except TransactionNotFound:
            return False
        return True

    def _broadcast_many(
        self, pendings: list[PendingTransaction], managed: list[bool]
    ) -> list[PendingTransaction]:
        if not self._batching or len(pendings) == 1:
            results: list[PendingTransaction | P2PChainError] = []
            for pending, own in zip(pendings, managed, strict=True):
                try:
                    self._broadcast(pending, pending.versions[0], release=own)
                    results.append(pending)
                except P2PChainError as exc:
                    results.append(exc)
            return self._batch_outcome(results)
        todo = list(range(len(pendings)))
        outcome: dict[int, PendingTransaction | P2PChainError] = {}
        uncertain = False
        delay = self.policy.retry_delay
        for attempt in range(self.policy.rpc_attempts):
            try:
                answers = self.batch(
                    [
                        ("eth_sendRawTransaction", [HexBytes(pendings[i].raw).to_0x_hex()])
                        for i in todo
                    ]
                )
            except CONNECTION_ERRORS as exc:
                uncertain = True
                if attempt + 1 >= self.policy.rpc_attempts:
                    for i in todo:
                        outcome[i] = ConnectionLost(
                            f"lost the connection to the node while sending"
                            f" {pendings[i].describe()}: it may still be mined ({exc})",
                            pendings[i],
                        )
                    break
                self._sleep(delay)
                delay = min(delay * 2, 2.0)
                remaining = []
                for i in todo:
                    try:
                        if self._resolve_uncertain(pendings[i]):
                            outcome[i] = pendings[i]
                        else:
                            remaining.append(i)
                    except P2PChainError as err:
                        outcome[i] = err
                todo = remaining
                if not todo:
                    break
                continue
            for i, answer in zip(todo, answers, strict=True):
                if "error" not in answer:
                    outcome[i] = pendings[i]
                    continue
                error = Web3RPCError(str(answer["error"]), rpc_response=cast(Any, answer))
                try:
                    self._on_send_error(pendings[i], error, uncertain=uncertain, release=managed[i])
                    outcome[i] = pendings[i]
                except P2PChainError as err:
                    outcome[i] = err
            break
        return self._batch_outcome([outcome[i] for i in range(len(pendings))])

    @staticmethod
    def _batch_outcome(
        results: list[PendingTransaction | P2PChainError],
    ) -> list[PendingTransaction]:
        failed = [r for r in results if isinstance(r, P2PChainError)]
        if failed:
            raise BatchSubmitError(
                f"{len(failed)} of {len(results)} transactions were not sent; first: {failed[0]}",
                results,
            )
        return cast(list[PendingTransaction], results)

    # ------------------------------------------------------------------ waiting

    def _receipt(self, tx_hash: HexBytes) -> TxReceipt | None:
        try:
            return self.retry(
                "eth_getTransactionReceipt", lambda: self.w3.eth.get_transaction_receipt(tx_hash)
            )
        except TransactionNotFound:
            return None

    def poll(self, pending: PendingTransaction) -> TxReceipt | None:
        """The receipt of whichever version of ``pending`` was mined, if any yet."""
        if pending.receipt is not None:
            return pending.receipt
        for tx_hash in pending.hashes:
            receipt = self._receipt(tx_hash)
            if receipt is not None:
                self._mined(pending, receipt)
                return receipt
        return None

    def _mined(self, pending: PendingTransaction, receipt: TxReceipt) -> None:
        pending.receipt = receipt
        self.nonces.settle(pending.sender, pending.nonce)

    def wait(
        self,
        pending: PendingTransaction,
        *,
        timeout: float | None = None,
        require_success: bool = True,
        replace_after: float | None = None,
    ) -> TxReceipt:
        """Wait until a version of ``pending`` is mined and return its receipt.

        Args:
            pending: From :meth:`submit`.
            timeout: Seconds; ``policy.receipt_timeout`` by default.
            require_success: Raise if it reverted on-chain.
            replace_after: Replace it with higher fees (:meth:`replace`) each time this many
                seconds pass without it being mined; default: see :meth:`stall_replacement`.

        Raises:
            TransactionTimeout: Not mined in time (it may still be).
            ContractRevert: It reverted on-chain (typed when the revert can be reproduced).
        """
        limit = self.policy.receipt_timeout if timeout is None else timeout
        start = self._clock()
        if replace_after is None:
            replace_after = self.stall_replacement()
        next_replacement = start + replace_after if replace_after else None
        while True:
            receipt = self.poll(pending)
            if receipt is not None:
                break
            now = self._clock()
            if now - start >= limit:
                raise TransactionTimeout(
                    f"{pending.describe()} was not mined within {limit:g} s; it may still be:"
                    " wait again, or speed it up with TransactionSender.replace",
                    pending,
                )
            if next_replacement is not None and now >= next_replacement:
                self.replace(pending)
                next_replacement = now + cast(float, replace_after)
            self._sleep(self.policy.poll_interval)
        if require_success and int(receipt["status"]) != 1:
            raise self.explain_failure(pending, receipt)
        return receipt

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
            ContractRevert: One reverted on-chain (with ``require_success``).
        """
        limit = self.policy.receipt_timeout if timeout is None else timeout
        stall = self.stall_replacement() if replace_after is None else replace_after
        start = last_progress = self._clock()
        mined = sum(p.receipt is not None for p in pendings)
        while True:
            waiting = [p for p in pendings if p.receipt is None]
            if not waiting:
                break
            if self._batching and len(waiting) > 1:
                self._poll_batch(waiting)
            else:
                for pending in waiting:
                    self.poll(pending)
            if all(p.receipt is not None for p in waiting):
                break
            now = self._clock()
            if now - start >= limit:
                late = next(p for p in pendings if p.receipt is None)
                raise TransactionTimeout(
                    f"{late.describe()} was not mined within {limit:g} s; it may still be", late
                )
            progress = sum(p.receipt is not None for p in pendings)
            if progress > mined:
                mined, last_progress = progress, now
            elif stall is not None and now - last_progress >= stall:
                self._replace_heads([p for p in pendings if p.receipt is None])
                last_progress = now
            self._sleep(self.policy.poll_interval)
        receipts = [cast(TxReceipt, p.receipt) for p in pendings]
        if require_success:
            for pending, receipt in zip(pendings, receipts, strict=True):
                if int(receipt["status"]) != 1:
                    raise self.explain_failure(pending, receipt)
        return receipts

    def _replace_heads(self, waiting: Sequence[PendingTransaction]) -> None:
        """Replace the lowest-nonce waiting transaction of each account (the one blocking)."""
        heads: dict[ChecksumAddress, PendingTransaction] = {}
        for pending in waiting:
            head = heads.get(pending.sender)
            if head is None or pending.nonce < head.nonce:
                heads[pending.sender] = pending
        for pending in heads.values():
            try:
                self.replace(pending)
            except TransactionError:
                continue  # mined meanwhile, or refused: keep waiting

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
                    version = str(self._raw("web3_clientVersion", []))
                    if version.lower().startswith("anvil"):
                        self._anvil_automine = bool(self._raw("anvil_getAutomine", []))
                except (*NODE_ERRORS, *CONNECTION_ERRORS):
                    pass
        return 2.0 if self._anvil_automine else None

    def _poll_batch(self, waiting: Sequence[PendingTransaction]) -> None:
        from web3._utils.method_formatters import receipt_formatter

        calls: list[tuple[str, list[Any]]] = []
        owners: list[PendingTransaction] = []
        for pending in waiting:
            for tx_hash in pending.hashes:
                calls.append(("eth_getTransactionReceipt", [tx_hash.to_0x_hex()]))
                owners.append(pending)
        answers = self.retry("receipt batch", lambda: self.batch(calls))
        for pending, answer in zip(owners, answers, strict=True):
            result = answer.get("result")
            if result and pending.receipt is None:
                receipt = cast(TxReceipt, AttributeDict.recursive(receipt_formatter(result)))
                self._mined(pending, receipt)

    def explain_failure(self, pending: PendingTransaction, receipt: TxReceipt) -> ContractRevert:
        """The error for a transaction that reverted on-chain, replayed with ``eth_call``."""
        fields = _call_fields(pending.tx)
        block = int(receipt["blockNumber"])
        error: ContractRevert
        try:
            self.retry("eth_call", lambda: self.w3.eth.call(fields, block))
        except NODE_ERRORS as exc:
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

    # ------------------------------------------------------------------ replacing

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
        state = self._landed(pending)
        if state == "nonce-used":
            raise NonceConflict(
                f"nonce {pending.nonce} of {pending.sender} was used by another transaction;"
                f" {pending.describe()} will never be mined",
                pending,
            )
        if state == "known" and self.poll(pending) is not None:
            return pending
        current = Fees.of(pending.tx)
        minimum = current.bumped(self.policy.replacement_bump)
        if fees is None:
            suggested = self.suggest_fees(fresh=True)
            if suggested.legacy == current.legacy:
                minimum = minimum.at_least(suggested)
            fees = minimum
        elif fees.at_least(minimum) != fees:
            raise ChainError(
                f"replacement fees must be at least {minimum} (+"
                f"{float(self.policy.replacement_bump - 1):.1%} on each field)"
            )
        tx = {
            k: v
            for k, v in pending.tx.items()
            if k not in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")
        }
        tx.update(fees.as_params())
        account_fields = {k: v for k, v in tx.items() if k != "from"}
        signer = self._signers.get(pending.sender)
        if signer is None:
            raise ChainError(f"no signing key for {pending.sender} in this sender")
        signed = signer.sign_transaction(account_fields)
        raw = bytes(signed.raw_transaction)
        version = SignedVersion(tx=tx, raw=raw, hash=HexBytes(keccak(raw)))
        self._broadcast_replacement(pending, version)
        pending.versions.append(version)
        return pending

    def _broadcast_replacement(self, pending: PendingTransaction, version: SignedVersion) -> None:
        probe = PendingTransaction(
            sender=pending.sender,
            nonce=pending.nonce,
            action=pending.action,
            versions=[*pending.versions, version],
        )
        self._broadcast(probe, version, release=False)

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
