"""What a node's failures mean for a transaction: a lost connection (it may or may not have
been sent), a transient refusal (try again), or an answer that classifies the transaction
(already known, nonce too low or too high, underpriced)."""

from __future__ import annotations

import http.client
import re
from collections.abc import Mapping

import requests
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils import ValidationError as EthUtilsValidationError
from web3.exceptions import ProviderConnectionError, Web3Exception, Web3RPCError

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

#: Errors a node (or eth-tester, the embedded chain) answers a request with.
NODE_ERRORS: tuple[type[BaseException], ...] = (
    Web3Exception,
    ValueError,
    EthUtilsValidationError,
    TesterValidationError,
    TransactionFailed,
)

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
    "NODE_ERRORS",
    "RETRYABLE",
    "classify",
    "error_message",
    "method_missing",
    "transient",
]
