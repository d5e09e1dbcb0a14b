"""Nostr events (NIP-01): keys, ids, BIP-340 signatures, and strict parsing of what relays send.

Everything received from a relay goes through :func:`parse_event` before it is trusted: types
and sizes checked, the id recomputed from the content, the signature verified. A failure raises
:class:`InvalidEvent`, which the client counts and drops.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from coincurve import PrivateKey, PublicKeyXOnly

from p2pchain._errors import MessagingError

_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")

#: NIP-17 private direct message (the rumor inside a seal).
KIND_CHAT = 14
#: NIP-59 seal.
KIND_SEAL = 13
#: NIP-59 gift wrap.
KIND_GIFT_WRAP = 1059
#: NIP-17 preferred relays for direct messages.
KIND_DM_RELAYS = 10050
#: NIP-78 application data (p2pchain's address card).
KIND_APP_DATA = 30078
#: NIP-99 classified listing.
KIND_CLASSIFIED = 30402


class InvalidEvent(MessagingError):
    """An event is malformed, its id does not match, or its signature does not verify."""

    #: Why it was dropped, as counted by the client.
    reason = "malformed"


class ForgedEvent(InvalidEvent):
    """An event whose id does not match its content, or whose signature does not verify."""

    reason = "forged"


@dataclass(frozen=True)
class Keys:
    """A Nostr key pair (secp256k1, BIP-340 x-only public key).

    Attributes:
        secret: The 32-byte secret key (never printed).
    """

    secret: bytes = field(repr=False)
    _private: PrivateKey = field(init=False, repr=False, compare=False)
    _pubkey: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) != 32 or not 0 < int.from_bytes(self.secret, "big") < _ORDER:
            raise MessagingError("invalid secret key: must be 32 bytes in 1..n-1")
        private = PrivateKey(self.secret)
        object.__setattr__(self, "_private", private)
        object.__setattr__(self, "_pubkey", private.public_key.format(compressed=True)[1:].hex())

    @classmethod
    def generate(cls) -> Keys:
        """Fresh random keys (used for the one-time key of each gift wrap)."""
        while True:
            secret = os.urandom(32)
            if 0 < int.from_bytes(secret, "big") < _ORDER:
                return cls(secret)

    @property
    def pubkey(self) -> str:
        """The x-only public key, 64 hex digits."""
        return self._pubkey

    def sign(self, digest: bytes) -> str:
        """A BIP-340 Schnorr signature of a 32-byte digest, 128 hex digits."""
        return self._private.sign_schnorr(digest, os.urandom(32)).hex()

    def __repr__(self) -> str:
        return f"Keys(pubkey={self.pubkey})"


def serialize(
    pubkey: str, created_at: int, kind: int, tags: Sequence[Sequence[str]], content: str
) -> bytes:
    """NIP-01's serialization for the id: ``[0,pubkey,created_at,kind,tags,content]``, UTF-8."""
    return json.dumps(
        [0, pubkey, created_at, kind, [list(t) for t in tags], content],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def event_id(
    pubkey: str, created_at: int, kind: int, tags: Sequence[Sequence[str]], content: str
) -> str:
    """The event id (sha256 of :func:`serialize`), 64 hex digits."""
    return hashlib.sha256(serialize(pubkey, created_at, kind, tags, content)).hexdigest()


@dataclass(frozen=True)
class Event:
    """A Nostr event. ``sig`` is empty for an unsigned *rumor* (NIP-59).

    Attributes:
        id: sha256 of the serialization, hex.
        pubkey: The author's x-only key, hex.
        created_at: Unix seconds.
        kind: The event kind.
        tags: Tags, each a tuple of strings.
        content: The content.
        sig: BIP-340 signature, hex ("" for a rumor).
    """

    id: str
    pubkey: str
    created_at: int
    kind: int
    tags: tuple[tuple[str, ...], ...]
    content: str
    sig: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON object (a rumor has no ``sig``)."""
        out: dict[str, Any] = {
            "id": self.id,
            "pubkey": self.pubkey,
            "created_at": self.created_at,
            "kind": self.kind,
            "tags": [list(t) for t in self.tags],
            "content": self.content,
        }
        if self.sig:
            out["sig"] = self.sig
        return out

    def to_json(self) -> str:
        """Compact JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def tag(self, name: str) -> tuple[str, ...] | None:
        """The first tag called ``name``, or None."""
        return next((t for t in self.tags if t and t[0] == name), None)

    def tag_values(self, name: str) -> list[str]:
        """The first values of every tag called ``name``."""
        return [t[1] for t in self.tags if len(t) > 1 and t[0] == name]

    def verify(self) -> bool:
        """Whether the id matches the content and the signature is the author's."""
        if event_id(self.pubkey, self.created_at, self.kind, self.tags, self.content) != self.id:
            return False
        if not self.sig:
            return False
        try:
            key = PublicKeyXOnly(bytes.fromhex(self.pubkey))
            return bool(key.verify(bytes.fromhex(self.sig), bytes.fromhex(self.id)))
        except (ValueError, TypeError):
            return False


def rumor(
    keys: Keys | str,
    kind: int,
    content: str,
    tags: Sequence[Sequence[str]] = (),
    created_at: int | None = None,
) -> Event:
    """An unsigned event by ``keys`` (or a bare pubkey); its id computed."""
    pubkey = keys if isinstance(keys, str) else keys.pubkey
    when = int(time.time()) if created_at is None else created_at
    frozen = tuple(tuple(str(v) for v in t) for t in tags)
    return Event(event_id(pubkey, when, kind, frozen, content), pubkey, when, kind, frozen, content)


def sign_event(
    keys: Keys,
    kind: int,
    content: str,
    tags: Sequence[Sequence[str]] = (),
    created_at: int | None = None,
) -> Event:
    """A signed event by ``keys``."""
    unsigned = rumor(keys, kind, content, tags, created_at)
    return Event(**{**unsigned.__dict__, "sig": keys.sign(bytes.fromhex(unsigned.id))})


def _check_fields(data: Any, *, signed: bool) -> Event:
    if not isinstance(data, dict):
        raise InvalidEvent("event: not a JSON object")
    for key, types in (("id", str), ("pubkey", str), ("content", str), ("tags", list)):
        if not isinstance(data.get(key), types):
            raise InvalidEvent(f"event: {key} missing or of the wrong type")
    created_at, kind = data.get("created_at"), data.get("kind")
    if (
        isinstance(created_at, bool)
        or not isinstance(created_at, int)
        or not 0 <= created_at < 2**40
    ):
        raise InvalidEvent("event: created_at must be unix seconds")
    if isinstance(kind, bool) or not isinstance(kind, int) or not 0 <= kind <= 65535:
        raise InvalidEvent("event: kind must be an integer 0..65535")
    if not _HEX64.match(data["id"]) or not _HEX64.match(data["pubkey"]):
        raise InvalidEvent("event: id and pubkey must be 64 lowercase hex digits")
    tags = data["tags"]
    if not all(isinstance(t, list) and all(isinstance(v, str) for v in t) for t in tags):
        raise InvalidEvent("event: tags must be lists of strings")
    sig = data.get("sig", "")
    if signed and (not isinstance(sig, str) or not _HEX128.match(sig)):
        raise InvalidEvent("event: sig must be 128 lowercase hex digits")
    return Event(
        id=data["id"],
        pubkey=data["pubkey"],
        created_at=created_at,
        kind=kind,
        tags=tuple(tuple(t) for t in tags),
        content=data["content"],
        sig=sig if signed else "",
    )


def parse_event(data: Any) -> Event:
    """A signed event from its JSON object, verified (id and signature).

    Raises:
        InvalidEvent: Malformed, a wrong id, or a bad signature.
    """
    event = _check_fields(data, signed=True)
    if event_id(event.pubkey, event.created_at, event.kind, event.tags, event.content) != event.id:
        raise ForgedEvent(f"event {event.id[:12]}: id does not match its content")
    if not event.verify():
        raise ForgedEvent(f"event {event.id[:12]}: bad signature")
    return event


def parse_rumor(data: Any) -> Event:
    """An unsigned event (a NIP-59 rumor) from its JSON object; its id checked.

    Raises:
        InvalidEvent: Malformed, or a wrong id.
    """
    event = _check_fields(data, signed=False)
    if event_id(event.pubkey, event.created_at, event.kind, event.tags, event.content) != event.id:
        raise ForgedEvent(f"rumor {event.id[:12]}: id does not match its content")
    return event


def loads_json(text: str | bytes, what: str) -> Any:
    """``json.loads`` that raises :class:`InvalidEvent`."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        raise InvalidEvent(f"{what}: not JSON") from None


__all__ = [
    "KIND_APP_DATA",
    "KIND_CHAT",
    "KIND_CLASSIFIED",
    "KIND_DM_RELAYS",
    "KIND_GIFT_WRAP",
    "KIND_SEAL",
    "Event",
    "ForgedEvent",
    "InvalidEvent",
    "Keys",
    "event_id",
    "loads_json",
    "parse_event",
    "parse_rumor",
    "rumor",
    "serialize",
    "sign_event",
]
