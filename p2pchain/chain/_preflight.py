"""Before signing: the chain id, fees, gas, and a simulation that catches reverts for free.

:class:`Preflight` completes a partial transaction (sender, chain id, value, gas, fees) and
proves on the way that it would not revert:

* **Chain id.** Every transaction is signed for the session's chain id, fixed once (from the
  deployment record or the network config), never for what a node answers at that moment. Each
  estimate or simulation asks the node's ``eth_chainId`` in the same JSON-RPC batch and refuses a
  node that answers another (:class:`~p2pchain.chain._node_errors.ChainMismatch`): nothing is
  signed.
* **Fees** are EIP-1559: ``maxFeePerGas = base fee x 2 + priority fee``, the priority fee being
  the node's suggestion (``eth_maxPriorityFeePerGas``) unless configured. Chains without a base
  fee get a legacy ``gasPrice``. Suggestions are cached for a second.
* **Gas** is estimated on the ``pending`` block with a margin. The estimate doubles as the
  pre-flight check: a call that would revert raises the contract's typed error
  (:mod:`p2pchain.chain._contract_errors`) before any gas is spent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import MethodUnavailable, Web3Exception, Web3RPCError
from web3.types import BlockIdentifier, TxParams

from p2pchain._errors import ChainError, P2PChainError
from p2pchain.chain._contract_errors import decode_revert
from p2pchain.chain._fees import Fees, SenderPolicy
from p2pchain.chain._node_errors import (
    MalformedAnswer,
    error_message,
    method_missing,
    node_errors,
)
from p2pchain.chain._pending import TransactionRejected
from p2pchain.chain._revert import ContractRevert, revert_data
from p2pchain.chain._rpc import NodeRpc, quantity


def rpc_tx(tx: Mapping[str, Any]) -> dict[str, Any]:
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


def call_fields(tx: Mapping[str, Any]) -> TxParams:
    """``from``, ``to``, ``data``, ``value`` and ``gas`` of a transaction: what a call needs."""
    keep = ("from", "to", "data", "value", "gas")
    return cast(TxParams, {k: tx[k] for k in keep if k in tx})


def _answer(answer: Mapping[str, Any]) -> Any:
    """An answer's result, or its error raised as web3 would (so revert data is found)."""
    if answer.get("error") is not None:
        raise Web3RPCError(str(answer["error"]), rpc_response=cast(Any, answer))
    return answer.get("result")


