"""The ``p2pchain`` command line: one typer sub-app per noun.

Heavy modules (web3, rich, the IPFS server) are imported inside commands, so ``--help`` stays
fast (see ``docs/bench-cli.md``). Shared options (``--network``, ``--account``, ``--json``,
``--yes``...) work before the noun and after the command; see :mod:`p2pchain.cli._common`.
Commands catch :class:`~p2pchain.P2PChainError`, print one line and exit 1; tracebacks never
show locals (they can hold keys).
"""

from __future__ import annotations

import typer

from p2pchain.cli._api import api_app
from p2pchain.cli._booking import booking_app
from p2pchain.cli._common import command, global_options
from p2pchain.cli._completion import completion_app
from p2pchain.cli._config import config_app
from p2pchain.cli._demo import demo
from p2pchain.cli._deploy import deploy
from p2pchain.cli._fast import FastGroup
from p2pchain.cli._ipfs import ipfs_app
from p2pchain.cli._listing import listing_app
from p2pchain.cli._message import inbox, message_app, watch
from p2pchain.cli._node import node_app
from p2pchain.cli._nostr import nostr_open, nostr_publish  # noqa: F401 - registers on listing
from p2pchain.cli._offer import offer_app
from p2pchain.cli._rate import rate, reputation
from p2pchain.cli._request import request_app
from p2pchain.cli._trade import trade_app
from p2pchain.cli._tx import tx_app
from p2pchain.cli._wallet import wallet_app

app = typer.Typer(
    name="p2pchain",
    cls=FastGroup,  # unset options skip typer's pydantic converters: faster `<noun> --help`
    help="A decentralized peer-to-peer marketplace: escrow, reputation, listings on IPFS.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # plain help: rich help costs ~0.1 s of the 0.3 s start-up budget
    add_completion=False,  # `p2pchain completion` instead: keeps `<noun> --help` fast
)
app.callback()(global_options)
app.add_typer(wallet_app, name="wallet")
app.add_typer(node_app, name="node")
app.add_typer(ipfs_app, name="ipfs")
command(app, "deploy", shared=("network", "account", "passphrase_file", "json_output"))(deploy)
app.add_typer(listing_app, name="listing")
app.add_typer(trade_app, name="trade")
app.add_typer(offer_app, name="offer")
app.add_typer(booking_app, name="booking")
app.add_typer(request_app, name="request")
app.add_typer(tx_app, name="tx")
command(app, "rate", shared=("network", "account", "passphrase_file", "ipfs", "json_output"))(rate)
command(app, "reputation", shared=("network", "json_output"))(reputation)
app.add_typer(config_app, name="config")
app.add_typer(completion_app, name="completion")
app.add_typer(api_app, name="api")
app.add_typer(__import__("p2pchain.cli._index", fromlist=["index_app"]).index_app, name="index")
app.command("demo")(demo)
app.add_typer(message_app, name="message")
command(app, "inbox", shared=("network", "account", "passphrase_file", "ipfs", "json_output"))(
    inbox
)
command(app, "watch", shared=("network", "account", "passphrase_file", "ipfs", "json_output"))(
    watch
)


def main() -> None:
    """Entry point of the ``p2pchain`` console script."""
    import os

    if os.environ.get("_P2PCHAIN_COMPLETE"):  # a shell asks for completions
        from typer.completion import completion_init

        completion_init()
    app()
