"""Fixtures for the market tests: a fresh deployment (``market``, ``any_market``), and for the
listing-document tests an IPFS backend of each kind.

``backend`` runs a test twice: on a :class:`LocalStore` in ``tmp_path``, and over real HTTP with
:class:`KuboBackend` against the dev node (127.0.0.1, a free port) serving another LocalStore.
``store`` is the LocalStore underneath either way, so tests can tamper with stored blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _market
import pytest
from _market import ONE, Market

from p2pchain.ipfs import CID, CIDLike, DevNode, IpfsBackend, KuboBackend, LocalStore

#: The shared fixtures.
any_market = _market.any_market
market = _market.market


class NodeStore(LocalStore):
    """A LocalStore that, once ``lying`` is set, serves blocks as they are on disk, unverified.

    The dev node refuses to serve a corrupted block of an honest store; a lying node (or a
    corrupted disk under a careless one) serves it. Setting ``lying`` lets the tests prove that
    the *client* catches tampering over HTTP. Only the node's reads lie: a LocalStore used
    directly keeps verifying (``cat`` goes through ``iter_cat`` only while ``lying`` is False).
    """

    lying = False

    def get_block(self, cid: CIDLike) -> bytes:
        return self._fetch_block(CID.parse(cid)) if self.lying else super().get_block(cid)

    def iter_cat(self, cid: CIDLike, *, max_size: int | None = None) -> Iterator[bytes]:
        if self.lying:  # single-block files only, which is what the tests tamper with
            return iter([self._fetch_block(CID.parse(cid))])
        return super().iter_cat(cid, max_size=max_size)


@pytest.fixture
def store(tmp_path: Path) -> NodeStore:
    """An empty LocalStore in a temp folder."""
    return NodeStore(tmp_path / "ipfs")


@pytest.fixture(params=["local", "kubo"])
def backend(request: pytest.FixtureRequest, store: LocalStore) -> Iterator[IpfsBackend]:
    """The LocalStore itself, then a KuboBackend talking HTTP to a dev node over it."""
    if request.param == "local":
        yield store
        return
    with DevNode(store) as node, KuboBackend(node.url, timeout=30) as kubo:
        yield kubo


def sale_document(market: Market, **overrides: Any) -> dict[str, Any]:
    """A valid sale document by the market's seller, 1 ETH, the market's arbitrator at 2%."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "title": "Road bike, 56 cm",
        "description": "Steel frame, new tyres. Ünïcode wörks 🚲",
        "category": "sports/bikes",
        "kind": "sale",
        "condition": "good",
        "price": str(ONE),
        "token": "ETH",
        "quantity": 1,
        "seller": market.seller_account.address,
        "created_at": 1_700_000_000,
        "language": "en",
        "tags": ["bike", "steel"],
        "location": {"text": "Berlin Kreuzberg", "country": "DE", "lat": 52.5, "lon": 13.4},
        "delivery": [
            {"method": "pickup", "note": "evenings"},
            {"method": "shipping", "cost": "1000"},
        ],
        "contact": "matrix: @ann:example.org",
        "terms_note": "14 days return if unused",
        "arbitrator": {"address": market.arbitrator_account.address, "fee_bps": 200},
    }
    doc.update(overrides)
    return doc


def rental_document(market: Market, **overrides: Any) -> dict[str, Any]:
    """A valid rental document: 0.1 ETH rent, 1 ETH deposit."""
    values: dict[str, Any] = {
        "kind": "rental",
        "price": str(ONE // 10),
        "deposit": str(ONE),
        "condition": None,
        "rental": {"start": 1_800_000_000, "end": 1_800_086_400},
    }
    values.update(overrides)
    return sale_document(market, **values)
