"""Every contract error decodes to its own class, with its arguments and a readable message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

import p2pchain
from p2pchain import (
    ContractError,
    ContractRevert,
    CustomError,
    Panic,
    RevertReason,
    TermsChanged,
    TradeNotInState,
    TradeState,
    WindowClosed,
    WindowOpen,
    decode_revert,
)
from p2pchain.chain._contract_errors import (
    ERROR_CLASSES,
    ERRORS_BY_SELECTOR,
    UNDOCUMENTED_ERRORS,
    abi_errors,
)
from p2pchain.chain._revert import revert_data

ERRORS = abi_errors()

_SAMPLES: Mapping[str, Any] = {
    "address": "0x00000000000000000000000000000000DeaDBeef",
    "bool": True,
    "bytes32": bytes(range(32)),
    "bytes8": bytes.fromhex("1220").ljust(8, b"\0"),
    "string": "p2pchain",
    "uint8": 3,
    "uint16": 1500,
    "uint32": 86_400,
    "uint40": 1_795_867_200,  # 2026-11-28 12:00 UTC
    "uint256": 1_500_000_000_000_000_000,
}


def _sample_data(fragment: Mapping[str, Any]) -> tuple[bytes, list[Any]]:
    types = [i["type"] for i in fragment["inputs"]]
    values = [_SAMPLES[t] for t in types]
    selector = keccak(text=f"{fragment['name']}({','.join(types)})")[:4]
    return selector + encode(types, values), values


def test_abi_errors_all_have_classes() -> None:
    assert UNDOCUMENTED_ERRORS == []
    names = {str(f["name"]) for f in ERRORS}
    assert names <= set(ERROR_CLASSES)
    assert len(ERRORS_BY_SELECTOR) == len(
        {keccak(text=c.signature)[:4] for c in ERROR_CLASSES.values()}
    )


def test_abi_errors_are_exported_from_the_package() -> None:
    for fragment in ERRORS:
        name = str(fragment["name"])
        assert getattr(p2pchain, name) is ERROR_CLASSES[name]
        assert name in p2pchain.__all__


@pytest.mark.parametrize("fragment", ERRORS, ids=lambda f: str(f["name"]))
def test_abi_error_decodes_to_its_class(fragment: Mapping[str, Any]) -> None:
    data, values = _sample_data(fragment)
    error = decode_revert(data)
    cls = ERROR_CLASSES[str(fragment["name"])]
    assert type(error) is cls
    assert isinstance(error, CustomError) and isinstance(error, ContractError)
    assert error.data == data
    declared = [n for n in cls.__annotations__ if not n.startswith("_")]
    assert declared == list(cls.fields), "the class must declare one attribute per argument"
    for name, value in zip(cls.fields, values, strict=True):
        got = getattr(error, name)
        assert got == value or (isinstance(got, str) and got.lower() == str(value).lower())
    assert cls.describe is not CustomError.describe, f"{cls.__name__} needs its own message"
    message = str(error)
    assert message and "\n" not in message and not message.startswith(cls.__name__)
    # times are shown as dates, not as raw timestamps
    assert not re.search(r"\b\d{10}\b", message), message


def test_terms_changed_message_says_what_to_do() -> None:
    error = decode_revert(TermsChanged.selector + bytes(32), action="buy")
    assert str(error) == "the listing's terms changed since you saw them; reload it and try again"


def test_window_closed_message_names_the_window_and_time() -> None:
    data = WindowClosed.selector + encode(["bytes32", "uint40"], [bytes(32), 1_795_867_200])
    assert str(decode_revert(data, action="dispute")) == (
        "the dispute window closed at 2026-11-28 12:00 UTC"
    )
    assert str(decode_revert(data, action="rule")).startswith("the ruling window closed at")
    assert isinstance(decode_revert(data), WindowClosed)


def test_window_open_message_says_when_to_finalize() -> None:
    data = WindowOpen.selector + encode(["bytes32", "uint40"], [bytes(32), 1_795_867_205])
    assert str(decode_revert(data, action="finalize")) == (
        "the review window is open until 2026-11-28 12:00:05 UTC; the trade can be finalized"
        " from then"
    )


def test_trade_state_argument_decodes_to_enum() -> None:
    data = TradeNotInState.selector + encode(["bytes32", "uint8"], [bytes(32), 3])
    error = decode_revert(data, action="release")
    assert isinstance(error, TradeNotInState) and error.current is TradeState.COMPLETED
    assert "is completed, which does not allow releasing the price" in str(error)


def test_panic_decodes_with_code() -> None:
    error = decode_revert(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]))
    assert type(error) is Panic and error.code == 0x11
    assert "overflow" in str(error)


def test_reason_string_decodes() -> None:
    error = decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["paused"]))
    assert type(error) is RevertReason and error.reason == "paused"


@pytest.mark.parametrize(
    "data", [b"", b"\xde\xad\xbe\xef", b"\x01\x02"], ids=["empty", "unknown", "short"]
)
def test_unknown_revert_is_generic_contract_error_with_raw_data(data: bytes) -> None:
    error = decode_revert(data, action="buy")
    assert type(error) is ContractRevert and isinstance(error, ContractError)
    assert error.data == data and error.action == "buy"


def test_malformed_arguments_fall_back_to_generic_error() -> None:
    error = decode_revert(TradeNotInState.selector + b"\x01")
    assert type(error) is ContractRevert


def test_revert_data_is_found_in_every_node_error_shape() -> None:
    data = TermsChanged.selector + bytes(32)
    hex_data = "0x" + data.hex()
    anvil = ContractCustomError(hex_data, data=hex_data)
    ganache = ContractLogicError("execution reverted", data={"result": hex_data, "reason": None})
    tester = TransactionFailed(f"execution reverted: {data!r}")
    rpc = Web3RPCError(
        "boom",
        rpc_response={
            "jsonrpc": "2.0",
            "id": 1,
            "error": {"code": 3, "message": "execution reverted", "data": hex_data},
        },
    )
    for exc in (anvil, ganache, tester, rpc):
        assert revert_data(exc) == data, exc
    assert revert_data(ValueError("nope")) is None
    assert revert_data(TransactionFailed("execution reverted")) == b""


def test_contract_reverts_surface_typed_on_every_call(market: Any) -> None:
    listing = market.seller.create_listing(market.terms())
    with pytest.raises(p2pchain.SelfPurchase) as info:
        market.seller.buy(listing)
    assert info.value.seller == market.seller.address and info.value.action == "buy"
    trade = market.buyer.buy(listing)
    with pytest.raises(p2pchain.Unauthorized) as unauthorized:
        market.stranger.release(trade)
    assert "only the buyer can release the price" in str(unauthorized.value)
    with pytest.raises(p2pchain.TradeNotFinal):
        market.buyer.rate(trade, 5)
