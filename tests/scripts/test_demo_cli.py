"""``p2pchain demo``: through typer's runner and through the installed entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from p2pchain.cli import app


def _entry_point() -> list[str]:
    exe = shutil.which("p2pchain", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-c", "from p2pchain.cli import main; main()"]


def test_demo_json_is_the_whole_summary() -> None:
    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert summary["network"] == "embedded"
    assert summary["deployment"]["marketplace"].startswith("0x")
    assert summary["found_via"] == "indexer search"
    trades = {t["name"]: t for t in summary["trades"]}
    bookings = {b["name"]: b for b in summary["bookings"]}
    assert bookings["weekend"]["state"] == "COMPLETED" and bookings["weekend"]["rent"] == str(
        5 * 10**17
    )
    assert bookings["next weekend"]["state"] == "BOOKED"
    assert "already booked" in summary["refused"]
    assert trades["helmet"]["state"] == "RULED" and trades["helmet"]["signed_listing"]
    assert trades["helmet"]["buyer_share"] == str(3 * 10**16)  # wei as decimal strings
    parties = {p["role"]: p for p in summary["parties"]}
    assert {r: parties[r]["payout"] for r in parties} == {
        r: parties[r]["expected_payout"] for r in parties
    }
    assert (parties["seller"]["average"], parties["buyer"]["average"]) == (5.0, 4.0)
    sent = [s for s in summary["steps"] if s["tx_hash"]]
    after_setup = [s["gas_used"] for s in sent if s["section"] != "setup"]
    assert summary["total_gas"] == sum(after_setup) and all(s["gas_used"] > 21_000 for s in sent)
    offer = summary["offer"]
    assert offer["state"] == "COMPLETED" and offer["offered"] == 36 * 10**6
    assert summary["ride_matches"] == [1, 1]
    hint = summary["price_hint"]
    assert (hint["trades"], hint["median"], hint["live"]) == (6, 3_650_000_000_000_000, 1)


def test_demo_refuses_an_unknown_network() -> None:
    result = CliRunner().invoke(app, ["demo", "--network", "mainnet"])
    assert result.exit_code == 2
    assert "mainnet" in result.output and "Traceback" not in result.output


def test_demo_without_anvil_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("P2PCHAIN_NODE_MODULES", str(tmp_path))  # an empty node_modules
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(app, ["demo", "--network", "anvil"])
    assert result.exit_code == 1
    expected = (
        "error: anvil not found: run `npm install` in the p2pchain project"
        " (or set P2PCHAIN_NODE_MODULES, or put it on PATH)"
    )
    assert result.stderr.strip().splitlines() == [expected]


def test_installed_entry_point_runs_the_demo(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_entry_point(), "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # works outside the checkout
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for expected in (
        "books Sat", "refused, nothing sent", "confirms the return", "rules:", "Reputation",
        "Gas used", "as the terms say",
    ):  # fmt: skip
        assert expected in result.stdout
