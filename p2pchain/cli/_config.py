"""``p2pchain config``: defaults for --network, --account, --ipfs and named networks."""

from __future__ import annotations

from typing import Annotated

import typer

from p2pchain.cli._common import (
    CONFIG_KEYS,
    check_url,
    command,
    config_path,
    emit,
    load_config,
    noun_app,
    save_config,
    table,
)
from p2pchain.cli._errors import CliError

config_app = noun_app("Show and change the config file (defaults and named networks).")

KeyArg = Annotated[
    str,
    typer.Argument(help="network, account, ipfs, gateway, or networks.NAME (an RPC URL)."),
]


def _check(key: str, value: str) -> str:
    if key.startswith("networks."):
        name = key.removeprefix("networks.")
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise CliError(f"invalid network name {name!r}: letters, digits, - and _")
        if name.lower() in ("local", "anvil", "ganache", "embedded"):
            raise CliError(f"{name!r} is a built-in network name: choose another")
        return check_url(value, f"URL for network {name!r}", ("http", "https", "ws", "wss"))
    if key not in CONFIG_KEYS:
        raise CliError(f"unknown setting {key!r}: use {', '.join(CONFIG_KEYS)} or networks.NAME")
    if key in ("gateway",) or (key == "ipfs" and value.lower() != "local"):
        return check_url(value, f"{key} URL")
    if key == "network" and "://" in value:
        return check_url(value, "network URL", ("http", "https", "ws", "wss"))
    if not value.strip():
        raise CliError(f"{key} must not be empty")
    return value.strip()


@command(config_app, "show", shared=("json_output",))
def show() -> None:
    """Show every setting and where the config file is."""
    data = load_config()
    rows = [(k, data.get(k, "-"), CONFIG_KEYS[k]) for k in CONFIG_KEYS]
    rows += [(f"networks.{k}", v, "named network") for k, v in (data.get("networks") or {}).items()]
    emit(
        {"path": str(config_path()), "settings": data},
        lambda: table(f"config: {config_path()}", ["setting", "value", "meaning"], rows),
    )


@command(config_app, "set", shared=("json_output",))
def set_(key: KeyArg, value: Annotated[str, typer.Argument(help="The new value.")]) -> None:
    """Set a setting, e.g. `config set account alice` or `config set networks.sepolia URL`."""
    checked = _check(key, value)
    data = load_config()
    if key.startswith("networks."):
        data.setdefault("networks", {})[key.removeprefix("networks.")] = checked
    else:
        data[key] = checked
    path = save_config(data)
    emit({"path": str(path), key: checked}, lambda: typer.echo(f"{key} = {checked}  ({path})"))


@command(config_app, "unset", shared=("json_output",))
def unset(key: KeyArg) -> None:
    """Remove a setting."""
    data = load_config()
    if key.startswith("networks."):
        networks = data.get("networks") or {}
        found = networks.pop(key.removeprefix("networks."), None) is not None
        if not networks:
            data.pop("networks", None)
    else:
        if key not in CONFIG_KEYS:
            raise CliError(
                f"unknown setting {key!r}: use {', '.join(CONFIG_KEYS)} or networks.NAME"
            )
        found = data.pop(key, None) is not None
    if not found:
        raise CliError(f"{key} is not set")
    path = save_config(data)
    emit({"path": str(path), "unset": key}, lambda: typer.echo(f"unset {key}  ({path})"))


@command(config_app, "path", shared=("json_output",))
def path() -> None:
    """Print the config file's path ($P2PCHAIN_CONFIG overrides it)."""
    emit({"path": str(config_path())}, lambda: typer.echo(str(config_path())))
