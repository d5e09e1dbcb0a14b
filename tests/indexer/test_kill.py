"""An indexer process killed with SIGKILL in the middle of a sync resumes with no duplicates, no gaps.

``p2pchain index sync`` runs as a real subprocess against Anvil with tiny block ranges (many
commits); the test waits until its cursor has moved, kills it with SIGKILL, three times, and then
lets a sync finish. The index must hold every log exactly once and equal an index built in one go.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _market import make_market, random_cid

from p2pchain.chain._deploy import DeploymentsFile
from p2pchain.chain._nodes import AnvilChain
from p2pchain.indexer import Indexer, IndexReader
from p2pchain.indexer._db import Database

LISTINGS = 240
ROUNDS = 6
EMPTY_BLOCKS = 300
KILLS = 3
#: Blocks the cursor must move between kills.
STEP = 200


def _state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "listings": db.all("SELECT listing_id, remaining, sold FROM listings ORDER BY listing_id"),
        "trades": db.all("SELECT trade_id, state FROM trades ORDER BY trade_id"),
        "events": db.all("SELECT block, log_index, name FROM events ORDER BY block, log_index"),
    }


def _cursor(reader: IndexReader) -> int:
    return reader.cursor() or 0


def _start(db_url: str, rpc: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-c", "from p2pchain.cli import main; main()",
        "index", "sync", "--rpc", rpc, "--db", db_url, "--confirmations", "0", "--max-range", "2",
    ]  # fmt: skip
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_sync_killed_with_sigkill_resumes_without_duplicates_or_gaps(
    anvil_chain: AnvilChain, db_url: str, tmp_path: Path
) -> None:
    market = make_market(anvil_chain)
    seller = market.seller
    listings = []
    for _ in range(ROUNDS):  # events spread over thousands of (mostly empty) blocks
        calls = [
            seller.prepare_create_listing(seller.make_terms(price=7, cid=random_cid()), 2)
            for _ in range(LISTINGS // ROUNDS)
        ]
        listings += seller.results(seller.submit_all(calls))
        anvil_chain.rpc("anvil_mine", [hex(EMPTY_BLOCKS)])
    buys = [market.buyer.prepare_buy(listing) for listing in listings[::3]]
    market.buyer.results(market.buyer.submit_all(buys))
    head = anvil_chain.w3.eth.block_number
    deployments = tmp_path / "deployments.json"  # the CLI finds the deployment here
    DeploymentsFile(deployments).save(seller.deployment)
    env = {**os.environ, "P2PCHAIN_DEPLOYMENTS": str(deployments)}
    watcher = IndexReader(db_url)  # creates the schema before the first process starts
    previous = 0
    for _ in range(KILLS):
        process = _start(db_url, anvil_chain.url, env)
        deadline = time.monotonic() + 60
        while _cursor(watcher) < previous + STEP:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the indexer made no progress"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        previous = _cursor(watcher)
        assert previous < head, "the sync finished before it was killed: make the workload bigger"

    watcher.close()
    indexer = Indexer(db_url, anvil_chain, seller.deployment, confirmations=0)
    indexer.sync(to_block=head)
    logs = anvil_chain.w3.eth.get_logs(
        {
            "fromBlock": seller.deployment.block,
            "toBlock": head,
            "address": [seller.deployment.marketplace, seller.deployment.reputation],
        }
    )
    events = indexer.db.all("SELECT block, log_index FROM events ORDER BY block, log_index")
    assert events == [(log["blockNumber"], log["logIndex"]) for log in logs]
    assert len(events) == LISTINGS + len(buys)

    whole = Indexer(
        f"sqlite:///{tmp_path}/whole.sqlite", anvil_chain, seller.deployment, confirmations=0
    )
    whole.sync(to_block=head)
    assert _state(indexer.db) == _state(whole.db)
