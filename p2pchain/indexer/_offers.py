"""Buyers' signed offers, kept in the index database (table ``offers``).

An offer is an off-chain ``p2pchain/offer/1`` document (see :mod:`p2pchain.market._offers`): the
chain only learns of it when its seller accepts it or its buyer cancels it. The index keeps the
documents it is given so that sellers find the offers on their listings and buyers their own.

:meth:`OfferBook.store` admits only offers this index can vouch for: signed for the chain and
marketplace the index follows (its ``meta`` binding), by the buyer (an ECDSA signature that
recovers to the buyer; an empty one is left to a contract wallet, which the chain checks on
acceptance), on a listing the index knows, by that listing's seller, in its token.
Where an offer stands on-chain (open, accepted, cancelled) is not stored: ask the chain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from p2pchain.chain._model import ZERO_ADDRESS
from p2pchain.indexer._db import Database
from p2pchain.indexer._errors import IndexerError
from p2pchain.indexer._models import Amount, checksummed
from p2pchain.market._offers import SignedOffer, recover_offer_signer

#: Most offers one query answers with.
MAX_OFFERS = 200
#: Most unexpired offers one buyer may have kept at once (a bound on what one key can store).
MAX_OPEN_PER_BUYER = 100
_COLUMNS = (
    "offer_id",
    "listing_id",
    "buyer",
    "seller",
    "token",
    "price",
    "quantity",
    "expiry",
    "received_at",
    "document",
)


class StoredOffer(BaseModel):
    """An offer as the index keeps it.

    Attributes:
        id: The offer's id (its EIP-712 digest; its trade's id once accepted).
        listing_id: The listing it is for.
        buyer: Who offers and pays.
        seller: The listing's seller, who may accept it.
        token: ``0x0...0`` for ETH, else the ERC-20's address.
        price: Price offered per unit, base units.
        quantity: Units wanted.
        expiry: Unix time from which it can no longer be accepted.
        received_at: Unix time the index stored it.
        document: The whole ``p2pchain/offer/1`` document.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    listing_id: str
    buyer: str
    seller: str
    token: str
    price: Amount
    quantity: int
    expiry: int
    received_at: int
    document: dict[str, Any]


def _row(raw: tuple[Any, ...]) -> StoredOffer:
    row = dict(zip(_COLUMNS, raw, strict=True))
    return StoredOffer(
        id=row["offer_id"],
        listing_id=row["listing_id"],
        buyer=row["buyer"],
        seller=row["seller"],
        token=row["token"],
        price=int(row["price"]),
        quantity=int(row["quantity"]),
        expiry=int(row["expiry"]),
        received_at=int(row["received_at"]),
        document=json.loads(row["document"]),
    )


