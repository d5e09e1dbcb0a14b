"""``p2pchain ipfs serve``: the installed entry point serves the local store over real HTTP."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from p2pchain.chain._nodes import free_port
from p2pchain.cli import app
from p2pchain.ipfs import DevNode, KuboBackend, LocalStore, compute_cid

from .conftest import Cli, Market, write_photo


def _entry_point() -> list[str]:
    exe = shutil.which("p2pchain", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-c", "from p2pchain.cli import main; main()"]


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def test_ipfs_help_lists_serve() -> None:
    result = CliRunner().invoke(app, ["ipfs", "--help"])
    assert result.exit_code == 0
    assert "serve" in result.output


def test_ipfs_serve_answers_kubo_rpc_and_gateway(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*_entry_point(), "ipfs", "serve", "--port", str(port), "--store", str(tmp_path / "store")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(port)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v0/version", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert "Version" in json.loads(response.read())
        cid = KuboBackend(f"http://127.0.0.1:{port}").add(b"a listing photo", cid_version=1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ipfs/{cid}", timeout=10) as response:
            assert response.read() == b"a listing photo"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_ipfs_serve_on_a_taken_port_fails_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*_entry_point(), "ipfs", "serve", "--port", str(port), "--store", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot listen on 127.0.0.1:")
    assert result.stderr.count("\n") == 1, result.stderr


# --------------------------------------------------------------------------- add, cat, pin


def test_ipfs_add_cat_pin_on_the_embedded_store(cli: Cli) -> None:
    photo = write_photo(cli.home)
    [added] = json.loads(cli("ipfs", "add", str(photo), "--json").stdout)
    cid = added["cid"]
    assert cid == compute_cid(photo.read_bytes(), cid_version=1)
    assert cli("ipfs", "cat", cid).stdout_bytes == photo.read_bytes()
    out = cli.home / "copy.jpg"
    cli("ipfs", "cat", cid, "--output", str(out))
    assert out.read_bytes() == photo.read_bytes()
    assert cid in json.loads(cli("ipfs", "pin", "--json").stdout)
    cli("ipfs", "pin", cid, "--rm")
    assert cid not in json.loads(cli("ipfs", "pin", "--json").stdout)
    cli("ipfs", "pin", cid)
    assert cid in json.loads(cli("ipfs", "pin", "--json").stdout)


def test_ipfs_add_cid_v0_matches_kubo_default(cli: Cli) -> None:
    hello = cli.home / "hello.txt"
    hello.write_bytes(b"hello world\n")
    out = cli("ipfs", "add", str(hello), "--cid-version", "0").stdout
    assert out.split()[0] == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


def test_ipfs_errors_are_one_line(cli: Cli) -> None:
    assert "invalid CID" in cli.fails("ipfs", "cat", "not-a-cid")
    missing = compute_cid(b"never stored", cid_version=1)
    assert cli.fails("ipfs", "pin", missing).endswith("is not in the store: add the content first")
    assert "is not a file" in cli.fails("ipfs", "add", str(cli.home))


def test_listing_through_a_kubo_node_and_read_through_its_gateway(market: Market) -> None:
    """--ipfs URL stores through the Kubo RPC API; --gateway URL reads back, verified."""
    with DevNode(market.cli.home / "kubo-store") as node:
        photo = write_photo(market.cli.home)
        listing_id = market(
            "listing", "create", "--account", "alice", "--title", "Kayak", "--price", "1eth",
            "--category", "sports/water", "--image", str(photo), "--ipfs", node.url, "--quiet",
        ).stdout.strip()  # fmt: skip
        kubo = KuboBackend(node.url)
        shown = json.loads(
            market("listing", "show", listing_id, "--gateway", node.url, "--json").stdout
        )
        assert shown["document"]["title"] == "Kayak"
        [image] = shown["document"]["images"]
        assert kubo.cat(image) == photo.read_bytes()
        assert image in kubo.pins()
    # nothing went to the embedded store
    local = LocalStore(Path(market.cli.env["P2PCHAIN_DATA_DIR"]) / "ipfs")
    assert not local.has(image)
    # with the node gone, show still gives the on-chain terms and says what is missing
    shown = json.loads(market("listing", "show", listing_id, "--json").stdout)
    assert shown["terms"]["price"] == str(10**18) and shown["document_error"]
