"""Keystore management: create, import, list, load, export, delete; names, files and failures."""

from __future__ import annotations

import inspect
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keyfile.keyfile import _scrypt_hash, encrypt_aes_ctr
from eth_utils import keccak
from pydantic import SecretBytes, SecretStr

from p2pchain import P2PChainError, Wallet, WalletError, default_keystore_dir
from p2pchain.wallet._keystore import DEFAULT_SCRYPT_N

from ._helpers import (
    DEV_ADDRESS_0,
    DEV_ADDRESS_1,
    DEV_MNEMONIC,
    KEY_ADDRESS,
    KEY_HEX,
    LIGHT_SCRYPT_N,
    PASSPHRASE,
)

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _keystore_json(wallet: Wallet, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(wallet.keystore_path(name).read_text())
    return data


# --- creating ---------------------------------------------------------------------------------


def test_create_address_listed_and_loadable(wallet: Wallet) -> None:
    address = wallet.create("alice", PASSPHRASE)

    assert wallet.list() == [("alice", address)]
    assert wallet.address("alice") == address
    assert wallet.load_account("alice", PASSPHRASE).address == address


def test_create_twice_gives_distinct_keys(wallet: Wallet) -> None:
    assert wallet.create("alice", PASSPHRASE) != wallet.create("bob", PASSPHRASE)
    assert [entry.name for entry in wallet.list()] == ["alice", "bob"]


def test_create_writes_private_file_in_private_dir(wallet: Wallet) -> None:
    wallet.create("alice", PASSPHRASE)

    assert sorted(p.name for p in wallet.directory.iterdir()) == ["alice.json"]  # no temp files
    assert _mode(wallet.directory) == 0o700
    assert _mode(wallet.directory / "alice.json") == 0o600


def test_create_tightens_loose_existing_dir(wallet: Wallet) -> None:
    wallet.directory.mkdir(parents=True, mode=0o755)
    os.chmod(wallet.directory, 0o755)

    wallet.create("alice", PASSPHRASE)

    assert _mode(wallet.directory) == 0o700


def test_create_writes_standard_v3_scrypt_keystore(
    wallet: Wallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETH_ACCOUNT_KDF", "pbkdf2")  # eth-account's own default must not leak in
    address = wallet.create("alice", PASSPHRASE)

    keystore = _keystore_json(wallet, "alice")
    crypto = keystore["crypto"]
    assert isinstance(crypto, dict)
    assert keystore["version"] == 3
    assert crypto["kdf"] == "scrypt"
    assert crypto["cipher"] == "aes-128-ctr"
    assert crypto["kdfparams"]["n"] == LIGHT_SCRYPT_N
    assert crypto["kdfparams"]["r"] == 8 and crypto["kdfparams"]["p"] == 1
    assert "0x" + str(keystore["address"]).lower() == address.lower()


def test_default_kdf_iterations_standard() -> None:
    default = inspect.signature(Wallet).parameters["kdf_iterations"].default
    assert default == DEFAULT_SCRYPT_N == 262_144
    assert Wallet().kdf_iterations == 262_144


@pytest.mark.parametrize("iterations", [0, 1, 1000, -2])
def test_kdf_iterations_not_power_of_two_rejected(tmp_path: Path, iterations: int) -> None:
    with pytest.raises(WalletError, match="power of two"):
        Wallet(tmp_path, kdf_iterations=iterations)


def test_default_directory_follows_data_dir_env(_private_data_dir: Path) -> None:
    wallet = Wallet(kdf_iterations=LIGHT_SCRYPT_N)

    assert default_keystore_dir() == _private_data_dir / "keystores"
    assert wallet.directory == _private_data_dir / "keystores"
    wallet.create("alice", PASSPHRASE)
    assert (_private_data_dir / "keystores" / "alice.json").is_file()


def test_wallet_error_is_p2pchain_error() -> None:
    assert issubclass(WalletError, P2PChainError)


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a b",
        "../escape",
        "x/y",
        "-dash",
        "_under",
        "alice.json",
        "é",
        "a" * 65,
        "con",
        "NUL",
        "lpt1",
    ],
)
def test_invalid_names_rejected(wallet: Wallet, name: str) -> None:
    with pytest.raises(WalletError, match="keystore name") as raised:
        wallet.create(name, PASSPHRASE)

    assert "\n" not in str(raised.value)
    assert not wallet.directory.exists() or not any(wallet.directory.iterdir())


