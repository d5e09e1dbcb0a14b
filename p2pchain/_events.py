"""Decoding a contract's events from receipts and logs, matched by their topic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic
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


def decode_events(contract: Contract, logs: Iterable[LogReceipt]) -> list[DecodedEvent]:
    """Every log of ``contract`` among ``logs``, decoded, in the order given.

    Logs from other addresses, and logs whose first topic is not one of the contract's events,
    are left out.
    """
    by_topic = event_topics(contract)
    out: list[DecodedEvent] = []
    for log in logs:
        if log["address"] != contract.address or not log["topics"]:
            continue
        name = by_topic.get(bytes(log["topics"][0]))
        if name is None:
            continue
        decoded = contract.events[name]().process_log(log)
        out.append(
            DecodedEvent(
                name=name,
                args=decoded["args"],
                address=str(log["address"]),
                block_number=int(log["blockNumber"]),
                log_index=int(log["logIndex"]),
                tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            )
        )
    return out


def decode_logs(
    contract: Contract, logs: Iterable[LogReceipt]
) -> list[tuple[str, Mapping[str, Any]]]:
    """``(event name, args)`` for every log of ``contract`` among ``logs``, in log order.

    Logs from other addresses, and logs whose first topic is not one of the contract's events,
    are left out.
    """
    return [(e.name, e.args) for e in decode_events(contract, logs)]


def receipt_events(contract: Contract, receipt: TxReceipt) -> list[tuple[str, Mapping[str, Any]]]:
    """:func:`decode_logs` over one transaction receipt."""
    return decode_logs(contract, receipt["logs"])
