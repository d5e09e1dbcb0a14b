"""The ``p2pchain`` command line: one typer sub-app per noun.

Heavy modules (web3, the IPFS server) are imported inside commands, so ``--help`` stays fast.
Commands catch :class:`~p2pchain.P2PChainError`, print one line and exit 1; tracebacks never
show locals (they can hold keys).
"""

from __future__ import annotations

import typer

from p2pchain.cli._api import api_app
from p2pchain.cli._demo import demo
from p2pchain.cli._ipfs import ipfs_app

app = typer.Typer(
    name="p2pchain",
    help="A decentralized peer-to-peer marketplace: escrow, reputation, listings on IPFS.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,
)
app.add_typer(ipfs_app, name="ipfs")
app.add_typer(api_app, name="api")
app.command("demo")(demo)


def main() -> None:
    """Entry point of the ``p2pchain`` console script."""
    app()
