"""The main paths on every dev chain: on-chain and signed listings, release, dispute, rating."""

from __future__ import annotations

from p2pchain._model import TradeState

from .market import ONE, Market


def test_onchain_listing_buy_release_rate_completes_on_every_chain(any_market: Market) -> None:
    m = any_market
    listing = m.list()
    seller_before = m.balance(m.seller.address)
    ref = m.buy(listing)
    m.act("release", m.buyer, ref)
    assert ref.trade.state is TradeState.COMPLETED
    assert m.balance(m.seller.address) == seller_before + ONE
    m.rate(m.buyer, ref, 5)
    m.rate(m.seller, ref, 4)
    agg = m.reputation.functions.aggregate(m.seller.address, ref.trade.token).call()
    assert tuple(agg) == (1, 5, ONE)


def test_signed_listing_dispute_and_ruling_pays_everyone_on_every_chain(any_market: Market) -> None:
    m = any_market
    listing = m.sign_listing()
    ref = m.buy(listing)
    m.act("dispute", m.buyer, ref)
    arb_before = m.balance(m.arbitrator.address)
    m.act("rule", m.arbitrator, ref, ONE // 2)
    assert ref.trade.state is TradeState.RULED
    fee = ONE * 200 // 10_000
    assert m.balance(m.arbitrator.address) > arb_before  # fee minus the arbitrator's own gas
    assert m.market.functions.credit(ref.trade.token, m.arbitrator.address).call() == 0
    assert fee > 0
