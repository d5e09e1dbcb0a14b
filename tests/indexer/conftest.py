"""Fixtures for the indexer tests: a database of each engine, a market, listing documents.

``db_url`` runs a test twice: on a SQLite file in ``tmp_path`` and on a fresh database of the
session's throwaway PostgreSQL cluster (``tests/_postgres.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _market import ONE, Market, make_market

from p2pchain import publish_listing
from p2pchain.chain._nodes import EmbeddedChain
from p2pchain.ipfs import LocalStore
from p2pchain.market._views import Listing


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty index database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/index.sqlite"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def market(embedded_chain: EmbeddedChain) -> Market:
    """A fresh deployment on the embedded chain."""
    return make_market(embedded_chain)


@pytest.fixture
def ipfs(tmp_path: Path) -> LocalStore:
    """An empty LocalStore."""
    return LocalStore(tmp_path / "ipfs")


def document(market: Market, **overrides: Any) -> dict[str, Any]:
    """A valid sale listing document by the market's seller, 1 ETH, no arbitrator."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "title": "Road bike, 56 cm",
        "description": "Steel frame, new tyres, rides well.",
        "category": "sports/bikes",
        "kind": "sale",
        "condition": "good",
        "price": str(ONE),
        "token": "ETH",
        "seller": market.seller_account.address,
        "created_at": 1_700_000_000,
    }
    doc.update(overrides)
    return doc


def publish(market: Market, ipfs: LocalStore, *, expiry: int = 0, **overrides: Any) -> Listing:
    """Publish a document (IPFS first) and list it on-chain; returns the listing."""
    published = publish_listing(market.seller, ipfs, document(market, **overrides), expiry=expiry)
    assert published.listing is not None
    return published.listing


__all__ = ["ONE", "Market", "document", "publish"]
