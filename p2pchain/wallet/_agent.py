"""An unlocked wallet for a while, like ``ssh-agent``: ``p2pchain wallet unlock NAME --for 15m``.

The decrypted key lives only in the memory of a small agent process of this user. Signing
commands ask it for the key over a Unix socket instead of running scrypt again. Nothing is ever
written to disk but the socket:

* the socket is ``<data dir>/agent/<name>.sock``, in a folder of mode 0700, itself mode 0600;
* the agent answers only a peer of its own user id (``SO_PEERCRED``), and a client talks only to
  a socket owned by its user, of mode 0600, whose server runs as its user (``SO_PEERCRED``);
* the agent cannot be traced or dumped by other processes of the user (``PR_SET_DUMPABLE`` 0);
* it exits when its time is up, on ``p2pchain wallet lock`` and on SIGTERM/SIGINT, removing its
  socket. It never outlives a reboot (the key was only ever in memory).

This is optional and never on by default: without an agent every signing command asks for the
passphrase. The protocol is one JSON line each way: ``{"op": "key"}`` (the key and address),
``{"op": "status"}`` (address and end time), ``{"op": "lock"}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from p2pchain._errors import WalletError
from p2pchain._paths import data_dir

#: The longest an agent may hold a key.
MAX_SECONDS = 24 * 3600
#: How long a client waits for an agent's answer.
CLIENT_TIMEOUT = 2.0
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, None: 60}


def parse_duration(text: str) -> int:
    """Seconds in ``90s``, ``15m`` or ``2h`` (a bare number is minutes).

    Raises:
        WalletError: Not a duration, zero, or longer than 24 hours.
    """
    match = _DURATION.match(text)
    if match is None:
        raise WalletError(f"invalid duration {text!r}: expected e.g. 90s, 15m or 2h")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_SECONDS:
        raise WalletError(f"invalid duration {text!r}: between 1 second and 24 hours")
    return seconds


def agent_dir() -> Path:
    """The folder of the agents' sockets (``<data dir>/agent``)."""
    return data_dir() / "agent"


def socket_path(name: str) -> Path:
    """The socket of the agent holding keystore ``name``."""
    return agent_dir() / f"{name}.sock"


@dataclass(frozen=True)
class AgentStatus:
    """An agent's answer to ``status``.

    Attributes:
        name: The keystore.
        address: Its address.
        expires: When the agent ends (unix seconds).
        pid: The agent's process id.
    """

    name: str
    address: str
    expires: float
    pid: int


