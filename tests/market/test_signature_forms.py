"""Every signature form a wallet can produce is accepted exactly when the contract accepts it.

A seller's wallet may return ``v`` as 0/1 (hardware wallets), a 64-byte EIP-2098 compact
signature, or the high-``s`` twin of a valid signature. The contract (OpenZeppelin's
``ECDSA.tryRecover``) takes only 65 bytes with ``v`` 27/28 and low ``s``. The library brings every
form to that one before anything is sent, so a purchase never fails on a form the library said
was fine; the raw forms sent as they are would be refused, which the tests also show.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from _market import Market

from p2pchain import InputError, InvalidSignature, SignedListing, TradeState
from p2pchain.market._validation import SECP256K1_N, signature

HALF_N = SECP256K1_N // 2


def _parts(sig: bytes) -> tuple[int, int, int]:
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]


def _join(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def _forms(canonical: bytes) -> dict[str, bytes]:
    """The same signature in every form a wallet can return."""
    r, s, v = _parts(canonical)
    assert s <= HALF_N and v in (27, 28)
    compact = r.to_bytes(32, "big") + (((v - 27) << 255) | s).to_bytes(32, "big")
    return {
        "v27/28": canonical,
        "v0/1": _join(r, s, v - 27),
        "eip2098": compact,
        "high-s": _join(r, SECP256K1_N - s, 55 - v),
        "high-s,v0/1": _join(r, SECP256K1_N - s, 28 - v),
    }


def _signed(market: Market) -> tuple[dict[str, Any], bytes]:
    typed = market.seller.listing_typed_data(market.terms(price=10**15), 1)
    raw = market.seller_account.sign_typed_data(full_message=typed).signature
    return typed, bytes(raw)


FORMS = ["v27/28", "v0/1", "eip2098", "high-s", "high-s,v0/1"]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_normalised_and_the_contract_accepts_the_purchase(
    market: Market, form: str
) -> None:
    typed, canonical = _signed(market)
    given = _forms(canonical)[form]
    listing = market.buyer.signed_listing(typed, "0x" + given.hex())
    assert listing.signature == canonical
    trade = market.buyer.buy(listing)
    assert trade.state == TradeState.PAID
    assert trade.trade.buyer == market.buyer_account.address


@pytest.mark.parametrize("form", ["v0/1", "high-s"])
def test_the_raw_form_is_what_the_contract_refuses(market: Market, form: str) -> None:
    """Without the normalisation the purchase would fail: the contract refuses the raw form."""
    typed, canonical = _signed(market)
    good = market.buyer.signed_listing(typed, canonical)
    raw = dataclasses.replace(good, signature=_forms(canonical)[form])
    with pytest.raises(InvalidSignature):
        market.buyer.prepare_buy(raw).check()


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (b"\x11" * 63, "63 bytes: 0x1111"),
        (b"\x11" * 66, "66 bytes: 0x1111"),
        (b"\x11" * 64 + b"\x1d", "v = 29"),
        (bytes(32) + b"\x11" * 32 + b"\x1b", "r or s out of range"),
        ("0xzz", "must be hex"),
        (12345, "hex or bytes"),
    ],
)
def test_malformed_signatures_are_named_in_hex(value: Any, needle: str) -> None:
    with pytest.raises(InputError, match="signature") as caught:
        signature(value)
    assert needle in str(caught.value)
    assert "b'" not in str(caught.value)


def test_an_eip2098_signature_by_someone_else_is_shown_as_hex(market: Market) -> None:
    typed, _ = _signed(market)
    forged = bytes(market.stranger_account.sign_typed_data(full_message=typed).signature)
    compact = _forms(forged)["eip2098"]
    with pytest.raises(InputError, match="not by the listing's seller"):
        market.buyer.signed_listing(typed, compact)


def test_from_json_recomputes_the_id_and_refuses_a_false_one(market: Market) -> None:
    typed, canonical = _signed(market)
    good = market.buyer.signed_listing(typed, canonical)
    shared = json.loads(json.dumps(good.to_json()))
    assert SignedListing.from_json(shared) == good

    without_id = {k: v for k, v in shared.items() if k != "id"}
    assert SignedListing.from_json(without_id).id == good.id

    lying = dict(shared, id="0x" + "ab" * 32)
    with pytest.raises(ValueError, match="not the digest of its terms"):
        SignedListing.from_json(lying)

    # the terms changed under the same id: the id no longer matches them
    cheaper = json.loads(json.dumps(shared))
    cheaper["terms"]["price"] = "1"
    with pytest.raises(ValueError, match="altered"):
        SignedListing.from_json(cheaper)

    hardware = dict(shared, signature="0x" + _forms(canonical)["v0/1"].hex())
    assert SignedListing.from_json(hardware).signature == canonical
