"""Accounts: an address's trades (with who may do what next) and its trust."""

from __future__ import annotations

import time
from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path

from frontend_api.deps import ServicesDep
from frontend_api.schemas import (
    CreditOut,
    CreditsOut,
    NextStepOut,
    RatingOut,
    RatingsOut,
    TokenOut,
    TradeOut,
    TradesOut,
    TrustOut,
)
from frontend_api.services import Services
from p2pchain._errors import P2PChainError
from p2pchain.chain._model import ZERO_ADDRESS, Trade, TradeState
from p2pchain.indexer import IndexedTrade
from p2pchain.market._views import TradeView

router = APIRouter(prefix="/api/accounts", tags=["accounts"])

AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]


def trade_view(item: IndexedTrade) -> TradeView:
    """The library's view of an indexed trade (for its next steps)."""
    trade = Trade(
        buyer=item.buyer,
        seller=item.seller,
        token=ZERO_ADDRESS if item.token == "ETH" else item.token,
        arbitrator=item.arbitrator or ZERO_ADDRESS,
        arbitrator_fee_bps=item.arbitrator_fee_bps,
        amount=item.amount,
        deposit=item.deposit,
        deadline=item.deadline,
        state=TradeState[item.state.upper()],
        flags=item.flags,
        proposed_buyer_share=item.proposed_buyer_share,
    )
    return TradeView(
        id=bytes.fromhex(item.trade_id[2:]),
        listing_id=bytes.fromhex(item.listing_id[2:]),
        trade=trade,
        quantity=item.quantity,
        opened_at=item.opened_at,
        rated_by_buyer=item.buyer_rated,
        rated_by_seller=item.seller_rated,
    )


def token_out(services: Services, token: str) -> TokenOut:
    """The token's symbol and decimals (ETH for ``"ETH"`` or the zero address)."""
    info = services.tokens.info(token)
    return TokenOut(
        address=info.address, symbol=info.symbol, decimals=info.decimals, known=info.known
    )


def dispute_of(services: Services, item: IndexedTrade) -> tuple[str | None, str | None]:
    """Who disputed a trade and the reason they gave (None, None if never disputed).

    The reason's CID rides in the dispute transaction's calldata (``p2pchain.market._notes``);
    the text comes from IPFS, verified against it. A reason that cannot be read says why.
    """
    from p2pchain.market._notes import note_cid

    hashes = services.index.event_transactions(item.trade_id, "Disputed")
    if not hashes:
        return None, None
    try:
        tx = services.client.w3.eth.get_transaction(hashes[-1])  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - the trade still shows, without its reason
        return None, None
    by = to_checksum_address(tx["from"])
    cid = note_cid(bytes(tx["input"]))
    if cid is None:
        return by, None
    try:
        return by, services.text(cid)
    except P2PChainError as exc:
        return by, f"(the reason stored at {cid} cannot be read: {str(exc).splitlines()[0]})"


def trade_out(services: Services, item: IndexedTrade, address: str) -> TradeOut:
    """An indexed trade with ``address``'s role, every party's next steps, and what to show."""
    view = trade_view(item)
    role = view.role_of(address)
    steps = [
        NextStepOut(action=s.action, actor=s.actor, not_before=s.not_before, until=s.until)
        for s in view.next_steps()
    ]
    listing = services.index.listing(item.listing_id)
    proposal = view.proposal
    disputed_by, reason = dispute_of(services, item) if item.state != "paid" else (None, None)
    return TradeOut(
        **item.model_dump(),
        role=role.value if role else None,
        next_steps=steps,
        title=listing.title if listing is not None else None,
        held=str(view.held.total),
        token_info=token_out(services, item.token),
        proposal_by=proposal[0] if proposal else None,
        disputed_by=disputed_by,
        dispute_reason=reason,
    )


@router.get("/{address}/trades", operation_id="trades_of")
def trades(address: AddressPath, services: ServicesDep) -> TradesOut:
    """Every trade where ``address`` is buyer, seller or arbitrator, newest first."""
    who = to_checksum_address(address)
    index = services.index
    items = index.trades_of(who)
    return TradesOut(
        address=who,
        items=[trade_out(services, t, who) for t in items],
        now=index_now(services),
    )


def index_now(services: Services) -> int:
    """The chain's clock: the latest block's time (the index's, if the node is away)."""
    try:
        return services.client.now()
    except P2PChainError:
        return int(time.time())


@router.get("/{address}/ratings", operation_id="ratings_of")
def ratings(address: AddressPath, services: ServicesDep) -> RatingsOut:
    """Ratings ``address`` received (newest first, at most 50), with their written reviews."""
    from p2pchain.ipfs import CID

    who = to_checksum_address(address)
    items = []
    for r in services.index.ratings_of(who):
        text = error = cid = None
        if r.review_cid is not None:
            try:
                cid = str(CID.parse(bytes.fromhex(r.review_cid[2:])))
                text = services.text(cid)
            except P2PChainError as exc:
                error = str(exc).splitlines()[0]
        items.append(
            RatingOut(
                trade_id=r.trade_id,
                rater=r.rater,
                score=r.score,
                token=token_out(services, r.token),
                value=str(r.value),
                review_cid=cid,
                review=text,
                review_error=error,
                rated_at=r.rated_at,
            )
        )
    return RatingsOut(address=who, items=items)


@router.get("/{address}/credits", operation_id="credits_of")
def credits(address: AddressPath, services: ServicesDep) -> CreditsOut:
    """Payouts credited to ``address`` that it can withdraw: ETH and every token it traded in."""
    who = to_checksum_address(address)
    client = services.client
    tokens = ["ETH", *sorted({t.token for t in services.index.trades_of(who)} - {"ETH"})]
    items = []
    for token in tokens:
        amount = client.credit(who, ZERO_ADDRESS if token == "ETH" else token)
        if amount:
            items.append(CreditOut(token=token_out(services, token), amount=str(amount)))
    return CreditsOut(address=who, items=items)


@router.get("/{address}/trust", operation_id="trust_of")
def trust(address: AddressPath, services: ServicesDep) -> TrustOut:
    """The index's trust score of ``address`` and its on-chain rating totals (ETH trades)."""
    who = to_checksum_address(address)
    summary = services.client.reputation_of(who)
    return TrustOut(
        address=who,
        trust=services.index.trust(who),
        onchain_rating_count=summary.count,
        onchain_average=summary.average,
    )
