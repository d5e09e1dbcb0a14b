"""Start-up: the installed entry point answers ``--help`` for every noun, importing nothing heavy.

Timing is printed (run with ``-s`` to see it), never asserted: the figures and their report
come from ``scripts/bench_cli.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from .conftest import entry_point

NOUNS = ("wallet", "node", "ipfs", "listing", "trade", "tx", "config", "completion")
COMMANDS = ("deploy", "rate", "reputation")


def test_help_lists_every_noun_and_command() -> None:
    result = subprocess.run(
        [*entry_point(), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    for name in (*NOUNS, *COMMANDS):
        assert f"  {name} " in result.stdout, name


@pytest.mark.parametrize("noun", NOUNS)
def test_noun_help_from_the_entry_point(noun: str) -> None:
    start = time.perf_counter()
    result = subprocess.run(
        [*entry_point(), noun, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    assert f"Usage: p2pchain {noun} [OPTIONS] COMMAND" in result.stdout
    print(f"p2pchain {noun} --help: {elapsed * 1000:.0f} ms")


def test_importing_the_cli_loads_no_heavy_module() -> None:
    code = (
        "import sys, p2pchain.cli; "
        "heavy = [m for m in ('web3', 'eth_account', 'fastapi', 'rich', 'pydantic', 'yaml',"
        " 'requests', 'p2pchain.market._client', 'p2pchain.ipfs') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_completion_script_and_completions() -> None:
    script = subprocess.run(
        [*entry_point(), "completion", "show", "bash"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert script.returncode == 0 and "_P2PCHAIN_COMPLETE" in script.stdout
    completions = subprocess.run(
        entry_point(),
        env={"_P2PCHAIN_COMPLETE": "complete_bash", "COMP_WORDS": "p2pchain trade se",
             "COMP_CWORD": "2", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completions.returncode == 0
    assert completions.stdout.split() == ["settle"]
