"""A real Nostr relay on 127.0.0.1: the PyPI ``nostr-relay`` package in its own process.

For the embedded demo (``make demo``, ``p2pchain demo``), ``p2pchain message relay``, the tests and
the benchmark. The relay stores events in SQLite in a folder of ours, binds 127.0.0.1 only, and
makes no outbound connection: NIP-05 verification is disabled, and neither the "friend of a
friend" nor the dynamic-list features (the package's only network clients) are configured.

:meth:`LoopbackRelay.kill` ends it at once (SIGKILL); :meth:`LoopbackRelay.start` brings it back
on the same port with the same database, as after a crash.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

from p2pchain.messaging._relays import RelayError

_START = (
    "import sys, logging\n"
    "from nostr_relay.cli import main\n"
    "sys.argv = ['nostr-relay', '-c', sys.argv[1], 'serve', '--use-uvicorn']\n"
    "main()\n"
)

#: Largest event content the relay accepts, in characters (a 64 KiB message wrapped is ~90 KB).
MAX_EVENT_CONTENT = 200_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relay_config(folder: Path, port: int) -> str:
    """The relay's YAML config: 127.0.0.1, SQLite in ``folder``, no outbound features."""
    db = folder / "relay.sqlite3"
    return f"""\
relay_name: p2pchain loopback relay
relay_description: a local relay for p2pchain's demo and tests
storage:
  sqlalchemy.url: sqlite+aiosqlite:///{db}
  num_concurrent_reqs: 10
  num_concurrent_adds: 2
  validators:
    - nostr_relay.validators.is_not_too_large
    - nostr_relay.validators.is_signed
verification:
  nip05_verification: disabled
gunicorn:
  bind: 127.0.0.1:{port}
  host: 127.0.0.1
  workers: 1
  loglevel: warning
max_event_size: {MAX_EVENT_CONTENT}
message_timeout: 3600
subscription_limit: 64
max_limit: 20000
oldest_event: 315360000
logging:
  version: 1
  disable_existing_loggers: false
  root: {{level: WARNING}}
"""


class LoopbackRelay:
    """Run ``nostr-relay`` on 127.0.0.1 in a subprocess.

    Args:
        folder: Where its database and log live (a temporary folder when None, removed on stop).
        port: The TCP port; a free one when 0 (kept across restarts).
    """

    def __init__(self, folder: Path | None = None, port: int = 0) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="p2pchain-relay-")
            folder = Path(self._tmp.name)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>``."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The relay process's id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 30.0) -> Self:
        """Start the relay; return once it accepts WebSocket connections.

        Raises:
            RelayError: It exited or did not come up in time (the log's last line says why).
        """
        if self.pid is not None:
            return self
        config = self.folder / "relay.yaml"
        config.write_text(relay_config(self.folder, self.port), encoding="utf-8")
        log = (self.folder / "relay.log").open("ab")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _START, str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.folder,
            env=env,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RelayError(f"the loopback relay exited at start: {self._last_log_line()}")
            if self._ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RelayError(f"the loopback relay did not start in {timeout:g} s")

    def _ready(self) -> bool:
        from websockets.sync.client import connect

        try:
            with connect(self.url, open_timeout=1, proxy=None, compression=None) as ws:
                ws.send('["REQ","ready",{"limit":0}]')
                ws.recv(timeout=1)
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def _last_log_line(self) -> str:
        try:
            lines = (self.folder / "relay.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1][:300] if lines else "no output"

    def kill(self) -> None:
        """End the relay at once (SIGKILL), as a crash would; the database stays."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the relay (SIGTERM, then SIGKILL after 5 s)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        self._proc = None

    def close(self) -> None:
        """Stop, and remove the temporary folder if it made one."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LoopbackRelay", "relay_config"]
