"""Offers from the listing page, in Chromium with the injected wallet against Anvil: the buyer
offers less than the asking price (adding the ETH credit it needs, then signing the offer), the
seller sees it against the asking price and accepts it in one transaction; a buyer cancels an
offer. Each outcome is checked on-chain; screens are screenshotted (desktop and 375 px) and
checked by axe-core."""

from __future__ import annotations

from _market import ONE
from playwright.sync_api import Page

from api._browser import Pages, PageWallet, assert_accessible, click, screenshot, shows, wait_done
from api.conftest import ApiWorld
from p2pchain.chain._model import TradeState
from p2pchain.chain._permit2 import PERMIT2_ADDRESS
from p2pchain.indexer._offers import OfferBook


def _offer(page: Page, price: str, days: str = "7") -> str:
    shows(page, '[data-testid="offer-form"]')
    page.fill('[data-testid="offer-price"]', price)
    page.select_option('[data-testid="offer-expiry"]', days)
    click(page, '[data-testid="offer-submit"]')
    return wait_done(page)


def test_buyer_offers_and_the_seller_accepts(page_world: ApiWorld, pages: Pages) -> None:
    world, market = page_world, page_world.market
    bike = world.bike.listing
    assert bike is not None
    path = f"/#/listing/0x{bike.id.hex()}"
    buyer_wallet = PageWallet(world, market.buyer_account)
    buyer = pages.open(buyer_wallet, path)
    assert "Offer sent: 0.6 ETH per unit" in _offer(buyer, "0.6")
    # the credit the ETH offer is paid from was added first; the offer itself cost no gas
    assert len(buyer_wallet.sent()) == 1
    assert market.seller.credit(market.buyer_account.address) == 6 * ONE // 10
    (stored,) = OfferBook(world.services.index.db).list(listing=bike.id)
    assert stored.buyer == market.buyer_account.address and stored.price == 6 * ONE // 10
    row = f'[data-testid="offer-row"][data-id="{stored.id}"]'
    shows(buyer, f'{row}[data-status="open"]')
    assert buyer.locator(f'[data-testid="cancel-offer-{stored.id}"]').count() == 1
    screenshot(buyer, "20-offer-buyer")
    assert_accessible(buyer, "listing with the buyer's offer")

    seller = pages.open(PageWallet(world, market.seller_account), path)
    click(seller, "#connect")
    wait_done(seller)
    shows(seller, f'{row}[data-status="open"]')
    text = seller.inner_text(row)
    assert "0.6 ETH per unit" in text and "60% of the asking price (1 ETH)" in text, text
    assert "Open" in seller.inner_text(f'{row} [data-testid="offer-status"]')
    screenshot(seller, "21-offers-seller")
    assert_accessible(seller, "listing with offers for the seller")
    click(seller, f'[data-testid="accept-offer-{stored.id}"]')
    assert "Offer accepted" in wait_done(seller)
    trade = market.seller.trade(stored.id)
    assert trade.state == TradeState.PAID and trade.trade.amount == 6 * ONE // 10
    assert trade.trade.buyer == market.buyer_account.address
    assert market.seller.credit(market.buyer_account.address) == 0
    shows(seller, f'{row}[data-status="accepted"]')


def test_buyer_cancels_an_offer(page_world: ApiWorld, pages: Pages) -> None:
    world, market = page_world, page_world.market
    lamp = world.lamp.listing
    assert lamp is not None
    buyer = pages.open(PageWallet(world, market.buyer_account), f"/#/listing/0x{lamp.id.hex()}")
    _offer(buyer, "0.04", "1")
    (stored,) = OfferBook(world.services.index.db).list(listing=lamp.id)
    click(buyer, f'[data-testid="cancel-offer-{stored.id}"]')
    assert "Offer cancelled" in wait_done(buyer)
    assert market.seller.offer_state(stored.document).status.value == "cancelled"
    shows(buyer, f'[data-testid="offer-row"][data-id="{stored.id}"][data-status="cancelled"]')


