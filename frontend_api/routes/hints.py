"""Price hints: what items like a draft listing sold for, from the index's settled trades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from frontend_api.deps import ServicesDep
from p2pchain.indexer import HintQuery, PriceHint

router = APIRouter(prefix="/api", tags=["listings"])


@router.get("/price-hint", response_model=PriceHint, operation_id="price_hint")
def price_hint(query: Annotated[HintQuery, Query()], services: ServicesDep) -> PriceHint:
    """The median and interquartile range of the unit prices of comparable completed trades
    (same category, kind, token and condition; purchases of the last 90 days), and how many
    comparable listings are on offer now. With fewer than 5 such trades the figures are null and
    ``note`` says how many there are: a hint is never made up."""
    return services.index.price_hint(query)
