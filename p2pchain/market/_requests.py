"""Requests: a buyer asks for something, providers answer with signed listings, the buyer accepts.

A *request* ("a ride from Thamel to the airport at 8:00 for at most 0.004 ETH") is two things,
like a listing: a JSON *request document* on IPFS (:class:`RequestDocument`) and the requester's
EIP-712 signature over its CID, in the Marketplace's EIP-712 domain::

    Request(address requester, bytes8 cidPrefix, bytes32 cidDigest, uint40 expiry)

Nothing goes on-chain and nothing costs gas. The request id is the signed digest. Anyone can
check a request (:func:`verify_request`): the signature recovers the requester, the document
matches the CID and agrees with the signed fields (requester, expiry, chain, marketplace).

An *answer* is an ordinary signed listing (EIP-712 ``Listing``, bought with ``buySigned``) whose
listing document (schema version 3) names the request: ``"request": <request id>``, in the
request's token, at most its price (:func:`publish_answer`, :func:`check_answer`). Accepting an
answer is buying that signed listing: an ordinary escrowed trade.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from pydantic import AwareDatetime, Field, ValidationError, model_validator

from p2pchain._errors import ContentVerificationError, IpfsError, ListingError, RequestError
from p2pchain.chain._model import (
    checksum_address,
    eip712_digest,
    split_cid,
    typed_data,
)
from p2pchain.ipfs import CID, IpfsBackend, compute_cid
from p2pchain.market._client import MarketplaceClient
from p2pchain.market._listings import (
    DEFAULT_REVIEW_WINDOW,
    MAX_DOCUMENT_SIZE,
    SCHEMA_VERSION,
    Address,
    BaseUnits,
    ListingDocument,
    Location,
    MessagingInfo,
    PublishedListing,
    Token,
    _as_document,
    _store,
    _Strict,
    publish_listing,
)
from p2pchain.market._reads import ETH
from p2pchain.market._validation import InputError
from p2pchain.market._validation import signature as check_signature
from p2pchain.market._views import SignedListing

#: The request document schema this library writes and reads.
REQUEST_SCHEMA = "p2pchain/request/1"
_MAX_TIMESTAMP = 2**40 - 1
_MAX_QUANTITY = 2**32 - 1

#: EIP-712 type of a signed request (in the Marketplace's domain).
REQUEST_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "Request": [
        {"name": "requester", "type": "address"},
        {"name": "cidPrefix", "type": "bytes8"},
        {"name": "cidDigest", "type": "bytes32"},
        {"name": "expiry", "type": "uint40"},
    ],
}


class TimeWindow(_Strict):
    """When the thing is wanted: from ``start``, until ``end`` (each optional, with a time zone).

    Attributes:
        start: Earliest time (ISO 8601 with an offset, ``2026-12-05T08:00:00+05:45``).
        end: Latest time; after ``start`` when both are given.
    """

    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.start is None and self.end is None:
            raise ValueError("give start, end or both")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def unix(self) -> tuple[int | None, int | None]:
        """``(start, end)`` as unix seconds."""

        def secs(value: datetime | None) -> int | None:
            return None if value is None else int(value.timestamp())

        return secs(self.start), secs(self.end)


class RequestDocument(_Strict):
    """A request document: what the requester's signature points to (through its CID).

    Amounts are integers in the token's base units (decimal strings in JSON); unknown fields are
    refused, as in listing documents.

    Attributes:
        schema_id: Always :data:`REQUEST_SCHEMA`.
        title: What is wanted, in short (1..140 chars).
        description: More words (up to 5000 chars).
        kind: ``sale`` (goods), ``service`` or ``rental``, as listings.
        category: Category path, e.g. ``transport/taxi`` (1..64 chars).
        location: Where, optionally (with ``lat``/``lon`` for searches by distance).
        radius_km: How far from ``location`` an answer may be (needs ``location.lat``/``lon``).
        when: The wanted time window, optionally.
        quantity: Units wanted (1..2**32 - 1).
        max_price: Highest unit price, in base units (> 0).
        token: ``"ETH"`` or an ERC-20 address, the answers' token.
        expiry: Unix time after which the request is no longer open (also signed).
        requester: The requester's checksummed address (also signed).
        chain_id: The chain of the marketplace (also signed, through the EIP-712 domain).
        marketplace: The Marketplace address (also signed, through the domain).
        messaging: How to message the requester, optionally.
        created_at: When the requester wrote it (unix seconds).
    """

    schema_id: Literal["p2pchain/request/1"] = "p2pchain/request/1"
    title: Annotated[str, Field(min_length=1, max_length=140)]
    description: Annotated[str, Field(max_length=5000)] = ""
    kind: Literal["sale", "service", "rental"]
    category: Annotated[str, Field(min_length=1, max_length=64)]
    location: Location | None = None
    radius_km: Annotated[float, Field(gt=0, le=20_040)] | None = None
    when: TimeWindow | None = None
    quantity: Annotated[int, Field(ge=1, le=_MAX_QUANTITY)] = 1
    max_price: BaseUnits
    token: Token = "ETH"
    expiry: Annotated[int, Field(ge=1, le=_MAX_TIMESTAMP)]
    requester: Address
    chain_id: Annotated[int, Field(ge=1, le=2**64 - 1)]
    marketplace: Address
    messaging: MessagingInfo | None = None
    created_at: Annotated[int, Field(ge=0, le=_MAX_TIMESTAMP)]

    @model_validator(mode="after")
    def _consistent(self) -> RequestDocument:
        if self.max_price == 0:
            raise ValueError("max_price: must be > 0")
        if self.radius_km is not None and (self.location is None or self.location.lat is None):
            raise ValueError("radius_km: needs location.lat and location.lon")
        if self.expiry <= self.created_at:
            raise ValueError("expiry: must be after created_at")
        return self

    @property
    def token_address(self) -> str:
        """The token as terms carry it (the zero address for ETH)."""
        return ETH if self.token == "ETH" else self.token

    def canonical_json(self) -> bytes:
        """The canonical serialization (sorted keys, UTF-8, no whitespace; unset optionals left
        out, at every level): the bytes whose CID is signed."""
        data = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not loc and ": " in msg:
        return f"request document: {msg}"
    return f"request document: {loc or 'document'}: {msg}".splitlines()[0]


def parse_request_document(data: bytes | str | dict[str, Any] | RequestDocument) -> RequestDocument:
    """Parse and validate a request document.

    Args:
        data: The JSON (bytes or text), a decoded object, or a document.

    Returns:
        The document.

    Raises:
        RequestError: Over :data:`~p2pchain.market._listings.MAX_DOCUMENT_SIZE` bytes, not JSON,
            another schema, or a field that breaks the schema (the message names it).
    """
    if isinstance(data, RequestDocument):
        data = data.model_dump(mode="json")
    if isinstance(data, (bytes, bytearray, str)):
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if len(raw) > MAX_DOCUMENT_SIZE:
            raise RequestError(
                f"request document: {len(raw)} bytes, over the {MAX_DOCUMENT_SIZE}-byte limit"
            )
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestError(f"request document: not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("request document: must be a JSON object")
    if data.get("schema_id") != REQUEST_SCHEMA:
        raise RequestError(
            f"request document: schema_id must be {REQUEST_SCHEMA!r},"
            f" got {str(data.get('schema_id'))[:80]!r}"
        )
    try:
        doc = RequestDocument.model_validate(data)
    except ValidationError as exc:
        raise RequestError(_first_error(exc)) from None
    if len(doc.canonical_json()) > MAX_DOCUMENT_SIZE:
        raise RequestError(f"request document: over the {MAX_DOCUMENT_SIZE}-byte limit")
    return doc


# ---------------------------------------------------------------------- signing


def request_typed_data(
    requester: str, cid: str | bytes, expiry: int, *, chain_id: int, marketplace: str
) -> dict[str, Any]:
    """The full EIP-712 typed data a requester signs (``eth_signTypedData_v4``).

    Raises:
        RequestError: A CID that does not fit the contract's ``(bytes8, bytes32)`` form.
    """
    try:
        prefix, digest = split_cid(bytes(CID.parse(cid)))
    except (ValueError, IpfsError) as exc:
        raise RequestError(f"request cid: {exc}") from None
    message = {
        "requester": checksum_address(requester),
        "cidPrefix": prefix,
        "cidDigest": digest,
        "expiry": expiry,
    }
    return typed_data(
        REQUEST_EIP712_TYPES, "Request", message, chain_id=chain_id, contract=marketplace
    )


@dataclass(frozen=True)
class SignedRequest:
    """A request as its requester signed it: share it with its document's CID.

    Attributes:
        requester: Who asks.
        cid: The request document's CID (text).
        expiry: Unix time after which the request is closed.
        signature: The requester's 65-byte signature.
        chain_id: The chain the signature is bound to.
        marketplace: The Marketplace the signature is bound to.
        id: The request id: the EIP-712 digest the requester signed.
    """

    requester: str
    cid: str
    expiry: int
    signature: bytes
    chain_id: int
    marketplace: str
    id: bytes

    @property
    def id_hex(self) -> str:
        """The id as 0x hex."""
        return "0x" + self.id.hex()

    def typed_data(self) -> dict[str, Any]:
        """The EIP-712 typed data that was signed."""
        return request_typed_data(
            self.requester,
            self.cid,
            self.expiry,
            chain_id=self.chain_id,
            marketplace=self.marketplace,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_json` reads back."""
        return {
            "requester": self.requester,
            "cid": self.cid,
            "expiry": self.expiry,
            "signature": "0x" + self.signature.hex(),
            "chainId": self.chain_id,
            "marketplace": self.marketplace,
            "id": self.id_hex,
        }

    @classmethod
    def from_json(cls, data: Any) -> SignedRequest:
        """Read a shared request and check its signature (not its document: see
        :func:`verify_request`).

        Raises:
            RequestError: A missing or malformed field, an ``id`` that is not the digest of the
                signed fields, or a signature that is not the requester's.
        """
        if not isinstance(data, dict):
            raise RequestError("signed request: must be a JSON object")
        for key in ("requester", "cid", "expiry", "signature", "chainId", "marketplace"):
            if key not in data:
                raise RequestError(f"signed request: {key} is missing")
        requester, marketplace = data["requester"], data["marketplace"]
        for name, value in (("requester", requester), ("marketplace", marketplace)):
            if not isinstance(value, str) or _address_or_none(value) is None:
                raise RequestError(f"signed request: {name} is not an address: {value!r:.80}")
        expiry, chain_id = data["expiry"], data["chainId"]
        for name, value, top in (("expiry", expiry, _MAX_TIMESTAMP), ("chainId", chain_id, 2**64)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= top:
                raise RequestError(f"signed request: {name} must be a positive integer")
        cid = data["cid"]
        if not isinstance(cid, str):
            raise RequestError("signed request: cid must be CID text")
        try:
            cid = str(CID.parse(cid))
        except IpfsError:
            raise RequestError(f"signed request: cid is not a CID: {cid[:80]!r}") from None
        try:
            sig = check_signature(data["signature"], "signed request: signature")
        except InputError as exc:
            raise RequestError(str(exc)) from None
        return _recovered(
            str(_address_or_none(requester)),
            cid,
            expiry,
            sig,
            chain_id,
            str(_address_or_none(marketplace)),
            claimed=data.get("id"),
        )


def _address_or_none(value: str) -> str | None:
    """``value`` checksummed, or None if it is not an address."""
    try:
        return str(checksum_address(value))
    except (ValueError, TypeError):
        return None


def _recovered(
    requester: str,
    cid: str,
    expiry: int,
    sig: bytes,
    chain_id: int,
    marketplace: str,
    *,
    claimed: Any = None,
) -> SignedRequest:
    typed = request_typed_data(requester, cid, expiry, chain_id=chain_id, marketplace=marketplace)
    signable = encode_typed_data(full_message=typed)
    digest = eip712_digest(signable)
    if claimed is not None and str(claimed).lower() != "0x" + digest.hex():
        raise RequestError(
            f"signed request: its id {str(claimed)[:80]} is not the digest of its fields"
            f" (0x{digest.hex()}): it was altered"
        )
    try:
        signer = Account.recover_message(signable, signature=sig)
    except (ValueError, TypeError) as exc:
        raise RequestError(f"signed request: malformed signature: {exc}") from None
    if signer != requester:
        raise RequestError(
            f"signed request: the signature is by {signer}, not by the requester {requester}"
        )
    return SignedRequest(requester, cid, expiry, sig, chain_id, marketplace, digest)


def sign_request(account: Any, document: RequestDocument, *, cid_version: int = 1) -> SignedRequest:
    """Sign a request document with a local account (EIP-712; no gas).

    Args:
        account: The requester's ``LocalAccount``.
        document: The document; its ``requester`` must be the account.
        cid_version: CID version of the stored document.

    Raises:
        RequestError: The document names another requester.
    """
    if checksum_address(account.address) != document.requester:
        raise RequestError(
            f"requester: the document says {document.requester}, the signer is {account.address}"
        )
    cid = compute_cid(document.canonical_json(), cid_version=cid_version)
    typed = request_typed_data(
        document.requester,
        cid,
        document.expiry,
        chain_id=document.chain_id,
        marketplace=document.marketplace,
    )
    signed = account.sign_typed_data(full_message=typed)
    return SignedRequest.from_json(
        {
            "requester": document.requester,
            "cid": cid,
            "expiry": document.expiry,
            "signature": "0x" + bytes(signed.signature).hex(),
            "chainId": document.chain_id,
            "marketplace": document.marketplace,
        }
    )


# ---------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class VerifiedRequest:
    """A signed request whose document was checked against its CID and signed fields.

    Attributes:
        signed: The signed request.
        document: Its document.
    """

    signed: SignedRequest
    document: RequestDocument

    @property
    def id(self) -> str:
        """The request id, 0x hex."""
        return self.signed.id_hex


def verify_request(
    signed: SignedRequest | dict[str, Any],
    document: bytes | str | dict[str, Any] | RequestDocument,
    *,
    chain_id: int,
    marketplace: str,
    now: int | None = None,
) -> VerifiedRequest:
    """Check a request: signature, document against CID and signed fields, chain, expiry.

    Args:
        signed: The signed request (or its shared JSON).
        document: Its document: the bytes fetched by its CID (checked against it), or a parsed
            document (its canonical JSON is checked).
        chain_id: The chain the request must be for.
        marketplace: The Marketplace it must be for.
        now: Chain time; a request whose expiry is at or before it is refused (None: unchecked).

    Raises:
        RequestError: The first check that fails, in one line.
    """
    request = signed if isinstance(signed, SignedRequest) else SignedRequest.from_json(signed)
    if request.chain_id != chain_id or request.marketplace != checksum_address(marketplace):
        raise RequestError(
            f"the request is for chain {request.chain_id} marketplace {request.marketplace},"
            f" not chain {chain_id} marketplace {checksum_address(marketplace)}"
        )
    if isinstance(document, (bytes, bytearray, str)):
        raw = document.encode() if isinstance(document, str) else bytes(document)
    else:
        raw = parse_request_document(document).canonical_json()
    expected = CID.parse(request.cid)
    if CID.parse(compute_cid(raw, cid_version=expected.version)) != expected:
        raise RequestError(f"request document: does not match the signed CID {request.cid}")
    doc = parse_request_document(raw)
    pairs: list[tuple[str, object, object]] = [
        ("requester", doc.requester, request.requester),
        ("expiry", doc.expiry, request.expiry),
        ("chain_id", doc.chain_id, request.chain_id),
        ("marketplace", doc.marketplace, request.marketplace),
    ]
    for name, in_doc, signed_value in pairs:
        if in_doc != signed_value:
            raise RequestError(
                f"request document disagrees with the signature on {name}:"
                f" document {in_doc}, signed {signed_value}"
            )
    if now is not None and request.expiry <= now:
        raise RequestError(f"the request expired at {request.expiry} (now {now})")
    return VerifiedRequest(request, doc)


def fetch_request(
    backend: IpfsBackend,
    signed: SignedRequest | dict[str, Any],
    *,
    chain_id: int,
    marketplace: str,
    now: int | None = None,
) -> VerifiedRequest:
    """Fetch a request's document by its CID (verified) and :func:`verify_request` it.

    Raises:
        RequestError: A check failed, or the document is oversized.
        IpfsError: The document cannot be read.
    """
    request = signed if isinstance(signed, SignedRequest) else SignedRequest.from_json(signed)
    try:
        raw = backend.cat(request.cid, max_size=MAX_DOCUMENT_SIZE)
    except ContentVerificationError:
        raise RequestError(f"request document: does not match its CID {request.cid}") from None
    except IpfsError as exc:
        if "-byte limit" in str(exc):
            raise RequestError(
                f"request document {request.cid} is over the {MAX_DOCUMENT_SIZE}-byte limit"
            ) from None
        raise
    return verify_request(request, raw, chain_id=chain_id, marketplace=marketplace, now=now)


# ---------------------------------------------------------------------- publishing


def publish_request(
    client: MarketplaceClient,
    backend: IpfsBackend,
    document: RequestDocument | dict[str, Any],
    *,
    cid_version: int = 1,
) -> VerifiedRequest:
    """Store a request document on IPFS (pinned) and sign it with the client's account.

    The document must name the client's account, chain and marketplace, and expire after the
    chain's clock. Nothing is sent: signing costs no gas.

    Raises:
        RequestError: The document breaks the schema or names another requester, chain or
            marketplace, or is already expired.
        IpfsError: Storing failed.
        WalletError: The client has no account.
    """
    doc = parse_request_document(document)
    account = client.account
    if account is None or account.address != doc.requester:
        raise RequestError(
            f"requester: the document says {doc.requester},"
            f" the client signs as {account.address if account else 'nobody'}"
        )
    if doc.chain_id != client.chain_id or doc.marketplace != client.deployment.marketplace:
        raise RequestError(
            f"the document is for chain {doc.chain_id} marketplace {doc.marketplace}, not chain"
            f" {client.chain_id} marketplace {client.deployment.marketplace}"
        )
    now = client.now()
    if doc.expiry <= now:
        raise RequestError(f"expiry: {doc.expiry} is not after the chain's time {now}")
    signed = sign_request(account, doc, cid_version=cid_version)
    body = doc.canonical_json()
    _store(backend, body, signed.cid, "request document", cid_version)
    if not backend.has(signed.cid):
        raise IpfsError(f"the backend does not hold {signed.cid} after storing it")
    return VerifiedRequest(signed, doc)


# ---------------------------------------------------------------------- answers


def check_answer(
    request: VerifiedRequest,
    listing: SignedListing,
    document: ListingDocument,
    *,
    now: int | None = None,
) -> None:
    """Check that a signed listing answers a request.

    Its document names the request, is of the request's kind, priced in its token at most its
    ``max_price`` per unit, offers at least the units asked for, is by someone other than the
    requester, and agrees with the signed terms; the listing is for the request's chain and
    marketplace and still buyable at ``now``.

    Raises:
        RequestError: Naming the first check that fails.
    """
    doc, want = document, request.document
    terms = listing.terms
    if (listing.chain_id, listing.marketplace) != (want.chain_id, want.marketplace):
        raise RequestError("answer: the signed listing is for another chain or marketplace")
    checks: list[tuple[bool, str]] = [
        (doc.seller == listing.seller, f"its document's seller {doc.seller} is not the signer"),
        (doc.price == terms.price, f"its document's price {doc.price} is not the signed one"),
        (
            doc.token_address == checksum_address(terms.token),
            "its document's token is not the signed one",
        ),
        (doc.quantity == listing.quantity, "its document's quantity is not the signed one"),
    ]
    for ok, why in checks:
        if not ok:
            raise RequestError(f"answer: {why}")
    _check_offer(request, doc)
    if now is not None and terms.expiry != 0 and terms.expiry <= now:
        raise RequestError(f"answer: the signed listing expired at {terms.expiry}")


def _check_offer(request: VerifiedRequest, doc: ListingDocument) -> None:
    """The document-only part of :func:`check_answer`."""
    want = request.document
    checks: list[tuple[bool, str]] = [
        (doc.request == request.id, f"its document answers {doc.request}, not {request.id}"),
        (doc.seller != want.requester, "the requester cannot answer their own request"),
        (doc.kind == want.kind, f"kind {doc.kind!r}, the request asks for {want.kind!r}"),
        (
            doc.token_address == want.token_address,
            f"token {doc.token}, the request pays in {want.token}",
        ),
        (
            doc.price <= want.max_price,
            f"price {doc.price} is above the request's max_price {want.max_price}",
        ),
        (
            doc.quantity >= want.quantity,
            f"{doc.quantity} units offered, the request asks for {want.quantity}",
        ),
    ]
    for ok, why in checks:
        if not ok:
            raise RequestError(f"answer: {why}")


def answer_listing(
    request: VerifiedRequest, document: ListingDocument | dict[str, Any]
) -> ListingDocument:
    """A listing document made an answer: ``schema_version`` 3 and ``request`` set, then checked
    against the request (kind, token, price, units, not the requester's own), as
    :func:`publish_answer` does before anything is stored or signed.

    Raises:
        RequestError: The document breaks the listing schema or would not answer the request.
    """
    if isinstance(document, ListingDocument):
        fields = document.model_dump(mode="json")
    elif isinstance(document, dict):
        fields = dict(document)
    else:
        raise RequestError("answer: the listing document must be a JSON object")
    fields["schema_version"] = SCHEMA_VERSION
    fields["request"] = request.id
    try:
        doc = _as_document(fields)
    except ListingError as exc:
        raise RequestError(f"answer: {exc}") from None
    _check_offer(request, doc)
    return doc


def answer_document(
    request: VerifiedRequest,
    *,
    seller: str,
    price: int,
    created_at: int,
    title: str | None = None,
    description: str = "",
    category: str | None = None,
    condition: str | None = None,
    deposit: int | None = None,
    arbitrator: str | None = None,
    arbitrator_fee_bps: int = 0,
) -> ListingDocument:
    """The listing document a provider answers a request with, filled from the request: its
    kind, token, units and place (and category and title unless given); goods get a
    ``condition`` (default ``good``); a rental rents for the request's window, with ``deposit``.
    Checked by :func:`answer_listing`. The signed terms must name the same arbitrator and fee.

    Args:
        request: The request answered.
        seller: The provider's address.
        price: Unit price, in the request token's base units (at most its ``max_price``).
        created_at: When the answer is written (unix seconds).
        title: Title (default: the request's).
        description: What is offered, in words.
        category: Category (default: the request's).
        condition: For goods and rentals: ``new``, ``like_new``, ``good``, ``fair``, ``for_parts``.
        deposit: For rentals only, the refundable deposit per unit (base units, > 0).
        arbitrator: Who rules disputes, optionally (not the provider).
        arbitrator_fee_bps: Its fee, in basis points (at most 1000), with ``arbitrator``.

    Raises:
        RequestError: A rental request without a start and end, a deposit missing from a rental
            answer or given to another kind, or a document that would not answer the request.
    """
    want = request.document
    doc: dict[str, Any] = {
        "title": title or want.title,
        "description": description,
        "category": category or want.category,
        "kind": want.kind,
        "price": str(price),
        "token": want.token,
        "quantity": want.quantity,
        "seller": seller,
        "created_at": created_at,
    }
    if want.kind == "sale":
        doc["condition"] = condition or "good"
    elif want.kind == "rental":
        start, end = want.when.unix() if want.when is not None else (None, None)
        if start is None or end is None:
            raise RequestError(
                "answer: a rental answer rents for the request's window, and this request"
                " gives no start and end"
            )
        if deposit is None:
            raise RequestError("answer: deposit: a rental answer needs one")
        doc["rental"] = {"start": start, "end": end}
        doc["deposit"] = str(deposit)
        if condition is not None:
            doc["condition"] = condition
    elif deposit is not None:
        raise RequestError("answer: deposit: for rentals only")
    if want.location is not None:
        doc["location"] = want.location.model_dump(mode="json", exclude_none=True)
    if arbitrator is not None:
        address = _address_or_none(arbitrator)
        if address is None:
            raise RequestError(f"answer: arbitrator: not an address: {arbitrator[:80]!r}")
        if address == want.requester:
            raise RequestError("answer: arbitrator: cannot be the requester, who would buy")
        doc["arbitrator"] = {"address": address, "fee_bps": arbitrator_fee_bps}
    elif arbitrator_fee_bps:
        raise RequestError("answer: arbitrator_fee_bps: needs an arbitrator")
    return answer_listing(request, doc)


def publish_answer(
    client: MarketplaceClient,
    backend: IpfsBackend,
    request: VerifiedRequest,
    document: ListingDocument | dict[str, Any],
    *,
    expiry: int = 0,
    review_window: int = DEFAULT_REVIEW_WINDOW,
    cid_version: int = 1,
) -> PublishedListing:
    """Answer a request: a signed listing (no gas) whose document names the request.

    The document gets ``schema_version`` 3 and ``request``; it is checked against the request
    (:func:`check_answer`) before anything is stored or signed. The listing expires with the
    request unless ``expiry`` is given.

    Raises:
        RequestError: The listing would not answer the request.
        ListingError: The document breaks the listing schema.
        IpfsError: Storing failed.
    """
    doc = answer_listing(request, document)
    if expiry == 0:
        expiry = request.document.expiry
    published = publish_listing(
        client,
        backend,
        doc,
        signed=True,
        expiry=expiry,
        review_window=review_window,
        cid_version=cid_version,
    )
    assert published.signed_listing is not None
    check_answer(request, published.signed_listing, published.document, now=client.now())
    return published


__all__ = [
    "REQUEST_EIP712_TYPES",
    "REQUEST_SCHEMA",
    "RequestDocument",
    "SignedRequest",
    "TimeWindow",
    "VerifiedRequest",
    "answer_document",
    "answer_listing",
    "check_answer",
    "fetch_request",
    "parse_request_document",
    "publish_answer",
    "publish_request",
    "request_typed_data",
    "sign_request",
    "verify_request",
]
