"""The library's offers and permit purchases, on a real chain (embedded and Anvil): a buyer signs,
the document travels as JSON, the seller checks and accepts it, and the trade the library
rebuilds from the chain's events is the one the contract stores (``checkTrade``). One-transaction
ERC-20 purchases are picked by themselves when the token takes permits.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from _market import ONE, Market

from p2pchain import InputError, OfferRevoked, OfferUnfunded, TradeState
from p2pchain.chain._permit2 import PERMIT2_ADDRESS, unpack_permit2
from p2pchain.market._offer_calls import OfferStatus
from p2pchain.market._offers import SignedOffer, permit2_support, permit_support
from p2pchain.market._views import ListingStatus

USD = 10**6


def _tusd(market: Market, holder: Any, amount: int = 1_000 * USD) -> Any:
    token = market.deploy_token("PermitToken", "Test Dollar", "TUSD", 6)
    market.call_token(market.deployer, token, "mint", holder.address, amount)
    return token


def _daily_rental(market: Market, token: Any) -> Any:
    """The seller's daily rental in ``token``: 10 a day, a 50 deposit, bookable from in two days
    for 30 days."""
    rentals = market.seller.rentals
    first = (market.seller.now() // 86_400 + 2) * 86_400
    return rentals.create(
        rentals.make_terms(
            token=token.address,
            rate=10 * USD,
            deposit=50 * USD,
            unit=86_400,
            first_start=first,
            last_end=first + 30 * 86_400,
            cid=bytes.fromhex("1220") + bytes(range(32)),
        )
    )


def _wire(signed: SignedOffer) -> dict[str, Any]:
    """What the seller receives: the JSON document, through text."""
    return json.loads(json.dumps(signed.to_json()))


def test_permit_token_is_bought_in_one_transaction(any_market: Market) -> None:
    m = any_market
    token = _tusd(m, m.buyer_account)
    listing = m.seller.create_listing(m.terms(token=token.address, price=100 * USD))
    assert permit_support(m.buyer, token.address, m.buyer_account.address) is not None
    call = m.buyer.prepare_buy(listing)
    assert call.action == "buyWithPermit" and not call.before
    view = call.send()
    assert view.trade.amount == 100 * USD
    assert m.buyer.trade(view.id).trade == view.trade
    assert m.buyer.allowance(token.address) == 0


def test_plain_erc20_still_approves_first(market: Market) -> None:
    token = market.deploy_token("TestERC20", "Plain", "PLN")
    market.call_token(market.deployer, token, "mint", market.buyer_account.address, ONE)
    listing = market.seller.create_listing(market.terms(token=token.address))
    assert permit_support(market.buyer, token.address, market.buyer_account.address) is None
    call = market.buyer.prepare_buy(listing)
    assert call.action == "buy" and [c.action for c in call.before] == ["approve"]
    permitless = market.buyer.prepare_buy(listing, permit_ok=False)
    assert permitless.action == "buy"


def test_erc20_offer_travels_as_json_and_is_accepted(any_market: Market) -> None:
    m = any_market
    token = _tusd(m, m.buyer_account)
    listing = m.seller.create_listing(
        m.terms(token=token.address, price=100 * USD, deposit=10 * USD), quantity=3
    )
    signed = m.buyer.make_offer(listing, 90 * USD, quantity=2)
    assert signed.permit is not None and signed.permit.value == 200 * USD
    received = m.seller.check_offer(_wire(signed))
    assert received == signed
    state = m.seller.offer_state(received)
    assert state.status is OfferStatus.OPEN and state.funded and state.approved
    assert state.listing_live

    view = m.seller.accept_offer(received)
    assert view.id == signed.id and view.trade.amount == 180 * USD
    assert view.trade.deposit == 20 * USD
    rebuilt = m.stranger.trade(view.id)
    assert rebuilt.trade == view.trade and rebuilt.quantity == 2
    assert view.id in {t.id for t in m.stranger.trades_of(m.buyer_account.address)}
    assert view.id in {t.id for t in m.stranger.trades_of(m.seller_account.address)}
    assert m.seller.offer_state(received).status is OfferStatus.ACCEPTED
    assert m.seller.listing(listing.id).remaining == 1

    done = m.buyer.release(view)
    assert done.trade.state is TradeState.PAID  # the deposit is still held
    assert m.seller.return_deposit(done).trade.state is TradeState.COMPLETED


def test_offer_taking_the_last_unit_leaves_the_listing_sold_out(market: Market) -> None:
    token = _tusd(market, market.buyer_account)
    listing = market.seller.create_listing(market.terms(token=token.address, price=50 * USD))
    market.seller.accept_offer(market.buyer.make_offer(listing, 45 * USD))
    assert market.stranger.listing(listing.id).status is ListingStatus.SOLD_OUT
    closed = market.seller.create_listing(market.terms())
    market.seller.close_listing(closed)
    assert market.stranger.listing(closed.id).status is ListingStatus.CLOSED


def test_terms_hash_is_the_contract_s(market: Market) -> None:
    from p2pchain.chain._model import listing_terms_hash

    terms = market.terms(deposit=ONE // 7)
    on_chain = market.stranger._eth_call_m("hashTerms", terms.as_tuple())[0]
    assert listing_terms_hash(terms) == bytes(on_chain)


def test_eth_offer_needs_credit(market: Market) -> None:
    listing = market.seller.create_listing(market.terms())
    signed = market.buyer.make_offer(listing, ONE // 2)
    assert signed.permit is None
    assert market.seller.offer_state(signed).funded is False
    with pytest.raises(OfferUnfunded):
        market.seller.prepare_accept_offer(signed).send()
    market.buyer.add_credit(ONE // 2)
    assert market.seller.offer_state(signed).funded is True
    view = market.seller.accept_offer(signed)
    assert view.trade.amount == ONE // 2
    assert market.buyer.credit() == 0


def test_cancelled_offers_are_refused_before_gas(market: Market) -> None:
    listing = market.seller.create_listing(market.terms(), quantity=2)
    market.buyer.add_credit(ONE)
    one = market.buyer.make_offer(listing, ONE // 4)
    two = market.buyer.make_offer(listing, ONE // 3)
    market.buyer.cancel_offer(one)
    assert market.seller.offer_state(one).status is OfferStatus.CANCELLED
    with pytest.raises(OfferRevoked):
        market.seller.accept_offer(one)
    assert market.buyer.cancel_all_offers() == 1
    assert market.seller.offer_state(two).status is OfferStatus.CANCELLED
    assert market.buyer.offer_counter() == 1
    three = market.buyer.make_offer(listing, ONE // 5)
    assert three.offer.counter == 1
    market.seller.accept_offer(three)
    market.buyer.cancel_all_offers()  # after the acceptance: the offer stays accepted
    assert market.seller.offer_state(three).status is OfferStatus.ACCEPTED


def test_bad_offers_get_one_line_errors(market: Market) -> None:
    listing = market.seller.create_listing(market.terms())
    signed = market.buyer.make_offer(listing, ONE // 2)
    doc = _wire(signed)

    cheaper = dict(doc, price=str(ONE // 4))
    with pytest.raises(InputError, match="is not this offer's id"):
        market.seller.check_offer(cheaper)
    forged = dict(cheaper, id=None)
    with pytest.raises(InputError, match="not signed by its buyer"):
        market.seller.check_offer(forged)
    with pytest.raises(InputError, match="offer: surprise"):
        market.seller.check_offer(dict(doc, surprise=1))
    with pytest.raises(InputError, match="offer: price"):
        market.seller.check_offer(dict(doc, price="-1"))
    with pytest.raises(InputError, match="offer: schema"):
        market.seller.check_offer(dict(doc, schema="p2pchain/offer/9"))
    elsewhere = dict(doc, chainId=doc["chainId"] + 1, id=None)
    with pytest.raises(InputError, match="is for chain"):
        market.seller.check_offer(elsewhere)
    with pytest.raises(InputError, match="only its seller"):
        market.stranger.prepare_accept_offer(doc)
    with pytest.raises(InputError, match="only the offer's buyer"):
        market.stranger.prepare_cancel_offer(doc)


def test_make_offer_checks_its_inputs(market: Market) -> None:
    listing = market.seller.create_listing(market.terms(), quantity=2)
    with pytest.raises(InputError, match="your own listing"):
        market.seller.make_offer(listing, ONE)
    with pytest.raises(InputError, match="price must be above 0"):
        market.buyer.make_offer(listing, 0)
    with pytest.raises(InputError, match="only 2 units remain"):
        market.buyer.make_offer(listing, ONE, quantity=3)
    with pytest.raises(InputError, match="expiry must be in the future"):
        market.buyer.make_offer(listing, ONE, expiry=1)
    market.seller.close_listing(listing)
    with pytest.raises(InputError, match="offers are for live listings"):
        market.buyer.make_offer(listing.id, ONE)
    with pytest.raises(InputError, match="amount must be above 0"):
        market.buyer.add_credit(0)


def test_permit_token_rental_is_booked_in_one_transaction(market: Market) -> None:
    token = _tusd(market, market.buyer_account)
    listing = _daily_rental(market, token)
    call = market.buyer.rentals.prepare_book(listing, 0, 2)
    assert call.action == "bookWithPermit" and not call.before
    view = call.send()
    assert view.booking.rent == 20 * USD and view.booking.deposit == 50 * USD
    assert market.buyer.rentals.prepare_book(listing, 3, 1, permit_ok=False).before


# ---------------------------------------------------------------------------------- Permit2


def _permit2_token(market: Market, holder: Any, amount: int = 1_000 * USD) -> Any:
    """A token without EIP-2612, which ``holder`` approved to Permit2 (once, without limit)."""
    token = market.deploy_token("TestERC20", "Plain Dollar", "PUSD")
    market.call_token(market.deployer, token, "mint", holder.address, amount)
    market.call_token(holder, token, "approve", PERMIT2_ADDRESS, 2**256 - 1)
    return token


def test_permit2_approved_token_is_bought_in_one_transaction(any_market: Market) -> None:
    m = any_market
    token = _permit2_token(m, m.buyer_account)
    listing = m.seller.create_listing(m.terms(token=token.address, price=100 * USD))
    assert permit_support(m.buyer, token.address, m.buyer_account.address) is None
    assert (
        permit2_support(
            m.buyer,
            token.address,
            m.buyer_account.address,
            m.buyer.deployment.marketplace,
            100 * USD,
        )
        == 0
    )
    call = m.buyer.prepare_buy(listing)
    assert call.action == "buyWithPermit" and not call.before
    sent = m.chain.w3.eth.get_transaction_count(m.buyer_account.address)
    view = call.send()
    assert m.chain.w3.eth.get_transaction_count(m.buyer_account.address) == sent + 1
    assert view.trade.amount == 100 * USD and m.buyer.trade(view.id).trade == view.trade
    # A second purchase signs the next Permit2 nonce.
    again = m.seller.create_listing(m.terms(token=token.address, price=50 * USD))
    assert m.buyer.buy(again).trade.amount == 50 * USD


def test_permit2_offer_and_rental(market: Market) -> None:
    token = _permit2_token(market, market.buyer_account)
    listing = market.seller.create_listing(market.terms(token=token.address, price=100 * USD))
    signed = market.buyer.make_offer(listing, 90 * USD)
    assert signed.permit is not None and signed.permit.v == 0
    assert unpack_permit2(signed.permit) == (90 * USD, 0)
    received = market.seller.check_offer(_wire(signed))
    assert received == signed
    assert market.seller.offer_state(received).approved
    market.call_token(market.buyer_account, token, "approve", PERMIT2_ADDRESS, 0)
    assert not market.seller.offer_state(received).approved  # the Permit2 approval is gone
    market.call_token(market.buyer_account, token, "approve", PERMIT2_ADDRESS, 2**256 - 1)
    view = market.seller.accept_offer(received)
    assert view.trade.amount == 90 * USD

    rental = _daily_rental(market, token)
    call = market.buyer.rentals.prepare_book(rental, 0, 2)
    assert call.action == "bookWithPermit" and not call.before
    assert call.send().booking.rent == 20 * USD


def test_offer_funding_adds_the_eth_credit_lacking(market: Market) -> None:
    listing = market.seller.create_listing(market.terms(), quantity=3)
    signed = market.buyer.make_offer(listing, ONE // 2, quantity=2)
    (call,) = market.buyer.prepare_offer_funding(signed)
    assert call.action == "addCredit" and call.value == ONE
    market.buyer.add_credit(ONE // 4)
    (short,) = market.buyer.prepare_offer_funding(_wire(signed))
    assert short.action == "addCredit" and short.value == ONE - ONE // 4
    short.send()
    assert market.buyer.prepare_offer_funding(signed) == []
    state = market.seller.offer_state(signed)
    assert state.funded and state.approved
    assert market.seller.accept_offer(signed).trade.amount == ONE


def test_offer_funding_unsigned_offer_counts_credit_held(market: Market) -> None:
    listing = market.seller.create_listing(market.terms())
    market.buyer.add_credit(ONE)
    signed = market.buyer.make_offer(listing, ONE // 2)
    assert market.buyer.prepare_offer_funding(signed.offer) == []


def test_offer_funding_permit_token_needs_nothing(any_market: Market) -> None:
    m = any_market
    token = _tusd(m, m.buyer_account)
    listing = m.seller.create_listing(m.terms(token=token.address, price=100 * USD))
    signed = m.buyer.make_offer(listing, 90 * USD)
    assert signed.permit is not None
    assert m.buyer.prepare_offer_funding(signed) == []
    state = m.seller.offer_state(signed)
    assert state.funded and state.approved


def test_offer_funding_plain_erc20_without_permit_approves(market: Market) -> None:
    token = market.deploy_token("TestERC20", "Plain", "PLN")
    market.call_token(market.deployer, token, "mint", market.buyer_account.address, ONE)
    listing = market.seller.create_listing(market.terms(token=token.address), quantity=2)
    signed = market.buyer.make_offer(listing, ONE // 4, quantity=2)
    assert signed.permit is None
    (call,) = market.buyer.prepare_offer_funding(signed)
    assert call.action == "approve" and call.to == token.address and call.value == 0
    call.send()
    assert market.buyer.allowance(token.address) == ONE // 2
    assert market.buyer.prepare_offer_funding(signed) == []
    state = market.seller.offer_state(signed)
    assert state.funded and state.approved
    assert market.seller.accept_offer(signed).trade.amount == ONE // 2


def test_offer_funding_permit_short_of_the_total_approves(market: Market) -> None:
    token = _tusd(market, market.buyer_account)
    listing = market.seller.create_listing(market.terms(token=token.address, price=100 * USD))
    signed = market.buyer.make_offer(listing, 90 * USD)
    assert signed.permit is not None
    doc = _wire(signed)
    doc["permit"] = dict(doc["permit"], value=str(90 * USD - 1))
    (call,) = market.buyer.prepare_offer_funding(doc)
    assert call.action == "approve"
    call.send()
    assert market.buyer.allowance(token.address) == 90 * USD


def test_offer_funding_checks_its_inputs(market: Market) -> None:
    listing = market.seller.create_listing(market.terms())
    signed = market.buyer.make_offer(listing, ONE // 2)
    with pytest.raises(InputError, match="only the offer's buyer"):
        market.stranger.prepare_offer_funding(signed)
    with pytest.raises(InputError, match="offer must be an Offer"):
        market.buyer.prepare_offer_funding(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="is for chain"):
        market.buyer.prepare_offer_funding(dict(_wire(signed), chainId=1, id=None))
    with pytest.raises(InputError, match="offer: price"):
        market.buyer.prepare_offer_funding(dict(_wire(signed), price="-1"))
