"""The API's messaging and notice endpoints, over real HTTP on 127.0.0.1: trade notices (the
library's, as ``p2pchain inbox`` lists them), their SSE stream, the relays, and contacts from a
version 2 listing document and from address cards on a real relay process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from pydantic import ValidationError

from api.conftest import ApiWorld, document, make_world
from frontend_api import ApiSettings, Services, create_app
from frontend_api.server import ApiServer
from p2pchain.chain._nodes import AnvilChain
from p2pchain.market._listings import publish_listing
from p2pchain.messaging import LoopbackRelay, MessagingClient
from p2pchain.messaging._contacts import messaging_field
from p2pchain.messaging._events import KIND_APP_DATA, sign_event
from p2pchain.messaging._keys import inbox_keys, make_proof, root_from_account
from p2pchain.messaging._notify import trade_notices

DAY = 24 * 3600


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[LoopbackRelay]:
    """A fresh relay process (the dev accounts are shared: a fresh relay keeps tests apart)."""
    with LoopbackRelay(tmp_path / "relay") as running:
        yield running


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only, never a proxy
    return session


def _server(world: ApiWorld, relays: list[str]) -> ApiServer:
    """The world's API with messaging relays configured, on a real socket."""
    settings = ApiSettings(
        network=world.chain.url,
        index_db=world.services.settings.index_db,
        sync=False,
        relays=relays,
    )
    services = Services(
        settings,
        client=world.services.client,
        backend=world.store,
        indexer=world.services.index,
    )
    return ApiServer(create_app(services=services))


def _get(server: ApiServer, path: str) -> requests.Response:
    return _session().get(server.url + path, timeout=30)


def test_notifications_list_the_buyers_trade_events_newest_first(world: ApiWorld) -> None:
    market = world.market
    trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    market.buyer.dispute(trade)
    buyer = market.buyer_account.address
    with _server(world, []) as server:
        answer = _get(server, f"/api/notifications?address={buyer.lower()}")
        assert answer.status_code == 200
        body = answer.json()
    assert body["address"] == buyer
    kinds = [n["kind"] for n in body["notifications"]]
    assert kinds == ["disputed", "bought"]
    tid = "0x" + trade.id.hex()
    assert {n["trade"] for n in body["notifications"]} == {tid}
    library = trade_notices(market.seller, buyer, body["now"])
    assert [(n.key, n.kind, n.at, n.text) for n in library] == [
        (n["key"], n["kind"], n["at"], n["text"]) for n in body["notifications"]
    ]
    assert "(you: buyer)" in body["notifications"][0]["text"]


def test_notifications_warn_of_a_review_window_closing_within_a_day(world: ApiWorld) -> None:
    market = world.market
    trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    deadline = market.seller.trade(trade.id).review_deadline
    assert deadline is not None
    seller = market.seller_account.address
    with _server(world, []) as server:
        before = _get(server, f"/api/notifications?address={seller}").json()
        assert "review_window_closing" not in [n["kind"] for n in before["notifications"]]
        market.warp_to(deadline - DAY + 3600)  # 23 hours left
        market.stranger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        after = _get(server, f"/api/notifications?address={seller}").json()
    first = after["notifications"][0]
    assert first["kind"] == "review_window_closing" and first["at"] == deadline
    assert "your review window closes in 2" in first["text"]  # 22h 59m or 23h 00m


