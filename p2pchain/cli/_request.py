"""``p2pchain request``: ask for something, answer a request, accept an answer.

A request is signed off-chain (EIP-712, no gas), stored on IPFS and added to an index (``--db``,
as the ``index`` commands); providers answer with signed listings that name it; the requester
accepts one by buying it (an ordinary escrowed trade). Signing and buying ask first. An answer
can carry a message to the requester (``--message``: end-to-end encrypted over Nostr, in the
thread about the answer, as ``p2pchain message send`` writes; kept in the outbox until a relay
takes it).
"""

from __future__ import annotations

import json
from pathlib import Path
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
    format_time,
    hex_id,
    noun_app,
    opts,
    panel,
    parse_amount,
    parse_duration,
    parse_time,
    status,
    table,
    who,
)
from p2pchain.cli._errors import CliError
from p2pchain.cli._index import DbOption, _db_url
from p2pchain.cli._message import RelayOpt, _relays

if TYPE_CHECKING:
    from p2pchain.indexer import IndexedAnswer, IndexedRequest, IndexReader
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.market._requests import VerifiedRequest
    from p2pchain.market._views import TradeView

request_app = noun_app("Ask for something; answer requests; accept an answer (buy it).")

WRITE = ("network", "account", "passphrase_file", "ipfs", "json_output", "yes")
READ = ("network", "json_output")
RequestArg = Annotated[str, typer.Argument(help="The request id (0x + 64 hex digits).")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Also write the signed JSON to this file.")
]


def _request_id(value: str) -> str:
    from p2pchain.market._validation import bytes32

    return "0x" + bytes32(value.strip(), "a request id").hex()


def _reader(db: str) -> IndexReader:
    from p2pchain.indexer import IndexReader

    return IndexReader(_db_url(db), per_thread=False)


def _load(reader: IndexReader, request_id: str) -> IndexedRequest:
    found = reader.request(request_id)
    if found is None:
        raise CliError(f"no request {request_id} in the index")
    return found


def _verified(found: IndexedRequest) -> VerifiedRequest:
    """The stored request, verified again (signature, document, fields)."""
    from p2pchain.market._requests import verify_request

    signed = found.signed
    return verify_request(
        signed,
        found.document,
        chain_id=int(signed["chainId"]),
        marketplace=str(signed["marketplace"]),
    )


def _write(out: Path | None, data: Any) -> None:
    if out is None:
        return
    try:
        out.expanduser().write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None


def _token_of(found: IndexedRequest) -> str:
    from p2pchain.market._reads import ETH

    return ETH if found.token == "ETH" else found.token


def _rows(found: IndexedRequest) -> list[tuple[str, Any]]:
    doc = found.document
    rows: list[tuple[str, Any]] = [
        ("request", found.request_id),
        ("title", found.title),
        ("kind", f"{found.kind}, {found.category}"),
        ("at most", f"{format_amount(found.max_price, _token_of(found))} per unit"),
        ("quantity", doc.get("quantity", 1)),
    ]
    location = doc.get("location")
    if location:
        where = location["text"]
        if doc.get("radius_km"):
            where += f" (within {doc['radius_km']} km)"
        rows.append(("where", where))
    when = doc.get("when")
    if when:
        rows.append(("when", f"{when.get('start') or '...'} to {when.get('end') or '...'}"))
    rows += [
        ("requester", who(found.requester)),
        ("expires", format_time(found.expiry)),
        ("status", found.status + (f" (trade {found.trade_id})" if found.trade_id else "")),
        ("answers", found.answers),
    ]
    return rows


def _request_json(found: IndexedRequest) -> dict[str, Any]:
    return found.model_dump(mode="json")


def _requests_table(title: str, items: list[IndexedRequest]) -> None:
    table(
        title,
        ["request", "title", "kind", "at most", "expires", "status", "answers"],
        [
            (
                r.request_id,
                r.title,
                f"{r.kind} {r.category}",
                format_amount(r.max_price, _token_of(r)),
                format_time(r.expiry),
                r.status,
                r.answers,
            )
            for r in items
        ],
    )


