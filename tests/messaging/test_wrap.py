"""NIP-59 gift wraps, channel wraps and event checks, without a relay."""

from __future__ import annotations

import json
import time

import pytest

from p2pchain.messaging._events import (
    KIND_GIFT_WRAP,
    KIND_SEAL,
    ForgedEvent,
    InvalidEvent,
    Keys,
    parse_event,
    rumor,
    sign_event,
)
from p2pchain.messaging._nip44 import conversation_key, encrypt
from p2pchain.messaging._wrap import (
    MessageTooLarge,
    Undecryptable,
    channel_unwrap,
    channel_wrap,
    gift_wrap,
    unwrap,
)


def test_gift_wrap_hides_the_sender_and_opens_for_the_recipient() -> None:
    alice, bob = Keys.generate(), Keys.generate()
    message = rumor(alice, 14, "hello bob 👋", [["p", bob.pubkey]])
    wrap = gift_wrap(message, alice, bob.pubkey)
    assert wrap.kind == KIND_GIFT_WRAP and wrap.pubkey not in (alice.pubkey, bob.pubkey)
    assert wrap.tags == (("p", bob.pubkey),)
    assert parse_event(wrap.to_dict()) == wrap
    assert time.time() - 2 * 86_400 - 5 <= wrap.created_at <= time.time()
    opened, seal = unwrap(wrap, bob)
    assert opened == message and seal.kind == KIND_SEAL and seal.pubkey == alice.pubkey


def test_gift_wrap_does_not_open_for_anyone_else() -> None:
    alice, bob = Keys.generate(), Keys.generate()
    wrap = gift_wrap(rumor(alice, 14, "for bob"), alice, bob.pubkey)
    with pytest.raises(Undecryptable):
        unwrap(wrap, Keys.generate())


def test_unwrap_refuses_a_rumor_claiming_another_author() -> None:
    """A seal by Mallory holding a rumor that claims Alice wrote it is refused."""
    alice, bob, mallory = Keys.generate(), Keys.generate(), Keys.generate()
    fake = rumor(alice.pubkey, 14, "I, Alice, agree to pay double")
    content = encrypt(fake.to_json(), conversation_key(mallory.secret, bytes.fromhex(bob.pubkey)))
    seal = sign_event(mallory, KIND_SEAL, content)
    once = Keys.generate()
    outer = encrypt(seal.to_json(), conversation_key(once.secret, bytes.fromhex(bob.pubkey)))
    wrap = sign_event(once, KIND_GIFT_WRAP, outer, [["p", bob.pubkey]])
    with pytest.raises(InvalidEvent, match="not the seal's signer"):
        unwrap(wrap, bob)


def test_channel_wrap_round_trip_and_only_the_channel_key_may_wrap() -> None:
    author, channel = Keys.generate(), Keys.generate()
    message = sign_event(author, 14, "signed by its author", [["p", "00" * 32]])
    wrap = channel_wrap(message, channel)
    assert wrap.pubkey == channel.pubkey and wrap.tags == (("p", channel.pubkey),)
    assert channel_unwrap(wrap, channel) == message
    outsider = sign_event(Keys.generate(), KIND_GIFT_WRAP, wrap.content, [["p", channel.pubkey]])
    with pytest.raises(InvalidEvent, match="channel key"):
        channel_unwrap(outsider, channel)
    with pytest.raises(InvalidEvent, match="channel key"):  # another channel's wrap
        channel_unwrap(channel_wrap(message, Keys.generate()), channel)


def test_channel_wrap_refuses_an_unsigned_or_oversized_message() -> None:
    author, channel = Keys.generate(), Keys.generate()
    with pytest.raises(Exception, match="signed"):
        channel_wrap(rumor(author, 14, "unsigned"), channel)
    with pytest.raises(MessageTooLarge, match="64 KiB"):
        channel_wrap(sign_event(author, 14, "x" * 65_536), channel)


def test_parse_event_catches_forgery_and_malformed_events() -> None:
    keys = Keys.generate()
    good = sign_event(keys, 1, "original").to_dict()
    assert parse_event(good).content == "original"
    with pytest.raises(ForgedEvent, match="id does not match"):
        parse_event({**good, "content": "changed"})
    other = sign_event(Keys.generate(), 1, "original", created_at=good["created_at"]).to_dict()
    with pytest.raises(ForgedEvent):
        parse_event({**good, "sig": other["sig"]})
    for broken in ({**good, "kind": "1"}, {**good, "tags": [[1]]}, {**good, "id": "zz"}, [], None):
        with pytest.raises(InvalidEvent):
            parse_event(broken)
    assert (
        json.loads(sign_event(keys, 1, 'a\nb"c\\ü\u2028').to_json())["content"] == 'a\nb"c\\ü\u2028'
    )
