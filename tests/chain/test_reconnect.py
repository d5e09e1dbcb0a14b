"""A connection dropped in the middle of a trade: the client recovers and the buyer pays once.

A tiny HTTP proxy on 127.0.0.1 sits between the buyer's client and the node. It forwards the
buyer's ``eth_sendRawTransaction`` to the node and then closes the connection without passing the
answer back (or drops the request before forwarding it, or answers "rate limit exceeded"), like
a network failure at the worst moment. The client must find out whether the transaction got
through, and must not send it a second time if it did.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from _market import ONE, Market, make_market
from eth_account import Account

from p2pchain import MarketplaceClient, RpcChain, TradeState


class DroppingProxy:
    """An HTTP/1.1 JSON-RPC proxy that can drop the connection around one request.

    Args:
        upstream: The node's URL (loopback only).
    """

    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        assert parsed.hostname in ("127.0.0.1", "localhost")
        self._upstream = (parsed.hostname, parsed.port or 80)
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        self._drop: tuple[str, str] | None = None  # (when, sender address)
        self.dropped: list[tuple[str, str]] = []
        self.forwarded_raw: list[str] = []
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def drop_next_raw_transaction(self, sender: str, *, when: str) -> None:
        """Drop the connection of ``sender``'s next raw transaction, ``after`` or ``before`` forwarding it."""
        assert when in ("after", "before", "rate-limited")
        with self._lock:
            self._drop = (when, sender)

    def close(self) -> None:
        self._closed = True
        self._server.close()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _should_drop(self, payload: Any, when: str) -> bool:
        if not isinstance(payload, dict) or payload.get("method") != "eth_sendRawTransaction":
            return False
        with self._lock:
            if self._drop is None or self._drop[0] != when:
                return False
            raw = payload["params"][0]
            if Account.recover_transaction(raw) != self._drop[1]:
                return False
            self._drop = None
            self.dropped.append((when, raw))
            return True

    @staticmethod
    def _read_request(conn: socket.socket, buffer: bytearray) -> bytes | None:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer.extend(chunk)
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = bytearray(rest)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body.extend(chunk)
        buffer[:] = body[length:]
        return bytes(body[:length])

    @staticmethod
    def _respond(conn: socket.socket, answer: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(answer)}\r\n\r\n".encode()
            + answer
        )

    def _handle(self, conn: socket.socket) -> None:
        upstream = http.client.HTTPConnection(*self._upstream, timeout=30)
        buffer = bytearray()
        try:
            while True:
                body = self._read_request(conn, buffer)
                if body is None:
                    return
                payload = json.loads(body)
                if self._should_drop(payload, "before"):
                    return
                if self._should_drop(payload, "rate-limited"):
                    error = {"code": -32005, "message": "rate limit exceeded, retry later"}
                    answer = json.dumps({"jsonrpc": "2.0", "id": payload["id"], "error": error})
                    self._respond(conn, answer.encode())
                    continue
                if isinstance(payload, dict) and payload.get("method") == "eth_sendRawTransaction":
                    self.forwarded_raw.append(payload["params"][0])
                upstream.request("POST", "/", body, {"Content-Type": "application/json"})
                answer = upstream.getresponse().read()
                if self._should_drop(payload, "after"):
                    return
                self._respond(conn, answer)
        except OSError:
            return
        finally:
            upstream.close()
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


@pytest.fixture(params=["anvil_chain", "ganache_chain"], ids=["anvil", "ganache"])
def node_market(request: pytest.FixtureRequest) -> Market:
    """A fresh deployment on Anvil, then on Ganache (which would run a re-sent transaction twice)."""
    return make_market(request.getfixturevalue(request.param))


@pytest.fixture
def proxy(node_market: Market) -> Iterator[DroppingProxy]:
    """The dropping proxy in front of the node."""
    assert isinstance(node_market.chain, RpcChain)
    server = DroppingProxy(node_market.chain.url)
    yield server
    server.close()


@pytest.mark.parametrize("when", ["after", "before", "rate-limited"])
def test_dropped_connection_during_purchase_recovers_and_pays_once(
    node_market: Market, proxy: DroppingProxy, when: str
) -> None:
    market = node_market
    w3 = market.chain.w3
    listing = market.seller.create_listing(market.terms(deposit=ONE // 10))
    buyer_account = market.buyer_account
    through_proxy = MarketplaceClient.connect(
        proxy.url, account=buyer_account, deployments=market.seller.deployment
    )
    escrow = market.seller.deployment.marketplace
    buyer_before = w3.eth.get_balance(buyer_account.address)
    escrow_before = w3.eth.get_balance(escrow)
    nonce_before = w3.eth.get_transaction_count(buyer_account.address)

    proxy.drop_next_raw_transaction(buyer_account.address, when=when)
    trade = through_proxy.buy(listing)

    assert [d[0] for d in proxy.dropped] == [when]
    dropped_raw = proxy.dropped[0][1]
    # the identical signed bytes reached the node exactly once
    assert proxy.forwarded_raw.count(dropped_raw) == 1
    assert trade.state == TradeState.PAID and trade.tx is not None
    paid = (ONE + ONE // 10) + trade.tx.fee
    assert w3.eth.get_balance(buyer_account.address) == buyer_before - paid
    assert w3.eth.get_balance(escrow) == escrow_before + ONE + ONE // 10
    assert w3.eth.get_transaction_count(buyer_account.address) == nonce_before + 1
    purchases = market.seller.market.events.Purchased().get_logs(
        from_block=market.seller.deployment.block, argument_filters={"listingId": listing.id}
    )
    assert len(purchases) == 1
    assert [t.id for t in market.seller.trades_of(buyer_account.address)] == [trade.id]

    # the rest of the trade goes through the same proxy, normally
    seller_before = w3.eth.get_balance(market.seller.address)
    done = through_proxy.release(trade)
    assert done.state == TradeState.PAID  # a deposit is still held
    assert w3.eth.get_balance(market.seller.address) == seller_before + ONE
    done = market.seller.return_deposit(done)
    assert done.state == TradeState.COMPLETED
    assert w3.eth.get_balance(escrow) == escrow_before