@command(request_app, "post", shared=WRITE)
def post(
    title: Annotated[str, typer.Option(help="What you need, in short (1-140 characters).")],
    category: Annotated[str, typer.Option(help="Category path, e.g. transport/taxi.")],
    max_price: Annotated[
        str, typer.Option("--max-price", help="Highest unit price: 0.004eth, or base units.")
    ],
    kind: Annotated[str, typer.Option(help="sale, service or rental.")] = "sale",
    description: Annotated[str, typer.Option(help="More words.")] = "",
    quantity: Annotated[int, typer.Option(min=1, help="Units wanted.")] = 1,
    token: Annotated[
        str | None, typer.Option(help="ERC-20 token address to pay in (default: ETH).")
    ] = None,
    location: Annotated[str | None, typer.Option(help="Where, in words.")] = None,
    lat: Annotated[float | None, typer.Option(min=-90, max=90, help="Latitude.")] = None,
    lon: Annotated[float | None, typer.Option(min=-180, max=180, help="Longitude.")] = None,
    radius_km: Annotated[
        float | None, typer.Option("--radius-km", help="How far answers may be (needs lat/lon).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Wanted from: 2026-12-06T08:00+05:45.")
    ] = None,
    end: Annotated[str | None, typer.Option("--until", help="Wanted until.")] = None,
    expires_in: Annotated[str, typer.Option("--expires-in", help="Open for: 12h, 3d, 2w.")] = "3d",
    out: OutOpt = None,
    db: DbOption = "index.sqlite",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the id.")] = False,
) -> None:
    """Ask for something: sign a request (EIP-712, no gas), store it on IPFS, add it to the index."""
    from datetime import UTC, datetime

    from p2pchain.market._requests import parse_request_document, publish_request

    o = opts()
    db_url = _db_url(db)  # bad input fails before unlocking
    price_token = o.resolve_address(token, "token") if token else None
    data: dict[str, Any] = {
        "schema_id": "p2pchain/request/1",
        "title": title,
        "description": description,
        "kind": kind,
        "category": category,
        "quantity": quantity,
        "max_price": str(parse_amount(max_price, "max price", price_token or ZERO_ADDRESS)),
        "token": price_token or "ETH",
    }
    if location is not None or lat is not None or lon is not None:
        data["location"] = {"text": location or f"{lat}, {lon}", "lat": lat, "lon": lon}
    if radius_km is not None:
        data["radius_km"] = radius_km
    if start is not None or end is not None:
        data["when"] = {
            key: datetime.fromtimestamp(parse_time(value, f"--{flag}"), UTC).isoformat()
            for key, value, flag in (("start", start, "from"), ("end", end, "until"))
            if value is not None
        }
    duration = parse_duration(expires_in, "--expires-in")
    client = o.client()
    now = client.now()
    data.update(
        requester=client.address,
        chain_id=client.chain_id,
        marketplace=client.deployment.marketplace,
        created_at=now,
        expiry=now + duration,
    )
    doc = parse_request_document(data)  # every field checked before asking
    rows: list[tuple[str, Any]] = [
        ("title", doc.title),
        ("kind", f"{doc.kind}, {doc.category}"),
        ("at most", f"{format_amount(doc.max_price, doc.token_address)} per unit x {quantity}"),
        ("expires", format_time(doc.expiry)),
        ("requester", client.address),
        ("costs", "nothing: signed off-chain, no transaction"),
    ]
    confirm(o, "sign request", rows)
    with status(o, "storing and signing the request"):
        request = publish_request(client, o.backend(), doc)
        reader = _reader(db_url)
        try:
            stored = reader.add_request(request.signed, request.document.canonical_json())
        finally:
            reader.close()
    _write(out, request.signed.to_json())
    if quiet:
        typer.echo(stored.request_id)
        return
    emit(
        _request_json(stored),
        lambda: panel(
            "request posted (no gas spent)",
            [
                *_rows(stored),
                ("next", f"p2pchain request matches {stored.request_id}"),
            ],
            style="green",
        ),
    )


