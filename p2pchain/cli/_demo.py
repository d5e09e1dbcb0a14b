"""``p2pchain demo``: the whole marketplace in one command, on a chain it starts itself."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from p2pchain._errors import P2PChainError


class Network(str, enum.Enum):
    """Chains the demo starts (and stops) by itself."""

    EMBEDDED = "embedded"
    ANVIL = "anvil"
    GANACHE = "ganache"


def demo(
    network: Annotated[
        Network,
        typer.Option(
            case_sensitive=False,
            help="Chain to start for the run: in-process py-evm, or a real Anvil or Ganache"
            " node on 127.0.0.1 (stopped at the end).",
        ),
    ] = Network.EMBEDDED,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print only a machine-readable JSON summary."),
    ] = False,
) -> None:
    """Run the whole marketplace: list (with a photo on IPFS), buy, release, rate, dispute, rule."""
    from rich.console import Console

    from p2pchain.demo._story import run_demo

    console = Console(quiet=True) if json_output else None
    try:
        result = run_demo(network.value, console)
    except P2PChainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if json_output:
        typer.echo(json.dumps(result.to_json(), indent=2))
