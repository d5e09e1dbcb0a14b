"""What the indexer answers with: search queries, indexed listings and trades, trust, sync reports.

Pydantic models, frozen. Amounts are integers in the token's base units in Python and decimal
strings in JSON (JavaScript readers never lose precision), as in listing documents. Ids are 0x
hex, addresses EIP-55 checksummed, tokens ``"ETH"`` or an ERC-20 address.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from eth_utils import is_address
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from p2pchain.chain._model import checksum_address

_MAX_UNITS = 2**256 - 1


def _base_units(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        # pydantic turns ValueError (not TypeError) into a validation error
        raise ValueError("must be an integer amount in base units, as a decimal string")  # noqa: TRY004
    if isinstance(value, str):
        if not re.fullmatch(r"0|[1-9][0-9]{0,77}", value):
            raise ValueError("must be a decimal string of base units (digits only, e.g. '1000')")
        value = int(value)
    if not 0 <= value <= _MAX_UNITS:
        raise ValueError("must be between 0 and 2**256 - 1 base units")
    return value


#: An amount in the token's base units (wei for ETH); a decimal string in JSON.
Amount = Annotated[
    int,
    BeforeValidator(_base_units),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^(0|[1-9][0-9]{0,77})$"}),
]


@lru_cache(maxsize=65_536)
def checksummed(value: str) -> str | None:
    """``value`` EIP-55 checksummed if it is a 0x-prefixed 20-byte address, else None.

    Cached: the same few sellers, tokens and arbitrators recur in every row the index reads,
    and eth-utils' check and checksum hash each time.
    """
    return str(checksum_address(value)) if is_address(value) else None


def _address(value: Any) -> str:
    address = checksummed(value) if isinstance(value, str) else None
    if address is None:
        raise ValueError("must be a 0x-prefixed 20-byte address")
    return address


#: An address; any case accepted, stored EIP-55 checksummed.
Address = Annotated[str, BeforeValidator(_address)]


def _token(value: Any) -> str:
    if isinstance(value, str) and value.upper() in ("ETH", "0X" + "0" * 40):
        return "ETH"
    try:
        return _address(value)
    except ValueError:
        raise ValueError('must be "ETH" or an ERC-20 token address') from None


#: ``"ETH"`` or a checksummed ERC-20 address (the zero address reads as ``"ETH"``).
Token = Annotated[str, BeforeValidator(_token)]


def _hex32(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)) and len(value) == 32:
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", value):
        return "0x" + value.removeprefix("0x").lower()
    raise ValueError("must be a 32-byte id as 0x-prefixed hex (64 hex digits)")


#: A listing or trade id: 32 bytes as lowercase 0x hex.
Id32 = Annotated[str, BeforeValidator(_hex32), WithJsonSchema({"type": "string"})]

SortOrder = Literal["price_asc", "price_desc", "newest", "trust", "distance"]
ContentStatus = Literal["ok", "unavailable", "invalid", "pending"]
ListingKind = Literal["sale", "service", "rental"]

#: Most results one search page may return.
MAX_PAGE = 100
#: Longest free-text query.
MAX_TEXT = 200
#: Matches are counted exactly up to this many.
COUNT_CAP = 1000


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchQuery(_Frozen):
    """A search over the indexed listings.

    Attributes:
        text: Free text matched against title, description and category (all words must match;
            stemmed; ``None`` or empty: every listing).
        kind: Only listings whose document says ``sale``, ``service`` or ``rental``.
        token: Only listings priced in this token (``"ETH"`` or an ERC-20 address).
        seller: Only listings of this seller.
        category: Only listings in this category or below it (``sports`` matches
            ``sports/bikes``).
        min_price: Lowest unit price, in base units, inclusive.
        max_price: Highest unit price, in base units, inclusive.
        min_trust: Only sellers whose trust score is at least this (0..1).
        available_only: Only listings that can be bought now: not closed, units left, not expired.
        near_lat, near_lon: A point (degrees): each result gets its ``distance_km`` from it
            (listings whose document gives ``location.lat``/``lon``); give both or neither.
        within_km: Only listings at most this far from the point (needs it).
        available_from: With ``available_to``: only rentals booked by date whose bookable range
            holds ``[available_from, available_to)`` (unix seconds) and that have no booking or
            owner's block overlapping it.
        available_to: The end of that period.
        max_rate_per_day: Only rentals booked by date whose rate, per day (an hourly rate x 24),
            is at most this, in the token's base units.
        sort: ``price_asc``, ``price_desc``, ``newest`` (last listed or updated first),
            ``trust`` (seller trust, highest first) or ``distance`` (nearest first; needs the
            point, and leaves out listings without coordinates).
        limit: Page size (1..100).
        offset: Results to skip (0..10000).
    """

    text: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    kind: ListingKind | None = None
    token: Token | None = None
    seller: Address | None = None
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    min_price: Amount | None = None
    max_price: Amount | None = None
    min_trust: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    available_only: bool = True
    near_lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    near_lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    within_km: Annotated[float, Field(gt=0, le=20_040)] | None = None
    available_from: Annotated[int, Field(ge=0, le=2**40)] | None = None
    available_to: Annotated[int, Field(ge=0, le=2**40)] | None = None
    max_rate_per_day: Amount | None = None
    sort: SortOrder = "newest"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 20
    offset: Annotated[int, Field(ge=0, le=10_000)] = 0

    @model_validator(mode="after")
    def _price_range(self) -> SearchQuery:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price: must not be above max_price")
        if (self.near_lat is None) != (self.near_lon is None):
            raise ValueError("near_lat: near_lat and near_lon go together")
        if (self.available_from is None) != (self.available_to is None):
            raise ValueError("available_from: available_from and available_to go together")
        if (
            self.available_from is not None
            and self.available_to is not None
            and self.available_to <= self.available_from
        ):
            raise ValueError("available_to: must be after available_from")
        if self.near_lat is None and (self.within_km is not None or self.sort == "distance"):
            raise ValueError(
                "near_lat: within_km and sort=distance need a point (near_lat, near_lon)"
            )
        return self


class IndexedListing(_Frozen):
    """A listing as the index knows it: on-chain terms and units, plus its verified document.

    Attributes:
        listing_id: The on-chain listing id, or the EIP-712 digest of a signed listing.
        seller: The seller.
        signed: Whether it is a signed (off-chain) listing first seen at its first purchase.
        token: ``"ETH"`` or the ERC-20 address the price is in.
        price: Unit price in base units.
        deposit: Refundable deposit per unit (rentals), base units.
        arbitrator: The arbitrator named in the terms, or ``None``.
        arbitrator_fee_bps: Its fee in basis points.
        review_window: Seconds the buyer has to dispute.
        expiry: Unix time after which it cannot be bought (0: never).
        cid: The listing document's CID, as the terms anchor it.
        content_status: ``ok`` (fetched, verified, agrees with the terms), ``unavailable`` (could
            not be fetched yet), ``invalid`` (does not verify, break the schema, or disagree with
            the terms) or ``pending`` (not fetched yet).
        content_reason: Why it is unavailable or invalid (one line), else ``None``.
        title: The document's title (``None`` unless the document is ok).
        description: The document's description.
        category: The document's category path.
        kind: ``sale``, ``service`` or ``rental`` (from the document).
        image_cids: The images' CIDs, in the document's order.
        document: The whole document as JSON (``None`` unless ok).
        listed_quantity: Units offered when listed or signed.
        remaining: Units still on offer.
        sold: Units sold.
        closed: Whether the seller closed or cancelled it.
        available: Whether it can be bought now (not closed, units left, not expired).
        block_number: Block of its first event.
        updated_block: Block of its latest listing event (``Listed``/``ListingUpdated``...).
        listed_at: Timestamp of the block of its first event.
        seller_trust: The seller's trust score (0..1), see ``docs/trust.md``.
        lat, lon: Where it is, from the document's location (``None`` if not given).
        distance_km: Great-circle kilometres from a search's point (``None`` without one).
        unit: Rentals booked by date: seconds per period (``price`` is the rate per period);
            0 for everything else.
        rate_per_day: Rentals booked by date: the rate per day, base units.
        first_start, last_end: Rentals booked by date: the bookable range.
    """

    listing_id: Id32
    seller: Address
    signed: bool
    token: Token
    price: Amount
    deposit: Amount
    arbitrator: Address | None
    arbitrator_fee_bps: int
    review_window: int
    expiry: int
    cid: str
    content_status: ContentStatus
    content_reason: str | None = None
    title: str | None = None
    description: str | None = None
    category: str | None = None
    kind: ListingKind | None = None
    image_cids: tuple[str, ...] = ()
    document: dict[str, Any] | None = None
    listed_quantity: int
    remaining: int
    sold: int
    closed: bool
    available: bool
    block_number: int
    updated_block: int
    listed_at: int
    seller_trust: float = 0.0
    lat: float | None = None
    lon: float | None = None
    distance_km: float | None = None
    unit: int = 0
    rate_per_day: Amount | None = None
    first_start: int = 0
    last_end: int = 0


class SearchPage(_Frozen):
    """One page of search results.

    Attributes:
        items: The listings on this page, in the requested order.
        total: How many listings match in all, counted up to :data:`COUNT_CAP`.
        total_exact: ``False`` when more than :data:`COUNT_CAP` match (``total`` is then the
            cap: show "1000+"). Counting every match of a broad query would cost more than the
            search itself.
    """

    items: tuple[IndexedListing, ...]
    total: int
    total_exact: bool = True


class IndexedTrade(_Frozen):
    """A trade rebuilt from its events.

    Attributes:
        trade_id: The trade id.
        listing_id: The listing it was bought from.
        buyer: The buyer.
        seller: The seller.
        token: ``"ETH"`` or the ERC-20 address.
        arbitrator: The arbitrator, or ``None``.
        arbitrator_fee_bps: Its fee in basis points.
        quantity: Units bought.
        amount: Price of all units (base units).
        deposit: Deposit of all units (base units).
        deadline: Current deadline (review window end, or ruling deadline once disputed).
        state: ``paid``, ``disputed``, ``completed``, ``refunded``, ``settled``, ``ruled`` or
            ``ruling_timed_out``.
        flags: The contract's flag bits (1 released, 2 deposit returned, 4/8 proposal by
            buyer/seller, 16 disputed).
        proposed_buyer_share: The standing settlement proposal's buyer share; once settled or
            ruled, the buyer's share of that final split.
        buyer_rated: Whether the buyer rated the seller.
        seller_rated: Whether the seller rated the buyer.
        block_number: Block of the purchase.
        updated_block: Block of the trade's latest event.
        opened_at: Timestamp of the purchase.
    """

    trade_id: Id32
    listing_id: Id32
    buyer: Address
    seller: Address
    token: Token
    arbitrator: Address | None
    arbitrator_fee_bps: int
    quantity: int
    amount: Amount
    deposit: Amount
    deadline: int
    state: Literal[
        "paid", "disputed", "completed", "refunded", "settled", "ruled", "ruling_timed_out"
    ]
    flags: int
    proposed_buyer_share: Amount
    buyer_rated: bool
    seller_rated: bool
    block_number: int
    updated_block: int
    opened_at: int


class IndexedRating(_Frozen):
    """A rating as the index stored it.

    Attributes:
        trade_id: The rated trade.
        rater: Who rated (the trade's buyer or seller).
        subject: Who was rated (the other party).
        score: 1..5 stars.
        token: ``"ETH"`` or the ERC-20 address of the trade.
        value: The trade's value in the token's base units.
        review_cid: The review's binary CID as 0x hex, or ``None`` without a review.
        block_number: Block of the rating.
        rated_at: That block's timestamp (``None`` if unknown).
    """

    trade_id: Id32
    rater: Address
    subject: Address
    score: int
    token: Token
    value: Amount
    review_cid: str | None = None
    block_number: int
    rated_at: int | None = None


class TrustView(_Frozen):
    """An address's trust score and the evidence behind it (see ``docs/trust.md``).

    Attributes:
        address: The address.
        score: Trust in 0..1 (1: the most trusted address in the index; 0: no evidence).
        rating_count: Ratings received.
        average_stars: Plain average of the stars received (``None`` without ratings).
        weighted_stars: Average of the stars weighted by each rating's weight (value, rater
            trust), ``None`` without ratings.
        volume: Value of the trades it was rated for, by token (base units).
        counterparties: Distinct addresses that rated it.
        details: Inputs of the score: ``rank`` (its EigenTrust mass), ``seed`` (its teleport
            share), ``ring_share`` (share of its incoming trust from raters it rated back).
    """

    address: Address
    score: float
    rating_count: int
    average_stars: float | None
    weighted_stars: float | None
    volume: dict[str, Amount]
    counterparties: int
    details: dict[str, float]


class SyncReport(_Frozen):
    """What one :meth:`Indexer.sync` did.

    Attributes:
        from_block: First block read (inclusive).
        to_block: Last block read and committed (inclusive); the new cursor.
        head: The chain head seen.
        events: Events stored.
        listings: Listings created or changed.
        trades: Trades created or changed.
        ratings: Ratings stored.
        requests: ``eth_getLogs`` requests made.
        reorged_blocks: Blocks rolled back because they vanished from the chain.
        documents_fetched: Listing documents fetched (ok, unavailable or invalid).
        seconds: Wall time.
    """

    from_block: int
    to_block: int
    head: int
    events: int = 0
    listings: int = 0
    trades: int = 0
    ratings: int = 0
    requests: int = 0
    reorged_blocks: int = 0
    documents_fetched: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Ingest rate of this sync."""
        return self.events / self.seconds if self.seconds > 0 else 0.0
