"""Raw JSON-RPC for the indexer: batched requests over HTTP, results checked and normalized.

The indexer reads many blocks and logs; going through web3's per-call middleware costs more than
the node's answer. Over HTTP, calls are sent as JSON-RPC batches on one keep-alive session;
other providers (the embedded chain, websockets) get one ``make_request`` per call.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from web3 import Web3
from web3.types import RPCEndpoint

from p2pchain.indexer._errors import IndexerError

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


class RpcError(IndexerError):
    """The node answered a call with an error (the message is the node's)."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"{method} failed: {message}")
        self.method = method
        self.node_message = message


def as_int(value: Any) -> int:
    """A quantity from a JSON-RPC answer (hex string or int)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    raise IndexerError(f"node returned {value!r} where a number was expected")


def as_hex(value: Any) -> str:
    """Data from a JSON-RPC answer (hex string or bytes) as lowercase 0x hex."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    raise IndexerError(f"node returned {value!r} where hex data was expected")


class Rpc:
    """A JSON-RPC endpoint: a chain, a ``Web3`` or a URL.

    Args:
        target: ``DevChain`` (its ``url`` is used when it has one), ``Web3`` or ``http(s)://`` URL.
        timeout: Seconds per HTTP request.
    """

    def __init__(self, target: Any, timeout: float = 60.0) -> None:
        self.url: str | None = None
        self.w3: Web3 | None = None
        if isinstance(target, str):
            if not target.startswith(("http://", "https://")):
                raise IndexerError(f"unsupported RPC URL {target!r}: use http(s)://")
            self.url = target
        else:
            self.url = getattr(target, "url", None)
            w3 = getattr(target, "w3", target)
            if not isinstance(w3, Web3):
                raise IndexerError(
                    f"cannot read a chain from {type(target).__name__}: pass a chain, Web3 or URL"
                )
            self.w3 = w3
            if self.url is None:
                uri = getattr(w3.provider, "endpoint_uri", None)
                if isinstance(uri, str) and uri.startswith(("http://", "https://")):
                    self.url = uri
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            self.url = None  # websockets: through web3
        self.timeout = timeout
        self._loopback = bool(self.url and any(f"//{host}" in self.url for host in _LOOPBACK))
        self._local = threading.local()  # one HTTP session per thread (reads run ahead)
        self._provider_lock = threading.Lock()  # in-process chains are not thread-safe
        self._ids = itertools.count(1)

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = not self._loopback  # loopback traffic never goes via a proxy
            self._local.session = session
        return session

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One call's result.

        Raises:
            RpcError: The node answered with an error.
            IndexerError: The node cannot be reached or answered garbage.
        """
        return self.batch([(method, params)])[0]

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """The results of several calls, in order (one HTTP request over HTTP)."""
        if not calls:
            return []
        if self.url is None:
            return [self._provider_call(method, params) for method, params in calls]
        body = []
        for method, params in calls:
            body.append(
                {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
            )
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout)
            answer = response.json()
        except requests.RequestException as exc:
            raise IndexerError(f"cannot reach the RPC node at {self.url}: {exc}") from None
        except ValueError:
            raise IndexerError(
                f"RPC node at {self.url} answered HTTP {response.status_code} without JSON"
            ) from None
        if isinstance(answer, Mapping):  # some nodes answer a whole batch with one error
            raise RpcError(calls[0][0], _message(answer.get("error", answer)))
        if not isinstance(answer, list) or len(answer) != len(calls):
            raise IndexerError(f"RPC node at {self.url} answered a batch of {len(calls)} oddly")
        by_id = {item.get("id"): item for item in answer if isinstance(item, Mapping)}
        out = []
        for request in body:
            item = by_id.get(request["id"])
            if item is None:
                raise IndexerError(f"RPC node at {self.url} left out a batch answer")
            if "error" in item:
                raise RpcError(str(request["method"]), _message(item["error"]))
            out.append(item.get("result"))
        return out

    def _provider_call(self, method: str, params: Sequence[Any]) -> Any:
        assert self.w3 is not None
        try:
            with self._provider_lock:
                return self.w3.manager.request_blocking(RPCEndpoint(method), list(params))
        except Exception as exc:  # noqa: BLE001 - providers raise anything; report one line
            text = str(exc).strip()
            raise RpcError(method, text.splitlines()[0] if text else type(exc).__name__) from None


def _message(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message", error))
    return str(error)
