"""The dev node's HTTP surface: Kubo-shaped answers, POST-only RPC, 4xx for bad input."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from p2pchain.ipfs import CID, DevNode, IpfsError, LocalStore, compute_cid, serve
from p2pchain.ipfs._dagpb import decode_node

from ._lying import flip_last_byte, tamper_file
from .conftest import CHUNK

API_COMMANDS = ["add", "cat", "block/get", "block/stat", "pin/add", "pin/rm", "pin/ls", "version"]


def _post(node: DevNode, command: str, **kwargs: object) -> requests.Response:
    return requests.post(f"{node.url}/api/v0/{command}", timeout=30, **kwargs)  # type: ignore[arg-type]


def _assert_kubo_error(response: requests.Response, status: int, match: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Type"] == "error" and isinstance(body["Code"], int)
    assert match in body["Message"], body["Message"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("command", API_COMMANDS + ["no/such/command"])
def test_server_rpc_refuses_non_post(dev_node: DevNode, method: str, command: str) -> None:
    response = requests.request(method, f"{dev_node.url}/api/v0/{command}", timeout=10)
    _assert_kubo_error(response, 405, "only accepts POST")
    assert response.headers["Allow"] == "POST"


def test_server_add_answers_like_kubo(dev_node: DevNode, store: LocalStore) -> None:
    files = [
        ("file", ("a.json", b'{"title": "bike"}', "application/octet-stream")),
        ("file", ("b.jpg", os.urandom(CHUNK + 1), "application/octet-stream")),
    ]
    response = _post(dev_node, "add", params={"cid-version": "1"}, files=files)
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["Name"] for line in lines] == ["a.json", "b.jpg"]
    assert lines[0]["Hash"] == compute_cid(b'{"title": "bike"}', cid_version=1)
    assert lines[0]["Size"] == "17"  # a raw leaf's size is its length; Kubo sends a string
    assert all(store.has(line["Hash"]) for line in lines)
    assert sorted(store.pins()) == sorted(line["Hash"] for line in lines)


def test_server_add_options(dev_node: DevNode, store: LocalStore) -> None:
    data = os.urandom(3000)
    params = {"only-hash": "true", "chunker": "size-1024", "raw-leaves": "false", "pin": "false"}
    response = _post(dev_node, "add", params=params, files={"file": ("x", data)})
    cid = response.json()["Hash"]
    assert not store.has(cid) and store.pins() == []
    response = _post(dev_node, "add", params={"pin": "false"}, files={"file": ("x", data)})
    assert response.json()["Hash"] == compute_cid(data)
    assert store.pins() == []


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"cid-version": "2"}, "cid-version"),
        ({"cid-version": "one"}, "not an integer"),
        ({"pin": "maybe"}, "not a boolean"),
        ({"chunker": "rabin-1-2-3"}, "only fixed-size"),
        ({"chunker": "size-99999999"}, "out of range"),
        ({"hash": "blake3"}, "sha2-256"),
        ({"trickle": "true"}, "trickle"),
        ({"wrap-with-directory": "true"}, "wrap-with-directory"),
    ],
)
def test_server_add_bad_options_are_400(
    dev_node: DevNode, params: dict[str, str], match: str
) -> None:
    response = _post(dev_node, "add", params=params, files={"file": ("x", b"data")})
    _assert_kubo_error(response, 400, match)


def test_server_add_bad_bodies_are_400(dev_node: DevNode) -> None:
    _assert_kubo_error(_post(dev_node, "add"), 400, "multipart")
    _assert_kubo_error(_post(dev_node, "add", data=b"plain body"), 400, "multipart")
    bad = _post(
        dev_node, "add", data=b"--x\r\nnonsense", headers={"Content-Type": "multipart/form-data"}
    )
    assert 400 <= bad.status_code < 500
    _assert_kubo_error(_post(dev_node, "add", data={"field": "value"}, files={}), 400, "multipart")
    directory = {"file": ("dir", b"", "application/x-directory")}
    _assert_kubo_error(_post(dev_node, "add", files=directory), 400, "directories")


@pytest.mark.parametrize("command", ["cat", "block/get", "block/stat", "pin/add", "pin/rm"])
@pytest.mark.parametrize(
    ("params", "status", "match"),
    [
        ({}, 400, "'arg' is required"),
        ({"arg": "not-a-cid"}, 400, "invalid CID"),
        ({"arg": "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o/sub/path"}, 400, "paths inside"),
        ({"arg": ["QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"] * 2}, 400, "exactly one"),
    ],
)
def test_server_bad_args_are_400(
    dev_node: DevNode, command: str, params: dict[str, object], status: int, match: str
) -> None:
    _assert_kubo_error(_post(dev_node, command, params=params), status, match)


@pytest.mark.parametrize("command", ["cat", "block/get", "block/stat", "pin/add"])
def test_server_missing_block_is_404(dev_node: DevNode, command: str) -> None:
    missing = compute_cid(b"absent")
    _assert_kubo_error(_post(dev_node, command, params={"arg": missing}), 404, "not found")


def test_server_cat_block_pin_endpoints(dev_node: DevNode, store: LocalStore) -> None:
    data = os.urandom(2 * CHUNK + 100)
    cid = store.add(data, pin=False)
    assert _post(dev_node, "cat", params={"arg": cid}).content == data
    part = _post(dev_node, "cat", params={"arg": cid, "offset": CHUNK - 5, "length": 10}).content
    assert part == data[CHUNK - 5 : CHUNK + 5]
    _assert_kubo_error(_post(dev_node, "cat", params={"arg": cid, "offset": "-1"}), 400, "negative")
    root = _post(dev_node, "block/get", params={"arg": cid}).content
    assert CID.parse(cid).multihash.matches(root)
    assert _post(dev_node, "block/stat", params={"arg": cid}).json() == {
        "Key": cid,
        "Size": len(root),
    }
    assert _post(dev_node, "pin/add", params={"arg": cid}).json() == {"Pins": [cid]}
    listing = _post(dev_node, "pin/ls", params={"type": "recursive"}).json()
    assert listing == {"Keys": {cid: {"Type": "recursive"}}}
    assert _post(dev_node, "pin/ls", params={"arg": cid}).json() == listing
    _assert_kubo_error(_post(dev_node, "pin/ls", params={"type": "weird"}), 400, "pin type")
    assert _post(dev_node, "pin/rm", params={"arg": cid}).json() == {"Pins": [cid]}
    _assert_kubo_error(_post(dev_node, "pin/rm", params={"arg": cid}), 400, "not pinned")
    _assert_kubo_error(_post(dev_node, "pin/ls", params={"arg": cid}), 400, "not pinned")
    _assert_kubo_error(
        _post(dev_node, "pin/add", params={"arg": cid, "recursive": "false"}), 400, "recursive"
    )


def test_server_version_and_unknown_command(dev_node: DevNode) -> None:
    assert "Version" in _post(dev_node, "version").json()
    _assert_kubo_error(_post(dev_node, "dht/findprovs"), 404, "unknown command")


def test_server_gateway_serves_files_and_raw_blocks(dev_node: DevNode, store: LocalStore) -> None:
    data = os.urandom(CHUNK + 9)
    cid = store.add(data)
    file = requests.get(f"{dev_node.url}/ipfs/{cid}", timeout=30)
    assert file.status_code == 200 and file.content == data
    raw = requests.get(f"{dev_node.url}/ipfs/{cid}", params={"format": "raw"}, timeout=30)
    assert raw.headers["content-type"] == "application/vnd.ipld.raw"
    assert raw.content == store.get_block(cid)
    accept = {"Accept": "application/vnd.ipld.raw"}
    assert (
        requests.get(f"{dev_node.url}/ipfs/{cid}", headers=accept, timeout=30).content
        == raw.content
    )
    for path, status in [(compute_cid(b"no"), 404), ("bogus", 400), (f"{cid}/a/b", 400)]:
        response = requests.get(f"{dev_node.url}/ipfs/{path}", timeout=30)
        _assert_kubo_error(response, status, "")
    car = requests.get(f"{dev_node.url}/ipfs/{cid}", params={"format": "car"}, timeout=30)
    _assert_kubo_error(car, 400, "unsupported format")
    post = requests.post(f"{dev_node.url}/ipfs/{cid}", timeout=30)
    assert post.status_code == 405


def test_server_gateway_of_directory_is_400(dev_node: DevNode, store: LocalStore) -> None:
    directory = store.put_block(bytes.fromhex("0a020801"), codec="dag-pb")
    _assert_kubo_error(
        requests.get(f"{dev_node.url}/ipfs/{directory}", timeout=30), 400, "directory"
    )


def test_server_corrupted_store_is_reported_not_served(
    dev_node: DevNode, store: LocalStore
) -> None:
    cid = store.add(os.urandom(3 * CHUNK))
    first, _, last = (link.cid for link in decode_node(store.get_block(cid)).links)
    tamper_file(store.block_path(first), flip_last_byte)
    _assert_kubo_error(_post(dev_node, "block/get", params={"arg": str(first)}), 500, "corrupted")
    _assert_kubo_error(_post(dev_node, "cat", params={"arg": cid}), 500, "corrupted")
    tamper_file(store.block_path(first), flip_last_byte)  # restored
    tamper_file(store.block_path(last), flip_last_byte)
    try:  # found mid-stream: the response is cut short, never completed with bad bytes
        body: bytes | None = _post(dev_node, "cat", params={"arg": cid}).content
    except requests.RequestException:
        body = None
    assert body is None or len(body) < 3 * CHUNK


def test_server_refuses_foreign_host_and_origin(dev_node: DevNode) -> None:
    foreign = _post(dev_node, "version", headers={"Host": "evil.example:5001"})
    _assert_kubo_error(foreign, 403, "local only")
    page = _post(dev_node, "version", headers={"Origin": "https://evil.example"})
    _assert_kubo_error(page, 403, "local only")
    assert _post(dev_node, "version", headers={"Origin": f"http://127.0.0.1:{dev_node.port}"}).ok
    assert _post(dev_node, "version", headers={"Host": f"localhost:{dev_node.port}"}).ok


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.2", "example.org"])
def test_server_refuses_to_bind_beyond_loopback(host: str, tmp_path: Path) -> None:
    with pytest.raises(IpfsError, match="127.0.0.1 only"):
        DevNode(tmp_path, host=host)
    with pytest.raises(IpfsError, match="127.0.0.1 only"):
        serve(tmp_path, host=host)


def test_server_port_in_use_raises_ipfs_error(dev_node: DevNode, tmp_path: Path) -> None:
    with pytest.raises(IpfsError, match="cannot listen"):
        DevNode(tmp_path, port=dev_node.port).start()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_server_starts_with_python_dash_m(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "p2pchain.ipfs",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "store"),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.post(f"http://127.0.0.1:{port}/api/v0/version", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "dev node did not start"
                time.sleep(0.1)
        assert response.json()["Version"].endswith("p2pchain-devnode")
        add = requests.post(
            f"http://127.0.0.1:{port}/api/v0/add", files={"file": ("x", b"hi")}, timeout=10
        )
        assert add.json()["Hash"] == compute_cid(b"hi")
        assert LocalStore(tmp_path / "store").pins() == [compute_cid(b"hi")]
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_server_python_dash_m_refuses_public_host() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "p2pchain.ipfs", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1 and "127.0.0.1 only" in out.stderr


def test_server_junk_input_is_never_a_500(dev_node: DevNode, store: LocalStore) -> None:
    """A bounded sweep of malformed requests: every answer is a 2xx/4xx, never a server error."""
    good = store.add(b"x")
    args = [
        "",
        "Qm" + "0" * 44,
        "b" + "a" * 300,
        "z",
        "k1",
        "u" + "-" * 40,
        "../../etc/passwd",
        "\x00",
        "\u2603",
        "f0155" + "00" * 40,
        good + "?x",
        "/ipfs/" + good,
        "/ipns/x",
        "%",
    ]
    numbers = ["", "-5", "1e3", "9" * 30, "0x10", "abc"]
    seen: set[int] = set()
    for command in API_COMMANDS:
        for arg in args:
            response = _post(
                dev_node, command, params={"arg": arg, "offset": numbers[len(arg) % 6]}
            )
            seen.add(response.status_code)
            assert response.status_code < 500, (command, arg, response.text)
        for number in numbers:
            params = {"arg": good, "offset": number, "length": number, "cid-version": number}
            response = _post(dev_node, command, params=params, files={"file": ("f", b"y")})
            seen.add(response.status_code)
            assert response.status_code < 500, (command, number, response.text)
    for arg in args:
        response = requests.get(f"{dev_node.url}/ipfs/{arg}", timeout=10)
        assert response.status_code < 500, (arg, response.text)
    assert 400 in seen
