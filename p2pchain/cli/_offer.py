"""``p2pchain offer``: offer less (or more) than the asking price, and accept offers as a seller.

An offer is a signed document (``p2pchain/offer/1`` JSON), not a transaction: the buyer signs it
(``offer make``), sends the file to the seller however they like, and the seller accepts it with
one transaction (``offer accept FILE``) that pulls the buyer's payment into escrow. Every offer
made or accepted here is also kept in the data folder (``offers/<chain id>/<offer id>.json``), so
``offer list`` shows them with their status on the chain.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from p2pchain.cli._common import (
    ZERO_ADDRESS,
    command,
    confirm,
    data_dir,
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
    parse_duration,
    status,
    who,
)
from p2pchain.cli._errors import CliError
from p2pchain.cli._show import arbitrator_text, trade_json

if TYPE_CHECKING:
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.market._offers import SignedOffer

offer_app = noun_app("Make offers on listings, and accept or cancel them.")

MONEY = ("network", "account", "passphrase_file", "json_output", "yes")
OfferArg = Annotated[
    str,
    typer.Argument(
        help="An offer file (p2pchain/offer/1 JSON), - for stdin, or a kept offer's id."
    ),
]
#: Largest offer document read.
MAX_OFFER_BYTES = 64 * 1024


def _folder(chain_id: int) -> Path:
    return data_dir() / "offers" / str(chain_id)


def _keep(signed: SignedOffer, role: str) -> Path:
    """Keep the offer in the data folder (``role``: made or received); returns its path."""
    folder = _folder(signed.chain_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"0x{signed.id.hex()}.json"
    kept = {**signed.to_json(), "role": role}
    if path.exists():  # the first role stays: an offer you made stays "made"
        try:
            kept["role"] = json.loads(path.read_text(encoding="utf-8")).get("role", role)
        except (OSError, ValueError):
            pass
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _read_document(ref: str) -> Any:
    """The JSON of an offer file, stdin (``-``), or a kept offer (by id); one-line errors."""
    text = ref.strip()
    if text == "-":
        raw = sys.stdin.read(MAX_OFFER_BYTES + 1)
        source = "stdin"
    elif text.startswith(("0x", "0X")) and len(text) == 66:
        found = sorted((data_dir() / "offers").glob(f"*/{text.lower()}.json"))
        if not found:
            raise CliError(f"no kept offer {text}: give the offer's file instead")
        raw, source = found[0].read_text(encoding="utf-8"), str(found[0])
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise CliError(f"{ref!r} is neither an offer file, - (stdin), nor a kept offer's id")
        if path.stat().st_size > MAX_OFFER_BYTES:
            raise CliError(f"{path} is larger than an offer can be ({MAX_OFFER_BYTES} bytes)")
        try:
            raw, source = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {path}: {exc}") from None
    if len(raw) > MAX_OFFER_BYTES:
        raise CliError(f"the offer on {source} is larger than {MAX_OFFER_BYTES} bytes")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise CliError(f"{source} is not JSON: {exc}") from None
    if isinstance(data, dict):
        data.pop("role", None)  # our own bookkeeping in kept offers
    return data


def _offer_rows(client: MarketplaceClient, signed: SignedOffer) -> list[tuple[str, Any]]:
    o, t = signed.offer, signed.offer.terms
    asking = t.price
    if o.price < asking:
        diff = f"{(asking - o.price) * 100 / asking:.1f}% below the asking price"
    elif o.price > asking:
        diff = f"{(o.price - asking) * 100 / asking:.1f}% above the asking price"
    else:
        diff = "the asking price"
    rows: list[tuple[str, Any]] = [
        ("offer", hex_id(signed.id)),
        ("listing", hex_id(o.listing_id)),
        ("buyer", who(o.buyer)),
        ("seller", who(t.seller)),
        ("price offered", f"{format_amount(o.price, t.token)} x {o.quantity} ({diff})"),
        ("asking price", format_amount(asking, t.token)),
    ]
    if t.deposit:
        rows.append(("deposit", f"{format_amount(t.deposit, t.token)} x {o.quantity}, refundable"))
    rows += [
        ("buyer pays", format_amount(signed.total, t.token)),
        ("arbitrator", arbitrator_text(t.arbitrator, t.arbitrator_fee_bps)),
        ("review window", format_duration(t.review_window)),
        ("offer expires", format_time(o.expiry)),
    ]
    if t.token != ZERO_ADDRESS:
        rows.append(
            (
                "permit",
                "none: allowance"
                if signed.permit is None
                else "Permit2, included (no approve needed)"
                if signed.permit.v == 0
                else "included (no approve needed)",
            )
        )
    return rows


def _offer_json(signed: SignedOffer, state: Any | None = None) -> dict[str, Any]:
    data = signed.to_json()
    if state is not None:
        data["state"] = {
            "status": state.status.value,
            "funded": state.funded,
            "approved": state.approved,
            "listingLive": state.listing_live,
        }
    return data


@command(offer_app, "make", shared=MONEY)
def make(
    listing: Annotated[str, typer.Argument(help="The listing id (0x + 64 hex digits).")],
    price: Annotated[str, typer.Option(help="Price per unit you offer, e.g. 90USDC or 0.08eth.")],
    quantity: Annotated[int, typer.Option(min=1, help="Units you want.")] = 1,
    expires_in: Annotated[
        str, typer.Option("--expires-in", help="How long the seller may accept (up to 90d).")
    ] = "3d",
    out: Annotated[
        Path | None, typer.Option(help="Also write the offer document to this file.")
    ] = None,
    no_permit: Annotated[
        bool,
        typer.Option("--no-permit", help="Do not sign a permit (EIP-2612 or Permit2) with it."),
    ] = False,
) -> None:
    """Sign an offer for a listing (no gas); the seller accepts it with `offer accept`."""
    from p2pchain.market._validation import bytes32

    o = opts()
    bytes32(listing.strip(), "a listing id")
    seconds = parse_duration(expires_in, "--expires-in")
    client = o.client()
    found = client.listing(listing.strip())
    token = found.terms.token
    unit, quantity, expiry = client.check_offer_inputs(
        found, parse_amount(price, "--price", token), quantity, client.now() + seconds
    )
    total = (unit + found.terms.deposit) * quantity
    me = client.address
    if token == ZERO_ADDRESS:
        have = client.credit(me)
        short = max(0, total - have)
        funding = (
            f"your ETH credit in the marketplace ({format_amount(have)})"
            if not short
            else f"{format_amount(short)} added to your marketplace credit first (a transaction)"
        )
    else:
        balance = client.balance(me, token)
        if balance < total:
            raise CliError(
                f"you hold {format_amount(balance, token)}; the offer needs"
                f" {format_amount(total, token)}"
            )
        funding = "your balance, pulled when the seller accepts"
    rows: list[tuple[str, Any]] = [
        ("listing", hex_id(found.id)),
        ("seller", who(found.terms.seller)),
        ("asking price", format_amount(found.terms.price, token)),
        ("you offer", f"{format_amount(unit, token)} x {quantity}"),
        ("you pay if accepted", format_amount(total, token)),
        ("paid from", funding),
        ("offer expires", format_time(expiry)),
        ("arbitrator", arbitrator_text(found.terms.arbitrator, found.terms.arbitrator_fee_bps)),
        ("note", "the seller can accept it until then, or until you cancel it"),
    ]
    confirm(o, "make offer", rows)
    signed = client.make_offer(found, unit, quantity, expiry=expiry, permit=not no_permit)
    for call in client.prepare_offer_funding(signed):
        if call.action == "addCredit":
            confirm(o, "add credit", [("amount", format_amount(call.value)), fees_row(call)])
            with status(o, "waiting for the credit"):
                call.send()
        else:
            confirm(o, "approve", [("token", token), ("amount", format_amount(total, token))])
            with status(o, "waiting for the approval"):
                call.send()
    kept = _keep(signed, "made")
    if out is not None:
        out.expanduser().write_text(json.dumps(signed.to_json(), indent=2) + "\n", "utf-8")
    emit(
        _offer_json(signed),
        lambda: panel(
            "offer made",
            [
                ("offer", hex_id(signed.id)),
                ("file", str(out or kept)),
                ("next", "send the file to the seller: they run `p2pchain offer accept FILE`"),
                ("cancel", f"p2pchain offer cancel {hex_id(signed.id)}"),
            ],
            style="green",
        ),
    )


@command(offer_app, "accept", shared=MONEY)
def accept(offer: OfferArg) -> None:
    """Accept an offer on your listing: one transaction, the buyer's payment into escrow."""
    o = opts()
    document = _read_document(offer)
    client = o.client()
    signed = client.check_offer(document)
    _keep(signed, "received")
    state = client.offer_state(signed)
    if state.status.value != "open":
        raise CliError(f"offer {hex_id(signed.id)} is {state.status.value}: nothing to accept")
    if not state.listing_live:
        raise CliError(
            f"listing {hex_id(signed.offer.listing_id)} is no longer live with the terms this"
            " offer was made on (changed, closed or sold out)"
        )
    if not state.funded:
        raise CliError(
            f"the buyer no longer has the {format_amount(signed.total, signed.offer.terms.token)} this offer needs"
        )
    if not state.approved:
        raise CliError("the buyer's allowance does not cover this offer, and it has no permit")
    call = client.prepare_accept_offer(signed)
    confirm(o, "accept offer", [*_offer_rows(client, signed), fees_row(call)])
    with status(o, "waiting for the acceptance to be mined"):
        view = call.send()
    emit(
        trade_json(view),
        lambda: panel(
            "offer accepted",
            [
                ("trade", hex_id(view.id)),
                ("held in escrow", format_amount(view.held.total, view.token)),
                ("next", "deliver; the buyer releases the price (`p2pchain trade show ID`)"),
            ],
            style="green",
        ),
    )


