"""The CLI wallet's keys: encrypted keystores on disk, and where their passphrases come from.

Keys are stored only as Web3 Secret Storage v3 files (the format of geth, foundry's ``cast
wallet`` and eth-account), encrypted with scrypt, one file per account in the keystore folder:
``<data dir>/keystores/<name>.json``. The data dir is ``$P2PCHAIN_DATA_DIR`` if set, else
:func:`p2pchain._paths.user_data_dir`. Files are written atomically with mode 0600 in a folder
with mode 0700; an existing name is never overwritten.

Secrets (private keys, mnemonics, passphrases) never reach a log line, an exception message or
args, a ``repr``, or a local variable of a p2pchain frame that a failure can put in a traceback:
public methods wrap secret arguments in an object whose ``repr`` is redacted and delete the
plain argument before anything can fail, and errors raised inside eth-account (whose frames
hold the key) are swallowed and replaced by a fresh :class:`~p2pchain.WalletError` raised
outside the ``except`` block, so it has no ``__context__``. What this cannot cover:

* the caller's own frames: a caller that holds a key in a plain ``str`` shows it in its own
  tracebacks with locals (pass a :class:`pydantic.SecretStr` to avoid that; front ends must
  never print tracebacks with locals anyway);
* a :exc:`KeyboardInterrupt` that lands while a third-party frame holds the key: encryption
  and decryption (the slow, scrypt-bound steps) re-raise it without those frames; the other
  windows (generating a key, building the returned account) last microseconds;
* memory: Python cannot reliably wipe ``bytes``/``str``, so decrypted keys live in the heap
  until collected (as with every pure-Python wallet).

Example:
    >>> wallet = Wallet()
    >>> address = wallet.create("alice", resolve_passphrase(confirm=True))
    >>> account = wallet.load_account("alice", resolve_passphrase())
"""

from __future__ import annotations

import builtins
import getpass
import json
import logging
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeAlias, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_typing import ChecksumAddress
from eth_utils import is_hex_address, to_checksum_address
from pydantic import SecretBytes, SecretStr

from p2pchain._errors import WalletError
from p2pchain._paths import DATA_DIR_ENV, data_dir  # noqa: F401 - DATA_DIR_ENV re-exported

#: Environment variable :func:`resolve_passphrase` reads by default.
PASSPHRASE_ENV = "P2PCHAIN_PASSPHRASE"
#: scrypt cost ``n`` for new keystores: geth's and eth-account's standard (256 MiB, ~1-3 s).
DEFAULT_SCRYPT_N = 262_144
#: BIP-44 path of the first Ethereum account (MetaMask's, Ledger Live's, foundry's default).
DEFAULT_ACCOUNT_PATH = "m/44'/60'/0'/0/0"
#: Largest scrypt memory (128 * n * r bytes) a keystore may ask for before we refuse to open it.
MAX_SCRYPT_MEMORY = 1 << 30
#: Largest PBKDF2 iteration count a keystore may ask for.
MAX_PBKDF2_ITERATIONS = 10_000_000

KEYSTORE_SUFFIX = ".json"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HEX_RUN_RE = re.compile(r"[0-9a-fA-F]{32,}")
_PATH_RE = re.compile(r"m(/[0-9]+'?)*")
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)
}
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_MNEMONIC_WORD_COUNTS = (12, 15, 18, 21, 24)
_PASSPHRASE_FILE_MAX = 65_536

_log = logging.getLogger("p2pchain.wallet")

#: A private key as callers may pass it: hex text (with or without ``0x``) or 32 raw bytes.
PrivateKeyInput: TypeAlias = str | bytes | SecretStr | SecretBytes
#: A passphrase or mnemonic: text, or a pydantic :class:`~pydantic.SecretStr`.
SecretText: TypeAlias = str | SecretStr

_T = TypeVar("_T", str, bytes)


