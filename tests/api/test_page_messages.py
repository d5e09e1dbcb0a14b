"""Conversations in the page, in Chromium, against the Python library through a real relay
process: the page derives the same keys from the wallet (personal_sign), asks the seller about a
listing, the seller answers from the library and the page shows it live; in the dispute the
buyer shares the thread from the page and the arbitrator reads it, in the library and in the
page (read-only, each author checked); a stranger reads nothing. Screenshots and axe-core."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from _market import ONE
from eth_account import Account
from playwright.sync_api import Page

from api._browser import Pages, PageWallet, assert_accessible, click, screenshot, shows, wait_done
from api.conftest import ApiWorld, document, make_world
from frontend_api.server import ApiServer
from p2pchain.chain._model import TradeState
from p2pchain.chain._nodes import AnvilChain
from p2pchain.market._listings import PublishedListing, fetch_listing, publish_listing
from p2pchain.messaging import LoopbackRelay, Message, MessagingClient
from p2pchain.messaging._contacts import messaging_field, seller_contact

CHAIN = 31337


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[LoopbackRelay]:
    """A fresh relay process (the dev accounts' keys are the same in every test)."""
    with LoopbackRelay(tmp_path / "relay") as running:
        yield running


def _until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def _texts(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        '[data-testid="message-text"]', "nodes => nodes.map((n) => n.textContent)"
    )


def _authors(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        '[data-testid="message-author"]', "nodes => nodes.map((n) => n.textContent)"
    )


def _received(client: MessagingClient, topic: bytes, n: int) -> list[Message]:
    def check() -> list[Message] | None:
        client.sync()
        thread = client.thread(topic)
        return thread if len(thread) >= n else None

    return _until(check, f"{n} messages in the library's thread")  # type: ignore[no-any-return]


def test_page_and_library_talk_and_the_arbitrator_reads_the_shared_thread(
    anvil_chain: AnvilChain, tmp_path: Path, relay: LoopbackRelay, browser: Any
) -> None:
    world: ApiWorld = make_world(anvil_chain, tmp_path, follow=True, relays=[relay.url])
    market = world.market
    buyer_address = market.buyer_account.address
    seller_address = market.seller_account.address
    with (
        MessagingClient(
            market.seller_account, [relay.url], tmp_path / "seller.sqlite", chain_id=CHAIN
        ) as seller,
        MessagingClient(
            market.arbitrator_account, [relay.url], tmp_path / "arb.sqlite", chain_id=CHAIN
        ) as arbitrator,
        ApiServer(world.app) as server,
    ):
        car: PublishedListing = publish_listing(
            market.seller,
            world.store,
            document(
                market,
                schema_version=2,
                title="Family car, weekend rental",
                messaging=messaging_field(seller),
            ),
        )
        assert car.listing is not None
        topic = car.listing.id
        car_id = "0x" + topic.hex()
        assert arbitrator.announce() == [relay.url]  # its address card: the page finds it
        pages = Pages(browser, server)
        try:
            # 1. The buyer asks the seller from the listing page, before buying.
            buyer_wallet = PageWallet(world, market.buyer_account)
            page = pages.open(buyer_wallet, f"/#/listing/{car_id}")
            shows(page, '[data-testid="ask-seller"]')
            page.click('[data-testid="ask-seller"]')
            shows(page, '[data-testid="composer"]')
            assert any(m == "personal_sign" for m, _ in buyer_wallet.calls)
            page.fill('[data-testid="message-input"]', "Does the car have a child seat?")
            click(page, '[data-testid="message-send"]')
            assert wait_done(page) == "Message sent."
            assert page.inner_text('[data-testid="message-status"]').endswith("sent")

            # 2. The seller reads it in the library (author checked), and answers from there.
            (question,) = _received(seller, topic, 1)
            assert question.text == "Does the car have a child seat?"
            assert question.author_address == buyer_address and question.signed
            answer = "Yes, a child seat for ages 1 to 4 is included."
            seller.send(topic, answer)

            # 3. The page shows the answer live, its author checked against the seller.
            _until(lambda: _texts(page) == [question.text, answer], "the answer in the page")
            assert _authors(page) == [
                "You",
                f"Seller (0x{seller_address[2:6]}…{seller_address[-4:]})",
            ]
            screenshot(page, "20-conversation-buyer")
            assert_accessible(page, "conversation as buyer")

            # 4. The buyer rents the car and disputes; the thread is the trade's (one unit).
            trade = market.buyer.buy(car.listing)
            assert trade.id == topic
            market.buyer.dispute(trade)
            assert market.seller.trade(topic).state == TradeState.DISPUTED
            page.evaluate(f"location.hash = '#/conversation/{car_id}'")
            page.evaluate("route()")
            shows(page, '[data-testid="share-thread"]')
            click(page, '[data-testid="share-thread"]')
            assert "Shared with the arbitrator" in wait_done(page)

            # 5. The arbitrator reads the disclosed thread in the library: who wrote what.
            parties = {"buyer": buyer_address, "seller": seller_address}

            def shared() -> list[Message] | None:
                arbitrator.sync()
                thread = arbitrator.thread(topic, parties=parties)
                return thread if len(thread) == 2 else None

            thread = _until(shared, "the disclosed thread in the library")
            assert [(m.text, m.party) for m in thread] == [
                (question.text, "buyer"),
                (answer, "seller"),
            ]

            # 6. ... and in the page: read-only, each author checked.
            arb_page = pages.open(
                PageWallet(world, market.arbitrator_account), f"/#/conversation/{car_id}"
            )
            shows(arb_page, '[data-testid="read-only"]')
            _until(lambda: len(_texts(arb_page)) == 2, "the disclosed thread in the page")
            assert _texts(arb_page) == [question.text, answer]
            authors = _authors(arb_page)
            assert authors[0].startswith("Buyer (") and authors[1].startswith("Seller (")
            assert arb_page.locator('[data-testid="composer"]').count() == 0
            screenshot(arb_page, "21-conversation-arbitrator")
            assert_accessible(arb_page, "conversation as arbitrator")

            # 7. A stranger without the disclosed key reads nothing of it.
            stranger = pages.open(
                PageWallet(world, market.stranger_account), f"/#/conversation/{car_id}"
            )
            shows(stranger, '[data-testid="no-messages"]')
            assert _texts(stranger) == []
            for opened in (page, arb_page, stranger):
                assert opened.js_errors == []  # type: ignore[attr-defined]
        finally:
            pages.close()
    world.services.close()


def test_a_seller_lists_on_the_page_and_answers_a_buyer_who_wrote_from_the_library(
    anvil_chain: AnvilChain, tmp_path: Path, relay: LoopbackRelay, browser: Any
) -> None:
    world: ApiWorld = make_world(anvil_chain, tmp_path, follow=True, relays=[relay.url])
    market = world.market
    seller_wallet = PageWallet(world, market.seller_account)
    with (
        MessagingClient(
            market.seller_account, [relay.url], tmp_path / "seller.sqlite", chain_id=CHAIN
        ) as seller_lib,
        MessagingClient(
            market.stranger_account, [relay.url], tmp_path / "buyer.sqlite", chain_id=CHAIN
        ) as buyer,
        MessagingClient(
            Account.create(), [relay.url], tmp_path / "other.sqlite", chain_id=CHAIN
        ) as other,
        ApiServer(world.app) as server,
    ):
        pages = Pages(browser, server)
        try:
            # The seller lists from the page: the document is version 2 with its messaging key.
            page = pages.open(seller_wallet, "/#/sell")
            page.wait_for_selector('[data-testid="sell-form"]')
            assert page.is_checked('[data-testid="sell-messaging"]')
            page.fill('[data-testid="sell-title"]', "Desk lamp")
            page.fill('[data-testid="sell-category"]', "home/lamps")
            page.fill('[data-testid="sell-price"]', "0.05")
            click(page, '[data-testid="sell-submit"]')
            wait_done(page)
            shows(page, '[data-testid="listing-detail"]')
            lamp_id = page.evaluate("location.hash").removeprefix("#/listing/")
            topic = bytes.fromhex(lamp_id[2:])
            document_v2 = fetch_listing(market.stranger, world.store, topic).document
            assert document_v2.schema_version == 2 and document_v2.messaging is not None
            # the page derived the library's inbox key from the same wallet
            assert document_v2.messaging.pubkey == seller_lib.inbox.pubkey
            assert document_v2.messaging.relays == [relay.url]

            buyer.send(topic, "Does it take E27 bulbs?", to=seller_contact(document_v2))
            other.send(topic, "Would you ship it to Porto?", to=seller_contact(document_v2))
            page.evaluate(f"location.hash = '#/conversation/{lamp_id}'")
            # two people asked: one conversation each, never mixed
            shows(page, '[data-testid="askers"]')
            stranger = market.stranger_account.address
            askers = page.eval_on_selector_all(
                '[data-testid="asker"]', "nodes => nodes.map((n) => n.textContent)"
            )
            assert sorted(askers) == sorted(
                f"Conversation with {a}" for a in (stranger, other.address)
            )
            page.click(f'[data-testid="asker"]:has-text("{stranger}")')
            _until(lambda: _texts(page) == ["Does it take E27 bulbs?"], "the question in the page")
            assert _authors(page) == [f"Asker (0x{stranger[2:6]}…{stranger[-4:]})"]
            page.fill('[data-testid="message-input"]', "Yes, E27, up to 60 W.")
            click(page, '[data-testid="message-send"]')
            assert wait_done(page) == "Message sent."
            thread = _received(buyer, topic, 2)
            assert [(m.text, m.author_address) for m in thread] == [
                ("Does it take E27 bulbs?", stranger),
                ("Yes, E27, up to 60 W.", market.seller_account.address),
            ]
            other.sync()
            assert [m.text for m in other.thread(topic)] == ["Would you ship it to Porto?"]
            assert page.js_errors == []  # type: ignore[attr-defined]
        finally:
            pages.close()
    world.services.close()


def test_a_message_sent_while_the_relay_is_down_waits_in_the_page_and_is_delivered(
    anvil_chain: AnvilChain, tmp_path: Path, relay: LoopbackRelay, browser: Any
) -> None:
    world: ApiWorld = make_world(anvil_chain, tmp_path, follow=True, relays=[relay.url])
    market = world.market
    with (
        MessagingClient(
            market.seller_account, [relay.url], tmp_path / "seller.sqlite", chain_id=CHAIN
        ) as seller,
        ApiServer(world.app) as server,
    ):
        bike = publish_listing(
            market.seller,
            world.store,
            document(market, schema_version=2, messaging=messaging_field(seller)),
        )
        assert bike.listing is not None
        pages = Pages(browser, server)
        try:
            page = pages.open(
                PageWallet(world, market.buyer_account),
                f"/#/conversation/0x{bike.listing.id.hex()}",
            )
            shows(page, '[data-testid="composer"]')
            relay.kill()
            page.fill('[data-testid="message-input"]', "Can I see it on Saturday?")
            click(page, '[data-testid="message-send"]')
            page.wait_for_selector(
                '#status[data-state="info"]:has-text("Message kept")', timeout=60_000
            )
            assert page.inner_text('[data-testid="message-status"]').endswith("queued")
            relay.start()  # same port, same database
            page.wait_for_selector(
                '[data-testid="message-status"]:text-matches("sent$")', timeout=60_000
            )
            (message,) = _received(seller, bike.listing.id, 1)
            assert message.text == "Can I see it on Saturday?"
            assert message.author_address == market.buyer_account.address
        finally:
            pages.close()
    world.services.close()


def test_the_page_pushes_trade_notices_and_lists_them_in_my_trades(
    page_world: ApiWorld, pages: Pages
) -> None:
    world, market = page_world, page_world.market
    page = pages.open(PageWallet(world, market.seller_account), "/#/trades")
    shows(page, '[data-testid="no-trades"]')
    shows(page, 'body[data-notices="live"]')  # the page's notice stream is open
    trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
    market.buyer.dispute(trade)
    tid = "0x" + trade.id.hex()
    shows(page, '[data-testid="notice"][data-kind="disputed"]')
    shows(page, '[data-testid="notice"][data-kind="bought"]')
    pushed = page.inner_text('[data-testid="notice"][data-kind="disputed"]')
    assert f"trade {tid[:10]}…: disputed by {market.buyer_account.address}" in pushed
    assert "(you: seller)" in pushed
    shows(page, f'[data-testid="trade-row"][data-id="{tid}"][data-state="disputed"]')
    listed = page.eval_on_selector_all(
        '[data-testid="notifications"] li', "nodes => nodes.map((n) => n.dataset.kind)"
    )
    assert listed == ["disputed", "bought"]  # newest first
    screenshot(page, "22-trades-notices")
    assert_accessible(page, "trades with notices")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_trade_that_happens_while_the_page_connects_still_shows_as_a_notice(
    page_world: ApiWorld, pages: Pages
) -> None:
    """The purchase and the dispute are mined after the page's first read and before its
    notice stream reaches the API (the browser holds that request): both notices still come."""
    world, market = page_world, page_world.market
    done: list[str] = []

    def trade_first(url: str) -> None:
        if "/api/notifications/stream" in url and not done:
            trade = market.buyer.buy(world.bike.listing)  # type: ignore[arg-type]
            market.buyer.dispute(trade)
            done.append("0x" + trade.id.hex())

    page = pages.open(PageWallet(world, market.seller_account), "/#/trades", before=trade_first)
    shows(page, 'body[data-notices="live"]')
    assert done, "the page never opened its notice stream"
    shows(page, '[data-testid="notice"][data-kind="disputed"]')
    shows(page, '[data-testid="notice"][data-kind="bought"]')
    kinds = page.eval_on_selector_all(
        '[data-testid="notice"]', "nodes => nodes.map((n) => n.dataset.kind)"
    )
    assert kinds == ["disputed", "bought"]  # newest on top, each once
    assert done[0][:10] in page.inner_text('[data-testid="notice"][data-kind="bought"]')
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_an_offer_received_is_pushed_and_leads_to_the_listing(
    page_world: ApiWorld, pages: Pages, page_server: ApiServer
) -> None:
    """A notice from the index (an offer on the seller's listing) reaches the open page through
    the same stream, and its link opens the listing, where the offer can be accepted."""
    world, market = page_world, page_world.market
    bike = world.bike.listing
    assert bike is not None
    page = pages.open(PageWallet(world, market.seller_account), "/#/trades")
    shows(page, 'body[data-notices="live"]')
    market.buyer.add_credit(ONE // 2)
    signed = market.buyer.make_offer(bike, ONE // 2)
    session = requests.Session()
    session.trust_env = False
    stored = session.post(page_server.url + "/api/offers", json=signed.to_json(), timeout=60)
    assert stored.status_code == 201, stored.text
    notice = '[data-testid="notice"][data-kind="offer_received"]'
    shows(page, notice)
    link = page.get_attribute(f"{notice} a", "href")
    assert link == f"#/listing/0x{bike.id.hex()}"
    screenshot(page, "23-offer-notice")
    assert_accessible(page, "an offer notice")
    click(page, f"{notice} a")
    shows(page, f'[data-testid="accept-offer-0x{signed.id.hex()}"]')
    assert page.js_errors == []  # type: ignore[attr-defined]
