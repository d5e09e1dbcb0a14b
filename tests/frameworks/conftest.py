"""Fixtures: one compiled ape project and one compiled brownie project per test session.

Compiling takes ape and brownie most of a minute each on two cores, so it happens once per
session even under pytest-xdist (the first worker compiles under a file lock in the session's
shared temp folder, the others reuse it); every test then works on its own copy.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ._project import FrameworkProject, Run, clone, make_project

_COMPILE_ARGS = {"ape": ("compile",), "brownie": ("compile",)}


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared_root(factory: pytest.TempPathFactory, worker_id: str) -> Path:
    base = factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def _compiled(
    framework: str, factory: pytest.TempPathFactory, worker_id: str
) -> tuple[FrameworkProject, Run]:
    """Return the session's compiled project for ``framework`` and its compile run."""
    root = _shared_root(factory, worker_id)
    base = root / f"{framework}-compiled"
    log = base / "compile.log"
    with _locked(root / f"{framework}-compiled.lock"):
        if not log.exists():
            base.mkdir(exist_ok=True)
            project = make_project(framework, base)
            run = project.run(*_COMPILE_ARGS[framework])
            log.write_text(f"{run.returncode}\n{run.output}", encoding="utf-8")
    code, _, output = log.read_text(encoding="utf-8").partition("\n")
    project = FrameworkProject(
        framework, base / "project", base / "home", base / "solcx", base / "deployments.json"
    )
    return project, Run([framework, *_COMPILE_ARGS[framework]], int(code), output)


@pytest.fixture(scope="session")
def ape_compiled(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> tuple[FrameworkProject, Run]:
    """The project compiled by ``ape compile`` (shared: do not run commands in it)."""
    return _compiled("ape", tmp_path_factory, worker_id)


@pytest.fixture(scope="session")
def brownie_compiled(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> tuple[FrameworkProject, Run]:
    """The project compiled by ``brownie compile`` (shared: do not run commands in it)."""
    return _compiled("brownie", tmp_path_factory, worker_id)


@pytest.fixture
def ape_project(ape_compiled: tuple[FrameworkProject, Run], tmp_path: Path) -> FrameworkProject:
    """A private copy of the compiled ape project."""
    ape_compiled[1].check()
    return clone(ape_compiled[0], tmp_path)


@pytest.fixture
def brownie_project(
    brownie_compiled: tuple[FrameworkProject, Run], tmp_path: Path
) -> FrameworkProject:
    """A private copy of the compiled brownie project."""
    brownie_compiled[1].check()
    return clone(brownie_compiled[0], tmp_path)
