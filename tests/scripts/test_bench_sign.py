"""The signing benchmark and the benchmark guard, on tiny workloads (smoke tests of the scripts
and of the guard's arithmetic, not timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.anvil
def test_bench_sign_measures_against_cast_and_counts_requests(
    repo_root: Path, tmp_path: Path
) -> None:
    report = tmp_path / "bench-sign.md"
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "bench_sign.py"), "--runs", "1",
         "--report", str(report)],
        capture_output=True, text=True, timeout=600, cwd=repo_root, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    text = report.read_text()
    for command in ("cast send direct", "trade buy latency", "trade buy unlocked"):
        assert f"`{command}`" in text
    figures = json.loads(report.with_suffix(".json").read_text())
    assert set(figures["higher_is_better"]) == {"cast_vs_trade_buy", "cast_vs_listing_create"}
    assert all(0 < v < 10 for v in figures["higher_is_better"].values())
    assert figures["requests_per_buy"] <= 8  # through the proxy, a batch is one request
    assert figures["unlocked_s"] > 0


def test_the_guard_fails_a_ratio_that_dropped_more_than_the_tolerance(repo_root: Path) -> None:
    sys.path.insert(0, str(repo_root / "scripts"))
    from bench_guard import compare

    before = {"ingest_ratio_sqlite": 8.0, "cast_vs_trade_buy": 0.6}
    assert compare({"ingest_ratio_sqlite": 7.3, "cast_vs_trade_buy": 0.7}, before, 0.1, "t")
    assert not compare({"ingest_ratio_sqlite": 7.1, "cast_vs_trade_buy": 0.7}, before, 0.1, "t")
    assert not compare({"ingest_ratio_sqlite": 9.0}, before, 0.1, "t")  # a figure went missing
    committed = json.loads((repo_root / "docs" / "bench-quick.json").read_text())
    assert committed["higher_is_better"]["ingest_ratio_sqlite"] > 1