@command(offer_app, "show", shared=("network", "json_output"))
def show(offer: OfferArg) -> None:
    """Show an offer and where it stands on the chain."""
    document = _read_document(offer)
    client = opts().client(signer=False)
    signed = client.check_offer(document)
    state = client.offer_state(signed)

    def render() -> None:
        rows = _offer_rows(client, signed)
        rows += [
            ("status", state.status.value),
            ("funded", "yes" if state.funded else "no"),
            ("approved", "yes" if state.approved else "no"),
            ("listing live", "yes" if state.listing_live else "no"),
        ]
        panel("offer", rows)

    emit(_offer_json(signed, state), render)


@command(offer_app, "list", shared=("network", "json_output"))
def list_offers(
    listing: Annotated[str | None, typer.Option(help="Only offers on this listing.")] = None,
) -> None:
    """List the offers you made or received here, with their status on the chain."""
    from p2pchain._errors import P2PChainError
    from p2pchain.market._offers import SignedOffer

    client = opts().client(signer=False)
    rows: list[tuple[SignedOffer, str, Any]] = []
    broken: list[str] = []
    for path in sorted(_folder(client.chain_id).glob("0x*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            role = str(data.pop("role", "made"))
            signed = SignedOffer.from_json(data)
        except (OSError, ValueError, P2PChainError) as exc:
            broken.append(f"{path}: {exc}")
            continue
        if listing is not None and f"0x{signed.offer.listing_id.hex()}" != listing.lower():
            continue
        rows.append((signed, role, client.offer_state(signed)))

    for line in broken:
        typer.echo(f"skipped a kept offer that does not read: {line}", err=True)

    def render() -> None:
        if not rows:
            typer.echo("no offers yet")
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("offer", "role", "listing", "price", "qty", "expires", "status")
        for signed, role, state in rows:
            token = signed.offer.terms.token
            table.add_row(
                hex_id(signed.id)[:10] + "…",
                role,
                hex_id(signed.offer.listing_id)[:10] + "…",
                format_amount(signed.offer.price, token, short=True),
                str(signed.offer.quantity),
                format_time(signed.offer.expiry),
                state.status.value,
            )
        Console().print(table)

    emit([{**_offer_json(s, st), "role": r} for s, r, st in rows], render)


@command(offer_app, "cancel", shared=MONEY)
def cancel(
    offer: Annotated[
        str | None,
        typer.Argument(help="The offer (file, - or kept id); leave out with --all."),
    ] = None,
    all_offers: Annotated[
        bool, typer.Option("--all", help="Revoke every offer you signed so far.")
    ] = False,
) -> None:
    """Revoke an offer you made (or all of them) so that it can never be accepted."""
    if (offer is None) == (not all_offers):
        raise CliError("give one offer, or --all (not both)")
    o = opts()
    document = _read_document(offer) if offer is not None else None
    client = o.client()
    if document is None:
        call = client.prepare_cancel_all_offers()
        confirm(o, "cancel all offers", [("from", client.address), fees_row(call)])
        with status(o, "waiting for the transaction"):
            counter = call.send()
        emit(
            {"counter": counter},
            lambda: typer.echo(f"every offer you signed before is revoked (counter {counter})"),
        )
        return
    signed = client.check_offer(document)
    call2 = client.prepare_cancel_offer(signed)
    confirm(o, "cancel offer", [*_offer_rows(client, signed), fees_row(call2)])
    with status(o, "waiting for the transaction"):
        tx = call2.send()
    emit(
        {"offer": hex_id(signed.id), "tx": tx.tx_hash},
        lambda: typer.echo(f"offer {hex_id(signed.id)} is revoked (tx {tx.tx_hash})"),
    )
