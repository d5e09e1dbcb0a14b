"""Secrets never leak: every failure path, checked in messages, reprs, tracebacks with locals, logs.

Each case below is a module-level function that reads its secrets from module globals, so the
only frames that can hold a secret in a local variable are p2pchain's own: exactly what the
check is about. A positive control proves the check would see a leak.
"""

from __future__ import annotations

import json
import logging
import pickle
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from p2pchain import Wallet, WalletError
from p2pchain.wallet._keystore import Secret

from ._helpers import (
    DEV_ADDRESS_0,
    DEV_MNEMONIC,
    KEY_ADDRESS,
    KEY_HEX,
    LIGHT_SCRYPT_N,
    PASSPHRASE,
)

WRONG_PASSPHRASE = "hunter2-but-wrong"
BAD_CHECKSUM_MNEMONIC = (
    "abandon ability able about above absent absorb abstract absurd abuse access accident"
)
OUT_OF_RANGE_KEY = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0367e5d"

#: Text that must never show up; hex is compared against lower-cased output.
SECRET_HEX = [KEY_HEX[:32], KEY_HEX[32:], OUT_OF_RANGE_KEY[32:]]
SECRET_TEXT = [
    repr(bytes.fromhex(KEY_HEX)),
    PASSPHRASE,
    WRONG_PASSPHRASE,
    "abandon ability able",
    "test test test test",
]

Case = Callable[[Wallet, Path], object]


def _exported(wallet: Wallet, tmp_path: Path) -> Path:
    return wallet.export_keystore("alice", tmp_path / "alice-export.json", overwrite=True)


def _alter_address(wallet: Wallet) -> None:
    path = wallet.keystore_path("alice")
    keystore = json.loads(path.read_text())
    keystore["address"] = DEV_ADDRESS_0[2:]
    path.write_text(json.dumps(keystore))


# --- the failure paths (secrets from globals only) --------------------------------------------


