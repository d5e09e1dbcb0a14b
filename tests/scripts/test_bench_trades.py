"""The trades benchmark runs end to end on a tiny workload (a smoke test, not a timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.anvil
def test_bench_trades_runs_and_prints_figures(repo_root: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(repo_root / "scripts" / "bench_trades.py"),
            "--trades", "8", "--batch", "4", "--warmup", "2", "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=repo_root,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pipelined (rounds of 4)" in result.stdout
    assert "sequential (wait for each receipt)" in result.stdout
