"""Running ape and brownie on a copy of the project, from the core test run.

Each framework lives in its own virtualenv (``.venv-ape``, ``.venv-brownie``; ``make ape-venv``,
``make brownie-venv``), so the tests drive their command lines as subprocesses. They work on a
copy of the project (contracts, configs, ``scripts/deploy.py``, the framework's tests and
OpenZeppelin) in a temporary folder, with ``HOME`` and py-solc-x's folder private to
the run, so parallel runs never share build folders, dev-node ports or user configuration.
``TMPDIR`` is a folder beside the copy, not above it, so the frameworks see the copy as a
developer's checkout (ape compiles in place any project that lies inside ``TMPDIR``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from p2pchain.compiler._solc import SOLC_VERSION, ensure_solc

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
#: Files and folders of the repository a framework project needs.
_COPIED = ("contracts", "ape-config.yaml", "brownie-config.yaml", "scripts/deploy.py")
#: Seconds any one framework command may take (a cold compile is about a minute on 2 cores).
COMMAND_TIMEOUT = 600


@dataclass(frozen=True)
class Run:
    """What a framework command did."""

    args: list[str]
    returncode: int
    output: str

    def check(self) -> Run:
        """Fail the test with the command's output unless it exited 0."""
        if self.returncode != 0:
            pytest.fail(f"{' '.join(self.args)} exited {self.returncode}:\n{self.output[-6000:]}")
        return self


@dataclass(frozen=True)
class FrameworkProject:
    """A copy of the project that one framework's command line runs in.

    Attributes:
        framework: ``ape`` or ``brownie``.
        root: The project copy.
        home: ``HOME`` of every command (ape's ``~/.ape``, brownie's ``~/.brownie``).
        solcx_dir: py-solc-x's folder for the run, holding only ``solc-v0.8.30``.
        deployments: The deployments file ``scripts/deploy.py`` writes.
    """

    framework: str
    root: Path
    home: Path
    solcx_dir: Path
    deployments: Path

    @property
    def tmpdir(self) -> Path:
        """``TMPDIR`` of every command: beside the project copy, not above it."""
        return self.root.parent / "tmp"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a framework command: npm tools on PATH, private folders."""
        env = dict(os.environ)
        env.update(
            PATH=f"{REPO_ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}",
            HOME=str(self.home),
            TMPDIR=str(self.tmpdir),
            SOLCX_BINARY_PATH=str(self.solcx_dir),
            P2PCHAIN_DEPLOYMENTS=str(self.deployments),
            NO_COLOR="1",
            PYTHONWARNINGS="ignore",
        )
        env.pop("APE_FOUNDRY_HOST", None)
        env.update(extra)
        return env

    def run(self, *args: str, offline: bool = True, **extra_env: str) -> Run:
        """Run the framework's command (``ape ...``/``brownie ...``) in the project copy.

        Args:
            args: The command's arguments.
            offline: Run it where only loopback exists (see :func:`offline_prefix`), so that
                any attempt to reach another address fails the command. False for commands
                that must reach a node this process started.
            extra_env: More environment variables.
        """
        exe = framework_bin(self.framework, self.framework)
        argv = [*(offline_prefix() if offline else []), str(exe), *args]
        proc = subprocess.run(
            argv,
            cwd=self.root,
            env=self.env(**extra_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return Run([self.framework, *args], proc.returncode, proc.stdout)

    def solcx_files(self) -> list[str]:
        """What py-solc-x's folder holds now (a download would add to it)."""
        return sorted(p.name for p in self.solcx_dir.iterdir())


@cache
def offline_prefix() -> list[str]:
    """A command prefix that runs a command in a network namespace holding only loopback.

    ``unshare -rn`` (an unprivileged user namespace) with ``lo`` brought up: nodes the command
    starts on 127.0.0.1 work, every other address is unreachable. Where the kernel or
    ``unshare``/``ip`` do not allow it, the prefix is empty and the command runs normally.
    """
    prefix = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return []
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30, check=False)
    return prefix if probe.returncode == 0 else []


def framework_bin(framework: str, tool: str) -> Path:
    """Return ``.venv-<framework>/bin/<tool>``, failing the test with the make target if absent."""
    exe = REPO_ROOT / f".venv-{framework}" / "bin" / tool
    if not exe.is_file():
        pytest.fail(f"{exe} is missing: run `make {framework}-venv` (make test does)")
    return exe


def make_project(framework: str, base: Path) -> FrameworkProject:
    """Copy what ``framework`` needs of the repository under ``base``.

    The copy holds both configs, ``contracts/``, ``scripts/deploy.py``, the framework's tests
    (``tests/ape`` or ``tests/brownie``) and OpenZeppelin from the repository's ``node_modules``.
    py-solc-x's folder for the run holds a link to the one compiler :func:`ensure_solc`
    provides, so a framework that tried to download solc would add a file there.
    """
    root = base / "project"
    for rel in _COPIED:
        src, dst = REPO_ROOT / rel, root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".cache", "__pycache__"))
        else:
            shutil.copy2(src, dst)
    shutil.copytree(
        REPO_ROOT / "tests" / framework,
        root / "tests" / framework,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # A copy, not a link: solc refuses imports whose real path leaves the project.
    shutil.copytree(
        REPO_ROOT / "node_modules" / "@openzeppelin", root / "node_modules" / "@openzeppelin"
    )
    home = base / "home"
    home.mkdir()
    (base / "tmp").mkdir()
    solcx_dir = base / "solcx"
    solcx_dir.mkdir()
    (solcx_dir / f"solc-v{SOLC_VERSION}").symlink_to(ensure_solc())
    return FrameworkProject(framework, root, home, solcx_dir, base / "deployments.json")


def clone(project: FrameworkProject, base: Path) -> FrameworkProject:
    """Copy a (compiled) framework project under ``base``, build folders and links included."""
    for name in ("project", "home", "solcx", "tmp"):
        shutil.copytree(project.root.parent / name, base / name, symlinks=True)
    return FrameworkProject(
        project.framework,
        base / "project",
        base / "home",
        base / "solcx",
        base / "deployments.json",
    )
