"""Offers over real HTTP against Anvil: the buyer's typed data signed as a wallet would, the
signed document stored and listed, the seller's acceptance and the buyer's cancellation sent
raw; every outcome checked on-chain. Refusals answer one line."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from eth_account.signers.local import LocalAccount

from api.conftest import ApiWorld
from frontend_api.server import ApiServer
from p2pchain.chain._model import TradeState
from p2pchain.chain._permit2 import PERMIT2_ADDRESS

ONE = 10**18
USD = 10**6


class Http:
    """The API over its socket, never through a proxy."""

    def __init__(self, server: ApiServer) -> None:
        self.url = server.url
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, timeout=60)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.url + path, json=body, timeout=60)


@pytest.fixture
def http(live: ApiServer) -> Http:
    return Http(live)


def _send(http: Http, world: ApiWorld, account: LocalAccount, prepared: dict[str, Any]) -> None:
    for tx in prepared["transactions"]:
        answer = http.post("/api/tx/submit", {"raw": world.sign(account, tx)})
        assert answer.status_code == 200, answer.text
        receipt = world.market.seller.w3.eth.wait_for_transaction_receipt(answer.json()["tx_hash"])
        assert receipt["status"] == 1


def _signature(account: LocalAccount, typed: dict[str, Any]) -> str:
    """What a wallet's ``eth_signTypedData_v4`` answers for the API's typed data."""
    return "0x" + bytes(account.sign_typed_data(full_message=typed).signature).hex()


def make_offer(
    http: Http, world: ApiWorld, buyer: LocalAccount, listing_id: str, price: int, **extra: Any
) -> dict[str, Any]:
    """The page's flow: typed data, funding first, signatures, then the stored offer."""
    answer = http.post(
        "/api/offer-typed-data",
        {"listing_id": listing_id, "buyer": buyer.address, "price": str(price), **extra},
    )
    assert answer.status_code == 200, answer.text
    out = answer.json()
    if out["funding"] is not None:
        _send(http, world, buyer, out["funding"])
    document = dict(out["document"])
    document["signature"] = _signature(buyer, out["offer_typed_data"])
    if out["permit_typed_data"] is not None:
        sig = bytes.fromhex(_signature(buyer, out["permit_typed_data"])[2:])
        v, s = sig[64], sig[32:64]
        if out["permit_kind"] == "permit2":  # v 0, and s the EIP-2098 compact form
            v, s = 0, (int.from_bytes(s, "big") | (sig[64] - 27) << 255).to_bytes(32, "big")
        else:
            assert out["permit_kind"] == "eip2612"
        document["permit"] = {
            "value": out["permit_value"],
            "deadline": out["permit_deadline"],
            "v": v,
            "r": "0x" + sig[:32].hex(),
            "s": "0x" + s.hex(),
        }
    stored = http.post("/api/offers", document)
    assert stored.status_code == 201, stored.text
    body: dict[str, Any] = stored.json()
    assert body["id"] == out["offer_id"]
    return body