class _Secret(Generic[_T]):
    """A secret value with a redacted ``repr``/``str`` that refuses to be pickled."""

    __slots__ = ("_value",)
    _value: _T

    def __init__(self, value: _T) -> None:
        self._value = value

    def reveal(self) -> _T:
        """Return the secret itself; pass it straight to the call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("secrets cannot be pickled")


def _secret_text(value: SecretText) -> _Secret[str]:
    if isinstance(value, SecretStr):
        return _Secret(value.get_secret_value())
    if isinstance(value, str):
        return _Secret(value)
    return _Secret("")  # not text: treated as empty, refused by the caller's checks


class KeystoreEntry(NamedTuple):
    """One keystore in a :class:`Wallet`: its name and the address it holds the key of."""

    name: str
    address: ChecksumAddress


# --- where keystores live ---------------------------------------------------------------------


def default_keystore_dir() -> Path:
    """Return the folder :class:`Wallet` uses by default: ``<data dir>/keystores`` (not created)."""
    return data_dir() / "keystores"


# --- key material, handled so that nothing it touches can end up in a traceback ---------------


def _parse_private_key(key: object) -> tuple[_Secret[bytes] | None, str]:
    """Turn a caller's key into a secret, or explain (without the key) why it is not one.

    Never raises, so its locals (which hold the key) never appear in a traceback.
    """
    if isinstance(key, SecretStr | SecretBytes):
        key = key.get_secret_value()
    if isinstance(key, str):
        text = key.strip()
        if text[:2] in ("0x", "0X"):
            text = text[2:]
        if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
            return None, "a private key must be 64 hex digits (32 bytes), with or without 0x"
        raw = bytes.fromhex(text)
    elif isinstance(key, bytes | bytearray):
        if len(key) != 32:
            return None, "a private key must be exactly 32 bytes"
        raw = bytes(key)
    else:
        return None, "a private key must be hex text or 32 bytes"
    if not 0 < int.from_bytes(raw, "big") < _SECP256K1_N:
        return (
            None,
            "the private key is out of range for secp256k1 (zero, or not below the curve order)",
        )
    return _Secret(raw), ""


def _address_of(key: _Secret[bytes]) -> ChecksumAddress | None:
    """Return the address of ``key``, or None if it is not a valid secp256k1 key. Never raises."""
    try:
        address = keys.PrivateKey(key.reveal()).public_key.to_checksum_address()
    except Exception:  # noqa: BLE001 - the traceback would hold the key; callers report cleanly
        return None
    return ChecksumAddress(address)


def _encrypt(key: _Secret[bytes], passphrase: _Secret[str], scrypt_n: int) -> dict[str, Any] | None:
    """Encrypt ``key`` into a v3 keystore dict, or return None if eth-account failed."""
    interrupted = False
    try:
        keystore: dict[str, Any] = Account.encrypt(
            key.reveal(), passphrase.reveal(), kdf="scrypt", iterations=scrypt_n
        )
    except KeyboardInterrupt:
        interrupted = True
    except Exception:  # noqa: BLE001 - eth-account's frames hold the key; report without them
        return None
    if interrupted:
        raise KeyboardInterrupt
    # eth-keyfile writes the IV as an integer, dropping leading zero bytes (1 keystore in 256);
    # geth, cast and the spec use 16 bytes, so write it padded.
    params = keystore["crypto"]["cipherparams"]
    params["iv"] = params["iv"].rjust(32, "0")
    return keystore


def _decrypt(
    keystore: dict[str, Any], passphrase: _Secret[str]
) -> tuple[_Secret[bytes] | None, bool]:
    """Decrypt ``keystore``; return ``(key, False)``, or ``(None, wrong_passphrase)``."""
    interrupted = False
    try:
        key = _Secret(bytes(Account.decrypt(keystore, passphrase.reveal())))
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as exc:  # eth-keyfile: ValueError("MAC mismatch") for a wrong passphrase
        return None, "mac" in str(exc).lower()
    except Exception:  # noqa: BLE001 - a damaged file; eth-account's frames hold secrets
        return None, False
    if interrupted:
        raise KeyboardInterrupt
    return key, False


def _derive_from_mnemonic(
    words: _Secret[str], account_path: str, bip39_passphrase: _Secret[str]
) -> _Secret[bytes] | None:
    """Derive the key at ``account_path``, or return None for an invalid mnemonic. Never raises."""
    Account.enable_unaudited_hdwallet_features()
    try:
        account: LocalAccount = Account.from_mnemonic(
            words.reveal(), passphrase=bip39_passphrase.reveal(), account_path=account_path
        )
        key = _Secret(bytes(account.key))
    except Exception:  # noqa: BLE001 - eth-account's message and frames quote the words
        return None
    return key


def _normalize_mnemonic(words: _Secret[str]) -> tuple[_Secret[str], int]:
    """Lower-case the phrase and collapse its whitespace; return it and its word count."""
    parts = words.reveal().lower().split()
    return _Secret(" ".join(parts)), len(parts)


# --- names ------------------------------------------------------------------------------------


def _name_problem(name: object) -> str | None:
    """Explain why ``name`` is not a valid keystore name, or return None if it is.

    A name that could be a key (a long hex run, e.g. arguments passed in the wrong order) is
    never quoted back.
    """
    if not isinstance(name, str):
        return "a keystore name must be text"
    if _HEX_RUN_RE.search(name) or len(name) > 64:
        return (
            "the keystore name looks like a key or is too long (arguments in the wrong order?):"
            " use 1-64 letters, digits, '-' or '_'"
        )
    if not _NAME_RE.fullmatch(name):
        return (
            f"invalid keystore name {name!r}: use 1-64 letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    if name.lower() in _WINDOWS_DEVICES:
        return f"invalid keystore name {name!r}: reserved on Windows"
    return None


# --- keystore file contents -------------------------------------------------------------------


def _lower_keys(value: Any) -> Any:
    """Lower-case every object key (old geth files say ``Crypto``; readers accept lower case)."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