def key_bad_name(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key("bad name", "0x" + KEY_HEX, PASSPHRASE)


def key_bytes_bad_name(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key("../x", bytes.fromhex(KEY_HEX), PASSPHRASE)


def key_duplicate_name(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)


def key_swapped_for_name(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key("0x" + KEY_HEX, "bob", PASSPHRASE)


def key_swapped_for_name_no_prefix(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key(KEY_HEX, PASSPHRASE, "bob")


def key_truncated(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key("bob", KEY_HEX[:-1], PASSPHRASE)


def key_out_of_range(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key("bob", OUT_OF_RANGE_KEY, PASSPHRASE)


def key_empty_passphrase(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_private_key("bob", KEY_HEX, "")


def key_unwritable_folder(wallet: Wallet, tmp_path: Path) -> object:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    return Wallet(blocker, kdf_iterations=LIGHT_SCRYPT_N).import_private_key(
        "bob", KEY_HEX, PASSPHRASE
    )


def key_as_name_to_load(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.load_account(KEY_HEX, PASSPHRASE)


def mnemonic_bad_checksum(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_mnemonic("bob", BAD_CHECKSUM_MNEMONIC, PASSPHRASE)


def mnemonic_word_count(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_mnemonic("bob", BAD_CHECKSUM_MNEMONIC + " abandon", PASSPHRASE)


def mnemonic_duplicate_name(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_mnemonic("alice", DEV_MNEMONIC, PASSPHRASE)


def mnemonic_bad_path(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_mnemonic("bob", DEV_MNEMONIC, PASSPHRASE, account_path="m/44'/x")


def mnemonic_bad_name(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_mnemonic("b o b", DEV_MNEMONIC, PASSPHRASE)


def load_wrong_passphrase(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.load_account("alice", WRONG_PASSPHRASE)


def load_altered_address(wallet: Wallet, tmp_path: Path) -> object:
    _alter_address(wallet)
    return wallet.load_account("alice", PASSPHRASE)


def import_keystore_wrong_passphrase(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_keystore("bob", _exported(wallet, tmp_path), WRONG_PASSPHRASE)


def import_keystore_altered_address(wallet: Wallet, tmp_path: Path) -> object:
    _alter_address(wallet)
    return wallet.import_keystore("bob", _exported(wallet, tmp_path), PASSPHRASE)


def import_keystore_duplicate_name(wallet: Wallet, tmp_path: Path) -> object:
    return wallet.import_keystore("alice", _exported(wallet, tmp_path), PASSPHRASE)


CASES: list[Case] = [
    key_bad_name,
    key_bytes_bad_name,
    key_duplicate_name,
    key_swapped_for_name,
    key_swapped_for_name_no_prefix,
    key_truncated,
    key_out_of_range,
    key_empty_passphrase,
    key_unwritable_folder,
    key_as_name_to_load,
    mnemonic_bad_checksum,
    mnemonic_word_count,
    mnemonic_duplicate_name,
    mnemonic_bad_path,
    mnemonic_bad_name,
    load_wrong_passphrase,
    load_altered_address,
    import_keystore_wrong_passphrase,
    import_keystore_altered_address,
    import_keystore_duplicate_name,
]


# --- the check --------------------------------------------------------------------------------


def _failure(case: Case, wallet: Wallet, tmp_path: Path) -> WalletError:
    try:
        case(wallet, tmp_path)
    except WalletError as exc:
        return exc
    raise AssertionError(f"{case.__name__} did not fail")


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SECRET_HEX if s in lowered] + [s for s in SECRET_TEXT if s in text]


def _everything_shown(exc: BaseException) -> dict[str, str]:
    with_locals = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return {
        "str": str(exc),
        "repr": repr(exc),
        "args": repr(exc.args),
        "traceback with locals": "".join(with_locals.format(chain=True)),
        "traceback": "".join(traceback.format_exception(exc)),
    }


@pytest.fixture
def stocked(wallet: Wallet) -> Wallet:
    """A wallet holding the test key as 'alice'."""
    wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)
    return wallet


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_failure_leaks_no_secret(
    case: Case, stocked: Wallet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    exc = _failure(case, stocked, tmp_path)

    assert "\n" not in str(exc)  # one line
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__
    for where, text in _everything_shown(exc).items():
        assert not _leaks(text), f"secret in {where}"
    assert not _leaks(caplog.text)
    assert not _leaks(repr([record.args for record in caplog.records]))


def test_key_as_name_elsewhere_leaks_no_secret(stocked: Wallet, tmp_path: Path) -> None:
    calls: list[Case] = [
        lambda wallet, _: wallet.address("0x" + KEY_HEX),
        lambda wallet, _: wallet.keystore_path(KEY_HEX),
        lambda wallet, path: wallet.export_keystore(KEY_HEX, path),
        lambda wallet, _: wallet.delete(KEY_HEX),
        lambda wallet, _: wallet.create(KEY_HEX, PASSPHRASE),
        lambda wallet, _: wallet.import_mnemonic(KEY_HEX, DEV_MNEMONIC, PASSPHRASE),
        lambda wallet, path: wallet.import_keystore(KEY_HEX, _exported(wallet, path), PASSPHRASE),
    ]
    for call in calls:
        exc = _failure(call, stocked, tmp_path)
        for where, text in _everything_shown(exc).items():
            assert not _leaks(text), f"secret in {where}"


def test_leak_check_detects_plain_key_in_locals(stocked: Wallet, tmp_path: Path) -> None:
    """Positive control: a frame holding the key as a plain str is caught by the check."""

    def leaky(wallet: Wallet, tmp_path: Path) -> object:
        plain = KEY_HEX.upper()
        raise WalletError(f"failed after reading {len(plain)} digits")

    exc = _failure(leaky, stocked, tmp_path)

    assert not _leaks(str(exc))
    assert _leaks(_everything_shown(exc)["traceback with locals"])


def test_successful_operations_log_no_secret(
    wallet: Wallet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    wallet.import_private_key("alice", KEY_HEX, PASSPHRASE)
    wallet.import_mnemonic("dev", DEV_MNEMONIC, PASSPHRASE)
    wallet.import_keystore("copy", wallet.export_keystore("alice", tmp_path), PASSPHRASE)
    wallet.load_account("copy", PASSPHRASE)
    wallet.create("fresh", PASSPHRASE)
    wallet.delete("fresh")

    assert f"keystore 'alice' ({KEY_ADDRESS}): imported a private key" in caplog.text
    assert not _leaks(caplog.text)


def test_loaded_account_repr_redacted(stocked: Wallet) -> None:
    account = stocked.load_account("alice", PASSPHRASE)
    assert not _leaks(repr(account)) and not _leaks(str(account))


def test_secret_wrapper_redacted_and_unpicklable() -> None:
    secret = Secret(bytes.fromhex(KEY_HEX))

    assert repr(secret) == str(secret) == "<redacted>"
    assert not _leaks(repr([secret, {"key": secret}]))
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
