"""p2pchain's compiled contracts, for comparison with what ape and brownie build."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from p2pchain.compiler._artifacts import (
    SOLC_METADATA,
    list_artifacts,
    load_artifact,
    strip_metadata,
)
from p2pchain.ipfs._importer import compute_cid
from p2pchain.ipfs._multiformats import b58encode


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


def p2pchain_metadata() -> dict[str, str]:
    """The solc metadata JSON of every contract p2pchain ships, by its IPFS hash (CIDv0)."""
    found: dict[str, str] = {}
    for test in (False, True):
        for name in list_artifacts(test=test):
            metadata = load_artifact(name, test=test).metadata
            found[compute_cid(metadata.encode("utf-8"), cid_version=0)] = metadata
    return found


def without_metadata(code: str) -> str:
    """``code`` with the hash of every solc metadata trailer zeroed (see ``strip_metadata``)."""
    return "0x" + strip_metadata(bytes.fromhex(code.removeprefix("0x"))).hex()


def metadata_trailers(code: str) -> list[tuple[str, str]]:
    """Every solc metadata trailer in ``code``, in order: (IPFS hash as CIDv0, solc version)."""
    return [
        (b58encode(ipfs), ".".join(str(part) for part in solc))
        for ipfs, solc in SOLC_METADATA.findall(bytes.fromhex(code.removeprefix("0x")))
    ]


def differences(
    ours: Mapping[str, Code], theirs: Mapping[str, Code], *, metadata: bool = True
) -> list[str]:
    """One line per contract of ours that the framework lacks or built differently.

    Args:
        metadata: Compare the metadata hashes too; False compares the code with them zeroed.
    """
    same = (
        (lambda a, b: a == b)
        if metadata
        else (lambda a, b: without_metadata(a) == without_metadata(b))
    )
    lines = []
    for name, code in sorted(ours.items()):
        other = theirs.get(name)
        if other is None:
            lines.append(f"{name}: not built")
            continue
        if not same(other.runtime, code.runtime):
            lines.append(f"{name}: deployed bytecode differs")
        if not same(other.creation, code.creation):
            lines.append(f"{name}: creation bytecode differs")
    return lines


def renamed_metadata(metadata: str, ours: str, theirs: str) -> str:
    """solc's metadata JSON as another build, remapping ``@openzeppelin/contracts`` to
    ``theirs`` instead of ``ours``, writes it: the same sources under other unit names.

    Args:
        metadata: The metadata JSON of one of p2pchain's contracts.
        ours: p2pchain's remapping, ``@openzeppelin/=node_modules/@openzeppelin/``.
        theirs: The other build's, e.g. ``@openzeppelin/contracts=contracts/.cache/...``.
    """

    def target(remapping: str, unit: str) -> str:
        prefix, _, path = remapping.partition("=")
        return path + unit.removeprefix(prefix)

    import_prefix = "@openzeppelin/contracts/"
    old, new = target(ours, import_prefix), target(theirs, import_prefix)
    data = json.loads(metadata)
    data["sources"] = {
        (new + unit.removeprefix(old) if unit.startswith(old) else unit): source
        for unit, source in data["sources"].items()
    }
    data["settings"]["remappings"] = [f":{theirs}"]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def unexplained_metadata(
    ours: Mapping[str, Code],
    theirs: Mapping[str, Code],
    ours_remap: str,
    theirs_remap: str,
    solc_version: str,
) -> list[str]:
    """One line per metadata trailer of the framework's build that is not exactly p2pchain's
    metadata under the framework's source unit names (see :func:`renamed_metadata`), or that
    names another solc version."""
    by_cid = p2pchain_metadata()
    lines = []
    for name, code in sorted(ours.items()):
        other = theirs[name]
        for kind, mine, built in (
            ("creation", code.creation, other.creation),
            ("runtime", code.runtime, other.runtime),
        ):
            lines += _unexplained(
                f"{name} {kind}",
                metadata_trailers(mine),
                metadata_trailers(built),
                by_cid,
                (ours_remap, theirs_remap, solc_version),
            )
    return lines


def _unexplained(
    label: str,
    mine: Sequence[tuple[str, str]],
    built: Sequence[tuple[str, str]],
    by_cid: Mapping[str, str],
    setup: tuple[str, str, str],
) -> list[str]:
    ours_remap, theirs_remap, solc_version = setup
    if len(mine) != len(built):
        return [f"{label}: {len(built)} metadata trailers, p2pchain has {len(mine)}"]
    lines = []
    for (our_cid, _), (cid, solc) in zip(mine, built, strict=True):
        if our_cid not in by_cid:
            lines.append(f"{label}: p2pchain's metadata {our_cid} is no shipped contract's")
            continue
        expected = compute_cid(
            renamed_metadata(by_cid[our_cid], ours_remap, theirs_remap).encode("utf-8"),
            cid_version=0,
        )
        if cid != expected or solc != solc_version:
            lines.append(f"{label}: metadata {cid} (solc {solc}), expected {expected}")
    return lines
