"""Stateful invariant tests of the Marketplace on the embedded chain (hypothesis).

:class:`MarketMachine` drives random sequences of listings, purchases, settlements, disputes,
ratings, withdrawals and clock jumps by random actors: sellers, buyers, arbitrators, strangers,
contract accounts from ``contracts/test`` (ones that refuse ETH by reverting, by a return-data
bomb or by burning their gas, and one that needs 50k gas to accept it), over ETH, a TestERC20 and
a BlocklistToken whose owner freezes random addresses (the escrow included). Payouts those
parties refuse become credits. Every call is predicted from the machine's own model first
(success, or the exact custom error with its arguments); a mismatch fails the test. After every
step it checks that:

* each token's escrow balance equals what the open trades hold plus every actor's credit;
* no trade paid out more (or less) than it took in: every payout is measured on chain (balance
  changes plus credits), and a final trade has paid out exactly ``amount + deposit``;
* every trade the model knows matches the chain (``checkTrade``, rating bits included);
* every listing matches ``listingState`` (live, terms tag, units sold and remaining).

Rules with preconditions steer the machine to the arbitrator's paths, which random rules alone
starve (about one ruling per 1,500 transactions): parties dispute trades they may dispute, the
arbitrator rules disputes still in their ruling window, timeouts are claimed once it has passed,
and two rules play a whole dispute out in one step (ruled, or left unanswered until the timeout).
The test asserts that disputes, rulings, timeouts and settlements each keep a share of the
successful transactions; ``make fuzz`` runs a long campaign and reports every share.

Calls are simulated against the *pending* block, whose timestamp the machine sets before every
transaction: an ``eth_call`` at ``latest`` would run with the previous block's timestamp and
misjudge every deadline boundary by one block. Each example runs in a chain snapshot of one
deployment. A failure prints the shrunk sequence of steps, each call annotated with the model's
expectation and the chain's answer.
"""

from __future__ import annotations

import enum
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
from eth.vm.message import Message
from eth_abi import decode, encode
from eth_account.signers.local import LocalAccount
from eth_tester.backends.pyevm.main import EVMSpoofTransaction, _execute_and_revert_transaction
from eth_typing import Address, ChecksumAddress
from eth_utils import keccak, to_canonical_address, to_checksum_address
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3.contract import Contract
from web3.types import TxReceipt

from p2pchain.chain._events import receipt_events
from p2pchain.chain._model import (
    AMOUNT_RELEASED,
    DEPOSIT_RETURNED,
    PROPOSAL_MASK,
    PROPOSED_BY_BUYER,
    PROPOSED_BY_SELLER,
    WAS_DISPUTED,
    ZERO_ADDRESS,
    ListingTerms,
    Trade,
    TradeState,
    apply_event,
    listing_id,
    open_trade,
    partial_trade_id,
    signed_listing_typed_data,
    trade_hash,
)
from p2pchain.chain._nodes import EmbeddedChain
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import Artifact, load_artifact

from .market import CIDV0_PREFIX, Market, _error_table

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_CONTRACTS = REPO_ROOT / "contracts" / "test"

DAY = 86_400
ETH = ZERO_ADDRESS
MAX_UNIT = 2**128 - 1
U32 = 2**32 - 1
MAX_FEE_BPS = 1_000
MAX_REVIEW_WINDOW = 365 * DAY
RULING_WINDOW = 3 * DAY
#: Gas limit of every transaction (simulated and sent alike, so both see the same gas).
TX_GAS = 1_000_000
#: Tokens minted to every actor; far above any total the machine can spend (< 2^162 a trade).
MINT = 2**200
#: Most ETH one purchase may cost (the dev accounts hold 10,000 ether); more is bought as 1 unit.
ETH_BUDGET = 100 * 10**18
#: Volume field width in Reputation's aggregate (it saturates).
MAX_VOLUME = 2**184 - 1

#: Contract accounts used as parties when contracts/test has them: name -> (contract, whether it
#: refuses an ETH payout made with the marketplace's 60k gas stipend). The hungry one needs 50k gas
#: to accept: enough under the stipend, so it is paid directly, never credited.
CONTRACT_ACTORS = {
    "rev": ("RevertingReceiver", True),
    "bomb": ("ReturnBombReceiver", True),
    "burn": ("GasBurningReceiver", True),
    "hungry": ("GasHungryReceiver", False),
}
BLOCKLIST_TOKEN = "BlocklistToken"

Err = tuple[str, tuple[Any, ...]] | None


def _norm(value: Any) -> Any:
    """Decoded ABI values and model values in one comparable form."""
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    if isinstance(value, enum.IntEnum):
        return int(value)
    return value


# ================================================================================ chain access


class PendingEvm:
    """Reads and simulations against the embedded chain's pending block.

    The pending block carries the timestamp the next transaction will get, so a simulation here
    sees exactly what that transaction will see. It also hands back the raw revert data, which
    web3's eth-tester provider only passes on as a ``repr`` inside ``TransactionFailed``.
    """

    def __init__(self, chain: EmbeddedChain) -> None:
        self._backend = chain._backend
        self._chain = chain._backend.chain
        self._cached: tuple[Any, Any] | None = None

    def _state(self) -> Any:
        header = self._chain.header
        if self._cached is None or self._cached[0] is not header:
            self._cached = (header, self._chain.get_vm(at_header=header).state)
        return self._cached[1]

    def call(self, to: str, data: bytes) -> bytes:
        """A read-only message call on the pending state; raises if it reverts."""
        state = self._state()
        target = to_canonical_address(to)
        nobody = Address(bytes(20))
        code = state.get_code(target)
        message = Message(gas=TX_GAS, to=target, sender=nobody, value=0, data=data, code=code)
        context = state.get_transaction_context_class()(gas_price=0, origin=nobody)
        snapshot = state.snapshot()
        try:
            computation = state.computation_class.apply_message(state, message, context)
        finally:
            state.revert(snapshot)
        if computation.is_error:
            raise AssertionError(f"view call to {to} failed: {computation.error!r}")
        return bytes(computation.output)

    def simulate(self, sender: str, to: str, data: bytes, value: int = 0) -> tuple[bool, bytes]:
        """Run a whole transaction on the pending block and undo it; ``(success, output)``."""
        tx = {
            "from": to_canonical_address(sender),
            "to": to_canonical_address(to),
            "data": data,
            "value": value,
            "gas": TX_GAS,
        }
        unsigned = self._backend._get_normalized_and_unsigned_evm_transaction(tx, "pending")
        spoofed = EVMSpoofTransaction(unsigned, from_=tx["from"])
        computation = _execute_and_revert_transaction(self._chain, spoofed, "pending")
        if computation.is_error:
            args = computation.error.args
            return False, bytes(args[0]) if args and isinstance(args[0], bytes) else b""
        return True, bytes(computation.output)

    def eth_balance(self, who: str) -> int:
        return int(self._state().get_balance(to_canonical_address(who)))

    def head(self) -> int:
        """Number of the last mined block."""
        return int(self._chain.get_canonical_head().block_number)

    def head_timestamp(self) -> int:
        """Timestamp of the last mined block."""
        return int(self._chain.get_canonical_head().timestamp)


def _data(fn: Any) -> bytes:
    return bytes.fromhex(fn._encode_transaction_data()[2:])


# ================================================================================ environment


@dataclass(frozen=True)
class Actor:
    """A party the machine can act as: an EOA, or a contract account driven by its owner."""

    name: str
    address: str
    signer: LocalAccount
    wallet: Contract | None = None  # a ContractAccount: its calls go through execute()
    refuses_eth: bool = False  # an ETH payout to it fails (and is credited)

    def __repr__(self) -> str:
        return self.name


