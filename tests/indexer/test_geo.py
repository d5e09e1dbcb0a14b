"""Search by place on SQLite (R*Tree) and PostgreSQL (cube + earthdistance): within a radius,
nearest first, with the other filters, across the antimeridian, and input checks."""

from __future__ import annotations

import math

import pytest
from _market import ONE

from indexer.conftest import Market, publish
from p2pchain.indexer import Indexer, IndexerError, SearchQuery
from p2pchain.ipfs import LocalStore

PLACES = {
    "berlin": (52.5200, 13.4050),
    "potsdam": (52.3906, 13.0645),  # about 27 km from Berlin
    "hamburg": (53.5511, 9.9937),  # about 255 km
    "suva": (-18.1416, 178.4419),  # Fiji, just west of the antimeridian
    "apia": (-13.8333, -171.7500),  # Samoa, just east of it: about 1,150 km from Suva
}


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (la1, lo1), (la2, lo2) = (tuple(map(math.radians, p)) for p in (a, b))
    c = math.sin(la1) * math.sin(la2) + math.cos(la1) * math.cos(la2) * math.cos(lo2 - lo1)
    return 6371.0088 * math.acos(min(1.0, c))


@pytest.fixture
def geo(market: Market, db_url: str, ipfs: LocalStore) -> tuple[Indexer, dict[str, str]]:
    made = {}
    for i, (name, (lat, lon)) in enumerate(PLACES.items()):
        made[name] = publish(
            market, ipfs, title=f"Bike in {name}", price=str((i + 1) * ONE // 10),
            location={"text": name.title(), "lat": lat, "lon": lon},
        )  # fmt: skip
    made["nowhere"] = publish(market, ipfs, title="Bike, no place given", price=str(ONE))
    made["words"] = publish(
        market, ipfs, title="Bike, place in words", location={"text": "Berlin Mitte"}
    )
    market.chain.mine(1)
    indexer = Indexer(db_url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    indexer.sync()
    return indexer, {"0x" + v.id.hex(): k for k, v in made.items()}


def _names(geo: tuple[Indexer, dict[str, str]], **query: object) -> list[str]:
    indexer, names = geo
    page = indexer.search(SearchQuery(limit=100, **query))  # type: ignore[arg-type]
    return [names[item.listing_id] for item in page.items]


def test_within_a_radius_nearest_first(geo: tuple[Indexer, dict[str, str]]) -> None:
    berlin = {"near_lat": PLACES["berlin"][0], "near_lon": PLACES["berlin"][1]}
    assert _names(geo, **berlin, within_km=50, sort="distance") == ["berlin", "potsdam"]
    assert _names(geo, **berlin, within_km=20) == ["berlin"]
    assert _names(geo, **berlin, within_km=300, sort="distance") == ["berlin", "potsdam", "hamburg"]
    # every listing with a place, nearest first; those without one are left out
    nearest = sorted(PLACES, key=lambda name: _km(PLACES["berlin"], PLACES[name]))
    assert _names(geo, **berlin, sort="distance") == nearest
    indexer, _ = geo
    page = indexer.search(SearchQuery(**berlin, within_km=300, sort="distance"))
    for item, name in zip(page.items, ["berlin", "potsdam", "hamburg"], strict=True):
        assert item.distance_km == pytest.approx(_km(PLACES["berlin"], PLACES[name]), abs=0.01)
        assert (item.lat, item.lon) == PLACES[name]
    assert indexer.search(SearchQuery()).items[0].distance_km is None  # no point, no distance


def test_radius_with_price_text_and_the_antimeridian(geo: tuple[Indexer, dict[str, str]]) -> None:
    berlin = {"near_lat": PLACES["berlin"][0], "near_lon": PLACES["berlin"][1]}
    assert _names(geo, **berlin, within_km=300, max_price=2 * ONE // 10, sort="price_desc") == [
        "potsdam", "berlin"
    ]  # fmt: skip
    assert _names(geo, **berlin, within_km=300, min_price=3 * ONE // 10) == ["hamburg"]
    assert _names(geo, text="potsdam", **berlin, within_km=300) == ["potsdam"]
    assert _names(geo, text="hamburg", **berlin, within_km=30) == []  # the text, but too far
    assert _names(geo, text="bike", **berlin, within_km=30, sort="price_asc") == [
        "berlin", "potsdam"
    ]  # fmt: skip
    suva = {"near_lat": PLACES["suva"][0], "near_lon": PLACES["suva"][1]}
    distance = _km(PLACES["suva"], PLACES["apia"])
    assert 1_000 < distance < 1_300
    assert _names(geo, **suva, within_km=distance + 5, sort="distance") == ["suva", "apia"]
    assert _names(geo, **suva, within_km=distance - 5) == ["suva"]
    assert _names(geo, near_lat=89.9, near_lon=0.0, within_km=100) == []  # around the pole


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"near_lat": 52.5}, "near_lat"),
        ({"within_km": 10}, "near_lat"),
        ({"sort": "distance"}, "near_lat"),
        ({"near_lat": 91, "near_lon": 0}, "near_lat"),
        ({"near_lat": 0, "near_lon": 181}, "near_lon"),
        ({"near_lat": 0, "near_lon": 0, "within_km": 0}, "within_km"),
        ({"near_lat": 0, "near_lon": 0, "within_km": -3}, "within_km"),
    ],
)
def test_bad_place_queries_are_refused_naming_the_field(
    geo: tuple[Indexer, dict[str, str]], query: dict[str, object], field: str
) -> None:
    indexer, _ = geo
    with pytest.raises(IndexerError) as refused:
        indexer.search(query)
    assert field in str(refused.value)
