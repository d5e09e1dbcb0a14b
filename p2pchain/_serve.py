"""An ASGI app served by uvicorn in a background thread on loopback (dev nodes, tests, scripts)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Literal, Self

from p2pchain._errors import P2PChainError


class LoopbackServer:
    """Serve an ASGI ``app`` with uvicorn on ``host`` (loopback), on a free port by default.

    Use as a context manager, or :meth:`start` / :meth:`stop`. The socket is bound before the
    thread starts, so a taken port fails at once with one line, and :meth:`start` returns only
    once the server accepts connections.

    Args:
        app: The ASGI app.
        host: The address to bind; callers pass loopback only.
        port: The TCP port; 0 picks a free one (again on each start).
        name: Thread name prefix, and what error messages call the server.
        error: The :class:`P2PChainError` subclass raised when the server cannot start.
        lifespan: uvicorn's ``lifespan`` setting (``"on"`` runs the app's start-up/shut-down).
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "server",
        error: type[P2PChainError] = P2PChainError,
        lifespan: Literal["auto", "on", "off"] = "on",
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._requested_port = port
        self._name = name
        self._error = error
        self._lifespan = lifespan
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start serving; return once the socket accepts connections.

        Raises:
            P2PChainError: (the ``error`` class) The port is taken, or the server did not come
                up within 15 seconds.
        """
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError as exc:
            sock.close()
            raise self._error(
                f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan=self._lifespan
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"{self._name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            raise self._error(f"the {self._name} did not start on {self.url}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
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
