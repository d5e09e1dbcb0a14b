"""Passphrase sources: explicit value, passphrase file, environment variable, prompt."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from p2pchain import PassphraseSource, WalletError, read_passphrase_file, resolve_passphrase
from p2pchain.wallet._passphrase import PASSPHRASE_ENV

from ._helpers import PASSPHRASE


def _private_file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    os.chmod(path, 0o600)
    return path


def _answers(*replies: str) -> tuple[Callable[[str], str], list[str]]:
    """A prompt function that answers ``replies`` in turn and records the prompts it saw."""
    seen: list[str] = []
    it: Iterator[str] = iter(replies)

    def prompt(text: str) -> str:
        seen.append(text)
        return next(it)

    return prompt, seen


def _refuse(text: str) -> str:
    raise AssertionError(f"prompted unexpectedly: {text}")


# --- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        PASSPHRASE.encode(),
        PASSPHRASE.encode() + b"\n",
        PASSPHRASE.encode() + b"\r\n",
        PASSPHRASE.encode() + b"\nsecond line\n",
        b"\xef\xbb\xbf" + PASSPHRASE.encode() + b"\n",
    ],
    ids=["bare", "newline", "crlf", "two-lines", "bom"],
)
def test_passphrase_file_first_line_read(tmp_path: Path, content: bytes) -> None:
    path = _private_file(tmp_path / "pw", content)
    assert read_passphrase_file(path) == PASSPHRASE


def test_passphrase_file_keeps_inner_and_edge_spaces(tmp_path: Path) -> None:
    path = _private_file(tmp_path / "pw", b" spaced out \n")
    assert read_passphrase_file(path) == " spaced out "


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o660])
def test_passphrase_file_accessible_to_others_refused(tmp_path: Path, mode: int) -> None:
    path = _private_file(tmp_path / "pw", b"secret\n")
    os.chmod(path, mode)

    with pytest.raises(
        WalletError, match=f"accessible by group or others \\(mode {mode:04o}\\)"
    ) as raised:
        read_passphrase_file(path)

    assert "secret" not in str(raised.value)
    assert read_passphrase_file(path, check_permissions=False) == "secret"


def test_passphrase_file_pipe_accepted() -> None:
    fd_path = Path("/dev/fd")  # process substitution (`<(pass show ...)`) hands us such a path
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"from a pipe\n")
        os.close(write_end)
        assert read_passphrase_file(fd_path / str(read_end)) == "from a pipe"
    finally:
        os.close(read_end)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b"\n", "is empty"),
        (b"\r\nsecond\n", "is empty"),
        (b"\xff\xfe\n", "not UTF-8"),
    ],
)
def test_passphrase_file_unusable_rejected(tmp_path: Path, content: bytes, reason: str) -> None:
    path = _private_file(tmp_path / "pw", content)
    with pytest.raises(WalletError, match=reason):
        read_passphrase_file(path)


def test_passphrase_file_missing_rejected(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="does not exist"):
        read_passphrase_file(tmp_path / "nope")


# --- precedence -------------------------------------------------------------------------------


def test_resolve_passphrase_explicit_value_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "from env")
    assert resolve_passphrase(PASSPHRASE, prompt=_refuse) == PASSPHRASE
    assert resolve_passphrase(SecretStr(PASSPHRASE), prompt=_refuse) == PASSPHRASE
    assert resolve_passphrase("", prompt=_refuse) == ""  # only an explicit value may be empty


def test_resolve_passphrase_file_beats_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "from env")
    path = _private_file(tmp_path / "pw", b"from file\n")
    assert resolve_passphrase(file=path, prompt=_refuse) == "from file"


def test_resolve_passphrase_value_and_file_conflict(tmp_path: Path) -> None:
    path = _private_file(tmp_path / "pw", b"from file\n")
    with pytest.raises(WalletError, match="not both"):
        resolve_passphrase(PASSPHRASE, file=path)


def test_resolve_passphrase_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("P2PCHAIN_PASSPHRASE", "from env")
    assert resolve_passphrase(interactive=True, prompt=_refuse) == "from env"


def test_resolve_passphrase_env_name_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "default env")
    monkeypatch.setenv("ALICE_PASSPHRASE", "alice env")
    assert resolve_passphrase(env_var="ALICE_PASSPHRASE", prompt=_refuse) == "alice env"


def test_resolve_passphrase_empty_env_falls_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "")
    prompt, _ = _answers("typed")
    assert resolve_passphrase(interactive=True, prompt=prompt) == "typed"


def test_resolve_passphrase_env_disabled_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "from env")
    with pytest.raises(WalletError, match="^no passphrase for the keystore: use a passphrase file"):
        resolve_passphrase(env_var=None, interactive=False)


def test_resolve_passphrase_no_source_noninteractive_rejected() -> None:
    with pytest.raises(WalletError) as raised:
        resolve_passphrase(label="keystore 'alice'", interactive=False, prompt=_refuse)

    assert str(raised.value) == (
        "no passphrase for keystore 'alice': set P2PCHAIN_PASSPHRASE, use a passphrase file,"
        " or run interactively"
    )


def test_resolve_passphrase_not_a_tty_means_no_prompt() -> None:
    # pytest replaces stdin with something that is not a terminal
    with pytest.raises(WalletError, match="no passphrase"):
        resolve_passphrase(prompt=_refuse)


# --- prompting --------------------------------------------------------------------------------


def test_resolve_passphrase_prompt_used_when_interactive() -> None:
    prompt, seen = _answers("typed")

    assert resolve_passphrase(label="keystore 'alice'", interactive=True, prompt=prompt) == "typed"
    assert seen == ["Passphrase for keystore 'alice': "]


def test_resolve_passphrase_confirm_asks_twice() -> None:
    prompt, seen = _answers("typed", "typed")

    assert resolve_passphrase(interactive=True, confirm=True, prompt=prompt) == "typed"
    assert seen == ["Passphrase for the keystore: ", "Repeat the passphrase: "]


def test_resolve_passphrase_confirm_mismatch_rejected() -> None:
    prompt, _ = _answers("typed", "tpyed")

    with pytest.raises(WalletError) as raised:
        resolve_passphrase(interactive=True, confirm=True, prompt=prompt)

    assert str(raised.value) == "the passphrases do not match"


def test_resolve_passphrase_empty_prompt_rejected() -> None:
    prompt, _ = _answers("")
    with pytest.raises(WalletError, match="no passphrase entered"):
        resolve_passphrase(interactive=True, prompt=prompt)


def test_passphrase_source_repr_hides_value() -> None:
    source = PassphraseSource(value=PASSPHRASE)

    assert PASSPHRASE not in repr(source)
    assert source.resolve() == PASSPHRASE
