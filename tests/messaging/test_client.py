"""Conversations through a real relay process: threads, proofs, disclosure, attachments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _market import Market

from p2pchain._errors import MessagingError
from p2pchain.ipfs import LocalStore
from p2pchain.messaging import LoopbackRelay, MessageTooLarge, attach, fetch_attachment

from ._helpers import CHAIN, Person


def test_buyer_asks_before_buying_and_the_seller_answers(person: Person, topic: bytes) -> None:
    buyer, seller = person(), person()
    sent = buyer.send(topic, "Does the car have a child seat?", to=seller.contact)
    assert sent.status == "sent" and sent.message.status == "sent" and sent.message.outgoing
    report = seller.sync()
    assert (report.received, report.new_threads, report.dropped) == (1, 1, 0)
    seller.send(topic, "Yes, it is in the boot.")
    assert buyer.sync().received == 1
    parties = {"buyer": buyer.address, "seller": seller.address}
    for client in (buyer, seller):
        thread = client.thread(topic, parties=parties)
        assert [(m.party, m.text) for m in thread] == [
            ("buyer", "Does the car have a child seat?"),
            ("seller", "Yes, it is in the boot."),
        ]
        assert all(m.signed for m in thread)
    assert [m.outgoing for m in seller.thread(topic)] == [False, True]


def test_a_seller_asked_by_two_people_answers_the_one_named_never_a_guess(
    person: Person, topic: bytes
) -> None:
    """Two buyers ask about one listing, each on a channel of their own. A reply that does
    not say whom it answers is refused (it could reach the wrong person); naming one by the
    address their key proof shows reaches only them."""
    first, second, seller = person(), person(), person()
    first.send(topic, "Is it still available?", to=seller.contact)
    second.send(topic, "Would you take 0.08 ETH?", to=seller.contact)
    assert seller.sync().received == 2
    with pytest.raises(MessagingError) as refused:
        seller.send(topic, "Yes, 0.08 is fine.")
    text = str(refused.value)
    assert "2 people have a thread" in text
    assert first.address.lower() in text and second.address.lower() in text
    seller.send(topic, "Yes, 0.08 is fine.", with_address=second.address)
    assert second.sync().received == 1 and first.sync().received == 0
    assert [m.text for m in second.thread(topic)][-1] == "Yes, 0.08 is fine."
    assert "Yes, 0.08 is fine." not in [m.text for m in first.thread(topic)]
    first.send(topic, "Hello?")  # a buyer has one channel: no need to say whom
    assert seller.sync().received == 1


def test_threads_are_unlinkable_on_the_relay(person: Person, relay: object) -> None:
    """Two threads of the same buyer with the same seller use unrelated keys on the relay."""
    import os

    buyer, seller = person(), person()
    first, second = os.urandom(32), os.urandom(32)
    buyer.send(first, "one", to=seller.contact)
    buyer.send(second, "two", to=seller.contact)
    channels = buyer.store.channels()
    assert len({c.pubkey for c in channels}) == 2
    assert len({c.my_pubkey for c in channels}) == 2  # a thread key per thread
    assert buyer.inbox.pubkey not in {c.my_pubkey for c in channels}


def test_trade_thread_disclosed_to_the_arbitrator_is_evidence(
    person: Person, market: Market, topic: bytes, own_relay: LoopbackRelay
) -> None:
    """A real trade on chain; the buyer shares the thread; the arbitrator reads it and checks
    each author against the trade's parties. A stranger reads nothing, and the arbitrator
    cannot write into it."""
    listing = market.seller.create_listing(market.terms())
    trade = market.buyer.buy(listing)
    trade = market.buyer.dispute(trade)
    tid = trade.id
    relays = [own_relay.url]
    buyer = person(account=market.buyer_account, name="buyer", relays=relays)
    seller = person(account=market.seller_account, name="seller", relays=relays)
    arbitrator = person(account=market.arbitrator_account, name="arbitrator", relays=relays)
    stranger = person(name="stranger", relays=relays)
    arbitrator.announce()

    buyer.send(tid, "The helmet arrived with a deep scratch.", to=seller.contact)
    seller.sync()
    seller.send(tid, "It left here without a scratch.")
    buyer.sync()
    contact = buyer.lookup(market.arbitrator_account.address)
    assert contact is not None and contact.pubkey == arbitrator.inbox.pubkey
    assert buyer.share(tid, contact) == 1

    assert stranger.sync().received == 0
    assert stranger.thread(tid) == []
    report = arbitrator.sync()
    assert (report.received, report.new_threads) == (2, 1)
    view = market.arbitrator.trade(tid)
    parties = {"buyer": view.buyer, "seller": view.seller}
    evidence = arbitrator.thread(tid, parties=parties)
    assert [(m.party, m.text) for m in evidence] == [
        ("buyer", "The helmet arrived with a deep scratch."),
        ("seller", "It left here without a scratch."),
    ]
    assert all(not m.outgoing for m in evidence)
    with pytest.raises(Exception, match="read-only"):
        arbitrator.send(tid, "I am the buyer and I withdraw my claim")


def test_a_message_over_64_kib_is_refused_and_nothing_is_kept(person: Person, topic: bytes) -> None:
    buyer, seller = person(), person()
    with pytest.raises(MessageTooLarge, match="over the 64 KiB limit"):
        buyer.send(topic, "x" * 65_536, to=seller.contact)
    assert buyer.pending() == 0 and buyer.thread(topic) == [] and buyer.store.channels() == []
    near = buyer.send(topic, "y" * 64_000, to=seller.contact)
    assert near.status == "sent"
    assert seller.sync().received == 1
    assert seller.thread(topic)[0].text == "y" * 64_000


def test_photo_of_the_damage_travels_as_an_encrypted_attachment(
    person: Person, topic: bytes, tmp_path: Path
) -> None:
    ipfs = LocalStore(tmp_path / "ipfs")
    buyer, seller = person(), person()
    photo = b"\x89PNG\r\n\x1a\n pretend this is a photo of a scratch" * 100
    attachment = attach(ipfs, photo, "scratch.png", "image/png")
    assert photo not in ipfs.cat(attachment.cid)  # IPFS holds ciphertext only
    buyer.send(topic, "See the photo.", to=seller.contact, attachments=[attachment])
    seller.sync()
    (received,) = seller.thread(topic)
    (got,) = received.attachments
    assert (got.cid, got.name, got.mime, got.size) == (
        attachment.cid,
        "scratch.png",
        "image/png",
        len(photo),
    )
    assert fetch_attachment(ipfs, got) == photo


def test_direct_messages_and_the_inbox_newest_first(person: Person) -> None:
    alice, bob = person(), person()
    alice.direct(bob.contact, "first")
    alice.direct(bob.contact, "second")
    bob.sync()
    assert [m.text for m in bob.direct_thread(alice.inbox.pubkey)] in (
        ["first", "second"],
        ["second", "first"],
    )  # fmt: skip - same second: either order
    assert {m.text for m in bob.messages(unread_only=True)} == {"first", "second"}
    assert bob.mark_read() == 2 and bob.messages(unread_only=True) == []
    assert {m.text for m in alice.direct_thread(bob.inbox.pubkey)} == {"first", "second"}


def test_send_without_a_thread_or_contact_says_what_is_missing(
    person: Person, topic: bytes
) -> None:
    with pytest.raises(Exception, match="give the other party's contact"):
        person().send(topic, "hello?")
    with pytest.raises(Exception, match="32-byte"):
        person().send("0x1234", "hello?")


def test_message_json_carries_no_secret_but_the_attachment_key(
    person: Person, topic: bytes
) -> None:
    buyer, seller = person(), person()
    buyer.send(topic, "hi", to=seller.contact)
    data = json.dumps(buyer.thread(topic)[0].to_json())
    assert buyer.root.hex() not in data and buyer.inbox.secret.hex() not in data
    assert CHAIN == buyer.thread(topic)[0].chain_id
