"""The whole marketplace in one run, on the embedded chain: nothing to set up.

A seller lists a car for a weekend (rent + refundable deposit, an arbitrator named) and a helmet
as a gasless signed listing; a buyer rents the car, releases the rent, gets the deposit back, and
both rate each other; the helmet trade is disputed and the arbitrator rules a split. Every step
prints its transaction hash and gas; the run ends with balances, reputations and a gas summary.

Usage: ``python scripts/demo.py`` (or ``make demo``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/demo.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from p2pchain._artifacts import load_artifact
from p2pchain._chains import EmbeddedChain
from p2pchain._deploy import deploy
from p2pchain._errors import P2PChainError
from p2pchain._events import receipt_events
from p2pchain._model import (
    ZERO_ADDRESS,
    ListingTerms,
    Trade,
    apply_event,
    open_trade,
    signed_listing_typed_data,
    split_cid,
)
from p2pchain._tx import send_transaction

ETHER = 10**18
DAY = 86_400
console = Console(width=max(100, Console().width))


def raw_cid(document: bytes) -> bytes:
    """The CIDv1 (raw codec, sha2-256) of a document of at most one 256 KiB chunk, as Kubo's
    ``ipfs add --cid-version=1`` computes it."""
    return bytes.fromhex("01551220") + hashlib.sha256(document).digest()


def cid_text(cid: bytes) -> str:
    """Multibase base32 (``b...``) text of a binary CIDv1."""
    return "b" + base64.b32encode(cid).decode().lower().rstrip("=")


class Demo:
    """Sends the demo's transactions and keeps the gas ledger."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain
        self.w3: Web3 = chain.w3
        self.deployer, self.seller, self.buyer, self.arbitrator = chain.accounts[:4]
        deployment = deploy(chain, self.deployer, constructor_args={"rulingWindow": 3 * DAY})
        self.market: Contract = self.w3.eth.contract(
            address=deployment.marketplace, abi=list(load_artifact("Marketplace").abi)
        )
        self.reputation: Contract = self.w3.eth.contract(
            address=deployment.reputation, abi=list(load_artifact("Reputation").abi)
        )
        self.gas: list[tuple[str, int]] = []
        self.step("deploy Marketplace + Reputation", deployment.tx_hash, None)

    def step(self, what: str, tx_hash: str, receipt: TxReceipt | None) -> None:
        receipt = receipt or self.w3.eth.get_transaction_receipt(HexStr(tx_hash))
        gas = int(receipt["gasUsed"])
        self.gas.append((what, gas))
        console.print(f"  [green]✓[/] {what:<44} gas {gas:>8,}  tx {tx_hash[:14]}…")

    def send(self, what: str, account: LocalAccount, fn: Any, value: int = 0) -> TxReceipt:
        tx = fn.build_transaction({"from": account.address, "value": value})
        receipt = send_transaction(self.w3, account, tx)
        self.step(what, receipt["transactionHash"].to_0x_hex(), receipt)
        return receipt

    def trade_after(self, trade: Trade, trade_id: bytes, receipt: TxReceipt) -> Trade:
        ts = int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
        for name, args in receipt_events(self.market, receipt):
            if bytes(args.get("tradeId", b"")) == trade_id:
                trade = apply_event(trade, name, args, ts)
        current, _ = self.market.functions.checkTrade(trade_id, trade.as_tuple()).call()
        assert current, "rebuilt trade does not match the chain"
        return trade

    def purchased(self, receipt: TxReceipt, terms: ListingTerms, buyer: str) -> tuple[bytes, Trade]:
        (event,) = self.market.events.Purchased().process_receipt(receipt, errors=DISCARD)
        ts = int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
        trade = open_trade(terms, buyer, int(event["args"]["quantity"]), ts)
        return bytes(event["args"]["tradeId"]), trade

    def act(self, what: str, account: LocalAccount, name: str, trade_id: bytes, trade: Trade,
            *extra: Any) -> Trade:
        fn = getattr(self.market.functions, name)(trade_id, trade.as_tuple(), *extra)
        return self.trade_after(trade, trade_id, self.send(what, account, fn))


