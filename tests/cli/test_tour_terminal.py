"""The README's CLI tour typed into a real terminal, as a person follows it.

The tour runs in one interactive bash in a pseudo-terminal (pexpect). Nothing comes from the
environment: no ``P2PCHAIN_PASSPHRASE``, no ``P2PCHAIN_YES``. Each passphrase is typed at its
prompt, and each "Go ahead?" is answered. The test checks what a person sees:

* every prompt is on the screen before anything is typed (no spinner erases it);
* typed passphrases never echo;
* ``LISTING=$(p2pchain listing create ... --quiet)`` captures only the id, even though the
  command asked for a passphrase and a confirmation on the terminal, so the next step works;
* answering "n" cancels with exit status 0 and nothing sent.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pexpect
import pytest
from web3 import Web3

from .test_tour import README, tour_commands

INDEX_SECTION = "## Index and search"


def index_commands(text: str) -> list[str]:
    """The ``sh`` block of the README's index section, which follows the tour on its node."""
    start = text.index(INDEX_SECTION)
    block = re.search(r"```sh\n(.*?)```", text[start:], flags=re.DOTALL)
    assert block is not None
    return [c.split("  #")[0].strip() for c in block.group(1).splitlines() if c.strip()]


PASSPHRASE = "a long enough passphrase"
PROMPT = "TOUR-READY> "
ID = re.compile(r"^0x[0-9a-f]{64}$")


def _shell(tmp_path: Path) -> pexpect.spawn:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("P2PCHAIN_") and k not in ("PS1", "PROMPT_COMMAND")
    }
    env.update(
        {
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "P2PCHAIN_DATA_DIR": str(tmp_path / "data"),
            "P2PCHAIN_CONFIG": str(tmp_path / "config" / "config.toml"),
            "P2PCHAIN_DEPLOYMENTS": str(tmp_path / "data" / "deployments.json"),
            "TERM": "xterm",
            "PS1": PROMPT,
        }
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    shell = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], cwd=str(workdir), env=env,
        encoding="utf-8", timeout=120, dimensions=(50, 160),
    )  # fmt: skip
    shell.expect_exact(PROMPT)
    return shell


def _run(
    shell: pexpect.spawn, command: str, answer: str = "y", passphrase: str = PASSPHRASE
) -> str:
    """Type ``command``; answer every prompt as a person would; return what the screen showed."""
    shell.sendline(command)
    seen = ""
    while True:
        index = shell.expect(
            [
                r"Passphrase for [^\r\n]*:",
                r"Repeat the passphrase:",
                r"Go ahead\? \[y/N\]:",
                re.escape(PROMPT),
            ]
        )
        seen += shell.before + shell.after
        if index in (0, 1):
            assert shell.after in seen  # the prompt is on the screen before we type
            shell.sendline(passphrase)
        elif index == 2:
            shell.sendline(answer)
        else:
            return seen


def _status(shell: pexpect.spawn) -> int:
    out = _run(shell, "echo rc=$?")
    return int(re.findall(r"rc=(\d+)", out)[-1])


