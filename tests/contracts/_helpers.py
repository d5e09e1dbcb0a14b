"""Shared helpers for the functional contract tests (listings, buying, settlement, disputes...).

What the functional tests need beyond ``market.py``:

* :class:`Market` also decodes TestERC20's custom errors.
* :func:`reverts` asserts a revert by custom error name *and* arguments.
* Gas costs, event lookups, a TestERC20 deployment, chain snapshots that also rewind trade refs.

Test modules use the decoding market by importing :func:`market_fixture`, which registers a
module-level fixture named ``market`` in place of the one from ``conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

import pytest
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed
from eth_utils import is_hex_address, to_checksum_address
from web3.contract import Contract
from web3.exceptions import ContractCustomError
from web3.types import TxParams, TxReceipt

from p2pchain.chain._model import ListingTerms, Trade, TradeState, listing_id
from p2pchain.chain._nodes import EmbeddedChain
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import load_artifact

from .market import Listing, Reverted, TradeRef, _raw_revert_data
from .market import Market as _BaseMarket


def _normalize(value: Any) -> Any:
    """Decoded ABI values in comparable form: checksummed addresses, tuples for lists."""
    if isinstance(value, str) and is_hex_address(value):
        return to_checksum_address(value)
    if isinstance(value, (list, tuple)):
        return tuple(_normalize(v) for v in value)
    return value


class Market(_BaseMarket):
    """The test driver. TestERC20 is OpenZeppelin's ERC-20, whose errors (ERC-6093) the shipped
    Marketplace ABI declares: it needs no extra decoding."""


def simulate(market: Market, tx: dict[str, Any]) -> Reverted | None:
    """Run ``tx`` as an ``eth_call`` on the pending block: its decoded revert, or None."""
    to = tx.get("to")
    try:
        market.w3.eth.call(cast(TxParams, tx), "pending")
    except TransactionFailed as exc:
        data = _raw_revert_data(exc)
        if data is None:
            raise
        return market.decode_revert(data, to) if data else Reverted("Revert", ())
    except ContractCustomError as exc:
        return market.decode_revert(exc.data, to)
    return None


@pytest.fixture(name="market")
def market_fixture(embedded_chain: EmbeddedChain) -> Market:
    """A fresh Marketplace + Reputation on the embedded chain, with decoded reverts."""
    return Market(embedded_chain)


@contextmanager
def reverts(name: str, *args: Any) -> Iterator[pytest.ExceptionInfo[Reverted]]:
    """Expect the block to raise :class:`Reverted` with exactly this error and these arguments."""
    with pytest.raises(Reverted) as info:
        yield info
    got = (info.value.name, _normalize(info.value.args_))
    assert got == (name, _normalize(tuple(args))), f"expected {name}{args}, got {info.value}"


# ---------------------------------------------------------------------------------- receipts


def gas_cost(receipt: TxReceipt) -> int:
    """Wei the sender paid for gas."""
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def events_named(
    market: Market, receipt: TxReceipt, name: str, contract: Contract | None = None
) -> list[Any]:
    """The decoded arguments of every ``name`` event in ``receipt``, in order."""
    return [args for ev, args in market.events(receipt, contract) if ev == name]


def event_names(market: Market, receipt: TxReceipt, contract: Contract | None = None) -> list[str]:
    """The names of the contract's events in ``receipt``, in order."""
    return [ev for ev, _ in market.events(receipt, contract)]


# ---------------------------------------------------------------------------------- trades


def forged(ref: TradeRef, **changes: Any) -> TradeRef:
    """A copy of ``ref`` whose trade data differs from the stored one (stale or forged)."""
    return TradeRef(id=ref.id, trade=replace(ref.trade, **changes), listing=ref.listing)


def with_id(ref: TradeRef, trade_id: bytes) -> TradeRef:
    """A copy of ``ref`` that names another trade id with the same data."""
    return TradeRef(id=trade_id, trade=ref.trade, listing=ref.listing)


def escrow_balance(market: Market) -> int:
    """ETH the marketplace holds."""
    return market.balance(market.address)


def held_total(*trades: Trade) -> int:
    """What the escrow still holds for these trades."""
    return sum(t.held_total for t in trades)


def credits_total(market: Market, token: str) -> int:
    """All credits in ``token`` of every dev account."""
    return sum(market.credit(token, a.address) for a in market.chain.accounts)


@contextmanager
def rewind(market: Market, *refs: TradeRef) -> Iterator[None]:
    """Run the block, then put the chain and ``refs`` back as they were before it."""
    saved = [(r, r.trade, list(r.receipts)) for r in refs]
    snap = market.chain.snapshot()
    try:
        yield
    finally:
        market.chain.revert(snap)
        for ref, trade, receipts in saved:
            ref.trade = trade
            ref.receipts = receipts


# ---------------------------------------------------------------------------------- tokens


