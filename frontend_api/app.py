"""The app factory: routers, error handlers, CORS, the web page and the OpenAPI spec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI
from fastapi import Path as PathParam
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from frontend_api.deps import ServicesDep
from frontend_api.errors import install as install_error_handlers
from frontend_api.routes import (
    accounts,
    bookings,
    events,
    hints,
    ipfs,
    listings,
    messaging,
    offers,
    requests,
    tx,
)
from frontend_api.schemas import ConfigOut, ErrorOut, TokenOut
from frontend_api.services import Services
from frontend_api.settings import ApiSettings

#: The web page's folder (plain HTML, CSS and JavaScript; no build step).
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The committed spec; a test checks the live one against it.
OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"
API_VERSION = "1.0.0"

meta = APIRouter(tags=["meta"])


@meta.get("/api/config", operation_id="get_config")
def config(services: ServicesDep) -> ConfigOut:
    """Chain id and contract addresses, and where images are served."""
    client = services.client
    return ConfigOut(
        chain_id=client.chain_id,
        marketplace=client.deployment.marketplace,
        reputation=client.deployment.reputation,
        gateway_url=services.settings.gateway_url or "",
        confirmations=services.settings.confirmations_for(client.chain_id),
        live=services.following,
    )


@meta.get("/api/tokens/{address}", operation_id="get_token")
def token(
    address: Annotated[str, PathParam(pattern=r"^0x[0-9a-fA-F]{40}$")], services: ServicesDep
) -> TokenOut:
    """A token's symbol and decimals, as the page shows its amounts (``known`` false: the
    address does not answer as an ERC-20 token)."""
    from frontend_api.routes.accounts import token_out

    return token_out(services, address)


@meta.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The web page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "Bad argument"),
        (404, "Not found"),
        (409, "The contract would refuse the call"),
        (422, "The request breaks the schema"),
        (503, "The chain, the index or IPFS cannot be reached"),
    )
}


def create_app(
    settings: ApiSettings | None = None,
    *,
    services: Services | None = None,
    warm_up: bool = False,
) -> FastAPI:
    """Build the API.

    Args:
        settings: Where to connect (default: from ``P2PCHAIN_API_*`` variables).
        services: Ready connections (tests, embedding); built from ``settings`` otherwise.
        warm_up: Connect and open the index in the background at start-up.

    Returns:
        The ASGI app. Serve it on 127.0.0.1 (``p2pchain api serve``).
    """
    settings = settings or (services.settings if services else ApiSettings())
    shared = services or Services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            shared.warm_up()
        yield
        shared.close()

    app = FastAPI(
        title="p2pchain frontend API",
        version=API_VERSION,
        description=(
            "Reads (search, listing detail with its verified document, trades, trust) and"
            " unsigned transactions for a browser wallet. The API holds no keys."
        ),
        lifespan=lifespan,
        responses=_ERRORS,
    )
    app.state.services = shared
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )
    for router in (
        listings.router,
        hints.router,
        accounts.router,
        bookings.router,
        tx.router,
        ipfs.router,
        events.router,
        messaging.router,
        offers.router,
        requests.router,
        meta,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
