"""Rentals booked by date in the index, on SQLite and PostgreSQL: "available between these two
dates" at every boundary, "rate per day up to X" across hourly and daily rates, with a radius and
distance sort, a cancelled booking freeing its dates, an owner's block, and a reorg on Anvil
dropping a booking."""

from __future__ import annotations

from typing import Any

import pytest
from _market import Market, make_market

from indexer.conftest import document
from p2pchain.chain._nodes import AnvilChain
from p2pchain.indexer import Indexer, IndexerError, SearchQuery
from p2pchain.ipfs import LocalStore
from p2pchain.market._bookings import DAY, HOUR, RentalListing
from p2pchain.market._rental_listings import publish_rental

RATE = 10**16  # 0.01 ETH


def _rental(
    market: Market, ipfs: LocalStore, title: str, *, first: int, unit: int, rate: int,
    place: tuple[float, float] | None = None,
) -> RentalListing:  # fmt: skip
    doc = document(
        market,
        title=title,
        kind="rental",
        category="vehicles/cars",
        price=str(rate),
        deposit=str(5 * RATE),
        rental={"start": first, "end": first + 200 * DAY},
    )
    if place is not None:
        doc["location"] = {"text": title, "lat": place[0], "lon": place[1]}
    return publish_rental(market.seller, ipfs, doc, unit=unit, max_units=60).listing


