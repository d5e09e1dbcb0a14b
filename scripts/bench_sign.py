"""Signing commands end to end against Anvil, next to ``cast send`` from the same keystore.

Each run, interleaved so the machine's noise hits all alike:

* ``p2pchain listing create`` (alice lists an item: IPFS document, estimate, sign, send, wait);
* ``p2pchain trade buy`` of that item (bob: listing read, estimate, sign, send, wait, check);
* ``cast send`` of 1 wei from bob's keystore file (the same scrypt parameters) to alice.

Every command is a fresh process that decrypts its keystore (the passphrase comes from
``$P2PCHAIN_PASSPHRASE`` and ``--password``). The same runs are repeated through a loopback proxy
that adds ``--latency`` seconds to every HTTP request, as a hosted RPC endpoint would; it also
counts the requests of each ``trade buy`` (a JSON-RPC batch is one request).

Targets (issue 14): ``trade buy`` and ``listing create`` at most 1.5x ``cast send``; at most 8
requests per ``trade buy``; with 25 ms per request, ``trade buy`` grows by at most 0.25 s.

Usage: ``python scripts/bench_sign.py [--runs 7] [--latency 0.025] [--report docs/bench-sign.md]``.
Prints the figures, writes the report and its ratios as JSON beside it (``make bench`` compares
those with the committed ones). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
REPORT = REPO / "docs" / "bench-sign.md"
PASSPHRASE = "bench passphrase, long enough"
TARGET_RATIO = 1.5
TARGET_REQUESTS = 8
TARGET_GROWTH = 0.25
TARGET_UNLOCKED = 0.5


def _p2pchain() -> str:
    found = Path(sys.executable).parent / "p2pchain"
    if not found.exists():
        raise SystemExit("p2pchain is not installed in this venv: run `make venv`")
    return str(found)


def _cast() -> str:
    found = REPO / "node_modules" / ".bin" / "cast"
    if not found.exists():
        raise SystemExit("cast is not installed: run `make node`")
    return str(found)


class Bench:
    """A data folder with two funded keystores and a deployment on one Anvil."""

    def __init__(self, chain_url: str, home: Path) -> None:
        self.url = chain_url
        self.env = {
            **os.environ,
            "P2PCHAIN_DATA_DIR": str(home / "data"),
            "P2PCHAIN_CONFIG": str(home / "config.toml"),
            "P2PCHAIN_DEPLOYMENTS": str(home / "data" / "deployments.json"),
            "P2PCHAIN_PASSPHRASE": PASSPHRASE,
        }
        self.exe = _p2pchain()
        self.cast = _cast()

    def run(self, *argv: str) -> str:
        done = subprocess.run(
            [self.exe, *argv], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"p2pchain {' '.join(argv[:2])} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def setup(self) -> tuple[str, str, Path]:
        """Create alice and bob (default scrypt cost), fund them, deploy."""
        found = {}
        for name in ("alice", "bob"):
            self.run("wallet", "new", name)
            self.run("node", "fund", name, "--amount", "100eth", "--network", self.url)
            found[name] = json.loads(self.run("wallet", "show", name, "--no-balance", "--json"))
        self.run("deploy", "--network", self.url)
        return found["alice"]["address"], found["bob"]["address"], Path(found["bob"]["keystore"])

    def listing_create(self, url: str) -> tuple[float, str]:
        start = time.perf_counter()
        listing = self.run(
            "listing", "create", "--account", "alice", "--title", "Bench lamp",
            "--price", "0.01eth", "--category", "home/lamps", "--condition", "good",
            "--quiet", "--network", url,
        )  # fmt: skip
        return time.perf_counter() - start, listing

    def trade_buy(self, url: str, listing: str) -> float:
        start = time.perf_counter()
        self.run("trade", "buy", listing, "--account", "bob", "--yes", "--quiet", "--network", url)
        return time.perf_counter() - start

    def cast_send(self, url: str, keystore: Path, to: str) -> float:
        argv = [self.cast, "send", "--keystore", str(keystore), "--password", PASSPHRASE,
                "--rpc-url", url, to, "--value", "1"]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"cast send failed: {done.stderr.strip()}")
        return time.perf_counter() - start


def measure(runs: int, latency: float) -> dict[str, object]:
    from _latency_proxy import LatencyProxy

    from p2pchain.chain._nodes import AnvilChain

    with tempfile.TemporaryDirectory() as tmp, AnvilChain() as chain:
        bench = Bench(chain.url, Path(tmp))
        alice, _, keystore = bench.setup()
        times: dict[str, list[float]] = {}
        requests: list[int] = []
        with LatencyProxy(chain.url, latency) as proxy:
            for index in range(runs + 1):  # the first round warms caches and is not counted
                round_: dict[str, float] = {}
                for where, url in (("direct", chain.url), ("latency", proxy.url)):
                    round_[f"listing create {where}"], listing = bench.listing_create(url)
                    proxy.reset()
                    round_[f"trade buy {where}"] = bench.trade_buy(url, listing)
                    if where == "latency" and index:
                        requests.append(proxy.requests)
                    round_[f"cast send {where}"] = bench.cast_send(url, keystore, alice)
                for key, value in round_.items():
                    if index:
                        times.setdefault(key, []).append(value)
        # The same purchase with bob's keystore held by a wallet agent: no scrypt.
        bench.run("wallet", "unlock", "bob", "--for", "10m")
        try:
            for index in range(runs + 1):
                _, listing = bench.listing_create(chain.url)
                took = bench.trade_buy(chain.url, listing)
                if index:
                    times.setdefault("trade buy unlocked", []).append(took)
        finally:
            bench.run("wallet", "lock", "bob")
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "times": times,
        "median": med,
        "requests_per_buy": max(requests),
        "unlocked": med["trade buy unlocked"],
        "ratios": {
            "trade_buy_vs_cast": med["trade buy direct"] / med["cast send direct"],
            "listing_create_vs_cast": med["listing create direct"] / med["cast send direct"],
        },
        "growth": {
            "trade buy": med["trade buy latency"] - med["trade buy direct"],
            "listing create": med["listing create latency"] - med["listing create direct"],
            "cast send": med["cast send latency"] - med["cast send direct"],
        },
    }


def report(result: dict[str, object], runs: int, latency: float, path: Path) -> str:
    med = result["median"]
    times = result["times"]
    ratios = result["ratios"]
    growth = result["growth"]
    assert isinstance(med, dict) and isinstance(times, dict)
    assert isinstance(ratios, dict) and isinstance(growth, dict)
    load = os.getloadavg()[0]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Signing commands",
        "",
        (
            f"Measured by `scripts/bench_sign.py --runs {runs} --latency {latency}` on {when},"
            f" CPython {platform.python_version()}, {os.cpu_count()} CPU cores, 1-minute load"
            f" average {load:.2f} at the end (the machine is shared). Anvil 1.7.1 on 127.0.0.1;"
            " every command is a fresh process that decrypts its keystore (scrypt n = 262,144, as"
            " `cast` reads the same file)."
        ),
        "",
        "| command | min | median | max |",
        "|---|---|---|---|",
    ]
    for key in sorted(times):
        values = times[key]
        lines.append(
            f"| `{key}` | {min(values):.3f} s | {statistics.median(values):.3f} s"
            f" | {max(values):.3f} s |"
        )
    buy, create = ratios["trade_buy_vs_cast"], ratios["listing_create_vs_cast"]
    lines += [
        "",
        f"- `trade buy` / `cast send`: **{buy:.2f}x** (target at most {TARGET_RATIO}x).",
        f"- `listing create` / `cast send`: **{create:.2f}x** (target at most {TARGET_RATIO}x).",
        (
            f"- Requests to the node per `trade buy`: **{result['requests_per_buy']}** (target at"
            f" most {TARGET_REQUESTS}; a JSON-RPC batch is one request)."
        ),
        (
            f"- With {latency * 1000:.0f} ms added to every request: `trade buy` grows by"
            f" **{growth['trade buy']:.3f} s** (target at most {TARGET_GROWTH} s), `listing create`"
            f" by {growth['listing create']:.3f} s, `cast send` by {growth['cast send']:.3f} s."
        ),
        (
            f"- `trade buy` with bob's keystore unlocked (`p2pchain wallet unlock bob --for 10m`):"
            f" **{result['unlocked']:.3f} s** median (target at most {TARGET_UNLOCKED} s)."
        ),
        "",
    ]
    text = "\n".join(lines)
    path.write_text(text)
    ratios_path = path.with_suffix(".json")
    ratios_path.write_text(
        json.dumps(
            {
                "higher_is_better": {
                    "cast_vs_trade_buy": 1 / buy,
                    "cast_vs_listing_create": 1 / create,
                },
                "requests_per_buy": result["requests_per_buy"],
                "unlocked_s": result["unlocked"],
                "growth_s": growth,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.025)
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    if args.runs < 1 or not 0 <= args.latency <= 1:
        raise SystemExit("--runs must be at least 1 and --latency between 0 and 1 s")
    result = measure(args.runs, args.latency)
    print(report(result, args.runs, args.latency, args.report))


if __name__ == "__main__":
    main()
