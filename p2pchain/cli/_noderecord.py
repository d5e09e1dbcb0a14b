"""The record of the local dev node that ``p2pchain node start`` runs: ``<data dir>/node.json``.

``--network local`` (and ``anvil``/``ganache``) resolve to the URL recorded here, after checking
that the recorded PID still runs that node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from p2pchain._paths import data_dir
from p2pchain.cli._errors import CliError

#: The kinds of node ``node start`` runs.
KINDS = ("anvil", "ganache")


def record_path() -> Path:
    """Where the running node is recorded."""
    return data_dir() / "node.json"


def read_record() -> dict[str, Any] | None:
    """The recorded node, or None.

    Raises:
        CliError: The record is damaged.
    """
    path = record_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CliError(f"the node record {path} is damaged ({exc}): delete it") from None
    if not isinstance(data, dict) or not {"kind", "pid", "port", "url"} <= set(data):
        raise CliError(f"the node record {path} is damaged: delete it")
    return data


def alive(record: dict[str, Any]) -> bool:
    """Whether the recorded PID still runs the recorded node."""
    pid = int(record["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        if not args or not any(record["kind"].encode() in a for a in args):
            return False
        if str(record["port"]).encode() not in args:
            return False
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
        return state != "Z"
    return True


def local_node_url(name: str = "local") -> str:
    """The RPC URL of the node ``node start`` runs.

    Raises:
        CliError: No node is running, or it is not of the kind ``name`` asks for.
    """
    record = read_record()
    if record is None or not alive(record):
        if record is not None:
            record_path().unlink(missing_ok=True)
        raise CliError(
            "no local node is running: run `p2pchain node start` (or pass --network URL)"
        )
    if name in KINDS and record["kind"] != name:
        raise CliError(
            f"the local node is {record['kind']}, not {name}: use --network local, or"
            f" `p2pchain node stop` and `p2pchain node start --kind {name}`"
        )
    return str(record["url"])


__all__ = ["KINDS", "alive", "local_node_url", "read_record", "record_path"]
