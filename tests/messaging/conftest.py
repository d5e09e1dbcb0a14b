"""Fixtures for the messaging tests: real relay processes (PyPI ``nostr-relay``) on 127.0.0.1,
a hostile relay that serves whatever events a test gives it, and people with wallets.

``relay`` is one relay process for the session (tests keep apart by fresh accounts and
topics); ``relay_pair`` starts two new relay processes for a test that kills them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import _market
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from p2pchain.messaging import LoopbackRelay, MessagingClient

from ._helpers import CHAIN, HostileRelay, Person

market = _market.market


@pytest.fixture(scope="session")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackRelay]:
    """One real relay process for the session."""
    with LoopbackRelay(tmp_path_factory.mktemp("relay")) as running:
        yield running


@pytest.fixture
def own_relay(tmp_path: Path) -> Iterator[LoopbackRelay]:
    """A fresh relay process for one test. Tests that use the chain's dev accounts need it:
    those accounts (so their messaging keys) are shared by every test, and on the session's
    relay they would also receive other tests' messages."""
    with LoopbackRelay(tmp_path / "own-relay") as running:
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


@pytest.fixture
def hostile() -> Iterator[HostileRelay]:
    """A hostile relay (see :class:`HostileRelay`)."""
    server = HostileRelay()
    yield server
    server.close()
