"""Listing documents in the index: fetched by CID, verified, checked against the terms.

A document is cached per CID (``documents`` table): ``ok`` with its JSON, ``unavailable``
(missing or unreachable; retried on later syncs) or ``invalid`` (does not verify, or breaks the
schema). Each listing then gets its own status: an ``ok`` document that disagrees with the
listing's terms makes that listing ``invalid``. Nothing is dropped: a listing without a usable
document stays in the index, marked, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from p2pchain._errors import ContentVerificationError, IpfsError, ListingError, P2PChainError
from p2pchain.chain._model import ZERO_ADDRESS, ListingTerms
from p2pchain.market._views import Listing, ListingStatus

#: Unavailable documents are retried at most this many times (once per sync).
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Fetched:
    """One document fetch: its status, why, and the canonical JSON when ok."""

    status: str
    reason: str | None
    body: str | None


def fetch_document(backend: Any, cid: str) -> Fetched:
    """Fetch, verify and parse one listing document.

    Args:
        backend: Any ``IpfsBackend``.
        cid: The document's CID text; an unparseable one is ``invalid``.
    """
    from p2pchain.market._listings import MAX_DOCUMENT_SIZE, parse_listing_document

    if cid.startswith("invalid:"):
        return Fetched("invalid", "the terms' CID is not a valid CID", None)
    try:
        raw = backend.cat(cid, max_size=MAX_DOCUMENT_SIZE)
    except ContentVerificationError as exc:
        return Fetched("invalid", _line(exc), None)
    except IpfsError as exc:
        if "-byte limit" in str(exc):
            return Fetched("invalid", f"document is over the {MAX_DOCUMENT_SIZE}-byte limit", None)
        return Fetched("unavailable", _line(exc), None)
    except P2PChainError as exc:
        return Fetched("unavailable", _line(exc), None)
    except OSError as exc:
        return Fetched("unavailable", f"IPFS backend failed: {exc}", None)
    try:
        document = parse_listing_document(raw)
    except ListingError as exc:
        return Fetched("invalid", _line(exc), None)
    return Fetched("ok", None, document.canonical_json().decode())


def _line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def terms_of(row: Mapping[str, Any]) -> ListingTerms:
    """The terms stored in a listings row."""
    return ListingTerms(
        seller=row["seller"],
        token=ZERO_ADDRESS if row["token"] == "ETH" else row["token"],
        price=int(row["price"]),
        deposit=int(row["deposit"]),
        arbitrator=row["arbitrator"],
        arbitrator_fee_bps=int(row["arbitrator_fee_bps"]),
        review_window=int(row["review_window"]),
        expiry=int(row["expiry"]),
        cid_prefix=b"",
        cid_digest=b"",
    )


def resolve(row: dict[str, Any], document: tuple[str, str | None, str | None] | None) -> None:
    """Set a listings row's content fields from its document's cached fetch.

    Args:
        row: The listing (changed in place).
        document: ``(status, reason, body)`` of the row's CID, or ``None`` if never fetched.
    """
    from p2pchain.market._listings import check_agreement, parse_listing_document

    for key in ("title", "description", "category", "kind", "images", "document", "lat", "lon"):
        row[key] = None
    if document is None:
        row["content_status"], row["content_reason"] = "pending", None
        return
    status, reason, body = document
    if status != "ok" or body is None:
        row["content_status"], row["content_reason"] = status, reason
        return
    doc = parse_listing_document(body)
    listing = Listing(
        id=bytes(32),
        seller=row["seller"],
        salt=bytes(32),
        terms=terms_of(row),
        listed_quantity=int(row["listed_quantity"]),
        sold=int(row["sold"]),
        remaining=int(row["remaining"]),
        status=ListingStatus.LIVE,
        signed=bool(row["signed"]),
    )
    try:
        check_agreement(doc, listing)
    except ListingError as exc:
        row["content_status"], row["content_reason"] = "invalid", _line(exc)
        return
    row["content_status"], row["content_reason"] = "ok", None
    row["title"], row["description"] = doc.title, doc.description
    row["category"], row["kind"] = doc.category, doc.kind
    row["images"] = json.dumps(list(doc.images))
    row["document"] = body
    if doc.location is not None and doc.location.lat is not None:
        row["lat"], row["lon"] = doc.location.lat, doc.location.lon
