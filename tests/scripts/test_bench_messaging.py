"""The messaging benchmark runs end to end (small counts; the figures are not asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def test_bench_messaging_prints_its_three_figures(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = repo_root / "scripts" / "bench_messaging.py"
    spec = importlib.util.spec_from_file_location("bench_messaging", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_messaging"] = module
    spec.loader.exec_module(module)
    argv = ["--round-trips", "5", "--wrap", "50", "--inbox", "300", "--no-report"]
    assert module.main(argv) == 0
    out = capsys.readouterr().out
    assert "round trip through the loopback relay (5 messages" in out
    assert "messages/s" in out and "inbox of 300 messages" in out
