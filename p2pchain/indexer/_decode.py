"""Log decoding for bulk reads: :class:`p2pchain.chain._events.EventDecoder`'s layouts, read word by word.

Same ABI, same layouts (names, types, topic order) as the base class, and the same results (the
tests compare both on every event the contracts emit). The indexer decodes thousands of logs per
second and ``eth_abi``'s generic decoder spends most of its time on per-call set-up and on
re-normalizing every address through hex strings. Every indexed argument and every data field
of the Marketplace and Reputation events is a static 32-byte word, a flat struct of such words,
or ``bytes``, so each layout is compiled once into a list of word readers:

* ``address``: the low 20 bytes, checksummed through a cache (high 12 bytes must be zero);
* ``uintN``/``bool``: big-endian integer (must fit N bits);
* ``bytesN``: the first N bytes (the rest must be zero);
* a flat struct: its fields' words in order (addresses as lowercase hex, as ``eth_abi`` gives
  them inside tuples);
* ``bytes``: offset, length, content, as the ABI specifies.

Any other type, or a word that breaks these rules, goes through the base class (and so through
``eth_abi``), which raises on malformed data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from eth_utils import to_checksum_address

from p2pchain.chain._events import EventDecoder

_UINT = re.compile(r"^uint(\d*)$")
_BYTES_N = re.compile(r"^bytes([1-9]|[12]\d|3[0-2])$")
Reader = Callable[[bytes, int], tuple[Any, int]]  # (data, word offset) -> (value, next offset)


class _Malformed(Exception):
    """A word does not hold a valid value of its type: let eth_abi decide."""


@lru_cache(maxsize=65_536)
def _checksum(word: bytes) -> str:
    return str(to_checksum_address(word[12:]))


def _word(data: bytes, at: int) -> bytes:
    word = data[at : at + 32]
    if len(word) != 32:
        raise _Malformed
    return word


def _static(abi_type: str, in_struct: bool) -> Callable[[bytes], Any] | None:
    if abi_type == "address":
        if in_struct:
            return lambda w: "0x" + w[12:].hex() if not any(w[:12]) else _bad()
        return lambda w: _checksum(w) if not any(w[:12]) else _bad()
    if abi_type == "bool":
        return lambda w: bool(w[31]) if not any(w[:31]) and w[31] < 2 else _bad()
    match = _UINT.match(abi_type)
    if match:
        bits = int(match.group(1) or 256)
        return lambda w: v if (v := int.from_bytes(w, "big")) >> bits == 0 else _bad()
    match = _BYTES_N.match(abi_type)
    if match:
        size = int(match.group(1))
        return lambda w: w[:size] if not any(w[size:]) else _bad()
    return None


def _bad() -> Any:
    raise _Malformed


def _split(types: str) -> list[str]:
    out, depth, start = [], 0, 0
    for i, ch in enumerate(types):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(types[start:i])
            start = i + 1
    out.append(types[start:])
    return out


def _reader(abi_type: str) -> Reader | None:
    simple = _static(abi_type, in_struct=False)
    if simple is not None:
        return lambda data, at: (simple(_word(data, at)), at + 32)
    if abi_type.startswith("(") and abi_type.endswith(")"):
        fields = [_static(t, in_struct=True) for t in _split(abi_type[1:-1])]
        if any(f is None for f in fields):
            return None
        readers = [f for f in fields if f is not None]

        def struct(data: bytes, at: int) -> tuple[Any, int]:
            values = []
            for read in readers:
                values.append(read(_word(data, at)))
                at += 32
            return tuple(values), at

        return struct
    if abi_type == "bytes":

        def dynamic(data: bytes, at: int) -> tuple[Any, int]:
            offset = int.from_bytes(_word(data, at), "big")
            length = int.from_bytes(_word(data, offset), "big")
            body = data[offset + 32 : offset + 32 + length]
            if len(body) != length:
                raise _Malformed
            return bytes(body), at + 32

        return dynamic
    return None


def _compile(types: Sequence[str]) -> list[Reader] | None:
    readers = [_reader(t) for t in types]
    return None if any(r is None for r in readers) else [r for r in readers if r is not None]


class BulkEventDecoder(EventDecoder):
    """Decodes many logs of one contract (see the module docstring)."""

    def __init__(self, abi: Sequence[Any]) -> None:
        super().__init__(abi)
        self._compiled: dict[bytes, tuple[list[Reader], list[Reader]] | None] = {}
        for topic, layout in self._layouts.items():
            indexed = _compile([t for _, t in layout.indexed])
            data = _compile(layout.data_types)
            self._compiled[topic] = None if indexed is None or data is None else (indexed, data)

    def _args(
        self, topic0: bytes, layout: Any, topics: Sequence[Any], data: bytes
    ) -> dict[str, Any]:
        """Read the words directly; anything odd goes to eth_abi's checked decoding."""
        compiled = self._compiled.get(topic0)
        if compiled is not None:
            try:
                return self._read(layout, compiled, topics, data)
            except _Malformed:
                pass
        return super()._args(topic0, layout, topics, data)

    @staticmethod
    def _read(
        layout: Any,
        compiled: tuple[list[Reader], list[Reader]],
        topics: Sequence[Any],
        data: bytes,
    ) -> dict[str, Any]:
        indexed, fields = compiled
        args: dict[str, Any] = {}
        for (name, _), read, topic in zip(layout.indexed, indexed, topics[1:], strict=True):
            args[name] = read(bytes(topic), 0)[0]
        at = 0
        for name, read in zip(layout.data_names, fields, strict=True):
            args[name], at = read(data, at)
        return args
