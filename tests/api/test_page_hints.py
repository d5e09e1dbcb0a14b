"""The sell form's price hint in Chromium: what comparable items sold for (from the API's index),
a chart of those sales, and plain words when there are too few to suggest a price."""

from __future__ import annotations

from _market import ONE

from api._browser import Pages, PageWallet, assert_accessible, screenshot, shows
from api.conftest import ApiWorld, document
from p2pchain.market._listings import publish_listing
from p2pchain.market._views import Listing


def test_the_sell_form_shows_what_comparable_bikes_sold_for(
    page_world: ApiWorld, pages: Pages
) -> None:
    world, market = page_world, page_world.market
    for tenths in (2, 4, 5, 6, 9):
        listing = publish_listing(
            market.seller, world.store, document(market, price=str(tenths * ONE // 10))
        ).listing
        assert isinstance(listing, Listing)
        market.buyer.release(market.buyer.buy(listing))
    world.sync()
    page = pages.open(PageWallet(world, market.seller_account), "/#/sell")
    page.wait_for_selector('[data-testid="sell-form"]')
    shows(page, '[data-testid="price-hint"]:has-text("Not enough sales")')  # "misc": no sales
    assert "0 comparable sales" in page.inner_text('[data-testid="price-hint"]')

    page.fill('[data-testid="sell-category"]', "sports/bikes")
    page.press('[data-testid="sell-category"]', "Tab")
    shows(page, '[data-testid="price-hint"]:has-text("Comparable items sold for")')
    text = " ".join(page.inner_text('[data-testid="price-hint"]').split())
    assert "sold for 0.5 ETH (median)" in text, text
    assert "between 0.4 ETH and 0.6 ETH" in text and "From 5 sales in the last 90 days" in text
    assert "1 like it on offer now" in text  # the world's bike
    assert page.locator('[data-testid="price-chart"] circle').count() == 5

    page.select_option('[data-testid="sell-condition"]', "new")  # nothing new was sold
    shows(page, '[data-testid="price-hint"]:has-text("Not enough sales")')
    page.select_option('[data-testid="sell-condition"]', "good")
    shows(page, '[data-testid="price-chart"]')
    screenshot(page, "09-sell-price-hint")
    assert_accessible(page, "sell form with a price hint")
