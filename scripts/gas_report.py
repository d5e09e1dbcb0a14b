"""Gas report: measure p2pchain's trade paths on a real Anvil and compare them with budgets and peers.

Usage::

    python scripts/gas_report.py [--repetitions N] [--out-dir DIR] [--no-write]

Starts a fresh Anvil (Shanghai rules, like every p2pchain dev chain), deploys the shipped artifacts
and a TestERC20, warms the contracts up with a few complete trades, then measures every path N
times (default 5), each time on a fresh listing at a price of 1 ETH (or 1 token). Every figure is
the ``gasUsed`` of a real receipt; a path's figure is the median over the repetitions, with min/max
shown when they differ. Trades are rebuilt from the receipts' events with :mod:`p2pchain.chain._model`
(``open_trade``/``apply_event``) and checked against the contract with ``checkTrade`` before every
call, so a figure is never taken from a call that did something other than intended.

Writes ``docs/gas-report.md`` and ``docs/gas-report.json``. Exits 0 even when a budget is missed
(this is a report, not a test); it exits 1 only when the measurement itself fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/gas_report.py` without an install
    sys.path.insert(0, str(ROOT))

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.types import TxParams, TxReceipt

from p2pchain._errors import P2PChainError
from p2pchain._paths import find_node_modules, find_node_tool
from p2pchain.chain._deploy import Deployment, deploy
from p2pchain.chain._model import (
    ZERO_ADDRESS,
    ListingTerms,
    Trade,
    TradeState,
    apply_event,
    listing_id,
    open_trade,
    partial_trade_id,
    signed_listing_typed_data,
)
from p2pchain.chain._nodes import DEV_HARDFORK, AnvilChain
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import artifact_hash, load_artifact
from p2pchain.compiler._solc import compiler_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gas_bookings import BUDGETS as BOOKING_BUDGETS
from _gas_bookings import bookings_console, bookings_markdown, measure_bookings
from _gas_offers import BUDGETS as OFFER_BUDGETS
from _gas_offers import measure_offers, offers_console, offers_markdown

ETH = ZERO_ADDRESS
ONE = 10**18
DAY = 86_400
CIDV0_PREFIX = bytes.fromhex("1220").ljust(8, b"\0")
#: A CIDv1 (raw, sha2-256) review document: 4 header bytes + 32 digest bytes.
REVIEW_CID_HEADER = bytes.fromhex("01551220")
ARBITRATOR_FEE_BPS = 200
REVIEW_WINDOW = 7 * DAY
DEFAULT_REPETITIONS = 5
#: Complete warm-up trades per token and kind before anything is measured.
WARMUP_ROUNDS = 2
REPORT_FORMAT = "p2pchain-gas-report/1"
TOKENS = ("ETH", "ERC-20")


class BenchError(P2PChainError):
    """A measured call did not do what the gas report expected."""


# ============================================================================ peers and budgets


@dataclass(frozen=True)
class Peer:
    """A peer system's figure for a comparable path (from /work/shared/PEERS.md, anvil 1.7.1)."""

    name: str
    gas: int
    note: str = ""


@dataclass(frozen=True)
class PathSpec:
    """A budgeted path: the transactions it is made of and what it is compared with."""

    key: str
    title: str
    budget: int
    steps: tuple[str, ...]
    peers: tuple[Peer, ...] = ()
    #: Per-transaction figures of the peers, by our step name.
    step_peers: Mapping[str, str] = field(default_factory=dict)
    #: Named subtotals (label -> steps), for comparisons with peers that lack a step.
    subtotals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


PATHS: tuple[PathSpec, ...] = (
    PathSpec(
        key="onchain",
        title="List on-chain + buy + release",
        budget=130_000,
        steps=("list", "buy", "release"),
        peers=(
            Peer("Origin V00_Marketplace", 358_294, "list + offer + accept + finalize"),
            Peer("Kleros MultipleArbitrableTransaction", 196_704, "no listing step"),
        ),
        step_peers={
            "list": "Origin 76,690",
            "buy": "Origin 173,454 (+ accept 46,134); Kleros 154,557; OZ Escrow 47,718",
            "release": "Origin 62,016; Kleros 42,147; OZ Escrow 35,142",
        },
        subtotals={"buy + release (no listing step)": ("buy", "release")},
    ),
    PathSpec(
        key="signed",
        title="Signed listing: buySigned + release",
        budget=100_000,
        steps=("buySigned", "release"),
        peers=(Peer("Seaport fulfillBasicOrder", 93_691, "atomic swap, no escrow"),),
        step_peers={"buySigned": "Seaport 93,691 (no escrow, nothing to release)"},
    ),
    PathSpec(
        key="dispute",
        title="Dispute: list + buy + dispute + rule",
        budget=190_000,
        steps=("list", "buy", "dispute", "rule"),
        peers=(
            Peer("Origin V00_Marketplace", 396_345),
            Peer("Kleros MultipleArbitrableTransaction", 560_975, "both sides prepay fees"),
        ),
        subtotals={"buy + dispute + rule (no listing step)": ("buy", "dispute", "rule")},
    ),
    PathSpec(
        key="rating",
        title="One rating (subject already rated in that token)",
        budget=45_000,
        steps=("rate",),
    ),
)


# ============================================================================ statistics


@dataclass(frozen=True)
class Stat:
    """Median, min and max of a figure over the repetitions."""

    samples: tuple[int, ...]

    @property
    def median(self) -> int:
        return int(statistics.median_low(self.samples))

    @property
    def min(self) -> int:
        return min(self.samples)

    @property
    def max(self) -> int:
        return max(self.samples)

    @property
    def varies(self) -> bool:
        return self.min != self.max

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "samples": list(self.samples),
        }


def _stat_of(runs: Sequence[Mapping[str, int]], steps: Iterable[str]) -> Stat:
    steps = tuple(steps)
    return Stat(tuple(sum(run[s] for s in steps) for run in runs))


@dataclass
class Measurement:
    """The receipts' gas of one path or operation, repetition by repetition."""

    steps: tuple[str, ...]
    runs: list[dict[str, int]] = field(default_factory=list)
    #: Transactions measured but not part of the total (the ERC-20 approve).
    excluded: tuple[str, ...] = ()

    def add(self, run: Mapping[str, int]) -> None:
        missing = [s for s in (*self.steps, *self.excluded) if s not in run]
        if missing:
            raise BenchError(f"run lacks {', '.join(missing)}")
        self.runs.append(dict(run))

    def step(self, name: str) -> Stat:
        return _stat_of(self.runs, (name,))

    @property
    def total(self) -> Stat:
        return _stat_of(self.runs, self.steps)

    def subtotal(self, steps: Iterable[str]) -> Stat:
        return _stat_of(self.runs, steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total.to_json(),
            "transactions": [{"name": s, **self.step(s).to_json()} for s in self.steps],
            "excluded_from_total": [{"name": s, **self.step(s).to_json()} for s in self.excluded],
        }


