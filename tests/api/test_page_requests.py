"""The Requests screens in headless Chromium with the injected wallet against Anvil: browse and
filter; a buyer posts a request (signed in the wallet, no transaction) and finds it in the list;
the seller of a matching listing sees the request on the listing and answers it (a signed
listing, no transaction); the buyer accepts the answer, and the escrowed trade is checked on
chain. Bad input is named in one line in the form before any wallet opens. Each screen is
screenshotted (desktop widths and 375 px) and checked with axe-core."""

from __future__ import annotations

import re

from _market import ONE
from playwright.sync_api import Page

from api._browser import (
    SHOTS,
    Pages,
    PageWallet,
    assert_accessible,
    click,
    screenshot,
    shows,
    wait_done,
)
from api.conftest import ApiWorld
from p2pchain.chain._model import TradeState

WIDE = {"width": 1280, "height": 800}


def shots(page: Page, name: str) -> None:
    """The shared screenshots (1200 and 375 px, nothing scrolling sideways) and one at 1280."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(WIDE)
    page.wait_for_timeout(50)
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    screenshot(page, name)


def fill_request(page: Page, **fields: str) -> None:
    """The new-request form with a lamp repair request, ``fields`` (by test id) overriding."""
    values = {
        "request-title": "Fix my table lamp",
        "request-description": "An old brass lamp flickers; rewire it this week.",
        "request-category": "services",
        "request-location": "Kreuzberg, Berlin",
        "request-country": "DE",
        "request-max-price": "0.1",
        **fields,
    }
    page.select_option('[data-testid="request-kind"]', "service")
    for testid, value in values.items():
        page.fill(f'[data-testid="{testid}"]', value)


def form_error(page: Page) -> str:
    """Submit the form; the one line it shows (the wallet stays closed)."""
    click(page, '[data-testid="request-submit"]')
    page.wait_for_selector('[data-testid="request-error"]:not(:empty)', timeout=10_000)
    text = page.inner_text('[data-testid="request-error"]')
    assert "\n" not in text.strip(), text
    return text


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


def test_request_posted_answered_and_accepted(page_world: ApiWorld, pages: Pages) -> None:
    world, market = page_world, page_world.market
    buyer_wallet = PageWallet(world, market.buyer_account)
    buyer = pages.open(buyer_wallet, "/#/requests")
    click(buyer, '[data-testid="post-request"]')
    shows(buyer, '[data-testid="request-form"]')
    fill_request(buyer)
    shots(buyer, "requests-02-new")
    assert_accessible(buyer, "new request form")
    click(buyer, '[data-testid="request-submit"]')
    assert "Request posted: providers can answer at up to 0.1 ETH per unit" in wait_done(buyer)
    buyer.wait_for_url("**#/request/0x*")
    request_id = buyer.url.split("#/request/")[1]
    # signed in the wallet: no transaction, no gas
    assert buyer_wallet.sent() == []
    assert [m for m, _ in buyer_wallet.calls].count("eth_signTypedData_v4") == 1
    stored = world.services.index.request(request_id)
    assert stored is not None and stored.requester == market.buyer_account.address
    assert stored.max_price == ONE // 10 and stored.document["location"]["country"] == "DE"
    shows(buyer, '[data-testid="request-heading"]')
    assert buyer.inner_text('[data-testid="request-heading"]') == "Fix my table lamp"
    assert buyer.locator('[data-testid="answer-panel"]').count() == 0  # not for the requester

    buyer.click('[data-testid="nav-requests"]')
    shows(buyer, '[data-testid="requests"] [data-testid="request"]')
    assert "Fix my table lamp" in buyer.inner_text('[data-testid="requests"]')
    shots(buyer, "requests-08-browse-posted")
    assert_accessible(buyer, "requests list with the posted request")

    # the lamp repair service matches: its seller sees the request on the listing and answers
    lamp = world.lamp.listing
    assert lamp is not None
    seller_wallet = PageWallet(world, market.seller_account)
    seller = pages.open(seller_wallet, f"/#/listing/0x{lamp.id.hex()}")
    click(seller, "#connect")
    wait_done(seller)
    shows(seller, '[data-testid="matched-request"]')
    assert "Fix my table lamp" in seller.inner_text('[data-testid="matched-requests"]')
    shots(seller, "requests-03-listing-matches")
    assert_accessible(seller, "own listing with matching requests")
    seller.click(f'[data-testid="answer-link-{request_id}"]')
    shows(seller, '[data-testid="answer-form"]')
    seller.fill('[data-testid="answer-price"]', "0.2")
    click(seller, '[data-testid="answer-submit"]')
    seller.wait_for_selector('[data-testid="answer-error"]:not(:empty)')
    assert seller.inner_text('[data-testid="answer-error"]') == (
        "Your price: at most 0.1 ETH, the request's max price"
    )
    seller.fill('[data-testid="answer-price"]', "0.04")
    seller.fill('[data-testid="answer-title"]', "Lamp rewiring, this week")
    seller.fill('[data-testid="answer-description"]', "New cable and switch, tested.")
    seller.fill('[data-testid="answer-arbitrator"]', market.buyer_account.address)
    click(seller, '[data-testid="answer-submit"]')
    seller.wait_for_selector('[data-testid="answer-error"]:not(:empty)')
    assert seller.inner_text('[data-testid="answer-error"]') == (
        "Arbitrator: someone other than you and the requester"
    )
    seller.fill('[data-testid="answer-arbitrator"]', market.arbitrator_account.address)
    shots(seller, "requests-04-answer-form")
    assert_accessible(seller, "answer form")
    click(seller, '[data-testid="answer-submit"]')
    assert "Answer sent: 0.04 ETH per unit" in wait_done(seller)
    assert seller_wallet.sent() == []
    (answer,) = world.services.index.answers(request_id)
    assert answer.seller == market.seller_account.address and answer.price == ONE // 25
    assert answer.document["request"] == request_id
    shows(seller, f'[data-testid="answer"][data-id="{answer.listing_id}"]')
    assert seller.locator(f'[data-testid="accept-answer-{answer.listing_id}"]').count() == 0

    # the requester accepts: a summary first, then one transaction buying the signed listing
    buyer.goto(buyer.url.split("#")[0] + f"#/request/{request_id}")
    accept = f'[data-testid="accept-answer-{answer.listing_id}"]'
    shows(buyer, accept)
    text = buyer.inner_text(f'[data-testid="answer"][data-id="{answer.listing_id}"]')
    assert "0.04 ETH per unit" in text and "You pay\n0.04 ETH into escrow" in text, text
    assert "2% fee if it rules" in text, text
    shots(buyer, "requests-05-answers")
    assert_accessible(buyer, "request with answers for the requester")
    click(buyer, accept)
    shows(buyer, '[data-testid="accept-confirm"][open]')
    assert "0.04 ETH" in buyer.inner_text('[data-testid="accept-confirm"]')
    shots(buyer, "requests-06-accept-confirm")
    assert_accessible(buyer, "accept summary")
    buyer.click('[data-testid="accept-confirm-button"]')
    assert "Accepted: your payment is held in escrow" in wait_done(buyer)
    assert len(buyer_wallet.sent()) == 1

    world.sync()
    taken = world.services.index.request(request_id)
    assert taken is not None and taken.status == "taken" and taken.trade_id
    trade = market.seller.trade(taken.trade_id)
    assert trade.state == TradeState.PAID and trade.trade.amount == ONE // 25
    assert trade.trade.buyer == market.buyer_account.address
    assert trade.trade.seller == market.seller_account.address
    assert trade.trade.arbitrator == market.arbitrator_account.address
    assert trade.trade.arbitrator_fee_bps == 200
    shows(buyer, f'[data-testid="answer"][data-id="{answer.listing_id}"][data-status="taken"]')
    assert buyer.locator(accept).count() == 0
    assert "Taken" in buyer.inner_text('[data-testid="request-status"]')
    buyer.click('[data-testid="answer-trade"]')
    shows(buyer, f'[data-testid="trade-row"][data-id="{taken.trade_id}"]')


def test_bad_request_input_is_one_line_in_the_form(page_world: ApiWorld, pages: Pages) -> None:
    world = page_world
    wallet = PageWallet(world, world.market.buyer_account)
    page = pages.open(wallet, "/#/requests/new")
    shows(page, '[data-testid="request-form"]')
    fill_request(page, **{"request-max-price": "0"})
    assert form_error(page) == "Max price: the amount must be above 0"
    fill_request(page, **{"request-expiry": "2020-01-01T12:00"})
    assert form_error(page) == "Open until: must be in the future"
    fill_request(page, **{"request-title": "   "})
    assert form_error(page) == "Title: say what you want"
    assert page.get_attribute('[data-testid="request-title"]', "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.dataset.testid") == "request-title"
    fill_request(page, **{"request-max-price": "0.1.2"})
    assert form_error(page) == 'Max price: not an amount: "0.1.2"'
    shots(page, "requests-07-form-error")
    assert_accessible(page, "new request form with an error")
    # nothing reached the wallet or the index
    assert [m for m, _ in wallet.calls if m == "eth_signTypedData_v4"] == []
    assert world.services.index.requests({"status": None}) == []


def test_token_request_answered_on_its_page_and_accepted(
    page_world: ApiWorld, pages: Pages
) -> None:
    """An ERC-20 request: amounts in the token's symbol everywhere; the provider answers from the
    request's own page; accepting approves the token, then buys (two transactions)."""
    world, market = page_world, page_world.market
    token = market.deploy_token("TestERC20", "Test", "TST")
    market.call_token(market.deployer, token, "mint", market.buyer_account.address, 100 * ONE)
    buyer_wallet = PageWallet(world, market.buyer_account)
    buyer = pages.open(buyer_wallet, "/#/requests/new")
    shows(buyer, '[data-testid="request-form"]')
    fill_request(buyer, **{"request-title": "Carry a sofa upstairs", "request-max-price": "30"})
    buyer.select_option('[data-testid="request-token-mode"]', "erc20")
    buyer.fill('[data-testid="request-token"]', token.address)
    click(buyer, '[data-testid="request-submit"]')
    assert "providers can answer at up to 30 TST per unit" in wait_done(buyer)
    buyer.wait_for_url("**#/request/0x*")
    request_id = buyer.url.split("#/request/")[1]
    buyer.click('[data-testid="nav-requests"]')
    shows(buyer, '[data-testid="request"]')
    assert "30 TST per unit" in buyer.inner_text('[data-testid="requests"]')

    seller = pages.open(PageWallet(world, market.seller_account), f"/#/request/{request_id}")
    shows(seller, '[data-testid="answer-form"]')
    assert "The request pays at most 30 TST" in seller.inner_text('[data-testid="answer-form"]')
    seller.fill('[data-testid="answer-price"]', "25")
    click(seller, '[data-testid="answer-submit"]')
    assert "Answer sent: 25 TST per unit" in wait_done(seller)
    (answer,) = world.services.index.answers(request_id)
    # the answer is a signed listing: its link opens the listing page, every term shown
    seller.click(
        f'[data-testid="answer"][data-id="{answer.listing_id}"] [data-testid="answer-terms"]'
    )
    shows(seller, '[data-testid="listing-detail"]')
    assert seller.inner_text('[data-testid="listing-title"]') == "Carry a sofa upstairs"
    assert "25 TST" in seller.inner_text('[data-testid="listing-price"]')

    buyer.goto(buyer.url.split("#")[0] + f"#/request/{request_id}")
    click(buyer, f'[data-testid="accept-answer-{answer.listing_id}"]')
    shows(buyer, '[data-testid="accept-confirm"][open]')
    assert "25 TST" in buyer.inner_text('[data-testid="accept-confirm"]')
    buyer.click('[data-testid="accept-confirm-button"]')
    assert "Accepted" in wait_done(buyer)
    assert len(buyer_wallet.sent()) == 2  # the token approval, then the purchase
    world.sync()
    taken = world.services.index.request(request_id)
    assert taken is not None and taken.status == "taken" and taken.trade_id
    trade = market.seller.trade(taken.trade_id)
    assert trade.state == TradeState.PAID and trade.trade.amount == 25 * ONE
    assert market.seller.balance(market.buyer_account.address, token.address) == 75 * ONE


