"""``p2pchain ipfs``: the local IPFS store and its dev node."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from p2pchain._errors import P2PChainError

ipfs_app = typer.Typer(help="The local IPFS store and dev node.", no_args_is_help=True)


@ipfs_app.command("serve")
def serve(
    port: Annotated[
        int,
        typer.Option(min=1, max=65535, envvar="P2PCHAIN_IPFS_PORT", help="TCP port on 127.0.0.1."),
    ] = 5001,
    store: Annotated[
        Path | None,
        typer.Option(
            envvar="P2PCHAIN_IPFS_STORE",
            file_okay=False,
            help="Folder of the local block store (default: the data folder's ipfs/).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Server log level.")] = "warning",
) -> None:
    """Serve the local store on 127.0.0.1: the Kubo RPC subset (/api/v0) and a /ipfs/ gateway."""
    from p2pchain.ipfs import serve as run_server

    typer.echo(f"IPFS dev node on http://127.0.0.1:{port} (RPC /api/v0, gateway /ipfs/); Ctrl-C stops")
    try:
        run_server(store, port=port, log_level=log_level)
    except P2PChainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
