"""Payouts keep their gas guarantee on Prague chains, where a receiver can be an EIP-7702 delegated
account.

Calling a delegated account costs a cold access to its delegate's code on top of the usual cold
access and value transfer, about 2,600 gas that ``_requirePayoutGas`` did not count before. A
caller could then pick a gas limit that passes the check yet leaves the receiver short of the
promised ``PAYOUT_GAS``; a receiver that refuses cheaply when short is then credited instead of
paid. Here the receiver is an EOA delegated (``anvil_setCode`` with ``0xef0100 || address``) to
``PromisedGasReceiver``, which needs every gas unit the payout promises: ``PAYOUT_GAS`` (60,000)
plus the value's 2,300 stipend, minus what its own dispatch spends. ``finalize`` is sent with every
gas limit, one gas apart, from below the lowest limit that passes the check to far above it: every
transaction either reverts (``PayoutGasTooLow``, nothing paid) or pays the receiver; none credits
it.

The shipped bytecode is the one Shanghai build; only the node runs Prague rules.

Measured on anvil 1.7.1 (``--hardfork prague``) with this finalize (exact figures move by a few
gas with the addresses in the calldata): with the old 12,000-gas allowance the lowest passing
limit was 105,270, which is also ``eth_estimateGas``'s answer; there the receiver started with
60,080 gas instead of 62,300, and all 2,255 limits from 105,270 to 107,524 credited it. With the
new allowance the lowest passing limit is 4,000 higher, 109,270; the sweep from 104,918 to
111,317 gives 4,352 reverts, 2,048 payments and 0 credits, and ``eth_estimateGas`` pays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from p2pchain.chain._nodes import AnvilChain

from ._helpers import deploy_test_contract
from .market import DAY, ONE, Market, TradeRef

#: EIP-7702 delegation designator prefix: an account whose code is ``0xef0100 || address`` runs
#: the code at ``address``.
DELEGATION_PREFIX = bytes.fromhex("ef0100")
CREDITED_TOPIC = keccak(text="Credited(address,address,uint256)")
#: What a value call adds to the gas it forwards (the receiver starts with PAYOUT_GAS + this).
STIPEND = 2_300
#: Gas PromisedGasReceiver's ``receive`` spends before it reads ``gasleft()`` (solc 0.8.30, viaIR):
#: a receiver needing ``PAYOUT_GAS + STIPEND - RECEIVER_DISPATCH`` there needs every gas unit of
#: the promise (the calibration test checks both sides of that).
RECEIVER_DISPATCH = 69
#: Gas limits swept below and above the lowest limit that passes the payout gas check: below, down
#: past where the old 12,000-gas allowance credited (limits 4,000 to 1,746 under today's
#: boundary); above, well past where the receiver gets the whole
#: promise anyway.
BELOW, ABOVE = 4_352, 2_048


@pytest.fixture(scope="module")
def prague_chain() -> Iterator[AnvilChain]:
    """An Anvil node with Prague rules (EIP-7702), through the project's one argv builder."""
    with AnvilChain(hardfork="prague") as chain:
        yield chain


@dataclass
class SweepResult:
    """What ``finalize`` did at each gas limit of a sweep."""

    lowest: int
    highest: int
    boundary: int  # the lowest gas limit whose transaction succeeds
    reverted: int
    paid: int
    credited: list[int]

    def __str__(self) -> str:
        return (
            f"gas limits {self.lowest:,}-{self.highest:,} (1-gas steps): boundary {self.boundary:,},"
            f" {self.reverted} reverted, {self.paid} paid, {len(self.credited)} credited"
        )


def delegate(chain: AnvilChain, account: str, code_address: str) -> None:
    """Make ``account`` an EIP-7702 delegated account of ``code_address`` (Anvil cheat code)."""
    designator = DELEGATION_PREFIX + bytes.fromhex(code_address[2:])
    chain.rpc("anvil_setCode", [account, "0x" + designator.hex()])


def finalizable_trade(market: Market) -> TradeRef:
    """A 1 ETH trade whose review window has ended: ``finalize`` pays the seller 1 ETH."""
    ref = market.buy(market.list(market.terms(review_window=DAY)))
    market.chain.set_next_timestamp(ref.trade.deadline)
    market.chain.mine()
    return ref