def _address(value: str, what: str) -> str:
    found = checksummed(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise IndexerError(f"{what}: {str(value)[:80]!r} is not a 0x-prefixed 20-byte address")
    return found


def _id(value: str | bytes, what: str) -> str:
    if isinstance(value, (bytes, bytearray)) and len(value) == 32:
        return "0x" + bytes(value).hex()
    text = value.strip().lower() if isinstance(value, str) else ""
    body = text.removeprefix("0x")
    if len(body) != 64 or any(c not in "0123456789abcdef" for c in body):
        raise IndexerError(f"{what}: {str(value)[:80]!r} is not 32 bytes of 0x hex")
    return "0x" + body


class OfferBook:
    """The offers of one index database.

    Args:
        db: The index database (bound to a chain and marketplace by its first sync).
        max_open_per_buyer: Most unexpired offers one buyer may have kept at once.
    """

    def __init__(self, db: Database, *, max_open_per_buyer: int = MAX_OPEN_PER_BUYER) -> None:
        self.db = db
        self.max_open_per_buyer = max_open_per_buyer

    def store(
        self, document: SignedOffer | Mapping[str, Any], *, now: int | None = None
    ) -> StoredOffer:
        """Validate and keep an offer (storing one already kept returns it unchanged).

        Raises:
            IndexerError: Malformed, for another chain or marketplace, not signed by its buyer,
                already expired, on a listing this index does not know, or whose seller or token
                is not the listing's; a buyer with ``max_open_per_buyer`` unexpired offers
                kept already; or the index has not been synced yet.
        """
        from p2pchain.market._validation import InputError

        try:
            signed = (
                document if isinstance(document, SignedOffer) else SignedOffer.from_json(document)
            )
        except InputError as exc:
            raise IndexerError(str(exc)) from None
        chain_id, marketplace = self.db.get_meta("chain_id"), self.db.get_meta("marketplace")
        if chain_id is None or marketplace is None:
            raise IndexerError("the index follows no marketplace yet: sync it first")
        offer_id = "0x" + signed.id.hex()
        if str(signed.chain_id) != chain_id or signed.marketplace.lower() != marketplace.lower():
            raise IndexerError(
                f"offer {offer_id} is for chain {signed.chain_id}, marketplace"
                f" {signed.marketplace}: this index follows chain {chain_id},"
                f" marketplace {marketplace}"
            )
        offer = signed.offer
        if signed.signature and recover_offer_signer(signed) != offer.buyer:
            raise IndexerError(f"offer {offer_id} is not signed by its buyer {offer.buyer}")
        stamp = int(time.time()) if now is None else now
        if offer.expiry <= stamp:
            raise IndexerError(f"offer {offer_id} expired at {offer.expiry}")
        listing_key = "0x" + offer.listing_id.hex()
        listing = self.db.one(
            "SELECT seller, token FROM listings WHERE listing_id = :id", {"id": listing_key}
        )
        if listing is None:
            raise IndexerError(f"listing {listing_key} is not in the index")
        if str(listing[0]).lower() != offer.terms.seller.lower():
            raise IndexerError(
                f"offer {offer_id} names seller {offer.terms.seller}, the listing's is {listing[0]}"
            )
        token = "ETH" if offer.terms.token == ZERO_ADDRESS else offer.terms.token
        if str(listing[1]).lower() != token.lower():
            raise IndexerError(
                f"offer {offer_id} pays in {offer.terms.token}, the listing is in {listing[1]}"
            )
        row = {
            "offer_id": offer_id,
            "listing_id": listing_key,
            "buyer": offer.buyer,
            "seller": offer.terms.seller,
            "token": offer.terms.token,
            "price": str(offer.price),
            "quantity": offer.quantity,
            "expiry": offer.expiry,
            "received_at": stamp,
            "document": json.dumps(signed.to_json(), separators=(",", ":")),
        }
        names = ", ".join(_COLUMNS)
        marks = ", ".join(f":{c}" for c in _COLUMNS)
        # one transaction: on SQLite the count and the insert are not interleaved with another
        # writer's (on PostgreSQL concurrent stores may pass the bound by a few: a soft bound)
        with self.db.transaction():
            if self.get(offer_id) is None:
                held = self.db.one(
                    "SELECT COUNT(*) FROM offers WHERE buyer = :buyer AND expiry > :now",
                    {"buyer": offer.buyer, "now": stamp},
                )
                if held is not None and int(held[0]) >= self.max_open_per_buyer:
                    raise IndexerError(
                        f"buyer {offer.buyer} already has {self.max_open_per_buyer} open offers"
                        " here: wait for some to expire"
                    )
            self.db.execute(
                f"INSERT INTO offers ({names}) VALUES ({marks}) ON CONFLICT (offer_id) DO NOTHING",
                row,
            )
        found = self.get(offer_id)
        if found is None:  # pragma: no cover - just inserted
            raise IndexerError(f"offer {offer_id} could not be stored")
        return found

    def get(self, offer_id: str | bytes) -> StoredOffer | None:
        """One offer by id, or None."""
        key = _id(offer_id, "offer id")
        raw = self.db.one(
            f"SELECT {', '.join(_COLUMNS)} FROM offers WHERE offer_id = :id", {"id": key}
        )
        return None if raw is None else _row(tuple(raw))

    def list(
        self,
        *,
        listing: str | bytes | None = None,
        buyer: str | None = None,
        seller: str | None = None,
        include_expired: bool = False,
        now: int | None = None,
        limit: int = MAX_OFFERS,
    ) -> list[StoredOffer]:
        """Offers on a listing, by a buyer and/or to a seller (all given filters apply), newest
        first; expired ones only with ``include_expired``.

        Raises:
            IndexerError: No filter, or a malformed id or address.
        """
        where: list[str] = []
        params: dict[str, Any] = {"limit": max(1, min(int(limit), MAX_OFFERS))}
        if listing is not None:
            where.append("listing_id = :listing")
            params["listing"] = _id(listing, "listing id")
        if buyer is not None:
            where.append("buyer = :buyer")
            params["buyer"] = _address(buyer, "buyer")
        if seller is not None:
            where.append("seller = :seller")
            params["seller"] = _address(seller, "seller")
        if not where:
            raise IndexerError("give a listing, a buyer or a seller")
        if not include_expired:
            where.append("expiry > :now")
            params["now"] = int(time.time()) if now is None else now
        rows = self.db.all(
            f"SELECT {', '.join(_COLUMNS)} FROM offers WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT :limit",
            params,
        )
        return [_row(tuple(r)) for r in rows]


__all__ = ["MAX_OFFERS", "MAX_OPEN_PER_BUYER", "OfferBook", "StoredOffer"]
