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

from p2pchain._chains import free_port
from p2pchain.cli import app
from p2pchain.ipfs import KuboBackend


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
