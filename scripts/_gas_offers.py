"""Permit and offer figures for the gas report (``scripts/gas_report.py``): real receipts from the
same Anvil deployment as the sale figures, on an EIP-2612 token (``PermitToken``, OpenZeppelin's
ERC20Permit, 6 decimals like USDC).

Measured, each next to the approve path on the same token in the same run:

* list + ``buyWithPermit`` + release, against list + approve + buy + release;
* signed listing: ``buySignedWithPermit`` + release, against approve + ``buySigned`` + release;
* ``acceptOffer`` with the buyer's permit (the seller sends it) + release;
* an ETH offer: ``addCredit`` by the buyer, ``acceptOffer``, release; ``cancelOffer`` and
  ``cancelAllOffers`` for the record.

A permit writes the token's nonce for its owner; a buyer's first permit on a token turns that
slot from zero to one. Both are measured: "first permit" uses a buyer who never signed one on
this token, "later permit" one who has.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract import Contract
from web3.types import TxParams

from p2pchain.chain._model import TradeState, open_trade
from p2pchain.chain._offer_model import NO_PERMIT, Offer, Permit, permit_typed_data
from p2pchain.chain._permit2 import (
    PERMIT2_ABI,
    PERMIT2_ADDRESS,
    sign_permit2,
)
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import load_artifact

if TYPE_CHECKING:
    from gas_report import Bench, Listing, TradeRef

USD = 10**6
PRICE = 100 * USD
#: The issue's budgets: today's figures minus at least the approve transaction's 21,000 base.
BUDGETS: Mapping[str, int] = {
    "permit_onchain": 183_000,
    "permit_signed": 160_000,
    "offer_permit": 160_000,
}


class _Offers:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        artifact = load_artifact("PermitToken", test=True)
        factory = bench.w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
        data = factory.constructor("Test Dollar", "TUSD", 6).data_in_transaction
        receipt = send_transaction(bench.w3, bench.deployer, cast(TxParams, {"data": data}))
        address = receipt["contractAddress"]
        assert address is not None
        self.token: Contract = bench.w3.eth.contract(address=address, abi=list(artifact.abi))
        self.name = str(self.token.functions.name().call())
        # A token without EIP-2612 (OpenZeppelin ERC20), paid through Permit2.
        plain = load_artifact("TestERC20", test=True)
        factory = bench.w3.eth.contract(abi=list(plain.abi), bytecode=plain.bytecode)
        data = factory.constructor("Plain Dollar", "PUSD").data_in_transaction
        receipt = send_transaction(bench.w3, bench.deployer, cast(TxParams, {"data": data}))
        address = receipt["contractAddress"]
        assert address is not None
        self.plain: Contract = bench.w3.eth.contract(address=address, abi=list(plain.abi))
        self.permit2 = bench.w3.eth.contract(address=PERMIT2_ADDRESS, abi=PERMIT2_ABI)

    def now(self) -> int:
        return int(self.bench.w3.eth.get_block("latest")["timestamp"])

    def new_buyer(self, index: int) -> LocalAccount:
        """A funded account that never signed a permit (deterministic key)."""
        account: LocalAccount = Account.from_key(keccak(text=f"p2pchain gas report/buyer/{index}"))
        tx = cast(TxParams, {"to": account.address, "value": 10**18})
        send_transaction(self.bench.w3, self.bench.deployer, tx)
        return account

    def mint(self, who: str, amount: int) -> None:
        self.bench.send(self.bench.deployer, self.token.functions.mint(who, amount))

    def permit(self, owner: LocalAccount, value: int) -> Permit:
        deadline = self.now() + 86_400
        data = permit_typed_data(
            token_name=self.name,
            token_version="1",
            chain_id=self.bench.chain.chain_id,
            token=self.token.address,
            owner=owner.address,
            spender=self.bench.market.address,
            value=value,
            nonce=int(self.token.functions.nonces(owner.address).call()),
            deadline=deadline,
        )
        signature = bytes(owner.sign_typed_data(full_message=data).signature)
        return Permit.from_signature(value, deadline, signature)

    def permit2_permit(self, owner: LocalAccount, value: int) -> Permit:
        """``owner``'s Permit2 permit letting the marketplace pull ``value`` of the plain token."""
        deadline = self.now() + 86_400
        spender = self.bench.market.address
        allowance = self.permit2.functions.allowance(owner.address, self.plain.address, spender)
        return sign_permit2(
            owner,
            chain_id=self.bench.chain.chain_id,
            token=self.plain.address,
            amount=value,
            nonce=int(allowance.call()[2]),
            spender=spender,
            deadline=deadline,
        )

    def terms(self, token: Contract | None = None) -> Any:
        chosen = (token or self.token).address
        return replace(self.bench.terms("ERC-20", price=PRICE), token=chosen)

    def trade_from(self, receipt: Any, event: str, terms: Any, buyer: str, price: int) -> TradeRef:
        from gas_report import TradeRef

        args = self.bench.one_event(receipt, event)
        trade = open_trade(terms, buyer, 1, self.bench.timestamp_of(receipt), unit_price=price)
        ref = TradeRef(id=bytes(args["tradeId"]), trade=trade, listing=cast("Listing", None))
        self.bench.verify(ref)
        return ref

    def offer(self, listing: Listing, buyer: LocalAccount, price: int) -> tuple[Offer, bytes]:
        bench = self.bench
        offer = Offer(
            terms=listing.terms,
            listing_id=listing.id,
            buyer=buyer.address,
            quantity=1,
            price=price,
            expiry=self.now() + 3 * 86_400,
            counter=int(bench.market.functions.offerCounter(buyer.address).call()),
            salt=bench.fresh("offer"),
        )
        data = offer.typed_data(chain_id=bench.chain.chain_id, marketplace=bench.market.address)
        return offer, bytes(buyer.sign_typed_data(full_message=data).signature)


