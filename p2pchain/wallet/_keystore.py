"""Keystore files and the key material in them, handled so that no secret reaches a traceback.

Web3 Secret Storage v3 (scrypt or PBKDF2) files, as geth, foundry's ``cast wallet`` and
eth-account write them: validated field by field before anything is decrypted, and written
atomically with mode 0600 in a folder with mode 0700. Secrets travel wrapped in
:class:`Secret`, whose ``repr`` is redacted; see :mod:`p2pchain.wallet._wallet` for the rules.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Generic, TypeAlias, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_typing import ChecksumAddress
from eth_utils import is_hex_address, to_checksum_address
from pydantic import SecretBytes, SecretStr

from p2pchain._errors import WalletError
from p2pchain._paths import DATA_DIR_ENV, data_dir  # noqa: F401 - DATA_DIR_ENV re-exported

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
DERIVATION_PATH_RE = re.compile(r"m(/[0-9]+'?)*")
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)
}
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MNEMONIC_WORD_COUNTS = (12, 15, 18, 21, 24)

_log = logging.getLogger("p2pchain.wallet")

#: A private key as callers may pass it: hex text (with or without ``0x``) or 32 raw bytes.
PrivateKeyInput: TypeAlias = str | bytes | SecretStr | SecretBytes
#: A passphrase or mnemonic: text, or a pydantic :class:`~pydantic.SecretStr`.
SecretText: TypeAlias = str | SecretStr

_T = TypeVar("_T", str, bytes)


class Secret(Generic[_T]):
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


def secret_text(value: SecretText) -> Secret[str]:
    if isinstance(value, SecretStr):
        return Secret(value.get_secret_value())
    if isinstance(value, str):
        return Secret(value)
    return Secret("")  # not text: treated as empty, refused by the caller's checks


# --- key material, handled so that nothing it touches can end up in a traceback ---------------


def parse_private_key(key: object) -> tuple[Secret[bytes] | None, str]:
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
    return Secret(raw), ""


def address_of(key: Secret[bytes]) -> ChecksumAddress | None:
    """Return the address of ``key``, or None if it is not a valid secp256k1 key. Never raises."""
    try:
        address = keys.PrivateKey(key.reveal()).public_key.to_checksum_address()
    except Exception:  # noqa: BLE001 - the traceback would hold the key; callers report cleanly
        return None
    return ChecksumAddress(address)


def encrypt(key: Secret[bytes], passphrase: Secret[str], scrypt_n: int) -> dict[str, Any] | None:
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


def decrypt(keystore: dict[str, Any], passphrase: Secret[str]) -> tuple[Secret[bytes] | None, bool]:
    """Decrypt ``keystore``; return ``(key, False)``, or ``(None, wrong_passphrase)``."""
    interrupted = False
    try:
        key = Secret(bytes(Account.decrypt(keystore, passphrase.reveal())))
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as exc:  # eth-keyfile: ValueError("MAC mismatch") for a wrong passphrase
        return None, "mac" in str(exc).lower()
    except Exception:  # noqa: BLE001 - a damaged file; eth-account's frames hold secrets
        return None, False
    if interrupted:
        raise KeyboardInterrupt
    return key, False


def derive_from_mnemonic(
    words: Secret[str], account_path: str, bip39_passphrase: Secret[str]
) -> Secret[bytes] | None:
    """Derive the key at ``account_path``, or return None for an invalid mnemonic. Never raises."""
    Account.enable_unaudited_hdwallet_features()
    try:
        account: LocalAccount = Account.from_mnemonic(
            words.reveal(), passphrase=bip39_passphrase.reveal(), account_path=account_path
        )
        key = Secret(bytes(account.key))
    except Exception:  # noqa: BLE001 - eth-account's message and frames quote the words
        return None
    return key


def normalize_mnemonic(words: Secret[str]) -> tuple[Secret[str], int]:
    """Lower-case the phrase and collapse its whitespace; return it and its word count."""
    parts = words.reveal().lower().split()
    return Secret(" ".join(parts)), len(parts)


# --- names ------------------------------------------------------------------------------------


def name_problem(name: object) -> str | None:
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


def lower_keys(value: Any) -> Any:
    """Lower-case every object key (old geth files say ``Crypto``; readers accept lower case)."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
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


def keystore_problem(keystore: Any) -> str | None:
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


def recorded_address(keystore: dict[str, Any]) -> ChecksumAddress | None:
    address = keystore.get("address")
    if isinstance(address, str) and is_hex_address(address):
        return to_checksum_address(address)
    return None


def load_json(path: Path) -> tuple[Any, str | None]:
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


def fsync_dir(folder: Path) -> None:
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


def write_private_file(path: Path, data: bytes, *, overwrite: bool) -> bool:
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
    fsync_dir(path.parent)
    return created


def ensure_private_dir(folder: Path) -> None:
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
