"""Fixtures for the wallet tests: private data dirs, light scrypt, and foundry's real ``cast``.

Every test gets its own ``P2PCHAIN_DATA_DIR`` (so nothing touches the user's keystores) and no
passphrase in the environment. Wallets here use scrypt n=1024 (``kdf_iterations``, meant for
tests only) so a keystore takes milliseconds instead of seconds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from p2pchain._paths import DATA_DIR_ENV, find_node_tool
from p2pchain.wallet._passphrase import PASSPHRASE_ENV
from p2pchain.wallet._wallet import Wallet

from ._helpers import LIGHT_SCRYPT_N, CastRunner


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point P2PCHAIN_DATA_DIR at a temp folder; clear passphrase and KDF variables."""
    data = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv("ETH_ACCOUNT_KDF", raising=False)
    return data


@pytest.fixture
def wallet(tmp_path: Path) -> Wallet:
    """An empty wallet in a temp folder, with light scrypt."""
    return Wallet(tmp_path / "keystores", kdf_iterations=LIGHT_SCRYPT_N)


@pytest.fixture
def other_wallet(tmp_path: Path) -> Wallet:
    """A second, separate wallet (as on another machine)."""
    return Wallet(tmp_path / "elsewhere" / "keystores", kdf_iterations=LIGHT_SCRYPT_N)


@pytest.fixture(scope="session")
def cast_binary() -> Path:
    """foundry's ``cast`` from npm ``@foundry-rs/cast-linux-amd64`` (node_modules/.bin)."""
    found = find_node_tool("cast")
    if found is None:
        pytest.fail("cast not found in node_modules/.bin or on PATH: run `make node`")
    return found


@pytest.fixture
def cast(cast_binary: Path, tmp_path: Path) -> CastRunner:
    """Run ``cast <args>`` offline with a private HOME; return its stdout (fails on error)."""
    home = tmp_path / "cast-home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1"}

    def run(*args: str | Path) -> str:
        proc = subprocess.run(
            [str(cast_binary), *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, f"cast {args[:2]} failed: {proc.stderr.strip()}"
        return proc.stdout

    return run
