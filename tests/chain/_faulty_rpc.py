"""A JSON-RPC proxy on 127.0.0.1 that misbehaves on chosen calls, in front of a real node.

People reach the chain through RPC endpoints they do not control: connections drop, answers come
back garbled, batches come back reordered or partial, a node restarts, a node lies. The tests put
:class:`FaultyRpc` between a client (the library or the ``p2pchain`` CLI) and Anvil, arm a
:class:`Fault` on a JSON-RPC method, run a step, and then check the outcome on Anvil directly.

Every fault names *when* it strikes relative to forwarding, because that is what decides whether
the node acted on the request:

============== ==================================================================================
action         what the client sees
============== ==================================================================================
drop-before    the connection closes; the request never reached the node
drop-after     the node got the request and answered; the connection closes without the answer
502-before     HTTP 502 Bad Gateway; the request never reached the node
502-after      the node got it; HTTP 502 instead of its answer
garbage-before a 200 with a truncated, undecodable JSON body; the node never saw the request
error-before   a JSON-RPC error answer (``error``, by default "rate limit exceeded"); the node
               never saw the request
no-batches     (batches) one JSON-RPC error object for the whole batch, as a node that takes no
               batches answers; the node never saw them
garbage-after  the node got it; a 200 with its answer truncated (undecodable JSON)
shapeless      the node got it; a 200 with valid JSON that is no JSON-RPC answer (no result)
hang-after     the node got it; the proxy holds the answer for ``seconds``, then closes
down-after     the node got it and the answer is passed on; then the proxy goes down
               (:meth:`FaultyRpc.down`): the next connection is refused
lie            the node got it; the matching answer's ``result`` is replaced by ``result``
reorder        (batches) the node got them; the answers come back in reverse order
partial        (batches) the node got them; the answers to the matching calls are left out
============== ==================================================================================

A fault matches a single request or any element of a batch by method (and, for
``eth_sendRawTransaction``, optionally by signer). ``skip`` lets that many matching requests
through first; ``times`` is how many it strikes (None: until :meth:`FaultyRpc.clear`).

The proxy also records every method it saw (:attr:`FaultyRpc.methods`) and every raw transaction
that reached the node (:attr:`FaultyRpc.forwarded_raw`), and calls watchers as requests arrive
(:meth:`FaultyRpc.watch`). :meth:`FaultyRpc.down` makes it refuse
connections (nothing listens on its port), like a machine that is off; the upstream can be
switched to another node (a restarted one) with :attr:`FaultyRpc.upstream`.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlparse

from eth_account import Account

ACTIONS = (
    "drop-before",
    "drop-after",
    "502-before",
    "502-after",
    "garbage-before",
    "error-before",
    "no-batches",
    "garbage-after",
    "shapeless",
    "hang-after",
    "down-after",
    "lie",
    "reorder",
    "partial",
)
#: Actions that never let the request reach the node.
BEFORE = ("drop-before", "502-before", "garbage-before", "error-before", "no-batches")
#: Actions that act on single elements of a batch, not on the whole exchange.
PER_CALL = ("lie", "partial")


@dataclass
class Fault:
    """One misbehaviour, armed on a JSON-RPC method.

    Attributes:
        method: The JSON-RPC method it strikes (``*`` for any).
        action: One of :data:`ACTIONS`.
        times: How many matching requests it strikes; None: every one until cleared.
        skip: Matching requests let through before it strikes.
        sender: Only ``eth_sendRawTransaction`` calls signed by this address.
        result: For ``lie``: the result to answer instead of the node's.
        error: For ``error-before``: the JSON-RPC error object to answer.
        seconds: For ``hang-after``: how long to hold the answer.
        batch: Only requests inside a batch (True), only single requests (False), or both.
        after: Strike only once the proxy has seen a call of this method (a fault that starts
            mid-session, e.g. after the client read the listing with ``eth_getLogs``).
        hits: How many times it struck.
        calls: The calls it struck.
    """

    method: str
    action: str
    times: int | None = 1
    skip: int = 0
    sender: str | None = None
    result: Any = None
    error: Any = field(
        default_factory=lambda: {"code": -32005, "message": "rate limit exceeded, retry later"}
    )
    seconds: float = 5.0
    batch: bool | None = None
    after: str | None = None
    hits: int = field(default=0)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert self.action in ACTIONS, self.action

    @property
    def spent(self) -> bool:
        """Whether it has struck as many times as it was armed for."""
        return self.times is not None and self.hits >= self.times


def _sender_of(call: dict[str, Any]) -> str | None:
    try:
        return str(Account.recover_transaction(call["params"][0]))
    except Exception:  # noqa: BLE001 - a malformed raw transaction has no sender
        return None


class FaultyRpc:
    """An HTTP/1.1 JSON-RPC proxy on 127.0.0.1 that injects :class:`Fault` s.

    Args:
        upstream: The node's URL (loopback only).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.methods: list[str] = []
        #: The methods of each HTTP request (a batch is one request).
        self.requests: list[list[str]] = []
        self.forwarded_raw: list[str] = []
        self.struck: list[tuple[str, str]] = []
        self._watchers: list[tuple[str, Callable[[dict[str, Any]], None]]] = []
        self._closed = False
        self._server = self._listen(0)
        self.port = int(self._server.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._conns: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._serve, args=(self._server,), daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ control

    @property
    def upstream(self) -> str:
        """The node requests are forwarded to (settable: switch to a restarted node)."""
        return self._upstream_url

    @upstream.setter
    def upstream(self, url: str) -> None:
        parsed = urlparse(url)
        assert parsed.hostname in ("127.0.0.1", "localhost"), "loopback nodes only"
        self._upstream_url = url
        self._upstream = (str(parsed.hostname), int(parsed.port or 80))

    def arm(self, *faults: Fault) -> FaultyRpc:
        """Add faults; they strike in the order given when several match."""
        with self._lock:
            self._faults.extend(faults)
        return self

    def watch(self, method: str, seen: Callable[[dict[str, Any]], None]) -> None:
        """Call ``seen(call)`` for every call of ``method``, before it is forwarded (or not)."""
        with self._lock:
            self._watchers.append((method, seen))

    def clear(self) -> None:
        """Remove every fault: the proxy forwards faithfully again."""
        with self._lock:
            self._faults.clear()

    @contextmanager
    def faults(self, *faults: Fault) -> Iterator[FaultyRpc]:
        """Arm ``faults`` for the duration of a ``with`` block."""
        self.arm(*faults)
        try:
            yield self
        finally:
            self.clear()

    def count(self, method: str) -> int:
        """How many calls of ``method`` the proxy saw (batched ones included)."""
        with self._lock:
            return self.methods.count(method)

    def down(self, *, keep: socket.socket | None = None) -> None:
        """Stop listening and cut open connections (but ``keep``): new ones are refused."""
        with self._lock:
            server, self._server = self._server, None
            conns = [c for c in self._conns if c is not keep]
        if server is not None:
            _hard_close(server)  # shutdown wakes the thread blocked in accept()
        for conn in conns:
            _hard_close(conn)

    def up(self) -> None:
        """Listen again on the same port."""
        with self._lock:
            assert self._server is None
            server = self._listen(self.port)
            self._server = server
        threading.Thread(target=self._serve, args=(server,), daemon=True).start()

    def close(self) -> None:
        """Stop for good."""
        self._closed = True
        self.down()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ serving

    @staticmethod
    def _listen(port: int) -> socket.socket:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(64)
        return server

    def _serve(self, server: socket.socket) -> None:
        while not self._closed:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _matching(self, calls: list[dict[str, Any]], is_batch: bool) -> list[tuple[Fault, int]]:
        """Faults that strike this request, each with the index of the call it matched."""
        struck: list[tuple[Fault, int]] = []
        with self._lock:
            watchers = list(self._watchers)
        for call in calls:
            for method, seen in watchers:
                if call.get("method") == method:
                    seen(call)
        with self._lock:
            self.methods.extend(str(c.get("method")) for c in calls)
            self.requests.append([str(c.get("method")) for c in calls])
            for fault in self._faults:
                if fault.spent or (fault.batch is not None and fault.batch != is_batch):
                    continue
                if fault.action == "no-batches" and not is_batch:
                    continue
                if fault.after is not None and fault.after not in self.methods[: -len(calls)]:
                    continue
                for index, call in enumerate(calls):
                    if fault.method not in ("*", call.get("method")):
                        continue
                    if fault.sender is not None and _sender_of(call) != fault.sender:
                        continue
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.hits += 1
                    fault.calls.append(call)
                    struck.append((fault, index))
                    self.struck.append((str(call.get("method")), fault.action))
                    if fault.action not in PER_CALL or fault.spent:
                        break
        return struck

    def _handle(self, conn: socket.socket) -> None:
        upstream: http.client.HTTPConnection | None = None
        buffer = bytearray()
        try:
            while True:
                body = _read_request(conn, buffer)
                if body is None:
                    return
                payload = json.loads(body)
                is_batch = isinstance(payload, list)
                calls = [c for c in (payload if is_batch else [payload]) if isinstance(c, dict)]
                struck = self._matching(calls, is_batch)
                whole = next((f for f, _ in struck if f.action not in PER_CALL), None)
                if whole is not None and whole.action in BEFORE:
                    if whole.action == "drop-before":
                        return
                    if whole.action == "502-before":
                        _respond(conn, b"<html>502 Bad Gateway</html>", status="502 Bad Gateway")
                        continue
                    if whole.action == "no-batches" and is_batch:
                        refusal = {"code": -32600, "message": "batch requests are not supported"}
                        _respond(conn, json.dumps({"jsonrpc": "2.0", "id": None,
                                                   "error": refusal}).encode())  # fmt: skip
                        continue
                    if whole.action == "error-before":
                        ids = [c.get("id") for c in calls]
                        errors = [{"jsonrpc": "2.0", "id": i, "error": whole.error} for i in ids]
                        _respond(conn, json.dumps(errors if is_batch else errors[0]).encode())
                        continue
                    _respond(conn, b'{"jsonrpc":"2.0","id":1,"res')
                    continue
                with self._lock:
                    self.forwarded_raw.extend(
                        str(c["params"][0])
                        for c in calls
                        if c.get("method") == "eth_sendRawTransaction" and c.get("params")
                    )
                if (
                    upstream is None
                    or upstream.host != self._upstream[0]
                    or (upstream.port != self._upstream[1])
                ):
                    if upstream is not None:
                        upstream.close()
                    upstream = http.client.HTTPConnection(*self._upstream, timeout=30)
                try:
                    upstream.request("POST", "/", body, {"Content-Type": "application/json"})
                    answer = upstream.getresponse().read()
                except OSError:  # the node is down: what a gateway in front of it answers
                    upstream.close()
                    upstream = None
                    _respond(conn, b"<html>502 Bad Gateway</html>", status="502 Bad Gateway")
                    continue
                if whole is not None:
                    if whole.action == "drop-after":
                        return
                    if whole.action == "502-after":
                        _respond(conn, b"<html>502 Bad Gateway</html>", status="502 Bad Gateway")
                        continue
                    if whole.action == "garbage-after":
                        _respond(conn, answer[: max(1, len(answer) // 2)])
                        continue
                    if whole.action == "shapeless":
                        _respond(
                            conn, b'{"jsonrpc":"2.0"}' if not is_batch else b'[{"jsonrpc":"2.0"}]'
                        )
                        continue
                    if whole.action == "hang-after":
                        time.sleep(whole.seconds)
                        return
                    if whole.action == "down-after":
                        self.down(keep=conn)  # refused from now on, before the client can ask
                        _respond(conn, answer, close=True)  # the client will not reuse it
                        return
                answer = self._rewrite(answer, payload, struck, whole)
                _respond(conn, answer)
        except (OSError, ValueError):
            return
        finally:
            if upstream is not None:
                upstream.close()
            with self._lock:
                self._conns.discard(conn)
            _hard_close(conn)

    @staticmethod
    def _rewrite(
        answer: bytes, payload: Any, struck: list[tuple[Fault, int]], whole: Fault | None
    ) -> bytes:
        per_call = [(f, i) for f, i in struck if f.action in PER_CALL]
        if not per_call and (whole is None or whole.action != "reorder"):
            return answer
        data = json.loads(answer)
        if isinstance(payload, list) and isinstance(data, list):
            ids = [c.get("id") for c in payload if isinstance(c, dict)]
            by_id = {a.get("id"): a for a in data if isinstance(a, dict)}
            for fault, index in per_call:
                target = ids[index]
                if fault.action == "lie" and target in by_id:
                    by_id[target] = {"jsonrpc": "2.0", "id": target, "result": fault.result}
                elif fault.action == "partial":
                    by_id.pop(target, None)
            out = [by_id[i] for i in ids if i in by_id]
            if whole is not None and whole.action == "reorder":
                out.reverse()
            return json.dumps(out).encode()
        for fault, _ in per_call:
            if fault.action == "lie" and isinstance(data, dict):
                data = {"jsonrpc": "2.0", "id": data.get("id"), "result": fault.result}
        return json.dumps(data).encode()


def _read_request(conn: socket.socket, buffer: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = bytearray(rest)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body.extend(chunk)
    buffer[:] = body[length:]
    return bytes(body[:length])


def _respond(
    conn: socket.socket, answer: bytes, *, status: str = "200 OK", close: bool = False
) -> None:
    kind = "application/json" if status.startswith("200") else "text/html"
    conn.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n".encode()
        + (b"Connection: close\r\n" if close else b"")
        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
        + answer
    )


def _hard_close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


def report(test: str, **outcome: Any) -> None:
    """Append what a fault test observed to ``$P2PCHAIN_FAULT_REPORT`` (JSON lines), if set.

    The fault tests call it before asserting, so a run against any version of the code records
    what the user was told and what happened on the chain (the issue's before/after table).
    """
    import os

    path = os.environ.get("P2PCHAIN_FAULT_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": test, **outcome}, default=str) + "\n")


__all__ = ["ACTIONS", "Fault", "FaultyRpc", "report"]
