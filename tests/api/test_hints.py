"""``GET /api/price-hint`` over a real socket: figures from the index's completed trades, no
figure from thin data, and one-line errors for bad queries."""

from __future__ import annotations

import requests
from _market import ONE

from api.conftest import ApiWorld, document
from frontend_api.server import ApiServer
from p2pchain.market._listings import publish_listing
from p2pchain.market._views import Listing


def _get(url: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(url, timeout=30)


def test_price_hint_over_http(world: ApiWorld) -> None:
    market = world.market
    for tenths in (3, 5, 7, 8):
        listing = publish_listing(
            market.seller, world.store, document(market, price=str(tenths * ONE // 10))
        ).listing
        assert isinstance(listing, Listing)
        market.buyer.release(market.buyer.buy(listing))
    world.sync()
    with ApiServer(world.app) as server:
        base = f"{server.url}/api/price-hint?category=sports/bikes&condition=good"
        thin = _get(base)
        assert thin.status_code == 200
        assert thin.json()["trades"] == 4 and thin.json()["median"] is None  # one short
        assert "not enough data" in thin.json()["note"]
        assert thin.json()["live"] == 1  # the world's bike, still on offer

        listing = publish_listing(
            market.seller, world.store, document(market, price=str(6 * ONE // 10))
        ).listing
        assert isinstance(listing, Listing)
        market.buyer.release(market.buyer.buy(listing))
        world.sync()
        hint = _get(base).json()
        assert hint["enough"] is True and hint["trades"] == 5
        assert (hint["median"], hint["low"], hint["high"]) == (
            6 * ONE // 10, 5 * ONE // 10, 7 * ONE // 10
        )  # fmt: skip
        assert [p["unit_price"] for p in hint["history"]] == [
            t * ONE // 10 for t in (3, 5, 7, 8, 6)
        ]

        for query, word in (("", "category"), ("?category=x&kind=auction", "kind"),
                            ("?category=x&token=DOGE", "token"),
                            ("?category=x&condition=mint", "condition")):  # fmt: skip
            bad = _get(f"{server.url}/api/price-hint{query}")
            assert bad.status_code == 422, (query, bad.text)
            detail = bad.json()["detail"]
            assert word in detail and "\n" not in detail, detail
