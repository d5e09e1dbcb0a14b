"""A connection dropped in the middle of a trade: the client recovers and the buyer pays once.

The faulty proxy (:mod:`chain._faulty_rpc`) sits between the buyer's client and the node. It
forwards the buyer's ``eth_sendRawTransaction`` to the node and then closes the connection without
passing the answer back (or drops the request before forwarding it, or answers "rate limit
exceeded"), like a network failure at the worst moment. The client must find out whether the
transaction got through, and must not send it a second time if it did. On Anvil, and on Ganache,
which would run a re-sent transaction twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _market import ONE, Market, make_market

from chain._faulty_rpc import Fault, FaultyRpc
from p2pchain import MarketplaceClient, RpcChain, TradeState

#: The ways the send fails, as the proxy's actions.
WHEN = {"after": "drop-after", "before": "drop-before", "rate-limited": "error-before"}


@pytest.fixture(params=["anvil_chain", "ganache_chain"], ids=["anvil", "ganache"])
def node_market(request: pytest.FixtureRequest) -> Market:
    """A fresh deployment on Anvil, then on Ganache (which would run a re-sent transaction twice)."""
    return make_market(request.getfixturevalue(request.param))


@pytest.fixture
def proxy(node_market: Market) -> Iterator[FaultyRpc]:
    """The faulty proxy in front of the node."""
    assert isinstance(node_market.chain, RpcChain)
    with FaultyRpc(node_market.chain.url) as server:
        yield server


@pytest.mark.parametrize("when", ["after", "before", "rate-limited"])
def test_dropped_connection_during_purchase_recovers_and_pays_once(
    node_market: Market, proxy: FaultyRpc, when: str
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

    fault = Fault("eth_sendRawTransaction", WHEN[when], sender=buyer_account.address)
    proxy.arm(fault)
    trade = through_proxy.buy(listing)

    assert fault.hits == 1
    dropped_raw = fault.calls[0]["params"][0]
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
