"""Dependencies the routes declare with ``Annotated``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from frontend_api.services import Services

if TYPE_CHECKING:
    from p2pchain.market._client import MarketplaceClient


def get_services(request: Request) -> Services:
    """The app's :class:`Services`."""
    services: Services = request.app.state.services
    return services


def get_client(request: Request) -> MarketplaceClient:
    """The read-only marketplace client (503 when the chain cannot be reached)."""
    return get_services(request).client


ServicesDep = Annotated[Services, Depends(get_services)]
ClientDep = Annotated["MarketplaceClient", Depends(get_client)]
