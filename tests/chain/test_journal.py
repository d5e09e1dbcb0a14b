"""The journal of signed transactions: its file format, crash safety, and two processes at once."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes

from p2pchain import Journal, JournalEntry
from p2pchain.chain._journal import chain_key, decode_signed

CHAIN = chain_key(31337, b"\x01" * 32)


def entry(account: LocalAccount, nonce: int, value: int = 1, action: str = "buy") -> JournalEntry:
    """A real signed transaction, as the sender journals it."""
    tx = {
        "to": "0x" + "22" * 20,
        "value": value,
        "gas": 21_000,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "nonce": nonce,
        "chainId": 31337,
    }
    raw = bytes(account.sign_transaction(tx).raw_transaction)
    return JournalEntry(
        sender=account.address,
        nonce=nonce,
        hash=HexBytes(keccak(raw)).to_0x_hex(),
        raw=raw,
        to=tx["to"],
        value=value,
        action=action,
        intent="ab" * 32,
        chain_id=31337,
        at=1.0,
    )


def test_journal_keeps_each_version_until_its_nonce_is_settled(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    account = Account.create()
    first, bumped, other = entry(account, 0), entry(account, 0, value=2), entry(account, 1)
    journal.record(CHAIN, [first, bumped, other])
    assert journal.open_entries(CHAIN, account.address) == [first, bumped, other]
    assert journal.find(CHAIN, other.hash) == other
    journal.settle(CHAIN, account.address, 0, "mined", tx_hash=bumped.hash, block=7)
    assert journal.open_entries(CHAIN, account.address) == [other]
    path = journal.path(CHAIN, account.address)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["op"] for x in lines] == ["sign", "sign", "sign", "done"]
    assert lines[0]["raw"] == HexBytes(first.raw).to_0x_hex() and lines[0]["v"] == 1
    assert lines[3] | {"at": 0} == {"v": 1, "op": "done", "nonce": 0, "outcome": "mined",
                                    "hash": bumped.hash, "block": 7, "at": 0}  # fmt: skip
    journal.settle(CHAIN, account.address, 1, "refused")
    assert Journal(path.parent.parent).open_entries(CHAIN, account.address) == []
    assert journal.accounts(CHAIN) == [account.address]


def test_journal_files_are_private(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    account = Account.create()
    journal.record(CHAIN, [entry(account, 0)])
    path = journal.path(CHAIN, account.address)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_journal_ignores_a_line_cut_short_by_a_crash(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    account = Account.create()
    kept = entry(account, 0)
    journal.record(CHAIN, [kept])
    path = journal.path(CHAIN, account.address)
    with open(path, "ab") as out:
        out.write(b'{"v":1,"op":"sign","nonce":1,"hash":"0x12')  # the crash
    assert Journal(path.parent.parent).open_entries(CHAIN, account.address) == [kept]
    later = entry(account, 1)
    journal.record(CHAIN, [later])
    assert Journal(path.parent.parent).open_entries(CHAIN, account.address) == [kept, later]
    assert path.read_bytes().count(b"\n") == 3  # the new line did not glue onto the torn one


def test_journal_never_hands_out_bytes_that_do_not_match_their_hash(tmp_path: Path) -> None:
    from p2pchain.chain._outstanding import _from_journal

    account = Account.create()
    good, bad = entry(account, 3), entry(account, 3, value=9)
    forged = JournalEntry(**{**bad.__dict__, "hash": good.hash.replace("a", "b", 1)})
    pending = _from_journal(account.address, 3, [forged, good], 0.0)
    assert pending is not None and [v.hash.to_0x_hex() for v in pending.versions] == [good.hash]
    assert decode_signed(good.raw)["value"] == 1


def test_journal_compacts_a_busy_file(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    account = Account.create()
    stuck = entry(account, 0)
    journal.record(CHAIN, [stuck])
    for nonce in range(1, 400):
        journal.record(CHAIN, [entry(account, nonce)])
        journal.settle(CHAIN, account.address, nonce, "mined")
    path = journal.path(CHAIN, account.address)
    assert path.stat().st_size < 300 * 1024
    assert Journal(path.parent.parent).open_entries(CHAIN, account.address) == [stuck]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the rewritten file is private too


def test_journal_empties_a_big_file_once_nothing_is_open(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    account = Account.create()
    journal.record(CHAIN, [entry(account, nonce) for nonce in range(60)])
    path = journal.path(CHAIN, account.address)
    assert path.stat().st_size > 32 * 1024
    for nonce in range(60):
        journal.settle(CHAIN, account.address, nonce, "mined")
    assert path.stat().st_size == 0


SIGNER = textwrap.dedent(
    """
    import sys
    from eth_account import Account
    from p2pchain import Journal
    from test_journal import CHAIN, entry

    journal = Journal(sys.argv[1])
    account = Account.from_key(sys.argv[2])
    for _ in range(100):
        def make(taken):
            return [entry(account, max(taken, default=-1) + 1)]
        journal.sign_into(CHAIN, account.address, make)
    """
)


def test_two_processes_never_sign_one_nonce_twice(tmp_path: Path) -> None:
    """Each process picks the next nonce from the journal under its lock: no nonce twice."""
    folder = tmp_path / "journal"
    account = Account.create()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", SIGNER, str(folder), account.key.hex()],
            env=env,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=60)
        assert run.returncode == 0, err.decode()
    nonces = [e.nonce for e in Journal(folder).open_entries(CHAIN, account.address)]
    assert sorted(nonces) == list(range(200))
