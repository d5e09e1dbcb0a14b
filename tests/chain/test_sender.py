"""The transaction sender: pipelined nonces, rejected nonces reused, replacements, conflicts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _market import ONE, Market

from p2pchain import (
    AnvilChain,
    DevChain,
    Fees,
    NonceConflict,
    SenderPolicy,
    TransactionRejected,
    TransactionSender,
    TransactionTimeout,
)


@pytest.fixture(params=["embedded_chain", "anvil_chain"], ids=["embedded", "anvil"])
def chain(request: pytest.FixtureRequest) -> DevChain:
    """The embedded chain, then Anvil."""
    chain: DevChain = request.getfixturevalue(request.param)
    return chain


@pytest.fixture
def paused_anvil() -> Iterator[AnvilChain]:
    """An Anvil of its own that mines only when told to (``evm_mine``)."""
    with AnvilChain(extra_args=["--no-mining"]) as node:
        yield node


@pytest.mark.parametrize("node", ["embedded_chain", "anvil_chain", "ganache_chain"])
def test_nonce_manager_sends_50_without_waiting_all_land(
    request: pytest.FixtureRequest, node: str
) -> None:
    chain: DevChain = request.getfixturevalue(node)
    sender = TransactionSender(chain.w3)
    account, to = chain.accounts[6], chain.accounts[7].address
    start = chain.w3.eth.get_transaction_count(account.address)
    received = chain.w3.eth.get_balance(to)
    pendings = [sender.submit(account, {"to": to, "value": n + 1}) for n in range(50)]
    assert [p.nonce for p in pendings] == list(range(start, start + 50))
    receipts = sender.wait_many(pendings)
    assert all(r["status"] == 1 for r in receipts)
    assert chain.w3.eth.get_transaction_count(account.address) == start + 50
    assert chain.w3.eth.get_balance(to) == received + sum(range(1, 51))


def test_client_pipelines_50_listings_in_batches(any_market: Market) -> None:
    calls = [any_market.seller.prepare_create_listing(any_market.terms()) for _ in range(50)]
    pendings = any_market.seller.submit_all(calls)
    listings = any_market.seller.results(pendings)
    assert len({listing.id for listing in listings}) == 50
    trades = any_market.buyer.results(
        any_market.buyer.submit_all([any_market.buyer.prepare_buy(x) for x in listings])
    )
    assert {t.listing_id for t in trades} == {x.id for x in listings}
    done = any_market.buyer.results(
        any_market.buyer.submit_all([any_market.buyer.prepare_release(t) for t in trades])
    )
    assert {t.state.name for t in done} == {"COMPLETED"}


def test_batch_with_a_reverting_call_sends_nothing(any_market: Market) -> None:
    from p2pchain import SelfPurchase

    listing = any_market.seller.create_listing(any_market.terms())
    calls = [any_market.seller.prepare_create_listing(any_market.terms()) for _ in range(3)]
    calls.insert(2, any_market.seller.prepare_buy(listing))
    nonce = any_market.chain.w3.eth.get_transaction_count(any_market.seller.address)
    with pytest.raises(SelfPurchase) as info:
        any_market.seller.submit_all(calls)
    assert info.value.batch_index == 2  # type: ignore[attr-defined]
    assert any_market.chain.w3.eth.get_transaction_count(any_market.seller.address) == nonce


def test_rejected_transaction_frees_its_nonce(chain: DevChain) -> None:
    sender = TransactionSender(chain.w3)
    account, to = chain.accounts[8], chain.accounts[7].address
    first = sender.submit(account, {"to": to, "value": 1})
    with pytest.raises(TransactionRejected) as info:
        sender.submit(account, {"to": to, "value": 10**30, "gas": 21_000}, check=False)
    assert (
        "insufficient funds" in info.value.reason.lower() or "balance" in info.value.reason.lower()
    )
    again = sender.submit(account, {"to": to, "value": 2})
    assert again.nonce == first.nonce + 1
    assert [r["status"] for r in sender.wait_many([first, again])] == [1, 1]


def test_nonce_used_elsewhere_raises_conflict_then_resyncs(chain: DevChain) -> None:
    sender = TransactionSender(chain.w3)
    account, to = chain.accounts[9], chain.accounts[7].address
    sender.wait(sender.submit(account, {"to": to, "value": 1}))
    # another process sends with the same key, using the nonce this sender would hand out next
    other = TransactionSender(chain.w3)
    other.wait(other.submit(account, {"to": to, "value": 1}))
    with pytest.raises(NonceConflict) as info:
        sender.submit(account, {"to": to, "value": 5})
    assert "nothing was paid" in str(info.value)
    receipt = sender.send(account, {"to": to, "value": 5})
    assert receipt["status"] == 1


def test_stuck_transaction_is_replaced_and_mined_once(paused_anvil: AnvilChain) -> None:
    w3 = paused_anvil.w3
    sender = TransactionSender(w3, SenderPolicy(poll_interval=0.01))
    account, to = paused_anvil.accounts[1], paused_anvil.accounts[2].address
    before = w3.eth.get_balance(to)
    pending = sender.submit(account, {"to": to, "value": ONE})
    original = Fees.of(pending.tx)
    with pytest.raises(TransactionTimeout):
        sender.wait(pending, timeout=0.3, replace_after=0.1)
    assert len(pending.versions) >= 2
    bumped = Fees.of(pending.tx)
    assert bumped.max_priority_fee_per_gas * 8 >= original.max_priority_fee_per_gas * 9
    assert bumped.max_fee_per_gas * 8 >= original.max_fee_per_gas * 9
    assert len({v.hash for v in pending.versions}) == len(pending.versions)
    paused_anvil.mine()
    receipt = sender.wait(pending, timeout=10)
    assert receipt["transactionHash"] == pending.hash
    assert w3.eth.get_balance(to) == before + ONE
    assert w3.eth.get_transaction_count(account.address) == pending.nonce + 1
    # replacing a mined transaction does nothing
    assert sender.replace(pending).versions == pending.versions


def test_replacement_fees_below_the_bump_are_refused(paused_anvil: AnvilChain) -> None:
    from p2pchain import ChainError

    sender = TransactionSender(paused_anvil.w3)
    account, to = paused_anvil.accounts[3], paused_anvil.accounts[2].address
    pending = sender.submit(account, {"to": to, "value": 1})
    current = Fees.of(pending.tx)
    with pytest.raises(ChainError):
        sender.replace(
            pending, fees=Fees(current.max_fee_per_gas + 1, current.max_priority_fee_per_gas + 1)
        )
    paused_anvil.mine()
    assert sender.wait(pending)["status"] == 1


def test_legacy_fees_when_policy_says_so(chain: DevChain) -> None:
    sender = TransactionSender(chain.w3, SenderPolicy(legacy=True))
    account, to = chain.accounts[5], chain.accounts[7].address
    pending = sender.submit(account, {"to": to, "value": 1})
    assert "gasPrice" in pending.tx and "maxFeePerGas" not in pending.tx
    assert sender.wait(pending)["status"] == 1


def test_stalled_batch_replaces_only_the_blocking_transaction(paused_anvil: AnvilChain) -> None:
    w3 = paused_anvil.w3
    sender = TransactionSender(w3, SenderPolicy(poll_interval=0.01))
    account, to = paused_anvil.accounts[4], paused_anvil.accounts[2].address
    before = w3.eth.get_balance(to)
    pendings = sender.submit_many([(account, {"to": to, "value": 1}, None) for _ in range(3)])
    with pytest.raises(TransactionTimeout):
        sender.wait_many(pendings, timeout=0.35, replace_after=0.1)
    assert len(pendings[0].versions) >= 2
    assert [len(p.versions) for p in pendings[1:]] == [1, 1]
    paused_anvil.mine()
    assert [r["status"] for r in sender.wait_many(pendings, timeout=10)] == [1, 1, 1]
    assert w3.eth.get_balance(to) == before + 3


def test_stall_replacement_only_by_default_on_automining_anvil(
    anvil_chain: AnvilChain, paused_anvil: AnvilChain, embedded_chain: DevChain
) -> None:
    assert TransactionSender(anvil_chain.w3).stall_replacement() == 2.0
    assert TransactionSender(paused_anvil.w3).stall_replacement() is None
    assert TransactionSender(embedded_chain.w3).stall_replacement() is None
    assert (
        TransactionSender(embedded_chain.w3, SenderPolicy(replace_after=5)).stall_replacement() == 5
    )


def test_batch_with_a_refused_transaction_reports_it_and_reuses_its_nonce(
    anvil_chain: AnvilChain,
) -> None:
    from p2pchain import BatchSubmitError, PendingTransaction

    w3 = anvil_chain.w3
    sender = TransactionSender(w3)
    account, to = anvil_chain.accounts[5], anvil_chain.accounts[2].address
    start = w3.eth.get_transaction_count(account.address)
    items = [
        (account, {"to": to, "value": 1, "gas": 21_000}, None),
        (account, {"to": to, "value": 10**30, "gas": 21_000}, None),  # more than it has
        (account, {"to": to, "value": 3, "gas": 21_000}, None),
    ]
    with pytest.raises(BatchSubmitError) as info:
        sender.submit_many(items, check=False)
    first, refused, third = info.value.results
    assert isinstance(first, PendingTransaction) and isinstance(third, PendingTransaction)
    assert isinstance(refused, TransactionRejected)
    assert (first.nonce, third.nonce) == (start, start + 2)
    # the refused nonce is handed out next, which un-blocks the third transaction
    filler = sender.submit(account, {"to": to, "value": 2})
    assert filler.nonce == start + 1
    assert [r["status"] for r in sender.wait_many([first, filler, third])] == [1, 1, 1]
