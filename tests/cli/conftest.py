"""Fixtures for the CLI tests: a private data folder and config, wallets, a deployed Anvil.

Every test gets its own ``P2PCHAIN_DATA_DIR``, ``P2PCHAIN_CONFIG`` and ``P2PCHAIN_DEPLOYMENTS``
so nothing touches the user's real files. Commands run through typer's ``CliRunner`` (in
process) or through the installed ``p2pchain`` entry point (a real subprocess).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from p2pchain.chain._nodes import AnvilChain
from p2pchain.cli import app
from p2pchain.wallet._wallet import Wallet

PASSPHRASE = "correct horse battery staple"
#: scrypt cost for the wallets fixtures create with the library (reading uses the file's own
#: parameters, so CLI commands unlock them quickly); `wallet new` tests use the real default.
TEST_SCRYPT_N = 2**10


def entry_point() -> list[str]:
    """The installed ``p2pchain`` console script of this venv."""
    exe = shutil.which("p2pchain", path=str(Path(sys.executable).parent))
    assert exe is not None, "the p2pchain entry point is not installed in this venv"
    return [exe]


@dataclass
class Cli:
    """Runs ``p2pchain`` with a private environment, in process or as a subprocess."""

    env: dict[str, str]
    home: Path

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> Result:
        """Invoke through CliRunner; with ``ok``, fail the test on a non-zero exit."""
        result = CliRunner().invoke(app, list(args), env=self.env, input=input)
        if ok:
            assert result.exit_code == 0, (
                f"p2pchain {' '.join(args)} exited {result.exit_code}:\n"
                f"{result.stdout}\n{result.stderr}\n{result.exception!r}"
            )
        return result

    def fails(self, *args: str, input: str | None = None) -> str:
        """Invoke, expect exit 1 with one ``error:`` line on stderr; return that line."""
        result = self(*args, input=input, ok=False)
        assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "Traceback" not in result.output
        return lines[0]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the installed entry point as a subprocess."""
        return subprocess.run(
            [*entry_point(), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.home,
        )


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A CLI with its own data folder, config and deployments file (nothing else shared)."""
    data = tmp_path / "data"
    env = {
        "P2PCHAIN_DATA_DIR": str(data),
        "P2PCHAIN_CONFIG": str(tmp_path / "config" / "config.toml"),
        "P2PCHAIN_DEPLOYMENTS": str(data / "deployments.json"),
        "P2PCHAIN_PASSPHRASE": PASSPHRASE,
    }
    for key in ("P2PCHAIN_NETWORK", "P2PCHAIN_ACCOUNT", "P2PCHAIN_YES", "P2PCHAIN_IPFS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # library code called by the CLI reads them too
    return Cli(env=env, home=tmp_path)


@dataclass
class Market:
    """A deployed marketplace on the session Anvil, with funded wallets."""

    cli: Cli
    chain: AnvilChain
    url: str
    addresses: dict[str, str]

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> Result:
        return self.cli(*args, "--network", self.url, input=input, ok=ok)

    def fails(self, *args: str, input: str | None = None) -> str:
        return self.cli.fails(*args, "--network", self.url, input=input)


def make_wallets(names: tuple[str, ...]) -> dict[str, str]:
    """Create keystores (cheap scrypt) in the current data folder; returns their addresses."""
    wallet = Wallet(kdf_iterations=TEST_SCRYPT_N)
    return {name: wallet.create(name, PASSPHRASE) for name in names}


@pytest.fixture
def market(cli: Cli, anvil_chain: AnvilChain) -> Iterator[Market]:
    """Contracts deployed through ``p2pchain deploy`` and wallets alice, bob, arb, funded."""
    addresses = make_wallets(("alice", "bob", "arb"))
    for name in addresses:
        cli("node", "fund", name, "--amount", "50eth", "--network", anvil_chain.url)
    cli("deploy", "--network", anvil_chain.url)
    yield Market(cli=cli, chain=anvil_chain, url=anvil_chain.url, addresses=addresses)


def write_photo(folder: Path, name: str = "bike.jpg") -> Path:
    """A small stand-in for a JPEG photo."""
    path = folder / name
    path.write_bytes(b"\xff\xd8\xff\xe0" + name.encode() * 40)
    return path
