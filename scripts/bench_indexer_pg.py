"""``scripts/bench_indexer.py`` on SQLite and on a throwaway PostgreSQL cluster of its own.

Starts a cluster on 127.0.0.1 and a free port with the test suite's helpers (``make postgres``
installs the server), runs the indexer benchmark with ``--postgres`` pointing at an empty
database in it, then stops the cluster and removes its folder. Extra arguments go to the
benchmark. ``make bench`` runs this.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from _postgres import _OS_USER, PostgresServer, _bin_dir, _free_port, _run


def main() -> int:
    bin_dir = _bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="p2pchain-pgbench-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(_OS_USER)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, port = folder / "data", _free_port()
    _run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E",
          "UTF8", "--locale=C", "--no-sync"])  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
          str(folder / "server.log"), "-w", "-t", "60", "start"])  # fmt: skip
    try:
        url = PostgresServer(port=port, folder=folder).create_database()
        script = str(REPO / "scripts" / "bench_indexer.py")
        return subprocess.call([sys.executable, script, "--postgres", url, *sys.argv[1:]])
    finally:
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
