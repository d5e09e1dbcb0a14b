"""Every trade action through the API, for each party, checked on-chain and read back: a
dispute's reason, a rating's review, an arbitrator's trades, credits, token symbols."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests
from fastapi.testclient import TestClient

from api.conftest import ApiWorld, make_world
from api.test_tx import _send
from frontend_api.server import ApiServer
from p2pchain.chain._model import TradeState
from p2pchain.chain._nodes import AnvilChain


def _trades(api: TestClient, world: ApiWorld, who: str) -> dict[str, Any]:
    world.sync()
    answer = api.get(f"/api/accounts/{who}/trades")
    assert answer.status_code == 200, answer.text
    out: dict[str, Any] = answer.json()
    return out


def test_dispute_with_a_reason_reaches_the_arbitrator(world: ApiWorld, api: TestClient) -> None:
    market = world.market
    buyer, arbitrator = market.buyer_account, market.arbitrator_account
    trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    trade_id = "0x" + trade.id.hex()
    reason = "The frame is cracked under the seat post; photos sent by mail."
    answer = api.post(
        "/api/tx/dispute", json={"sender": buyer.address, "trade_id": trade_id, "reason": reason}
    )
    assert answer.status_code == 200, answer.text
    _send(api, world, buyer, answer.json())
    assert market.seller.trade(trade_id).state == TradeState.DISPUTED

    (item,) = _trades(api, world, arbitrator.address)["items"]  # the arbitrator sees it
    assert item["role"] == "arbitrator" and item["state"] == "disputed"
    assert item["dispute_reason"] == reason and item["disputed_by"] == buyer.address
    assert item["title"] == "Road bike, 56 cm" and item["held"] == str(10**18)
    assert item["token_info"]["symbol"] == "ETH"
    assert any(
        s["action"] == "rule" and s["actor"] == arbitrator.address for s in item["next_steps"]
    )

    answer = api.post(
        "/api/tx/rule",
        json={"sender": arbitrator.address, "trade_id": trade_id, "buyer_share": str(10**17)},
    )
    assert answer.status_code == 200, answer.text
    _send(api, world, arbitrator, answer.json())
    assert market.seller.trade(trade_id).state == TradeState.RULED


def test_rating_with_a_review_shows_on_the_sellers_ratings(
    world: ApiWorld, api: TestClient
) -> None:
    market = world.market
    buyer, seller = market.buyer_account, market.seller_account
    trade = market.buyer.release(market.buyer.buy(world.lamp.listing))  # type: ignore[arg-type]
    body = {
        "sender": buyer.address,
        "trade_id": "0x" + trade.id.hex(),
        "score": 4,
        "review": "Lamp works again, took a week longer than said.",
    }
    answer = api.post("/api/tx/rate", json=body)
    assert answer.status_code == 200, answer.text
    _send(api, world, buyer, answer.json())
    world.sync()
    (rating,) = api.get(f"/api/accounts/{seller.address}/ratings").json()["items"]
    assert rating["score"] == 4 and rating["rater"] == buyer.address
    assert rating["review"] == body["review"] and rating["rated_at"] > 0
    assert rating["token"]["symbol"] == "ETH"
    again = api.post("/api/tx/rate", json=body)  # rated already: refused before storing
    assert again.status_code == 409


def test_settlement_proposed_by_the_seller_and_accepted_by_the_buyer(
    world: ApiWorld, api: TestClient
) -> None:
    market = world.market
    buyer, seller = market.buyer_account, market.seller_account
    trade_id = "0x" + market.buyer.buy(world.bike.listing).id.hex()  # type: ignore[arg-type]
    answer = api.post(
        "/api/tx/propose-settlement",
        json={"sender": seller.address, "trade_id": trade_id, "buyer_share": str(3 * 10**17)},
    )
    _send(api, world, seller, answer.json())
    (item,) = _trades(api, world, buyer.address)["items"]
    assert item["proposal_by"] == seller.address
    assert item["proposed_buyer_share"] == str(3 * 10**17)
    assert any(s["action"] == "accept_settlement" and s["actor"] == buyer.address
               for s in item["next_steps"])  # fmt: skip
    answer = api.post(
        "/api/tx/accept-settlement", json={"sender": buyer.address, "trade_id": trade_id}
    )
    _send(api, world, buyer, answer.json())
    assert market.seller.trade(trade_id).state == TradeState.SETTLED


def test_credits_list_only_what_can_be_withdrawn(world: ApiWorld, api: TestClient) -> None:
    who = world.market.seller_account.address
    assert api.get(f"/api/accounts/{who}/credits").json() == {"address": who, "items": []}


def test_listing_detail_names_the_token_and_the_chain_clock(
    world: ApiWorld, api: TestClient
) -> None:
    listing_id = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    detail = api.get(f"/api/listings/{listing_id}").json()
    assert detail["token"] == {
        "address": "0x0000000000000000000000000000000000000000",
        "symbol": "ETH",
        "decimals": 18,
        "known": True,
    }
    assert detail["now"] >= world.market.seller.now() - 5


def test_the_event_stream_pushes_a_purchase_within_a_second(
    anvil_chain: AnvilChain, tmp_path: Path
) -> None:
    world = make_world(anvil_chain, tmp_path, follow=True)
    with ApiServer(world.app) as server:
        session = requests.Session()
        session.trust_env = False
        with session.get(server.url + "/api/events", stream=True, timeout=30) as stream:
            lines = stream.iter_lines(decode_unicode=True)
            assert next(lines) == "retry: 500"
            assert [next(lines), next(lines)] == ["", "event: hello"]
            assert json.loads(next(lines).removeprefix("data: ")) == {"following": True}
            started = time.monotonic()
            world.market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
            for line in lines:
                if line.startswith("data: "):
                    change = json.loads(line.removeprefix("data: "))
                    if change["trades"]:
                        break
            assert time.monotonic() - started < 1.0
    world.services.close()


def test_dev_chains_follow_the_head_and_others_wait_for_confirmations() -> None:
    from frontend_api import ApiSettings

    settings = ApiSettings()
    assert settings.confirmations_for(31337) == 0 and settings.confirmations_for(1337) == 0
    assert settings.confirmations_for(1) == 2 and settings.poll_interval_for(1) == 2.0
    assert settings.poll_interval_for(31337) == 0.25
    chosen = ApiSettings(confirmations=5, poll_interval=1.5)
    assert chosen.confirmations_for(31337) == 5 and chosen.poll_interval_for(31337) == 1.5


def test_config_tells_the_page_how_fresh_the_index_is(world: ApiWorld, api: TestClient) -> None:
    config = api.get("/api/config").json()
    assert config["confirmations"] == 0 and config["live"] is False  # synced by the test
