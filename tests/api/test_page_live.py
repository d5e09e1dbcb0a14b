"""Fresh pages: on a dev chain the API's index follows the head (no confirmations) and pushes
each change over Server-Sent Events, so an open page shows a new listing, a purchase and a
dispute within a second, without reloading."""

from __future__ import annotations

import time

from playwright.sync_api import Page

from api._browser import Pages, PageWallet
from api.conftest import ApiWorld, document
from p2pchain.market._listings import publish_listing

#: What issue 11 asks: a change shows within 1 s.
BUDGET = 1.0


def _shows_within(page: Page, selector: str, started: float) -> float:
    """Seconds from ``started`` until ``selector`` shows (waits up to 10 s to report the time)."""
    page.wait_for_selector(selector, timeout=10_000)
    return time.monotonic() - started


def test_a_new_listing_a_purchase_and_a_dispute_show_within_a_second(
    page_world: ApiWorld, pages: Pages
) -> None:
    world, market = page_world, page_world.market
    buyer = PageWallet(world, market.buyer_account)
    browse = pages.open(buyer, "/")
    browse.wait_for_selector('[data-testid="listing-card"]')
    bike_id = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    detail = pages.open(buyer, f"/#/listing/{bike_id}")
    detail.wait_for_selector('[data-testid="listing-status"]:has-text("Available")')
    trades = pages.open(buyer, "/#/trades")
    trades.wait_for_selector('[data-testid="no-trades"]')
    for page in (browse, detail, trades):
        page.wait_for_function("document.body.dataset.live === 'on'")

    new = publish_listing(
        market.seller,
        world.store,
        document(market, title="Tent for two", category="sports/camping"),
    )
    started = time.monotonic()
    assert new.listing is not None
    seconds = _shows_within(
        browse, f'[data-testid="listing-card"][data-id="0x{new.listing.id.hex()}"]', started
    )
    assert seconds < BUDGET, f"the new listing showed after {seconds:.2f} s"

    trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    started = time.monotonic()
    seconds = _shows_within(trades, f'[data-testid="trade-row"][data-id="{bike_id}"]', started)
    assert seconds < BUDGET, f"the purchase showed in My trades after {seconds:.2f} s"
    seconds = _shows_within(detail, '[data-testid="listing-status"]:has-text("Sold out")', started)
    assert seconds < BUDGET, f"the listing showed as sold after {seconds:.2f} s"

    market.seller.dispute(trade)
    started = time.monotonic()
    seconds = _shows_within(
        trades, f'[data-testid="trade-row"][data-id="{bike_id}"][data-state="disputed"]', started
    )
    assert seconds < BUDGET, f"the dispute showed after {seconds:.2f} s"
    for page in (browse, detail, trades):
        assert page.external_requests == []  # type: ignore[attr-defined]
        assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_live_change_never_draws_over_what_the_user_changed(
    page_world: ApiWorld, pages: Pages
) -> None:
    """A person clears a price filter and moves to the Search button; a listing arrives on the
    chain meanwhile. The reload waits: it would draw the old filter back, and the click would
    search with it. Once the person searches, live reloads go on."""
    world, market = page_world, page_world.market
    buyer = PageWallet(world, market.buyer_account)
    page = pages.open(buyer, "/#/?min=0.5")
    control = pages.open(buyer, "/")  # an untouched page, to see when the change arrived
    for each in (page, control):
        each.wait_for_selector('[data-testid="result-count"]')
        each.wait_for_function("document.body.dataset.live === 'on'")
    assert page.input_value('[data-testid="search-min"]') == "0.5"
    page.fill('[data-testid="search-min"]', "")
    page.focus('[data-testid="search-button"]')  # focus leaves the field, the change stays

    first = publish_listing(
        market.seller, world.store, document(market, title="Camp stove", category="sports/camping")
    )
    assert first.listing is not None
    card = f'[data-testid="listing-card"][data-id="0x{first.listing.id.hex()}"]'
    control.wait_for_selector(card, timeout=10_000)  # the change reached the pages
    page.wait_for_timeout(500)  # a reload draws within 50 ms of it; give it ten times that
    assert page.input_value('[data-testid="search-min"]') == "", "a reload drew the old filter"

    page.click('[data-testid="search-button"]')
    page.wait_for_selector(card)  # searched without the minimum: the stove (1 ETH) shows
    assert "min=" not in page.url
    second = publish_listing(
        market.seller, world.store, document(market, title="Camp chair", category="sports/camping")
    )
    assert second.listing is not None
    started = time.monotonic()
    seconds = _shows_within(
        page, f'[data-testid="listing-card"][data-id="0x{second.listing.id.hex()}"]', started
    )
    assert seconds < BUDGET, f"live reloads did not resume: {seconds:.2f} s"
