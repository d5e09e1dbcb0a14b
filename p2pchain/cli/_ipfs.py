"""``p2pchain ipfs``: the local IPFS store and its dev node."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from p2pchain._errors import P2PChainError
from p2pchain.cli._common import command, emit, noun_app, opts, table
from p2pchain.cli._errors import CliError

ipfs_app = noun_app("The local IPFS store and dev node.")


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

    typer.echo(
        f"IPFS dev node on http://127.0.0.1:{port} (RPC /api/v0, gateway /ipfs/); Ctrl-C stops"
    )
    try:
        run_server(store, port=port, log_level=log_level)
    except P2PChainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


_IPFS_SHARED = ("ipfs", "json_output")


def _cid_arg(value: str) -> str:
    from p2pchain.ipfs import CID

    try:
        return str(CID.parse(value.strip()))
    except (ValueError, P2PChainError) as exc:
        raise CliError(f"invalid CID {value!r}: {exc}") from None


@command(ipfs_app, "add", shared=_IPFS_SHARED)
def add(
    files: Annotated[list[Path], typer.Argument(help="Files to store and pin.")],
    cid_version: Annotated[
        int, typer.Option(min=0, max=1, help="0 (Qm...) or 1 (bafk..., raw leaves).")
    ] = 1,
) -> None:
    """Store and pin files; prints their CIDs (the same CIDs Kubo computes)."""
    from p2pchain.cli._listing import upload_images

    for file in files:
        if not file.is_file():
            raise CliError(f"{file} is not a file")
    o = opts()
    backend = o.backend()
    if cid_version == 1:
        cids = upload_images(backend, list(files), o.json)
    else:
        cids = [backend.add(f.read_bytes(), cid_version=0, pin=True) for f in files]
    emit(
        [{"file": str(f), "cid": c} for f, c in zip(files, cids, strict=True)],
        lambda: typer.echo("\n".join(f"{c}  {f}" for f, c in zip(files, cids, strict=True))),
    )


@command(ipfs_app, "cat", shared=("ipfs", "gateway"))
def cat(
    cid: Annotated[str, typer.Argument(help="The content's CID.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Print (or save) content by CID, verified block by block against it."""
    data = opts().backend(read=True).cat(_cid_arg(cid))
    if output is not None:
        output.write_bytes(data)
        typer.echo(f"wrote {len(data)} bytes to {output}", err=True)
    else:
        typer.echo(data, nl=False)


@command(ipfs_app, "pin", shared=_IPFS_SHARED)
def pin(
    cid: Annotated[str | None, typer.Argument(help="Pin this CID (omit to list pins).")] = None,
    remove: Annotated[bool, typer.Option("--rm", help="Unpin instead.")] = False,
) -> None:
    """Pin content by CID so it is kept (--rm unpins; no CID lists the pins)."""
    backend = opts().backend()
    if cid is None:
        pins = backend.pins()
        emit(pins, lambda: table(None, ["pinned CID"], [(p,) for p in pins]))
        return
    parsed = _cid_arg(cid)
    if remove:
        backend.unpin(parsed)
    else:
        if not backend.has(parsed):
            raise CliError(f"{parsed} is not in the store: add the content first")
        backend.pin(parsed)
    verb = "unpinned" if remove else "pinned"
    emit({"cid": parsed, verb: True}, lambda: typer.echo(f"{verb} {parsed}"))
