"""The read side of the index: search, listings, trades and trust, from the database alone."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Self, cast

from pydantic import ValidationError

from p2pchain.chain._model import TradeState
from p2pchain.indexer._apply import LISTING_COLUMNS, TRADE_COLUMNS
from p2pchain.indexer._db import Database, price_key
from p2pchain.indexer._errors import IndexerError
from p2pchain.indexer._hints import HintQuery, PriceHint, price_hint
from p2pchain.indexer._models import (
    COUNT_CAP,
    IndexedListing,
    IndexedRating,
    IndexedTrade,
    SearchPage,
    SearchQuery,
    TrustView,
    checksummed,
)
from p2pchain.indexer._notices import MarketNotice, amount_text, offer_notices
from p2pchain.indexer._requests import (
    IndexedAnswer,
    IndexedRequest,
    RequestNotice,
    RequestQuery,
    answered_notices,
    answers_of,
    candidate_requests,
    document_of,
    list_requests,
    load_request,
    request_query,
    store_answer,
    store_request,
)

_READ_COLUMNS = ("seq", *LISTING_COLUMNS, "seller_trust")
_WORD = re.compile(r"\w+", re.UNICODE)
#: Most words of a free-text query that are used.
MAX_WORDS = 16
#: Listings kept as built from their rows (a row read again at the same clock is the same
#: listing: it is not validated again), and trust views kept likewise.
BUILT_CACHE_SIZE = 4096
_ORDER = {
    "price_asc": "l.price_key ASC, l.seq ASC",
    "price_desc": "l.price_key DESC, l.seq DESC",
    "newest": "l.block_number DESC, l.seq DESC",
    "trust": "l.seller_trust DESC, l.seq DESC",
}


def _listing_key(listing_id: str | bytes) -> str:
    if isinstance(listing_id, (bytes, bytearray)) and len(listing_id) == 32:
        return "0x" + bytes(listing_id).hex()
    if isinstance(listing_id, str) and re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", listing_id.strip()):
        return "0x" + listing_id.strip().removeprefix("0x").lower()
    raise IndexerError(f"listing id {str(listing_id)[:80]!r} is not 32 bytes of 0x hex")


def _address(value: str) -> str:
    address = checksummed(value.strip()) if isinstance(value, str) else None
    if address is None:
        raise IndexerError(f"{str(value)[:80]!r} is not a 0x-prefixed 20-byte address")
    return address


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)][:MAX_WORDS]


class IndexReader:
    """Answers queries from an index database that an :class:`~p2pchain.indexer.Indexer` fills.

    Args:
        db_url: ``sqlite:///relative.sqlite``, ``sqlite:////abs/index.sqlite``, a plain file path,
            or ``postgresql://user@host:port/dbname``. The schema is created if missing.
        per_thread: Each thread reads on its own connection (the default: a web server's
            request threads never wait for each other's queries); False shares one.

    Raises:
        IndexerError: The URL is not SQLite or PostgreSQL, or the database cannot be opened.
    """

    def __init__(self, db_url: str, *, per_thread: bool = True) -> None:
        self.db = Database(db_url, per_thread=per_thread)
        self._built_lock = threading.Lock()
        self._built: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def _kept(self, key: tuple[Any, ...]) -> Any:
        try:
            with self._built_lock:
                return self._built.get(key)
        except TypeError:  # a driver's value that cannot be hashed: built every time
            return None

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        try:
            with self._built_lock:
                self._built[key] = value
                while len(self._built) > BUILT_CACHE_SIZE:
                    self._built.popitem(last=False)
        except TypeError:
            pass

    # ------------------------------------------------------------------ helpers

    def _now(self) -> int:
        head_time = self.db.get_meta("head_time")
        return int(head_time) if head_time is not None else int(time.time())

    def _index_now(self) -> int | None:
        """The chain time the index was synced to (None before the first sync)."""
        head_time = self.db.get_meta("head_time")
        return int(head_time) if head_time is not None else None

    def _listing(
        self, raw: tuple[Any, ...], now: int, distance_km: float | None = None
    ) -> IndexedListing:
        """The listing a row of :data:`_READ_COLUMNS` holds at chain time ``now`` (built once
        per distinct row, time and distance: the model is frozen, so the same object is handed
        out again)."""
        key = ("listing", now, distance_km, raw)
        listing = self._kept(key)
        if listing is None:
            row = dict(zip(_READ_COLUMNS, raw, strict=True))
            row["distance_km"] = distance_km
            listing = self._build_listing(row, now)
            self._keep(key, listing)
        return cast(IndexedListing, listing)

    def _build_listing(self, row: Mapping[str, Any], now: int) -> IndexedListing:
        document = json.loads(row["document"]) if row["document"] else None
        arbitrator = row["arbitrator"]
        return IndexedListing(
            listing_id=row["listing_id"],
            seller=row["seller"],
            signed=bool(row["signed"]),
            token=row["token"],
            price=int(row["price"]),
            deposit=int(row["deposit"]),
            arbitrator=None if int(arbitrator, 16) == 0 else arbitrator,
            arbitrator_fee_bps=int(row["arbitrator_fee_bps"]),
            review_window=int(row["review_window"]),
            expiry=int(row["expiry"]),
            cid=row["cid"],
            content_status=row["content_status"],
            content_reason=row["content_reason"],
            title=row["title"],
            description=row["description"],
            category=row["category"],
            kind=row["kind"],
            image_cids=tuple(json.loads(row["images"])) if row["images"] else (),
            document=document,
            listed_quantity=int(row["listed_quantity"]),
            remaining=int(row["remaining"]),
            sold=int(row["sold"]),
            closed=bool(row["closed"]),
            available=not row["closed"]
            and int(row["remaining"]) > 0
            and (int(row["expiry"]) == 0 or int(row["expiry"]) > now),
            block_number=int(row["block_number"]),
            updated_block=int(row["updated_block"]),
            listed_at=int(row["listed_at"]),
            seller_trust=float(row["seller_trust"]),
            lat=row["lat"],
            lon=row["lon"],
            distance_km=row.get("distance_km"),
            unit=int(row["unit"]),
            rate_per_day=int(row["rate_day_key"]) if row["rate_day_key"] else None,
            first_start=int(row["first_start"]),
            last_end=int(row["last_end"]),
        )

    # ------------------------------------------------------------------ queries

    def search(self, query: SearchQuery | Mapping[str, Any]) -> SearchPage:
        """Full-text search with filters and sorting.

        Args:
            query: A :class:`SearchQuery` (or its fields as a mapping, validated here).

        Returns:
            The requested page and the number of matches in all.

        Raises:
            IndexerError: The query's fields are invalid (the message names the first one).
        """
        q = _validated_query(query)
        # The same query on an unchanged database (SQLite: nothing committed since) has the
        # same answer: kept, once the index has a clock of its own (else the wall clock's).
        version = self.db.data_version()
        if version is not None:
            kept = self._kept(("search", version, q))
            if kept is not None:
                return cast(SearchPage, kept)
        index_now = self._index_now()
        page = self._search(q, int(time.time()) if index_now is None else index_now)
        if version is not None and index_now is not None:
            self._keep(("search", version, q), page)
        return page

    def _search(self, q: SearchQuery, now: int, *, only: str | None = None) -> SearchPage:
        joins, where = "", []
        params: dict[str, Any] = {"now": now}
        if only is not None:  # does this one listing match? (requests matching a listing)
            where.append("l.listing_id = :only")
            params["only"] = only
        words = _words(q.text or "")
        if words:
            if self.db.engine == "sqlite":
                joins = " JOIN listing_fts ON listing_fts.rowid = l.seq"
                where.append("listing_fts MATCH :text")
                params["text"] = " ".join('"' + w.replace('"', "") + '"' for w in words)
            else:
                where.append("l.search @@ plainto_tsquery('english', :text)")
                params["text"] = " ".join(words)
        if q.kind is not None:
            where.append("l.kind = :kind")
            params["kind"] = q.kind
        if q.token is not None:
            where.append("l.token = :token")
            params["token"] = q.token
        if q.seller is not None:
            where.append("l.seller = :seller")
            params["seller"] = q.seller
        if q.category is not None:
            where.append("(l.category = :category OR l.category LIKE :category_prefix ESCAPE '!')")
            params["category"] = q.category
            escaped = q.category.replace("!", "!!").replace("%", "!%").replace("_", "!_")
            params["category_prefix"] = escaped + "/%"
        if q.min_price is not None:
            where.append("l.price_key >= :min_price")
            params["min_price"] = price_key(q.min_price)
        if q.max_price is not None:
            where.append("l.price_key <= :max_price")
            params["max_price"] = price_key(q.max_price)
        if q.min_trust is not None:
            where.append("l.seller_trust >= :min_trust")
            params["min_trust"] = q.min_trust
        if q.available_only:
            where.append("l.closed = 0 AND l.remaining > 0 AND (l.expiry = 0 OR l.expiry > :now)")
        if q.max_rate_per_day is not None:
            where.append("l.unit > 0 AND l.rate_day_key <= :max_rate_day")
            params["max_rate_day"] = price_key(q.max_rate_per_day)
        if q.available_from is not None and q.available_to is not None:
            # Rentals booked by date whose range holds the period and whose calendar has nothing
            # overlapping it: an index range scan of booked (listing_id, start_time) per match.
            where.append(
                "l.unit > 0 AND l.closed = 0 AND l.first_start <= :free_from"
                " AND l.last_end >= :free_to AND NOT EXISTS (SELECT 1 FROM booked b"
                " WHERE b.listing_id = l.listing_id AND b.start_time < :free_to"
                " AND b.end_time > :free_from AND b.holding = 1)"
            )
            params["free_from"] = q.available_from
            params["free_to"] = q.available_to
        distance = "NULL"
        if q.near_lat is not None and q.near_lon is not None:
            joins, distance = self._near(q, joins, where, params)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        order = "distance_km ASC, l.seq ASC" if q.sort == "distance" else _ORDER[q.sort]
        # Two steps: the matching seqs in order (index-only where possible), then 20 rows.
        found = self.db.all(
            f"SELECT l.seq, {distance} AS distance_km FROM listings l{joins}{clause}"
            f" ORDER BY {order} LIMIT :limit OFFSET :offset",
            {**params, "limit": q.limit, "offset": q.offset},
        )
        seqs = [int(r[0]) for r in found]
        rows = self._rows_by_seq(seqs)
        km: dict[int, float | None] = {}
        if distance != "NULL":
            km = {int(r[0]): None if r[1] is None else round(float(r[1]), 3) for r in found}
        if q.offset == 0 and len(rows) < q.limit:
            total = len(rows)
        else:
            row = self.db.one(
                f"SELECT count(*) FROM (SELECT 1 FROM listings l{joins}{clause} LIMIT :cap) AS m",
                {**params, "cap": COUNT_CAP + 1},
            )
            total = int(row[0]) if row is not None else 0
        return SearchPage(
            items=tuple(self._listing(r, now, km.get(int(r[0]))) for r in rows),
            total=min(total, COUNT_CAP),
            total_exact=total <= COUNT_CAP,
        )

    def _near(
        self, q: SearchQuery, joins: str, where: list[str], params: dict[str, Any]
    ) -> tuple[str, str]:
        """The joins, filters and distance expression for a search around a point.

        SQLite: an R*Tree of listing points narrows to the bounding box of the radius.
        PostgreSQL: earthdistance's ``earth_box`` against the GiST index of
        ``ll_to_earth(lat, lon)``. Then, on both, the great-circle distance (SQL math functions)
        keeps the circle and sorts. Listings without coordinates never match a point search.
        """
        lat, lon = float(cast(float, q.near_lat)), float(cast(float, q.near_lon))
        params.update(near_lat=lat, near_lon=lon)
        least = "least" if self.db.engine == "postgresql" else "min"
        # the same great-circle formula on both engines, so both give the same kilometres
        distance = (
            f"{EARTH_KM} * acos({least}(1.0, sin(radians(:near_lat)) * sin(radians(l.lat))"
            " + cos(radians(:near_lat)) * cos(radians(l.lat))"
            " * cos(radians(l.lon) - radians(:near_lon))))"
        )
        if self.db.engine == "postgresql":
            where.append("l.lat IS NOT NULL")
            if q.within_km is not None:
                # earthdistance's sphere is a little larger than ours: its box (which the GiST
                # index answers) is widened by that ratio, then our formula keeps the circle
                params["box_m"] = q.within_km * 1000.0 * EARTH_BOX_SCALE
                where.append(
                    "earth_box(ll_to_earth(:near_lat, :near_lon), :box_m)"
                    " @> ll_to_earth(l.lat, l.lon)"
                )
                where.append(f"{distance} <= :within_km")
                params["within_km"] = q.within_km
            return joins, distance
        joins += " JOIN listing_geo g ON g.seq = l.seq"
        if q.within_km is not None:
            params.update(_box(lat, lon, q.within_km))
            where.append(
                "g.min_lat >= :lat0 AND g.max_lat <= :lat1"
                " AND g.min_lon >= :lon0 AND g.max_lon <= :lon1"
            )
            where.append(f"{distance} <= :within_km")
            params["within_km"] = q.within_km
        return joins, distance

    def categories(self, *, available_only: bool = True) -> list[tuple[str, int]]:
        """Top-level categories (``sports`` of ``sports/bikes``) and their listing counts, most
        listings first."""
        where = "WHERE l.category IS NOT NULL"
        params: dict[str, Any] = {}
        if available_only:
            where += " AND l.closed = 0 AND l.remaining > 0 AND (l.expiry = 0 OR l.expiry > :now)"
            params["now"] = self._now()
        rows = self.db.all(
            f"SELECT l.category, count(*) FROM listings l {where} GROUP BY l.category", params
        )
        counts: dict[str, int] = {}
        for category, n in rows:
            top = str(category).split("/", 1)[0]
            counts[top] = counts.get(top, 0) + int(n)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def _rows_by_seq(self, seqs: list[int]) -> list[tuple[Any, ...]]:
        if not seqs:
            return []
        marks = ", ".join(f":s{i}" for i in range(len(seqs)))
        found = self.db.all(
            f"SELECT {', '.join(_READ_COLUMNS)} FROM listings WHERE seq IN ({marks})",
            {f"s{i}": s for i, s in enumerate(seqs)},
        )
        by_seq = {r[0]: tuple(r) for r in found}
        return [by_seq[s] for s in seqs if s in by_seq]

    def listing(self, listing_id: str | bytes) -> IndexedListing | None:
        """One listing by id (0x hex or 32 bytes), or ``None`` if the index has never seen it.

        Raises:
            IndexerError: The id is not 32 bytes.
        """
        key = _listing_key(listing_id)
        row = self.db.one(
            f"SELECT {', '.join(_READ_COLUMNS)} FROM listings WHERE listing_id = :id", {"id": key}
        )
        if row is None:
            return None
        return self._listing(tuple(row), self._now())

    def trades_of(self, address: str) -> list[IndexedTrade]:
        """Every trade where ``address`` is buyer, seller or arbitrator, newest first.

        Raises:
            IndexerError: Not an address.
        """
        who = _address(address)
        rows = self.db.all(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades"
            " WHERE buyer = :a OR seller = :a OR arbitrator = :a"
            " ORDER BY block_number DESC, trade_id",
            {"a": who},
        )
        return [_trade(dict(zip(TRADE_COLUMNS, r, strict=True))) for r in rows]

    def bookings_of(self, address: str, limit: int = 100) -> list[str]:
        """Ids of the bookings where ``address`` is the renter, or the owner or arbitrator of the
        rental, newest first (owners' own blocks left out). The bookings themselves are read
        from the chain (``RentalsClient.booking``): the index only knows which ones to read.

        Raises:
            IndexerError: Not an address, or a bad limit.
        """
        who = _address(address)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise IndexerError(f"limit must be 1..500, not {limit!r}")
        rows = self.db.all(
            "SELECT b.booking_id FROM booked b JOIN listings l ON l.listing_id = b.listing_id"
            " WHERE b.blocked = 0 AND (b.renter = :a OR l.seller = :a OR l.arbitrator = :a)"
            " ORDER BY b.block_number DESC, b.booking_id LIMIT :n",
            {"a": who, "n": limit},
        )
        return [str(r[0]) for r in rows]

    def ratings_of(self, subject: str, limit: int = 50) -> list[IndexedRating]:
        """The ratings ``subject`` received, newest first (at most ``limit``, 1..500).

        Raises:
            IndexerError: Not an address, or a bad limit.
        """
        who = _address(subject)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise IndexerError(f"limit must be 1..500, not {limit!r}")
        rows = self.db.all(
            "SELECT r.trade_id, r.rater, r.subject, r.score, r.token, r.value, r.review_cid,"
            " r.block, b.time FROM ratings r LEFT JOIN blocks b ON b.number = r.block"
            " WHERE r.subject = :a ORDER BY r.block DESC, r.log_index DESC LIMIT :n",
            {"a": who, "n": limit},
        )
        return [
            IndexedRating(
                trade_id=trade_id,
                rater=rater,
                subject=subj,
                score=int(score),
                token=token,
                value=int(value),
                review_cid=None if review_cid in ("", "0x") else review_cid,
                block_number=int(block),
                rated_at=None if rated_at is None else int(rated_at),
            )
            for trade_id, rater, subj, score, token, value, review_cid, block, rated_at in rows
        ]

    def event_transactions(self, trade_id: str | bytes, name: str) -> list[str]:
        """Hashes of the transactions that emitted event ``name`` for a trade, oldest first.

        Raises:
            IndexerError: The id is not 32 bytes.
        """
        key = _listing_key(trade_id)
        rows = self.db.all(
            "SELECT tx_hash FROM events WHERE trade_id = :id AND name = :name"
            " ORDER BY block, log_index",
            {"id": key, "name": name},
        )
        return [str(tx_hash) for (tx_hash,) in rows]

    def trade(self, trade_id: str | bytes) -> IndexedTrade | None:
        """One trade by id, or ``None``.

        Raises:
            IndexerError: The id is not 32 bytes.
        """
        key = _listing_key(trade_id)
        row = self.db.one(
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE trade_id = :id", {"id": key}
        )
        return None if row is None else _trade(dict(zip(TRADE_COLUMNS, row, strict=True)))

    def price_hint(self, query: HintQuery | Mapping[str, Any]) -> PriceHint:
        """What items like a draft listing sold for over the last 90 days, and how many are
        live now (see :mod:`p2pchain.indexer._hints`).

        Raises:
            pydantic.ValidationError: A field is invalid.
        """
        hint_query = query if isinstance(query, HintQuery) else HintQuery.model_validate(query)
        return price_hint(self.db, hint_query, self._now())

    def trust(self, address: str) -> TrustView:
        """The trust score of ``address`` and its evidence (score 0 without any).

        Raises:
            IndexerError: Not an address.
        """
        who = _address(address)
        row = self.db.one(
            "SELECT score, rating_count, average_stars, weighted_stars, volume, counterparties,"
            " details FROM trust WHERE address = :a",
            {"a": who},
        )
        key = ("trust", who, row)
        view = self._kept(key)
        if view is None:
            view = self._trust_view(who, row)
            self._keep(key, view)
        return cast(TrustView, view)

    @staticmethod
    def _trust_view(who: str, row: tuple[Any, ...] | None) -> TrustView:
        if row is None:
            return TrustView(
                address=who,
                score=0.0,
                rating_count=0,
                average_stars=None,
                weighted_stars=None,
                volume={},
                counterparties=0,
                details={},
            )
        score, count, average, weighted, volume, parties, details = row
        return TrustView(
            address=who,
            score=float(score),
            rating_count=int(count),
            average_stars=average,
            weighted_stars=weighted,
            volume={k: int(v) for k, v in json.loads(volume).items()},
            counterparties=int(parties),
            details=json.loads(details),
        )

    # ------------------------------------------------------------------ requests

    def add_request(self, signed: Any, document: bytes | str) -> IndexedRequest:
        """Verify a signed request (``SignedRequest`` or its shared JSON) and its document (the
        bytes its CID names) against the deployment this index follows and its clock; store it.

        Raises:
            RequestError: It does not verify (the message names the check).
            IndexerError: The index follows no deployment yet.
        """
        now = self._now()
        request_id = store_request(self.db, signed, document, now)
        found = load_request(self.db, request_id, now)
        assert found is not None
        return found

    def add_answer(self, signed_listing: Any, document: bytes | str) -> IndexedAnswer:
        """Verify a signed listing answering a stored, open request (its document names it) and
        store it.

        Raises:
            RequestError: It does not verify or does not fit the request.
            IndexerError: The index follows no deployment yet.
        """
        now = self._now()
        listing_id = store_answer(self.db, signed_listing, document, now)
        return next(
            a
            for a in answers_of(self.db, self._request_of_answer(listing_id), now)
            if a.listing_id == listing_id
        )

    def _request_of_answer(self, listing_id: str) -> str:
        row = self.db.one(
            "SELECT request_id FROM request_answers WHERE listing_id = :id", {"id": listing_id}
        )
        assert row is not None
        return str(row[0])

    def request(self, request_id: str | bytes) -> IndexedRequest | None:
        """One request by id, or None.

        Raises:
            IndexerError: The id is not 32 bytes.
        """
        return load_request(self.db, _listing_key(request_id), self._now())

    def requests(
        self, query: RequestQuery | Mapping[str, Any] | None = None
    ) -> list[IndexedRequest]:
        """Requests, newest first (by default the open ones).

        Raises:
            IndexerError: A filter is invalid.
        """
        if not isinstance(query, RequestQuery):
            try:
                query = RequestQuery.model_validate(query or {})
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                where = ".".join(str(p) for p in err["loc"]) or "query"
                msg = str(err["msg"]).removeprefix("Value error, ")
                raise IndexerError(f"{where}: {msg}") from None
        return list_requests(self.db, query, self._now())

    def answers(self, request_id: str | bytes) -> list[IndexedAnswer]:
        """The answers to a request, cheapest first.

        Raises:
            IndexerError: The id is not 32 bytes.
        """
        return answers_of(self.db, _listing_key(request_id), self._now())

    def listings_for_request(
        self, request_id: str | bytes, *, text: str | None = None, limit: int = 20, offset: int = 0
    ) -> SearchPage:
        """Live listings that match a request: the search of its kind, category, token, max
        price, place and radius (and period, for rentals), plus ``text``.

        Raises:
            IndexerError: No such request, or bad paging.
        """
        return self.search(self.matching_query(request_id, text=text, limit=limit, offset=offset))

    def matching_query(
        self, request_id: str | bytes, *, text: str | None = None, limit: int = 20, offset: int = 0
    ) -> SearchQuery:
        """The search that finds the live listings matching a request (see
        :meth:`listings_for_request`).

        Raises:
            IndexerError: No such request, or bad paging.
        """
        found = self.request(request_id)
        if found is None:
            raise IndexerError(f"no request {_listing_key(request_id)} in this index")
        try:
            return request_query(document_of(found), text=text, limit=limit, offset=offset)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"]) or "query"
            raise IndexerError(
                f"{where}: {str(err['msg']).removeprefix('Value error, ')}"
            ) from None

    def requests_for_listing(
        self, listing_id: str | bytes, *, limit: int = 20
    ) -> list[IndexedRequest]:
        """Open requests a listing matches: each candidate's own search (the same query as
        :meth:`listings_for_request`) must find the listing.

        Raises:
            IndexerError: No such listing.
        """
        listing = self.listing(listing_id)
        if listing is None:
            raise IndexerError(f"no listing {_listing_key(listing_id)} in this index")
        if listing.kind is None or listing.category is None or not listing.available:
            return []
        now = self._now()
        matched = []
        for candidate in candidate_requests(self.db, listing, now):
            query = request_query(document_of(candidate), limit=1)
            if self._search(query, now, only=listing.listing_id).items:
                matched.append(candidate)
                if len(matched) >= limit:
                    break
        return matched

    def request_notices(self, address: str, *, limit: int = 50) -> list[RequestNotice]:
        """What to tell ``address`` about requests, newest first: answers to its open requests,
        and open requests its live listings match (at most ``limit`` of its listings checked).

        Raises:
            IndexerError: Not an address.
        """
        who = _address(address)
        now = self._now()
        if self.db.one("SELECT 1 FROM requests LIMIT 1") is None:
            return []  # the common case, answered by one lookup
        notices = answered_notices(self.db, who, now, limit)
        mine = self.search(SearchQuery(seller=who, limit=min(limit, 100)))
        for listing in mine.items:
            for request in self.requests_for_listing(listing.listing_id, limit=limit):
                notices.append(
                    RequestNotice(
                        kind="request_matches_listing",
                        at=request.added_at,
                        text=f"request {request.request_id[:10]}… ({request.title}) matches"
                        f" your listing {listing.listing_id[:10]}…: answer it",
                        request_id=request.request_id,
                        listing_id=listing.listing_id,
                    )
                )
        notices.sort(key=lambda n: n.at, reverse=True)
        return notices[:limit]

    def market_notices(
        self, address: str, *, now: int | None = None, limit: int = 50
    ) -> list[MarketNotice]:
        """Everything the index has to tell ``address``, newest first: listings matching its
        open requests (listed since the request was added), open requests its live listings
        match, answers to its requests, offers on its listings, and its own offers accepted or
        expiring within a day (see :mod:`p2pchain.indexer._notices`).

        Args:
            address: The account.
            now: The time offer expiries are measured against (default: the index's clock).
            limit: At most this many notices (1..500).

        Raises:
            IndexerError: Not an address, or a bad limit or time.
        """
        who = _address(address)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise IndexerError(f"limit must be 1..500, not {limit!r}")
        if now is not None and (isinstance(now, bool) or not isinstance(now, int) or now < 0):
            raise IndexerError(f"now must be unix seconds, not {now!r}")
        at = self._now() if now is None else now
        notices = [
            MarketNotice(
                kind=n.kind,
                at=n.at,
                text=n.text,
                request_id=n.request_id,
                listing_id=n.listing_id,
            )
            for n in self.request_notices(who, limit=limit)
        ]
        notices += self._listing_match_notices(who, limit)
        notices += offer_notices(self.db, who, at)
        notices.sort(key=lambda n: n.at, reverse=True)
        return notices[:limit]

    def _listing_match_notices(self, who: str, limit: int) -> list[MarketNotice]:
        """Live listings (not ``who``'s own) listed since ``who``'s open requests were added
        that the requests' searches find, newest first per request."""
        now = self._now()
        mine = list_requests(self.db, RequestQuery(requester=who, limit=100), now)
        out: list[MarketNotice] = []
        for request in mine:
            query = request_query(document_of(request), limit=min(limit, 100))
            page = self._search(query.model_copy(update={"sort": "newest"}), now)
            for listing in page.items:
                if listing.listed_at < request.added_at:
                    break  # newest first: the rest were there before the request
                if listing.seller == who:
                    continue
                title = f" ({listing.title})" if listing.title else ""
                out.append(
                    MarketNotice(
                        kind="listing_matches_request",
                        at=listing.listed_at,
                        text=f"listing {listing.listing_id[:10]}…{title} at"
                        f" {amount_text(listing.price, listing.token)} matches your request"
                        f" {request.request_id[:10]}… ({request.title})",
                        request_id=request.request_id,
                        listing_id=listing.listing_id,
                    )
                )
        return out

    def cursor(self) -> int | None:
        """The last block indexed, or ``None`` before the first sync."""
        value = self.db.get_meta("cursor")
        return None if value is None else int(value)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: The Earth's mean radius in km (IUGG), for great-circle distances.
EARTH_KM = 6371.0088
#: earthdistance's ``earth()`` radius over ours, plus a margin: its boxes are drawn on its sphere.
EARTH_BOX_SCALE = 6378.168 / EARTH_KM * 1.001


def _box(lat: float, lon: float, km: float) -> dict[str, float]:
    """The latitude/longitude box holding every point within ``km`` of ``(lat, lon)``."""
    dlat = math.degrees(km / EARTH_KM)
    lat0, lat1 = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
    if lat0 <= -90.0 or lat1 >= 90.0:  # the circle holds a pole: every longitude
        return {"lat0": lat0, "lat1": lat1, "lon0": -180.0, "lon1": 180.0}
    dlon = math.degrees(math.asin(min(1.0, math.sin(km / EARTH_KM) / math.cos(math.radians(lat)))))
    lon0, lon1 = lon - dlon, lon + dlon
    if lon0 < -180.0 or lon1 > 180.0:  # across the antimeridian: every longitude (still exact)
        lon0, lon1 = -180.0, 180.0
    return {"lat0": lat0, "lat1": lat1, "lon0": lon0, "lon1": lon1}


def _validated_query(query: SearchQuery | Mapping[str, Any]) -> SearchQuery:
    if isinstance(query, SearchQuery):
        return query
    try:
        return SearchQuery.model_validate(dict(query))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"]) or "query"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise IndexerError(f"search query: {loc}: {msg}".splitlines()[0]) from None


def _trade(row: Mapping[str, Any]) -> IndexedTrade:
    arbitrator = row["arbitrator"]
    return IndexedTrade(
        trade_id=row["trade_id"],
        listing_id=row["listing_id"],
        buyer=row["buyer"],
        seller=row["seller"],
        token=row["token"],
        arbitrator=None if int(arbitrator, 16) == 0 else arbitrator,
        arbitrator_fee_bps=int(row["arbitrator_fee_bps"]),
        quantity=int(row["quantity"]),
        amount=int(row["amount"]),
        deposit=int(row["deposit"]),
        deadline=int(row["deadline"]),
        state=TradeState(int(row["state"])).name.lower(),  # type: ignore[arg-type]
        flags=int(row["flags"]),
        proposed_buyer_share=int(row["proposed"]),
        buyer_rated=bool(row["buyer_rated"]),
        seller_rated=bool(row["seller_rated"]),
        block_number=int(row["block_number"]),
        updated_block=int(row["updated_block"]),
        opened_at=int(row["opened_at"]),
    )
