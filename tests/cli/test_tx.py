"""``p2pchain tx``: status, the journal, resend and cancel, run as a person would after a fault.

The faults come from :class:`~chain._faulty_rpc.FaultyRpc` in front of the session Anvil; the
commands run as the real console script (``Market.cli.run``), and outcomes are read on Anvil.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from chain._faulty_rpc import Fault, FaultyRpc
from eth_account import Account

from p2pchain.wallet._wallet import Wallet

from .conftest import PASSPHRASE, Market
from .test_faults import FAST_ENV, _list, _purchases

BUY = ("trade", "buy")


@pytest.fixture
def proxy(market: Market) -> Iterator[FaultyRpc]:
    with FaultyRpc(market.url) as server:
        yield server


def run(market: Market, *args: str, network: str | None = None) -> subprocess.CompletedProcess[str]:
    """The console script, with short waits, on ``network`` (the node by default)."""
    saved = dict(market.cli.env)
    market.cli.env.update(FAST_ENV)
    try:
        return market.cli.run(*args, "--network", network or market.url, timeout=90)
    finally:
        market.cli.env.clear()
        market.cli.env.update(saved)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = [x for x in done.stderr.strip().splitlines() if not x.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout)


def _bob_nonce(market: Market) -> int:
    return int(market.chain.w3.eth.get_transaction_count(market.addresses["bob"]))


class Ledger:
    """Bob's money, read on Anvil block by block: what his mined transactions carried and paid
    in gas since the ledger was opened, and what his balance did."""

    def __init__(self, market: Market) -> None:
        self.w3 = market.chain.w3
        self.bob = market.addresses["bob"]
        self.block = int(self.w3.eth.block_number) + 1
        self.balance = int(self.w3.eth.get_balance(self.bob))

    def paid(self, value: int) -> None:
        """Bob's transactions carried exactly ``value``; his balance fell by that plus gas."""
        carried = gas = 0
        for number in range(self.block, int(self.w3.eth.block_number) + 1):
            for tx in self.w3.eth.get_block(number, full_transactions=True)["transactions"]:
                if tx["from"] != self.bob:
                    continue
                receipt = self.w3.eth.get_transaction_receipt(tx["hash"])
                gas += int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
                carried += int(tx["value"]) if int(receipt["status"]) == 1 else 0
        spent = self.balance - int(self.w3.eth.get_balance(self.bob))
        assert (carried, spent) == (value, value + gas), (carried, spent, value, gas)


def lost_purchase(market: Market, proxy: FaultyRpc, listing_id: str) -> str:
    """A purchase the node never got (every send dropped before it): its hash."""
    proxy.arm(Fault("eth_sendRawTransaction", "drop-before", times=None))
    line = one_error_line(
        run(market, *BUY, listing_id, "--account", "bob", "--yes", network=proxy.url)
    )
    proxy.clear()
    assert "outcome is unknown" in line and "p2pchain tx status 0x" in line, line
    return line.split("p2pchain tx status ")[1][:66]


def test_tx_status_of_a_mined_purchase(market: Market) -> None:
    listing_id = _list(market)
    trade = json.loads(market(*BUY, listing_id, "--account", "bob", "--yes", "--json").stdout)
    status = ok_json(run(market, "tx", "status", trade["tx"], "--json"))
    assert status["state"] == "mined" and status["from"] == market.addresses["bob"]
    assert status["nonce"] == 0 and status["confirmations"] >= 1 and int(status["fee"]) > 0
    shown = run(market, "tx", "status", trade["tx"])
    assert shown.returncode == 0 and "mined and succeeded" in shown.stdout


def test_tx_commands_refuse_bad_input_in_one_line(market: Market) -> None:
    assert "invalid transaction hash" in one_error_line(run(market, "tx", "status", "0x12"))
    unknown = one_error_line(run(market, "tx", "status", "0x" + "ab" * 32))
    assert "no transaction 0x" + "ab" * 32 in unknown
    both = one_error_line(run(market, "tx", "cancel", "0x" + "ab" * 32, "--nonce", "1",
                              "--account", "bob", "--yes"))  # fmt: skip
    assert "not both" in both
    neither = one_error_line(run(market, "tx", "cancel", "--account", "bob", "--yes"))
    assert "give a transaction hash, or --nonce N" in neither
    nothing = run(market, "tx", "resend", "--account", "bob", "--yes")
    assert nothing.returncode == 0 and "nothing to resend" in nothing.stdout


def test_tx_pending_then_resend_a_purchase_the_node_lost(market: Market, proxy: FaultyRpc) -> None:
    listing_id = _list(market)
    ledger = Ledger(market)
    lost = lost_purchase(market, proxy, listing_id)
    journal = ok_json(run(market, "tx", "pending", "--account", "bob", "--json"))
    assert [(e["hash"], e["state"], e["nonce"], e["action"]) for e in journal] == [
        (lost, "dropped", 0, "buy")
    ]
    assert journal[0]["next"].startswith(f"p2pchain tx resend {lost}")
    assert _purchases(market, listing_id) == 0
    resent = run(market, "tx", "resend", lost, "--account", "bob", "--yes")
    assert resent.returncode == 0 and "sent again" in resent.stdout, resent.stderr
    assert ok_json(run(market, "tx", "status", lost, "--json"))["state"] == "mined"
    assert _purchases(market, listing_id) == 1
    # the same purchase once more: the earlier one is reported and resumed, nothing new is sent
    again = run(market, *BUY, listing_id, "--account", "bob", "--yes", "--quiet")
    assert again.returncode == 0, again.stderr
    assert "nothing new was sent" in again.stderr and f"earlier transaction {lost}" in again.stderr
    assert _purchases(market, listing_id) == 1 and _bob_nonce(market) == 1
    assert ok_json(run(market, "tx", "pending", "--account", "bob", "--json")) == []
    ledger.paid(10**17)


