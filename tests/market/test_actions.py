"""Every client action on the embedded chain and on Anvil, with the results it returns."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _market import DAY, ONE, Market

from p2pchain import (
    ETH,
    HeldFunds,
    InputError,
    Listing,
    ListingNotActive,
    ListingStatus,
    NothingToWithdraw,
    Rating,
    ReputationSummary,
    Role,
    TermsChanged,
    TradeState,
    TradeView,
    TxInfo,
    Withdrawal,
)


def test_create_listing_returns_live_listing(any_market: Market) -> None:
    terms = any_market.terms()
    listing = any_market.seller.create_listing(terms, 3)
    assert isinstance(listing, Listing)
    assert (listing.status, listing.listed_quantity, listing.sold, listing.remaining) == (
        ListingStatus.LIVE,
        3,
        0,
        3,
    )
    assert listing.terms == terms and not listing.signed
    assert isinstance(listing.tx, TxInfo) and listing.tx.gas_used > 0
    assert any_market.seller.listing(listing.id) == replace(listing, tx=None)


def test_update_listing_refuses_buyers_with_old_terms(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms(), 2)
    updated = any_market.seller.update_listing(listing, any_market.terms(price=2 * ONE), 5)
    assert (updated.terms.price, updated.remaining, updated.status) == (
        2 * ONE,
        5,
        ListingStatus.LIVE,
    )
    with pytest.raises(TermsChanged) as info:
        any_market.buyer.buy(listing)
    assert info.value.listing_id == listing.id
    assert "reload it and try again" in str(info.value)
    trade = any_market.buyer.buy(any_market.buyer.listing(listing.id))
    assert trade.trade.amount == 2 * ONE


def test_close_listing_stops_sales(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms(), 2)
    closed = any_market.seller.close_listing(listing)
    assert closed.status == ListingStatus.CLOSED and not closed.live
    assert any_market.seller.listing(listing.id).status == ListingStatus.CLOSED
    with pytest.raises(ListingNotActive):
        any_market.buyer.buy(listing)


def test_buy_holds_price_in_escrow_and_release_completes(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms())
    escrow_before = any_market.buyer.balance(any_market.seller.deployment.marketplace)
    trade = any_market.buyer.buy(listing)
    assert isinstance(trade, TradeView)
    assert trade.state == TradeState.PAID and trade.buyer == any_market.buyer.address
    assert trade.held == HeldFunds(ETH, ONE, 0)
    assert trade.review_deadline == trade.opened_at + 7 * DAY
    assert any_market.buyer.balance(any_market.seller.deployment.marketplace) == escrow_before + ONE
    assert trade.may(any_market.buyer.address, "release")
    assert not trade.may(any_market.stranger.address, "release")
    seller_before = any_market.seller.balance()
    done = any_market.buyer.release(trade)
    assert done.state == TradeState.COMPLETED and done.held.total == 0
    assert [e.name for e in done.history] == ["Purchased", "Released"]
    assert any_market.seller.balance() == seller_before + ONE
    assert any_market.seller.trade(trade.id) == replace(done, tx=None)


def test_rental_release_and_return_deposit_complete(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms(deposit=ONE // 2))
    trade = any_market.buyer.buy(listing)
    assert trade.held == HeldFunds(ETH, ONE, ONE // 2)
    trade = any_market.buyer.release(trade)
    assert trade.state == TradeState.PAID and trade.held == HeldFunds(ETH, 0, ONE // 2)
    assert not trade.may(any_market.buyer.address, "dispute")
    trade = any_market.seller.return_deposit(trade)
    assert trade.state == TradeState.COMPLETED


def test_refund_returns_everything_to_buyer(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms(deposit=ONE))
    trade = any_market.buyer.buy(listing)
    before = any_market.buyer.balance()
    trade = any_market.seller.refund(trade)
    assert trade.state == TradeState.REFUNDED
    assert any_market.buyer.balance() == before + 2 * ONE


def test_finalize_after_review_window_pays_default_outcome(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms(review_window=3600, deposit=7))
    trade = any_market.buyer.buy(listing)
    steps = trade.next_steps(at=trade.trade.deadline)
    assert [s.action for s in steps if s.actor is None] == ["finalize"]
    any_market.warp_to(trade.trade.deadline)
    trade = any_market.stranger.finalize(trade)
    assert trade.state == TradeState.COMPLETED
    assert [e.name for e in trade.history] == ["Purchased", "Finalized"]


def test_dispute_then_rule_splits_funds(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms())
    trade = any_market.buyer.buy(listing)
    trade = any_market.buyer.dispute(trade)
    assert trade.state == TradeState.DISPUTED
    assert trade.ruling_deadline is not None and trade.review_deadline is None
    assert trade.may(any_market.arbitrator.address, "rule")
    arbitrator_before = any_market.arbitrator.balance()
    buyer_before = any_market.buyer.balance()
    trade = any_market.arbitrator.rule(trade, ONE // 2)
    assert trade.state == TradeState.RULED
    fee = ONE * 200 // 10_000
    ruled = trade.history[-1]
    assert (ruled.name, ruled.args["fee"]) == ("Ruled", fee)
    assert any_market.buyer.balance() == buyer_before + ONE // 2
    assert any_market.arbitrator.balance() == arbitrator_before + fee - trade.tx.fee  # type: ignore[union-attr]


def test_propose_and_accept_settlement_pays_the_split(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms())
    trade = any_market.buyer.buy(listing)
    trade = any_market.seller.propose_settlement(trade, ONE // 4)
    assert trade.proposal == (any_market.seller.address, ONE // 4)
    assert trade.may(any_market.buyer.address, "accept_settlement")
    assert not trade.may(any_market.seller.address, "accept_settlement")
    buyer_before = any_market.buyer.balance()
    trade = any_market.buyer.accept_settlement(trade)
    assert trade.state == TradeState.SETTLED
    assert any_market.buyer.balance() == buyer_before + ONE // 4 - trade.tx.fee  # type: ignore[union-attr]


def test_withdrawn_proposal_can_no_longer_be_accepted(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms())
    trade = any_market.buyer.buy(listing)
    trade = any_market.seller.propose_settlement(trade, ONE // 4)
    assert trade.may(any_market.seller.address, "withdraw_proposal")
    assert not trade.may(any_market.buyer.address, "withdraw_proposal")
    trade = any_market.seller.withdraw_proposal(trade)
    assert trade.proposal is None
    assert [e.name for e in trade.history][-1] == "ProposalWithdrawn"
    assert not trade.may(any_market.buyer.address, "accept_settlement")
    assert any_market.buyer.trade(trade.id).trade == trade.trade  # rebuilt from the chain alike


def test_proposal_lapses_at_the_trades_deadline(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms())
    trade = any_market.buyer.buy(listing)
    trade = any_market.seller.propose_settlement(trade, ONE // 4)
    deadline = trade.trade.deadline
    buyer = any_market.buyer.address
    assert trade.may(buyer, "accept_settlement", at=deadline - 1)
    assert not trade.may(buyer, "accept_settlement", at=deadline)
    assert not trade.may(buyer, "propose_settlement", at=deadline)
    assert trade.may(buyer, "finalize", at=deadline)


def test_claim_ruling_timeout_refunds_buyer(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms())
    trade = any_market.buyer.buy(listing)
    trade = any_market.seller.dispute(trade)
    any_market.warp_to(trade.trade.deadline)
    before = any_market.buyer.balance()
    trade = any_market.stranger.claim_ruling_timeout(trade)
    assert trade.state == TradeState.RULING_TIMED_OUT
    assert any_market.buyer.balance() == before + ONE


def test_signed_listing_is_bought_then_cancelled(any_market: Market) -> None:
    signed = any_market.seller.sign_listing(any_market.terms(), 2)
    digest = any_market.seller.market.functions.signedListingDigest(
        signed.terms.as_tuple(), 2, signed.salt
    ).call()
    assert signed.id == bytes(digest)
    assert any_market.seller.listing(signed).status == ListingStatus.UNUSED
    trade = any_market.buyer.buy(signed)
    assert trade.listing_id == signed.id and trade.state == TradeState.PAID
    listing = any_market.seller.listing(signed)
    assert (listing.status, listing.signed, listing.sold, listing.remaining) == (
        ListingStatus.LIVE,
        True,
        1,
        1,
    )
    cancelled = any_market.seller.cancel_signed_listing(signed)
    assert cancelled.status == ListingStatus.CLOSED
    with pytest.raises(ListingNotActive):
        any_market.buyer.buy(signed)


def test_cancel_unused_signed_listing_refuses_first_purchase(any_market: Market) -> None:
    signed = any_market.seller.sign_listing(any_market.terms())
    any_market.seller.cancel_signed_listing(signed)
    assert any_market.seller.listing(signed).status == ListingStatus.CLOSED
    with pytest.raises(ListingNotActive):
        any_market.buyer.buy(signed)


def test_rate_updates_reputation(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms())
    trade = any_market.buyer.release(any_market.buyer.buy(listing))
    assert {(s.action, s.actor) for s in trade.next_steps()} == {
        ("rate", any_market.buyer.address),
        ("rate", any_market.seller.address),
    }
    rating = any_market.buyer.rate(trade, 4, b"\x01\x55\x12\x20" + bytes(32))
    assert isinstance(rating, Rating)
    assert (rating.score, rating.subject, rating.value) == (4, any_market.seller.address, ONE)
    any_market.seller.rate(trade.id, 5)
    summary = any_market.stranger.reputation_of(any_market.seller.address)
    assert summary == ReputationSummary(any_market.seller.address, ETH, 1, 4, ONE)
    assert summary.average == 4.0
    refreshed = any_market.stranger.trade(trade.id)
    assert refreshed.rated_by_buyer and refreshed.rated_by_seller
    assert refreshed.next_steps() == ()
    assert [r.score for r in any_market.stranger.ratings_of(any_market.seller.address)] == [4]


def test_erc20_purchase_approves_then_buys(any_market: Market) -> None:
    token = any_market.deploy_token("TestERC20", "Test", "TST")
    any_market.call_token(any_market.deployer, token, "mint", any_market.buyer.address, 10 * ONE)
    listing = any_market.seller.create_listing(any_market.terms(token=token.address, deposit=ONE))
    prepared = any_market.buyer.prepare_buy(listing)
    assert [c.action for c in prepared.before] == ["approve"]
    trade = prepared.send()
    assert trade.held == HeldFunds(token.address, ONE, ONE)
    assert any_market.buyer.balance(token=token.address) == 8 * ONE
    assert any_market.buyer.allowance(token.address) == 0
    trade = any_market.buyer.release(trade)
    assert any_market.seller.balance(token=token.address) == ONE


def test_withdraw_pays_out_a_credit(any_market: Market) -> None:
    token = any_market.deploy_token("BlocklistToken")
    any_market.call_token(any_market.deployer, token, "mint", any_market.buyer.address, 10 * ONE)
    listing = any_market.seller.create_listing(any_market.terms(token=token.address))
    trade = any_market.buyer.buy(listing)
    any_market.call_token(any_market.deployer, token, "setBlocked", any_market.seller.address, True)
    trade = any_market.buyer.release(trade)
    assert trade.state == TradeState.COMPLETED
    assert any_market.seller.credit(token=token.address) == ONE
    with pytest.raises(NothingToWithdraw):
        any_market.seller.withdraw(ETH)
    any_market.call_token(
        any_market.deployer, token, "setBlocked", any_market.seller.address, False
    )
    withdrawal = any_market.seller.withdraw(token.address)
    assert isinstance(withdrawal, Withdrawal)
    assert (withdrawal.amount, withdrawal.to) == (ONE, any_market.seller.address)
    assert any_market.seller.credit(token=token.address) == 0
    assert any_market.seller.balance(token=token.address) == ONE


def test_trades_of_finds_each_role(any_market: Market) -> None:
    listing = any_market.seller.create_listing(any_market.terms(), 3)
    first = any_market.buyer.buy(listing)
    second = any_market.buyer.buy(any_market.buyer.listing(listing.id), 2)
    signed = any_market.seller.sign_listing(any_market.terms(arbitrator=ETH, arbitrator_fee_bps=0))
    third = any_market.stranger.buy(signed)
    ids = [t.id for t in any_market.buyer.trades_of(any_market.buyer.address)]
    assert ids == [first.id, second.id]
    assert second.id == listing.id  # the last units: the trade took over the listing's record
    seller_ids = [t.id for t in any_market.seller.trades_of(any_market.seller.address, Role.SELLER)]
    assert seller_ids == [first.id, second.id, third.id]
    arb = any_market.seller.trades_of(any_market.arbitrator.address, Role.ARBITRATOR)
    assert [t.id for t in arb] == [first.id, second.id]
    assert any_market.seller.trades_of(any_market.seller.address, Role.BUYER) == []


def test_only_the_seller_may_close_update_or_cancel(market: Market) -> None:
    """A stranger's listing action is refused with the real reason, before anything is sent
    (the contract, which finds a listing by the caller and its salt, would only say "no such
    listing")."""
    listing = market.seller.create_listing(market.terms())
    for action in (
        lambda: market.stranger.prepare_close_listing(listing),
        lambda: market.stranger.prepare_update_listing(listing, listing.terms, 1),
    ):
        with pytest.raises(InputError, match="only the seller .* is not its seller"):
            action()
    signed = market.seller.sign_listing(market.terms())
    with pytest.raises(InputError, match="can cancel listing"):
        market.stranger.prepare_cancel_signed_listing(signed)
    assert market.seller.listing(listing.id).status.value == "live"
