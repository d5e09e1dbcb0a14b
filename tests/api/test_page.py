"""The web page end to end in headless Chromium: browse, search and filter, read a listing's
terms, buy it through the injected wallet (the shown terms go with the purchase), see the trade
appear live, sell on-chain or signed with a link to copy. Every outcome is checked on-chain;
every page is screenshotted at desktop width and at 375 px and checked with axe-core.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import Page

from api._browser import (
    Pages,
    PageWallet,
    assert_accessible,
    click,
    screenshot,
    shows,
    wait_done,
    wait_error,
)
from api.conftest import ApiWorld, png
from p2pchain.chain._model import TradeState
from p2pchain.ipfs import CID


def test_browse_search_open_buy_and_release_in_chromium(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    buyer = world.market.buyer_account
    wallet = PageWallet(world, buyer)
    page = pages.open(wallet, "/")

    page.wait_for_selector('[data-testid="listing-card"]')
    assert page.locator('[data-testid="listing-card"]').count() == 2
    page.wait_for_function(  # the photo, served through the API's verified gateway
        "document.querySelector('[data-testid=listing-card] img').naturalWidth === 240"
    )
    assert page.inner_text('[data-testid="card-trust"] >> nth=0') == "New seller: no ratings yet"
    screenshot(page, "01-browse")
    assert_accessible(page, "browse")

    page.fill('[data-testid="search-input"]', "bike")
    page.click('[data-testid="search-button"]')
    page.wait_for_function("document.querySelectorAll('[data-testid=listing-card]').length === 1")
    assert "Road bike" in page.inner_text('[data-testid="results"]')

    bike_id = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    page.click(f'[data-testid="listing-card"][data-id="{bike_id}"] h3 a')
    page.wait_for_selector('[data-testid="listing-detail"]')
    assert page.inner_text('[data-testid="listing-title"]') == "Road bike, 56 cm"
    assert page.inner_text('[data-testid="listing-price"]') == "1 ETH"
    assert page.inner_text('[data-testid="listing-kind"]') == "Item for sale"
    assert page.inner_text('[data-testid="listing-window"]').startswith("7 days after purchase.")
    arbitrator = page.inner_text('[data-testid="listing-arbitrator"]')
    assert "fee 2% of what it splits, paid only if it rules" in arbitrator
    assert page.inner_text('[data-testid="listing-remaining"]') == "1 of 1 left"
    assert page.inner_text('[data-testid="listing-expiry"]') == "No end date"
    assert page.inner_text('[data-testid="listing-trust"]') == "New seller: no ratings yet"
    escrow = page.inner_text('[data-testid="escrow-text"]')
    assert "not to the seller" in escrow and "open a dispute" in escrow
    assert "Pickup: Berlin, evenings" in page.inner_text('[data-testid="listing-terms"]')
    page.wait_for_function(
        "document.querySelector('[data-testid=listing-image]').naturalWidth === 240"
    )
    screenshot(page, "02-listing")
    assert_accessible(page, "listing")

    page.click('[data-testid="buy"]')  # a summary first; the wallet opens only after it
    page.wait_for_selector('[data-testid="buy-confirm"][open]')
    assert "1 ETH" in page.inner_text('[data-testid="buy-confirm"]')
    assert wallet.sent() == []
    screenshot(page, "03-buy-confirm")
    assert_accessible(page, "buy confirmation")
    click(page, '[data-testid="buy-confirm-button"]')
    wait_done(page)
    (tx,) = wallet.sent()
    assert tx["to"] == world.market.seller.deployment.marketplace
    assert int(tx["value"], 16) == 10**18
    trade = world.market.seller.trade(bike_id)
    assert trade.state == TradeState.PAID and trade.buyer == buyer.address

    page.click('[data-testid="nav-trades"]')  # the trade is there at once: no confirmations
    page.wait_for_selector(f'[data-testid="trade-row"][data-id="{bike_id}"][data-state="paid"]')
    row = page.inner_text(f'[data-testid="trade-row"][data-id="{bike_id}"]')
    assert "Road bike, 56 cm" in row and "You bought this" in row and "Review window ends" in row
    screenshot(page, "04-trades-buyer")
    assert_accessible(page, "trades")
    click(page, f'[data-testid="release-{bike_id}"]')
    wait_done(page)
    assert world.market.seller.trade(bike_id).state == TradeState.COMPLETED
    page.wait_for_selector(
        f'[data-testid="trade-row"][data-id="{bike_id}"][data-state="completed"]'
    )
    assert page.locator(f'[data-testid="release-{bike_id}"]').count() == 0
    assert page.locator(f'[data-testid="rate-{bike_id}"]').count() == 1
    assert page.external_requests == []  # type: ignore[attr-defined]
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_filters_sort_pages_and_sold_out_items(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    market = world.market
    for i in range(12):  # 14 listings in all: two pages of 12
        market.seller.create_listing(market.terms(price=(i + 2) * 10**17))
    market.buyer.buy(world.lamp.listing)  # type: ignore[arg-type]  # sold out now
    page = pages.open(PageWallet(world, market.buyer_account), "/?sort=price_desc")
    shows(page, '[data-testid="page-info"]')
    assert page.inner_text('[data-testid="page-info"]') == "Page 1 of 2"
    assert page.inner_text('[data-testid="result-count"]') == "13 listings"
    prices = page.locator('[data-testid="listing-card"] .price').all_inner_texts()
    assert prices[0].startswith("1.3 ETH") and prices[1].startswith("1.2 ETH")
    page.click('[data-testid="page-next"]')
    shows(page, '[data-testid="page-info"]:has-text("Page 2 of 2")')
    assert page.locator('[data-testid="listing-card"]').count() == 1

    page.select_option('[data-testid="search-category"]', "sports")
    page.wait_for_function("location.hash.includes('category=sports')")
    shows(page, '[data-testid="result-count"]:has-text("1 listing")')
    page.select_option('[data-testid="search-category"]', "")
    shows(page, '[data-testid="result-count"]:has-text("13 listings")')
    page.fill('[data-testid="search-min"]', "0.5")
    page.fill('[data-testid="search-max"]', "0.9")
    page.click('[data-testid="search-button"]')
    shows(page, '[data-testid="result-count"]:has-text("5 listings")')
    page.fill('[data-testid="search-min"]', "")
    page.fill('[data-testid="search-max"]', "")
    page.fill('[data-testid="search-input"]', "lamp")
    page.click('[data-testid="search-button"]')
    shows(page, '[data-testid="no-results"]')
    page.check('[data-testid="search-sold"]')
    shows(page, '[data-testid="listing-card"].sold')
    assert "Sold out" in page.inner_text('[data-testid="results"]')
    screenshot(page, "05-browse-filters")
    assert_accessible(page, "browse with filters")


def test_wallet_refusal_is_shown_and_nothing_is_sent(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    seller_wallet = PageWallet(world, world.market.seller_account)  # the seller cannot buy
    bike_id = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    page = pages.open(seller_wallet, f"/#/listing/{bike_id}")
    page.click('[data-testid="buy"]')
    click(page, '[data-testid="buy-confirm-button"]')
    assert "SelfPurchase" in wait_error(page)
    assert seller_wallet.sent() == []

    buyer_wallet = PageWallet(world, world.market.buyer_account)
    buyer_wallet.refuse = True  # the user presses "Reject" in the wallet
    page = pages.open(buyer_wallet, f"/#/listing/{bike_id}")
    page.click('[data-testid="buy"]')
    click(page, '[data-testid="buy-confirm-button"]')
    assert "you declined in your wallet" in wait_error(page)
    assert world.market.seller.listing(bytes.fromhex(bike_id[2:])).sold == 0


def test_terms_cut_after_the_page_opened_refuse_the_purchase(
    page_world: ApiWorld, pages: Pages
) -> None:
    """The attack of issue 11: the buyer opens a 7-day-window listing, the seller cuts the
    window to 1 second, the buyer clicks Buy. The page sends the terms it showed, so the
    purchase is refused with TermsChanged and the wallet never opens."""
    world = page_world
    buyer_wallet = PageWallet(world, world.market.buyer_account)
    listing = world.bike.listing
    assert listing is not None
    page = pages.open(buyer_wallet, f"/#/listing/0x{listing.id.hex()}")
    page.wait_for_selector('[data-testid="listing-window"]:has-text("7 days")')
    page.click('[data-testid="buy"]')  # the summary is open: live refreshes wait for it
    page.wait_for_selector('[data-testid="buy-confirm"][open]')

    seller = world.market.seller
    current = seller.listing(listing.id)
    seller.update_listing(current, replace(current.terms, review_window=1), current.remaining)

    click(page, '[data-testid="buy-confirm-button"]')
    assert "TermsChanged" in wait_error(page)
    assert buyer_wallet.sent() == []
    assert seller.listing(listing.id).sold == 0
    # the page then shows the new terms (pushed by the index), so the buyer sees what changed
    page.wait_for_selector('[data-testid="listing-window"]:has-text("1 second after purchase")')


def _sell(page: Page, title: str, price: str, mode: str, photo: bytes) -> None:
    page.wait_for_selector('[data-testid="sell-form"]')
    page.fill('[data-testid="sell-title"]', title)
    page.fill('[data-testid="sell-description"]', "Brass, rewired, works.")
    page.fill('[data-testid="sell-category"]', "home/lamps")
    page.fill('[data-testid="sell-price"]', price)
    page.set_input_files(
        '[data-testid="sell-photo"]',
        files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": photo}],
    )
    page.select_option('[data-testid="sell-mode"]', mode)
    click(page, '[data-testid="sell-submit"]')
    wait_done(page)


def test_sell_on_chain_from_the_page_lists_with_photo(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    seller = world.market.seller_account
    wallet = PageWallet(world, seller)
    page = pages.open(wallet, "/#/sell")
    before = {item.id for item in world.market.seller.listings_of(seller.address)}
    photo = png(240, 160, (40, 90, 200))
    _sell(page, "Desk lamp", "0.25", "onchain", photo)
    page.wait_for_selector('[data-testid="listing-detail"]')
    assert page.inner_text('[data-testid="listing-title"]') == "Desk lamp"

    (new,) = [
        item for item in world.market.seller.listings_of(seller.address) if item.id not in before
    ]
    assert new.terms.price == 25 * 10**16 and new.seller == seller.address
    assert page.url.endswith("#/listing/0x" + new.id.hex())
    verified = world.services.document(str(CID.parse(new.terms.cid)))
    assert verified.title == "Desk lamp" and verified.seller == seller.address
    assert world.store.cat(verified.images[0]) == photo
    page.goto(page.url.split("#")[0] + "#/?q=desk")
    page.wait_for_selector(f'[data-testid="listing-card"][data-id="0x{new.id.hex()}"]')


def test_sign_off_chain_copy_the_link_and_buy_it(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    seller_wallet = PageWallet(world, world.market.seller_account)
    page = pages.open(seller_wallet, "/#/sell")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _sell(page, "Signed lamp", "0.3", "signed", png())
    assert [m for m, _ in seller_wallet.calls if m == "eth_signTypedData_v4"]
    assert seller_wallet.sent() == []  # signing costs the seller nothing
    link = page.get_attribute('[data-testid="share-link"]', "href")
    assert link is not None and "#/signed/" in link
    page.click('[data-testid="share-copy"]')
    page.wait_for_selector('[data-testid="share-copied"]:has-text("Copied")')
    assert page.evaluate("navigator.clipboard.readText()") == link
    screenshot(page, "06-sell-signed")
    assert_accessible(page, "sell")

    buyer = world.market.buyer_account
    buyer_wallet = PageWallet(world, buyer)
    buyer_page = pages.open(buyer_wallet, "/" + link.split("/", 3)[3])
    buyer_page.wait_for_selector('[data-testid="listing-detail"]')
    assert buyer_page.inner_text('[data-testid="listing-title"]') == "Signed lamp"
    assert buyer_page.inner_text('[data-testid="listing-status"]').startswith("Available (signed")
    buyer_page.click('[data-testid="buy"]')
    click(buyer_page, '[data-testid="buy-confirm-button"]')
    wait_done(buyer_page)
    (tx,) = buyer_wallet.sent()
    assert int(tx["value"], 16) == 3 * 10**17
    signed_id = json.loads(base64.urlsafe_b64decode(link.split("#/signed/")[1] + "=="))["id"]
    trade = world.market.seller.trade(signed_id)
    assert trade.state == TradeState.PAID and trade.buyer == buyer.address
    buyer_page.wait_for_selector('[data-testid="listing-status"]:has-text("Sold out")')


def _day(d: date) -> str:
    """A date as the page writes it (en-GB, medium): ``3 May 2031``."""
    return f"{d.day} {d.strftime('%b')} {d.year}"


def _utc(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())  # type: ignore[misc]


def test_sell_a_rental_in_an_erc20_token_with_every_term(
    page_world: ApiWorld, pages: Pages
) -> None:
    """The sell form covers a rental (dates, deposit) priced in an ERC-20 token shown by its
    symbol, an arbitrator and fee, review window, expiry, quantity, photos, location and
    delivery; the listing page then shows each of them in words."""
    world, market = page_world, page_world.market
    token = market.deploy_token("TestERC20", "Test dollar", "TUSD")
    seller = market.seller_account
    page = pages.open(PageWallet(world, seller), "/#/sell")
    page.wait_for_selector('[data-testid="sell-form"]')
    page.select_option('[data-testid="sell-kind"]', "rental")
    page.fill('[data-testid="sell-title"]', "Cargo bike for a weekend")
    page.fill('[data-testid="sell-description"]', "Carries two kids or 80 kg.")
    page.fill('[data-testid="sell-category"]', "sports/bikes")
    page.select_option('[data-testid="sell-condition"]', "like_new")
    page.set_input_files(
        '[data-testid="sell-photo"]',
        files=[
            {"name": "a.png", "mimeType": "image/png", "buffer": png(200, 120, (30, 140, 60))},
            {"name": "b.png", "mimeType": "image/png", "buffer": png(200, 120, (30, 60, 140))},
        ],
    )
    today = datetime.now(UTC).date()
    start, end, expiry = (today + timedelta(days=n) for n in (200, 201, 190))
    page.fill('[data-testid="sell-rental-start"]', start.isoformat())
    page.fill('[data-testid="sell-rental-end"]', end.isoformat())
    page.select_option('[data-testid="sell-token-mode"]', "erc20")
    page.fill('[data-testid="sell-token"]', token.address)
    page.press('[data-testid="sell-token"]', "Tab")
    page.wait_for_selector('[data-testid="sell-token-symbol"]:has-text("TUSD, 18 decimals")')
    page.fill('[data-testid="sell-price"]', "12.5")
    page.fill('[data-testid="sell-deposit"]', "200")
    page.fill('[data-testid="sell-quantity"]', "2")
    page.fill('[data-testid="sell-window"]', "3")
    page.fill('[data-testid="sell-expiry"]', expiry.isoformat())
    page.fill('[data-testid="sell-arbitrator"]', market.arbitrator_account.address)
    page.fill('[data-testid="sell-fee"]', "1.5")
    page.fill('[data-testid="sell-location"]', "Leipzig, Plagwitz")
    page.fill('[data-testid="sell-country"]', "de")
    page.check('[data-testid="sell-delivery-pickup"]')
    page.fill('[data-testid="sell-delivery-note"]', "Weekdays after 6 pm")
    screenshot(page, "07-sell-rental")
    assert_accessible(page, "sell form")
    # a 3-day window, bought today, would end months before the rental: refused, nothing sent
    before = len(market.seller.listings_of(seller.address))
    click(page, '[data-testid="sell-submit"]')
    assert "would end before the rental does" in wait_error(page)
    assert len(market.seller.listings_of(seller.address)) == before
    page.fill('[data-testid="sell-window"]', "210")
    click(page, '[data-testid="sell-submit"]')
    assert "Listed on-chain for 12.5 TUSD" in wait_done(page)

    page.wait_for_selector('[data-testid="listing-detail"]')
    listing_id = page.url.split("#/listing/")[1]
    listing = market.seller.listing(listing_id)
    t = listing.terms
    assert (t.token, t.price, t.deposit) == (token.address, 125 * 10**17, 200 * 10**18)
    assert (t.arbitrator, t.arbitrator_fee_bps) == (market.arbitrator_account.address, 150)
    assert t.review_window == 210 * 86_400 and listing.listed_quantity == 2
    assert t.expiry == _utc(expiry.year, expiry.month, expiry.day, 23, 59, 59)
    doc = world.services.document(str(CID.parse(t.cid)))
    assert doc.kind == "rental" and doc.rental is not None
    assert (doc.rental.start, doc.rental.end) == (
        _utc(start.year, start.month, start.day),
        _utc(end.year, end.month, end.day, 23, 59, 59),
    )
    assert doc.location is not None and (doc.location.text, doc.location.country) == (
        "Leipzig, Plagwitz",
        "DE",
    )
    assert [(d.method, d.note) for d in doc.delivery] == [("pickup", "Weekdays after 6 pm")]
    assert len(doc.images) == 2 and doc.condition == "like_new"

    terms = {
        key: page.inner_text(f'[data-testid="listing-{key}"]')
        for key in ("price", "deposit", "token", "kind", "rental", "window", "expiry", "remaining")
    }
    assert terms["price"] == "12.5 TUSD per unit"
    assert terms["deposit"].startswith("200 TUSD per unit, returned")
    assert terms["token"] == f"TUSD ({token.address})"
    assert terms["kind"] == "Rental"
    assert terms["rental"] == f"{_day(start)} to {_day(end)}"
    assert terms["window"].startswith("210 days after purchase.")
    assert terms["expiry"].startswith(_day(expiry))
    assert terms["remaining"] == "2 of 2 left"
    assert "1.5%" in page.inner_text('[data-testid="listing-arbitrator"]')
    assert "The deposit (200 TUSD per unit)" in page.inner_text('[data-testid="escrow-text"]')
    screenshot(page, "08-listing-rental")
    assert_accessible(page, "rental listing")


def test_the_seller_closes_an_own_listing_from_its_page(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    listing = world.bike.listing
    assert listing is not None
    page = pages.open(PageWallet(world, world.market.seller_account), "/")
    click(page, '[data-testid="connect"]')
    wait_done(page)
    page.goto(page.url.split("#")[0] + f"#/listing/0x{listing.id.hex()}")
    click(page, '[data-testid="close-listing"]')
    wait_done(page)
    assert world.market.seller.listing(listing.id).status.value == "closed"
    shows(page, '[data-testid="listing-status"]:has-text("Closed by the seller")')