class Env:
    """One deployment shared by all examples (each example runs in a snapshot of it)."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.evm = PendingEvm(chain)
        self._selectors: dict[str, tuple[bytes, list[str]]] = {}
        self.driver = Market(chain, ruling_window=RULING_WINDOW)
        self.market: Contract = self.driver.market
        self.reputation: Contract = self.driver.reputation
        accounts = chain.accounts
        self.deployer = accounts[0]
        controller = accounts[8]

        erc20 = load_artifact("TestERC20", test=True)
        abis: list[list[dict[str, Any]]] = [
            [dict(item) for item in abi]
            for abi in (self.market.abi, self.reputation.abi, erc20.abi)
        ]
        self.token_a = self._deploy(erc20, self.deployer, "Token A", "TKA")
        self.tokens: list[str] = [ETH, self.token_a.address]
        self.token_names = {ETH: "ETH", self.token_a.address: "TKA"}
        self.blocklist: Contract | None = None
        if (TEST_CONTRACTS / f"{BLOCKLIST_TOKEN}.sol").exists():
            blk = load_artifact(BLOCKLIST_TOKEN, test=True)
            abis.append([dict(item) for item in blk.abi])
            self.blocklist = self._deploy(blk, self.deployer)
            self.tokens.append(self.blocklist.address)
            self.token_names[self.blocklist.address] = "BLK"
        self.erc20s = {
            a: self.w3.eth.contract(address=cast(ChecksumAddress, a), abi=list(erc20.abi))
            for a in self.tokens[1:]
        }

        eoas = {
            "seller1": accounts[1],
            "buyer1": accounts[2],
            "arb1": accounts[3],
            "stranger": accounts[4],
            "seller2": accounts[5],
            "buyer2": accounts[6],
            "arb2": accounts[7],
        }
        self.actors: dict[str, Actor] = {n: Actor(n, a.address, a) for n, a in eoas.items()}
        for name, (contract_name, refuses_eth) in CONTRACT_ACTORS.items():
            if not (TEST_CONTRACTS / f"{contract_name}.sol").exists():
                continue
            art = load_artifact(contract_name, test=True)
            abis.append([dict(item) for item in art.abi])
            wallet = self._deploy(art, controller)
            self.actors[name] = Actor(name, wallet.address, controller, wallet, refuses_eth)
        self.by_address = {a.address: a for a in self.actors.values()}
        self.errors = _error_table(*abis)

        for actor in self.actors.values():
            for token in self.erc20s.values():
                self.transact(
                    self.deployer, token.address, _data(token.functions.mint(actor.address, MINT))
                )
                approve = _data(token.functions.approve(self.market.address, 2**256 - 1))
                self.send(actor, token.address, approve)

    # ------------------------------------------------------------------ plumbing

    def _deploy(self, artifact: Artifact, account: LocalAccount, *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
        receipt = send_transaction(
            self.w3, account, {"data": factory.constructor(*args).data_in_transaction}
        )
        address = receipt["contractAddress"]
        assert address, f"deploying {artifact} failed"
        return self.w3.eth.contract(address=address, abi=list(artifact.abi))

    def transact(self, account: LocalAccount, to: str, data: bytes, value: int = 0) -> TxReceipt:
        tx = {"to": to, "data": data, "value": value, "gas": TX_GAS}
        return send_transaction(self.w3, account, tx)  # type: ignore[arg-type]

    def route(self, actor: Actor, to: str, data: bytes, value: int) -> tuple[str, bytes]:
        """Where the signer's transaction goes, and with what data, to make ``actor`` call."""
        if actor.wallet is None:
            return to, data
        return actor.wallet.address, _data(actor.wallet.functions.execute(to, value, data))

    def simulate(self, actor: Actor, to: str, data: bytes, value: int = 0) -> tuple[bool, bytes]:
        target, payload = self.route(actor, to, data, value)
        return self.evm.simulate(actor.signer.address, target, payload, value)

    def send(self, actor: Actor, to: str, data: bytes, value: int = 0) -> TxReceipt:
        target, payload = self.route(actor, to, data, value)
        return self.transact(actor.signer, target, payload, value)

    def decode_error(self, data: bytes) -> tuple[str, tuple[Any, ...]]:
        selector, body = data[:4], data[4:]
        if selector not in self.errors:
            return "Unknown", (data.hex(),)
        name, types = self.errors[selector]
        return name, tuple(decode(types, body))

    # ------------------------------------------------------------------ reads

    def view(
        self, to: str, signature: str, args: tuple[Any, ...], out: list[str]
    ) -> tuple[Any, ...]:
        """Call a view function by its signature (encoded here: web3's encoder is slow)."""
        if signature not in self._selectors:
            _, _, params = signature.partition("(")
            self._selectors[signature] = (keccak(text=signature)[:4], _split_types(params[:-1]))
        selector, types = self._selectors[signature]
        return tuple(decode(out, self.evm.call(to, selector + encode(types, list(args)))))

    def balance(self, token: str, who: str) -> int:
        if token == ETH:
            return self.evm.eth_balance(who)
        return int(self.view(token, "balanceOf(address)", (who,), ["uint256"])[0])

    def credit(self, token: str, who: str) -> int:
        args = (token, who)
        return int(self.view(self.market.address, "credit(address,address)", args, ["uint256"])[0])

    def check_trade(self, trade_id: bytes, trade: Trade) -> tuple[bool, int]:
        current, rated = self.view(
            self.market.address,
            f"checkTrade(bytes32,{TRADE_T})",
            (trade_id, trade.as_tuple()),
            ["bool", "uint8"],
        )
        return bool(current), int(rated)

    def hash_trade(self, trade: Trade) -> int:
        args = (trade.as_tuple(),)
        return int(self.view(self.market.address, f"hashTrade({TRADE_T})", args, ["uint256"])[0])

    def hash_terms(self, terms: ListingTerms) -> bytes:
        args = (terms.as_tuple(),)
        return bytes(self.view(self.market.address, f"hashTerms({TERMS_T})", args, ["bytes32"])[0])

    def signed_digest(self, terms: ListingTerms, quantity: int, salt: bytes) -> bytes:
        sig = f"signedListingDigest({TERMS_T},uint32,bytes32)"
        args = (terms.as_tuple(), quantity, salt)
        return bytes(self.view(self.market.address, sig, args, ["bytes32"])[0])

    def listing_state(self, lid: bytes) -> tuple[bool, int, int, int]:
        live, tag, sold, remaining = self.view(
            self.market.address,
            "listingState(bytes32)",
            (lid,),
            ["bool", "uint256", "uint32", "uint32"],
        )
        return bool(live), int(tag), int(sold), int(remaining)

    def aggregate(self, subject: str, token: str) -> tuple[int, int, int]:
        ((count, score_sum, volume),) = self.view(
            self.reputation.address,
            "aggregate(address,address)",
            (subject, token),
            ["(uint32,uint40,uint184)"],
        )
        return int(count), int(score_sum), int(volume)


TRADE_T = "(address,address,address,address,uint16,uint256,uint256,uint40,uint8,uint8,uint256)"
TERMS_T = "(address,address,uint256,uint256,address,uint16,uint32,uint40,bytes8,bytes32)"


def _split_types(params: str) -> list[str]:
    """Split a signature's parameter list at top-level commas."""
    types, depth, current = [], 0, ""
    for ch in params:
        if ch == "," and depth == 0:
            types.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current:
        types.append(current)
    return types


@pytest.fixture(scope="module")
def inv_env(embedded_chain: EmbeddedChain) -> Iterator[Env]:
    """Marketplace, tokens and hostile accounts, deployed once for this module."""
    snap = embedded_chain.snapshot()
    yield Env(embedded_chain)
    embedded_chain.revert(snap)


# ================================================================================ the model


@dataclass(eq=False)
class MListing:
    """A listing as the model knows it."""

    id: bytes
    seller: Actor
    salt: bytes
    signed: bool
    terms: ListingTerms
    listed_quantity: int
    signature: bytes = b""
    genuine: bool = True  # the signature is the seller's (signed listings)
    # "unused" (signed, never bought), "live", "spent" (closed/cancelled), "taken" (by a trade)
    status: str = "live"
    sold: int = 0
    remaining: int = 0
    old_terms: list[ListingTerms] = field(default_factory=list)

    def __repr__(self) -> str:
        kind = "signed" if self.signed else "listed"
        return f"<{kind} {self.id.hex()[:8]} by {self.seller.name}>"


@dataclass(eq=False)
class MTrade:
    """A trade as the model knows it: its current value, its past values, what it paid out."""

    id: bytes
    trade: Trade
    listing: MListing
    history: list[Trade] = field(default_factory=list)
    paid_out: int = 0
    #: What the seller received (pushed or credited), measured on chain: a rating's value.
    seller_paid: int = 0
    rated: int = 0

    def __repr__(self) -> str:
        return f"<trade {self.id.hex()[:8]}>"


def _held(t: Trade) -> int:
    seller_pot, buyer_pot = t.held
    return seller_pot + buyer_pot


def _fee_and_rest(t: Trade) -> tuple[int, int]:
    """The arbitrator's fee (if the trade was disputed) and the rest of what the trade holds."""
    held = _held(t)
    fee = held * t.arbitrator_fee_bps // 10_000 if t.flags & WAS_DISPUTED else 0
    return fee, held - fee


def _seller_proceeds(t: Trade) -> int:
    """What a final trade's struct says the seller was paid (the contract's rating value)."""
    if t.state == TradeState.COMPLETED:
        return t.amount
    value = t.amount if t.flags & AMOUNT_RELEASED else 0
    if t.state in (TradeState.SETTLED, TradeState.RULED):
        value += _fee_and_rest(t)[1] - t.proposed_buyer_share
    return value


def _terms_error(terms: ListingTerms) -> Err:
    """``_validateTerms``, in the contract's order."""
    if terms.price == 0 or terms.price > MAX_UNIT or terms.deposit > MAX_UNIT:
        return "InvalidPrice", (terms.price, terms.deposit)
    if terms.arbitrator == terms.seller:
        return "ArbitratorIsParty", (terms.arbitrator,)
    if terms.arbitrator_fee_bps > MAX_FEE_BPS or (
        terms.arbitrator == ZERO_ADDRESS and terms.arbitrator_fee_bps != 0
    ):
        return "InvalidArbitratorFee", (terms.arbitrator_fee_bps,)
    if terms.review_window == 0 or terms.review_window > MAX_REVIEW_WINDOW:
        return "InvalidReviewWindow", (terms.review_window,)
    if terms.cid_prefix == bytes(8) or terms.cid_digest == bytes(32):
        return "InvalidCid", (terms.cid_prefix, terms.cid_digest)
    return None


# ================================================================================ strategies

SELLERS = ["seller1", "seller2", "rev", "bomb", "burn", "hungry"]
BUYERS = ["buyer1", "buyer2", "stranger", "rev", "bomb", "burn", "hungry", "seller1", "arb1"]
ARBITRATORS = ["none", "arb1", "arb1", "arb2", "arb2", "buyer1", "rev", "burn", "hungry"]
ROLES = ["buyer", "seller", "arbitrator", "other"]
TERM_MUTATIONS = [None] * 36 + [
    "price0",
    "price_big",
    "deposit_big",
    "arb_is_seller",
    "fee_big",
    "fee_without_arb",
    "window0",
    "window_big",
    "expiry_past",
    "expiry_now",
    "cid_prefix0",
    "cid_digest0",
]

terms_params = st.fixed_dictionaries(
    {
        "token": st.sampled_from([0, 0, 1, 2]),
        "price": st.one_of(
            st.integers(1, 10**6), st.integers(1, 10**17), st.sampled_from([1, MAX_UNIT])
        ),
        "deposit": st.one_of(
            st.just(0), st.just(0), st.integers(1, 10**17), st.sampled_from([1, MAX_UNIT])
        ),
        "arbitrator": st.sampled_from(ARBITRATORS),
        "fee": st.one_of(st.integers(0, MAX_FEE_BPS), st.sampled_from([0, MAX_FEE_BPS])),
        "window": st.one_of(
            st.integers(1, 3_600), st.integers(1, 30 * DAY), st.sampled_from([1, MAX_REVIEW_WINDOW])
        ),
        "expiry": st.sampled_from(["none", "none", "none", "soon", "later"]),
        "delta": st.integers(1, 30 * DAY),
        "digest": st.binary(min_size=32, max_size=32).filter(lambda b: any(b)),
        "mutation": st.sampled_from(TERM_MUTATIONS),
    }
)
#: Terms that always validate: for the listings that are bought at once.
valid_terms_params = terms_params.map(lambda p: {**p, "mutation": None, "expiry": "none"})
salts = st.one_of(
    st.sampled_from([bytes([i]) * 32 for i in range(1, 4)]), st.binary(min_size=32, max_size=32)
)
list_quantities = st.one_of(
    st.integers(1, 4), st.integers(1, 4), st.sampled_from([0, 2, U32]), st.integers(1, U32)
)
buy_quantities = st.one_of(
    st.integers(1, 3),
    st.sampled_from(["all", "all", "all", "all-1", "all+1", 0]),
    st.integers(1, U32),
)
versions = st.sampled_from(["current"] * 8 + ["stale", "forged", "wrong_id"])
shares = st.one_of(st.sampled_from(["zero", "all", "half", "all+1"]), st.integers(0, 2**64))
picks = st.integers(0, 1_000)


