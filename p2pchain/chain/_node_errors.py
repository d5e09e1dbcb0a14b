"""What a node's failures mean for a transaction.

* A request that **never left** (the connection was refused or never opened): nothing reached
  the node.
* A **lost** connection, a timeout, an HTTP error from a gateway, or an answer that cannot be
  decoded (**garbled**): the node may or may not have acted on the request.
* A **transient** refusal (rate limit): try again.
* An answer that classifies the transaction: already known, nonce too low or too high,
  underpriced.

Two errors of the chain layer live here because they are about the node's answers, not about a
transaction: :class:`MalformedAnswer` and :class:`ChainMismatch`.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
from collections.abc import Mapping

import requests
from eth_utils import ValidationError as EthUtilsValidationError
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from web3.exceptions import (
    BadResponseFormat,
    ProviderConnectionError,
    Web3Exception,
    Web3RPCError,
)

from p2pchain._errors import ChainError


class MalformedAnswer(ChainError):
    """The node answered something that is not a valid JSON-RPC answer to the request.

    Undecodable JSON, an answer without a result, a batch with answers left out, a result of the
    wrong type. Reads are retried; for a transaction that was sent, the outcome is unknown (see
    :class:`~p2pchain.chain._pending.OutcomeUnknown`).
    """


class ChainMismatch(ChainError):
    """The node answers a chain id other than the one this session signs for; nothing is signed.

    Attributes:
        expected: The session's chain id (from the deployment record or the network config).
        answered: What the node said.
    """

    def __init__(self, message: str, expected: int, answered: object) -> None:
        super().__init__(message)
        self.expected = expected
        self.answered = answered


#: Exceptions after which it is unknown whether the node received the request.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.HTTPError,  # a 5xx/429 from a proxy: the node may have got the request
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    ProviderConnectionError,
)

#: Answers that cannot be decoded, or are no JSON-RPC answer (always garbled).
GARBLED: tuple[type[BaseException], ...] = (
    json.JSONDecodeError,
    UnicodeDecodeError,
    BadResponseFormat,
    MalformedAnswer,
)

#: Errors a node answers a request with.
_NODE_ERRORS: tuple[type[BaseException], ...] = (
    Web3Exception,
    ValueError,
    EthUtilsValidationError,
)


def tester_errors() -> tuple[type[BaseException], ...]:
    """eth-tester's own exceptions, when the embedded chain is in use (it imported them).

    eth-tester is imported only by the embedded chain: importing it costs about 0.7 s (it pulls
    in py-evm and py_ecc), which a command against Anvil or a remote node must not pay. Without
    it loaded, its exceptions cannot be raised, so there is nothing to catch.
    """
    module = sys.modules.get("eth_tester.exceptions")
    if module is None:
        return ()
    return (module.ValidationError, module.TransactionFailed)


def node_errors() -> tuple[type[BaseException], ...]:
    """Errors a node (or eth-tester, the embedded chain) answers a request with."""
    return (*_NODE_ERRORS, *tester_errors())


_ALREADY_KNOWN = (
    "already known",
    "known transaction",
    "already imported",
    "alreadyknown",
    "already in the pool",
    "already in mempool",
    "already exists",
)
_NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "oldnonce", "nonce has already been used")
_UNDERPRICED = ("underpriced", "fee too low", "replacement fee")
RETRYABLE: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, Web3RPCError)

#: Node errors that say "try again later" (rate limits, a node still catching up).
_TRANSIENT = (
    "rate limit",
    "too many requests",
    "limit exceeded",
    "header not found",
    "temporarily unavailable",
    "service unavailable",
    "request timed out",
)
_TESTER_NONCE = re.compile(r"invalid transaction nonce: expected (\d+), but got (\d+)")


def error_message(exc: BaseException) -> str:
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, Mapping):
        error = exc.rpc_response.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
    return str(exc)


def classify(exc: BaseException) -> str:
    """``known``, ``nonce-low``, ``nonce-high``, ``underpriced`` or ``other``."""
    text = error_message(exc).lower()
    if any(s in text for s in _ALREADY_KNOWN):
        return "known"
    if any(s in text for s in _NONCE_TOO_LOW):
        return "nonce-low"
    match = _TESTER_NONCE.search(text)
    if match:
        return "nonce-low" if int(match.group(2)) < int(match.group(1)) else "nonce-high"
    if any(s in text for s in _UNDERPRICED):
        return "underpriced"
    return "other"


def transient(exc: BaseException) -> bool:
    """Whether a node's error answer means "try again later"."""
    if isinstance(exc, CONNECTION_ERRORS):
        return True
    if not isinstance(exc, Web3RPCError):
        return False
    text = error_message(exc).lower()
    return any(s in text for s in _TRANSIENT)


def garbled(exc: BaseException, *, remote: bool = True) -> bool:
    """Whether ``exc`` means the node's answer was malformed.

    Args:
        exc: What a request raised.
        remote: The node is reached over the network. Then a plain ``ValueError``,
            ``TypeError``, ``KeyError`` or ``AttributeError`` (not one of web3's own errors)
            raised while reading an answer comes from a result of the wrong shape, which web3's
            formatters choke on. In process (the embedded chain) such errors are bugs or
            refusals, not garbled answers.
    """
    if isinstance(exc, GARBLED):
        return True
    return (
        remote
        and isinstance(exc, (ValueError, TypeError, KeyError, AttributeError))
        and not isinstance(exc, Web3Exception)
    )


def never_left(exc: BaseException) -> bool:
    """Whether the request certainly never reached the node: no connection could be opened.

    A refused connection, a failed name lookup or a connect timeout happen before a single byte
    of the request is written. Anything later (a reset, a timeout waiting for the answer, an
    HTTP error) may come after the node acted on it.
    """
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return False


def reason(exc: BaseException) -> str:
    """A short phrase for why a request failed, for messages (no URL, no stack)."""
    if never_left(exc):
        return "the node could not be reached (connection refused)"
    if garbled(exc):
        return "the node's answer was malformed"
    if isinstance(exc, requests.exceptions.HTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return f"the node answered HTTP {status}" if status else "the node answered an HTTP error"
    if isinstance(exc, (requests.exceptions.Timeout, TimeoutError)):
        return "the node did not answer in time"
    if isinstance(exc, CONNECTION_ERRORS):
        return "the connection was lost before the node's answer"
    return error_message(exc).splitlines()[0][:200] if error_message(exc) else type(exc).__name__


def method_missing(exc: BaseException) -> bool:
    """Whether a node error says the method (or its block parameter) is not supported."""
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, Mapping):
        error = exc.rpc_response.get("error")
        if isinstance(error, Mapping) and error.get("code") == -32601:
            return True
    text = error_message(exc).lower()
    return "not implemented" in text or "method not found" in text


__all__ = [
    "CONNECTION_ERRORS",
    "GARBLED",
    "RETRYABLE",
    "ChainMismatch",
    "MalformedAnswer",
    "classify",
    "error_message",
    "garbled",
    "method_missing",
    "never_left",
    "node_errors",
    "reason",
    "tester_errors",
    "transient",
]
