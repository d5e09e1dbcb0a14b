"""Bad arguments raise clear P2PChainError subclasses before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from _market import ONE, Market

from p2pchain import (
    AddressError,
    AmountError,
    IdError,
    InputError,
    InvalidPrice,
    InvalidReviewWindow,
    P2PChainError,
    QuantityError,
    ScoreError,
    WalletError,
)


def _nonces(market: Market) -> list[int]:
    w3 = market.chain.w3
    return [w3.eth.get_transaction_count(a.address) for a in market.chain.accounts[:5]]


CASES: list[tuple[str, Callable[[Market, Any], Any], type[InputError]]] = [
    ("quantity_zero", lambda m, l: m.buyer.prepare_buy(l, 0), QuantityError),
    ("quantity_negative", lambda m, l: m.buyer.buy(l, -1), QuantityError),
    ("quantity_too_big", lambda m, l: m.buyer.buy(l, 2**32), QuantityError),
    ("quantity_float", lambda m, l: m.buyer.buy(l, 1.0), QuantityError),
    ("quantity_bool", lambda m, l: m.buyer.buy(l, True), QuantityError),
    ("score_zero", lambda m, t: m.buyer.rate(t, 0), ScoreError),
    ("score_six", lambda m, t: m.buyer.rate(t, 6), ScoreError),
    ("score_text", lambda m, t: m.buyer.rate(t, "5"), ScoreError),
    ("share_negative", lambda m, t: m.buyer.propose_settlement(t, -1), AmountError),
    ("share_too_big", lambda m, t: m.arbitrator.rule(t, 2**256), AmountError),
    ("share_float", lambda m, t: m.buyer.propose_settlement(t, 0.5), AmountError),
    ("address_garbage", lambda m, t: m.buyer.withdraw("0x1234"), AddressError),
    (
        "address_bad_checksum",
        lambda m, t: m.buyer.withdraw(
            m.buyer.address, m.seller.address.swapcase().replace("0X", "0x")
        ),
        AddressError,
    ),
    ("recipient_zero", lambda m, t: m.buyer.withdraw(to="0x" + "00" * 20), AddressError),
    ("trade_id_short", lambda m, t: m.buyer.trade("0x1234"), IdError),
    ("review_cid_too_long", lambda m, t: m.buyer.rate(t, 5, bytes(65)), IdError),
    (
        "price_negative",
        lambda m, t: m.seller.make_terms(price=-1, cid=bytes.fromhex("1220") + bytes(32)),
        AmountError,
    ),
    (
        "price_overflow",
        lambda m, t: m.seller.make_terms(price=2**256, cid=bytes.fromhex("1220") + bytes(32)),
        AmountError,
    ),
    (
        "fee_overflow",
        lambda m, t: m.seller.make_terms(
            price=1, arbitrator_fee_bps=2**16, cid=bytes.fromhex("1220") + bytes(32)
        ),
        AmountError,
    ),
    ("cid_wrong", lambda m, t: m.seller.make_terms(price=1, cid=b"\x12\x20"), IdError),
    ("salt_short", lambda m, t: m.seller.create_listing(m.terms(), salt=b"x"), IdError),
]


@pytest.mark.parametrize(("name", "action", "error"), CASES, ids=[c[0] for c in CASES])
def test_bad_argument_raises_input_error_before_sending(
    market: Market, name: str, action: Callable[[Market, Any], Any], error: type[InputError]
) -> None:
    listing = market.seller.create_listing(market.terms(), 2)
    trade = market.buyer.buy(listing)
    target = listing if name.startswith("quantity") else trade
    before = _nonces(market)
    with pytest.raises(error) as info:
        action(market, target)
    assert isinstance(info.value, P2PChainError) and isinstance(info.value, ValueError)
    assert "Traceback" not in str(info.value) and str(info.value)
    assert _nonces(market) == before


def test_terms_the_contract_refuses_fail_before_gas_is_spent(market: Market) -> None:
    before = _nonces(market)
    with pytest.raises(InvalidReviewWindow) as info:
        market.seller.create_listing(market.terms(review_window=0))
    assert "review window of 0 seconds" in str(info.value)
    with pytest.raises(InvalidPrice):
        market.seller.sign_listing(market.terms(price=0))
    assert _nonces(market) == before


def test_read_only_client_refuses_to_sign(market: Market) -> None:
    reader = market.seller.with_account(None)
    listing = market.seller.create_listing(market.terms())
    with pytest.raises(WalletError):
        reader.buy(listing)
    unsigned = reader.prepare_buy(listing, sender=market.buyer.address).unsigned()
    assert unsigned["value"] == ONE


def test_client_signs_only_as_its_account(market: Market) -> None:
    listing = market.seller.create_listing(market.terms())
    with pytest.raises(WalletError):
        market.seller.prepare_buy(listing, sender=market.buyer.address).send()


def test_signing_another_sellers_terms_is_refused(market: Market) -> None:
    terms = replace(market.terms(), seller=market.buyer.address)
    with pytest.raises(InputError):
        market.seller.sign_listing(terms)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("0x1234", "'0x1234'"),
        ("0xabc", "'0xabc'"),
        ("0x" + "zz" * 32, "'0xzzzz"),
        (b"\x12", "b'\\x12'"),
    ],
)
def test_bad_id_message_shows_what_was_given(given: object, shown: str) -> None:
    """The message quotes the caller's input, not a half-decoded form of it."""
    from p2pchain.market._validation import bytes32

    with pytest.raises(IdError, match="^a trade id must be 32 bytes") as raised:
        bytes32(given, "a trade id")
    assert shown in str(raised.value) and "\n" not in str(raised.value)
