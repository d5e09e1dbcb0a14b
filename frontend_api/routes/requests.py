"""Requests: what buyers ask for (signed off-chain, no gas), their matches and their answers.

A request is posted as the requester signed it (``SignedRequest.to_json``); the API fetches its
document through its own IPFS backend, and the index verifies both (signature, CID, signed
fields, chain, marketplace, expiry) before storing it. An answer is a signed listing whose
document names the request; accepting it is buying it (``POST /api/tx/buy`` with
``signed_listing``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from eth_account.messages import encode_typed_data
from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from frontend_api.deps import ServicesDep
from frontend_api.errors import ApiError
from frontend_api.routes.accounts import index_now
from frontend_api.routes.ipfs import store
from frontend_api.routes.listings import _first_error, _search_answer
from frontend_api.routes.tx import typed_data_json
from frontend_api.schemas import Address, PositiveAmount, SearchOut
from frontend_api.services import Services
from p2pchain._errors import ListingError, RequestError
from p2pchain.chain._model import ZERO_ADDRESS, eip712_digest
from p2pchain.indexer import IndexedAnswer, IndexedRequest, RequestQuery
from p2pchain.ipfs import CID
from p2pchain.market._listings import MAX_DOCUMENT_SIZE, parse_listing_document
from p2pchain.market._requests import (
    SignedRequest,
    answer_document,
    parse_request_document,
    request_typed_data,
    verify_request,
)
from p2pchain.market._views import SignedListing

router = APIRouter(prefix="/api", tags=["requests"])

RequestIdPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The request id (0x + 64 hex).")
]
ListingIdPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The listing id (0x + 64 hex).")
]


class RequestIn(BaseModel):
    """A request as its requester signed it."""

    model_config = ConfigDict(extra="forbid")

    signed_request: dict[str, Any] = Field(
        description="``SignedRequest.to_json()``: requester, cid, expiry, signature, chainId,"
        " marketplace (and id)."
    )


class AnswerIn(BaseModel):
    """A signed listing answering the request (its document names the request)."""

    model_config = ConfigDict(extra="forbid")

    signed_listing: dict[str, Any] = Field(description="``SignedListing.to_json()``.")


class RequestTypedDataOut(BaseModel):
    """A stored request document and the typed data its requester signs
    (``eth_signTypedData_v4``); post the signature with these fields to ``POST /api/requests``."""

    cid: str
    request_id: str
    typed_data: dict[str, Any]
    signed_request: dict[str, Any] = Field(
        description="The fields of ``POST /api/requests``'s ``signed_request``, but the"
        " ``signature``, which the wallet adds."
    )


class AnswerTermsIn(BaseModel):
    """What a provider answers a request with; its kind, token, units, place (and, for a
    rental, its period) come from the request."""

    model_config = ConfigDict(extra="forbid")

    seller: Address
    price: PositiveAmount = Field(description="Unit price in the request token's base units.")
    title: Annotated[str, Field(min_length=1, max_length=140)] | None = Field(
        default=None, description="Default: the request's."
    )
    description: Annotated[str, Field(max_length=5000)] = ""
    condition: Literal["new", "like_new", "good", "fair", "for_parts"] | None = Field(
        default=None, description="Goods (default ``good``) and rentals."
    )
    deposit: PositiveAmount | None = Field(default=None, description="Rentals only (required).")
    arbitrator: Address | None = Field(default=None, description="Who rules disputes (optional).")
    arbitrator_fee_bps: Annotated[int, Field(ge=0, le=1000)] = 0
    review_window: Annotated[int, Field(ge=1, le=365 * 86_400)] = 7 * 86_400


class AnswerTypedDataOut(BaseModel):
    """A stored answer document and the signed listing's typed data its provider signs
    (``eth_signTypedData_v4``); the listing expires with the request."""

    cid: str
    listing_id: str
    document: dict[str, Any]
    typed_data: dict[str, Any]


class RequestsOut(BaseModel):
    """A page of requests, newest first, and the chain's clock (to date a new request from)."""

    items: list[IndexedRequest]
    limit: int
    offset: int
    now: int = Field(description="The latest block's time (unix seconds).")


class AnswersOut(BaseModel):
    """A request's answers, cheapest first."""

    items: list[IndexedAnswer]


