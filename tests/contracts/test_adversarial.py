"""Adversarial tests: hostile receivers, reentrancy, weird ERC-20 tokens, hostile arbitrators.

Every hostile party here is a real contract from ``contracts/test/`` deployed on the embedded
chain: contract accounts (``ContractAccount`` and its hostile children) act as sellers, buyers and
arbitrators through their ``execute``, and weird tokens in the spirit of solmate's
``src/test/utils/weird-tokens`` are traded like any ERC-20.

What the marketplace promises, and these tests check:

* A payout never makes a settlement revert: a receiver that reverts, burns its gas or answers
  with a huge payload is credited instead (``Credited``), and withdraws later to any address.
  Payouts forward bounded gas (``PAYOUT_GAS`` for ETH, ``TOKEN_PAYOUT_GAS`` for ERC-20s, also
  when the token calls the recipient) and copy no return data, so such a receiver cannot make
  the honest party's transaction expensive either; and no gas limit a caller picks can starve an
  honest receiver's payout into a credit (``PayoutGasTooLow`` instead).
* Reentrancy never pays twice: state is final before any payout, token code runs under one
  ``ReentrancyGuard``, and a call made from inside a payout lacks the gas to pay anything out
  itself (``PayoutGasTooLow``). The marketplace's balance of each asset is always exactly what its
  open trades hold plus what it owes in credits.
* Fee-on-transfer (and any token that delivers less than asked) is refused at purchase; tokens
  that return nothing work; tokens that revert or return false are refused at purchase and
  credited at payout.

Limits, stated honestly (each has a test below that pins the behaviour down):

* The marketplace checks a token only when it arrives. A token that later takes more than it
  pays out (a sender fee on outgoing transfers, a negative rebase, an owner who burns or seizes
  the marketplace's balance) leaves that token's escrow short: the last payouts in it are credited
  and cannot be withdrawn. Balances are kept per token, so ETH and every other token are not
  affected (``test_sender_fee_token_shortfall_leaves_eth_and_other_tokens_whole``). Likewise a
  token that blocks the marketplace itself, or that lies about transfers, only hurts its own
  trades.
* ERC-1271 approvals are checked once, at a signed listing's first purchase. A contract seller
  that withdraws its approval afterwards must also call ``cancelSignedListing`` to stop further
  sales, exactly like an EOA seller whose signature is out in the world.
* A contract party cannot settle another trade from inside the payout it is receiving (for
  example, release its own purchase when paid for a sale): such a reentry now reverts with
  ``PayoutGasTooLow`` and has to be made in a transaction of its own.
* A token whose transfer needs more than ``TOKEN_PAYOUT_GAS``, even honestly, is credited rather
  than paid, and withdrawn with full gas (as the gas-burning hook of
  ``test_callback_token_gas_burning_seller_settlement_costs_bounded_gas`` shows).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, cast

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.types import TxParams, TxReceipt

from p2pchain.chain._model import (
    ListingTerms,
    TradeState,
    apply_event,
    listing_id,
    open_trade,
)
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import load_artifact

from ._helpers import (
    Market,
    events_named,
    gas_cost,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    reverts,
)
from .market import ETH, Listing, Reverted, TradeRef

#: Gas a settlement transaction may use when the other side is hostile (an honest one uses
#: well under 100k; a hostile ETH receiver adds at most PAYOUT_GAS).
SETTLEMENT_GAS_BOUND = 200_000
#: Contract accounts that refuse native-currency payouts, each in its own way.
HOSTILE_RECEIVERS = ("RevertingReceiver", "GasBurningReceiver", "ReturnBombReceiver")
PRICE = 10**18
DEPOSIT = 10**18 // 2


# ====================================================================================== plumbing


@dataclass
class Actor:
    """A contract account and the EOA that owns it (and so drives its ``execute``)."""

    contract: Contract
    owner: LocalAccount

    @property
    def address(self) -> str:
        return str(self.contract.address)


def deploy_fixture(m: Market, name: str, deployer: LocalAccount | None = None) -> Contract:
    """Deploy a test-only contract and teach the market driver its custom errors."""
    artifact = load_artifact(name, test=True)
    m.learn_errors(list(artifact.abi))
    factory = m.w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor().data_in_transaction
    receipt = send_transaction(m.w3, deployer or m.deployer, cast(TxParams, {"data": data}))
    address = receipt["contractAddress"]
    assert address is not None
    return m.w3.eth.contract(address=address, abi=list(artifact.abi))


def deploy_actor(m: Market, name: str, owner: LocalAccount) -> Actor:
    return Actor(deploy_fixture(m, name, owner), owner)


def calldata(contract: Contract, fn_name: str, *args: Any) -> str:
    return str(contract.encode_abi(fn_name, args=list(args)))


def execute(
    m: Market, actor: Actor, target: Contract, fn_name: str, *args: Any, value: int = 0
) -> TxReceipt:
    """Have ``actor`` call ``target.fn_name(*args)`` with ``value`` (sent along by its owner)."""
    data = calldata(target, fn_name, *args)
    fn = actor.contract.functions.execute(target.address, value, data)
    return m.send(actor.owner, fn, value=value)


def advance(m: Market, ref: TradeRef, receipt: TxReceipt) -> None:
    """Apply the events ``receipt`` holds for ``ref`` (as ``Market.act`` does) and check it."""
    ts = m.timestamp_of(receipt)
    for name, args in m.events(receipt):
        if "tradeId" in args and bytes(args["tradeId"]) == ref.id:
            ref.trade = apply_event(ref.trade, name, args, ts)
    ref.receipts.append(receipt)
    m.assert_current(ref)


def act_as(m: Market, actor: Actor, action: str, ref: TradeRef, *extra: Any) -> TxReceipt:
    """``Market.act`` for a contract account."""
    receipt = execute(m, actor, m.market, action, ref.id, ref.trade.as_tuple(), *extra)
    advance(m, ref, receipt)
    return receipt


def list_as(m: Market, actor: Actor, terms: ListingTerms, quantity: int = 1) -> Listing:
    salt = os.urandom(32)
    execute(m, actor, m.market, "list", terms.as_tuple(), salt, quantity)
    return Listing(id=listing_id(actor.address, salt), terms=terms, salt=salt, quantity=quantity)


def sign_as(m: Market, actor: Actor, terms: ListingTerms, quantity: int = 1) -> Listing:
    """A signed listing by a contract seller: it approves the digest for ERC-1271."""
    salt = os.urandom(32)
    digest = bytes(m.market.functions.signedListingDigest(terms.as_tuple(), quantity, salt).call())
    m.send(actor.owner, actor.contract.functions.approveHash(digest, True))
    return Listing(id=digest, terms=terms, salt=salt, quantity=quantity, signature=b"")


def buy_as(m: Market, actor: Actor, listing: Listing, quantity: int = 1) -> TradeRef:
    """``Market.buy`` for a contract account (ETH sent along by its owner)."""
    terms = listing.terms
    value = (terms.price + terms.deposit) * quantity if terms.token == ETH else 0
    if listing.signed:
        args: tuple[Any, ...] = (
            terms.as_tuple(),
            listing.quantity,
            listing.salt,
            listing.signature,
            quantity,
        )
        receipt = execute(m, actor, m.market, "buySigned", *args, value=value)
    else:
        receipt = execute(
            m, actor, m.market, "buy", listing.id, terms.as_tuple(), quantity, value=value
        )
    (args_,) = events_named(m, receipt, "Purchased")
    trade = open_trade(terms, actor.address, quantity, m.timestamp_of(receipt))
    ref = TradeRef(id=bytes(args_["tradeId"]), trade=trade, listing=listing, receipts=[receipt])
    m.assert_current(ref)
    return ref


def credited(m: Market, receipt: TxReceipt) -> list[tuple[str, str, int]]:
    """``(token, account, amount)`` of every ``Credited`` in ``receipt``."""
    return [(a["token"], a["account"], a["amount"]) for a in events_named(m, receipt, "Credited")]


def reentries(
    m: Market, receipt: TxReceipt, source: Contract, event: str
) -> list[tuple[bool, Reverted | bytes]]:
    """``(success, decoded revert or raw return data)`` of every reentry ``source`` logged."""
    out: list[tuple[bool, Reverted | bytes]] = []
    for name, args in m.events(receipt, source):
        if name == event:
            ok, data = bool(args["success"]), bytes(args["returnData"])
            out.append((ok, data if ok else m.decode_revert(data)))
    return out


def as_error(outcome: tuple[bool, Reverted | bytes]) -> tuple[bool, str, tuple[Any, ...]]:
    ok, data = outcome
    assert isinstance(data, Reverted), f"reentry succeeded: {data!r}"
    return ok, data.name, tuple(data.args_)


def all_credits(m: Market, token: str) -> int:
    """What the marketplace owes in ``token``: the credit of every account ever credited in it."""
    logs = m.market.events.Credited.get_logs(from_block=m.deployment.block)
    accounts = {log["args"]["account"] for log in logs if log["args"]["token"] == token}
    return sum(m.credit(token, a) for a in accounts)


def assert_books_balance(m: Market, token: str, *refs: TradeRef) -> None:
    """The marketplace holds exactly the open escrow of ``refs`` in ``token`` plus its credits."""
    held = sum(r.trade.held_total for r in refs if r.trade.token == token)
    assert m.balance(m.address, token) == held + all_credits(m, token)


def deploy_token(
    m: Market, name: str, *holders: LocalAccount, amount: int = 100 * PRICE
) -> Contract:
    """Deploy a weird token, mint ``amount`` to each holder and let the marketplace pull it all."""
    token = deploy_fixture(m, name)
    for holder in holders:
        m.send(m.deployer, token.functions.mint(holder.address, amount))
        m.send(holder, token.functions.approve(m.address, amount))
    return token


def fund_actor(m: Market, actor: Actor, token: Contract, amount: int = 100 * PRICE) -> None:
    m.send(m.deployer, token.functions.mint(actor.address, amount))
    execute(m, actor, token, "approve", m.address, amount)


def token_trade(
    m: Market, token: Contract, *, deposit: int = 0, seller: LocalAccount | None = None
) -> TradeRef:
    seller = seller or m.seller
    terms = m.terms(seller=seller.address, token=token.address, price=PRICE, deposit=deposit)
    return m.buy(m.list(terms, seller=seller))


@pytest.fixture
def payee(market: Market) -> LocalAccount:
    """An uninvolved EOA that hostile accounts withdraw their credits to."""
    return market.others[4]


# ====================================================================== hostile ETH receivers


@pytest.mark.parametrize("receiver", HOSTILE_RECEIVERS)
def test_hostile_seller_release_credits_price_with_bounded_gas(
    market: Market, receiver: str, payee: LocalAccount
) -> None:
    m = market
    seller = deploy_actor(m, receiver, m.others[0])
    ref = m.buy(list_as(m, seller, m.terms(seller=seller.address)))
    receipt = m.act("release", m.buyer, ref)
    assert ref.trade.state is TradeState.COMPLETED
    assert credited(m, receipt) == [(ETH, seller.address, PRICE)]
    assert receipt["gasUsed"] < SETTLEMENT_GAS_BOUND
    assert m.balance(seller.address) == 0
    assert m.credit(ETH, seller.address) == PRICE
    assert m.balance(m.address) == PRICE

    payee_before = m.balance(payee.address)
    receipt = execute(m, seller, m.market, "withdraw", ETH, payee.address)
    (args,) = events_named(m, receipt, "Withdrawn")
    assert (args["token"], args["account"], args["to"], args["amount"]) == (
        ETH,
        seller.address,
        payee.address,
        PRICE,
    )
    assert m.balance(payee.address) == payee_before + PRICE
    assert m.credit(ETH, seller.address) == 0
    assert m.balance(m.address) == 0


@pytest.mark.parametrize("receiver", HOSTILE_RECEIVERS)
def test_hostile_seller_finalize_by_stranger_credits_seller_pays_buyer(
    market: Market, receiver: str
) -> None:
    m = market
    seller = deploy_actor(m, receiver, m.others[0])
    ref = m.buy(list_as(m, seller, m.terms(seller=seller.address, deposit=DEPOSIT)))
    buyer_before = m.balance(m.buyer.address)
    m.warp_to(ref.trade.deadline)
    receipt = m.act("finalize", m.stranger, ref)
    assert ref.trade.state is TradeState.COMPLETED
    assert credited(m, receipt) == [(ETH, seller.address, PRICE)]
    assert receipt["gasUsed"] < SETTLEMENT_GAS_BOUND
    assert m.balance(m.buyer.address) == buyer_before + DEPOSIT
    assert m.balance(m.address) == PRICE == m.credit(ETH, seller.address)


@pytest.mark.parametrize("receiver", HOSTILE_RECEIVERS)
def test_hostile_seller_withdrawing_to_itself_reverts_withdrawal_failed_keeping_credit(
    market: Market, receiver: str
) -> None:
    m = market
    seller = deploy_actor(m, receiver, m.others[0])
    ref = m.buy(list_as(m, seller, m.terms(seller=seller.address)))
    m.act("release", m.buyer, ref)
    with reverts("WithdrawalFailed", ETH, seller.address, PRICE):
        execute(m, seller, m.market, "withdraw", ETH, seller.address)
    assert m.credit(ETH, seller.address) == PRICE
    assert m.balance(m.address) == PRICE


#: How each settlement that pays the buyer is reached, and what it owes the buyer.
BUYER_PAYOUTS = ("refund", "returnDeposit", "claimRulingTimeout", "acceptSettlement", "finalize")


def _settle_paying_buyer(
    m: Market, buyer: Actor, ref: TradeRef, action: str
) -> tuple[TxReceipt, int]:
    """Drive ``ref`` through ``action``, sent by the honest side; returns (receipt, buyer's due)."""
    if action == "refund":
        return m.act("refund", m.seller, ref), PRICE + DEPOSIT
    if action == "returnDeposit":
        return m.act("returnDeposit", m.seller, ref), DEPOSIT
    if action == "claimRulingTimeout":
        m.act("dispute", m.seller, ref)
        m.warp_to(ref.trade.deadline)
        return m.act("claimRulingTimeout", m.stranger, ref), PRICE + DEPOSIT
    if action == "acceptSettlement":
        act_as(m, buyer, "proposeSettlement", ref, DEPOSIT + PRICE // 4)
        return m.act("acceptSettlement", m.seller, ref), DEPOSIT + PRICE // 4
    assert action == "finalize"
    m.warp_to(ref.trade.deadline)
    return m.act("finalize", m.stranger, ref), DEPOSIT


@pytest.mark.parametrize("action", BUYER_PAYOUTS)
@pytest.mark.parametrize("receiver", HOSTILE_RECEIVERS)
def test_hostile_buyer_payout_is_credited_with_bounded_gas(
    market: Market, receiver: str, action: str, payee: LocalAccount
) -> None:
    m = market
    buyer = deploy_actor(m, receiver, m.others[0])
    ref = buy_as(m, buyer, m.list(m.terms(deposit=DEPOSIT)))
    seller_before = m.balance(m.seller.address)
    receipt, due = _settle_paying_buyer(m, buyer, ref, action)
    assert not ref.trade.state.is_open or action == "returnDeposit"
    assert credited(m, receipt) == [(ETH, buyer.address, due)]
    assert receipt["gasUsed"] < SETTLEMENT_GAS_BOUND
    seller_paid = PRICE + DEPOSIT - due if not ref.trade.state.is_open else 0
    seller_gas = sum(gas_cost(r) for r in ref.receipts[1:] if r["from"] == m.seller.address)
    assert m.balance(m.seller.address) == seller_before + seller_paid - seller_gas
    assert m.balance(buyer.address) == 0
    assert m.balance(m.address) == ref.trade.held_total + due
    assert_books_balance(m, ETH, ref)

    payee_before = m.balance(payee.address)
    execute(m, buyer, m.market, "withdraw", ETH, payee.address)
    assert m.balance(payee.address) == payee_before + due
    assert m.balance(m.address) == ref.trade.held_total


@pytest.mark.parametrize("receiver", HOSTILE_RECEIVERS)
def test_hostile_arbitrator_fee_is_credited_parties_paid_exactly(
    market: Market, receiver: str, payee: LocalAccount
) -> None:
    m = market
    arbitrator = deploy_actor(m, receiver, m.others[0])
    ref = m.buy(
        m.list(m.terms(arbitrator=arbitrator.address, arbitrator_fee_bps=1_000, deposit=DEPOSIT))
    )
    m.act("dispute", m.buyer, ref)
    held = PRICE + DEPOSIT
    fee = held * 1_000 // 10_000
    share = PRICE // 3
    buyer_before, seller_before = m.balance(m.buyer.address), m.balance(m.seller.address)
    receipt = act_as(m, arbitrator, "rule", ref, share)
    assert ref.trade.state is TradeState.RULED
    (ruled,) = events_named(m, receipt, "Ruled")
    assert (ruled["buyerShare"], ruled["fee"]) == (share, fee)
    assert credited(m, receipt) == [(ETH, arbitrator.address, fee)]
    assert receipt["gasUsed"] < SETTLEMENT_GAS_BOUND
    assert m.balance(m.buyer.address) == buyer_before + share
    assert m.balance(m.seller.address) == seller_before + held - fee - share
    assert m.balance(m.address) == fee == m.credit(ETH, arbitrator.address)

    payee_before = m.balance(payee.address)
    execute(m, arbitrator, m.market, "withdraw", ETH, payee.address)
    assert m.balance(payee.address) == payee_before + fee
    assert m.balance(m.address) == 0


# ========================================================================== ETH reentrancy


def _reentrant_seller_trade(m: Market) -> tuple[Actor, TradeRef]:
    seller = deploy_actor(m, "ReentrantReceiver", m.others[0])
    ref = m.buy(list_as(m, seller, m.terms(seller=seller.address)))
    return seller, ref


def _arm(
    m: Market, actor: Actor, target: Contract, fn_name: str, *args: Any, bubble: bool = False
) -> None:
    m.send(
        actor.owner,
        actor.contract.functions.arm(target.address, calldata(target, fn_name, *args), bubble),
    )


#: Reentries into the trade being paid, with the struct the attacker passes: the one it saw before
#: the release ("stale") or the final one ("final"), and the error that must stop it.
SAME_TRADE_REENTRIES = (
    ("refund", "stale", "UnknownTrade"),
    ("refund", "final", "TradeNotInState"),
    ("release", "final", "TradeNotInState"),
    ("finalize", "stale", "UnknownTrade"),
    ("finalize", "final", "TradeNotInState"),
    ("dispute", "final", "TradeNotInState"),
    ("proposeSettlement", "final", "TradeNotInState"),
)


@pytest.mark.parametrize(("action", "struct", "error"), SAME_TRADE_REENTRIES)
def test_reentrant_seller_reentering_same_trade_during_payout_fails_and_is_paid_once(
    market: Market, action: str, struct: str, error: str
) -> None:
    m = market
    seller, ref = _reentrant_seller_trade(m)
    final = apply_event(ref.trade, "Released", {}, 0)
    passed = ref.trade if struct == "stale" else final
    extra = (0,) if action == "proposeSettlement" else ()
    _arm(m, seller, m.market, action, ref.id, passed.as_tuple(), *extra)
    receipt = m.act("release", m.buyer, ref)
    expected_args = (ref.id,) if error == "UnknownTrade" else (ref.id, TradeState.COMPLETED)
    assert [as_error(r) for r in reentries(m, receipt, seller.contract, "Reentered")] == [
        (False, error, expected_args)
    ]
    assert ref.trade == final
    assert credited(m, receipt) == []
    assert m.balance(seller.address) == PRICE
    assert m.balance(m.address) == 0


def test_reentrant_seller_whose_reentry_fails_and_bubbles_is_credited_once(market: Market) -> None:
    m = market
    seller, ref = _reentrant_seller_trade(m)
    _arm(m, seller, m.market, "refund", ref.id, ref.trade.as_tuple(), bubble=True)
    receipt = m.act("release", m.buyer, ref)
    assert ref.trade.state is TradeState.COMPLETED
    assert credited(m, receipt) == [(ETH, seller.address, PRICE)]
    assert m.balance(seller.address) == 0
    assert m.balance(m.address) == PRICE == m.credit(ETH, seller.address)
    m.send(seller.owner, seller.contract.functions.disarm())
    execute(m, seller, m.market, "withdraw", ETH, seller.address)
    assert m.balance(seller.address) == PRICE
    assert m.balance(m.address) == 0


def test_reentrant_seller_releasing_another_trade_during_payout_reverts_payout_gas_too_low(
    market: Market,
) -> None:
    """A call made from inside a 60k payout cannot itself pay out: it fails, nothing moves."""
    m = market
    actor, sale = _reentrant_seller_trade(m)  # actor sells `sale` to the buyer
    other_seller = m.others[1]
    purchase = buy_as(m, actor, m.list(m.terms(seller=other_seller.address), seller=other_seller))
    _arm(m, actor, m.market, "release", purchase.id, purchase.trade.as_tuple())
    other_before = m.balance(other_seller.address)
    receipt = m.act("release", m.buyer, sale)
    assert [as_error(r) for r in reentries(m, receipt, actor.contract, "Reentered")] == [
        (False, "PayoutGasTooLow", (60_000,))
    ]
    assert sale.trade.state is TradeState.COMPLETED
    m.assert_current(purchase)  # still Paid
    assert m.balance(actor.address) == PRICE
    assert m.balance(other_seller.address) == other_before
    assert credited(m, receipt) == []
    assert m.balance(m.address) == PRICE

    act_as(m, actor, "release", purchase)  # outside a payout it works as usual
    assert m.balance(other_seller.address) == other_before + PRICE
    assert m.balance(m.address) == 0


def test_reentrant_seller_refunding_another_sale_during_payout_reverts_payout_gas_too_low(
    market: Market,
) -> None:
    m = market
    actor = deploy_actor(m, "ReentrantReceiver", m.others[0])
    listing = list_as(m, actor, m.terms(seller=actor.address, deposit=DEPOSIT), quantity=2)
    first, second = m.buy(listing), m.buy(listing, buyer=m.stranger)
    _arm(m, actor, m.market, "refund", second.id, second.trade.as_tuple())
    stranger_before = m.balance(m.stranger.address)
    receipt = m.act("release", m.buyer, first)
    assert [as_error(r) for r in reentries(m, receipt, actor.contract, "Reentered")] == [
        (False, "PayoutGasTooLow", (60_000,))
    ]
    assert first.trade.state is TradeState.PAID  # the deposit is still held
    m.assert_current(second)  # still Paid
    assert m.balance(actor.address) == PRICE
    assert m.balance(m.stranger.address) == stranger_before
    assert_books_balance(m, ETH, first, second)
    assert m.balance(m.address) == DEPOSIT + PRICE + DEPOSIT

    act_as(m, actor, "refund", second)
    assert m.balance(m.stranger.address) == stranger_before + PRICE + DEPOSIT
    assert_books_balance(m, ETH, first, second)


def test_reentrant_withdraw_recipient_reentering_withdraw_hits_guard_and_is_paid_once(
    market: Market,
) -> None:
    m = market
    seller, ref = _reentrant_seller_trade(m)
    _arm(m, seller, m.market, "refund", ref.id, ref.trade.as_tuple(), bubble=True)
    m.act("release", m.buyer, ref)  # the failed reentry bubbles: the price is credited
    assert m.credit(ETH, seller.address) == PRICE
    _arm(m, seller, m.market, "withdraw", ETH, seller.address)  # re-arming replaces the call
    receipt = execute(m, seller, m.market, "withdraw", ETH, seller.address)
    assert [as_error(r) for r in reentries(m, receipt, seller.contract, "Reentered")] == [
        (False, "ReentrancyGuardReentrantCall", ())
    ]
    assert len(events_named(m, receipt, "Withdrawn")) == 1
    assert m.balance(seller.address) == PRICE
    assert m.credit(ETH, seller.address) == 0
    assert m.balance(m.address) == 0


# ======================================================================== token reentrancy


@dataclass
class ReentrancySetup:
    token: Contract
    accomplice: Actor  # the token's hook acts through it
    victim: TradeRef  # a trade whose token payout the hook interrupts
    accomplice_trade: TradeRef  # a trade the accomplice bought, in the same token
    spare: Listing  # a token listing the accomplice could buy


@pytest.fixture
def reentrancy(market: Market) -> Iterator[ReentrancySetup]:
    m = market
    token = deploy_token(m, "ReentrantToken", m.buyer)
    accomplice = deploy_actor(m, "ContractAccount", m.others[2])
    fund_actor(m, accomplice, token)
    m.send(accomplice.owner, accomplice.contract.functions.setOperator(token.address))
    victim = token_trade(m, token)
    other = m.others[1]
    accomplice_trade = buy_as(
        m, accomplice, m.list(m.terms(seller=other.address, token=token.address), seller=other)
    )
    spare = m.list(m.terms(seller=other.address, token=token.address), seller=other)
    yield ReentrancySetup(token, accomplice, victim, accomplice_trade, spare)


def _hook_call(m: Market, s: ReentrancySetup, reentry: str) -> str:
    """Calldata for the accomplice's ``execute`` that re-enters the marketplace with ``reentry``."""
    if reentry == "release":
        inner = calldata(
            m.market, "release", s.accomplice_trade.id, s.accomplice_trade.trade.as_tuple()
        )
    elif reentry == "withdraw":
        inner = calldata(m.market, "withdraw", s.token.address, s.accomplice.address)
    else:
        assert reentry == "buy"
        inner = calldata(m.market, "buy", s.spare.id, s.spare.terms.as_tuple(), 1)
    return calldata(s.accomplice.contract, "execute", m.address, 0, inner)


def _arm_token(m: Market, s: ReentrancySetup, reentry: str, *, bubble: bool) -> None:
    m.send(
        m.stranger, s.token.functions.arm(s.accomplice.address, _hook_call(m, s, reentry), bubble)
    )


REENTRIES = ("release", "withdraw", "buy")


@pytest.mark.parametrize("reentry", REENTRIES)
def test_reentrant_token_reentering_during_payout_hits_guard_and_pays_once(
    market: Market, reentrancy: ReentrancySetup, reentry: str
) -> None:
    m, s = market, reentrancy
    token = s.token.address
    seller_before = m.balance(m.seller.address, token)
    _arm_token(m, s, reentry, bubble=False)
    receipt = m.act("release", m.buyer, s.victim)
    assert [as_error(r) for r in reentries(m, receipt, s.token, "HookCalled")] == [
        (False, "ReentrancyGuardReentrantCall", ())
    ]
    assert credited(m, receipt) == []
    assert m.balance(m.seller.address, token) == seller_before + PRICE
    m.assert_current(s.accomplice_trade)  # untouched: still Paid
    assert [e for e, _ in m.events(receipt)] == ["Released"]
    assert_books_balance(m, token, s.victim, s.accomplice_trade)
    assert m.balance(m.address, token) == PRICE


@pytest.mark.parametrize("reentry", REENTRIES)
def test_reentrant_token_reentry_failure_bubbling_credits_payout_once(
    market: Market, reentrancy: ReentrancySetup, reentry: str
) -> None:
    m, s = market, reentrancy
    token = s.token.address
    seller_before = m.balance(m.seller.address, token)
    _arm_token(m, s, reentry, bubble=True)
    receipt = m.act("release", m.buyer, s.victim)
    assert s.victim.trade.state is TradeState.COMPLETED
    assert credited(m, receipt) == [(token, m.seller.address, PRICE)]
    assert m.balance(m.seller.address, token) == seller_before
    m.assert_current(s.accomplice_trade)
    assert_books_balance(m, token, s.victim, s.accomplice_trade)
    assert m.balance(m.address, token) == 2 * PRICE
    m.send(m.stranger, s.token.functions.disarm())
    m.send(m.seller, m.market.functions.withdraw(token, m.seller.address))
    assert m.balance(m.seller.address, token) == seller_before + PRICE
    assert m.balance(m.address, token) == PRICE


@pytest.mark.parametrize("reentry", REENTRIES)
def test_reentrant_token_reentering_during_purchase_hits_guard_one_trade_opened(
    market: Market, reentrancy: ReentrancySetup, reentry: str
) -> None:
    m, s = market, reentrancy
    token = s.token.address
    listing = m.list(m.terms(token=token))
    _arm_token(m, s, reentry, bubble=False)
    before = m.balance(m.address, token)
    ref = m.buy(listing)
    (receipt,) = ref.receipts
    assert [as_error(r) for r in reentries(m, receipt, s.token, "HookCalled")] == [
        (False, "ReentrancyGuardReentrantCall", ())
    ]
    assert [e for e, _ in m.events(receipt)] == ["Purchased"]
    assert m.balance(m.address, token) == before + PRICE
    m.assert_current(s.accomplice_trade)
    live, _, sold, remaining = m.market.functions.listingState(s.spare.id).call()
    assert (live, sold, remaining) == (True, 0, 1)
    assert_books_balance(m, token, s.victim, s.accomplice_trade, ref)


@pytest.mark.parametrize("reentry", REENTRIES)
def test_reentrant_token_reentry_failure_bubbling_during_purchase_reverts_it(
    market: Market, reentrancy: ReentrancySetup, reentry: str
) -> None:
    m, s = market, reentrancy
    token = s.token.address
    listing = m.list(m.terms(token=token))
    _arm_token(m, s, reentry, bubble=True)
    before = m.balance(m.address, token)
    with reverts("ReentrancyGuardReentrantCall"):
        m.buy(listing)
    assert m.balance(m.address, token) == before
    live, _, sold, remaining = m.market.functions.listingState(listing.id).call()
    assert (live, sold, remaining) == (True, 0, 1)


def _hook_into_eth_trade(m: Market, s: ReentrancySetup, action: str, *extra: Any) -> TradeRef:
    """An ETH trade the accomplice bought, and the token armed to call ``action`` on it."""
    other = m.others[1]
    eth_trade = buy_as(m, s.accomplice, m.list(m.terms(seller=other.address), seller=other))
    inner = calldata(m.market, action, eth_trade.id, eth_trade.trade.as_tuple(), *extra)
    hook = calldata(s.accomplice.contract, "execute", m.address, 0, inner)
    m.send(m.stranger, s.token.functions.arm(s.accomplice.address, hook, False))
    return eth_trade


def test_reentrant_token_hook_proposing_on_an_eth_trade_succeeds_and_books_balance(
    market: Market, reentrancy: ReentrancySetup
) -> None:
    """The hook does run: a reentry that moves no funds is allowed, and recorded exactly."""
    m, s = market, reentrancy
    eth_trade = _hook_into_eth_trade(m, s, "proposeSettlement", PRICE // 2)
    receipt = m.act("release", m.buyer, s.victim)
    advance(m, eth_trade, receipt)
    (outcome,) = reentries(m, receipt, s.token, "HookCalled")
    assert outcome[0] is True
    assert (eth_trade.trade.proposer, eth_trade.trade.proposed_buyer_share) == (
        s.accomplice.address,
        PRICE // 2,
    )
    assert m.balance(m.seller.address, s.token.address) == PRICE
    assert_books_balance(m, ETH, eth_trade)
    assert_books_balance(m, s.token.address, s.victim, s.accomplice_trade)


def test_reentrant_token_hook_releasing_an_eth_trade_reverts_payout_gas_too_low(
    market: Market, reentrancy: ReentrancySetup
) -> None:
    m, s = market, reentrancy
    eth_trade = _hook_into_eth_trade(m, s, "release")
    receipt = m.act("release", m.buyer, s.victim)
    assert [as_error(r) for r in reentries(m, receipt, s.token, "HookCalled")] == [
        (False, "PayoutGasTooLow", (60_000,))
    ]
    m.assert_current(eth_trade)  # still Paid
    assert m.balance(m.seller.address, s.token.address) == PRICE  # the token payout went through
    assert_books_balance(m, ETH, eth_trade)
    assert_books_balance(m, s.token.address, s.victim, s.accomplice_trade)
    assert m.balance(m.address) == PRICE


# ============================================================================== weird tokens


def test_no_return_token_buy_release_return_deposit_completes(market: Market) -> None:
    m = market
    token = deploy_token(m, "NoReturnToken", m.buyer)
    t = token.address
    buyer_before = m.balance(m.buyer.address, t)
    ref = token_trade(m, token, deposit=DEPOSIT)
    assert m.balance(m.buyer.address, t) == buyer_before - PRICE - DEPOSIT
    assert m.balance(m.address, t) == PRICE + DEPOSIT
    m.act("release", m.buyer, ref)
    assert m.balance(m.seller.address, t) == PRICE
    m.act("returnDeposit", m.seller, ref)
    assert ref.trade.state is TradeState.COMPLETED
    assert m.balance(m.buyer.address, t) == buyer_before - PRICE
    assert m.balance(m.address, t) == 0
    assert all_credits(m, t) == 0


def test_no_return_token_refund_returns_everything(market: Market) -> None:
    m = market
    token = deploy_token(m, "NoReturnToken", m.buyer)
    t = token.address
    buyer_before = m.balance(m.buyer.address, t)
    ref = token_trade(m, token, deposit=DEPOSIT)
    receipt = m.act("refund", m.seller, ref)
    assert credited(m, receipt) == []
    assert m.balance(m.buyer.address, t) == buyer_before
    assert m.balance(m.address, t) == 0


def test_no_return_token_finalize_pays_both_sides(market: Market) -> None:
    m = market
    token = deploy_token(m, "NoReturnToken", m.buyer)
    t = token.address
    buyer_before = m.balance(m.buyer.address, t)
    ref = token_trade(m, token, deposit=DEPOSIT)
    m.warp_to(ref.trade.deadline)
    receipt = m.act("finalize", m.stranger, ref)
    assert credited(m, receipt) == []
    assert m.balance(m.seller.address, t) == PRICE
    assert m.balance(m.buyer.address, t) == buyer_before - PRICE
    assert m.balance(m.address, t) == 0


def test_fee_on_transfer_token_purchase_reverts_unsupported_token(market: Market) -> None:
    m = market
    token = deploy_token(m, "FeeOnTransferToken", m.buyer)
    listing = m.list(m.terms(token=token.address, price=PRICE, deposit=DEPOSIT), quantity=3)
    total = (PRICE + DEPOSIT) * 2
    with reverts("UnsupportedToken", token.address, total, total - total * 100 // 10_000):
        m.buy(listing, 2)
    assert m.balance(m.address, token.address) == 0


def test_reverting_token_purchase_reverts_with_token_error(market: Market) -> None:
    m = market
    token = deploy_token(m, "RevertingToken", m.buyer)
    listing = m.list(m.terms(token=token.address))
    m.send(m.stranger, token.functions.setReverting(True))
    with reverts("TransfersReverted", m.buyer.address, m.address, PRICE):
        m.buy(listing)
    live, _, sold, remaining = m.market.functions.listingState(listing.id).call()
    assert (live, sold, remaining) == (True, 0, 1)


def test_reverting_token_after_purchase_settlement_credits_and_withdraw_keeps_credit(
    market: Market,
) -> None:
    m = market
    token = deploy_token(m, "RevertingToken", m.buyer)
    t = token.address
    ref = token_trade(m, token, deposit=DEPOSIT)
    m.send(m.stranger, token.functions.setReverting(True))
    m.warp_to(ref.trade.deadline)
    receipt = m.act("finalize", m.stranger, ref)
    assert ref.trade.state is TradeState.COMPLETED
    assert credited(m, receipt) == [(t, m.seller.address, PRICE), (t, m.buyer.address, DEPOSIT)]
    with reverts("WithdrawalFailed", t, m.seller.address, PRICE):
        m.send(m.seller, m.market.functions.withdraw(t, m.seller.address))
    assert m.credit(t, m.seller.address) == PRICE
    assert_books_balance(m, t, ref)
    assert m.balance(m.address, t) == PRICE + DEPOSIT

    m.send(m.stranger, token.functions.setReverting(False))
    m.send(m.seller, m.market.functions.withdraw(t, m.seller.address))
    assert (m.balance(m.seller.address, t), m.credit(t, m.seller.address)) == (PRICE, 0)
    assert m.balance(m.address, t) == DEPOSIT == m.credit(t, m.buyer.address)


def test_blocklist_token_blocked_seller_is_credited_and_withdraws_to_unblocked_address(
    market: Market, payee: LocalAccount
) -> None:
    m = market
    token = deploy_token(m, "BlocklistToken", m.buyer)
    t = token.address
    ref = token_trade(m, token)
    m.send(m.deployer, token.functions.setBlocked(m.seller.address, True))
    receipt = m.act("release", m.buyer, ref)
    assert credited(m, receipt) == [(t, m.seller.address, PRICE)]
    with reverts("WithdrawalFailed", t, m.seller.address, PRICE):
        m.send(m.seller, m.market.functions.withdraw(t, m.seller.address))
    m.send(m.seller, m.market.functions.withdraw(t, payee.address))
    assert m.balance(payee.address, t) == PRICE
    assert (m.credit(t, m.seller.address), m.balance(m.address, t)) == (0, 0)


def test_blocklist_token_blocked_buyer_refund_is_credited(
    market: Market, payee: LocalAccount
) -> None:
    m = market
    token = deploy_token(m, "BlocklistToken", m.buyer)
    t = token.address
    ref = token_trade(m, token, deposit=DEPOSIT)
    m.send(m.deployer, token.functions.setBlocked(m.buyer.address, True))
    receipt = m.act("refund", m.seller, ref)
    assert credited(m, receipt) == [(t, m.buyer.address, PRICE + DEPOSIT)]
    m.send(m.buyer, m.market.functions.withdraw(t, payee.address))
    assert m.balance(payee.address, t) == PRICE + DEPOSIT
    assert m.balance(m.address, t) == 0


def test_false_returning_token_purchase_reverts_safe_erc20_failed(market: Market) -> None:
    m = market
    token = deploy_token(m, "FalseReturningToken", m.buyer)
    listing = m.list(m.terms(token=token.address))
    m.send(m.stranger, token.functions.setFailing(True))
    with reverts("SafeERC20FailedOperation", token.address):
        m.buy(listing)
    assert m.balance(m.address, token.address) == 0


def test_false_returning_token_after_purchase_payout_is_credited(market: Market) -> None:
    m = market
    token = deploy_token(m, "FalseReturningToken", m.buyer)
    t = token.address
    ref = token_trade(m, token)
    m.send(m.stranger, token.functions.setFailing(True))
    receipt = m.act("release", m.buyer, ref)
    assert credited(m, receipt) == [(t, m.seller.address, PRICE)]
    assert m.balance(m.seller.address, t) == 0
    with reverts("WithdrawalFailed", t, m.seller.address, PRICE):
        m.send(m.seller, m.market.functions.withdraw(t, m.seller.address))
    m.send(m.stranger, token.functions.setFailing(False))
    m.send(m.seller, m.market.functions.withdraw(t, m.seller.address))
    assert (m.balance(m.seller.address, t), m.balance(m.address, t)) == (PRICE, 0)


def test_sender_fee_token_shortfall_leaves_eth_and_other_tokens_whole(market: Market) -> None:
    """Limit: a token that charges the marketplace on the way out only short-changes its own trades."""
    m = market
    sft = deploy_token(m, "SenderFeeToken", m.buyer)
    plain = deploy_token(m, "NoReturnToken", m.buyer)
    s = sft.address
    first, second = token_trade(m, sft), token_trade(m, sft)
    plain_trade = token_trade(m, plain, deposit=DEPOSIT)
    eth_trade = m.buy(m.list(m.terms(deposit=DEPOSIT)))
    assert m.balance(m.address, s) == 2 * PRICE  # arrival was exact: the purchase check passed

    m.act("release", m.buyer, first)
    fee = PRICE * 100 // 10_000
    assert m.balance(m.seller.address, s) == PRICE
    assert m.balance(m.address, s) == PRICE - fee  # short of `second`'s escrow by the fee
    receipt = m.act("release", m.buyer, second)
    assert credited(m, receipt) == [(s, m.seller.address, PRICE)]
    with reverts("WithdrawalFailed", s, m.seller.address, PRICE):
        m.send(m.seller, m.market.functions.withdraw(s, m.seller.address))

    seller_eth = m.balance(m.seller.address)
    m.warp_to(eth_trade.trade.deadline)
    m.act("finalize", m.stranger, eth_trade)
    m.act("finalize", m.stranger, plain_trade)
    assert m.balance(m.seller.address) == seller_eth + PRICE
    assert m.balance(m.seller.address, plain.address) == PRICE
    assert m.balance(m.address) == 0
    assert m.balance(m.address, plain.address) == 0
    assert all_credits(m, ETH) == all_credits(m, plain.address) == 0


# ====================================================================== arbitrator is a party


def test_list_naming_seller_as_arbitrator_reverts_arbitrator_is_party(market: Market) -> None:
    m = market
    with reverts("ArbitratorIsParty", m.seller.address):
        m.list(m.terms(arbitrator=m.seller.address))


def test_update_listing_naming_seller_as_arbitrator_reverts_arbitrator_is_party(
    market: Market,
) -> None:
    m = market
    listing = m.list()
    fn = m.market.functions.updateListing(
        listing.salt, m.terms(arbitrator=m.seller.address).as_tuple(), 1
    )
    with reverts("ArbitratorIsParty", m.seller.address):
        m.send(m.seller, fn)


def test_signed_listing_naming_seller_as_arbitrator_reverts_at_buy(market: Market) -> None:
    m = market
    listing = m.sign_listing(m.terms(arbitrator=m.seller.address))
    with reverts("ArbitratorIsParty", m.seller.address):
        m.buy(listing)
    assert m.market.functions.record(listing.id).call() == 0


@pytest.mark.parametrize("signed", [False, True], ids=["onchain", "signed"])
def test_buyer_who_is_the_arbitrator_cannot_buy_arbitrator_is_party(
    market: Market, signed: bool
) -> None:
    m = market
    listing = m.sign_listing() if signed else m.list()
    with reverts("ArbitratorIsParty", m.arbitrator.address):
        m.buy(listing, buyer=m.arbitrator)


# ========================================================================= ERC-1271 sellers


def test_contract_seller_signed_listing_via_erc1271_sells_and_is_paid(market: Market) -> None:
    m = market
    seller = deploy_actor(m, "ContractAccount", m.others[0])
    listing = sign_as(m, seller, m.terms(seller=seller.address))
    ref = m.buy(listing)
    assert ref.id == listing.id
    (used,) = events_named(m, ref.receipts[0], "SignedListingUsed")
    assert used["seller"] == seller.address
    m.act("release", m.buyer, ref)
    assert m.balance(seller.address) == PRICE
    assert m.balance(m.address) == 0


def test_contract_seller_with_approval_withdrawn_reverts_invalid_signature(market: Market) -> None:
    m = market
    seller = deploy_actor(m, "ContractAccount", m.others[0])
    listing = sign_as(m, seller, m.terms(seller=seller.address))
    m.send(seller.owner, seller.contract.functions.approveHash(listing.id, False))
    with reverts("InvalidSignature", listing.id, seller.address):
        m.buy(listing)


def test_contract_seller_never_approving_reverts_invalid_signature(market: Market) -> None:
    m = market
    seller = deploy_actor(m, "ContractAccount", m.others[0])
    terms = m.terms(seller=seller.address)
    salt = os.urandom(32)
    digest = bytes(m.market.functions.signedListingDigest(terms.as_tuple(), 1, salt).call())
    listing = Listing(id=digest, terms=terms, salt=salt, quantity=1, signature=os.urandom(65))
    with reverts("InvalidSignature", digest, seller.address):
        m.buy(listing)


def test_contract_seller_revoking_after_first_sale_must_cancel_to_stop_sales(
    market: Market,
) -> None:
    """Limit: the approval is checked once, at the first purchase; cancelling is what stops sales."""
    m = market
    seller = deploy_actor(m, "ContractAccount", m.others[0])
    listing = sign_as(m, seller, m.terms(seller=seller.address), quantity=3)
    m.buy(listing)
    m.send(seller.owner, seller.contract.functions.approveHash(listing.id, False))
    m.buy(listing, buyer=m.stranger)  # still live: the signature was checked at the first sale
    execute(m, seller, m.market, "cancelSignedListing", listing.terms.as_tuple(), 3, listing.salt)
    with reverts("ListingNotActive", listing.id):
        m.buy(listing)


# ====================================================================== malicious arbitrator


def _disputed(m: Market, *, arbitrator: str | None = None) -> TradeRef:
    terms = m.terms(
        deposit=DEPOSIT, arbitrator_fee_bps=500, arbitrator=arbitrator or m.arbitrator.address
    )
    ref = m.buy(m.list(terms))
    m.act("dispute", m.buyer, ref)
    return ref


def test_arbitrator_ruling_more_than_available_reverts_share_too_large(market: Market) -> None:
    m = market
    ref = _disputed(m)
    held = PRICE + DEPOSIT
    available = held - held * 500 // 10_000
    with reverts("ShareTooLarge", ref.id, available + 1, available):
        m.act("rule", m.arbitrator, ref, available + 1)


def test_arbitrator_ruling_everything_to_buyer_takes_exactly_its_fee(market: Market) -> None:
    m = market
    ref = _disputed(m)
    held = PRICE + DEPOSIT
    fee = held * 500 // 10_000
    before = {a.address: m.balance(a.address) for a in (m.buyer, m.seller, m.arbitrator)}
    receipt = m.act("rule", m.arbitrator, ref, held - fee)
    assert m.balance(m.arbitrator.address) == before[m.arbitrator.address] + fee - gas_cost(receipt)
    assert m.balance(m.buyer.address) == before[m.buyer.address] + held - fee
    assert m.balance(m.seller.address) == before[m.seller.address]
    assert m.balance(m.address) == 0


def test_arbitrator_ruling_after_window_reverts_window_closed(market: Market) -> None:
    m = market
    ref = _disputed(m)
    m.warp_to(ref.trade.deadline)
    with reverts("WindowClosed", ref.id, ref.trade.deadline):
        m.act("rule", m.arbitrator, ref, 0)


def test_arbitrator_ruling_undisputed_trade_reverts_trade_not_in_state(market: Market) -> None:
    m = market
    ref = m.buy(m.list())
    with reverts("TradeNotInState", ref.id, TradeState.PAID):
        m.act("rule", m.arbitrator, ref, 0)


def test_arbitrator_ruling_trade_it_is_not_named_in_reverts_unauthorized(market: Market) -> None:
    m = market
    ref = _disputed(m, arbitrator=m.others[3].address)
    with reverts("Unauthorized", ref.id, m.arbitrator.address):
        m.act("rule", m.arbitrator, ref, 0)


def test_arbitrator_naming_itself_in_a_forged_trade_reverts_unknown_trade(market: Market) -> None:
    m = market
    ref = _disputed(m, arbitrator=m.others[3].address)
    forged = TradeRef(
        id=ref.id, trade=replace(ref.trade, arbitrator=m.arbitrator.address), listing=ref.listing
    )
    with reverts("UnknownTrade", ref.id):
        m.act("rule", m.arbitrator, forged, 0)


# ============================================================================= gas griefing


@pytest.mark.parametrize("action", ["release", "finalize"])
def test_callback_token_gas_burning_seller_settlement_costs_bounded_gas(
    market: Market, action: str, payee: LocalAccount
) -> None:
    """A token that calls its recipient (ERC-777 style) cannot burn the caller's gas.

    Found by this test: ERC-20 payouts used to forward all gas (``trySafeTransfer``), so a seller
    whose ``tokensReceived`` hook burns gas made the buyer's ``release`` need a ~844k gas limit
    (an honest one uses ~70k) and burn all of it, and ``finalize`` ~1.51M. Payouts now forward at
    most ``TOKEN_PAYOUT_GAS``; the hostile payout is credited and withdrawn later with full gas.
    """
    m = market
    token = deploy_token(m, "CallbackToken", m.buyer)
    seller = deploy_actor(m, "GasBurningReceiver", m.others[0])
    execute(m, seller, token, "registerHook")
    terms = m.terms(seller=seller.address, token=token.address, deposit=DEPOSIT)
    ref = m.buy(list_as(m, seller, terms))
    buyer_before = m.balance(m.buyer.address, token.address)
    if action == "finalize":
        m.warp_to(ref.trade.deadline)
        receipt = m.act("finalize", m.stranger, ref)
    else:
        receipt = m.act("release", m.buyer, ref)
    assert credited(m, receipt) == [(token.address, seller.address, PRICE)]
    assert receipt["gasUsed"] < SETTLEMENT_GAS_BOUND
    buyer_paid = DEPOSIT if action == "finalize" else 0
    assert m.balance(m.buyer.address, token.address) == buyer_before + buyer_paid
    assert_books_balance(m, token.address, ref)

    with reverts("WithdrawalFailed", token.address, seller.address, PRICE):
        execute(m, seller, m.market, "withdraw", token.address, seller.address)
    execute(m, seller, m.market, "withdraw", token.address, payee.address)
    assert m.balance(payee.address, token.address) == PRICE
    assert m.credit(token.address, seller.address) == 0


def test_tight_gas_limit_never_starves_an_honest_payout_into_a_credit(market: Market) -> None:
    """Whatever gas limit a stranger picks for ``finalize``, the seller is paid or nothing happens.

    ``GasHungryReceiver`` needs 50k gas and refuses cheaply with less, keeping its gas: without a
    check, a limit that leaves it just under 50k would still leave the marketplace enough to
    credit the payout instead of paying it.
    """
    m = market
    seller = deploy_actor(m, "GasHungryReceiver", m.others[0])
    ref = m.buy(list_as(m, seller, m.terms(seller=seller.address)))
    m.warp_to(ref.trade.deadline)
    m.chain.mine()
    fn = m.market.functions.finalize(ref.id, ref.trade.as_tuple())
    outcomes = set()
    for gas in range(60_000, 160_001, 1_000):
        snapshot = m.chain.snapshot()
        try:
            tx = fn.build_transaction({"from": m.stranger.address, "gas": gas})
            receipt = send_transaction(m.w3, m.stranger, tx, require_success=False)
            if receipt["status"] == 1:
                assert credited(m, receipt) == [], f"gas limit {gas} starved the payout"
                assert m.balance(seller.address) == PRICE
                outcomes.add("paid")
            else:
                m.assert_current(ref)
                assert m.credit(ETH, seller.address) == 0
                outcomes.add("reverted")
        finally:
            m.chain.revert(snapshot)
    assert outcomes == {"paid", "reverted"}  # the scan crossed the boundary