@pytest.mark.parametrize("name", ["a", "alice", "Bob-2", "cold_storage", "deadbeef", "x" * 64])
def test_valid_names_accepted(wallet: Wallet, name: str) -> None:
    wallet.create(name, PASSPHRASE)
    assert wallet.list()[0].name == name


def test_name_like_key_rejected_without_quoting(wallet: Wallet) -> None:
    with pytest.raises(WalletError, match="looks like a key") as raised:
        wallet.import_private_key(KEY_HEX, "alice", PASSPHRASE)  # arguments swapped

    assert KEY_HEX not in str(raised.value)


def test_duplicate_name_rejected(wallet: Wallet) -> None:
    first = wallet.create("alice", PASSPHRASE)

    with pytest.raises(WalletError, match="^keystore 'alice' already exists: choose another name$"):
        wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)
    with pytest.raises(WalletError, match="already exists \\(as 'alice'\\)"):
        wallet.create("ALICE", PASSPHRASE)
    assert wallet.list() == [("alice", first)]


@pytest.mark.parametrize(
    "action", ["address", "load_account", "export_keystore", "delete", "keystore_path"]
)
def test_unknown_name_rejected(wallet: Wallet, tmp_path: Path, action: str) -> None:
    wallet.create("alice", PASSPHRASE)
    args: dict[str, tuple[object, ...]] = {
        "load_account": (PASSPHRASE,),
        "export_keystore": (tmp_path,),
    }

    with pytest.raises(WalletError, match="^no keystore named 'bob' in "):
        getattr(wallet, action)("bob", *args.get(action, ()))


# --- passphrases ------------------------------------------------------------------------------


def test_wrong_passphrase_rejected(wallet: Wallet) -> None:
    wallet.create("alice", PASSPHRASE)

    with pytest.raises(WalletError) as raised:
        wallet.load_account("alice", "not it")

    assert str(raised.value) == "wrong passphrase for keystore 'alice'"


def test_empty_passphrase_rejected(wallet: Wallet) -> None:
    with pytest.raises(WalletError, match="passphrase must not be empty"):
        wallet.create("alice", "")
    with pytest.raises(WalletError, match="passphrase must not be empty"):
        wallet.import_private_key("alice", KEY_HEX, SecretStr(""))
    assert wallet.list() == []


def test_unicode_passphrase_round_trips(wallet: Wallet) -> None:
    address = wallet.create("alice", "pässwörd 🔑 日本")

    assert wallet.load_account("alice", SecretStr("pässwörd 🔑 日本")).address == address


# --- private keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        KEY_HEX,
        "0x" + KEY_HEX,
        "0X" + KEY_HEX.upper(),
        f"  0x{KEY_HEX}\n",
        bytes.fromhex(KEY_HEX),
        SecretStr("0x" + KEY_HEX),
        SecretBytes(bytes.fromhex(KEY_HEX)),
    ],
    ids=["hex", "0x-hex", "upper", "padded", "bytes", "secret-str", "secret-bytes"],
)
def test_import_private_key_forms_accepted(wallet: Wallet, key: object) -> None:
    address = wallet.import_private_key("alice", key, PASSPHRASE)  # type: ignore[arg-type]

    assert address == KEY_ADDRESS
    account = wallet.load_account("alice", PASSPHRASE)
    assert account.address == KEY_ADDRESS
    assert account.key.hex().removeprefix("0x") == KEY_HEX


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (KEY_HEX[:-2], "64 hex digits"),
        (KEY_HEX + "00", "64 hex digits"),
        ("zz" + KEY_HEX[2:], "64 hex digits"),
        ("", "64 hex digits"),
        (bytes(31), "32 bytes"),
        ("00" * 32, "out of range"),
        (f"{SECP256K1_N:064x}", "out of range"),
        (f"{SECP256K1_N + 5:064x}", "out of range"),
        (12345, "hex text or 32 bytes"),
    ],
    ids=[
        "short",
        "long",
        "not-hex",
        "empty",
        "31-bytes",
        "zero",
        "curve-order",
        "above-order",
        "int",
    ],
)
def test_import_private_key_invalid_rejected(wallet: Wallet, key: object, reason: str) -> None:
    with pytest.raises(WalletError, match=reason) as raised:
        wallet.import_private_key("alice", key, PASSPHRASE)  # type: ignore[arg-type]

    if isinstance(key, str) and key:
        assert key not in str(raised.value)
    assert wallet.list() == []


