"""The README's first command: the demo runs end to end on the embedded chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_every_step_and_reports_states(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=repo_root,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for expected in (
        "list car",
        "buyer releases the rent",
        "owner returns the deposit",
        "trade state: COMPLETED",
        "buy signed listing",
        "arbitrator rules",
        "trade state: RULED",
        "Reputation",
        "Gas used",
    ):
        assert expected in out, f"missing {expected!r} in demo output"
    assert "Traceback" not in out + result.stderr
