"""The Requests screen in headless Chromium: the nav link opens it, its filters are labelled,
an empty index says so; screenshotted at desktop width and at 375 px and checked with axe-core.

Posting, answering and accepting from the page are not built yet (see the branch report).
"""

from __future__ import annotations

from api._browser import Pages, PageWallet, assert_accessible, screenshot, shows
from api.conftest import ApiWorld


def test_requests_screen_browse_in_chromium(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    wallet = PageWallet(world, world.market.buyer_account)
    page = pages.open(wallet, "/")
    page.click('[data-testid="nav-requests"]')
    shows(page, '[data-testid="request-filters"]')
    assert page.inner_text("#view h1") == "Requests"
    assert "No open requests match." in page.inner_text("#view")
    page.select_option('[data-testid="request-filters"] select[name="kind"]', "service")
    page.click('[data-testid="request-filters"] button[type="submit"]')
    page.wait_for_url("**#/requests?kind=service")
    shows(page, '[data-testid="request-filters"]')
    assert page.input_value('[data-testid="request-filters"] select[name="kind"]') == "service"
    screenshot(page, "requests-01-browse")
    assert_accessible(page, "requests-browse")
