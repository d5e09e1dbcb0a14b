"""``p2pchain wallet``: named, encrypted keystores in the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from p2pchain.wallet._wallet import Wallet

from p2pchain.cli._common import command, emit, format_amount, noun_app, opts, panel, table
from p2pchain.cli._errors import CliError

wallet_app = noun_app("Create, import, list and export accounts.")

NameArg = Annotated[str, typer.Argument(help="Keystore name: letters, digits, - and _.")]


@command(wallet_app, "new", shared=("passphrase_file", "json_output"))
def new(name: NameArg) -> None:
    """Create a new random account, encrypted with a passphrase."""
    o = opts()
    wallet = o.wallet()
    _check_new_name(wallet, name)  # fail before asking for a passphrase
    passphrase = o.passphrase(f"new keystore {name!r}", confirm=True)
    address = wallet.create(name, passphrase)
    emit(
        {"name": name, "address": address, "keystore": str(wallet.keystore_path(name))},
        lambda: panel(
            f"wallet {name} created",
            [
                ("address", address),
                ("keystore", wallet.keystore_path(name)),
                ("next", f"p2pchain node fund {name}   (on a dev node)"),
            ],
            style="green",
        ),
    )


def _valid(name: str) -> bool:
    from p2pchain.wallet._keystore import name_problem

    problem = name_problem(name)
    if problem is not None:
        raise CliError(problem)
    return True


def _check_new_name(wallet: Wallet, name: str) -> None:
    _valid(name)
    for entry in wallet.list():
        if entry.name.casefold() == name.casefold():
            raise CliError(f"keystore {name!r} already exists: choose another name")


def _read_secret_file(path: Path, what: str) -> str:
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {what} file {path}: {exc}") from None
    text = text.strip()
    if not text:
        raise CliError(f"{what} file {path} is empty")
    return text


@command(wallet_app, "import", shared=("passphrase_file", "json_output"))
def import_(
    name: NameArg,
    keystore: Annotated[
        Path | None, typer.Option(help="A v3 keystore JSON file (geth, cast, MetaMask export).")
    ] = None,
    private_key_file: Annotated[
        Path | None, typer.Option(help="A file holding the private key (64 hex digits).")
    ] = None,
    mnemonic_file: Annotated[
        Path | None, typer.Option(help="A file holding a BIP-39 mnemonic.")
    ] = None,
    account_path: Annotated[
        str, typer.Option(help="BIP-32 path for --mnemonic-file.")
    ] = "m/44'/60'/0'/0/0",
) -> None:
    """Import an account: a keystore file, a private key or a mnemonic (prompted if no file)."""
    o = opts()
    _valid(name)
    sources = [s for s in (keystore, private_key_file, mnemonic_file) if s is not None]
    if len(sources) > 1:
        raise CliError("give one of --keystore, --private-key-file, --mnemonic-file")
    wallet = o.wallet()
    _check_new_name(wallet, name)
    if keystore is not None:
        passphrase = o.passphrase(f"keystore file {keystore}")
        address = wallet.import_keystore(name, keystore, passphrase)
    elif mnemonic_file is not None:
        words = _read_secret_file(mnemonic_file, "mnemonic")
        passphrase = o.passphrase(f"new keystore {name!r}", confirm=True)
        address = wallet.import_mnemonic(name, words, passphrase, account_path=account_path)
    else:
        if private_key_file is not None:
            key = _read_secret_file(private_key_file, "private key")
        else:
            key = typer.prompt("Private key (hidden)", hide_input=True, err=True)
        passphrase = o.passphrase(f"new keystore {name!r}", confirm=True)
        address = wallet.import_private_key(name, key, passphrase)
    emit(
        {"name": name, "address": address, "keystore": str(wallet.keystore_path(name))},
        lambda: panel(f"wallet {name} imported", [("address", address)], style="green"),
    )


@command(wallet_app, "list", shared=("json_output",))
def list_() -> None:
    """List the keystores and their addresses."""
    wallet = opts().wallet()
    entries = wallet.list()
    emit(
        [{"name": e.name, "address": e.address} for e in entries],
        lambda: (
            table(
                f"wallets in {wallet.directory}",
                ["name", "address"],
                [(e.name, e.address) for e in entries],
            )
            if entries
            else typer.echo("no wallets yet: create one with `p2pchain wallet new NAME`")
        ),
    )


@command(wallet_app, "show", shared=("network", "json_output"))
def show(
    name: NameArg,
    balance: Annotated[
        bool, typer.Option("--balance/--no-balance", help="Also ask the network for the balance.")
    ] = True,
) -> None:
    """Show a keystore's address (and its ETH balance when the network answers)."""
    from p2pchain.chain._nodes import RpcChain

    o = opts()
    wallet = o.wallet()
    address = wallet.address(name)
    data: dict[str, object] = {
        "name": name,
        "address": address,
        "keystore": str(wallet.keystore_path(name)),
    }
    if balance:
        try:
            wei = int(RpcChain(o.rpc_url()).w3.eth.get_balance(address))
            data["balance"] = str(wei)
        except Exception as exc:  # noqa: BLE001 - the balance is optional here
            data["balance_error"] = " ".join(str(exc).split())[:160]
    rows = [("address", address), ("keystore", data["keystore"])]
    if "balance" in data:
        rows.append(("balance", format_amount(int(str(data["balance"])))))
    elif "balance_error" in data:
        rows.append(("balance", f"unknown ({data['balance_error']})"))
    emit(data, lambda: panel(f"wallet {name}", rows))


