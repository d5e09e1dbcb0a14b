"""Buyers' offers (``acceptOffer``, ``cancelOffer``, ``cancelAllOffers``, ``addCredit``) and
ERC-20 purchases with an EIP-2612 permit (``buyWithPermit``, ``buySignedWithPermit``), each
against the adversaries the issue names: replay across listings, chains and contracts, a
front-run permit, a buyer who spends the tokens before acceptance, fee-on-transfer and no-return
tokens, and a bulk cancel racing an accept. Every trade an offer opens is rebuilt in Python
(:func:`open_trade` with the offered price) and checked against the contract's own record.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from p2pchain.chain._model import TradeState, open_trade
from p2pchain.chain._offer_model import NO_PERMIT, Offer, Permit, permit_typed_data
from p2pchain.compiler._artifacts import load_artifact

from ._helpers import (
    Market,
    deploy_test_contract,
    escrow_balance,
    events_named,
    market_fixture,
    mint_and_approve,
    reverts,
    update_listing,
)
from .market import DAY, ETH, ONE, Listing, TradeRef

__all__ = ["market_fixture"]

USD = 10**6
PRICE = 100 * USD


# ---------------------------------------------------------------------------------- helpers


def permit_token(market: Market, name: str = "Test Dollar") -> Contract:
    """A fresh EIP-2612 token (6 decimals, like USDC)."""
    return deploy_test_contract(market, "PermitToken", name, "TUSD", 6)


def mint(market: Market, token: Contract, who: LocalAccount, amount: int) -> None:
    market.send(market.deployer, token.functions.mint(who.address, amount))


def sign_permit(
    market: Market,
    token: Contract,
    owner: LocalAccount,
    value: int,
    *,
    deadline: int | None = None,
    nonce: int | None = None,
    spender: str | None = None,
) -> Permit:
    """The owner's EIP-2612 permit letting the marketplace pull ``value``."""
    deadline = deadline if deadline is not None else market.chain.latest_timestamp() + DAY
    data = permit_typed_data(
        token_name=token.functions.name().call(),
        token_version="1",
        chain_id=market.chain.chain_id,
        token=token.address,
        owner=owner.address,
        spender=spender or market.address,
        value=value,
        nonce=nonce if nonce is not None else token.functions.nonces(owner.address).call(),
        deadline=deadline,
    )
    signed = owner.sign_typed_data(full_message=data)
    return Permit.from_signature(value, deadline, bytes(signed.signature))


def make_offer(
    market: Market,
    listing: Listing,
    *,
    buyer: LocalAccount | None = None,
    price: int | None = None,
    quantity: int = 1,
    expiry: int | None = None,
    counter: int | None = None,
    listing_id: bytes | None = None,
    chain_id: int | None = None,
    marketplace: str | None = None,
) -> tuple[Offer, bytes]:
    """A buyer's offer for ``listing`` (default: 10% under the asking price) and its signature."""
    buyer = buyer or market.buyer
    offer = Offer(
        terms=listing.terms,
        listing_id=listing_id or listing.id,
        buyer=buyer.address,
        quantity=quantity,
        price=price if price is not None else listing.terms.price * 9 // 10,
        expiry=expiry if expiry is not None else market.chain.latest_timestamp() + 3 * DAY,
        counter=counter
        if counter is not None
        else market.market.functions.offerCounter(buyer.address).call(),
        salt=os.urandom(32),
    )
    data = offer.typed_data(
        chain_id=chain_id if chain_id is not None else market.chain.chain_id,
        marketplace=marketplace or market.address,
    )
    return offer, bytes(buyer.sign_typed_data(full_message=data).signature)


