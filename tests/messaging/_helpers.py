"""Shared by the messaging tests: the chain id, the person factory's type, a hostile relay."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from p2pchain.messaging import MessagingClient

#: The chain id the test clients' threads are about.
CHAIN = 31337

#: ``person(relays=None, account=None, name=None)`` -> a MessagingClient.
Person = Callable[..., MessagingClient]


class HostileRelay:
    """A WebSocket server on 127.0.0.1 that answers every REQ with ``events`` (unchecked), then
    EOSE, and accepts every EVENT: a relay that forges, corrupts or replays."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.events: list[Any] = []
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _handle(self, ws: Any) -> None:
        for frame in ws:
            message = json.loads(frame)
            if message[0] == "REQ":
                for event in self.events:
                    ws.send(json.dumps(["EVENT", message[1], event]))
                ws.send(json.dumps(["EOSE", message[1]]))
            elif message[0] == "EVENT":
                ws.send(json.dumps(["OK", message[1]["id"], True, ""]))

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
