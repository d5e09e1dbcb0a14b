"""The wallet: encrypted keystores on disk (their passphrases: :mod:`p2pchain.wallet._passphrase`).

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
import json
import logging
from pathlib import Path
from typing import Any, NamedTuple

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from p2pchain._errors import WalletError
from p2pchain._paths import DATA_DIR_ENV, data_dir  # noqa: F401 - DATA_DIR_ENV re-exported
from p2pchain.wallet._keystore import (
    DEFAULT_ACCOUNT_PATH,
    DEFAULT_SCRYPT_N,
    DERIVATION_PATH_RE,
    KEYSTORE_SUFFIX,
    MNEMONIC_WORD_COUNTS,
    PrivateKeyInput,
    Secret,
    SecretText,
    address_of,
    decrypt,
    derive_from_mnemonic,
    encrypt,
    ensure_private_dir,
    fsync_dir,
    keystore_problem,
    load_json,
    lower_keys,
    name_problem,
    normalize_mnemonic,
    parse_private_key,
    recorded_address,
    secret_text,
    write_private_file,
)

_log = logging.getLogger("p2pchain.wallet")


class KeystoreEntry(NamedTuple):
    """One keystore in a :class:`Wallet`: its name and the address it holds the key of."""

    name: str
    address: ChecksumAddress


# --- where keystores live ---------------------------------------------------------------------


def default_keystore_dir() -> Path:
    """Return the folder :class:`Wallet` uses by default: ``<data dir>/keystores`` (not created)."""
    return data_dir() / "keystores"


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
        secret_passphrase = secret_text(passphrase)
        del passphrase
        if (problem := name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        account: LocalAccount = Account.create()
        key = Secret(bytes(account.key))
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
        key, key_problem = parse_private_key(private_key)
        secret_passphrase = secret_text(passphrase)
        del private_key, passphrase
        if (problem := name_problem(name)) is not None:
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
        words, count = normalize_mnemonic(secret_text(mnemonic))
        secret_passphrase = secret_text(passphrase)
        seed_passphrase = secret_text(bip39_passphrase)
        del mnemonic, passphrase, bip39_passphrase
        if (problem := name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        if not isinstance(account_path, str) or not DERIVATION_PATH_RE.fullmatch(account_path):
            raise WalletError(
                f"invalid derivation path {account_path!r}: expected like {DEFAULT_ACCOUNT_PATH!r}"
            )
        if count not in MNEMONIC_WORD_COUNTS:
            raise WalletError(f"a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words, not {count}")
        key = derive_from_mnemonic(words, account_path, seed_passphrase)
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
        secret_passphrase = secret_text(passphrase)
        del passphrase
        if (problem := name_problem(name)) is not None:
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
            if path.name.startswith(".") or name_problem(name) is not None:
                continue
            keystore, problem = load_json(path)
            address = recorded_address(keystore) if isinstance(keystore, dict) else None
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
        if (problem := name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        path = self._existing_path(name)
        keystore = self._read_keystore(path, f"keystore {name!r}")
        address = recorded_address(keystore)
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
        if (problem := name_problem(name)) is not None:
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
        secret_passphrase = secret_text(passphrase)
        del passphrase
        if (problem := name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        path = self._existing_path(name)
        label = f"keystore {name!r}"
        key = self._unlock(self._read_keystore(path, label), secret_passphrase, label)[0]
        account: LocalAccount = Account.from_key(key.reveal())
        return account

    def agent_account(self, name: str) -> LocalAccount | None:
        """Keystore ``name``'s account from its wallet agent (``p2pchain wallet unlock``), if
        one holds it now; no passphrase, no scrypt.

        Raises:
            WalletError: Invalid or unknown name.
        """
        from p2pchain.wallet._agent import agent_key

        address = self.address(name)
        key = agent_key(name, address)
        if key is None:
            return None
        account: LocalAccount = Account.from_key(key)
        del key
        return account if account.address == address else None

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
        if (problem := name_problem(name)) is not None:
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
        if not write_private_file(target, data, overwrite=overwrite):
            raise WalletError(f"{target} already exists: choose another file or overwrite it")
        _log.info("exported keystore %r to %s", name, target)
        return target

    def delete(self, name: str) -> None:
        """Delete keystore ``name``. Irreversible: without a copy, its funds are lost.

        Raises:
            WalletError: Invalid or unknown name, or the file could not be removed.
        """
        if (problem := name_problem(name)) is not None:
            del name
            raise WalletError(problem)
        path = self._existing_path(name)
        try:
            path.unlink()
        except OSError as exc:
            raise WalletError(f"cannot delete keystore {name!r}: {exc.strerror or exc}") from None
        fsync_dir(self._dir)
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
        self, name: str, key: Secret[bytes], passphrase: Secret[str], *, origin: str
    ) -> ChecksumAddress:
        if not passphrase.reveal():
            raise WalletError("the passphrase must not be empty")
        self._check_free(name)  # fail before spending a second on scrypt
        keystore = encrypt(key, passphrase, self._scrypt_n)
        if keystore is None:
            raise WalletError(f"could not encrypt keystore {name!r}")
        address = recorded_address(keystore)
        if address is None:
            raise WalletError(f"could not encrypt keystore {name!r}: eth-account wrote no address")
        return self._write_new(name, keystore, address, origin=origin)

    def _write_new(
        self, name: str, keystore: dict[str, Any], address: ChecksumAddress, *, origin: str
    ) -> ChecksumAddress:
        self._check_free(name)
        ensure_private_dir(self._dir)
        data = json.dumps(keystore, indent=2).encode() + b"\n"
        if not write_private_file(self._dir / f"{name}{KEYSTORE_SUFFIX}", data, overwrite=False):
            raise WalletError(f"keystore {name!r} already exists: choose another name")
        _log.info("keystore %r (%s): %s", name, address, origin)
        return address

    @staticmethod
    def _read_keystore(path: Path, label: str) -> dict[str, Any]:
        value, problem = load_json(path)
        if problem is None:
            value = lower_keys(value)
            problem = keystore_problem(value)
        if problem is not None:
            raise WalletError(f"{label} {problem}")
        assert isinstance(value, dict)
        return value

    @staticmethod
    def _unlock(
        keystore: dict[str, Any], passphrase: Secret[str], label: str
    ) -> tuple[Secret[bytes], ChecksumAddress]:
        key, wrong_passphrase = decrypt(keystore, passphrase)
        if key is None:
            if wrong_passphrase:
                raise WalletError(f"wrong passphrase for {label}")
            raise WalletError(f"{label} could not be decrypted: the file is damaged")
        address = address_of(key)
        if address is None:
            raise WalletError(f"{label} holds an invalid private key: the file is damaged")
        recorded = recorded_address(keystore)
        if recorded is not None and recorded != address:
            raise WalletError(
                f"{label} says it holds the key of {recorded}, but its key is {address}'s:"
                " the file was altered"
            )
        return key, address
