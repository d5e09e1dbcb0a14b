"""Applying decoded events to the index's rows: listings, trades, ratings, raw events.

One :class:`Batch` holds the rows a block range touches in memory: it loads them in bulk, applies
each event in chain order (trades through :func:`p2pchain.chain._model.open_trade` and
:func:`~p2pchain.chain._model.apply_event`, exactly as the contract computes them), and writes them back
with one upsert per table, inside the caller's transaction. The same code replays stored events
after a reorg.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from p2pchain.chain._booking_model import RentalTerms
from p2pchain.chain._events import DecodedEvent
from p2pchain.chain._model import (
    TRADE_TRANSITIONS,
    ZERO_ADDRESS,
    ListingTerms,
    Trade,
    TradeState,
    apply_event,
    checksum_address,
    open_trade,
)
from p2pchain.indexer._content import resolve, terms_of
from p2pchain.indexer._db import Database, price_key
from p2pchain.ipfs import CID

LISTING_COLUMNS = (
    "listing_id", "seller", "signed", "salt", "token", "price", "price_key", "deposit",
    "arbitrator", "arbitrator_fee_bps", "review_window", "expiry", "cid", "listed_quantity",
    "remaining", "sold", "closed", "block_number", "updated_block", "listed_at",
    "content_status", "content_reason", "title", "description", "category", "kind", "images",
    "document", "lat", "lon", "unit", "rate_day_key", "first_start", "last_end",
)  # fmt: skip
BOOKED_COLUMNS = (
    "booking_id", "listing_id", "start_time", "end_time", "renter", "blocked", "holding",
    "block_number",
)  # fmt: skip
#: Bookings events that free a booking's periods.
_FREEING = ("Cancelled", "Refunded", "PeriodUnblocked")
TRADE_COLUMNS = (
    "trade_id", "listing_id", "buyer", "seller", "token", "arbitrator", "arbitrator_fee_bps",
    "quantity", "amount", "deposit", "deadline", "state", "flags", "proposed", "buyer_rated",
    "seller_rated", "block_number", "updated_block", "opened_at",
)  # fmt: skip
RATING_COLUMNS = (
    "trade_id", "rater", "subject", "score", "token", "value", "review_cid", "block", "log_index"
)  # fmt: skip
EVENT_COLUMNS = (
    "block", "log_index", "tx_hash", "name", "listing_id", "trade_id", "address", "topics", "data"
)  # fmt: skip
_CHUNK = 500


def hex32(value: bytes) -> str:
    """A 32-byte id as lowercase 0x hex."""
    return "0x" + bytes(value).hex()


def token_text(address: str) -> str:
    """``"ETH"`` for the zero address, else the checksummed token."""
    return "ETH" if int(address, 16) == 0 else checksum_address(address)


def cid_text(terms: ListingTerms) -> str:
    """The document CID the terms anchor, as text (``invalid:<hex>`` if it does not parse)."""
    return _cid_text(terms.cid)


@lru_cache(maxsize=65_536)
def _cid_text(cid: bytes) -> str:
    try:
        return str(CID.parse(cid))
    except Exception:  # noqa: BLE001 - any parse failure marks the listing invalid
        return "invalid:" + cid.hex()


def entity_ids(event: DecodedEvent) -> tuple[str | None, str | None]:
    """``(listing_id, trade_id)`` an event belongs to (a booking's id counts as a trade id)."""
    args = event.args
    listing = args.get("listingId")
    trade = args.get("tradeId") or args.get("bookingId")
    return (hex32(listing) if listing is not None else None, hex32(trade) if trade else None)


def _event_cid(event: DecodedEvent) -> str:
    if event.name in ("RentalListed", "RentalUpdated"):
        return _cid_text(RentalTerms.from_abi(event.args["terms"]).cid)
    return cid_text(ListingTerms.from_abi(event.args["terms"]))


class Batch:
    """Rows touched by a run of events, applied in memory and written back together.

    Args:
        db: The index database (the caller holds the transaction).
        times: Block number -> timestamp for every block the events sit in.
    """

    def __init__(self, db: Database, times: Mapping[int, int], bookings: str | None = None) -> None:
        self.db = db
        self.times = times
        #: The Bookings contract's address: its events are told apart by the emitter, since
        #: some share a name with the Marketplace's (``Disputed``, ``Refunded``...).
        self.bookings = bookings
        self.booked: dict[str, dict[str, Any] | None] = {}
        self.new_booked: set[str] = set()
        self.changed_booked: set[str] = set()
        self.listings: dict[str, dict[str, Any] | None] = {}
        self.trades: dict[str, dict[str, Any] | None] = {}
        self.documents: dict[str, tuple[str, str | None, str | None] | None] = {}
        self.changed_listings: set[str] = set()
        self.new_listings: set[str] = set()
        self.new_trades: set[str] = set()
        self.changed_trades: set[str] = set()
        self.content_changed: set[str] = set()
        self.ratings: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ loading

    def prefetch(self, events: Sequence[DecodedEvent]) -> None:
        """Load every listing, trade and document the events refer to, in bulk."""
        listing_ids: set[str] = set()
        trade_ids: set[str] = set()
        for event in events:
            listing, trade = entity_ids(event)
            if listing:
                listing_ids.add(listing)
            if trade:
                trade_ids.add(trade)
        self._load("trades", "trade_id", TRADE_COLUMNS, trade_ids - self.trades.keys(), self.trades)
        for row in self.trades.values():
            if row is not None:
                listing_ids.add(row["listing_id"])
        if self.bookings is not None:
            self._load(
                "booked", "booking_id", BOOKED_COLUMNS, trade_ids - self.booked.keys(), self.booked
            )
        self._load(
            "listings",
            "listing_id",
            LISTING_COLUMNS,
            listing_ids - self.listings.keys(),
            self.listings,
        )
        cids = {_event_cid(e) for e in events if "terms" in e.args}
        self._load_documents(cids - self.documents.keys())

    def _load(
        self,
        table: str,
        key: str,
        columns: Sequence[str],
        ids: Iterable[str],
        into: dict[str, dict[str, Any] | None],
    ) -> None:
        wanted = sorted(ids)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            params = {f"k{i}": v for i, v in enumerate(chunk)}
            marks = ", ".join(f":k{i}" for i in range(len(chunk)))
            rows = self.db.all(
                f"SELECT {', '.join(columns)} FROM {table} WHERE {key} IN ({marks})", params
            )
            for value in chunk:
                into.setdefault(value, None)
            for row in rows:
                into[row[0]] = dict(zip(columns, row, strict=True))

    def _load_documents(self, cids: Iterable[str]) -> None:
        wanted = sorted(cids)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            params = {f"k{i}": v for i, v in enumerate(chunk)}
            marks = ", ".join(f":k{i}" for i in range(len(chunk)))
            for value in chunk:
                self.documents.setdefault(value, None)
            for cid, status, reason, body in self.db.all(
                f"SELECT cid, status, reason, body FROM documents WHERE cid IN ({marks})", params
            ):
                self.documents[cid] = (status, reason, body)

    # ------------------------------------------------------------------ applying

    def apply(self, event: DecodedEvent, log: Mapping[str, Any] | None = None) -> None:
        """Apply one event (in chain order); with its raw ``log``, also store it in ``events``.

        The raw log (emitting contract, topics, data) is what a reorg replays, decoded again.
        """
        listing_id, trade_id = entity_ids(event)
        booking = self.bookings is not None and event.address == self.bookings
        if booking and listing_id is None and trade_id is not None:
            row = self.booked.get(trade_id)  # stored with its listing, so a reorg replays it
            listing_id = row["listing_id"] if row is not None else None
        if log is not None:
            self.events.append(
                {
                    "block": event.block_number,
                    "log_index": event.log_index,
                    "tx_hash": event.tx_hash,
                    "name": event.name,
                    "listing_id": listing_id,
                    "trade_id": trade_id,
                    "address": log["address"],
                    "topics": b"".join(log["topics"]).hex(),
                    "data": bytes(log["data"]).hex(),
                }
            )
        name = event.name
        if booking:
            self._booking_event(event, listing_id or "", trade_id or "")
            return
        if name in ("Listed", "SignedListingUsed", "ListingUpdated"):
            self._listing_terms(event, listing_id or "")
        elif name == "ListingClosed":
            row = self.listings.get(listing_id or "")
            if row is not None:
                row.update(closed=1, remaining=0, updated_block=event.block_number)
                self.changed_listings.add(row["listing_id"])
        elif name in ("Purchased", "OfferAccepted"):
            self._purchased(event, listing_id or "", trade_id or "")
        elif name in TRADE_TRANSITIONS:
            self._trade_event(event, trade_id or "")
        elif name == "Rated":
            self._rated(event, trade_id or "")

    def _listing_terms(self, event: DecodedEvent, listing_id: str) -> None:
        args = event.args
        terms = ListingTerms.from_abi(args["terms"])
        row = self.listings.get(listing_id)
        if row is None and event.name == "ListingUpdated":  # not on a consistent chain
            return
        if row is None or event.name != "ListingUpdated":
            row = {
                "listing_id": listing_id,
                "seller": checksum_address(args["seller"]),
                "signed": int(event.name == "SignedListingUsed"),
                "salt": hex32(args["salt"]),
                "listed_quantity": int(args["quantity"]),
                "remaining": int(args["quantity"]),
                "sold": 0,
                "closed": 0,
                "block_number": event.block_number,
                "listed_at": self.times[event.block_number],
            }
            if self.listings.get(listing_id) is None:
                self.new_listings.add(listing_id)
            self.listings[listing_id] = row
        else:
            row["remaining"] = int(args["remaining"])
        cid = cid_text(terms)
        row.update(
            unit=0,
            rate_day_key="",
            first_start=0,
            last_end=0,
            token=token_text(terms.token),
            price=str(terms.price),
            price_key=price_key(terms.price),
            deposit=str(terms.deposit),
            arbitrator=terms.arbitrator,
            arbitrator_fee_bps=terms.arbitrator_fee_bps,
            review_window=terms.review_window,
            expiry=terms.expiry,
            cid=cid,
            updated_block=event.block_number,
        )
        resolve(row, self.documents.get(cid))
        self.changed_listings.add(listing_id)
        self.content_changed.add(listing_id)

    def _booking_event(self, event: DecodedEvent, listing_id: str, booking_id: str) -> None:
        """A Bookings contract event: rental terms, or a booking holding or freeing periods."""
        name, args = event.name, event.args
        if name in ("RentalListed", "RentalUpdated"):
            self._rental_terms(event, listing_id)
        elif name == "RentalClosed":
            row = self.listings.get(listing_id)
            if row is not None:
                row.update(closed=1, remaining=0, updated_block=event.block_number)
                self.changed_listings.add(listing_id)
        elif name in ("Booked", "PeriodBlocked"):
            listing = self.listings.get(listing_id)
            if listing is None:  # not on a consistent chain
                return
            unit, first = int(listing["unit"]), int(listing["first_start"])
            start = first + int(args["firstSlot"]) * unit
            self.booked[booking_id] = {
                "booking_id": booking_id,
                "listing_id": listing_id,
                "start_time": start,
                "end_time": start + int(args["units"]) * unit,
                "renter": checksum_address(args["renter"])
                if "renter" in args
                else listing["seller"],
                "blocked": int(name == "PeriodBlocked"),
                "holding": 1,
                "block_number": event.block_number,
            }
            self.new_booked.add(booking_id)
            self.changed_booked.add(booking_id)
        elif name in _FREEING:
            row = self.booked.get(booking_id)
            if row is not None:
                row["holding"] = 0
                self.changed_booked.add(booking_id)

    def _rental_terms(self, event: DecodedEvent, listing_id: str) -> None:
        args = event.args
        terms = RentalTerms.from_abi(args["terms"])
        row = self.listings.get(listing_id)
        if row is None and event.name == "RentalUpdated":  # not on a consistent chain
            return
        if row is None or event.name == "RentalListed":
            row = {
                "listing_id": listing_id,
                "seller": terms.owner,
                "signed": 0,
                "salt": hex32(args["salt"]),
                "listed_quantity": 1,
                "remaining": 1,
                "sold": 0,
                "closed": 0,
                "block_number": event.block_number,
                "listed_at": self.times[event.block_number],
            }
            if self.listings.get(listing_id) is None:
                self.new_listings.add(listing_id)
            self.listings[listing_id] = row
        cid = _cid_text(terms.cid)
        row.update(
            unit=terms.unit,
            rate_day_key=price_key(terms.rate * 86_400 // terms.unit),
            first_start=terms.first_start,
            last_end=terms.last_end,
            token=token_text(terms.token),
            price=str(terms.rate),
            price_key=price_key(terms.rate),
            deposit=str(terms.deposit),
            arbitrator=terms.arbitrator,
            arbitrator_fee_bps=terms.arbitrator_fee_bps,
            review_window=terms.claim_window,
            expiry=terms.last_end,
            cid=cid,
            updated_block=event.block_number,
        )
        resolve(row, self.documents.get(cid))
        self.changed_listings.add(listing_id)
        self.content_changed.add(listing_id)

    def _purchased(self, event: DecodedEvent, listing_id: str, trade_id: str) -> None:
        args = event.args
        listing = self.listings.get(listing_id)
        if listing is None:  # cannot happen on a consistent chain; keep the raw event only
            return
        quantity = int(args["quantity"])
        listing.update(
            sold=int(listing["sold"]) + quantity,
            remaining=int(args["remaining"]),
            updated_block=event.block_number,
        )
        self.changed_listings.add(listing_id)
        terms = terms_of(listing)
        time = self.times[event.block_number]
        # An accepted offer opens its trade at the offered price; a purchase at the asking one.
        price = int(args["price"]) if event.name == "OfferAccepted" else None
        trade = open_trade(terms, args["buyer"], quantity, time, unit_price=price)
        row = {
            "trade_id": trade_id,
            "listing_id": listing_id,
            "quantity": quantity,
            "buyer_rated": 0,
            "seller_rated": 0,
            "block_number": event.block_number,
            "opened_at": time,
        }
        _store_trade(row, trade, event.block_number)
        if self.trades.get(trade_id) is None:
            self.new_trades.add(trade_id)
        self.trades[trade_id] = row
        self.changed_trades.add(trade_id)

    def _trade_event(self, event: DecodedEvent, trade_id: str) -> None:
        row = self.trades.get(trade_id)
        if row is None:
            return
        trade = apply_event(_trade_of(row), event.name, event.args, self.times[event.block_number])
        _store_trade(row, trade, event.block_number)
        self.changed_trades.add(trade_id)

    def _rated(self, event: DecodedEvent, trade_id: str) -> None:
        args = event.args
        rater = checksum_address(args["rater"])
        self.ratings.append(
            {
                "trade_id": trade_id,
                "rater": rater,
                "subject": checksum_address(args["subject"]),
                "score": int(args["score"]),
                "token": token_text(args["token"]),
                "value": str(int(args["value"])),
                "review_cid": "0x" + bytes(args["reviewCid"]).hex(),
                "block": event.block_number,
                "log_index": event.log_index,
            }
        )
        row = self.trades.get(trade_id)
        if row is not None:
            if rater == row["buyer"]:
                row["buyer_rated"] = 1
            if rater == row["seller"]:
                row["seller_rated"] = 1
            row["updated_block"] = event.block_number
            self.changed_trades.add(trade_id)

    # ------------------------------------------------------------------ writing

    def _write_rows(
        self,
        table: str,
        columns: Sequence[str],
        key: str,
        rows: Mapping[str, dict[str, Any] | None],
        changed: set[str],
        new: set[str],
    ) -> int:
        """New rows in bulk (``COPY`` on PostgreSQL), existing ones updated."""
        fresh = [r for i in sorted(changed & new) if (r := rows[i]) is not None]
        old = [r for i in sorted(changed - new) if (r := rows[i]) is not None]
        self.db.insert_many(table, columns, fresh)
        sets = ", ".join(f"{c} = :{c}" for c in columns if c != key)
        self.db.executemany(f"UPDATE {table} SET {sets} WHERE {key} = :{key}", old)
        return len(fresh) + len(old)

    def write(self, *, replay: bool = False) -> tuple[int, int, int]:
        """Write every change back; returns ``(listings, trades, ratings)`` written.

        Args:
            replay: Rows are being rebuilt after a reorg (ratings may already be stored).
        """
        db = self.db
        db.insert_many("events", EVENT_COLUMNS, self.events)
        listings = self._write_rows(
            "listings", LISTING_COLUMNS, "listing_id", self.listings, self.changed_listings,
            self.new_listings,
        )  # fmt: skip
        trades = self._write_rows(
            "trades", TRADE_COLUMNS, "trade_id", self.trades, self.changed_trades, self.new_trades
        )
        self._write_rows(
            "booked", BOOKED_COLUMNS, "booking_id", self.booked, self.changed_booked,
            self.new_booked,
        )  # fmt: skip
        if replay:  # the ratings of the blocks kept are still stored
            db.executemany(
                "INSERT INTO ratings (trade_id, rater, subject, score, token, value, review_cid,"
                " block, log_index) VALUES (:trade_id, :rater, :subject, :score, :token, :value,"
                " :review_cid, :block, :log_index) ON CONFLICT (trade_id, rater) DO NOTHING",
                self.ratings,
            )
        else:
            db.insert_many("ratings", RATING_COLUMNS, self.ratings)
        refresh_fulltext(db, sorted(self.content_changed))
        return listings, trades, len(self.ratings)


def refresh_fulltext(db: Database, listing_ids: Sequence[str]) -> None:
    """Re-index the searchable text and the place of these listings (SQLite's FTS5 and R*Tree;
    PostgreSQL's generated column and expression index do it themselves)."""
    if db.engine != "sqlite" or not listing_ids:
        return
    for start in range(0, len(listing_ids), _CHUNK):
        chunk = listing_ids[start : start + _CHUNK]
        params = {f"k{i}": v for i, v in enumerate(chunk)}
        marks = ", ".join(f":k{i}" for i in range(len(chunk)))
        rows = db.all(
            "SELECT seq, title, category, description, lat, lon FROM listings"
            f" WHERE listing_id IN ({marks})",
            params,
        )
        seqs = [{"seq": r[0]} for r in rows]
        db.executemany("DELETE FROM listing_geo WHERE seq = :seq", seqs)
        db.executemany(
            "INSERT INTO listing_geo (seq, min_lat, max_lat, min_lon, max_lon)"
            " VALUES (:seq, :lat, :lat, :lon, :lon)",
            [{"seq": r[0], "lat": r[4], "lon": r[5]} for r in rows if r[4] is not None],
        )
        db.executemany("DELETE FROM listing_fts WHERE rowid = :seq", seqs)
        db.executemany(
            "INSERT INTO listing_fts (rowid, title, category, description)"
            " VALUES (:seq, :title, :category, :description)",
            [
                {"seq": r[0], "title": r[1], "category": r[2], "description": r[3]}
                for r in rows
                if r[1] is not None
            ],
        )


def _trade_of(row: Mapping[str, Any]) -> Trade:
    return Trade(
        buyer=row["buyer"],
        seller=row["seller"],
        token=ZERO_ADDRESS if row["token"] == "ETH" else row["token"],
        arbitrator=row["arbitrator"],
        arbitrator_fee_bps=int(row["arbitrator_fee_bps"]),
        amount=int(row["amount"]),
        deposit=int(row["deposit"]),
        deadline=int(row["deadline"]),
        state=TradeState(int(row["state"])),
        flags=int(row["flags"]),
        proposed_buyer_share=int(row["proposed"]),
    )


def _store_trade(row: dict[str, Any], trade: Trade, block: int) -> None:
    row.update(
        buyer=trade.buyer,
        seller=trade.seller,
        token=token_text(trade.token),
        arbitrator=trade.arbitrator,
        arbitrator_fee_bps=trade.arbitrator_fee_bps,
        amount=str(trade.amount),
        deposit=str(trade.deposit),
        deadline=trade.deadline,
        state=int(trade.state),
        flags=trade.flags,
        proposed=str(trade.proposed_buyer_share),
        updated_block=block,
    )
