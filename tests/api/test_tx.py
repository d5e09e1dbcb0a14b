"""Writes through the API: unsigned transactions and typed data signed as a wallet would, then
submitted raw; every outcome checked on-chain. Refusals name the contract's error."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.conftest import ApiWorld
from p2pchain.chain._contract_errors import TermsChanged
from p2pchain.chain._model import TradeState


def _send(api: TestClient, world: ApiWorld, account: Any, prepared: dict[str, Any]) -> str:
    tx_hash = ""
    for tx in prepared["transactions"]:
        raw = world.sign(account, tx)
        answer = api.post("/api/tx/submit", json={"raw": raw})
        assert answer.status_code == 200, answer.text
        tx_hash = answer.json()["tx_hash"]
        world.market.seller.w3.eth.wait_for_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    return tx_hash


def shown_terms(api: TestClient, listing_id: str) -> dict[str, Any]:
    """The terms the listing's page shows, as a buyer's page sends them back."""
    answer = api.get(f"/api/listings/{listing_id}")
    assert answer.status_code == 200, answer.text
    terms: dict[str, Any] = answer.json()["terms"]
    return terms


def buy_body(api: TestClient, buyer: str, listing_id: str) -> dict[str, Any]:
    """A purchase of what the listing's page shows now."""
    return {"buyer": buyer, "listing_id": listing_id, "terms": shown_terms(api, listing_id)}


