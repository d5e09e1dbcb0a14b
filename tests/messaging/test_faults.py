"""Nothing lost, nothing shown twice, nothing forged: real relay processes killed and restarted,
and a hostile relay that replays, forges and corrupts."""

from __future__ import annotations

import pytest

from p2pchain.messaging import LoopbackRelay
from p2pchain.messaging._events import KIND_GIFT_WRAP, KIND_SEAL, Keys, rumor, sign_event
from p2pchain.messaging._nip44 import conversation_key, encrypt
from p2pchain.messaging._relays import RelayConnection
from p2pchain.messaging._wrap import channel_wrap, gift_wrap

from ._helpers import HostileRelay, Person


def test_every_relay_down_then_back_the_outbox_delivers(
    person: Person, relay_pair: tuple[LoopbackRelay, LoopbackRelay], topic: bytes
) -> None:
    relay, _ = relay_pair
    buyer, seller = person([relay.url]), person([relay.url])
    relay.kill()
    sent = buyer.send(topic, "Can I pick the car up at 9?", to=seller.contact)
    assert sent.status == "queued" and sent.accepted_by == () and sent.pending == (relay.url,)
    assert buyer.thread(topic)[0].status == "queued"  # our own copy, kept locally
    assert buyer.pending() == 2  # the invitation and the message
    assert relay.url in seller.sync().relay_errors

    relay.start()  # same port, same database, as after a crash
    assert buyer.flush() == (2, 0)
    assert buyer.thread(topic)[0].status == "sent"
    report = seller.sync()
    assert (report.received, report.new_threads) == (1, 1)
    assert [m.text for m in seller.thread(topic)] == ["Can I pick the car up at 9?"]


def test_two_relays_one_killed_mid_conversation_nothing_lost(
    person: Person, relay_pair: tuple[LoopbackRelay, LoopbackRelay], topic: bytes
) -> None:
    first, second = relay_pair
    urls = [first.url, second.url]
    buyer, seller = person(urls), person(urls)
    said = []
    for i in range(3):
        said.append(f"buyer {i}")
        buyer.send(topic, said[-1], to=seller.contact)
        seller.sync()
        said.append(f"seller {i}")
        seller.send(topic, said[-1])
        buyer.sync()
    first.kill()
    for i in range(3, 6):
        said.append(f"buyer {i}")
        result = buyer.send(topic, said[-1])
        assert result.accepted_by == (second.url,) and result.pending == (first.url,)
        seller.sync()
        said.append(f"seller {i}")
        seller.send(topic, said[-1])
        buyer.sync()
    for client in (buyer, seller):
        assert [m.text for m in client.thread(topic)] == said
    assert buyer.pending() == 3 and seller.pending() == 3

    first.start()
    assert buyer.flush() == (3, 0) and seller.flush() == (3, 0)
    channel = buyer.store.channels()[0].pubkey
    stored = RelayConnection(first.url).query([{"kinds": [KIND_GIFT_WRAP], "authors": [channel]}])
    assert len({e["id"] for e in stored}) >= 12  # every message reached the revived relay too


def test_a_relay_replaying_old_events_shows_nothing_twice(
    person: Person, relay: LoopbackRelay, hostile: HostileRelay, topic: bytes
) -> None:
    buyer = person([relay.url])
    seller = person([relay.url, hostile.url])
    buyer.send(topic, "one", to=seller.contact)
    buyer.send(topic, "two")
    everything = RelayConnection(relay.url).query(
        [
            {"kinds": [KIND_GIFT_WRAP], "#p": [seller.inbox.pubkey]},
            {"kinds": [KIND_GIFT_WRAP], "authors": [c.pubkey for c in buyer.store.channels()]},
        ]
    )
    hostile.events = everything * 3  # old events, again and again
    first = seller.sync()
    assert first.received == 2 and first.duplicates >= 2 * len(everything)
    # the same messages wrapped anew (as an outbox retry does): other wrap ids, same messages
    channel = buyer.store.channels()[0]
    rewrapped = [
        channel_wrap(buyer._message_event(m.id), Keys(channel.secret)).to_dict()
        for m in buyer.thread(topic)
    ]
    hostile.events = everything + rewrapped
    again = seller.sync(full=True)
    assert again.received == 0 and again.duplicates >= len(everything) + 2
    assert [m.text for m in seller.thread(topic)] == ["one", "two"]


def test_forged_malformed_and_undecryptable_events_are_dropped_and_counted(
    person: Person, relay: LoopbackRelay, hostile: HostileRelay, topic: bytes
) -> None:
    buyer = person([relay.url])
    seller = person([relay.url, hostile.url])
    buyer.send(topic, "the real message", to=seller.contact)
    seller.sync()
    channel = seller.store.channels()[0]
    real = buyer._message_event(buyer.thread(topic)[0].id)

    tampered = channel_wrap(real, Keys(channel.secret)).to_dict()
    tampered["content"] = tampered["content"][:-8] + "AAAAAAA="  # id no longer matches
    mallory, alice = Keys.generate(), Keys(bytes(32)[:-1] + b"\x07")
    fake = rumor(alice.pubkey, 14, "I, Alice, owe you 10 ETH", [["p", seller.inbox.pubkey]])
    seal_content = encrypt(
        fake.to_json(), conversation_key(mallory.secret, bytes.fromhex(seller.inbox.pubkey))
    )
    seal = sign_event(mallory, KIND_SEAL, seal_content)
    once = Keys.generate()
    wrapped = encrypt(
        seal.to_json(), conversation_key(once.secret, bytes.fromhex(seller.inbox.pubkey))
    )
    misattributed = sign_event(once, KIND_GIFT_WRAP, wrapped, [["p", seller.inbox.pubkey]])
    reader = Keys.generate()  # someone holding the channel key, writing as a third person
    outsider_msg = sign_event(reader, 14, "not a party", [["p2pchain", "31337", channel.topic]])
    intruder = channel_wrap(outsider_msg, Keys(channel.secret))
    garbage = sign_event(
        Keys.generate(), KIND_GIFT_WRAP, "not a NIP-44 payload at all", [["p", seller.inbox.pubkey]]
    )
    other_key = gift_wrap(rumor(mallory, 14, "for someone else"), mallory, Keys.generate().pubkey)
    other_key_to_us = {**other_key.to_dict(), "tags": [["p", seller.inbox.pubkey]]}
    malformed = [{"id": "nope"}, {**real.to_dict(), "kind": "14"}, "not even an object"]
    hostile.events = [
        tampered,
        misattributed.to_dict(),
        intruder.to_dict(),
        garbage.to_dict(),
        other_key_to_us,
        *malformed,
    ]

    report = seller.sync(full=True)
    assert report.received == 0
    assert seller.drops() == {"forged": 4, "malformed": 3, "undecryptable": 1}
    assert [m.text for m in seller.thread(topic)] == ["the real message"]
    assert seller.messages() == seller.thread(topic)  # nothing else shown anywhere


def test_unreachable_relays_are_reported_not_raised(person: Person, topic: bytes) -> None:
    lonely = person(["ws://127.0.0.1:9"])  # discard port: nothing listens
    result = lonely.send(topic, "anyone?", to=person(["ws://127.0.0.1:9"]).contact)
    assert result.status == "queued"
    assert "ws://127.0.0.1:9" in lonely.sync().relay_errors


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "ws://", "relay.example", "ws://h:99999"])
def test_malformed_relay_urls_are_refused(person: Person, url: str) -> None:
    with pytest.raises(Exception, match="invalid relay URL"):
        person([url])
