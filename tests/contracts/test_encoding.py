"""Malformed calldata: terms with dirty padding never store, match or verify.

`_hashTerms` hashes the terms' calldata words directly, so these tests pin down that a word with
bits set outside its type can only make a call fail.
"""

from __future__ import annotations

import pytest

from .market import Market

# Word index of each ListingTerms field inside the static struct.
FIELDS = {"seller": 0, "token": 1, "arbitrator": 4, "fee": 5, "window": 6, "expiry": 7}


def _dirty(data: str, struct_offset: int, word: int) -> str:
    raw = bytearray(bytes.fromhex(data[2:]))
    raw[4 + struct_offset + 32 * word] = 0x01  # the highest byte: outside every field's type
    return "0x" + raw.hex()


def _reverts(m: Market, sender: str, data: str) -> bool:
    try:
        m.w3.eth.call({"from": sender, "to": m.address, "data": data})
    except Exception:  # noqa: BLE001 - any revert (the chain backends raise different types)
        return True
    return False


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_list_with_dirty_terms_field_reverts(market: Market, field: str) -> None:
    m = market
    data = m.market.functions.list(m.terms().as_tuple(), b"\1" * 32, 1)._encode_transaction_data()
    assert not _reverts(m, m.seller.address, data)
    assert _reverts(m, m.seller.address, _dirty(data, 0, FIELDS[field]))


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_buy_with_dirty_terms_field_reverts(market: Market, field: str) -> None:
    m = market
    listing = m.list()
    fn = m.market.functions.buy(listing.id, listing.terms.as_tuple(), 1)
    data = fn._encode_transaction_data()
    call = {"from": m.buyer.address, "to": m.address, "value": listing.terms.price}
    m.w3.eth.call({**call, "data": data})  # the clean call succeeds
    with pytest.raises(Exception):  # noqa: B017 - the backend's own revert type
        m.w3.eth.call({**call, "data": _dirty(data, 32, FIELDS[field])})


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_buy_signed_with_dirty_terms_field_reverts(market: Market, field: str) -> None:
    m = market
    listing = m.sign_listing()
    assert listing.signature is not None
    fn = m.market.functions.buySigned(
        listing.terms.as_tuple(), listing.quantity, listing.salt, listing.signature, 1
    )
    data = fn._encode_transaction_data()
    call = {"from": m.buyer.address, "to": m.address, "value": listing.terms.price}
    m.w3.eth.call({**call, "data": data})
    with pytest.raises(Exception):  # noqa: B017 - the backend's own revert type
        m.w3.eth.call({**call, "data": _dirty(data, 0, FIELDS[field])})
