"""The journal: signed transactions whose outcome is not yet known, kept on disk per account.

A transaction is written here, and flushed to disk (``fsync``), *before* it is sent. It leaves
the journal once its outcome is known: mined (a version of it has a receipt), refused by the
node, never sent (no connection could be opened), or its nonce used by another transaction. So
after a crash, a dropped connection, a garbled answer or a node that forgot it, the next command
finds every transaction that may still move money, and reconciles it against the chain instead of
signing a second payment (:meth:`~p2pchain.chain._sender.TransactionSender.reconcile`).

Layout: ``<data dir>/journal/<chain id>-<genesis hash, 16 hex digits>/<address>.jsonl``. The
genesis hash keeps the entries of a dev chain that was restarted from scratch (same chain id, new
genesis) away from the new chain, where their nonces mean nothing. One JSON object per line:

* ``{"v": 1, "op": "sign", "nonce": 7, "hash": "0x..", "raw": "0x..", "from": "0x..",
  "to": "0x..", "value": "1000", "action": "buy", "intent": "0x..", "chain_id": 31337,
  "at": 1767225600.5}``: one signed version (a replacement or a cancellation is another ``sign``
  line with the same nonce).
* ``{"v": 1, "op": "done", "nonce": 7, "outcome": "mined", "hash": "0x..", "block": 123,
  "at": ...}``: every version of that nonce written before this line is settled. ``outcome`` is
  ``mined``, ``refused``, ``unsent``, ``nonce-used`` or ``cancelled``.

The file only grows by appending whole lines under an exclusive lock (``flock``), so a second
process sending from the same account sees the first one's transactions: their nonces are not
handed out again, and an identical call resumes them instead of paying twice. A line cut short by
a crash is ignored (and a newline is written before the next one). When an account has nothing
open left, its file is emptied (once it passed 32 KiB); a file that grew large while entries
stayed open is rewritten with only its open lines (write, ``fsync``, rename).

Signed transactions carry no secret (they are public once sent), but they say what the account is
about to do, so files are created ``0600`` in a ``0700`` folder.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from p2pchain._errors import ChainError
from p2pchain._paths import data_dir

VERSION = 1
#: How a settled nonce ended.
OUTCOMES = ("mined", "refused", "unsent", "nonce-used", "cancelled")
#: Files above this size are rewritten with only their open entries.
_COMPACT_BYTES = 256 * 1024
#: Files above this size are emptied once nothing is open in them (a smaller one is cheaper to
#: keep: emptying costs a metadata write per transaction).
_EMPTY_BYTES = 32 * 1024


@dataclass(frozen=True)
class JournalEntry:
    """One signed version of a transaction, as journaled before it was sent.

    Attributes:
        sender: The signing account.
        nonce: Its nonce.
        hash: The transaction hash (0x hex).
        raw: The signed bytes, sent again as they are if the node lost them.
        to: The recipient (None for a contract creation).
        value: Wei sent along.
        action: What it does (a contract function, ``cancel``...), for messages.
        intent: The key of what it does: an identical call while it is open resumes it.
        chain_id: The chain it is signed for.
        at: Unix time it was signed.
    """

    sender: ChecksumAddress
    nonce: int
    hash: str
    raw: bytes
    to: str | None
    value: int
    action: str | None
    intent: str
    chain_id: int
    at: float

    def to_json(self) -> dict[str, Any]:
        """The ``sign`` line."""
        return {
            "v": VERSION,
            "op": "sign",
            "nonce": self.nonce,
            "hash": self.hash,
            "raw": HexBytes(self.raw).to_0x_hex(),
            "from": self.sender,
            "to": self.to,
            "value": str(self.value),
            "action": self.action,
            "intent": self.intent,
            "chain_id": self.chain_id,
            "at": self.at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        """Parse a ``sign`` line.

        Raises:
            ValueError, KeyError, TypeError: A malformed line.
        """
        sender = str(data["from"])
        if not is_address(sender):
            raise ValueError(f"bad address {sender!r}")
        to = data.get("to")
        nonce = data["nonce"]
        if not isinstance(nonce, int) or isinstance(nonce, bool) or nonce < 0:
            raise ValueError(f"bad nonce {nonce!r}")
        return cls(
            sender=to_checksum_address(sender),
            nonce=nonce,
            hash=HexBytes(data["hash"]).to_0x_hex(),
            raw=bytes(HexBytes(data["raw"])),
            to=None if to is None else to_checksum_address(str(to)),
            value=int(data.get("value") or 0),
            action=None if data.get("action") is None else str(data["action"]),
            intent=str(data.get("intent") or ""),
            chain_id=int(data["chain_id"]),
            at=float(data.get("at") or 0.0),
        )


def decode_signed(raw: bytes) -> dict[str, Any]:
    """The fields of a signed transaction as the sender fills them (``from`` recovered).

    Raises:
        ValueError: Not a signed transaction.
    """
    from eth_account import Account
    from eth_account.typed_transactions import TypedTransaction

    try:
        sender = to_checksum_address(Account.recover_transaction(raw))
        if raw[0] <= 0x7F:
            fields = dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
            for key in ("v", "r", "s", "yParity", "type"):
                fields.pop(key, None)
            if not fields.get("accessList"):
                fields.pop("accessList", None)
        else:
            import rlp

            items = rlp.decode(raw)
            nonce, price, gas, to, value, data, v = (bytes(x) for x in items[:7])
            number = int.from_bytes(v, "big")
            fields = {
                "nonce": int.from_bytes(nonce, "big"),
                "gasPrice": int.from_bytes(price, "big"),
                "gas": int.from_bytes(gas, "big"),
                "to": to,
                "value": int.from_bytes(value, "big"),
                "data": data,
            }
            if number >= 35:
                fields["chainId"] = (number - 35) // 2
    except Exception as exc:  # noqa: BLE001 - any decoding failure means "not a transaction"
        raise ValueError(f"not a signed transaction: {exc}") from None
    recipient = fields.get("to")
    if recipient:
        fields["to"] = to_checksum_address(recipient)
    else:
        fields.pop("to", None)
    fields["data"] = bytes(HexBytes(fields.get("data") or b""))
    fields["from"] = sender
    return fields


def chain_key(chain_id: int, genesis: bytes | str) -> str:
    """The journal folder name of one chain: ``<chain id>-<first 8 bytes of the genesis hash>``."""
    return f"{int(chain_id)}-{HexBytes(genesis).hex()[:16]}"


@dataclass
class _Folded:
    stamp: tuple[int, int, int]
    open: dict[int, list[JournalEntry]]
    lines: int


class Journal:
    """Signed-but-unconfirmed transactions per chain and account, on disk (see the module).

    One ``Journal`` may be shared by many senders and threads; other processes using the same
    folder coordinate through file locks.

    Args:
        folder: Where the journal lives; ``<data dir>/journal`` by default.
    """

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else data_dir() / "journal"
        self._lock = threading.RLock()
        self._cache: dict[Path, _Folded] = {}

    def __repr__(self) -> str:
        return f"Journal({str(self.folder)!r})"

    # ------------------------------------------------------------------ paths

    def path(self, chain: str, address: str) -> Path:
        """The file of one account on one chain (see :func:`chain_key`)."""
        return self.folder / chain / f"{to_checksum_address(address)}.jsonl"

    def accounts(self, chain: str) -> list[ChecksumAddress]:
        """Accounts that have a journal file on ``chain`` (open entries or not)."""
        folder = self.folder / chain
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.glob("*.jsonl")):
            if is_address(path.stem):
                found.append(to_checksum_address(path.stem))
        return found

    # ------------------------------------------------------------------ reading

    def open_entries(self, chain: str, address: str) -> list[JournalEntry]:
        """Every open version of every open nonce of ``address``, by nonce then signing order."""
        path = self.path(chain, address)
        with self._lock:
            folded = self._fold(path)
        return [entry for nonce in sorted(folded.open) for entry in folded.open[nonce]]

    def find(self, chain: str, tx_hash: str) -> JournalEntry | None:
        """The open entry with this hash, in any account's file on ``chain``."""
        wanted = HexBytes(tx_hash).to_0x_hex()
        for address in self.accounts(chain):
            for entry in self.open_entries(chain, address):
                if entry.hash == wanted:
                    return entry
        return None

    def _fold(self, path: Path) -> _Folded:
        """The open entries of one file, re-read only when the file changed."""
        try:
            info = path.stat()
        except FileNotFoundError:
            return _Folded((0, 0, 0), {}, 0)
        except OSError as exc:
            raise ChainError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ChainError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
        folded = _Folded(stamp, _fold_lines(data), data.count(b"\n"))
        self._cache[path] = folded
        return folded

    # ------------------------------------------------------------------ writing

    def record(self, chain: str, entries: Sequence[JournalEntry]) -> None:
        """Append signed versions and flush them to disk, before they are sent.

        Raises:
            ChainError: The journal cannot be written (then nothing must be sent).
        """
        by_sender: dict[str, list[JournalEntry]] = {}
        for entry in entries:
            by_sender.setdefault(entry.sender, []).append(entry)
        for sender, group in by_sender.items():

            def already(_taken: set[int], group: list[JournalEntry] = group) -> list[JournalEntry]:
                return group

            self.sign_into(chain, sender, already)

    def sign_into(
        self,
        chain: str,
        address: str,
        make: Callable[[set[int]], Sequence[JournalEntry]],
    ) -> list[JournalEntry]:
        """Pick nonces and sign while holding the account's lock, then journal durably.

        ``make`` gets the nonces open in the journal (including other processes' transactions)
        and returns the signed entries; nothing else can journal for this account in between, so
        two processes never sign two transactions for one nonce.

        Raises:
            ChainError: The journal cannot be written (then nothing must be sent).
        """
        made: list[JournalEntry] = []

        def lines(folded: _Folded) -> list[dict[str, Any]]:
            made.extend(make(set(folded.open)))
            return [entry.to_json() for entry in made]

        self._append(self.path(chain, address), lines, durable=True)
        return made

    def settle(
        self,
        chain: str,
        address: str,
        nonce: int,
        outcome: str,
        *,
        tx_hash: str | None = None,
        block: int | None = None,
    ) -> None:
        """Close every version of ``nonce`` journaled so far, with how it ended.

        Not flushed to disk at once: if a crash loses this line, the next reconciliation finds
        the same outcome on the chain again.
        """
        assert outcome in OUTCOMES, outcome
        line = {
            "v": VERSION,
            "op": "done",
            "nonce": int(nonce),
            "outcome": outcome,
            "hash": tx_hash,
            "block": block,
            "at": time.time(),
        }
        self._append(self.path(chain, address), lambda _folded: [line], durable=False)

    def _append(
        self,
        path: Path,
        lines: Callable[[_Folded], list[dict[str, Any]]],
        *,
        durable: bool,
    ) -> None:
        with self._lock:
            try:
                created = not path.exists()  # then its folder entry must reach the disk too
                new_folder = not path.parent.is_dir()
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            except OSError as exc:
                raise ChainError(
                    f"cannot write the journal {path}: {exc.strerror or exc}"
                ) from None
            with os.fdopen(fd, "r+b") as handle, _locked(handle):
                try:
                    before = self._fold(path)
                    chosen = lines(before)
                    if not chosen:
                        return
                    text = "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in chosen)
                    info = os.fstat(fd)
                    size = info.st_size
                    if size:
                        handle.seek(size - 1)
                        if handle.read(1) != b"\n":  # a line cut short by a crash
                            text = "\n" + text
                    data = text.encode()
                    handle.write(data)
                    handle.flush()
                    if durable:
                        os.fsync(fd)
                        if created:
                            _fsync_folder(path.parent)
                        if new_folder:
                            _fsync_folder(path.parent.parent)
                    after = os.fstat(fd)
                    if before.stamp[:2] == (info.st_ino, size):
                        # what we folded is the whole file: fold just the new lines
                        folded = _Folded(
                            (after.st_ino, after.st_size, after.st_mtime_ns),
                            _fold_lines(data, {n: list(v) for n, v in before.open.items()}),
                            before.lines + data.count(b"\n"),
                        )
                        self._cache[path] = folded
                    else:
                        self._cache.pop(path, None)
                        folded = self._fold(path)
                    if not folded.open and after.st_size > _EMPTY_BYTES:
                        handle.truncate(0)  # nothing open: start the file afresh
                        handle.flush()
                        self._cache.pop(path, None)
                    elif after.st_size > _COMPACT_BYTES and folded.lines > 4 * sum(
                        len(v) for v in folded.open.values()
                    ):
                        self._rewrite(path, folded)
                except OSError as exc:
                    raise ChainError(
                        f"cannot write the journal {path}: {exc.strerror or exc}"
                    ) from None

    def _rewrite(self, path: Path, folded: _Folded) -> None:
        """Replace the file by its open lines only (called with the file locked)."""
        tmp = path.with_name(path.name + ".tmp")
        lines = [e.to_json() for n in sorted(folded.open) for e in folded.open[n]]
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write("".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines).encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
        self._cache.pop(path, None)


def _fold_lines(
    data: bytes, open_: dict[int, list[JournalEntry]] | None = None
) -> dict[int, list[JournalEntry]]:
    """Apply ``sign`` and ``done`` lines to the open entries (a new dict by default)."""
    if open_ is None:
        open_ = {}
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            if not isinstance(line, dict) or line.get("v") != VERSION:
                continue
            if line.get("op") == "sign":
                entry = JournalEntry.from_json(line)
                versions = open_.setdefault(entry.nonce, [])
                if all(v.hash != entry.hash for v in versions):
                    versions.append(entry)
            elif line.get("op") == "done":
                open_.pop(int(line["nonce"]), None)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash, or written by a newer version
    return open_


if sys.platform == "win32":  # pragma: no cover - no flock; one process per account there

    @contextmanager
    def _locked(handle: IO[bytes]) -> Iterator[None]:
        yield

    def _fsync_folder(folder: Path) -> None:
        return

else:
    import fcntl

    @contextmanager
    def _locked(handle: IO[bytes]) -> Iterator[None]:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _fsync_folder(folder: Path) -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["OUTCOMES", "Journal", "JournalEntry", "chain_key", "decode_signed"]
