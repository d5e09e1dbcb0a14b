"""Fuzzing campaigns against the Marketplace, longer than the test suite's, with their figures.

Two fuzzers, run one after the other:

* **hypothesis**: the stateful machine in ``tests/contracts/test_invariants.py`` (every call
  predicted to the exact custom error, on the embedded chain), with ``--examples`` examples. The
  figures are the share of each successful transition among all successful transactions.
* **forge**: Foundry's invariant fuzzer on ``tests/foundry/`` (a handler contract and five
  invariants), compiled offline through p2pchain's solc wrapper, ``--forge-runs`` runs of
  ``--forge-depth`` calls per invariant. The figures are the calls and reverts per handler action
  (an action reverts exactly when the marketplace call it makes reverts).

Usage: ``python scripts/fuzz.py [--examples 250] [--forge-runs 256] [--forge-depth 200]
[--only forge|hypothesis]`` (``make fuzz``). Prints the figures and writes ``docs/fuzz-report.md``.
Exits 1 if any invariant failed. The test suite runs both fuzzers briefly
(``tests/contracts/test_invariants.py``, ``tests/foundry/test_forge_invariants.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/fuzz.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchain._paths import find_node_tool
from p2pchain.compiler._solc import ensure_solc

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "fuzz-report.md"
#: Foundry settings for tests/foundry (everything but the compiler path, which is machine specific).
FORGE_CONFIG = "tests/foundry/foundry.toml"
HYPOTHESIS_TEST = (
    "tests/contracts/test_invariants.py::test_marketplace_invariants_hold_under_random_actors"
)
#: The Bookings contract's state machine (run in the same pytest session).
BOOKING_TEST = "tests/contracts/test_booking_invariants.py::test_booking_invariants"
#: Transitions the hypothesis machine must reach often (the arbitrator's paths and settlements).
KEY_TRANSITIONS = ("dispute", "rule", "claimRulingTimeout", "proposeSettlement", "acceptSettlement")


# ================================================================================ forge


@dataclass
class ForgeInvariant:
    """One ``invariant_*`` function's campaign, as forge reports it."""

    name: str
    passed: bool
    reason: str | None
    runs: int
    calls: int
    reverts: int
    #: handler action -> (calls, reverts)
    actions: dict[str, tuple[int, int]]


@dataclass
class ForgeCampaign:
    """A ``forge test`` of tests/foundry: one campaign per invariant."""

    seed: int
    runs: int
    depth: int
    build_seconds: float
    test_seconds: float
    invariants: list[ForgeInvariant] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.invariants) and all(inv.passed for inv in self.invariants)

    @property
    def calls(self) -> int:
        return sum(inv.calls for inv in self.invariants)

    @property
    def reverts(self) -> int:
        return sum(inv.reverts for inv in self.invariants)

    def actions(self) -> dict[str, tuple[int, int]]:
        """Calls and reverts per handler action, summed over every invariant's campaign."""
        total: dict[str, tuple[int, int]] = {}
        for inv in self.invariants:
            for action, (calls, reverts) in inv.actions.items():
                c, r = total.get(action, (0, 0))
                total[action] = (c + calls, r + reverts)
        return dict(sorted(total.items()))


def forge_binary() -> Path:
    """The pinned forge from ``node_modules`` (npm ``@foundry-rs/forge-linux-amd64``)."""
    forge = find_node_tool("forge", ROOT / "node_modules")
    if forge is None:
        raise SystemExit("forge not found: run `make node` (npm @foundry-rs/forge-linux-amd64)")
    return forge


def forge_command(*args: str) -> tuple[list[str], dict[str, str]]:
    """A forge command for tests/foundry and its environment: offline, compiled by our solc."""
    solc = ensure_solc()
    cmd = [str(forge_binary()), *args, "--root", str(ROOT), "--use", str(solc), "--offline"]
    env = {**os.environ, "FOUNDRY_CONFIG": FORGE_CONFIG, "FOUNDRY_OFFLINE": "true"}
    return cmd, env


