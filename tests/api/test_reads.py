"""Reads: search over the index, listing detail with its document verified against its CID,
trades by address with their next steps, and trust."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.conftest import ApiWorld
from frontend_api import ApiSettings, Services, create_app
from frontend_api.schemas import SearchOut
from p2pchain.indexer import _reader


def _id(world_listing: object) -> str:
    return "0x" + world_listing.listing.id.hex()  # type: ignore[attr-defined]


def test_search_by_text_kind_and_price_order(world: ApiWorld, api: TestClient) -> None:
    page = api.get("/api/listings", params={"text": "bike"}).json()
    assert page["total"] == 1
    (bike,) = page["items"]
    assert bike["listing_id"] == _id(world.bike)
    assert bike["title"] == "Road bike, 56 cm" and bike["content_status"] == "ok"
    assert bike["image_urls"] == [f"/ipfs/{world.bike.image_cids[0]}"]
    assert bike["price"] == str(10**18)

    page = api.get("/api/listings", params={"kind": "service"}).json()
    assert [item["title"] for item in page["items"]] == ["Lamp repair"]
    page = api.get("/api/listings", params={"sort": "price_asc"}).json()
    assert [item["title"] for item in page["items"]] == ["Lamp repair", "Road bike, 56 cm"]
    page = api.get("/api/listings", params={"limit": 1, "offset": 1, "sort": "price_asc"}).json()
    assert [item["title"] for item in page["items"]] == ["Road bike, 56 cm"] and page["total"] == 2


def test_search_body_is_exactly_the_search_out_model(api: TestClient) -> None:
    for params in ({}, {"text": "bike"}, {"sort": "price_asc", "limit": 1}):
        body = api.get("/api/listings", params=params).content
        assert body == SearchOut.model_validate_json(body).model_dump_json().encode()


def test_search_says_whether_its_total_is_exact(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = api.get("/api/listings", params={"limit": 1}).json()
    assert (page["total"], page["total_exact"]) == (2, True)
    # The index counts matches up to a cap (1,000); with a cap of 1 the two listings exceed it.
    monkeypatch.setattr(_reader, "COUNT_CAP", 1)
    page = api.get("/api/listings", params={"limit": 1}).json()
    assert (page["total"], page["total_exact"], len(page["items"])) == (1, False, 1)


def test_search_refuses_bad_parameters_with_one_line(api: TestClient) -> None:
    answer = api.get("/api/listings", params={"min_price": "5", "max_price": "4"})
    assert answer.status_code == 422 and "min_price" in answer.json()["detail"]
    answer = api.get("/api/listings", params={"limit": 0})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("query.limit:")
    answer = api.get("/api/listings", params={"token": "DOGE"})
    assert answer.status_code == 422 and "token" in answer.json()["detail"]


def test_listing_detail_has_the_verified_document_images_and_trust(
    world: ApiWorld, api: TestClient
) -> None:
    answer = api.get(f"/api/listings/{_id(world.bike)}")
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail["status"] == "live" and detail["remaining"] == 1
    assert detail["document_cid"] == world.bike.document_cid
    assert detail["document"] == world.bike.document.model_dump(mode="json")
    assert detail["document_error"] is None
    assert detail["image_urls"] == [f"/ipfs/{world.bike.image_cids[0]}"]
    assert detail["terms"]["price"] == str(10**18)
    assert detail["seller_trust"]["address"] == world.market.seller_account.address
    image = api.get(detail["image_urls"][0])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_tampered_document_is_reported_not_served(world: ApiWorld, api: TestClient) -> None:
    path = world.store.block_path(world.bike.document_cid)
    path.write_bytes(path.read_bytes().replace(b"Road bike", b"Fake bike"))
    detail = api.get(f"/api/listings/{_id(world.bike)}").json()
    assert detail["document"] is None and detail["image_urls"] == []
    assert world.bike.document_cid in detail["document_error"]
    assert detail["terms"]["price"] == str(10**18)  # the chain part is still shown


def test_unknown_listing_is_404(api: TestClient) -> None:
    answer = api.get("/api/listings/0x" + "ee" * 32)
    assert answer.status_code == 404 and "no listing" in answer.json()["detail"]


def test_trades_of_buyer_and_seller_with_next_steps(world: ApiWorld, api: TestClient) -> None:
    buyer = world.market.buyer_account.address
    seller = world.market.seller_account.address
    assert api.get(f"/api/accounts/{buyer}/trades").json()["items"] == []
    trade = world.market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    world.sync()

    mine = api.get(f"/api/accounts/{buyer.lower()}/trades").json()
    assert mine["address"] == buyer
    (item,) = mine["items"]
    assert item["trade_id"] == "0x" + trade.id.hex()
    assert item["state"] == "paid" and item["role"] == "buyer" and item["amount"] == str(10**18)
    steps = {(s["action"], s["actor"]) for s in item["next_steps"]}
    assert (
        ("release", buyer) in steps and ("dispute", buyer) in steps and ("refund", seller) in steps
    )
    (theirs,) = api.get(f"/api/accounts/{seller}/trades").json()["items"]
    assert theirs["role"] == "seller"


def test_trust_counts_ratings_from_the_index_and_the_chain(
    world: ApiWorld, api: TestClient
) -> None:
    seller = world.market.seller_account.address
    before = api.get(f"/api/accounts/{seller}/trust").json()
    assert before["onchain_rating_count"] == 0 and before["trust"]["rating_count"] == 0
    trade = world.market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    trade = world.market.buyer.release(trade)
    world.market.buyer.rate(trade, 5)
    world.market.seller.rate(trade, 4)
    world.sync()
    after = api.get(f"/api/accounts/{seller}/trust").json()
    assert after["onchain_rating_count"] == 1 and after["onchain_average"] == 5.0
    assert after["trust"]["rating_count"] == 1 and after["trust"]["average_stars"] == 5.0
    assert after["trust"]["score"] > 0


def test_image_urls_use_the_configured_gateway(world: ApiWorld) -> None:
    settings = ApiSettings(
        network=world.chain.url, gateway_url="http://127.0.0.1:8080/", sync=False
    )
    services = Services(
        settings,
        client=world.services.client,
        backend=world.store,
        indexer=world.services.index,
    )
    with TestClient(create_app(services=services)) as client:
        (bike,) = client.get("/api/listings", params={"text": "bike"}).json()["items"]
        config = client.get("/api/config").json()
    assert bike["image_urls"] == [f"http://127.0.0.1:8080/ipfs/{world.bike.image_cids[0]}"]
    assert config["gateway_url"] == "http://127.0.0.1:8080"


def test_signed_listing_detail_before_and_after_its_first_purchase(
    world: ApiWorld, api: TestClient
) -> None:
    from api.conftest import document
    from p2pchain.market._listings import publish_listing

    published = publish_listing(
        world.market.seller,
        world.store,
        document(world.market, title="Signed tent"),
        signed=True,
    )
    shared = published.signed_listing.to_json()  # type: ignore[union-attr]
    detail = api.post("/api/listings/signed", json=shared).json()
    assert detail["id"] == shared["id"] and detail["signed"] is True
    assert detail["status"] == "unused" and detail["remaining"] == 1
    assert detail["document"]["title"] == "Signed tent"

    world.market.buyer.buy(published.signed_listing)  # type: ignore[arg-type]
    assert api.post("/api/listings/signed", json=shared).json()["status"] == "sold_out"
    forged = {**shared, "signature": "0x" + "22" * 65}
    answer = api.post("/api/listings/signed", json=forged)
    assert answer.status_code == 400
    altered = {**shared, "chainId": 1}  # the id no longer matches: caught as an alteration
    answer = api.post("/api/listings/signed", json=altered)
    assert answer.status_code == 400 and "altered" in answer.json()["detail"]
    other = {k: v for k, v in altered.items() if k != "id"}  # consistent, for another chain
    answer = api.post("/api/listings/signed", json=other)
    assert answer.status_code == 400 and "another chain" in answer.json()["detail"]
