"""Listings: search over the index, and a listing's detail with its verified document."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError, create_model
from pydantic_core import to_json

from frontend_api.deps import ServicesDep, get_services
from frontend_api.errors import ApiError
from frontend_api.routes.tx import parse_signed_listing
from frontend_api.schemas import (
    CategoriesOut,
    CategoryOut,
    ListingDetailOut,
    SearchOut,
    TermsOut,
)
from frontend_api.services import Services
from p2pchain._errors import IpfsError, ListingError, P2PChainError
from p2pchain.indexer import IndexedListing, SearchQuery, TrustView
from p2pchain.ipfs import CID
from p2pchain.market._views import Listing

router = APIRouter(prefix="/api/listings", tags=["listings"])

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class OneStepParams(APIRoute):
    """A route whose query and path parameters are validated in one step.

    FastAPI validates each declared parameter on its own, in Python (most of a search's time
    went there). This route validates them all at once, with one pydantic model of the same
    fields (the same types, defaults and constraints), and calls the endpoint with the values;
    the OpenAPI schema is FastAPI's, from the same declarations. Anything else (a parameter
    given twice or empty, a value the model refuses) goes to FastAPI's own handling, so errors
    are answered exactly as before. Only for endpoints whose one dependency is
    :func:`~frontend_api.deps.get_services`.
    """

    def get_route_handler(self) -> Handler:
        """FastAPI's handler, behind the one-step one."""
        standard = super().get_route_handler()
        return self._one_step(standard) or standard

    def _one_step(self, standard: Handler) -> Handler | None:
        dependant = self.dependant
        services = [d.name for d in dependant.dependencies if d.call is get_services and d.name]
        if (
            len(services) != 1
            or len(dependant.dependencies) != 1
            or dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
            or dependant.request_param_name
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.call is None
        ):
            return None
        fields = dependant.query_params + dependant.path_params
        if any(f.alias != f.name or f.field_info.validation_alias for f in fields):
            return None
        model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            f"{self.name}_params",
            **{f.name: (f.field_info.annotation, f.field_info) for f in fields},
        )
        endpoint, name = dependant.call, services[0]
        is_async = inspect.iscoroutinefunction(endpoint)

        async def handle(request: Request) -> Response:
            query = request.query_params
            values: dict[str, Any] = dict(query)
            if len(values) != len(query.multi_items()) or "" in values.values():
                return await standard(request)
            values.update(request.path_params)
            try:
                params = model.model_validate(values)
            except ValidationError:
                return await standard(request)
            kwargs = dict(params.__dict__)
            kwargs[name] = request.app.state.services
            if is_async:
                response: Response = await endpoint(**kwargs)
            else:
                response = await run_in_threadpool(endpoint, **kwargs)
            return response

        return handle


def one_step_get(path: str, **options: Any) -> Callable[[Any], Any]:
    """``router.get``, served by :class:`OneStepParams`."""

    def register(endpoint: Any) -> Any:
        router.add_api_route(
            path, endpoint, methods=["GET"], route_class_override=OneStepParams, **options
        )
        return endpoint

    return register


Text = Annotated[str | None, Query(max_length=200, description="Words to match.")]
AmountQuery = Annotated[
    str | None, Query(pattern=r"^(0|[1-9][0-9]{0,77})$", description="Base units.")
]


def _open(encoded: bytes) -> bytes:
    """A JSON object's encoding without its closing brace (more fields follow)."""
    return encoded[:-1]


def listing_json(services: Services, item: IndexedListing, token: bytes, trust: bytes) -> bytes:
    """An indexed listing encoded as :class:`~frontend_api.schemas.ListingOut`, with its token's
    and its seller's trust view's encodings.

    The index validated it: it is dumped as it is (in Rust), not copied into a second model, and
    encoded once while the index hands out the same (frozen) listing; the token's JSON is
    encoded once per token.
    """

    def encode(listing: IndexedListing) -> bytes:
        out = listing.model_dump(mode="json")
        out["image_urls"] = [services.image_url(c) for c in listing.image_cids]
        return _open(to_json(out))

    return b"".join(
        (
            services.encoded(item, encode),
            b',"token_info":',
            token,
            b',"seller_trust_view":',
            trust,
            b"}",
        )
    )


def _trust_json(view: TrustView) -> bytes:
    return to_json(view.model_dump(mode="json"))


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


