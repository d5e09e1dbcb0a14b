"""``p2pchain offer`` typed into a real terminal (pexpect): passphrases typed at their prompts,
each "Go ahead?" answered, the offer file passed from the buyer to the seller through the shell.
Nothing comes from the environment (no ``P2PCHAIN_PASSPHRASE``, no ``P2PCHAIN_YES``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pexpect
import pytest

from .test_tour_terminal import PASSPHRASE, PROMPT, _run, _shell, _status

ID = re.compile(r"0x[0-9a-f]{64}")


@pytest.mark.anvil
def test_offer_made_and_accepted_in_a_terminal(tmp_path: Path) -> None:
    shell = _shell(tmp_path)
    try:
        for command in (
            "p2pchain wallet new alice",
            "p2pchain wallet new bob",
            "p2pchain node start",
            "p2pchain node fund alice",
            "p2pchain node fund bob",
            "p2pchain deploy",
            (
                "LISTING=$(p2pchain listing create --account alice --title Drill --price 0.1eth"
                " --category tools --quiet)"
            ),
        ):
            screen = _run(shell, command)
            assert _status(shell) == 0, f"{command!r} failed:\n{screen[-2000:]}"
        # The buyer: terms shown, asked, then asked again for the credit the ETH offer needs.
        screen = _run(
            shell, "p2pchain offer make $LISTING --price 0.08eth --account bob --out offer.json"
        )
        flat = " ".join(screen.replace("│", " ").split())
        assert _status(shell) == 0, screen[-2000:]
        assert "Passphrase for keystore 'bob'" in screen and PASSPHRASE not in screen
        assert "you offer" in flat and "0.08 ETH" in flat
        assert "add credit" in flat and screen.count("Go ahead?") == 2
        assert "offer made" in flat and "Traceback" not in screen
        # The seller says no first: nothing sent, exit 0; then yes.
        screen = _run(shell, "p2pchain offer accept offer.json --account alice", answer="n")
        assert "cancelled, nothing was sent" in screen and _status(shell) == 0
        assert "20.0% below the asking price" in " ".join(screen.replace("│", " ").split())
        screen = _run(shell, "p2pchain offer accept offer.json --account alice")
        assert _status(shell) == 0 and "offer accepted" in screen, screen[-2000:]
        offer_id = json.loads((tmp_path / "work" / "offer.json").read_text())["id"]
        # The trade id is the offer's id; its state, captured by $(...) as JSON.
        state = _run(shell, f"p2pchain trade show {offer_id} --json | grep '\"state\"'")
        assert '"paid"' in state, state
        # Ctrl-C at the seller's passphrase prompt of a second accept: 130, one line.
        shell.sendline("p2pchain offer accept offer.json --account alice")
        shell.expect(r"Passphrase for keystore 'alice':")
        shell.sendintr()
        shell.expect_exact(PROMPT)
        assert "Traceback" not in shell.before
        assert _status(shell) == 130
    finally:
        shell.sendline("p2pchain node stop")
        shell.sendline("exit")
        shell.expect(pexpect.EOF, timeout=60)
