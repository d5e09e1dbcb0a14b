"""Benchmarks that guard themselves: ratios to an in-run baseline, compared with committed ones.

Every benchmark measures p2pchain next to a baseline in the same run (web3.py's ``get_logs`` +
``process_log`` for the indexer, a minimal pre-encoded ASGI app for the API, ``cast send`` for
signing commands) and writes those ratios as JSON beside its report (``docs/bench-*.json``,
under ``higher_is_better``). The machines are shared and noisy; ratios of two things measured
side by side are not.

* ``--compare``: after ``make bench`` re-ran every benchmark, compare each report's ratios with
  the committed ones (``git show HEAD:docs/bench-*.json``); fail when one dropped by more than
  ``--tolerance`` (10%).
* ``--quick`` (``make bench-quick``, well under a minute): the indexer's ingest ratio over a small set
  of trades on a fresh Anvil, the best of ``--rounds``, compared with ``docs/bench-quick.json``.
  A change that slows ingest (an uncached checksum in the decode path cost 20%) fails it.
  ``--write`` records the measured ratio as the new committed one.

Usage: ``python scripts/bench_guard.py --quick [--write]`` or ``--compare``. Exit status 1 when
a ratio regressed, with one line per figure either way.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
QUICK = DOCS / "bench-quick.json"
TOLERANCE = 0.10


def _committed(path: Path) -> dict[str, Any] | None:
    """The committed version of a report's JSON (None if it is new)."""
    relative = path.relative_to(REPO).as_posix()
    done = subprocess.run(
        ["git", "show", f"HEAD:{relative}"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None
    value = json.loads(done.stdout)
    return value if isinstance(value, dict) else None


def _ratios(report: dict[str, Any]) -> dict[str, float]:
    found = report.get("higher_is_better", {})
    if not isinstance(found, dict):
        return {}
    return {str(k): float(v) for k, v in found.items() if isinstance(v, (int, float))}


def compare(now: dict[str, float], before: dict[str, float], tolerance: float, label: str) -> bool:
    """Print each figure next to its committed value; whether none dropped by more than
    ``tolerance``."""
    fine = True
    for key in sorted(before):
        if key not in now:
            print(f"{label} {key}: missing from the new report (was {before[key]:.3f})")
            fine = False
            continue
        change = now[key] / before[key] - 1 if before[key] else 0.0
        bad = change < -tolerance
        fine &= not bad
        verdict = "REGRESSED" if bad else "ok"
        print(
            f"{label} {key}: {now[key]:.3f} (committed {before[key]:.3f}, {change:+.1%}) {verdict}"
        )
    return fine


def compare_reports(tolerance: float) -> bool:
    """Every ``docs/bench-*.json`` against its committed version."""
    fine = True
    for path in sorted(DOCS.glob("bench-*.json")):
        if path == QUICK:
            continue
        before = _committed(path)
        if before is None:
            print(f"{path.name}: new, nothing to compare with")
            continue
        fine &= compare(
            _ratios(json.loads(path.read_text())), _ratios(before), tolerance, path.stem
        )
    return fine


def quick_ingest(trades: int, rounds: int) -> float:
    """The indexer's ingest ratio to web3.py's ``get_logs`` + ``process_log`` over ``trades``
    trades on a fresh Anvil: the best of ``rounds`` (each round measures both, side by side)."""
    import tempfile

    sys.path.insert(0, str(REPO / "scripts"))
    from bench_indexer import make_trades, measure_ingest, measure_web3_baseline

    from p2pchain import AnvilChain, MarketplaceClient, deploy

    best = 0.0
    with tempfile.TemporaryDirectory() as tmp, AnvilChain() as chain:
        deployer, seller_account, buyer_account = chain.accounts[:3]
        deployment = deploy(chain, deployer)
        seller = MarketplaceClient.connect(chain, account=seller_account, deployments=deployment)
        make_trades(seller, seller.with_account(buyer_account), trades, 100)
        measure_ingest(chain, deployment, f"sqlite:///{tmp}/warm.sqlite", "sqlite")  # warm-up
        for index in range(rounds):
            _, baseline = measure_web3_baseline(chain, deployment)
            ingest = measure_ingest(chain, deployment, f"sqlite:///{tmp}/{index}.sqlite", "sqlite")
            ratio = ingest.per_second / baseline
            print(
                f"round {index + 1}: ingest {ingest.per_second:,.0f} events/s, web3.py"
                f" {baseline:,.0f} events/s, ratio {ratio:.2f}"
            )
            best = max(best, ratio)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="the short guard CI runs")
    mode.add_argument("--compare", action="store_true", help="compare re-run reports")
    parser.add_argument("--write", action="store_true", help="record the quick ratio")
    parser.add_argument("--trades", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    if not 0 < args.tolerance < 1 or args.trades < 10 or not 1 <= args.rounds <= 20:
        parser.error("--tolerance between 0 and 1, --trades at least 10, --rounds 1 to 20")
    if args.compare:
        fine = compare_reports(args.tolerance)
    else:
        ratio = quick_ingest(args.trades, args.rounds)
        now = {"ingest_ratio_sqlite": ratio}
        if args.write:
            QUICK.write_text(
                json.dumps(
                    {"higher_is_better": now, "trades": args.trades, "rounds": args.rounds},
                    indent=2,
                )
                + "\n"
            )
            print(f"recorded in {QUICK.relative_to(REPO)}")
            return 0
        if not QUICK.exists():
            print(f"no {QUICK.name}: record one with --quick --write")
            return 1
        fine = compare(now, _ratios(json.loads(QUICK.read_text())), args.tolerance, "quick")
    print("benchmarks: no ratio regressed" if fine else "benchmarks: a ratio regressed")
    return 0 if fine else 1


if __name__ == "__main__":
    sys.exit(main())