def deploy_token(market: Market, name: str = "Test Token", symbol: str = "TST") -> Contract:
    """Deploy a fresh TestERC20 from the deployer account."""
    artifact = load_artifact("TestERC20", test=True)
    factory = market.w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor(name, symbol).data_in_transaction
    receipt = send_transaction(market.w3, market.deployer, cast(TxParams, {"data": data}))
    address = receipt["contractAddress"]
    assert address is not None
    return market.w3.eth.contract(address=address, abi=list(artifact.abi))


def deploy_test_contract(
    market: Market, name: str, *args: Any, deployer: LocalAccount | None = None
) -> Contract:
    """Deploy a contract from ``contracts/test`` (its errors decoded from then on)."""
    artifact = load_artifact(name, test=True)
    market.learn_errors(list(artifact.abi))
    factory = market.w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    sender = deployer or market.deployer
    receipt = send_transaction(market.w3, sender, cast(TxParams, {"data": data}))
    address = receipt["contractAddress"]
    assert address is not None
    return market.w3.eth.contract(address=address, abi=list(artifact.abi))


def list_as_contract(
    market: Market, wallet: Contract, owner: LocalAccount, terms: ListingTerms, quantity: int = 1
) -> Listing:
    """List ``terms`` on-chain with a ``ContractAccount`` (driven by its owner) as the seller."""
    salt = os.urandom(32)
    data = market.market.encode_abi("list", args=[terms.as_tuple(), salt, quantity])
    market.send(owner, wallet.functions.execute(market.address, 0, data))
    return Listing(id=listing_id(wallet.address, salt), terms=terms, salt=salt, quantity=quantity)


def mint_and_approve(
    market: Market,
    token: Contract,
    account: LocalAccount,
    amount: int,
    allowance: int | None = None,
) -> None:
    """Give ``account`` ``amount`` tokens and let the marketplace pull ``allowance`` (all)."""
    market.send(market.deployer, token.functions.mint(account.address, amount))
    approved = amount if allowance is None else allowance
    market.send(account, token.functions.approve(market.address, approved))


# ---------------------------------------------------------------------------------- listings


def update_listing(
    market: Market,
    listing: Listing,
    terms: ListingTerms,
    remaining: int,
    *,
    account: LocalAccount | None = None,
) -> Listing:
    """Call ``updateListing`` with the listing's salt; return the listing with its new terms."""
    account = account or market.seller
    fn = market.market.functions.updateListing(listing.salt, terms.as_tuple(), remaining)
    market.send(account, fn)
    return replace(listing, terms=terms, quantity=remaining)


def close_listing(market: Market, salt: bytes, account: LocalAccount | None = None) -> TxReceipt:
    """Call ``closeListing(salt)``."""
    return market.send(account or market.seller, market.market.functions.closeListing(salt))


def listing_state(market: Market, listing_id: bytes) -> tuple[bool, int, int, int]:
    """``listingState``: (live, termsTag, sold, remaining)."""
    live, tag, sold, remaining = market.market.functions.listingState(listing_id).call()
    return bool(live), int(tag), int(sold), int(remaining)


def terms_tag(market: Market, terms: ListingTerms) -> int:
    """The part of the terms hash a live listing record commits to."""
    return int.from_bytes(market.market.functions.hashTerms(terms.as_tuple()).call(), "big") >> 65


# ---------------------------------------------------------------------------------- states


def open_trade_ref(market: Market, *, deposit: int = 0, **terms: Any) -> TradeRef:
    """A fresh one-unit trade in state ``Paid``."""
    return market.buy(market.list(market.terms(deposit=deposit, **terms)))


def finish(market: Market, ref: TradeRef, state: TradeState) -> TradeRef:
    """Drive an open trade to the final ``state`` by the shortest path."""
    if state is TradeState.COMPLETED:
        market.act("release", market.buyer, ref)
        if ref.trade.deposit:
            market.act("returnDeposit", market.seller, ref)
    elif state is TradeState.REFUNDED:
        market.act("refund", market.seller, ref)
    elif state is TradeState.SETTLED:
        market.act("proposeSettlement", market.buyer, ref, ref.trade.held_total // 2)
        market.act("acceptSettlement", market.seller, ref)
    elif state is TradeState.RULED:
        market.act("dispute", market.buyer, ref)
        market.act("rule", market.arbitrator, ref, ref.trade.held_total // 3)
    elif state is TradeState.RULING_TIMED_OUT:
        market.act("dispute", market.buyer, ref)
        market.warp_to(ref.trade.deadline)
        market.act("claimRulingTimeout", market.stranger, ref)
    else:
        raise ValueError(f"{state!r} is not a final state")
    assert ref.trade.state is state
    return ref


FINAL_STATES = (
    TradeState.COMPLETED,
    TradeState.REFUNDED,
    TradeState.SETTLED,
    TradeState.RULED,
    TradeState.RULING_TIMED_OUT,
)