class FinalizeSweep:
    """Send the same ``finalize`` at many gas limits, each from the same chain snapshot."""

    def __init__(self, market: Market, ref: TradeRef, sender: LocalAccount) -> None:
        self.market, self.chain = market, market.chain
        self.sender = sender
        self.receiver = ref.trade.seller
        data = market.market.encode_abi("finalize", args=[ref.id, ref.trade.as_tuple()])
        w3 = market.w3
        block = w3.eth.get_block("latest")
        fee = 2 * int(block["baseFeePerGas"]) + 10**9
        self.tx: dict[str, Any] = {
            "to": market.address,
            "data": data,
            "value": 0,
            "chainId": self.chain.chain_id,
            "nonce": w3.eth.get_transaction_count(sender.address),
            "maxFeePerGas": fee,
            "maxPriorityFeePerGas": 10**9,
            "type": 2,
        }
        self.snapshot = self.chain.snapshot()

    def reset(self) -> None:
        """Back to the snapshot: the trade open, its review window over."""
        self.chain.revert(self.snapshot)
        # a reverted block's transaction can come back into the pool, where the next send at the
        # same nonce would meet it ("replacement transaction underpriced"): drop it
        self.chain.rpc("anvil_dropAllTransactions", [])
        self.snapshot = self.chain.snapshot()

    def estimate(self) -> int:
        """``eth_estimateGas`` for the transaction (from the snapshot), as a wallet would ask."""
        self.reset()
        call = {k: v for k, v in self.tx.items() if k in ("to", "data", "value")}
        return int(self.market.w3.eth.estimate_gas({**call, "from": self.sender.address}))

    def send(self, gas: int) -> str:
        """Send at ``gas`` from the snapshot: ``reverted``, ``paid`` or ``credited``."""
        self.reset()
        before = self.market.balance(self.receiver)
        signed = self.sender.sign_transaction({**self.tx, "gas": gas})
        tx_hash = self.chain.rpc("eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()])
        receipt = self.market.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)
        if receipt["status"] == 0:
            return "reverted"
        credited = any(bytes(log["topics"][0]) == CREDITED_TOPIC for log in receipt["logs"])
        if credited:
            return "credited"
        assert self.market.balance(self.receiver) == before + ONE
        return "paid"

    def boundary(self, low: int = 30_000, high: int = 1_000_000) -> int:
        """The lowest gas limit whose transaction succeeds (bisection; success is monotone)."""
        assert self.send(high) != "reverted"
        while high - low > 1:
            mid = (low + high) // 2
            if self.send(mid) == "reverted":
                low = mid
            else:
                high = mid
        return high

    def sweep(self, below: int = BELOW, above: int = ABOVE) -> SweepResult:
        """Every gas limit from ``boundary - below`` to ``boundary + above - 1``."""
        boundary = self.boundary()
        lowest, highest = boundary - below, boundary + above - 1
        outcomes = {gas: self.send(gas) for gas in range(lowest, highest + 1)}
        first_ok = min(g for g, o in outcomes.items() if o != "reverted")
        return SweepResult(
            lowest=lowest,
            highest=highest,
            boundary=first_ok,
            reverted=sum(o == "reverted" for o in outcomes.values()),
            paid=sum(o == "paid" for o in outcomes.values()),
            credited=[g for g, o in outcomes.items() if o == "credited"],
        )


def promised_gas(market: Market) -> int:
    """What a receiver's code may use: the forwarded PAYOUT_GAS plus the value's stipend."""
    return int(market.market.functions.PAYOUT_GAS().call()) + STIPEND


def prague_market(chain: AnvilChain, extra_need: int = 0) -> tuple[Market, Contract]:
    """A marketplace whose seller is an EOA delegated to a receiver that needs all the promised
    gas (plus ``extra_need``)."""
    market = Market(chain)
    needed = promised_gas(market) - RECEIVER_DISPATCH + extra_need
    code = deploy_test_contract(market, "PromisedGasReceiver", needed)
    delegate(chain, market.seller.address, code.address)
    return market, code


@pytest.mark.parametrize(("extra_need", "outcome"), [(0, "paid"), (1, "credited")])
def test_receiver_needs_every_gas_unit_of_the_promise(
    prague_chain: AnvilChain, extra_need: int, outcome: str
) -> None:
    """Calibration: with gas to spare, the receiver is paid, and one more gas needed is too much."""
    market, code = prague_market(prague_chain, extra_need)
    seller = market.seller.address
    designator = DELEGATION_PREFIX + bytes.fromhex(code.address[2:])
    assert bytes(market.w3.eth.get_code(seller)) == designator
    assert int(code.functions.NEEDED_GAS().call()) == 62_231 + extra_need
    ref = finalizable_trade(market)  # the delegated EOA still sends transactions: it listed
    assert to_checksum_address(ref.trade.seller) == seller
    assert FinalizeSweep(market, ref, market.stranger).send(1_000_000) == outcome


def test_finalize_gas_sweep_never_credits_a_delegated_receiver(prague_chain: AnvilChain) -> None:
    market, _ = prague_market(prague_chain)
    ref = finalizable_trade(market)
    sweep = FinalizeSweep(market, ref, market.stranger)
    result = sweep.sweep()
    print(f"\nPrague finalize sweep, delegated receiver needing all of the promise: {result}")
    assert result.credited == []
    assert result.reverted == BELOW  # everything below the boundary reverts, nothing above
    assert result.paid == ABOVE
    # what a wallet asks the node for lands on a limit that pays the receiver in full
    estimate = sweep.estimate()
    assert sweep.send(estimate) == "paid"
    print(f"eth_estimateGas: {estimate:,}")


def test_payout_gas_too_low_below_the_boundary_names_the_promise(prague_chain: AnvilChain) -> None:
    market, _ = prague_market(prague_chain)
    ref = finalizable_trade(market)
    sweep = FinalizeSweep(market, ref, market.stranger)
    boundary = sweep.boundary()
    sweep.reset()
    call = {"from": market.stranger.address, "to": market.address, "data": sweep.tx["data"]}
    with pytest.raises(Exception) as info:
        market.w3.eth.call({**call, "gas": boundary - 1})
    error = market.decode_revert(getattr(info.value, "data", b""), market.address)
    assert (error.name, error.args_) == ("PayoutGasTooLow", (60_000,))