@dataclass(frozen=True)
class RefOp:
    """A reference operation: no budget, reported for completeness."""

    key: str
    title: str
    measurement: Measurement
    note: str = ""


# ============================================================================ the forwarding wallet


def _assemble(program: Sequence[str | tuple[str, str] | bytes]) -> bytes:
    """A two-pass assembler for a tiny EVM program.

    Items: an opcode mnemonic, ``("label", name)`` for a JUMPDEST, ``("push", name)`` for a
    one-byte push of a label's offset, or raw bytes (an opcode with its immediate already in).
    """
    opcodes = {
        "STOP": 0x00, "EQ": 0x14, "ISZERO": 0x15, "CALLER": 0x33, "CALLVALUE": 0x34,
        "CALLDATASIZE": 0x36, "CALLDATACOPY": 0x37, "RETURNDATASIZE": 0x3D,
        "RETURNDATACOPY": 0x3E, "JUMPI": 0x57, "GAS": 0x5A, "JUMPDEST": 0x5B, "PUSH0": 0x5F,
        "CALL": 0xF1, "RETURN": 0xF3, "REVERT": 0xFD,
    }  # fmt: skip

    def size(item: str | tuple[str, str] | bytes) -> int:
        if isinstance(item, bytes):
            return len(item)
        if isinstance(item, tuple):
            return 1 if item[0] == "label" else 2
        return 1

    labels: dict[str, int] = {}
    offset = 0
    for item in program:
        if isinstance(item, tuple) and item[0] == "label":
            labels[item[1]] = offset
        offset += size(item)
    out = bytearray()
    for item in program:
        if isinstance(item, bytes):
            out += item
        elif isinstance(item, tuple):
            out += bytes([0x5B]) if item[0] == "label" else bytes([0x60, labels[item[1]]])
        else:
            out.append(opcodes[item])
    return bytes(out)


def forwarder_initcode(owner: str, target: str) -> bytes:
    """Creation code of a minimal contract wallet that refuses plain ETH transfers.

    Called with calldata by ``owner``, it forwards the call (and value) to ``target`` and returns
    or reverts with the result; called without calldata (a plain payment) it reverts. The
    marketplace therefore credits its payouts, which it must then withdraw: the only way to reach
    ``withdraw`` with a real credit on a chain without contract-refusing EOAs.
    """
    push20 = bytes([0x73])
    runtime = _assemble(
        [
            "CALLDATASIZE", "ISZERO", ("push", "refuse"), "JUMPI",
            push20 + bytes.fromhex(owner[2:]), "CALLER", "EQ", "ISZERO", ("push", "refuse"),
            "JUMPI",
            "CALLDATASIZE", "PUSH0", "PUSH0", "CALLDATACOPY",
            # call(gas, target, callvalue, 0, calldatasize, 0, 0)
            "PUSH0", "PUSH0", "CALLDATASIZE", "PUSH0", "CALLVALUE",
            push20 + bytes.fromhex(target[2:]), "GAS", "CALL",
            "RETURNDATASIZE", "PUSH0", "PUSH0", "RETURNDATACOPY",
            ("push", "ok"), "JUMPI",
            "RETURNDATASIZE", "PUSH0", "REVERT",
            ("label", "ok"), "RETURNDATASIZE", "PUSH0", "RETURN",
            ("label", "refuse"), "PUSH0", "PUSH0", "REVERT",
        ]
    )  # fmt: skip
    # PUSH1 len; DUP1; PUSH1 9; PUSH0; CODECOPY; PUSH0; RETURN  (9 bytes)
    init = bytes([0x60, len(runtime), 0x80, 0x60, 9, 0x5F, 0x39, 0x5F, 0xF3])
    return init + runtime


# ============================================================================ the driver


@dataclass
class Listing:
    """A listing as the bench knows it."""

    id: bytes
    terms: ListingTerms
    salt: bytes
    quantity: int
    signature: bytes | None = None


@dataclass
class TradeRef:
    """A trade's id and its full state, rebuilt from the receipts' events."""

    id: bytes
    trade: Trade
    listing: Listing


def gas(receipt: TxReceipt) -> int:
    return int(receipt["gasUsed"])