def _shown(value: object) -> str:
    """``repr`` of a value read from a file, cut short (files can hold anything)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_hex(value: object, size: int | None = None) -> bool:
    if not isinstance(value, str):
        return False
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) % 2 or (size is not None and len(text) != 2 * size):
        return False
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _keystore_problem(keystore: Any) -> str | None:
    """Explain why ``keystore`` is not a v3 keystore we will decrypt, or return None."""
    if not isinstance(keystore, dict):
        return "is not a JSON object"
    if keystore.get("version") != 3:
        return f"has version {_shown(keystore.get('version'))}, not 3 (Web3 Secret Storage v3)"
    crypto = keystore.get("crypto")
    if not isinstance(crypto, dict):
        return "has no 'crypto' section"
    if crypto.get("cipher") != "aes-128-ctr":
        return f"uses cipher {_shown(crypto.get('cipher'))}, not aes-128-ctr"
    cipherparams = crypto.get("cipherparams")
    iv = cipherparams.get("iv") if isinstance(cipherparams, dict) else None
    # An IV shorter than 16 bytes is what eth-keyfile writes when its leading bytes are zero.
    iv_ok = _is_hex(iv) and 0 < len(str(iv).removeprefix("0x").removeprefix("0X")) <= 32
    if not (iv_ok and _is_hex(crypto.get("ciphertext"), 32) and _is_hex(crypto.get("mac"), 32)):
        return "has a malformed iv, ciphertext or mac"
    params = crypto.get("kdfparams")
    if not isinstance(params, dict) or not _is_hex(params.get("salt")) or params.get("dklen") != 32:
        return "has malformed kdfparams (salt, dklen 32)"
    kdf = crypto.get("kdf")
    if kdf == "scrypt":
        n, r, p = params.get("n"), params.get("r"), params.get("p")
        if not (isinstance(n, int) and isinstance(r, int) and isinstance(p, int)):
            return "has invalid scrypt parameters"
        if n < 2 or n & (n - 1) or r < 1 or p < 1:
            return "has invalid scrypt parameters"
        if 128 * n * r > MAX_SCRYPT_MEMORY or p > 16:
            return (
                f"asks for scrypt n={n}, r={r}, p={p}, more than p2pchain allows"
                f" ({MAX_SCRYPT_MEMORY >> 20} MiB, p <= 16)"
            )
    elif kdf == "pbkdf2":
        c = params.get("c")
        if params.get("prf") != "hmac-sha256" or not isinstance(c, int) or c < 1:
            return "has invalid pbkdf2 parameters"
        if c > MAX_PBKDF2_ITERATIONS:
            return f"asks for {c} pbkdf2 iterations, more than p2pchain allows ({MAX_PBKDF2_ITERATIONS})"
    else:
        return f"uses key derivation {_shown(kdf)}, not scrypt or pbkdf2"
    address = keystore.get("address")
    if address is not None and not (isinstance(address, str) and is_hex_address(address)):
        return "records a malformed address"
    return None


def _recorded_address(keystore: dict[str, Any]) -> ChecksumAddress | None:
    address = keystore.get("address")
    if isinstance(address, str) and is_hex_address(address):
        return to_checksum_address(address)
    return None


def _load_json(path: Path) -> tuple[Any, str | None]:
    """Read ``path`` as JSON; return ``(value, None)`` or ``(None, problem)``."""
    try:
        with path.open("rb") as f:
            data = f.read(1 << 20)
    except FileNotFoundError:
        return None, "does not exist"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or type(exc).__name__})"
    try:
        return json.loads(data), None
    except (ValueError, UnicodeDecodeError):
        return None, "is not valid JSON"


# --- files ------------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_private_file(path: Path, data: bytes, *, overwrite: bool) -> bool:
    """Atomically write ``data`` to ``path`` with mode 0600.

    The file appears complete or not at all. Unless ``overwrite``, an existing ``path`` is left
    alone (even one created concurrently) and False is returned.

    Raises:
        WalletError: The file could not be written.
    """
    problem: str | None = None
    created = True
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise WalletError(f"cannot write in {path.parent}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            os.chmod(tmp, 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic and never clobbers
            except FileExistsError:
                created = False
            except OSError:  # no hard links here (FAT, some network shares)
                if path.exists():
                    created = False
                else:
                    os.replace(tmp, path)
    except OSError as exc:
        problem = f"cannot write {path}: {exc.strerror or exc}"
    finally:
        tmp.unlink(missing_ok=True)
    if problem is not None:
        raise WalletError(problem)
    _fsync_dir(path.parent)
    return created


def _ensure_private_dir(folder: Path) -> None:
    """Create ``folder`` (mode 0700), or tighten it to 0700 if group or others can access it."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.name == "posix" and folder.stat().st_mode & 0o077:
            _log.warning("tightening permissions of %s to 0700", folder)
            os.chmod(folder, 0o700)
    except OSError as exc:
        raise WalletError(
            f"cannot create keystore folder {folder}: {exc.strerror or exc}"
        ) from None