# ================================================================================ the machine


class MarketMachine(RuleBasedStateMachine):
    """Random actors against one Marketplace, predicted step by step by the model."""

    env: ClassVar[Env]
    stats: ClassVar[Counter[str]] = Counter()

    listings = Bundle("listings")
    trades = Bundle("trades")

    def __init__(self) -> None:
        super().__init__()
        env = self.env
        self.snap = env.chain.snapshot()
        self.latest = env.chain.latest_timestamp()  # timestamp of the last mined block
        self.now = self.latest + 1  # timestamp of the next block
        self.listing_by_id: dict[bytes, MListing] = {}
        self.trade_by_id: dict[bytes, MTrade] = {}
        self.spent_ids: set[bytes] = set()  # cancelled digests nobody signed
        self.credits: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.blocked: set[str] = set()  # addresses the blocklist token refuses
        self.aggregates: dict[tuple[str, str], tuple[int, int, int]] = {}
        self.tags: dict[Any, int] = {}
        self.touched: set[bytes] = set()  # trades changed since the last chain reading
        self.checked_at: dict[str, int] = {}  # invariant -> block it last read
        self.stats["examples"] += 1

    def teardown(self) -> None:
        self.env.chain.revert(self.snap)

    # ------------------------------------------------------------------ helpers

    def actor(self, name: str) -> Actor:
        """The named actor, or a stand-in EOA when that hostile contract is not available."""
        actors = self.env.actors
        return (
            actors.get(name)
            or actors[
                {"rev": "stranger", "bomb": "buyer2", "burn": "buyer1", "hungry": "seller2"}[name]
            ]
        )

    def actor_at(self, address: str) -> Actor:
        return self.env.by_address[address]

    def other_actor(self, exclude: set[str], pick: int) -> Actor:
        pool = [a for a in self.env.actors.values() if a.address not in exclude]
        return pool[pick % len(pool)]

    def token(self, index: int) -> str:
        return self.env.tokens[index % len(self.env.tokens)]

    def refuses(self, token: str, to: str) -> bool:
        """Whether a transfer of ``token`` from the escrow to ``to`` fails."""
        if token == ETH:
            return to in self.env.by_address and self.env.by_address[to].refuses_eth
        if self.env.blocklist is not None and token == self.env.blocklist.address:
            return to in self.blocked or self.env.market.address in self.blocked
        return False

    def record(self, rid: bytes) -> str | None:
        """What the contract stores under ``rid``: None, 'live', 'spent' or 'trade'."""
        listing = self.listing_by_id.get(rid)
        if listing is not None and listing.status != "unused":
            return {"live": "live", "spent": "spent", "taken": "trade"}[listing.status]
        if rid in self.spent_ids:
            return "spent"
        if rid in self.trade_by_id:
            return "trade"
        return None

    def tag(self, listing: MListing) -> int:
        key = listing.id if listing.signed else listing.terms
        if key not in self.tags:
            digest = listing.id if listing.signed else self.env.hash_terms(listing.terms)
            self.tags[key] = int.from_bytes(digest, "big") >> 65
        return self.tags[key]

    def make_terms(self, p: dict[str, Any], seller: Actor) -> ListingTerms:
        token = self.token(p["token"])
        price = p["price"] if token != ETH or p["price"] <= 10**17 else 10**17
        arbitrator = (
            ZERO_ADDRESS if p["arbitrator"] == "none" else self.actor(p["arbitrator"]).address
        )
        if arbitrator == seller.address:
            arbitrator = self.env.actors["arb2"].address
        fee = 0 if arbitrator == ZERO_ADDRESS else p["fee"]
        expiry = {
            "none": 0,
            "soon": self.now + p["delta"] % 3_600 + 1,
            "later": self.now + p["delta"],
        }[p["expiry"]]
        values: dict[str, Any] = {
            "seller": seller.address,
            "token": token,
            "price": price,
            "deposit": p["deposit"] if token != ETH or p["deposit"] <= 10**17 else 10**17,
            "arbitrator": arbitrator,
            "arbitrator_fee_bps": fee,
            "review_window": p["window"],
            "expiry": expiry,
            "cid_prefix": CIDV0_PREFIX,
            "cid_digest": p["digest"],
        }
        mutation = p["mutation"]
        if mutation is not None:
            mutations: dict[str, dict[str, Any]] = {
                "price0": {"price": 0},
                "price_big": {"price": MAX_UNIT + 1},
                "deposit_big": {"deposit": MAX_UNIT + 1},
                "arb_is_seller": {"arbitrator": seller.address},
                "fee_big": {"arbitrator_fee_bps": MAX_FEE_BPS + 1 + p["fee"] * 64},
                "fee_without_arb": {
                    "arbitrator": ZERO_ADDRESS,
                    "arbitrator_fee_bps": p["fee"] or 1,
                },
                "window0": {"review_window": 0},
                "window_big": {"review_window": MAX_REVIEW_WINDOW + 1 + p["window"]},
                "expiry_past": {"expiry": max(1, self.now - p["delta"])},
                "expiry_now": {"expiry": self.now},
                "cid_prefix0": {"cid_prefix": bytes(8)},
                "cid_digest0": {"cid_digest": bytes(32)},
            }
            values.update(mutations[mutation])
        return ListingTerms(**values)

    def attempt(
        self, label: str, actor: Actor, to: str, data: bytes, expected: Err, value: int = 0
    ) -> TxReceipt | None:
        """Simulate the call on the pending block, check the predicted outcome, send it if it
        succeeds. Returns the receipt, or None when it (as predicted) reverts."""
        env = self.env
        env.chain.set_next_timestamp(self.now)
        ok, out = env.simulate(actor, to, data, value)
        actual: Err = None if ok else env.decode_error(out)
        note(f"  {label} by {actor.name} at t={self.now}: {self.describe(expected)}")
        assert _norm(actual) == _norm(expected), (
            f"{label} by {actor.name} at t={self.now}: the model expected "
            f"{self.describe(expected)}, the chain gave {self.describe(actual)}"
        )
        self.stats[f"{label}: {expected[0] if expected else 'ok'}"] += 1
        self.stats["calls"] += 1
        if not ok:
            return None
        receipt = env.send(actor, to, data, value)
        assert env.evm.head_timestamp() == self.now
        self.latest = self.now
        self.now += 1
        self.stats["transactions"] += 1
        return receipt

    def describe(self, outcome: Err) -> str:
        """An outcome for people: ids shortened, addresses by actor name."""
        if outcome is None:
            return "success"
        names = {a.address.lower(): a.name for a in self.env.actors.values()}
        names[self.env.market.address.lower()] = "market"

        def show(v: Any) -> str:
            if isinstance(v, bytes | bytearray):
                return "0x" + bytes(v).hex()[:8]
            if isinstance(v, str) and v.lower() in names:
                return names[v.lower()]
            return repr(v)

        name, args = outcome
        return f"{name}({', '.join(show(a) for a in args)})"

    def market_events(self, receipt: TxReceipt) -> list[tuple[str, Any]]:
        return receipt_events(self.env.market, receipt)

    # ------------------------------------------------------------------ listings

    @rule(
        target=listings,
        p=terms_params,
        seller=st.sampled_from(SELLERS),
        impostor=st.sampled_from([None] * 9 + ["stranger"]),
        salt=salts,
        quantity=list_quantities,
    )
    def list_onchain(
        self, p: dict[str, Any], seller: str, impostor: str | None, salt: bytes, quantity: int
    ) -> Any:
        owner = self.actor(seller)
        caller = self.actor(impostor) if impostor else owner
        terms = self.make_terms(p, owner)
        lid = listing_id(caller.address, salt)
        expected: Err
        if terms.seller != caller.address:
            expected = "NotSeller", (caller.address, terms.seller)
        elif quantity == 0:
            expected = "ZeroQuantity", ()
        elif (err := _terms_error(terms)) is not None:
            expected = err
        elif terms.expiry != 0 and terms.expiry <= self.now:
            expected = "InvalidExpiry", (terms.expiry,)
        elif self.record(lid) is not None:
            expected = "ListingExists", (lid,)
        else:
            expected = None
        fn = self.env.market.functions.list(terms.as_tuple(), salt, quantity)
        receipt = self.attempt("list", caller, self.env.market.address, _data(fn), expected)
        if receipt is None:
            return multiple()
        events = self.market_events(receipt)
        assert [(n, bytes(a["listingId"])) for n, a in events] == [("Listed", lid)]
        listing = MListing(
            id=lid,
            seller=owner,
            salt=salt,
            signed=False,
            terms=terms,
            listed_quantity=quantity,
            status="live",
            remaining=quantity,
        )
        self.listing_by_id[lid] = listing
        return listing

    @rule(
        target=listings,
        p=terms_params,
        seller=st.sampled_from(SELLERS),
        forged=st.sampled_from([False] * 7 + [True]),
        salt=salts,
        quantity=list_quantities,
    )
    def sign_listing(
        self, p: dict[str, Any], seller: str, forged: bool, salt: bytes, quantity: int
    ) -> Any:
        env = self.env
        owner = self.actor(seller)
        terms = self.make_terms(p, owner)
        digest = env.signed_digest(terms, quantity, salt)
        if digest in self.listing_by_id:
            return self.listing_by_id[digest]
        signature = b""
        if owner.wallet is None:
            signer = env.actors["stranger"].signer if forged else owner.signer
            data = signed_listing_typed_data(
                terms, quantity, salt, chain_id=env.chain.chain_id, marketplace=env.market.address
            )
            signature = bytes(signer.sign_typed_data(full_message=data).signature)
        elif not forged:
            # ERC-1271: the contract seller approves the digest (its owner's transaction).
            approve = _data(owner.wallet.functions.approveHash(digest, True))
            env.chain.set_next_timestamp(self.now)
            env.transact(owner.signer, owner.wallet.address, approve)
            self.latest, self.now = self.now, self.now + 1
        listing = MListing(
            id=digest,
            seller=owner,
            salt=salt,
            signed=True,
            terms=terms,
            listed_quantity=quantity,
            signature=signature,
            genuine=not forged,
            status="spent" if digest in self.spent_ids else "unused",
        )
        self.listing_by_id[digest] = listing
        self.stats["sign_listing"] += 1
        return listing

    @rule(
        listing=listings,
        op=st.sampled_from(["update", "update", "close", "cancel"]),
        p=terms_params,
        who=st.sampled_from(["seller"] * 6 + ["other"]),
        pick=picks,
        mode=st.sampled_from(["same", "new", "new", "foreign_seller"]),
        remaining=list_quantities,
        tamper=st.sampled_from([False] * 5 + [True]),
    )
    def manage_listing(
        self,
        listing: MListing,
        op: str,
        p: dict[str, Any],
        who: str,
        pick: int,
        mode: str,
        remaining: int,
        tamper: bool,
    ) -> None:
        """Update or close an on-chain listing, or cancel a signed one (by its seller or not)."""
        if op == "update":
            self.update_listing(listing, p, who, pick, mode, remaining)
        elif op == "close":
            self.close_listing(listing, who, pick)
        else:
            self.cancel_signed(listing, who, pick, tamper)

    def update_listing(
        self, listing: MListing, p: dict[str, Any], who: str, pick: int, mode: str, remaining: int
    ) -> None:
        caller = (
            listing.seller if who == "seller" else self.other_actor({listing.seller.address}, pick)
        )
        target = self.listing_by_id.get(listing_id(caller.address, listing.salt))
        if target is not None and target.signed:
            target = None
        if mode == "same":
            terms = listing.terms if target is None else target.terms
        else:
            terms = self.make_terms(p, caller)
            if mode == "foreign_seller":
                terms = replace(terms, seller=self.other_actor({caller.address}, pick).address)
        lid = listing_id(caller.address, listing.salt)
        expected: Err
        if target is None or target.status != "live":
            expected = "ListingNotActive", (lid,)
        elif terms.seller != caller.address:
            expected = "NotSeller", (caller.address, terms.seller)
        elif remaining == 0:
            expected = "ZeroQuantity", ()
        elif (err := _terms_error(terms)) is not None:
            expected = err
        elif terms.expiry != 0 and terms.expiry <= self.now:
            expected = "InvalidExpiry", (terms.expiry,)
        else:
            expected = None
        fn = self.env.market.functions.updateListing(listing.salt, terms.as_tuple(), remaining)
        receipt = self.attempt(
            "updateListing", caller, self.env.market.address, _data(fn), expected
        )
        if receipt is None:
            return
        assert target is not None
        events = self.market_events(receipt)
        assert [(n, bytes(a["listingId"]), a["remaining"]) for n, a in events] == [
            ("ListingUpdated", lid, remaining)
        ]
        if terms != target.terms:
            target.old_terms.append(target.terms)
        target.terms = terms
        target.remaining = remaining

    def close_listing(self, listing: MListing, who: str, pick: int) -> None:
        caller = (
            listing.seller if who == "seller" else self.other_actor({listing.seller.address}, pick)
        )
        lid = listing_id(caller.address, listing.salt)
        target = self.listing_by_id.get(lid)
        expected: Err = None if self.record(lid) == "live" else ("ListingNotActive", (lid,))
        fn = self.env.market.functions.closeListing(listing.salt)
        receipt = self.attempt("closeListing", caller, self.env.market.address, _data(fn), expected)
        if receipt is None:
            return
        assert target is not None
        assert [n for n, _ in self.market_events(receipt)] == ["ListingClosed"]
        target.status = "spent"

    def cancel_signed(self, listing: MListing, who: str, pick: int, tamper: bool) -> None:
        caller = (
            listing.seller if who == "seller" else self.other_actor({listing.seller.address}, pick)
        )
        quantity = (listing.listed_quantity + 1) % 2**32 if tamper else listing.listed_quantity
        digest = self.env.signed_digest(listing.terms, quantity, listing.salt)
        rec = self.record(digest)
        expected: Err
        if listing.terms.seller != caller.address:
            expected = "NotSeller", (caller.address, listing.terms.seller)
        elif rec is not None and rec != "live":
            expected = "ListingNotActive", (digest,)
        else:
            expected = None
        fn = self.env.market.functions.cancelSignedListing(
            listing.terms.as_tuple(), quantity, listing.salt
        )
        receipt = self.attempt(
            "cancelSignedListing", caller, self.env.market.address, _data(fn), expected
        )
        if receipt is None:
            return
        assert [(n, bytes(a["listingId"])) for n, a in self.market_events(receipt)] == [
            ("ListingClosed", digest)
        ]
        target = self.listing_by_id.get(digest)
        if target is not None:
            target.status = "spent"
        else:
            self.spent_ids.add(digest)

    # ------------------------------------------------------------------ buying

    def _buy(
        self, listing: MListing, buyer_name: str, qty: Any, seen: str, pay: str, pick: int
    ) -> Any:
        env = self.env
        buyer = self.actor(buyer_name)
        terms = listing.terms
        if seen == "stale" and listing.old_terms:
            terms = listing.old_terms[pick % len(listing.old_terms)]
        elif seen == "tampered":
            terms = replace(terms, price=terms.price + 1)
        listed_quantity = listing.listed_quantity

        # Which record the call reaches, and what it holds.
        if listing.signed:
            lid = (
                listing.id
                if terms == listing.terms
                else env.signed_digest(terms, listed_quantity, listing.salt)
            )
        else:
            lid = listing.id
        target = self.listing_by_id.get(lid)
        rec = self.record(lid)
        if target is not None and target.status == "unused":
            sold, remaining = 0, listed_quantity
        elif target is not None:
            sold, remaining = target.sold, target.remaining
        else:
            sold, remaining = 0, listed_quantity

        if qty == "all":
            quantity = remaining
        elif qty == "all-1":
            quantity = max(remaining - 1, 0)
        elif qty == "all+1":
            quantity = min(remaining + 1, U32)
        else:
            quantity = qty
        # The dev accounts hold 10,000 ether (the contract accounts' owner pays for all three).
        budget = min(ETH_BUDGET, env.evm.eth_balance(buyer.signer.address) - 10**18)
        if terms.token == ETH and (terms.price + terms.deposit) * quantity > budget:
            quantity = 1
        total = (terms.price + terms.deposit) * quantity
        if terms.token == ETH:
            value = {"exact": total, "more": total + 1, "less": max(total - 1, 0)}[pay]
            if value > budget:
                self.stats["buy skipped (unaffordable)"] += 1
                return multiple()
        else:
            value = {"exact": 0, "more": 1, "less": 0}[pay]

        expected: Err = None
        first_use = False
        if listing.signed:
            if rec is None:
                first_use = True
                if (err := _terms_error(terms)) is not None:
                    expected = err
                elif listed_quantity == 0:
                    expected = "ZeroQuantity", ()
                elif not (target is listing and listing.genuine):
                    expected = "InvalidSignature", (lid, terms.seller)
            elif rec != "live":
                expected = "ListingNotActive", (lid,)
        elif rec != "live":
            expected = "ListingNotActive", (lid,)
        elif terms != listing.terms:
            expected = "TermsChanged", (lid,)
        after = remaining - quantity
        if expected is not None:
            pass
        elif quantity == 0:
            expected = "ZeroQuantity", ()
        elif terms.expiry != 0 and self.now >= terms.expiry:
            expected = "ListingExpired", (lid, terms.expiry)
        elif buyer.address == terms.seller:
            expected = "SelfPurchase", (buyer.address,)
        elif buyer.address == terms.arbitrator:
            expected = "ArbitratorIsParty", (buyer.address,)
        elif quantity > remaining:
            expected = "InsufficientQuantity", (lid, remaining, quantity)
        elif after != 0 and sold + quantity > U32:
            expected = "QuantityOverflow", (lid,)
        elif terms.token == ETH and value != total:
            expected = "WrongPayment", (total, value)
        elif terms.token != ETH and value != 0:
            expected = "WrongPayment", (0, value)
        elif terms.token != ETH and self.refuses_pull(terms.token, buyer.address):
            blocked = buyer.address if buyer.address in self.blocked else env.market.address
            expected = "AccountBlocked", (blocked,)

        if listing.signed:
            fn = env.market.functions.buySigned(
                terms.as_tuple(), listed_quantity, listing.salt, listing.signature, quantity
            )
        else:
            fn = env.market.functions.buy(lid, terms.as_tuple(), quantity)
        escrow_before = env.balance(terms.token, env.market.address)
        receipt = self.attempt(
            "buySigned" if listing.signed else "buy",
            buyer,
            env.market.address,
            _data(fn),
            expected,
            value,
        )
        if receipt is None:
            return multiple()
        assert target is not None

        trade_id = lid if after == 0 else partial_trade_id(lid, sold)
        events = self.market_events(receipt)
        purchased = [(n, a) for n, a in events if n == "Purchased"]
        assert len(purchased) == 1
        args = purchased[0][1]
        assert bytes(args["tradeId"]) == trade_id
        assert bytes(args["listingId"]) == lid
        assert (args["quantity"], args["remaining"]) == (quantity, after)
        assert _norm(args["buyer"]) == _norm(buyer.address)
        assert [n for n, _ in events] == (["SignedListingUsed"] if first_use else []) + [
            "Purchased"
        ]
        assert env.balance(terms.token, env.market.address) == escrow_before + total

        target.status = "taken" if after == 0 else "live"
        target.sold = sold + quantity
        target.remaining = after
        trade = MTrade(
            id=trade_id,
            trade=open_trade(terms, buyer.address, quantity, self.now - 1),
            listing=target,
        )
        assert trade.trade.amount + trade.trade.deposit == total
        self.trade_by_id[trade_id] = trade
        return trade

    def refuses_pull(self, token: str, buyer: str) -> bool:
        return (
            self.env.blocklist is not None
            and token == self.env.blocklist.address
            and (buyer in self.blocked or self.env.market.address in self.blocked)
        )

    @rule(
        target=trades,
        listing=listings,
        buyer=st.sampled_from(BUYERS),
        qty=buy_quantities,
        seen=st.sampled_from(["current"] * 8 + ["stale", "tampered"]),
        pay=st.sampled_from(["exact"] * 10 + ["more", "less"]),
        pick=picks,
    )
    def buy(self, listing: MListing, buyer: str, qty: Any, seen: str, pay: str, pick: int) -> Any:
        return self._buy(listing, buyer, qty, seen, pay, pick)

    @rule(target=trades, listing=listings, buyer=st.sampled_from(BUYERS), qty=st.integers(1, 2))
    def buy_plain(self, listing: MListing, buyer: str, qty: int) -> Any:
        return self._buy(listing, buyer, qty, "current", "exact", 0)

    @rule(
        target=trades,
        p=valid_terms_params,
        seller=st.sampled_from(SELLERS),
        buyer=st.sampled_from(BUYERS),
        signed=st.booleans(),
        salt=salts,
        quantity=st.integers(1, 3),
    )
    def list_and_buy(
        self, p: dict[str, Any], seller: str, buyer: str, signed: bool, salt: bytes, quantity: int
    ) -> Any:
        """A valid listing bought at once: keeps trades coming."""
        if signed:
            listing = self.sign_listing(p, seller, False, salt, quantity)
        else:
            listing = self.list_onchain(p, seller, None, salt, quantity)
        if not isinstance(listing, MListing):
            return multiple()
        return self._buy(listing, buyer, 1, "current", "exact", 0)

    @initialize(
        target=trades,
        p=valid_terms_params,
        seller=st.sampled_from(SELLERS),
        buyer=st.sampled_from(BUYERS),
        signed=st.booleans(),
        salt=salts,
        quantity=st.integers(1, 3),
    )
    def first_trade(
        self, p: dict[str, Any], seller: str, buyer: str, signed: bool, salt: bytes, quantity: int
    ) -> Any:
        """Every run starts with a trade, so that the trade rules have work from step one."""
        return self.list_and_buy(p, seller, buyer, signed, salt, quantity)

    @initialize(
        target=trades,
        p=valid_terms_params,
        seller=st.sampled_from(SELLERS),
        buyer=st.sampled_from(BUYERS),
        signed=st.booleans(),
        salt=salts,
        quantity=st.integers(1, 3),
    )
    def second_trade(
        self, p: dict[str, Any], seller: str, buyer: str, signed: bool, salt: bytes, quantity: int
    ) -> Any:
        return self.list_and_buy(p, seller, buyer, signed, salt, quantity)

    @initialize(
        target=trades,
        p=valid_terms_params,
        seller=st.sampled_from(SELLERS),
        buyer=st.sampled_from(BUYERS),
        by=st.sampled_from(["buyer", "seller"]),
        salt=salts,
    )
    def disputed_trade(
        self, p: dict[str, Any], seller: str, buyer: str, by: str, salt: bytes
    ) -> Any:
        """And with a disputed trade, so that rulings and ruling timeouts are reached often."""
        if p["arbitrator"] == "none":
            p = {**p, "arbitrator": "arb1"}
        trade = self.list_and_buy(p, seller, buyer, False, salt, 1)
        if isinstance(trade, MTrade):
            self._settle(trade, "dispute", by, "current", 0, 0)
        return trade

    # ------------------------------------------------------------------ settling

    def _passed(self, trade: MTrade, version: str, pick: int) -> tuple[bytes, Trade]:
        """The (id, trade) a caller passes: the current one, an old one, or a wrong one."""
        if version == "stale" and trade.history:
            return trade.id, trade.history[pick % len(trade.history)]
        if version == "forged":
            return trade.id, replace(trade.trade, amount=trade.trade.amount + 1)
        if version == "wrong_id":
            return keccak(b"no such trade" + trade.id), trade.trade
        return trade.id, trade.trade

    def _caller(self, t: Trade, role: str, pick: int) -> Actor:
        if role == "buyer":
            return self.actor_at(t.buyer)
        if role == "seller":
            return self.actor_at(t.seller)
        if role == "arbitrator" and t.arbitrator in self.env.by_address:
            return self.actor_at(t.arbitrator)
        return self.other_actor({t.buyer, t.seller, t.arbitrator}, pick)

    def _share(self, share: Any, available: int) -> int:
        if share == "zero":
            return 0
        if share == "all":
            return available
        if share == "half":
            return available // 2
        if share == "all+1":
            return available + 1
        return int(share) % (available + 2) if available < 2**64 else int(share)

    def _predict(
        self, action: str, tid: bytes, t: Trade, caller: str, share: int
    ) -> tuple[Err, Trade | None, list[tuple[str, int]]]:
        """The contract's settlement functions, in their order of checks.

        Returns the expected error, or the new trade and the payouts in order.
        """
        known = self.trade_by_id.get(tid)
        if known is None or known.trade != t:
            return ("UnknownTrade", (tid,)), None, []
        state = t.state
        is_open = state in (TradeState.PAID, TradeState.DISPUTED)
        seller_pot, buyer_pot = t.held
        held = seller_pot + buyer_pot
        not_in_state: Err = ("TradeNotInState", (tid, int(state)))
        unauthorized: Err = ("Unauthorized", (tid, caller))

        needs_open = (
            "release",
            "returnDeposit",
            "refund",
            "proposeSettlement",
            "withdrawProposal",
            "acceptSettlement",
        )
        if action in needs_open and not is_open:
            return not_in_state, None, []

        if action == "release":
            if caller != t.buyer:
                return unauthorized, None, []
            if t.flags & AMOUNT_RELEASED:
                return ("NothingToRelease", (tid,)), None, []
            flags = (t.flags | AMOUNT_RELEASED) & ~PROPOSAL_MASK
            done = t.deposit == 0 or bool(flags & DEPOSIT_RETURNED)
            new = replace(
                t,
                flags=flags,
                proposed_buyer_share=0,
                state=TradeState.COMPLETED if done else state,
            )
            return None, new, [(t.seller, t.amount)]
        if action == "returnDeposit":
            if caller != t.seller:
                return unauthorized, None, []
            if t.deposit == 0 or t.flags & DEPOSIT_RETURNED:
                return ("NothingToRelease", (tid,)), None, []
            flags = (t.flags | DEPOSIT_RETURNED) & ~PROPOSAL_MASK
            done = bool(flags & AMOUNT_RELEASED)
            new = replace(
                t,
                flags=flags,
                proposed_buyer_share=0,
                state=TradeState.COMPLETED if done else state,
            )
            return None, new, [(t.buyer, t.deposit)]
        if action == "refund":
            if caller != t.seller:
                return unauthorized, None, []
            return None, replace(t, state=TradeState.REFUNDED), [(t.buyer, held)]
        if action == "finalize":
            if state != TradeState.PAID:
                return not_in_state, None, []
            if self.now < t.deadline:
                return ("WindowOpen", (tid, t.deadline)), None, []
            new = replace(t, state=TradeState.COMPLETED)
            return None, new, [(t.seller, seller_pot), (t.buyer, buyer_pot)]
        if action == "dispute":
            if state != TradeState.PAID:
                return not_in_state, None, []
            if t.arbitrator == ZERO_ADDRESS:
                return ("NoArbitrator", (tid,)), None, []
            if self.now >= t.deadline:
                return ("WindowClosed", (tid, t.deadline)), None, []
            if caller == t.buyer:
                if t.flags & AMOUNT_RELEASED:
                    return unauthorized, None, []
            elif caller == t.seller:
                if t.flags & DEPOSIT_RETURNED:
                    return unauthorized, None, []
            else:
                return unauthorized, None, []
            new = replace(
                t,
                state=TradeState.DISPUTED,
                deadline=self.now + RULING_WINDOW,
                flags=(t.flags & ~PROPOSAL_MASK) | WAS_DISPUTED,
                proposed_buyer_share=0,
            )
            return None, new, []
        if action == "proposeSettlement":
            if caller == t.buyer:
                bit = PROPOSED_BY_BUYER
            elif caller == t.seller:
                bit = PROPOSED_BY_SELLER
            else:
                return unauthorized, None, []
            if self.now >= t.deadline:
                return ("WindowClosed", (tid, t.deadline)), None, []
            _, available = _fee_and_rest(t)
            if share > available:
                return ("ShareTooLarge", (tid, share, available)), None, []
            new = replace(t, flags=(t.flags & ~PROPOSAL_MASK) | bit, proposed_buyer_share=share)
            return None, new, []
        if action == "withdrawProposal":
            proposer = t.flags & PROPOSAL_MASK
            if proposer == 0:
                return ("NoProposal", (tid,)), None, []
            if caller != (t.buyer if proposer == PROPOSED_BY_BUYER else t.seller):
                return unauthorized, None, []
            new = replace(t, flags=t.flags & ~PROPOSAL_MASK, proposed_buyer_share=0)
            return None, new, []
        if action == "acceptSettlement":
            proposer = t.flags & PROPOSAL_MASK
            if proposer == 0:
                return ("NoProposal", (tid,)), None, []
            acceptor = t.seller if proposer == PROPOSED_BY_BUYER else t.buyer
            if caller != acceptor:
                return unauthorized, None, []
            if self.now >= t.deadline:
                return ("WindowClosed", (tid, t.deadline)), None, []
            buyer_share = t.proposed_buyer_share
            fee, available = _fee_and_rest(t)
            assert buyer_share <= available, "a standing proposal exceeds what can be split"
            new = replace(t, state=TradeState.SETTLED)
            payouts = [
                (t.arbitrator, fee),
                (t.buyer, buyer_share),
                (t.seller, available - buyer_share),
            ]
            return None, new, payouts
        if action == "rule":
            if state != TradeState.DISPUTED:
                return not_in_state, None, []
            if caller != t.arbitrator:
                return unauthorized, None, []
            if self.now >= t.deadline:
                return ("WindowClosed", (tid, t.deadline)), None, []
            fee, available = _fee_and_rest(t)
            assert fee == held * t.arbitrator_fee_bps // 10_000, "a disputed trade lost its flag"
            if share > available:
                return ("ShareTooLarge", (tid, share, available)), None, []
            new = replace(
                t,
                state=TradeState.RULED,
                flags=t.flags & ~PROPOSAL_MASK,
                proposed_buyer_share=share,
            )
            return None, new, [(t.arbitrator, fee), (t.buyer, share), (t.seller, available - share)]
        if action == "claimRulingTimeout":
            if state != TradeState.DISPUTED:
                return not_in_state, None, []
            if self.now < t.deadline:
                return ("WindowOpen", (tid, t.deadline)), None, []
            return None, replace(t, state=TradeState.RULING_TIMED_OUT), [(t.buyer, held)]
        raise AssertionError(action)

    def _settle(
        self, trade: MTrade, action: str, role: str, version: str, share_choice: Any, pick: int
    ) -> None:
        env = self.env
        tid, passed = self._passed(trade, version, pick)
        cur = trade.trade
        caller = self._caller(cur, role, pick)
        if action == "rule":
            held = _held(passed) if passed.state.is_open else 0
            fee = held * passed.arbitrator_fee_bps // 10_000
            share = self._share(share_choice, held - fee)
        else:  # a proposal splits what is left after the fee of a disputed trade
            available = _fee_and_rest(passed)[1] if passed.state.is_open else 0
            share = self._share(share_choice, available)
        expected, new, payouts = self._predict(action, tid, passed, caller.address, share)
        extra: tuple[Any, ...] = (share,) if action in ("rule", "proposeSettlement") else ()
        fn = getattr(env.market.functions, action)(tid, passed.as_tuple(), *extra)

        token = cur.token
        watch = sorted(
            {cur.buyer, cur.seller, cur.arbitrator, caller.signer.address} - {ZERO_ADDRESS}
        )
        before: dict[str, tuple[int, int]] = {}
        escrow_before = 0
        if expected is None:  # a call that reverts moves nothing: measure only the others
            before = {a: (env.balance(token, a), env.credit(token, a)) for a in watch}
            escrow_before = env.balance(token, env.market.address)
        was_final = cur.state.is_final

        receipt = self.attempt(action, caller, env.market.address, _data(fn), expected)
        if receipt is None:
            return
        assert new is not None and not was_final, "a final trade was settled again"

        # Events: the trade's transition, as p2pchain.chain._model rebuilds it, and the credits.
        events = self.market_events(receipt)
        rebuilt = cur
        for name, args in events:
            if "tradeId" in args and bytes(args["tradeId"]) == tid:
                rebuilt = apply_event(rebuilt, name, args, self.now - 1)
        assert rebuilt == new, (
            f"p2pchain.chain._model rebuilt {rebuilt}, the machine predicted {new}"
        )
        payouts = [(to, amount) for to, amount in payouts if amount > 0]
        credited = [(to, amount) for to, amount in payouts if self.refuses(token, to)]
        got_credits = [(_norm(a["account"]), a["amount"]) for n, a in events if n == "Credited"]
        assert got_credits == [(_norm(to), amount) for to, amount in credited]

        # Every payout measured on chain: the payee's balance change plus its credit change.
        gas_cost = int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        owed: defaultdict[str, int] = defaultdict(int)
        for to, amount in payouts:
            owed[to] += amount
        measured = 0
        for a in watch:
            balance, credit = env.balance(token, a), env.credit(token, a)
            delta = balance - before[a][0] + credit - before[a][1]
            if token == ETH and a == caller.signer.address:
                delta += gas_cost
            assert delta == owed[a], f"{a} received {delta}, expected {owed[a]} ({action})"
            measured += delta
        pushed = sum(amount for _, amount in payouts) - sum(amount for _, amount in credited)
        assert env.balance(token, env.market.address) == escrow_before - pushed
        for to, amount in credited:
            self.credits[(token, to)] += amount
            self.stats[f"credited ({env.token_names[token]})"] += 1

        trade.history.append(cur)
        trade.trade = new
        self.touched.add(trade.id)
        trade.paid_out += measured
        trade.seller_paid += owed[cur.seller]

    def _focus(self, trade: MTrade, focus: str, pick: int) -> MTrade:
        """The trade a targeted rule acts on: the drawn one, or (when it is not already one) an
        open, disputed or final trade, so that those rules keep finding work as trades end."""
        wanted = {
            "open": lambda t: t.state.is_open,
            "disputed": lambda t: t.state == TradeState.DISPUTED,
            "final": lambda t: t.state.is_final,
        }.get(focus)
        if wanted is None or wanted(trade.trade):
            return trade
        pool = [t for t in self.trade_by_id.values() if wanted(t.trade)]
        if not pool:
            return trade
        chosen = pool[pick % len(pool)]
        note(f"  acting on {chosen} ({focus}) instead of {trade}")
        return chosen

    def _right_role(self, trade: MTrade, action: str, role: str) -> str:
        """The party entitled to ``action`` (``role`` where anyone may call)."""
        proposer = trade.trade.flags & PROPOSAL_MASK
        party = "seller" if role == "seller" else "buyer"
        return {
            "release": "buyer",
            "returnDeposit": "seller",
            "refund": "seller",
            "finalize": role,
            "dispute": party,
            "proposeSettlement": party,
            "withdrawProposal": "buyer" if proposer == PROPOSED_BY_BUYER else "seller",
            "acceptSettlement": "seller" if proposer == PROPOSED_BY_BUYER else "buyer",
            "rule": "arbitrator",
            "claimRulingTimeout": role,
        }[action]

    @rule(
        trade=trades,
        action=st.sampled_from(
            [
                "release",
                "returnDeposit",
                "refund",
                "finalize",
                "dispute",
                "proposeSettlement",
                "withdrawProposal",
                "acceptSettlement",
                "rule",
                "claimRulingTimeout",
            ]
        ),
        role=st.sampled_from(ROLES),
        version=versions,
        share=shares,
        pick=picks,
    )
    def settle_anyhow(
        self, trade: MTrade, action: str, role: str, version: str, share: Any, pick: int
    ) -> None:
        """Any settlement call, by anyone, with current, stale or forged trade data."""
        self._settle(trade, action, role, version, share, pick)

    @rule(
        trade=trades,
        action=st.sampled_from(["release", "release", "returnDeposit", "refund"]),
        right=st.sampled_from([True] * 5 + [False]),
        role=st.sampled_from(ROLES),
        focus=st.sampled_from(["drawn", "open", "open", "open"]),
        pick=picks,
    )
    def release_or_refund(
        self, trade: MTrade, action: str, right: bool, role: str, focus: str, pick: int
    ) -> None:
        """The parties giving funds up: release, return the deposit, refund."""
        trade = self._focus(trade, focus, pick)
        role = self._right_role(trade, action, role) if right else role
        self._settle(trade, action, role, "current", 0, pick)

    @rule(
        trade=trades,
        action=st.sampled_from(
            ["next", "next", "next", "dispute", "rule", "claimRulingTimeout", "finalize"]
        ),
        right=st.sampled_from([True] * 5 + [False]),
        role=st.sampled_from(ROLES),
        version=versions,
        share=shares,
        focus=st.sampled_from(["drawn", "open", "disputed", "disputed"]),
        timing=st.sampled_from(["now", "now", "now", "wait", "wait", "wait+1", "flip"]),
        pick=picks,
    )
    def dispute_path(
        self,
        trade: MTrade,
        action: str,
        right: bool,
        role: str,
        version: str,
        share: Any,
        focus: str,
        timing: str,
        pick: int,
    ) -> None:
        """Disputes, rulings, ruling timeouts and finalization, where the clock matters.

        ``next`` is the call that moves the trade on from its current state: dispute (or finalize
        once the window has closed), then rule (or claim the timeout once the ruling window has).
        """
        trade = self._focus(trade, focus, pick)
        if action == "next":
            # The call the clock allows now, or after waiting the window out (to the second, or
            # one more); or ("flip") the one it just stopped, or does not yet, allow.
            t = trade.trade
            if timing.startswith("wait") and t.deadline >= self.now:
                self.now = t.deadline + (timing == "wait+1")
                note(f"  waited until t={self.now}")
            late = (self.now >= t.deadline) != (timing == "flip")
            if t.state == TradeState.DISPUTED:
                action = "claimRulingTimeout" if late else "rule"
            else:
                action = "finalize" if late or t.arbitrator == ZERO_ADDRESS else "dispute"
        role = self._right_role(trade, action, role) if right else role
        self._settle(trade, action, role, version, share, pick)

    @rule(
        trade=trades,
        action=st.sampled_from(
            ["proposeSettlement", "proposeSettlement", "acceptSettlement", "withdrawProposal"]
        ),
        right=st.sampled_from([True] * 5 + [False]),
        role=st.sampled_from(ROLES),
        share=shares,
        focus=st.sampled_from(["drawn", "open", "open", "open"]),
        pick=picks,
    )
    def negotiate(
        self,
        trade: MTrade,
        action: str,
        right: bool,
        role: str,
        share: Any,
        focus: str,
        pick: int,
    ) -> None:
        """Settlement proposals, acceptances and withdrawals, one call at a time."""
        trade = self._focus(trade, focus, pick)
        role = self._right_role(trade, action, role) if right else role
        self._settle(trade, action, role, "current", share, pick)

    @rule(
        trade=trades,
        role=st.sampled_from(["buyer", "seller"]),
        share=shares,
        focus=st.sampled_from(["drawn", "open", "open", "open"]),
        pick=picks,
    )
    def settle_by_agreement(
        self, trade: MTrade, role: str, share: Any, focus: str, pick: int
    ) -> None:
        """Propose, then accept straight away: the common happy path."""
        trade = self._focus(trade, focus, pick)
        other = "seller" if role == "buyer" else "buyer"
        self._settle(trade, "proposeSettlement", role, "current", share, pick)
        self._settle(trade, "acceptSettlement", other, "current", share, pick)

    # ------------------------------------------------------------------ the arbitrator's paths
    #
    # Left to the rules above, a disputed trade is usually ended by something else (a refund, a
    # settlement, a clock jump past its ruling window) before a rule call finds it: about one
    # successful ruling per 1,500 transactions. These rules run only when they have work (their
    # precondition), act on a trade in the right state as the right party, and so make disputes,
    # rulings and ruling timeouts a real share of the transitions (``make fuzz`` reports them).

    def _disputable(self) -> list[MTrade]:
        """Paid trades with an arbitrator, in their review window, that a party may still dispute."""
        return [
            t
            for t in self.trade_by_id.values()
            if t.trade.state == TradeState.PAID
            and t.trade.arbitrator != ZERO_ADDRESS
            and self.now < t.trade.deadline
            and (t.trade.flags & (AMOUNT_RELEASED | DEPOSIT_RETURNED))
            != (AMOUNT_RELEASED | DEPOSIT_RETURNED)
        ]

    def _disputed(self) -> list[MTrade]:
        return [t for t in self.trade_by_id.values() if t.trade.state == TradeState.DISPUTED]

    def _overdue(self) -> list[MTrade]:
        """Disputed trades whose ruling window has ended."""
        return [t for t in self._disputed() if self.now >= t.trade.deadline]

    def _raise_dispute(self, by: str, pick: int) -> MTrade:
        pool = self._disputable()
        trade = pool[pick % len(pool)]
        flags = trade.trade.flags
        if by == "buyer" and flags & AMOUNT_RELEASED:
            by = "seller"  # the buyer waived its claim: the seller may still claim damage
        elif by == "seller" and flags & DEPOSIT_RETURNED:
            by = "buyer"
        self._settle(trade, "dispute", by, "current", 0, pick)
        return trade

    @precondition(lambda self: bool(self._disputable()))
    @rule(pick=picks)
    def buyer_disputes(self, pick: int) -> None:
        """The buyer disputes a trade in its review window (the seller, if the buyer released)."""
        self._raise_dispute("buyer", pick)

    @precondition(lambda self: bool(self._disputable()))
    @rule(pick=picks)
    def seller_disputes(self, pick: int) -> None:
        """The seller disputes (a damage claim on a rental's deposit), unless it returned the
        deposit (then the buyer does)."""
        self._raise_dispute("seller", pick)

    def _rulable(self) -> list[MTrade]:
        """Disputed trades still in their ruling window."""
        return [t for t in self._disputed() if self.now < t.trade.deadline]

    def _arbitrate(self, timing: str, share: Any, pick: int) -> None:
        pool = self._rulable()
        trade = pool[pick % len(pool)]
        if timing == "at the deadline" and trade.trade.deadline > self.latest:
            self.now = max(self.now, trade.trade.deadline)
        self._settle(trade, "rule", "arbitrator", "current", share, pick)

    @precondition(lambda self: bool(self._rulable()))
    @rule(timing=st.sampled_from(["in time"] * 5 + ["at the deadline"]), share=shares, pick=picks)
    def arbitrator_splits(self, timing: str, share: Any, pick: int) -> None:
        """The arbitrator rules a split in the ruling window (or, now and then, exactly at its
        end, one second too late: ``WindowClosed``)."""
        self._arbitrate(timing, share, pick)

    @precondition(lambda self: bool(self._rulable()))
    @rule(share=st.sampled_from(["zero", "all", "all", "all+1"]), pick=picks)
    def arbitrator_sides_with_one(self, share: str, pick: int) -> None:
        """The arbitrator gives everything after its fee to the buyer, or nothing (or one unit
        too many: ``ShareTooLarge``)."""
        self._arbitrate("in time", share, pick)

    @precondition(lambda self: bool(self._disputed()))
    @rule(
        timing=st.sampled_from(["at the deadline"] * 2 + ["after it"] * 4 + ["too early"]),
        role=st.sampled_from(ROLES),
        pick=picks,
    )
    def arbitrator_stays_silent(self, timing: str, role: str, pick: int) -> None:
        """The arbitrator lets its ruling window pass: anyone claims the timeout, from the second
        the window ends (or, now and then, one second before: ``WindowOpen``)."""
        pool = self._disputed()
        trade = pool[pick % len(pool)]
        deadline = trade.trade.deadline
        target = {"at the deadline": deadline, "after it": deadline + 1 + pick % DAY}.get(
            timing, deadline - 1
        )
        if target > self.latest:
            self.now = max(self.now, target) if timing != "too early" else target
        self._settle(trade, "claimRulingTimeout", role, "current", 0, pick)

    @precondition(lambda self: bool(self._disputable()))
    @rule(
        by=st.sampled_from(["buyer", "buyer", "seller"]),
        split=st.booleans(),
        share=shares,
        side=st.sampled_from(["zero", "all"]),
        pick=picks,
    )
    def dispute_ruled(self, by: str, split: bool, share: Any, side: str, pick: int) -> None:
        """A dispute played out in one step: a party raises it, the arbitrator rules at once (a
        split, or all to one side)."""
        trade = self._raise_dispute(by, pick)
        if trade.trade.state == TradeState.DISPUTED:
            self._settle(trade, "rule", "arbitrator", "current", share if split else side, pick)

    @precondition(lambda self: bool(self._disputable()))
    @rule(by=st.sampled_from(["buyer", "buyer", "seller"]), role=st.sampled_from(ROLES), pick=picks)
    def dispute_unanswered(self, by: str, role: str, pick: int) -> None:
        """A dispute the arbitrator never answers, in one step: a party raises it, the ruling
        window passes (to the second, or a little more), anyone claims the timeout."""
        trade = self._raise_dispute(by, pick)
        if trade.trade.state == TradeState.DISPUTED:
            self.now = max(self.now, trade.trade.deadline + pick % 2)
            self._settle(trade, "claimRulingTimeout", role, "current", 0, pick)

    def _damage_claimable(self) -> list[MTrade]:
        """Rentals whose seller may still claim damage on the deposit."""
        return [
            t
            for t in self._disputable()
            if t.trade.deposit > 0 and not t.trade.flags & DEPOSIT_RETURNED
        ]

    @precondition(lambda self: bool(self._damage_claimable()))
    @rule(ruled=st.booleans(), share=shares, role=st.sampled_from(ROLES), pick=picks)
    def damage_claim(self, ruled: bool, share: Any, role: str, pick: int) -> None:
        """A rental's owner claims damage (a dispute over the deposit), played out in one step:
        the arbitrator splits what is held, or stays silent until anyone claims the timeout
        (which returns everything held to the renter)."""
        pool = self._damage_claimable()
        trade = pool[pick % len(pool)]
        self._settle(trade, "dispute", "seller", "current", 0, pick)
        if trade.trade.state != TradeState.DISPUTED:
            return
        if ruled:
            self._settle(trade, "rule", "arbitrator", "current", share, pick)
        else:
            self.now = max(self.now, trade.trade.deadline + pick % 2)
            self._settle(trade, "claimRulingTimeout", role, "current", 0, pick)

    @precondition(lambda self: bool(self._overdue()))
    @rule(sweep=st.booleans(), pick=picks)
    def claim_overdue_timeouts(self, sweep: bool, pick: int) -> None:
        """Anyone claims the timeout of a dispute whose ruling window has passed; or (``sweep``)
        a keeper claims every such timeout, each in its own transaction."""
        pool = self._overdue()
        for i, trade in enumerate(pool if sweep else [pool[pick % len(pool)]]):
            self._settle(trade, "claimRulingTimeout", ROLES[(pick + i) % 4], "current", 0, pick)

    # ------------------------------------------------------------------ rating

    @rule(
        trade=trades,
        role=st.sampled_from(["buyer", "buyer", "seller", "seller", "arbitrator", "other"]),
        score=st.sampled_from([1, 2, 3, 4, 5] * 3 + [0, 6, 255]),
        cid_len=st.sampled_from([0, 0, 0, 34, 34, 64, 65]),
        version=versions,
        focus=st.sampled_from(["drawn", "final", "final", "final"]),
        pick=picks,
    )
    def rate(
        self,
        trade: MTrade,
        role: str,
        score: int,
        cid_len: int,
        version: str,
        focus: str,
        pick: int,
    ) -> None:
        """Rate a trade's counterparty (mostly a final trade's, by one of its parties)."""
        env = self.env
        trade = self._focus(trade, focus, pick)
        tid, passed = self._passed(trade, version, pick)
        t = trade.trade
        caller = self._caller(t, role, pick)
        known = self.trade_by_id.get(tid)
        bit = 1 if caller.address == t.buyer else 2 if caller.address == t.seller else 0
        expected: Err
        if score == 0 or score > 5:
            expected = "InvalidScore", (score,)
        elif cid_len > 64:
            expected = "InvalidReviewCid", (cid_len,)
        elif known is None or known.trade != passed:
            expected = "UnknownTrade", (tid,)
        elif not passed.state.is_final:
            expected = "TradeNotFinal", (tid, int(passed.state))
        elif bit == 0:
            expected = "Unauthorized", (tid, caller.address)
        elif trade.rated & bit:
            expected = "AlreadyRated", (tid, caller.address)
        else:
            expected = None
        cid = bytes([0x12, 0x20]) + bytes(range(cid_len - 2)) if cid_len else b""
        fn = env.reputation.functions.rate(tid, passed.as_tuple(), score, cid)
        receipt = self.attempt("rate", caller, env.reputation.address, _data(fn), expected)
        if receipt is None:
            return
        trade.rated |= bit
        subject = t.seller if bit == 1 else t.buyer
        # A rating's value is what the seller was really paid: measured on chain, and what the
        # final struct says.
        value = trade.seller_paid
        assert _seller_proceeds(t) == value, (
            f"{trade}: struct says {_seller_proceeds(t)}, paid {value}"
        )
        (rated,) = [a for n, a in receipt_events(env.reputation, receipt) if n == "Rated"]
        assert rated["value"] == value
        count, total, volume = self.aggregates.get((subject, t.token), (0, 0, 0))
        self.aggregates[(subject, t.token)] = (
            count + 1,
            total + score,
            min(volume + value, MAX_VOLUME),
        )
        assert env.aggregate(subject, t.token) == self.aggregates[(subject, t.token)]

    # ------------------------------------------------------------------ credits

    @rule(
        op=st.sampled_from(["withdraw", "withdraw", "withdraw", "block"]),
        credited=st.sampled_from([True, True, True, False]),
        token_index=st.integers(0, 2),
        who=st.sampled_from(
            ["rev", "bomb", "burn", "hungry", "buyer1", "seller1", "arb1", "market"]
        ),
        to=st.sampled_from(["self", "eoa", "eoa", "hungry", "zero", "rev"]),
        blocked=st.sampled_from([True, False, False]),
        pick=picks,
    )
    def withdraw_or_block(
        self, op: str, credited: bool, token_index: int, who: str, to: str, blocked: bool, pick: int
    ) -> None:
        """Withdraw credits, or (blocklist token) block or unblock an address."""
        if op == "withdraw" and credited and not any(self.credits.values()):
            op = "block"  # nothing to withdraw yet: mostly do something useful instead
        if op == "block" and self.env.blocklist is not None:
            self.set_blocked(who, blocked)
        else:
            self.withdraw(credited, token_index, "arb1" if who == "market" else who, to, pick)

    def withdraw(self, credited: bool, token_index: int, who: str, to: str, pick: int) -> None:
        """Withdraw a credit (mostly one that exists) to oneself, an EOA, nobody, or a refuser."""
        env = self.env
        token = self.token(token_index)
        caller = self.actor(who)
        owed = sorted(k for k, v in self.credits.items() if v)
        if credited and owed:
            token, address = owed[pick % len(owed)]
            caller = self.actor_at(address)
        if to == "self" and caller.name == "burn":
            to = "eoa"  # burning a whole transaction's gas is slow in py-evm; payouts cover it
        recipient = {
            "self": caller.address,
            "eoa": self.other_actor({caller.address}, pick).signer.address,
            "zero": ZERO_ADDRESS,
            "rev": self.actor("rev").address,
            "hungry": self.actor("hungry").address,
        }[to]
        amount = self.credits[(token, caller.address)]
        expected: Err
        if recipient == ZERO_ADDRESS:
            expected = "InvalidRecipient", (recipient,)
        elif amount == 0:
            expected = "NothingToWithdraw", (token, caller.address)
        elif self.refuses(token, recipient):
            expected = "WithdrawalFailed", (token, recipient, amount)
        else:
            expected = None
        before = env.balance(token, recipient) if recipient != ZERO_ADDRESS else 0
        fn = env.market.functions.withdraw(token, recipient)
        receipt = self.attempt("withdraw", caller, env.market.address, _data(fn), expected)
        if receipt is None:
            return
        self.credits[(token, caller.address)] = 0
        gained = env.balance(token, recipient) - before
        if token == ETH and recipient == caller.signer.address:
            gained += int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        assert gained == amount
        assert [n for n, _ in self.market_events(receipt)] == ["Withdrawn"]

    def set_blocked(self, who: str, blocked: bool) -> None:
        """The blocklist token's owner blocks or unblocks an address (a USDC-style freeze)."""
        env = self.env
        assert env.blocklist is not None
        address = env.market.address if who == "market" else self.actor(who).address
        data = _data(env.blocklist.functions.setBlocked(address, blocked))
        env.chain.set_next_timestamp(self.now)
        env.transact(env.deployer, env.blocklist.address, data)
        self.latest, self.now = self.now, self.now + 1
        (self.blocked.add if blocked else self.blocked.discard)(address)
        self.stats[f"{'block' if blocked else 'unblock'} ({who})"] += 1

    # ------------------------------------------------------------------ time

    @rule(
        how=st.sampled_from(["advance", "advance", "deadline", "deadline", "ruling", "expiry"]),
        seconds=st.one_of(
            st.integers(1, 600),
            st.integers(1, 10 * DAY),
            st.sampled_from([DAY, RULING_WINDOW, 7 * DAY, 30 * DAY, MAX_REVIEW_WINDOW + 1]),
        ),
        offset=st.sampled_from([-1, 0, 0, 1]),
        pick=picks,
    )
    def time_passes(self, how: str, seconds: int, offset: int, pick: int) -> None:
        """Move the next block's time on, or exactly to (or one second around) an open trade's
        deadline, a disputed trade's ruling deadline or a listing's expiry. Time can also be set
        back, to any point after the last block."""
        if how == "advance":
            self.now += seconds
            return
        trades = self.trade_by_id.values()
        if how == "deadline":
            points = [t.trade.deadline for t in trades if t.trade.state.is_open]
        elif how == "ruling":
            points = [t.trade.deadline for t in trades if t.trade.state == TradeState.DISPUTED]
        else:
            points = [x.terms.expiry for x in self.listing_by_id.values() if x.terms.expiry]
        if points:
            target = sorted(points)[pick % len(points)] + offset
            if target > self.latest:
                self.now = target

    # ------------------------------------------------------------------ invariants

    def _chain_unchanged(self, name: str) -> bool:
        """Whether no block was mined since this invariant last read the chain.

        The model changes only when a transaction is mined (a reverted call changes neither side,
        and the clock is not an input of any invariant), so the previous reading still stands.
        """
        head = self.env.evm.head()
        if self.checked_at.get(name) == head:
            return True
        self.checked_at[name] = head
        self.stats[f"invariant read: {name}"] += 1
        return False

    @invariant()
    def escrow_is_fully_backed(self) -> None:
        """Per token: escrow balance == held by open trades + all credits (read on chain)."""
        env = self.env
        self.stats["invariant checks"] += 1
        if self._chain_unchanged("escrow"):
            return
        for token in env.tokens:
            held = sum(
                _held(t.trade)
                for t in self.trade_by_id.values()
                if t.trade.token == token and t.trade.state.is_open
            )
            credits = 0
            for actor in env.actors.values():
                on_chain = env.credit(token, actor.address)
                assert on_chain == self.credits[(token, actor.address)], (
                    f"credit of {actor.name} in {env.token_names[token]}: chain {on_chain}, "
                    f"model {self.credits[(token, actor.address)]}"
                )
                credits += on_chain
            balance = env.balance(token, env.market.address)
            assert balance == held + credits, (
                f"{env.token_names[token]}: escrow holds {balance}, open trades hold {held}, "
                f"credits {credits}"
            )

    @invariant()
    def trades_pay_out_exactly_once(self) -> None:
        """Measured payouts + what is still held == what the trade took in; final => all paid."""
        for t in self.trade_by_id.values():
            total = t.trade.amount + t.trade.deposit
            held = _held(t.trade) if t.trade.state.is_open else 0
            assert t.paid_out + held == total, (
                f"{t} paid out {t.paid_out} and holds {held}, but took in {total}"
            )

    @invariant()
    def trades_match_chain(self) -> None:
        if self._chain_unchanged("trades"):
            return
        for t in self.trade_by_id.values():
            current, rated = self.env.check_trade(t.id, t.trade)
            assert current, f"{t} does not match the chain: {t.trade}"
            assert rated == t.rated, f"{t}: rated bits {rated}, model {t.rated}"
            if t.id in self.touched:
                stale = next((old for old in reversed(t.history) if old != t.trade), None)
                if stale is not None:
                    assert not self.env.check_trade(t.id, stale)[0], f"{t}: stale data accepted"
        self.touched.clear()

    @invariant()
    def listings_match_chain(self) -> None:
        if self._chain_unchanged("listings"):
            return
        for listing in self.listing_by_id.values():
            got = self.env.listing_state(listing.id)
            if listing.status == "live":
                want = (True, self.tag(listing), listing.sold, listing.remaining)
            else:
                want = (False, 0, 0, 0)
            assert got == want, f"{listing}: listingState {got}, model {want}"