@command(request_app, "list", shared=READ)
def list_(
    by: Annotated[
        str | None, typer.Option("--by", help="Only this requester's (address or wallet name).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="sale, service or rental.")] = None,
    category: Annotated[str | None, typer.Option(help="Category (and below it).")] = None,
    state: Annotated[
        str, typer.Option("--status", help="open (default), taken, expired or any.")
    ] = "open",
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    db: DbOption = "index.sqlite",
) -> None:
    """Requests in the index, newest first."""
    o = opts()
    if state not in ("open", "taken", "expired", "any"):
        raise CliError(f"--status {state!r}: expected open, taken, expired or any")
    requester = o.resolve_address(by, "--by") if by else None
    reader = _reader(db)
    try:
        items = reader.requests(
            {
                "requester": requester,
                "kind": kind,
                "category": category,
                "status": None if state == "any" else state,
                "limit": limit,
            }
        )
    finally:
        reader.close()
    emit(
        {"items": [_request_json(r) for r in items]},
        lambda: _requests_table(f"{len(items)} {state} requests", items),
    )


@command(request_app, "show", shared=READ)
def show(request: RequestArg, db: DbOption = "index.sqlite") -> None:
    """One request: what is asked, its status and answers count."""
    request_id = _request_id(request)
    reader = _reader(db)
    try:
        found = _load(reader, request_id)
    finally:
        reader.close()
    emit(_request_json(found), lambda: panel("request", _rows(found)))


@command(request_app, "matches", shared=READ)
def matches(
    request: RequestArg,
    text: Annotated[str | None, typer.Option(help="Words the listings must also match.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    db: DbOption = "index.sqlite",
) -> None:
    """Live listings matching a request (its kind, category, token, max price, place, radius)."""
    request_id = _request_id(request)
    reader = _reader(db)
    try:
        _load(reader, request_id)
        page = reader.listings_for_request(request_id, text=text, limit=limit)
    finally:
        reader.close()
    emit(
        {"items": [i.model_dump(mode="json") for i in page.items], "total": page.total},
        lambda: table(
            f"{page.total} matching listings",
            ["listing", "title", "price", "seller", "km"],
            [
                (
                    i.listing_id,
                    i.title or "-",
                    format_amount(i.price, ZERO_ADDRESS if i.token == "ETH" else i.token),
                    who(i.seller),
                    "-" if i.distance_km is None else f"{i.distance_km:.1f}",
                )
                for i in page.items
            ],
        ),
    )


@command(request_app, "matching", shared=READ)
def matching(
    listing: Annotated[str, typer.Argument(help="A listing id (0x + 64 hex digits).")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    db: DbOption = "index.sqlite",
) -> None:
    """Open requests a listing matches (each request's own search finds it)."""
    listing_id = _request_id(listing)
    reader = _reader(db)
    try:
        items = reader.requests_for_listing(listing_id, limit=limit)
    finally:
        reader.close()
    emit(
        {"items": [_request_json(r) for r in items]},
        lambda: _requests_table(f"{len(items)} open requests match", items),
    )


@command(request_app, "answer", shared=WRITE)
def answer(
    request: RequestArg,
    price: Annotated[str, typer.Option(help="Your unit price: 0.003eth, or base units.")],
    title: Annotated[str | None, typer.Option(help="Title (default: the request's).")] = None,
    description: Annotated[str, typer.Option(help="What you offer, in words.")] = "",
    category: Annotated[str | None, typer.Option(help="Category (default: the request's).")] = None,
    condition: Annotated[
        str | None, typer.Option(help="For goods: new, like_new, good, fair or for_parts.")
    ] = None,
    deposit: Annotated[
        str | None,
        typer.Option(help="For rentals: the refundable deposit per unit (0.01eth, base units)."),
    ] = None,
    review_window: Annotated[
        str, typer.Option("--review-window", help="Dispute window after purchase.")
    ] = "7d",
    out: OutOpt = None,
    db: DbOption = "index.sqlite",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the id.")] = False,
    message: Annotated[
        str | None,
        typer.Option(
            "--message",
            help="Also write this to the requester (encrypted, over Nostr: needs their address"
            " card on the relays; kept in the outbox if no relay is reachable).",
        ),
    ] = None,
    relay: RelayOpt = None,
) -> None:
    """Answer a request: a signed listing (no gas) naming it, at most its price. A rental
    answer rents for the request's window (--from/--until) and needs --deposit."""
    from p2pchain.market._requests import answer_document, check_answer
    from p2pchain.market._requests import publish_answer as publish

    o = opts()
    request_id = _request_id(request)
    window = parse_duration(review_window, "--review-window")
    urls: list[str] = []
    if message is not None:  # checked before anything is signed
        if not message.strip():
            raise CliError("--message is empty")
        if len(message.encode()) > MAX_MESSAGE:
            raise CliError(f"--message is over {MAX_MESSAGE // 1024} KiB")
        urls = _relays(relay)
    elif relay:
        raise CliError("--relay is for --message")
    reader = _reader(db)
    try:
        found = _load(reader, request_id)
        if found.status != "open":
            raise CliError(f"request {request_id} is {found.status}: it takes no answers")
        verified = _verified(found)
        want = verified.document
        unit = parse_amount(price, "price", want.token_address)
        client = o.client()
        if want.kind == "rental" and (
            want.when is None or None in want.when.unix() or deposit is None
        ):
            raise CliError(
                "a rental answer rents for the request's window and needs --deposit:"
                " this request gives no start and end, or --deposit is missing"
            )
        if want.kind != "rental" and deposit is not None:
            raise CliError("--deposit is for rentals only")
        doc = answer_document(
            verified,
            seller=client.address,
            price=unit,
            created_at=client.now(),
            title=title,
            description=description,
            category=category,
            condition=condition,
            deposit=None
            if deposit is None
            else parse_amount(deposit, "deposit", want.token_address),
        )
        confirm(
            o,
            "sign answer",
            [
                ("request", f"{want.title} ({request_id})"),
                ("your price", f"{format_amount(unit, want.token_address)} x {want.quantity}"),
                ("request pays at most", format_amount(want.max_price, want.token_address)),
                ("valid until", format_time(want.expiry)),
                ("costs", "nothing: a signed listing; the requester buys it into escrow"),
            ],
        )
        with status(o, "storing and signing the answer"):
            published = publish(client, o.backend(), verified, doc, review_window=window)
            signed = published.signed_listing
            assert signed is not None
            check_answer(verified, signed, published.document, now=client.now())
            stored = reader.add_answer(signed, published.document.canonical_json())
    finally:
        reader.close()
    _write(out, signed.to_json())
    told = None
    if message is not None:
        told = _tell(client, urls, found.requester, stored.listing_id, message)
    if quiet:
        typer.echo(stored.listing_id)
        if told is not None and not told["sent"]:
            typer.echo(f"message not sent: {told['why']}", err=True)
        return
    rows = [
        ("answer", stored.listing_id),
        ("request", request_id),
        ("price", format_amount(stored.price, want.token_address)),
        ("next", f"the requester runs: p2pchain request accept {request_id}"),
    ]
    if told is not None:
        rows.append(("message", _told_line(told)))
    emit(
        {**_answer_json(stored), **({"message": told} if told is not None else {})},
        lambda: panel("answer signed (no gas spent)", rows, style="green"),
    )


#: The longest --message accepted (the signed event must stay under 64 KiB).
MAX_MESSAGE = 60 * 1024


def _tell(
    client: MarketplaceClient, urls: list[str], requester: str, answer_id: str, text: str
) -> dict[str, Any]:
    """Write ``text`` to the requester in the thread about the answer (the listing they would
    buy). Not sent (and said why) when they have no address card on the relays; a message no
    relay takes waits in the outbox (``p2pchain inbox`` or ``watch`` sends it)."""
    from p2pchain._errors import MessagingError
    from p2pchain.messaging import Contact, MessagingClient
    from p2pchain.messaging._cards import best_card, card_filter

    assert client.account is not None
    messaging = MessagingClient(client.account, urls, chain_id=client.chain_id)
    opts()._clients.append(messaging)  # closed with the command
    try:
        events, errors = messaging.pool.query([card_filter(requester)], messaging.relays)
        found = best_card(events, requester)
        if found is None:
            if errors and len(errors) == len(messaging.relays):
                first = next(iter(errors.values()))
                why = f"no relay reachable to find the requester's address card ({first})"
            else:
                why = (
                    f"{requester} has no address card on {', '.join(urls)} (they can run"
                    " `p2pchain message announce`)"
                )
            return {"sent": False, "why": why}
        contact = Contact(found[0], found[1], requester)
        result = messaging.send(bytes.fromhex(answer_id[2:]), text, to=contact)
    except MessagingError as exc:
        return {"sent": False, "why": str(exc).splitlines()[0]}
    return {
        "sent": True,
        "id": result.message.id,
        "accepted_by": list(result.accepted_by),
        "pending": list(result.pending),
    }


def _told_line(told: dict[str, Any]) -> str:
    if not told["sent"]:
        return f"not sent: {told['why']}"
    if told["accepted_by"]:
        return f"sent to the requester through {len(told['accepted_by'])} relay(s)"
    return "no relay reachable: kept in the outbox, sent by the next `p2pchain inbox` or `watch`"


def _answer_json(item: IndexedAnswer) -> dict[str, Any]:
    return item.model_dump(mode="json")


@command(request_app, "answers", shared=READ)
def answers(request: RequestArg, db: DbOption = "index.sqlite") -> None:
    """A request's answers, cheapest first."""
    request_id = _request_id(request)
    reader = _reader(db)
    try:
        found = _load(reader, request_id)
        items = reader.answers(request_id)
    finally:
        reader.close()
    token = _token_of(found)
    emit(
        {"request": _request_json(found), "items": [_answer_json(a) for a in items]},
        lambda: table(
            f"{len(items)} answers to {found.title}",
            ["answer", "title", "price", "seller", "status"],
            [
                (
                    a.listing_id,
                    a.document.get("title", "-"),
                    format_amount(a.price, token),
                    who(a.seller),
                    a.status,
                )
                for a in items
            ],
        ),
    )


@command(request_app, "accept", shared=WRITE)
def accept(
    request: RequestArg,
    answer_id: Annotated[
        str | None,
        typer.Argument(help="The answer (its listing id); default: the cheapest open one."),
    ] = None,
    db: DbOption = "index.sqlite",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the trade id.")] = False,
) -> None:
    """Accept an answer: buy its signed listing into escrow (an ordinary trade)."""
    from p2pchain.market._views import SignedListing

    o = opts()
    request_id = _request_id(request)
    wanted = _request_id(answer_id) if answer_id is not None else None
    reader = _reader(db)
    try:
        found = _load(reader, request_id)
        items = reader.answers(request_id)
    finally:
        reader.close()
    if found.status != "open":
        raise CliError(f"request {request_id} is {found.status}: nothing to accept")
    open_items = [a for a in items if a.status == "open"]
    if wanted is not None:
        open_items = [a for a in open_items if a.listing_id == wanted]
        if not open_items:
            raise CliError(f"no open answer {wanted} to request {request_id}")
    if not open_items:
        raise CliError(f"request {request_id} has no open answer yet")
    chosen = open_items[0]
    client = o.client()
    if client.address != found.requester:
        raise CliError(
            f"only the requester {found.requester} accepts answers; this is {client.address}"
        )
    shared = SignedListing.from_json(chosen.signed_listing)
    target = client.signed_listing(shared.typed_data(), shared.signature)
    quantity = int(found.document.get("quantity", 1))
    call = client.prepare_buy(target, quantity)
    resumed = earlier(call)
    if resumed is not None:  # the same purchase was sent before: wait for it, never pay twice
        with status(o, "waiting for the earlier purchase"):
            _accepted(resumed.result(), request_id, chosen.listing_id, quiet)
        return
    t = target.terms
    confirm(
        o,
        "accept answer (buy)",
        [
            ("request", f"{found.title} ({request_id})"),
            ("answer", f"{chosen.document.get('title', '-')} ({chosen.listing_id})"),
            ("to", f"the escrow; the price goes to {who(t.seller)} when you release it"),
            ("you pay", format_amount((t.price + t.deposit) * quantity, t.token)),
            ("price", f"{format_amount(t.price, t.token)} x {quantity}"),
            fees_row(call),
            ("from", client.address),
        ],
    )
    with status(o, "waiting for the purchase to be mined"):
        view = call.send()
    _accepted(view, request_id, chosen.listing_id, quiet)


def _accepted(view: TradeView, request_id: str, answer_id: str, quiet: bool) -> None:
    from p2pchain.cli._show import trade_json

    if quiet:
        typer.echo(hex_id(view.id))
        return
    emit(
        {**trade_json(view), "request": request_id, "answer": answer_id},
        lambda: panel(
            "accepted: bought into escrow",
            [
                ("trade", hex_id(view.id)),
                ("request", request_id),
                ("held in escrow", format_amount(view.held.total, view.token)),
                ("next", f"p2pchain trade release {hex_id(view.id)}   (when it is done)"),
            ],
            style="green",
        ),
    )
