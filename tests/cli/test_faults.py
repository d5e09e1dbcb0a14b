"""Money never moves twice: the ``p2pchain`` command behind a flaky or lying RPC node.

Each test runs the real console script as a subprocess, through
:class:`~chain._faulty_rpc.FaultyRpc` in front of the session Anvil, with a fault armed. When the
command fails, the person runs the same command again once the node is healthy. Then the test
checks on Anvil directly: the buyer's nonce, the purchases, and what each run printed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from _market import money
from chain._faulty_rpc import Fault, FaultyRpc, report
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes

from .conftest import Market

#: Waits for the subprocesses: short answers, and receipts long enough for a loaded machine.
FAST_ENV = {"P2PCHAIN_TX_TIMEOUT": "10", "P2PCHAIN_RPC_TIMEOUT": "2"}
#: For the tests whose transaction must outlast the wait.
SHORT_ENV = {**FAST_ENV, "P2PCHAIN_TX_TIMEOUT": "2"}


@pytest.fixture
def proxy(market: Market) -> Iterator[FaultyRpc]:
    with FaultyRpc(market.url) as server:
        yield server


@dataclass
class Run:
    """What one command printed and how it ended."""

    code: int
    out: str
    err: str

    @property
    def told(self) -> str:
        if self.code == 0:
            return "ok"
        return self.err.strip().splitlines()[-1] if self.err.strip() else f"exit {self.code}"


@dataclass
class Person:
    """Runs commands through the proxy, retrying a failed one once as a person would."""

    market: Market
    proxy: FaultyRpc
    runs: list[Run] = field(default_factory=list)
    start: int = 0
    env: dict[str, str] = field(default_factory=lambda: dict(FAST_ENV))

    def __post_init__(self) -> None:
        self.start = int(self.market.chain.w3.eth.get_balance(_bob(self.market)))

    def paid(self, value: int) -> None:
        """Bob's balance fell by exactly ``value`` plus the gas of his mined transactions, and
        those carried exactly ``value`` (read on Anvil)."""
        chain = self.market.chain
        carried, gas = money(chain, _bob(self.market), self.proxy.forwarded_raw)
        spent = self.start - int(chain.w3.eth.get_balance(_bob(self.market)))
        assert (carried, spent) == (value, value + gas), (carried, spent, value, gas)

    def run(self, *args: str, timeout: float = 60) -> Run:
        cli = self.market.cli
        saved = dict(cli.env)
        cli.env.update(self.env)
        try:
            done = cli.run(*args, "--network", self.proxy.url, timeout=timeout)
            run = Run(done.returncode, done.stdout, done.stderr)
        except subprocess.TimeoutExpired:
            run = Run(-9, "", f"still running after {timeout:g} s (killed)")
        finally:
            cli.env.clear()
            cli.env.update(saved)
        self.runs.append(run)
        return run

    def step(self, *args: str, heal: bool = True) -> Run:
        """Run a command; if it fails, heal the node (optionally) and run it once more."""
        first = self.run(*args)
        if first.code == 0:
            return first
        if heal:
            self.proxy.clear()
        return self.run(*args)

    @property
    def told(self) -> list[str]:
        return [r.told for r in self.runs]


def _list(market: Market, quantity: int = 3) -> str:
    out = market(
        "listing", "create", "--account", "alice", "--title", "Lamp", "--price", "0.1eth",
        "--category", "home/lamps", "--quantity", str(quantity), "--quiet",
    )  # fmt: skip
    return out.stdout.strip()


def _bob(market: Market) -> str:
    return market.addresses["bob"]


def _nonce(market: Market) -> int:
    return int(market.chain.w3.eth.get_transaction_count(_bob(market)))


def _purchases(market: Market, listing_id: str) -> int:
    from p2pchain.chain._deploy import DeploymentsFile
    from p2pchain.cli._common import deployments_path

    deployment = DeploymentsFile(deployments_path()).get(market.chain.chain_id)
    assert deployment is not None
    logs = market.chain.w3.eth.get_logs(
        {
            "address": deployment.marketplace,
            "fromBlock": deployment.block,
            "topics": [_purchased_topic(), None, HexBytes(listing_id).to_0x_hex()],
        }
    )
    return len(logs)


def _purchased_topic() -> str:
    from p2pchain.compiler._artifacts import load_artifact

    for item in load_artifact("Marketplace").abi:
        if item.get("type") == "event" and item["name"] == "Purchased":
            from eth_utils import event_abi_to_log_topic

            return "0x" + event_abi_to_log_topic(dict(item)).hex()  # type: ignore[arg-type]
    raise AssertionError("no Purchased event in the ABI")


def _trade_id(run: Run) -> str:
    return run.out.strip().split()[-1]


def _unknown_outcome_told(line: str) -> None:
    """One line: the outcome is unknown, with the hash, the nonce and `p2pchain tx status`."""
    assert line.startswith("error: "), line
    assert "unknown" in line and "nonce " in line, line
    assert "p2pchain tx status 0x" in line, line
    assert "refused" not in line and "bug" not in line, line


BUY = ("trade", "buy")
#: The listings' price (0.1 ETH).
TENTH = 10**17


def test_cli_receipt_answers_dropped_buy_once(market: Market, proxy: FaultyRpc) -> None:
    listing_id = _list(market)
    person = Person(market, proxy)
    proxy.arm(Fault("eth_getTransactionReceipt", "drop-after", times=10))
    person.step(*BUY, listing_id, "--account", "bob", "--yes", "--quiet")
    report("cli: 10 receipt answers dropped", told=person.told, nonce=_nonce(market),
           purchases=_purchases(market, listing_id))  # fmt: skip
    assert person.told == ["ok"]
    assert _purchases(market, listing_id) == 1 and _nonce(market) == 1
    person.paid(TENTH)


def test_cli_send_answer_garbled_buy_and_release_once(market: Market, proxy: FaultyRpc) -> None:
    listing_id = _list(market)
    person = Person(market, proxy)
    proxy.arm(Fault("eth_sendRawTransaction", "garbage-after"))
    bought = person.step(*BUY, listing_id, "--account", "bob", "--yes", "--quiet")
    proxy.arm(Fault("eth_sendRawTransaction", "garbage-after"))
    if bought.code == 0:
        person.step("trade", "release", _trade_id(bought), "--account", "bob", "--yes")
    report("cli: send answer garbled (buy, release)", told=person.told, nonce=_nonce(market),
           purchases=_purchases(market, listing_id))  # fmt: skip
    assert person.told == ["ok", "ok"]
    assert _purchases(market, listing_id) == 1 and _nonce(market) == 2
    person.paid(TENTH)


def test_cli_receipts_garbled_outcome_unknown_then_rerun_buys_once(
    market: Market, proxy: FaultyRpc
) -> None:
    listing_id = _list(market)
    person = Person(market, proxy, env=dict(SHORT_ENV))
    proxy.arm(Fault("eth_getTransactionReceipt", "garbage-after", times=None))
    again = person.step(*BUY, listing_id, "--account", "bob", "--yes", "--quiet")
    report("cli: receipts garbled for the whole wait", told=person.told, nonce=_nonce(market),
           purchases=_purchases(market, listing_id))  # fmt: skip
    assert len(person.runs) == 2
    _unknown_outcome_told(person.told[0])
    assert again.code == 0 and "nothing new was sent" in again.err
    assert _purchases(market, listing_id) == 1 and _nonce(market) == 1
    person.paid(TENTH)


@pytest.mark.parametrize("after", [None, "eth_getLogs"], ids=["from-the-start", "mid-session"])
def test_cli_chain_id_lie_signs_nothing(
    market: Market, proxy: FaultyRpc, after: str | None
) -> None:
    listing_id = _list(market)
    person = Person(market, proxy)
    proxy.arm(Fault("eth_chainId", "lie", result="0x1", times=None, after=after))
    bought = person.step(*BUY, listing_id, "--account", "bob", "--yes", "--quiet")
    chains = [
        int(TypedTransaction.from_bytes(HexBytes(r)).as_dict()["chainId"])
        for r in proxy.forwarded_raw
    ]
    report(f"cli: eth_chainId answers 1 ({'mid-session' if after else 'from the start'})",
           told=person.told, nonce=_nonce(market), purchases=_purchases(market, listing_id),
           signed_for=chains)  # fmt: skip
    assert len(person.runs) == 2 and bought.code == 0
    assert "chain id 1" in person.told[0] and "31337" in person.told[0], person.told[0]
    assert chains == [31337]
    assert _purchases(market, listing_id) == 1 and _nonce(market) == 1
    person.paid(TENTH)


def test_cli_send_502_before_forwarding_rerun_buys_once(market: Market, proxy: FaultyRpc) -> None:
    listing_id = _list(market)
    person = Person(market, proxy)
    proxy.arm(Fault("eth_sendRawTransaction", "502-before", times=None))
    again = person.step(*BUY, listing_id, "--account", "bob", "--yes", "--quiet")
    report("cli: send answered 502 before forwarding", told=person.told, nonce=_nonce(market),
           purchases=_purchases(market, listing_id))  # fmt: skip
    assert len(person.runs) == 2
    _unknown_outcome_told(person.told[0])
    assert again.code == 0
    assert _purchases(market, listing_id) == 1 and _nonce(market) == 1
    person.paid(TENTH)
