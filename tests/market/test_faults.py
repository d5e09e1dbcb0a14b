"""Money never moves twice: the library client behind a flaky or lying RPC node.

The buyer's client talks to Anvil through :class:`~chain._faulty_rpc.FaultyRpc`. Each test arms a
fault, runs a step, retries it once as a person would (the same call again, once the node is
healthy), and then checks on Anvil directly, never through the proxy: the buyer's nonce, the
escrow's balance, the number of purchases, and what the user was told.

Every buyer is a fresh funded account, so nonces start at zero and no test sees another's
transactions; the deployment is shared by the module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _market import ONE, Market, make_market, money
from chain._faulty_rpc import Fault, FaultyRpc, report
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from p2pchain import (
    AnvilChain,
    BatchSubmitError,
    ChainMismatch,
    Listing,
    MarketplaceClient,
    OutcomeUnknown,
    PendingCall,
    SenderPolicy,
    TradeState,
    TradeView,
)

#: Short retries, so a fault that outlasts them fails fast; waits long enough for a loaded machine.
FAST = SenderPolicy(receipt_timeout=10.0, poll_interval=0.02, rpc_attempts=4, retry_delay=0.05)
#: For the tests whose transaction must outlast the wait.
SHORT = SenderPolicy(receipt_timeout=2.0, poll_interval=0.02, rpc_attempts=4, retry_delay=0.05)


@pytest.fixture(scope="module")
def shop(anvil_chain: AnvilChain) -> Market:
    """One deployment on the session Anvil for the whole module."""
    return make_market(anvil_chain)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private data folder (the journal lives there)."""
    monkeypatch.setenv("P2PCHAIN_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def proxy(anvil_chain: AnvilChain) -> Iterator[FaultyRpc]:
    """The faulty proxy in front of the session Anvil."""
    with FaultyRpc(anvil_chain.url) as server:
        yield server


STARTING_BALANCE = 100 * ONE


def fresh_account(chain: AnvilChain) -> LocalAccount:
    """A new account with 100 ETH and no transactions yet."""
    account: LocalAccount = Account.create()
    chain.rpc("anvil_setBalance", [account.address, hex(STARTING_BALANCE)])
    return account


@dataclass
class Session:
    """A buyer behind the proxy, and what happened to them."""

    shop: Market
    proxy: FaultyRpc
    account: LocalAccount
    client: MarketplaceClient
    told: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def chain(self) -> AnvilChain:
        chain = self.shop.chain
        assert isinstance(chain, AnvilChain)
        return chain

    def attempt(self, step: Callable[[], Any]) -> Any:
        """Run a step; remember what the user was told (the error's text, or ``ok``)."""
        try:
            result = step()
        except Exception as exc:  # noqa: BLE001 - what the user sees is what we check
            self.errors.append(exc)
            self.told.append(f"{type(exc).__name__}: {exc}")
            return None
        self.told.append("ok")
        return result

    def nonce(self) -> int:
        """The buyer's mined nonce, read on Anvil directly."""
        return int(self.chain.w3.eth.get_transaction_count(self.account.address))

    def purchases(self, listing: Listing) -> int:
        """Purchases of ``listing`` on Anvil."""
        market = self.chain.w3.eth.contract(
            address=self.shop.seller.deployment.marketplace, abi=self.shop.seller.market.abi
        )
        logs = market.events.Purchased().get_logs(
            from_block=self.shop.seller.deployment.block, argument_filters={"listingId": listing.id}
        )
        return len(logs)

    def escrow(self) -> int:
        return int(self.chain.w3.eth.get_balance(self.shop.seller.deployment.marketplace))

    def paid(self, value: int) -> None:
        """The buyer's balance fell by exactly ``value`` plus the gas of its mined transactions,
        and its mined transactions carried exactly ``value`` (read on Anvil)."""
        carried, gas = money(self.chain, self.account.address, self.proxy.forwarded_raw)
        spent = STARTING_BALANCE - int(self.chain.w3.eth.get_balance(self.account.address))
        assert (carried, spent) == (value, value + gas), (carried, spent, value, gas)

    def report(self, test: str, **facts: Any) -> None:
        report(test, told=self.told, nonce=self.nonce(), **facts)


def connect(
    shop: Market, proxy: FaultyRpc, account: LocalAccount, policy: SenderPolicy = FAST
) -> MarketplaceClient:
    return MarketplaceClient.connect(
        proxy.url, account=account, deployments=shop.seller.deployment, policy=policy
    )


@pytest.fixture
def session(shop: Market, proxy: FaultyRpc) -> Session:
    assert isinstance(shop.chain, AnvilChain)
    account = fresh_account(shop.chain)
    return Session(shop, proxy, account, connect(shop, proxy, account))


def listing(shop: Market, units: int = 3) -> Listing:
    """A fresh listing of several units, so a second purchase by mistake is possible."""
    return shop.seller.create_listing(shop.terms(price=ONE // 10), units)


def unknown_outcome_told(error: BaseException) -> None:
    """The user was told the outcome is unknown, with the hash, the nonce and how to find out."""
    assert isinstance(error, OutcomeUnknown), repr(error)
    pending = error.pending
    assert pending is not None, error
    text = str(error)
    assert pending.tx_hash in text and f"nonce {pending.nonce}" in text, text
    assert "client.wait(err.pending)" in text, text
    assert "refused" not in text and "nothing was" not in text, text


# ------------------------------------------------------------------------------------------
# the table


def test_receipt_answers_dropped_purchase_is_reported_and_paid_once(session: Session) -> None:
    item = listing(session.shop)
    escrow = session.escrow()
    session.proxy.arm(Fault("eth_getTransactionReceipt", "drop-after", times=10))
    trade = session.attempt(lambda: session.client.buy(item))
    if trade is None:
        session.proxy.clear()
        trade = session.attempt(lambda: session.client.buy(item))
    session.report("lib: 10 receipt answers dropped", purchases=session.purchases(item))
    assert session.told == ["ok"]
    assert isinstance(trade, TradeView) and trade.state == TradeState.PAID
    assert session.purchases(item) == 1
    assert session.nonce() == 1
    assert session.escrow() == escrow + ONE // 10
    session.paid(ONE // 10)


def test_send_answer_garbled_purchase_and_release_go_through_once(session: Session) -> None:
    item = listing(session.shop)
    seller = session.chain.w3.eth.get_balance(session.shop.seller.address)
    session.proxy.arm(Fault("eth_sendRawTransaction", "garbage-after"))
    trade = session.attempt(lambda: session.client.buy(item))
    if trade is None:
        trade = session.attempt(lambda: session.client.buy(item))
    assert isinstance(trade, TradeView)
    session.proxy.arm(Fault("eth_sendRawTransaction", "garbage-after"))
    done = session.attempt(lambda: session.client.release(trade))
    if done is None:
        done = session.attempt(lambda: session.client.release(trade))
    session.report("lib: send answer garbled (buy, release)", purchases=session.purchases(item))
    assert session.told == ["ok", "ok"]
    assert isinstance(done, TradeView) and done.state == TradeState.COMPLETED
    assert session.purchases(item) == 1
    assert session.nonce() == 2
    assert session.chain.w3.eth.get_balance(session.shop.seller.address) == seller + ONE // 10
    session.paid(ONE // 10)


def test_receipt_answer_garbled_is_retried(session: Session) -> None:
    item = listing(session.shop)
    session.proxy.arm(Fault("eth_getTransactionReceipt", "garbage-after", times=2))
    trade = session.attempt(lambda: session.client.buy(item))
    if trade is None:
        trade = session.attempt(lambda: session.client.buy(item))
    session.report("lib: 2 receipt answers garbled", purchases=session.purchases(item))
    assert session.told == ["ok"]
    assert session.purchases(item) == 1 and session.nonce() == 1
    session.paid(ONE // 10)


def test_receipts_garbled_until_the_wait_ends_outcome_unknown_then_resumed(
    session: Session,
) -> None:
    session.client = connect(session.shop, session.proxy, session.account, SHORT)
    item = listing(session.shop)
    session.proxy.arm(Fault("eth_getTransactionReceipt", "garbage-after", times=None))
    first = session.attempt(lambda: session.client.buy(item))
    session.proxy.clear()
    again = first or session.attempt(lambda: session.client.buy(item))
    session.report("lib: receipts garbled for the whole wait", purchases=session.purchases(item))
    assert first is None and len(session.errors) == 1
    unknown_outcome_told(session.errors[0])
    sent = session.errors[0].pending  # type: ignore[attr-defined]
    assert isinstance(again, TradeView) and again.tx is not None
    assert again.tx.tx_hash == sent.tx_hash  # the earlier transaction, resumed
    assert session.purchases(item) == 1 and session.nonce() == 1
    session.paid(ONE // 10)


def test_pipelined_send_batch_garbled_returns_handles_and_buys_once(session: Session) -> None:
    items = [listing(session.shop, 2) for _ in range(3)]
    client = session.client

    def buy_all() -> list[TradeView]:
        return client.results(client.submit_all([client.prepare_buy(x) for x in items]))

    session.proxy.arm(Fault("eth_sendRawTransaction", "garbage-after", batch=True))
    trades = session.attempt(buy_all)
    if trades is None:
        trades = session.attempt(buy_all)
    session.report(
        "lib: pipelined, send batch answer garbled",
        purchases=[session.purchases(x) for x in items],
    )
    assert session.told == ["ok"]
    assert [session.purchases(x) for x in items] == [1, 1, 1]
    assert session.nonce() == 3
    session.paid(3 * ONE // 10)


def test_pipelined_outcome_unknown_returns_every_handle_and_rerun_buys_once(
    session: Session,
) -> None:
    items = [listing(session.shop, 2) for _ in range(3)]
    client = session.client

    def buy_all() -> list[TradeView]:
        return client.results(client.submit_all([client.prepare_buy(x) for x in items]))

    session.proxy.arm(
        Fault("eth_sendRawTransaction", "garbage-after", batch=True),
        Fault("eth_getTransactionByHash", "drop-after", times=None),
        Fault("eth_getTransactionCount", "drop-after", times=None, skip=1),
    )
    first = session.attempt(buy_all)
    session.proxy.clear()
    again = first or session.attempt(buy_all)
    session.report(
        "lib: pipelined, batch garbled and lookups failing",
        purchases=[session.purchases(x) for x in items],
    )
    assert first is None
    error = session.errors[0]
    assert isinstance(error, BatchSubmitError), repr(error)
    handles = error.calls
    assert len(handles) == 3 and all(isinstance(h, PendingCall) for h in handles), error
    assert all(isinstance(r, OutcomeUnknown) for r in error.results)
    assert "unknown" in str(error) and "client.wait" in str(error)
    assert isinstance(again, list) and len(again) == 3
    assert {t.tx.tx_hash for t in again} == {h.tx_hash for h in handles}
    assert [session.purchases(x) for x in items] == [1, 1, 1]
    assert session.nonce() == 3
    session.paid(3 * ONE // 10)


def test_chain_id_lie_signs_nothing_and_heals(session: Session) -> None:
    item = listing(session.shop)
    session.proxy.arm(Fault("eth_chainId", "lie", result="0x1", times=None))
    trade = session.attempt(lambda: session.client.buy(item))
    forwarded_during_lie = list(session.proxy.forwarded_raw)
    session.proxy.clear()
    if trade is None:
        trade = session.attempt(lambda: session.client.buy(item))
    done = None
    if isinstance(trade, TradeView):
        session.proxy.arm(Fault("eth_chainId", "lie", result="0x1", times=None))
        done = session.attempt(lambda: session.client.release(trade))
        session.proxy.clear()
        if done is None:
            done = session.attempt(lambda: session.client.release(trade))
    chains = [_chain_id_of(raw) for raw in session.proxy.forwarded_raw]
    session.report(
        "lib: eth_chainId answers 1 mid-session",
        purchases=session.purchases(item),
        signed_for=chains,
    )
    assert forwarded_during_lie == []
    assert len(session.told) == 4 and session.told[1] == session.told[3] == "ok"
    assert all(isinstance(e, ChainMismatch) for e in session.errors), session.errors
    for line in (session.told[0], session.told[2]):
        assert "chain id 1," in line and "chain id 31337" in line, line
    assert isinstance(done, TradeView) and done.state == TradeState.COMPLETED
    assert chains == [31337, 31337]
    assert session.purchases(item) == 1 and session.nonce() == 2
    session.paid(ONE // 10)


def test_send_answered_502_before_forwarding_then_buy_again_pays_once(session: Session) -> None:
    item = listing(session.shop)
    session.proxy.arm(Fault("eth_sendRawTransaction", "502-before", times=None))
    first = session.attempt(lambda: session.client.buy(item))
    session.proxy.clear()
    again = first or session.attempt(lambda: session.client.buy(item))
    session.report("lib: send answered 502 before forwarding", purchases=session.purchases(item))
    assert first is None
    unknown_outcome_told(session.errors[0])
    assert isinstance(again, TradeView)
    assert session.purchases(item) == 1 and session.nonce() == 1
    session.paid(ONE // 10)


def _chain_id_of(raw: str) -> int:
    from eth_account.typed_transactions import TypedTransaction

    return int(TypedTransaction.from_bytes(HexBytes(raw)).as_dict()["chainId"])


# ------------------------------------------------------------------------------------------
# beyond the table: every method, batches, a node that restarts or goes away

#: Every JSON-RPC method the client uses to connect, buy, release, pipeline, recover and read.
CLIENT_METHODS = (
    "eth_chainId",
    "eth_getCode",
    "eth_call",
    "eth_getBlockByNumber",
    "eth_estimateGas",
    "eth_maxPriorityFeePerGas",
    "eth_getTransactionCount",
    "eth_sendRawTransaction",
    "web3_clientVersion",
    "anvil_getAutomine",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_blockNumber",
    "eth_getLogs",
)


@pytest.mark.parametrize("method", CLIENT_METHODS)
def test_answers_dropped_after_forwarding_on_any_method_pay_once(
    shop: Market, proxy: FaultyRpc, method: str
) -> None:
    assert isinstance(shop.chain, AnvilChain)
    account = fresh_account(shop.chain)
    item = listing(shop)
    proxy.arm(Fault(method, "drop-after", times=2))
    s = Session(shop, proxy, account, None)  # type: ignore[arg-type]
    client = s.attempt(lambda: connect(shop, proxy, account))
    if client is None:
        client = s.attempt(lambda: connect(shop, proxy, account))
    done = None
    if isinstance(client, MarketplaceClient):

        def buy_and_release() -> TradeView:
            trade = client.buy(item)
            client.trade(trade.id)
            return client.release(trade)

        done = s.attempt(buy_and_release)
        if done is None:
            done = s.attempt(lambda: client.release(client.trades_of(account.address)[0]))
    s.report(f"lib: {method} answers dropped after forwarding", purchases=s.purchases(item))
    assert s.told == ["ok", "ok"]
    assert isinstance(done, TradeView) and done.state == TradeState.COMPLETED
    assert s.purchases(item) == 1 and s.nonce() == 2
    s.paid(ONE // 10)


def test_client_methods_are_all_covered(shop: Market, proxy: FaultyRpc) -> None:
    """Every method a clean run uses is in CLIENT_METHODS, so none escapes the test above."""
    assert isinstance(shop.chain, AnvilChain)
    account = fresh_account(shop.chain)
    client = connect(shop, proxy, account)
    items = [listing(shop) for _ in range(3)]
    trade = client.release(client.buy(items[0]))
    client.results(client.submit_all([client.prepare_buy(x) for x in items[1:]]))
    client.trade(trade.id)
    assert set(proxy.methods) <= set(CLIENT_METHODS), set(proxy.methods) - set(CLIENT_METHODS)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("*", "reorder", batch=True, times=None),
        Fault("eth_sendRawTransaction", "partial", batch=True, times=1),
        Fault("eth_estimateGas", "partial", batch=True, times=1),
        Fault("eth_getTransactionReceipt", "partial", batch=True, times=2),
    ],
    ids=["reordered", "send-partial", "estimate-partial", "receipts-partial"],
)
def test_pipelined_batches_reordered_or_partial_buy_once_each(
    session: Session, fault: Fault
) -> None:
    items = [listing(session.shop, 2) for _ in range(3)]
    client = session.client

    def buy_all() -> list[TradeView]:
        return client.results(client.submit_all([client.prepare_buy(x) for x in items]))

    session.proxy.arm(fault)
    trades = session.attempt(buy_all)
    session.proxy.clear()
    if trades is None:
        trades = session.attempt(buy_all)
    session.report(
        f"lib: pipelined, batch {fault.action} ({fault.method})",
        purchases=[session.purchases(x) for x in items],
    )
    assert session.told == ["ok"]
    assert isinstance(trades, list) and {t.listing_id for t in trades} == {x.id for x in items}
    assert [session.purchases(x) for x in items] == [1, 1, 1]
    assert session.nonce() == 3
    session.paid(3 * ONE // 10)


def test_send_hangs_past_the_timeout_outcome_checked_paid_once(
    shop: Market, proxy: FaultyRpc
) -> None:
    assert isinstance(shop.chain, AnvilChain)
    account = fresh_account(shop.chain)
    patient = SenderPolicy(receipt_timeout=4.0, rpc_attempts=4, retry_delay=0.05, rpc_timeout=0.5)
    client = MarketplaceClient.connect(
        proxy.url, account=account, deployments=shop.seller.deployment, policy=patient
    )
    session = Session(shop, proxy, account, client)
    item = listing(shop)
    proxy.arm(Fault("eth_sendRawTransaction", "hang-after", seconds=1.5))
    trade = session.attempt(lambda: client.buy(item))
    proxy.clear()
    if trade is None:
        trade = session.attempt(lambda: client.buy(item))
    session.report("lib: send hangs past the timeout", purchases=session.purchases(item))
    assert session.told == ["ok"]  # the hash was looked up after the timeout: it was in
    assert proxy.count("eth_sendRawTransaction") == 1
    assert session.purchases(item) == 1 and session.nonce() == 1
    session.paid(ONE // 10)


def test_node_gone_before_the_send_nothing_sent_nonce_reused(session: Session) -> None:
    item = listing(session.shop)
    session.proxy.arm(Fault("eth_estimateGas", "down-after"))
    first = session.attempt(lambda: session.client.buy(item))
    session.proxy.clear()
    session.proxy.up()
    again = first or session.attempt(lambda: session.client.buy(item))
    session.report("lib: node gone (refused) at the send", purchases=session.purchases(item))
    assert first is None
    # The estimate brought the nonce along, so the next request is the send itself: signed,
    # refused at the connection, so certainly not sent (the journal closes it; nonce reused).
    assert session.told[0].startswith("NotSent: cannot reach the node"), session.told[0]
    assert "was not sent, nothing was paid" in session.told[0], session.told[0]
    assert isinstance(again, TradeView)
    assert session.purchases(item) == 1 and session.nonce() == 1
    assert again.tx is not None
    assert int(session.chain.w3.eth.get_transaction(again.tx.tx_hash)["nonce"]) == 0
    session.paid(ONE // 10)


@pytest.fixture
def own_anvil() -> Iterator[AnvilChain]:
    """An Anvil for one test (it is restarted)."""
    with AnvilChain() as node:
        yield node


@pytest.mark.parametrize("pool", ["mined", "lost"])
def test_node_restarts_with_its_state_purchase_found_or_resent_once(
    own_anvil: AnvilChain, pool: str
) -> None:
    market = make_market(own_anvil)
    item = market.seller.create_listing(market.terms(price=ONE // 10), 3)
    account = fresh_account(own_anvil)
    with FaultyRpc(own_anvil.url) as proxy:
        s = Session(market, proxy, account, connect(market, proxy, account, SHORT))
        if pool == "mined":  # mined, the answer lost, and no way to look it up before the restart
            proxy.arm(
                Fault("eth_sendRawTransaction", "drop-after", times=None),
                Fault("eth_getTransactionByHash", "502-before", times=None),
                Fault("eth_getTransactionCount", "502-before", times=None, skip=1),
            )
        else:  # waiting in the pool, which the restart forgets
            own_anvil.rpc("evm_setAutomine", [False])
        first = s.attempt(lambda: s.client.buy(item))
        state = own_anvil.rpc("anvil_dumpState", [])
        own_anvil.stop()
        with AnvilChain() as restarted:
            restarted.rpc("anvil_loadState", [state])
            proxy.upstream = restarted.url
            proxy.clear()
            s.shop = Market(**{**market.__dict__, "chain": restarted})
            again = first or s.attempt(lambda: s.client.buy(item))
            s.report(f"lib: node restarts with its state (tx {pool})", purchases=s.purchases(item))
            assert first is None
            unknown_outcome_told(s.errors[0])
            assert isinstance(again, TradeView)
            assert s.purchases(item) == 1 and s.nonce() == 1
            sent = s.errors[0].pending.raw  # type: ignore[attr-defined]
            assert {HexBytes(r) for r in proxy.forwarded_raw} == {HexBytes(sent)}
            s.paid(ONE // 10)


# ---------------------------------------------------------------------------------- permit reads


def _permit2_token(shop: Market, holder: LocalAccount) -> Any:
    """A token without EIP-2612, which ``holder`` approved to Permit2."""
    from p2pchain.chain._permit2 import PERMIT2_ADDRESS

    token = shop.deploy_token("TestERC20", "Plain Dollar", "PUSD")
    shop.call_token(shop.deployer, token, "mint", holder.address, 10 * ONE)
    shop.call_token(holder, token, "approve", PERMIT2_ADDRESS, 2**256 - 1)
    return token


def test_a_permit_is_prepared_with_one_batch_of_reads(shop: Market, session: Session) -> None:
    """Deciding between an EIP-2612 permit, a Permit2 permit and an approve takes one request
    (a batch of six reads) before signing, not six round trips."""
    token = _permit2_token(shop, session.account)
    item = shop.seller.create_listing(shop.terms(token=token.address, price=ONE))
    session.proxy.requests.clear()
    call = session.client.prepare_buy(item)
    assert call.action == "buyWithPermit" and not call.before
    batches = [r for r in session.proxy.requests if len(r) == 6]
    assert batches == [["eth_call"] * 5 + ["eth_getCode"]]
    session.attempt(call.send)
    assert session.told == ["ok"]
    assert shop.seller.balance(session.account.address, token.address) == 9 * ONE


def test_a_node_that_answers_the_permit_reads_in_part_is_read_one_by_one(
    shop: Market, session: Session
) -> None:
    """A node that keeps answering the batch of permit reads in part (Permit2's code left out):
    no permit is signed on a guess; the reads are made one by one instead, and the purchase is
    still one transaction."""
    token = _permit2_token(shop, session.account)
    item = shop.seller.create_listing(shop.terms(token=token.address, price=ONE))
    session.proxy.requests.clear()
    # Every batch that asks for code is answered in part (retries too); a lone request is not.
    with session.proxy.faults(Fault("eth_getCode", "partial", times=None, batch=True)):
        call = session.client.prepare_buy(item)
    permit_batches = [r for r in session.proxy.requests if r == ["eth_call"] * 5 + ["eth_getCode"]]
    assert len(permit_batches) >= 2  # asked again by the retry policy, then given up on
    assert ["eth_getCode"] in session.proxy.requests  # then read one by one
    assert call.action == "buyWithPermit" and not call.before
    nonce = session.nonce()
    session.attempt(call.send)
    assert session.told == ["ok"] and session.nonce() == nonce + 1
    assert shop.seller.balance(session.account.address, token.address) == 9 * ONE
