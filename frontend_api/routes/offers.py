"""Buyers' offers: the typed data a buyer's wallet signs, the signed documents (kept in the
index), where each stands on-chain, and the seller's and buyer's unsigned transactions.

The flow of the page: ``POST /api/offer-typed-data`` (the offer and, for EIP-2612 tokens, the
permit to sign; for ETH, the credit to add first) → the wallet signs → ``POST /api/offers``
(verified, stored) → the seller reads ``GET /api/listings/{id}/offers`` and sends
``POST /api/tx/accept-offer``; the buyer may send ``POST /api/tx/cancel-offer``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from eth_utils import to_checksum_address
from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field

from frontend_api.deps import ClientDep, ServicesDep
from frontend_api.errors import ApiError
from frontend_api.routes.tx import prepared, typed_data_json
from frontend_api.schemas import Address, Hex32, PositiveAmount, PreparedOut, Quantity, _Body
from frontend_api.services import Services
from p2pchain.chain._model import ZERO_ADDRESS
from p2pchain.chain._offer_model import Offer, permit_typed_data
from p2pchain.chain._permit2 import permit_single_typed_data
from p2pchain.indexer._offers import MAX_OFFERS, OfferBook, StoredOffer
from p2pchain.market._offer_calls import DEFAULT_OFFER_SECONDS
from p2pchain.market._offers import (
    MAX_OFFER_SECONDS,
    SignedOffer,
    permit2_support,
    permit_support,
)
from p2pchain.market._reads import MAX_UNIT_AMOUNT
from p2pchain.market._views import ListingStatus

router = APIRouter(tags=["offers"])

IdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
#: Offers answered with their on-chain state in one list (each state is a few chain reads).
MAX_LISTED = 50


class OfferStateOut(BaseModel):
    """Where an offer stands on-chain now."""

    status: Literal["open", "accepted", "cancelled", "expired"]
    funded: bool = Field(description="The buyer's balance (ERC-20) or credit (ETH) covers it.")
    approved: bool = Field(description="The allowance or the permit it carries covers it.")
    listing_live: bool = Field(description="The listing is live with the offer's terms.")


class OfferOut(StoredOffer):
    """A stored offer (``document`` is the signed ``p2pchain/offer/1`` document) and its state
    (``null`` when the chain could not be asked)."""

    total: str = Field(description="What accepting it takes from the buyer, base units.")
    state: OfferStateOut | None = None


class OffersOut(BaseModel):
    """Offers, newest first."""

    offers: list[OfferOut]


class OfferRefIn(_Body):
    """An offer by its id (kept by this API) or as its signed document; exactly one."""

    sender: Address
    offer_id: Hex32 | None = None
    offer: dict[str, Any] | None = Field(default=None, description="A p2pchain/offer/1 document.")


class SenderIn(_Body):
    """Who sends the transaction."""

    sender: Address


class AddCreditIn(_Body):
    """Credit (wei) added to ``account`` (default: the sender); it backs ETH offers."""

    sender: Address
    amount: PositiveAmount
    account: Address | None = None


class OfferTermsIn(_Body):
    """What a buyer offers on a listing."""

    listing_id: Hex32
    buyer: Address
    price: PositiveAmount = Field(description="Price per unit, base units of the listing's token.")
    quantity: Quantity = 1
    expiry: int | None = Field(
        default=None, ge=1, lt=2**40, description="Unix time (default: in 3 days; at most 90)."
    )
    salt: Hex32 | None = None


class OfferTypedDataOut(BaseModel):
    """What the buyer's wallet signs, and the document to complete.

    ``document`` is the ``p2pchain/offer/1`` document without its signature: put the offer's
    signature in ``signature`` and, when ``permit_typed_data`` is given, the permit as
    ``permit`` = ``{value: permit_value, deadline: permit_deadline, v, r, s}``. For an
    ``eip2612`` permit, ``v``, ``r`` and ``s`` are the signature's; for a ``permit2`` one,
    ``v`` is 0 and ``r``, ``s`` the EIP-2098 compact form (``s`` with the y-parity in its top bit).
    ``funding``: transactions to send before the offer can be accepted (ETH: the credit it
    lacks), or ``null``.
    """

    offer_id: str
    document: dict[str, Any]
    offer_typed_data: dict[str, Any]
    permit_typed_data: dict[str, Any] | None
    permit_kind: Literal["eip2612", "permit2"] | None = Field(
        default=None, description="What the permit is: the token's own, or Uniswap's Permit2."
    )
    permit_value: str | None = Field(
        default=None, description="The permit's ``value`` for the document (Permit2: packed)."
    )
    permit_deadline: int | None = Field(default=None, description="The permit's ``deadline``.")
    total: str
    funding: PreparedOut | None


def _book(services: Services) -> OfferBook:
    return OfferBook(services.index.db)


def _state(services: Services, stored: StoredOffer) -> OfferStateOut | None:
    try:
        state = services.client.offer_state(stored.document)
    except Exception:  # noqa: BLE001 - a node that fails leaves the state unknown, not the list
        return None
    return OfferStateOut(
        status=state.status.value,
        funded=state.funded,
        approved=state.approved,
        listing_live=state.listing_live,
    )


def _out(services: Services, stored: StoredOffer, *, state: bool = True) -> OfferOut:
    total = (stored.price + int(stored.document["terms"]["deposit"])) * stored.quantity
    return OfferOut(
        **stored.model_dump(),
        total=str(total),
        state=_state(services, stored) if state else None,
    )


def _many(services: Services, found: list[StoredOffer]) -> OffersOut:
    return OffersOut(offers=[_out(services, s) for s in found[:MAX_LISTED]])


@router.post("/api/offers", status_code=201, operation_id="store_offer")
def store_offer(
    document: Annotated[dict[str, Any], Body(description="A signed p2pchain/offer/1 document.")],
    services: ServicesDep,
) -> OfferOut:
    """Verify a signed offer (this chain and marketplace, the buyer's signature, a listing the
    index knows, not expired) and keep it for the seller; the stored offer and its state."""
    client = services.client
    signed = SignedOffer.from_json(document)  # malformed: 400 naming the field
    signed = client.check_offer(signed)
    listing_key = "0x" + signed.offer.listing_id.hex()
    if services.index.listing(listing_key) is None:
        raise ApiError(404, f"listing {listing_key} is not in the index")
    stored = _book(services).store(signed, now=client.now())
    return _out(services, stored)


@router.get("/api/offers", operation_id="list_offers")
def list_offers(
    services: ServicesDep,
    buyer: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    seller: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    include_expired: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = MAX_LISTED,
) -> OffersOut:
    """Offers by ``buyer`` and/or to ``seller`` (at least one), newest first, with their state."""
    if buyer is None and seller is None:
        raise ApiError(422, "query: give buyer or seller (or both)")
    found = _book(services).list(
        buyer=buyer,
        seller=seller,
        include_expired=include_expired,
        now=services.client.now(),
        limit=min(limit, MAX_OFFERS),
    )
    return _many(services, found)


@router.get("/api/offers/{offer_id}", operation_id="get_offer")
def get_offer(offer_id: IdPath, services: ServicesDep) -> OfferOut:
    """One stored offer and where it stands on-chain."""
    stored = _book(services).get(offer_id)
    if stored is None:
        raise ApiError(404, f"no offer {offer_id.lower()} is kept here")
    return _out(services, stored)


@router.get("/api/listings/{listing_id}/offers", operation_id="listing_offers")
def listing_offers(
    listing_id: IdPath,
    services: ServicesDep,
    include_expired: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = MAX_LISTED,
) -> OffersOut:
    """The offers on a listing, newest first, with their state."""
    found = _book(services).list(
        listing=listing_id, include_expired=include_expired, now=services.client.now(), limit=limit
    )
    return _many(services, found)


def _referenced(services: Services, body: OfferRefIn) -> dict[str, Any]:
    if (body.offer_id is None) == (body.offer is None):
        raise ApiError(422, "give offer_id or offer, exactly one")
    if body.offer is not None:
        return body.offer
    stored = _book(services).get(body.offer_id or "")
    if stored is None:
        raise ApiError(404, f"no offer {(body.offer_id or '').lower()} is kept here")
    return stored.document


@router.post("/api/tx/accept-offer", operation_id="prepare_accept_offer")
def accept_offer(body: OfferRefIn, services: ServicesDep) -> PreparedOut:
    """The seller's transaction accepting an offer: the buyer's payment goes into escrow and
    the trade opens (its id is the offer's id). Refused (409) as the contract would."""
    document = _referenced(services, body)
    return prepared(services.client.prepare_accept_offer(document, sender=body.sender))


@router.post("/api/tx/cancel-offer", operation_id="prepare_cancel_offer")
def cancel_offer(body: OfferRefIn, services: ServicesDep) -> PreparedOut:
    """The buyer's transaction revoking one offer."""
    document = _referenced(services, body)
    return prepared(services.client.prepare_cancel_offer(document, sender=body.sender))


@router.post("/api/tx/cancel-all-offers", operation_id="prepare_cancel_all_offers")
def cancel_all_offers(body: SenderIn, client: ClientDep) -> PreparedOut:
    """The buyer's transaction revoking every offer signed so far."""
    return prepared(client.prepare_cancel_all_offers(sender=body.sender))


@router.post("/api/tx/add-credit", operation_id="prepare_add_credit")
def add_credit(body: AddCreditIn, client: ClientDep) -> PreparedOut:
    """Adding ETH credit in the marketplace (it backs ETH offers; withdrawable any time)."""
    return prepared(
        client.prepare_add_credit(int(body.amount), account=body.account, sender=body.sender)
    )


@router.post("/api/offer-typed-data", operation_id="offer_typed_data")
def offer_typed_data(body: OfferTermsIn, services: ServicesDep) -> OfferTypedDataOut:
    """The EIP-712 offer for the buyer's wallet, the EIP-2612 permit when the listing's token
    takes one, and the ETH credit to add first when the buyer's credit falls short."""
    client = services.client
    listing = client.listing(body.listing_id)
    buyer = to_checksum_address(body.buyer)
    if listing.status is not ListingStatus.LIVE:
        raise ApiError(
            400, f"listing {body.listing_id.lower()} is {listing.status.value}: offers are for live"
        )
    if listing.terms.seller == buyer:
        raise ApiError(400, "buyer: this is the buyer's own listing")
    price = int(body.price)
    if price > MAX_UNIT_AMOUNT:
        raise ApiError(400, f"price: at most {MAX_UNIT_AMOUNT}")
    if body.quantity > listing.remaining:
        raise ApiError(400, f"quantity: only {listing.remaining} units remain")
    now = client.now()
    expiry = now + DEFAULT_OFFER_SECONDS if body.expiry is None else body.expiry
    if not now < expiry <= now + MAX_OFFER_SECONDS:
        raise ApiError(400, "expiry: must be in the future and at most 90 days away")
    offer = Offer(
        terms=listing.terms,
        listing_id=listing.id,
        buyer=buyer,
        quantity=body.quantity,
        price=price,
        expiry=expiry,
        counter=client.offer_counter(buyer),
        salt=bytes.fromhex(body.salt[2:]) if body.salt else os.urandom(32),
    )
    marketplace = client.deployment.marketplace
    offer_id = offer.digest(chain_id=client.chain_id, marketplace=marketplace)
    unsigned = SignedOffer(offer, b"", None, client.chain_id, marketplace, offer_id)
    token = listing.terms.token
    permit = None
    kind: Literal["eip2612", "permit2"] | None = None
    permit_value: str | None = None
    funding = None
    if token == ZERO_ADDRESS:  # ``funding`` stays the ETH credit: the page shows it as such
        calls = client.prepare_offer_funding(unsigned, sender=buyer)
        funding = prepared(calls[0]) if calls else None
    else:
        found = permit_support(client, token, buyer)
        if found is not None:
            name, version, nonce = found
            permit = typed_data_json(
                permit_typed_data(
                    token_name=name,
                    token_version=version,
                    chain_id=client.chain_id,
                    token=token,
                    owner=buyer,
                    spender=marketplace,
                    value=offer.total,
                    nonce=nonce,
                    deadline=expiry,
                )
            )
            kind, permit_value = "eip2612", str(offer.total)
        else:
            nonce2 = permit2_support(client, token, buyer, marketplace, offer.total)
            if nonce2 is not None:
                permit = typed_data_json(
                    permit_single_typed_data(
                        chain_id=client.chain_id,
                        token=token,
                        amount=offer.total,
                        expiration=expiry,
                        nonce=nonce2,
                        spender=marketplace,
                        sig_deadline=expiry,
                    )
                )
                kind, permit_value = "permit2", str((nonce2 << 160) | offer.total)
    return OfferTypedDataOut(
        offer_id="0x" + offer_id.hex(),
        document=unsigned.to_json(),
        offer_typed_data=typed_data_json(
            offer.typed_data(chain_id=client.chain_id, marketplace=marketplace)
        ),
        permit_typed_data=permit,
        permit_kind=kind,
        permit_value=permit_value,
        permit_deadline=expiry if kind else None,
        total=str(offer.total),
        funding=funding,
    )
