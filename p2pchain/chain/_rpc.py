"""JSON-RPC to one node, hardened: every answer validated, batches matched by id, reads retried.

:class:`NodeRpc` is how :class:`~p2pchain.chain._sender.TransactionSender` (and the market
reads through it) talk to a node. It trusts nothing about the answers:

* An answer that cannot be decoded, has neither ``result`` nor ``error``, or whose result has the
  wrong shape is a :class:`~p2pchain.chain._node_errors.MalformedAnswer`, never a raw
  ``JSONDecodeError`` or ``ValueError``.
* Batch answers are matched to their requests by id, not by position: a node may answer in any
  order, and may leave answers out (:meth:`NodeRpc.batch` reports those as missing).
* Reads (:meth:`NodeRpc.retry`) are retried on lost connections, timeouts, gateway errors,
  "try again later" answers and malformed answers, ``policy.rpc_attempts`` times with
  exponential backoff. Sends are never retried here: the sender decides, after looking the
  transaction up (a blind re-send can run twice on some nodes).

On HTTP nodes, requests are posted directly (one round trip per call or batch, past web3's
middleware and its own retries, whose timing the policy could not control).
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.providers import HTTPProvider
from web3.types import RPCEndpoint

from p2pchain._errors import ChainError
from p2pchain.chain._fees import SenderPolicy
from p2pchain.chain._node_errors import (
    CONNECTION_ERRORS,
    ChainMismatch,
    MalformedAnswer,
    garbled,
    reason,
    transient,
)

T = TypeVar("T")

#: Providers whose node answered a batch with one error (it takes no batches): every NodeRpc on
#: them asks one request at a time.
_NO_BATCHES: weakref.WeakSet[Any] = weakref.WeakSet()


@dataclass(frozen=True)
class NodeFacts:
    """What a command learns from the node in its first request, and never asks again.

    Attributes:
        chain_id: The node's chain id (``eth_chainId``).
        genesis: The hash of block 0 (names the chain's journal folder).
        client: ``web3_clientVersion`` ("" if the node does not say).
        automine: Anvil's automine switch; None on other nodes.
    """

    chain_id: int
    genesis: bytes
    client: str
    automine: bool | None


class NodeRpc:
    """Validated JSON-RPC requests and retried reads against one node (see the module).

    Args:
        w3: The connection.
        policy: Retry attempts and delays.
        sleep: Sleep function.
    """

    def __init__(self, w3: Web3, policy: SenderPolicy, sleep: Callable[[float], None]) -> None:
        self.w3 = w3
        self.policy = policy
        self._sleep = sleep
        provider = w3.provider
        #: Requests go out as HTTP posts, and many at once as JSON-RPC batches.
        self.batching = isinstance(provider, HTTPProvider)
        #: The node is reached over the network (its answers can be garbled on the way).
        self.remote = type(provider).__name__ != "EthereumTesterProvider"
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    @property
    def batches_refused(self) -> bool:
        """Whether the node answered a batch with one error (so requests go one by one)."""
        return self.w3.provider in _NO_BATCHES

    # ------------------------------------------------------------------ reads

    def retry(self, what: str, fn: Callable[[], T]) -> T:
        """Run a read, retrying connection errors, "try again" answers and malformed answers.

        Raises:
            MalformedAnswer: The node kept answering garbage.
            ChainError: Still failing after ``policy.rpc_attempts`` attempts.
            Exception: Any other error of ``fn`` at once (a revert, "not found"...).
        """
        delay = self.policy.retry_delay
        last: Exception | None = None
        for attempt in range(self.policy.rpc_attempts):
            try:
                return fn()
            except Exception as exc:
                if not self.retryable(exc):
                    raise
                last = exc
                if attempt + 1 < self.policy.rpc_attempts:
                    self._sleep(delay)
                    delay = min(delay * 2, 2.0)
        assert last is not None
        if garbled(last, remote=self.remote):
            raise MalformedAnswer(
                f"the node's answers to {what} are malformed ({_short(last)})"
            ) from last
        raise ChainError(f"cannot reach the node ({what}): {reason(last)}") from last

    def retryable(self, exc: BaseException) -> bool:
        """Whether a read that failed with ``exc`` may simply be asked again."""
        if garbled(exc, remote=self.remote):
            return True
        if isinstance(exc, CONNECTION_ERRORS):
            return True
        return isinstance(exc, Web3RPCError) and transient(exc)

    def chain_id(self) -> int:
        """The chain id the node answers now (``eth_chainId``), read afresh.

        Raises:
            MalformedAnswer: Not a chain id.
        """
        value = self.retry("eth_chainId", lambda: self.request("eth_chainId", []))
        return quantity(value, "eth_chainId")

    def first_contact(self) -> NodeFacts:
        """The node's chain id, genesis hash, client and (on Anvil) automine switch, in one
        request (one by one where requests cannot be batched).

        Raises:
            MalformedAnswer: No chain id, or no genesis block hash.
            ChainError: The node cannot be reached.
        """
        if not self.batching:  # the embedded chain: no network, nothing to save
            chain_id = self.chain_id()
            genesis = self.retry("eth_getBlockByNumber", lambda: self.w3.eth.get_block(0))
            return NodeFacts(chain_id, bytes(genesis["hash"]), "", None)
        calls: list[tuple[str, Sequence[Any]]] = [
            ("eth_chainId", []),
            ("eth_getBlockByNumber", ["0x0", False]),
            ("web3_clientVersion", []),
            ("anvil_getAutomine", []),
        ]

        def ask() -> NodeFacts:
            chain, genesis, client, automine = self.complete_batch(calls)
            block = _result(genesis, "eth_getBlockByNumber")
            if not isinstance(block, dict) or not _is_hash(block.get("hash")):
                raise MalformedAnswer("the node's answer to eth_getBlockByNumber(0) has no hash")
            name = client.get("result") if client.get("error") is None else None
            name = name if isinstance(name, str) else ""
            switch = automine.get("result") if automine.get("error") is None else None
            anvil = name.lower().startswith("anvil") and isinstance(switch, bool)
            return NodeFacts(
                chain_id=quantity(_result(chain, "eth_chainId"), "eth_chainId"),
                genesis=bytes.fromhex(str(block["hash"])[2:]),
                client=name,
                automine=switch if anvil else None,
            )

        return self.retry("the node's chain id", ask)

    def check_chain(self, expected: int, answered: Any | None = None) -> None:
        """Refuse a node that answers another chain id than ``expected``.

        Args:
            expected: The session's chain id.
            answered: An ``eth_chainId`` result already at hand (from a batch); read otherwise.

        Raises:
            ChainMismatch: It answers another chain id (or no number at all).
        """
        if answered is None:
            value = self.chain_id()
        else:
            try:
                value = quantity(answered, "eth_chainId")
            except MalformedAnswer:
                value = -1
        if value != expected:
            shown = value if value >= 0 else repr(answered)
            raise ChainMismatch(
                f"the node answers chain id {shown}, but this session signs for chain id"
                f" {expected}: refusing to sign anything (is --network the right node?)",
                expected,
                answered if answered is not None else value,
            )

    # ------------------------------------------------------------------ requests

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """One JSON-RPC request; its ``result``.

        Raises:
            Web3RPCError: The node answered with an error (the response is attached).
            MalformedAnswer: The answer is not a JSON-RPC answer.
            requests.RequestException: The connection failed.
        """
        if not self.batching:
            response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
            return _result(dict(response), method)
        request_id = self._next_id()
        body = json.dumps(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        ).encode()
        answer = _decode(self._post(body), method)
        if not isinstance(answer, dict):
            raise MalformedAnswer(f"the node's answer to {method} is not a JSON-RPC object")
        if answer.get("id") != request_id and "error" not in answer:
            raise MalformedAnswer(f"the node's answer to {method} is for another request")
        return _result(answer, method)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any] | None]:
        """Many requests in one JSON-RPC batch (HTTP nodes); each answer in request order.

        An answer is the raw response object (``result`` or ``error``), or None where the node
        left it out (or answered it with something that is not a JSON-RPC answer). Other nodes,
        and nodes that answer a batch with a single error (they take no batches), get the
        requests one by one.

        Raises:
            MalformedAnswer: The batch answer cannot be decoded, or is not a list.
            ChainError: The node refused the batch as a whole.
            requests.RequestException: The connection failed.
        """
        if not calls:
            return []
        if not self.batching or self.batches_refused or len(calls) == 1:
            out: list[dict[str, Any] | None] = []
            for method, params in calls:
                try:
                    out.append({"result": self.request(method, params)})
                except Web3RPCError as exc:
                    out.append(dict(cast(Any, exc.rpc_response or {"error": str(exc)})))
            return out
        ids = [self._next_id() for _ in calls]
        body = json.dumps(
            [
                {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
                for i, (m, p) in zip(ids, calls, strict=True)
            ]
        ).encode()
        what = f"a batch of {len(calls)} requests"
        answers = _decode(self._post(body), what)
        if isinstance(answers, dict):
            if "error" in answers and answers.get("id") is None:
                # A node (or a gateway) that takes no batches: none of them ran, so ask the same
                # requests one by one, now and from now on.
                _NO_BATCHES.add(self.w3.provider)
                return self.batch(calls)
            if "error" in answers:
                raise ChainError(f"the node refused a batch request: {answers.get('error')}")
            raise MalformedAnswer(f"the node's answer to {what} is not a list")
        if not isinstance(answers, list):
            raise MalformedAnswer(f"the node's answer to {what} is not a list")
        by_id: dict[Any, dict[str, Any]] = {}
        for answer in answers:
            if isinstance(answer, dict) and ("result" in answer or "error" in answer):
                by_id.setdefault(answer.get("id"), answer)
        return [by_id.get(i) for i in ids]

    def complete_batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
        """:meth:`batch` for reads: every answer present, or :class:`MalformedAnswer` (retried)."""
        answers = self.batch(calls)
        missing = [calls[i][0] for i, a in enumerate(answers) if a is None]
        if missing:
            raise MalformedAnswer(
                f"the node's batch answer left out {len(missing)} of {len(calls)} answers"
                f" ({missing[0]}...)"
            )
        return cast(list[dict[str, Any]], answers)

    def _next_id(self) -> int:
        with self._ids_lock:
            return next(self._ids)

    def _post(self, body: bytes) -> bytes:
        provider = cast(HTTPProvider, self.w3.provider)
        # The provider's own session (keep-alive, its timeout and headers), without its retries.
        manager = provider._request_session_manager
        uri = cast(Any, provider.endpoint_uri)
        return cast(bytes, manager.make_post_request(uri, body, **provider.get_request_kwargs()))


def _is_hash(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 66 or value[:2].lower() != "0x":
        return False
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        return False
    return True


def _decode(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedAnswer(f"the node's answer to {what} cannot be decoded ({exc})") from exc


def _result(answer: dict[str, Any], method: str) -> Any:
    if "error" in answer and answer["error"] is not None:
        raise Web3RPCError(str(answer["error"]), rpc_response=cast(Any, answer))
    if "result" not in answer:
        raise MalformedAnswer(f"the node's answer to {method} has no result")
    return answer["result"]


def quantity(value: Any, method: str) -> int:
    """A JSON-RPC quantity (``0x``-hex) as an int.

    Raises:
        MalformedAnswer: Not a quantity (``method`` names the request in the message).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value[:2].lower() == "0x":
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise MalformedAnswer(f"the node's answer to {method} is not a number: {value!r:.40}")


def _short(exc: BaseException) -> str:
    """What was wrong with an answer, without echoing the answer itself."""
    if isinstance(exc, json.JSONDecodeError):
        return f"undecodable JSON: {exc.msg.split(' because of ')[-1].rstrip('.')}"
    if isinstance(exc, MalformedAnswer):
        text = str(exc)
    elif type(exc).__name__ == "BadResponseFormat":
        text = "not a JSON-RPC answer"
    else:
        text = f"a result of the wrong shape ({type(exc).__name__})"
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["NodeFacts", "NodeRpc", "quantity"]