def accept(
    market: Market,
    offer: Offer,
    signature: bytes,
    permit: Permit = NO_PERMIT,
    *,
    seller: LocalAccount | None = None,
    listing: Listing | None = None,
) -> TradeRef:
    """The seller accepts; the trade is rebuilt from ``OfferAccepted`` and checked on-chain."""
    fn = market.market.functions.acceptOffer(offer.as_tuple(), signature, permit.as_tuple())
    receipt = market.send(seller or market.seller, fn)
    (args,) = events_named(market, receipt, "OfferAccepted")
    assert int(args["price"]) == offer.price and int(args["quantity"]) == offer.quantity
    trade = open_trade(
        offer.terms,
        offer.buyer,
        offer.quantity,
        market.timestamp_of(receipt),
        unit_price=offer.price,
    )
    fake_listing = listing or Listing(
        id=offer.listing_id, terms=offer.terms, salt=b"", quantity=offer.quantity
    )
    ref = TradeRef(id=bytes(args["tradeId"]), trade=trade, listing=fake_listing, receipts=[receipt])
    market.assert_current(ref)
    return ref


def erc20_listing(market: Market, token: Contract, quantity: int = 1, **terms: Any) -> Listing:
    return market.list(market.terms(token=token.address, price=PRICE, **terms), quantity)


def balances(market: Market, token: Contract, *who: str) -> list[int]:
    return [int(token.functions.balanceOf(w).call()) for w in who]


# ---------------------------------------------------------------------------------- permits


