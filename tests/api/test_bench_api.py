"""scripts/bench_api.py runs end to end on a tiny workload (figures are not asserted)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def test_bench_api_writes_a_report_with_zero_errors(tmp_path: Path, repo_root: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: run `make browser` (Debian package wrk)")
    sys.path.insert(0, str(repo_root / "scripts"))
    try:
        import bench_api
    finally:
        sys.path.pop(0)
    out = tmp_path / "bench.md"
    argv = ["--listings", "3", "--duration", "1", "--connections", "2", "--threads", "1"]
    assert bench_api.main([*argv, "--out", str(out)]) == 0
    report = out.read_text()
    assert "| search |" in report and "| detail |" in report


def test_wrk_output_is_parsed_with_errors_counted(repo_root: Path) -> None:
    sys.path.insert(0, str(repo_root / "scripts"))
    try:
        import bench_api
    finally:
        sys.path.pop(0)
    output = """Running 1s test @ http://127.0.0.1:1
  Latency Distribution
     50%    1.50ms
     75%    2.00ms
     90%  900.00us
     99%    1.20s
  1234 requests in 1.00s, 1.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1234.50
"""
    result = bench_api.parse_wrk("search", output, 3)
    assert (result.requests, result.rps, result.errors) == (1234, 1234.5, 7)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (1.5, 0.9, 1200.0)
    with pytest.raises(RuntimeError, match="cannot read"):
        bench_api.parse_wrk("search", "garbage", 1)
