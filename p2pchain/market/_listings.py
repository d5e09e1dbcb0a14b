"""Listing documents: a versioned JSON schema, publishing to IPFS before the chain, verified reads.

A listing is two things: its terms on-chain (price, deposit, token, arbitrator...) and a JSON
*listing document* on IPFS (title, description, photos...) whose CID the terms anchor. This
module keeps the two in step:

* :class:`ListingDocument`: the document's schema (pydantic v2, ``schema_version`` 1, unknown
  fields forbidden, every text field capped, at most :data:`MAX_DOCUMENT_SIZE` bytes serialized).
* :func:`publish_listing`: validates everything, stores and pins the images and then the
  document, checks the backend has every block, and only then sends the listing (or signs it,
  or returns it unsigned for a wallet). Nothing reaches the chain if any storage step fails.
* :func:`fetch_listing`: the on-chain terms, the document by the CID they anchor, every image,
  all verified against their CIDs, and the document checked against the terms.

Amounts (``price``, ``deposit``, delivery costs) are **integers in the token's base units**
(wei for ETH), exactly as in the terms, written in JSON as decimal strings (``"1000000000000000000"``)
so JavaScript readers never lose precision. Display formatting (decimals, symbol) is the
front end's job.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from eth_utils import is_address, to_checksum_address
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from p2pchain._errors import ContentVerificationError, IpfsError, ListingError
from p2pchain.chain._model import ZERO_ADDRESS, ListingTerms, checksum_address
from p2pchain.ipfs import CID, IpfsBackend, compute_cid
from p2pchain.market._client import MarketplaceClient
from p2pchain.market._reads import ETH
from p2pchain.market._views import Listing, ListingStatus, SignedListing, UnsignedTransaction

#: The newest listing document version (2 adds ``messaging``: the seller's messaging key; 3 adds
#: ``request``: the request the listing answers).
SCHEMA_VERSION = 3
#: Every version this library reads.
SCHEMA_VERSIONS = (1, 2, 3)
#: Largest serialized listing document, in bytes.
MAX_DOCUMENT_SIZE = 64 * 1024
#: Most images a listing may carry.
MAX_IMAGES = 10
#: Largest image, in bytes.
MAX_IMAGE_SIZE = 5 * 1024 * 1024
#: Default review window of published listings (seconds).
DEFAULT_REVIEW_WINDOW = 7 * 86_400

_MAX_UNITS = 2**128 - 1
_MAX_QUANTITY = 2**32 - 1
_MAX_TIMESTAMP = 2**40 - 1
_LIMIT_MESSAGE = re.compile(r"-byte limit")


# ---------------------------------------------------------------------- field types


def _base_units(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        # pydantic turns ValueError (not TypeError) into a validation error
        raise ValueError("must be an integer amount in base units, as a decimal string")  # noqa: TRY004
    if isinstance(value, str):
        if not re.fullmatch(r"0|[1-9][0-9]{0,38}", value):
            raise ValueError("must be a decimal string of base units (digits only, e.g. '1000')")
        value = int(value)
    if not 0 <= value <= _MAX_UNITS:
        raise ValueError("must be between 0 and 2**128 - 1 base units")
    return value


#: An amount in the token's base units (wei for ETH); a decimal string in JSON.
BaseUnits = Annotated[
    int,
    BeforeValidator(_base_units),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^(0|[1-9][0-9]{0,38})$"}),
]


def _checksummed(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError("must be a 0x-prefixed 20-byte address")
    if to_checksum_address(value) != value:
        raise ValueError(f"must be checksummed (EIP-55): {to_checksum_address(value)}")
    return value


#: An EIP-55 checksummed address.
Address = Annotated[str, BeforeValidator(_checksummed)]


def _token(value: Any) -> str:
    if value == "ETH":
        return "ETH"
    try:
        return _checksummed(value)
    except ValueError:
        raise ValueError('must be "ETH" or a checksummed ERC-20 token address') from None


#: ``"ETH"`` or a checksummed ERC-20 address.
Token = Annotated[str, BeforeValidator(_token)]


def _cid_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a CID string")  # noqa: TRY004
    try:
        cid = CID.parse(value)
    except IpfsError:
        raise ValueError(f"not a valid CID: {value[:100]!r}") from None
    if cid.multihash.code != 0x12 or len(cid.multihash.digest) != 32:
        raise ValueError("must be a sha2-256 CID")
    return value


#: A CID as text (``Qm...`` or ``bafy...``), parsed and checked.
CidText = Annotated[str, BeforeValidator(_cid_text)]


def _request_id(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-f]{64}", value):
        raise ValueError("must be a request id: 0x and 64 lowercase hex digits")
    return value


#: A request id (the EIP-712 digest its requester signed), 0x + 64 lowercase hex digits.
RequestId = Annotated[str, BeforeValidator(_request_id)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(_Strict):
    """Where the item is, or where the service is given.

    Attributes:
        text: Free text ("Berlin Kreuzberg, near the canal").
        country: ISO 3166-1 alpha-2 code, upper case (``DE``).
        lat: Latitude in degrees (with ``lon``).
        lon: Longitude in degrees (with ``lat``).
    """

    text: Annotated[str, Field(min_length=1, max_length=200)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None

    @model_validator(mode="after")
    def _lat_lon_together(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together: give both or neither")
        return self


class RentalPeriod(_Strict):
    """When a rental runs (unix seconds, ``start < end``)."""

    start: Annotated[int, Field(ge=0, le=_MAX_TIMESTAMP)]
    end: Annotated[int, Field(ge=0, le=_MAX_TIMESTAMP)]

    @model_validator(mode="after")
    def _ordered(self) -> RentalPeriod:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Delivery(_Strict):
    """One way the buyer gets the item (or the service is given).

    Attributes:
        method: ``shipping``, ``pickup``, ``digital`` or ``in_person``.
        cost: Extra cost in the listing token's base units, paid outside the escrow (0: included).
        note: Regions served, carrier, pickup hours...
    """

    method: Literal["shipping", "pickup", "digital", "in_person"]
    cost: BaseUnits = 0
    note: Annotated[str, Field(max_length=200)] = ""


class ArbitratorInfo(_Strict):
    """The arbitrator the terms name, and its fee (must equal the on-chain terms).

    Attributes:
        address: The arbitrator's checksummed address.
        fee_bps: Its fee in basis points of the disputed value (at most 1000 = 10%).
    """

    address: Address
    fee_bps: Annotated[int, Field(ge=0, le=1000)]


class MessagingInfo(_Strict):
    """How to message the seller about the listing (schema version 2).

    Attributes:
        pubkey: The seller's messaging inbox key (Nostr x-only public key, 64 hex digits).
        relays: Where the seller reads messages (ws:// or wss:// URLs, 1 to 8).
        proof: The seller address's EIP-191 signature vouching for ``pubkey`` (0x + 130 hex);
            readers check it (``p2pchain.messaging``) before writing to the key.
    """

    pubkey: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    relays: Annotated[
        list[Annotated[str, Field(pattern=r"^wss?://[^\s/?#]+(/[^\s]*)?$", max_length=200)]],
        Field(min_length=1, max_length=8),
    ]
    proof: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


class ListingDocument(_Strict):
    """A listing document, version 1 or 2: what the CID in the on-chain terms points to.

    Amounts are integers in the token's base units (wei for ETH), written as decimal strings in
    JSON. Timestamps are unix seconds. Unknown fields are refused.

    Attributes:
        schema_version: 1, or 2 for documents that carry ``messaging``.
        title: Short title (1..140 chars).
        description: Full description (up to 5000 chars).
        category: Category path, e.g. ``electronics/phones`` (1..64 chars).
        kind: ``sale`` (goods), ``service`` or ``rental``.
        price: Unit price in base units (> 0); equals ``terms.price``.
        token: ``"ETH"`` or an ERC-20 address; equals ``terms.token``.
        quantity: Units offered; equals the listed quantity.
        images: CIDs of the photos (at most 10); set by :func:`publish_listing`.
        location: Where, optionally.
        rental: The rental period; required iff ``kind == "rental"``.
        deposit: Refundable deposit per unit in base units; > 0 iff ``kind == "rental"``.
        seller: The seller's checksummed address; equals ``terms.seller``.
        condition: Condition of goods: required for sales, optional for rentals, not for services.
        delivery: Shipping/pickup options (at most 10).
        contact: Optional contact or messenger hint ("matrix: @ann:example.org").
        created_at: When the seller wrote it (unix seconds).
        language: BCP 47 language tag of the text (``en``, ``pt-BR``).
        tags: Search tags (at most 20, each 1..32 chars).
        terms_note: Return policy and other terms, in words (up to 2000 chars).
        arbitrator: Who rules disputes and its fee; equals the terms' (None: no arbitrator).
        messaging: The seller's messaging key and relays (version 2 on).
        request: The id of the request this listing answers (version 3 on; see
            :mod:`p2pchain.market._requests`).
    """

    schema_version: Literal[1, 2, 3] = 1
    title: Annotated[str, Field(min_length=1, max_length=140)]
    description: Annotated[str, Field(max_length=5000)] = ""
    category: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["sale", "service", "rental"]
    price: BaseUnits
    token: Token = "ETH"
    quantity: Annotated[int, Field(ge=1, le=_MAX_QUANTITY)] = 1
    images: Annotated[list[CidText], Field(max_length=MAX_IMAGES)] = []
    location: Location | None = None
    rental: RentalPeriod | None = None
    deposit: BaseUnits = 0
    seller: Address
    condition: Literal["new", "like_new", "good", "fair", "for_parts"] | None = None
    delivery: Annotated[list[Delivery], Field(max_length=10)] = []
    contact: Annotated[str, Field(max_length=200)] | None = None
    created_at: Annotated[int, Field(ge=0, le=_MAX_TIMESTAMP)]
    language: Annotated[str, Field(pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$")] = "en"
    tags: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=32)]], Field(max_length=20)
    ] = []
    terms_note: Annotated[str, Field(max_length=2000)] = ""
    arbitrator: ArbitratorInfo | None = None
    messaging: MessagingInfo | None = None
    request: RequestId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ListingDocument:
        if self.messaging is not None and self.schema_version < 2:
            raise ValueError("messaging: needs schema_version 2")
        if self.request is not None and self.schema_version < 3:
            raise ValueError("request: needs schema_version 3")
        if self.price == 0:
            raise ValueError("price: must be > 0")
        rental = self.kind == "rental"
        if rental and self.rental is None:
            raise ValueError("rental: required when kind is rental")
        if not rental and self.rental is not None:
            raise ValueError("rental: only for kind rental")
        if rental and self.deposit == 0:
            raise ValueError("deposit: must be > 0 when kind is rental")
        if not rental and self.deposit != 0:
            raise ValueError("deposit: must be 0 unless kind is rental")
        if self.kind == "sale" and self.condition is None:
            raise ValueError("condition: required for kind sale")
        if self.kind == "service" and self.condition is not None:
            raise ValueError("condition: not for kind service")
        if self.arbitrator is not None and self.arbitrator.address == self.seller:
            raise ValueError("arbitrator: cannot be the seller")
        return self

    @property
    def token_address(self) -> str:
        """The token as the terms carry it (the zero address for ETH)."""
        return ETH if self.token == "ETH" else self.token

    def canonical_json(self) -> bytes:
        """The canonical serialization: sorted keys, UTF-8, no whitespace.

        ``messaging`` and ``request`` are left out when unset, so a version 1 document
        serializes exactly as before version 2 existed (same bytes, same CID).
        """
        data = self.model_dump(mode="json")
        for optional in ("messaging", "request"):
            if data.get(optional) is None:
                data.pop(optional, None)
        return json.dumps(
            data,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        ).encode()


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not loc and ": " in msg:  # model-level checks name their field first
        return f"listing document: {msg}"
    return f"listing document: {loc or 'document'}: {msg}".splitlines()[0]


def _validated(data: Any) -> ListingDocument:
    if not isinstance(data, dict):
        raise ListingError("listing document: must be a JSON object")
    version = data.get("schema_version")
    if version is None:
        raise ListingError("listing document: schema_version: field required")
    if version not in SCHEMA_VERSIONS:
        raise ListingError(
            f"unsupported listing document version {version}; "
            f"this p2pchain reads versions {', '.join(map(str, SCHEMA_VERSIONS))}"
        )
    try:
        doc = ListingDocument.model_validate(data)
    except ValidationError as exc:
        raise ListingError(_first_error(exc)) from None
    if len(doc.canonical_json()) > MAX_DOCUMENT_SIZE:
        raise ListingError(
            f"listing document: {len(doc.canonical_json())} bytes serialized, over the "
            f"{MAX_DOCUMENT_SIZE}-byte limit"
        )
    return doc


def parse_listing_document(data: bytes | str | dict[str, Any]) -> ListingDocument:
    """Parse and validate a listing document.

    Args:
        data: The JSON (bytes or text) or an already decoded object.

    Returns:
        The document.

    Raises:
        ListingError: Over :data:`MAX_DOCUMENT_SIZE`, not JSON, an unknown ``schema_version``, or
            a field that breaks the schema (the message names the first bad field).
    """
    if isinstance(data, dict):
        return _validated(data)
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_DOCUMENT_SIZE:
        raise ListingError(
            f"listing document: {len(raw)} bytes, over the {MAX_DOCUMENT_SIZE}-byte limit"
        )
    try:
        decoded = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ListingError(f"listing document: not UTF-8 JSON: {exc}") from None
    return _validated(decoded)


def _as_document(document: ListingDocument | dict[str, Any]) -> ListingDocument:
    if isinstance(document, ListingDocument):
        return _validated(document.model_dump(mode="json"))
    return _validated(document)


# ---------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class PublishedListing:
    """What :func:`publish_listing` stored and sent.

    Attributes:
        document: The document as stored (its ``images`` set).
        document_cid: The document's CID.
        image_cids: The images' CIDs, in order.
        terms: The terms anchoring ``document_cid``.
        salt: The listing's salt.
        listing: The live on-chain listing (when sent).
        signed_listing: The signed listing (``signed=True``).
        unsigned: The listing transaction for a wallet (``wallet=...``).
    """

    document: ListingDocument
    document_cid: str
    image_cids: tuple[str, ...]
    terms: ListingTerms
    salt: bytes
    listing: Listing | None = None
    signed_listing: SignedListing | None = None
    unsigned: UnsignedTransaction | None = None


#: Image formats a listing photo may have, by their leading bytes.
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WebP", "AVIF", "HEIC")


def image_format(data: bytes) -> str | None:
    """The image format ``data`` starts with (one of :data:`IMAGE_FORMATS`), or None.

    Read from the file's own signature, never from its name: ``/etc/passwd`` renamed to
    ``bike.jpg`` is still not a photo.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "HEIC"
    return None


def _image_bytes(image: bytes | bytearray | Path, index: int) -> bytes:
    if isinstance(image, Path):
        try:
            size = image.stat().st_size
        except OSError as exc:
            raise ListingError(f"images[{index}]: cannot read {image}: {exc}") from None
        if size > MAX_IMAGE_SIZE:
            raise ListingError(
                f"images[{index}]: {image} is {size} bytes, over the {MAX_IMAGE_SIZE}-byte limit"
            )
        data = image.read_bytes()
    elif isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    else:
        raise ListingError(f"images[{index}]: must be bytes or a Path, got {type(image).__name__}")
    if len(data) > MAX_IMAGE_SIZE:
        raise ListingError(
            f"images[{index}]: {len(data)} bytes, over the {MAX_IMAGE_SIZE}-byte limit"
        )
    if not data:
        raise ListingError(f"images[{index}]: empty")
    if image_format(data) is None:
        what = str(image) if isinstance(image, Path) else f"{len(data)} bytes"
        raise ListingError(f"images[{index}]: {what} is not an image ({', '.join(IMAGE_FORMATS)})")
    return data


def _store(backend: IpfsBackend, data: bytes, expected: str, what: str, cid_version: int) -> None:
    cid = backend.add(data, cid_version=cid_version, pin=True)
    if CID.parse(cid) != CID.parse(expected):
        raise IpfsError(f"{what}: the backend stored it as {cid}, expected {expected}")
    backend.pin(cid)


def publish_listing(
    client: MarketplaceClient,
    backend: IpfsBackend,
    document: ListingDocument | dict[str, Any],
    images: Sequence[bytes | Path] = (),
    *,
    quantity: int | None = None,
    salt: bytes | str | None = None,
    signed: bool = False,
    wallet: str | None = None,
    arbitrator: str | None = None,
    arbitrator_fee_bps: int | None = None,
    review_window: int = DEFAULT_REVIEW_WINDOW,
    expiry: int = 0,
    cid_version: int = 1,
) -> PublishedListing:
    """Store a listing's images and document on IPFS (pinned), then list it.

    Order: everything is validated first (schema, sizes, terms, and for on-chain listings a
    simulation of the listing call); then each image is stored and pinned, its CID set in the
    document; then the document (canonical JSON) is stored and pinned; then ``backend.has`` must
    hold for every CID; only then is the listing sent (or signed, or prepared for a wallet). If
    any storage step fails nothing is sent: the seller's nonce is unchanged.

    The terms are built from the document (seller, price, deposit, token, arbitrator and fee),
    so they always agree with it.

    Args:
        client: The seller's client (its account is the seller, unless ``wallet`` is given).
        backend: Where to store (LocalStore, KuboBackend...).
        document: The document; its ``images`` are replaced by the CIDs of ``images``.
        images: Photos, as bytes or paths (at most 10, each at most 5 MiB).
        quantity: Units to list; the document's ``quantity`` when None (they must agree).
        salt: The listing's 32-byte salt; random when None.
        signed: Sign the listing off-chain (EIP-712, no gas) instead of sending it.
        wallet: Send nothing: return the unsigned listing transaction from this address.
        arbitrator: When given, must equal the document's arbitrator address.
        arbitrator_fee_bps: When given, must equal the document's arbitrator fee.
        review_window: Seconds after a purchase during which the parties may dispute.
        expiry: Unix time from which the listing can no longer be bought; 0 for never.
        cid_version: CID version for the stored files (1: ``bafk...`` raw leaves; 0: ``Qm...``).

    Returns:
        The stored document, its CID, the image CIDs, the terms and the listing.

    Raises:
        ListingError: The document or an image breaks the schema or a size limit, or the
            arguments disagree with the document.
        IpfsError: A storage step failed (nothing was sent).
        InputError: Malformed terms.
        CustomError: The contract would refuse the listing (nothing stored, nothing sent).
    """
    if signed and wallet is not None:
        raise ListingError("give signed=True or wallet=..., not both")
    if len(images) > MAX_IMAGES:
        raise ListingError(f"images: {len(images)} given, at most {MAX_IMAGES}")
    datas = [_image_bytes(image, i) for i, image in enumerate(images)]
    image_cids = [compute_cid(data, cid_version=cid_version) for data in datas]
    base = _as_document(document)
    fields = base.model_dump(mode="json")
    fields["images"] = image_cids
    doc = _validated(fields)
    units = doc.quantity if quantity is None else quantity
    if units != doc.quantity:
        raise ListingError(f"quantity: {units} given, the document says {doc.quantity}")
    seller = to_checksum_address(wallet) if wallet is not None else client.address
    if doc.seller != seller:
        raise ListingError(f"seller: the document says {doc.seller}, the listing is by {seller}")
    doc_arbitrator = doc.arbitrator.address if doc.arbitrator else ZERO_ADDRESS
    doc_fee = doc.arbitrator.fee_bps if doc.arbitrator else 0
    if arbitrator is not None and to_checksum_address(arbitrator) != doc_arbitrator:
        raise ListingError(f"arbitrator: {arbitrator} given, the document says {doc_arbitrator}")
    if arbitrator_fee_bps is not None and arbitrator_fee_bps != doc_fee:
        raise ListingError(
            f"arbitrator.fee_bps: {arbitrator_fee_bps} given, the document says {doc_fee}"
        )
    body = doc.canonical_json()
    doc_cid = compute_cid(body, cid_version=cid_version)
    terms = client.make_terms(
        price=doc.price,
        cid=doc_cid,
        seller=seller,
        token=doc.token_address,
        deposit=doc.deposit,
        arbitrator=doc_arbitrator,
        arbitrator_fee_bps=doc_fee,
        review_window=review_window,
        expiry=expiry,
    )
    salt_bytes = bytes.fromhex(salt.removeprefix("0x")) if isinstance(salt, str) else salt
    if salt_bytes is None:
        salt_bytes = os.urandom(32)
    if signed:
        client.check_terms(terms)
        call = None
    else:
        call = client.prepare_create_listing(terms, units, salt=salt_bytes, sender=seller)
        call.check()

    # Storage: images, then the document; all pinned, all present, before anything is sent.
    for i, (data, cid) in enumerate(zip(datas, image_cids, strict=True)):
        _store(backend, data, cid, f"images[{i}]", cid_version)
    _store(backend, body, doc_cid, "listing document", cid_version)
    missing = [cid for cid in (*image_cids, doc_cid) if not backend.has(cid)]
    if missing:
        raise IpfsError(f"the backend does not hold {missing[0]} after storing it; nothing sent")

    result = PublishedListing(
        document=doc,
        document_cid=doc_cid,
        image_cids=tuple(image_cids),
        terms=terms,
        salt=salt_bytes,
    )
    if signed:
        signed_listing = client.sign_listing(terms, units, salt=salt_bytes)
        return replace(result, signed_listing=signed_listing)
    assert call is not None
    if wallet is not None:
        return replace(result, unsigned=call.unsigned())
    return replace(result, listing=call.send())


# ---------------------------------------------------------------------- fetching


@dataclass(frozen=True)
class VerifiedListing:
    """A listing whose document and images were fetched, verified and checked against the chain.

    Attributes:
        listing: The on-chain listing (terms, units, status).
        document: The parsed document.
        document_cid: The document's CID (as anchored in the terms).
        image_cids: The images' CIDs, in the document's order.
        images: The images' bytes, verified against their CIDs.
    """

    listing: Listing
    document: ListingDocument
    document_cid: str
    image_cids: tuple[str, ...]
    images: tuple[bytes, ...]

    @property
    def id(self) -> bytes:
        """The listing id."""
        return self.listing.id

    @property
    def terms(self) -> ListingTerms:
        """The on-chain terms."""
        return self.listing.terms

    @property
    def status(self) -> ListingStatus:
        """The listing's status."""
        return self.listing.status


def _cat(backend: IpfsBackend, cid: str, limit: int, what: str) -> bytes:
    try:
        return backend.cat(cid, max_size=limit)
    except ContentVerificationError:
        raise
    except IpfsError as exc:
        if _LIMIT_MESSAGE.search(str(exc)):
            raise ListingError(f"{what} {cid} is over the {limit}-byte limit") from None
        raise


def check_agreement(document: ListingDocument, listing: Listing) -> None:
    """Check a document against the on-chain listing it belongs to.

    Raises:
        ListingError: Naming the first field that disagrees (seller, price, deposit, token,
            arbitrator, arbitrator.fee_bps, kind, quantity).
    """
    t = listing.terms
    arb = document.arbitrator
    pairs: list[tuple[str, object, object]] = [
        ("seller", document.seller, checksum_address(t.seller)),
        ("price", document.price, t.price),
        ("deposit", document.deposit, t.deposit),
        ("token", document.token_address, checksum_address(t.token)),
        ("arbitrator", arb.address if arb else ZERO_ADDRESS, checksum_address(t.arbitrator)),
        ("arbitrator.fee_bps", arb.fee_bps if arb else 0, t.arbitrator_fee_bps),
        ("kind", document.kind == "rental", t.deposit > 0),
        ("quantity", document.quantity, listing.listed_quantity),
    ]
    for name, doc_value, chain_value in pairs:
        if doc_value != chain_value:
            if name == "kind":
                raise ListingError(
                    f"listing document disagrees with the terms on kind: {document.kind!r} "
                    f"but the on-chain deposit is {t.deposit}"
                )
            raise ListingError(
                f"listing document disagrees with the terms on {name}: "
                f"document {doc_value}, chain {chain_value}"
            )


def fetch_listing(
    client: MarketplaceClient,
    backend: IpfsBackend,
    listing: bytes | str | Listing | SignedListing,
    *,
    with_images: bool = True,
) -> VerifiedListing:
    """Fetch a listing with its document and images, all verified.

    Reads the on-chain listing, fetches the document by the CID its terms anchor (verified by
    the backend, at most :data:`MAX_DOCUMENT_SIZE` bytes), parses it, fetches each image
    (verified, at most :data:`MAX_IMAGE_SIZE` bytes) and checks the document against the terms.

    Args:
        client: Any client on the marketplace (no account needed).
        backend: Where to read (LocalStore, KuboBackend, GatewayBackend).
        listing: A listing id, or a listing or signed listing.
        with_images: Fetch and verify the images too (else ``images`` is empty).

    Returns:
        The verified listing.

    Raises:
        NotFoundError: No such listing.
        ContentVerificationError: The document or an image does not match its CID.
        IpfsError: Content missing or unreachable.
        ListingError: The document is oversized, malformed, of an unknown version, or disagrees
            with the terms (the message names the field).
    """
    current = client.listing(listing)
    doc_cid = str(CID.parse(current.terms.cid))
    raw = _cat(backend, doc_cid, MAX_DOCUMENT_SIZE, "listing document")
    document = parse_listing_document(raw)
    check_agreement(document, current)
    images = tuple(
        _cat(backend, cid, MAX_IMAGE_SIZE, f"images[{i}]") if with_images else b""
        for i, cid in enumerate(document.images)
    )
    return VerifiedListing(
        listing=current,
        document=document,
        document_cid=doc_cid,
        image_cids=tuple(document.images),
        images=images if with_images else (),
    )


__all__ = [
    "IMAGE_FORMATS",
    "MAX_DOCUMENT_SIZE",
    "MAX_IMAGES",
    "MAX_IMAGE_SIZE",
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "ArbitratorInfo",
    "Delivery",
    "ListingDocument",
    "Location",
    "MessagingInfo",
    "PublishedListing",
    "RentalPeriod",
    "RequestId",
    "VerifiedListing",
    "check_agreement",
    "fetch_listing",
    "image_format",
    "parse_listing_document",
    "publish_listing",
]
