"""Every trade action from the "My trades" screen, by the party who may take it, in Chromium
with the injected wallet against Anvil: dispute with a reason, rule as arbitrator, propose and
accept a settlement, refund, release rent and return a deposit, finalize and claim a ruling
timeout after the deadlines, rate with a review, withdraw a credited payout. Each outcome is
checked on-chain, and each screen is screenshotted (desktop and 375 px) and checked by axe-core.
"""

from __future__ import annotations

from _market import DAY, ONE
from playwright.sync_api import Page

from api._browser import Pages, PageWallet, assert_accessible, click, screenshot, wait_done
from api.conftest import ApiWorld
from p2pchain.chain._model import TradeState


def _row(page: Page, trade_id: str, state: str) -> None:
    page.wait_for_selector(f'[data-testid="trade-row"][data-id="{trade_id}"][data-state="{state}"]')


def _trades(pages: Pages, world: ApiWorld, account: object, trade_id: str, state: str) -> Page:
    page = pages.open(PageWallet(world, account), "/#/trades")  # type: ignore[arg-type]
    _row(page, trade_id, state)
    return page


def _form(page: Page, action: str, trade_id: str, fills: dict[str, str]) -> None:
    page.click(f'[data-testid="{action}-{trade_id}"]')
    for testid, value in fills.items():
        selector = f'[data-testid="{testid}-{trade_id}"]'
        if page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    click(page, f'[data-testid="{action}-submit-{trade_id}"]')
    wait_done(page)


def test_buyer_disputes_with_a_reason_and_the_arbitrator_rules(
    page_world: ApiWorld, pages: Pages
) -> None:
    world, market = page_world, page_world.market
    trade_id = "0x" + market.buyer.buy(world.bike.listing).id.hex()  # type: ignore[arg-type]
    buyer = _trades(pages, world, market.buyer_account, trade_id, "paid")
    reason = "The frame is cracked under the seat post."
    _form(buyer, "dispute", trade_id, {"dispute-reason": reason})
    assert market.seller.trade(trade_id).state == TradeState.DISPUTED
    _row(buyer, trade_id, "disputed")
    assert buyer.inner_text('[data-testid="dispute-reason"]') == reason
    assert buyer.locator(f'[data-testid="release-{trade_id}"]').count() == 1  # still possible

    arbitrator = _trades(pages, world, market.arbitrator_account, trade_id, "disputed")
    row = arbitrator.inner_text(f'[data-testid="trade-row"][data-id="{trade_id}"]')
    assert "You are the arbitrator" in row and reason in row
    arbitrator.click(f'[data-testid="rule-{trade_id}"]')
    assert "your fee 0.02 ETH" in arbitrator.inner_text(f'[data-testid="rule-form-{trade_id}"]')
    screenshot(arbitrator, "10-trades-arbitrator")
    assert_accessible(arbitrator, "trades as arbitrator")
    before = market.seller.balance(market.buyer_account.address)
    click(arbitrator, f'[data-testid="share-{trade_id}"]')
    arbitrator.fill(f'[data-testid="share-{trade_id}"]', "0.7")
    click(arbitrator, f'[data-testid="rule-submit-{trade_id}"]')
    wait_done(arbitrator)
    assert market.seller.trade(trade_id).state == TradeState.RULED
    assert market.seller.balance(market.buyer_account.address) - before == 7 * ONE // 10
    _row(buyer, trade_id, "ruled")  # pushed to the buyer's open page


def test_seller_proposes_a_split_the_buyer_accepts_and_both_rate(
    page_world: ApiWorld, pages: Pages
) -> None:
    world, market = page_world, page_world.market
    trade_id = "0x" + market.buyer.buy(world.bike.listing).id.hex()  # type: ignore[arg-type]
    seller = _trades(pages, world, market.seller_account, trade_id, "paid")
    _form(seller, "propose_settlement", trade_id, {"share": "0.25"})
    buyer = _trades(pages, world, market.buyer_account, trade_id, "paid")
    assert "The seller proposed: the buyer gets 0.25 ETH, the seller 0.75 ETH." in buyer.inner_text(
        f'[data-testid="trade-row"][data-id="{trade_id}"]'
    )
    click(buyer, f'[data-testid="accept_settlement-{trade_id}"]')
    wait_done(buyer)
    assert market.seller.trade(trade_id).state == TradeState.SETTLED

    review = "Fair seller: offered a partial refund for the scratches at once."
    _row(buyer, trade_id, "settled")
    _form(buyer, "rate", trade_id, {"rate-score": "4", "rate-review": review})
    _row(seller, trade_id, "settled")
    _form(seller, "rate", trade_id, {"rate-score": "5"})
    ratings = market.seller.ratings_of(market.seller_account.address)
    assert [(r.score, r.rater) for r in ratings] == [(4, market.buyer_account.address)]

    profile = pages.open(
        PageWallet(world, market.buyer_account), f"/#/seller/{market.seller_account.address}"
    )
    profile.wait_for_selector('[data-testid="review-text"]')
    assert profile.inner_text('[data-testid="review-text"]') == review
    trust = profile.inner_text('[data-testid="profile-trust"]')
    assert trust.startswith("4.0★ from 1 rating · trust ")
    assert "trust score" in profile.inner_text('[data-testid="trust-explained"]')
    screenshot(profile, "11-seller-profile")
    assert_accessible(profile, "seller profile")
    lamp = pages.open(
        PageWallet(world, market.buyer_account), f"/#/listing/0x{world.lamp.listing.id.hex()}"
    )  # type: ignore[union-attr]
    lamp.wait_for_selector('[data-testid="review-text"]')
    assert lamp.inner_text('[data-testid="listing-trust"]').startswith("4.0★ from 1 rating")


