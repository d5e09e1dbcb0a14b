"""Signed (EIP-712) listings: buying, the digest, and every way a signature must not be reusable."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eth_account.messages import encode_typed_data
from eth_utils import keccak

from p2pchain.chain._model import ListingTerms, signed_listing_typed_data

from ._helpers import (
    Market,
    event_names,
    events_named,
    listing_state,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    reverts,
)
from .market import DAY, ONE, Listing

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _digest(market: Market, terms: ListingTerms, quantity: int, salt: bytes) -> bytes:
    fn = market.market.functions.signedListingDigest(terms.as_tuple(), quantity, salt)
    return bytes(fn.call())


def _with(market: Market, listing: Listing, **changes: Any) -> Listing:
    """The same signature presented for other listing data."""
    other = replace(listing, **changes)
    return replace(other, id=_digest(market, other.terms, other.quantity, other.salt))


# ---------------------------------------------------------------------------------- buying


def test_signed_listing_buy_emits_used_then_purchased(market: Market) -> None:
    listing = market.sign_listing(market.terms(deposit=ONE // 2), quantity=3)
    ref = market.buy(listing, 2)
    receipt = ref.receipts[0]
    assert event_names(market, receipt) == ["SignedListingUsed", "Purchased"]
    (used,) = events_named(market, receipt, "SignedListingUsed")
    assert bytes(used["listingId"]) == listing.id
    assert used["seller"] == market.seller.address
    assert bytes(used["salt"]) == listing.salt
    assert used["quantity"] == 3
    assert ListingTerms.from_abi(used["terms"]) == listing.terms
    (bought,) = events_named(market, receipt, "Purchased")
    assert bytes(bought["listingId"]) == listing.id
    assert (bought["quantity"], bought["remaining"]) == (2, 1)
    assert (ref.trade.amount, ref.trade.deposit) == (2 * ONE, ONE)
    tag = int.from_bytes(listing.id, "big") >> 65
    assert listing_state(market, listing.id) == (True, tag, 2, 1)


def test_signed_listing_used_event_emitted_once(market: Market) -> None:
    listing = market.sign_listing(quantity=3)
    market.buy(listing)
    for buyer in (market.others[0], market.others[1]):
        ref = market.buy(listing, buyer=buyer)
        assert event_names(market, ref.receipts[0]) == ["Purchased"]


def test_signed_listing_single_purchase_takes_over_digest(market: Market) -> None:
    listing = market.sign_listing(quantity=2)
    ref = market.buy(listing, 2)
    assert ref.id == listing.id
    assert listing_state(market, listing.id) == (False, 0, 0, 0)
    market.act("release", market.buyer, ref)


def test_signed_listing_costs_seller_nothing_until_bought(market: Market) -> None:
    seller_before = market.balance(market.seller.address)
    listing = market.sign_listing()
    assert market.market.functions.record(listing.id).call() == 0
    market.buy(listing)
    assert market.balance(market.seller.address) == seller_before


def test_signed_listing_cannot_be_bought_as_onchain_listing(market: Market) -> None:
    listing = market.sign_listing(quantity=2)
    market.buy(listing)
    fn = market.market.functions.buy(listing.id, listing.terms.as_tuple(), 1)
    with reverts("TermsChanged", listing.id):
        market.send(market.others[0], fn, value=ONE)


def test_signed_listing_more_than_signed_reverts_insufficient_quantity(market: Market) -> None:
    listing = market.sign_listing(quantity=2)
    with reverts("InsufficientQuantity", listing.id, 2, 3):
        market.buy(listing, 3)
    market.buy(listing, 1)
    with reverts("InsufficientQuantity", listing.id, 1, 2):
        market.buy(listing, 2)


def test_signed_listing_zero_units_reverts_zero_quantity(market: Market) -> None:
    with reverts("ZeroQuantity"):
        market.buy(market.sign_listing(quantity=0), 1)
    with reverts("ZeroQuantity"):
        market.buy(market.sign_listing(quantity=2), 0)


def test_signed_listing_invalid_terms_revert_at_first_purchase(market: Market) -> None:
    with reverts("InvalidPrice", 0, 0):
        market.buy(market.sign_listing(market.terms(price=0)), value=0)
    with reverts("InvalidReviewWindow", 0):
        market.buy(market.sign_listing(market.terms(review_window=0)))
    with reverts("InvalidArbitratorFee", 1_001):
        market.buy(market.sign_listing(market.terms(arbitrator_fee_bps=1_001)))
    with reverts("InvalidCid", bytes(8), bytes(32)):
        market.buy(market.sign_listing(market.terms(cid_prefix=bytes(8), cid_digest=bytes(32))))


def test_signed_terms_with_seller_as_arbitrator_revert_arbitrator_is_party(market: Market) -> None:
    listing = market.sign_listing(market.terms(arbitrator=market.seller.address))
    with reverts("ArbitratorIsParty", market.seller.address):
        market.buy(listing)


def test_signed_listing_bought_by_seller_reverts_self_purchase(market: Market) -> None:
    listing = market.sign_listing()
    with reverts("SelfPurchase", market.seller.address):
        market.buy(listing, buyer=market.seller)


def test_signed_listing_bought_by_arbitrator_reverts_arbitrator_is_party(market: Market) -> None:
    listing = market.sign_listing()
    with reverts("ArbitratorIsParty", market.arbitrator.address):
        market.buy(listing, buyer=market.arbitrator)


# ---------------------------------------------------------------------------------- digest


def test_signed_listing_digest_equals_eth_account_eip712_hash(market: Market) -> None:
    terms = market.terms(deposit=7, expiry=2**40 - 1, arbitrator_fee_bps=1_000)
    salt = b"\x5a" * 32
    data = signed_listing_typed_data(
        terms, 42, salt, chain_id=market.chain.chain_id, marketplace=market.address
    )
    message = encode_typed_data(full_message=data)
    expected = keccak(b"\x19" + message.version + message.header + message.body)
    assert _digest(market, terms, 42, salt) == expected
    assert bytes(market.market.functions.domainSeparator().call()) == message.header
    assert market.sign_listing(terms, 42, salt=salt).id == expected


def test_signed_listing_digest_binds_every_field(market: Market) -> None:
    terms = market.terms()
    salt = b"\x01" * 32
    base = _digest(market, terms, 1, salt)
    variants = [
        _digest(market, replace(terms, price=terms.price + 1), 1, salt),
        _digest(market, replace(terms, deposit=1), 1, salt),
        _digest(market, replace(terms, review_window=terms.review_window + 1), 1, salt),
        _digest(market, replace(terms, cid_digest=b"\x02" * 32), 1, salt),
        _digest(market, terms, 2, salt),
        _digest(market, terms, 1, b"\x02" * 32),
    ]
    assert base not in variants and len(set(variants)) == len(variants)


# ---------------------------------------------------------------------------------- replay


def test_signature_replayed_for_other_terms_reverts_invalid_signature(market: Market) -> None:
    listing = market.sign_listing(quantity=2)
    for changed in (
        replace(listing.terms, price=ONE // 2),
        replace(listing.terms, deposit=1),
        replace(listing.terms, review_window=365 * DAY),
        replace(listing.terms, arbitrator_fee_bps=0),
    ):
        forged = _with(market, listing, terms=changed)
        with reverts("InvalidSignature", forged.id, market.seller.address):
            market.buy(forged)
    market.buy(listing)  # the signed terms still work


def test_signature_replayed_for_other_quantity_reverts_invalid_signature(market: Market) -> None:
    listing = market.sign_listing(quantity=1)
    forged = _with(market, listing, quantity=100)
    with reverts("InvalidSignature", forged.id, market.seller.address):
        market.buy(forged)


def test_signature_replayed_with_other_salt_reverts_invalid_signature(market: Market) -> None:
    listing = market.sign_listing()
    market.buy(listing)
    forged = _with(market, listing, salt=b"\x07" * 32)
    with reverts("InvalidSignature", forged.id, market.seller.address):
        market.buy(forged)


def test_signature_for_other_chain_reverts_invalid_signature(market: Market) -> None:
    listing = market.sign_listing(chain_id=market.chain.chain_id + 1)
    with reverts("InvalidSignature", listing.id, market.seller.address):
        market.buy(listing)
    with reverts("InvalidSignature", listing.id, market.seller.address):
        market.buy(market.sign_listing(listing.terms, salt=listing.salt, chain_id=1))


def test_signature_for_other_marketplace_reverts_invalid_signature(market: Market) -> None:
    other = Market(market.chain)
    listing = market.sign_listing(marketplace=other.address)
    with reverts("InvalidSignature", listing.id, market.seller.address):
        market.buy(listing)
    # the same signature is good where it was meant to be used
    there = replace(listing, id=_digest(other, listing.terms, listing.quantity, listing.salt))
    ref = other.buy(there)
    assert ref.id == there.id != listing.id


def test_signature_after_sold_out_reverts_listing_not_active(market: Market) -> None:
    listing = market.sign_listing(quantity=2)
    market.buy(listing, 2)
    with reverts("ListingNotActive", listing.id):
        market.buy(listing, buyer=market.others[0])


def test_signature_by_other_than_seller_reverts_invalid_signature(market: Market) -> None:
    terms = market.terms()  # names market.seller
    listing = market.sign_listing(terms, seller=market.stranger)
    with reverts("InvalidSignature", listing.id, market.seller.address):
        market.buy(listing)


def test_malleated_signature_reverts_invalid_signature(market: Market) -> None:
    listing = market.sign_listing()
    assert listing.signature is not None
    r, s, v = listing.signature[:32], listing.signature[32:64], listing.signature[64]
    high_s = (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    flipped = r + high_s + bytes([55 - v])  # 27 <-> 28
    with reverts("InvalidSignature", listing.id, market.seller.address):
        market.buy(replace(listing, signature=flipped))
    market.buy(listing)


def test_truncated_or_empty_signature_reverts_invalid_signature(market: Market) -> None:
    listing = market.sign_listing()
    assert listing.signature is not None
    for bad in (listing.signature[:64], b"", listing.signature + b"\x00"):
        with reverts("InvalidSignature", listing.id, market.seller.address):
            market.buy(replace(listing, signature=bad))


# ---------------------------------------------------------------------------------- later fills


def test_later_fills_need_no_signature(market: Market) -> None:
    listing = market.sign_listing(quantity=3)
    market.buy(listing)
    anyone = replace(listing, signature=b"")
    second = market.buy(anyone, 1, buyer=market.others[0])
    third = market.buy(anyone, 1, buyer=market.others[1])
    assert third.id == listing.id
    assert second.trade.buyer == market.others[0].address
    assert listing_state(market, listing.id) == (False, 0, 0, 0)


def test_cancel_stops_later_fills(market: Market) -> None:
    listing = market.sign_listing(quantity=3)
    first = market.buy(listing)
    fn = market.market.functions.cancelSignedListing(
        listing.terms.as_tuple(), listing.quantity, listing.salt
    )
    market.send(market.seller, fn)
    with reverts("ListingNotActive", listing.id):
        market.buy(listing, buyer=market.others[0])
    market.act("release", market.buyer, first)  # the trade already made is unaffected


def test_cancel_before_any_purchase_stops_first_fill(market: Market) -> None:
    listing = market.sign_listing()
    fn = market.market.functions.cancelSignedListing(
        listing.terms.as_tuple(), listing.quantity, listing.salt
    )
    market.send(market.seller, fn)
    with reverts("ListingNotActive", listing.id):
        market.buy(listing)
