"""``p2pchain wallet``: new, import, list, show, export, with real scrypt keystores."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from eth_account import Account

from .conftest import PASSPHRASE, Cli, Market


def test_wallet_new_then_list_and_show(cli: Cli) -> None:
    created = json.loads(cli("wallet", "new", "alice", "--json").stdout)
    assert created["name"] == "alice"
    keystore = Path(created["keystore"])
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    listed = json.loads(cli("wallet", "list", "--json").stdout)
    assert listed == [{"name": "alice", "address": created["address"]}]
    shown = json.loads(cli("wallet", "show", "alice", "--no-balance", "--json").stdout)
    assert shown["address"] == created["address"]
    # the keystore decrypts with the passphrase to the same address
    key = Account.decrypt(json.loads(keystore.read_text()), PASSPHRASE)
    assert Account.from_key(key).address == created["address"]


def test_wallet_show_reports_the_balance_on_the_network(market: Market) -> None:
    shown = json.loads(market("wallet", "show", "bob", "--json").stdout)
    assert shown["balance"] == str(50 * 10**18)
    assert "50 ETH" in market("wallet", "show", "bob").stdout


def test_wallet_export_and_import_keystore_round_trip(cli: Cli) -> None:
    address = json.loads(cli("wallet", "new", "alice", "--json").stdout)["address"]
    exported = cli.home / "alice-backup.json"
    cli("wallet", "export", "alice", str(exported))
    assert json.loads(exported.read_text())["address"].lower() == address[2:].lower()
    imported = json.loads(
        cli("wallet", "import", "alice2", "--keystore", str(exported), "--json").stdout
    )
    assert imported["address"] == address
    line = cli.fails("wallet", "export", "alice", str(exported))
    assert "already exists" in line


def test_wallet_import_private_key_file(cli: Cli) -> None:
    account = Account.create()
    key_file = cli.home / "key.txt"
    key_file.write_text(account.key.hex() + "\n")
    out = json.loads(
        cli("wallet", "import", "hot", "--private-key-file", str(key_file), "--json").stdout
    )
    assert out["address"] == account.address


def test_wallet_import_keystore_with_wrong_passphrase_fails(cli: Cli) -> None:
    cli("wallet", "new", "alice")
    exported = cli.home / "a.json"
    cli("wallet", "export", "alice", str(exported))
    cli("wallet", "import", "copy", "--keystore", str(exported))  # passphrase from the env
    bad = cli.home / "pass.txt"
    bad.write_text("not the passphrase\n")
    os.chmod(bad, 0o600)
    line = cli.fails(
        "wallet", "import", "copy2", "--keystore", str(exported), "--passphrase-file", str(bad)
    )
    assert "wrong passphrase" in line


def test_wallet_new_refuses_taken_and_invalid_names(cli: Cli) -> None:
    cli("wallet", "new", "alice")
    assert "already exists" in cli.fails("wallet", "new", "ALICE")
    assert cli.fails("wallet", "new", "no/slash").startswith("error: ")


def test_wallet_new_without_a_passphrase_source_fails_cleanly(cli: Cli) -> None:
    env = {**cli.env, "P2PCHAIN_PASSPHRASE": ""}
    line = Cli(env=env, home=cli.home).fails("wallet", "new", "alice")
    assert line.startswith("error: no passphrase for new keystore 'alice'")


def test_wallet_import_mnemonic_file_derives_the_account(cli: Cli) -> None:
    words = cli.home / "words.txt"
    words.write_text("test test test test test test test test test test test junk\n")
    first = json.loads(
        cli("wallet", "import", "dev0", "--mnemonic-file", str(words), "--json").stdout
    )
    assert first["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    second = json.loads(
        cli("wallet", "import", "dev1", "--mnemonic-file", str(words),
            "--account-path", "m/44'/60'/0'/0/1", "--json").stdout
    )  # fmt: skip
    assert second["address"] == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
