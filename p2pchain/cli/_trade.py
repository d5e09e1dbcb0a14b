"""``p2pchain trade``: buy, settle and inspect trades. Every move of money asks first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from p2pchain.cli._common import (
    ZERO_ADDRESS,
    command,
    confirm,
    earlier,
    emit,
    fees_row,
    format_amount,
    format_duration,
    format_time,
    hex_id,
    noun_app,
    opts,
    panel,
    parse_amount,
    status,
    who,
)
from p2pchain.cli._errors import CliError
from p2pchain.cli._show import (
    arbitrator_text,
    listing_titles,
    show_trade,
    trade_json,
    trades_table,
)

if TYPE_CHECKING:
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.market._views import TradeView

trade_app = noun_app("Buy, settle, dispute and inspect trades.")
settle_app = noun_app("Agree a split with the other party: one proposes, the other accepts.")
trade_app.add_typer(settle_app, name="settle")

MONEY = ("network", "account", "passphrase_file", "json_output", "yes")
TradeArg = Annotated[str, typer.Argument(help="The trade id (0x + 64 hex digits).")]
ShareOpt = Annotated[
    str,
    typer.Option(
        "--buyer-share", help="What the buyer gets, e.g. 0.05eth; the rest goes to the seller."
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the trade id.")]


def _trade_id(value: str) -> str:
    from p2pchain.market._validation import bytes32

    text = value.strip()
    bytes32(text, "a trade id")
    return text


def _load(client: MarketplaceClient, trade: str) -> TradeView:
    return client.trade(_trade_id(trade))


def _finish(view: TradeView, what: str) -> None:
    tx = view.tx
    line = f"{what}: trade {hex_id(view.id)} is now {view.state.name.lower()}"
    if tx is not None:
        line += f" (tx {tx.tx_hash}, gas fee {format_amount(tx.fee)})"
    emit(trade_json(view), lambda: typer.echo(line))


def _parties(view: TradeView) -> list[tuple[str, Any]]:
    t = view.trade
    return [
        ("trade", hex_id(view.id)),
        ("buyer", who(t.buyer)),
        ("seller", who(t.seller)),
        ("arbitrator", arbitrator_text(t.arbitrator, t.arbitrator_fee_bps)),
    ]


@command(trade_app, "buy", shared=MONEY)
def buy(
    listing: Annotated[str, typer.Argument(help="A listing id, or a signed-listing JSON file.")],
    quantity: Annotated[int, typer.Option(min=1, help="Units to buy.")] = 1,
    quiet: QuietOpt = False,
) -> None:
    """Buy: pay price (and deposit) into escrow under the terms shown."""
    from p2pchain.cli._listing import check_listing_ref, resolve_listing

    o = opts()
    check_listing_ref(listing)
    client = o.client()
    target = resolve_listing(client, listing)
    call = client.prepare_buy(target, quantity)
    resumed = earlier(call)
    if resumed is not None:
        with status(o, "waiting for the earlier purchase"):
            _bought(resumed.result(), quiet)
        return
    t = target.terms
    total = (t.price + t.deposit) * quantity
    rows: list[tuple[str, Any]] = [
        *_what_is_bought(o, client, target),
        ("listing", hex_id(target.id)),
    ]
    rows += [
        ("to", f"the escrow; the price goes to seller {who(t.seller)} when released"),
        ("you pay", format_amount(total, t.token)),
        ("price", f"{format_amount(t.price, t.token)} x {quantity}"),
    ]
    if t.deposit:
        rows.append(("deposit", f"{format_amount(t.deposit, t.token)} x {quantity}, refundable"))
    window = format_duration(t.review_window)
    rows += [
        fees_row(call),
        ("arbitrator", arbitrator_text(t.arbitrator, t.arbitrator_fee_bps)),
        ("review window", f"{window} after purchase; then anyone can finalize (seller paid)"),
    ]
    if t.expiry:
        rows.append(("listing expires", format_time(t.expiry)))
    rows.append(("from", client.address))
    confirm(o, "buy", rows)
    with status(o, "waiting for the purchase to be mined"):
        view = call.send()
    _bought(view, quiet)


def _what_is_bought(o: Any, client: MarketplaceClient, target: Any) -> list[tuple[str, Any]]:
    """The title, kind and rental dates from the verified document, with a warning when the
    review window would end before the rental does (no dispute possible after it)."""
    from p2pchain.ipfs import CID
    from p2pchain.market._listings import (
        MAX_DOCUMENT_SIZE,
        check_agreement,
        fetch_listing,
        parse_listing_document,
    )
    from p2pchain.market._views import Listing

    try:
        if isinstance(target, Listing):  # just read from the chain: only the document is fetched
            raw = o.backend(read=True).cat(
                str(CID.parse(target.terms.cid)), max_size=MAX_DOCUMENT_SIZE
            )
            document = parse_listing_document(raw)
            check_agreement(document, target)
        else:
            document = fetch_listing(
                client, o.backend(read=True), target, with_images=False
            ).document
    except Exception as exc:  # noqa: BLE001 - shown to the buyer instead of the document
        return [("warning", f"the listing's document could not be read or verified: {exc}")]
    rows: list[tuple[str, Any]] = [("item", f"{document.title} ({document.kind})")]
    rental = document.rental
    if rental is not None:
        period = f"{format_time(rental.start)} to {format_time(rental.end)}"
        rows.append(("rental", f"{period} ({format_duration(rental.end - rental.start)})"))
        ends = client.now() + target.terms.review_window
        if ends < rental.end:
            warning = (
                f"the review window ends at {format_time(ends)}, before the rental ends: no"
                " dispute is possible after that"
            )
            rows.append(("warning", warning))
    return rows


def _bought(view: TradeView, quiet: bool) -> None:
    if quiet:
        typer.echo(hex_id(view.id))
        return
    emit(
        trade_json(view),
        lambda: panel(
            "bought",
            [
                ("trade", hex_id(view.id)),
                ("held in escrow", format_amount(view.held.total, view.token)),
                ("review window ends", format_time(view.review_deadline)),
                ("next", f"p2pchain trade release {hex_id(view.id)}   (when you have the item)"),
            ],
            style="green",
        ),
    )


def _simple(trade: str, title: str, describe: Any, prepare: Any, done: str) -> None:
    """Load the trade, simulate the call, show what it pays, ask, send, report."""
    o = opts()
    trade_id = _trade_id(trade)  # bad input fails before connecting or unlocking
    client = o.client()
    view = client.trade(trade_id)
    call = prepare(client, view)
    resumed = earlier(call)
    if resumed is not None:
        with status(o, "waiting for the earlier transaction"):
            _finish(resumed.result(), done)
        return
    rows = [*_parties(view), *describe(view)]
    confirm(o, title, [*rows, fees_row(call)])
    with status(o, "waiting for the transaction"):
        result = call.send()
    _finish(result, done)


@command(trade_app, "release", shared=MONEY)
def release(trade: TradeArg) -> None:
    """Buyer: release the price to the seller (completes a sale)."""
    _simple(
        trade,
        "release payment",
        lambda v: [
            ("pays", f"{format_amount(v.held.seller_pot, v.token)} to the seller {who(v.seller)}")
        ],
        lambda c, v: c.prepare_release(v),
        "released",
    )


@command(trade_app, "return-deposit", shared=MONEY)
def return_deposit(trade: TradeArg) -> None:
    """Seller: return a rental's deposit to the buyer."""
    _simple(
        trade,
        "return deposit",
        lambda v: [
            ("pays", f"{format_amount(v.held.buyer_pot, v.token)} to the buyer {who(v.buyer)}")
        ],
        lambda c, v: c.prepare_return_deposit(v),
        "deposit returned",
    )