def _error_table(*abis: Sequence[Mapping[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {}
    for abi in abis:
        for item in abi:
            if item.get("type") == "error":
                types = [i["type"] for i in item["inputs"]]
                table[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    for sig in ("ReentrancyGuardReentrantCall()", "SafeERC20FailedOperation(address)"):
        name, _, rest = sig.partition("(")
        types = [t for t in rest.rstrip(")").split(",") if t]
        table[keccak(text=sig)[:4]] = (name, types)
    return table


class Bench:
    """One Marketplace deployment on a real chain, driven account by account.

    Accounts (the dev mnemonic's, all funded at genesis): 0 deployer, 1 seller, 2 buyer,
    3 arbitrator, 4 owner of the contract wallet, 5 second buyer (unlimited ERC-20 allowance),
    6 withdrawal recipient.
    """

    def __init__(self, chain: AnvilChain, *, deployments: int = 1) -> None:
        self.chain = chain
        self.w3: Web3 = chain.w3
        accounts = chain.accounts
        self.deployer, self.seller, self.buyer, self.arbitrator = accounts[:4]
        self.wallet_owner, self.buyer2, self.payee = accounts[4:7]
        self._counter = 0

        mk, rp = load_artifact("Marketplace"), load_artifact("Reputation")
        found: list[Deployment] = [deploy(chain, self.deployer) for _ in range(max(1, deployments))]
        self.deploy_gas = [
            gas(self.w3.eth.get_transaction_receipt(cast(Any, d.tx_hash))) for d in found
        ]
        self.deployment = found[0]
        self.market: Contract = self.w3.eth.contract(
            address=self.deployment.marketplace, abi=list(mk.abi)
        )
        self.reputation: Contract = self.w3.eth.contract(
            address=self.deployment.reputation, abi=list(rp.abi)
        )
        self.ruling_window = int(self.market.functions.RULING_WINDOW().call())

        erc20 = load_artifact("TestERC20", test=True)
        factory = self.w3.eth.contract(abi=list(erc20.abi), bytecode=erc20.bytecode)
        token_address = self._deploy_code(
            self.deployer,
            bytes.fromhex(factory.constructor("Test Token", "TST").data_in_transaction[2:]),
        )
        self.token: Contract = self.w3.eth.contract(address=token_address, abi=list(erc20.abi))
        self._errors = _error_table(mk.abi, rp.abi, erc20.abi)
        self._topics: dict[tuple[str, bytes], tuple[str, Any]] = {}
        for contract, artifact in ((self.market, mk), (self.reputation, rp)):
            for item in artifact.abi:
                if item.get("type") == "event":
                    event = getattr(contract.events, str(item["name"]))()
                    topic = event_abi_to_log_topic(cast(Any, item))
                    self._topics[(contract.address, topic)] = (str(item["name"]), event)
        self.wallet: str | None = None

    # ------------------------------------------------------------------ plumbing

    def token_address(self, token: str) -> str:
        return ETH if token == "ETH" else self.token.address

    def fresh(self, tag: str) -> bytes:
        """A deterministic 32-byte value (salts, CID digests), so reruns send the same bytes."""
        self._counter += 1
        return keccak(text=f"p2pchain gas report/{tag}/{self._counter}")

    def _deploy_code(self, account: LocalAccount, code: bytes) -> ChecksumAddress:
        """Deploy creation code; return the new contract's address."""
        receipt = send_transaction(self.w3, account, cast(TxParams, {"data": "0x" + code.hex()}))
        address = receipt.get("contractAddress")
        if not address:
            raise BenchError("deployment receipt has no contract address")
        return to_checksum_address(address)

    def _decode_revert(self, data: Any) -> str:
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data or b"")
        entry = self._errors.get(raw[:4])
        if entry is None:
            return f"unknown revert 0x{raw.hex()}"
        name, types = entry
        return f"{name}{tuple(abi_decode(types, raw[4:]))}"

    def send(self, account: LocalAccount, fn: Any, value: int = 0) -> TxReceipt:
        """Send a contract call as a locally signed transaction; explain a revert by name."""
        tx: dict[str, Any] = {"from": account.address, "value": value}
        try:
            built = fn.build_transaction(tx)
        except ContractCustomError as exc:
            raise BenchError(f"{fn.fn_name} reverts: {self._decode_revert(exc.data)}") from None
        except (ContractPanicError, ContractLogicError) as exc:
            raise BenchError(f"{fn.fn_name} reverts: {exc}") from None
        return send_transaction(self.w3, account, built)

    def events(self, receipt: TxReceipt) -> list[tuple[str, Any]]:
        """``(name, args)`` of every Marketplace and Reputation event in ``receipt``, in order."""
        out: list[tuple[str, Any]] = []
        for log in receipt["logs"]:
            if not log["topics"]:
                continue
            found = self._topics.get((log["address"], bytes(log["topics"][0])))
            if found is not None:
                name, event = found
                out.append((name, event.process_log(log)["args"]))
        return out

    def one_event(self, receipt: TxReceipt, name: str) -> Any:
        matches = [args for n, args in self.events(receipt) if n == name]
        if len(matches) != 1:
            raise BenchError(f"expected one {name} event, got {len(matches)}")
        return matches[0]

    def timestamp_of(self, receipt: TxReceipt) -> int:
        return int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])

    def warp(self, seconds: int) -> None:
        """Move the clock forward and mine a block, so that calls (and gas estimates) see it."""
        self.chain.increase_time(seconds)
        self.chain.mine(1)

    # ------------------------------------------------------------------ ERC-20

    def mint(self, to: str, amount: int) -> None:
        self.send(self.deployer, self.token.functions.mint(to, amount))

    def approve(self, owner: LocalAccount, amount: int) -> TxReceipt:
        receipt = self.send(owner, self.token.functions.approve(self.market.address, amount))
        allowed = int(self.token.functions.allowance(owner.address, self.market.address).call())
        if allowed != amount:
            raise BenchError(f"allowance is {allowed} after approving {amount}")
        return receipt

    # ------------------------------------------------------------------ listings

    def terms(
        self,
        token: str = "ETH",
        *,
        seller: str | None = None,
        price: int = ONE,
        deposit: int = 0,
        fee_bps: int = ARBITRATOR_FEE_BPS,
    ) -> ListingTerms:
        """1 ETH (or 1 token), the bench's arbitrator at 2%, a 7-day review window, a CIDv0."""
        return ListingTerms(
            seller=seller or self.seller.address,
            token=self.token_address(token),
            price=price,
            deposit=deposit,
            arbitrator=self.arbitrator.address,
            arbitrator_fee_bps=fee_bps,
            review_window=REVIEW_WINDOW,
            expiry=0,
            cid_prefix=CIDV0_PREFIX,
            cid_digest=self.fresh("cid"),
        )

    def list(self, terms: ListingTerms, quantity: int = 1) -> tuple[Listing, TxReceipt]:
        """List on-chain from the seller's account."""
        salt = self.fresh("salt")
        receipt = self.send(
            self.seller, self.market.functions.list(terms.as_tuple(), salt, quantity)
        )
        return self.listed(receipt, terms, salt, quantity), receipt

    def listed(
        self, receipt: TxReceipt, terms: ListingTerms, salt: bytes, quantity: int
    ) -> Listing:
        args = self.one_event(receipt, "Listed")
        lid = bytes(args["listingId"])
        if lid != listing_id(terms.seller, salt) or ListingTerms.from_abi(args["terms"]) != terms:
            raise BenchError("Listed event does not match the listing sent")
        return Listing(id=lid, terms=terms, salt=salt, quantity=quantity)

    def sign(self, terms: ListingTerms, quantity: int = 1) -> Listing:
        """Sign a listing off-chain (EIP-712): no transaction."""
        salt = self.fresh("salt")
        data = signed_listing_typed_data(
            terms, quantity, salt, chain_id=self.chain.chain_id, marketplace=self.market.address
        )
        signature = bytes(self.seller.sign_typed_data(full_message=data).signature)
        digest = bytes(
            self.market.functions.signedListingDigest(terms.as_tuple(), quantity, salt).call()
        )
        return Listing(id=digest, terms=terms, salt=salt, quantity=quantity, signature=signature)

    def update_listing(self, listing: Listing, terms: ListingTerms) -> TxReceipt:
        self._check_live(listing)
        fn = self.market.functions.updateListing(listing.salt, terms.as_tuple(), listing.quantity)
        receipt = self.send(self.seller, fn)
        self.one_event(receipt, "ListingUpdated")
        listing.terms = terms
        self._check_live(listing)
        return receipt

    def close_listing(self, listing: Listing) -> TxReceipt:
        self._check_live(listing)
        receipt = self.send(self.seller, self.market.functions.closeListing(listing.salt))
        self.one_event(receipt, "ListingClosed")
        return receipt

    def cancel_signed(self, listing: Listing) -> TxReceipt:
        fn = self.market.functions.cancelSignedListing(
            listing.terms.as_tuple(), listing.quantity, listing.salt
        )
        receipt = self.send(self.seller, fn)
        self.one_event(receipt, "ListingClosed")
        return receipt

    def _check_live(self, listing: Listing) -> tuple[int, int]:
        live, tag, sold, remaining = self.market.functions.listingState(listing.id).call()
        expected = (
            int.from_bytes(self.market.functions.hashTerms(listing.terms.as_tuple()).call(), "big")
            >> 65
        )
        if not live or int(tag) != expected:
            raise BenchError(f"listing 0x{listing.id.hex()} is not live with the expected terms")
        return int(sold), int(remaining)

    # ------------------------------------------------------------------ trades

    def buy(
        self, listing: Listing, buyer: LocalAccount | None = None, quantity: int = 1
    ) -> tuple[TradeRef, TxReceipt]:
        """Buy on-chain or signed; rebuild the new trade from the receipt and check it."""
        buyer = buyer or self.buyer
        terms = listing.terms
        total = (terms.price + terms.deposit) * quantity
        value = total if terms.token == ETH else 0
        if listing.signature is None:
            sold, remaining = self._check_live(listing)
            fn = self.market.functions.buy(listing.id, terms.as_tuple(), quantity)
        else:
            sold, remaining = 0, listing.quantity  # bench signed listings are bought once
            fn = self.market.functions.buySigned(
                terms.as_tuple(), listing.quantity, listing.salt, listing.signature, quantity
            )
        expected_id = listing.id if quantity == remaining else partial_trade_id(listing.id, sold)
        receipt = self.send(buyer, fn, value=value)
        args = self.one_event(receipt, "Purchased")
        if (
            bytes(args["tradeId"]) != expected_id
            or bytes(args["listingId"]) != listing.id
            or to_checksum_address(args["buyer"]) != buyer.address
            or int(args["quantity"]) != quantity
        ):
            raise BenchError("Purchased event does not match the purchase sent")
        trade = open_trade(terms, buyer.address, quantity, self.timestamp_of(receipt))
        ref = TradeRef(id=expected_id, trade=trade, listing=listing)
        self.verify(ref)
        return ref, receipt

    def verify(self, ref: TradeRef) -> int:
        """Check the rebuilt trade against the chain (``checkTrade``); return its rating bits."""
        current, rated = self.market.functions.checkTrade(ref.id, ref.trade.as_tuple()).call()
        if not current:
            raise BenchError(
                f"rebuilt trade 0x{ref.id.hex()} does not match the chain: {ref.trade}"
            )
        return int(rated)

    def act(self, action: str, account: LocalAccount, ref: TradeRef, *extra: Any) -> TxReceipt:
        """Call a settlement function on a verified trade and advance the rebuilt trade."""
        self.verify(ref)
        fn = getattr(self.market.functions, action)(ref.id, ref.trade.as_tuple(), *extra)
        receipt = self.send(account, fn)
        ts = self.timestamp_of(receipt)
        moved = False
        for name, args in self.events(receipt):
            if "tradeId" in args and bytes(args["tradeId"]) == ref.id:
                ref.trade = apply_event(ref.trade, name, args, ts)
                moved = True
        if not moved:
            raise BenchError(f"{action} emitted no event for trade 0x{ref.id.hex()}")
        self.verify(ref)
        return receipt

    def rate(
        self, rater: LocalAccount, ref: TradeRef, score: int = 5, review: bytes = b""
    ) -> TxReceipt:
        """Rate the counterparty of a final trade; the subject must already be rated in its token."""
        before = self.verify(ref)
        subject = ref.trade.seller if rater.address == ref.trade.buyer else ref.trade.buyer
        fn = self.reputation.functions.rate(ref.id, ref.trade.as_tuple(), score, review)
        receipt = self.send(rater, fn)
        args = self.one_event(receipt, "Rated")
        if to_checksum_address(args["subject"]) != subject:
            raise BenchError("Rated event names the wrong subject")
        if self.verify(ref) == before:
            raise BenchError("rating did not set the rater's bit on the trade record")
        return receipt

    def rating_count(self, subject: str, token: str) -> int:
        count, _, _ = self.reputation.functions.aggregate(subject, self.token_address(token)).call()
        return int(count)

    # ------------------------------------------------------------------ the contract wallet

    def deploy_wallet(self) -> str:
        initcode = forwarder_initcode(self.wallet_owner.address, self.market.address)
        self.wallet = self._deploy_code(self.wallet_owner, initcode)
        return self.wallet

    def via_wallet(self, fn_name: str, *args: Any) -> TxReceipt:
        """Have the contract wallet call the marketplace (its owner signs and pays)."""
        if self.wallet is None:
            raise BenchError("no contract wallet deployed")
        data = self.market.encode_abi(fn_name, args=list(args))
        tx = cast(TxParams, {"to": self.wallet, "data": data})
        return send_transaction(self.w3, self.wallet_owner, tx)

    def direct(self, account: LocalAccount, fn_name: str, *args: Any) -> TxReceipt:
        """Send a marketplace call straight from an account (also for view functions)."""
        data = self.market.encode_abi(fn_name, args=list(args))
        tx = cast(TxParams, {"to": self.market.address, "data": data})
        return send_transaction(self.w3, account, tx)


# ============================================================================ the measurement plan


def _approve_and_buy(
    bench: Bench, listing: Listing, token: str, run: dict[str, int], step: str
) -> TradeRef:
    if token != "ETH":
        total = listing.terms.price + listing.terms.deposit
        run["approve"] = gas(bench.approve(bench.buyer, total))
    ref, receipt = bench.buy(listing)
    run[step] = gas(receipt)
    return ref


def run_onchain(bench: Bench, token: str) -> tuple[dict[str, int], TradeRef]:
    run: dict[str, int] = {}
    listing, receipt = bench.list(bench.terms(token))
    run["list"] = gas(receipt)
    ref = _approve_and_buy(bench, listing, token, run, "buy")
    run["release"] = gas(bench.act("release", bench.buyer, ref))
    if ref.trade.state is not TradeState.COMPLETED:
        raise BenchError(f"release left the trade {ref.trade.state.name}")
    return run, ref


def run_signed(bench: Bench, token: str) -> dict[str, int]:
    run: dict[str, int] = {}
    listing = bench.sign(bench.terms(token))
    ref = _approve_and_buy(bench, listing, token, run, "buySigned")
    run["release"] = gas(bench.act("release", bench.buyer, ref))
    if ref.trade.state is not TradeState.COMPLETED:
        raise BenchError(f"release left the trade {ref.trade.state.name}")
    return run


def split_share(terms: ListingTerms) -> int:
    """Half of what remains after the arbitrator's fee: a ruling that pays all three parties."""
    held = terms.price + terms.deposit
    return (held - held * terms.arbitrator_fee_bps // 10_000) // 2


def all_to_buyer(terms: ListingTerms) -> int:
    """Everything after the arbitrator's fee to the buyer: a ruling with two payouts."""
    held = terms.price + terms.deposit
    return held - held * terms.arbitrator_fee_bps // 10_000


def run_dispute(
    bench: Bench, token: str, *, share: Callable[[ListingTerms], int] = split_share
) -> dict[str, int]:
    run: dict[str, int] = {}
    listing, receipt = bench.list(bench.terms(token))
    run["list"] = gas(receipt)
    ref = _approve_and_buy(bench, listing, token, run, "buy")
    run["dispute"] = gas(bench.act("dispute", bench.buyer, ref))
    run["rule"] = gas(bench.act("rule", bench.arbitrator, ref, share(listing.terms)))
    if ref.trade.state is not TradeState.RULED:
        raise BenchError(f"rule left the trade {ref.trade.state.name}")
    return run


def warm_up(bench: Bench, console: Console) -> int:
    """Run complete trades first, so nothing measured is any account's or contract's first time.

    Afterwards: every party holds tokens; the seller and the buyer have each been rated in both
    currencies; an ERC-20 trade stays open, so the marketplace holds a token balance (as a live
    escrow always does); the second buyer has an unlimited allowance; the contract wallet has
    been credited once and has withdrawn. Returns the number of trades run.
    """
    trades = 0
    for who in (bench.seller, bench.buyer, bench.arbitrator, bench.buyer2):
        bench.mint(who.address, 1_000_000 * ONE)
    for token in TOKENS:
        for _ in range(WARMUP_ROUNDS):
            _, ref = run_onchain(bench, token)
            bench.rate(bench.buyer, ref, 5)
            bench.rate(bench.seller, ref, 5)
            run_signed(bench, token)
            run_dispute(bench, token)
            trades += 3
    listing, _ = bench.list(bench.terms("ERC-20"))
    _approve_and_buy(bench, listing, "ERC-20", {}, "buy")  # left open on purpose
    bench.send(bench.buyer2, bench.token.functions.approve(bench.market.address, 2**256 - 1))
    listing, _ = bench.list(bench.terms("ERC-20"))
    ref, _ = bench.buy(listing, bench.buyer2)
    bench.act("release", bench.buyer2, ref)
    trades += 2
    bench.deploy_wallet()
    _wallet_credit_and_withdraw(bench)
    trades += 1
    console.log(f"warm-up: {trades} trades")
    return trades


def _wallet_credit_and_withdraw(bench: Bench) -> dict[str, int]:
    """The contract wallet sells; its payout is refused and credited; it withdraws to the payee."""
    assert bench.wallet is not None
    terms = bench.terms(seller=bench.wallet)
    salt = bench.fresh("salt")
    listing = bench.listed(bench.via_wallet("list", terms.as_tuple(), salt, 1), terms, salt, 1)
    ref, _ = bench.buy(listing)
    receipt = bench.act("release", bench.buyer, ref)
    credited = bench.one_event(receipt, "Credited")
    if to_checksum_address(credited["account"]) != bench.wallet or int(credited["amount"]) != ONE:
        raise BenchError("release did not credit the contract wallet")
    before = int(bench.w3.eth.get_balance(bench.payee.address))
    receipt = bench.via_wallet("withdraw", ETH, bench.payee.address)
    withdrawn = bench.one_event(receipt, "Withdrawn")
    if (
        int(withdrawn["amount"]) != ONE
        or bench.w3.eth.get_balance(bench.payee.address) != before + ONE
    ):
        raise BenchError("withdraw did not pay the payee")
    # The wallet's forwarding overhead: the same view call sent through the wallet and directly.
    key = ref.id
    through = gas(bench.via_wallet("record", key))
    direct = gas(bench.direct(bench.wallet_owner, "record", key))
    return {"withdraw": gas(receipt), "forwarding": through - direct}


@dataclass
class Results:
    """Everything measured."""

    paths: dict[tuple[str, str], Measurement] = field(default_factory=dict)
    reference: list[RefOp] = field(default_factory=list)
    warmup_trades: int = 0
    repetitions: int = DEFAULT_REPETITIONS


def measure(bench: Bench, repetitions: int, console: Console) -> Results:
    """Run the whole plan."""
    results = Results(repetitions=repetitions)
    results.warmup_trades = warm_up(bench, console)

    for token in TOKENS:
        for spec in PATHS:
            results.paths[(spec.key, token)] = Measurement(
                spec.steps, excluded=("approve",) if token != "ETH" and spec.key != "rating" else ()
            )
        for subject in (bench.seller.address, bench.buyer.address):
            if bench.rating_count(subject, token) == 0:
                raise BenchError(f"{subject} has no {token} rating before the measured ratings")

    ref_ops: dict[str, tuple[str, Measurement, str]] = {}

    def ref_op(
        key: str,
        title: str,
        steps: tuple[str, ...],
        note: str = "",
        excluded: tuple[str, ...] = (),
    ) -> Measurement:
        if key not in ref_ops:
            ref_ops[key] = (title, Measurement(steps, excluded=excluded), note)
        return ref_ops[key][1]

    review_cid = REVIEW_CID_HEADER + keccak(text="p2pchain gas report/review")
    to_finalize: list[TradeRef] = []
    to_time_out: list[TradeRef] = []
    for rep in range(repetitions):
        console.log(f"repetition {rep + 1}/{repetitions}")
        for token in TOKENS:
            run, ref = run_onchain(bench, token)
            results.paths[("onchain", token)].add(run)
            results.paths[("rating", token)].add({"rate": gas(bench.rate(bench.buyer, ref, 5))})
            if token == "ETH":
                ref_op(
                    "rate_review", "rate with a 36-byte review CID (seller rates buyer)", ("rate",)
                ).add({"rate": gas(bench.rate(bench.seller, ref, 4, review_cid))})
            results.paths[("signed", token)].add(run_signed(bench, token))
            results.paths[("dispute", token)].add(run_dispute(bench, token))

        # ---- reference operations (ETH)
        listing, _ = bench.list(bench.terms())
        new_terms = bench.terms()
        ref_op("update", "updateListing (new terms, same quantity)", ("updateListing",)).add(
            {"updateListing": gas(bench.update_listing(listing, new_terms))}
        )
        ref_op("close", "closeListing", ("closeListing",)).add(
            {"closeListing": gas(bench.close_listing(listing))}
        )
        ref_op(
            "cancel",
            "cancelSignedListing (never bought)",
            ("cancelSignedListing",),
            "a new slot: the listing id is marked spent",
        ).add({"cancelSignedListing": gas(bench.cancel_signed(bench.sign(bench.terms())))})

        listing, _ = bench.list(bench.terms())
        ref, _ = bench.buy(listing)
        ref_op("refund", "refund (seller refunds a paid trade)", ("refund",)).add(
            {"refund": gas(bench.act("refund", bench.seller, ref))}
        )

        listing, _ = bench.list(bench.terms())
        ref, _ = bench.buy(listing)
        run = {
            "proposeSettlement": gas(bench.act("proposeSettlement", bench.buyer, ref, ONE // 2)),
            "acceptSettlement": gas(bench.act("acceptSettlement", bench.seller, ref)),
        }
        ref_op(
            "settle",
            "proposeSettlement + acceptSettlement (50/50 split)",
            ("proposeSettlement", "acceptSettlement"),
        ).add(run)

        listing, _ = bench.list(bench.terms())
        ref, _ = bench.buy(listing)
        run = {
            "proposeSettlement": gas(bench.act("proposeSettlement", bench.seller, ref, ONE // 2)),
            "withdrawProposal": gas(bench.act("withdrawProposal", bench.seller, ref)),
        }
        ref_op(
            "withdraw_proposal",
            "proposeSettlement + withdrawProposal",
            ("proposeSettlement", "withdrawProposal"),
        ).add(run)
        bench.act("refund", bench.seller, ref)

        listing, _ = bench.list(bench.terms())
        ref, _ = bench.buy(listing)
        run = {
            "dispute": gas(bench.act("dispute", bench.buyer, ref)),
            "proposeSettlement": gas(bench.act("proposeSettlement", bench.buyer, ref, ONE // 2)),
            "acceptSettlement": gas(bench.act("acceptSettlement", bench.seller, ref)),
        }
        ref_op(
            "settle_disputed",
            "settlement in a dispute: dispute + proposeSettlement + acceptSettlement",
            ("dispute", "proposeSettlement", "acceptSettlement"),
            "the arbitrator's fee, then the split: 3 payouts",
        ).add(run)

        ref_op(
            "rule_one_side",
            "dispute path, ruling all to the buyer (2 payouts)",
            ("list", "buy", "dispute", "rule"),
        ).add(run_dispute(bench, "ETH", share=all_to_buyer))

        listing, receipt = bench.list(bench.terms(deposit=ONE // 2))
        run = {"list": gas(receipt)}
        ref, receipt = bench.buy(listing)
        run["buy"] = gas(receipt)
        run["release"] = gas(bench.act("release", bench.buyer, ref))
        if ref.trade.state is not TradeState.PAID:
            raise BenchError("release of a rental should keep it open for the deposit")
        run["returnDeposit"] = gas(bench.act("returnDeposit", bench.seller, ref))
        if ref.trade.state is not TradeState.COMPLETED:
            raise BenchError("returnDeposit should complete the rental")
        ref_op(
            "rental",
            "rental (0.5 ETH deposit): buy + release + returnDeposit",
            ("buy", "release", "returnDeposit"),
            excluded=("list",),
        ).add(run)

        listing, receipt = bench.list(bench.terms(), quantity=10)
        ref, receipt = bench.buy(listing)
        if ref.id == listing.id:
            raise BenchError("a partial buy should open a trade under its own id")
        ref_op("partial", "partial buy: 1 of 10 units (trade needs its own slot)", ("buy",)).add(
            {"buy": gas(receipt)}
        )

        listing, _ = bench.list(bench.terms("ERC-20"))
        ref, receipt = bench.buy(listing, bench.buyer2)
        ref_op(
            "erc20_unlimited",
            "ERC-20 buy, unlimited allowance set once (no approve per trade)",
            ("buy",),
        ).add({"buy": gas(receipt)})
        bench.act("release", bench.buyer2, ref)

        wd = _wallet_credit_and_withdraw(bench)
        ref_op(
            "withdraw",
            "withdraw (ETH credit, by a contract wallet)",
            ("withdraw",),
            "raw receipt, includes the wallet's forwarding",
        ).add({"withdraw": wd["withdraw"]})
        ref_op(
            "withdraw_net",
            "withdraw, wallet forwarding subtracted",
            ("withdraw",),
            "forwarding measured as (view call through the wallet) - (same call direct)",
        ).add({"withdraw": wd["withdraw"] - wd["forwarding"]})

        # trades that must wait for a window to end
        listing, _ = bench.list(bench.terms())
        to_finalize.append(bench.buy(listing)[0])
        listing, _ = bench.list(bench.terms())
        ref, _ = bench.buy(listing)
        bench.act("dispute", bench.buyer, ref)
        to_time_out.append(ref)

    bench.warp(max(REVIEW_WINDOW, bench.ruling_window) + 3600)
    for ref in to_finalize:
        ref_op("finalize", "finalize (seller, after the review window)", ("finalize",)).add(
            {"finalize": gas(bench.act("finalize", bench.seller, ref))}
        )
    for ref in to_time_out:
        ref_op(
            "timeout",
            "claimRulingTimeout (buyer, after the ruling window)",
            ("claimRulingTimeout",),
        ).add({"claimRulingTimeout": gas(bench.act("claimRulingTimeout", bench.buyer, ref))})

    deployment = Measurement(("deploy",))
    for value in bench.deploy_gas:
        deployment.add({"deploy": value})
    ref_ops["deploy"] = (
        "deployment (Marketplace, whose constructor deploys Reputation, which deploys Bookings)",
        deployment,
        "",
    )

    order = [
        "update", "close", "cancel", "refund", "finalize", "settle", "withdraw_proposal",
        "settle_disputed", "rule_one_side", "timeout", "rental", "partial", "erc20_unlimited",
        "rate_review", "withdraw", "withdraw_net", "deploy",
    ]  # fmt: skip
    results.reference = [RefOp(k, ref_ops[k][0], ref_ops[k][1], ref_ops[k][2]) for k in order]
    return results


# ============================================================================ environment


def _anvil_version() -> str:
    binary = find_node_tool("anvil", find_node_modules())
    if binary is None:
        return "unknown"
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    version = lines[0].removeprefix("anvil Version:").strip() if lines else "unknown"
    commit = next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("Commit")), ""
    )
    return f"{version} ({commit[:10]})" if commit else version


def _sources_match_artifacts() -> bool:
    """Whether every contract source equals what the shipped artifacts were compiled from."""
    for name in ("Marketplace", "Reputation"):
        for unit, digest in load_artifact(name).source_hashes.items():
            path = ROOT / unit
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return False
    return True


def environment(bench: Bench) -> dict[str, Any]:
    mk = load_artifact("Marketplace")
    return {
        "anvil": _anvil_version(),
        "client_version": str(bench.w3.client_version),
        "hardfork": DEV_HARDFORK,
        "chain_id": bench.chain.chain_id,
        "solc": mk.compiler_version,
        "compiler_settings": compiler_settings(),
        "artifact_hash": artifact_hash(),
        "code_sha256": {
            name: hashlib.sha256(
                bytes.fromhex(load_artifact(name).deployed_bytecode.removeprefix("0x"))
            ).hexdigest()
            for name in ("Marketplace", "Reputation")
        },
        "artifacts_match_sources": _sources_match_artifacts(),
    }


# ============================================================================ rendering


def _n(value: int) -> str:
    return f"{value:,}"


def _figure(stat: Stat) -> str:
    if stat.varies:
        return f"{_n(stat.median)} ({_n(stat.min)}–{_n(stat.max)})"
    return _n(stat.median)


def _verdict(value: int, budget: int) -> tuple[bool, str]:
    if value <= budget:
        return True, f"met, {_n(budget - value)} under"
    return False, f"over by {_n(value - budget)}"


def build_report(results: Results, env: Mapping[str, Any], generated: str) -> dict[str, Any]:
    paths = []
    for spec in PATHS:
        by_token: dict[str, Any] = {}
        for token in TOKENS:
            m = results.paths[(spec.key, token)]
            met, _ = _verdict(m.total.median, spec.budget)
            by_token[token] = {
                **m.to_json(),
                "subtotals": {
                    label: m.subtotal(steps).to_json() for label, steps in spec.subtotals.items()
                },
                "budget_met": met,
                "over_budget_by": max(0, m.total.median - spec.budget),
            }
        paths.append(
            {
                "key": spec.key,
                "title": spec.title,
                "budget": spec.budget,
                "budget_applies_to": "ETH",
                "peers": [{"name": p.name, "gas": p.gas, "note": p.note} for p in spec.peers],
                "results": by_token,
            }
        )
    return {
        "format": REPORT_FORMAT,
        "generated": generated,
        "generator": "scripts/gas_report.py",
        "environment": dict(env),
        "method": {
            "repetitions": results.repetitions,
            "statistic": "median of the repetitions (min and max also given)",
            "warmup_trades": results.warmup_trades,
            "price": "1 ETH, or 1 token of an 18-decimal TestERC20",
            "arbitrator_fee_bps": ARBITRATOR_FEE_BPS,
            "fresh_listing_per_trade": True,
            "erc20_approve": "exact amount, approved by the buyer right before each buy, from a "
            "zero allowance; reported separately and excluded from path totals",
            "dispute_ruling": "buyer disputes; the arbitrator rules a split (fee, half the rest "
            "to the buyer, the rest to the seller): three payouts",
        },
        "paths": paths,
        "reference": [
            {"key": op.key, "title": op.title, "note": op.note, **op.measurement.to_json()}
            for op in results.reference
        ],
    }


def render_markdown(report: Mapping[str, Any]) -> str:
    env = report["environment"]
    method = report["method"]
    out: list[str] = []
    w = out.append
    w("# Gas report")
    w("")
    w(
        f"Generated by `make gas` (`scripts/gas_report.py`) on {report['generated']}: real receipts "
        f"from anvil {env['anvil']}, `--hardfork {env['hardfork']}`. Do not edit by hand."
    )
    w("")
    w(
        f"Each figure is the median `gasUsed` of {method['repetitions']} repetitions "
        "(min–max in brackets when they differ), each on a fresh listing at 1 ETH (or 1 token), "
        f"after {method['warmup_trades']} warm-up trades on the same contracts. Seller, buyer and "
        "arbitrator are distinct, already funded accounts (and hold the token already); the "
        "subject of a measured rating already has a rating in that token. Budgets apply to the "
        "ETH figures; the ERC-20 column is compared with the same budget for information. Peer "
        "figures are not measured by this script: they are typed in (the `Peer` constants in "
        "`scripts/gas_report.py`) from the project's peer notes (PEERS.md), which measured each "
        "peer's own contracts (Origin V00_Marketplace, Kleros MultipleArbitrableTransaction, "
        "OpenZeppelin 4.9 Escrow, Seaport fulfillBasicOrder) with their own compiler settings on "
        "anvil 1.7.1 (second trade, 1 ETH). Their sources are not in this repository, so `make "
        "gas` cannot re-measure them."
    )
    w("")
    w("## Paths")
    w("")
    w("| Path | ETH | Budget | ETH vs budget | ERC-20¹ | ERC-20 vs budget (info) | Peers |")
    w("|---|---:|---:|---|---:|---|---|")
    for p in report["paths"]:
        eth, erc = p["results"]["ETH"], p["results"]["ERC-20"]
        peers = (
            "; ".join(
                f"{q['name']} {_n(q['gas'])}" + (f" ({q['note']})" if q["note"] else "")
                for q in p["peers"]
            )
            or "–"
        )
        e_ok, e_txt = _verdict(eth["total"]["median"], p["budget"])
        _, t_txt = _verdict(erc["total"]["median"], p["budget"])
        w(
            f"| {p['title']} | {_figure(_stat(eth['total']))} | {_n(p['budget'])} | "
            f"{'✅' if e_ok else '❌'} {e_txt} | {_figure(_stat(erc['total']))} | "
            f"{t_txt} | {peers} |"
        )
    approve = _stat(report["paths"][0]["results"]["ERC-20"]["excluded_from_total"][0])
    w("")
    w(
        f"¹ ERC-20 totals exclude the buyer's `approve` ({_figure(approve)} gas: exact amount, "
        "from a zero allowance, right before each buy). It is a separate transaction the buyer "
        "sends to the token, listed in the breakdown below."
    )
    w("")
    w("## Per-transaction breakdown")
    for p in report["paths"]:
        w("")
        w(f"### {p['title']}")
        w("")
        w("| Transaction | ETH | ERC-20 | Peers |")
        w("|---|---:|---:|---|")
        spec = next(s for s in PATHS if s.key == p["key"])
        eth, erc = p["results"]["ETH"], p["results"]["ERC-20"]
        erc_txs = {t["name"]: t for t in erc["transactions"]}
        for tx in eth["transactions"]:
            w(
                f"| `{tx['name']}` | {_figure(_stat(tx))} | {_figure(_stat(erc_txs[tx['name']]))} | "
                f"{spec.step_peers.get(tx['name'], '')} |"
            )
        for tx in erc["excluded_from_total"]:
            w(f"| `{tx['name']}` (token, not in total) | – | {_figure(_stat(tx))} | |")
        for label in eth["subtotals"]:
            w(
                f"| *{label}* | {_figure(_stat(eth['subtotals'][label]))} | "
                f"{_figure(_stat(erc['subtotals'][label]))} | |"
            )
        w(
            f"| **total** | **{_figure(_stat(eth['total']))}** | **{_figure(_stat(erc['total']))}** | |"
        )
    w("")
    w(
        "A total is the median of the per-repetition totals, so it can differ by a few gas from "
        "the sum of the per-transaction medians."
    )
    w("")
    w("## Other operations (ETH unless named; no budget)")
    w("")
    w("| Operation | Transactions | Total | Note |")
    w("|---|---|---:|---|")
    for op in report["reference"]:
        txs, total, note = _ref_cells(op, "`")
        w(f"| {op['title']} | {txs} | {total} | {note} |")
    w("")
    if "bookings" in report:
        out.extend(bookings_markdown(report["bookings"]))
    if "offers" in report:
        out.extend(offers_markdown(report["offers"]))
    w("## Environment")
    w("")
    w(
        f"- anvil {env['anvil']} (`{env['client_version']}`), hardfork `{env['hardfork']}`, chain id {env['chain_id']}"
    )
    w(f"- solc {env['solc']}, settings (`p2pchain.compiler._solc.compiler_settings()`):")
    w("")
    w("  ```json")
    for line in json.dumps(env["compiler_settings"], indent=2, sort_keys=True).splitlines():
        w(f"  {line}")
    w("  ```")
    w("")
    w(
        "- runtime code sha256: "
        + ", ".join(f"{name} `{digest[:16]}…`" for name, digest in env["code_sha256"].items())
        + "; contract sources match the artifacts: "
        + ("yes" if env["artifacts_match_sources"] else "NO (run make compile)")
    )
    w(f"- dispute ruling: {method['dispute_ruling']}")
    w(f"- date: {report['generated']}")
    w("")
    return "\n".join(out)


def _ref_cells(op: Mapping[str, Any], quote: str) -> tuple[str, str, str]:
    """The transactions, total and note cells of a reference operation."""
    txs = op["transactions"]
    if len(txs) == 1:
        cell = f"{quote}{txs[0]['name']}{quote}"
    else:
        cell = " + ".join(f"{quote}{t['name']}{quote} {_figure(_stat(t))}" for t in txs)
    notes = [
        f"{quote}{t['name']}{quote} {_figure(_stat(t))} not in the total"
        for t in op["excluded_from_total"]
    ]
    if op["note"]:
        notes.append(op["note"])
    return cell, _figure(_stat(op["total"])), "; ".join(notes)


def _stat(data: Mapping[str, Any]) -> Stat:
    return Stat(tuple(int(v) for v in data["samples"]))


def print_console(console: Console, report: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Print the rich tables; return the budgets missed (ETH) and the ERC-20 paths above them."""
    missed: list[str] = []
    erc20_over: list[str] = []
    table = Table(title="p2pchain gas report (median of repetitions; min–max if they differ)")
    for col, justify in (
        ("Path", "left"), ("ETH", "right"), ("Budget", "right"), ("ETH vs budget", "left"),
        ("ERC-20 (no approve)", "right"), ("ERC-20 vs budget", "left"), ("Peers", "left"),
    ):  # fmt: skip
        table.add_column(col, justify=cast(Any, justify), overflow="fold")
    for p in report["paths"]:
        cells = [p["title"]]
        verdicts = []
        for token in TOKENS:
            total = _stat(p["results"][token]["total"])
            ok, text = _verdict(total.median, p["budget"])
            line = f"{p['title']}: {_n(total.median)} > {_n(p['budget'])} ({text})"
            if token == "ETH":
                verdicts.append(f"[green]{text}[/]" if ok else f"[bold red]MISSED: {text}[/]")
                if not ok:
                    missed.append(line)
            else:
                verdicts.append(text if ok else f"[yellow]{text}[/]")
                if not ok:
                    erc20_over.append(line)
        cells += [
            _figure(_stat(p["results"]["ETH"]["total"])), _n(p["budget"]), verdicts[0],
            _figure(_stat(p["results"]["ERC-20"]["total"])), verdicts[1],
            "\n".join(f"{q['name'].split()[0]} {_n(q['gas'])}" for q in p["peers"]) or "–",
        ]  # fmt: skip
        table.add_row(*cells)
    console.print(table)

    breakdown = Table(title="Per transaction")
    for col in ("Path", "Transaction", "ETH", "ERC-20"):
        breakdown.add_column(col, justify="left" if col in ("Path", "Transaction") else "right")
    for p in report["paths"]:
        eth, erc = p["results"]["ETH"], p["results"]["ERC-20"]
        erc_txs = {t["name"]: t for t in erc["transactions"]}
        for i, tx in enumerate(eth["transactions"]):
            breakdown.add_row(
                p["title"] if i == 0 else "", tx["name"], _figure(_stat(tx)),
                _figure(_stat(erc_txs[tx["name"]])),
            )  # fmt: skip
        for tx in erc["excluded_from_total"]:
            breakdown.add_row("", f"{tx['name']} (not in total)", "–", _figure(_stat(tx)))
        for label, sub in eth["subtotals"].items():
            breakdown.add_row(
                "", label, _figure(_stat(sub)), _figure(_stat(erc["subtotals"][label]))
            )
        breakdown.add_row(
            "", "[bold]total[/]", _figure(_stat(eth["total"])), _figure(_stat(erc["total"])),
            end_section=True,
        )  # fmt: skip
    console.print(breakdown)

    other = Table(title="Other operations (ETH unless named)")
    for col in ("Operation", "Transactions", "Total", "Note"):
        other.add_column(col, justify="right" if col == "Total" else "left", overflow="fold")
    for op in report["reference"]:
        other.add_row(op["title"], *_ref_cells(op, ""))
    console.print(other)
    return missed, erc20_over


# ============================================================================ entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--repetitions", type=int, default=DEFAULT_REPETITIONS,
        help=f"repetitions per path (default {DEFAULT_REPETITIONS}; odd keeps medians exact)",
    )  # fmt: skip
    parser.add_argument(
        "--out-dir", type=Path, default=ROOT / "docs",
        help="where to write gas-report.md and gas-report.json (default: docs/)",
    )  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="print only, write no files")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print and write the gas report. Returns 0 even if a budget is missed."""
    args = _parser().parse_args(argv)
    if args.repetitions < 1:
        print("error: --repetitions must be at least 1", file=sys.stderr)
        return 2
    console = Console()
    if not console.is_terminal:  # piped or logged: do not squeeze the tables into 80 columns
        console = Console(width=max(console.width, 150))
    try:
        with AnvilChain() as chain:
            console.log(f"anvil on {chain.url}")
            bench = Bench(chain, deployments=args.repetitions)
            results = measure(bench, args.repetitions, console)
            bookings = measure_bookings(bench, args.repetitions, console.log)
            offers = measure_offers(bench, args.repetitions, console.log)
            env = environment(bench)
    except P2PChainError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 1
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = build_report(results, env, generated)
    report["bookings"] = bookings
    report["offers"] = offers
    if not env["artifacts_match_sources"]:
        console.print(
            "[bold yellow]warning:[/] contract sources differ from the artifacts: run `make compile`"
        )
    missed, erc20_over = print_console(console, report)
    missed += bookings_console(console, bookings)
    missed += offers_console(console, offers)
    if not args.no_write:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        md, js = args.out_dir / "gas-report.md", args.out_dir / "gas-report.json"
        md.write_text(render_markdown(report), encoding="utf-8")
        js.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        console.print(f"wrote {md} and {js}")
    if missed:
        total = len(PATHS) + len(BOOKING_BUDGETS) + 2 * len(OFFER_BUDGETS)
        console.print(
            f"[bold red]{len(missed)} of {total} budgets missed[/] (ETH figures; permits and offers in TUSD):"
        )
        for line in missed:
            console.print(f"  [red]✗[/] {line}")
    else:
        total = len(PATHS) + len(BOOKING_BUDGETS) + 2 * len(OFFER_BUDGETS)
        console.print(
            f"[bold green]All {total} budgets met[/] (ETH figures; permits and offers in TUSD)."
        )
    if erc20_over:
        console.print("ERC-20 paths above the same budget (for information; approve excluded):")
        for line in erc20_over:
            console.print(f"  [yellow]•[/] {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