def test_import_private_key_never_written_in_plain(wallet: Wallet, tmp_path: Path) -> None:
    wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)
    wallet.export_keystore("alice", tmp_path)

    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert bytes.fromhex(KEY_HEX) not in data, path
            assert KEY_HEX.encode() not in data.lower(), path


def test_loaded_account_signs_as_its_address(wallet: Wallet) -> None:
    wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)
    account = wallet.load_account("alice", PASSPHRASE)
    message = encode_defunct(text="p2pchain")

    signed = account.sign_message(message)

    assert Account.recover_message(message, signature=signed.signature) == KEY_ADDRESS
    assert KEY_HEX not in repr(account) and KEY_HEX not in str(account)


# --- mnemonics --------------------------------------------------------------------------------


def test_import_mnemonic_dev_phrase_yields_standard_address(wallet: Wallet) -> None:
    assert wallet.import_mnemonic("dev", DEV_MNEMONIC, PASSPHRASE) == DEV_ADDRESS_0
    assert wallet.load_account("dev", PASSPHRASE).address == DEV_ADDRESS_0


def test_import_mnemonic_account_path_selects_account(wallet: Wallet) -> None:
    address = wallet.import_mnemonic(
        "dev1", DEV_MNEMONIC, PASSPHRASE, account_path="m/44'/60'/0'/0/1"
    )
    assert address == DEV_ADDRESS_1


def test_import_mnemonic_case_and_spacing_ignored(wallet: Wallet) -> None:
    messy = "  TEST test\ttest test test test\n test test test test test   Junk "
    assert wallet.import_mnemonic("dev", SecretStr(messy), PASSPHRASE) == DEV_ADDRESS_0


def test_import_mnemonic_bip39_passphrase_changes_account(wallet: Wallet) -> None:
    Account.enable_unaudited_hdwallet_features()
    expected = Account.from_mnemonic(DEV_MNEMONIC, passphrase="extra").address

    address = wallet.import_mnemonic("dev", DEV_MNEMONIC, PASSPHRASE, bip39_passphrase="extra")

    assert address == expected != DEV_ADDRESS_0


@pytest.mark.parametrize(
    ("mnemonic", "path", "reason"),
    [
        ("test " * 11 + "test", "m/44'/60'/0'/0/0", "not a valid BIP-39 mnemonic"),  # checksum
        ("test " * 10 + "junk", "m/44'/60'/0'/0/0", "not 11"),
        ("notaword " * 11 + "junk", "m/44'/60'/0'/0/0", "not a valid BIP-39 mnemonic"),
        (DEV_MNEMONIC, "m/44'/60'/0'/0/x", "invalid derivation path"),
        (DEV_MNEMONIC, "44'/60'/0'/0/0", "invalid derivation path"),
    ],
    ids=["checksum", "count", "unknown-word", "bad-index", "no-m"],
)
def test_import_mnemonic_invalid_rejected(
    wallet: Wallet, mnemonic: str, path: str, reason: str
) -> None:
    with pytest.raises(WalletError, match=reason) as raised:
        wallet.import_mnemonic("dev", mnemonic, PASSPHRASE, account_path=path)

    assert "test test" not in str(raised.value) and "notaword" not in str(raised.value)
    assert wallet.list() == []


# --- keystore files: export, import, damage ---------------------------------------------------


def test_export_import_round_trip_same_address(
    wallet: Wallet, other_wallet: Wallet, tmp_path: Path
) -> None:
    address = wallet.create("alice", PASSPHRASE)

    exported = wallet.export_keystore("alice", tmp_path / "backup.json")
    imported = other_wallet.import_keystore("alice-copy", exported, PASSPHRASE)

    assert _mode(exported) == 0o600
    assert imported == address
    assert other_wallet.list() == [("alice-copy", address)]
    assert other_wallet.load_account("alice-copy", PASSPHRASE).address == address


def test_export_into_directory_named_after_keystore(wallet: Wallet, tmp_path: Path) -> None:
    wallet.create("alice", PASSPHRASE)
    folder = tmp_path / "usb"
    folder.mkdir()

    exported = wallet.export_keystore("alice", folder)

    assert exported == folder / "alice.json"
    assert exported.read_bytes() == wallet.keystore_path("alice").read_bytes()


def test_export_existing_file_refused_unless_overwrite(wallet: Wallet, tmp_path: Path) -> None:
    wallet.create("alice", PASSPHRASE)
    dest = tmp_path / "backup.json"
    dest.write_text("precious")

    with pytest.raises(WalletError, match="already exists"):
        wallet.export_keystore("alice", dest)
    assert dest.read_text() == "precious"

    wallet.export_keystore("alice", dest, overwrite=True)
    assert json.loads(dest.read_text())["version"] == 3


