"""The listing document schema: versions, field checks, size limits, canonical JSON."""

from __future__ import annotations

import json

import pytest
from _market import Market

from p2pchain import ListingDocument, ListingError, parse_listing_document
from p2pchain.market._listings import MAX_DOCUMENT_SIZE

from .conftest import rental_document, sale_document


def test_document_valid_sale_parses(market: Market) -> None:
    doc = parse_listing_document(sale_document(market))
    assert doc.price == 10**18
    assert doc.arbitrator is not None and doc.arbitrator.fee_bps == 200


def test_canonical_json_sorted_compact_utf8_round_trips(market: Market) -> None:
    doc = parse_listing_document(sale_document(market))
    body = doc.canonical_json()
    decoded = json.loads(body)
    assert list(decoded) == sorted(decoded)
    assert decoded["price"] == "1000000000000000000"  # amounts are decimal strings of base units
    assert "🚲".encode() in body  # UTF-8, not \\u escapes
    assert (
        body
        == json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert parse_listing_document(body) == doc


def test_unknown_version_refused(market: Market) -> None:
    with pytest.raises(ListingError) as info:
        parse_listing_document(json.dumps(sale_document(market, schema_version=4)))
    assert str(info.value) == (
        "unsupported listing document version 4; this p2pchain reads versions 1, 2, 3"
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 141}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"price": "1.5"}, "price"),
        ({"price": "0"}, "price"),
        ({"kind": "auction"}, "kind"),
        ({"token": "DAI"}, "token"),
        ({"seller": "0x" + "ab" * 20}, "seller"),  # not checksummed
        ({"images": ["not-a-cid"]}, "images.0"),
        ({"location": {"text": "x", "lat": 1.0}}, "location"),
        ({"location": {"text": "x", "country": "germany"}}, "location.country"),
        ({"tags": ["x" * 33]}, "tags.0"),
        ({"surprise": 1}, "surprise"),
        ({"condition": None}, "condition"),
        ({"deposit": "5"}, "deposit"),
        ({"rental": {"start": 2, "end": 1}}, "rental"),
        ({"arbitrator": {"address": "0x" + "00" * 20, "fee_bps": 1001}}, "arbitrator.fee_bps"),
    ],
)
def test_wrong_schema_names_first_bad_field(
    market: Market, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ListingError) as info:
        parse_listing_document(sale_document(market, **overrides))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"listing document: {field}"), message


def test_rental_without_deposit_refused(market: Market) -> None:
    with pytest.raises(ListingError, match="deposit: must be > 0"):
        parse_listing_document(rental_document(market, deposit="0"))
    with pytest.raises(ListingError, match="rental: required"):
        parse_listing_document(rental_document(market, rental=None))
    assert parse_listing_document(rental_document(market)).deposit == 10**18


def test_too_many_images_refused(market: Market) -> None:
    cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    with pytest.raises(ListingError, match="listing document: images"):
        parse_listing_document(sale_document(market, images=[cid] * 11))


def test_oversized_document_refused() -> None:
    with pytest.raises(ListingError, match=f"over the {MAX_DOCUMENT_SIZE}-byte limit"):
        parse_listing_document(b" " * (MAX_DOCUMENT_SIZE + 1))


def test_not_json_refused() -> None:
    with pytest.raises(ListingError, match="not UTF-8 JSON"):
        parse_listing_document(b"\xff{")
    with pytest.raises(ListingError, match="must be a JSON object"):
        parse_listing_document(b"[1]")
    with pytest.raises(ListingError, match="schema_version: field required"):
        parse_listing_document(b"{}")


def test_json_schema_exports() -> None:
    schema = ListingDocument.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["properties"]["price"]["type"] == "string"
