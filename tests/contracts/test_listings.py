"""On-chain listings: creation and its validation, updates, closing, multi-unit bookkeeping."""

from __future__ import annotations

import os
from dataclasses import replace

from p2pchain.chain._model import ZERO_ADDRESS, ListingTerms, listing_id, partial_trade_id

from ._helpers import (
    Market,
    close_listing,
    events_named,
    listing_state,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    reverts,
    terms_tag,
    update_listing,
)
from .market import CIDV0_PREFIX, DAY, ONE

MAX_UNIT = 2**128 - 1
MAX_U32 = 2**32 - 1


def _list_fn(market: Market, terms: ListingTerms, salt: bytes, quantity: int):
    return market.market.functions.list(terms.as_tuple(), salt, quantity)


# ---------------------------------------------------------------------------------- list


def test_list_emits_listed_with_full_terms_and_salt(market: Market) -> None:
    terms = market.terms(deposit=ONE // 4, expiry=market.chain.latest_timestamp() + 30 * DAY)
    salt = os.urandom(32)
    receipt = market.send(market.seller, _list_fn(market, terms, salt, 3))
    (args,) = events_named(market, receipt, "Listed")
    assert bytes(args["listingId"]) == listing_id(market.seller.address, salt)
    assert args["seller"] == market.seller.address
    assert bytes(args["salt"]) == salt
    assert args["quantity"] == 3
    assert ListingTerms.from_abi(args["terms"]) == terms


def test_list_records_live_state_with_terms_tag(market: Market) -> None:
    listing = market.list(quantity=4)
    assert listing_state(market, listing.id) == (True, terms_tag(market, listing.terms), 0, 4)


def test_list_returns_listing_id_of_seller_and_salt(market: Market) -> None:
    terms = market.terms()
    salt = os.urandom(32)
    returned = _list_fn(market, terms, salt, 1).call({"from": market.seller.address})
    assert bytes(returned) == listing_id(market.seller.address, salt)


def test_list_for_another_seller_reverts_not_seller(market: Market) -> None:
    with reverts("NotSeller", market.stranger.address, market.seller.address):
        market.list(market.terms(), seller=market.stranger)


def test_list_zero_quantity_reverts(market: Market) -> None:
    with reverts("ZeroQuantity"):
        market.list(quantity=0)


def test_list_zero_price_reverts_invalid_price(market: Market) -> None:
    with reverts("InvalidPrice", 0, 5):
        market.list(market.terms(price=0, deposit=5))


def test_list_price_above_uint128_reverts_invalid_price(market: Market) -> None:
    with reverts("InvalidPrice", MAX_UNIT + 1, 0):
        market.list(market.terms(price=MAX_UNIT + 1))
    market.list(market.terms(price=MAX_UNIT))


def test_list_deposit_above_uint128_reverts_invalid_price(market: Market) -> None:
    with reverts("InvalidPrice", ONE, MAX_UNIT + 1):
        market.list(market.terms(deposit=MAX_UNIT + 1))
    market.list(market.terms(deposit=MAX_UNIT))


def test_list_seller_as_arbitrator_reverts_arbitrator_is_party(market: Market) -> None:
    with reverts("ArbitratorIsParty", market.seller.address):
        market.list(market.terms(arbitrator=market.seller.address))


def test_list_fee_above_max_reverts_invalid_arbitrator_fee(market: Market) -> None:
    with reverts("InvalidArbitratorFee", 1001):
        market.list(market.terms(arbitrator_fee_bps=1001))
    market.list(market.terms(arbitrator_fee_bps=1000))


def test_list_fee_without_arbitrator_reverts_invalid_arbitrator_fee(market: Market) -> None:
    with reverts("InvalidArbitratorFee", 1):
        market.list(market.terms(arbitrator=ZERO_ADDRESS, arbitrator_fee_bps=1))
    market.list(market.terms(arbitrator=ZERO_ADDRESS, arbitrator_fee_bps=0))


def test_list_zero_review_window_reverts_invalid_review_window(market: Market) -> None:
    with reverts("InvalidReviewWindow", 0):
        market.list(market.terms(review_window=0))
    market.list(market.terms(review_window=1))


def test_list_review_window_over_a_year_reverts_invalid_review_window(market: Market) -> None:
    with reverts("InvalidReviewWindow", 365 * DAY + 1):
        market.list(market.terms(review_window=365 * DAY + 1))
    market.list(market.terms(review_window=365 * DAY))


def test_list_expiry_now_or_past_reverts_invalid_expiry(market: Market) -> None:
    now = market.chain.latest_timestamp() + 100
    market.warp_to(now)
    with reverts("InvalidExpiry", now):
        market.list(market.terms(expiry=now))
    with reverts("InvalidExpiry", 1):
        market.list(market.terms(expiry=1))
    market.list(market.terms(expiry=now + 1))


def test_list_zero_cid_prefix_reverts_invalid_cid(market: Market) -> None:
    digest = os.urandom(32)
    with reverts("InvalidCid", bytes(8), digest):
        market.list(market.terms(cid_prefix=bytes(8), cid_digest=digest))


def test_list_zero_cid_digest_reverts_invalid_cid(market: Market) -> None:
    with reverts("InvalidCid", CIDV0_PREFIX, bytes(32)):
        market.list(market.terms(cid_digest=bytes(32)))


def test_list_reused_salt_reverts_listing_exists(market: Market) -> None:
    listing = market.list()
    with reverts("ListingExists", listing.id):
        market.list(market.terms(), salt=listing.salt)


def test_list_salt_of_closed_listing_reverts_listing_exists(market: Market) -> None:
    listing = market.list()
    close_listing(market, listing.salt)
    with reverts("ListingExists", listing.id):
        market.list(market.terms(), salt=listing.salt)


def test_list_salt_of_sold_out_listing_reverts_listing_exists(market: Market) -> None:
    listing = market.list()
    market.buy(listing)
    with reverts("ListingExists", listing.id):
        market.list(market.terms(), salt=listing.salt)


def test_list_same_salt_by_another_seller_is_another_listing(market: Market) -> None:
    first = market.list()
    other = market.others[0]
    second = market.list(market.terms(seller=other.address), seller=other, salt=first.salt)
    assert second.id == listing_id(other.address, first.salt) != first.id
    assert listing_state(market, first.id)[0] and listing_state(market, second.id)[0]


# ---------------------------------------------------------------------------------- update


def test_update_listing_emits_new_terms_and_allows_buying_them(market: Market) -> None:
    listing = market.list(quantity=2)
    new_terms = market.terms(price=3 * ONE, deposit=ONE)
    fn = market.market.functions.updateListing(listing.salt, new_terms.as_tuple(), 5)
    receipt = market.send(market.seller, fn)
    (args,) = events_named(market, receipt, "ListingUpdated")
    assert bytes(args["listingId"]) == listing.id
    assert args["seller"] == market.seller.address
    assert args["remaining"] == 5
    assert ListingTerms.from_abi(args["terms"]) == new_terms
    assert listing_state(market, listing.id) == (True, terms_tag(market, new_terms), 0, 5)
    ref = market.buy(replace(listing, terms=new_terms), 2)
    assert (ref.trade.amount, ref.trade.deposit) == (6 * ONE, 2 * ONE)


def test_update_listing_old_terms_revert_terms_changed(market: Market) -> None:
    listing = market.list()
    update_listing(market, listing, market.terms(price=2 * ONE), 1)
    with reverts("TermsChanged", listing.id):
        market.buy(listing)


def test_update_listing_keeps_sold_count(market: Market) -> None:
    listing = market.list(quantity=3)
    first = market.buy(listing, 1)
    assert first.id == partial_trade_id(listing.id, 0)
    updated = update_listing(market, listing, market.terms(price=2 * ONE), 5)
    assert listing_state(market, listing.id)[2:] == (1, 5)
    second = market.buy(updated, 2)
    assert second.id == partial_trade_id(listing.id, 1)
    assert listing_state(market, listing.id)[2:] == (3, 3)


def test_update_listing_by_other_account_reverts_listing_not_active(market: Market) -> None:
    listing = market.list()
    stranger_terms = market.terms(seller=market.stranger.address)
    with reverts("ListingNotActive", listing_id(market.stranger.address, listing.salt)):
        update_listing(market, listing, stranger_terms, 1, account=market.stranger)
    assert listing_state(market, listing.id) == (True, terms_tag(market, listing.terms), 0, 1)


def test_update_listing_terms_of_other_seller_reverts_not_seller(market: Market) -> None:
    listing = market.list()
    with reverts("NotSeller", market.seller.address, market.stranger.address):
        update_listing(market, listing, market.terms(seller=market.stranger.address), 1)


def test_update_listing_zero_remaining_reverts_zero_quantity(market: Market) -> None:
    listing = market.list()
    with reverts("ZeroQuantity"):
        update_listing(market, listing, listing.terms, 0)


def test_update_listing_invalid_terms_revert_like_list(market: Market) -> None:
    listing = market.list()
    with reverts("InvalidReviewWindow", 0):
        update_listing(market, listing, market.terms(review_window=0), 1)
    with reverts("ArbitratorIsParty", market.seller.address):
        update_listing(market, listing, market.terms(arbitrator=market.seller.address), 1)
    with reverts("InvalidPrice", 0, 0):
        update_listing(market, listing, market.terms(price=0), 1)
    now = market.chain.latest_timestamp() + 10
    market.warp_to(now)
    with reverts("InvalidExpiry", now):
        update_listing(market, listing, market.terms(expiry=now), 1)


# ---------------------------------------------------------------------------------- close


def test_close_listing_emits_and_stops_buy_update_close(market: Market) -> None:
    listing = market.list(quantity=2)
    receipt = close_listing(market, listing.salt)
    (args,) = events_named(market, receipt, "ListingClosed")
    assert (bytes(args["listingId"]), args["seller"]) == (listing.id, market.seller.address)
    assert listing_state(market, listing.id) == (False, 0, 0, 0)
    with reverts("ListingNotActive", listing.id):
        market.buy(listing)
    with reverts("ListingNotActive", listing.id):
        update_listing(market, listing, listing.terms, 1)
    with reverts("ListingNotActive", listing.id):
        close_listing(market, listing.salt)


def test_close_listing_by_other_account_reverts_listing_not_active(market: Market) -> None:
    listing = market.list()
    with reverts("ListingNotActive", listing_id(market.stranger.address, listing.salt)):
        close_listing(market, listing.salt, market.stranger)
    assert listing_state(market, listing.id)[0]


def test_close_listing_never_listed_reverts_listing_not_active(market: Market) -> None:
    salt = os.urandom(32)
    with reverts("ListingNotActive", listing_id(market.seller.address, salt)):
        close_listing(market, salt)


def test_close_listing_leaves_open_trades_settleable(market: Market) -> None:
    listing = market.list(quantity=3)
    ref = market.buy(listing, 1)
    close_listing(market, listing.salt)
    before = market.balance(market.seller.address)
    market.act("release", market.buyer, ref)
    assert market.balance(market.seller.address) == before + ONE


# ---------------------------------------------------------------------------------- units


def test_multi_unit_partial_buys_get_distinct_trade_ids(market: Market) -> None:
    listing = market.list(market.terms(deposit=ONE // 10), quantity=5)
    a = market.buy(listing, 2)
    assert a.id == partial_trade_id(listing.id, 0)
    assert listing_state(market, listing.id)[2:] == (2, 3)
    b = market.buy(listing, 1, buyer=market.others[0])
    assert b.id == partial_trade_id(listing.id, 2)
    assert listing_state(market, listing.id)[2:] == (3, 2)
    c = market.buy(listing, 2, buyer=market.others[1])
    assert c.id == listing.id  # the last units take over the listing's record
    assert listing_state(market, listing.id) == (False, 0, 0, 0)
    assert len({a.id, b.id, c.id}) == 3
    assert [(r.trade.amount, r.trade.deposit) for r in (a, b, c)] == [
        (2 * ONE, 2 * ONE // 10),
        (ONE, ONE // 10),
        (2 * ONE, 2 * ONE // 10),
    ]
    (args,) = events_named(market, c.receipts[0], "Purchased")
    assert (args["quantity"], args["remaining"]) == (2, 0)
    assert bytes(args["listingId"]) == listing.id
    with reverts("ListingNotActive", listing.id):
        market.buy(listing, 1, buyer=market.others[2])


def test_multi_unit_purchased_event_reports_remaining(market: Market) -> None:
    listing = market.list(quantity=4)
    ref = market.buy(listing, 3)
    (args,) = events_named(market, ref.receipts[0], "Purchased")
    assert bytes(args["tradeId"]) == ref.id
    assert bytes(args["listingId"]) == listing.id
    assert args["buyer"] == market.buyer.address
    assert (args["quantity"], args["remaining"]) == (3, 1)


def test_multi_unit_more_than_remaining_reverts_insufficient_quantity(market: Market) -> None:
    listing = market.list(quantity=3)
    market.buy(listing, 2)
    with reverts("InsufficientQuantity", listing.id, 1, 2):
        market.buy(listing, 2)
    market.buy(listing, 1)


def test_multi_unit_sold_counter_reaches_uint32_max_then_overflows(market: Market) -> None:
    # 1-wei units make billions of units cheap: sold can be driven to its limit.
    listing = market.list(market.terms(price=1), quantity=MAX_U32)
    market.buy(listing, MAX_U32 - 2)
    assert listing_state(market, listing.id)[2:] == (MAX_U32 - 2, 2)
    market.buy(listing, 1)
    assert listing_state(market, listing.id)[2:] == (MAX_U32 - 1, 1)
    update_listing(market, listing, listing.terms, 10)
    market.buy(listing, 1)
    assert listing_state(market, listing.id)[2:] == (MAX_U32, 9)
    with reverts("QuantityOverflow", listing.id):
        market.buy(listing, 1)
    # taking the last units does not count them, so it still works
    last = market.buy(listing, 9)
    assert last.id == listing.id