@command(wallet_app, "export", shared=("json_output",))
def export(
    name: NameArg,
    dest: Annotated[Path, typer.Argument(help="A file, or a folder to write NAME.json into.")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Copy a keystore (still encrypted) to a file, e.g. for MetaMask or geth."""
    target = opts().wallet().export_keystore(name, dest, overwrite=overwrite)
    emit({"name": name, "file": str(target)}, lambda: typer.echo(f"exported {name} to {target}"))


@command(wallet_app, "unlock", shared=("passphrase_file", "json_output"))
def unlock(
    name: NameArg,
    for_: Annotated[
        str,
        typer.Option(
            "--for",
            help="How long: 90s, 15m, 2h (at most 24h). Until then signing commands of this"
            " account ask no passphrase.",
        ),
    ] = "15m",
) -> None:
    """Keep a keystore unlocked for a while, in a local agent of yours (like ssh-agent)."""
    from datetime import UTC, datetime

    from p2pchain.wallet._agent import parse_duration, start

    o = opts()
    wallet = o.wallet()
    address = wallet.address(name)  # unknown names fail before asking for a passphrase
    seconds = parse_duration(for_)
    passphrase = o.passphrase(f"keystore {name!r}")
    account = wallet.load_account(name, passphrase)
    held = start(name, address, bytes(account.key), seconds)
    until = datetime.fromtimestamp(held.expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    emit(
        {"name": name, "address": address, "expires": int(held.expires), "pid": held.pid},
        lambda: panel(
            f"wallet {name} unlocked",
            [
                ("address", address),
                ("until", until),
                ("held by", f"agent process {held.pid} (memory only; socket mode 0600)"),
                ("end it", f"p2pchain wallet lock {name}"),
            ],
            style="yellow",
        ),
    )


@command(wallet_app, "lock", shared=("json_output",))
def lock(
    name: Annotated[
        str | None, typer.Argument(help="Keystore name; none: every unlocked keystore.")
    ] = None,
) -> None:
    """End the agent holding a keystore unlocked (or every one): passphrases are asked again."""
    from p2pchain.wallet._agent import lock as end
    from p2pchain.wallet._agent import running

    if name is not None:
        _valid(name)
    names = [name] if name is not None else running()
    ended = [n for n in names if end(n)]
    emit(
        {"locked": ended},
        lambda: typer.echo(
            f"locked {', '.join(ended)}" if ended else "no keystore was unlocked", err=not ended
        ),
    )


@command(wallet_app, "unlocked", shared=("json_output",))
def unlocked() -> None:
    """List the keystores an agent holds unlocked, and until when."""
    from datetime import UTC, datetime

    from p2pchain.wallet._agent import running, status

    found = [s for s in (status(n) for n in running()) if s is not None]
    rows = [
        {
            "name": s.name,
            "address": s.address,
            "expires": int(s.expires),
            "until": datetime.fromtimestamp(s.expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        for s in found
    ]
    emit(
        rows,
        lambda: (
            table(
                None,
                ["name", "address", "until"],
                [[r["name"], r["address"], r["until"]] for r in rows],
            )
            if rows
            else typer.echo("no keystore is unlocked")
        ),
    )
