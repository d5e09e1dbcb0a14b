"""Foundry's invariant fuzzer on tests/foundry, briefly (``make fuzz`` runs the long campaign).

Real forge (npm ``@foundry-rs/forge-linux-amd64``), compiling offline through p2pchain's solc
wrapper with the project's settings. The test fails if an invariant fails, and also if the
campaign did not reach the transitions the invariants are about: a handler whose calls all
revert would pass every invariant while checking nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVARIANTS = {
    "invariant_escrowCoversWhatItOwes",
    "invariant_noTradePaysOutMoreThanItTookIn",
    "invariant_everyOpenTradeHasAnExit",
    "invariant_ratingsOnlyForFinalTrades",
    "invariant_modelMatchesChain",
}
#: Handler actions that must have succeeded (so made their transition) in the brief campaign.
MUST_SUCCEED = (
    "listAndBuy",
    "listAndBuyWithArbitrator",
    "buyMore",
    "release",
    "returnDeposit",
    "refund",
    "finalize",
    "dispute",
    "propose",
    "accept",
    "rule",
    "claimRulingTimeout",
    "rate",
    "withdraw",
)


def _successes(calls_reverts: tuple[int, int]) -> int:
    calls, reverts = calls_reverts
    return calls - reverts


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fuzz as module
    finally:
        sys.path.pop(0)
    return module


def test_forge_invariants_hold_and_are_exercised(fuzz: ModuleType) -> None:
    campaign = fuzz.run_forge(runs=16, depth=100, timeout=600)
    print(
        f"\nforge seed {campaign.seed}: build {campaign.build_seconds:.1f} s, "
        f"campaigns {campaign.test_seconds:.1f} s, {campaign.calls} calls, "
        f"{campaign.reverts} reverts"
    )
    for action, (calls, reverts) in campaign.actions().items():
        print(f"  {action}: {calls - reverts}/{calls}")
    failed = [f"{i.name}: {i.reason}" for i in campaign.invariants if not i.passed]
    assert not failed, f"seed {campaign.seed}: {failed}\n{campaign.output}"
    assert {i.name for i in campaign.invariants} == INVARIANTS
    for inv in campaign.invariants:
        assert (inv.runs, inv.calls) == (16, 16 * 100), inv
    actions = campaign.actions()
    missed = [a for a in MUST_SUCCEED if _successes(actions.get(a, (0, 0))) == 0]
    assert not missed, f"seed {campaign.seed}: no successful {missed}: {actions}"