def test_buy_with_permit_is_one_transaction_without_approve(market: Market) -> None:
    token = permit_token(market)
    mint(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    permit = sign_permit(market, token, market.buyer, PRICE)
    nonce_before = token.functions.nonces(market.buyer.address).call()

    fn = market.market.functions.buyWithPermit(
        listing.id, listing.terms.as_tuple(), 1, permit.as_tuple()
    )
    receipt = market.send(market.buyer, fn)
    (args,) = events_named(market, receipt, "Purchased")
    ref = TradeRef(
        id=bytes(args["tradeId"]),
        trade=open_trade(listing.terms, market.buyer.address, 1, market.timestamp_of(receipt)),
        listing=listing,
    )
    market.assert_current(ref)
    assert balances(market, token, market.buyer.address, market.address) == [0, PRICE]
    assert token.functions.nonces(market.buyer.address).call() == nonce_before + 1
    assert token.functions.allowance(market.buyer.address, market.address).call() == 0
    market.act("release", market.buyer, ref)
    assert balances(market, token, market.seller.address) == [PRICE]


def test_buy_with_permit_survives_a_front_run_permit(market: Market) -> None:
    """A griefer who copies the permit out of the mempool and submits it first only sets the
    allowance the purchase needs: the purchase still goes through."""
    token = permit_token(market)
    mint(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    permit = sign_permit(market, token, market.buyer, PRICE)
    market.send(
        market.stranger,
        token.functions.permit(
            market.buyer.address,
            market.address,
            PRICE,
            permit.deadline,
            permit.v,
            permit.r,
            permit.s,
        ),
    )
    fn = market.market.functions.buyWithPermit(
        listing.id, listing.terms.as_tuple(), 1, permit.as_tuple()
    )
    market.send(market.buyer, fn)
    assert balances(market, token, market.buyer.address, market.address) == [0, PRICE]


def test_buy_with_a_bad_or_expired_permit_and_no_allowance_moves_nothing(market: Market) -> None:
    token = permit_token(market)
    mint(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    forged = sign_permit(market, token, market.stranger, PRICE)  # signed by someone else
    late = sign_permit(
        market, token, market.buyer, PRICE, deadline=market.chain.latest_timestamp() - 1
    )
    for permit in (forged, late):
        fn = market.market.functions.buyWithPermit(
            listing.id, listing.terms.as_tuple(), 1, permit.as_tuple()
        )
        with reverts("ERC20InsufficientAllowance", market.address, 0, PRICE):
            market.send(market.buyer, fn)
    assert balances(market, token, market.buyer.address, market.address) == [PRICE, 0]


def test_buy_with_permit_keeps_an_existing_allowance_path(market: Market) -> None:
    """No permit (deadline 0) is a plain ERC-20 purchase; a permit-less token (TestERC20) works
    with an approve, and its missing ``permit`` is not called."""
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    fn = market.market.functions.buyWithPermit(
        listing.id, listing.terms.as_tuple(), 1, NO_PERMIT.as_tuple()
    )
    market.send(market.buyer, fn)
    assert balances(market, token, market.address) == [PRICE]


def test_buy_signed_with_permit(market: Market) -> None:
    token = permit_token(market)
    mint(market, token, market.buyer, 2 * PRICE)
    listing = market.sign_listing(market.terms(token=token.address, price=PRICE), 2)
    for _ in range(2):  # the first purchase makes the listing known, the second finds it
        permit = sign_permit(market, token, market.buyer, PRICE)
        fn = market.market.functions.buySignedWithPermit(
            listing.terms.as_tuple(),
            listing.quantity,
            listing.salt,
            listing.signature,
            1,
            permit.as_tuple(),
        )
        market.send(market.buyer, fn)
    assert balances(market, token, market.buyer.address, market.address) == [0, 2 * PRICE]


def test_a_permit_on_an_eth_listing_is_ignored_and_eth_is_still_required(market: Market) -> None:
    listing = market.list()
    permit = Permit(ONE, market.chain.latest_timestamp() + DAY, 27, b"\1" * 32, b"\2" * 32)
    fn = market.market.functions.buyWithPermit(
        listing.id, listing.terms.as_tuple(), 1, permit.as_tuple()
    )
    with reverts("WrongPayment", ONE, 0):
        market.send(market.buyer, fn)


# ---------------------------------------------------------------------------------- offers


def test_erc20_offer_with_permit_accepted_then_released_and_rated(market: Market) -> None:
    token = permit_token(market)
    mint(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token, deposit=5 * USD)
    offer, signature = make_offer(market, listing)
    assert offer.price == 90 * USD
    permit = sign_permit(market, token, market.buyer, offer.total)
    digest = offer.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    assert market.market.functions.offerDigest(offer.as_tuple()).call() == digest

    ref = accept(market, offer, signature, permit)
    assert ref.id == digest
    assert ref.trade.amount == 90 * USD and ref.trade.deposit == 5 * USD
    assert balances(market, token, market.buyer.address, market.address) == [5 * USD, 95 * USD]
    assert market.market.functions.listingState(listing.id).call()[0] is False  # sold out

    market.act("release", market.buyer, ref)
    market.act("returnDeposit", market.seller, ref)
    assert ref.trade.state == TradeState.COMPLETED
    assert balances(market, token, market.seller.address, market.buyer.address) == [
        90 * USD,
        10 * USD,
    ]
    market.rate(market.buyer, ref, 5)
    market.rate(market.seller, ref, 5)


def test_eth_offer_is_backed_by_credit(market: Market) -> None:
    listing = market.list()
    offer, signature = make_offer(market, listing)  # 0.9 ETH
    with reverts(
        "OfferUnfunded",
        offer.digest(chain_id=market.chain.chain_id, marketplace=market.address),
        market.buyer.address,
        offer.total,
        0,
    ):
        accept(market, offer, signature)

    market.send(market.buyer, market.market.functions.addCredit(market.buyer.address), value=ONE)
    assert market.credit(ETH, market.buyer.address) == ONE
    held_before = escrow_balance(market)
    ref = accept(market, offer, signature)
    assert market.credit(ETH, market.buyer.address) == ONE - offer.total
    assert escrow_balance(market) == held_before  # the credit became the trade's escrow
    seller_before = market.balance(market.seller.address)
    market.act("release", market.buyer, ref)
    assert market.balance(market.seller.address) == seller_before + offer.price


def test_eth_offer_fails_once_the_credit_is_withdrawn(market: Market) -> None:
    listing = market.list()
    offer, signature = make_offer(market, listing)
    market.send(market.buyer, market.market.functions.addCredit(market.buyer.address), value=ONE)
    market.send(market.buyer, market.market.functions.withdraw(ETH, market.buyer.address))
    offer_id = offer.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("OfferUnfunded", offer_id, market.buyer.address, offer.total, 0):
        accept(market, offer, signature)
    assert market.market.functions.listingState(listing.id).call()[0] is True


def test_add_credit_refuses_nothing_and_the_zero_account(market: Market) -> None:
    with reverts("WrongPayment", 1, 0):
        market.send(market.buyer, market.market.functions.addCredit(market.buyer.address))
    with reverts("InvalidRecipient", ETH):
        market.send(market.buyer, market.market.functions.addCredit(ETH), value=1)


def test_offer_cannot_be_accepted_twice(market: Market) -> None:
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, 10 * PRICE)
    listing = erc20_listing(market, token, quantity=5)
    offer, signature = make_offer(market, listing)
    ref = accept(market, offer, signature, listing=listing)
    with reverts("OfferUsed", ref.id):
        accept(market, offer, signature)
    assert market.market.functions.listingState(listing.id).call()[3] == 4


def test_offer_replay_on_another_listing_chain_or_contract_is_refused(market: Market) -> None:
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, 10 * PRICE)
    terms = market.terms(token=token.address, price=PRICE)
    first = market.list(terms)
    second = market.list(terms)  # same terms, another salt: another listing
    offer, signature = make_offer(market, first)
    moved = replace(offer, listing_id=second.id)
    with reverts(
        "InvalidSignature",
        moved.digest(chain_id=market.chain.chain_id, marketplace=market.address),
        market.buyer.address,
    ):
        accept(market, moved, signature)

    other_chain, sig_other_chain = make_offer(market, first, chain_id=market.chain.chain_id + 1)
    digest = other_chain.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("InvalidSignature", digest, market.buyer.address):
        accept(market, other_chain, sig_other_chain)

    twin = Market(market.chain)  # a second marketplace on the same chain
    other_contract, sig_other_contract = make_offer(market, first, marketplace=twin.address)
    digest = other_contract.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("InvalidSignature", digest, market.buyer.address):
        accept(market, other_contract, sig_other_contract)
    assert balances(market, token, market.address) == [0]


def test_cancelled_offers_fail_with_their_own_error(market: Market) -> None:
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, 10 * PRICE)
    listing = erc20_listing(market, token, quantity=5)
    one, sig_one = make_offer(market, listing)
    offer_id = one.digest(chain_id=market.chain.chain_id, marketplace=market.address)

    with reverts("Unauthorized", offer_id, market.stranger.address):
        market.send(market.stranger, market.market.functions.cancelOffer(one.as_tuple()))
    receipt = market.send(market.buyer, market.market.functions.cancelOffer(one.as_tuple()))
    (args,) = events_named(market, receipt, "OfferCancelled")
    assert bytes(args["offerId"]) == offer_id
    with reverts("OfferRevoked", offer_id):
        accept(market, one, sig_one)
    with reverts("OfferRevoked", offer_id):
        market.send(market.buyer, market.market.functions.cancelOffer(one.as_tuple()))

    old, sig_old = make_offer(market, listing)
    market.send(market.buyer, market.market.functions.cancelAllOffers())
    assert market.market.functions.offerCounter(market.buyer.address).call() == 1
    old_id = old.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("OfferRevoked", old_id):
        accept(market, old, sig_old)
    fresh, sig_fresh = make_offer(market, listing)  # carries counter 1
    assert fresh.counter == 1
    accept(market, fresh, sig_fresh)
    with reverts(
        "OfferUsed", fresh.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    ):
        market.send(market.buyer, market.market.functions.cancelOffer(fresh.as_tuple()))
    assert balances(market, token, market.address) == [90 * USD]


