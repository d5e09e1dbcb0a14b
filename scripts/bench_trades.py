"""Settled trades per second from one Python process against Anvil (automine).

Each trade is ``list`` (seller) + ``buy`` (buyer) + ``release`` (buyer): three transactions, all
signed locally and sent raw through :class:`p2pchain.MarketplaceClient`. Trades run in rounds of
``--batch``: every round submits all its listings at once (the nonce manager hands out
consecutive nonces, pre-flight estimates and sends go out as JSON-RPC batches), waits for the
receipts (polled in batches), then does the same for the purchases and the releases. Every
result is a typed model rebuilt from the receipts and checked against the contract
(``checkTrade``), as the client always does.

For comparison the same trades are also run one call at a time (``client.create_listing``,
``client.buy``, ``client.release``: each waits for its receipt before the next is sent).

Usage: ``python scripts/bench_trades.py [--trades 600] [--batch 100]``. Prints the figures and
writes ``docs/bench-trades.md``. This is a measurement, not a test: nothing asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/bench_trades.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchain import AnvilChain, MarketplaceClient, P2PChainError, TradeState, deploy
from p2pchain._paths import find_node_modules, find_node_tool

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "bench-trades.md"
ONE = 10**18


@dataclass
class Run:
    """One measured run."""

    name: str
    trades: int
    seconds: float
    requests: Counter[str]
    gas: int

    @property
    def per_second(self) -> float:
        return self.trades / self.seconds

    @property
    def http_per_trade(self) -> float:
        return sum(self.requests.values()) / self.trades


class RequestCounter:
    """Counts the HTTP requests (single and batch) a web3 provider posts.

    Counted where every request leaves: the provider's HTTP session, so requests the sender
    posts directly (its JSON-RPC batches, past web3's middleware) are counted too.
    """

    def __init__(self, provider: Any) -> None:
        self.counts: Counter[str] = Counter()
        manager = provider._request_session_manager
        post: Callable[..., Any] = manager.make_post_request

        def make_post_request(uri: Any, data: Any, **kwargs: Any) -> Any:
            body = json.loads(data)
            if isinstance(body, list):
                self.counts[f"batch of {body[0]['method'] if body else 'nothing'}"] += 1
            else:
                self.counts[str(body.get("method"))] += 1
            return post(uri, data, **kwargs)

        manager.make_post_request = make_post_request

    @contextmanager
    def measure(self) -> Iterator[Counter[str]]:
        before = Counter(self.counts)
        window: Counter[str] = Counter()
        yield window
        window.update(self.counts)
        window.subtract(before)
        for key in [k for k, v in window.items() if v <= 0]:
            del window[key]


def cid() -> bytes:
    """A random CIDv0."""
    return bytes.fromhex("1220") + os.urandom(32)


def pipelined(seller: MarketplaceClient, buyer: MarketplaceClient, trades: int, batch: int) -> int:
    """Run ``trades`` trades in rounds of ``batch``; return the gas they used."""
    gas = 0
    done = 0
    while done < trades:
        size = min(batch, trades - done)
        terms = [seller.make_terms(price=ONE // 100, cid=cid()) for _ in range(size)]
        listings = seller.results(
            seller.submit_all([seller.prepare_create_listing(t) for t in terms])
        )
        bought = buyer.results(buyer.submit_all([buyer.prepare_buy(x) for x in listings]))
        released = buyer.results(buyer.submit_all([buyer.prepare_release(t) for t in bought]))
        if any(t.state != TradeState.COMPLETED for t in released):
            raise P2PChainError("a trade did not complete")
        infos = [x.tx for x in listings] + [t.tx for t in (*bought, *released)]
        gas += sum(info.gas_used for info in infos if info is not None)
        done += size
    return gas


def sequential(seller: MarketplaceClient, buyer: MarketplaceClient, trades: int) -> int:
    """Run ``trades`` trades one call at a time; return the gas they used."""
    gas = 0
    for _ in range(trades):
        listing = seller.create_listing(seller.make_terms(price=ONE // 100, cid=cid()))
        trade = buyer.buy(listing)
        done = buyer.release(trade)
        for item in (listing, trade, done):
            gas += item.tx.gas_used if item.tx else 0
    return gas


def raw_transfers(chain: AnvilChain, account: Any, count: int) -> float:
    """The baseline: one Python loop that only signs (eth-account) and posts
    ``eth_sendRawTransaction`` (a bare keep-alive HTTP session, no web3.py middleware) for
    ``count`` plain transfers, then waits for the last receipt. No estimate, no pre-flight check,
    no journal. Returns transactions per second."""
    import requests

    w3 = chain.w3
    session = requests.Session()
    session.trust_env = False
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    base = int(w3.eth.get_block("latest")["baseFeePerGas"])
    chain_id = w3.eth.chain_id
    to = "0x000000000000000000000000000000000000dEaD"
    started = time.perf_counter()
    last = None
    for index in range(count):
        signed = account.sign_transaction(
            {
                "to": to,
                "value": 1,
                "gas": 21_000,
                "maxFeePerGas": 2 * base + 10**9,
                "maxPriorityFeePerGas": 10**9,
                "nonce": nonce + index,
                "chainId": chain_id,
                "type": 2,
            }
        )
        answer = session.post(
            chain.url,
            json={
                "jsonrpc": "2.0",
                "id": index,
                "method": "eth_sendRawTransaction",
                "params": ["0x" + bytes(signed.raw_transaction).hex()],
            },
            timeout=30,
        ).json()
        last = answer["result"]
    assert last is not None
    w3.eth.wait_for_transaction_receipt(last, timeout=120, poll_latency=0.01)
    return count / (time.perf_counter() - started)


def anvil_version() -> str:
    """``anvil --version``, first line."""
    tool = find_node_tool("anvil", find_node_modules())
    if tool is None:
        return "anvil (version unknown)"
    out = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
    return (out.stdout.strip().splitlines() or ["anvil"])[0]


def signing_backend() -> str:
    """Which secp256k1 implementation eth-keys uses (coincurve is ~10x faster)."""
    from eth_keys.backends import get_backend

    return type(get_backend()).__name__


def write_report(runs: list[Run], args: argparse.Namespace, started: datetime) -> None:
    """Write ``docs/bench-trades.md``."""
    lines = [
        "# Settled trades per second",
        "",
        (
            f"Generated by `scripts/bench_trades.py` on {started:%Y-%m-%d %H:%M} UTC. Do not edit by"
            " hand."
        ),
        "",
        (
            "One Python process drives a fresh Anvil (automine, `--hardfork shanghai`) through"
            " `p2pchain.MarketplaceClient`. A settled trade is `list` (seller) + `buy` + `release`"
            " (buyer): three transactions signed locally with eth-account and sent raw. Every result"
            " is a typed model rebuilt from the receipts and checked against the contract with"
            " `checkTrade`."
        ),
        "",
        (
            f"- Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()},"
            f" Python {platform.python_version()}, {anvil_version()}"
        ),
        f"- Signing backend: eth-keys `{signing_backend()}`",
        (
            f"- Trades per run: {args.trades} (after {args.warmup} warm-up trades); pipelined rounds"
            f" of {args.batch}"
        ),
        "",
        (
            "| Mode | Trades | Seconds | Trades/s | Transactions/s | HTTP requests/trade |"
            " Gas/trade |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.name} | {run.trades} | {run.seconds:.2f} | **{run.per_second:.0f}** |"
            f" {3 * run.per_second:.0f} | {run.http_per_trade:.2f} | {run.gas // run.trades:,} |"
        )
    lines += [
        "",
        "## How the pipelined mode works",
        "",
        (
            "Per round, for each of the three steps: one JSON-RPC batch of `eth_chainId` and"
            " `eth_estimateGas` (the chain id check, then the pre-flight check: a call that would"
            " revert raises its typed error and nothing is signed), the signed transactions"
            " appended to the journal and flushed to disk (`fsync`), one batch of"
            " `eth_sendRawTransaction` with consecutive nonces reserved by the nonce manager, then"
            " batches of `eth_getTransactionReceipt` until all are mined, one batch of block"
            " timestamps (purchases) and one batch of `checkTrade` calls. The sequential mode"
            " waits for each receipt before sending the next transaction."
        ),
        "",
        "HTTP requests in the pipelined run:",
        "",
    ]
    ratio = 3 * runs[0].per_second / args.raw_tx_per_second
    lines[
        lines.index("## How the pipelined mode works") : lines.index(
            "## How the pipelined mode works"
        )
    ] = [
        (
            f"Baseline in the same run: one Python loop that only signs (eth-account) and sends"
            f" plain transfers to the same Anvil, with no estimate, no pre-flight check and no"
            f" journal: **{args.raw_tx_per_second:.0f} transactions/s**. The pipelined trades"
            f" reach **{ratio:.2f}** of it (target 0.8), with every pre-flight check kept."
        ),
        "",
    ]
    pipelined_run = next(r for r in runs if r.name.startswith("pipelined"))
    for method, count in sorted(pipelined_run.requests.items(), key=lambda kv: -kv[1]):
        lines.append(f"- `{method}`: {count}")
    lines.append("")
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    REPORT.with_suffix(".json").write_text(
        json.dumps({"higher_is_better": {"trades_tx_vs_raw_transfers": round(ratio, 3)}}, indent=2)
        + "\n"
    )


def run(args: argparse.Namespace) -> list[Run]:
    started = datetime.now(UTC)
    runs: list[Run] = []
    with AnvilChain() as chain, tempfile.TemporaryDirectory() as journal:
        counter = RequestCounter(chain.w3.provider)
        deployer, seller_account, buyer_account = chain.accounts[:3]
        deployment = deploy(chain, deployer)
        # a journal, as a client of a node reached by URL has (here in a temporary folder)
        seller = MarketplaceClient.connect(
            chain, account=seller_account, deployments=deployment, journal=journal
        )
        buyer = seller.with_account(buyer_account)
        pipelined(seller, buyer, args.warmup, args.batch)

        with counter.measure() as requests:
            t0 = time.perf_counter()
            gas = pipelined(seller, buyer, args.trades, args.batch)
            elapsed = time.perf_counter() - t0
        runs.append(Run(f"pipelined (rounds of {args.batch})", args.trades, elapsed, requests, gas))

        count = max(1, args.trades // 4)
        with counter.measure() as requests:
            t0 = time.perf_counter()
            gas = sequential(seller, buyer, count)
            elapsed = time.perf_counter() - t0
        runs.append(Run("sequential (wait for each receipt)", count, elapsed, requests, gas))
        args.raw_tx_per_second = raw_transfers(chain, deployer, 3 * args.trades)

    print(f"{'mode':<38}{'trades':>8}{'seconds':>10}{'trades/s':>10}{'tx/s':>8}{'http/trade':>12}")
    for r in runs:
        print(
            f"{r.name:<38}{r.trades:>8}{r.seconds:>10.2f}{r.per_second:>10.1f}"
            f"{3 * r.per_second:>8.0f}{r.http_per_trade:>12.2f}"
        )
    print(f"signing backend: {signing_backend()}")
    ours = 3 * runs[0].per_second
    print(
        f"baseline, signing and sending transfers in a loop: {args.raw_tx_per_second:.0f} tx/s;"
        f" pipelined trades reach {ours / args.raw_tx_per_second:.2f} of it"
    )
    if not args.no_report:
        write_report(runs, args, started)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; one line and exit status 1 on a p2pchain error."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=600, help="trades in the pipelined run")
    parser.add_argument("--batch", type=int, default=100, help="trades per pipelined round")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up trades (not measured)")
    parser.add_argument("--no-report", action="store_true", help="do not write the report")
    args = parser.parse_args(argv)
    try:
        run(args)
    except P2PChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
