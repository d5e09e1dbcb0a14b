"""Slither on the contracts, gated by the triage in slither-triage.json (``make slither`` alone).

The real run uses real slither and real solc (p2pchain's offline wrapper, the project's compiler
settings). The matching logic is also checked on synthetic results, so a finding that is not
triaged is known to fail the gate, and one whose lines moved is known not to.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def check() -> ModuleType:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import slither_check as module
    finally:
        sys.path.pop(0)
    return module


def test_slither_reports_no_untriaged_high_or_medium(check: ModuleType) -> None:
    findings = check.run_slither()
    # Slither really analysed the marketplace (it always reports some Low/Informational there).
    assert any(f.contract == "Marketplace" for f in findings), findings
    assert not any("node_modules" in f.description for f in findings)
    bad = check.untriaged(findings, check.load_triage())
    assert not bad, "untriaged slither findings:\n" + "\n".join(
        f"{f.impact} {f.check} {f.contract}.{f.function}: {f.description}" for f in bad
    )


def test_slither_targets_are_the_top_level_contracts(check: ModuleType) -> None:
    # Reputation.sol is imported by Marketplace.sol; the mocks in contracts/test are not targets.
    assert [p.name for p in check.targets()] == ["Marketplace.sol"]


def _finding(module: ModuleType, **fields: Any) -> Any:
    base = {
        "check": "uninitialized-local",
        "impact": "Medium",
        "confidence": "Medium",
        "contract": "Marketplace",
        "function": "proposeSettlement",
        "description": "proposer (contracts/Marketplace.sol#265) is a local variable never initialized",
    }
    return module.Finding(**{**base, **fields})


def test_untriaged_finding_fails_the_gate(check: ModuleType) -> None:
    triage = check.load_triage()
    known = _finding(check)
    moved = _finding(check, description="proposer (contracts/Marketplace.sol#999) ...")
    other_function = _finding(check, function="acceptSettlement")
    other_contract = _finding(check, contract="Reputation")
    new_high = _finding(check, check="arbitrary-send-eth", impact="High", function="withdraw")
    low = _finding(check, check="timestamp", impact="Low", function="finalize")
    flagged = check.untriaged([known, moved, other_function, other_contract, new_high, low], triage)
    assert flagged == [other_function, other_contract, new_high]


def test_findings_are_located_by_contract_and_function(check: ModuleType) -> None:
    contract = {"type": "contract", "name": "Marketplace"}
    function = {
        "type": "function",
        "name": "consumeRating",
        "type_specific_fields": {
            "parent": contract,
            "signature": "consumeRating(bytes32,Trade,address)",
        },
    }
    report = {
        "success": True,
        "error": None,
        "results": {
            "detectors": [
                {
                    "check": "uninitialized-local",
                    "impact": "Medium",
                    "confidence": "Medium",
                    "description": "bit is a local variable never initialized\n",
                    "elements": [
                        {
                            "type": "variable",
                            "name": "bit",
                            "type_specific_fields": {"parent": function},
                        }
                    ],
                },
                {
                    "check": "timestamp",
                    "impact": "Low",
                    "confidence": "Medium",
                    "description": "uses timestamp",
                    "elements": [
                        {"type": "node", "name": "x", "type_specific_fields": {"parent": function}},
                        function,
                    ],
                },
                {
                    "check": "naming-convention",
                    "impact": "Informational",
                    "confidence": "High",
                    "description": "not in mixedCase",
                    "elements": [
                        {
                            "type": "variable",
                            "name": "REPUTATION",
                            "type_specific_fields": {"parent": contract},
                        }
                    ],
                },
            ]
        },
    }
    found = check.findings_from_json(report)
    assert [f.key for f in found] == [
        ("uninitialized-local", "Marketplace", "consumeRating"),
        ("timestamp", "Marketplace", "consumeRating"),
        ("naming-convention", "Marketplace", ""),
    ]
    assert check.untriaged(found, check.load_triage()) == []
    with pytest.raises(RuntimeError, match="slither failed"):
        check.findings_from_json({"success": False, "error": "compilation failed"})


def test_triage_entries_are_gated_and_explained(check: ModuleType) -> None:
    for entry in check.load_triage():
        assert entry["impact"] in check.GATED, entry
        assert entry["verdict"] in ("false positive", "intended", "fixed", "accepted risk"), entry
        assert len(entry["reason"]) > 40, entry