def test_eth_offer_is_funded_stored_listed_and_accepted(world: ApiWorld, http: Http) -> None:
    buyer, seller = world.market.buyer_account, world.market.seller_account
    bike = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    typed = http.post(
        "/api/offer-typed-data",
        {"listing_id": bike, "buyer": buyer.address, "price": str(ONE // 2), "quantity": 1},
    ).json()
    assert typed["offer_typed_data"]["primaryType"] == "Offer"
    assert typed["permit_typed_data"] is None  # ETH: credit, not a permit
    assert typed["funding"]["action"] == "addCredit"
    assert int(typed["funding"]["transactions"][0]["value"], 16) == ONE // 2
    assert typed["total"] == str(ONE // 2)

    offer = make_offer(http, world, buyer, bike, ONE // 2)
    assert offer["state"] == {
        "status": "open",
        "funded": True,
        "approved": True,
        "listing_live": True,
    }
    assert offer["buyer"] == buyer.address and offer["seller"] == seller.address
    assert world.market.seller.credit(buyer.address) == ONE // 2

    listed = http.get(f"/api/listings/{bike}/offers").json()["offers"]
    assert [o["id"] for o in listed] == [offer["id"]]
    assert http.get("/api/offers", buyer=buyer.address).json()["offers"][0]["id"] == offer["id"]
    assert http.get("/api/offers", seller=seller.address).json()["offers"][0]["id"] == offer["id"]
    assert http.get("/api/offers", buyer=seller.address).json()["offers"] == []
    assert http.get(f"/api/offers/{offer['id']}").json()["state"]["status"] == "open"

    refused = http.post("/api/tx/accept-offer", {"sender": buyer.address, "offer_id": offer["id"]})
    assert refused.status_code == 400
    assert "only its seller can accept" in refused.json()["detail"]

    accept = http.post("/api/tx/accept-offer", {"sender": seller.address, "offer_id": offer["id"]})
    assert accept.status_code == 200, accept.text
    assert accept.json()["action"] == "acceptOffer"
    _send(http, world, seller, accept.json())
    trade = world.market.seller.trade(offer["id"])
    assert trade.state == TradeState.PAID and trade.trade.amount == ONE // 2
    assert http.get(f"/api/offers/{offer['id']}").json()["state"]["status"] == "accepted"


def test_permit_token_offer_needs_no_approval(world: ApiWorld, http: Http) -> None:
    m = world.market
    token = m.deploy_token("PermitToken", "Test Dollar", "TUSD", 6)
    m.call_token(m.deployer, token, "mint", m.buyer_account.address, 1_000 * USD)
    listing = m.seller.create_listing(m.terms(token=token.address, price=100 * USD), quantity=3)
    world.sync()
    listing_id = "0x" + listing.id.hex()
    offer = make_offer(http, world, m.buyer_account, listing_id, 80 * USD, quantity=2)
    assert offer["document"]["permit"] is not None
    assert offer["state"]["approved"] and offer["state"]["funded"]
    assert offer["total"] == str(160 * USD)
    accept = http.post(
        "/api/tx/accept-offer", {"sender": m.seller_account.address, "offer": offer["document"]}
    )
    assert accept.status_code == 200, accept.text
    assert len(accept.json()["transactions"]) == 1  # no approve: the permit travels
    _send(http, world, m.seller_account, accept.json())
    trade = m.seller.trade(offer["id"])
    assert trade.trade.amount == 160 * USD and trade.trade.buyer == m.buyer_account.address


def test_permit2_offer_for_a_token_without_eip2612(world: ApiWorld, http: Http) -> None:
    """A plain ERC-20 the buyer approved to Permit2 once: the API hands out a Permit2
    PermitSingle to sign, and the seller's acceptance is still one transaction."""
    m = world.market
    token = m.deploy_token("TestERC20", "Plain Dollar", "PUSD")
    m.call_token(m.deployer, token, "mint", m.buyer_account.address, 1_000 * USD)
    m.call_token(m.buyer_account, token, "approve", PERMIT2_ADDRESS, 2**256 - 1)
    listing = m.seller.create_listing(m.terms(token=token.address, price=100 * USD))
    world.sync()
    offer = make_offer(http, world, m.buyer_account, "0x" + listing.id.hex(), 90 * USD)
    assert offer["document"]["permit"]["v"] == 0
    assert offer["state"]["approved"] and offer["state"]["funded"]
    accept = http.post(
        "/api/tx/accept-offer", {"sender": m.seller_account.address, "offer": offer["document"]}
    )
    assert accept.status_code == 200, accept.text
    assert len(accept.json()["transactions"]) == 1
    _send(http, world, m.seller_account, accept.json())
    assert m.seller.trade(offer["id"]).trade.amount == 90 * USD


def test_buyer_cancels_one_offer_then_all(world: ApiWorld, http: Http) -> None:
    buyer, stranger = world.market.buyer_account, world.market.stranger_account
    lamp = "0x" + world.lamp.listing.id.hex()  # type: ignore[union-attr]
    first = make_offer(http, world, buyer, lamp, ONE // 40)
    second = make_offer(http, world, buyer, lamp, ONE // 30)
    listed = http.get(f"/api/listings/{lamp}/offers").json()["offers"]
    assert [o["id"] for o in listed] == [second["id"], first["id"]]  # newest first

    refused = http.post(
        "/api/tx/cancel-offer", {"sender": stranger.address, "offer_id": first["id"]}
    )
    assert refused.status_code == 400 and "only the offer's buyer" in refused.json()["detail"]
    cancel = http.post("/api/tx/cancel-offer", {"sender": buyer.address, "offer_id": first["id"]})
    assert cancel.status_code == 200, cancel.text
    _send(http, world, buyer, cancel.json())
    assert http.get(f"/api/offers/{first['id']}").json()["state"]["status"] == "cancelled"
    assert http.get(f"/api/offers/{second['id']}").json()["state"]["status"] == "open"

    everything = http.post("/api/tx/cancel-all-offers", {"sender": buyer.address})
    assert everything.status_code == 200 and everything.json()["action"] == "cancelAllOffers"
    _send(http, world, buyer, everything.json())
    assert http.get(f"/api/offers/{second['id']}").json()["state"]["status"] == "cancelled"

    credit = http.post("/api/tx/add-credit", {"sender": buyer.address, "amount": "5"})
    assert credit.status_code == 200 and credit.json()["action"] == "addCredit"


def test_refusals_are_one_line(world: ApiWorld, http: Http) -> None:
    buyer, seller = world.market.buyer_account, world.market.seller_account
    stranger = world.market.stranger_account
    bike = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    typed = http.post(
        "/api/offer-typed-data", {"listing_id": bike, "buyer": buyer.address, "price": "100"}
    ).json()
    forged = {**typed["document"], "signature": _signature(stranger, typed["offer_typed_data"])}
    cases: list[tuple[str, Any, int, str]] = [
        ("/api/offers", forged, 400, "is not signed by its buyer"),
        ("/api/offers", {**forged, "chainId": 5, "id": None}, 400, "is for chain 5"),
        ("/api/offers", {**forged, "price": "0"}, 400, "offer: price"),
        ("/api/offers", {"schema": "p2pchain/offer/1"}, 400, "offer: chainId: Field required"),
        (
            "/api/offer-typed-data",
            {"listing_id": bike, "buyer": seller.address, "price": "1"},
            400,
            "buyer: this is the buyer's own listing",
        ),
        (
            "/api/offer-typed-data",
            {"listing_id": bike, "buyer": buyer.address, "price": "1", "quantity": 9},
            400,
            "quantity: only 1 units remain",
        ),
        (
            "/api/offer-typed-data",
            {"listing_id": bike, "buyer": buyer.address, "price": "1", "expiry": 5},
            400,
            "expiry: must be in the future",
        ),
        (
            "/api/offer-typed-data",
            {"listing_id": bike, "buyer": "0x12", "price": "1"},
            422,
            "body.buyer: String should match pattern",
        ),
        (
            "/api/offer-typed-data",
            {"listing_id": "0x" + "33" * 32, "buyer": buyer.address, "price": "1"},
            404,
            "",
        ),
        ("/api/tx/accept-offer", {"sender": seller.address}, 422, "give offer_id or offer"),
        (
            "/api/tx/accept-offer",
            {"sender": seller.address, "offer_id": "0x" + "44" * 32},
            404,
            "no offer 0x4444",
        ),
        ("/api/tx/add-credit", {"sender": buyer.address, "amount": "0"}, 422, "body.amount"),
    ]
    for path, body, status, text in cases:
        answer = http.post(path, body)
        assert answer.status_code == status, (path, body, answer.text)
        detail = answer.json()["detail"]
        assert text in detail and "\n" not in detail, (path, detail)
    assert http.get("/api/offers").status_code == 422
    assert http.get("/api/offers", buyer="0x12").status_code == 422
    assert http.get("/api/offers/0x12").status_code == 422
    assert http.get("/api/offers/0x" + "55" * 32).status_code == 404
