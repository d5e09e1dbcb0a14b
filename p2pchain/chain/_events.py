"""Decoding a contract's events from receipts and logs, matched by their topic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3.contract import Contract
from web3.types import LogReceipt, TxReceipt


@dataclass(frozen=True)
class DecodedEvent:
    """One decoded log and where it sits on the chain.

    Attributes:
        name: The event name (``Purchased``...).
        args: The decoded arguments by ABI name.
        address: The emitting contract.
        block_number: Block of the log.
        log_index: Position of the log in its block.
        tx_hash: Transaction that emitted it (0x hex).
    """

    name: str
    args: Mapping[str, Any]
    address: str
    block_number: int
    log_index: int
    tx_hash: str

    @property
    def position(self) -> tuple[int, int]:
        """``(block_number, log_index)``: orders events on the chain."""
        return self.block_number, self.log_index


def event_topics(contract: Contract) -> dict[bytes, str]:
    """``topic0 -> event name`` for every event in the contract's ABI."""
    return {
        event_abi_to_log_topic(item): item["name"]
        for item in contract.abi
        if item["type"] == "event"
    }


@lru_cache(maxsize=4096)
def _checksum(value: str) -> str:
    return to_checksum_address(value)


def _convert(value: Any, abi_type: str) -> Any:
    if abi_type == "address":
        return _checksum(value)
    if isinstance(value, tuple):
        return value
    return value


@dataclass(frozen=True)
class _EventLayout:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) of the indexed inputs, in topic order
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


class EventDecoder:
    """Decodes one contract's logs by topic, straight from its ABI (no web3 per log).

    Arguments come out as web3 decodes them (checksummed addresses, ``bytes`` for fixed bytes,
    ints), except that struct arguments are plain tuples in field order.

    Args:
        abi: The contract's ABI.
    """

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        self._layouts: dict[bytes, _EventLayout] = {}
        for item in abi:
            if item.get("type") != "event" or item.get("anonymous"):
                continue
            inputs = list(item.get("inputs", []))
            self._layouts[event_abi_to_log_topic(cast(Any, item))] = _EventLayout(
                name=str(item["name"]),
                indexed=tuple(
                    (str(i["name"]), collapse_if_tuple(dict(i))) for i in inputs if i.get("indexed")
                ),
                data_names=tuple(str(i["name"]) for i in inputs if not i.get("indexed")),
                data_types=tuple(
                    collapse_if_tuple(dict(i)) for i in inputs if not i.get("indexed")
                ),
            )

    def decode(self, logs: Iterable[LogReceipt], address: str) -> list[DecodedEvent]:
        """Every log emitted by ``address`` whose topic is one of the ABI's events, in order."""
        out: list[DecodedEvent] = []
        for log in logs:
            topics = log["topics"]
            if log["address"] != address or not topics:
                continue
            topic0 = bytes(topics[0])
            layout = self._layouts.get(topic0)
            if layout is None or len(topics) != len(layout.indexed) + 1:
                continue
            out.append(
                DecodedEvent(
                    name=layout.name,
                    args=self._args(topic0, layout, topics, bytes(log["data"])),
                    address=address,
                    block_number=int(log["blockNumber"]),
                    log_index=int(log["logIndex"]),
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
        return out

    def _args(
        self, topic0: bytes, layout: _EventLayout, topics: Sequence[Any], data: bytes
    ) -> dict[str, Any]:
        """The arguments of one log, by name (``topic0`` lets subclasses pick a faster path)."""
        args: dict[str, Any] = {}
        for (name, abi_type), topic in zip(layout.indexed, topics[1:], strict=True):
            (value,) = abi_decode([abi_type], bytes(topic))
            args[name] = _convert(value, abi_type)
        values = abi_decode(list(layout.data_types), data)
        for name, abi_type, value in zip(layout.data_names, layout.data_types, values, strict=True):
            args[name] = _convert(value, abi_type)
        return args


def decode_events(contract: Contract, logs: Iterable[LogReceipt]) -> list[DecodedEvent]:
    """Every log of ``contract`` among ``logs``, decoded, in the order given.

    Logs from other addresses, and logs whose first topic is not one of the contract's events,
    are left out.
    """
    return EventDecoder(contract.abi).decode(logs, contract.address)


def decode_logs(
    contract: Contract, logs: Iterable[LogReceipt]
) -> list[tuple[str, Mapping[str, Any]]]:
    """``(event name, args)`` for every log of ``contract`` among ``logs``, in log order.

    Decoded by web3 (struct arguments are ``AttributeDict``s). Logs from other addresses, and
    logs whose first topic is not one of the contract's events, are left out.
    """
    by_topic = event_topics(contract)
    out: list[tuple[str, Mapping[str, Any]]] = []
    for log in logs:
        if log["address"] != contract.address or not log["topics"]:
            continue
        name = by_topic.get(bytes(log["topics"][0]))
        if name is not None:
            decoded = contract.events[name]().process_log(log)
            out.append((name, decoded["args"]))
    return out


def receipt_events(contract: Contract, receipt: TxReceipt) -> list[tuple[str, Mapping[str, Any]]]:
    """:func:`decode_logs` over one transaction receipt."""
    return decode_logs(contract, receipt["logs"])
