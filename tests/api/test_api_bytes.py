"""Search and listing detail answer byte for byte what the API answered before its fast paths.

The references below are the routes' code as it was before search and detail were made fast
(per-thread index connections, cached views, one JSON encoding): every field read afresh (a new
index connection, the listing read from the chain, the chain's clock from the node, a new token
catalog), put in the declared response models, serialized by pydantic. Each answer over a real
socket must be exactly those bytes, and exactly what its response model makes of it; answers
under concurrent requests must equal the sequential ones.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from pydantic import BaseModel
from pydantic_core import to_json

from api.conftest import ApiWorld, document, make_world
from frontend_api import Services, create_app
from frontend_api.schemas import ListingDetailOut, SearchOut, TermsOut, TokenOut
from frontend_api.server import ApiServer
from p2pchain._errors import IpfsError, ListingError
from p2pchain.chain._nodes import AnvilChain
from p2pchain.indexer import IndexReader, SearchQuery
from p2pchain.ipfs import CID
from p2pchain.market._listings import check_agreement, publish_listing
from p2pchain.market._tokens import TokenCatalog


class Reference:
    """The pre-change search and detail, reading everything afresh."""

    def __init__(self, world: ApiWorld) -> None:
        self.world = world
        self.services = world.services
        self.client = world.services.client
        self.index = IndexReader(world.services.settings.index_url())
        self.tokens = TokenCatalog(self.client)

    def close(self) -> None:
        self.index.close()

    def _token(self, token: str) -> dict[str, Any]:
        info = self.tokens.info(token)
        return {
            "address": info.address,
            "symbol": info.symbol,
            "decimals": info.decimals,
            "known": info.known,
        }

    def search(self, params: dict[str, Any]) -> bytes:
        fields = {"available_only": True, "sort": "newest", "limit": 20, "offset": 0, **params}
        page = self.index.search(SearchQuery.model_validate(fields))
        items = []
        for item in page.items:
            out = item.model_dump(mode="json")
            out["image_urls"] = [self.services.image_url(c) for c in item.image_cids]
            out["token_info"] = self._token(item.token)
            items.append(out)
        trust = {
            s: self.index.trust(s).model_dump(mode="json") for s in {i.seller for i in page.items}
        }
        for out in items:
            out["seller_trust_view"] = trust[out["seller"]]
        body = {
            "items": items,
            "total": page.total,
            "total_exact": page.total_exact,
            "limit": fields["limit"],
            "offset": fields["offset"],
        }
        return to_json(body)

    def detail(self, listing_id: str) -> bytes:
        listing = self.client.listing(bytes.fromhex(listing_id[2:]))
        t = listing.terms
        terms = TermsOut(
            seller=t.seller,
            token=t.token,
            price=str(t.price),
            deposit=str(t.deposit),
            arbitrator=t.arbitrator,
            arbitrator_fee_bps=t.arbitrator_fee_bps,
            review_window=t.review_window,
            expiry=t.expiry,
            cid=str(CID.parse(t.cid)),
        )
        document = error = None
        images: list[str] = []
        try:
            verified = self.services.document(terms.cid)
            check_agreement(verified, listing)
        except (ListingError, IpfsError) as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            document = verified.model_dump(mode="json")
            images = [self.services.image_url(cid) for cid in verified.images]
        return (
            ListingDetailOut(
                token=TokenOut(**self._token(listing.terms.token)),
                now=self.client.now(),
                id="0x" + listing.id.hex(),
                seller=listing.seller,
                status=listing.status.value,
                signed=listing.signed,
                terms=terms,
                listed_quantity=listing.listed_quantity,
                sold=listing.sold,
                remaining=listing.remaining,
                document_cid=terms.cid,
                document=document,
                document_error=error,
                image_urls=images,
                seller_trust=self.index.trust(listing.seller),
            )
            .model_dump_json()
            .encode()
        )


@pytest.fixture
def rich(anvil_chain: AnvilChain, tmp_path: Any) -> ApiWorld:
    """The API world, plus a rental with a deposit and a non-ASCII title, a listing whose stored
    document was altered, and a completed, rated trade (so the seller's trust has evidence)."""
    world = make_world(anvil_chain, tmp_path)
    market = world.market
    publish_listing(
        market.seller,
        world.store,
        document(
            market,
            title="Zelt für 4 — «Café» 🏕️",
            description='Wasserdicht, "neu"; \\ backslash, tab\tand\nnewline.',
            category="sports/camping",
            kind="rental",
            condition=None,
            price=str(3 * 10**16),
            deposit=str(10**17),
            rental={"start": 1_800_000_000, "end": 1_800_086_400},
        ),
    )
    altered = publish_listing(
        market.seller,
        world.store,
        document(market, title="Desk lamp", category="home/lamps", price=str(2 * 10**17)),
    )
    path = world.store.block_path(altered.document_cid)
    path.write_bytes(path.read_bytes().replace(b"Desk lamp", b"Desk lump"))
    trade = market.buyer.release(market.buyer.buy(world.lamp.listing))  # type: ignore[arg-type]
    market.buyer.rate(trade, 5)
    market.seller.rate(trade, 4)
    world.sync()
    return world


SEARCHES: list[dict[str, Any]] = [
    {},
    {"text": "bike"},
    {"text": "café zelt"},
    {"kind": "rental", "sort": "price_asc"},
    {"kind": "service"},
    {"sort": "price_desc", "limit": 2},
    {"sort": "price_asc", "limit": 1, "offset": 1},
    {"sort": "trust"},
    {"available_only": "false", "sort": "newest", "limit": 50},
    {"category": "sports"},
    {"min_price": "1", "max_price": str(10**18)},
    {"min_trust": 0.0, "text": "lamp"},
]


def _get(session: requests.Session, url: str) -> tuple[int, bytes]:
    answer = session.get(url, timeout=30)
    return answer.status_code, answer.content


@pytest.mark.parametrize("index", ["shared", "own"])
def test_search_and_detail_bodies_are_the_reference_bytes(rich: ApiWorld, index: str) -> None:
    """``shared``: the API reads the indexer's own connection (in worker threads); ``own``: the
    API opens the index itself, a connection per thread (search reads it on the event loop)."""
    app = rich.app
    if index == "own":
        services = Services(rich.services.settings, client=rich.services.client, backend=rich.store)
        app = create_app(services=services)
        assert services.index.db.per_thread and services.index_inline
    reference = Reference(rich)
    index = reference.index
    ids = [
        item.listing_id for item in index.search(SearchQuery(available_only=False, limit=100)).items
    ]
    assert len(ids) == 4
    seller = rich.market.seller_account.address
    searches = [*SEARCHES, {"seller": seller.lower()}, {"token": "ETH", "sort": "trust"}]
    session = requests.Session()
    session.trust_env = False
    try:
        with ApiServer(app) as server:
            urls: dict[str, bytes] = {}
            models: dict[str, type[BaseModel]] = {}
            for params in searches:
                url = f"{server.url}/api/listings?{urlencode(params)}"
                flags = {
                    k: (v == "true") if v in ("true", "false") else v for k, v in params.items()
                }
                urls[url], models[url] = reference.search(flags), SearchOut
            for listing_id in ids:
                url = f"{server.url}/api/listings/{listing_id}"
                urls[url], models[url] = reference.detail(listing_id), ListingDetailOut
            seen: dict[str, bytes] = {}
            for url, expected in urls.items():  # twice: the first answer and the kept one
                for _ in range(2):
                    status, body = _get(session, url)
                    assert status == 200, body
                    assert body == expected, url
                    assert models[url].model_validate_json(body).model_dump_json().encode() == body
                seen[url] = body
            details = [json.loads(seen[u]) for u in seen if "/api/listings/0x" in u]
            assert sum(d["document_error"] is not None for d in details) == 1
            assert any(d["seller_trust"]["rating_count"] == 1 for d in details)
            assert any("🏕️" in (d["document"] or {}).get("title", "") for d in details)

            # The same answers under concurrent requests (readers on their own connections).
            order = list(urls) * 6
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda u: (u, _get(requests.Session(), u)), order))
            for url, (status, body) in answers:
                assert (status, body) == (200, seen[url]), url

            # Errors are answered as before, too.
            status, body = _get(session, f"{server.url}/api/listings/0x{'ee' * 32}")
            assert (status, body) == (
                404,
                b'{"detail":"no listing 0x' + b"ee" * 32 + b' on this marketplace"}',
            )
            status, body = _get(session, f"{server.url}/api/listings?limit=0")
            assert status == 422 and body.startswith(b'{"detail":"query.limit:')
            status, body = _get(session, f"{server.url}/api/listings/0x12")
            assert status == 422

            # Queries FastAPI reads its own way (given twice: the last counts; empty; unknown
            # names ignored) are answered as FastAPI reads them.
            base = f"{server.url}/api/listings"
            for query, params in (
                ("kind=sale&kind=service", {"kind": "service"}),
                ("text=", {"text": ""}),
                ("colour=red&sort=trust", {"sort": "trust"}),
            ):
                assert _get(session, f"{base}?{query}") == (200, reference.search(params)), query
            status, body = _get(session, f"{base}?limit=")
            assert status == 422 and body.startswith(b'{"detail":"query.limit:')
    finally:
        reference.close()
