"""``p2pchain api``: the HTTP API for dApp front ends, and its web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

api_app = typer.Typer(
    help="The HTTP API for dApp front ends, and its web page.", no_args_is_help=True
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@api_app.command("serve")
def serve(
    port: Annotated[
        int,
        typer.Option(min=1, max=65535, envvar="P2PCHAIN_API_PORT", help="TCP port on 127.0.0.1."),
    ] = 8000,
    network: Annotated[
        str | None,
        typer.Option(
            "--network",
            "-n",
            help="local (the node from `p2pchain node start`), a name from the config, or an RPC"
            " URL (default: $P2PCHAIN_API_NETWORK, else the CLI's network).",
        ),
    ] = None,
    deployments: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Deployments file.")
    ] = None,
    index_db: Annotated[
        str | None, typer.Option(help="Index database URL (sqlite:///path or postgresql://...).")
    ] = None,
    ipfs_url: Annotated[
        str | None, typer.Option(help="Kubo RPC URL for uploads and reads.")
    ] = None,
    ipfs_store: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Local IPFS store folder (without --ipfs-url)."),
    ] = None,
    gateway_url: Annotated[
        str | None, typer.Option(help="Gateway base URL for image URLs (default: this API).")
    ] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option(help="An origin allowed by CORS (repeatable; * for any).")
    ] = None,
    sync: Annotated[
        bool, typer.Option(help="Follow the chain into the index from this process.")
    ] = True,
    relay: Annotated[
        list[str] | None,
        typer.Option(
            help="A Nostr relay (ws:// or wss://) the page's conversations use (repeatable;"
            " default: $P2PCHAIN_API_RELAYS)."
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Server log level.")] = "warning",
) -> None:
    """Serve the API and the web page on 127.0.0.1 (also: uvicorn frontend_api.main:app)."""
    import os
    import socket

    from pydantic import ValidationError

    from p2pchain._errors import P2PChainError

    if network is not None or not os.environ.get("P2PCHAIN_API_NETWORK"):
        # the same network names as every other command: local, a configured name, a URL
        from p2pchain.cli._common import Options

        try:
            network = Options(network=network).rpc_url()
        except P2PChainError as exc:
            raise _fail(str(exc)) from None
    given = {
        "network": network,
        "deployments": deployments,
        "index_db": index_db,
        "ipfs_url": ipfs_url,
        "ipfs_store": ipfs_store,
        "gateway_url": gateway_url,
        "cors_origins": cors_origin or None,
        "sync": sync,
        "relays": relay or None,
    }
    try:
        from frontend_api.settings import ApiSettings

        values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        settings = ApiSettings(**values)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise _fail(f"{where}: {str(err['msg']).removeprefix('Value error, ')}") from None
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise _fail(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; choose another port"
            ) from None
    import uvicorn

    from frontend_api.app import create_app
    from frontend_api.services import Services

    services = Services(settings)
    try:
        services.client  # noqa: B018 - fail now, with one line, if the chain cannot be used
        services.index  # noqa: B018
    except P2PChainError as exc:
        services.close()
        raise _fail(str(exc)) from None
    typer.echo(f"p2pchain API and web page on http://127.0.0.1:{port}/ (Ctrl-C stops)")
    uvicorn.run(create_app(services=services), host="127.0.0.1", port=port, log_level=log_level)
