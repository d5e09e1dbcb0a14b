"""Smoke test of ``scripts/bench_cli.py`` (a tiny run; the timing itself is never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_cli_writes_its_report(tmp_path: Path) -> None:
    report = tmp_path / "bench-cli.md"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_cli.py"), "--runs", "1",
         "--report", str(report)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for noun in ("wallet", "trade", "index", "api", "demo", "deploy", "rate", "reputation"):
        assert f"p2pchain {noun} --help" in result.stdout  # every registered noun is measured
    assert "heavy modules after --help: []" in result.stdout
    text = report.read_text(encoding="utf-8")
    assert "| `p2pchain wallet --help` |" in text and "Worst median" in text
