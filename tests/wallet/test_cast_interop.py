"""Interop with foundry's ``cast wallet`` (the real binary, offline): keystores move both ways."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from p2pchain import Wallet

from ._helpers import DEV_MNEMONIC, KEY_ADDRESS, KEY_HEX, PASSPHRASE, CastRunner

UNICODE_PASSPHRASE = "pässwörd 🔑 日本"


def _address_in(output: str) -> str:
    match = re.search(r"0x[0-9a-fA-F]{40}", output)
    assert match, output
    return match.group(0)


def _key_in(output: str) -> str:
    match = re.search(r"0x[0-9a-fA-F]{64}", output)
    assert match, "no key in cast output"
    return match.group(0)[2:].lower()


@pytest.fixture
def cast_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cast-keystores"
    folder.mkdir()
    return folder


def test_cast_new_keystore_imports_with_same_address(
    cast: CastRunner, cast_dir: Path, wallet: Wallet
) -> None:
    out = cast("wallet", "new", cast_dir, "fromcast", "--unsafe-password", PASSPHRASE)
    cast_address = _address_in(out.split("Address:")[1])
    cast_key = _key_in(
        cast(
            "wallet",
            "decrypt-keystore",
            "fromcast",
            "-k",
            cast_dir,
            "--unsafe-password",
            PASSPHRASE,
        )
    )
    assert "address" not in json.loads((cast_dir / "fromcast").read_text())  # cast records none

    address = wallet.import_keystore("fromcast", cast_dir / "fromcast", PASSPHRASE)

    assert address == cast_address
    assert wallet.list() == [("fromcast", cast_address)]
    account = wallet.load_account("fromcast", PASSPHRASE)
    assert account.address == cast_address
    assert account.key.hex().removeprefix("0x") == cast_key


def test_cast_imported_key_imports_with_same_key(
    cast: CastRunner, cast_dir: Path, wallet: Wallet
) -> None:
    cast(
        "wallet", "import", "imp", "--keystore-dir", cast_dir,
        "--private-key", KEY_HEX, "--unsafe-password", UNICODE_PASSPHRASE,
    )  # fmt: skip

    assert wallet.import_keystore("imp", cast_dir / "imp", UNICODE_PASSPHRASE) == KEY_ADDRESS
    assert wallet.load_account("imp", UNICODE_PASSPHRASE).key.hex().removeprefix("0x") == KEY_HEX


def test_our_keystore_opens_in_cast_with_same_address(cast: CastRunner, wallet: Wallet) -> None:
    address = wallet.create("alice", PASSPHRASE)
    path = wallet.keystore_path("alice")

    out = cast("wallet", "address", "--keystore", path, "--password", PASSPHRASE)

    assert out.strip() == address


def test_our_keystore_decrypts_in_cast_to_same_key(cast: CastRunner, wallet: Wallet) -> None:
    wallet.import_private_key("alice", KEY_HEX, UNICODE_PASSPHRASE)

    out = cast(
        "wallet", "decrypt-keystore", "alice.json", "-k", wallet.directory,
        "--unsafe-password", UNICODE_PASSPHRASE,
    )  # fmt: skip

    assert _key_in(out) == KEY_HEX


def test_exported_keystore_opens_in_cast(cast: CastRunner, wallet: Wallet, tmp_path: Path) -> None:
    address = wallet.import_mnemonic("dev", DEV_MNEMONIC, PASSPHRASE)
    exported = wallet.export_keystore("dev", tmp_path / "dev-backup.json")

    out = cast("wallet", "address", "--keystore", exported, "--password", PASSPHRASE)

    assert out.strip() == address


@pytest.mark.parametrize("index", [0, 1, 7])
def test_mnemonic_accounts_match_cast(cast: CastRunner, wallet: Wallet, index: int) -> None:
    expected = cast("wallet", "address", "--mnemonic", DEV_MNEMONIC, "--mnemonic-index", str(index))

    address = wallet.import_mnemonic(
        f"dev{index}", DEV_MNEMONIC, PASSPHRASE, account_path=f"m/44'/60'/0'/0/{index}"
    )

    assert address == expected.strip()