def test_bulk_cancel_racing_an_accept(market: Market) -> None:
    """Whichever lands first wins, and nothing is half done: cancel first, and the accept
    reverts with no money moved; accept first, and the cancel leaves the open trade alone."""
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, 10 * PRICE)
    listing = erc20_listing(market, token, quantity=2)
    a, sig_a = make_offer(market, listing)
    b, sig_b = make_offer(market, listing)

    market.send(market.buyer, market.market.functions.cancelAllOffers())
    with reverts(
        "OfferRevoked", a.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    ):
        accept(market, a, sig_a)
    assert balances(market, token, market.address) == [0]

    c, sig_c = make_offer(market, listing)
    ref = accept(market, c, sig_c, listing=listing)
    market.send(market.buyer, market.market.functions.cancelAllOffers())
    market.assert_current(ref)  # the trade stands
    with reverts(
        "OfferRevoked", b.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    ):
        accept(market, b, sig_b)
    market.act("release", market.buyer, ref)
    assert balances(market, token, market.seller.address) == [90 * USD]


def test_buyer_who_spends_the_tokens_before_acceptance(market: Market) -> None:
    token = permit_token(market)
    mint(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    offer, signature = make_offer(market, listing)
    permit = sign_permit(market, token, market.buyer, offer.total)
    market.send(market.buyer, token.functions.transfer(market.stranger.address, PRICE))
    offer_id = offer.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("OfferUnfunded", offer_id, market.buyer.address, offer.total, 0):
        accept(market, offer, signature, permit)
    assert market.market.functions.listingState(listing.id).call()[0] is True


def test_offer_without_allowance_or_permit(market: Market) -> None:
    token = permit_token(market)
    mint(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    offer, signature = make_offer(market, listing)
    offer_id = offer.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("OfferNotApproved", offer_id, market.buyer.address, offer.total, 0):
        accept(market, offer, signature)
    # A permit signed for less than the offer needs is no better.
    short = sign_permit(market, token, market.buyer, offer.total - 1)
    with reverts("OfferNotApproved", offer_id, market.buyer.address, offer.total, offer.total - 1):
        accept(market, offer, signature, short)


def test_offer_permit_front_run_still_accepts(market: Market) -> None:
    token = permit_token(market)
    mint(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    offer, signature = make_offer(market, listing)
    permit = sign_permit(market, token, market.buyer, offer.total)
    market.send(
        market.stranger,
        token.functions.permit(
            market.buyer.address,
            market.address,
            offer.total,
            permit.deadline,
            permit.v,
            permit.r,
            permit.s,
        ),
    )
    accept(market, offer, signature, permit)
    assert balances(market, token, market.address) == [offer.total]


def test_stale_offers(market: Market) -> None:
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, 10 * PRICE)
    listing = erc20_listing(market, token, quantity=3)
    late, sig_late = make_offer(market, listing, expiry=market.chain.latest_timestamp() + 100)
    market.warp_to(late.expiry)
    with reverts(
        "OfferExpired",
        late.digest(chain_id=market.chain.chain_id, marketplace=market.address),
        late.expiry,
    ):
        accept(market, late, sig_late)

    too_many, sig_many = make_offer(market, listing, quantity=4)
    with reverts("InsufficientQuantity", listing.id, 3, 4):
        accept(market, too_many, sig_many)
    free, sig_free = make_offer(market, listing, price=0)
    with reverts("InvalidPrice", 0, 0):
        accept(market, free, sig_free)

    offer, signature = make_offer(market, listing)
    new_terms = replace(listing.terms, price=PRICE * 2)
    update_listing(market, listing, new_terms, 3)
    with reverts("TermsChanged", listing.id):
        accept(market, offer, signature)


def test_only_the_seller_accepts_and_not_from_themselves(market: Market) -> None:
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, PRICE)
    mint_and_approve(market, token, market.seller, PRICE)
    listing = erc20_listing(market, token)
    offer, signature = make_offer(market, listing)
    with reverts("NotSeller", market.stranger.address, market.seller.address):
        accept(market, offer, signature, seller=market.stranger)
    own, sig_own = make_offer(market, listing, buyer=market.seller)
    with reverts("SelfPurchase", market.seller.address):
        accept(market, own, sig_own)
    closed = market.list(market.terms(token=token.address, price=PRICE))
    on_closed, sig_closed = make_offer(market, closed)
    market.send(market.seller, market.market.functions.closeListing(closed.salt))
    with reverts("ListingNotActive", closed.id):
        accept(market, on_closed, sig_closed)


def test_forged_signature_is_refused(market: Market) -> None:
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, PRICE)
    listing = erc20_listing(market, token)
    offer, _ = make_offer(market, listing)
    _, stranger_sig = make_offer(market, listing, buyer=market.stranger)
    digest = offer.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("InvalidSignature", digest, market.buyer.address):
        accept(market, offer, stranger_sig)
    cheaper = replace(offer, price=offer.price - 1)  # the seller cannot rewrite the price
    _, real_sig = make_offer(market, listing)
    with reverts(
        "InvalidSignature",
        cheaper.digest(chain_id=market.chain.chain_id, marketplace=market.address),
        market.buyer.address,
    ):
        accept(market, cheaper, real_sig)


