"""Listing details read from the chain once per chain head, on a real Anvil: kept while the head
stays and across blocks that do not touch the listing, read again on the first request after a
block that does (a price update, the last unit bought), all dropped on a reorg."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from _market import ONE
from fastapi.testclient import TestClient

from api.conftest import ApiWorld
from frontend_api import Services, create_app
from frontend_api.chain_cache import AsyncHeads, Head, HeadTracker


def _path(world: ApiWorld) -> str:
    return f"/api/listings/0x{world.bike.listing.id.hex()}"  # type: ignore[union-attr]


def _reprice(world: ApiWorld, price: int) -> None:
    """The seller changes the bike's price on chain (one transaction, one new block)."""
    seller = world.market.seller
    current = seller.listing(world.bike.listing.id)  # type: ignore[union-attr]
    seller.update_listing(current, replace(current.terms, price=price), current.remaining)


def _api_with_max_age(world: ApiWorld, max_age: float) -> tuple[Services, TestClient]:
    settings = world.services.settings.model_copy(update={"head_max_age": max_age})
    services = Services(
        settings, client=world.services.client, backend=world.store, indexer=world.services.index
    )
    return services, TestClient(create_app(services=services))


def test_detail_is_read_from_the_chain_once_per_head(world: ApiWorld, api: TestClient) -> None:
    cache, heads = world.services.listings, world.services.heads
    first = api.get(_path(world))
    assert first.status_code == 200, first.text
    assert (cache.misses, cache.hits) == (1, 0)
    for _ in range(3):
        assert api.get(_path(world)).json() == first.json()
    assert (cache.misses, cache.hits) == (1, 3)
    assert heads.reads == 4  # head_max_age 0 (the default): the head is read for each request
    w3 = world.market.seller.w3
    latest = w3.eth.get_block("latest")
    head = heads.current()
    assert (head.number, head.hash) == (int(latest["number"]), "0x" + bytes(latest["hash"]).hex())
    assert head.parent_hash == "0x" + bytes(latest["parentHash"]).hex()


def test_a_price_update_shows_on_the_next_request(world: ApiWorld, api: TestClient) -> None:
    assert api.get(_path(world)).json()["terms"]["price"] == str(ONE)
    _reprice(world, 2 * ONE)
    detail = api.get(_path(world)).json()
    assert detail["terms"]["price"] == str(2 * ONE)
    assert detail["document_error"] is not None  # the document still says 1 ETH
    assert world.services.listings.misses == 2


def test_buying_the_last_unit_shows_sold_out_on_the_next_request(
    world: ApiWorld, api: TestClient
) -> None:
    before = api.get(_path(world)).json()
    assert (before["status"], before["remaining"], before["sold"]) == ("live", 1, 0)
    world.market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    after = api.get(_path(world)).json()
    assert (after["status"], after["remaining"], after["sold"]) == ("sold_out", 0, 1)


