"""Decoding a contract's events from receipts and logs, matched by their topic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_utils import event_abi_to_log_topic
from web3.contract import Contract
from web3.types import LogReceipt, TxReceipt


def decode_logs(contract: Contract, logs: Iterable[LogReceipt]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(event name, args)`` for every log of ``contract`` among ``logs``, in log order.

    Logs from other addresses, and logs whose first topic is not one of the contract's events,
    are left out.
    """
    by_topic: dict[bytes, str] = {}
    for item in contract.abi:
        if item["type"] == "event":
            by_topic[event_abi_to_log_topic(item)] = item["name"]
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