def _stat(values: Sequence[int]) -> dict[str, int]:
    return {"median": int(statistics.median(values)), "min": min(values), "max": max(values)}


def measure_offers(bench: Bench, repetitions: int, log: Any) -> dict[str, Any]:
    """Run the permit and offer plan; returns the report's ``offers`` section."""
    from gas_report import gas

    o = _Offers(bench)
    figures: dict[str, list[int]] = {}

    def add(key: str, value: int) -> None:
        figures.setdefault(key, []).append(value)

    # The escrow holds a balance of the token (as a live escrow always does), and the seller and
    # the buyer hold some: nothing measured is a first write of those slots.
    for who in (bench.seller, bench.buyer):
        o.mint(who.address, 1_000 * PRICE)
        bench.send(bench.deployer, o.plain.functions.mint(who.address, 1_000 * PRICE))
    bench.send(bench.buyer, o.plain.functions.approve(PERMIT2_ADDRESS, 2**256 - 1))
    made = 0

    def buyer_for(key: str) -> LocalAccount:
        """The warm buyer, or (``first``) a new one who never signed a permit on the token."""
        nonlocal made
        if key == "later":
            return bench.buyer
        made += 1
        fresh = o.new_buyer(made)
        o.mint(fresh.address, 10 * PRICE)
        bench.send(bench.deployer, o.plain.functions.mint(fresh.address, 10 * PRICE))
        bench.send(fresh, o.plain.functions.approve(PERMIT2_ADDRESS, 2**256 - 1))
        return fresh

    listing, _ = bench.list(o.terms())
    bench.send(bench.buyer, o.token.functions.approve(bench.market.address, PRICE))
    bench.buy(listing)  # left open: the escrow's balance slot stays warm-written
    bench.send(bench.buyer, o.token.functions.permit(*_permit_args(o, bench.buyer, 0)))
    # ...and has used a Permit2 permit for the marketplace on the plain token once.
    listing, _ = bench.list(o.terms(o.plain))
    first = o.permit2_permit(bench.buyer, PRICE)
    fn = bench.market.functions.buyWithPermit(
        listing.id, listing.terms.as_tuple(), 1, first.as_tuple()
    )
    bench.send(bench.buyer, fn)

    def three_paths(
        key: str,
        token: Contract,
        sign: Callable[[LocalAccount, int], Permit],
        names: tuple[str, str, str],
    ) -> None:
        """list + buyWithPermit + release, a signed listing's buySignedWithPermit + release,
        and acceptOffer with the buyer's permit + release, on ``token`` with ``sign``'s permits
        (EIP-2612 or Permit2); a fresh buyer each for ``first``."""
        onchain, signed_name, offer_name = names
        buyer = buyer_for(key)
        listing, listed = bench.list(o.terms(token))
        permit = sign(buyer, PRICE)
        fn = bench.market.functions.buyWithPermit(
            listing.id, listing.terms.as_tuple(), 1, permit.as_tuple()
        )
        bought = bench.send(buyer, fn)
        ref = o.trade_from(bought, "Purchased", listing.terms, buyer.address, PRICE)
        released = bench.act("release", buyer, ref)
        add(f"{onchain}_{key}", gas(listed) + gas(bought) + gas(released))
        if token is o.token:
            add(f"buyWithPermit_{key}", gas(bought))

        buyer = buyer_for(key)
        signed = bench.sign(o.terms(token))
        permit = sign(buyer, PRICE)
        fn = bench.market.functions.buySignedWithPermit(
            signed.terms.as_tuple(),
            signed.quantity,
            signed.salt,
            signed.signature,
            1,
            permit.as_tuple(),
        )
        bought = bench.send(buyer, fn)
        ref = o.trade_from(bought, "Purchased", signed.terms, buyer.address, PRICE)
        add(f"{signed_name}_{key}", gas(bought) + gas(bench.act("release", buyer, ref)))

        buyer = buyer_for(key)  # the listing exists already: acceptOffer + release
        listing, _ = bench.list(o.terms(token))
        offer, signature = o.offer(listing, buyer, PRICE * 9 // 10)
        permit = sign(buyer, offer.total)
        fn = bench.market.functions.acceptOffer(offer.as_tuple(), signature, permit.as_tuple())
        accepted = bench.send(bench.seller, fn)
        ref = o.trade_from(accepted, "OfferAccepted", listing.terms, buyer.address, offer.price)
        add(f"{offer_name}_{key}", gas(accepted) + gas(bench.act("release", buyer, ref)))
        if token is o.token:
            add(f"acceptOffer_{key}", gas(accepted))

    for rep in range(repetitions):
        log(f"permits and offers: repetition {rep + 1}/{repetitions}")
        for key in ("later", "first"):
            three_paths(key, o.token, o.permit, ("permit_onchain", "permit_signed", "offer_permit"))
            three_paths(key, o.plain, o.permit2_permit, ("p2_onchain", "p2_signed", "p2_offer"))

        # the approve path on the same token, same run
        listing, listed = bench.list(o.terms())
        approved = bench.send(bench.buyer, o.token.functions.approve(bench.market.address, PRICE))
        ref, bought = bench.buy(listing)
        released = bench.act("release", bench.buyer, ref)
        add("approve", gas(approved))
        add("approve_onchain", gas(approved) + gas(listed) + gas(bought) + gas(released))
        add("onchain_no_approve", gas(listed) + gas(bought) + gas(released))
        signed = bench.sign(o.terms())
        approved = bench.send(bench.buyer, o.token.functions.approve(bench.market.address, PRICE))
        ref, bought = bench.buy(signed)
        add(
            "approve_signed",
            gas(approved) + gas(bought) + gas(bench.act("release", bench.buyer, ref)),
        )

        # ETH offer backed by credit; cancels
        listing, _ = bench.list(bench.terms())
        offer, signature = o.offer(listing, bench.buyer, listing.terms.price * 9 // 10)
        credited = bench.send(
            bench.buyer, bench.market.functions.addCredit(bench.buyer.address), value=offer.total
        )
        fn = bench.market.functions.acceptOffer(offer.as_tuple(), signature, NO_PERMIT.as_tuple())
        accepted = bench.send(bench.seller, fn)
        ref = o.trade_from(
            accepted, "OfferAccepted", listing.terms, bench.buyer.address, offer.price
        )
        released = bench.act("release", bench.buyer, ref)
        if ref.trade.state is not TradeState.COMPLETED:
            raise RuntimeError(f"release left the offer's trade {ref.trade.state.name}")
        add("eth_offer", gas(credited) + gas(accepted) + gas(released))
        add("addCredit", gas(credited))
        add("acceptOffer_eth", gas(accepted))
        offer, _ = o.offer(listing, bench.buyer, 1)
        add(
            "cancelOffer",
            gas(bench.send(bench.buyer, bench.market.functions.cancelOffer(offer.as_tuple()))),
        )
        add(
            "cancelAllOffers",
            gas(bench.send(bench.buyer, bench.market.functions.cancelAllOffers())),
        )

    stats = {k: _stat(v) for k, v in figures.items()}
    pairs = [(key, key) for key in BUDGETS] + [(k, b) for k, b, _ in _ROWS_PERMIT2]
    verdicts = {
        key: {
            "first": stats[f"{key}_first"]["median"] <= BUDGETS[budget_key],
            "later": stats[f"{key}_later"]["median"] <= BUDGETS[budget_key],
        }
        for key, budget_key in pairs
    }
    return {
        "budgets": dict(BUDGETS),
        "figures": stats,
        "verdicts": verdicts,
        "method": (
            f"PermitToken (OpenZeppelin ERC20Permit, 6 decimals), 100 TUSD listings, arbitrator at "
            f'2%, no deposit; median of {repetitions}. "later permit": the buyer has signed a '
            'permit on this token before; "first permit": a buyer who never has (the token\'s '
            "nonce slot goes from 0 to 1). Permit2 rows: a plain OpenZeppelin ERC20 (no EIP-2612) "
            "that the buyer approved to Permit2 once (not counted, as a one-off per token); "
            '"later": the buyer has used a Permit2 permit for the marketplace on it before, '
            '"first": never (Permit2\'s allowance slot goes from 0 to non-zero)'
        ),
    }


def _permit_args(o: _Offers, owner: LocalAccount, value: int) -> tuple[Any, ...]:
    """A permit the buyer submits itself once, so that its nonce is no longer 0."""
    p = o.permit(owner, value)
    return (owner.address, o.bench.market.address, value, p.deadline, p.v, p.r, p.s)


_ROWS = (
    ("permit_onchain", "list + buyWithPermit + release", "approve_onchain"),
    ("permit_signed", "signed listing: buySignedWithPermit + release", "approve_signed"),
    ("offer_permit", "acceptOffer (seller, buyer's permit) + release", None),
)
_ROWS_PERMIT2 = (
    ("p2_onchain", "permit_onchain", "Permit2: list + buyWithPermit + release"),
    ("p2_signed", "permit_signed", "Permit2: signed listing: buySignedWithPermit + release"),
    ("p2_offer", "offer_permit", "Permit2: acceptOffer (seller, buyer's permit) + release"),
)
_SINGLE = (
    ("buyWithPermit", "buyWithPermit alone"),
    ("acceptOffer", "acceptOffer with permit alone"),
)
_OTHER = (
    ("approve", "approve (what a permit replaces)"),
    ("onchain_no_approve", "list + buy + release, approve left out"),
    ("eth_offer", "ETH offer: addCredit + acceptOffer + release"),
    ("addCredit", "addCredit"),
    ("acceptOffer_eth", "acceptOffer, ETH from credit"),
    ("cancelOffer", "cancelOffer"),
    ("cancelAllOffers", "cancelAllOffers"),
)


def _fig(s: Mapping[str, int]) -> str:
    text = f"{s['median']:,}"
    return text if s["min"] == s["max"] else f"{text} ({s['min']:,}–{s['max']:,})"


def _verdict(value: int, budget: int) -> str:
    return f"✅ {budget - value:,} under" if value <= budget else f"❌ over by {value - budget:,}"


def offers_markdown(section: Mapping[str, Any]) -> list[str]:
    """The report's permits-and-offers section, as markdown lines."""
    f, budgets = section["figures"], section["budgets"]
    out = ["## ERC-20 permits and offers", "", str(section["method"]) + ".", ""]
    out += [
        (
            "| Path | later permit | first permit | Budget | later vs budget | first vs budget "
            "| with approve instead (same run) |"
        ),
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for key, title, baseline in _ROWS:
        later, first, budget = f[f"{key}_later"], f[f"{key}_first"], budgets[key]
        base = _fig(f[baseline]) if baseline else "–"
        out.append(
            f"| {title} | {_fig(later)} | {_fig(first)} | {budget:,} | "
            f"{_verdict(later['median'], budget)} | {_verdict(first['median'], budget)} | {base} |"
        )
    for key, budget_key, title in _ROWS_PERMIT2:
        if f"{key}_later" not in f:
            continue
        later, first, budget = f[f"{key}_later"], f[f"{key}_first"], budgets[budget_key]
        out.append(
            f"| {title} | {_fig(later)} | {_fig(first)} | {budget:,} | "
            f"{_verdict(later['median'], budget)} | {_verdict(first['median'], budget)} | – |"
        )
    for key, title in _SINGLE:
        out.append(f"| {title} | {_fig(f[f'{key}_later'])} | {_fig(f[f'{key}_first'])} | – | | | |")
    out += ["", "| Operation | Gas |", "|---|---:|"]
    out += [f"| {title} | {_fig(f[key])} |" for key, title in _OTHER if key in f]
    out += [
        "",
        (
            "A permit moves the allowance write into the purchase, where the pull that follows "
            "clears it again (most of its cost comes back as a refund), and saves the approve "
            "transaction's 21,000 base. What it adds is the signature check and the token's nonce "
            "write. A buyer's first permit on a token turns that nonce slot from zero to one, "
            "which is most of what the two columns differ by. Through Permit2, the allowance "
            "lives in Permit2 (one slot packing amount, expiration and nonce, which a payment "
            "leaves non-zero, so no refund comes back), and each payment calls one more contract "
            "(a cold account, 2,600); a buyer's first Permit2 permit turns that slot from zero to "
            "non-zero."
        ),
        "",
    ]
    return out


def offers_console(console: Any, section: Mapping[str, Any]) -> list[str]:
    """Print the permits-and-offers table; return the budgets missed (either column)."""
    from rich.table import Table

    table = Table(title="ERC-20 permits and offers")
    for col in ("Path", "later permit", "first permit", "Budget"):
        table.add_column(col, justify="left" if col == "Path" else "right")
    missed = []
    f, budgets = section["figures"], section["budgets"]
    rows = [(key, key, title) for key, title, _ in _ROWS] + [
        row for row in _ROWS_PERMIT2 if f"{row[0]}_later" in f
    ]
    for key, budget_key, title in rows:
        later, first, budget = f[f"{key}_later"], f[f"{key}_first"], budgets[budget_key]
        table.add_row(title, _fig(later), _fig(first), f"{budget:,}")
        for label, s in (("later permit", later), ("first permit", first)):
            if s["median"] > budget:
                missed.append(f"{title} ({label}): {s['median']:,} > {budget:,}")
    console.print(table)
    return missed
