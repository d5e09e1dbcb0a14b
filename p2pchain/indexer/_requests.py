"""Requests in the index: stored once verified, and matched to listings both ways.

Requests and their answers have no events: they are signed off-chain and handed to an index
(``IndexReader.add_request`` / ``add_answer``), which verifies them against the deployment it
follows (chain id and marketplace, from its ``meta`` table) and its clock before storing them.

Matching reuses the search's query code: a request becomes a :class:`SearchQuery`
(:func:`request_query`: its kind, category, token, max price, place within its radius, and for
rentals booked by date its time window). Listings matching a request are that search; requests matching a listing are
the open requests whose own search finds the listing (after a cheap prefilter on kind, token,
price and category).

A request is ``open`` until its expiry, ``taken`` once its requester bought one of its answers
(the trade is in the index), ``expired`` after.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from pydantic import Field

from p2pchain._errors import ListingError, RequestError
from p2pchain.chain._model import checksum_address
from p2pchain.indexer._db import Database, price_key
from p2pchain.indexer._errors import IndexerError
from p2pchain.indexer._models import Address, Amount, Id32, ListingKind, SearchQuery, Token, _Frozen
from p2pchain.ipfs import CID, compute_cid

#: Most candidate requests checked against one listing.
MAX_CANDIDATES = 500

RequestStatus = Literal["open", "taken", "expired"]

#: Columns of the requests table, in order.
REQUEST_COLUMNS = (
    "request_id", "requester", "cid", "expiry", "kind", "category", "token", "max_price",
    "max_price_key", "title", "signed", "document", "added_at",
)  # fmt: skip
#: Columns of the answers table, in order.
ANSWER_COLUMNS = (
    "listing_id", "request_id", "seller", "price", "expiry", "signed", "document", "added_at",
)  # fmt: skip


class IndexedRequest(_Frozen):
    """A verified request as the index keeps it.

    Attributes:
        request_id: The EIP-712 digest its requester signed.
        requester: Who asks.
        cid: Its document's CID.
        expiry: Unix time it closes.
        status: ``open``, ``taken`` (the requester bought an answer) or ``expired``.
        kind: As its document.
        category: As its document.
        token: As its document (``"ETH"`` or an address).
        max_price: Highest unit price, in base units.
        title: As its document.
        answers: Answers stored for it.
        trade_id: The trade of the answer the requester bought, once taken.
        signed: The signed request as shared (``SignedRequest.to_json``).
        document: Its document.
        added_at: When the index stored it (index clock).
    """

    request_id: Id32
    requester: Address
    cid: str
    expiry: int
    status: RequestStatus
    kind: ListingKind
    category: str
    token: Token
    max_price: Amount
    title: str
    answers: int
    trade_id: str | None = None
    signed: dict[str, Any]
    document: dict[str, Any]
    added_at: int


class IndexedAnswer(_Frozen):
    """A signed listing answering a request.

    Attributes:
        listing_id: The signed listing's id (its EIP-712 digest).
        request_id: The request it answers.
        seller: The provider.
        price: Unit price, in base units.
        expiry: The signed listing's expiry (0: never).
        status: ``open``, ``taken`` (bought) or ``expired``.
        trade_id: The trade that bought it, once taken.
        signed_listing: The signed listing as shared (``SignedListing.to_json``): buy it with it.
        document: Its listing document.
        added_at: When the index stored it.
    """

    listing_id: Id32
    request_id: Id32
    seller: Address
    price: Amount
    expiry: int
    status: RequestStatus
    trade_id: str | None = None
    signed_listing: dict[str, Any]
    document: dict[str, Any]
    added_at: int


class RequestQuery(_Frozen):
    """Filters of a request list.

    Attributes:
        requester: Only this requester's.
        kind: Only of this kind.
        category: Only in this category or below it.
        token: Only paying in this token.
        status: Only ``open``, ``taken`` or ``expired`` ones (None: all).
        limit: Page size (1..100).
        offset: Results to skip.
    """

    requester: Address | None = None
    kind: ListingKind | None = None
    category: str | None = Field(default=None, min_length=1, max_length=64)
    token: Token | None = None
    status: RequestStatus | None = "open"
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=10_000)


def binding(db: Database) -> tuple[int, str]:
    """The chain id and marketplace the index follows.

    Raises:
        IndexerError: The index follows no deployment yet.
    """
    chain_id, marketplace = db.get_meta("chain_id"), db.get_meta("marketplace")
    if chain_id is None or marketplace is None:
        raise IndexerError("this index follows no deployment yet: sync it once first")
    return int(chain_id), marketplace


def request_query(
    document: Any, *, text: str | None = None, limit: int = 20, offset: int = 0
) -> SearchQuery:
    """The search that finds the listings a request document asks for.

    Args:
        document: A :class:`~p2pchain.market._requests.RequestDocument`.
        text: Words the listings must also match (None: any).
        limit: Page size.
        offset: Results to skip.
    """
    fields: dict[str, Any] = {
        "text": text or None,
        "kind": document.kind,
        "token": document.token,
        "category": document.category,
        "max_price": document.max_price,
        "available_only": True,
        "sort": "price_asc",
        "limit": limit,
        "offset": offset,
    }
    loc = document.location
    if loc is not None and loc.lat is not None and document.radius_km is not None:
        # a radius makes the place a filter (listings that give no place cannot be shown to be
        # within it); without one, the place is words for people
        fields.update(near_lat=loc.lat, near_lon=loc.lon, within_km=document.radius_km)
        fields["sort"] = "distance"
    if document.kind == "rental" and document.when is not None:
        start, end = document.when.unix()
        if start is not None and end is not None:
            fields.update(available_from=start, available_to=end)
    return SearchQuery(**fields)


def _verified(row: Mapping[str, Any]) -> Any:
    from p2pchain.market._requests import SignedRequest, VerifiedRequest, parse_request_document

    return VerifiedRequest(
        SignedRequest.from_json(json.loads(row["signed"])),
        parse_request_document(row["document"]),
    )


def _status(expiry: int, trade_id: str | None, now: int) -> RequestStatus:
    if trade_id is not None:
        return "taken"
    return "expired" if expiry != 0 and expiry <= now else "open"


# ------------------------------------------------------------------ writing


def store_request(db: Database, signed: Any, document: bytes | str, now: int) -> str:
    """Verify a signed request and its document, and store it (again: unchanged).

    Returns:
        The request id.

    Raises:
        RequestError: It does not verify (signature, CID, fields, chain, marketplace, expiry).
        IndexerError: No deployment followed yet.
    """
    from p2pchain.market._requests import verify_request

    chain_id, marketplace = binding(db)
    verified = verify_request(signed, document, chain_id=chain_id, marketplace=marketplace, now=now)
    doc = verified.document
    db.execute(
        f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) VALUES"
        f" ({', '.join(':' + c for c in REQUEST_COLUMNS)}) ON CONFLICT (request_id) DO NOTHING",
        {
            "request_id": verified.id,
            "requester": doc.requester,
            "cid": verified.signed.cid,
            "expiry": doc.expiry,
            "kind": doc.kind,
            "category": doc.category,
            "token": doc.token,
            "max_price": str(doc.max_price),
            "max_price_key": price_key(doc.max_price),
            "title": doc.title,
            "signed": json.dumps(verified.signed.to_json()),
            "document": doc.canonical_json().decode(),
            "added_at": now,
        },
    )
    return verified.id


def store_answer(db: Database, signed_listing: Any, document: bytes | str, now: int) -> str:
    """Verify a signed listing answering a stored request, and store it.

    Checks: the seller's signature and the chain and marketplace; the document against the CID
    the terms anchor and against the terms; the request it names is stored and open; the answer
    fits it (kind, token, price, units: :func:`~p2pchain.market._requests.check_answer`).

    Returns:
        The signed listing's id.

    Raises:
        RequestError: Any check failed (one line naming it).
        IndexerError: No deployment followed yet.
    """
    from p2pchain.market._listings import parse_listing_document
    from p2pchain.market._requests import check_answer
    from p2pchain.market._views import SignedListing

    chain_id, marketplace = binding(db)
    if isinstance(signed_listing, SignedListing):
        listing = signed_listing
    else:
        if not isinstance(signed_listing, Mapping):
            raise RequestError("answer: the signed listing must be a JSON object")
        try:
            listing = SignedListing.from_json(signed_listing)
        except ValueError as exc:
            raise RequestError(f"answer: {str(exc).splitlines()[0]}") from None
    if listing.chain_id != chain_id or listing.marketplace != checksum_address(marketplace):
        raise RequestError(
            f"answer: the signed listing is for chain {listing.chain_id} marketplace"
            f" {listing.marketplace}, not chain {chain_id} marketplace {marketplace}"
        )
    signable = encode_typed_data(full_message=listing.typed_data())
    try:
        signer = Account.recover_message(signable, signature=listing.signature)
    except (ValueError, TypeError) as exc:
        raise RequestError(f"answer: malformed signature: {exc}") from None
    if signer != listing.seller:
        raise RequestError(f"answer: the signature is by {signer}, not the seller {listing.seller}")
    raw = document.encode() if isinstance(document, str) else bytes(document)
    expected = CID.parse(listing.terms.cid)
    if CID.parse(compute_cid(raw, cid_version=expected.version)) != expected:
        raise RequestError(f"answer: the document does not match the signed CID {expected}")
    try:
        doc = parse_listing_document(raw)
    except ListingError as exc:
        raise RequestError(f"answer: {exc}") from None
    if doc.request is None:
        raise RequestError("answer: its listing document names no request")
    row = db.one(
        f"SELECT {', '.join(REQUEST_COLUMNS)} FROM requests WHERE request_id = :id",
        {"id": doc.request},
    )
    if row is None:
        raise RequestError(f"answer: request {doc.request} is not in this index")
    request_row = dict(zip(REQUEST_COLUMNS, row, strict=True))
    if _taken_trade(db, doc.request, request_row["requester"]) is not None:
        raise RequestError(f"answer: request {doc.request} is already taken")
    if int(request_row["expiry"]) <= now:
        raise RequestError(f"answer: request {doc.request} expired at {request_row['expiry']}")
    check_answer(_verified(request_row), listing, doc, now=now)
    listing_id = "0x" + listing.id.hex()
    db.execute(
        f"INSERT INTO request_answers ({', '.join(ANSWER_COLUMNS)}) VALUES"
        f" ({', '.join(':' + c for c in ANSWER_COLUMNS)}) ON CONFLICT (listing_id) DO NOTHING",
        {
            "listing_id": listing_id,
            "request_id": doc.request,
            "seller": listing.seller,
            "price": str(listing.terms.price),
            "expiry": listing.terms.expiry,
            "signed": json.dumps(listing.to_json()),
            "document": doc.canonical_json().decode(),
            "added_at": now,
        },
    )
    return listing_id


# ------------------------------------------------------------------ reading


def _taken_trade(db: Database, request_id: str, requester: str) -> str | None:
    row = db.one(
        "SELECT t.trade_id FROM request_answers a JOIN trades t ON t.listing_id = a.listing_id"
        " WHERE a.request_id = :id AND t.buyer = :buyer ORDER BY t.block_number LIMIT 1",
        {"id": request_id, "buyer": requester},
    )
    return None if row is None else str(row[0])


_TAKEN = (
    "(SELECT t.trade_id FROM request_answers a JOIN trades t ON t.listing_id = a.listing_id"
    " WHERE a.request_id = r.request_id AND t.buyer = r.requester"
    " ORDER BY t.block_number LIMIT 1)"
)
_ANSWERS = "(SELECT count(*) FROM request_answers a WHERE a.request_id = r.request_id)"
_REQUEST_SELECT = (
    f"SELECT {', '.join('r.' + c for c in REQUEST_COLUMNS)}, {_TAKEN}, {_ANSWERS} FROM requests r"
)


def _request(raw: tuple[Any, ...], now: int) -> IndexedRequest:
    row = dict(zip(REQUEST_COLUMNS, raw[: len(REQUEST_COLUMNS)], strict=True))
    trade_id, answers = raw[len(REQUEST_COLUMNS)], int(raw[len(REQUEST_COLUMNS) + 1])
    return IndexedRequest(
        request_id=row["request_id"],
        requester=row["requester"],
        cid=row["cid"],
        expiry=int(row["expiry"]),
        status=_status(int(row["expiry"]), trade_id, now),
        kind=row["kind"],
        category=row["category"],
        token=row["token"],
        max_price=int(row["max_price"]),
        title=row["title"],
        answers=answers,
        trade_id=trade_id,
        signed=json.loads(row["signed"]),
        document=json.loads(row["document"]),
        added_at=int(row["added_at"]),
    )


def load_request(db: Database, request_id: str, now: int) -> IndexedRequest | None:
    """One stored request, or None."""
    row = db.one(f"{_REQUEST_SELECT} WHERE r.request_id = :id", {"id": request_id})
    return None if row is None else _request(row, now)


def list_requests(db: Database, query: RequestQuery, now: int) -> list[IndexedRequest]:
    """Stored requests, newest first, filtered."""
    where, params = _filters(query, now)
    rows = db.all(
        f"{_REQUEST_SELECT}{where} ORDER BY r.added_at DESC, r.request_id LIMIT :limit"
        " OFFSET :offset",
        {**params, "limit": query.limit, "offset": query.offset},
    )
    return [_request(r, now) for r in rows]


def _filters(query: RequestQuery, now: int) -> tuple[str, dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {"now": now}
    for name in ("requester", "kind", "token"):
        value = getattr(query, name)
        if value is not None:
            where.append(f"r.{name} = :{name}")
            params[name] = value
    if query.category is not None:
        where.append("(r.category = :category OR r.category LIKE :category_prefix ESCAPE '!')")
        params["category"] = query.category
        escaped = query.category.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        params["category_prefix"] = escaped + "/%"
    if query.status == "taken":
        where.append(f"{_TAKEN} IS NOT NULL")
    elif query.status == "open":
        where.append(f"r.expiry > :now AND {_TAKEN} IS NULL")
    elif query.status == "expired":
        where.append(f"r.expiry <= :now AND {_TAKEN} IS NULL")
    return (" WHERE " + " AND ".join(where)) if where else "", params


def candidate_requests(db: Database, listing: Any, now: int) -> list[IndexedRequest]:
    """Open requests a listing may answer, by the cheap columns: same kind and token, a max
    price at least the listing's, a category the listing's is in (or equal), not the seller's
    own. The caller confirms each with the request's own search."""
    parts = str(listing.category or "").split("/")
    ancestors = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    marks = ", ".join(f":cat{i}" for i in range(len(ancestors)))
    rows = db.all(
        f"{_REQUEST_SELECT} WHERE r.kind = :kind AND r.token = :token AND r.expiry > :now"
        f" AND r.max_price_key >= :price AND r.category IN ({marks}) AND r.requester <> :seller"
        f" AND {_TAKEN} IS NULL ORDER BY r.added_at DESC LIMIT :cap",
        {
            "kind": listing.kind,
            "token": listing.token,
            "now": now,
            "price": price_key(listing.price),
            "seller": listing.seller,
            "cap": MAX_CANDIDATES,
            **{f"cat{i}": c for i, c in enumerate(ancestors)},
        },
    )
    return [_request(r, now) for r in rows]