@pytest.fixture
def world(market: Market, db_url: str, ipfs: LocalStore) -> dict[str, Any]:
    now = int(market.chain.w3.eth.get_block("latest")["timestamp"])
    first = (now // DAY + 2) * DAY + 10 * HOUR
    berlin, potsdam, hamburg = (52.52, 13.405), (52.39, 13.06), (53.55, 9.99)
    cars = {
        "golf": _rental(market, ipfs, "Golf in Berlin", first=first, unit=DAY, rate=3 * RATE,
                        place=berlin),
        "van": _rental(market, ipfs, "Van in Potsdam", first=first, unit=DAY, rate=8 * RATE,
                       place=potsdam),
        "bike": _rental(market, ipfs, "Bike by the hour, Hamburg", first=first, unit=HOUR,
                        rate=RATE // 5, place=hamburg),  # 0.002/hour = 0.048/day
    }  # fmt: skip
    indexer = Indexer(db_url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    return {"market": market, "indexer": indexer, "first": first, "cars": cars, "berlin": berlin}


def _names(w: dict[str, Any], **query: Any) -> list[str]:
    w["indexer"].sync()
    page = w["indexer"].search(SearchQuery(limit=100, kind="rental", **query))
    by_id = {"0x" + v.id.hex(): k for k, v in w["cars"].items()}
    return sorted(by_id[i.listing_id] for i in page.items if i.listing_id in by_id)


def test_available_between_dates_at_every_boundary(world: dict[str, Any]) -> None:
    m, first, golf = world["market"], world["first"], world["cars"]["golf"]
    m.buyer.rentals.book(golf.id, 10, 3)  # days 10, 11, 12 taken
    day = lambda n: first + n * DAY
    cases = [
        (day(7), day(10), True),  # ends where the booking starts
        (day(13), day(15), True),  # starts where it ends
        (day(9), day(11), False),  # overlaps its first day
        (day(12), day(14), False),  # overlaps its last day
        (day(10) + HOUR, day(10) + 2 * HOUR, False),  # inside
        (day(8), day(16), False),  # straddles it
        (day(-1), day(1), False),  # before the bookable range
        (day(199), day(201), False),  # past the last date
    ]
    for start, end, free in cases:
        found = "golf" in _names(world, available_from=start, available_to=end)
        assert found is free, (start - first, end - first)


def test_cancel_frees_and_a_block_takes_dates(world: dict[str, Any]) -> None:
    m, first, golf = world["market"], world["first"], world["cars"]["golf"]
    span = {"available_from": first + 20 * DAY, "available_to": first + 22 * DAY}
    booking = m.buyer.rentals.book(golf.id, 21, 1)
    assert "golf" not in _names(world, **span)
    m.buyer.rentals.cancel(booking)
    assert "golf" in _names(world, **span)
    held = m.seller.rentals.block(golf.id, 20, 1)
    assert "golf" not in _names(world, **span)
    m.seller.rentals.unblock(held)
    assert "golf" in _names(world, **span)


def test_rate_per_day_across_hourly_and_daily_rates(world: dict[str, Any]) -> None:
    assert _names(world, max_rate_per_day=3 * RATE) == ["golf"]  # bike: 0.048/day > 0.03
    assert _names(world, max_rate_per_day=5 * RATE) == ["bike", "golf"]
    assert _names(world, max_rate_per_day=8 * RATE) == ["bike", "golf", "van"]
    page = world["indexer"].search(SearchQuery(kind="rental", max_rate_per_day=5 * RATE))
    bike = next(i for i in page.items if i.title and "Bike" in i.title)
    assert (bike.unit, bike.rate_per_day, bike.price) == (HOUR, RATE * 24 // 5, RATE // 5)


def test_date_radius_and_rate_together_nearest_first(world: dict[str, Any]) -> None:
    m, first = world["market"], world["first"]
    lat, lon = world["berlin"]
    span = {"available_from": first + 5 * DAY, "available_to": first + 7 * DAY}
    near = {"near_lat": lat, "near_lon": lon, "within_km": 50}
    world["indexer"].sync()
    page = world["indexer"].search(
        SearchQuery(kind="rental", sort="distance", max_rate_per_day=10 * RATE, **span, **near)
    )
    assert [i.title for i in page.items] == ["Golf in Berlin", "Van in Potsdam"]
    m.buyer.rentals.book(world["cars"]["golf"].id, 6, 1)
    assert _names(world, max_rate_per_day=10 * RATE, **span, **near) == ["van"]


def test_bad_availability_queries_are_refused(world: dict[str, Any]) -> None:
    first = world["first"]
    for query, message in (
        ({"available_from": first}, "go together"),
        ({"available_from": first, "available_to": first}, "after available_from"),
        ({"max_rate_per_day": -1}, "max_rate_per_day"),
    ):
        with pytest.raises(IndexerError, match=message):
            world["indexer"].search(query)


def test_a_reorg_drops_a_booking(anvil_chain: AnvilChain, db_url: str, tmp_path: Any) -> None:
    market = make_market(anvil_chain)
    ipfs = LocalStore(tmp_path / "ipfs")
    now = int(anvil_chain.w3.eth.get_block("latest")["timestamp"])
    first = (now // DAY + 2) * DAY + 10 * HOUR
    car = _rental(market, ipfs, "Golf", first=first, unit=DAY, rate=RATE)
    kept = market.buyer.rentals.book(car.id, 2, 1)
    indexer = Indexer(db_url, anvil_chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    indexer.sync()
    snapshot = anvil_chain.snapshot()
    market.stranger.rentals.book(car.id, 5, 2)  # on the branch that vanishes
    market.buyer.rentals.cancel(kept)  # so does this cancellation
    indexer.sync()
    span = {"available_from": first + 5 * DAY, "available_to": first + 6 * DAY}
    assert indexer.search(SearchQuery(**span)).total == 0
    anvil_chain.revert(snapshot)
    anvil_chain.mine(3)
    indexer.sync()
    assert indexer.search(SearchQuery(**span)).total == 1  # the lost booking is gone
    taken = {"available_from": first + 2 * DAY, "available_to": first + 3 * DAY}
    assert indexer.search(SearchQuery(**taken)).total == 0  # the kept one holds again
    rows = indexer.db.all("SELECT booking_id, holding FROM booked ORDER BY block_number")
    assert rows == [("0x" + kept.id.hex(), 1)]
