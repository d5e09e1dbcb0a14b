"""The flash-mint rating ring of issue 10 on real chains: one transaction, zero capital.

A ring flash-mints 10^30 of an ERC-3156 token, lists, buys and refunds it between two contracts it
controls, rates 5 stars both ways and repays, all in one transaction. The transaction succeeds:
ratings of refunded trades are allowed. But they carry value 0, because no money reached the
seller, so the ring adds nothing to any on-chain aggregate volume.
"""

from __future__ import annotations

import pytest

from p2pchain.chain._events import receipt_events
from p2pchain.chain._model import TradeState
from p2pchain.chain._nodes import DevChain

from .flash_ring import deploy_flash_ring, run_flash_ring
from .market import Market

FLASH_AMOUNT = 10**30


def _aggregate(market: Market, subject: str, token: str) -> tuple[int, int, int]:
    count, score_sum, volume = market.reputation.functions.aggregate(subject, token).call()
    return int(count), int(score_sum), int(volume)


@pytest.fixture(params=["embedded", "anvil"])
def chain(request: pytest.FixtureRequest) -> DevChain:
    """The in-process chain and a real Anvil node."""
    chain: DevChain = request.getfixturevalue(f"{request.param}_chain")
    return chain


def test_refund_ring_in_one_transaction_adds_no_volume(chain: DevChain) -> None:
    market = Market(chain)
    ring = deploy_flash_ring(market.w3, market.stranger, market.address)
    run = run_flash_ring(market.w3, ring, FLASH_AMOUNT)

    # one transaction: purchase, refund and both ratings
    names = [n for n, _ in receipt_events(market.market, run.receipt)]
    assert names == ["Listed", "Purchased", "Refunded"]
    rated = [a for n, a in receipt_events(market.reputation, run.receipt) if n == "Rated"]
    assert [(a["rater"], a["subject"], a["score"], a["value"]) for a in rated] == [
        (run.buyer, run.seller, 5, 0),
        (run.seller, run.buyer, 5, 0),
    ]
    # the ratings count, but the aggregate volume of the whole ring is 0
    assert _aggregate(market, run.seller, run.token) == (1, 5, 0)
    assert _aggregate(market, run.buyer, run.token) == (1, 5, 0)
    # the loan was repaid and burnt; the marketplace holds and owes nothing
    assert ring.token.functions.totalSupply().call() == 0
    assert ring.token.functions.balanceOf(market.address).call() == 0
    current, rated_bits = market.market.functions.checkTrade(
        run.trade_id,
        (run.buyer, run.seller, run.token, "0x" + "00" * 20, 0, FLASH_AMOUNT, 0,
         market.timestamp_of(run.receipt) + 1, int(TradeState.REFUNDED), 0, 0),
    ).call()  # fmt: skip
    assert (current, rated_bits) == (True, 3)


def test_ring_runs_again_and_volume_stays_zero(chain: DevChain) -> None:
    market = Market(chain)
    ring = deploy_flash_ring(market.w3, market.stranger, market.address)
    for _ in range(3):
        run = run_flash_ring(market.w3, ring, FLASH_AMOUNT)
    assert _aggregate(market, run.seller, run.token) == (3, 15, 0)
    assert _aggregate(market, run.buyer, run.token) == (3, 15, 0)


def test_release_ring_carries_the_money_that_moved(chain: DevChain) -> None:
    """The documented limit: a ring that releases instead of refunding really paid its seller
    (itself), so the ratings carry the amount. Nothing on-chain tells its two contracts apart;
    the purchase and both ratings share one transaction, which is the hook for off-chain scoring
    (docs/trust.md)."""
    market = Market(chain)
    ring = deploy_flash_ring(market.w3, market.stranger, market.address)
    run = run_flash_ring(market.w3, ring, FLASH_AMOUNT, ending="release")
    names = [n for n, _ in receipt_events(market.market, run.receipt)]
    assert names == ["Listed", "Purchased", "Released"]
    rated = [a for n, a in receipt_events(market.reputation, run.receipt) if n == "Rated"]
    assert [a["value"] for a in rated] == [FLASH_AMOUNT, FLASH_AMOUNT]
    assert _aggregate(market, run.seller, run.token) == (1, 5, FLASH_AMOUNT)
    assert ring.token.functions.totalSupply().call() == 0