@pytest.mark.anvil
def test_the_tour_typed_in_a_terminal(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    tour = tour_commands(text)
    assert tour[-1] == "p2pchain node stop"
    # the index section's commands run on the tour's node, before it stops
    commands = tour[:-1] + index_commands(text) + tour[-1:]
    shell = _shell(tmp_path)
    try:
        for command in commands:
            screen = _run(shell, command)
            assert _status(shell) == 0, f"{command!r} failed:\n{screen[-3000:]}"
            assert PASSPHRASE not in screen, "a typed passphrase was echoed"
            assert "Traceback" not in screen
            if command.startswith("LISTING=$("):
                assert "Passphrase for keystore 'alice'" in screen
                value = _run(shell, 'printf "<%s>\\n" "$LISTING"')
                captured = re.findall(r"<([^>]*)>", value)[-1]
                assert ID.match(captured), f"$LISTING captured {captured!r}"
            if command.startswith("TRADE=$("):
                assert "Go ahead?" in screen  # bob was shown the terms and asked
                value = _run(shell, 'printf "<%s>\\n" "$TRADE"')
                assert ID.match(re.findall(r"<([^>]*)>", value)[-1])
            if command.startswith("p2pchain index search"):
                assert "Road bike, 56 cm" in screen or "0 listing(s)" in screen, screen
            if command.startswith("p2pchain index trust alice"):
                assert "1 rating(s)" in screen and "average 5.00 stars" in screen, screen
    finally:
        shell.sendline("p2pchain node stop")
        shell.sendline("exit")
        shell.expect(pexpect.EOF, timeout=60)


@pytest.mark.anvil
def test_answering_no_cancels_cleanly(tmp_path: Path) -> None:
    """A person who answers "n" is told nothing was sent, and the command exits 0."""
    shell = _shell(tmp_path)
    try:
        for command in (
            "p2pchain wallet new alice",
            "p2pchain wallet new bob",
            "p2pchain node start",
            "p2pchain node fund alice",
            "p2pchain node fund bob",
            "p2pchain deploy",
            "printf '\\xff\\xd8\\xff\\xe0 photo' > bike.jpg",
            (
                "LISTING=$(p2pchain listing create --account alice --title Bike --price 0.1eth"
                " --category sports --condition good --image bike.jpg --quantity 2 --quiet)"
            ),
        ):
            _run(shell, command)
            assert _status(shell) == 0, command
        screen = _run(shell, "p2pchain trade buy $LISTING --account bob", answer="n")
        assert "cancelled, nothing was sent" in screen and "error:" not in screen
        assert _status(shell) == 0
        # Ctrl-C at the passphrase prompt: exit 130, one line, no traceback, nothing sent
        shell.sendline("p2pchain trade buy $LISTING --account bob")
        shell.expect(r"Passphrase for keystore 'bob':")
        shell.sendintr()
        shell.expect_exact(PROMPT)
        interrupted = shell.before
        assert "Traceback" not in interrupted
        assert _status(shell) == 130, interrupted
        sold = _run(
            shell, "printf '<%s>\\n' \"$(p2pchain listing show $LISTING --json)\" | tr -d ' \\n'"
        )
        assert '"sold":0' in sold, sold
        # Ctrl-C while the purchase waits to be mined: told the hash and how to find out; the
        # re-run resumes that purchase instead of paying a second time
        node = Web3(
            Web3.HTTPProvider(json.loads((tmp_path / "data" / "node.json").read_text())["url"])
        )
        node.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        shell.sendline("p2pchain trade buy $LISTING --account bob")
        shell.expect(r"Passphrase for keystore 'bob':")
        shell.sendline(PASSPHRASE)
        shell.expect(r"Go ahead\? \[y/N\]:")
        shell.sendline("y")
        shell.expect("waiting")
        for _ in range(600):  # until the purchase reaches the node's pool
            pool = node.provider.make_request("txpool_status", [])  # type: ignore[arg-type]
            if int(pool["result"]["pending"], 16):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the purchase never reached the node")
        shell.sendintr()
        shell.expect_exact(PROMPT)
        told = " ".join(shell.before.split())
        assert "Traceback" not in told
        assert "was signed and may have been sent" in told and "may still be mined" in told, told
        tx_hash = re.findall(r"p2pchain tx status (0x[0-9a-f]{64})", told)
        assert tx_hash, told
        assert _status(shell) == 130
        pending = _run(shell, "p2pchain tx pending --account bob --json")
        assert tx_hash[0] in pending and '"pending"' in pending, pending
        node.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        resumed = _run(shell, "p2pchain trade buy $LISTING --account bob")
        assert _status(shell) == 0, resumed
        sold = _run(
            shell, "printf '<%s>\\n' \"$(p2pchain listing show $LISTING --json)\" | tr -d ' \\n'"
        )
        assert '"sold":1' in sold, sold  # one purchase, not two
        assert node.eth.get_transaction_count(node.eth.get_transaction(tx_hash[0])["from"]) == 1
        # a new keystore's passphrase has a minimum length
        short = _run(shell, "p2pchain wallet new carol", passphrase="short")
        assert "at least 8 characters" in short
        assert _status(shell) == 1
    finally:
        shell.sendline("p2pchain node stop")
        shell.sendline("exit")
        shell.expect(pexpect.EOF, timeout=60)
