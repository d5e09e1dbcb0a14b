"""The API in a background thread on 127.0.0.1 (tests, benchmarks, scripts)."""

from __future__ import annotations

from fastapi import FastAPI

from p2pchain._serve import LoopbackServer


class ApiServer(LoopbackServer):
    """Serve ``app`` with uvicorn on 127.0.0.1, on a free port by default.

    Use as a context manager::

        with ApiServer(create_app(services=services)) as server:
            requests.get(server.url + "/api/config")

    Args:
        app: The ASGI app.
        port: The TCP port; 0 picks a free one.

    Raises:
        P2PChainError: From :meth:`start`, when the port is taken or the API does not start.
    """

    def __init__(self, app: FastAPI, *, port: int = 0) -> None:
        super().__init__(app, port=port, name="API")
