"""The transaction sender behind a faulty node: the journal, refused connections, gaps,
cancellations, status, Ganache, and a second process that picks up where the first left off.

The client-level fault tests (the issue's table, every method, batches, restarts) are in
``tests/market/test_faults.py``; the command line's in ``tests/cli/test_faults.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _market import ONE
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from chain._faulty_rpc import Fault, FaultyRpc
from p2pchain import (
    AnvilChain,
    ChainMismatch,
    ConnectionLost,
    DevChain,
    GanacheChain,
    Journal,
    NonceGap,
    NotSent,
    RpcChain,
    SenderPolicy,
    TransactionCancelled,
    TransactionSender,
)

FAST = SenderPolicy(receipt_timeout=4.0, poll_interval=0.02, rpc_attempts=3, retry_delay=0.05)
GWEI = 10**9


def funded(chain: DevChain, ether: int = 10) -> LocalAccount:
    """A fresh account with ``ether`` ETH (funded by a dev account)."""
    account: LocalAccount = Account.create()
    if isinstance(chain, AnvilChain):
        chain.rpc("anvil_setBalance", [account.address, hex(ether * ONE)])
    else:
        TransactionSender(chain.w3).send(
            chain.accounts[9], {"to": account.address, "value": ether * ONE}
        )
    return account


def through(proxy: FaultyRpc, journal: Path | None, **kwargs: Any) -> TransactionSender:
    """A sender that reaches the node through the proxy."""
    return TransactionSender(
        RpcChain(proxy.url, retry=False, timeout=5).w3,
        kwargs.pop("policy", FAST),
        journal=Journal(journal) if journal is not None else None,
        **kwargs,
    )


@pytest.fixture
def proxy(anvil_chain: AnvilChain) -> Iterator[FaultyRpc]:
    with FaultyRpc(anvil_chain.url) as server:
        yield server


@pytest.fixture
def paused_anvil() -> Iterator[AnvilChain]:
    """An Anvil of its own that mines only when told to."""
    with AnvilChain(extra_args=["--no-mining"]) as node:
        yield node


TO = "0x" + "77" * 20


def test_the_journal_line_is_on_disk_before_the_send_leaves(
    anvil_chain: AnvilChain, proxy: FaultyRpc, tmp_path: Path
) -> None:
    sender = through(proxy, tmp_path / "journal")
    account = funded(anvil_chain)
    seen: list[bool] = []

    def check(call: dict[str, Any]) -> None:
        raw = HexBytes(call["params"][0])
        entries = Journal(tmp_path / "journal").open_entries(
            sender.outstanding.chain(), account.address
        )
        seen.append(any(e.raw == bytes(raw) for e in entries))

    proxy.watch("eth_sendRawTransaction", check)
    receipt = sender.send(account, {"to": TO, "value": 1})
    assert seen == [True]
    assert receipt["status"] == 1
    assert (
        Journal(tmp_path / "journal").open_entries(sender.outstanding.chain(), account.address)
        == []
    )


def test_refused_connection_at_the_send_nothing_sent_nonce_reused(
    anvil_chain: AnvilChain, proxy: FaultyRpc, tmp_path: Path
) -> None:
    sender = through(proxy, tmp_path / "journal")
    account = funded(anvil_chain)
    fees = {"maxFeePerGas": 50 * GWEI, "maxPriorityFeePerGas": GWEI, "gas": 21_000}
    sender.send(account, {"to": TO, "value": 1, **fees}, check=False)  # warm: nonce, genesis
    before = anvil_chain.w3.eth.get_balance(TO)
    # the chain-id check is the last request before signing: the node goes away right after it
    proxy.arm(Fault("eth_chainId", "down-after"))
    with pytest.raises(NotSent) as info:
        sender.submit(account, {"to": TO, "value": 5, **fees}, check=False)
    assert "was not sent" in str(info.value) and info.value.pending is not None
    refused_nonce = info.value.pending.nonce
    assert proxy.forwarded_raw.count(info.value.pending.raw.hex()) == 0
    assert sender.orphans(account.address) == []
    assert (
        Journal(tmp_path / "journal").open_entries(sender.outstanding.chain(), account.address)
        == []
    )
    proxy.up()
    again = sender.submit(account, {"to": TO, "value": 5, **fees}, check=False)
    assert again.nonce == refused_nonce  # the nonce went back to the pool
    assert sender.wait(again)["status"] == 1
    assert anvil_chain.w3.eth.get_balance(TO) == before + 5


def test_a_nonce_gap_is_explained_and_filled(anvil_chain: AnvilChain, tmp_path: Path) -> None:
    sender = TransactionSender(anvil_chain.w3, FAST, journal=Journal(tmp_path / "journal"))
    account = funded(anvil_chain)
    before = anvil_chain.w3.eth.get_balance(TO)
    stuck = sender.submit(account, {"to": TO, "value": 3, "nonce": 1})
    with pytest.raises(NonceGap) as info:
        sender.wait(stuck, timeout=0.5)
    assert info.value.missing == 0
    assert "nonce 0" in str(info.value) and "cancel(account, 0)" in str(info.value)
    assert sender.status(stuck.tx_hash).state == "queued"
    filler = sender.cancel(account, 0)
    assert sender.wait(filler)["status"] == 1
    assert sender.wait(stuck)["status"] == 1
    assert anvil_chain.w3.eth.get_balance(TO) == before + 3
    assert anvil_chain.w3.eth.get_transaction_count(account.address) == 2


def test_cancel_replaces_a_stuck_transaction(paused_anvil: AnvilChain, tmp_path: Path) -> None:
    sender = TransactionSender(paused_anvil.w3, FAST, journal=Journal(tmp_path / "journal"))
    account = funded(paused_anvil)
    pending = sender.submit(account, {"to": TO, "value": ONE})
    assert sender.status(pending.tx_hash).state == "pending"
    sender.cancel(account, pending)
    paused_anvil.mine()
    with pytest.raises(TransactionCancelled, match="only its gas was paid"):
        sender.wait(pending)
    assert paused_anvil.w3.eth.get_balance(TO) == 0
    assert paused_anvil.w3.eth.get_transaction_count(account.address) == 1
    status = sender.status(pending.versions[0].hash.to_0x_hex())
    assert status.state == "unknown"  # settled: the journal closed it, the node never mined it
    assert (
        Journal(tmp_path / "journal").open_entries(sender.outstanding.chain(), account.address)
        == []
    )


def test_status_of_a_transaction_the_node_lost(
    anvil_chain: AnvilChain, proxy: FaultyRpc, tmp_path: Path
) -> None:
    sender = through(proxy, tmp_path / "journal")
    account = funded(anvil_chain)
    proxy.arm(Fault("eth_sendRawTransaction", "drop-before", times=None))
    with pytest.raises(ConnectionLost) as info:
        sender.submit(account, {"to": TO, "value": 1})
    lost = info.value.pending
    assert lost is not None and proxy.forwarded_raw == []
    proxy.clear()
    dropped = sender.status(lost.tx_hash)
    assert (dropped.state, dropped.nonce, dropped.journaled) == ("dropped", 0, True)
    assert sender.resend(lost) == "resent"
    assert sender.wait(lost)["status"] == 1
    mined = sender.status(lost.tx_hash)
    assert mined.state == "mined" and mined.block is not None and mined.fee
    assert sender.status("0x" + "12" * 32).state == "unknown"


def test_a_second_process_resumes_what_the_first_left_unknown(
    anvil_chain: AnvilChain, proxy: FaultyRpc, tmp_path: Path
) -> None:
    first = through(proxy, tmp_path / "journal")
    account = funded(anvil_chain)
    before = anvil_chain.w3.eth.get_balance(TO)
    proxy.arm(Fault("eth_sendRawTransaction", "drop-before", times=None))
    with pytest.raises(ConnectionLost):
        first.submit(account, {"to": TO, "value": 7})
    del first  # the process is gone; only the journal remembers
    second = TransactionSender(anvil_chain.w3, FAST, journal=Journal(tmp_path / "journal"))
    found = second.reconcile(account.address)
    assert [r.state for r in found] == ["resent"]
    again = second.submit(account, {"to": TO, "value": 7})  # the same call: resumed
    assert again is found[0].pending
    assert second.wait(again)["status"] == 1
    assert anvil_chain.w3.eth.get_balance(TO) == before + 7
    assert anvil_chain.w3.eth.get_transaction_count(account.address) == 1
    assert second.reconcile(account.address) == []


def test_the_chain_id_is_the_sessions(
    anvil_chain: AnvilChain, proxy: FaultyRpc, tmp_path: Path
) -> None:
    sender = through(proxy, tmp_path / "journal", chain_id=31337)
    account = funded(anvil_chain)
    proxy.arm(Fault("eth_chainId", "lie", result="0x1", times=None))
    with pytest.raises(ChainMismatch, match="answers chain id 1, but this session signs for"):
        sender.submit(account, {"to": TO, "value": 1})
    assert proxy.forwarded_raw == []
    assert sender.orphans(account.address) == []
    proxy.clear()
    assert sender.send(account, {"to": TO, "value": 1})["status"] == 1
    assert sender.chain_id == 31337


def test_garbled_send_answer_on_ganache_is_looked_up_not_sent_again(
    ganache_chain: GanacheChain, tmp_path: Path
) -> None:
    """Ganache runs a re-sent transaction a second time: the hash must be looked up first."""
    account = funded(ganache_chain)
    before = ganache_chain.w3.eth.get_balance(TO)
    with FaultyRpc(ganache_chain.url) as proxy:
        sender = through(proxy, tmp_path / "journal")
        proxy.arm(Fault("eth_sendRawTransaction", "garbage-after"))
        assert sender.send(account, {"to": TO, "value": 9})["status"] == 1
        assert len(proxy.forwarded_raw) == 1
    assert ganache_chain.w3.eth.get_balance(TO) == before + 9
    assert ganache_chain.w3.eth.get_transaction_count(account.address) == 1
