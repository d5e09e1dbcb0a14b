"""p2pchain installs beside each framework, in the framework's own virtualenv."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ._project import REPO_ROOT, framework_bin

#: What ``pip check`` may report per venv. brownie pins python-dotenv 0.16.0, and every
#: pydantic-settings 2.x needs >= 0.21; only frontend_api uses pydantic-settings.
ALLOWED_PIP_CHECK = {
    "ape": set(),
    "brownie": {"p2pchain 0.1.0 requires pydantic-settings, which is not installed."},
}


def _run(framework: str, *args: str) -> subprocess.CompletedProcess[str]:
    python = framework_bin(framework, "python")
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("framework", ["ape", "brownie"])
def test_framework_venv_has_no_conflicts_beyond_the_known_one(framework: str) -> None:
    proc = _run(framework, "-m", "pip", "check", "--disable-pip-version-check")
    problems = {
        line.strip()
        for line in proc.stdout.splitlines()
        if line.strip() and line.strip() != "No broken requirements found."
    }
    assert problems == ALLOWED_PIP_CHECK[framework], proc.stdout


@pytest.mark.parametrize("framework", ["ape", "brownie"])
def test_p2pchain_library_and_cli_work_in_the_framework_venv(framework: str) -> None:
    code = (
        "import p2pchain, p2pchain.chain._deploy, p2pchain.market._client, p2pchain.cli;"
        "from p2pchain.compiler._artifacts import load_artifact;"
        "print(load_artifact('Marketplace').contract_name, p2pchain.__file__)"
    )
    proc = _run(framework, "-c", code)
    assert proc.returncode == 0, proc.stderr
    name, location = proc.stdout.split()
    assert name == "Marketplace"
    assert Path(location) == REPO_ROOT / "p2pchain" / "__init__.py"  # this checkout, editable
    cli = subprocess.run(
        [str(framework_bin(framework, "p2pchain")), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 0 and "Usage: p2pchain" in cli.stdout, cli.stderr