LOCAL_INPUT_JS = """(days) => {
  const t = new Date(Date.now() + days * 86400000);
  const p = (n) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(t.getHours())}:00`;
}"""


def test_rental_request_answered_with_a_deposit(page_world: ApiWorld, pages: Pages) -> None:
    """A rental request names its period; the answer rents for it, with a deposit, and a review
    window that outlasts it (a shorter one is refused in the form); accepting pays both."""
    world, market = page_world, page_world.market
    buyer = pages.open(PageWallet(world, market.buyer_account), "/#/requests/new")
    shows(buyer, '[data-testid="request-form"]')
    fill_request(buyer, **{"request-title": "A road bike for a weekend"})
    buyer.select_option('[data-testid="request-kind"]', "rental")
    assert form_error(buyer).startswith("From, Until: a rental request needs both")
    buyer.fill('[data-testid="request-from"]', buyer.evaluate(LOCAL_INPUT_JS, 10))
    buyer.fill('[data-testid="request-until"]', buyer.evaluate(LOCAL_INPUT_JS, 12))
    buyer.fill('[data-testid="request-max-price"]', "0.3")
    click(buyer, '[data-testid="request-submit"]')
    wait_done(buyer)
    buyer.wait_for_url("**#/request/0x*")
    request_id = buyer.url.split("#/request/")[1]
    period = buyer.inner_text('[data-testid="request-terms"]')
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:00 (UTC|[+-]\d\d:\d\d) – ", period), period

    seller = pages.open(PageWallet(world, market.seller_account), f"/#/request/{request_id}")
    shows(seller, '[data-testid="answer-deposit"]')
    seller.fill('[data-testid="answer-price"]', "0.2")
    seller.fill('[data-testid="answer-deposit"]', "0.5")
    assert seller.input_value('[data-testid="answer-window"]') == "13"  # outlasts the rental
    seller.fill('[data-testid="answer-window"]', "7")
    click(seller, '[data-testid="answer-submit"]')
    seller.wait_for_selector('[data-testid="answer-error"]:not(:empty)')
    assert seller.inner_text('[data-testid="answer-error"]') == (
        "Review window: it would end before the rental does; give at least 13 days"
    )
    shots(seller, "requests-09-rental-answer-error")
    assert_accessible(seller, "rental answer form with an error")
    seller.fill('[data-testid="answer-window"]', "14")
    click(seller, '[data-testid="answer-submit"]')
    assert "Answer sent: 0.2 ETH per unit" in wait_done(seller)
    (answer,) = world.services.index.answers(request_id)
    assert answer.document["deposit"] == str(ONE // 2) and "rental" in answer.document

    buyer.reload()  # the requester comes back later: connecting shows the Accept buttons
    shows(buyer, f'[data-testid="answer"][data-id="{answer.listing_id}"]')
    assert "Connect your wallet" in buyer.inner_text('[data-testid="answers-panel"]')
    click(buyer, "#connect")
    wait_done(buyer)
    click(buyer, f'[data-testid="accept-answer-{answer.listing_id}"]')
    shows(buyer, '[data-testid="accept-confirm"][open]')
    assert "0.7 ETH" in buyer.inner_text('[data-testid="accept-confirm"]')
    buyer.click('[data-testid="accept-confirm-button"]')
    wait_done(buyer)
    world.sync()
    taken = world.services.index.request(request_id)
    assert taken is not None and taken.trade_id
    trade = market.seller.trade(taken.trade_id)
    assert trade.state == TradeState.PAID and trade.trade.amount == ONE // 5