# ------------------------------------------------------------------ client side


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _trusted(path: Path) -> bool:
    """Whether ``path`` is a socket of this user, mode 0600, in a folder only it can enter."""
    try:
        folder = path.parent.lstat()
        info = path.lstat()
    except OSError:
        return False
    uid = os.getuid()
    return (
        stat.S_ISDIR(folder.st_mode)
        and folder.st_uid == uid
        and stat.S_IMODE(folder.st_mode) & 0o077 == 0
        and stat.S_ISSOCK(info.st_mode)
        and info.st_uid == uid
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


def ask(name: str, op: str) -> dict[str, object] | None:
    """Send ``op`` to the agent of keystore ``name``; its answer, or None if there is none
    (no socket, not a trusted one, nobody listening, or no answer in time)."""
    path = socket_path(name)
    if not _trusted(path):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(CLIENT_TIMEOUT)
    try:
        conn.connect(str(path))
        if _peer_uid(conn) != os.getuid():
            return None
        conn.sendall(json.dumps({"op": op}).encode() + b"\n")
        raw = b""
        while not raw.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            raw += chunk
    except OSError:
        if not path.exists() or _stale(path):
            with contextlib.suppress(OSError):
                path.unlink()
        return None
    finally:
        conn.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _stale(path: Path) -> bool:
    """A socket file nobody listens on (its agent died without removing it)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False


def agent_key(name: str, address: str) -> bytes | None:
    """The key of keystore ``name`` from its agent, if one holds it (and it is ``address``'s)."""
    answer = ask(name, "key")
    if answer is None:
        return None
    key, held = answer.get("key"), answer.get("address")
    if not isinstance(key, str) or not isinstance(held, str) or held.lower() != address.lower():
        return None
    try:
        return bytes.fromhex(key.removeprefix("0x"))
    except ValueError:
        return None


def status(name: str) -> AgentStatus | None:
    """What the agent of keystore ``name`` holds, if there is one."""
    answer = ask(name, "status")
    if answer is None:
        return None
    address, expires, pid = answer.get("address"), answer.get("expires"), answer.get("pid")
    if not isinstance(address, str) or not isinstance(expires, (int, float)):
        return None
    return AgentStatus(name, address, float(expires), int(pid) if isinstance(pid, int) else 0)


def lock(name: str) -> bool:
    """End the agent of keystore ``name``; whether there was one."""
    answer = ask(name, "lock")
    return answer is not None and answer.get("ok") is True


def running() -> list[str]:
    """The keystores an agent holds now."""
    folder = agent_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.sock") if status(p.stem) is not None)


def start(name: str, address: str, key: bytes, seconds: int) -> AgentStatus:
    """Start an agent for keystore ``name`` holding ``key`` for ``seconds``.

    The key goes to the agent through a pipe (never the command line, the environment or the
    disk). An agent already holding ``name`` is ended first.

    Raises:
        WalletError: The agent did not start.
    """
    if not 0 < seconds <= MAX_SECONDS:
        raise WalletError("an agent holds a key between 1 second and 24 hours")
    lock(name)
    folder = agent_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    path = socket_path(name)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    process = subprocess.Popen(
        [sys.executable, "-m", "p2pchain.wallet._agent", str(path), name, address, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal does not end it; `wallet lock` does
        close_fds=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(key.hex().encode() + b"\n")
        process.stdin.close()
        ready = process.stdout.readline().strip()
    except OSError as exc:
        raise WalletError(f"the wallet agent did not start: {exc}") from None
    finally:
        process.stdout.close()
    if ready != b"ready":
        process.kill()
        raise WalletError("the wallet agent did not start (it said nothing)")
    found = status(name)
    if found is None:
        raise WalletError("the wallet agent started but does not answer")
    return found


# ------------------------------------------------------------------ the agent


def _no_dumps() -> None:
    """Keep other processes of the user from reading this one's memory (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


def serve(path: Path, name: str, address: str, seconds: int) -> None:
    """Run an agent: read the key from stdin, listen on ``path`` until the time is up."""
    _no_dumps()
    key = sys.stdin.readline().strip()
    sys.stdin.close()
    expires = time.time() + seconds
    deadline = time.monotonic() + seconds
    old = os.umask(0o177)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
    finally:
        os.umask(old)
    path.chmod(0o600)
    inode = path.stat().st_ino
    server.listen(8)
    stop = False

    def ended(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, ended)
    signal.signal(signal.SIGINT, ended)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdout.close()
    try:
        while not stop and time.monotonic() < deadline:
            server.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except InterruptedError:
                continue
            except OSError:
                if stop:
                    break
                raise
            with conn:
                stop = _answer(conn, name, address, key, expires)
    finally:
        server.close()
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:  # not a newer agent's socket
                path.unlink()
        key = ""


def _answer(conn: socket.socket, name: str, address: str, key: str, expires: float) -> bool:
    """Answer one request; whether the agent should end."""
    conn.settimeout(CLIENT_TIMEOUT)
    try:
        if _peer_uid(conn) != os.getuid():
            return False
        raw = b""
        while not raw.endswith(b"\n") and len(raw) < 1024:
            chunk = conn.recv(1024)
            if not chunk:
                break
            raw += chunk
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        op = request.get("op") if isinstance(request, dict) else None
        if op == "key":
            answer: dict[str, object] = {"key": key, "address": address}
        elif op == "status":
            answer = {"name": name, "address": address, "expires": expires, "pid": os.getpid()}
        elif op == "lock":
            conn.sendall(b'{"ok": true}\n')
            return True
        else:
            answer = {"error": "unknown request"}
        conn.sendall(json.dumps(answer).encode() + b"\n")
    except OSError:
        pass
    return False


def main() -> None:
    """``python -m p2pchain.wallet._agent SOCKET NAME ADDRESS SECONDS`` (started by
    :func:`start`, with the key on stdin)."""
    path, name, address, seconds = sys.argv[1:5]
    serve(Path(path), name, address, int(seconds))


if __name__ == "__main__":
    main()


__all__ = [
    "AgentStatus",
    "agent_dir",
    "agent_key",
    "lock",
    "parse_duration",
    "running",
    "socket_path",
    "start",
    "status",
]