def test_export_to_missing_folder_rejected(wallet: Wallet, tmp_path: Path) -> None:
    wallet.create("alice", PASSPHRASE)
    with pytest.raises(WalletError, match="does not exist"):
        wallet.export_keystore("alice", tmp_path / "nowhere" / "alice.json")


def test_import_keystore_pbkdf2_accepted(wallet: Wallet, tmp_path: Path) -> None:
    source = tmp_path / "pbkdf2.json"
    source.write_text(
        json.dumps(
            Account.encrypt(bytes.fromhex(KEY_HEX), PASSPHRASE, kdf="pbkdf2", iterations=1000)
        )
    )

    assert wallet.import_keystore("alice", source, PASSPHRASE) == KEY_ADDRESS
    assert wallet.load_account("alice", PASSPHRASE).address == KEY_ADDRESS


def test_import_keystore_without_address_records_it(wallet: Wallet, tmp_path: Path) -> None:
    keystore = Account.encrypt(
        bytes.fromhex(KEY_HEX), PASSPHRASE, kdf="scrypt", iterations=LIGHT_SCRYPT_N
    )
    del keystore["address"]  # as cast writes them
    keystore["Crypto"] = keystore.pop("crypto")  # as old geth writes them
    source = tmp_path / "bare.json"
    source.write_text(json.dumps(keystore))

    assert wallet.import_keystore("alice", source, PASSPHRASE) == KEY_ADDRESS
    assert wallet.address("alice") == KEY_ADDRESS
    assert "crypto" in _keystore_json(wallet, "alice")


def test_import_keystore_wrong_passphrase_rejected(wallet: Wallet, tmp_path: Path) -> None:
    wallet.create("alice", PASSPHRASE)
    exported = wallet.export_keystore("alice", tmp_path)

    with pytest.raises(WalletError) as raised:
        wallet.import_keystore("bob", exported, "not it")

    assert str(raised.value) == f"wrong passphrase for keystore file {exported}"
    assert [entry.name for entry in wallet.list()] == ["alice"]


def test_import_keystore_missing_file_rejected(wallet: Wallet, tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="does not exist"):
        wallet.import_keystore("alice", tmp_path / "nope.json", PASSPHRASE)


def _damage(keystore: dict[str, Any], how: str) -> None:
    crypto = keystore["crypto"]
    if how == "version":
        keystore["version"] = 4
    elif how == "cipher":
        crypto["cipher"] = "aes-128-cbc"
    elif how == "kdf":
        crypto["kdf"] = "argon2"
    elif how == "huge-scrypt":
        crypto["kdfparams"]["n"] = 1 << 30
    elif how == "mac":
        crypto["mac"] = crypto["mac"][:-4]
    elif how == "address":
        keystore["address"] = "not an address"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("version", "not 3"),
        ("cipher", "aes-128-ctr"),
        ("kdf", "not scrypt or pbkdf2"),
        ("huge-scrypt", "more than p2pchain allows"),
        ("mac", "malformed iv, ciphertext or mac"),
        ("address", "malformed address"),
    ],
)
def test_damaged_keystore_rejected(wallet: Wallet, how: str, reason: str) -> None:
    wallet.create("alice", PASSPHRASE)
    path = wallet.keystore_path("alice")
    keystore = json.loads(path.read_text())
    _damage(keystore, how)
    path.write_text(json.dumps(keystore))

    with pytest.raises(WalletError, match=f"^keystore 'alice' .*{reason}"):
        wallet.load_account("alice", PASSPHRASE)


def test_damaged_keystore_message_stays_short(wallet: Wallet) -> None:
    wallet.create("alice", PASSPHRASE)
    path = wallet.keystore_path("alice")
    keystore = json.loads(path.read_text())
    keystore["crypto"]["kdf"] = "x\n" * 1000
    path.write_text(json.dumps(keystore))

    with pytest.raises(WalletError, match="not scrypt or pbkdf2") as raised:
        wallet.load_account("alice", PASSPHRASE)
    assert len(str(raised.value)) < 120 and "\n" not in str(raised.value)


def test_truncated_keystore_rejected(wallet: Wallet) -> None:
    wallet.create("alice", PASSPHRASE)
    path = wallet.keystore_path("alice")
    path.write_text(path.read_text()[:100])

    with pytest.raises(WalletError, match="^keystore 'alice' is not valid JSON$"):
        wallet.load_account("alice", PASSPHRASE)
    assert wallet.list() == []  # skipped, with a warning