def test_buy_then_release_changes_the_trade_on_chain(bare: ApiWorld, bare_api: TestClient) -> None:
    buyer = bare.market.buyer_account
    listing_id = "0x" + bare.bike.listing.id.hex()  # type: ignore[union-attr]
    answer = bare_api.post("/api/tx/buy", json=buy_body(bare_api, buyer.address, listing_id))
    assert answer.status_code == 200, answer.text
    prepared = answer.json()
    assert prepared["action"] == "buy"
    (tx,) = prepared["transactions"]
    assert tx["from"] == buyer.address
    assert tx["to"] == bare.market.seller.deployment.marketplace
    assert int(tx["value"], 16) == 10**18
    assert int(tx["chainId"], 16) == 31337
    tx_hash = _send(bare_api, bare, buyer, prepared)

    status = bare_api.get(f"/api/tx/{tx_hash}").json()
    assert status["status"] == "success" and status["block_number"] > 0
    trade = bare.market.seller.trade(listing_id)  # one unit: trade id = listing id
    assert trade.state == TradeState.PAID and trade.buyer == buyer.address

    answer = bare_api.post(
        "/api/tx/release", json={"sender": buyer.address, "trade_id": listing_id}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "release"
    _send(bare_api, bare, buyer, answer.json())
    assert bare.market.seller.trade(listing_id).state == TradeState.COMPLETED


def test_release_by_the_seller_is_refused_with_the_contract_error(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    trade = bare.market.buyer.buy(bare.bike.listing)  # type: ignore[arg-type]
    answer = bare_api.post(
        "/api/tx/release",
        json={"sender": bare.market.seller_account.address, "trade_id": "0x" + trade.id.hex()},
    )
    assert answer.status_code == 409
    assert "Unauthorized" in answer.json()["detail"]


def test_dispute_prepared_for_the_buyer_disputes_on_chain(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    buyer = bare.market.buyer_account
    trade = bare.market.buyer.buy(bare.bike.listing)  # type: ignore[arg-type]
    body = {"sender": buyer.address, "trade_id": "0x" + trade.id.hex()}
    answer = bare_api.post("/api/tx/dispute", json=body)
    assert answer.status_code == 200, answer.text
    _send(bare_api, bare, buyer, answer.json())
    assert bare.market.seller.trade(trade.id).state == TradeState.DISPUTED


def test_buying_your_own_listing_is_refused(bare: ApiWorld, bare_api: TestClient) -> None:
    listing_id = "0x" + bare.bike.listing.id.hex()  # type: ignore[union-attr]
    body = buy_body(bare_api, bare.market.seller_account.address, listing_id)
    answer = bare_api.post("/api/tx/buy", json=body)
    assert answer.status_code == 409
    assert "SelfPurchase" in answer.json()["detail"]


def test_unknown_trade_and_listing_are_404(bare: ApiWorld, bare_api: TestClient) -> None:
    who = bare.market.buyer_account.address
    missing = "0x" + "ab" * 32
    answer = bare_api.post("/api/tx/release", json={"sender": who, "trade_id": missing})
    assert answer.status_code == 404 and missing in answer.json()["detail"]
    terms = shown_terms(bare_api, "0x" + bare.bike.listing.id.hex())  # type: ignore[union-attr]
    answer = bare_api.post(
        "/api/tx/buy", json={"buyer": who, "listing_id": missing, "terms": terms}
    )
    assert answer.status_code == 404
    assert bare_api.get(f"/api/tx/0x{'cd' * 32}").status_code == 404


def test_signed_listing_typed_data_signature_and_purchase(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    seller = bare.market.seller_account
    body = {"seller": seller.address, "price": "5000", "cid": bare.lamp.document_cid}
    answer = bare_api.post("/api/tx/listing-typed-data", json=body)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    typed = out["typed_data"]
    assert typed["primaryType"] == "Listing"
    assert typed["domain"]["verifyingContract"] == bare.market.seller.deployment.marketplace
    assert typed["message"]["terms"]["price"] == "5000"
    signature = Account.sign_typed_data(seller.key, full_message=typed).signature
    answer = bare_api.post(
        "/api/tx/signed-listing",
        json={"typed_data": typed, "signature": "0x" + bytes(signature).hex()},
    )
    assert answer.status_code == 200, answer.text
    shared = answer.json()
    assert shared["id"] == out["listing_id"]

    buyer = bare.market.buyer_account
    answer = bare_api.post("/api/tx/buy", json={"buyer": buyer.address, "signed_listing": shared})
    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "buySigned"
    _send(bare_api, bare, buyer, answer.json())
    trade = bare.market.seller.trade(out["listing_id"])
    assert trade.state == TradeState.PAID and trade.trade.amount == 5000


@pytest.mark.parametrize("form", ["v0/1", "eip2098", "high-s"])
def test_signed_listing_accepts_every_wallet_form_and_the_purchase_goes_through(
    bare: ApiWorld, bare_api: TestClient, form: str
) -> None:
    """v = 0/1, EIP-2098 and high-s signatures are normalised: the API's 200 means the purchase
    the page then sends is accepted by the contract."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    seller = bare.market.seller_account
    body = {"seller": seller.address, "price": "7000", "cid": bare.lamp.document_cid}
    typed = bare_api.post("/api/tx/listing-typed-data", json=body).json()["typed_data"]
    sig = bytes(Account.sign_typed_data(seller.key, full_message=typed).signature)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    given = {
        "v0/1": r + s.to_bytes(32, "big") + bytes([v - 27]),
        "eip2098": r + (((v - 27) << 255) | s).to_bytes(32, "big"),
        "high-s": r + (n - s).to_bytes(32, "big") + bytes([55 - v]),
    }[form]
    answer = bare_api.post(
        "/api/tx/signed-listing", json={"typed_data": typed, "signature": "0x" + given.hex()}
    )
    assert answer.status_code == 200, answer.text
    shared = answer.json()
    assert shared["signature"] == "0x" + sig.hex()
    buyer = bare.market.buyer_account
    answer = bare_api.post("/api/tx/buy", json={"buyer": buyer.address, "signed_listing": shared})
    assert answer.status_code == 200, answer.text
    _send(bare_api, bare, buyer, answer.json())
    assert bare.market.seller.trade(shared["id"]).state == TradeState.PAID


def test_signature_by_someone_else_is_refused(bare: ApiWorld, bare_api: TestClient) -> None:
    body = {
        "seller": bare.market.seller_account.address,
        "price": "5000",
        "cid": bare.lamp.document_cid,
    }
    typed = bare_api.post("/api/tx/listing-typed-data", json=body).json()["typed_data"]
    forged = Account.sign_typed_data(bare.market.stranger_account.key, full_message=typed)
    answer = bare_api.post(
        "/api/tx/signed-listing",
        json={"typed_data": typed, "signature": "0x" + bytes(forged.signature).hex()},
    )
    assert answer.status_code == 400
    assert "not by the listing's seller" in answer.json()["detail"]
    answer = bare_api.post(
        "/api/tx/signed-listing", json={"typed_data": {"x": 1}, "signature": "0x" + "11" * 65}
    )
    assert answer.status_code == 400


def test_create_listing_prepared_for_a_wallet_lists_on_chain(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    seller = bare.market.seller_account
    salt = "0x" + "07" * 32
    body = {"seller": seller.address, "price": "123", "cid": bare.lamp.document_cid, "salt": salt}
    answer = bare_api.post("/api/tx/create-listing", json=body)
    assert answer.status_code == 200, answer.text
    _send(bare_api, bare, seller, answer.json())
    listings = bare.market.seller.listings_of(seller.address)
    assert any(item.salt.hex() == "07" * 32 and item.terms.price == 123 for item in listings)


def test_submit_refuses_garbage_and_other_chains(bare: ApiWorld, bare_api: TestClient) -> None:
    answer = bare_api.post("/api/tx/submit", json={"raw": "0x1234"})
    assert answer.status_code == 400 and "not a signed transaction" in answer.json()["detail"]
    other_chain = bare.market.buyer_account.sign_transaction(
        {
            "to": bare.market.seller_account.address,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "nonce": 0,
            "chainId": 1,
        }
    )
    answer = bare_api.post(
        "/api/tx/submit", json={"raw": "0x" + bytes(other_chain.raw_transaction).hex()}
    )
    assert answer.status_code == 400 and "chain id 1" in answer.json()["detail"]
    stale = bare.market.buyer_account.sign_transaction(
        {
            "to": bare.market.seller_account.address,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "nonce": 0,
            "chainId": 31337,
        }
    )
    bare.market.buyer.buy(bare.lamp.listing)  # type: ignore[arg-type]  # nonce 0 is used now
    answer = bare_api.post(
        "/api/tx/submit", json={"raw": "0x" + bytes(stale.raw_transaction).hex()}
    )
    assert answer.status_code == 400 and "refused" in answer.json()["detail"]


def test_erc20_purchase_comes_with_its_approval_first(bare: ApiWorld, bare_api: TestClient) -> None:
    market = bare.market
    token = market.deploy_token("TestERC20", "Test", "TST")
    buyer = market.buyer_account
    market.call_token(market.deployer, token, "mint", buyer.address, 10**6)
    listing = market.seller.create_listing(market.terms(token=token.address, price=1000))
    body = buy_body(bare_api, buyer.address, "0x" + listing.id.hex())
    answer = bare_api.post("/api/tx/buy", json=body)
    assert answer.status_code == 200, answer.text
    approve, purchase = answer.json()["transactions"]
    assert approve["to"] == token.address and purchase["to"] == market.seller.deployment.marketplace
    assert purchase["gas"] is None  # only estimable once the approval is mined
    _send(bare_api, bare, buyer, answer.json())
    trade = market.seller.trade(listing.id)
    assert trade.state == TradeState.PAID and trade.trade.token == token.address
    assert market.seller.balance(buyer.address, token.address) == 10**6 - 1000


# ---------------------------------------------------------------------- terms lock-in (issue 11)


def _shorten_window(world: ApiWorld, listing: Any, seconds: int) -> None:
    """The seller's attack: cut the review window after the buyer opened the page."""
    seller = world.market.seller
    current = seller.listing(listing.id)
    seller.update_listing(current, replace(current.terms, review_window=seconds), current.remaining)


def test_buy_with_the_shown_terms_after_the_seller_cut_the_window_is_refused(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    buyer = bare.market.buyer_account
    listing = bare.bike.listing
    listing_id = "0x" + listing.id.hex()  # type: ignore[union-attr]
    body = buy_body(bare_api, buyer.address, listing_id)  # the page shows a 7-day window
    assert body["terms"]["review_window"] == 7 * 86_400
    _shorten_window(bare, listing, 1)

    answer = bare_api.post("/api/tx/buy", json=body)
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith("TermsChanged")
    # what the page shows after reloading is what a purchase now gets
    assert shown_terms(bare_api, listing_id)["review_window"] == 1


def test_terms_changed_after_the_transaction_was_prepared_revert_on_chain(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    buyer = bare.market.buyer_account
    listing = bare.bike.listing
    listing_id = "0x" + listing.id.hex()  # type: ignore[union-attr]
    answer = bare_api.post("/api/tx/buy", json=buy_body(bare_api, buyer.address, listing_id))
    assert answer.status_code == 200, answer.text
    (tx,) = answer.json()["transactions"]
    _shorten_window(bare, listing, 1)  # lands between the API's answer and the wallet's send

    tx_hash = _send(bare_api, bare, buyer, answer.json())
    assert bare_api.get(f"/api/tx/{tx_hash}").json()["status"] == "reverted"
    call = {"from": tx["from"], "to": tx["to"], "data": tx["data"], "value": int(tx["value"], 16)}
    with pytest.raises(TermsChanged):
        bare.market.buyer.sender.check(call, action="buy")
    assert bare.market.seller.listing(listing.id).sold == 0  # type: ignore[union-attr]


def test_buy_by_id_without_the_shown_terms_is_refused(bare: ApiWorld, bare_api: TestClient) -> None:
    listing_id = "0x" + bare.bike.listing.id.hex()  # type: ignore[union-attr]
    answer = bare_api.post(
        "/api/tx/buy", json={"buyer": bare.market.buyer_account.address, "listing_id": listing_id}
    )
    assert answer.status_code == 422 and answer.json()["detail"].startswith("terms:")
