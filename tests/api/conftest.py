"""Fixtures for the API tests: a fresh deployment on Anvil with two published listings, an IPFS
store, an index, and the API over them (in process through TestClient, or over a real socket).

The API holds no keys: tests sign what it prepares with the parties' keys, as a wallet would.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from _market import ONE, Market, make_market
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from frontend_api import ApiSettings, Services, create_app
from frontend_api.server import ApiServer
from p2pchain.chain._nodes import AnvilChain
from p2pchain.ipfs import LocalStore
from p2pchain.market._listings import PublishedListing, publish_listing


def png(width: int = 240, height: int = 160, rgb: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A real PNG image: a colour fading to white from left to right."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"".join(
        bytes(c + (255 - c) * x // max(1, width - 1) for c in rgb) for x in range(width)
    )
    raw = zlib.compress(row * height)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def document(market: Market, **overrides: Any) -> dict[str, Any]:
    """A valid sale document by the market's seller: 1 ETH, the market's arbitrator at 2%."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "title": "Road bike, 56 cm",
        "description": "Steel frame, new tyres, serviced last month.",
        "category": "sports/bikes",
        "kind": "sale",
        "condition": "good",
        "price": str(ONE),
        "token": "ETH",
        "seller": market.seller_account.address,
        "created_at": 1_700_000_000,
        "delivery": [{"method": "pickup", "note": "Berlin, evenings"}],
        "arbitrator": {"address": market.arbitrator_account.address, "fee_bps": 200},
    }
    doc.update(overrides)
    return doc


@dataclass
class ApiWorld:
    """A deployment with listings, the store and index behind the API, and the API itself."""

    market: Market
    store: LocalStore
    services: Services
    app: FastAPI
    bike: PublishedListing
    lamp: PublishedListing

    @property
    def chain(self) -> AnvilChain:
        """The Anvil chain."""
        return self.market.chain  # type: ignore[return-value]

    def sign(self, account: LocalAccount, tx: dict[str, Any]) -> str:
        """Sign an API-prepared transaction (wallet form) as a wallet would; the raw tx as hex."""
        w3 = self.market.seller.w3
        fields: dict[str, Any] = {
            key: value if key in ("to", "data") else int(value, 16)
            for key, value in tx.items()
            if value is not None and key != "from"
        }
        fields["nonce"] = w3.eth.get_transaction_count(account.address, "pending")
        if "gas" not in fields:
            fields["gas"] = 500_000
        signed = account.sign_transaction(fields)
        return "0x" + bytes(signed.raw_transaction).hex()

    def sync(self) -> None:
        """Bring the index up to the chain head (wait for the API's own sync, if it follows)."""
        if not self.services.following:
            self.services.index.sync()  # type: ignore[attr-defined]
            return
        head = self.market.seller.w3.eth.block_number
        deadline = time.monotonic() + 10
        while (self.services.index.cursor() or -1) < head:
            assert time.monotonic() < deadline, "the API's index did not reach the head"
            time.sleep(0.02)


def make_world(
    chain: AnvilChain,
    tmp: Path,
    *,
    index: bool = True,
    follow: bool = False,
    relays: list[str] | None = None,
) -> ApiWorld:
    """Deploy, publish a bike (with a photo) and a lamp repair service, index, build the API.

    With ``follow``, the API keeps its own index in step with the chain, as ``p2pchain api
    serve`` does (on Anvil: no confirmations, a sync every 0.25 s), and pushes changes.
    """
    market = make_market(chain)
    store = LocalStore(tmp / "ipfs")
    bike = publish_listing(market.seller, store, document(market), [png()])
    lamp = publish_listing(
        market.seller,
        store,
        document(
            market,
            title="Lamp repair",
            description="Rewiring of old table lamps.",
            category="services/repair",
            kind="service",
            condition=None,
            price=str(ONE // 20),
        ),
    )
    reader = market.seller.with_account(None)
    indexer = None
    if follow:
        settings = ApiSettings(
            network=chain.url, index_db=f"sqlite:///{tmp / 'index.sqlite'}", relays=relays or []
        )
        services = Services(settings, client=reader, backend=store)
        return ApiWorld(market, store, services, create_app(services=services), bike, lamp)
    if index:
        from p2pchain.indexer import Indexer

        indexer = Indexer(
            f"sqlite:///{tmp / 'index.sqlite'}",
            chain,
            reader.deployment,
            ipfs=store,
            confirmations=0,
        )
        indexer.sync()
    settings = ApiSettings(
        network=chain.url, index_db=f"sqlite:///{tmp / 'index.sqlite'}", sync=False
    )
    services = Services(settings, client=reader, backend=store, indexer=indexer)
    return ApiWorld(market, store, services, create_app(services=services), bike, lamp)


@pytest.fixture
def world(anvil_chain: AnvilChain, tmp_path: Path) -> ApiWorld:
    """A fresh indexed world per test."""
    return make_world(anvil_chain, tmp_path)


@pytest.fixture
def bare(anvil_chain: AnvilChain, tmp_path: Path) -> ApiWorld:
    """A fresh world without an index (writes, uploads, the gateway)."""
    return make_world(anvil_chain, tmp_path, index=False)


@pytest.fixture
def bare_api(bare: ApiWorld) -> Iterator[TestClient]:
    """The API of ``bare``, in process."""
    with TestClient(bare.app) as client:
        yield client


@pytest.fixture
def api(world: ApiWorld) -> Iterator[TestClient]:
    """The API in process."""
    with TestClient(world.app) as client:
        yield client


@pytest.fixture
def live(world: ApiWorld) -> Iterator[ApiServer]:
    """The API over a real socket on 127.0.0.1."""
    with ApiServer(world.app) as server:
        yield server


def get_json(url: str) -> Any:
    """GET over a real socket, never through a proxy."""
    session = requests.Session()
    session.trust_env = False
    response = session.get(url, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, shared by the page tests of this worker."""
    from playwright.sync_api import sync_playwright

    from api._browser import CHROMIUM, CHROMIUM_FLAGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page_world(anvil_chain: AnvilChain, tmp_path: Path) -> ApiWorld:
    """A fresh world whose API follows the chain itself and pushes changes to the page."""
    return make_world(anvil_chain, tmp_path, follow=True)


@pytest.fixture
def page_server(page_world: ApiWorld) -> Iterator[ApiServer]:
    """The following world's API and page on 127.0.0.1."""
    with ApiServer(page_world.app) as server:
        yield server


@pytest.fixture
def pages(browser: Any, page_server: ApiServer) -> Iterator[Any]:
    """Opens pages in the shared browser; closes them (and their event streams) after the test."""
    from api._browser import Pages

    opened = Pages(browser, page_server)
    try:
        yield opened
    finally:
        opened.close()