def run() -> None:
    started = time.perf_counter()
    console.rule("[bold]p2pchain demo[/] — embedded chain, nothing to set up")
    with EmbeddedChain() as chain:
        d = Demo(chain)
        names = {d.seller.address: "seller", d.buyer.address: "buyer",
                 d.arbitrator.address: "arbitrator"}
        start_balance = {a: chain.w3.eth.get_balance(a) for a in names}

        console.print("\n[bold]1. The seller lists a car for the weekend[/] (rent + deposit)")
        doc = json.dumps({
            "version": 1, "kind": "rental", "title": "VW Golf, Saturday to Monday",
            "description": "Full tank, child seat on request.", "category": "vehicles",
            "rental": {"start": "2026-11-28", "end": "2026-11-30"},
        }, sort_keys=True).encode()
        cid = raw_cid(doc)
        prefix, digest = split_cid(cid)
        car = ListingTerms(
            seller=d.seller.address, token=ZERO_ADDRESS, price=ETHER // 2, deposit=ETHER,
            arbitrator=d.arbitrator.address, arbitrator_fee_bps=200, review_window=4 * DAY,
            expiry=0, cid_prefix=prefix, cid_digest=digest,
        )
        salt = os.urandom(32)
        receipt = d.send("list car (0.5 ETH rent, 1 ETH deposit)", d.seller,
                         d.market.functions.list(car.as_tuple(), salt, 1))
        (listed,) = d.market.events.Listed().process_receipt(receipt, errors=DISCARD)
        listing_id = bytes(listed["args"]["listingId"])
        console.print(f"    listing {listing_id.hex()[:16]}…  document {cid_text(cid)}")

        console.print("\n[bold]2. The buyer inspects and rents it[/]")
        live, _, _, remaining = d.market.functions.listingState(listing_id).call()
        terms_hash = d.market.functions.hashTerms(car.as_tuple()).call()
        console.print(f"    live={live} remaining={remaining} terms hash {terms_hash.hex()[:16]}…;"
                      f" document hash matches CID: {hashlib.sha256(doc).digest() == digest}")
        receipt = d.send("buy (pays 1.5 ETH into escrow)", d.buyer,
                         d.market.functions.buy(listing_id, car.as_tuple(), 1),
                         value=car.price + car.deposit)
        trade_id, trade = d.purchased(receipt, car, d.buyer.address)
        trade = d.act("buyer releases the rent", d.buyer, "release", trade_id, trade)
        trade = d.act("owner returns the deposit", d.seller, "returnDeposit", trade_id, trade)
        console.print(f"    trade state: [bold]{trade.state.name}[/]")
        d.send("buyer rates seller 5★", d.buyer,
               d.reputation.functions.rate(trade_id, trade.as_tuple(), 5, b""))
        d.send("seller rates buyer 5★", d.seller,
               d.reputation.functions.rate(trade_id, trade.as_tuple(), 5, b""))

        console.print("\n[bold]3. A helmet as a gasless signed listing, disputed and ruled[/]")
        helmet_doc = json.dumps({"version": 1, "kind": "sale", "title": "Helmet, size M"}).encode()
        h_prefix, h_digest = split_cid(raw_cid(helmet_doc))
        helmet = ListingTerms(
            seller=d.seller.address, token=ZERO_ADDRESS, price=ETHER // 10, deposit=0,
            arbitrator=d.arbitrator.address, arbitrator_fee_bps=500, review_window=7 * DAY,
            expiry=0, cid_prefix=h_prefix, cid_digest=h_digest,
        )
        h_salt = os.urandom(32)
        typed = signed_listing_typed_data(helmet, 1, h_salt, chain_id=chain.chain_id,
                                          marketplace=d.market.address)
        signature = d.seller.sign_typed_data(full_message=typed).signature
        console.print(f"  [green]✓[/] {'seller signs the listing off-chain':<44} gas {0:>8,}")
        receipt = d.send("buy signed listing (0.1 ETH)", d.buyer,
                         d.market.functions.buySigned(helmet.as_tuple(), 1, h_salt, signature, 1),
                         value=helmet.price)
        h_id, h_trade = d.purchased(receipt, helmet, d.buyer.address)
        h_trade = d.act("buyer disputes (helmet scratched)", d.buyer, "dispute", h_id, h_trade)
        h_trade = d.act("arbitrator rules: 0.06 ETH back to buyer", d.arbitrator, "rule", h_id,
                        h_trade, ETHER * 6 // 100)
        console.print(f"    trade state: [bold]{h_trade.state.name}[/]")

        console.print()
        balances = Table(title="Balance changes (gas included)")
        balances.add_column("account")
        balances.add_column("change (ETH)", justify="right")
        for address, name in names.items():
            delta = chain.w3.eth.get_balance(address) - start_balance[address]
            balances.add_row(name, f"{delta / ETHER:+.6f}")
        console.print(balances)

        reps = Table(title="Reputation (ETH trades)")
        for column in ("address", "ratings", "average", "rated volume (ETH)"):
            reps.add_column(column, justify="right" if column != "address" else "left")
        for address, name in names.items():
            count, total, volume = d.reputation.functions.aggregate(address, ZERO_ADDRESS).call()
            avg = f"{total / count:.1f}★" if count else "-"
            reps.add_row(name, str(count), avg, f"{volume / ETHER:.2f}")
        console.print(reps)

        gas = Table(title="Gas used (from receipts)")
        gas.add_column("step")
        gas.add_column("gas", justify="right")
        for what, used in d.gas[1:]:
            gas.add_row(what, f"{used:,}")
        gas.add_row("[bold]total (excluding deployment)", f"[bold]{sum(g for _, g in d.gas[1:]):,}")
        console.print(gas)
    console.print(f"done in {time.perf_counter() - started:.1f}s")


def main() -> int:
    """Run the demo; one line and exit status 1 on a p2pchain error."""
    try:
        run()
    except P2PChainError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
