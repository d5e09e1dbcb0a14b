"""Where a passphrase comes from: a file, an environment variable, or a prompt on the terminal."""

from __future__ import annotations

import getpass
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from p2pchain._errors import WalletError
from p2pchain._paths import DATA_DIR_ENV, data_dir  # noqa: F401 - DATA_DIR_ENV re-exported
from p2pchain.wallet._keystore import SecretText, secret_text

#: Environment variable :func:`resolve_passphrase` reads by default.
PASSPHRASE_ENV = "P2PCHAIN_PASSPHRASE"
_PASSPHRASE_FILE_MAX = 65_536


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
        value=secret_text(value).reveal() if value is not None else None,
        file=Path(file) if file is not None else None,
        env_var=env_var,
        interactive=interactive,
        check_file_permissions=check_file_permissions,
        prompt=prompt,
    )
    del value
    return source.resolve(label=label, confirm=confirm)
