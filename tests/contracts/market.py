"""A thin test driver for a deployed Marketplace: named actors, typed trades, decoded reverts.

Every write is a real signed transaction on a real chain. Trades are rebuilt from the receipts'
events with :mod:`p2pchain.chain._model`, and each rebuilt trade is checked against the contract's own
record (``checkTrade``), so the Python mirror of the state machine is verified on every step.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.types import TxReceipt

from p2pchain.chain._deploy import Deployment, deploy
from p2pchain.chain._events import receipt_events
from p2pchain.chain._model import (
    ZERO_ADDRESS,
    ListingTerms,
    Trade,
    TradeState,
    apply_event,
    open_trade,
    signed_listing_typed_data,
)
from p2pchain.chain._nodes import DevChain, EmbeddedChain
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import load_artifact

ETH = ZERO_ADDRESS
ONE = 10**18
DAY = 86_400
CIDV0_PREFIX = bytes.fromhex("1220").ljust(8, b"\0")


#: Gas limit of every transaction on the embedded chain (see :meth:`Market.send`).
EMBEDDED_TX_GAS = 3_000_000
_REVERT_PREFIX = "execution reverted: "


def _raw_revert_data(exc: TransactionFailed) -> bytes | None:
    """The raw revert data inside an eth-tester ``TransactionFailed``, if it carries any."""
    message = exc.args[0] if exc.args else b""
    if isinstance(message, Exception) and message.args:
        message = message.args[0]
    if isinstance(message, bytes):
        return message
    text = str(message).removeprefix(_REVERT_PREFIX)
    if text.startswith(("b'", 'b"')):
        value = ast.literal_eval(text)
        if isinstance(value, bytes):
            return value
    return None


class Reverted(Exception):
    """A call reverted with a decoded custom error."""

    def __init__(self, name: str, args: tuple[Any, ...]) -> None:
        super().__init__(f"{name}{args}")
        self.name = name
        self.args_ = args


def _error_table(*abis: list[dict[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    """``selector -> (name, argument types)`` of every error the ABIs declare, and nothing else."""
    table: dict[bytes, tuple[str, list[str]]] = {}
    for abi in abis:
        for item in abi:
            if item.get("type") == "error":
                types = [i["type"] for i in item["inputs"]]
                sig = f"{item['name']}({','.join(types)})"
                table[keccak(text=sig)[:4]] = (item["name"], types)
    return table


@dataclass
class Listing:
    """A listing as the test knows it."""

    id: bytes
    terms: ListingTerms
    salt: bytes
    quantity: int
    signature: bytes | None = None

    @property
    def signed(self) -> bool:
        return self.signature is not None


@dataclass
class TradeRef:
    """A trade's id and its current full state, as rebuilt from events."""

    id: bytes
    trade: Trade
    listing: Listing
    receipts: list[TxReceipt] = field(default_factory=list)