def test_partial_offer_leaves_the_listing_live(market: Market) -> None:
    token = permit_token(market)
    mint_and_approve(market, token, market.buyer, 10 * PRICE)
    listing = erc20_listing(market, token, quantity=5)
    offer, signature = make_offer(market, listing, quantity=2)
    ref = accept(market, offer, signature, listing=listing)
    assert ref.trade.amount == 2 * 90 * USD
    live, _, sold, remaining = market.market.functions.listingState(listing.id).call()
    assert (live, sold, remaining) == (True, 2, 3)
    bought = market.buy(listing, 3)  # the rest at the asking price
    assert bought.id == listing.id and bought.trade.amount == 3 * PRICE


def test_fee_on_transfer_and_no_return_tokens(market: Market) -> None:
    fee_token = deploy_test_contract(market, "FeeOnTransferToken")
    mint_and_approve(market, fee_token, market.buyer, PRICE)
    listing = erc20_listing(market, fee_token)
    offer, signature = make_offer(market, listing)
    with reverts(
        "UnsupportedToken", fee_token.address, offer.total, offer.total - offer.total // 100
    ):
        accept(market, offer, signature)

    plain = deploy_test_contract(market, "NoReturnToken")
    mint_and_approve(market, plain, market.buyer, PRICE)
    listing = erc20_listing(market, plain)
    offer, signature = make_offer(market, listing)
    ref = accept(market, offer, signature)
    market.act("release", market.buyer, ref)
    assert balances(market, plain, market.seller.address) == [offer.price]


