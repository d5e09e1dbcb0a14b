"""ERC-20 symbols and decimals, read once per token and kept.

Front ends show amounts in human units with the token's symbol. A token's ``symbol()`` and
``decimals()`` are whatever its contract answers, so they are read defensively:

* ``symbol()`` may return a string or, in old tokens (MKR, SAI), a ``bytes32``; it is cut to
  printable characters and :data:`MAX_SYMBOL` of them.
* A token that calls itself ``ETH`` is not ETH: its symbol is shown with its address, so it
  cannot pass for the native coin.
* A token that does not answer (not a contract, reverts, garbage) is shown by its short address
  with 0 decimals, i.e. in base units, and ``known`` is false.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_abi import decode
from eth_utils import to_checksum_address

from p2pchain.market import _validation as check
from p2pchain.market._reads import ETH

if TYPE_CHECKING:
    from p2pchain.market._reads import MarketReader

#: Longest symbol shown.
MAX_SYMBOL = 12
#: Largest ``decimals()`` taken at its word (uint8 allows 255; no real token goes past 36).
MAX_DECIMALS = 36
#: Tokens kept.
CACHE_SIZE = 1024

_SYMBOL = bytes.fromhex("95d89b41")  # symbol()
_DECIMALS = bytes.fromhex("313ce567")  # decimals()


@dataclass(frozen=True)
class TokenInfo:
    """How to show amounts of a token.

    Attributes:
        address: The token (the zero address for ETH).
        symbol: What to write after an amount (``ETH``, ``USDC``...).
        decimals: Base units per whole unit, as a power of ten.
        known: Whether the token answered ``symbol()`` and ``decimals()``.
    """

    address: str
    symbol: str
    decimals: int
    known: bool = True

    @property
    def is_eth(self) -> bool:
        """Whether this is the native coin."""
        return self.address == ETH


ETH_INFO = TokenInfo(address=ETH, symbol="ETH", decimals=18)


def short_address(address: str) -> str:
    """``0x1234…abcd``."""
    return f"{address[:6]}…{address[-4:]}"


def clean_symbol(raw: str, address: str) -> str:
    """A symbol safe to show: printable, at most :data:`MAX_SYMBOL` characters, never bare ETH."""
    text = "".join(ch for ch in raw if ch.isprintable() and not ch.isspace())[:MAX_SYMBOL]
    if not text:
        return short_address(address)
    if text.upper() in ("ETH", "ETHER"):
        return f"{text} ({short_address(address)})"
    return text


def _decode_symbol(raw: bytes) -> str:
    if len(raw) == 32:  # bytes32 symbol (MKR, SAI)
        return raw.rstrip(b"\0").decode("utf-8", "replace")
    (text,) = decode(["string"], raw)
    return str(text)


class TokenCatalog:
    """Symbols and decimals of tokens, read through ``reader`` once each (thread-safe).

    Args:
        reader: A client or reader on the chain the tokens live on.
        size: Tokens kept (least recently used dropped first).
    """

    def __init__(self, reader: MarketReader, size: int = CACHE_SIZE) -> None:
        self._reader = reader
        self._size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, TokenInfo] = OrderedDict()

    def info(self, token: str) -> TokenInfo:
        """The token's symbol and decimals (ETH for the zero address or ``"ETH"``).

        Raises:
            InputError: ``token`` is not an address.
        """
        if token == "ETH":
            return ETH_INFO
        address = to_checksum_address(check.address(token, "token"))
        if address == ETH:
            return ETH_INFO
        with self._lock:
            cached = self._cache.get(address)
            if cached is not None:
                self._cache.move_to_end(address)
                return cached
        info = self._read(address)
        if info.known:  # a token that failed may answer later (a node hiccup): not kept
            with self._lock:
                self._cache[address] = info
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return info

    def _read(self, address: str) -> TokenInfo:
        sender = self._reader.sender
        try:
            symbol = clean_symbol(
                _decode_symbol(sender.call({"to": address, "data": _SYMBOL})), address
            )
            (decimals,) = decode(["uint8"], sender.call({"to": address, "data": _DECIMALS}))
        except Exception:  # noqa: BLE001 - any failure means "unknown token", shown by address
            return TokenInfo(
                address=address, symbol=short_address(address), decimals=0, known=False
            )
        if int(decimals) > MAX_DECIMALS:
            return TokenInfo(address=address, symbol=symbol, decimals=0, known=False)
        return TokenInfo(address=address, symbol=symbol, decimals=int(decimals))


__all__ = ["ETH_INFO", "TokenCatalog", "TokenInfo", "clean_symbol"]
