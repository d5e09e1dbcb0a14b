"""Slither on the contracts, gated by a triage file.

Runs slither (PyPI ``slither-analyzer``, pinned in requirements-dev.lock) on the top-level
contracts in ``contracts/`` (each file that no other one imports, so ``Marketplace.sol``, which
brings in ``Reputation.sol``, the interfaces and the types), compiled as the project compiles them:
p2pchain's offline solc 0.8.30, viaIR, optimizer at 1,000,000 runs, shanghai, OpenZeppelin from
node_modules. Findings in OpenZeppelin (``node_modules``) are filtered out; the test mocks in
``contracts/test/`` are not compiled at all (nothing the analysed contracts import lives there).

Every High and Medium finding must be in ``tests/contracts/slither-triage.json`` (reasons in
``docs/slither-triage.md``), matched on detector + contract + function, never on line numbers,
so unrelated edits do not disturb the gate. Anything else fails it.

Usage: ``python scripts/slither_check.py`` (``make slither``); exits 1 on an untriaged High or
Medium finding. ``tests/contracts/test_slither.py`` runs the same check in the test suite.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/slither_check.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchain.compiler._solc import ensure_solc

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "tests" / "contracts" / "slither-triage.json"
#: Impacts that gate: each finding of these must be triaged.
GATED = ("High", "Medium")
#: As p2pchain compiles (p2pchain/_solc.py: compiler_settings()).
SOLC_ARGS = "--via-ir --optimize --optimize-runs 1000000 --evm-version shanghai"
REMAPS = "@openzeppelin/=node_modules/@openzeppelin/"


@dataclass(frozen=True)
class Finding:
    """One slither result, reduced to what the triage matches on."""

    check: str
    impact: str
    confidence: str
    contract: str
    function: str
    description: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.check, self.contract, self.function)


def targets(root: Path = ROOT) -> list[Path]:
    """Top-level contract files that no other top-level file imports."""
    files = sorted((root / "contracts").glob("*.sol"))
    sources = {f: f.read_text() for f in files}
    imported = {
        f
        for f in files
        for other, text in sources.items()
        if other != f and re.search(rf"""import\s[^;]*["']\./{re.escape(f.name)}["']""", text)
    }
    return [f for f in files if f not in imported]


def _locate(element: dict[str, Any]) -> tuple[str, str]:
    """(contract, function) of a result element, walking up its parents."""
    contract = function = ""
    node: dict[str, Any] | None = element
    while node:
        kind = node.get("type")
        if kind == "function" and not function:
            function = node["name"]
        elif kind == "contract" and not contract:
            contract = node["name"]
        node = node.get("type_specific_fields", {}).get("parent")
    return contract, function


def findings_from_json(report: dict[str, Any]) -> list[Finding]:
    """Findings from slither's ``--json`` output (its first element locates each)."""
    if not report.get("success"):
        raise RuntimeError(f"slither failed: {report.get('error')}")
    found = []
    for result in report.get("results", {}).get("detectors", []):
        elements = result.get("elements") or [{}]
        contract, function = _locate(elements[0])
        found.append(
            Finding(
                check=result["check"],
                impact=result["impact"],
                confidence=result["confidence"],
                contract=contract,
                function=function,
                description=" ".join(result["description"].split()),
            )
        )
    return found


def run_slither(root: Path = ROOT, timeout: float = 600) -> list[Finding]:
    """Run slither on every target with the project's compiler settings; all findings."""
    solc = ensure_solc()
    found: dict[tuple[str, str], Finding] = {}
    for target in targets(root):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "slither.json"
            cmd = [
                sys.executable, "-m", "slither", str(target.relative_to(root)),
                "--solc", str(solc),
                "--solc-args", SOLC_ARGS,
                "--solc-remaps", REMAPS,
                "--filter-paths", "node_modules",
                "--json", str(out),
                "--disable-color",
            ]  # fmt: skip
            proc = subprocess.run(
                cmd, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
            )
            if not out.exists():
                raise RuntimeError(
                    f"slither wrote no report (exit {proc.returncode}):\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                )
            for finding in findings_from_json(json.loads(out.read_text())):
                found.setdefault((finding.check, finding.description), finding)
    return list(found.values())


def load_triage(path: Path = TRIAGE) -> list[dict[str, str]]:
    """The triaged findings: each has check, contract, function, impact, verdict, reason."""
    entries: list[dict[str, str]] = json.loads(path.read_text())["findings"]
    for entry in entries:
        missing = {"check", "contract", "function", "verdict", "reason"} - entry.keys()
        if missing or not entry["reason"].strip():
            raise ValueError(f"triage entry {entry} lacks {sorted(missing) or ['a reason']}")
    return entries


def untriaged(findings: Iterable[Finding], triage: list[dict[str, str]]) -> list[Finding]:
    """Gated (High, Medium) findings that no triage entry covers."""
    known = {(e["check"], e["contract"], e["function"]) for e in triage}
    return [f for f in findings if f.impact in GATED and f.key not in known]


def stale(findings: Iterable[Finding], triage: list[dict[str, str]]) -> list[dict[str, str]]:
    """Triage entries that no current finding matches (fixed, or renamed)."""
    keys = {f.key for f in findings}
    return [e for e in triage if (e["check"], e["contract"], e["function"]) not in keys]


def main(argv: list[str] | None = None) -> int:
    findings = run_slither()
    triage = load_triage()
    verdicts = {(e["check"], e["contract"], e["function"]): e["verdict"] for e in triage}
    counts = Counter(f.impact for f in findings)
    print(
        "slither: "
        + ", ".join(
            f"{counts[i]} {i}" for i in ("High", "Medium", "Low", "Informational", "Optimization")
        )
    )
    for f in sorted(
        findings, key=lambda f: (GATED.index(f.impact) if f.impact in GATED else 9, f.key)
    ):
        if f.impact in GATED:
            verdict = verdicts.get(f.key, "UNTRIAGED")
            print(f"  {f.impact:6} {f.check} {f.contract}.{f.function}: {verdict}")
    for entry in stale(findings, triage):
        print(
            f"  note: triage entry no longer reported: {entry['check']} "
            f"{entry['contract']}.{entry['function']}"
        )
    bad = untriaged(findings, triage)
    for f in bad:
        print(f"UNTRIAGED {f.impact} {f.check} in {f.contract}.{f.function}: {f.description}")
    if bad:
        print(
            f"{len(bad)} untriaged High/Medium finding(s): fix them, or classify them in "
            f"{TRIAGE.relative_to(ROOT)} and docs/slither-triage.md"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
