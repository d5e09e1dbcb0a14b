"""Fixtures for the messaging tests: real relay processes (PyPI ``nostr-relay``) on 127.0.0.1,
a hostile relay that serves whatever events a test gives it, and people with wallets.

``relay`` is one relay process for the session (tests keep apart by fresh accounts and
topics); ``relay_pair`` starts two new relay processes for a test that kills them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _market
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from p2pchain.messaging import LoopbackRelay, MessagingClient

market = _market.market

CHAIN = 31337


@pytest.fixture(scope="session")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackRelay]:
    """One real relay process for the session."""
    with LoopbackRelay(tmp_path_factory.mktemp("relay")) as running:
        yield running


@pytest.fixture
def relay_pair(tmp_path: Path) -> Iterator[tuple[LoopbackRelay, LoopbackRelay]]:
    """Two fresh relay processes, stopped after the test."""
    first, second = LoopbackRelay(tmp_path / "r1"), LoopbackRelay(tmp_path / "r2")
    try:
        first.start()
        second.start()
        yield first, second
    finally:
        first.close()
        second.close()


Person = Callable[..., MessagingClient]


@pytest.fixture
def person(tmp_path: Path, relay: LoopbackRelay) -> Iterator[Person]:
    """Make a person: a new wallet (or the one given), its own store, the given relays."""
    made: list[MessagingClient] = []

    def make(
        relays: list[str] | None = None,
        account: LocalAccount | None = None,
        name: str | None = None,
    ) -> MessagingClient:
        who = account or Account.create()
        client = MessagingClient(
            who,
            relays or [relay.url],
            tmp_path / f"{name or who.address}.sqlite",
            chain_id=CHAIN,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def topic() -> bytes:
    """A fresh 32-byte thread topic."""
    return os.urandom(32)


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


@pytest.fixture
def hostile() -> Iterator[HostileRelay]:
    """A hostile relay (see :class:`HostileRelay`)."""
    server = HostileRelay()
    yield server
    server.close()
