"""Listing documents of rentals booked by date: publishing one (IPFS first, then the listing
transaction) and reading one back, checked against the rental's terms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from p2pchain.chain._booking_model import RentalTerms
from p2pchain.chain._model import ZERO_ADDRESS
from p2pchain.market._bookings import DAY, RentalListing
from p2pchain.market._client import MarketplaceClient


@dataclass(frozen=True)
class PublishedRental:
    """What :func:`publish_rental` stored and sent.

    Attributes:
        document: The document as stored (its ``images`` set).
        document_cid: The document's CID.
        image_cids: The images' CIDs, in order.
        listing: The live rental listing.
    """

    document: Any
    document_cid: str
    image_cids: tuple[str, ...]
    listing: RentalListing


def publish_rental(
    client: MarketplaceClient,
    backend: Any,
    document: Any,
    images: Sequence[bytes | Any] = (),
    *,
    unit: int = DAY,
    min_units: int = 1,
    max_units: int = 30,
    lead_time: int = 0,
    free_cancel: int = 2 * DAY,
    late_refund_bps: int = 5_000,
    claim_window: int = 3 * DAY,
    salt: bytes | str | None = None,
    cid_version: int = 1,
) -> PublishedRental:
    """Store a bookable rental's images and document on IPFS (pinned), then list it.

    The document is a listing document of kind ``rental`` whose ``price`` is the rate per period,
    ``deposit`` the deposit per booking and ``rental`` the bookable range (its start fixes the
    pickup time of day); pickup and return places and hours go in ``delivery`` (method
    ``pickup``). The terms are built from it, so they always agree. As with sales, everything
    is validated and the listing call simulated first; then the images and the document are
    stored and checked present; only then is the transaction sent.

    Raises:
        ListingError: The document breaks the schema, or is not a rental.
        IpfsError: A storage step failed (nothing was sent).
        InputError: Terms out of bounds.
        CustomError: The contract would refuse the listing (nothing stored, nothing sent).
    """
    from p2pchain._errors import IpfsError, ListingError
    from p2pchain.ipfs import compute_cid
    from p2pchain.market._listings import (
        MAX_IMAGES,
        _as_document,
        _image_bytes,
        _store,
        _validated,
    )

    if len(images) > MAX_IMAGES:
        raise ListingError(f"images: {len(images)} given, at most {MAX_IMAGES}")
    datas = [_image_bytes(image, i) for i, image in enumerate(images)]
    image_cids = [compute_cid(data, cid_version=cid_version) for data in datas]
    fields = _as_document(document).model_dump(mode="json")
    fields["images"] = image_cids
    doc = _validated(fields)
    if doc.kind != "rental" or doc.rental is None:
        raise ListingError("kind: a bookable rental's document must be of kind rental")
    if doc.quantity != 1:
        raise ListingError("quantity: a bookable rental is one item; its calendar is the stock")
    if doc.seller != client.address:
        raise ListingError(
            f"seller: the document says {doc.seller}, the listing is by {client.address}"
        )
    body = doc.canonical_json()
    doc_cid = compute_cid(body, cid_version=cid_version)
    rentals = client.rentals
    arb = doc.arbitrator
    terms = rentals.make_terms(
        rate=doc.price,
        unit=unit,
        cid=doc_cid,
        first_start=doc.rental.start,
        last_end=doc.rental.end,
        deposit=doc.deposit,
        token=doc.token_address,
        arbitrator=arb.address if arb else ZERO_ADDRESS,
        arbitrator_fee_bps=arb.fee_bps if arb else 0,
        min_units=min_units,
        max_units=max_units,
        lead_time=lead_time,
        free_cancel=free_cancel,
        late_refund_bps=late_refund_bps,
        claim_window=claim_window,
    )
    call = rentals.prepare_create(terms, salt=salt)
    call.check()
    for i, (data, cid) in enumerate(zip(datas, image_cids, strict=True)):
        _store(backend, data, cid, f"images[{i}]", cid_version)
    _store(backend, body, doc_cid, "listing document", cid_version)
    missing = [cid for cid in (*image_cids, doc_cid) if not backend.has(cid)]
    if missing:
        raise IpfsError(f"the backend does not hold {missing[0]} after storing it; nothing sent")
    return PublishedRental(doc, doc_cid, tuple(image_cids), cast(RentalListing, call.send()))


def check_rental_agreement(doc: Any, t: RentalTerms) -> None:
    """Check a rental's document against its terms: kind, owner, rate, deposit, token,
    arbitrator and fee, and the start of the bookable range.

    Raises:
        ListingError: Naming the first field that disagrees.
    """
    from p2pchain._errors import ListingError

    arb = doc.arbitrator
    pairs = [
        ("kind", doc.kind, "rental"),
        ("seller", doc.seller, t.owner),
        ("price", doc.price, t.rate),
        ("deposit", doc.deposit, t.deposit),
        ("token", doc.token_address, t.token),
        ("arbitrator", arb.address if arb else ZERO_ADDRESS, t.arbitrator),
        ("arbitrator.fee_bps", arb.fee_bps if arb else 0, t.arbitrator_fee_bps),
        ("rental.start", doc.rental.start if doc.rental else None, t.first_start),
    ]
    for name, doc_value, chain_value in pairs:
        if doc_value != chain_value:
            raise ListingError(
                f"rental document disagrees with the terms on {name}: document {doc_value},"
                f" chain {chain_value}"
            )


def rental_document(client: MarketplaceClient, backend: Any, listing: RentalListing) -> Any:
    """Fetch and verify a rental listing's document: the CID its terms anchor, parsed, and
    checked against the terms (owner, rate, deposit, token, arbitrator, bookable range).

    Raises:
        ListingError: The document disagrees with the terms or is not a rental document.
        IpfsError, ContentVerificationError: It cannot be fetched or is not what the CID says.
    """
    from p2pchain.ipfs import CID
    from p2pchain.market._listings import MAX_DOCUMENT_SIZE, parse_listing_document

    raw = backend.cat(str(CID.parse(listing.terms.cid)), max_size=MAX_DOCUMENT_SIZE)
    doc = parse_listing_document(raw)
    check_rental_agreement(doc, listing.terms)
    return doc
