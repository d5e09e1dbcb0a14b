"""The indexer benchmark runs end to end on a tiny workload (a smoke test, not a timing)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.anvil
def test_bench_indexer_runs_on_both_engines_and_writes_its_report(
    repo_root: Path, tmp_path: Path, postgres_url: str
) -> None:
    report = tmp_path / "bench-indexer.md"
    result = subprocess.run(
        [
            sys.executable, str(repo_root / "scripts" / "bench_indexer.py"),
            "--trades", "6", "--batch", "3", "--listings", "300", "--queries", "16",
            "--postgres", postgres_url, "--report", str(report),
        ],
        capture_output=True, text=True, timeout=600, cwd=repo_root, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures["ingest"]) == set(figures["search_p95_ms"]) == {"sqlite", "postgresql"}
    assert set(figures["radius_p95_ms"]) == {"sqlite", "postgresql"}
    assert all(ratio > 0 for ratio in figures["ingest_ratio"].values())  # the baseline ran
    text = report.read_text()
    for engine in ("sqlite", "postgresql"):  # six trades are thirty events, on both engines
        assert re.search(rf"^\| {engine} \| 30 \|", text, re.MULTILINE), text
        assert re.search(rf"^\| {engine} \| 300 \| 16 \|", text, re.MULTILINE), text
        assert re.search(rf"^\| {engine}, radius \| 300 \| 16 \|", text, re.MULTILINE), text


def test_bench_indexer_refuses_bad_arguments(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "bench_indexer.py"), "--trades", "0"],
        capture_output=True, text=True, timeout=120, cwd=repo_root, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--trades must be at least 1" in result.stderr
    assert "Traceback" not in result.stderr
