"""publish_listing / fetch_listing on the embedded chain, over a LocalStore and over HTTP (Kubo API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _market import ONE, Market

from p2pchain import (
    ContentVerificationError,
    IpfsError,
    ListingError,
    ListingStatus,
    TradeState,
    fetch_listing,
    parse_listing_document,
    publish_listing,
)
from p2pchain.ipfs import IpfsBackend, LocalStore, compute_cid
from p2pchain.market._listings import MAX_DOCUMENT_SIZE, MAX_IMAGE_SIZE

from .conftest import NodeStore, rental_document, sale_document

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
PHOTO2 = b"\x89PNG\r\n\x1a\n" + b"second photo" * 100


def nonce(market: Market) -> int:
    return int(market.chain.w3.eth.get_transaction_count(market.seller_account.address))


def test_publish_fetch_round_trip_verified(
    market: Market, backend: IpfsBackend, store: LocalStore, tmp_path: Path
) -> None:
    photo_path = tmp_path / "bike.jpg"
    photo_path.write_bytes(PHOTO2)
    published = publish_listing(market.seller, backend, sale_document(market), [PHOTO, photo_path])
    assert published.listing is not None and published.listing.status == ListingStatus.LIVE
    assert published.document.images == list(published.image_cids)
    assert set(store.pins()) >= {published.document_cid, *published.image_cids}

    seen = fetch_listing(market.buyer, backend, published.listing.id)
    assert seen.document == published.document
    assert seen.images == (PHOTO, PHOTO2)
    assert seen.image_cids == published.image_cids
    assert seen.document_cid == published.document_cid
    assert seen.terms == published.terms
    assert seen.status == ListingStatus.LIVE

    trade = market.buyer.buy(seen.listing)
    assert trade.trade.amount == ONE


def test_publish_rental_round_trip_deposit_in_terms(market: Market, store: LocalStore) -> None:
    published = publish_listing(market.seller, store, rental_document(market), [PHOTO])
    assert published.terms.deposit == ONE and published.terms.price == ONE // 10
    assert published.listing is not None
    seen = fetch_listing(market.buyer, store, published.listing.id)
    assert seen.document.kind == "rental"
    trade = market.buyer.buy(seen.listing)
    assert trade.trade.deposit == ONE


class FailingSecondAdd:
    """A LocalStore whose second ``add`` fails, as a full disk or a dropped node would."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.adds = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def add(self, data: Any, *, cid_version: int = 0, pin: bool = True) -> str:
        self.adds += 1
        if self.adds == 2:
            raise IpfsError("disk full")
        return self.store.add(data, cid_version=cid_version, pin=pin)


def test_publish_storage_failure_sends_nothing(market: Market, store: LocalStore) -> None:
    before = nonce(market)
    failing = FailingSecondAdd(store)
    with pytest.raises(IpfsError, match="disk full"):
        publish_listing(market.seller, failing, sale_document(market), [PHOTO, PHOTO2])
    assert failing.adds == 2
    assert nonce(market) == before
    assert market.seller.listings_of(market.seller_account.address) == []


class ForgetfulStore(FailingSecondAdd):
    """Stores fine but then claims not to hold the document."""

    def add(self, data: Any, *, cid_version: int = 0, pin: bool = True) -> str:
        return self.store.add(data, cid_version=cid_version, pin=pin)

    def has(self, cid: Any) -> bool:
        return False


def test_publish_missing_after_store_sends_nothing(market: Market, store: LocalStore) -> None:
    before = nonce(market)
    with pytest.raises(IpfsError, match="does not hold"):
        publish_listing(market.seller, ForgetfulStore(store), sale_document(market), [PHOTO])
    assert nonce(market) == before


def test_publish_validates_before_storing(market: Market, store: LocalStore) -> None:
    with pytest.raises(ListingError, match=r"images\[1\]: .* over the 5242880-byte limit"):
        publish_listing(
            market.seller, store, sale_document(market), [PHOTO, b"x" * (MAX_IMAGE_SIZE + 1)]
        )
    with pytest.raises(ListingError, match="images: 11 given, at most 10"):
        publish_listing(market.seller, store, sale_document(market), [PHOTO] * 11)
    passwd = b"root:x:0:0:root:/root:/bin/bash\n"
    with pytest.raises(ListingError, match=r"images\[1\]: 32 bytes is not an image \(JPEG, PNG"):
        publish_listing(market.seller, store, sale_document(market), [PHOTO, passwd])
    assert not store.has(compute_cid(PHOTO, cid_version=1))  # nothing stored before the check
    with pytest.raises(ListingError, match="listing document: title"):
        publish_listing(market.seller, store, sale_document(market, title=""), [PHOTO])
    with pytest.raises(ListingError, match="seller"):
        publish_listing(
            market.seller, store, sale_document(market, seller=market.buyer_account.address)
        )
    with pytest.raises(ListingError, match="arbitrator"):
        publish_listing(
            market.seller,
            store,
            sale_document(market),
            arbitrator=market.stranger_account.address,
        )
    with pytest.raises(ListingError, match="quantity"):
        publish_listing(market.seller, store, sale_document(market), quantity=3)
    assert store.pins() == []


