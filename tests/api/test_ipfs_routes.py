"""Uploads go to the IPFS backend (CID checked against our own import) and the gateway serves
verified bytes; bad CIDs, missing content, oversize and invalid documents are 4xx."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.conftest import ApiWorld, png
from frontend_api import ApiSettings, Services, create_app
from p2pchain.ipfs import compute_cid


def test_upload_stores_and_pins_and_the_gateway_serves_it(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    image = png(7, 5, (10, 200, 90))
    answer = bare_api.post("/api/ipfs/upload", files={"file": ("p.png", image, "image/png")})
    assert answer.status_code == 201, answer.text
    out = answer.json()
    assert out["cid"] == compute_cid(image, cid_version=1)
    assert out["size"] == len(image) and out["url"] == f"/ipfs/{out['cid']}"
    assert bare.store.has(out["cid"]) and out["cid"] in bare.store.pins()
    served = bare_api.get(out["url"])
    assert served.status_code == 200
    assert served.content == image
    assert served.headers["content-type"] == "image/png"


def test_gateway_refuses_bad_and_missing_cids(bare_api: TestClient) -> None:
    answer = bare_api.get("/ipfs/notacid")
    assert answer.status_code == 400 and answer.json()["detail"].startswith("cid:")
    missing = compute_cid(b"never stored", cid_version=1)
    answer = bare_api.get(f"/ipfs/{missing}")
    assert answer.status_code == 404 and missing in answer.json()["detail"]


def test_gateway_refuses_tampered_content(bare: ApiWorld, bare_api: TestClient) -> None:
    cid = bare.bike.image_cids[0]
    path = bare.store.block_path(cid)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    answer = bare_api.get(f"/ipfs/{cid}")
    assert answer.status_code == 502 and cid in answer.json()["detail"]


def test_upload_limits(bare: ApiWorld, bare_api: TestClient) -> None:
    answer = bare_api.post(
        "/api/ipfs/upload", files={"file": ("e.bin", b"", "application/octet-stream")}
    )
    assert answer.status_code == 422 and answer.json()["detail"] == "file: empty"
    big = b"\0" * (5 * 1024 * 1024 + 1)
    answer = bare_api.post(
        "/api/ipfs/upload", files={"file": ("b.bin", big, "application/octet-stream")}
    )
    assert answer.status_code == 413
    answer = bare_api.post("/api/ipfs/upload", data={"file": "not a file"})
    assert answer.status_code == 422


def test_document_upload_validates_and_stores_canonical_json(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    doc = bare.bike.document.model_dump(mode="json")
    answer = bare_api.post("/api/ipfs/document", json=doc)
    assert answer.status_code == 201, answer.text
    assert answer.json()["cid"] == bare.bike.document_cid  # same canonical bytes, same CID

    answer = bare_api.post("/api/ipfs/document", json={**doc, "price": "-1"})
    assert answer.status_code == 422 and "price" in answer.json()["detail"]
    answer = bare_api.post("/api/ipfs/document", json={**doc, "surprise": 1})
    assert answer.status_code == 422 and "surprise" in answer.json()["detail"]
    answer = bare_api.post(
        "/api/ipfs/document", json={**doc, "images": [compute_cid(b"elsewhere", cid_version=1)]}
    )
    assert answer.status_code == 422 and "upload it first" in answer.json()["detail"]


def test_document_seller_without_checksum_is_normalized_wrong_checksum_refused(
    bare: ApiWorld, bare_api: TestClient
) -> None:
    doc = bare.bike.document.model_dump(mode="json")
    answer = bare_api.post("/api/ipfs/document", json={**doc, "seller": doc["seller"].lower()})
    assert answer.status_code == 201 and answer.json()["cid"] == bare.bike.document_cid
    wrong = doc["seller"][:2] + doc["seller"][2:].swapcase()
    answer = bare_api.post("/api/ipfs/document", json={**doc, "seller": wrong})
    assert answer.status_code == 422 and "checksum" in answer.json()["detail"]


def test_uploads_go_to_a_kubo_node_when_configured(bare: ApiWorld, tmp_path: Path) -> None:
    from p2pchain.ipfs import DevNode, LocalStore

    node_store = LocalStore(tmp_path / "kubo-store")
    with DevNode(node_store) as node:
        settings = ApiSettings(network=bare.chain.url, ipfs_url=node.url + "/", sync=False)
        services = Services(settings, client=bare.services.client)
        with TestClient(create_app(services=services)) as client:
            image = png(9, 9)
            answer = client.post("/api/ipfs/upload", files={"file": ("a.png", image, "image/png")})
            assert answer.status_code == 201, answer.text
            cid = answer.json()["cid"]
            assert node_store.has(cid) and cid in node_store.pins()  # stored over Kubo's RPC
            assert client.get(f"/ipfs/{cid}").content == image