def test_contract_wallet_buyer_offers_through_erc1271(market: Market) -> None:
    token = permit_token(market)
    wallet = deploy_test_contract(market, "ContractAccount", deployer=market.buyer)
    market.send(market.deployer, token.functions.mint(wallet.address, PRICE))
    approve = token.encode_abi("approve", args=[market.address, PRICE])
    market.send(market.buyer, wallet.functions.execute(token.address, 0, approve))
    listing = erc20_listing(market, token)
    offer = Offer(
        terms=listing.terms,
        listing_id=listing.id,
        buyer=wallet.address,
        quantity=1,
        price=80 * USD,
        expiry=market.chain.latest_timestamp() + DAY,
        counter=0,
        salt=os.urandom(32),
    )
    digest = offer.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("InvalidSignature", digest, wallet.address):
        accept(market, offer, b"\0" * 65)
    market.send(market.buyer, wallet.functions.approveHash(digest, True))
    ref = accept(market, offer, b"")
    assert ref.trade.buyer == wallet.address and ref.trade.amount == 80 * USD


def test_abi_declares_the_offer_errors() -> None:
    abi = load_artifact("Marketplace").abi
    names = {item["name"] for item in abi if item["type"] == "error"}
    assert {
        "OfferExpired",
        "OfferRevoked",
        "OfferUsed",
        "OfferUnfunded",
        "OfferNotApproved",
    } <= names