@one_step_get("", operation_id="search_listings", response_model=SearchOut)
async def search(
    services: ServicesDep,
    text: Text = None,
    kind: Annotated[str | None, Query(pattern=r"^(sale|service|rental)$")] = None,
    token: Annotated[str | None, Query(max_length=42)] = None,
    seller: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    min_price: AmountQuery = None,
    max_price: AmountQuery = None,
    min_trust: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    available_only: bool = True,
    near_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    near_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    within_km: Annotated[float | None, Query(gt=0, le=20_040)] = None,
    available_from: Annotated[int | None, Query(ge=0, le=2**40)] = None,
    available_to: Annotated[int | None, Query(ge=0, le=2**40)] = None,
    max_rate_per_day: AmountQuery = None,
    sort: Annotated[
        str, Query(pattern=r"^(price_asc|price_desc|newest|trust|distance)$")
    ] = "newest",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """Search the indexed listings: free text, filters (kind, token, seller, category and
    below it, price range, trust, availability, within ``within_km`` of ``near_lat``/``near_lon``;
    rentals booked by date: free for all of ``[available_from, available_to)`` in unix seconds,
    at most ``max_rate_per_day``), sorting (``distance``: nearest first, with each item's
    ``distance_km``), pages."""
    try:
        query = SearchQuery.model_validate(
            {
                "text": text,
                "kind": kind,
                "token": token,
                "seller": seller,
                "category": category,
                "min_price": min_price,
                "max_price": max_price,
                "min_trust": min_trust,
                "available_only": available_only,
                "near_lat": near_lat,
                "near_lon": near_lon,
                "within_km": within_km,
                "available_from": available_from,
                "available_to": available_to,
                "max_rate_per_day": max_rate_per_day,
                "sort": sort,
                "limit": limit,
                "offset": offset,
            }
        )
    except ValidationError as exc:
        raise ApiError(422, _first_error(exc)) from None
    if services.index_inline:  # a local SQLite index: read here, on the event loop...
        try:
            return _search_answer(services, query, kept_only=True)
        except _NeedsThread:  # ...unless a token must be asked of the chain first
            pass
    return await run_in_threadpool(_search_answer, services, query, kept_only=False)


class _NeedsThread(Exception):
    """An answer needs a blocking call (the node, a first connection): run it in a thread."""


def _search_answer(services: Services, query: SearchQuery, *, kept_only: bool) -> Response:
    """The search's answer, encoded as :class:`~frontend_api.schemas.SearchOut`.

    Raises:
        _NeedsThread: With ``kept_only``, a token whose JSON is not kept yet.
    """
    page = services.index.search(query)
    trust = {
        s: services.encoded(services.index.trust(s), _trust_json)
        for s in {i.seller for i in page.items}
    }
    tokens = {}
    for t in {i.token for i in page.items}:
        kept = services.kept_token_json(t)
        if kept is None:
            if kept_only:
                raise _NeedsThread
            kept = services.token_json(t)
        tokens[t] = kept
    rest: dict[str, Any] = {  # SearchOut's fields after its items, in its order
        "total": page.total,
        "total_exact": page.total_exact,
        "limit": query.limit,
        "offset": query.offset,
    }
    # Encoded once, here (each listing's part kept while the index hands it out again): the hot
    # path skips FastAPI's validation and encoding of the result; the bytes are SearchOut's.
    body = b"".join(
        (
            b'{"items":[',
            b",".join(
                listing_json(services, item, tokens[item.token], trust[item.seller])
                for item in page.items
            ),
            b"],",
            to_json(rest)[1:],
        )
    )
    return Response(body, media_type="application/json")


@router.get("/categories", operation_id="listing_categories")
def categories(services: ServicesDep, available_only: bool = True) -> CategoriesOut:
    """Top-level categories with their listing counts, most listings first."""
    return CategoriesOut(
        items=[
            CategoryOut(name=name, count=n)
            for name, n in services.index.categories(available_only=available_only)
        ]
    )


def _terms_out(listing: Listing) -> TermsOut:
    t = listing.terms
    return TermsOut(
        seller=t.seller,
        token=t.token,
        price=str(t.price),
        deposit=str(t.deposit),
        arbitrator=t.arbitrator,
        arbitrator_fee_bps=t.arbitrator_fee_bps,
        review_window=t.review_window,
        expiry=t.expiry,
        cid=str(CID.parse(t.cid)),
    )


def seller_trust(services: Services, address: str) -> TrustView | None:
    """The index's trust view of ``address``, or None when the index cannot answer."""
    try:
        return services.index.trust(address)
    except P2PChainError:  # no index yet: the detail still shows the chain and the document
        return None


class _Unkept(Exception):
    """A detail's chain-and-document part that is not kept (its document could not be used)."""

    def __init__(self, part: bytes) -> None:
        super().__init__("not kept")
        self.part = part


def _detail_part(services: Services, listing: Listing) -> bytes:
    """The fields of :class:`~frontend_api.schemas.ListingDetailOut` a listing view and its
    document decide (``id`` to ``image_urls``), encoded, without the closing brace.

    Raises:
        _Unkept: The document could not be fetched, verified or agreed with (the part, with
            its ``document_error``, is for this answer only: missing content is tried again).
    """
    from p2pchain.market._listings import check_agreement

    terms = _terms_out(listing)
    document = None
    error = None
    images: list[str] = []
    try:
        verified = services.document(terms.cid)
        check_agreement(verified, listing)
    except (ListingError, IpfsError) as exc:
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        document = verified.model_dump(mode="json")
        images = [services.image_url(cid) for cid in verified.images]
    part = _open(
        to_json(
            {  # ListingDetailOut's fields, in its order
                "id": "0x" + listing.id.hex(),
                "seller": listing.seller,
                "status": listing.status.value,
                "signed": listing.signed,
                "terms": terms.model_dump(mode="json"),
                "listed_quantity": listing.listed_quantity,
                "sold": listing.sold,
                "remaining": listing.remaining,
                "document_cid": terms.cid,
                "document": document,
                "document_error": error,
                "image_urls": images,
            }
        )
    )
    if error is not None:
        raise _Unkept(part)
    return part


def listing_detail_json(
    services: Services, listing: Listing, *, keep: bool = True, kept_only: bool = False
) -> bytes:
    """A chain listing with its document (verified, checked against the terms) and trust,
    encoded as :class:`~frontend_api.schemas.ListingDetailOut`.

    The part the view and its document decide is encoded once per view, with ``keep`` (the
    listing cache hands out the same view while no block touches the listing; a signed
    listing's view is new each time: not kept); the seller's trust, the token and the chain's
    clock are added per answer.

    Raises:
        _NeedsThread: With ``kept_only``, when the answer needs a blocking call (the document,
            the token, or a shared or remote index).
    """
    from frontend_api.routes.accounts import index_now

    if kept_only:
        part = services.kept_encoded(listing)
        token = services.kept_token_json(listing.terms.token)
        if part is None or token is None or not services.index_inline:
            raise _NeedsThread
    else:
        try:
            part = (
                services.encoded(listing, lambda view: _detail_part(services, view))
                if keep
                else _detail_part(services, listing)
            )
        except _Unkept as unkept:
            part = unkept.part
        token = services.token_json(listing.terms.token)
    now = head.time if (head := services.heads.latest) is not None else index_now(services)
    trust = seller_trust(services, listing.seller)
    return b"".join(
        (
            part,
            b',"seller_trust":',
            b"null" if trust is None else services.encoded(trust, _trust_json),
            b',"token":',
            token,
            b',"now":',
            to_json(now),
            b"}",
        )
    )


def listing_detail(services: Services, listing: Listing) -> ListingDetailOut:
    """:func:`listing_detail_json` as the model."""
    return ListingDetailOut.model_validate_json(listing_detail_json(services, listing, keep=False))


@one_step_get("/{listing_id}", operation_id="get_listing", response_model=ListingDetailOut)
async def detail(
    listing_id: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")], services: ServicesDep
) -> Response:
    """A listing from the chain, its document fetched from IPFS and verified, its seller's trust."""
    key = bytes.fromhex(listing_id[2:])
    head = await services.async_heads.current()
    view = services.kept_listing(key, head)
    if view is not None:  # all kept: answered here, on the event loop
        try:
            body = listing_detail_json(services, view, kept_only=True)
        except _NeedsThread:
            body = await run_in_threadpool(listing_detail_json, services, view)
    else:  # the node is to be asked (a new head's logs, the listing): in a thread
        body = await run_in_threadpool(
            lambda: listing_detail_json(services, services.listing_at(key, head))
        )
    return Response(body, media_type="application/json")


@router.post("/signed", operation_id="get_signed_listing")
def signed_detail(
    signed_listing: Annotated[
        dict[str, Any], Body(description="A signed listing as the seller shared it.")
    ],
    services: ServicesDep,
) -> ListingDetailOut:
    """A signed listing (its signature checked), bought or not yet, with its document and trust."""
    client = services.client
    return listing_detail(services, client.listing(parse_signed_listing(client, signed_listing)))