def test_tampered_document_refused(market: Market, backend: IpfsBackend, store: NodeStore) -> None:
    published = publish_listing(market.seller, backend, sale_document(market), [PHOTO])
    path = store.block_path(published.document_cid)
    path.write_bytes(path.read_bytes().replace(b"Road bike", b"Road bikE"))
    store.lying = backend is not store  # over HTTP: a node that serves what it has, unchecked
    assert published.listing is not None
    with pytest.raises(ContentVerificationError):
        fetch_listing(market.buyer, backend, published.listing.id)


def test_tampered_image_refused(market: Market, store: LocalStore) -> None:
    published = publish_listing(market.seller, store, sale_document(market), [PHOTO])
    path = store.block_path(published.image_cids[0])
    path.write_bytes(b"not the photo")
    assert published.listing is not None
    with pytest.raises(ContentVerificationError):
        fetch_listing(market.buyer, store, published.listing.id)


def list_raw(market: Market, store: LocalStore, body: bytes, **terms: Any) -> bytes:
    """Store ``body`` as a document and list terms anchoring it, bypassing publish_listing."""
    cid = store.add(body, cid_version=1)
    values: dict[str, Any] = {
        "price": ONE,
        "cid": cid,
        "arbitrator": market.arbitrator_account.address,
        "arbitrator_fee_bps": 200,
    }
    values.update(terms)
    return market.seller.create_listing(market.seller.make_terms(**values)).id


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"price": 2 * ONE}, "price"),
        ({"arbitrator_fee_bps": 300}, "arbitrator.fee_bps"),
        ({"arbitrator": "0x" + "11" * 20, "arbitrator_fee_bps": 200}, "arbitrator"),
        ({"deposit": 5}, "deposit"),
    ],
)
def test_document_terms_disagreement_names_field(
    market: Market, store: LocalStore, terms: dict[str, Any], field: str
) -> None:
    body = parse_listing_document(sale_document(market)).canonical_json()
    listing_id = list_raw(market, store, body, **terms)
    with pytest.raises(ListingError, match=f"disagrees with the terms on {field}:"):
        fetch_listing(market.buyer, store, listing_id)


def test_rental_document_without_chain_deposit_refused(market: Market, store: LocalStore) -> None:
    doc = parse_listing_document(rental_document(market))
    listing_id = list_raw(market, store, doc.canonical_json(), price=ONE // 10, deposit=0)
    with pytest.raises(ListingError, match="disagrees with the terms on deposit"):
        fetch_listing(market.buyer, store, listing_id)


def test_fetch_unknown_version_refused(market: Market, store: LocalStore) -> None:
    body = parse_listing_document(sale_document(market)).canonical_json()
    body = body.replace(b'"schema_version":1', b'"schema_version":4')
    listing_id = list_raw(market, store, body)
    with pytest.raises(ListingError) as info:
        fetch_listing(market.buyer, store, listing_id)
    assert str(info.value) == (
        "unsupported listing document version 4; this p2pchain reads versions 1, 2, 3"
    )


def test_fetch_oversized_document_refused(
    market: Market, backend: IpfsBackend, store: LocalStore
) -> None:
    body = parse_listing_document(sale_document(market)).canonical_json()
    padded = body[:-1] + b" " * MAX_DOCUMENT_SIZE + b"}"
    listing_id = list_raw(market, store, padded)
    with pytest.raises(ListingError, match=f"over the {MAX_DOCUMENT_SIZE}-byte limit"):
        fetch_listing(market.buyer, backend, listing_id)


def test_fetch_wrong_schema_refused(market: Market, store: LocalStore) -> None:
    listing_id = list_raw(market, store, b'{"schema_version":1,"title":"x"}')
    with pytest.raises(ListingError, match="listing document: category"):
        fetch_listing(market.buyer, store, listing_id)


def test_signed_publish_then_buy_works(market: Market, backend: IpfsBackend) -> None:
    before = nonce(market)
    published = publish_listing(
        market.seller, backend, sale_document(market, quantity=2), [PHOTO], signed=True
    )
    signed = published.signed_listing
    assert signed is not None and published.listing is None
    assert nonce(market) == before  # signing costs nothing

    seen = fetch_listing(market.buyer, backend, signed)
    assert seen.status == ListingStatus.UNUSED and seen.images == (PHOTO,)
    trade = market.buyer.buy(signed)
    assert trade.trade.state == TradeState.PAID
    assert fetch_listing(market.buyer, backend, signed).status == ListingStatus.LIVE


def test_wallet_publish_returns_unsigned_tx(market: Market, store: LocalStore) -> None:
    before = nonce(market)
    seller_address = market.seller_account.address
    published = publish_listing(
        market.seller.with_account(None),
        store,
        sale_document(market),
        [PHOTO],
        wallet=seller_address,
    )
    assert published.unsigned is not None and published.unsigned["from"] == seller_address
    assert published.document_cid in store.pins()
    assert nonce(market) == before
