"""Accounts: an address's trades (with who may do what next) and its trust."""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path

from frontend_api.deps import ServicesDep
from frontend_api.schemas import NextStepOut, TradeOut, TradesOut, TrustOut
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


def trade_out(item: IndexedTrade, address: str) -> TradeOut:
    """An indexed trade with ``address``'s role and every party's next steps."""
    view = trade_view(item)
    role = view.role_of(address)
    steps = [
        NextStepOut(action=s.action, actor=s.actor, not_before=s.not_before, until=s.until)
        for s in view.next_steps()
    ]
    return TradeOut(**item.model_dump(), role=role.value if role else None, next_steps=steps)


@router.get("/{address}/trades", operation_id="trades_of")
def trades(address: AddressPath, services: ServicesDep) -> TradesOut:
    """Every trade where ``address`` is buyer or seller, newest first."""
    who = to_checksum_address(address)
    items = services.index.trades_of(who)
    return TradesOut(address=who, items=[trade_out(t, who) for t in items])


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
