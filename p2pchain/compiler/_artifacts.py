"""Compiled contract artifacts shipped inside the package.

``scripts/compile.py`` writes one JSON file per contract into ``p2pchain/artifacts/`` (test-only
contracts into ``p2pchain/artifacts/test/``, which is not shipped in wheels) plus an
``index.json`` holding the compiler settings and an overall hash. This module defines that
format and reads it back.

File format (``<Name>.json``, keys sorted, two-space indent, trailing newline)::

    abi, bytecode, deployedBytecode             # hex strings with 0x
    contractName, sourceName                    # "Marketplace", "contracts/Marketplace.sol"
    compiler {version, settings}                # the standard-JSON settings used
    immutableReferences, linkReferences, deployedLinkReferences, methodIdentifiers, metadata
    sourceHashes {source unit name: sha256}     # every source the contract depends on
    format                                      # ARTIFACT_FORMAT

``index.json``: ``{format, compiler, contracts: {Name: sha256 of Name.json}, artifactHash}``
where ``artifactHash`` is :func:`hash_artifact_files` over the per-contract files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from p2pchain._errors import ArtifactError

ARTIFACT_FORMAT = "p2pchain-artifact/1"
INDEX_FORMAT = "p2pchain-artifact-index/1"
INDEX_FILE = "index.json"
TEST_SUBDIR = "test"
#: Environment variable naming a folder to load artifacts from instead of the shipped ones
#: (for example a fresh ``scripts/compile.py --out`` build not yet committed).
ARTIFACTS_DIR_ENV = "P2PCHAIN_ARTIFACTS_DIR"
#: solc's CBOR metadata trailer (``bytecodeHash: ipfs``): ``{"ipfs": <34-byte multihash>,
#: "solc": <3-byte version>}`` then its length, 0x0033. It ends every runtime object, so creation
#: code holds one per embedded object (its runtime code, contracts it creates with ``new``).
SOLC_METADATA = re.compile(rb"\xa2\x64ipfs\x58\x22(.{34})\x64solc\x43(.{3})\x00\x33", re.DOTALL)


def strip_metadata(code: bytes) -> bytes:
    """Return ``code`` with every solc metadata trailer's hash zeroed (solc version kept).

    The hash covers the metadata JSON, so source unit names and remappings change it; the code
    that runs does not depend on them.
    """
    return SOLC_METADATA.sub(lambda m: m.group(0)[:8] + bytes(34) + m.group(0)[42:], code)


@dataclass(frozen=True)
class ImmutableReference:
    """A byte range of deployed code that the constructor fills with an immutable value."""

    start: int
    length: int


@dataclass(frozen=True)
class Artifact:
    """One compiled contract, as shipped in ``p2pchain/artifacts/<Name>.json``.

    Attributes:
        contract_name: The Solidity contract name.
        source_name: Source unit that defines it, e.g. ``contracts/Marketplace.sol``.
        abi: The contract ABI.
        bytecode: Creation code, 0x-prefixed hex (``0x`` for interfaces and abstract contracts).
        deployed_bytecode: Runtime code, 0x-prefixed hex, immutables still zero.
        immutable_references: Ranges of the runtime code filled in by the constructor.
        method_identifiers: Function signature -> 4-byte selector (hex, no 0x).
        compiler_version: Long solc version, e.g. ``0.8.30+commit.73712a01``.
        compiler_settings: The standard-JSON settings it was compiled with.
        source_hashes: sha256 of every source unit it depends on.
        metadata: The solc metadata JSON, as a string.
    """

    contract_name: str
    source_name: str
    abi: tuple[Mapping[str, Any], ...]
    bytecode: str
    deployed_bytecode: str
    immutable_references: tuple[ImmutableReference, ...]
    method_identifiers: Mapping[str, str]
    compiler_version: str
    compiler_settings: Mapping[str, Any]
    source_hashes: Mapping[str, str]
    metadata: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Artifact:
        """Build an artifact from the parsed JSON of an artifact file.

        Raises:
            ArtifactError: A required key is missing or has the wrong shape.
        """
        try:
            if data.get("format") != ARTIFACT_FORMAT:
                raise ArtifactError(
                    f"artifact {data.get('contractName')!r} has format {data.get('format')!r},"
                    f" expected {ARTIFACT_FORMAT!r}: regenerate with `make compile`"
                )
            refs = tuple(
                ImmutableReference(int(r["start"]), int(r["length"]))
                for ranges in data["immutableReferences"].values()
                for r in ranges
            )
            return cls(
                contract_name=str(data["contractName"]),
                source_name=str(data["sourceName"]),
                abi=tuple(data["abi"]),
                bytecode=str(data["bytecode"]),
                deployed_bytecode=str(data["deployedBytecode"]),
                immutable_references=tuple(sorted(refs, key=lambda r: r.start)),
                method_identifiers=dict(data["methodIdentifiers"]),
                compiler_version=str(data["compiler"]["version"]),
                compiler_settings=dict(data["compiler"]["settings"]),
                source_hashes=dict(data["sourceHashes"]),
                metadata=str(data["metadata"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArtifactError(f"malformed artifact: {exc!r}") from exc

    @property
    def deployable(self) -> bool:
        """Whether the contract has creation code (false for interfaces, abstract contracts)."""
        return len(self.bytecode) > 2

    def masked_runtime_code(self, code: bytes | None = None) -> bytes:
        """Return runtime code with every immutable range zeroed.

        Args:
            code: On-chain runtime code to mask; by default the artifact's own.

        Returns:
            The code with the immutable ranges set to zero bytes, so the on-chain code of a
            deployed instance and the artifact compare equal.
        """
        raw = bytearray(
            code if code is not None else bytes.fromhex(self.deployed_bytecode.removeprefix("0x"))
        )
        for ref in self.immutable_references:
            raw[ref.start : ref.start + ref.length] = bytes(ref.length)
        return bytes(raw)

    def matches_runtime_code(self, code: bytes) -> bool:
        """Tell whether on-chain runtime code is this artifact's, immutables and metadata hash
        aside (a build under other source unit names, such as ape's, differs only there)."""
        expected = strip_metadata(self.masked_runtime_code())
        return (
            len(code) == len(expected)
            and strip_metadata(self.masked_runtime_code(code)) == expected
        )


def render_json(obj: Any) -> bytes:
    """Serialise like every artifact file: sorted keys, two-space indent, final newline."""
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Return the hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def hash_artifact_files(files: Mapping[str, bytes]) -> str:
    """Hash a set of artifact files into one hex digest.

    The digest is sha256 over the lines ``<file name> <sha256 of its bytes>\\n`` in file-name
    order, so it changes when any artifact is added, removed or altered.

    Args:
        files: File name (e.g. ``Marketplace.json``) -> file contents.
    """
    lines = "".join(f"{name} {sha256_hex(files[name])}\n" for name in sorted(files))
    return sha256_hex(lines.encode("utf-8"))


_artifact_cache: dict[str, Artifact] = {}
_hash_cache: dict[str, str] = {}


def clear_artifact_cache() -> None:
    """Forget artifacts read so far (after regenerating them in the same process)."""
    _artifact_cache.clear()
    _hash_cache.clear()


def _folder(test: bool) -> Traversable:
    override = os.environ.get(ARTIFACTS_DIR_ENV)
    folder: Traversable = (
        Path(override) if override else resources.files("p2pchain").joinpath("artifacts")
    )
    return folder.joinpath(TEST_SUBDIR) if test else folder


def _check_name(name: str) -> None:
    if not name or not name.replace("_", "").replace("$", "").isalnum():
        raise ArtifactError(f"{name!r} is not a contract name")


def load_artifact(name: str, *, test: bool = False) -> Artifact:
    """Load a shipped artifact by contract name.

    Args:
        name: Contract name, e.g. ``"Marketplace"``.
        test: Look among test-only contracts (``contracts/test/``), which exist only in a
            source checkout or editable install.

    Returns:
        The parsed artifact.

    Raises:
        ArtifactError: No such artifact, or it is malformed.
    """
    _check_name(name)
    entry = _folder(test).joinpath(f"{name}.json")
    key = str(entry)
    if key not in _artifact_cache:
        _artifact_cache[key] = _read_artifact(entry, name, test)
    return _artifact_cache[key]


def _read_artifact(entry: Traversable, name: str, test: bool) -> Artifact:
    try:
        raw = entry.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        kind = "test artifact" if test else "artifact"
        raise ArtifactError(
            f"no {kind} named {name!r} in p2pchain/artifacts: run `make compile`"
        ) from None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ArtifactError(f"artifact {name!r} is not valid JSON: {exc}") from exc
    return Artifact.from_json(data)


def _load_index(folder: Traversable) -> dict[str, Any]:
    try:
        raw = folder.joinpath(INDEX_FILE).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise ArtifactError(
            "p2pchain/artifacts/index.json is missing: run `make compile`"
        ) from None
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise ArtifactError(f"artifact index is not valid JSON: {exc}") from exc
    if data.get("format") != INDEX_FORMAT:
        raise ArtifactError(f"artifact index has format {data.get('format')!r}: run `make compile`")
    return data


def list_artifacts(*, test: bool = False) -> list[str]:
    """Return the names of the shipped artifacts (test-only ones if ``test``), sorted."""
    try:
        return sorted(_load_index(_folder(test))["contracts"])
    except ArtifactError:
        if test:
            return []
        raise


def artifact_hash(*, test: bool = False) -> str:
    """Return the overall hash of the shipped artifacts, as recorded in ``index.json``.

    Deployments record it, so a deployment can be traced to the exact build that made it.

    Raises:
        ArtifactError: The index is missing, or does not match the artifact files beside it.
    """
    folder = _folder(test)
    key = str(folder)
    if key not in _hash_cache:
        _hash_cache[key] = _compute_artifact_hash(folder)
    return _hash_cache[key]


def _compute_artifact_hash(folder: Traversable) -> str:
    index = _load_index(folder)
    files: dict[str, bytes] = {}
    for name in index["contracts"]:
        try:
            files[f"{name}.json"] = folder.joinpath(f"{name}.json").read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"artifact {name}.json listed in index.json is missing") from None
    digest = hash_artifact_files(files)
    if digest != index["artifactHash"]:
        raise ArtifactError("shipped artifacts do not match index.json: run `make compile`")
    return digest
