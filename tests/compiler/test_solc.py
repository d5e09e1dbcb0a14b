"""Compiler provisioning (the npm solc wrapper) and compilation."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import solcx
from packaging.version import Version

from p2pchain._errors import CompilerError
from p2pchain._paths import find_node_modules, package_dir
from p2pchain.compiler._solc import (
    EVM_VERSION,
    OPTIMIZER_RUNS,
    SOLC_VERSION,
    compile_contracts,
    compiler_settings,
    ensure_solc,
    find_imports,
    resolve_import,
    write_artifacts,
)

NATIVE_VERSION_OUTPUT = re.compile(
    r"\Asolc, the solidity compiler commandline interface\n"
    r"Version: 0\.8\.30\+commit\.[0-9a-f]{8}\.[A-Za-z0-9.+_-]+\n\Z"
)
STANDINS = Path(__file__).parent / "standins"
PRAGMA = "// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\n"


@pytest.fixture
def wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A freshly written npm-solc wrapper in an empty py-solc-x folder."""
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path / "solcx"))
    return ensure_solc()


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _run_wrapper(binary: Path, args: list[str], stdin: str, cwd: Path) -> dict:
    proc = subprocess.run(
        [str(binary), *args], input=stdin, capture_output=True, text=True, cwd=cwd, check=True
    )
    return json.loads(proc.stdout)


def _standard_input(sources: dict[str, dict[str, Any]]) -> str:
    return json.dumps(
        {
            "language": "Solidity",
            "sources": sources,
            "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
        }
    )


def _error_messages(output: dict) -> list[str]:
    return [e["message"] for e in output.get("errors", []) if e["severity"] == "error"]


def test_wrapper_version_output_matches_native(wrapper: Path) -> None:
    out = subprocess.run([str(wrapper), "--version"], capture_output=True, text=True, check=True)
    assert NATIVE_VERSION_OUTPUT.match(out.stdout), out.stdout
    assert "p2pchain-solc-wrapper" in wrapper.read_text(encoding="utf-8")


def test_solcx_lists_version_installed_after_ensure_solc(wrapper: Path) -> None:
    assert Version(SOLC_VERSION) in solcx.get_installed_solc_versions()
    assert solcx.install.get_executable(SOLC_VERSION) == wrapper
    assert str(solcx.wrapper.get_solc_version(wrapper)) == SOLC_VERSION


def test_ensure_solc_reuses_a_working_compiler(wrapper: Path) -> None:
    before = wrapper.stat().st_mtime_ns
    assert ensure_solc() == wrapper
    assert wrapper.stat().st_mtime_ns == before


def test_ensure_solc_replaces_a_stale_wrapper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "solcx"
    folder.mkdir()
    stale = folder / f"solc-v{SOLC_VERSION}"
    template = (package_dir() / "compiler" / "_solcjs" / "solc_wrapper.js").read_text(
        encoding="utf-8"
    )
    stale.write_text(template.replace("__P2PCHAIN_SOLC_MODULE__", "/gone/node_modules/solc"))
    stale.chmod(0o755)
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(folder))
    assert ensure_solc() == stale
    out = subprocess.run([str(stale), "--version"], capture_output=True, text=True, check=True)
    assert NATIVE_VERSION_OUTPUT.match(out.stdout)


def test_ensure_solc_refuses_to_overwrite_a_foreign_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "solcx"
    folder.mkdir()
    foreign = folder / f"solc-v{SOLC_VERSION}"
    foreign.write_text("#!/bin/sh\necho 'Version: 0.8.29+commit.ab55807c'\n")
    foreign.chmod(0o755)
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(folder))
    with pytest.raises(CompilerError, match="does not run as solc 0.8.30"):
        ensure_solc()
    assert "0.8.29" in foreign.read_text()


