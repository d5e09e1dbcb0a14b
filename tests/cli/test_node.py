"""``p2pchain node``: a detached Anvil/Ganache from node_modules, found again by later commands."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .conftest import Cli, make_wallets


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("kind", ["anvil", "ganache"])
def test_node_start_status_fund_stop(cli: Cli, kind: str) -> None:
    started = cli.run("node", "start", "--kind", kind, "--json")
    assert started.returncode == 0, started.stderr
    record = json.loads(started.stdout)
    pid = record["pid"]
    try:
        assert record["url"].startswith("http://127.0.0.1:")
        assert record["permit2"] is True
        status = cli.run("node", "status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["chain_id"] == (31337 if kind == "anvil" else 1337)
        again = cli.run("node", "start", "--kind", kind)
        assert again.returncode == 1 and "already runs" in again.stderr

        address = make_wallets(("dora",))["dora"]
        funded = cli.run("node", "fund", "dora", "--amount", "12.5eth", "--json")
        assert funded.returncode == 0, funded.stderr
        assert json.loads(funded.stdout) == {"address": address, "balance": str(125 * 10**17)}
    finally:
        stopped = cli.run("node", "stop")
        if stopped.returncode != 0:
            os.kill(pid, 9)
    assert stopped.stdout.startswith(f"stopped {kind} (pid {pid})")
    assert _wait_gone(pid)
    status = cli.run("node", "status")
    assert status.returncode == 3 and "no local node is running" in status.stdout


def test_node_stop_without_a_node_says_so(cli: Cli) -> None:
    assert cli.fails("node", "stop") == "error: no local node is recorded: nothing to stop"


def test_node_stale_record_is_not_used(cli: Cli) -> None:
    folder = Path(cli.env["P2PCHAIN_DATA_DIR"])
    folder.mkdir(parents=True)
    (folder / "node.json").write_text(
        json.dumps({"kind": "anvil", "pid": 2**22 + 17, "port": 1, "url": "http://127.0.0.1:1"})
    )
    line = cli.fails("trade", "show", "0x" + "ab" * 32)
    assert (
        line == "error: no local node is running: run `p2pchain node start` (or pass --network URL)"
    )


def test_node_fund_refuses_a_bad_amount(cli: Cli) -> None:
    assert "unknown unit" in cli.fails("node", "fund", "0x" + "11" * 20, "--amount", "5 bananas")


def test_anvil_chain_survives_stop_and_start_unless_fresh(cli: Cli) -> None:
    """`node stop` no longer wipes the chain silently: balances, blocks and deployments come
    back with the next `node start`; `--fresh` starts over, and both say which it was."""
    address = make_wallets(("erin",))["erin"]

    def start(*extra: str) -> dict[str, object]:
        started = cli.run("node", "start", "--json", *extra)
        assert started.returncode == 0, started.stderr
        return dict(json.loads(started.stdout))

    first = start()
    assert first["restored"] is False
    assert first["permit2"] is True  # Permit2 at its canonical address, as on a real chain
    try:
        assert cli.run("node", "fund", "erin", "--amount", "3eth").returncode == 0
        deployed = cli.run("deploy", "--json")
        assert deployed.returncode == 0, deployed.stderr
    finally:
        stopped = cli.run("node", "stop")
    assert "its chain is kept in" in stopped.stdout, stopped.stdout
    assert _wait_gone(int(str(first["pid"])))

    again = start()
    try:
        assert again["restored"] is True
        assert again["permit2"] is True
        status = json.loads(cli.run("node", "status", "--json").stdout)
        assert status["block"] >= 1  # the deployment is still there
        from p2pchain.chain._nodes import RpcChain

        w3 = RpcChain(str(again["url"])).w3
        assert w3.eth.get_balance(address) == 3 * 10**18
        shown = cli.run("trade", "show", "0x" + "ab" * 32)  # the deployment answers again
        assert "no trade" in shown.stderr, shown.stderr
    finally:
        assert cli.run("node", "stop").returncode == 0
    assert _wait_gone(int(str(again["pid"])))

    fresh = start("--fresh")
    try:
        assert fresh["restored"] is False
        assert json.loads(cli.run("node", "status", "--json").stdout)["block"] == 0
    finally:
        cli.run("node", "stop")