def test_notifications_tell_of_matches_and_offers_from_the_index(world: ApiWorld) -> None:
    """The buyer hears of a listing listed after its request and matching it; the seller of
    the request both its service listings match and of an offer on its bike (the index's
    market notices, with the same keys as the library's inbox)."""
    from api.test_requests_api import lamp_request
    from p2pchain import publish_request
    from p2pchain.indexer._offers import OfferBook
    from p2pchain.messaging._notify import market_notices

    market, index = world.market, world.services.index
    buyer, seller = market.buyer_account.address, market.seller_account.address
    market.warp_to(market.buyer.now() + 60)  # the listings so far are older than the request
    market.stranger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    world.sync()
    request = publish_request(market.buyer, world.store, lamp_request(world))
    index.add_request(request.signed.to_json(), world.store.cat(request.signed.cid))
    fixer = publish_listing(
        market.seller,
        world.store,
        document(
            market, title="Lamp rewiring", category="services/repair", kind="service",
            condition=None, price=str(10**18 // 25),
        ),
    )  # fmt: skip
    assert fixer.listing is not None and world.bike.listing is not None
    world.sync()
    offer = market.buyer.make_offer(world.bike.listing, 10**18 // 2)
    OfferBook(index.db).store(offer)
    fixer_id, offer_id = "0x" + fixer.listing.id.hex(), "0x" + offer.id.hex()
    lamp_id = "0x" + world.lamp.listing.id.hex()  # type: ignore[union-attr]
    bike_id = "0x" + world.bike.listing.id.hex()
    with _server(world, []) as server:
        to_buyer = _get(server, f"/api/notifications?address={buyer}").json()["notifications"]
        to_seller = _get(server, f"/api/notifications?address={seller}").json()["notifications"]
    (match,) = [n for n in to_buyer if n["kind"] == "listing_matches_request"]
    assert (match["request"], match["listing"]) == (request.id, fixer_id)
    assert match["key"] == f"listing_matches_request/{request.id}/{fixer_id}"
    assert "Lamp rewiring" in match["text"] and "matches your request" in match["text"]
    told = {
        (n["request"], n["listing"]) for n in to_seller if n["kind"] == "request_matches_listing"
    }
    assert told == {(request.id, lamp_id), (request.id, fixer_id)}
    (received,) = [n for n in to_seller if n["kind"] == "offer_received"]
    assert (received["offer"], received["listing"]) == (offer_id, bike_id)
    assert "offers 0.5 ETH per unit" in received["text"]
    library = market_notices(index, seller)
    assert {n.key for n in library} <= {n["key"] for n in to_seller}
    assert [n["at"] for n in to_seller] == sorted((n["at"] for n in to_seller), reverse=True)


def test_notifications_refuse_bad_input_in_one_line(world: ApiWorld) -> None:
    with _server(world, []) as server:
        for path, words in (
            ("/api/notifications?address=0x123", "query.address"),
            ("/api/notifications", "query.address: Field required"),
            (f"/api/notifications?address={'0x' + '1' * 40}&limit=0", "query.limit"),
            ("/api/notifications/stream?address=bob", "query.address"),
        ):
            answer = _get(server, path)
            assert answer.status_code == 422, path
            detail = answer.json()["detail"]
            assert detail.startswith(words) and "\n" not in detail, detail


def test_an_account_without_trades_has_no_notifications(world: ApiWorld) -> None:
    nobody = Account.create().address
    with _server(world, []) as server:
        body = _get(server, f"/api/notifications?address={nobody}").json()
    assert body["notifications"] == [] and body["address"] == nobody


def _events(lines: Iterator[str]) -> Iterator[tuple[str | None, str, dict[str, Any]]]:
    """The (id, name, data) of each Server-Sent Event in a stream's lines."""
    event_id: str | None = None
    name = "message"
    for line in lines:
        if line.startswith("id: "):
            event_id = line.removeprefix("id: ")
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event_id, name, json.loads(line.removeprefix("data: "))
            name = "message"


def _notices(
    server: ApiServer, query: str, until: str | None, headers: dict[str, str] | None = None
) -> tuple[str | None, list[tuple[str | None, dict[str, Any]]]]:
    """Open the stream with ``query``: its hello's id, then the notices up to the first of kind
    ``until`` (none: only the hello)."""
    url = f"{server.url}/api/notifications/stream?{query}"
    got: list[tuple[str | None, dict[str, Any]]] = []
    with _session().get(url, stream=True, timeout=30, headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.iter_lines(decode_unicode=True))
        hello_id, name, data = next(events)
        assert name == "hello" and data["following"] is True
        for event_id, name, data in events if until else ():
            assert name == "notice"
            got.append((event_id, data))
            if data["kind"] == until:
                break
    return hello_id, got


def _wait_for_notices(server: ApiServer, who: str, count: int) -> None:
    """Until the API's own index lists ``count`` notices of ``who``."""
    deadline = time.monotonic() + 30
    while len(_get(server, f"/api/notifications?address={who}").json()["notifications"]) < count:
        assert time.monotonic() < deadline, "the API's index never caught up"
        time.sleep(0.1)


def test_the_notification_stream_pushes_a_purchase_and_a_dispute_to_the_seller(
    anvil_chain: AnvilChain, tmp_path: Path
) -> None:
    world = make_world(anvil_chain, tmp_path, follow=True)
    market = world.market
    seller = market.seller_account.address
    got: list[dict[str, Any]] = []
    with ApiServer(world.app) as server:
        url = f"{server.url}/api/notifications/stream?address={seller}"
        with _session().get(url, stream=True, timeout=30) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines(decode_unicode=True)
            assert next(lines) == "retry: 500"
            events = _events(lines)
            hello_id, name, data = next(events)
            assert name == "hello" and data == {"address": seller, "following": True}
            assert hello_id is not None and int(hello_id) == market.seller.now()
            trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
            market.buyer.dispute(trade)
            for event_id, name, data in events:
                assert name == "notice" and event_id is not None and int(event_id) >= data["at"]
                got.append(data)
                if len(got) == 2:
                    break
    world.services.close()
    assert [n["kind"] for n in got] == ["bought", "disputed"]  # oldest first, as they happen
    assert all(n["trade"] == "0x" + trade.id.hex() and "(you: seller)" in n["text"] for n in got)


def test_a_stream_from_an_earlier_read_loses_nothing_that_happened_while_it_connected(
    anvil_chain: AnvilChain, tmp_path: Path
) -> None:
    """A page reads the notices (``now``), a trade is bought and disputed before its stream
    opens: with ``since=now`` the stream still pushes both; reconnecting with the last event's
    id (``Last-Event-ID``) sends only what came after, and the next thing that happens."""
    world = make_world(anvil_chain, tmp_path, follow=True)
    market = world.market
    seller = market.seller_account.address
    with ApiServer(world.app) as server:
        read = _get(server, f"/api/notifications?address={seller}").json()
        assert read["notifications"] == []
        trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
        market.buyer.dispute(trade)
        _wait_for_notices(server, seller, 2)
        # Without since: what is there at connection time is not pushed (the list has it).
        hello_id, _ = _notices(server, f"address={seller}", None)
        assert hello_id is not None and int(hello_id) >= read["now"]
        _, got = _notices(server, f"address={seller}&since={read['now']}", "disputed")
        assert [n["kind"] for _, n in got] == ["bought", "disputed"]
        last_id = got[-1][0]
        assert last_id is not None and int(last_id) >= got[-1][1]["at"]
        market.arbitrator.rule(trade.id, 0)
        _, later = _notices(server, f"address={seller}", "ruled", {"Last-Event-ID": last_id})
        # Only what came at or after the last event's time (a same-second one may come again).
        assert later[-1][1]["kind"] == "ruled"
        assert all(n["at"] >= int(last_id) for _, n in later) and len(later) <= 3
        bad = _get(server, f"/api/notifications/stream?address={seller}&since=-1")
        assert bad.status_code == 422 and bad.json()["detail"].startswith("query.since")
    world.services.close()


def test_relays_are_the_configured_ones(world: ApiWorld, relay: LoopbackRelay) -> None:
    with _server(world, [relay.url, relay.url + "/"]) as server:
        assert _get(server, "/api/messaging/relays").json() == {"relays": [relay.url]}
    with _server(world, []) as server:
        assert _get(server, "/api/messaging/relays").json() == {"relays": []}


def test_a_relay_that_is_not_a_websocket_url_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="invalid relay URL 'http://127.0.0.1:1'"):
        ApiSettings(relays=["http://127.0.0.1:1"])
    assert ApiSettings(relays="ws://127.0.0.1:1, ws://127.0.0.1:2").relays == [  # type: ignore[arg-type]
        "ws://127.0.0.1:1",
        "ws://127.0.0.1:2",
    ]


def test_listing_contact_is_the_sellers_vouched_key_from_a_version_2_document(
    world: ApiWorld, relay: LoopbackRelay, tmp_path: Path
) -> None:
    market = world.market
    with MessagingClient(
        market.seller_account, [relay.url], tmp_path / "seller.sqlite", chain_id=31337
    ) as seller:
        doc = document(market, schema_version=2, messaging=messaging_field(seller))
        published = publish_listing(market.seller, world.store, doc)
        impostor_account = Account.create()
        with MessagingClient(
            impostor_account, [relay.url], tmp_path / "impostor.sqlite", chain_id=31337
        ) as impostor:
            forged = publish_listing(
                market.seller,
                world.store,
                document(market, schema_version=2, messaging=messaging_field(impostor)),
            )
        assert published.listing is not None and forged.listing is not None
        with _server(world, [relay.url]) as server:
            good = _get(server, f"/api/listings/0x{published.listing.id.hex()}/contact")
            v1 = _get(server, f"/api/listings/0x{world.bike.listing.id.hex()}/contact")  # type: ignore[union-attr]
            bad = _get(server, f"/api/listings/0x{forged.listing.id.hex()}/contact")
            missing = _get(server, f"/api/listings/0x{'ab' * 32}/contact")
            malformed = _get(server, "/api/listings/0x1234/contact")
        assert good.status_code == 200
        assert good.json() == {
            "address": market.seller_account.address,
            "pubkey": seller.inbox.pubkey,
            "relays": [relay.url],
            "source": "listing",
        }
    assert v1.status_code == 404
    assert v1.json()["detail"].startswith("the listing's document (version 1) names no messaging")
    assert bad.status_code == 502 and "not vouched for by the seller" in bad.json()["detail"]
    assert missing.status_code == 404
    assert malformed.status_code == 422 and malformed.json()["detail"].startswith("path.listing_id")


def test_account_contact_comes_from_the_address_card_on_the_relays(
    world: ApiWorld, relay: LoopbackRelay, tmp_path: Path
) -> None:
    market = world.market
    seller_address = market.seller_account.address
    # An impostor publishes a card claiming the seller's address, with a proof of its own.
    impostor = Account.create()
    keys = inbox_keys(root_from_account(impostor))
    forged = sign_event(
        keys,
        KIND_APP_DATA,
        json.dumps(
            {
                "address": seller_address,
                "proof": make_proof(impostor, keys.pubkey),
                "relays": [relay.url],
            }
        ),
        [["d", f"p2pchain:address:{seller_address.lower()}"]],
    )
    with MessagingClient(
        market.seller_account, [relay.url], tmp_path / "seller.sqlite", chain_id=31337
    ) as seller:
        assert seller.pool.publish(forged.to_dict(), [relay.url])[0].accepted
        with _server(world, [relay.url]) as server:
            before = _get(server, f"/api/accounts/{seller_address}/contact")
            assert seller.announce() == [relay.url]
            after = _get(server, f"/api/accounts/{seller_address.lower()}/contact")
            stranger = _get(server, f"/api/accounts/{Account.create().address}/contact")
        assert before.status_code == 404  # the impostor's card is not the seller's
        assert "has no address card on the relays" in before.json()["detail"]
        assert after.status_code == 200
        assert after.json() == {
            "address": seller_address,
            "pubkey": seller.inbox.pubkey,
            "relays": [relay.url],
            "source": "card",
        }
    assert stranger.status_code == 404


def test_account_contact_without_relays_or_with_relays_down_says_so(
    world: ApiWorld, tmp_path: Path
) -> None:
    who = world.market.seller_account.address
    with _server(world, []) as server:
        answer = _get(server, f"/api/accounts/{who}/contact")
        assert answer.status_code == 404 and "no relays configured" in answer.json()["detail"]
    down = LoopbackRelay(tmp_path / "down")
    down.start()
    url = down.url
    down.close()
    with _server(world, [url]) as server:
        answer = _get(server, f"/api/accounts/{who}/contact")
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("no relay could be reached")


def test_the_notification_stream_of_an_api_that_does_not_follow_ends_at_once(
    world: ApiWorld,
) -> None:
    who = world.market.buyer_account.address
    with _server(world, []) as server:
        answer = _get(server, f"/api/notifications/stream?address={who}")
    assert answer.status_code == 200
    assert answer.text == (
        "retry: 60000\n\nevent: hello\ndata: "
        + json.dumps({"address": who, "following": False}, separators=(",", ":"))
        + "\n\n"
    )
