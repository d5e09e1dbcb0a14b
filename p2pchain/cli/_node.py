"""``p2pchain node``: a local Anvil or Ganache from the pinned npm packages, in the background.

``node start`` launches the node detached, bound to 127.0.0.1, and records its kind, PID, port
and log file in ``<data dir>/node.json``; ``--network local`` (the default) finds it there.
``node stop`` stops it by that PID, after checking the PID is still that node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer

from p2pchain.cli._common import (
    command,
    data_dir,
    emit,
    format_amount,
    noun_app,
    opts,
    panel,
    parse_amount,
)
from p2pchain.cli._errors import CliError
from p2pchain.cli._noderecord import KINDS, alive, read_record, record_path

node_app = noun_app("Start, stop and fund a local dev node (Anvil or Ganache).")


#: Where `node start` keeps an Anvil chain between stop and start (in the data folder).
STATE_FILE = "anvil-state.json"


def _argv(kind: str, binary: Path, port: int, block_time: int | None) -> list[str]:
    from p2pchain.chain._nodes import anvil_argv, ganache_argv

    if kind == "anvil":
        # --state loads the file if it exists and dumps the chain to it on exit (node stop);
        # --state-interval also dumps every few seconds, so a crash loses little
        state = ["--state", str(data_dir() / STATE_FILE), "--state-interval", "5"]
        return (
            anvil_argv(binary, port)
            + state
            + (["--block-time", str(block_time)] if block_time else [])
        )
    return ganache_argv(binary, port) + (
        ["--miner.blockTime", str(block_time)] if block_time else []
    )


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    from p2pchain.chain._nodes import _rpc_ready

    deadline = time.monotonic() + timeout
    while not _rpc_ready(url):
        if process.poll() is not None:
            tail = " | ".join(log.read_text(errors="replace").split("\n")[-5:]).strip(" |")
            raise CliError(f"the node exited with code {process.returncode}: {tail or '(no log)'}")
        if time.monotonic() > deadline:
            process.terminate()
            raise CliError(f"the node did not answer on {url} within {timeout:.0f}s (log: {log})")
        time.sleep(0.1)


@command(node_app, "start", shared=("json_output",))
def start(
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="anvil or ganache (both from node_modules).")
    ] = "anvil",
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="TCP port on 127.0.0.1 (default: a free one)."),
    ] = None,
    block_time: Annotated[
        int | None,
        typer.Option(min=1, max=3600, help="Mine a block every N seconds (default: on each tx)."),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="Anvil: start a new chain instead of the one the last stop kept."
        ),
    ] = False,
) -> None:
    """Start a dev node in the background on 127.0.0.1 (ten funded dev accounts).

    Anvil keeps its chain across `node stop` and `node start` (in the data folder);
    `--fresh` starts over. Ganache starts a new chain each time."""
    from p2pchain._paths import find_node_modules
    from p2pchain.chain._nodes import _node_tool, free_port

    if kind not in KINDS:
        raise CliError(f"unknown node kind {kind!r}: use anvil or ganache")
    record = read_record()
    if record is not None and alive(record):
        raise CliError(
            f"a local {record['kind']} node already runs at {record['url']} (pid {record['pid']}):"
            " stop it first with `p2pchain node stop`"
        )
    binary = _node_tool(kind, find_node_modules())
    chosen = port if port is not None else free_port()
    url = f"http://127.0.0.1:{chosen}"
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / STATE_FILE
    if fresh:
        state.unlink(missing_ok=True)
    restored = kind == "anvil" and state.is_file()
    log = folder / f"{kind}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _argv(kind, binary, chosen, block_time),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # keeps running after this command exits
        )
    try:
        _wait_ready(process, url, log, 60.0 if kind == "ganache" else 30.0)
    except CliError:
        if process.poll() is None:
            process.terminate()
        raise
    from p2pchain.chain._nodes import RpcChain
    from p2pchain.chain._permit2 import PERMIT2_ADDRESS

    chain_id = 31337 if kind == "anvil" else 1337
    node = RpcChain(url)
    # Permit2 at its canonical address, as a real chain has it (a kept chain has it already).
    permit2 = node.install_permit2()
    if kind == "anvil":
        block = int(node.w3.eth.block_number)
        kept = f"restored from {state} (block {block})" if restored else f"new; kept in {state}"
    else:
        kept = "new; ganache's chain is not kept when it stops"
    record = {
        "kind": kind,
        "pid": process.pid,
        "port": chosen,
        "url": url,
        "chain_id": chain_id,
        "log": str(log),
        "state": str(state) if kind == "anvil" else None,
        "started_at": int(time.time()),
        "permit2": permit2,
    }
    record_path().write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    emit(
        {"running": True, **record, "restored": restored},
        lambda: panel(
            f"{kind} started",
            [
                ("RPC", url),
                ("chain id", chain_id),
                ("pid", process.pid),
                ("log", log),
                ("chain", kept),
                ("Permit2", PERMIT2_ADDRESS if permit2 else "not installed"),
                ("next", "p2pchain deploy" if not restored else "p2pchain deploy, if not done yet"),
            ],
            style="green",
        ),
    )


def _stop_pid(pid: int, timeout: float = 10.0) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ")[-1][:1] == "Z":
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@command(node_app, "stop", shared=("json_output",))
def stop() -> None:
    """Stop the node `p2pchain node start` started (by its PID)."""
    record = read_record()
    if record is None:
        raise CliError("no local node is recorded: nothing to stop")
    if alive(record):
        _stop_pid(int(record["pid"]))
        stopped = True
    else:
        stopped = False
    record_path().unlink(missing_ok=True)
    emit(
        {"stopped": stopped, "kind": record["kind"], "pid": record["pid"]},
        lambda: typer.echo(
            (
                f"stopped {record['kind']} (pid {record['pid']})"
                if stopped
                else f"{record['kind']} (pid {record['pid']}) was no longer running; record removed"
            )
            + (
                f"; its chain is kept in {record['state']} and comes back with"
                " `p2pchain node start` (`--fresh` starts over)"
                if record.get("state")
                else "; its chain is gone: the next start is a new chain (deploy again)"
            )
        ),
    )


@command(node_app, "status", shared=("json_output",))
def status() -> None:
    """Show whether the local node runs, where, and its latest block (exit 3 if not running)."""
    record = read_record()
    if record is None or not alive(record):
        emit(
            {"running": False},
            lambda: typer.echo("no local node is running (start one: p2pchain node start)"),
        )
        raise typer.Exit(3)
    from p2pchain.chain._nodes import RpcChain

    chain = RpcChain(str(record["url"]))
    block = int(chain.w3.eth.block_number)
    chain_id = int(chain.w3.eth.chain_id)
    data = {"running": True, **record, "chain_id": chain_id, "block": block}
    emit(
        data,
        lambda: panel(
            f"{record['kind']} running",
            [("RPC", record["url"]), ("chain id", chain_id), ("block", block),
             ("pid", record["pid"]), ("log", record["log"])],
            style="green",
        ),
    )  # fmt: skip


@command(node_app, "fund", shared=("network", "json_output"))
def fund(
    target: Annotated[str, typer.Argument(help="A keystore name or a 0x address.")],
    amount: Annotated[
        str, typer.Option(help="The balance to set, e.g. 100eth (dev nodes only).")
    ] = "100eth",
) -> None:
    """Set an account's ETH balance on a dev node (Anvil or Ganache), e.g. a new wallet's."""
    from p2pchain.chain._nodes import RpcChain

    o = opts()
    value = parse_amount(amount)
    address = o.resolve_address(target, "account")
    chain = RpcChain(o.rpc_url())
    try:
        version = str(chain.w3.client_version).lower()
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise CliError(f"cannot reach the node at {chain.url}: {exc}") from None
    if "anvil" in version:
        chain.rpc("anvil_setBalance", [address, hex(value)])
    elif "ganache" in version:
        chain.rpc("evm_setAccountBalance", [address, hex(value)])
    else:
        raise CliError(f"{chain.url} is not a dev node ({version}): funding works on Anvil/Ganache")
    balance = int(chain.w3.eth.get_balance(address))
    emit(
        {"address": address, "balance": str(balance)},
        lambda: typer.echo(f"{address} now holds {format_amount(balance)}"),
    )
