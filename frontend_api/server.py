"""The API in a background thread on 127.0.0.1 (tests, benchmarks, scripts)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn
from fastapi import FastAPI

from p2pchain._errors import P2PChainError


class ApiServer:
    """Serve ``app`` with uvicorn on 127.0.0.1, on a free port by default.

    Use as a context manager::

        with ApiServer(create_app(services=services)) as server:
            requests.get(server.url + "/api/config")

    Args:
        app: The ASGI app.
        port: The TCP port; 0 picks a free one.
    """

    host = "127.0.0.1"

    def __init__(self, app: FastAPI, *, port: int = 0) -> None:
        self.app = app
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start serving; return once the socket accepts connections.

        Raises:
            P2PChainError: The port is taken or the server did not start within 15 seconds.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise P2PChainError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror}"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"api-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            raise P2PChainError(f"the API did not start on {self.url}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
