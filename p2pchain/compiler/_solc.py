"""The Solidity compiler: provisioning it offline and compiling the project's contracts.

py-solc-x finds compilers as ``solc-v<version>`` files in its install folder (``~/.solcx`` or
``$SOLCX_BINARY_PATH``). :func:`ensure_solc` makes sure one exists for :data:`SOLC_VERSION`: a
native binary already there is used as is; otherwise a small Node script wrapping npm ``solc``
(the official compiler built to WebAssembly, byte-identical output) is written there. py-solc-x,
ape-solidity and brownie then all compile without downloading anything.

:func:`compiler_settings` is the one place that fixes how the contracts are compiled; ape and
brownie configurations must match it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from p2pchain._errors import CompilerError
from p2pchain._paths import find_node_modules, package_dir
from p2pchain.compiler._artifacts import (
    ARTIFACT_FORMAT,
    INDEX_FILE,
    INDEX_FORMAT,
    TEST_SUBDIR,
    hash_artifact_files,
    render_json,
    sha256_hex,
)

logger = logging.getLogger(__name__)

#: The one compiler version the project uses.
SOLC_VERSION = "0.8.30"
#: Newest hardfork Ganache 7.9 runs; one bytecode then runs on every supported chain.
EVM_VERSION = "shanghai"
#: Optimise for runtime gas: contracts are deployed once and called many times.
OPTIMIZER_RUNS = 1_000_000
#: Source unit prefix under which npm packages appear (relative, so builds are reproducible).
NODE_MODULES_PREFIX = "node_modules/"
#: Folder (relative to the project root) compiled by :func:`compile_contracts`.
CONTRACTS_DIR = "contracts"
#: Source unit prefix of test-only contracts.
TEST_CONTRACTS_PREFIX = "contracts/test/"

_WRAPPER_MARKER = "p2pchain-solc-wrapper"
_WRAPPER_TEMPLATE = "solc_wrapper.js"
_MODULE_PLACEHOLDER = "'__P2PCHAIN_SOLC_MODULE__'"
_VERSION_RE = re.compile(r"Version: (\d+\.\d+\.\d+)(\+commit\.[0-9a-f]+)?")
_OUTPUT_SELECTION = [
    "abi",
    "evm.bytecode.object",
    "evm.bytecode.linkReferences",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
    "evm.deployedBytecode.linkReferences",
    "evm.methodIdentifiers",
    "metadata",
]
_versions: dict[Path, str] = {}  # compiler path -> long version, verified this process


def compiler_settings() -> dict[str, Any]:
    """Return the standard-JSON ``settings`` (without ``outputSelection``) for every build.

    Optimizer on with :data:`OPTIMIZER_RUNS` runs, ``evmVersion`` :data:`EVM_VERSION`,
    the IR pipeline (``viaIR``: it saves 1-4k gas per call on our hot paths), ``metadata.bytecodeHash`` left at solc's default (ipfs), and OpenZeppelin remapped to
    ``node_modules/@openzeppelin/`` relative to the project root (so source unit names, and
    with them the metadata hash in the bytecode, do not depend on where the checkout lives).
    """
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "viaIR": True,
        "remappings": [f"@openzeppelin/={NODE_MODULES_PREFIX}@openzeppelin/"],
    }


def standard_json_input(sources: Mapping[str, str], targets: Iterable[str]) -> dict[str, Any]:
    """Build a standard-JSON compiler input.

    Args:
        sources: Source unit name -> source text, for every file of the compilation.
        targets: The source units whose contracts should be output.

    Returns:
        The input dict: :func:`compiler_settings` plus an output selection for ``targets``.
    """
    settings = compiler_settings()
    settings["outputSelection"] = {unit: {"*": list(_OUTPUT_SELECTION)} for unit in targets}
    return {
        "language": "Solidity",
        "sources": {unit: {"content": sources[unit]} for unit in sorted(sources)},
        "settings": settings,
    }


# --------------------------------------------------------------------------------------------
# Provisioning


def _binary_version(binary: Path) -> str | None:
    """Return ``X.Y.Z+commit.H`` reported by ``binary --version``, or None if it fails."""
    if binary in _versions:
        return _versions[binary]
    try:
        proc = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        return None
    version = match.group(1) + (match.group(2) or "")
    _versions[binary] = version
    return version


def _is_our_wrapper(binary: Path) -> bool:
    try:
        with binary.open("rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return _WRAPPER_MARKER.encode() in head


def _npm_solc(node_modules: Path | None) -> Path | None:
    folder = node_modules if node_modules is not None else find_node_modules()
    if folder is None:
        return None
    package = folder / "solc"
    try:
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return package.resolve() if meta.get("version") == SOLC_VERSION else None


def _write_wrapper(target: Path, node: Path, solc_package: Path) -> None:
    template = (package_dir() / "compiler" / "_solcjs" / _WRAPPER_TEMPLATE).read_text(
        encoding="utf-8"
    )
    first, rest = template.split("\n", 1)
    if not first.startswith("#!") or _MODULE_PLACEHOLDER not in rest:
        raise CompilerError(
            f"p2pchain/compiler/_solcjs/{_WRAPPER_TEMPLATE} is damaged: reinstall p2pchain"
        )
    text = f"#!{node}\n" + rest.replace(_MODULE_PLACEHOLDER, json.dumps(str(solc_package)), 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".p2pchain-solc-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_solc(node_modules: Path | None = None) -> Path:
    """Make sure py-solc-x has solc :data:`SOLC_VERSION`, and return its path.

    A working ``solc-v0.8.30`` already in py-solc-x's install folder (native, or a wrapper
    written earlier) is used as is. Otherwise a wrapper around npm ``solc`` is written there,
    replacing only a previous p2pchain wrapper (e.g. one pointing at a deleted checkout).
    Nothing is downloaded.

    Args:
        node_modules: Folder holding npm ``solc``; by default found by
            :func:`p2pchain._paths.find_node_modules` (``$P2PCHAIN_NODE_MODULES`` first).

    Returns:
        Path of the compiler executable, as ``solcx.get_executable("0.8.30")`` returns it.

    Raises:
        CompilerError: No usable compiler and none can be provided.
    """
    folder = solcx.get_solcx_install_folder()
    target = folder / f"solc-v{SOLC_VERSION}"
    if target.exists():
        version = _binary_version(target)
        if version is not None and version.split("+")[0] == SOLC_VERSION:
            return target
        _versions.pop(target, None)
        if not _is_our_wrapper(target):
            raise CompilerError(
                f"{target} does not run as solc {SOLC_VERSION}; remove it or replace it with"
                f" a working solc {SOLC_VERSION}"
            )
    solc_package = _npm_solc(node_modules)
    node = shutil.which("node")
    if solc_package is None or node is None:
        raise CompilerError(
            f"no solc {SOLC_VERSION}: run `npm install` in the p2pchain project (or set"
            f" P2PCHAIN_NODE_MODULES), or install native solc {SOLC_VERSION} as {target}"
        )
    _write_wrapper(target, Path(node).resolve(), solc_package)
    _versions.pop(target, None)
    version = _binary_version(target)
    if version is None or version.split("+")[0] != SOLC_VERSION:
        raise CompilerError(
            f"the solc wrapper written to {target} does not answer --version as"
            f" {SOLC_VERSION} (node {node}, npm solc {solc_package})"
        )
    return target


def solc_long_version(binary: Path | None = None) -> str:
    """Return the compiler's version with commit, e.g. ``0.8.30+commit.73712a01``.

    The platform suffix (``Linux.g++``, ``Emscripten.clang``) is left out: it differs between
    the native and WebAssembly builds, whose output is otherwise identical.
    """
    exe = binary if binary is not None else ensure_solc()
    version = _binary_version(exe)
    if version is None:
        raise CompilerError(f"{exe} does not answer --version")
    return version


# --------------------------------------------------------------------------------------------
# Import resolution


@dataclass(frozen=True)
class _Remapping:
    prefix: str
    target: str


def _remappings() -> list[_Remapping]:
    found = []
    for entry in compiler_settings()["remappings"]:
        left, target = entry.split("=", 1)
        found.append(_Remapping(left.split(":", 1)[-1], target))
    return found


_IMPORT_RE = re.compile(r"""(?:^|[;}])\s*import\b[^;"']*?(["'])(.+?)\1""", re.DOTALL)


def _strip_comments(text: str) -> str:
    """Blank out comments (keeping offsets and string literals) so imports can be found."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = [c if c == "\n" else " " for c in text[i:j]]
            i = j
        else:
            i += 1
    return "".join(out)


def find_imports(text: str) -> list[str]:
    """Return the import paths of a Solidity source, in order."""
    return [m.group(2) for m in _IMPORT_RE.finditer(_strip_comments(text))]


def resolve_import(importer: str, path: str) -> str:
    """Turn an import path into a source unit name, as solc does.

    Relative paths (``./``, ``../``) are resolved against the importing unit's folder, then
    the remappings of :func:`compiler_settings` are applied (longest prefix wins).

    Args:
        importer: Source unit name of the importing file.
        path: The import path as written.
    """
    unit = path
    if path.startswith(("./", "../")):
        parts = importer.split("/")[:-1]
        for segment in path.split("/"):
            if segment == "..":
                if parts and parts[-1] != "..":
                    parts.pop()
                else:
                    parts.append("..")
            elif segment not in (".", ""):
                parts.append(segment)
        unit = "/".join(parts)
    best: _Remapping | None = None
    for remap in _remappings():
        if unit.startswith(remap.prefix) and (best is None or len(remap.prefix) > len(best.prefix)):
            best = remap
    if best is not None:
        unit = best.target + unit[len(best.prefix) :]
    return unit


def _unit_file(unit: str, root: Path, node_modules: Path | None) -> Path:
    if unit.startswith(("/", "..")) or re.match(r"^[A-Za-z]:", unit):
        raise CompilerError(
            f"import resolves to {unit!r}, outside the project: import project files"
            f" relatively and npm packages via @openzeppelin/"
        )
    if unit.startswith(NODE_MODULES_PREFIX):
        if node_modules is None:
            raise CompilerError(
                f"{unit} needs npm packages: run `npm install` in the project"
                " (or set P2PCHAIN_NODE_MODULES)"
            )
        return node_modules / unit[len(NODE_MODULES_PREFIX) :]
    return root / unit


def collect_sources(
    root: Path, entry_units: Iterable[str], node_modules: Path | None
) -> dict[str, str]:
    """Read ``entry_units`` and everything they import, transitively.

    Args:
        root: Project root; source unit names are relative to it.
        entry_units: Source unit names to start from (e.g. ``contracts/Marketplace.sol``).
        node_modules: Folder that ``node_modules/...`` units are read from.

    Returns:
        Source unit name -> source text.

    Raises:
        CompilerError: An import cannot be found or leaves the project.
    """
    sources: dict[str, str] = {}
    pending = [(unit, "") for unit in entry_units]
    while pending:
        unit, importer = pending.pop()
        if unit in sources:
            continue
        path = _unit_file(unit, root, node_modules)
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            where = f"{importer} imports {unit}" if importer else unit
            raise CompilerError(f"{where}, but {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CompilerError(f"cannot read {path}: {exc}") from exc
        sources[unit] = text
        for imported in find_imports(text):
            pending.append((resolve_import(unit, imported), unit))
    return sources


# --------------------------------------------------------------------------------------------
# Compilation


@dataclass(frozen=True)
class CompiledContract:
    """One contract from a compilation, ready to be written as an artifact.

    Attributes:
        name: Contract name.
        source_name: Source unit defining it.
        is_test: Whether it comes from ``contracts/test/`` (test-only).
        artifact: The artifact JSON object (see :mod:`p2pchain.compiler._artifacts`).
    """

    name: str
    source_name: str
    is_test: bool
    artifact: Mapping[str, Any]


def _line_col(text: str, offset: int) -> tuple[int, int]:
    before = text.encode("utf-8")[: max(offset, 0)].decode("utf-8", errors="ignore")
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


def _format_diagnostic(err: Mapping[str, Any], sources: Mapping[str, str]) -> str:
    loc = err.get("sourceLocation") or {}
    where = ""
    if loc.get("file") in sources:
        line, col = _line_col(sources[loc["file"]], int(loc.get("start", 0)))
        where = f"{loc['file']}:{line}:{col}: "
    elif loc.get("file"):
        where = f"{loc['file']}: "
    return f"{where}{err.get('type', 'Error')}: {err.get('message', '').strip()}"


def _hex(obj: str) -> str:
    return "0x" + obj


def compile_contracts(
    root: Path,
    *,
    node_modules: Path | None = None,
    solc_binary: Path | None = None,
) -> dict[str, CompiledContract]:
    """Compile every ``.sol`` file under ``root/contracts`` (including ``contracts/test/``).

    Sources are handed to solc by content (imports resolved here, see :func:`collect_sources`),
    so the result does not depend on the working directory or where node_modules lives.

    Args:
        root: Project root holding ``contracts/``.
        node_modules: npm folder with ``@openzeppelin/contracts``; found automatically if None.
        solc_binary: Compiler to use; :func:`ensure_solc` by default.

    Returns:
        Contract name -> compiled contract, sorted by name. Empty if there are no sources.

    Raises:
        CompilerError: No compiler, an unresolvable import, a compile error, or two contracts
            with the same name.
    """
    root = Path(root).resolve()
    contracts_dir = root / CONTRACTS_DIR
    files = sorted(contracts_dir.rglob("*.sol")) if contracts_dir.is_dir() else []
    if not files:
        return {}
    nm = node_modules if node_modules is not None else find_node_modules(root)
    targets = [path.relative_to(root).as_posix() for path in files]
    sources = collect_sources(root, targets, nm)
    binary = solc_binary if solc_binary is not None else ensure_solc(nm)
    input_json = standard_json_input(sources, targets)
    try:
        output = solcx.compile_standard(input_json, solc_binary=binary, allow_empty=True)
    except SolcError as exc:
        errors = [e for e in (exc.error_dict or []) if e.get("severity") == "error"]
        if errors:
            detail = "; ".join(_format_diagnostic(e, sources) for e in errors)
        else:
            detail = (exc.stderr_data or exc.message or "").strip().replace("\n", " ")
        raise CompilerError(f"solc rejected the contracts: {detail}") from None
    except ValueError as exc:  # stdout was not JSON: the compiler itself failed
        raise CompilerError(f"{binary} produced no JSON output ({exc})") from None

    for diag in output.get("errors", []):
        loc_file = (diag.get("sourceLocation") or {}).get("file", "")
        if diag.get("severity") != "error" and not loc_file.startswith(NODE_MODULES_PREFIX):
            logger.warning("%s", _format_diagnostic(diag, sources))
    unexpected = sorted(set(output.get("sources", {})) - set(sources))
    if unexpected:
        raise CompilerError(
            f"solc loaded sources p2pchain did not resolve: {', '.join(unexpected)}"
        )

    version = solc_long_version(binary)
    settings = compiler_settings()
    source_hashes = {unit: sha256_hex(text.encode("utf-8")) for unit, text in sources.items()}
    compiled: dict[str, CompiledContract] = {}
    for unit in targets:
        for name, data in sorted(output.get("contracts", {}).get(unit, {}).items()):
            if name in compiled:
                raise CompilerError(
                    f"contract name {name} is defined in both {compiled[name].source_name}"
                    f" and {unit}: artifacts are keyed by name"
                )
            metadata = data["metadata"]
            deps = sorted(json.loads(metadata)["sources"])
            evm = data["evm"]
            artifact = {
                "format": ARTIFACT_FORMAT,
                "contractName": name,
                "sourceName": unit,
                "abi": data["abi"],
                "bytecode": _hex(evm["bytecode"]["object"]),
                "deployedBytecode": _hex(evm["deployedBytecode"]["object"]),
                "linkReferences": evm["bytecode"].get("linkReferences", {}),
                "deployedLinkReferences": evm["deployedBytecode"].get("linkReferences", {}),
                "immutableReferences": evm["deployedBytecode"].get("immutableReferences", {}),
                "methodIdentifiers": evm.get("methodIdentifiers", {}),
                "metadata": metadata,
                "compiler": {"version": version, "settings": settings},
                "sourceHashes": {dep: source_hashes[dep] for dep in deps},
            }
            compiled[name] = CompiledContract(
                name=name,
                source_name=unit,
                is_test=unit.startswith(TEST_CONTRACTS_PREFIX),
                artifact=artifact,
            )
    return dict(sorted(compiled.items()))


def default_artifacts_dir() -> Path:
    """Return ``p2pchain/artifacts`` inside the package (the shipped artifacts)."""
    return package_dir() / "artifacts"


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_set(folder: Path, contracts: list[CompiledContract], version: str) -> list[Path]:
    files = {f"{c.name}.json": render_json(c.artifact) for c in contracts}
    index = {
        "format": INDEX_FORMAT,
        "compiler": {"version": version, "settings": compiler_settings()},
        "contracts": {c.name: sha256_hex(files[f"{c.name}.json"]) for c in contracts},
        "artifactHash": hash_artifact_files(files),
    }
    written = []
    for name, data in sorted(files.items()):
        _write_if_changed(folder / name, data)
        written.append(folder / name)
    _write_if_changed(folder / INDEX_FILE, render_json(index))
    written.append(folder / INDEX_FILE)
    for stale in folder.glob("*.json"):
        if stale.name not in files and stale.name != INDEX_FILE:
            stale.unlink()
    return written


def write_artifacts(
    compiled: Mapping[str, CompiledContract],
    out_dir: Path | None = None,
    *,
    compiler_version: str | None = None,
) -> list[Path]:
    """Write artifacts: ``<out_dir>/<Name>.json``, test-only ones in ``<out_dir>/test/``.

    Each folder gets an ``index.json``; artifacts of contracts that no longer exist are
    removed. Output is deterministic, so compiling the same sources twice gives identical
    bytes, and unchanged files are not rewritten.

    Args:
        compiled: Result of :func:`compile_contracts`.
        out_dir: Target folder; the package's ``p2pchain/artifacts`` by default.
        compiler_version: Version to record when ``compiled`` is empty; asked from the
            compiler if not given.

    Returns:
        The paths written (including unchanged ones), production first.
    """
    folder = Path(out_dir) if out_dir is not None else default_artifacts_dir()
    if compiled:
        version = str(next(iter(compiled.values())).artifact["compiler"]["version"])
    else:
        version = compiler_version or solc_long_version()
    main = [c for c in compiled.values() if not c.is_test]
    tests = [c for c in compiled.values() if c.is_test]
    written = _write_set(folder, main, version)
    test_dir = folder / TEST_SUBDIR
    if tests:
        written += _write_set(test_dir, tests, version)
    elif test_dir.is_dir():
        for stale in test_dir.glob("*.json"):
            stale.unlink()
        try:
            test_dir.rmdir()
        except OSError:
            pass
    return written
