"""The shipped ABIs are enough for a dApp: every error a call can surface decodes from the ABI of
the contract called, read straight from ``p2pchain/artifacts``; and the contracts fit EIP-170.

The whole suite checks the first point as it goes (``market.Market`` decodes each revert of a
call to the Marketplace or the Reputation contract from that contract's shipped ABI alone). Here:
every revert of ``rate()``, including those it passes on from the Marketplace, and the ERC-20
reverts a purchase passes on; every error selector the runtime code contains; and code sizes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode
from eth_utils import keccak
from web3.exceptions import ContractCustomError

from p2pchain.chain._model import TradeState
from p2pchain.compiler._artifacts import load_artifact

from ._helpers import (
    Market,
    deploy_token,
    finish,
    market_fixture,  # noqa: F401 - the decoding `market` fixture
    mint_and_approve,
    open_trade_ref,
)
from .market import ONE, TradeRef

ARTIFACTS = Path(__file__).resolve().parents[2] / "p2pchain" / "artifacts"
SHIPPED = ("Marketplace", "Reputation", "Bookings")
#: EIP-170 runtime code limit and EIP-3860 initcode limit.
MAX_CODE_SIZE, MAX_INITCODE_SIZE = 24_576, 49_152


def _abi(name: str) -> list[dict[str, Any]]:
    """A shipped ABI as a dApp gets it: the JSON file, nothing else."""
    return list(json.loads((ARTIFACTS / f"{name}.json").read_text())["abi"])


def _errors(abi: list[dict[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    out: dict[bytes, tuple[str, list[str]]] = {}
    for item in abi:
        if item["type"] == "error":
            types = [i["type"] for i in item["inputs"]]
            out[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    return out


def _revert_of(market: Market, fn: Any, sender: str) -> bytes:
    """The raw revert data of ``fn`` called by ``sender`` on the pending block."""
    from eth_tester.exceptions import TransactionFailed

    from .market import _raw_revert_data

    try:
        fn.call({"from": sender}, block_identifier="pending")
    except ContractCustomError as exc:
        return bytes.fromhex(str(exc.data)[2:])
    except TransactionFailed as exc:
        data = _raw_revert_data(exc)
        assert data, "the call reverted without data"
        return data
    raise AssertionError("the call did not revert")


def _decode_alone(contract: str, data: bytes) -> tuple[str, tuple[Any, ...]]:
    errors = _errors(_abi(contract))
    assert data[:4] in errors, f"{data[:4].hex()} is not in {contract}.json's ABI"
    name, types = errors[data[:4]]
    return name, tuple(decode(types, data[4:]))


def _rate(market: Market, ref: TradeRef, score: int = 5, cid: bytes = b"") -> Any:
    return market.reputation.functions.rate(ref.id, ref.trade.as_tuple(), score, cid)


def test_every_revert_of_rate_decodes_from_reputation_abi_alone(market: Market) -> None:
    paid = open_trade_ref(market)
    done = finish(market, open_trade_ref(market), TradeState.COMPLETED)
    market.rate(market.buyer, done, 5)
    stale = TradeRef(id=done.id, trade=paid.trade, listing=done.listing)
    cases = [
        (_rate(market, done, 0), market.seller, ("InvalidScore", (0,))),
        (_rate(market, done, 5, b"\x01" * 65), market.seller, ("InvalidReviewCid", (65,))),
        # passed on from Marketplace.consumeRating
        (_rate(market, stale), market.seller, ("UnknownTrade", (done.id,))),
        (_rate(market, paid), market.buyer, ("TradeNotFinal", (paid.id, TradeState.PAID))),
        (
            _rate(market, done),
            market.stranger,
            ("Unauthorized", (done.id, market.stranger.address)),
        ),
        (_rate(market, done), market.buyer, ("AlreadyRated", (done.id, market.buyer.address))),
    ]
    for fn, sender, (name, args) in cases:
        got_name, got_args = _decode_alone("Reputation", _revert_of(market, fn, sender.address))
        assert got_name == name
        assert tuple(a.lower() if isinstance(a, str) else a for a in got_args) == tuple(
            a.lower() if isinstance(a, str) else int(a) if isinstance(a, TradeState) else a
            for a in args
        )


def test_token_reverts_a_purchase_passes_on_decode_from_marketplace_abi_alone(
    market: Market,
) -> None:
    token = deploy_token(market)
    listing = market.list(market.terms(token=token.address, price=1_000))
    buy = market.market.functions.buy(listing.id, listing.terms.as_tuple(), 1)
    mint_and_approve(market, token, market.buyer, 999, allowance=1_000)
    name, args = _decode_alone("Marketplace", _revert_of(market, buy, market.buyer.address))
    assert (name, args[1:]) == ("ERC20InsufficientBalance", (999, 1_000))
    market.send(market.deployer, token.functions.mint(market.buyer.address, 1))
    market.send(market.buyer, token.functions.approve(market.address, 10))
    name, args = _decode_alone("Marketplace", _revert_of(market, buy, market.buyer.address))
    assert (name, args[1:]) == ("ERC20InsufficientAllowance", (10, 1_000))
    market.send(market.buyer, token.functions.approve(market.address, ONE))
    market.buy(listing)


def _pushed_selectors(code: bytes) -> set[bytes]:
    """Every 4-byte constant the code pushes: as ``PUSH4``, or left-aligned in a ``PUSH32`` (how
    solc's IR pipeline writes an error selector to memory). Other pushes' data is skipped."""
    found: set[bytes] = set()
    i = 0
    while i < len(code):
        op = code[i]
        if 0x60 <= op <= 0x7F:
            size = op - 0x5F
            data = code[i + 1 : i + 1 + size]
            if size == 4:
                found.add(data)
            elif size == 32 and not any(data[4:]):
                found.add(data[:4])
            i += size
        i += 1
    return found


def _known_errors() -> dict[bytes, str]:
    """Every error any compiled contract declares, shipped or test-only, by selector."""
    known: dict[bytes, str] = {}
    for path in sorted(ARTIFACTS.rglob("*.json")):
        if path.name == "index.json":
            continue
        for selector, (name, _) in _errors(json.loads(path.read_text())["abi"]).items():
            known[selector] = name
    return known


@pytest.mark.parametrize("name", SHIPPED)
def test_every_error_selector_in_the_runtime_code_is_in_the_abi(name: str) -> None:
    code = bytes.fromhex(load_artifact(name).deployed_bytecode[2:])
    in_code = {s: n for s, n in _known_errors().items() if s in _pushed_selectors(code)}
    assert in_code, "no error selector found: the scan is broken"
    missing = sorted(n for s, n in in_code.items() if s not in _errors(_abi(name)))
    assert missing == []


@pytest.mark.parametrize("name", SHIPPED)
def test_contract_abi_declares_every_interface_error(name: str) -> None:
    contract = set(_errors(_abi(name)))
    interface = set(_errors(_abi(f"I{name}")))
    assert interface <= contract


def test_reputation_abi_declares_what_consume_rating_passes_on() -> None:
    names = {n for n, _ in _errors(_abi("Reputation")).values()}
    assert {"UnknownTrade", "TradeNotFinal", "Unauthorized", "AlreadyRated"} <= names
    # the same signatures as the Marketplace's, so one selector means one error everywhere
    market = _errors(_abi("Marketplace"))
    for selector, (n, _) in _errors(_abi("Reputation")).items():
        if n in {"UnknownTrade", "TradeNotFinal", "Unauthorized", "AlreadyRated"}:
            assert market[selector][0] == n


@pytest.mark.parametrize("name", SHIPPED)
def test_contracts_fit_eip170_and_eip3860(name: str) -> None:
    artifact = load_artifact(name)
    runtime = (len(artifact.deployed_bytecode) - 2) // 2
    initcode = (len(artifact.bytecode) - 2) // 2
    print(f"\n{name}: runtime {runtime:,} bytes, initcode {initcode:,} bytes")
    assert 0 < runtime <= MAX_CODE_SIZE
    assert 0 < initcode <= MAX_INITCODE_SIZE