def answers_of(db: Database, request_id: str, now: int) -> list[IndexedAnswer]:
    """The answers stored for a request, cheapest first."""
    rows = db.all(
        f"SELECT {', '.join('a.' + c for c in ANSWER_COLUMNS)},"
        " (SELECT t.trade_id FROM trades t WHERE t.listing_id = a.listing_id"
        " ORDER BY t.block_number LIMIT 1)"
        " FROM request_answers a WHERE a.request_id = :id ORDER BY a.added_at, a.listing_id",
        {"id": request_id},
    )
    answers = []
    for raw in rows:
        row = dict(zip(ANSWER_COLUMNS, raw[: len(ANSWER_COLUMNS)], strict=True))
        trade_id = raw[len(ANSWER_COLUMNS)]
        answers.append(
            IndexedAnswer(
                listing_id=row["listing_id"],
                request_id=row["request_id"],
                seller=row["seller"],
                price=int(row["price"]),
                expiry=int(row["expiry"]),
                status=_status(int(row["expiry"]), trade_id, now),
                trade_id=trade_id,
                signed_listing=json.loads(row["signed"]),
                document=json.loads(row["document"]),
                added_at=int(row["added_at"]),
            )
        )
    return sorted(answers, key=lambda a: (a.price, a.added_at))


