"""The web page end to end in headless Chromium (Debian's, driven by playwright).

A wallet provider is injected into the page (``window.ethereum``, EIP-1193) that forwards every
request to Python, where the buyer's key signs against the real Anvil node. The page browses and
searches the index, opens a listing, buys it through the wallet, and releases or disputes trades;
each outcome is checked on-chain. Screenshots of the main screens go to
``reports/tmp/screenshots/`` (gitignored).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from api.conftest import ApiWorld, png
from frontend_api.server import ApiServer
from p2pchain.chain._model import TradeState
from p2pchain.ipfs import CID

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: The injected provider: every request goes to the Python-side wallet as JSON.
PROVIDER_JS = """
(() => {
  const listeners = {};
  window.ethereum = {
    isP2pchainTestWallet: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window.p2pchainWallet(method, JSON.stringify(params || [])));
      if (answer.error) {
        const error = new Error(answer.error.message);
        error.code = answer.error.code;
        throw error;
      }
      return answer.result;
    },
    on(event, handler) { (listeners[event] = listeners[event] || []).push(handler); },
    removeListener() {},
  };
})();
"""


class PageWallet:
    """A wallet holding one key, signing what the page asks for and sending it to the chain."""

    def __init__(self, world: ApiWorld, account: LocalAccount) -> None:
        self.world = world
        self.account = account
        self.calls: list[tuple[str, list[Any]]] = []

    def handle(self, method: str, params_json: str) -> str:
        params = json.loads(params_json)
        self.calls.append((method, params))
        try:
            return json.dumps({"result": self._answer(method, params)})
        except Exception as exc:  # noqa: BLE001 - the page must see the wallet's error
            return json.dumps({"error": {"code": 4001, "message": str(exc)}})

    def _answer(self, method: str, params: list[Any]) -> Any:
        w3 = self.world.market.seller.w3
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address]
        if method == "eth_chainId":
            return hex(w3.eth.chain_id)
        if method == "eth_sendTransaction":
            (tx,) = params
            if tx["from"].lower() != self.account.address.lower():
                raise ValueError(f"unknown sender {tx['from']}")
            raw = self.world.sign(self.account, tx)
            return w3.eth.send_raw_transaction(raw).to_0x_hex()
        if method == "eth_signTypedData_v4":
            _, typed = params
            data = json.loads(typed) if isinstance(typed, str) else typed
            signed = self.account.sign_typed_data(full_message=data)
            return "0x" + bytes(signed.signature).hex()
        raise ValueError(f"method {method} not supported by the test wallet")

    def sent(self) -> list[dict[str, Any]]:
        """Transactions the page asked the wallet to send."""
        return [params[0] for method, params in self.calls if method == "eth_sendTransaction"]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never a downloaded browser)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(repo_root: Path) -> Path:
    """Where screenshots are kept (gitignored)."""
    folder = repo_root / "reports" / "tmp" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser: Browser, wallet: PageWallet, live: ApiServer) -> Page:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.expose_function("p2pchainWallet", wallet.handle)
    context.add_init_script(PROVIDER_JS)
    external: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if url.startswith(live.url):
            route.continue_()
        else:
            external.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.external_requests = external  # type: ignore[attr-defined]
    return page


def _click(page: Page, selector: str) -> None:
    """Clear the status line, then click (so a later wait sees this action's outcome)."""
    page.evaluate("setStatus('', 'info')")
    page.click(selector)


def _wait_done(page: Page) -> None:
    """Wait for the page's status line to report success (fail with what it says instead)."""
    page.wait_for_selector(
        '#status[data-state="done"], #status[data-state="error"]', timeout=60_000
    )
    assert page.get_attribute("#status", "data-state") == "done", page.inner_text("#status")


def _trade_row(page: Page, world: ApiWorld, trade_id: str, state: str) -> None:
    """Sync the index and reload the trades screen until the trade shows ``state``."""
    selector = f'tr[data-id="{trade_id}"][data-state="{state}"]'
    for _ in range(20):
        world.sync()
        page.evaluate("route()")
        try:
            page.wait_for_selector(selector, timeout=1_000)
        except PlaywrightTimeout:  # not indexed yet: sync again
            pass
        else:
            return
    raise AssertionError(f"trade {trade_id} never showed as {state}")


def test_browse_search_open_buy_and_release_in_chromium(
    world: ApiWorld, live: ApiServer, browser: Browser, shots: Path
) -> None:
    buyer = world.market.buyer_account
    wallet = PageWallet(world, buyer)
    page = _page(browser, wallet, live)
    page.goto(live.url + "/")

    page.wait_for_selector('[data-testid="listing-card"]')
    assert page.locator('[data-testid="listing-card"]').count() == 2
    page.wait_for_function(  # the photo, served through the API's verified gateway
        "document.querySelector('[data-testid=listing-card] img').naturalWidth === 240"
    )
    assert "seller trust" in page.inner_text('[data-testid="card-trust"] >> nth=0')
    page.screenshot(path=str(shots / "01-browse.png"), full_page=True)

    page.fill('[data-testid="search-input"]', "bike")
    page.click('[data-testid="search-button"]')
    page.wait_for_function("document.querySelectorAll('[data-testid=listing-card]').length === 1")
    assert "Road bike" in page.inner_text('[data-testid="results"]')
    page.screenshot(path=str(shots / "02-search.png"), full_page=True)

    bike_id = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    page.click(f'[data-testid="listing-card"][data-id="{bike_id}"]')
    page.wait_for_selector('[data-testid="listing-detail"]')
    assert page.inner_text('[data-testid="listing-title"]') == "Road bike, 56 cm"
    assert page.inner_text('[data-testid="listing-price"]') == "1 ETH"
    assert "seller trust" in page.inner_text('[data-testid="listing-trust"]')
    page.wait_for_function(
        "document.querySelector('[data-testid=listing-image]').naturalWidth === 240"
    )
    page.screenshot(path=str(shots / "03-listing.png"), full_page=True)

    _click(page, '[data-testid="buy"]')
    _wait_done(page)
    (tx,) = wallet.sent()
    assert tx["to"] == world.market.seller.deployment.marketplace
    assert int(tx["value"], 16) == 10**18
    trade = world.market.seller.trade(bike_id)
    assert trade.state == TradeState.PAID and trade.buyer == buyer.address
    page.screenshot(path=str(shots / "04-bought.png"), full_page=True)

    page.goto(live.url + "/#/trades")
    _trade_row(page, world, bike_id, "paid")
    page.screenshot(path=str(shots / "05-trades.png"), full_page=True)
    _click(page, f'[data-testid="release-{bike_id}"]')
    _wait_done(page)
    assert world.market.seller.trade(bike_id).state == TradeState.COMPLETED
    _trade_row(page, world, bike_id, "completed")
    assert page.locator(f'[data-testid="release-{bike_id}"]').count() == 0
    page.screenshot(path=str(shots / "06-released.png"), full_page=True)
    assert page.external_requests == []  # type: ignore[attr-defined]


def test_dispute_from_the_trades_screen(
    world: ApiWorld, live: ApiServer, browser: Browser, shots: Path
) -> None:
    buyer = world.market.buyer_account
    trade = world.market.buyer.buy(world.lamp.listing)  # type: ignore[arg-type]
    trade_id = "0x" + trade.id.hex()
    wallet = PageWallet(world, buyer)
    page = _page(browser, wallet, live)
    page.goto(live.url + "/")
    _click(page, '[data-testid="connect"]')
    _wait_done(page)
    assert buyer.address[:6] in page.inner_text('[data-testid="account"]')
    page.goto(live.url + "/#/trades")
    _trade_row(page, world, trade_id, "paid")
    _click(page, f'[data-testid="dispute-{trade_id}"]')
    _wait_done(page)
    assert world.market.seller.trade(trade_id).state == TradeState.DISPUTED
    _trade_row(page, world, trade_id, "disputed")
    assert page.locator(f'[data-testid="release-{trade_id}"]').count() == 1  # still open
    assert page.locator(f'[data-testid="dispute-{trade_id}"]').count() == 0
    page.screenshot(path=str(shots / "07-disputed.png"), full_page=True)


def test_wallet_refusal_is_shown_and_nothing_is_sent(
    world: ApiWorld, live: ApiServer, browser: Browser
) -> None:
    seller_wallet = PageWallet(world, world.market.seller_account)  # the seller cannot buy
    page = _page(browser, seller_wallet, live)
    bike_id = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    page.goto(f"{live.url}/#/listing/{bike_id}")
    _click(page, '[data-testid="buy"]')
    page.wait_for_selector('#status[data-state="error"]')
    assert "SelfPurchase" in page.inner_text("#status")
    assert seller_wallet.sent() == []


def _sell(page: Page, live: ApiServer, title: str, price: str, mode: str, photo: bytes) -> None:
    page.goto(live.url + "/#/sell")
    page.fill('[data-testid="sell-title"]', title)
    page.fill('[data-testid="sell-description"]', "Brass, rewired, works.")
    page.fill('[data-testid="sell-category"]', "home/lamps")
    page.fill('[data-testid="sell-price"]', price)
    page.set_input_files(
        '[data-testid="sell-photo"]',
        files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": photo}],
    )
    page.select_option('[data-testid="sell-mode"]', mode)
    _click(page, '[data-testid="sell-submit"]')
    _wait_done(page)


def test_sell_on_chain_from_the_page_lists_with_photo(
    world: ApiWorld, live: ApiServer, browser: Browser, shots: Path
) -> None:
    seller = world.market.seller_account
    wallet = PageWallet(world, seller)
    page = _page(browser, wallet, live)
    before = {item.id for item in world.market.seller.listings_of(seller.address)}
    photo = png(240, 160, (40, 90, 200))
    _sell(page, live, "Desk lamp", "0.25", "onchain", photo)
    page.wait_for_selector('[data-testid="listing-detail"]')
    assert page.inner_text('[data-testid="listing-title"]') == "Desk lamp"
    page.screenshot(path=str(shots / "08-sold-on-chain.png"), full_page=True)

    (new,) = [
        item for item in world.market.seller.listings_of(seller.address) if item.id not in before
    ]
    assert new.terms.price == 25 * 10**16 and new.seller == seller.address
    assert page.url.endswith("#/listing/0x" + new.id.hex())
    verified = world.services.document(str(CID.parse(new.terms.cid)))
    assert verified.title == "Desk lamp" and verified.seller == seller.address
    assert world.store.cat(verified.images[0]) == photo
    world.sync()
    page.goto(live.url + "/#/?q=desk")
    page.wait_for_selector(f'[data-testid="listing-card"][data-id="0x{new.id.hex()}"]')


def test_sign_off_chain_share_link_and_buy_it(
    world: ApiWorld, live: ApiServer, browser: Browser, shots: Path
) -> None:
    seller_wallet = PageWallet(world, world.market.seller_account)
    page = _page(browser, seller_wallet, live)
    _sell(page, live, "Signed lamp", "0.3", "signed", png())
    assert [m for m, _ in seller_wallet.calls if m == "eth_signTypedData_v4"]
    assert seller_wallet.sent() == []  # signing costs the seller nothing
    link = page.get_attribute('[data-testid="share-link"]', "href")
    assert link is not None and "#/signed/" in link
    page.screenshot(path=str(shots / "09-signed.png"), full_page=True)

    buyer = world.market.buyer_account
    buyer_wallet = PageWallet(world, buyer)
    buyer_page = _page(browser, buyer_wallet, live)
    buyer_page.goto(link)
    buyer_page.wait_for_selector('[data-testid="listing-detail"]')
    assert buyer_page.inner_text('[data-testid="listing-title"]') == "Signed lamp"
    assert buyer_page.inner_text('[data-testid="listing-status"]').startswith("unused")
    _click(buyer_page, '[data-testid="buy"]')
    _wait_done(buyer_page)
    (tx,) = buyer_wallet.sent()
    assert int(tx["value"], 16) == 3 * 10**17
    signed_id = json.loads(base64.urlsafe_b64decode(link.split("#/signed/")[1] + "=="))["id"]
    trade = world.market.seller.trade(signed_id)
    assert trade.state == TradeState.PAID and trade.buyer == buyer.address
    assert buyer_page.inner_text('[data-testid="listing-status"]').startswith("sold out")
    buyer_page.screenshot(path=str(shots / "10-signed-bought.png"), full_page=True)


def test_terms_cut_after_the_page_opened_refuse_the_purchase(
    world: ApiWorld, live: ApiServer, browser: Browser
) -> None:
    """The attack of issue 11: the buyer opens a 7-day-window listing, the seller cuts the
    window to 1 second, the buyer clicks Buy. The page sends the terms it showed, so the
    purchase is refused with TermsChanged and the wallet never opens."""
    buyer_wallet = PageWallet(world, world.market.buyer_account)
    page = _page(browser, buyer_wallet, live)
    listing = world.bike.listing
    assert listing is not None
    page.goto(f"{live.url}/#/listing/0x{listing.id.hex()}")
    page.wait_for_selector('[data-testid="listing-detail"]')

    seller = world.market.seller
    current = seller.listing(listing.id)
    seller.update_listing(current, replace(current.terms, review_window=1), current.remaining)

    _click(page, '[data-testid="buy"]')
    page.wait_for_selector('#status[data-state="error"]')
    assert "TermsChanged" in page.inner_text("#status")
    assert buyer_wallet.sent() == []
    assert seller.listing(listing.id).sold == 0
