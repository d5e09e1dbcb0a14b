"""A JSON-RPC proxy on 127.0.0.1 that adds a fixed delay to every HTTP request, as a hosted RPC
endpoint's round trip would, and counts the requests (a JSON-RPC batch is one) and the calls.

Used by the signing benchmark (``scripts/bench_sign.py``); the upstream must be a loopback URL.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlparse


class LatencyProxy:
    """Forward POSTs to ``upstream`` after ``delay`` seconds each.

    Args:
        upstream: The node's URL (``http://127.0.0.1:PORT``).
        delay: Seconds added to every request.
    """

    def __init__(self, upstream: str, delay: float) -> None:
        target = urlparse(upstream)
        if target.hostname not in ("127.0.0.1", "localhost") or target.port is None:
            raise ValueError(f"the upstream must be a loopback URL with a port, not {upstream}")
        self.delay = delay
        self.requests = 0
        self.calls = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        host, port = target.hostname, target.port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else a delayed ACK stalls each answer ~40 ms

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy._count(body)
                time.sleep(proxy.delay)
                conn = getattr(proxy._local, "conn", None)
                if conn is None:
                    conn = proxy._local.conn = http.client.HTTPConnection(host, port, timeout=30)
                    conn.connect()
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.request("POST", "/", body, {"Content-Type": "application/json"})
                answer = conn.getresponse().read()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(answer)}\r\n\r\n"
                )
                self.wfile.write(head.encode() + answer)  # one write: no stall between parts

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _count(self, body: bytes) -> None:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        with self._lock:
            self.requests += 1
            self.calls += len(decoded) if isinstance(decoded, list) else 1

    def reset(self) -> None:
        """Start counting afresh."""
        with self._lock:
            self.requests = self.calls = 0

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