class RequestNotice(_Frozen):
    """Something about requests to tell an account.

    Attributes:
        kind: ``request_answered`` (an answer to one of the account's requests) or
            ``request_matches_listing`` (an open request one of its live listings matches).
        at: When (the index's clock when the answer or the request was added).
        text: One line for people.
        request_id: The request.
        listing_id: The answer's or the matching listing's id.
    """

    kind: Literal["request_answered", "request_matches_listing"]
    at: int
    text: str
    request_id: Id32
    listing_id: Id32

    @property
    def key(self) -> str:
        """A stable identity (for "seen")."""
        return f"{self.kind}/{self.request_id}/{self.listing_id}"


def answered_notices(db: Database, requester: str, now: int, limit: int) -> list[RequestNotice]:
    """Answers to ``requester``'s open requests, newest first."""
    rows = db.all(
        "SELECT a.listing_id, a.request_id, a.seller, a.price, a.added_at, r.title, r.token"
        " FROM request_answers a JOIN requests r ON r.request_id = a.request_id"
        " WHERE r.requester = :who AND r.expiry > :now ORDER BY a.added_at DESC LIMIT :limit",
        {"who": requester, "now": now, "limit": limit},
    )
    return [
        RequestNotice(
            kind="request_answered",
            at=int(added),
            text=f"request {rid[:10]}… ({title}): {seller} answers at {price}"
            f" {'wei' if token == 'ETH' else 'base units of ' + token}",
            request_id=rid,
            listing_id=lid,
        )
        for lid, rid, seller, price, added, title, token in rows
    ]


def document_of(request: IndexedRequest) -> Any:
    """The request's document as a :class:`~p2pchain.market._requests.RequestDocument`."""
    from p2pchain.market._requests import parse_request_document

    return parse_request_document(request.document)
