"""The main paths on every dev chain: on-chain and signed listings, release, dispute, rating."""

from __future__ import annotations

from p2pchain.chain._model import TradeState

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


def test_rental_timeouts_and_refund_settle_on_every_chain(any_market: Market) -> None:
    """Time-driven exits on each chain: finalize after the review window, the ruling timeout."""
    m = any_market
    rental = m.buy(m.list(m.terms(deposit=2 * ONE)))
    m.act("release", m.buyer, rental)
    assert rental.trade.state is TradeState.PAID  # rent paid, deposit still held
    m.chain.increase_time(7 * 86_400 + 60)
    m.chain.mine()
    buyer_before = m.balance(m.buyer.address)
    m.act("finalize", m.stranger, rental)
    assert rental.trade.state is TradeState.COMPLETED
    assert m.balance(m.buyer.address) == buyer_before + 2 * ONE

    silent = m.buy(m.list())
    m.act("dispute", m.seller, silent)
    m.chain.increase_time(m.ruling_window + 60)
    m.chain.mine()
    buyer_before = m.balance(m.buyer.address)
    m.act("claimRulingTimeout", m.stranger, silent)
    assert silent.trade.state is TradeState.RULING_TIMED_OUT
    assert m.balance(m.buyer.address) == buyer_before + ONE

    refunded = m.buy(m.list())
    m.act("refund", m.seller, refunded)
    assert refunded.trade.state is TradeState.REFUNDED
    assert m.balance(m.address) == 0