def _document(services: Services, cid: str) -> bytes:
    """A document by CID, verified by the backend, at most the listing-document size."""
    return services.backend.cat(cid, max_size=MAX_DOCUMENT_SIZE)


def _found(services: Services, request_id: str) -> IndexedRequest:
    found = services.index.request(request_id)
    if found is None:
        raise ApiError(404, f"no request {request_id.lower()} in the index")
    return found


@router.post("/requests", status_code=201, operation_id="post_request")
def post_request(body: RequestIn, services: ServicesDep) -> IndexedRequest:
    """Add a signed request: its document is fetched by its CID and both are verified (the
    signature is the requester's, the document matches the CID and the signed fields, the chain
    and marketplace are this API's, it has not expired) before the index stores it."""
    try:
        signed = SignedRequest.from_json(body.signed_request)
    except RequestError as exc:
        raise ApiError(400, str(exc)) from None
    return services.index.add_request(signed, _document(services, signed.cid))


@router.post("/requests/typed-data", status_code=201, operation_id="request_typed_data")
def typed_data(
    document: Annotated[dict[str, Any], Body(description="A request document.")],
    services: ServicesDep,
) -> RequestTypedDataOut:
    """Validate a request document (for this API's chain and marketplace, not yet expired),
    store its canonical JSON on IPFS, pinned, and return the EIP-712 typed data the requester's
    wallet signs: nothing is sent, no gas."""
    client = services.client
    try:
        doc = parse_request_document(document)
    except RequestError as exc:
        raise ApiError(422, str(exc)) from None
    marketplace = client.deployment.marketplace
    if (doc.chain_id, doc.marketplace) != (client.chain_id, marketplace):
        raise ApiError(
            422,
            f"chain_id, marketplace: the document is for chain {doc.chain_id} marketplace"
            f" {doc.marketplace}, this API serves chain {client.chain_id} marketplace {marketplace}",
        )
    now = client.now()
    if doc.expiry <= now:
        raise ApiError(422, f"expiry: {doc.expiry} is not after the chain's time {now}")
    stored = store(services, doc.canonical_json(), "request document")
    typed = request_typed_data(
        doc.requester, stored.cid, doc.expiry, chain_id=doc.chain_id, marketplace=marketplace
    )
    signable = encode_typed_data(full_message=typed)
    return RequestTypedDataOut(
        cid=stored.cid,
        request_id="0x" + eip712_digest(signable).hex(),
        typed_data=typed_data_json(typed),
        signed_request={
            "requester": doc.requester,
            "cid": stored.cid,
            "expiry": doc.expiry,
            "chainId": doc.chain_id,
            "marketplace": marketplace,
        },
    )