# ---------------------------------------------------------------------------------- bookings


def test_book_with_permit_is_one_transaction(market: Market) -> None:
    from .bookings import Rentals

    r = Rentals(market)
    token = permit_token(market)
    rental = r.list(r.terms(token=token.address, rate=10 * USD, deposit=50 * USD))
    due = 2 * 10 * USD + 50 * USD
    mint(market, token, r.renter, due)
    permit = sign_permit(market, token, r.renter, due, spender=r.contract.address)
    fn = r.contract.functions.bookWithPermit(
        rental.id, rental.terms.as_tuple(), 3, 2, permit.as_tuple()
    )
    receipt = market.send(r.renter, fn)
    assert [e for e, _ in r.events(receipt)] == ["Booked"]
    assert balances(market, token, r.renter.address, r.contract.address) == [0, due]
    # The same permit again (already used): ignored, and with no allowance left the booking
    # fails with the token's own error, nothing taken.
    mint(market, token, r.renter, due)
    fn = r.contract.functions.bookWithPermit(
        rental.id, rental.terms.as_tuple(), 6, 2, permit.as_tuple()
    )
    with reverts("ERC20InsufficientAllowance", r.contract.address, 0, due):
        market.send(r.renter, fn)
    assert balances(market, token, r.renter.address) == [due]


def test_bulk_cancel_and_accept_in_one_block(anvil_chain: Any) -> None:
    """The buyer's cancelAllOffers and the seller's acceptOffer land in the same block, in both
    orders: the first one wins, the second fails or finds nothing to undo, and no token moves
    unless a trade exists that holds it."""
    m = Market(anvil_chain)
    token = permit_token(m)
    mint_and_approve(m, token, m.buyer, 10 * PRICE)
    w3 = m.w3
    for cancel_first in (True, False):
        listing = erc20_listing(m, token)
        offer, signature = make_offer(m, listing)
        accept_fn = m.market.functions.acceptOffer(
            offer.as_tuple(), signature, NO_PERMIT.as_tuple()
        )
        cancel_fn = m.market.functions.cancelAllOffers()
        # A higher tip goes first in the block.
        order = [(m.buyer, cancel_fn), (m.seller, accept_fn)]
        if not cancel_first:
            order.reverse()
        held_before = balances(m, token, m.address)[0]
        anvil_chain.rpc("evm_setAutomine", [False])
        try:
            hashes = []
            for rank, (who, fn) in enumerate(order):
                tx = fn.build_transaction(
                    {
                        "from": who.address,
                        "gas": 400_000,
                        "nonce": w3.eth.get_transaction_count(who.address),
                        "maxPriorityFeePerGas": 10**9 * (10 - rank),
                        "maxFeePerGas": 10**11,
                    }
                )
                hashes.append(w3.eth.send_raw_transaction(who.sign_transaction(tx).raw_transaction))
            anvil_chain.rpc("evm_mine", [])
        finally:
            anvil_chain.rpc("evm_setAutomine", [True])
        receipts = [w3.eth.get_transaction_receipt(h) for h in hashes]
        assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
        assert receipts[0]["transactionIndex"] < receipts[1]["transactionIndex"]
        offer_id = offer.digest(chain_id=m.chain.chain_id, marketplace=m.address)
        stored = m.market.functions.record(offer_id).call()
        if cancel_first:
            assert [r["status"] for r in receipts] == [1, 0]  # the accept reverted
            assert stored == 0 and balances(m, token, m.address)[0] == held_before
            assert m.market.functions.listingState(listing.id).call()[0] is True
        else:
            assert [r["status"] for r in receipts] == [1, 1]  # the cancel came too late
            assert stored > 1 and balances(m, token, m.address)[0] == held_before + offer.total
