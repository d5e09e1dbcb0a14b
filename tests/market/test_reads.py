"""Reads return typed models rebuilt from events, and say clearly when something does not exist."""

from __future__ import annotations

import base64
import hashlib

import pytest
from _market import DAY, ONE, Market

from p2pchain import (
    ETH,
    Listing,
    ListingStatus,
    NextStep,
    NotFoundError,
    TradeEvent,
    TradeState,
    TradeView,
)


def test_listing_and_trade_reads_return_models(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms(deposit=5), 2)
    trade = any_market.buyer.buy(listing)
    trade = any_market.buyer.propose_settlement(trade, 3)
    read = any_market.stranger.trade(trade.id)
    assert isinstance(read, TradeView)
    assert read.trade == trade.trade and read.quantity == 1 and read.listing_id == listing.id
    assert all(isinstance(e, TradeEvent) for e in read.history)
    assert [e.name for e in read.history] == ["Purchased", "SettlementProposed"]
    assert read.history[0].timestamp == read.opened_at
    assert read.proposal == (any_market.buyer.address, 3)
    again = any_market.stranger.listing(listing.id)
    assert isinstance(again, Listing) and (again.sold, again.remaining) == (1, 1)
    assert again.total(2) == 2 * (ONE + 5)
    assert [x.id for x in any_market.stranger.listings_of(any_market.seller.address)] == [
        listing.id
    ]


def test_sold_out_listing_reports_units_sold(market: Market) -> None:
    listing = market.seller.create_listing(market.terms(), 2)
    market.buyer.buy(listing, 2)
    sold_out = market.buyer.listing(listing.id)
    assert (sold_out.status, sold_out.sold, sold_out.remaining) == (ListingStatus.SOLD_OUT, 2, 0)


def test_unknown_listing_and_trade_raise_not_found(market: Market) -> None:
    with pytest.raises(NotFoundError, match="no listing"):
        market.buyer.listing(b"\x01" * 32)
    with pytest.raises(NotFoundError, match="no trade"):
        market.buyer.trade("0x" + "02" * 32)


def test_next_steps_follow_the_clock(market: Market) -> None:
    listing = market.seller.create_listing(market.terms(review_window=DAY))
    trade = market.buyer.buy(listing)
    deadline = trade.trade.deadline
    before = {(s.action, s.actor) for s in trade.next_steps(at=deadline - 1)}
    after = {(s.action, s.actor) for s in trade.next_steps(at=deadline)}
    assert ("dispute", market.buyer.address) in before and ("finalize", None) not in before
    assert ("finalize", None) in after and ("dispute", market.buyer.address) not in after
    assert NextStep("finalize", None, not_before=deadline) in trade.next_steps()
    disputed = market.seller.dispute(trade)
    actions = {s.action for s in disputed.next_steps()}
    assert actions == {"release", "refund", "propose_settlement", "rule", "claim_ruling_timeout"}
    assert disputed.may(market.arbitrator.address, "rule", at=disputed.trade.deadline - 1)
    assert not disputed.may(market.arbitrator.address, "rule", at=disputed.trade.deadline)


def test_trade_read_after_partial_purchases_uses_terms_at_purchase_time(market: Market) -> None:
    listing = market.seller.create_listing(market.terms(), 3)
    first = market.buyer.buy(listing)
    updated = market.seller.update_listing(listing, market.terms(price=3 * ONE), 2)
    second = market.stranger.buy(updated)
    assert market.seller.trade(first.id).trade.amount == ONE
    assert market.seller.trade(second.id).trade.amount == 3 * ONE
    assert market.seller.trade(second.id).state == TradeState.PAID


def test_terms_accept_cid_text_as_ipfs_returns_it(market: Market) -> None:
    digest = hashlib.sha256(b"listing document").digest()
    v1 = bytes.fromhex("01551220") + digest
    text = "b" + base64.b32encode(v1).decode().lower().rstrip("=")
    terms = market.seller.make_terms(price=ONE, cid=text)
    assert terms.cid == v1 and terms.token == ETH
    listing = market.seller.create_listing(terms)
    assert market.buyer.listing(listing.id).terms.cid == v1
