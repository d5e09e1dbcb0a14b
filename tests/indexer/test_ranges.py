"""Adaptive eth_getLogs ranges against a node that refuses wide ranges (a real HTTP proxy)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from _market import make_market

from p2pchain.chain._nodes import AnvilChain
from p2pchain.indexer import Indexer

MAX_BLOCKS = 3  # like hosted RPCs that cap eth_getLogs ranges


class _LimitedNode(BaseHTTPRequestHandler):
    """Forwards JSON-RPC to Anvil; answers wide eth_getLogs with the error hosted nodes give."""

    upstream = ""
    refused = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        calls = body if isinstance(body, list) else [body]
        answers = []
        for call in calls:
            if call["method"] == "eth_getLogs":
                query = call["params"][0]
                width = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
                if width > MAX_BLOCKS:
                    type(self).refused += 1
                    answers.append(
                        {
                            "jsonrpc": "2.0",
                            "id": call["id"],
                            "error": {"code": -32005, "message": f"block range over {MAX_BLOCKS}"},
                        }
                    )
                    continue
            with requests.Session() as session:
                session.trust_env = False  # loopback only, never through an env proxy
                answers.append(session.post(self.upstream, json=call, timeout=30).json())
        data = json.dumps(answers if isinstance(body, list) else answers[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def limited_node(anvil_chain: AnvilChain) -> Iterator[tuple[str, type[_LimitedNode]]]:
    """A proxy in front of Anvil on 127.0.0.1 that refuses eth_getLogs over 3 blocks."""
    handler = type("Handler", (_LimitedNode,), {"upstream": anvil_chain.url, "refused": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_refused_ranges_are_halved_until_the_node_answers(
    anvil_chain: AnvilChain, limited_node: tuple[str, type[_LimitedNode]], tmp_path: Path
) -> None:
    url, handler = limited_node
    market = make_market(anvil_chain)
    for _ in range(4):
        market.buyer.buy(market.seller.create_listing(market.terms()))
    anvil_chain.mine(12)
    deployment = market.seller.deployment
    through_proxy = Indexer(f"sqlite:///{tmp_path}/p.sqlite", url, deployment, confirmations=0)
    report = through_proxy.sync()
    direct = Indexer(f"sqlite:///{tmp_path}/d.sqlite", anvil_chain, deployment, confirmations=0)
    expected = direct.sync()
    assert report.events == expected.events == 8
    assert report.to_block == expected.to_block
    blocks = report.to_block - report.from_block + 1
    assert 1 <= handler.refused <= 10  # a refused width is never asked for again
    assert report.requests >= handler.refused + blocks / MAX_BLOCKS  # refusals, then <= 3 wide
    query = "SELECT block, log_index, name FROM events ORDER BY block, log_index"
    assert through_proxy.db.all(query) == direct.db.all(query)
