"""Payments through Uniswap's Permit2 (the ``Permit`` struct with ``v`` 0): ``buyWithPermit``,
``buySignedWithPermit``, ``acceptOffer`` and ``bookWithPermit`` with a token that has no EIP-2612
``permit`` of its own, which the buyer approved to Permit2 once.

Permit2 is the canonical runtime code from the npm package ``@uniswap/v4-periphery``, which the
dev chains carry at Permit2's canonical address. Adversaries: a permit front-run by a griefer, a
forged, expired or too small permit, a nonce the buyer invalidated, a buyer who revoked Permit2's
token approval before an offer was accepted, and a fee-on-transfer token.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from p2pchain.chain._model import TradeState, open_trade
from p2pchain.chain._offer_model import Permit
from p2pchain.chain._permit2 import (
    MAX_EXPIRATION,
    PERMIT2_ABI,
    PERMIT2_ADDRESS,
    canonical_domain_separator,
    has_permit2,
    package_runtime,
    permit2_permit,
    permit2_runtime,
    permit2_source,
    permit_single_typed_data,
    unpack_permit2,
)
from p2pchain.chain._permit2 import sign_permit2 as signed_by

from ._helpers import Market, deploy_test_contract, events_named, market_fixture, reverts
from .market import DAY, Listing, TradeRef
from .test_offers import PRICE, USD, accept, balances, make_offer

__all__ = ["market_fixture"]

ROOT = Path(__file__).resolve().parents[2]


def permit2(market: Market) -> Contract:
    market.learn_errors(PERMIT2_ABI)
    return market.w3.eth.contract(address=PERMIT2_ADDRESS, abi=PERMIT2_ABI)


def plain_token(market: Market, holder: LocalAccount, amount: int) -> Contract:
    """A token without EIP-2612 (TestERC20), minted to ``holder``, who approves it to Permit2
    (without limit, as wallets do) and not to the marketplace."""
    token = deploy_test_contract(market, "TestERC20", "Plain Dollar", "PUSD")
    market.send(market.deployer, token.functions.mint(holder.address, amount))
    market.send(holder, token.functions.approve(PERMIT2_ADDRESS, 2**256 - 1))
    return token


def sign_permit2(
    market: Market,
    token: Contract,
    owner: LocalAccount,
    amount: int,
    *,
    spender: str | None = None,
    deadline: int | None = None,
    nonce: int | None = None,
) -> Permit:
    spender = spender or market.address
    deadline = deadline if deadline is not None else market.chain.latest_timestamp() + DAY
    if nonce is None:
        nonce = permit2(market).functions.allowance(owner.address, token.address, spender).call()[2]
    return signed_by(
        owner,
        chain_id=market.chain.chain_id,
        token=token.address,
        amount=amount,
        nonce=nonce,
        spender=spender,
        deadline=deadline,
    )


def buy_with(market: Market, listing: Listing, permit: Permit) -> TradeRef:
    fn = market.market.functions.buyWithPermit(
        listing.id, listing.terms.as_tuple(), 1, permit.as_tuple()
    )
    receipt = market.send(market.buyer, fn)
    (args,) = events_named(market, receipt, "Purchased")
    trade = open_trade(listing.terms, market.buyer.address, 1, market.timestamp_of(receipt))
    ref = TradeRef(id=bytes(args["tradeId"]), trade=trade, listing=listing, receipts=[receipt])
    market.assert_current(ref)
    return ref


def listing_for(market: Market, token: Contract, **terms: int) -> Listing:
    return market.list(market.terms(token=token.address, price=PRICE, **terms))


# ---------------------------------------------------------------------------------- the code


def test_the_shipped_code_is_the_registry_packages_and_the_dev_chains_carry_it(
    market: Market,
) -> None:
    source = permit2_source()
    package = ROOT / "node_modules" / source["package"]
    assert json.loads((package / "package.json").read_text())["version"] == source["version"]
    text = (package / source["file"]).read_text()
    etched = bytes.fromhex(re.search(r'hex"([0-9a-f]+)"', text).group(1))  # type: ignore[union-attr]
    assert f"PERMIT2_ADDRESS = {PERMIT2_ADDRESS}" in text
    assert package_runtime() == etched
    # What the chains run differs from the package's bytes only in the two cached immutables:
    # chain id 1 and the domain separator of the canonical address there.
    runtime = permit2_runtime()
    assert len(runtime) == len(etched)
    changed = [i for i, (a, b) in enumerate(zip(runtime, etched, strict=True)) if a != b]
    assert changed and 6945 <= min(changed) and max(changed) < 6983 + 32
    assert runtime[6945:6977] == (1).to_bytes(32, "big")
    assert runtime[6983:7015] == canonical_domain_separator(1)
    assert has_permit2(market.w3)
    # Permit2 builds its domain from this chain's id and its own (canonical) address.
    separator = permit2(market).functions.DOMAIN_SEPARATOR().call()
    assert bytes(separator) == canonical_domain_separator(market.chain.chain_id)


@pytest.mark.anvil
def test_permit2_domain_on_anvil_and_ganache(anvil_chain: Any, ganache_chain: Any) -> None:
    """Chain 31337 is the one the package's test deployment cached: Permit2 there must still
    use the canonical address's domain (the immutables are set to the canonical deployment's)."""
    for chain in (anvil_chain, ganache_chain):
        contract = chain.w3.eth.contract(address=PERMIT2_ADDRESS, abi=PERMIT2_ABI)
        assert has_permit2(chain.w3)
        assert bytes(contract.functions.DOMAIN_SEPARATOR().call()) == canonical_domain_separator(
            chain.chain_id
        )


def test_permit_packing_round_trips() -> None:
    permit = permit2_permit(123, 7, MAX_EXPIRATION, b"\x11" * 32 + b"\x22" * 32 + b"\x1c")
    assert unpack_permit2(permit) == (123, 7)
    assert permit.v == 0 and permit.s[0] & 0x80  # y-parity 1 in the top bit (EIP-2098)
    with pytest.raises(ValueError, match="65 bytes"):
        permit2_permit(1, 0, 1, b"\0" * 64)
    with pytest.raises(ValueError, match="amount"):
        permit_single_typed_data(
            chain_id=1, token=PERMIT2_ADDRESS, amount=2**160, expiration=1, nonce=0,
            spender=PERMIT2_ADDRESS, sig_deadline=1,
        )  # fmt: skip


# ---------------------------------------------------------------------------------- purchases


def test_buy_with_a_permit2_permit_is_one_transaction(market: Market) -> None:
    token = plain_token(market, market.buyer, PRICE)
    listing = listing_for(market, token)
    permit = sign_permit2(market, token, market.buyer, PRICE)
    ref = buy_with(market, listing, permit)
    assert balances(market, token, market.buyer.address, market.address) == [0, PRICE]
    amount, _, nonce = (
        permit2(market)
        .functions.allowance(market.buyer.address, token.address, market.address)
        .call()
    )
    assert (amount, nonce) == (0, 1)  # spent exactly, and the nonce moved on
    assert token.functions.allowance(market.buyer.address, market.address).call() == 0
    market.act("release", market.buyer, ref)
    assert balances(market, token, market.seller.address) == [PRICE]


def test_buy_signed_with_a_permit2_permit(market: Market) -> None:
    token = plain_token(market, market.buyer, 2 * PRICE)
    listing = market.sign_listing(market.terms(token=token.address, price=PRICE), 2)
    for _ in range(2):
        permit = sign_permit2(market, token, market.buyer, PRICE)
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


def test_a_front_run_permit2_permit_does_not_stop_the_purchase(market: Market) -> None:
    """A griefer submits the buyer's Permit2 permit first: the marketplace's own submission
    then fails (the nonce is used) and is ignored, and the allowance it needed is in place."""
    token = plain_token(market, market.buyer, PRICE)
    listing = listing_for(market, token)
    permit = sign_permit2(market, token, market.buyer, PRICE)
    single = ((token.address, PRICE, permit.deadline, 0), market.address, permit.deadline)
    market.send(
        market.stranger,
        permit2(market).functions.permit(market.buyer.address, single, permit.r + permit.s),
    )
    buy_with(market, listing, permit)
    assert balances(market, token, market.buyer.address, market.address) == [0, PRICE]


def test_forged_expired_or_small_permit2_permits_move_nothing(market: Market) -> None:
    token = plain_token(market, market.buyer, PRICE)
    listing = listing_for(market, token)
    now = market.chain.latest_timestamp()
    forged = sign_permit2(market, token, market.stranger, PRICE, nonce=0)  # not the buyer's
    forged = Permit(forged.value, forged.deadline, 0, forged.r, forged.s)
    late = sign_permit2(market, token, market.buyer, PRICE, deadline=now - 1)
    for permit in (forged, late):
        with reverts("AllowanceExpired", 0):
            buy_with(market, listing, permit)
    small = sign_permit2(market, token, market.buyer, PRICE - 1)
    with reverts("InsufficientAllowance", PRICE - 1):
        buy_with(market, listing, small)
    assert balances(market, token, market.buyer.address, market.address) == [PRICE, 0]


def test_a_buyer_without_a_token_approval_for_permit2_is_refused(market: Market) -> None:
    token = plain_token(market, market.buyer, PRICE)
    market.send(market.buyer, token.functions.approve(PERMIT2_ADDRESS, 0))
    listing = listing_for(market, token)
    permit = sign_permit2(market, token, market.buyer, PRICE)
    # Permit2's own pull from the token fails (solmate's SafeTransferLib reason string).
    with pytest.raises(Exception, match="TRANSFER_FROM_FAILED"):
        buy_with(market, listing, permit)
    assert balances(market, token, market.buyer.address, market.address) == [PRICE, 0]


def test_fee_on_transfer_token_through_permit2_is_refused(market: Market) -> None:
    token = deploy_test_contract(market, "FeeOnTransferToken")
    market.send(market.deployer, token.functions.mint(market.buyer.address, PRICE))
    market.send(market.buyer, token.functions.approve(PERMIT2_ADDRESS, PRICE))
    listing = listing_for(market, token)
    permit = sign_permit2(market, token, market.buyer, PRICE)
    with reverts("UnsupportedToken", token.address, PRICE, PRICE - PRICE // 100):
        buy_with(market, listing, permit)


# ---------------------------------------------------------------------------------- offers


def test_offer_with_a_permit2_permit_is_accepted_and_settles(market: Market) -> None:
    token = plain_token(market, market.buyer, PRICE)
    listing = listing_for(market, token, deposit=5 * USD)
    offer, signature = make_offer(market, listing)
    permit = sign_permit2(market, token, market.buyer, offer.total, deadline=offer.expiry)
    ref = accept(market, offer, signature, permit)
    assert balances(market, token, market.buyer.address, market.address) == [5 * USD, 95 * USD]
    market.act("release", market.buyer, ref)
    market.act("returnDeposit", market.seller, ref)
    assert ref.trade.state == TradeState.COMPLETED
    assert balances(market, token, market.seller.address) == [90 * USD]


def test_permit2_offer_whose_approval_is_revoked_fails_with_its_own_error(market: Market) -> None:
    token = plain_token(market, market.buyer, PRICE)
    listing = listing_for(market, token)
    offer, signature = make_offer(market, listing)
    permit = sign_permit2(market, token, market.buyer, offer.total, deadline=offer.expiry)
    market.send(market.buyer, token.functions.approve(PERMIT2_ADDRESS, 0))
    offer_id = offer.digest(chain_id=market.chain.chain_id, marketplace=market.address)
    with reverts("OfferNotApproved", offer_id, market.buyer.address, offer.total, 0):
        accept(market, offer, signature, permit)
    assert market.market.functions.listingState(listing.id).call()[0] is True


def test_permit2_offer_whose_nonce_is_invalidated_fails_cleanly(market: Market) -> None:
    """The buyer withdraws the permit in Permit2 itself (``invalidateNonces``): the offer then
    fails with Permit2's error and nothing moves."""
    token = plain_token(market, market.buyer, PRICE)
    listing = listing_for(market, token)
    offer, signature = make_offer(market, listing)
    permit = sign_permit2(market, token, market.buyer, offer.total, deadline=offer.expiry)
    market.send(
        market.buyer,
        permit2(market).functions.invalidateNonces(token.address, market.address, 1),
    )
    with reverts("AllowanceExpired", 0):
        accept(market, offer, signature, permit)
    assert balances(market, token, market.buyer.address, market.address) == [PRICE, 0]


def test_book_with_a_permit2_permit(market: Market) -> None:
    from .bookings import Rentals

    r = Rentals(market)
    due = 2 * 10 * USD + 50 * USD
    token = plain_token(market, r.renter, due)
    rental = r.list(r.terms(token=token.address, rate=10 * USD, deposit=50 * USD))
    permit = sign_permit2(market, token, r.renter, due, spender=r.contract.address)
    fn = r.contract.functions.bookWithPermit(
        rental.id, rental.terms.as_tuple(), 3, 2, permit.as_tuple()
    )
    receipt = market.send(r.renter, fn)
    assert [e for e, _ in r.events(receipt)] == ["Booked"]
    assert balances(market, token, r.renter.address, r.contract.address) == [0, due]
