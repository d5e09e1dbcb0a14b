"""The flash-mint rating ring of issue 10, as a reusable helper for any test with a deployment.

``contracts/test/FlashMintToken.sol`` is an ERC-20 that flash-mints (ERC-3156) any amount for free;
``contracts/test/FlashRing.sol`` borrows it and, in the same transaction, lists the amount for sale
from its own second contract (``RingSeller``), buys it, ends the trade, rates 5 stars both ways and
repays. One transaction, no capital.

Use it from any test that has a chain and a Marketplace deployment (the indexer's trust tests,
for example)::

    from tests.contracts.flash_ring import deploy_flash_ring, run_flash_ring

    ring = deploy_flash_ring(chain.w3, chain.accounts[0], deployment.marketplace)
    run = run_flash_ring(chain.w3, ring, 10**30)                    # ends in a refund
    run = run_flash_ring(chain.w3, ring, 10**30, ending="release")  # the price really moves

``run.trade_id``, ``run.buyer`` (the FlashRing contract), ``run.seller`` (its RingSeller),
``run.token`` and ``run.receipt`` (block number, logs: ``Purchased``, ``Refunded`` or
``Released``, and the two ``Rated`` in one transaction) are what an index sees. The same ring
contracts can run any number of times (a fresh listing each time).

What the contracts make of it: a refund ring's ratings carry value 0 and add 0 to the aggregate
volume; a release ring's ratings carry the amount, because it really went to the seller (see
``docs/trust.md`` for how off-chain scoring treats that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams, TxReceipt

from p2pchain.chain._events import receipt_events
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import load_artifact

Ending = Literal["refund", "release"]
_ENDINGS: dict[str, int] = {"refund": 0, "release": 1}
#: Gas for one ring transaction (it uses about 400k).
RING_GAS = 1_500_000


@dataclass(frozen=True)
class FlashRing:
    """A deployed ring: the token it borrows, the ring (buyer) and its seller contract."""

    token: Contract
    ring: Contract
    seller: str
    owner: LocalAccount


@dataclass(frozen=True)
class RingRun:
    """One ring transaction."""

    receipt: TxReceipt
    trade_id: bytes
    buyer: str
    seller: str
    token: str
    amount: int
    ending: Ending


def _deploy(w3: Web3, account: LocalAccount, name: str, *args: Any) -> Contract:
    artifact = load_artifact(name, test=True)
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    receipt = send_transaction(w3, account, cast(TxParams, {"data": data}))
    address = receipt["contractAddress"]
    assert address is not None, f"deploying {name} failed"
    return w3.eth.contract(address=address, abi=list(artifact.abi))


def deploy_flash_ring(w3: Web3, owner: LocalAccount, marketplace: str) -> FlashRing:
    """Deploy a FlashMintToken and a FlashRing (with its RingSeller) against ``marketplace``."""
    token = _deploy(w3, owner, "FlashMintToken")
    ring = _deploy(w3, owner, "FlashRing", marketplace)
    seller = str(ring.functions.SELLER().call())
    return FlashRing(token=token, ring=ring, seller=seller, owner=owner)


def run_flash_ring(w3: Web3, ring: FlashRing, amount: int, *, ending: Ending = "refund") -> RingRun:
    """Run the ring once in one transaction; raises if it reverts."""
    data = ring.ring.encode_abi("run", args=[ring.token.address, amount, _ENDINGS[ending]])
    tx = {"to": ring.ring.address, "data": data, "gas": RING_GAS}
    receipt = send_transaction(w3, ring.owner, cast(TxParams, tx))  # raises if it reverts
    ((_, args),) = [e for e in receipt_events(ring.ring, receipt) if e[0] == "RingClosed"]
    return RingRun(
        receipt=receipt,
        trade_id=bytes(args["tradeId"]),
        buyer=str(ring.ring.address),
        seller=str(args["seller"]),
        token=str(args["token"]),
        amount=int(args["amount"]),
        ending=ending,
    )


__all__ = ["FlashRing", "RingRun", "deploy_flash_ring", "run_flash_ring"]