def run_forge(
    runs: int, depth: int, seed: int | None = None, timeout: float = 3_600
) -> ForgeCampaign:
    """Build tests/foundry, then run its invariants with ``runs`` runs of ``depth`` calls each.

    Args:
        runs: Runs (fresh deployments) per invariant.
        depth: Handler calls per run.
        seed: Fuzzer seed; random if None (it is in the result, to replay a failure).
        timeout: Seconds before forge is stopped.

    Returns:
        The campaign's figures; ``passed`` is False if an invariant failed.
    """
    seed = random.randrange(2**63) if seed is None else seed
    build_cmd, env = forge_command("build")
    started = time.monotonic()
    build = subprocess.run(
        build_cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    built = time.monotonic()
    if build.returncode != 0:
        raise RuntimeError(f"forge build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}")
    test_cmd, env = forge_command("test", "--json", "--fuzz-seed", str(seed))
    env["FOUNDRY_INVARIANT_RUNS"] = str(runs)
    env["FOUNDRY_INVARIANT_DEPTH"] = str(depth)
    proc = subprocess.run(
        test_cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    done = time.monotonic()
    campaign = ForgeCampaign(
        seed=seed,
        runs=runs,
        depth=depth,
        build_seconds=built - started,
        test_seconds=done - built,
        output=proc.stdout[-5000:] + proc.stderr[-5000:],
    )
    try:
        suites: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"forge test gave no JSON (exit {proc.returncode}):\n{campaign.output}"
        ) from exc
    for suite in suites.values():
        for name, result in suite["test_results"].items():
            campaign.invariants.append(_invariant(name, result))
    return campaign


def _invariant(name: str, result: dict[str, Any]) -> ForgeInvariant:
    kind = result.get("kind", {}).get("Invariant", {})
    actions = {
        key.rsplit(".", 1)[-1]: (int(m["calls"]), int(m["reverts"]))
        for key, m in kind.get("metrics", {}).items()
    }
    return ForgeInvariant(
        name=name.removesuffix("()"),
        passed=result["status"] == "Success",
        reason=result.get("reason"),
        runs=int(kind.get("runs", 0)),
        calls=int(kind.get("calls", 0)),
        reverts=int(kind.get("reverts", 0)),
        actions=actions,
    )


# ================================================================================ hypothesis


def run_hypothesis(
    examples: int, seed: int | None = None, timeout: float = 7_200
) -> dict[str, Any]:
    """Run the hypothesis machine with ``examples`` examples; return its counters and timing.

    Returns:
        ``{"stats": {label: count}, "seconds": wall time, "passed": bool, "output": tail}``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stats.json"
        env = {
            **os.environ,
            "P2PCHAIN_INVARIANT_EXAMPLES": str(examples),
            # the bookings machine runs beside it, with a fifth of the examples (longer steps)
            "P2PCHAIN_BOOKING_EXAMPLES": str(max(15, examples // 5)),
            "P2PCHAIN_INVARIANT_STATS": str(out),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        cmd = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", HYPOTHESIS_TEST,
            BOOKING_TEST,
        ]  # fmt: skip
        if seed is not None:
            cmd.append(f"--hypothesis-seed={seed}")
        started = time.monotonic()
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        seconds = time.monotonic() - started
        stats = json.loads(out.read_text()) if out.exists() else {}
    return {
        "stats": stats,
        "seconds": seconds,
        "passed": proc.returncode == 0,
        "output": proc.stdout[-5000:] + proc.stderr[-3000:],
    }


def transition_shares(stats: dict[str, int]) -> dict[str, tuple[int, int, float]]:
    """Per successful transition: (successes, attempts, share of all successful transactions).

    The machine counts every predicted call as ``"<function>: ok"`` or ``"<function>: <Error>"``.
    """
    attempts: dict[str, int] = {}
    ok: dict[str, int] = {}
    for label, count in stats.items():
        name, sep, outcome = label.partition(": ")
        if not sep or name.startswith(("invariant", "credited")):
            continue
        attempts[name] = attempts.get(name, 0) + count
        if outcome == "ok":
            ok[name] = ok.get(name, 0) + count
    total = sum(ok.values()) or 1
    rows = {name: (ok.get(name, 0), attempts[name], ok.get(name, 0) / total) for name in attempts}
    return dict(sorted(rows.items(), key=lambda kv: -kv[1][0]))


# ================================================================================ report


def render_report(hyp: dict[str, Any] | None, forge: ForgeCampaign | None, examples: int) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Fuzzing report",
        "",
        (
            f"Generated by `make fuzz` (`python scripts/fuzz.py`) on {now}, "
            f"{os.cpu_count()} CPU cores, Python {platform.python_version()}. "
            "Regenerate it rather than editing it."
        ),
        "",
    ]
    if hyp is not None:
        stats = hyp["stats"]
        steps = stats.get("invariant checks", 0) - stats.get("examples", 0)
        lines += [
            "## hypothesis state machine (`tests/contracts/test_invariants.py`)",
            "",
            (
                f"{stats.get('examples', 0)} examples ({examples} asked), {steps} steps, "
                f"{stats.get('calls', 0)} predicted calls, {stats.get('transactions', 0)} "
                f"successful transactions, {hyp['seconds']:.0f} s; "
                f"{'passed' if hyp['passed'] else '**FAILED**'}."
            ),
            "",
            "Share of each transition among all successful transactions (attempts include the",
            "calls the model predicted to revert, each with its exact error):",
            "",
            "| transition | successes | attempts | share |",
            "|---|---:|---:|---:|",
        ]
        for name, (ok, attempts, share) in transition_shares(stats).items():
            lines.append(f"| `{name}` | {ok} | {attempts} | {share:.1%} |")
        lines.append("")
    if forge is not None:
        lines += [
            "## Foundry invariants (`tests/foundry/`)",
            "",
            (
                f"forge 1.7.1, solc 0.8.30 (offline wrapper), seed {forge.seed}: {forge.runs} "
                f"runs x {forge.depth} calls per invariant; build {forge.build_seconds:.0f} s, "
                f"campaigns {forge.test_seconds:.0f} s; "
                f"{'passed' if forge.passed else '**FAILED**'}."
            ),
            "",
            "| invariant | result | runs | calls | reverts |",
            "|---|---|---:|---:|---:|",
        ]
        for inv in forge.invariants:
            result = "pass" if inv.passed else f"**FAIL**: {inv.reason}"
            lines.append(f"| `{inv.name}` | {result} | {inv.runs} | {inv.calls} | {inv.reverts} |")
        lines += [
            f"| all | | | {forge.calls} | {forge.reverts} |",
            "",
            "Handler actions over all campaigns (an action reverts exactly when its marketplace",
            "call reverts, so successes are transitions that happened):",
            "",
            "| action | calls | successes | success rate |",
            "|---|---:|---:|---:|",
        ]
        for action, (calls, reverts) in forge.actions().items():
            ok = calls - reverts
            lines.append(f"| `{action}` | {calls} | {ok} | {ok / max(calls, 1):.0%} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=250, help="hypothesis examples")
    parser.add_argument("--forge-runs", type=int, default=256, help="forge runs per invariant")
    parser.add_argument("--forge-depth", type=int, default=200, help="calls per forge run")
    parser.add_argument("--seed", type=int, default=None, help="seed for both fuzzers")
    parser.add_argument("--only", choices=["forge", "hypothesis"], default=None)
    parser.add_argument("--out", type=Path, default=REPORT, help="report file")
    parser.add_argument("--no-report", action="store_true", help="print only")
    args = parser.parse_args(argv)

    hyp = None
    forge = None
    if args.only in (None, "hypothesis"):
        print(f"hypothesis: {args.examples} examples ...", flush=True)
        hyp = run_hypothesis(args.examples, args.seed)
        if not hyp["passed"]:
            print(hyp["output"], file=sys.stderr)
    if args.only in (None, "forge"):
        print(f"forge: {args.forge_runs} runs x {args.forge_depth} calls ...", flush=True)
        forge = run_forge(args.forge_runs, args.forge_depth, args.seed)
        if not forge.passed:
            print(forge.output, file=sys.stderr)
    report = render_report(hyp, forge, args.examples)
    print(report)
    if not args.no_report:
        args.out.write_text(report)
        print(f"written to {args.out}")
    ok = (hyp is None or hyp["passed"]) and (forge is None or forge.passed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