class Market:
    """Drives one Marketplace deployment on one chain.

    Reverts are decoded the way a dApp would: a revert of a call to the Marketplace or the
    Reputation contract is decoded from that contract's shipped ABI alone (``p2pchain/artifacts``),
    so every ``reverts(...)`` in the suite also checks that the shipped ABI declares the error.
    The only exception are errors of the test-only contracts (tokens and receivers with their own
    errors, taught with :meth:`learn_errors`) that a call passes on unchanged: no ABI can list every
    token's errors. Those are decoded too and recorded in :attr:`passed_through`. A revert found
    in neither decodes as ``NotInShippedAbi``.
    """

    def __init__(self, chain: DevChain, *, ruling_window: int = 3 * DAY) -> None:
        self.chain = chain
        self.w3: Web3 = chain.w3
        accounts = chain.accounts
        self.deployer, self.seller, self.buyer, self.arbitrator, self.stranger = accounts[:5]
        self.others: list[LocalAccount] = list(accounts[5:])
        self.deployment: Deployment = deploy(
            chain, self.deployer, constructor_args={"rulingWindow": ruling_window}
        )
        self.ruling_window = ruling_window
        mk = load_artifact("Marketplace")
        rp = load_artifact("Reputation")
        bk = load_artifact("Bookings")
        self.market: Contract = self.w3.eth.contract(
            address=self.deployment.marketplace, abi=list(mk.abi)
        )
        self.reputation: Contract = self.w3.eth.contract(
            address=self.deployment.reputation, abi=list(rp.abi)
        )
        self.bookings: Contract = self.w3.eth.contract(
            address=self.deployment.bookings, abi=list(bk.abi)
        )
        #: What a dApp holding only the shipped artifact can decode, per contract address.
        self._shipped_errors = {
            self.deployment.marketplace: _error_table(list(mk.abi)),
            self.deployment.reputation: _error_table(list(rp.abi)),
            self.deployment.bookings: _error_table(list(bk.abi)),
        }
        #: Errors of test-only contracts the tests deployed.
        self._test_errors: dict[bytes, tuple[str, list[str]]] = {}
        #: Everything: for calls to other contracts (tokens, contract wallets...).
        self._errors = _error_table(list(mk.abi), list(rp.abi), list(bk.abi))
        #: ``(contract called, error name)`` of test-only errors a shipped contract passed on.
        self.passed_through: list[tuple[str, str]] = []

    def learn_errors(self, abi: list[dict[str, Any]]) -> None:
        """Decode the errors of a test-only contract's ABI too (see the class docstring)."""
        table = _error_table(abi)
        self._test_errors.update(table)
        self._errors.update(table)

    # ------------------------------------------------------------------ plumbing

    @property
    def address(self) -> str:
        return self.deployment.marketplace

    def decode_revert(self, data: str | bytes, to: str | None = None) -> Reverted:
        """Decode revert data of a call to ``to`` (see the class docstring for which ABI)."""
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
        selector, body = raw[:4], raw[4:]
        shipped = self._shipped_errors.get(to) if to is not None else None
        if shipped is not None:
            found = shipped.get(selector)
            if found is None and selector in self._test_errors:
                found = self._test_errors[selector]
                self.passed_through.append((str(to), found[0]))
            if found is None:
                return Reverted("NotInShippedAbi", (to, raw.hex()))
        else:
            found = self._errors.get(selector)
            if found is None:
                return Reverted("Unknown", (raw.hex(),))
        name, types = found
        return Reverted(name, tuple(decode(types, body)))

    def send(self, account: LocalAccount, fn: Any, value: int = 0) -> TxReceipt:
        """Send a contract call as a signed transaction; raise :class:`Reverted` if it reverts.

        The call is first simulated on the pending block, so a transaction after
        :meth:`warp_to` is judged at the timestamp it will be mined with. On the embedded chain
        (which cannot estimate gas on the pending block) the gas limit is fixed instead.
        """
        tx: dict[str, Any] = {"from": account.address, "value": value}
        to = str(fn.address)
        try:
            fn.call(tx, block_identifier="pending")  # decode custom errors before spending gas
        except TransactionFailed as exc:  # the embedded chain's revert, raw data in its text
            data = _raw_revert_data(exc)
            if data is None:
                raise
            raise (self.decode_revert(data, to) if data else Reverted("Revert", ())) from None
        except ContractCustomError as exc:
            raise self.decode_revert(exc.data, to) from None
        except ContractPanicError as exc:
            raise Reverted("Panic", (str(exc),)) from None
        except ContractLogicError as exc:
            raise Reverted("Revert", (str(exc),)) from None
        if isinstance(self.chain, EmbeddedChain):
            tx["gas"] = EMBEDDED_TX_GAS
        return send_transaction(self.w3, account, fn.build_transaction(tx))

    def events(self, receipt: TxReceipt, contract: Contract | None = None) -> list[tuple[str, Any]]:
        """``(name, args)`` of every event this contract emitted in ``receipt``, in order."""
        return receipt_events(contract or self.market, receipt)

    def timestamp_of(self, receipt: TxReceipt) -> int:
        return int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])

    def balance(self, who: str, token: str = ETH) -> int:
        if token == ETH:
            return int(self.w3.eth.get_balance(who))
        erc20 = self.w3.eth.contract(address=token, abi=_ERC20_ABI)
        return int(erc20.functions.balanceOf(who).call())

    def credit(self, token: str, who: str) -> int:
        return int(self.market.functions.credit(token, who).call())

    # ------------------------------------------------------------------ listings

    def terms(self, **overrides: Any) -> ListingTerms:
        """Default terms: 1 ETH, no deposit, the market's arbitrator at 2%, 7-day window."""
        values: dict[str, Any] = {
            "seller": self.seller.address,
            "token": ETH,
            "price": ONE,
            "deposit": 0,
            "arbitrator": self.arbitrator.address,
            "arbitrator_fee_bps": 200,
            "review_window": 7 * DAY,
            "expiry": 0,
            "cid_prefix": CIDV0_PREFIX,
            "cid_digest": os.urandom(32),
        }
        values.update(overrides)
        return ListingTerms(**values)

    def list(
        self,
        terms: ListingTerms | None = None,
        quantity: int = 1,
        *,
        seller: LocalAccount | None = None,
        salt: bytes | None = None,
    ) -> Listing:
        seller = seller or self.seller
        terms = terms or self.terms(seller=seller.address)
        salt = salt or os.urandom(32)
        receipt = self.send(seller, self.market.functions.list(terms.as_tuple(), salt, quantity))
        ((_, args),) = [e for e in self.events(receipt) if e[0] == "Listed"]
        return Listing(id=bytes(args["listingId"]), terms=terms, salt=salt, quantity=quantity)

    def sign_listing(
        self,
        terms: ListingTerms | None = None,
        quantity: int = 1,
        *,
        seller: LocalAccount | None = None,
        salt: bytes | None = None,
        chain_id: int | None = None,
        marketplace: str | None = None,
    ) -> Listing:
        """Sign a listing off-chain with EIP-712 (no transaction)."""
        seller = seller or self.seller
        terms = terms or self.terms(seller=seller.address)
        salt = salt or os.urandom(32)
        data = signed_listing_typed_data(
            terms,
            quantity,
            salt,
            chain_id=chain_id if chain_id is not None else self.chain.chain_id,
            marketplace=marketplace or self.address,
        )
        signed = seller.sign_typed_data(full_message=data)
        digest = bytes(
            self.market.functions.signedListingDigest(terms.as_tuple(), quantity, salt).call()
        )
        return Listing(
            id=digest, terms=terms, salt=salt, quantity=quantity, signature=bytes(signed.signature)
        )

    # ------------------------------------------------------------------ trades

    def buy(
        self,
        listing: Listing,
        quantity: int = 1,
        *,
        buyer: LocalAccount | None = None,
        terms: ListingTerms | None = None,
        value: int | None = None,
    ) -> TradeRef:
        """Buy; ``terms`` overrides what the buyer believes the terms are."""
        buyer = buyer or self.buyer
        seen = terms or listing.terms
        total = (seen.price + seen.deposit) * quantity
        if value is None:
            value = total if seen.token == ETH else 0
        if listing.signed:
            assert listing.signature is not None
            fn = self.market.functions.buySigned(
                seen.as_tuple(), listing.quantity, listing.salt, listing.signature, quantity
            )
        else:
            fn = self.market.functions.buy(listing.id, seen.as_tuple(), quantity)
        receipt = self.send(buyer, fn, value=value)
        ((_, args),) = [e for e in self.events(receipt) if e[0] == "Purchased"]
        trade = open_trade(seen, buyer.address, quantity, self.timestamp_of(receipt))
        ref = TradeRef(id=bytes(args["tradeId"]), trade=trade, listing=listing, receipts=[receipt])
        self.assert_current(ref)
        return ref

    def act(self, action: str, account: LocalAccount, ref: TradeRef, *extra: Any) -> TxReceipt:
        """Call a settlement function (``release``, ``rule``...) and advance ``ref.trade``."""
        fn = getattr(self.market.functions, action)(ref.id, ref.trade.as_tuple(), *extra)
        receipt = self.send(account, fn)
        ts = self.timestamp_of(receipt)
        for name, args in self.events(receipt):
            if "tradeId" in args and bytes(args["tradeId"]) == ref.id:
                ref.trade = apply_event(ref.trade, name, args, ts)
        ref.receipts.append(receipt)
        self.assert_current(ref)
        return receipt

    def rate(
        self, account: LocalAccount, ref: TradeRef, score: int, review_cid: bytes = b""
    ) -> TxReceipt:
        fn = self.reputation.functions.rate(ref.id, ref.trade.as_tuple(), score, review_cid)
        return self.send(account, fn)

    def assert_current(self, ref: TradeRef) -> None:
        current, _ = self.market.functions.checkTrade(ref.id, ref.trade.as_tuple()).call()
        assert current, f"rebuilt trade does not match the chain: {ref.trade}"

    def state(self, ref: TradeRef) -> TradeState:
        return ref.trade.state

    # ------------------------------------------------------------------ time

    def warp_to(self, timestamp: int) -> None:
        """Make the next transaction's block carry ``timestamp``."""
        self.chain.set_next_timestamp(timestamp)


_ERC20_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "a", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]

__all__ = [
    "CIDV0_PREFIX",
    "DAY",
    "ETH",
    "ONE",
    "Listing",
    "Market",
    "Reverted",
    "TradeRef",
]
