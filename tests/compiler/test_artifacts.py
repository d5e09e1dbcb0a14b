"""The shipped artifacts: fresh, loadable, tamper-evident."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from p2pchain._errors import ArtifactError
from p2pchain.compiler._artifacts import (
    ARTIFACTS_DIR_ENV,
    SOLC_METADATA,
    artifact_hash,
    clear_artifact_cache,
    hash_artifact_files,
    list_artifacts,
    load_artifact,
)
from p2pchain.compiler._solc import compile_contracts, default_artifacts_dir, write_artifacts

STANDINS = Path(__file__).parent / "standins"


def _json_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.json")}


def test_shipped_artifacts_match_a_fresh_compile(
    repo_root: Path, tmp_path: Path, solc_binary: Path
) -> None:
    """Fails when contracts/ changed without `make compile` (or the compile is not reproducible)."""
    fresh = tmp_path / "artifacts"
    write_artifacts(compile_contracts(repo_root), fresh)
    shipped = _json_files(default_artifacts_dir())
    rebuilt = _json_files(fresh)
    assert sorted(shipped) == sorted(rebuilt), "artifact files differ: run `make compile`"
    stale = [name for name in rebuilt if shipped[name] != rebuilt[name]]
    assert stale == [], f"stale artifacts {stale}: run `make compile` and commit p2pchain/artifacts"


@pytest.fixture
def standin_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, solc_binary: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(STANDINS, root)
    out = tmp_path / "artifacts"
    write_artifacts(compile_contracts(root), out)
    monkeypatch.setenv(ARTIFACTS_DIR_ENV, str(out))
    clear_artifact_cache()
    return out


def test_load_artifact_reads_every_field(standin_artifacts: Path) -> None:
    market = load_artifact("Marketplace")
    assert market.contract_name == "Marketplace"
    assert market.source_name == "contracts/Marketplace.sol"
    assert market.deployable
    assert {e.get("name") for e in market.abi} >= {"REPUTATION", "ping"}
    assert len(market.immutable_references) >= 2  # REPUTATION, RULING_WINDOW (maybe more uses)
    assert market.compiler_settings["evmVersion"] == "shanghai"
    assert load_artifact("Probe", test=True).source_name == "contracts/test/Probe.sol"
    assert list_artifacts() == ["Marketplace", "Reputation"]
    assert list_artifacts(test=True) == ["Probe"]


def test_masked_runtime_code_ignores_immutables(standin_artifacts: Path) -> None:
    market = load_artifact("Marketplace")
    code = bytearray(bytes.fromhex(market.deployed_bytecode[2:]))
    for ref in market.immutable_references:
        code[ref.start : ref.start + ref.length] = b"\x11" * ref.length
    assert market.matches_runtime_code(bytes(code))
    code[0] ^= 0xFF
    assert not market.matches_runtime_code(bytes(code))
    assert not market.matches_runtime_code(bytes(code[:-1]))


def test_runtime_code_match_ignores_only_the_metadata_hash() -> None:
    """A build under other source unit names (ape's) differs only in the metadata hash; the
    solc version in the trailer and every other byte still count."""
    clear_artifact_cache()
    market = load_artifact("Marketplace")
    code = bytes.fromhex(market.deployed_bytecode[2:])
    [trailer] = list(SOLC_METADATA.finditer(code))
    assert trailer.end() == len(code)
    hash_at, version_at = trailer.start(1), trailer.start(2)

    other_hash = bytearray(code)
    other_hash[hash_at : hash_at + 34] = b"\x12\x20" + bytes(range(32))
    assert market.matches_runtime_code(bytes(other_hash))

    other_solc = bytearray(code)
    other_solc[version_at + 2] ^= 0x01
    assert not market.matches_runtime_code(bytes(other_solc))

    other_code = bytearray(other_hash)
    other_code[trailer.start() - 1] ^= 0xFF
    assert not market.matches_runtime_code(bytes(other_code))


def test_artifact_hash_matches_index_and_detects_tampering(standin_artifacts: Path) -> None:
    files = {p.name: p.read_bytes() for p in standin_artifacts.glob("*.json")}
    index = json.loads(files.pop("index.json"))
    assert artifact_hash() == index["artifactHash"] == hash_artifact_files(files)
    target = standin_artifacts / "Reputation.json"
    target.write_bytes(target.read_bytes().replace(b'"abi"', b'"abi" ', 1))
    clear_artifact_cache()
    with pytest.raises(ArtifactError, match="do not match index.json"):
        artifact_hash()


def test_load_artifact_unknown_name_raises(standin_artifacts: Path) -> None:
    with pytest.raises(ArtifactError, match="no artifact named 'Nope'"):
        load_artifact("Nope")
    with pytest.raises(ArtifactError, match="not a contract name"):
        load_artifact("../index")