@command(trade_app, "refund", shared=MONEY)
def refund(trade: TradeArg) -> None:
    """Seller: refund everything held to the buyer."""
    _simple(
        trade,
        "refund",
        lambda v: [("pays", f"{format_amount(v.held.total, v.token)} to the buyer {who(v.buyer)}")],
        lambda c, v: c.prepare_refund(v),
        "refunded",
    )


@command(trade_app, "finalize", shared=MONEY)
def finalize(trade: TradeArg) -> None:
    """Anyone, after the review window: pay the price to the seller and the deposit back."""
    _simple(
        trade,
        "finalize",
        lambda v: [
            ("pays", f"{format_amount(v.held.seller_pot, v.token)} to the seller {who(v.seller)}"),
            ("returns", f"{format_amount(v.held.buyer_pot, v.token)} to the buyer {who(v.buyer)}"),
            ("review window ended", format_time(v.review_deadline)),
        ],
        lambda c, v: c.prepare_finalize(v),
        "finalized",
    )


@command(trade_app, "dispute", shared=MONEY)
def dispute(trade: TradeArg) -> None:
    """Buyer or seller, before the review window ends: ask the arbitrator to rule."""

    def describe(v: TradeView) -> list[tuple[str, Any]]:
        if v.arbitrator.lower() == ZERO_ADDRESS:
            raise CliError("this trade names no arbitrator: it cannot be disputed")
        fee = v.held.total * v.trade.arbitrator_fee_bps // 10_000
        return [
            ("held", format_amount(v.held.total, v.token)),
            ("arbitrator fee", f"up to {format_amount(fee, v.token)}, only if it rules"),
            ("window", f"open until {format_time(v.review_deadline)}"),
        ]

    _simple(trade, "open a dispute", describe, lambda c, v: c.prepare_dispute(v), "disputed")