# --- the wallet -------------------------------------------------------------------------------


class Wallet:
    """A folder of named, encrypted keystores.

    Args:
        directory: The keystore folder; by default :func:`default_keystore_dir`. Created (mode
            0700) on the first write.
        kdf_iterations: scrypt cost ``n`` for keystores this wallet writes, a power of two.
            **For tests only**: the default :data:`DEFAULT_SCRYPT_N` is the standard; lower
            values make brute-forcing a stolen file cheap. Keystores are always read with the
            parameters recorded in them.

    Raises:
        WalletError: ``kdf_iterations`` is not a power of two of at least 2.
    """

    def __init__(
        self, directory: str | Path | None = None, *, kdf_iterations: int = DEFAULT_SCRYPT_N
    ) -> None:
        if kdf_iterations < 2 or kdf_iterations & (kdf_iterations - 1):
            raise WalletError(f"kdf_iterations must be a power of two >= 2, not {kdf_iterations}")
        self._dir = Path(directory).expanduser().absolute() if directory else default_keystore_dir()
        self._scrypt_n = kdf_iterations

    def __repr__(self) -> str:
        return f"Wallet({str(self._dir)!r})"

    @property
    def directory(self) -> Path:
        """The keystore folder."""
        return self._dir

    @property
    def kdf_iterations(self) -> int:
        """The scrypt cost ``n`` used for new keystores."""
        return self._scrypt_n

    # ----- creating and importing

    def create(self, name: str, passphrase: SecretText) -> ChecksumAddress:
        """Create a new random account and store its key encrypted under ``name``.

        Args:
            name: 1-64 letters, digits, ``-`` or ``_``; unique in the wallet (ignoring case).
            passphrase: Encrypts the key; must not be empty.

        Returns:
            The new account's address.

        Raises:
            WalletError: Invalid or taken name, empty passphrase, or the file could not be written.
        """
        secret_passphrase = _secret_text(passphrase)
        del passphrase
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        account: LocalAccount = Account.create()
        key = _Secret(bytes(account.key))
        del account
        return self._store_new(name, key, secret_passphrase, origin="created")

    def import_private_key(
        self, name: str, private_key: PrivateKeyInput, passphrase: SecretText
    ) -> ChecksumAddress:
        """Store an existing private key encrypted under ``name``.

        Args:
            name: The new keystore's name (see :meth:`create`).
            private_key: 64 hex digits with or without ``0x``, or 32 bytes (a pydantic
                ``SecretStr``/``SecretBytes`` keeps it out of your own tracebacks).
            passphrase: Encrypts the key; must not be empty.

        Returns:
            The account's address.

        Raises:
            WalletError: Invalid or taken name, not a valid secp256k1 key, empty passphrase,
                or the file could not be written. The message never contains the key.
        """
        key, key_problem = _parse_private_key(private_key)
        secret_passphrase = _secret_text(passphrase)
        del private_key, passphrase
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        if key is None:
            raise WalletError(key_problem)
        return self._store_new(name, key, secret_passphrase, origin="imported a private key")

    def import_mnemonic(
        self,
        name: str,
        mnemonic: SecretText,
        passphrase: SecretText,
        *,
        account_path: str = DEFAULT_ACCOUNT_PATH,
        bip39_passphrase: SecretText = "",
    ) -> ChecksumAddress:
        """Derive a key from a BIP-39 mnemonic and store it (the key only) under ``name``.

        Args:
            name: The new keystore's name (see :meth:`create`).
            mnemonic: 12-24 BIP-39 words; case and extra whitespace are ignored.
            passphrase: Encrypts the derived key; must not be empty.
            account_path: BIP-32 derivation path; ``m/44'/60'/0'/0/<i>`` is account ``i``.
            bip39_passphrase: The optional BIP-39 "25th word" (not the keystore passphrase).

        Returns:
            The derived account's address.

        Raises:
            WalletError: Invalid or taken name, an invalid mnemonic or path, empty passphrase,
                or the file could not be written. The message never contains the words.
        """
        words, count = _normalize_mnemonic(_secret_text(mnemonic))
        secret_passphrase = _secret_text(passphrase)
        seed_passphrase = _secret_text(bip39_passphrase)
        del mnemonic, passphrase, bip39_passphrase
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        if not isinstance(account_path, str) or not _PATH_RE.fullmatch(account_path):
            raise WalletError(
                f"invalid derivation path {account_path!r}: expected like {DEFAULT_ACCOUNT_PATH!r}"
            )
        if count not in _MNEMONIC_WORD_COUNTS:
            raise WalletError(f"a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words, not {count}")
        key = _derive_from_mnemonic(words, account_path, seed_passphrase)
        if key is None:
            raise WalletError(
                "not a valid BIP-39 mnemonic: check the spelling and order of the words"
            )
        return self._store_new(
            name, key, secret_passphrase, origin=f"imported from a mnemonic at {account_path}"
        )

    def import_keystore(
        self, name: str, path: str | Path, passphrase: SecretText
    ) -> ChecksumAddress:
        """Copy an existing v3 keystore (geth, ``cast wallet``, MetaMask export...) in as ``name``.

        The file is decrypted once to check the passphrase and the address, then stored as it
        is (same passphrase and KDF parameters), with its address recorded if it had none.

        Args:
            name: The new keystore's name (see :meth:`create`).
            path: The keystore file.
            passphrase: The file's passphrase.

        Returns:
            The account's address.

        Raises:
            WalletError: Invalid or taken name, the file is missing or not a v3 keystore,
                the passphrase is wrong, or the recorded address does not match the key.
        """
        secret_passphrase = _secret_text(passphrase)
        del passphrase
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        self._check_free(name)  # fail before spending a second on scrypt
        source = Path(path).expanduser()
        keystore = self._read_keystore(source, f"keystore file {source}")
        address = self._unlock(keystore, secret_passphrase, f"keystore file {source}")[1]
        stored = dict(keystore)
        stored["address"] = address[2:]
        return self._write_new(name, stored, address, origin=f"imported from {source}")

    # ----- reading

    def list(self) -> builtins.list[KeystoreEntry]:
        """List the keystores, sorted by name.

        Files that are not ``<valid name>.json`` keystores with a recorded address are skipped
        (with a warning in the log).

        Returns:
            ``(name, address)`` pairs.
        """
        if not self._dir.is_dir():
            return []
        entries: builtins.list[KeystoreEntry] = []
        for path in sorted(self._dir.glob(f"*{KEYSTORE_SUFFIX}")):
            name = path.name[: -len(KEYSTORE_SUFFIX)]
            if path.name.startswith(".") or _name_problem(name) is not None:
                continue
            keystore, problem = _load_json(path)
            address = _recorded_address(keystore) if isinstance(keystore, dict) else None
            if address is None:
                _log.warning("skipping %s: %s", path, problem or "not a keystore with an address")
                continue
            entries.append(KeystoreEntry(name, address))
        return entries

    def address(self, name: str) -> ChecksumAddress:
        """Return the address of keystore ``name`` (no passphrase needed).

        Raises:
            WalletError: Invalid or unknown name, or the file is damaged.
        """
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        path = self._existing_path(name)
        keystore = self._read_keystore(path, f"keystore {name!r}")
        address = _recorded_address(keystore)
        if address is None:
            raise WalletError(
                f"keystore {name!r} records no address: import it again with import_keystore"
            )
        return address

    def keystore_path(self, name: str) -> Path:
        """Return the file of keystore ``name``.

        Raises:
            WalletError: Invalid or unknown name.
        """
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        return self._existing_path(name)

    def load_account(self, name: str, passphrase: SecretText) -> LocalAccount:
        """Decrypt keystore ``name`` into an account that signs transactions and messages.

        Takes about as long as scrypt: a second or more with standard parameters.

        Args:
            name: The keystore's name.
            passphrase: Its passphrase.

        Returns:
            The account (its ``repr`` shows no key).

        Raises:
            WalletError: Invalid or unknown name, wrong passphrase, or a damaged or altered file.
        """
        secret_passphrase = _secret_text(passphrase)
        del passphrase
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        path = self._existing_path(name)
        label = f"keystore {name!r}"
        key = self._unlock(self._read_keystore(path, label), secret_passphrase, label)[0]
        account: LocalAccount = Account.from_key(key.reveal())
        return account

    # ----- exporting and deleting

    def export_keystore(self, name: str, dest: str | Path, *, overwrite: bool = False) -> Path:
        """Copy keystore ``name`` (still encrypted) to ``dest``, with mode 0600.

        Args:
            name: The keystore's name.
            dest: A file path, or an existing folder (the file is then ``<dest>/<name>.json``).
            overwrite: Replace an existing ``dest`` file.

        Returns:
            The file written.

        Raises:
            WalletError: Unknown name, ``dest`` exists (without ``overwrite``) or its folder
                does not, or the file could not be written.
        """
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        source = self._existing_path(name)
        target = Path(dest).expanduser()
        if target.is_dir():
            target = target / f"{name}{KEYSTORE_SUFFIX}"
        if not target.parent.is_dir():
            raise WalletError(f"cannot export to {target}: folder {target.parent} does not exist")
        if target.exists() and not overwrite:
            raise WalletError(f"{target} already exists: choose another file or overwrite it")
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise WalletError(f"cannot read keystore {name!r}: {exc.strerror or exc}") from None
        if not _write_private_file(target, data, overwrite=overwrite):
            raise WalletError(f"{target} already exists: choose another file or overwrite it")
        _log.info("exported keystore %r to %s", name, target)
        return target

    def delete(self, name: str) -> None:
        """Delete keystore ``name``. Irreversible: without a copy, its funds are lost.

        Raises:
            WalletError: Invalid or unknown name, or the file could not be removed.
        """
        if (problem := _name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        path = self._existing_path(name)
        try:
            path.unlink()
        except OSError as exc:
            raise WalletError(f"cannot delete keystore {name!r}: {exc.strerror or exc}") from None
        _fsync_dir(self._dir)
        _log.info("deleted keystore %r", name)

    # ----- internals (names are valid here: public methods check them, and drop an invalid
    # one before raising, since it may be a key passed in the wrong place)

    def _existing_path(self, name: str) -> Path:
        path = self._dir / f"{name}{KEYSTORE_SUFFIX}"
        if not path.is_file():
            raise WalletError(f"no keystore named {name!r} in {self._dir}")
        return path

    def _existing_name(self, name: str) -> str | None:
        """Return the stored name equal to ``name`` ignoring case, if any."""
        if not self._dir.is_dir():
            return None
        wanted = f"{name}{KEYSTORE_SUFFIX}".casefold()
        for path in self._dir.iterdir():
            if path.name.casefold() == wanted:
                return path.name[: -len(KEYSTORE_SUFFIX)]
        return None

    def _check_free(self, name: str) -> None:
        existing = self._existing_name(name)
        if existing is not None:
            suffix = f" (as {existing!r})" if existing != name else ""
            raise WalletError(f"keystore {name!r} already exists{suffix}: choose another name")

    def _store_new(
        self, name: str, key: _Secret[bytes], passphrase: _Secret[str], *, origin: str
    ) -> ChecksumAddress:
        if not passphrase.reveal():
            raise WalletError("the passphrase must not be empty")
        self._check_free(name)  # fail before spending a second on scrypt
        keystore = _encrypt(key, passphrase, self._scrypt_n)
        if keystore is None:
            raise WalletError(f"could not encrypt keystore {name!r}")
        address = _recorded_address(keystore)
        if address is None:
            raise WalletError(f"could not encrypt keystore {name!r}: eth-account wrote no address")
        return self._write_new(name, keystore, address, origin=origin)

    def _write_new(
        self, name: str, keystore: dict[str, Any], address: ChecksumAddress, *, origin: str
    ) -> ChecksumAddress:
        self._check_free(name)
        _ensure_private_dir(self._dir)
        data = json.dumps(keystore, indent=2).encode() + b"\n"
        if not _write_private_file(self._dir / f"{name}{KEYSTORE_SUFFIX}", data, overwrite=False):
            raise WalletError(f"keystore {name!r} already exists: choose another name")
        _log.info("keystore %r (%s): %s", name, address, origin)
        return address

    @staticmethod
    def _read_keystore(path: Path, label: str) -> dict[str, Any]:
        value, problem = _load_json(path)
        if problem is None:
            value = _lower_keys(value)
            problem = _keystore_problem(value)
        if problem is not None:
            raise WalletError(f"{label} {problem}")
        assert isinstance(value, dict)
        return value

    @staticmethod
    def _unlock(
        keystore: dict[str, Any], passphrase: _Secret[str], label: str
    ) -> tuple[_Secret[bytes], ChecksumAddress]:
        key, wrong_passphrase = _decrypt(keystore, passphrase)
        if key is None:
            if wrong_passphrase:
                raise WalletError(f"wrong passphrase for {label}")
            raise WalletError(f"{label} could not be decrypted: the file is damaged")
        address = _address_of(key)
        if address is None:
            raise WalletError(f"{label} holds an invalid private key: the file is damaged")
        recorded = _recorded_address(keystore)
        if recorded is not None and recorded != address:
            raise WalletError(
                f"{label} says it holds the key of {recorded}, but its key is {address}'s:"
                " the file was altered"
            )
        return key, address


# --- passphrases ------------------------------------------------------------------------------


def read_passphrase_file(path: str | Path, *, check_permissions: bool = True) -> str:
    """Read a passphrase from the first line of a file.

    Only the first line counts, minus its line ending (``\\n`` or ``\\r\\n``) and a UTF-8 byte
    order mark; other whitespace is part of the passphrase.

    On POSIX, a regular file that group or others may read or write is refused (as ssh refuses
    such private keys): the passphrase is then as good as public on a shared machine. Pipes
    and character devices (``--passphrase-file <(pass show p2pchain)``, ``/dev/stdin``) are
    accepted, since nothing is stored.

    Args:
        path: The file.
        check_permissions: Set False to skip the permission check.

    Returns:
        The passphrase.

    Raises:
        WalletError: The file is missing, unreadable, too open, empty or not UTF-8.
    """
    file = Path(path).expanduser()
    problem: str | None = None
    line = b""
    try:
        with file.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if check_permissions and os.name == "posix" and stat.S_ISREG(mode) and mode & 0o077:
                problem = (
                    f"passphrase file {file} is accessible by group or others"
                    f" (mode {stat.S_IMODE(mode):04o}): run chmod 600 {file}"
                )
            else:
                line = f.readline(_PASSPHRASE_FILE_MAX)
    except FileNotFoundError:
        problem = f"passphrase file {file} does not exist"
    except OSError as exc:
        problem = f"cannot read passphrase file {file}: {exc.strerror or exc}"
    if problem is not None:
        raise WalletError(problem)
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    try:
        passphrase = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        passphrase = None
    del line
    if passphrase is None:
        raise WalletError(f"passphrase file {file} is not UTF-8 text")
    if not passphrase:
        raise WalletError(f"passphrase file {file} is empty (the passphrase is its first line)")
    return passphrase


@dataclass(frozen=True)
class PassphraseSource:
    """Where a passphrase comes from. The first source that is set wins:

    1. ``value``, given explicitly (from code, or a CLI option: beware shell history);
    2. ``file``, read with :func:`read_passphrase_file` (giving both ``value`` and ``file``
       is an error);
    3. the environment variable ``env_var`` (:data:`PASSPHRASE_ENV` by default; ``None``
       disables it; an empty variable counts as unset);
    4. an interactive prompt (``getpass``), if ``interactive`` (default: stdin is a terminal).

    Attributes:
        value: The passphrase itself; hidden from ``repr``.
        file: A passphrase file.
        env_var: An environment variable to read, or None.
        interactive: Allow prompting; None means "if stdin is a terminal".
        check_file_permissions: Refuse a group- or world-accessible ``file`` (POSIX).
        prompt: The prompt function (``getpass.getpass``; tests pass their own).
    """

    value: str | None = field(default=None, repr=False)
    file: Path | None = None
    env_var: str | None = PASSPHRASE_ENV
    interactive: bool | None = None
    check_file_permissions: bool = True
    prompt: Callable[[str], str] = field(default=getpass.getpass, repr=False, compare=False)

    def resolve(self, *, label: str = "the keystore", confirm: bool = False) -> str:
        """Return the passphrase from the first source that is set.

        Args:
            label: What the passphrase is for, shown in the prompt and errors, e.g.
                ``"keystore 'alice'"``.
            confirm: When prompting, ask twice and require the same answer (use when creating).

        Returns:
            The passphrase (the empty string only if given explicitly as ``value``).

        Raises:
            WalletError: No source is set and prompting is not allowed, both ``value`` and
                ``file`` are set, the file is unusable, or the prompted answers are empty or
                differ.
        """
        if self.value is not None and self.file is not None:
            raise WalletError("give either a passphrase or a passphrase file, not both")
        if self.value is not None:
            return self.value
        if self.file is not None:
            return read_passphrase_file(self.file, check_permissions=self.check_file_permissions)
        if self.env_var and os.environ.get(self.env_var):
            return os.environ[self.env_var]
        interactive = self.interactive
        if interactive is None:
            interactive = sys.stdin is not None and sys.stdin.isatty()
        if not interactive:
            where = f"set {self.env_var}, " if self.env_var else ""
            raise WalletError(
                f"no passphrase for {label}: {where}use a passphrase file, or run interactively"
            )
        return self._ask(label, confirm)

    def _ask(self, label: str, confirm: bool) -> str:
        answer = self.prompt(f"Passphrase for {label}: ")
        if not answer:
            raise WalletError(f"no passphrase entered for {label}")
        if confirm:
            matches = self.prompt("Repeat the passphrase: ") == answer
            if not matches:
                del answer
                raise WalletError("the passphrases do not match")
        return answer


def resolve_passphrase(
    value: SecretText | None = None,
    *,
    file: str | Path | None = None,
    env_var: str | None = PASSPHRASE_ENV,
    interactive: bool | None = None,
    confirm: bool = False,
    label: str = "the keystore",
    check_file_permissions: bool = True,
    prompt: Callable[[str], str] = getpass.getpass,
) -> str:
    """Return a passphrase from the first source set; see :class:`PassphraseSource`.

    Args:
        value: An explicit passphrase.
        file: A passphrase file (first line).
        env_var: Environment variable to read (None: don't).
        interactive: Allow a prompt; None means "if stdin is a terminal".
        confirm: Prompt twice (use when creating a keystore).
        label: What the passphrase is for, for the prompt and errors.
        check_file_permissions: Refuse a group- or world-accessible file (POSIX).
        prompt: The prompt function (default ``getpass.getpass``).

    Returns:
        The passphrase.

    Raises:
        WalletError: As :meth:`PassphraseSource.resolve`.
    """
    source = PassphraseSource(
        value=_secret_text(value).reveal() if value is not None else None,
        file=Path(file) if file is not None else None,
        env_var=env_var,
        interactive=interactive,
        check_file_permissions=check_file_permissions,
        prompt=prompt,
    )
    del value
    return source.resolve(label=label, confirm=confirm)
