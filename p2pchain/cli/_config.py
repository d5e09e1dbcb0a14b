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
    network_url,
    noun_app,
    save_config,
    table,
)
from p2pchain.cli._errors import CliError

config_app = noun_app("Show and change the config file (defaults and named networks).")

KeyArg = Annotated[
    str,
    typer.Argument(
        help="network, account, ipfs, gateway, networks.NAME (an RPC URL), or"
        " networks.NAME.chain_id (the chain that network must be on)."
    ),
]


def _network_name(name: str) -> str:
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise CliError(f"invalid network name {name!r}: letters, digits, - and _")
    return name


def _chain_id(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or not 0 < int(text) < 2**64:
        raise CliError(f"invalid chain id {value!r}: expected a whole number, like 1 or 11155111")
    return int(text)


def _check(key: str, value: str) -> str:
    if key.startswith("networks."):
        name = _network_name(key.removeprefix("networks."))
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
    for name, entry in (data.get("networks") or {}).items():
        rows.append((f"networks.{name}", network_url(entry), "named network"))
        if isinstance(entry, dict) and entry.get("chain_id") is not None:
            rows.append((f"networks.{name}.chain_id", entry["chain_id"], "the chain it must be on"))
    emit(
        {"path": str(config_path()), "settings": data},
        lambda: table(f"config: {config_path()}", ["setting", "value", "meaning"], rows),
    )


@command(config_app, "set", shared=("json_output",))
def set_(key: KeyArg, value: Annotated[str, typer.Argument(help="The new value.")]) -> None:
    """Set a setting, e.g. `config set account alice` or `config set networks.sepolia URL`."""
    data = load_config()
    if key.startswith("networks.") and key.endswith(".chain_id"):
        name = _network_name(key.removeprefix("networks.").removesuffix(".chain_id"))
        networks = data.setdefault("networks", {})
        if name not in networks:
            raise CliError(
                f"no network {name!r}: set its URL first (config set networks.{name} URL)"
            )
        chain_id = _chain_id(value)
        networks[name] = {"url": network_url(networks[name]), "chain_id": chain_id}
        path = save_config(data)
        emit(
            {"path": str(path), key: chain_id}, lambda: typer.echo(f"{key} = {chain_id}  ({path})")
        )
        return
    checked = _check(key, value)
    if key.startswith("networks."):
        networks = data.setdefault("networks", {})
        name = key.removeprefix("networks.")
        entry = networks.get(name)
        networks[name] = {**entry, "url": checked} if isinstance(entry, dict) else checked
    else:
        data[key] = checked
    path = save_config(data)
    emit({"path": str(path), key: checked}, lambda: typer.echo(f"{key} = {checked}  ({path})"))


@command(config_app, "unset", shared=("json_output",))
def unset(key: KeyArg) -> None:
    """Remove a setting."""
    data = load_config()
    if key.startswith("networks.") and key.endswith(".chain_id"):
        networks = data.get("networks") or {}
        entry = networks.get(key.removeprefix("networks.").removesuffix(".chain_id"))
        found = isinstance(entry, dict) and entry.get("chain_id") is not None
        if found:
            name = key.removeprefix("networks.").removesuffix(".chain_id")
            networks[name] = network_url(entry)
    elif key.startswith("networks."):
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