def _share(text: str, view: TradeView, most: int, what: str) -> int:
    """The buyer's share, in the trade's token; more than ``most`` is refused in its units."""
    share = parse_amount(text, "buyer share", view.token)
    if share > most:
        raise CliError(
            f"the buyer share {format_amount(share, view.token, short=True)} is more than the"
            f" {format_amount(most, view.token, short=True)} {what}"
        )
    return share


@command(trade_app, "rule", shared=MONEY)
def rule(trade: TradeArg, buyer_share: ShareOpt) -> None:
    """Arbitrator, before the ruling deadline: split what is held (after your fee)."""

    def share_of(v: TradeView) -> int:
        fee = v.held.total * v.trade.arbitrator_fee_bps // 10_000
        return _share(buyer_share, v, v.held.total - fee, "held after your fee")

    def describe(v: TradeView) -> list[tuple[str, Any]]:
        fee = v.held.total * v.trade.arbitrator_fee_bps // 10_000
        share = share_of(v)
        rest = v.held.total - fee - share
        return [
            ("buyer gets", format_amount(share, v.token)),
            ("seller gets", format_amount(max(rest, 0), v.token)),
            ("your fee", format_amount(fee, v.token)),
            ("ruling deadline", format_time(v.ruling_deadline)),
        ]

    _simple(trade, "rule", describe, lambda c, v: c.prepare_rule(v, share_of(v)), "ruled")


@command(trade_app, "claim-timeout", shared=MONEY)
def claim_timeout(trade: TradeArg) -> None:
    """Anyone, after an unanswered dispute's deadline: return everything held to the buyer."""
    _simple(
        trade,
        "claim ruling timeout",
        lambda v: [("pays", f"{format_amount(v.held.total, v.token)} to the buyer {who(v.buyer)}")],
        lambda c, v: c.prepare_claim_ruling_timeout(v),
        "ruling timed out",
    )


