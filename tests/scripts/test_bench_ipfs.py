"""scripts/bench_ipfs.py runs end to end on a small file (figures are not asserted)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def test_bench_ipfs_writes_a_report(tmp_path: Path, repo_root: Path) -> None:
    if shutil.which("ipfs_cid") is None:
        pytest.fail("ipfs_cid is not installed: run `make oracles` (Debian package ipfs-cid)")
    sys.path.insert(0, str(repo_root / "scripts"))
    try:
        import bench_ipfs
    finally:
        sys.path.pop(0)
    out = tmp_path / "bench.md"
    assert bench_ipfs.main(["--size-mb", "2", "--runs", "1", "--out", str(out)]) == 0
    report = out.read_text()
    assert "all three agree: True" in report
    assert "MB/s" in report
