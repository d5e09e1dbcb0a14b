"""Fixtures shared by every test package.

Chains are started once per test session, which under pytest-xdist means once per worker:
each worker runs its own Anvil/Ganache on its own free port, and stops it at session end.
State accumulates across the tests of a session, so deploy fresh contracts per test (cheap) or
wrap a test in ``chain.snapshot()`` / ``chain.revert(...)``.

Tests that use ``anvil_chain``/``ganache_chain`` (directly or through ``dev_chain``) are marked
``anvil``/``ganache`` automatically: ``pytest -m "not ganache"`` skips the slow node.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _postgres import postgres_server, postgres_url  # noqa: F401 (shared fixtures)

from p2pchain.chain._nodes import AnvilChain, DevChain, EmbeddedChain, GanacheChain
from p2pchain.compiler._solc import ensure_solc

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_CHAIN_NAMES = ("embedded", "anvil", "ganache")


@pytest.fixture(scope="session", autouse=True)
def _private_deployments_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point P2PCHAIN_DEPLOYMENTS at a temp file so no test touches the user's real one."""
    path = tmp_path_factory.mktemp("deployments") / "deployments.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("P2PCHAIN_DEPLOYMENTS", str(path))
        yield path


@pytest.fixture(scope="session", autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point P2PCHAIN_DATA_DIR at a temp folder, so no test writes the user's data folder (the
    transaction journal of clients on a node, the IPFS store...). Tests may point it elsewhere."""
    path = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("P2PCHAIN_DATA_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout under test."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def solc_binary() -> Path:
    """solc 0.8.30 as py-solc-x sees it (native, or the npm wrapper written on first use)."""
    return ensure_solc()


@pytest.fixture(scope="session")
def embedded_chain() -> Iterator[EmbeddedChain]:
    """An in-process py-evm chain (Shanghai), funded dev accounts."""
    with EmbeddedChain() as chain:
        yield chain


@pytest.fixture(scope="session")
def anvil_chain() -> Iterator[AnvilChain]:
    """An Anvil node on 127.0.0.1 (chain id 31337), stopped at session end."""
    with AnvilChain() as chain:
        yield chain


@pytest.fixture(scope="session")
def ganache_chain() -> Iterator[GanacheChain]:
    """A Ganache node on 127.0.0.1 (chain id 1337), stopped at session end."""
    with GanacheChain() as chain:
        yield chain


@pytest.fixture(params=DEV_CHAIN_NAMES)
def dev_chain(request: pytest.FixtureRequest) -> DevChain:
    """Each dev chain in turn: the test runs once on embedded, Anvil and Ganache."""
    chain: DevChain = request.getfixturevalue(f"{request.param}_chain")
    return chain


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the nodes they start, so they can be selected with ``-m``."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None:  # chains picked by parameter, like dev_chain's
            for key, value in callspec.params.items():
                if isinstance(value, str):
                    names.add(f"{value}_chain" if key == "dev_chain" else value)
        for node in ("anvil", "ganache"):
            if f"{node}_chain" in names:
                item.add_marker(getattr(pytest.mark, node))
