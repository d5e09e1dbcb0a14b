"""Wrapping: NIP-59 gift wraps (NIP-17 direct messages) and p2pchain's thread channels.

* **Gift wrap** (NIP-59, as NIP-17 uses it): an unsigned *rumor* (kind 14), sealed (kind 13,
  NIP-44 to the recipient, signed by the author), wrapped (kind 1059, NIP-44 to the recipient,
  signed by a one-time key, ``p``-tagged with the recipient). Relays see neither the content nor
  the sender. Seal and wrap carry a ``created_at`` up to two days in the past, as the NIP asks.
* **Channel wrap** (one per thread message, after the Mostro chat protocol): the message is a
  *signed* kind-14 event by its author; it is NIP-44 encrypted under the channel key's
  conversation key with itself and wrapped in a kind-1059 event signed *by the channel key* and
  ``p``-tagged with it. Only the two parties (and whoever they disclose the channel secret to)
  can read it; only holders of the channel secret can post a wrapper, and only the author can
  sign the message inside.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache

from p2pchain._errors import MessagingError
from p2pchain.messaging._events import (
    KIND_GIFT_WRAP,
    KIND_SEAL,
    Event,
    ForgedEvent,
    InvalidEvent,
    Keys,
    loads_json,
    parse_event,
    parse_rumor,
    sign_event,
)
from p2pchain.messaging._nip44 import MAX_PLAINTEXT, Nip44Error, conversation_key, decrypt, encrypt

TWO_DAYS = 2 * 86_400


class MessageTooLarge(MessagingError):
    """A message does not fit the 64 KiB limit."""


class Undecryptable(MessagingError):
    """A wrap could not be decrypted or unwrapped with our keys."""

    reason = "undecryptable"


@lru_cache(maxsize=1024)
def _conv(secret: bytes, pubkey: str) -> bytes:
    return conversation_key(secret, bytes.fromhex(pubkey))


def _random_past(now: int | None = None) -> int:
    now = int(time.time()) if now is None else now
    return now - int.from_bytes(os.urandom(4), "big") % TWO_DAYS


def _check_size(plaintext: str, what: str) -> None:
    size = len(plaintext.encode())
    if size > MAX_PLAINTEXT:
        raise MessageTooLarge(
            f"{what} is {size:,} bytes serialized, over the 64 KiB limit ({MAX_PLAINTEXT:,} bytes,"
            " the largest NIP-44 payload): shorten it or attach the content as a file"
        )


# ---------------------------------------------------------------------- NIP-59 gift wraps


def seal(rumor: Event, sender: Keys, recipient: str) -> Event:
    """The kind-13 seal of ``rumor`` for ``recipient`` (hex pubkey), signed by ``sender``."""
    if rumor.pubkey != sender.pubkey:
        raise MessagingError("a rumor must be sealed by its own author")
    body = rumor.to_json()
    _check_size(body, "the message")
    content = encrypt(body, _conv(sender.secret, recipient))
    return sign_event(sender, KIND_SEAL, content, (), _random_past())


def gift_wrap(rumor: Event, sender: Keys, recipient: str) -> Event:
    """The NIP-59 gift wrap of ``rumor`` for ``recipient``: seal, then a one-time-key wrap."""
    sealed = seal(rumor, sender, recipient)
    body = sealed.to_json()
    _check_size(body, "the sealed message")
    once = Keys.generate()
    content = encrypt(body, conversation_key(once.secret, bytes.fromhex(recipient)))
    return sign_event(once, KIND_GIFT_WRAP, content, [["p", recipient]], _random_past())


def unwrap(wrap: Event, recipient: Keys) -> tuple[Event, Event]:
    """Open a gift wrap addressed to ``recipient``: the rumor and its seal.

    The seal must be a valid signed kind-13 event and the rumor must claim the seal's author.

    Raises:
        Undecryptable: Not for these keys, or not decryptable.
        InvalidEvent: The seal or rumor is malformed, forged or mismatched.
    """
    if wrap.kind != KIND_GIFT_WRAP:
        raise InvalidEvent(f"wrap {wrap.id[:12]}: kind {wrap.kind}, expected {KIND_GIFT_WRAP}")
    try:
        sealed_text = decrypt(wrap.content, _conv(recipient.secret, wrap.pubkey))
    except Nip44Error as exc:
        raise Undecryptable(f"wrap {wrap.id[:12]}: {exc}") from None
    sealed = parse_event(loads_json(sealed_text, "seal"))
    if sealed.kind != KIND_SEAL:
        raise InvalidEvent(f"wrap {wrap.id[:12]}: the seal has kind {sealed.kind}")
    try:
        rumor_text = decrypt(sealed.content, _conv(recipient.secret, sealed.pubkey))
    except Nip44Error as exc:
        raise Undecryptable(f"seal {sealed.id[:12]}: {exc}") from None
    inner = parse_rumor(loads_json(rumor_text, "rumor"))
    if inner.pubkey != sealed.pubkey:
        raise ForgedEvent(f"wrap {wrap.id[:12]}: the rumor's author is not the seal's signer")
    return inner, sealed


# ---------------------------------------------------------------------- channel wraps


def channel_wrap(message: Event, channel: Keys, created_at: int | None = None) -> Event:
    """Wrap a signed message for a thread's channel (see the module docstring).

    Raises:
        MessageTooLarge: The signed message is over 64 KiB serialized.
    """
    if not message.sig:
        raise MessagingError("thread messages must be signed by their author")
    body = message.to_json()
    _check_size(body, "the message")
    content = encrypt(body, _conv(channel.secret, channel.pubkey))
    return sign_event(
        channel,
        KIND_GIFT_WRAP,
        content,
        [["p", channel.pubkey]],
        int(time.time()) if created_at is None else created_at,
    )


def channel_unwrap(wrap: Event, channel: Keys) -> Event:
    """The signed message inside a channel wrap, verified.

    Raises:
        InvalidEvent: The wrap is not the channel's own, or the message is malformed or forged.
        Undecryptable: The payload does not decrypt under the channel key.
    """
    if wrap.kind != KIND_GIFT_WRAP or wrap.pubkey != channel.pubkey:
        raise InvalidEvent(f"wrap {wrap.id[:12]}: not signed by the thread's channel key")
    try:
        text = decrypt(wrap.content, _conv(channel.secret, channel.pubkey))
    except Nip44Error as exc:
        raise Undecryptable(f"wrap {wrap.id[:12]}: {exc}") from None
    return parse_event(loads_json(text, "message"))


__all__ = [
    "TWO_DAYS",
    "MessageTooLarge",
    "Undecryptable",
    "channel_unwrap",
    "channel_wrap",
    "gift_wrap",
    "seal",
    "unwrap",
]
