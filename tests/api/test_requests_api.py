"""Requests over a real socket: post a signed request, list it, see its matches and the requests
a listing matches, post and list answers, accept one by buying it; bad input is one-line 4xx."""

from __future__ import annotations

from typing import Any

import requests
from _market import ONE

from api.conftest import ApiWorld
from frontend_api.server import ApiServer
from p2pchain import parse_request_document, publish_answer, publish_request
from p2pchain.market._requests import sign_request

MAX = ONE // 10


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never through a proxy: 127.0.0.1 only
    return s


def lamp_request(world: ApiWorld, **overrides: Any) -> dict[str, Any]:
    market = world.market
    now = market.buyer.now()
    doc: dict[str, Any] = {
        "schema_id": "p2pchain/request/1",
        "title": "Fix my table lamp",
        "kind": "service",
        "category": "services",
        "max_price": str(MAX),
        "expiry": now + 3600,
        "requester": market.buyer_account.address,
        "chain_id": market.buyer.chain_id,
        "marketplace": market.buyer.deployment.marketplace,
        "created_at": now,
    }
    doc.update(overrides)
    return doc


def one_line_error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail
    return detail


def test_requests_over_http(world: ApiWorld, live: ApiServer) -> None:
    http, base, market = session(), live.url, world.market
    request = publish_request(market.buyer, world.store, lamp_request(world))
    shared = request.signed.to_json()

    posted = http.post(f"{base}/api/requests", json={"signed_request": shared}, timeout=30)
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert body["request_id"] == request.id and body["status"] == "open"
    assert body["max_price"] == str(MAX) and body["document"]["title"] == "Fix my table lamp"

    listed = http.get(f"{base}/api/requests", params={"kind": "service"}, timeout=30).json()
    assert [r["request_id"] for r in listed["items"]] == [request.id]
    assert abs(listed["now"] - market.buyer.now()) <= 5  # the chain's clock, to date requests from
    assert (
        http.get(f"{base}/api/requests", params={"kind": "sale"}, timeout=30).json()["items"] == []
    )
    detail = http.get(f"{base}/api/requests/{request.id}", timeout=30).json()
    assert detail["requester"] == market.buyer_account.address

    lamp_id = "0x" + world.lamp.listing.id.hex()  # type: ignore[union-attr]
    bike_id = "0x" + world.bike.listing.id.hex()  # type: ignore[union-attr]
    matches = http.get(f"{base}/api/requests/{request.id}/matches", timeout=30).json()
    assert [item["listing_id"] for item in matches["items"]] == [lamp_id]
    assert matches["total"] == 1
    by_listing = http.get(f"{base}/api/listings/{lamp_id}/requests", timeout=30).json()
    assert [r["request_id"] for r in by_listing["items"]] == [request.id]
    assert http.get(f"{base}/api/listings/{bike_id}/requests", timeout=30).json()["items"] == []

    answer_doc = {
        "title": "Lamp rewiring, this week",
        "category": "services/repair",
        "kind": "service",
        "price": str(ONE // 25),
        "seller": market.seller_account.address,
        "created_at": 1_700_000_000,
    }
    answer = publish_answer(market.seller, world.store, request, answer_doc)
    assert answer.signed_listing is not None
    signed_listing = answer.signed_listing.to_json()
    url = f"{base}/api/requests/{request.id}/answers"
    stored = http.post(url, json={"signed_listing": signed_listing}, timeout=30)
    assert stored.status_code == 201, stored.text
    assert stored.json()["price"] == str(ONE // 25)
    answers = http.get(url, timeout=30).json()["items"]
    assert [a["listing_id"] for a in answers] == [signed_listing["id"]]
    assert answers[0]["status"] == "open"
    notices = http.get(
        f"{base}/api/notifications", params={"address": market.buyer_account.address}, timeout=30
    ).json()["notifications"]
    assert [n["kind"] for n in notices if n["kind"].startswith("request_")] == ["request_answered"]
    seller_notices = http.get(
        f"{base}/api/notifications", params={"address": market.seller_account.address}, timeout=30
    ).json()["notifications"]
    assert f"request_matches_listing/{request.id}/{lamp_id}" in {n["key"] for n in seller_notices}

    # the requester accepts: buys the signed listing; the request is taken
    market.buyer.buy(answer.signed_listing)
    world.sync()
    taken = http.get(f"{base}/api/requests/{request.id}", timeout=30).json()
    assert taken["status"] == "taken" and taken["trade_id"]
    assert http.get(url, timeout=30).json()["items"][0]["status"] == "taken"
    assert http.get(f"{base}/api/requests", timeout=30).json()["items"] == []
    everything = http.get(f"{base}/api/requests", params={"status": "any"}, timeout=30).json()
    assert [r["request_id"] for r in everything["items"]] == [request.id]


def test_request_errors_are_one_line(world: ApiWorld, live: ApiServer) -> None:
    http, base, market = session(), live.url, world.market
    request = publish_request(market.buyer, world.store, lamp_request(world))
    shared = request.signed.to_json()
    post = f"{base}/api/requests"
    forged = {**shared, "expiry": shared["expiry"] + 1}
    assert "it was altered" in one_line_error(
        http.post(post, json={"signed_request": forged}, timeout=30), 400
    )
    forged.pop("id")
    assert "not by the requester" in one_line_error(
        http.post(post, json={"signed_request": forged}, timeout=30), 400
    )
    missing = {k: v for k, v in shared.items() if k != "signature"}
    assert "signature is missing" in one_line_error(
        http.post(post, json={"signed_request": missing}, timeout=30), 400
    )
    one_line_error(http.post(post, json={"nope": 1}, timeout=30), 422)
    # signed, but its document was never stored where the API reads
    unstored = sign_request(
        market.buyer_account, parse_request_document(lamp_request(world, title="Never stored"))
    )
    one_line_error(http.post(post, json={"signed_request": unstored.to_json()}, timeout=30), 404)
    one_line_error(http.get(f"{base}/api/requests/0x12", timeout=30), 422)
    assert "no request" in one_line_error(
        http.get(f"{base}/api/requests/0x{'ab' * 32}", timeout=30), 404
    )
    one_line_error(http.get(f"{base}/api/requests", params={"status": "old"}, timeout=30), 422)
    # an answer to a request the index does not hold
    unknown = f"{base}/api/requests/0x{'cd' * 32}/answers"
    assert "no request" in one_line_error(
        http.post(unknown, json={"signed_listing": {}}, timeout=30), 404
    )
    assert http.post(post, json={"signed_request": shared}, timeout=30).status_code == 201
    bad = http.post(
        f"{base}/api/requests/{request.id}/answers", json={"signed_listing": {"x": 1}}, timeout=30
    )
    assert "signed_listing: malformed" in one_line_error(bad, 400)


def test_a_wallet_signs_a_request_the_api_prepared(world: ApiWorld, live: ApiServer) -> None:
    http, base, market = session(), live.url, world.market
    prepared = http.post(f"{base}/api/requests/typed-data", json=lamp_request(world), timeout=30)
    assert prepared.status_code == 201, prepared.text
    out = prepared.json()
    assert world.store.has(out["cid"])
    # the wallet signs what eth_signTypedData_v4 gets, the JSON as the API sent it
    signature = market.buyer_account.sign_typed_data(full_message=out["typed_data"]).signature
    signed = {**out["signed_request"], "signature": "0x" + bytes(signature).hex()}
    posted = http.post(f"{base}/api/requests", json={"signed_request": signed}, timeout=30)
    assert posted.status_code == 201, posted.text
    assert posted.json()["request_id"] == out["request_id"]
    # documents for another marketplace, already expired, or malformed are refused
    url = f"{base}/api/requests/typed-data"
    other = lamp_request(world, marketplace=market.arbitrator_account.address)
    assert "this API serves chain" in one_line_error(http.post(url, json=other, timeout=30), 422)
    old = lamp_request(world, expiry=2, created_at=1)
    assert "is not after the chain's time" in one_line_error(
        http.post(url, json=old, timeout=30), 422
    )
    assert "max_price" in one_line_error(
        http.post(url, json=lamp_request(world, max_price="-1"), timeout=30), 422
    )


def test_a_wallet_signs_an_answer_the_api_wrote(world: ApiWorld, live: ApiServer) -> None:
    """``answer-typed-data`` writes the answer from the request (as the CLI does), checks it and
    stores it; the provider's wallet signs; the answer posts; refusals come before any signing."""
    http, base, market = session(), live.url, world.market
    request = publish_request(market.buyer, world.store, lamp_request(world))
    http.post(f"{base}/api/requests", json={"signed_request": request.signed.to_json()}, timeout=30)
    url = f"{base}/api/requests/{request.id}/answer-typed-data"
    seller = market.seller_account
    body = {"seller": seller.address, "price": str(ONE // 25), "description": "Rewired today."}
    prepared = http.post(url, json=body, timeout=30)
    assert prepared.status_code == 201, prepared.text
    out = prepared.json()
    doc = out["document"]
    assert doc["request"] == request.id and doc["schema_version"] == 3
    assert (doc["title"], doc["kind"], doc["category"]) == (
        "Fix my table lamp",
        "service",
        "services",
    )
    assert world.store.has(out["cid"])
    message = out["typed_data"]["message"]
    assert int(message["terms"]["expiry"]) == request.document.expiry  # ends with the request
    signature = "0x" + bytes(seller.sign_typed_data(full_message=out["typed_data"]).signature).hex()
    signed = http.post(
        f"{base}/api/tx/signed-listing",
        json={"typed_data": out["typed_data"], "signature": signature},
        timeout=30,
    ).json()
    assert signed["id"] == out["listing_id"]
    answers = f"{base}/api/requests/{request.id}/answers"
    posted = http.post(answers, json={"signed_listing": signed}, timeout=30)
    assert posted.status_code == 201, posted.text
    assert posted.json()["price"] == str(ONE // 25)

    too_dear = {**body, "price": str(MAX + 1)}
    assert "above the request's max_price" in one_line_error(
        http.post(url, json=too_dear, timeout=30), 422
    )
    own = {**body, "seller": market.buyer_account.address}
    assert "cannot answer their own request" in one_line_error(
        http.post(url, json=own, timeout=30), 422
    )
    assert "deposit: for rentals only" in one_line_error(
        http.post(url, json={**body, "deposit": "5"}, timeout=30), 422
    )
    assert "price" in one_line_error(http.post(url, json={**body, "price": "0"}, timeout=30), 422)
    one_line_error(http.post(url, json={**body, "extra": 1}, timeout=30), 422)
    judged = {**body, "arbitrator": market.buyer_account.address, "arbitrator_fee_bps": 200}
    assert "cannot be the requester" in one_line_error(http.post(url, json=judged, timeout=30), 422)
    judged["arbitrator"] = market.arbitrator_account.address
    with_arbitrator = http.post(url, json=judged, timeout=30)
    assert with_arbitrator.status_code == 201, with_arbitrator.text
    assert with_arbitrator.json()["document"]["arbitrator"]["fee_bps"] == 200
    terms = with_arbitrator.json()["typed_data"]["message"]["terms"]
    assert terms["arbitrator"] == market.arbitrator_account.address
    assert int(terms["arbitratorFeeBps"]) == 200
    unknown = f"{base}/api/requests/0x{'cd' * 32}/answer-typed-data"
    assert "no request" in one_line_error(http.post(unknown, json=body, timeout=30), 404)
