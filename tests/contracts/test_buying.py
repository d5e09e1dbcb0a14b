"""Buying on-chain listings: payment in ETH and ERC-20, and every reason a purchase is refused."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest

from p2pchain.chain._model import ZERO_ADDRESS, TradeState

from ._helpers import (
    Market,
    deploy_token,
    escrow_balance,
    events_named,
    gas_cost,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    mint_and_approve,
    reverts,
    rewind,
)
from .market import DAY, ONE


def test_buy_exact_eth_value_moves_payment_into_escrow(market: Market) -> None:
    listing = market.list(market.terms(price=ONE, deposit=ONE // 2), quantity=3)
    buyer_before = market.balance(market.buyer.address)
    ref = market.buy(listing, 2)
    receipt = ref.receipts[0]
    assert escrow_balance(market) == 3 * ONE
    assert market.balance(market.buyer.address) == buyer_before - 3 * ONE - gas_cost(receipt)
    assert ref.trade.state is TradeState.PAID
    assert (ref.trade.amount, ref.trade.deposit) == (2 * ONE, ONE)
    assert ref.trade.deadline == market.timestamp_of(receipt) + 7 * DAY
    (args,) = events_named(market, receipt, "Purchased")
    assert bytes(args["tradeId"]) == ref.id
    assert bytes(args["listingId"]) == listing.id
    assert args["buyer"] == market.buyer.address
    assert (args["quantity"], args["remaining"]) == (2, 1)


def test_buy_returns_trade_id(market: Market) -> None:
    listing = market.list(quantity=2)
    fn = market.market.functions.buy(listing.id, listing.terms.as_tuple(), 2)
    trade_id = fn.call({"from": market.buyer.address, "value": 2 * ONE})
    assert bytes(trade_id) == listing.id


def test_buy_with_too_much_eth_reverts_wrong_payment(market: Market) -> None:
    listing = market.list(market.terms(deposit=ONE // 2))
    with reverts("WrongPayment", ONE + ONE // 2, ONE + ONE // 2 + 1):
        market.buy(listing, value=ONE + ONE // 2 + 1)


def test_buy_with_too_little_eth_reverts_wrong_payment(market: Market) -> None:
    listing = market.list(market.terms(deposit=ONE // 2), quantity=2)
    with reverts("WrongPayment", 3 * ONE, 3 * ONE - 1):
        market.buy(listing, 2, value=3 * ONE - 1)
    with reverts("WrongPayment", 3 * ONE, 0):
        market.buy(listing, 2, value=0)


def test_buy_erc20_pulls_tokens_and_release_pays_seller(market: Market) -> None:
    token = deploy_token(market)
    price, deposit = 1_000, 250
    listing = market.list(market.terms(token=token.address, price=price, deposit=deposit), 2)
    mint_and_approve(market, token, market.buyer, 5_000, allowance=2_500)
    eth_escrow = escrow_balance(market)
    ref = market.buy(listing, 2)
    assert market.balance(market.buyer.address, token.address) == 5_000 - 2_500
    assert market.balance(market.address, token.address) == 2_500
    assert escrow_balance(market) == eth_escrow
    assert token.functions.allowance(market.buyer.address, market.address).call() == 0
    market.act("release", market.buyer, ref)
    assert market.balance(market.seller.address, token.address) == 2_000
    assert market.balance(market.address, token.address) == 500
    market.act("returnDeposit", market.seller, ref)
    assert market.balance(market.buyer.address, token.address) == 2_500 + 500
    assert market.balance(market.address, token.address) == 0
    assert ref.trade.state is TradeState.COMPLETED


def test_buy_erc20_with_eth_attached_reverts_wrong_payment(market: Market) -> None:
    token = deploy_token(market)
    listing = market.list(market.terms(token=token.address, price=1_000))
    mint_and_approve(market, token, market.buyer, 1_000)
    with reverts("WrongPayment", 0, 1):
        market.buy(listing, value=1)


def test_buy_erc20_without_allowance_reverts_in_token(market: Market) -> None:
    token = deploy_token(market)
    listing = market.list(market.terms(token=token.address, price=1_000))
    mint_and_approve(market, token, market.buyer, 1_000, allowance=999)
    with reverts("ERC20InsufficientAllowance", market.address, 999, 1_000):
        market.buy(listing)


def test_buy_own_listing_reverts_self_purchase(market: Market) -> None:
    listing = market.list()
    with reverts("SelfPurchase", market.seller.address):
        market.buy(listing, buyer=market.seller)


def test_buy_as_arbitrator_reverts_arbitrator_is_party(market: Market) -> None:
    listing = market.list()
    with reverts("ArbitratorIsParty", market.arbitrator.address):
        market.buy(listing, buyer=market.arbitrator)


def test_buy_zero_quantity_reverts(market: Market) -> None:
    listing = market.list(quantity=2)
    with reverts("ZeroQuantity"):
        market.buy(listing, 0)


def test_buy_unknown_listing_reverts_listing_not_active(market: Market) -> None:
    listing = market.list()
    unknown = replace(listing, id=os.urandom(32))
    with reverts("ListingNotActive", unknown.id):
        market.buy(unknown)


def test_buy_at_expiry_reverts_listing_expired(market: Market) -> None:
    expiry = market.chain.latest_timestamp() + DAY
    listing = market.list(market.terms(expiry=expiry))
    with rewind(market):
        market.warp_to(expiry - 1)
        assert market.buy(listing).trade.state is TradeState.PAID
    market.warp_to(expiry)
    with reverts("ListingExpired", listing.id, expiry):
        market.buy(listing)
    market.warp_to(expiry + 30 * DAY)
    with reverts("ListingExpired", listing.id, expiry):
        market.buy(listing)


CHANGED_TERMS: dict[str, dict[str, Any]] = {
    "price": {"price": 2 * ONE},
    "deposit": {"deposit": 1},
    "arbitrator": {"arbitrator": "0x" + "11" * 20},
    "fee": {"arbitrator_fee_bps": 201},
    "window": {"review_window": 7 * DAY + 1},
    "expiry": {"expiry": 2**40 - 1},
    "cid_prefix": {"cid_prefix": bytes.fromhex("01701220").ljust(8, b"\0")},
    "cid_digest": {"cid_digest": b"\x01" * 32},
    "token": {"token": "0x" + "22" * 20},
    "seller": {"seller": "0x" + "33" * 20},
    "no_arbitrator": {"arbitrator": ZERO_ADDRESS, "arbitrator_fee_bps": 0},
}


@pytest.mark.parametrize("change", CHANGED_TERMS.values(), ids=list(CHANGED_TERMS))
def test_buy_with_other_terms_than_listed_reverts_terms_changed(
    market: Market, change: dict[str, Any]
) -> None:
    listing = market.list(quantity=2)
    believed = replace(listing.terms, **change)
    with reverts("TermsChanged", listing.id):
        market.buy(listing, terms=believed, value=(believed.price + believed.deposit))
    market.buy(listing)  # the real terms still work


def test_buy_after_update_with_each_changed_field_reverts_terms_changed(market: Market) -> None:
    listing = market.list()
    for name, change in CHANGED_TERMS.items():
        if name in ("seller", "token"):  # a seller can only name itself; tokens are tested above
            continue
        new_terms = replace(listing.terms, **change)
        market.send(
            market.seller,
            market.market.functions.updateListing(listing.salt, new_terms.as_tuple(), 1),
        )
        with reverts("TermsChanged", listing.id):
            market.buy(listing)
        listing = replace(listing, terms=new_terms)
    ref = market.buy(listing)
    assert ref.trade.amount == listing.terms.price