def test_ensure_solc_without_npm_solc_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path / "solcx"))
    monkeypatch.setenv("P2PCHAIN_NODE_MODULES", str(tmp_path))
    with pytest.raises(CompilerError) as info:
        ensure_solc()
    message = str(info.value)
    assert "npm install" in message and "\n" not in message


def test_wrapper_reads_imports_from_base_and_include_paths(wrapper: Path, tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "contracts/A.sol": PRAGMA + 'import {B} from "lib/B.sol";\ncontract A is B {}\n',
        },
    )
    libs = tmp_path / "libs"
    (libs / "lib").mkdir(parents=True)
    (libs / "lib" / "B.sol").write_text(PRAGMA + "contract B {}\n")
    source = {"contracts/A.sol": {"urls": ["contracts/A.sol"]}}

    found = _run_wrapper(
        wrapper,
        ["--standard-json", "--base-path", str(project), "--include-path", str(libs)],
        _standard_input(source),
        cwd=tmp_path,
    )
    assert _error_messages(found) == []
    assert set(found["contracts"]) == {"contracts/A.sol", "lib/B.sol"}

    missing = _run_wrapper(
        wrapper, ["--standard-json", "--base-path", str(project)], _standard_input(source), tmp_path
    )
    assert any("File not found" in m for m in _error_messages(missing))


def test_wrapper_enforces_allow_paths(wrapper: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "C.sol").write_text(PRAGMA + "contract C {}\n")
    project = _project(tmp_path, {"A.sol": PRAGMA + f'import "{outside}/C.sol";\n'})
    source = {"A.sol": {"content": (project / "A.sol").read_text()}}

    refused = _run_wrapper(
        wrapper, ["--standard-json", "--base-path", str(project)], _standard_input(source), project
    )
    assert any("outside of allowed directories" in m for m in _error_messages(refused))

    allowed = _run_wrapper(
        wrapper,
        # brownie passes a comma-separated list; py-solc-x and ape pass other flags we ignore
        ["--standard-json", "--allow-paths", f"{tmp_path}/x,{outside}", "--pretty-json"],
        _standard_input(source),
        project,
    )
    assert _error_messages(allowed) == []


def test_wrapper_serves_solcx_compile_source_and_files(wrapper: Path, tmp_path: Path) -> None:
    code = PRAGMA + "contract A { function f() external pure returns (uint256) { return 7; } }\n"
    result = solcx.compile_source(code, solc_binary=wrapper, output_values=["abi", "bin"])
    assert result["<stdin>:A"]["abi"][0]["name"] == "f"
    assert result["<stdin>:A"]["bin"]

    project = _project(tmp_path, {"A.sol": code})
    files = solcx.compile_files([project / "A.sol"], solc_binary=wrapper, optimize=True)
    assert any(key.endswith("A.sol:A") for key in files)


def test_wrapper_matches_direct_solcjs_output(wrapper: Path, tmp_path: Path) -> None:
    """The wrapper adds nothing: same standard JSON out as npm solc called directly."""
    node_modules = find_node_modules()
    node = shutil.which("node")
    assert node_modules is not None and node is not None
    source = _standard_input({"A.sol": {"content": PRAGMA + "contract A { uint256 x; }\n"}})
    via_wrapper = _run_wrapper(wrapper, ["--standard-json"], source, tmp_path)
    script = (
        f"const solc = require({json.dumps(str(node_modules / 'solc'))});"
        "let s = ''; process.stdin.on('data', d => s += d);"
        "process.stdin.on('end', () => process.stdout.write(solc.compile(s)));"
    )
    direct = subprocess.run(
        [node, "-e", script], input=source, capture_output=True, text=True, check=True
    )
    assert via_wrapper == json.loads(direct.stdout)


def test_find_imports_sees_every_form_and_skips_comments() -> None:
    text = (
        PRAGMA
        + '// import "commented.sol";\n/* import "block.sol"; */\n'
        + 'import "a.sol";\nimport * as B from "./b.sol";\n'
        + "import {C, D as E} from '../c.sol';\nimport \"f.sol\" as F;\n"
        + 'contract X { string s = "import \\"nope.sol\\";"; }\n'
    )
    assert find_imports(text) == ["a.sol", "./b.sol", "../c.sol", "f.sol"]


