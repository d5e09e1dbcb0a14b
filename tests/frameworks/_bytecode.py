"""p2pchain's compiled contracts, for comparison with what ape and brownie build."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from p2pchain._artifacts import list_artifacts, load_artifact


@dataclass(frozen=True)
class Code:
    """A contract's creation code and deployed (runtime) code, 0x-prefixed lowercase hex."""

    creation: str
    runtime: str


def normalise(code: str) -> str:
    """``0x``-prefixed lowercase hex, whichever way a framework wrote it."""
    code = code.lower()
    return code if code.startswith("0x") else "0x" + code


def p2pchain_code() -> dict[str, Code]:
    """Every contract p2pchain ships (production and test fixtures), by name."""
    found: dict[str, Code] = {}
    for test in (False, True):
        for name in list_artifacts(test=test):
            artifact = load_artifact(name, test=test)
            found[name] = Code(normalise(artifact.bytecode), normalise(artifact.deployed_bytecode))
    return found


def differences(ours: Mapping[str, Code], theirs: Mapping[str, Code]) -> list[str]:
    """One line per contract of ours that the framework lacks or built differently."""
    lines = []
    for name, code in sorted(ours.items()):
        other = theirs.get(name)
        if other is None:
            lines.append(f"{name}: not built")
            continue
        if other.runtime != code.runtime:
            lines.append(f"{name}: deployed bytecode differs")
        if other.creation != code.creation:
            lines.append(f"{name}: creation bytecode differs")
    return lines