def test_a_block_that_does_not_touch_a_listing_keeps_its_view(
    world: ApiWorld, api: TestClient
) -> None:
    cache = world.services.listings
    lamp = f"/api/listings/0x{world.lamp.listing.id.hex()}"  # type: ignore[union-attr]
    bike = api.get(_path(world)).json()
    assert api.get(lamp).json()["terms"]["price"] == str(ONE // 20)
    world.chain.mine()  # an empty block
    seller = world.market.seller
    current = seller.listing(world.lamp.listing.id)  # type: ignore[union-attr]
    seller.update_listing(current, replace(current.terms, price=ONE // 10), 1)  # another block
    misses = cache.misses
    again = api.get(_path(world)).json()
    assert again["now"] >= bike["now"]  # the chain's clock moves with the blocks...
    assert {**again, "now": None} == {**bike, "now": None}  # ...the view is kept across both
    assert cache.misses == misses
    assert api.get(lamp).json()["terms"]["price"] == str(ONE // 10)  # touched: read again
    assert cache.misses == misses + 1 and cache.dropped == 1


@pytest.mark.parametrize("blocks", [1, 3], ids=["same_height", "longer_chain"])
def test_a_reorg_drops_every_view(world: ApiWorld, api: TestClient, blocks: int) -> None:
    before = world.chain.snapshot()
    _reprice(world, 5 * ONE)
    assert api.get(_path(world)).json()["terms"]["price"] == str(5 * ONE)
    world.chain.revert(before)  # the block with the new price is gone...
    world.chain.mine(blocks)  # ...and other blocks (no marketplace logs) take its place
    assert api.get(_path(world)).json()["terms"]["price"] == str(ONE)
    assert world.services.listings.dropped >= 1


def test_within_head_max_age_the_kept_view_is_served(world: ApiWorld) -> None:
    services, client = _api_with_max_age(world, 60)
    with client as api:
        assert api.get(_path(world)).json()["terms"]["price"] == str(ONE)
        _reprice(world, 3 * ONE)
        # The head was read less than 60 s ago: the view kept for it is served.
        assert api.get(_path(world)).json()["terms"]["price"] == str(ONE)
        assert services.heads.reads == 1
        services.heads.max_age = 0
        assert api.get(_path(world)).json()["terms"]["price"] == str(3 * ONE)


def test_after_head_max_age_a_change_is_seen(world: ApiWorld) -> None:
    _, client = _api_with_max_age(world, 0.3)
    with client as api:
        assert api.get(_path(world)).json()["terms"]["price"] == str(ONE)
        _reprice(world, 4 * ONE)
        time.sleep(0.35)
        assert api.get(_path(world)).json()["terms"]["price"] == str(4 * ONE)


def test_unknown_listing_is_not_kept(world: ApiWorld, api: TestClient) -> None:
    missing = "/api/listings/0x" + "ee" * 32
    assert api.get(missing).status_code == 404
    assert api.get(missing).status_code == 404
    assert len(world.services.listings) == 0


@pytest.fixture
def blocking_reads() -> Iterator[tuple[HeadTracker, threading.Event, threading.Event]]:
    """A tracker whose first head read blocks until released."""
    started, release = threading.Event(), threading.Event()
    counter = itertools.count()

    def fetch() -> Head:
        n = next(counter)
        if n == 0:
            started.set()
            assert release.wait(30)
        return Head(n, f"0x{n:064x}")

    yield HeadTracker(fetch, 0), started, release
    release.set()


def test_concurrent_callers_share_one_head_read(
    blocking_reads: tuple[HeadTracker, threading.Event, threading.Event],
) -> None:
    tracker, started, release = blocking_reads
    results: list[Head] = []

    def call() -> None:
        results.append(tracker.current())

    first = threading.Thread(target=call)
    first.start()
    assert started.wait(30)
    later = [threading.Thread(target=call) for _ in range(8)]
    for thread in later:
        thread.start()
    deadline = time.monotonic() + 30
    while tracker.waiting < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tracker.waiting == 8
    release.set()
    for thread in (first, *later):
        thread.join(30)
    # The 8 arrived after the first read started: one more read, shared by all of them.
    assert tracker.reads == 2
    assert sorted(head.number for head in results) == [0] + [1] * 8


def test_a_failed_head_read_reaches_the_caller_and_is_retried() -> None:
    answers: Iterator[Exception | Head] = iter([ConnectionError("node gone"), Head(7, "0x07")])

    def fetch() -> Head:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    tracker = HeadTracker(fetch, 60)
    with pytest.raises(ConnectionError, match="node gone"):
        tracker.current()
    assert tracker.current() == Head(7, "0x07") and tracker.reads == 1
    assert tracker.current() == Head(7, "0x07") and tracker.reads == 1
    with pytest.raises(ValueError, match="max_age"):
        HeadTracker(fetch, -1)


async def _thread(fn: Callable[[], Head]) -> Head:
    return await asyncio.to_thread(fn)


def test_async_callers_wait_for_a_read_that_started_after_they_came(
    blocking_reads: tuple[HeadTracker, threading.Event, threading.Event],
) -> None:
    tracker, started, release = blocking_reads
    heads = AsyncHeads(tracker, _thread)

    async def run() -> list[Head]:
        first = asyncio.ensure_future(heads.current())
        assert await asyncio.to_thread(started.wait, 30)  # the first read is under way...
        later = [asyncio.ensure_future(heads.current()) for _ in range(8)]
        await asyncio.sleep(0.05)
        assert tracker.reads == 0 and not any(t.done() for t in later)
        release.set()  # ...the 8 that came meanwhile share the next one
        return [await first, *[await t for t in later]]

    results = asyncio.run(run())
    assert [head.number for head in results] == [0] + [1] * 8
    assert tracker.reads == 2
    # Later, on another loop (a new server): a new read again.
    assert asyncio.run(heads.current()).number == 2 and tracker.reads == 3


def test_async_callers_get_a_failed_read_and_a_fresh_head_without_a_thread() -> None:
    answers: Iterator[Exception | Head] = iter([ConnectionError("node gone"), Head(7, "0x07")])

    def fetch() -> Head:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    threads = 0

    async def thread(fn: Callable[[], Head]) -> Head:
        nonlocal threads
        threads += 1
        return await asyncio.to_thread(fn)

    heads = AsyncHeads(HeadTracker(fetch, 60), thread)

    async def run() -> None:
        # the second came after the first read started: it waits for the next, which answers
        failed, answered = await asyncio.gather(
            heads.current(), heads.current(), return_exceptions=True
        )
        assert str(failed) == "node gone" and answered == Head(7, "0x07") and threads == 2
        assert await heads.current() == Head(7, "0x07") and threads == 2  # fresh: no thread

    asyncio.run(run())