class Preflight:
    """Fees, gas and simulations for one connection (see the module).

    Args:
        rpc: The node.
        policy: Fee and gas settings.
        chain_id: Returns the session's chain id.
        clock: Monotonic clock (for the fee cache).
    """

    def __init__(
        self,
        rpc: NodeRpc,
        policy: SenderPolicy,
        chain_id: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpc = rpc
        self.w3: Web3 = rpc.w3
        self.policy = policy
        self._chain_id = chain_id
        self._clock = clock
        self._fees: tuple[float, Fees] | None = None
        self.pending_estimates = True  # cleared for nodes that cannot estimate on "pending"

    # ------------------------------------------------------------------ chain id

    def verify_chain(self) -> None:
        """Refuse a node that answers another chain id than the session's.

        Raises:
            ChainMismatch: It does; nothing may be signed.
        """
        self.rpc.check_chain(self._chain_id())

    def _with_chain(
        self, method: str, params: list[Any], parse: Callable[[Any], Any] = lambda r: r
    ) -> Any:
        """``method`` asked in one batch after ``eth_chainId``, which is checked first."""

        def ask() -> Any:
            chain, answer = self.rpc.complete_batch([("eth_chainId", []), (method, params)])
            self.rpc.check_chain(self._chain_id(), _answer(chain))
            return parse(_answer(answer))

        return self.rpc.retry(method, ask)

    # ------------------------------------------------------------------ fees

    def suggest_fees(self, *, fresh: bool = False) -> Fees:
        """Fees for a new transaction (cached for ``policy.fee_cache_seconds``).

        EIP-1559 on chains with a base fee: ``maxFeePerGas = base x multiplier + priority``, the
        priority fee being ``policy.priority_fee`` or the node's suggestion (at least
        ``policy.min_priority_fee``). Legacy ``gasPrice`` (the node's ``eth_gasPrice``) otherwise.
        """
        now = self._clock()
        cached = None if fresh else self._cached_fees()
        if cached is not None:
            return cached
        block = self.rpc.retry("eth_getBlockByNumber", lambda: self.w3.eth.get_block("latest"))
        base_fee = block.get("baseFeePerGas")
        if base_fee is None or self.policy.legacy:
            price = self.rpc.retry("eth_gasPrice", lambda: int(self.w3.eth.gas_price))
            fees = Fees(gas_price=price)
        else:
            priority = self.policy.priority_fee
            if priority is None:
                priority = max(self._node_priority_fee(), self.policy.min_priority_fee)
            fees = Fees(int(base_fee) * self.policy.base_fee_multiplier + priority, priority)
        self._fees = (now, fees)
        return fees

    def _cached_fees(self) -> Fees | None:
        if self._fees is not None:
            at, fees = self._fees
            if self._clock() - at < self.policy.fee_cache_seconds:
                return fees
        return None

    def _fee_calls(self) -> list[tuple[str, list[Any]]]:
        """The requests :meth:`suggest_fees` would make, to ride along in a batch (none while
        the fees are cached, or for legacy fees, which take the slow path)."""
        if self.policy.legacy or self._cached_fees() is not None:
            return []
        calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", ["latest", False])]
        if self.policy.priority_fee is None:
            calls.append(("eth_maxPriorityFeePerGas", []))
        return calls

    def _fees_from(self, answers: Sequence[Mapping[str, Any]]) -> None:
        """Cache the fees from the answers to :meth:`_fee_calls` (left to :meth:`suggest_fees`
        when the block has no base fee, or the answers are not what they should be)."""
        if not answers:
            return
        block = answers[0].get("result") if answers[0].get("error") is None else None
        base = block.get("baseFeePerGas") if isinstance(block, Mapping) else None
        try:
            base_fee = int(base, 16) if isinstance(base, str) else None
        except ValueError:
            base_fee = None
        if base_fee is None:
            return
        priority = self.policy.priority_fee
        if priority is None:
            suggested = answers[1].get("result") if answers[1].get("error") is None else None
            try:
                node = int(suggested, 16) if isinstance(suggested, str) else None
            except ValueError:
                node = None
            node = self.policy.fallback_priority_fee if node is None else node
            priority = max(node, self.policy.min_priority_fee)
        fees = Fees(base_fee * self.policy.base_fee_multiplier + priority, priority)
        self._fees = (self._clock(), fees)

    def _node_priority_fee(self) -> int:
        try:
            return self.rpc.retry(
                "eth_maxPriorityFeePerGas", lambda: int(self.w3.eth.max_priority_fee)
            )
        except (Web3Exception, ValueError, NotImplementedError, ChainError):
            return self.policy.fallback_priority_fee

    # ------------------------------------------------------------------ simulation and gas

    def check(
        self, tx: Mapping[str, Any], *, action: str | None = None, verify_chain: bool = False
    ) -> None:
        """Pre-flight ``eth_call`` on the pending block; raise the typed revert if it fails.

        Args:
            tx: The transaction.
            action: The contract function, for typed errors.
            verify_chain: Also check the node's chain id (in the same request).

        Raises:
            ContractRevert: The call reverts (a :class:`~p2pchain.chain._contract_errors.CustomError`
                subclass for a contract error).
            TransactionRejected: The node refused the call for another reason.
            ChainMismatch: With ``verify_chain``, the node is on another chain.
        """
        try:
            if self.rpc.batching:
                params = [rpc_tx(call_fields(tx)), "pending"]
                if verify_chain:
                    self._with_chain("eth_call", params)
                else:
                    self.rpc.retry("eth_call", lambda: self.rpc.request("eth_call", params))
            else:
                if verify_chain:
                    self.verify_chain()
                self.rpc.retry("eth_call", lambda: self.w3.eth.call(call_fields(tx), "pending"))
        except node_errors() as exc:
            raise self.preflight_error(exc, tx, action) from None

    def estimate_gas(
        self,
        tx: Mapping[str, Any],
        *,
        action: str | None = None,
        verify_chain: bool = False,
        counted: Callable[[int], None] | None = None,
    ) -> int:
        """Gas limit for ``tx`` (estimate x margin), checking on the way that it does not revert.

        The estimate runs on the pending block and fails with the same revert data as an
        ``eth_call``. On nodes that cannot estimate on the pending block, an ``eth_call`` on the
        pending block is the check and the estimate is made on the latest block.

        Raises:
            ContractRevert: The transaction would revert (typed).
            TransactionRejected: The node refused it for another reason (insufficient funds...).
            ChainMismatch: With ``verify_chain``, the node is on another chain.

        On HTTP nodes the fees (unless cached) come in the same request, and so does the
        sender's ``pending`` transaction count, passed to ``counted`` when given.
        """
        fields = cast(TxParams, {k: v for k, v in call_fields(tx).items() if k != "gas"})
        if self.pending_estimates:
            try:
                return self.with_margin(self._estimate_pending(fields, verify_chain, counted))
            except (MethodUnavailable, NotImplementedError):
                self.pending_estimates = False
            except node_errors() as exc:
                if method_missing(exc):
                    self.pending_estimates = False
                else:
                    raise self.estimate_error(exc, tx, action) from None
        self.check(tx, action=action, verify_chain=verify_chain)
        try:
            estimate = self.rpc.retry(
                "eth_estimateGas", lambda: int(self.w3.eth.estimate_gas(fields))
            )
        except node_errors() as exc:
            if revert_data(exc) is None:
                raise self.preflight_error(exc, tx, action) from None
            return self.policy.fallback_gas  # passes on the pending block, not on the latest
        return self.with_margin(estimate)

    def _estimate_pending(
        self, fields: TxParams, verify_chain: bool, counted: Callable[[int], None] | None = None
    ) -> int:
        if self.rpc.batching:
            return self._estimate_batch(fields, verify_chain, counted)
        if verify_chain:
            self.verify_chain()
        return int(
            self.rpc.retry("eth_estimateGas", lambda: self.w3.eth.estimate_gas(fields, "pending"))
        )

    def _estimate_batch(
        self, fields: TxParams, verify_chain: bool, counted: Callable[[int], None] | None
    ) -> int:
        """The estimate in one request with what the transaction needs next: the chain id
        check, the fees (unless cached) and, for ``counted``, the sender's pending count."""
        calls: list[tuple[str, list[Any]]] = [("eth_estimateGas", [rpc_tx(fields), "pending"])]
        if verify_chain:
            calls.insert(0, ("eth_chainId", []))
        fee_calls = self._fee_calls()
        calls.extend(fee_calls)
        if counted is not None:
            calls.append(("eth_getTransactionCount", [fields["from"], "pending"]))

        def ask() -> tuple[int, int | None]:
            answers = self.rpc.complete_batch(calls)
            if verify_chain:
                self.rpc.check_chain(self._chain_id(), _answer(answers.pop(0)))
            gas = _gas(_answer(answers[0]))
            count = None
            if counted is not None:
                count = quantity(_answer(answers[-1]), "eth_getTransactionCount")
            self._fees_from(answers[1 : 1 + len(fee_calls)])
            return gas, count

        gas, count = self.rpc.retry("eth_estimateGas", ask)
        if counted is not None and count is not None:
            counted(count)
        return gas

    def call(self, tx: Mapping[str, Any], block: BlockIdentifier = "latest") -> bytes:
        """``eth_call`` (retried on connection errors); the raw return data.

        Raises:
            Web3RPCError, ContractLogicError: The node's error (a revert, typically); decode it
                with :func:`p2pchain.chain._contract_errors.revert_data`.
        """
        if self.rpc.batching:
            tag = hex(block) if isinstance(block, int) else block
            params = [rpc_tx(tx), tag]
            result = self.rpc.retry("eth_call", lambda: self.rpc.request("eth_call", params))
            return bytes(HexBytes(result))
        return bytes(
            self.rpc.retry("eth_call", lambda: self.w3.eth.call(cast(TxParams, dict(tx)), block))
        )

    def with_margin(self, estimate: int) -> int:
        """The gas limit for an estimate."""
        return math.ceil(estimate * self.policy.gas_margin)

    # ------------------------------------------------------------------ errors

    def estimate_error(
        self, exc: BaseException, tx: Mapping[str, Any], action: str | None
    ) -> P2PChainError:
        """The typed error for a failed estimate (a revert, or the node's refusal)."""
        data = revert_data(exc)
        if data is None:
            return self.preflight_error(exc, tx, action)
        if data:
            return decode_revert(data, action=action)
        # some nodes' estimators drop the revert data: ask eth_call for it
        try:
            self.check(tx, action=action)
        except ContractRevert as typed:
            return typed
        return decode_revert(b"", action=action)

    def preflight_error(
        self, exc: BaseException, tx: Mapping[str, Any], action: str | None
    ) -> P2PChainError:
        """The typed error for a failed simulation."""
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

    # ------------------------------------------------------------------ filling

    def fill(
        self,
        tx: Mapping[str, Any],
        *,
        sender: str,
        action: str | None = None,
        check: bool = True,
        counted: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Complete ``tx`` with sender, chain id, value, gas and fees (no nonce).

        Fields already present are kept. Without ``gas``, the estimate is also the pre-flight
        check; with ``gas`` the check is an ``eth_call`` (unless ``check`` is False). Either way
        the node's chain id is checked first. ``counted`` gets the sender's ``pending``
        transaction count when it comes with the estimate (one request on HTTP nodes).

        Raises:
            ContractRevert: It would revert.
            TransactionRejected: The node refused it for another reason.
            ChainMismatch: The node is on another chain.
            ChainError: ``from`` or ``chainId`` disagree with the sender or the session.
        """
        filled: dict[str, Any] = dict(tx)
        filled["from"] = Web3.to_checksum_address(filled.get("from", sender))
        if filled["from"] != Web3.to_checksum_address(sender):
            raise ChainError(f"transaction 'from' {filled['from']} is not the sender {sender}")
        filled.setdefault("value", 0)
        chain_id = self._chain_id()
        filled.setdefault("chainId", chain_id)
        if int(filled["chainId"]) != chain_id:
            raise ChainError(
                f"transaction chainId {filled['chainId']} is not this session's chain id {chain_id}"
            )
        if "gas" not in filled:
            filled["gas"] = self.estimate_gas(
                filled, action=action, verify_chain=True, counted=counted
            )
        elif check:
            self.check(filled, action=action, verify_chain=True)
        else:
            self.verify_chain()
        if "gasPrice" not in filled and "maxFeePerGas" not in filled:
            filled.update(self.suggest_fees().as_params())
        return filled

    def fill_many(
        self,
        items: Sequence[tuple[LocalAccount, Mapping[str, Any], str | None]],
        *,
        check: bool,
    ) -> list[dict[str, Any]]:
        """:meth:`fill` for many transactions: the chain id, estimates and checks in one batch.

        Raises:
            ContractRevert: One would revert; ``err.batch_index`` says which.
            ChainMismatch: The node is on another chain.
        """
        if not self.rpc.batching or not self.pending_estimates:
            out = []
            for index, (account, tx, action) in enumerate(items):
                try:
                    out.append(self.fill(tx, sender=account.address, action=action, check=check))
                except ContractRevert as exc:
                    exc.batch_index = index  # type: ignore[attr-defined]
                    raise
            return out
        fees = self.suggest_fees()
        chain_id = self._chain_id()
        prepared: list[dict[str, Any]] = []
        calls: list[tuple[str, list[Any]]] = [("eth_chainId", [])]
        slots: list[int] = []
        for index, (account, tx, _) in enumerate(items):
            filled = dict(tx)
            filled["from"] = account.address
            filled.setdefault("value", 0)
            filled.setdefault("chainId", chain_id)
            if int(filled["chainId"]) != chain_id:
                raise ChainError(
                    f"transaction chainId {filled['chainId']} is not this session's chain id"
                    f" {chain_id}"
                )
            if "gasPrice" not in filled and "maxFeePerGas" not in filled:
                filled.update(fees.as_params())
            prepared.append(filled)
            fields = {k: v for k, v in filled.items() if k in ("from", "to", "data", "value")}
            if "gas" not in filled:
                calls.append(("eth_estimateGas", [rpc_tx(fields), "pending"]))
                slots.append(index)
            elif check:
                calls.append(("eth_call", [rpc_tx(dict(fields, gas=filled["gas"])), "pending"]))
                slots.append(index)

        def ask() -> list[dict[str, Any]]:
            answers = self.rpc.complete_batch(calls)
            self.rpc.check_chain(chain_id, _answer(answers[0]))
            for call, answer in zip(calls[1:], answers[1:], strict=True):
                if call[0] == "eth_estimateGas" and answer.get("error") is None:
                    _gas(answer.get("result"))  # a malformed estimate: ask again
            return answers[1:]

        answers = self.rpc.retry("estimate batch", ask)
        for index, call, answer in zip(slots, calls[1:], answers, strict=True):
            action = items[index][2]
            if answer.get("error") is not None:
                error = Web3RPCError(str(answer["error"]), rpc_response=cast(Any, answer))
                if call[0] == "eth_estimateGas" and method_missing(error):
                    self.pending_estimates = False  # this node cannot estimate on "pending"
                    return self.fill_many(items, check=check)
                typed = self.estimate_error(error, prepared[index], action)
                typed.batch_index = index  # type: ignore[attr-defined]
                raise typed
            if call[0] == "eth_estimateGas":
                prepared[index]["gas"] = self.with_margin(_gas(answer.get("result")))
        return prepared


def _gas(result: Any) -> int:
    try:
        return int(result, 16)
    except (TypeError, ValueError):
        raise MalformedAnswer(f"the node's gas estimate is not a number: {result!r:.40}") from None


__all__ = ["Preflight", "call_fields", "rpc_tx"]
