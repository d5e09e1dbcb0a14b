"""``GET /api/listings`` around a point, over a real socket: nearest first with distances, and
one-line 422s for a half-given point."""

from __future__ import annotations

import requests

from api.conftest import ApiWorld, document
from frontend_api.server import ApiServer
from p2pchain.market._listings import publish_listing


def _get(url: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(url, timeout=30)


def test_search_near_a_point_over_http(world: ApiWorld) -> None:
    market = world.market
    for title, lat, lon in (
        ("Kreuzberg bike", 52.4986, 13.4030),
        ("Potsdam bike", 52.3906, 13.0645),
    ):
        publish_listing(
            market.seller,
            world.store,
            document(market, title=title, location={"text": title, "lat": lat, "lon": lon}),
        )
    world.sync()
    with ApiServer(world.app) as server:
        found = _get(
            f"{server.url}/api/listings?near_lat=52.52&near_lon=13.405&within_km=50&sort=distance"
        )
        assert found.status_code == 200, found.text
        items = found.json()["items"]
        assert [i["title"] for i in items] == ["Kreuzberg bike", "Potsdam bike"]
        assert 2.0 < items[0]["distance_km"] < 3.0 and 26.0 < items[1]["distance_km"] < 28.0
        near = _get(f"{server.url}/api/listings?near_lat=52.52&near_lon=13.405&within_km=10")
        assert [i["title"] for i in near.json()["items"]] == ["Kreuzberg bike"]
        for query in ("near_lat=52.5", "within_km=5", "sort=distance", "near_lat=95&near_lon=0"):
            bad = _get(f"{server.url}/api/listings?{query}")
            assert bad.status_code == 422 and "near_lat" in bad.json()["detail"], (query, bad.text)
