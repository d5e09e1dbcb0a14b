"""A fresh deployment per test, with one client per party, shared by the library's tests.

``any_market`` runs a test on the embedded chain and on Anvil; ``market`` on the embedded chain
only (for tests about the client's own logic, where the node does not matter). Conftests import
the two fixtures; other tests import :class:`Market` and :func:`make_market`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.contract import Contract

from p2pchain import ETH, ListingTerms, MarketplaceClient, deploy
from p2pchain.chain._nodes import DevChain, EmbeddedChain
from p2pchain.compiler._artifacts import load_artifact

ONE = 10**18
DAY = 86_400


def random_cid() -> bytes:
    """A binary CIDv0 (sha2-256 multihash) of random content."""
    return bytes.fromhex("1220") + os.urandom(32)


@dataclass
class Market:
    """A fresh deployment and a client per party."""

    chain: DevChain
    deployer: LocalAccount
    seller_account: LocalAccount
    buyer_account: LocalAccount
    arbitrator_account: LocalAccount
    stranger_account: LocalAccount
    seller: MarketplaceClient
    buyer: MarketplaceClient
    arbitrator: MarketplaceClient
    stranger: MarketplaceClient

    def terms(self, **overrides: Any) -> ListingTerms:
        """1 ETH, no deposit, the arbitrator at 2%, a 7-day review window."""
        values: dict[str, Any] = {
            "price": ONE,
            "cid": random_cid(),
            "arbitrator": self.arbitrator_account.address,
            "arbitrator_fee_bps": 200,
        }
        values.update(overrides)
        return self.seller.make_terms(**values)

    def warp_to(self, timestamp: int) -> None:
        """Make the next block carry ``timestamp``."""
        self.chain.set_next_timestamp(timestamp)

    def deploy_token(self, name: str = "TestERC20", *args: Any) -> Contract:
        """Deploy a test token from the test artifacts (deployer pays)."""
        artifact = load_artifact(name, test=True)
        w3 = self.chain.w3
        factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
        data = factory.constructor(*args).data_in_transaction
        receipt = self.seller.sender.send(self.deployer, {"data": data})
        return w3.eth.contract(address=receipt["contractAddress"], abi=list(artifact.abi))

    def call_token(self, account: LocalAccount, token: Contract, fn: str, *args: Any) -> None:
        """Send ``token.fn(*args)`` from ``account``."""
        data = token.encode_abi(fn, list(args))
        self.seller.sender.send(account, {"to": token.address, "data": data})


def make_market(chain: DevChain) -> Market:
    """Deploy fresh contracts on ``chain`` and connect one client per party."""
    deployer, seller, buyer, arbitrator, stranger = chain.accounts[:5]
    deployment = deploy(chain, deployer, constructor_args={"rulingWindow": 3 * DAY})
    client = MarketplaceClient.connect(chain, account=seller, deployments=deployment)
    return Market(
        chain=chain,
        deployer=deployer,
        seller_account=seller,
        buyer_account=buyer,
        arbitrator_account=arbitrator,
        stranger_account=stranger,
        seller=client,
        buyer=client.with_account(buyer),
        arbitrator=client.with_account(arbitrator),
        stranger=client.with_account(stranger),
    )


@pytest.fixture(params=["embedded_chain", "anvil_chain"], ids=["embedded", "anvil"])
def any_market(request: pytest.FixtureRequest) -> Market:
    """A fresh deployment on the embedded chain, then on Anvil (marked ``anvil``)."""
    chain: DevChain = request.getfixturevalue(request.param)
    return make_market(chain)


@pytest.fixture
def market(embedded_chain: EmbeddedChain) -> Market:
    """A fresh deployment on the embedded chain."""
    return make_market(embedded_chain)


def money(chain: DevChain, sender: str, raws: Iterable[str]) -> tuple[int, int]:
    """What ``sender``'s transactions that reached the node paid: (value, gas), from the receipts
    on Anvil (a transaction that reverted paid gas only; one never mined paid nothing)."""
    from eth_utils import keccak
    from web3.exceptions import TransactionNotFound

    from p2pchain.chain._journal import decode_signed

    value = gas = 0
    for raw in {bytes(HexBytes(r)) for r in raws}:
        fields = decode_signed(raw)
        if fields["from"] != sender:
            continue
        try:
            receipt = chain.w3.eth.get_transaction_receipt(keccak(raw))
        except TransactionNotFound:
            continue
        gas += int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        if int(receipt["status"]) == 1:
            value += int(fields["value"])
    return value, gas


__all__ = [
    "DAY",
    "ETH",
    "ONE",
    "Market",
    "any_market",
    "make_market",
    "market",
    "money",
    "random_cid",
]