@router.get("/requests", operation_id="list_requests")
def list_requests(
    services: ServicesDep,
    requester: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    kind: Annotated[str | None, Query(pattern=r"^(sale|service|rental)$")] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    token: Annotated[str | None, Query(max_length=42)] = None,
    status: Annotated[str, Query(pattern=r"^(open|taken|expired|any)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> RequestsOut:
    """Requests, newest first: by requester, kind, category (and below it), token and status
    (``open`` by default; ``any`` for all)."""
    try:
        query = RequestQuery.model_validate(
            {
                "requester": requester,
                "kind": kind,
                "category": category,
                "token": token,
                "status": None if status == "any" else status,
                "limit": limit,
                "offset": offset,
            }
        )
    except ValidationError as exc:
        raise ApiError(422, _first_error(exc)) from None
    items = services.index.requests(query)
    return RequestsOut(items=items, limit=limit, offset=offset, now=index_now(services))


@router.get("/requests/{request_id}", operation_id="get_request")
def get_request(request_id: RequestIdPath, services: ServicesDep) -> IndexedRequest:
    """One request, with its status (``open``, ``taken``, ``expired``) and answer count."""
    return _found(services, request_id)


@router.get(
    "/requests/{request_id}/matches", operation_id="request_matches", response_model=SearchOut
)
def request_matches(
    request_id: RequestIdPath,
    services: ServicesDep,
    text: Annotated[str | None, Query(max_length=200, description="Words to match.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """Live listings that match the request: the search of its kind, category, token, max
    price, place and radius (and period, for rentals), nearest or cheapest first; answered as
    ``GET /api/listings``."""
    _found(services, request_id)
    query = services.index.matching_query(request_id, text=text, limit=limit, offset=offset)
    return _search_answer(services, query, kept_only=False)


@router.get("/listings/{listing_id}/requests", operation_id="listing_requests")
def listing_requests(
    listing_id: ListingIdPath,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RequestsOut:
    """Open requests the listing matches (each request's own search finds it)."""
    if services.index.listing(listing_id) is None:
        raise ApiError(404, f"no listing {listing_id.lower()} in the index")
    items = services.index.requests_for_listing(listing_id, limit=limit)
    return RequestsOut(items=items, limit=limit, offset=0, now=index_now(services))


@router.post(
    "/requests/{request_id}/answer-typed-data", status_code=201, operation_id="answer_typed_data"
)
def answer_typed_data(
    request_id: RequestIdPath, body: AnswerTermsIn, services: ServicesDep
) -> AnswerTypedDataOut:
    """Write a provider's answer the way ``p2pchain request answer`` does (the listing document
    filled from the request, checked against it: kind, token, at most its price, its units, not
    the requester's own), store the document on IPFS, pinned, and return the typed data of the
    signed listing (expiring with the request) for the provider's wallet. Nothing
    is sent, no gas; post the signed listing to ``POST /api/requests/{id}/answers``."""
    found = _found(services, request_id)
    if found.status != "open":
        raise ApiError(
            409, f"request {found.request_id}: it is {found.status}, it takes no answers"
        )
    client = services.client
    try:
        verified = verify_request(
            found.signed,
            found.document,
            chain_id=client.chain_id,
            marketplace=client.deployment.marketplace,
        )
        doc = answer_document(
            verified,
            seller=body.seller,
            price=int(body.price),
            created_at=client.now(),
            title=body.title,
            description=body.description,
            condition=body.condition,
            deposit=None if body.deposit is None else int(body.deposit),
            arbitrator=body.arbitrator,
            arbitrator_fee_bps=body.arbitrator_fee_bps,
        )
    except RequestError as exc:
        raise ApiError(422, str(exc)) from None
    stored = store(services, doc.canonical_json(), "answer document")
    terms = client.make_terms(
        price=doc.price,
        cid=stored.cid,
        seller=doc.seller,
        token=doc.token_address,
        deposit=doc.deposit,
        arbitrator=doc.arbitrator.address if doc.arbitrator else ZERO_ADDRESS,
        arbitrator_fee_bps=doc.arbitrator.fee_bps if doc.arbitrator else 0,
        review_window=body.review_window,
        expiry=verified.document.expiry,
    )
    typed = client.listing_typed_data(terms, doc.quantity)
    signable = encode_typed_data(full_message=typed)
    return AnswerTypedDataOut(
        cid=stored.cid,
        listing_id="0x" + eip712_digest(signable).hex(),
        document=doc.model_dump(mode="json", exclude_none=True),
        typed_data=typed_data_json(typed),
    )


@router.post("/requests/{request_id}/answers", status_code=201, operation_id="post_answer")
def post_answer(request_id: RequestIdPath, body: AnswerIn, services: ServicesDep) -> IndexedAnswer:
    """Add an answer: a signed listing whose document (fetched by the CID its terms anchor)
    names this request, in its token, at most its price; the seller's signature, the chain and
    the fit are checked before the index stores it. Buy it with ``POST /api/tx/buy``."""
    _found(services, request_id)
    try:
        listing = SignedListing.from_json(body.signed_listing)
    except ValueError as exc:
        raise ApiError(400, f"signed_listing: {exc}") from None
    raw = _document(services, str(CID.parse(listing.terms.cid)))
    try:
        named = parse_listing_document(raw).request
    except ListingError as exc:
        raise ApiError(400, f"answer: {exc}") from None
    if named != request_id.lower():
        raise ApiError(400, f"answer: its document answers {named}, not {request_id.lower()}")
    return services.index.add_answer(listing, raw)


@router.get("/requests/{request_id}/answers", operation_id="list_answers")
def list_answers(request_id: RequestIdPath, services: ServicesDep) -> AnswersOut:
    """The request's answers, cheapest first, each with its signed listing (to buy it) and
    its status (``open``, ``taken``, ``expired``)."""
    _found(services, request_id)
    return AnswersOut(items=services.index.answers(request_id))
