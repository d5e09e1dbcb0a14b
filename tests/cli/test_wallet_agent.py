"""``p2pchain wallet unlock NAME --for 15m``: a keystore held unlocked by a local agent of the
user, typed in a real terminal (pexpect) as a person would, against a real Anvil node."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from p2pchain.wallet._agent import parse_duration

from .test_tour_terminal import PASSPHRASE, PROMPT, _run, _shell, _status


def _setup(shell: pexpect.spawn) -> None:
    for command in (
        "p2pchain wallet new alice",
        "p2pchain wallet new bob",
        "p2pchain node start",
        "p2pchain node fund alice",
        "p2pchain node fund bob",
        "p2pchain deploy",
        (
            "LISTING=$(p2pchain listing create --account alice --title Drill --price 0.01eth"
            " --category tools --condition good --quantity 5 --quiet)"
        ),
    ):
        _run(shell, command)
        assert _status(shell) == 0, command


def _sold(shell: pexpect.spawn) -> int:
    out = _run(
        shell, "printf '<%s>\\n' \"$(p2pchain listing show $LISTING --json)\" | tr -d ' \\n'"
    )
    return int(re.findall(r'"sold":(\d+)', out)[-1])


@pytest.mark.anvil
def test_an_unlocked_keystore_signs_without_a_passphrase_until_locked(tmp_path: Path) -> None:
    shell = _shell(tmp_path)
    data = tmp_path / "data"
    try:
        _setup(shell)
        screen = _run(shell, "p2pchain wallet unlock bob --for 10m")
        assert _status(shell) == 0, screen
        assert "Passphrase for keystore 'bob'" in screen and "wallet bob unlocked" in screen
        assert PASSPHRASE not in screen
        sock = data / "agent" / "bob.sock"
        assert stat.S_ISSOCK(sock.stat().st_mode)
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        # No plaintext key anywhere on disk, nor on the agent's command line or environment.
        key = _key(data, "bob")
        for path in data.rglob("*"):
            if path.is_file():
                assert key not in path.read_bytes().hex(), path
        (listed,) = json.loads(_json(shell, "p2pchain wallet unlocked --json"))
        agent = int(_agent_pid(sock))
        cmdline = Path(f"/proc/{agent}/cmdline").read_bytes()
        assert key.encode() not in cmdline and PASSPHRASE.encode() not in cmdline
        assert key.encode() not in Path(f"/proc/{agent}/environ").read_bytes()
        assert listed["name"] == "bob" and listed["expires"] > time.time() + 500
        # A purchase: the terms and the question, but no passphrase prompt.
        screen = _run(shell, "TRADE=$(p2pchain trade buy $LISTING --account bob)")
        assert _status(shell) == 0, screen
        assert "Go ahead?" in screen and "Passphrase for" not in screen, screen
        assert _sold(shell) == 1
        # Locked: the passphrase is asked again (Ctrl-C there: nothing sent).
        screen = _run(shell, "p2pchain wallet lock bob")
        assert "locked bob" in screen and _status(shell) == 0
        assert not sock.exists()
        shell.sendline("p2pchain trade buy $LISTING --account bob")
        shell.expect(r"Passphrase for keystore 'bob':")
        shell.sendintr()
        shell.expect_exact(PROMPT)
        assert _status(shell) == 130
        assert _sold(shell) == 1
        # The time runs out by itself; the socket goes with the agent.
        _run(shell, "p2pchain wallet unlock bob --for 2s")
        assert _status(shell) == 0 and sock.exists()
        time.sleep(3.5)
        assert "no keystore is unlocked" in _run(shell, "p2pchain wallet unlocked")
        assert not sock.exists()
        # Bad durations: one line, before any passphrase.
        for bad in ("0s", "25h", "soon"):
            screen = _run(shell, f"p2pchain wallet unlock bob --for {bad}")
            assert "error: invalid duration" in screen and "Passphrase" not in screen, screen
            assert _status(shell) == 1
    finally:
        shell.sendline("p2pchain wallet lock")
        shell.sendline("p2pchain node stop")
        shell.sendline("exit")
        shell.expect(pexpect.EOF, timeout=60)


@pytest.mark.anvil
def test_a_socket_others_could_write_is_not_trusted(tmp_path: Path) -> None:
    """An agent socket whose mode lets others in (or a stranger's file in its place) is
    ignored: the passphrase is asked as if no agent ran."""
    shell = _shell(tmp_path)
    data = tmp_path / "data"
    try:
        _setup(shell)
        _run(shell, "p2pchain wallet unlock bob --for 10m")
        sock = data / "agent" / "bob.sock"
        sock.chmod(0o666)
        shell.sendline("p2pchain trade buy $LISTING --account bob")
        shell.expect(r"Passphrase for keystore 'bob':")
        shell.sendintr()
        shell.expect_exact(PROMPT)
        sock.chmod(0o600)
        screen = _run(shell, "p2pchain trade buy $LISTING --account bob")
        assert "Passphrase for" not in screen and _status(shell) == 0
    finally:
        shell.sendline("p2pchain wallet lock")
        shell.sendline("p2pchain node stop")
        shell.sendline("exit")
        shell.expect(pexpect.EOF, timeout=60)


def test_another_user_cannot_reach_the_agent(tmp_path: Path) -> None:
    """The socket is mode 0600 in a 0700 folder: a process of another user cannot even connect
    (run as another user when the tests run as root, as in CI; else the modes are checked)."""
    from p2pchain.wallet._agent import lock, start

    os.environ["P2PCHAIN_DATA_DIR"] = str(tmp_path / "data")
    try:
        start("carol", "0x" + "11" * 20, bytes(range(32)), 60)
        sock = tmp_path / "data" / "agent" / "carol.sock"
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        if os.getuid() != 0:
            return
        sock.parent.chmod(0o755)  # even with the folder open, the socket's mode refuses
        tmp_path.chmod(0o755)
        (tmp_path / "data").chmod(0o755)
        probe = (
            "import socket,sys\n"
            "s=socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(sys.argv[1]); print('connected')\n"
            "except PermissionError: print('refused')\n"
        )
        # The system interpreter: the venv's may sit where another user cannot reach it.
        python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        done = subprocess.run(
            [python, "-I", "-c", probe, str(sock)],
            user=65534, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.stdout.strip() == "refused", done.stdout + done.stderr
    finally:
        lock("carol")
        del os.environ["P2PCHAIN_DATA_DIR"]


def test_durations_are_checked() -> None:
    assert parse_duration("90s") == 90 and parse_duration("15m") == 900
    assert parse_duration("2h") == 7200 and parse_duration("5") == 300
    for bad in ("", "0m", "25h", "1d", "-5m", "1.5h"):
        with pytest.raises(Exception, match="invalid duration"):
            parse_duration(bad)


def _json(shell: pexpect.spawn, command: str) -> str:
    out = _run(shell, f"printf '<%s>\\n' \"$({command})\" | tr -d '\\n'")
    return re.findall(r"<([^<>]*)>", out)[-1]


def _key(data: Path, name: str) -> str:
    from eth_account import Account

    keystore = json.loads((data / "keystores" / f"{name}.json").read_text())
    return bytes(Account.decrypt(keystore, PASSPHRASE)).hex()


def _agent_pid(sock: Path) -> int:
    import struct

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(sock))
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[0])
    finally:
        conn.close()