#: Examples per run; raise it locally for a deeper search (``P2PCHAIN_INVARIANT_EXAMPLES=1000``).
MAX_EXAMPLES = int(os.environ.get("P2PCHAIN_INVARIANT_EXAMPLES", "60"))
#: Most steps per example; ``make fuzz`` runs longer sequences (``P2PCHAIN_INVARIANT_STEPS``).
MAX_STEPS = int(os.environ.get("P2PCHAIN_INVARIANT_STEPS", "40"))

#: Least share of all successful transactions that these transitions must make up, even in a
#: short run (the arbitrator's paths are the easiest to starve; `make fuzz` reports the shares of
#: a long campaign in docs/fuzz-report.md, typically 5-10% each).
MIN_SHARES = {
    "dispute": 0.02,
    "rule": 0.02,
    "claimRulingTimeout": 0.02,
    # proposals now lapse at the trade's deadline and a dispute clears them, so fewer succeed
    # than before that rule (1.8% in a CI run); the floor still catches a machine that stops
    # reaching them
    "proposeSettlement": 0.01,
    "acceptSettlement": 0.002,
}

MACHINE_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    # The short CI run uses hypothesis' fixed seed: 60 examples of swarm testing move the shares
    # by several points between runs (proposeSettlement 0.7% to 6.6% seen), so a random short run
    # would fail the share floors by chance. `make fuzz` (P2PCHAIN_INVARIANT_EXAMPLES) explores
    # at random.
    derandomize="P2PCHAIN_INVARIANT_EXAMPLES" not in os.environ,
    stateful_step_count=MAX_STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_marketplace_invariants_hold_under_random_actors(inv_env: Env) -> None:
    MarketMachine.env = inv_env
    MarketMachine.stats = Counter()
    run_state_machine_as_test(MarketMachine, settings=MACHINE_SETTINGS)
    stats = MarketMachine.stats
    # Invariants run once per example before its first step, then after every step.
    steps = stats["invariant checks"] - stats["examples"]
    print(
        f"\ninvariant machine: {stats['examples']} examples, {steps} steps, "
        f"{stats['calls']} predicted calls, {stats['transactions']} transactions"
    )
    print("\n".join(f"  {k}: {v}" for k, v in sorted(stats.items())))
    if out := os.environ.get("P2PCHAIN_INVARIANT_STATS"):  # for scripts/fuzz.py's report
        Path(out).write_text(json.dumps(dict(sorted(stats.items())), indent=1) + "\n")
    assert stats["transactions"] > 0
    shares = {name: stats[f"{name}: ok"] / stats["transactions"] for name in MIN_SHARES}
    print("  shares: " + ", ".join(f"{name} {share:.1%}" for name, share in shares.items()))
    low = {name: f"{share:.1%}" for name, share in shares.items() if share < MIN_SHARES[name]}
    assert not low, f"the machine no longer reaches these transitions often enough: {low}"


# ================================================================================ hashing

addresses = st.binary(min_size=20, max_size=20).map(to_checksum_address)
uint256 = st.integers(0, 2**256 - 1)
any_trade = st.builds(
    Trade,
    buyer=addresses,
    seller=addresses,
    token=addresses,
    arbitrator=addresses,
    arbitrator_fee_bps=st.integers(0, 2**16 - 1),
    amount=uint256,
    deposit=uint256,
    deadline=st.integers(0, 2**40 - 1),
    state=st.sampled_from(TradeState),
    flags=st.integers(0, 2**8 - 1),
    proposed_buyer_share=uint256,
)


@settings(max_examples=300, deadline=None)
@given(trade=any_trade)
def test_model_trade_hash_matches_contract(inv_env: Env, trade: Trade) -> None:
    assert trade_hash(trade) == inv_env.hash_trade(trade)