def test_permit_token_offer_is_signed_twice_and_accepted(
    page_world: ApiWorld, pages: Pages
) -> None:
    """An EIP-2612 token: the buyer's wallet signs the offer and the permit (no transaction at
    all); the seller's one transaction pulls the payment with the permit."""
    world, market = page_world, page_world.market
    usd = 10**6
    token = market.deploy_token("PermitToken", "Test Dollar", "TUSD", 6)
    market.call_token(market.deployer, token, "mint", market.buyer_account.address, 500 * usd)
    listing = market.seller.create_listing(market.terms(token=token.address, price=100 * usd), 3)
    path = f"/#/listing/0x{listing.id.hex()}"
    buyer_wallet = PageWallet(world, market.buyer_account)
    buyer = pages.open(buyer_wallet, path)
    shows(buyer, '[data-testid="offer-form"]')
    buyer.fill('[data-testid="offer-quantity"]', "2")
    assert "Offer sent: 75 TUSD per unit" in _offer(buyer, "75")
    assert buyer_wallet.sent() == []
    signed = [m for m, _ in buyer_wallet.calls if m == "eth_signTypedData_v4"]
    assert len(signed) == 2
    (stored,) = OfferBook(world.services.index.db).list(listing=listing.id)
    assert stored.quantity == 2 and stored.document["permit"]["value"] == str(150 * usd)

    seller = pages.open(PageWallet(world, market.seller_account), path)
    click(seller, "#connect")
    wait_done(seller)
    shows(seller, f'[data-testid="accept-offer-{stored.id}"]')
    assert "75% of the asking price (100 TUSD)" in seller.inner_text(
        f'[data-testid="offer-row"][data-id="{stored.id}"]'
    )
    click(seller, f'[data-testid="accept-offer-{stored.id}"]')
    wait_done(seller)
    trade = market.seller.trade(stored.id)
    assert trade.trade.amount == 150 * usd and trade.quantity == 2
    assert market.seller.balance(market.buyer_account.address, token.address) == 350 * usd


def test_permit2_token_offer_is_signed_twice_and_accepted(
    page_world: ApiWorld, pages: Pages
) -> None:
    """A token without EIP-2612 that the buyer approved to Permit2 once: the wallet signs the
    offer and a Permit2 PermitSingle (the page sends it as v 0 with the compact signature), and
    the seller's one transaction pulls the payment through Permit2."""
    world, market = page_world, page_world.market
    token = market.deploy_token("TestERC20", "Plain Dollar", "PUSD")  # 18 decimals
    market.call_token(market.deployer, token, "mint", market.buyer_account.address, ONE)
    market.call_token(market.buyer_account, token, "approve", PERMIT2_ADDRESS, 2**256 - 1)
    listing = market.seller.create_listing(market.terms(token=token.address, price=ONE))
    path = f"/#/listing/0x{listing.id.hex()}"
    buyer_wallet = PageWallet(world, market.buyer_account)
    buyer = pages.open(buyer_wallet, path)
    shows(buyer, '[data-testid="offer-form"]')
    assert "Offer sent: 0.8 PUSD per unit" in _offer(buyer, "0.8")
    assert buyer_wallet.sent() == []
    typed = [p for m, p in buyer_wallet.calls if m == "eth_signTypedData_v4"]
    assert len(typed) == 2 and "PermitSingle" in str(typed[1])
    (stored,) = OfferBook(world.services.index.db).list(listing=listing.id)
    permit = stored.document["permit"]
    assert permit["v"] == 0 and int(permit["value"]) % 2**160 == 8 * ONE // 10

    seller = pages.open(PageWallet(world, market.seller_account), path)
    click(seller, "#connect")
    wait_done(seller)
    click(seller, f'[data-testid="accept-offer-{stored.id}"]')
    wait_done(seller)
    assert market.seller.trade(stored.id).trade.amount == 8 * ONE // 10
    assert market.seller.balance(market.buyer_account.address, token.address) == 2 * ONE // 10
