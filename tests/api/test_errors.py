"""Bad input is a 4xx with one line naming the problem, never a 500; CORS only when configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.conftest import ApiWorld
from frontend_api import ApiSettings, Services, create_app
from p2pchain.chain._deploy import deploy
from p2pchain.chain._nodes import AnvilChain
from p2pchain.ipfs import LocalStore
from p2pchain.market._client import MarketplaceClient

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ID = "0x" + "11" * 32

JUNK: list[tuple[str, str, object]] = [
    ("post", "/api/tx/buy", {"buyer": "0x123", "listing_id": ID}),
    ("post", "/api/tx/buy", {"buyer": ADDRESS}),
    ("post", "/api/tx/buy", {"buyer": ADDRESS, "listing_id": ID, "quantity": 0}),
    ("post", "/api/tx/buy", {"buyer": ADDRESS, "signed_listing": {"terms": 5}}),
    ("post", "/api/tx/buy", {"buyer": ADDRESS, "signed_listing": {}}),
    ("post", "/api/tx/buy", {"buyer": ADDRESS.lower().replace("c", "C"), "listing_id": ID}),
    ("post", "/api/tx/buy", [1, 2]),
    ("post", "/api/tx/buy", "not json"),
    ("post", "/api/tx/release", {"sender": ADDRESS, "trade_id": "0x12"}),
    ("post", "/api/tx/release", {"sender": "0x" + "0" * 40, "trade_id": ID}),
    ("post", "/api/tx/rate", {"sender": ADDRESS, "trade_id": ID, "score": 6}),
    ("post", "/api/tx/rule", {"sender": ADDRESS, "trade_id": ID, "buyer_share": "-5"}),
    ("post", "/api/tx/withdraw", {"sender": ADDRESS, "token": "ETH"}),
    ("post", "/api/tx/create-listing", {"seller": ADDRESS, "price": "1", "cid": "Qmnope"}),
    ("post", "/api/tx/create-listing", {"seller": ADDRESS, "price": "0", "cid": "Qmnope"}),
    ("post", "/api/tx/listing-typed-data", {"seller": ADDRESS, "price": "1", "cid": "bafyzz"}),
    ("post", "/api/tx/signed-listing", {"typed_data": {}, "signature": "0x00"}),
    (
        "post",
        "/api/tx/signed-listing",
        {"typed_data": {"domain": 3}, "signature": "0x" + "1" * 130},
    ),
    ("post", "/api/tx/submit", {"raw": "zz"}),
    ("post", "/api/tx/submit", {"raw": "0x" + "f8" * 40}),
    ("post", "/api/listings/signed", {"terms": {}, "id": "0x12"}),
    ("post", "/api/listings/signed", {"chainId": "x"}),
    ("post", "/api/ipfs/document", {"schema_version": 2}),
    ("post", "/api/ipfs/document", {"schema_version": 1, "seller": "0xabc"}),
    ("post", "/api/ipfs/document", {}),
    ("get", "/api/tx/0x1234", None),
    ("get", "/api/listings/0x1234", None),
    ("get", "/api/accounts/0x1234/trades", None),
    ("get", "/ipfs/bafy" + "a" * 60, None),
    ("get", "/ipfs/Qm" + "1" * 44, None),
]


@pytest.mark.parametrize(("method", "path", "body"), JUNK)
def test_junk_is_a_4xx_with_one_line(
    bare_api: TestClient, method: str, path: str, body: object
) -> None:
    if isinstance(body, str):
        answer = bare_api.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
    else:
        answer = bare_api.request(method, path, json=body)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail


def test_validation_error_names_the_field(bare_api: TestClient) -> None:
    answer = bare_api.post("/api/tx/rate", json={"sender": ADDRESS, "trade_id": ID, "score": 9})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.score:")


def test_unreachable_chain_is_503_with_one_line() -> None:
    app = create_app(ApiSettings(network="http://127.0.0.1:9", sync=False))
    with TestClient(app) as client:
        answer = client.get("/api/config")
    assert answer.status_code == 503
    assert "cannot reach the node" in answer.json()["detail"]


def _cors_app(world: ApiWorld, origins: list[str]) -> TestClient:
    settings = ApiSettings(network=world.chain.url, cors_origins=origins, sync=False)
    services = Services(settings, client=world.services.client, backend=world.store)
    return TestClient(create_app(services=services))


def test_cors_allows_only_configured_origins(bare: ApiWorld) -> None:
    allowed = "http://127.0.0.1:5173"
    with _cors_app(bare, [allowed]) as client:
        answer = client.get("/api/config", headers={"Origin": allowed})
        assert answer.headers["access-control-allow-origin"] == allowed
        answer = client.get("/api/config", headers={"Origin": "http://127.0.0.1:6666"})
        assert "access-control-allow-origin" not in answer.headers
        preflight = client.options(
            "/api/tx/buy",
            headers={"Origin": allowed, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]


def test_no_cors_by_default(bare: ApiWorld) -> None:
    with _cors_app(bare, []) as client:
        answer = client.get("/api/config", headers={"Origin": "http://127.0.0.1:5173"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("P2PCHAIN_API_CORS_ORIGINS", "http://127.0.0.1:3000, http://localhost:3000")
    assert ApiSettings().cors_origins == ["http://127.0.0.1:3000", "http://localhost:3000"]
    monkeypatch.setenv("P2PCHAIN_API_CORS_ORIGINS", "ftp://x")
    with pytest.raises(ValueError, match="CORS origin"):
        ApiSettings()


def test_node_gone_after_start_is_503(tmp_path: Path) -> None:
    chain = AnvilChain()
    try:
        deployment = deploy(chain, chain.accounts[0])
        reader = MarketplaceClient.connect(chain, deployments=deployment)
        settings = ApiSettings(network=chain.url, sync=False)
        services = Services(settings, client=reader, backend=LocalStore(tmp_path / "ipfs"))
        with TestClient(create_app(services=services)) as client:
            assert client.get("/api/config").status_code == 200
            chain.stop()
            answer = client.get(f"/api/listings/{ID}")
            assert answer.status_code == 503
            assert answer.json()["detail"].startswith("cannot reach the node")
    finally:
        chain.stop()


@pytest.mark.parametrize(
    ("typed_data", "fragment"),
    [
        ({"message": {}}, "typed data: domain is missing"),
        ({"domain": 3}, "typed data: domain must be an object, got int"),
        ({"domain": {"chainId": "x"}}, "typed data: domain.chainId must be a whole number"),
    ],
)
def test_malformed_typed_data_is_400_naming_the_field(
    bare_api: TestClient, typed_data: dict[str, object], fragment: str
) -> None:
    body = {"typed_data": typed_data, "signature": "0x" + "11" * 65}
    answer = bare_api.post("/api/tx/signed-listing", json=body)
    assert answer.status_code == 400 and fragment in answer.json()["detail"], answer.text
