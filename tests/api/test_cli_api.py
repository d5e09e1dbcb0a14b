"""``p2pchain api serve``: one-line errors for bad options, and the real server over a socket."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from api.conftest import ApiWorld, get_json
from p2pchain.chain._deploy import DeploymentsFile
from p2pchain.chain._nodes import free_port
from p2pchain.cli import app


def _entry_point() -> list[str]:
    exe = shutil.which("p2pchain", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-c", "from p2pchain.cli import main; main()"]


def test_api_help_lists_serve() -> None:
    result = CliRunner().invoke(app, ["api", "serve", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--network", "--index-db", "--ipfs-url", "--cors-origin"):
        assert option in result.output


def test_bad_cors_origin_is_one_line() -> None:
    result = CliRunner().invoke(
        app, ["api", "serve", "--network", "http://127.0.0.1:9", "--cors-origin", "ftp://x"]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: cors_origins: a CORS origin must be an http(s):// URL, got 'ftp://x'"
    ]


def test_bad_relay_is_one_line() -> None:
    result = CliRunner().invoke(
        app, ["api", "serve", "--network", "http://127.0.0.1:9", "--relay", "http://127.0.0.1:1"]
    )
    assert result.exit_code == 1
    expected = (
        "error: relays: invalid relay URL 'http://127.0.0.1:1': expected ws://host[:port] or"
        " wss://host"
    )
    assert result.output.strip().splitlines() == [expected]


def test_taken_port_is_one_line() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        result = CliRunner().invoke(
            app, ["api", "serve", "--port", str(port), "--network", "http://127.0.0.1:9"]
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_network_names_are_the_cli_s(tmp_path: Path) -> None:
    """`--network local` means the node `p2pchain node start` runs, as for every command."""
    env = {"P2PCHAIN_DATA_DIR": str(tmp_path / "data"), "P2PCHAIN_CONFIG": str(tmp_path / "c")}
    for args in (["--network", "local"], []):
        result = CliRunner().invoke(app, ["api", "serve", *args], env=env)
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == [
            "error: no local node is running: run `p2pchain node start` (or pass --network URL)"
        ]
    result = CliRunner().invoke(app, ["api", "serve", "--network", "mainnet"], env=env)
    assert result.exit_code == 1 and "unknown network 'mainnet'" in result.output


def test_unreachable_chain_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "api",
            "serve",
            "--port",
            str(free_port()),
            "--network",
            "http://127.0.0.1:9",
            "--ipfs-store",
            str(tmp_path / "ipfs"),
        ],
    )
    assert result.exit_code == 1
    assert "cannot reach the node" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_answers_over_a_socket_and_indexes_the_chain(bare: ApiWorld, tmp_path: Path) -> None:
    deployments = tmp_path / "deployments.json"
    DeploymentsFile(deployments).save(bare.services.client.deployment)
    port = free_port()
    env = {**os.environ, "P2PCHAIN_API_CONFIRMATIONS": "0", "P2PCHAIN_API_POLL_INTERVAL": "0.2"}
    argv = [
        *_entry_point(),
        "api",
        "serve",
        "--port",
        str(port),
        "--network",
        bare.chain.url,
        "--deployments",
        str(deployments),
        "--index-db",
        f"sqlite:///{tmp_path / 'index.sqlite'}",
        "--ipfs-store",
        str(bare.store.path),
    ]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        config = get_json(base + "/api/config")
        assert config["marketplace"] == bare.services.client.deployment.marketplace
        page = get_json(base + "/api/listings?text=bike")
        assert [item["title"] for item in page["items"]] == ["Road bike, 56 cm"]
    finally:
        process.terminate()
        process.wait(timeout=30)