@command(settle_app, "propose", shared=MONEY)
def propose(trade: TradeArg, buyer_share: ShareOpt) -> None:
    """Buyer or seller: propose a split; the other party accepts it with `settle accept`."""

    def share_of(v: TradeView) -> int:
        return _share(buyer_share, v, v.held.total, "held")

    def describe(v: TradeView) -> list[tuple[str, Any]]:
        share = share_of(v)
        return [
            ("held", format_amount(v.held.total, v.token)),
            ("buyer would get", format_amount(share, v.token)),
            ("seller would get", format_amount(max(v.held.total - share, 0), v.token)),
        ]

    _simple(
        trade,
        "propose a settlement",
        describe,
        lambda c, v: c.prepare_propose_settlement(v, share_of(v)),
        "proposed",
    )


@command(settle_app, "accept", shared=MONEY)
def accept(trade: TradeArg) -> None:
    """Accept the other party's settlement proposal; the split is paid out at once."""

    def describe(v: TradeView) -> list[tuple[str, Any]]:
        if v.proposal is None:
            raise CliError("there is no settlement proposal on this trade to accept")
        by, share = v.proposal
        return [
            ("proposed by", by),
            ("buyer gets", format_amount(share, v.token)),
            ("seller gets", format_amount(v.held.total - share, v.token)),
        ]

    _simple(
        trade, "accept the settlement", describe,
        lambda c, v: c.prepare_accept_settlement(v), "settled",
    )  # fmt: skip


@command(trade_app, "withdraw", shared=MONEY)
def withdraw(
    token: Annotated[str, typer.Option(help="Token address (default: ETH).")] = ZERO_ADDRESS,
    to: Annotated[str | None, typer.Option(help="Send to this address or wallet.")] = None,
) -> None:
    """Withdraw payouts that could not be pushed to you (credited by the marketplace)."""
    o = opts()
    client = o.client()
    recipient = o.resolve_address(to, "recipient") if to else client.address
    call = client.prepare_withdraw(token, recipient)
    resumed = earlier(call)
    if resumed is not None:
        with status(o, "waiting for the earlier transaction"):
            result = resumed.result()
    else:
        owed = client.credit(client.address, token)
        if owed == 0:
            raise CliError(f"nothing to withdraw: {client.address} has no credit in this token")
        rows = [("amount", format_amount(owed, token)), ("to", recipient), fees_row(call)]
        confirm(o, "withdraw", rows)
        with status(o, "waiting for the transaction"):
            result = call.send()
    emit(
        {"token": result.token, "account": result.account, "to": result.to,
         "amount": str(result.amount), "tx": result.tx.tx_hash if result.tx else None},
        lambda: typer.echo(f"withdrew {format_amount(result.amount, result.token)} to {result.to}"),
    )  # fmt: skip


@command(trade_app, "show", shared=("network", "json_output"))
def show(trade: TradeArg) -> None:
    """Show a trade: state, parties, funds held, deadlines, who may do what next."""
    trade_id = _trade_id(trade)
    client = opts().client(signer=False)
    view = client.trade(trade_id)
    now = client.now()
    emit({**trade_json(view, now), "now": now}, lambda: show_trade(view, now))


@command(trade_app, "mine", shared=("network", "account", "json_output"))
def mine(
    role: Annotated[str | None, typer.Option(help="Only as buyer, seller or arbitrator.")] = None,
) -> None:
    """List your trades."""
    from p2pchain.market._views import Role

    o = opts()
    chosen = None
    if role is not None:
        try:
            chosen = Role(role.lower())
        except ValueError:
            raise CliError(f"invalid role {role!r}: use buyer, seller or arbitrator") from None
    name = o.account_name()
    assert name is not None
    me = o.wallet().address(name)
    client = o.client(signer=False)
    views = client.trades_of(me, chosen)
    emit(
        [trade_json(v) for v in views],
        lambda: (
            trades_table(
                views,
                me,
                listing_titles(client, o.backend(read=True), [v.listing_id for v in views]),
            )
            if views
            else typer.echo("no trades yet")
        ),
    )