def test_altered_address_detected(wallet: Wallet) -> None:
    wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)
    path = wallet.keystore_path("alice")
    keystore = json.loads(path.read_text())
    keystore["address"] = DEV_ADDRESS_0[2:]
    path.write_text(json.dumps(keystore))

    assert wallet.address("alice") == DEV_ADDRESS_0  # what the file claims
    with pytest.raises(WalletError, match="the file was altered") as raised:
        wallet.load_account("alice", PASSPHRASE)
    assert DEV_ADDRESS_0 in str(raised.value) and KEY_ADDRESS in str(raised.value)


def test_keystore_of_invalid_key_rejected(wallet: Wallet) -> None:
    """A well-formed file whose ciphertext decrypts to the zero key (crafted by hand)."""
    salt, iv = bytes(range(16)), 7
    derived = _scrypt_hash(PASSPHRASE, salt=salt, buflen=32, r=8, p=1, n=LIGHT_SCRYPT_N)
    ciphertext = encrypt_aes_ctr(bytes(32), derived[:16], iv)
    keystore = {
        "version": 3,
        "id": "00000000-0000-4000-8000-000000000000",
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.to_bytes(16, "big").hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "scrypt",
            "kdfparams": {"dklen": 32, "n": LIGHT_SCRYPT_N, "r": 8, "p": 1, "salt": salt.hex()},
            "mac": keccak(derived[16:32] + ciphertext).hex(),
        },
    }
    wallet.directory.mkdir(parents=True)
    (wallet.directory / "zero.json").write_text(json.dumps(keystore))

    with pytest.raises(WalletError, match="^keystore 'zero' holds an invalid private key"):
        wallet.load_account("zero", PASSPHRASE)


@pytest.mark.parametrize("iv_bytes", [16, 15, 1])
def test_keystore_with_short_iv_loads(wallet: Wallet, iv_bytes: int) -> None:
    """eth-keyfile writes the IV as an integer, so 1 keystore in 256 has a 15-byte IV."""
    salt, iv = bytes(range(16)), 0x5A << (8 * (iv_bytes - 1))
    key = bytes.fromhex(KEY_HEX.removeprefix("0x"))
    derived = _scrypt_hash(PASSPHRASE, salt=salt, buflen=32, r=8, p=1, n=LIGHT_SCRYPT_N)
    ciphertext = encrypt_aes_ctr(key, derived[:16], iv)
    keystore = {
        "version": 3,
        "address": KEY_ADDRESS[2:].lower(),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.to_bytes(iv_bytes, "big").hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "scrypt",
            "kdfparams": {"dklen": 32, "n": LIGHT_SCRYPT_N, "r": 8, "p": 1, "salt": salt.hex()},
            "mac": keccak(derived[16:32] + ciphertext).hex(),
        },
    }
    wallet.directory.mkdir(parents=True)
    (wallet.directory / "short.json").write_text(json.dumps(keystore))

    assert wallet.address("short") == KEY_ADDRESS
    assert wallet.load_account("short", PASSPHRASE).address == KEY_ADDRESS


# --- listing and deleting ---------------------------------------------------------------------


def test_list_empty_or_missing_dir(wallet: Wallet) -> None:
    assert not wallet.directory.exists()
    assert wallet.list() == []


def test_list_skips_foreign_files(wallet: Wallet, caplog: pytest.LogCaptureFixture) -> None:
    address = wallet.create("alice", PASSPHRASE)
    (wallet.directory / "notes.txt").write_text("hello")
    (wallet.directory / "broken.json").write_text("{")
    (wallet.directory / "a b.json").write_text("{}")
    (wallet.directory / ".alice.json.x1.tmp").write_text("{}")

    assert wallet.list() == [("alice", address)]
    assert "broken.json" in caplog.text


def test_delete_removes_keystore(wallet: Wallet) -> None:
    wallet.create("alice", PASSPHRASE)
    bob = wallet.create("bob", PASSPHRASE)

    wallet.delete("alice")

    assert wallet.list() == [("bob", bob)]
    assert not (wallet.directory / "alice.json").exists()
    wallet.create("alice", PASSPHRASE)  # the name is free again


def test_keystore_unwritable_folder_rejected(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    wallet = Wallet(blocker / "keystores", kdf_iterations=LIGHT_SCRYPT_N)

    with pytest.raises(WalletError, match="cannot create keystore folder"):
        wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)