def test_tx_cancel_replaces_a_lost_purchase_then_buying_again_pays_once(
    market: Market, proxy: FaultyRpc
) -> None:
    listing_id = _list(market)
    ledger = Ledger(market)
    lost = lost_purchase(market, proxy, listing_id)
    cancelled = run(market, "tx", "cancel", lost, "--account", "bob", "--yes", "--json")
    out = ok_json(cancelled)
    assert out["cancelled"] is True and out["replaced"] == lost and out["nonce"] == 0
    assert _purchases(market, listing_id) == 0 and _bob_nonce(market) == 1
    ledger.paid(0)  # only the cancellation's gas
    assert ok_json(run(market, "tx", "pending", "--account", "bob", "--json")) == []
    bought = run(market, *BUY, listing_id, "--account", "bob", "--yes", "--quiet")
    assert bought.returncode == 0 and "nothing new was sent" not in bought.stderr
    assert _purchases(market, listing_id) == 1 and _bob_nonce(market) == 2
    ledger.paid(10**17)


def test_tx_cancel_nonce_fills_a_gap(market: Market) -> None:
    bob = Wallet().load_account("bob", PASSPHRASE)
    w3 = market.chain.w3
    nonce = _bob_nonce(market)
    tx = {"to": Account.create().address, "value": 5, "gas": 21_000, "nonce": nonce + 1,
          "maxFeePerGas": 100 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": 31337}  # fmt: skip
    stuck = w3.eth.send_raw_transaction(bob.sign_transaction(tx).raw_transaction).to_0x_hex()
    status = ok_json(run(market, "tx", "status", stuck, "--json"))
    assert (status["state"], status["missing_nonce"]) == ("queued", nonce)
    assert status["next"].startswith(f"p2pchain tx cancel --nonce {nonce}")
    filled = ok_json(run(market, "tx", "cancel", "--nonce", str(nonce), "--account", "bob",
                         "--yes", "--json"))  # fmt: skip
    assert filled["cancelled"] is False and filled["nonce"] == nonce
    assert w3.eth.wait_for_transaction_receipt(stuck, timeout=10)["status"] == 1
    assert _bob_nonce(market) == nonce + 2


def test_two_commands_at_once_from_one_account_take_two_nonces(market: Market) -> None:
    """A second process sees the first one's journal: no nonce is signed twice."""
    first, second = _list(market), _list(market)
    ledger = Ledger(market)
    env = {**market.cli.env, **FAST_ENV}
    procs = []
    for listing_id in (first, second):
        args = [*BUY, listing_id, "--account", "bob", "--yes", "--quiet", "--network", market.url]
        procs.append(_spawn(market, env, args))
    for proc in procs:
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
    assert _purchases(market, first) == 1 and _purchases(market, second) == 1
    assert _bob_nonce(market) == 2
    ledger.paid(2 * 10**17)


def _spawn(market: Market, env: dict[str, str], args: list[str]) -> subprocess.Popen[str]:
    import os

    from .conftest import entry_point

    return subprocess.Popen(
        [*entry_point(), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=market.cli.home,
    )


def test_tx_cancel_a_pending_transaction_the_journal_does_not_know(market: Market) -> None:
    """A transaction signed elsewhere (another wallet with the same key), still in the pool."""
    import time

    bob = Wallet().load_account("bob", PASSPHRASE)
    w3 = market.chain.w3
    ledger = Ledger(market)
    market.chain.rpc("evm_setAutomine", [False])
    try:
        tx = {"to": Account.create().address, "value": 10**18, "gas": 21_000,
              "nonce": _bob_nonce(market), "maxFeePerGas": 100 * 10**9,
              "maxPriorityFeePerGas": 10**9, "chainId": 31337}  # fmt: skip
        pending = w3.eth.send_raw_transaction(bob.sign_transaction(tx).raw_transaction).to_0x_hex()
        env = {**market.cli.env, **FAST_ENV}
        args = ["tx", "cancel", pending, "--account", "bob", "--yes", "--json",
                "--network", market.url]  # fmt: skip
        proc = _spawn(market, env, args)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            pool = market.chain.rpc("txpool_content", [])["pending"].get(bob.address.lower(), {})
            if any(t["to"].lower() == bob.address.lower() for t in pool.values()):
                market.chain.mine()  # the cancellation replaced it in the pool: mine it
                break
            time.sleep(0.1)
        out, err = proc.communicate(timeout=60)
    finally:
        market.chain.rpc("evm_setAutomine", [True])
    assert proc.returncode == 0, err
    done = json.loads(out)
    assert done["cancelled"] is True and done["replaced"] == pending
    ledger.paid(0)  # the 1 ETH never left; only the cancellation's gas was paid
