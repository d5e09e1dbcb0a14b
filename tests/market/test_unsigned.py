"""Unsigned transactions for browser wallets, signed elsewhere, do exactly what the client does."""

from __future__ import annotations

from typing import Any

from _market import ONE, Market
from eth_account.signers.local import LocalAccount

from p2pchain import (
    ListingStatus,
    MarketplaceClient,
    TradeState,
    UnsignedTransaction,
    to_json_rpc,
)


def _sign_and_send(
    client: MarketplaceClient, account: LocalAccount, tx: UnsignedTransaction
) -> Any:
    """What a wallet does: add the nonce, sign with eth-account, send raw."""
    w3 = client.w3
    fields = dict(tx)
    assert fields.pop("from") == account.address
    fields["nonce"] = w3.eth.get_transaction_count(account.address, "pending")
    signed = account.sign_transaction(fields)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1
    return receipt


def test_unsigned_transactions_signed_by_eth_account_trade_like_the_client(
    any_market: Market,
) -> None:
    reader = any_market.seller.with_account(None)
    seller, buyer = any_market.seller_account, any_market.buyer_account
    terms = any_market.terms()

    listed = reader.prepare_create_listing(terms, 2, sender=seller.address)
    tx = listed.unsigned()
    assert set(tx) >= {
        "from",
        "to",
        "data",
        "value",
        "chainId",
        "gas",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
    }
    assert "nonce" not in tx
    listing = listed.finish(_sign_and_send(reader, seller, tx))
    assert listing.status == ListingStatus.LIVE and reader.listing(listing.id).remaining == 2

    bought = reader.prepare_buy(listing, sender=buyer.address)
    assert [t["value"] for t in bought.transactions()] == [ONE]
    trade = bought.finish(_sign_and_send(reader, buyer, bought.unsigned()))
    assert trade.state == TradeState.PAID
    assert reader.trade(trade.id).trade == trade.trade

    released = reader.prepare_release(trade, sender=buyer.address)
    trade = released.finish(_sign_and_send(reader, buyer, released.unsigned()))
    assert trade.state == TradeState.COMPLETED
    assert reader.trade(trade.id).trade == trade.trade

    rating = reader.prepare_rate(trade, 5, sender=seller.address)
    assert rating.finish(_sign_and_send(reader, seller, rating.unsigned())).score == 5
    assert reader.reputation_of(buyer.address).count == 1


def test_unsigned_erc20_purchase_lists_approve_then_buy(any_market: Market) -> None:
    token = any_market.deploy_token("TestERC20", "Test", "TST")
    any_market.call_token(any_market.deployer, token, "mint", any_market.buyer.address, 5 * ONE)
    listing = any_market.seller.create_listing(any_market.terms(token=token.address))
    reader = any_market.seller.with_account(None)
    prepared = reader.prepare_buy(listing, sender=any_market.buyer.address)
    approve, buy = prepared.transactions()
    assert approve["to"] == token.address and "gas" in approve
    assert buy["to"] == reader.deployment.marketplace and buy["value"] == 0
    assert "gas" not in buy  # it can only be simulated once the approval is mined
    _sign_and_send(reader, any_market.buyer_account, approve)
    again = reader.prepare_buy(listing, sender=any_market.buyer.address)
    assert again.before == ()
    trade = again.finish(_sign_and_send(reader, any_market.buyer_account, again.unsigned()))
    assert trade.held.total == ONE


def test_json_rpc_form_uses_hex_quantities(market: Market) -> None:
    listing = market.seller.create_listing(market.terms())
    tx = market.buyer.prepare_buy(listing).unsigned()
    rpc = to_json_rpc(tx)
    assert rpc["value"] == hex(ONE) and rpc["data"].startswith("0x") and rpc["to"] == tx["to"]


def test_typed_data_signed_by_a_wallet_makes_a_valid_listing(any_market: Market) -> None:
    reader = any_market.seller.with_account(None)
    typed = reader.listing_typed_data(any_market.terms(), 3)
    assert typed["primaryType"] == "Listing" and typed["domain"]["chainId"] == reader.chain_id
    signature = any_market.seller_account.sign_typed_data(full_message=typed).signature
    signed = reader.signed_listing(typed, signature)
    digest = reader.market.functions.signedListingDigest(
        signed.terms.as_tuple(), 3, signed.salt
    ).call()
    assert signed.id == bytes(digest)
    trade = any_market.buyer.buy(signed, 2)
    assert trade.quantity == 2 and trade.listing_id == signed.id
    assert any_market.buyer.listing(signed).remaining == 1


def test_signature_by_someone_else_is_refused(market: Market) -> None:
    from p2pchain import InputError

    typed = market.stranger.listing_typed_data(market.terms())
    forged = market.buyer_account.sign_typed_data(full_message=typed).signature
    try:
        market.stranger.signed_listing(typed, forged)
    except InputError as exc:
        assert "not by the listing's seller" in str(exc)
    else:
        raise AssertionError("a signature by another account was accepted")


def test_signed_listing_round_trips_through_json(market: Market) -> None:
    from p2pchain import SignedListing

    signed = market.seller.sign_listing(market.terms())
    assert SignedListing.from_json(signed.to_json()) == signed