def test_rent_released_deposit_returned_and_a_refund(page_world: ApiWorld, pages: Pages) -> None:
    world, market = page_world, page_world.market
    rental = market.seller.create_listing(market.terms(price=ONE // 10, deposit=ONE // 2))
    rent_id = "0x" + market.buyer.buy(rental).id.hex()
    refund_id = "0x" + market.buyer.buy(world.bike.listing).id.hex()  # type: ignore[arg-type]
    buyer = _trades(pages, world, market.buyer_account, rent_id, "paid")
    assert "Deposit 0.5 ETH: held until the owner returns it." in buyer.inner_text(
        f'[data-testid="trade-row"][data-id="{rent_id}"]'
    )
    click(buyer, f'[data-testid="release-{rent_id}"]')
    wait_done(buyer)
    assert market.seller.trade(rent_id).state == TradeState.PAID  # rent paid, deposit held

    seller = _trades(pages, world, market.seller_account, rent_id, "paid")
    row = seller.inner_text(f'[data-testid="trade-row"][data-id="{rent_id}"]')
    assert "The payment was released to you; the deposit stays held" in row, row
    assert "until then the buyer can release" not in row  # the rent is already released
    screenshot(seller, "12-trades-seller")
    assert_accessible(seller, "trades as seller")
    click(seller, f'[data-testid="return_deposit-{rent_id}"]')
    wait_done(seller)
    assert market.seller.trade(rent_id).state == TradeState.COMPLETED
    _form(seller, "refund", refund_id, {})
    assert market.seller.trade(refund_id).state == TradeState.REFUNDED
    _row(buyer, refund_id, "refunded")


def test_finalize_and_claim_the_ruling_timeout_after_the_deadlines(
    page_world: ApiWorld, pages: Pages
) -> None:
    world, market = page_world, page_world.market
    paid = "0x" + market.buyer.buy(world.bike.listing).id.hex()  # type: ignore[arg-type]
    disputed = market.buyer.buy(world.lamp.listing)  # type: ignore[arg-type]
    market.buyer.dispute(disputed)
    disputed_id = "0x" + disputed.id.hex()
    buyer = _trades(pages, world, market.buyer_account, paid, "paid")
    assert buyer.locator(f'[data-testid="finalize-{paid}"]').count() == 0  # not yet
    market.chain.increase_time(8 * DAY)  # past the review window and the 3-day ruling window
    market.chain.mine()
    buyer.reload()
    _row(buyer, paid, "paid")
    click(buyer, f'[data-testid="finalize-{paid}"]')
    wait_done(buyer)
    assert market.seller.trade(paid).state == TradeState.COMPLETED
    click(buyer, f'[data-testid="claim_ruling_timeout-{disputed_id}"]')
    wait_done(buyer)
    assert market.seller.trade(disputed_id).state == TradeState.RULING_TIMED_OUT


def test_withdraw_a_payout_the_token_would_not_deliver(page_world: ApiWorld, pages: Pages) -> None:
    world, market = page_world, page_world.market
    token = market.deploy_token("BlocklistToken")
    seller, buyer = market.seller_account, market.buyer_account
    market.call_token(market.deployer, token, "mint", buyer.address, 10**6)
    listing = market.seller.create_listing(market.terms(token=token.address, price=1000))
    trade = market.buyer.buy(listing)
    market.call_token(market.deployer, token, "setBlocked", seller.address, True)
    market.buyer.release(trade)  # the transfer to the seller fails: credited instead
    market.call_token(market.deployer, token, "setBlocked", seller.address, False)
    assert market.seller.credit(seller.address, token.address) == 1000

    page = _trades(pages, world, seller, "0x" + trade.id.hex(), "completed")
    page.wait_for_selector('[data-testid="credits"]')
    assert "0.000000000000001 BLK" in page.inner_text('[data-testid="credits"]')
    click(page, '[data-testid="withdraw-BLK"]')
    wait_done(page)
    assert market.seller.credit(seller.address, token.address) == 0
    assert market.seller.balance(seller.address, token.address) == 1000