def test_resolve_import_applies_relative_paths_then_remappings() -> None:
    assert resolve_import("contracts/Marketplace.sol", "./types/T.sol") == "contracts/types/T.sol"
    assert resolve_import("contracts/interfaces/I.sol", "../types/T.sol") == "contracts/types/T.sol"
    assert (
        resolve_import("contracts/M.sol", "@openzeppelin/contracts/utils/Address.sol")
        == "node_modules/@openzeppelin/contracts/utils/Address.sol"
    )
    assert (
        resolve_import("node_modules/@openzeppelin/contracts/token/ERC20/IERC20.sol", "../../a.sol")
        == "node_modules/@openzeppelin/contracts/a.sol"
    )


def test_compile_contracts_with_openzeppelin_and_test_contracts(
    tmp_path: Path, solc_binary: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(STANDINS, root)
    compiled = compile_contracts(root)
    assert list(compiled) == ["Marketplace", "Probe", "Reputation"]
    market = compiled["Marketplace"]
    assert market.source_name == "contracts/Marketplace.sol" and not market.is_test
    assert compiled["Probe"].is_test
    artifact = market.artifact
    assert artifact["bytecode"].startswith("0x60") and len(artifact["deployedBytecode"]) > 100
    assert artifact["compiler"]["version"].startswith(f"{SOLC_VERSION}+commit.")
    assert artifact["compiler"]["settings"] == compiler_settings()
    assert "ping()" in artifact["methodIdentifiers"]
    assert len(artifact["immutableReferences"]) == 2  # REPUTATION and RULING_WINDOW
    hashes = artifact["sourceHashes"]
    assert "node_modules/@openzeppelin/contracts/utils/ReentrancyGuard.sol" in hashes
    assert "contracts/Reputation.sol" in hashes and "contracts/test/Probe.sol" not in hashes
    metadata = json.loads(artifact["metadata"])
    assert metadata["settings"]["optimizer"] == {"enabled": True, "runs": OPTIMIZER_RUNS}
    assert metadata["settings"]["evmVersion"] == EVM_VERSION


def test_written_artifacts_are_byte_identical_across_compiles(
    tmp_path: Path, solc_binary: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(STANDINS, root)
    first, second = tmp_path / "first", tmp_path / "second"
    write_artifacts(compile_contracts(root), first)
    write_artifacts(compile_contracts(root), second)
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*.json"))
    assert names == [
        "Marketplace.json",
        "Reputation.json",
        "index.json",
        "test/Probe.json",
        "test/index.json",
    ]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_compile_error_is_one_line_with_location(tmp_path: Path, solc_binary: Path) -> None:
    root = _project(tmp_path, {"contracts/Bad.sol": PRAGMA + "contract Bad {\n  uint x = y;\n}\n"})
    with pytest.raises(CompilerError) as info:
        compile_contracts(root)
    message = str(info.value)
    assert "contracts/Bad.sol:4:12: DeclarationError" in message
    assert "\n" not in message


def test_compile_reports_a_missing_import(tmp_path: Path, solc_binary: Path) -> None:
    root = _project(tmp_path, {"contracts/A.sol": PRAGMA + 'import "./Nope.sol";\n'})
    with pytest.raises(CompilerError, match="contracts/A.sol imports contracts/Nope.sol"):
        compile_contracts(root)


def test_compile_rejects_duplicate_contract_names(tmp_path: Path, solc_binary: Path) -> None:
    root = _project(
        tmp_path,
        {
            "contracts/A.sol": PRAGMA + "contract X {}\n",
            "contracts/test/B.sol": PRAGMA + "contract X {}\n",
        },
    )
    with pytest.raises(CompilerError, match="contract name X is defined in both"):
        compile_contracts(root)
