"""``p2pchain index``: build the searchable index from the chain, search it, read trust scores."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from p2pchain.cli._common import (
    DEV_CHAIN_IDS,
    ZERO_ADDRESS,
    Options,
    command,
    format_amount,
    noun_app,
    opts,
    parse_amount,
    parse_time,
)
from p2pchain.cli._errors import CliError

if TYPE_CHECKING:
    from p2pchain.indexer import PriceHint

index_app = noun_app(
    "The index: listings, trades and trust rebuilt from the chain into SQLite or PostgreSQL."
)

#: The index database the commands read by default (a file in the working folder).
DEFAULT_DB = "index.sqlite"
DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="P2PCHAIN_INDEX_DB",
        help="Index database: sqlite:///relative.sqlite, sqlite:////abs.sqlite, a file path,"
        " or postgresql://user@host:port/db.",
    ),
]


@command(index_app, "sync", shared=("network", "ipfs", "json_output"))
def sync(
    db: DbOption = "index.sqlite",
    confirmations: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=1000,
            help="Blocks to stay behind the head (default: 2; 0 on a dev node, which mines a"
            " block only per transaction).",
        ),
    ] = None,
    max_range: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Largest eth_getLogs block range.")
    ] = 50_000,
    to_block: Annotated[
        int | None, typer.Option(min=0, help="Stop at this block (default: the confirmed head).")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", help="Keep syncing until Ctrl-C.")] = False,
    poll: Annotated[float, typer.Option(min=0.05, max=3600, help="Seconds between syncs.")] = 2.0,
    rpc: Annotated[
        str | None,
        typer.Option(envvar="P2PCHAIN_RPC_URL", hidden=True, help="Same as --network URL."),
    ] = None,
) -> None:
    """Read the deployment's events into the index (resumable; reorgs are rolled back).

    The chain is --network (local, a configured name or an RPC URL), as for every command;
    listing documents come from --ipfs (the data folder's store by default).
    """
    from p2pchain.indexer import Indexer, SyncReport

    o = opts()
    if rpc is not None and o.network is None:
        o.network = rpc
    url = o.rpc_url()
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--network {url!r}: the indexer reads over http(s):// JSON-RPC")

    def show(report: SyncReport) -> None:
        if o.json:
            typer.echo(report.model_dump_json())
        else:
            typer.echo(
                f"blocks {report.from_block}..{report.to_block} (head {report.head}):"
                f" {report.events} events, {report.listings} listings, {report.trades} trades,"
                f" {report.ratings} ratings, {report.reorged_blocks} blocks rolled back,"
                f" {report.documents_fetched} documents, {report.seconds:.2f} s"
            )
        sys.stdout.flush()

    indexer = Indexer(
        _db_url(db, create=True),
        url,
        ipfs=o.backend(read=True),
        confirmations=2 if confirmations is None else confirmations,
        max_range=max_range,
    )
    if confirmations is None and indexer.deployment.chain_id in DEV_CHAIN_IDS:
        # a dev node mines only when a transaction comes: two confirmations would never come
        indexer.confirmations = 0
    try:
        if follow:
            try:
                indexer.follow(poll_interval=poll, on_sync=show)
            except KeyboardInterrupt:  # the way to stop following: not an error
                raise typer.Exit(130) from None
        else:
            show(indexer.sync(to_block))
    finally:
        indexer.close()


def _db_url(db: str, *, create: bool = False) -> str:
    """The database URL; a SQLite index that does not exist yet is refused unless ``create``."""
    if create or "://" in db and not db.startswith("sqlite:"):
        return db
    path = db.removeprefix("sqlite:///") if db.startswith("sqlite:///") else db
    if path and path != ":memory:" and not Path(path).expanduser().exists():
        raise CliError(f"no index at {path}: build it with `p2pchain index sync --db {db}` first")
    return db


@command(index_app, "search", shared=("network", "json_output"))
def search(
    text: Annotated[
        str | None, typer.Argument(help="Words to find in title, description, category.")
    ] = None,
    db: DbOption = "index.sqlite",
    kind: Annotated[str | None, typer.Option(help="sale, service or rental.")] = None,
    token: Annotated[str | None, typer.Option(help='"ETH" or an ERC-20 address.')] = None,
    min_price: Annotated[
        str | None, typer.Option(help="Lowest unit price: 0.1eth, 20gwei, or base units.")
    ] = None,
    max_price: Annotated[
        str | None, typer.Option(help="Highest unit price: 0.2eth, 20gwei, or base units.")
    ] = None,
    min_trust: Annotated[float | None, typer.Option(help="Lowest seller trust, 0..1.")] = None,
    include_unavailable: Annotated[
        bool, typer.Option("--all", help="Include closed, sold-out and expired listings.")
    ] = False,
    near: Annotated[
        str | None, typer.Option(help="A point as LAT,LON (degrees), e.g. 52.52,13.405.")
    ] = None,
    within: Annotated[
        str | None, typer.Option(help="Only listings this close to --near: 25km, 800m or 3.5.")
    ] = None,
    available: Annotated[
        str | None,
        typer.Option(
            help="Rentals free for a whole period: 2026-12-12..2026-12-14 (UTC days or times)."
        ),
    ] = None,
    max_rate: Annotated[
        str | None,
        typer.Option(help="Rentals costing at most this per day (or hour): 0.06eth/day."),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="price_asc, price_desc, newest, trust or distance (needs --near).")
    ] = "newest",
    limit: Annotated[int, typer.Option(help="Results per page (1..100).")] = 20,
    offset: Annotated[int, typer.Option(help="Results to skip.")] = 0,
) -> None:
    """Search the indexed listings (rentals by date too: --available and --max-rate)."""
    from p2pchain.indexer import IndexReader

    o = opts()
    unit = ZERO_ADDRESS if token is None or token.strip().upper() == "ETH" else token.strip()
    query = {
        "text": text,
        "kind": kind,
        "token": token,
        "min_price": None
        if min_price is None
        else str(parse_amount(min_price, "--min-price", unit)),
        "max_price": None
        if max_price is None
        else str(parse_amount(max_price, "--max-price", unit)),
        "min_trust": min_trust,
        "available_only": not include_unavailable,
        **_place(near, within),
        **_when(available),
        "max_rate_per_day": None if max_rate is None else _per_day(max_rate, unit),
        "sort": sort,
        "limit": limit,
        "offset": offset,
    }
    with IndexReader(_db_url(db)) as reader:
        page = reader.search({k: v for k, v in query.items() if v is not None})
    if o.json:
        typer.echo(page.model_dump_json())
        return
    typer.echo(f"{page.total}{'' if page.total_exact else '+'} listing(s)")
    for item in page.items:
        title = item.title if item.title is not None else f"[{item.content_status}]"
        if item.token == "ETH":
            price = format_amount(int(item.price), short=True)
        else:
            _read_tokens(o)
            price = format_amount(int(item.price), item.token, short=True)
        away = f"  {item.distance_km:.1f} km" if item.distance_km is not None else ""
        if item.unit:
            per = {3_600: "hour", 86_400: "day", 604_800: "week"}.get(item.unit, f"{item.unit}s")
            price += f"/{per}"
        typer.echo(
            f"{item.listing_id}  {price}  {title}{away}  "
            f"seller {item.seller} (trust {item.seller_trust:.2f})"
            f"{'' if item.available else '  unavailable'}"
        )


def _when(available: str | None) -> dict[str, int]:
    """``--available 2026-12-12..2026-12-14`` as search fields (unix seconds)."""
    if available is None:
        return {}
    start, sep, end = available.partition("..")
    if not sep or not start.strip() or not end.strip():
        raise CliError(
            f"invalid --available {available!r}: expected FROM..UNTIL, e.g. 2026-12-12..2026-12-14"
        )
    begin, until = parse_time(start, "--available start"), parse_time(end, "--available end")
    if until <= begin:
        raise CliError(f"invalid --available {available!r}: the end must be after the start")
    return {"available_from": begin, "available_to": until}


def _per_day(text: str, token: str) -> str:
    """``0.06eth/day`` (or ``/hour``, ``/week``) as a rate per day in base units."""
    from p2pchain.market._bookings import parse_rate
    from p2pchain.market._validation import InputError

    try:
        amount, unit = parse_rate(text)
    except InputError as exc:
        raise CliError(str(exc).replace("rate", "--max-rate", 1)) from None
    return str(parse_amount(amount, "--max-rate", token) * 86_400 // unit)


def _place(near: str | None, within: str | None) -> dict[str, float]:
    """``--near 52.52,13.405 --within 25km`` as search fields (kilometres)."""
    place: dict[str, float] = {}
    if near is not None:
        parts = near.replace(" ", "").split(",")
        try:
            place["near_lat"], place["near_lon"] = (float(p) for p in parts)
        except ValueError:
            raise CliError(
                f"invalid --near {near!r}: expected LAT,LON, e.g. 52.52,13.405"
            ) from None
    if within is not None:
        text = within.strip().lower()
        scale = 0.001 if text.endswith("m") and not text.endswith("km") else 1.0
        try:
            place["within_km"] = float(text.removesuffix("km").removesuffix("m")) * scale
        except ValueError:
            raise CliError(f"invalid --within {within!r}: expected e.g. 25km or 800m") from None
    return place


def _read_tokens(o: Options) -> None:
    """Reach the node once, if one answers, so ERC-20 prices show in the token's units; without
    one they show in base units (the index alone does not know symbols)."""
    if not o.tokens_tried:
        o.tokens_tried = True
        with contextlib.suppress(Exception):  # a nicety: base units without a node
            o.client(signer=False)


@command(index_app, "trust", shared=("json_output",))
def trust(
    address: Annotated[str, typer.Argument(help="The address to score, or a wallet name.")],
    db: DbOption = "index.sqlite",
) -> None:
    """Show an address's trust score and the evidence behind it (docs/trust.md)."""
    from p2pchain.indexer import IndexReader

    o = opts()
    who = o.resolve_address(address) if not address.strip().startswith(("0x", "0X")) else address
    with IndexReader(_db_url(db)) as reader:
        view = reader.trust(who)
    if o.json:
        typer.echo(view.model_dump_json())
        return
    stars = f"{view.average_stars:.2f}" if view.average_stars is not None else "-"
    typer.echo(
        f"{view.address}: trust {view.score:.3f}; {view.rating_count} rating(s) from"
        f" {view.counterparties} counterpart(y/ies), average {stars} stars;"
        f" volume {json.dumps({k: str(v) for k, v in view.volume.items()})}"
    )


@command(index_app, "hint", shared=("network", "json_output"))
def hint(
    category: Annotated[str, typer.Option(help="The exact category path, e.g. sports/bikes.")],
    db: DbOption = "index.sqlite",
    kind: Annotated[str, typer.Option(help="sale, service or rental.")] = "sale",
    token: Annotated[str, typer.Option(help='"ETH" or an ERC-20 address.')] = "ETH",
    condition: Annotated[
        str | None, typer.Option(help="new, like_new, good, fair or for_parts (default: any).")
    ] = None,
) -> None:
    """What comparable items sold for (median and middle half of completed trades over the last
    90 days, at least 5 behind a figure) and how many are on offer now."""
    from p2pchain.indexer import IndexReader

    o = opts()
    with IndexReader(_db_url(db)) as reader:
        found = reader.price_hint(
            {"category": category, "kind": kind, "token": token, "condition": condition}
        )
    if o.json:
        typer.echo(found.model_dump_json())
        return
    typer.echo(hint_line(o, found))


def hint_line(o: Options, found: PriceHint) -> str:
    """A price hint in words: the median and middle half, or why there is no figure."""
    q = found.query
    unit = ZERO_ADDRESS if q.token == "ETH" else q.token
    if unit != ZERO_ADDRESS:
        _read_tokens(o)
    what = f"{q.category} ({q.kind}{', ' + q.condition if q.condition else ''})"
    if not found.enough or found.median is None or found.low is None or found.high is None:
        return f"{what}: {found.note}; {found.live} on offer now"
    return (
        f"{what}: sold for {format_amount(found.median, unit, short=True)} (median); the"
        f" middle half between {format_amount(found.low, unit, short=True)} and"
        f" {format_amount(found.high, unit, short=True)}; {found.note}; {found.live} on"
        " offer now"
    )


def price_note(o: Options, document: dict[str, object]) -> None:
    """Before a listing is stored: a ``note:`` with what comparable items sold for, when an
    index is at hand (``$P2PCHAIN_INDEX_DB`` or ./index.sqlite). A hint is a nicety: without an
    index, or with a document it cannot place, nothing is said."""
    from p2pchain.cli._common import note
    from p2pchain.indexer import IndexReader

    try:
        url = _db_url(os.environ.get("P2PCHAIN_INDEX_DB") or "index.sqlite")
        query = {key: document.get(key) for key in ("category", "kind", "token", "condition")}
        with IndexReader(url) as reader:
            found = reader.price_hint({k: v for k, v in query.items() if v is not None})
        note(f"price hint: {hint_line(o, found)}")
    except Exception:  # noqa: BLE001 - no index or no hint: the listing goes on without one
        return
