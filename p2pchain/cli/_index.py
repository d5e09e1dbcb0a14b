"""``p2pchain index``: build the searchable index from the chain, search it, read trust scores."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from p2pchain._errors import P2PChainError

index_app = typer.Typer(
    help="The index: listings, trades and trust rebuilt from the chain into SQLite or PostgreSQL.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="P2PCHAIN_INDEX_DB",
        help="Index database: sqlite:///relative.sqlite, sqlite:////abs.sqlite, a file path,"
        " or postgresql://user@host:port/db.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _ipfs_backend(value: str | None) -> Any:
    if value is None:
        return None
    from p2pchain.ipfs import KuboBackend, LocalStore

    if value.startswith(("http://", "https://")):
        return KuboBackend(value)
    path = Path(value).expanduser()
    if not path.is_dir():
        _fail(f"--ipfs {value}: not a Kubo RPC URL nor an existing LocalStore folder")
    return LocalStore(path)


@index_app.command("sync")
def sync(
    rpc: Annotated[
        str,
        typer.Option(envvar="P2PCHAIN_RPC_URL", help="JSON-RPC URL of the chain (http(s)://)."),
    ],
    db: DbOption = "index.sqlite",
    ipfs: Annotated[
        str | None,
        typer.Option(help="Fetch listing documents: a Kubo RPC URL or a LocalStore folder."),
    ] = None,
    confirmations: Annotated[
        int, typer.Option(min=0, max=1000, help="Blocks to stay behind the head.")
    ] = 2,
    max_range: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Largest eth_getLogs block range.")
    ] = 50_000,
    to_block: Annotated[
        int | None, typer.Option(min=0, help="Stop at this block (default: the confirmed head).")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", help="Keep syncing until Ctrl-C.")] = False,
    poll: Annotated[float, typer.Option(min=0.05, max=3600, help="Seconds between syncs.")] = 2.0,
    json_output: JsonOption = False,
) -> None:
    """Read the deployment's events into the index (resumable; reorgs are rolled back)."""
    from p2pchain.indexer import Indexer, SyncReport

    if not rpc.startswith(("http://", "https://")):
        _fail(f"--rpc {rpc!r}: use an http(s):// JSON-RPC URL")

    def show(report: SyncReport) -> None:
        if json_output:
            typer.echo(report.model_dump_json())
        else:
            typer.echo(
                f"blocks {report.from_block}..{report.to_block} (head {report.head}):"
                f" {report.events} events, {report.listings} listings, {report.trades} trades,"
                f" {report.ratings} ratings, {report.reorged_blocks} blocks rolled back,"
                f" {report.documents_fetched} documents, {report.seconds:.2f} s"
            )
        sys.stdout.flush()

    try:
        indexer = Indexer(
            db,
            rpc,
            ipfs=_ipfs_backend(ipfs),
            confirmations=confirmations,
            max_range=max_range,
        )
        try:
            if follow:
                indexer.follow(poll_interval=poll, on_sync=show)
            else:
                show(indexer.sync(to_block))
        finally:
            indexer.close()
    except P2PChainError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@index_app.command("search")
def search(
    text: Annotated[
        str | None, typer.Argument(help="Words to find in title, description, category.")
    ] = None,
    db: DbOption = "index.sqlite",
    kind: Annotated[str | None, typer.Option(help="sale, service or rental.")] = None,
    token: Annotated[str | None, typer.Option(help='"ETH" or an ERC-20 address.')] = None,
    min_price: Annotated[str | None, typer.Option(help="Lowest unit price, base units.")] = None,
    max_price: Annotated[str | None, typer.Option(help="Highest unit price, base units.")] = None,
    min_trust: Annotated[float | None, typer.Option(help="Lowest seller trust, 0..1.")] = None,
    include_unavailable: Annotated[
        bool, typer.Option("--all", help="Include closed, sold-out and expired listings.")
    ] = False,
    sort: Annotated[str, typer.Option(help="price_asc, price_desc, newest or trust.")] = "newest",
    limit: Annotated[int, typer.Option(help="Results per page (1..100).")] = 20,
    offset: Annotated[int, typer.Option(help="Results to skip.")] = 0,
    json_output: JsonOption = False,
) -> None:
    """Search the indexed listings."""
    from p2pchain.indexer import IndexReader

    query = {
        "text": text,
        "kind": kind,
        "token": token,
        "min_price": min_price,
        "max_price": max_price,
        "min_trust": min_trust,
        "available_only": not include_unavailable,
        "sort": sort,
        "limit": limit,
        "offset": offset,
    }
    try:
        with IndexReader(db) as reader:
            page = reader.search({k: v for k, v in query.items() if v is not None})
    except P2PChainError as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(page.model_dump_json())
        return
    typer.echo(f"{page.total} listing(s)")
    for item in page.items:
        title = item.title if item.title is not None else f"[{item.content_status}]"
        typer.echo(
            f"{item.listing_id}  {item.price} {item.token}  {title}  "
            f"seller {item.seller} (trust {item.seller_trust:.2f})"
            f"{'' if item.available else '  unavailable'}"
        )


@index_app.command("trust")
def trust(
    address: Annotated[str, typer.Argument(help="The address to score.")],
    db: DbOption = "index.sqlite",
    json_output: JsonOption = False,
) -> None:
    """Show an address's trust score and the evidence behind it (docs/trust.md)."""
    from p2pchain.indexer import IndexReader

    try:
        with IndexReader(db) as reader:
            view = reader.trust(address)
    except P2PChainError as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(view.model_dump_json())
        return
    stars = f"{view.average_stars:.2f}" if view.average_stars is not None else "-"
    typer.echo(
        f"{view.address}: trust {view.score:.3f}; {view.rating_count} rating(s) from"
        f" {view.counterparties} counterpart(y/ies), average {stars} stars;"
        f" volume {json.dumps({k: str(v) for k, v in view.volume.items()})}"
    )
