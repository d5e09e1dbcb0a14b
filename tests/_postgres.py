"""A throwaway PostgreSQL cluster for the tests (Debian's ``postgresql``; ``make postgres``).

``postgres_server`` (session scope; under pytest-xdist one cluster per worker) runs ``initdb`` and
``pg_ctl`` from ``/usr/lib/postgresql/<version>/bin`` in a temp folder, listening on 127.0.0.1
only on a free port, with its socket in that folder, and stops it at session end. As root the
cluster runs as the ``postgres`` OS user (``initdb`` refuses root). ``postgres_url`` gives each
test a fresh, empty database on it.

Import the fixtures into a conftest (``from _postgres import postgres_server, postgres_url``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_OS_USER = "postgres"


def _bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if not found:
        pytest.fail("PostgreSQL is not installed: run `make postgres` (Debian package postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    """A running test cluster: superuser ``postgres``, trust auth, 127.0.0.1 only."""

    port: int
    folder: Path

    def url(self, dbname: str = "postgres") -> str:
        """A connection URL for ``dbname`` on this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _run(argv: list[str]) -> None:
    as_root = os.geteuid() == 0
    command = ["runuser", "-u", _OS_USER, "--", *argv] if as_root else argv
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of its own, on 127.0.0.1 and a free port, stopped at session end."""
    bin_dir = _bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="p2pchain-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_OS_USER)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data = folder / "data"
    port = _free_port()
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
              "-E", "UTF8", "--locale=C", "--no-sync"])  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
              str(folder / "server.log"), "-w", "-t", "60", "start"])  # fmt: skip
        yield PostgresServer(port=port, folder=folder)
    finally:
        if (data / "postmaster.pid").exists():
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the test cluster."""
    return postgres_server.create_database()
