"""The messaging client: threads per listing and trade, direct messages, disclosure, the outbox.

:class:`MessagingClient` holds one wallet's messaging keys (derived from it, see ``_keys``), a
local store (``_store``) and connections to relays (``_relays``). The protocol:

* A **thread** is about one listing or trade (its *topic*) on one chain. The party who writes
  first (the *opener*, usually the buyer) uses a key of its own for that thread, and sends the
  other party's published inbox key an **invitation**: a NIP-17 direct message (gift-wrapped,
  NIP-59) naming the thread. Both then share the thread's **channel key** (ECDH of the opener's
  thread key and the responder's inbox key) and every message, first included, is a signed
  kind-14 event wrapped for the channel (``_wrap.channel_wrap``).
* Every message carries its author's **key proof**: an EIP-191 signature by the author's
  Ethereum address of the messaging key, so whoever reads the thread can tell which on-chain
  party wrote each message.
* **Disclosure**: :meth:`MessagingClient.share` sends the thread's channel secret to someone's
  inbox (the arbitrator): it can then read the thread and check each author, but cannot write
  as either party.
* **Direct messages** from any NIP-17 client to the inbox key are kept as ``dm/<pubkey>``
  threads, and :meth:`MessagingClient.direct` sends one.
* **Delivery**: everything goes through the outbox, wrapped afresh at each attempt, until every
  target relay accepted it. Received wraps are verified; duplicates (by wrap and by message id)
  change nothing; forged, malformed or undecryptable events are dropped and counted.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from p2pchain._errors import MessagingError
from p2pchain.messaging._cards import best_card, card_filter, card_tag
from p2pchain.messaging._events import (
    KIND_APP_DATA,
    KIND_CHAT,
    KIND_DM_RELAYS,
    KIND_GIFT_WRAP,
    Event,
    ForgedEvent,
    InvalidEvent,
    Keys,
    parse_event,
    parse_rumor,
    rumor,
    sign_event,
)
from p2pchain.messaging._keys import (
    channel_keys,
    check_proof,
    inbox_keys,
    make_proof,
    root_from_account,
    thread_keys,
)
from p2pchain.messaging._relays import RelayError, RelayPool, Subscription, check_relay_url
from p2pchain.messaging._store import Channel, Store
from p2pchain.messaging._wrap import (
    TWO_DAYS,
    MessageTooLarge,
    Undecryptable,
    channel_unwrap,
    channel_wrap,
    gift_wrap,
    unwrap,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from p2pchain.ipfs import IpfsBackend

#: Largest attachment, in bytes (it goes to IPFS; the message carries its CID and key).
MAX_ATTACHMENT = 10 * 1024 * 1024
#: Seconds of clock skew allowed when asking relays for events since the last sync.
SKEW = 600
_INVITE = "p2pchain-invite"
_DISCLOSURE = "p2pchain-disclosure"
_THREAD = "p2pchain"


def topic_hex(topic: bytes | str) -> str:
    """A listing or trade id as ``0x`` + 64 hex digits.

    Raises:
        MessagingError: Not 32 bytes.
    """
    raw = topic if isinstance(topic, bytes) else _unhex(topic)
    if len(raw) != 32:
        raise MessagingError(
            f"invalid thread topic {topic!r}: expected a 32-byte listing or trade id"
        )
    return "0x" + raw.hex()


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.strip().removeprefix("0x").removeprefix("0X"))
    except ValueError:
        raise MessagingError(f"invalid thread topic {text!r}: not hex") from None


def default_store_path(address: str) -> Path:
    """``<data dir>/messaging/<address>.sqlite``."""
    from p2pchain._paths import data_dir

    return data_dir() / "messaging" / f"{address}.sqlite"


@dataclass(frozen=True)
class Contact:
    """How to reach someone: the inbox key and preferred relays.

    Attributes:
        pubkey: The inbox key (x-only, hex).
        relays: Where they read (NIP-17 kind 10050 list, listing document or address card).
        address: Their Ethereum address, when known.
    """

    pubkey: str
    relays: tuple[str, ...] = ()
    address: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: AES-256-GCM encrypted, stored on IPFS by its CID.

    Attributes:
        cid: The CID of the encrypted file.
        name: The file name.
        mime: Its media type.
        size: Plain size in bytes.
        key: AES-256 key, hex.
        nonce: GCM nonce, hex.
        sha256: sha256 of the plain file, hex.
    """

    cid: str
    name: str
    mime: str
    size: int
    key: str = field(repr=False)
    nonce: str = field(repr=False)
    sha256: str

    def tag(self) -> list[str]:
        """The message tag that carries it."""
        return [
            "attachment",
            self.cid,
            self.name,
            self.mime,
            str(self.size),
            self.key,
            self.nonce,
            self.sha256,
        ]

    @classmethod
    def from_tag(cls, tag: Sequence[str]) -> Attachment | None:
        """Parse a tag; None if malformed."""
        if len(tag) != 8 or not tag[4].isdigit():
            return None
        return cls(tag[1], tag[2], tag[3], int(tag[4]), tag[5], tag[6], tag[7])


@dataclass(frozen=True)
class Message:
    """One message as stored and shown.

    Attributes:
        id: The message event's id.
        thread: ``<chain id>/<topic>``, or ``dm/<pubkey>`` for a direct message.
        chain_id: The chain of the thread's listing or trade (None for direct messages).
        topic: The listing or trade id, 0x hex (None for direct messages).
        author: The author's messaging key.
        author_address: The Ethereum address the author's key proof names (checked), or None.
        outgoing: Whether we wrote it.
        created_at: When the author wrote it (unix seconds).
        text: The text.
        attachments: Files, on IPFS.
        signed: Whether the author's signature is kept (thread messages), so it is evidence.
        status: ``queued`` (no relay has it yet), ``sent`` or ``received``.
        read: Whether it was shown in the inbox.
        party: The author's role in the trade (``buyer``, ``seller``...), when asked for.
    """

    id: str
    thread: str
    chain_id: int | None
    topic: str | None
    author: str
    author_address: str | None
    outgoing: bool
    created_at: int
    text: str
    attachments: tuple[Attachment, ...]
    signed: bool
    status: str
    read: bool
    party: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (attachment keys included: they are the reader's to use)."""
        out = asdict(self)
        out["attachments"] = [asdict(a) for a in self.attachments]
        return out


@dataclass(frozen=True)
class ThreadSummary:
    """One thread in the list of threads."""

    thread: str
    chain_id: int | None
    topic: str | None
    messages: int
    unread: int
    last_at: int
    last_text: str
    role: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class SyncReport:
    """What one :meth:`MessagingClient.sync` did.

    Attributes:
        received: New messages stored.
        duplicates: Events already seen (replays, the same wrap from two relays).
        dropped: Events dropped (forged, malformed, undecryptable, not ours).
        new_threads: Threads we were invited to, or that were disclosed to us.
        sent: Outbox items every target relay has now accepted.
        pending: Outbox items still waiting for some relay.
        relay_errors: Relays that failed, and why.
        messages: The new messages.
    """

    received: int = 0
    duplicates: int = 0
    dropped: int = 0
    new_threads: int = 0
    sent: int = 0
    pending: int = 0
    relay_errors: dict[str, str] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class SendResult:
    """A message sent (or queued).

    Attributes:
        message: Our copy, as stored.
        accepted_by: Relays that have it.
        pending: Relays that do not have it yet (the outbox retries them).
    """

    message: Message
    accepted_by: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def status(self) -> str:
        """``sent`` once any relay has it, else ``queued``."""
        return "sent" if self.accepted_by else "queued"


class MessagingClient:
    """One wallet's messaging: keys, local store, relays.

    Args:
        account: The wallet (a local account): signs the root message and the key proofs.
        relays: Our relays (ws:// or wss:// URLs): where we read and also publish.
        store: The store, or its path (default ``<data dir>/messaging/<address>.sqlite``).
        chain_id: The chain whose listings and trades the threads are about, by default.
        root: The messaging root, if already derived (see ``_keys.root_from_signature``).
    """

    def __init__(
        self,
        account: LocalAccount,
        relays: Sequence[str],
        store: Store | Path | str | None = None,
        *,
        chain_id: int = 1,
        root: bytes | None = None,
    ) -> None:
        self.account = account
        self.address: str = account.address
        self.chain_id = chain_id
        self.root = root if root is not None else root_from_account(account)
        self.inbox = inbox_keys(self.root)
        self.relays = tuple(dict.fromkeys(check_relay_url(u) for u in relays))
        if isinstance(store, Store):
            self.store = store
        else:
            self.store = Store(store if store is not None else default_store_path(self.address))
        self.pool = RelayPool()

    def close(self) -> None:
        """Close the relay connections and the store."""
        self.pool.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ identity

    @property
    def contact(self) -> Contact:
        """How others reach us."""
        return Contact(self.inbox.pubkey, self.relays, self.address)

    def proof(self, pubkey: str) -> str:
        """Our Ethereum address's proof for one of our messaging keys (made once, then kept)."""
        key = f"proof/{pubkey}"
        cached = self.store.get(key)
        if cached is None:
            cached = make_proof(self.account, pubkey)
            self.store.put(key, cached)
        return cached

    def announce(self) -> list[str]:
        """Publish our relay list (NIP-17 kind 10050) and address card (kind 30078).

        The card (``d`` tag ``p2pchain:address:<address>``) holds the inbox key's proof, so
        anyone can find our inbox from our address (:meth:`lookup`). Both go through the
        outbox. Returns the relays that accepted both.
        """
        relay_list = sign_event(self.inbox, KIND_DM_RELAYS, "", [["relay", u] for u in self.relays])
        card = sign_event(
            self.inbox,
            KIND_APP_DATA,
            json.dumps(
                {
                    "address": self.address,
                    "proof": self.proof(self.inbox.pubkey),
                    "relays": list(self.relays),
                }
            ),
            [["d", card_tag(self.address)]],
        )
        for event in (relay_list, card):
            self.store.queue(event.id, "event", event.to_json(), self.relays)
        self.flush()
        return [r for r in self.relays if not self._pending_on(r, {relay_list.id, card.id})]

    def _pending_on(self, relay: str, ids: set[str]) -> bool:
        return any(
            row["id"] in ids
            and relay in json.loads(row["relays"])
            and relay not in json.loads(row["accepted"])
            for row in self.store.outbox()
        )

    def lookup(self, address: str, relays: Iterable[str] = ()) -> Contact | None:
        """Find someone's inbox from their Ethereum address (their address card), or None."""
        from eth_utils import to_checksum_address

        wanted = to_checksum_address(address)
        events, _ = self.pool.query([card_filter(wanted)], tuple(relays) or self.relays)
        found = best_card(events, wanted)
        return Contact(found[0], found[1], wanted) if found else None

    # ------------------------------------------------------------------ sending

    def _channel(
        self, chain_id: int, topic: str, to: Contact | None = None, with_address: str | None = None
    ) -> Channel | None:
        """Our channel about ``topic`` with one person.

        Several people can write to a seller about one listing, each on a channel of their own.
        ``to`` (their inbox key) or ``with_address`` (the Ethereum address their messages'
        key proofs name) picks one; with several and neither, nothing is guessed: a reply to
        the wrong person would leak the conversation.

        Raises:
            MessagingError: Several channels and no way to tell which one is meant.
        """
        mine = [c for c in self.store.channels(chain_id, topic) if c.role != "reader"]
        wanted = with_address or (to.address if to is not None else None)
        if wanted is not None:
            by_address = [c for c in mine if self._peer_address(c) == wanted.lower()]
            mine = by_address or [c for c in mine if to is not None and c.peer_pubkey == to.pubkey]
        elif to is not None:
            mine = [c for c in mine if c.peer_pubkey == to.pubkey]
        if len(mine) > 1:
            people = ", ".join(sorted({self._peer_address(c) or "an unproven key" for c in mine}))
            raise MessagingError(
                f"{len(mine)} people have a thread about {topic} ({people}): say whom to answer"
                " (with_address=..., or `--with ADDRESS` on the command line)"
            )
        return mine[0] if mine else None

    def _peer_address(self, channel: Channel) -> str | None:
        """The address the other side's key proofs name on ``channel`` (lower case), if any."""
        rows = self.store.rows(
            "SELECT author_address FROM messages WHERE channel = ? AND outgoing = 0"
            " AND author_address IS NOT NULL LIMIT 1",
            (channel.pubkey,),
        )
        return str(rows[0]["author_address"]).lower() if rows else None

    def _my_keys(self, channel: Channel) -> Keys:
        if channel.role == "responder":
            return self.inbox
        return thread_keys(self.root, channel.chain_id, _unhex(channel.topic))

    def open_thread(self, topic: bytes | str, to: Contact, chain_id: int | None = None) -> Channel:
        """Start a thread with ``to`` about ``topic`` (or return the one we have).

        Sends the invitation (through the outbox) to ``to``'s inbox.
        """
        chain = self.chain_id if chain_id is None else chain_id
        top = topic_hex(topic)
        existing = self._channel(chain, top, to)
        if existing is not None:
            return existing
        if to.pubkey == self.inbox.pubkey:
            raise MessagingError("cannot open a thread with yourself")
        mine = thread_keys(self.root, chain, _unhex(top))
        channel_key = channel_keys(mine, to.pubkey, chain, _unhex(top))
        relays = tuple(dict.fromkeys((*self.relays, *to.relays)))
        channel = Channel(
            channel_key.pubkey,
            channel_key.secret,
            chain,
            top,
            "opener",
            mine.pubkey,
            to.pubkey,
            relays,
            int(time.time()),
        )
        self.store.add_channel(channel)
        invite = rumor(
            mine,
            KIND_CHAT,
            f"p2pchain: a conversation about {'trade or listing'} {top} on chain {chain}",
            [
                ["p", to.pubkey],
                [_THREAD, str(chain), top],
                [_INVITE, channel_key.pubkey],
                ["proof", self.address, self.proof(mine.pubkey)],
                *[["relay", u] for u in relays],
            ],
        )
        self.store.queue(invite.id, "gift", invite.to_json(), relays, mine.secret, to.pubkey)
        return channel

    def send(
        self,
        topic: bytes | str,
        text: str,
        *,
        to: Contact | None = None,
        chain_id: int | None = None,
        attachments: Sequence[Attachment] = (),
        created_at: int | None = None,
        with_address: str | None = None,
    ) -> SendResult:
        """Send a message in the thread about ``topic``.

        Args:
            topic: The listing or trade id.
            text: The message.
            to: The other party's contact; needed only to open the thread.
            chain_id: The chain (default: the client's).
            attachments: Files already stored with :func:`attach`.
            created_at: The message's time (default now).
            with_address: Whom to answer when several people wrote about ``topic`` (the
                address their key proofs name).

        Returns:
            Our copy and where it got to; a message no relay took waits in the outbox.

        Raises:
            MessageTooLarge: Over 64 KiB serialized (nothing stored or sent).
            MessagingError: No thread yet and no ``to``, a thread disclosed to us (read-only),
                or several people's threads and no ``with_address`` to pick one.
        """
        chain = self.chain_id if chain_id is None else chain_id
        top = topic_hex(topic)
        channel = self._channel(chain, top, to, with_address)
        if channel is None and to is None:
            if any(c.role == "reader" for c in self.store.channels(chain, top)):
                raise MessagingError(f"thread {top} was disclosed to you: it is read-only")
            raise MessagingError(
                f"no thread about {top} yet: give the other party's contact to start one"
            )
        keys = self._my_keys(channel) if channel else thread_keys(self.root, chain, _unhex(top))
        peer = channel.peer_pubkey if channel else to.pubkey  # type: ignore[union-attr]
        tags = [
            ["p", str(peer)],
            [_THREAD, str(chain), top],
            ["proof", self.address, self.proof(keys.pubkey)],
            *[a.tag() for a in attachments],
        ]
        last = self.store.rows(
            "SELECT id FROM messages WHERE thread = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (f"{chain}/{top}",),
        )
        if last:  # NIP-17's reply tag: orders messages written in the same second
            tags.append(["e", str(last[0]["id"]), "", "reply"])
        message = sign_event(keys, KIND_CHAT, text, tags, created_at)
        _check_message_size(message)
        if channel is None:
            assert to is not None
            channel = self.open_thread(top, to, chain)
        self._keep(message, channel, outgoing=True, status="queued")
        self.store.queue(message.id, "channel", message.to_json(), channel.relays, channel.secret)
        return self._result(message.id, channel.relays)

    def direct(self, to: Contact, text: str) -> SendResult:
        """Send a plain NIP-17 direct message from our inbox key (any Nostr client reads it)."""
        message = rumor(self.inbox, KIND_CHAT, text, [["p", to.pubkey]])
        _check_message_size(message)
        relays = tuple(dict.fromkeys((*self.relays, *to.relays)))
        self.store.add_message(
            self._row(message, f"dm/{to.pubkey}", None, None, None, True, "queued")
        )
        self.store.queue(
            message.id, "gift", message.to_json(), relays, self.inbox.secret, to.pubkey
        )
        self.store.queue(
            message.id + ":self",
            "gift",
            message.to_json(),
            self.relays,
            self.inbox.secret,
            self.inbox.pubkey,
        )
        return self._result(message.id, relays)

    def share(self, topic: bytes | str, to: Contact, chain_id: int | None = None) -> int:
        """Disclose a thread to ``to`` (the arbitrator): read access, by its channel secret(s).

        Returns:
            How many channels were disclosed.

        Raises:
            MessagingError: We have no thread about ``topic``.
        """
        chain = self.chain_id if chain_id is None else chain_id
        top = topic_hex(topic)
        channels = [c for c in self.store.channels(chain, top) if c.role != "reader"]
        if not channels:
            raise MessagingError(f"no thread about {top} to share")
        for channel in channels:
            body = {
                "chain_id": chain,
                "topic": top,
                "secret": channel.secret.hex(),
                "parties": [channel.my_pubkey, channel.peer_pubkey],
                "relays": list(channel.relays),
            }
            note = rumor(
                self.inbox,
                KIND_CHAT,
                json.dumps(body),
                [["p", to.pubkey], [_DISCLOSURE, str(chain), top]],
            )
            relays = tuple(dict.fromkeys((*self.relays, *to.relays, *channel.relays)))
            self.store.queue(note.id, "gift", note.to_json(), relays, self.inbox.secret, to.pubkey)
        self.flush()
        return len(channels)

    def _result(self, message_id: str, relays: Sequence[str]) -> SendResult:
        self.flush()
        rows = [r for r in self.store.outbox() if r["id"] == message_id]
        pending = tuple(r for r in relays if rows and r not in json.loads(rows[0]["accepted"]))
        accepted = tuple(r for r in relays if r not in pending)
        message = self.message(message_id)
        assert message is not None
        return SendResult(message, accepted, pending)

    # ------------------------------------------------------------------ outbox

    def _wrap_item(self, row: Any) -> dict[str, Any]:
        if row["kind"] == "channel":
            return channel_wrap(
                parse_event(json.loads(row["payload"])), Keys(bytes(row["key"]))
            ).to_dict()
        if row["kind"] == "gift":
            inner = parse_rumor(json.loads(row["payload"]))
            return gift_wrap(inner, Keys(bytes(row["key"])), str(row["recipient"])).to_dict()
        return dict(json.loads(row["payload"]))

    def flush(self) -> tuple[int, int]:
        """Publish the outbox: each item to the relays that have not accepted it yet.

        Returns:
            Items now fully delivered, items still pending.
        """
        done = pending = 0
        for row in self.store.outbox():
            wanted = [u for u in json.loads(row["relays"]) if u not in json.loads(row["accepted"])]
            wrap = self._wrap_item(row)
            self.store.mark_seen(str(wrap["id"]))
            results = self.pool.publish(wrap, wanted)
            accepted = [r.relay for r in results if r.accepted]
            errors = "; ".join(r.message for r in results if not r.accepted) or None
            missing = self.store.delivered(row["id"], accepted, errors)
            if row["kind"] != "event" and (accepted or json.loads(row["accepted"])):
                self.store.set_status(str(row["id"]).removesuffix(":self"), "sent")
            if missing:
                pending += 1
            else:
                done += 1
        return done, pending

    # ------------------------------------------------------------------ receiving

    def _row(
        self,
        event: Event,
        thread: str,
        chain_id: int | None,
        topic: str | None,
        channel: str | None,
        outgoing: bool,
        status: str,
        author_address: str | None = None,
    ) -> dict[str, Any]:
        return {
            "id": event.id,
            "thread": thread,
            "chain_id": chain_id,
            "topic": topic,
            "channel": channel,
            "author": event.pubkey,
            "author_address": author_address,
            "outgoing": int(outgoing),
            "created_at": event.created_at,
            "received_at": int(time.time()),
            "content": event.content,
            "event": event.to_json(),
            "signed": int(bool(event.sig)),
            "read": int(outgoing),
            "status": status,
        }

    def _keep(self, message: Event, channel: Channel, *, outgoing: bool, status: str) -> bool:
        proof = message.tag("proof")
        address = None
        if (
            proof is not None
            and len(proof) >= 3
            and check_proof(message.pubkey, proof[1], proof[2])
        ):
            from eth_utils import to_checksum_address

            address = to_checksum_address(proof[1])
        thread = f"{channel.chain_id}/{channel.topic}"
        row = self._row(
            message,
            thread,
            channel.chain_id,
            channel.topic,
            channel.pubkey,
            outgoing,
            status,
            address,
        )
        return self.store.add_message(row)

    def _filters(
        self,
        since_inbox: int | None,
        since_channels: int | None,
        channels: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        inbox: dict[str, Any] = {"kinds": [KIND_GIFT_WRAP], "#p": [self.inbox.pubkey]}
        if since_inbox is not None:
            inbox["since"] = since_inbox
        filters = [inbox]
        keys = [c.pubkey for c in self.store.channels()] if channels is None else list(channels)
        if keys:
            chans: dict[str, Any] = {"kinds": [KIND_GIFT_WRAP], "authors": keys}
            if since_channels is not None:
                chans["since"] = since_channels
            filters.append(chans)
        return filters

    def _all_relays(self) -> tuple[str, ...]:
        extra = [u for c in self.store.channels() for u in c.relays]
        return tuple(dict.fromkeys((*self.relays, *extra)))

    def sync(self, *, full: bool = False) -> SyncReport:
        """Deliver the outbox, then fetch and store what the relays hold for us.

        Args:
            full: Ask for everything, not only what arrived since the last sync.
        """
        report = SyncReport()
        report.sent, report.pending = self.flush()
        started = int(time.time())
        last = None if full else self.store.get("synced_at")
        since = int(last) if last is not None else None
        filters = self._filters(
            None if since is None else since - TWO_DAYS - SKEW,
            None if since is None else since - SKEW,
        )
        known = {c.pubkey for c in self.store.channels()}
        while filters:
            events, errors = self.pool.query(filters, self._all_relays())
            report.relay_errors.update(errors)
            for raw in events:
                self._ingest(raw, report)
            fresh = [c.pubkey for c in self.store.channels() if c.pubkey not in known]
            known.update(fresh)
            filters = self._filters(None, None, fresh)[1:] if fresh else []
        if self.relays and len(report.relay_errors) < len(self._all_relays()):
            self.store.put("synced_at", str(started))
        return report

    def _ingest(self, raw: Any, report: SyncReport) -> Message | None:
        wrap_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(wrap_id, str) and self.store.seen(wrap_id):
            report.duplicates += 1
            return None
        try:
            event = parse_event(raw)
            message = self._open(event, report)
        except (InvalidEvent, Undecryptable) as exc:
            self.store.count_drop(exc.reason)
            report.dropped += 1
            return None
        self.store.mark_seen(event.id)
        if message is not None:
            report.received += 1
            report.messages.append(message)
        return message

    def _open(self, event: Event, report: SyncReport) -> Message | None:
        if event.kind != KIND_GIFT_WRAP:
            raise InvalidEvent(f"event {event.id[:12]}: kind {event.kind} is not a gift wrap")
        channels = {c.pubkey: c for c in self.store.channels()}
        channel = channels.get(event.pubkey)
        if channel is not None:
            inner = channel_unwrap(event, Keys(channel.secret))
            return self._thread_message(inner, channel, report)
        if ["p", self.inbox.pubkey] not in [list(t[:2]) for t in event.tags]:
            raise Undecryptable(f"wrap {event.id[:12]}: not addressed to us")
        inner, _seal = unwrap(event, self.inbox)
        if inner.kind != KIND_CHAT:
            raise InvalidEvent(f"rumor {inner.id[:12]}: kind {inner.kind}")
        if inner.tag(_INVITE) is not None:
            self._accept_invite(inner, report)
            return None
        if inner.tag(_DISCLOSURE) is not None:
            self._accept_disclosure(inner, report)
            return None
        peer = (
            inner.tag_values("p")[0]
            if inner.pubkey == self.inbox.pubkey and inner.tag_values("p")
            else inner.pubkey
        )
        outgoing = inner.pubkey == self.inbox.pubkey
        row = self._row(
            inner, f"dm/{peer}", None, None, None, outgoing, "sent" if outgoing else "received"
        )
        if not self.store.add_message(row):
            report.duplicates += 1
            return None
        return self.message(inner.id)

    def _thread_tag(self, event: Event) -> tuple[int, str]:
        tag = event.tag(_THREAD)
        if tag is None or len(tag) < 3 or not tag[1].isdigit():
            raise InvalidEvent(f"event {event.id[:12]}: no thread tag")
        try:
            return int(tag[1]), topic_hex(tag[2])
        except MessagingError:
            raise InvalidEvent(f"event {event.id[:12]}: malformed thread tag") from None

    def _thread_message(self, inner: Event, channel: Channel, report: SyncReport) -> Message | None:
        if inner.kind != KIND_CHAT:
            raise InvalidEvent(f"message {inner.id[:12]}: kind {inner.kind}")
        if self._thread_tag(inner) != (channel.chain_id, channel.topic):
            raise InvalidEvent(f"message {inner.id[:12]}: belongs to another thread")
        if inner.pubkey not in (channel.my_pubkey, channel.peer_pubkey):
            raise ForgedEvent(f"message {inner.id[:12]}: not written by a party of the thread")
        outgoing = channel.role != "reader" and inner.pubkey == channel.my_pubkey
        if not self._keep(
            inner, channel, outgoing=outgoing, status="sent" if outgoing else "received"
        ):
            report.duplicates += 1
            return None
        return self.message(inner.id)

    def _accept_invite(self, invite: Event, report: SyncReport) -> None:
        chain, top = self._thread_tag(invite)
        key = channel_keys(self.inbox, invite.pubkey, chain, _unhex(top))
        tag = invite.tag(_INVITE)
        if tag is not None and len(tag) > 1 and tag[1] != key.pubkey:
            raise InvalidEvent(f"invitation {invite.id[:12]}: names another channel")
        relays: list[str] = []
        for url in invite.tag_values("relay"):
            try:
                relays.append(check_relay_url(url))
            except RelayError:
                continue
        channel = Channel(
            key.pubkey,
            key.secret,
            chain,
            top,
            "responder",
            self.inbox.pubkey,
            invite.pubkey,
            tuple(dict.fromkeys((*self.relays, *relays[:8]))),
            int(time.time()),
        )
        if self.store.add_channel(channel):
            report.new_threads += 1

    def _accept_disclosure(self, note: Event, report: SyncReport) -> None:
        try:
            body = json.loads(note.content)
            key = Keys(bytes.fromhex(body["secret"]))
            chain, top = int(body["chain_id"]), topic_hex(str(body["topic"]))
            parties = [str(p) for p in body["parties"]][:2]
            relays = [check_relay_url(u) for u in body.get("relays", [])][:8]
        except (ValueError, KeyError, TypeError, MessagingError):
            raise InvalidEvent(f"disclosure {note.id[:12]}: malformed") from None
        channel = Channel(
            key.pubkey,
            key.secret,
            chain,
            top,
            "reader",
            parties[0],
            parties[-1],
            tuple(dict.fromkeys((*self.relays, *relays))),
            int(time.time()),
        )
        if self.store.add_channel(channel):
            report.new_threads += 1

    # ------------------------------------------------------------------ reading

    def _message(self, row: Any) -> Message:
        event = json.loads(row["event"])
        attachments = tuple(
            a
            for a in (
                Attachment.from_tag(t) for t in event.get("tags", []) if t and t[0] == "attachment"
            )
            if a is not None
        )
        return Message(
            id=row["id"],
            thread=row["thread"],
            chain_id=row["chain_id"],
            topic=row["topic"],
            author=row["author"],
            author_address=row["author_address"],
            outgoing=bool(row["outgoing"]),
            created_at=row["created_at"],
            text=row["content"],
            attachments=attachments,
            signed=bool(row["signed"]),
            status=row["status"],
            read=bool(row["read"]),
        )

    def _message_event(self, message_id: str) -> Event:
        """A stored message's event (signed for thread messages), as the author made it."""
        rows = self.store.rows("SELECT event FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise MessagingError(f"no message {message_id}")
        data = json.loads(rows[0]["event"])
        return parse_event(data) if "sig" in data else parse_rumor(data)

    def message(self, message_id: str) -> Message | None:
        """One stored message."""
        rows = self.store.rows("SELECT * FROM messages WHERE id = ?", (message_id,))
        return self._message(rows[0]) if rows else None

    def thread(
        self,
        topic: bytes | str,
        chain_id: int | None = None,
        parties: Mapping[str, str] | None = None,
    ) -> list[Message]:
        """A thread's messages, oldest first.

        Args:
            topic: The listing or trade id.
            chain_id: The chain (default: the client's).
            parties: Role -> address (``{"buyer": ..., "seller": ...}`` from the chain): each
                message's ``party`` is the role whose address its key proof names, or None.
        """
        chain = self.chain_id if chain_id is None else chain_id
        rows = self.store.rows(
            "SELECT * FROM messages WHERE thread = ? ORDER BY created_at, rowid",
            (f"{chain}/{topic_hex(topic)}",),
        )
        rows = _reply_order(rows)
        by_address = {a.lower(): role for role, a in (parties or {}).items()}
        out = []
        for row in rows:
            m = self._message(row)
            role = by_address.get((m.author_address or "").lower()) if m.signed else None
            out.append(Message(**{**m.__dict__, "party": role}))
        return out

    def direct_thread(self, pubkey: str) -> list[Message]:
        """The direct messages with one key, oldest first."""
        rows = self.store.rows(
            "SELECT * FROM messages WHERE thread = ? ORDER BY created_at, id", (f"dm/{pubkey}",)
        )
        return [self._message(r) for r in rows]

    def messages(self, *, unread_only: bool = False, limit: int = 100) -> list[Message]:
        """Messages across threads, newest first."""
        where = " WHERE read = 0" if unread_only else ""
        rows = self.store.rows(
            f"SELECT * FROM messages{where} ORDER BY created_at DESC, id LIMIT ?",
            (limit,),
        )
        return [self._message(r) for r in rows]

    def mark_read(self, thread: str | None = None) -> int:
        """Mark a thread's messages (or all) read."""
        return self.store.mark_read(thread)

    def threads(self) -> list[ThreadSummary]:
        """Every thread, the most recently active first."""
        rows = self.store.rows(
            "SELECT thread, chain_id, topic, COUNT(*) AS n, SUM(read = 0) AS unread,"
            " MAX(created_at) AS last_at FROM messages GROUP BY thread ORDER BY last_at DESC"
        )
        roles = {f"{c.chain_id}/{c.topic}": c.role for c in self.store.channels()}
        out = []
        for r in rows:
            last = self.store.rows(
                "SELECT content FROM messages WHERE thread = ? ORDER BY created_at DESC, id LIMIT 1",
                (r["thread"],),
            )
            out.append(
                ThreadSummary(
                    r["thread"],
                    r["chain_id"],
                    r["topic"],
                    r["n"],
                    int(r["unread"] or 0),
                    r["last_at"],
                    last[0]["content"][:200] if last else "",
                    roles.get(r["thread"], "direct"),
                )
            )
        for c in self.store.channels():
            name = f"{c.chain_id}/{c.topic}"
            if not any(t.thread == name for t in out):
                out.append(ThreadSummary(name, c.chain_id, c.topic, 0, 0, c.created_at, "", c.role))
        return out

    def drops(self) -> dict[str, int]:
        """Events dropped so far, by reason (forged, malformed, undecryptable)."""
        return self.store.drops()

    def pending(self) -> int:
        """Items in the outbox."""
        return len(self.store.outbox())

    # ------------------------------------------------------------------ live

    def follow(
        self, *, timeout: float | None = None, flush_every: float = 2.0
    ) -> Iterator[Message]:
        """Yield new messages as relays deliver them (a live subscription), forever or until
        ``timeout`` seconds pass; retries the outbox every ``flush_every`` seconds."""
        report = SyncReport()
        deadline = None if timeout is None else time.monotonic() + timeout
        relays = self._all_relays()
        now = int(time.time())
        sub = Subscription(self.pool, relays, self._filters(now - TWO_DAYS - SKEW, now - SKEW))
        channels = {c.pubkey for c in self.store.channels()}
        last_flush = 0.0
        try:
            while deadline is None or time.monotonic() < deadline:
                if time.monotonic() - last_flush >= flush_every:
                    if self.pending():
                        self.flush()
                    last_flush = time.monotonic()
                try:
                    _url, raw = sub.events.get(timeout=0.2)
                except queue.Empty:
                    continue
                message = self._ingest(raw, report)
                if message is not None:
                    yield message
                current = {c.pubkey for c in self.store.channels()}
                if current != channels:
                    new = current - channels
                    channels = current
                    fetched, _ = self.pool.query(
                        self._filters(None, None, sorted(new))[1:], self._all_relays()
                    )
                    for raw_old in fetched:
                        old = self._ingest(raw_old, report)
                        if old is not None:
                            yield old
                    if set(self._all_relays()) != set(relays):
                        sub.close()
                        relays = self._all_relays()
                        now = int(time.time())
                        sub = Subscription(
                            self.pool, relays, self._filters(now - TWO_DAYS - SKEW, now - SKEW)
                        )
                    else:
                        sub.update(self._filters(now - TWO_DAYS - SKEW, now - SKEW))
        finally:
            sub.close()


def _reply_order(rows: list[Any]) -> list[Any]:
    """Messages by time; within one second, a reply after the message it answers."""
    parent: dict[str, str] = {}
    for row in rows:
        for tag in json.loads(row["event"]).get("tags", []):
            if len(tag) > 1 and tag[0] == "e":
                parent[row["id"]] = tag[1]
    depth: dict[str, int] = {}

    def depth_of(message_id: str, hops: int = 0) -> int:
        if message_id not in depth:
            up = parent.get(message_id)
            depth[message_id] = 0 if up is None or hops > 64 else depth_of(up, hops + 1) + 1
        return depth[message_id]

    return sorted(rows, key=lambda r: (r["created_at"], depth_of(r["id"])))


def _check_message_size(message: Event) -> None:
    from p2pchain.messaging._nip44 import MAX_PLAINTEXT

    size = len(message.to_json().encode()) + (0 if message.sig else 140)
    if size > MAX_PLAINTEXT:
        raise MessageTooLarge(
            f"message too large: {size:,} bytes serialized, over the 64 KiB limit"
            f" ({MAX_PLAINTEXT:,} bytes, the largest NIP-44 payload); shorten it or send the"
            " content as an attachment"
        )


# ---------------------------------------------------------------------- attachments


def attach(
    backend: IpfsBackend, data: bytes, name: str, mime: str = "application/octet-stream"
) -> Attachment:
    """Encrypt a file (AES-256-GCM, a fresh key) and store it on IPFS (pinned).

    Raises:
        MessagingError: Empty or over :data:`MAX_ATTACHMENT`.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not data:
        raise MessagingError(f"attachment {name!r} is empty")
    if len(data) > MAX_ATTACHMENT:
        raise MessagingError(
            f"attachment {name!r} is {len(data):,} bytes, over the {MAX_ATTACHMENT:,}-byte limit"
        )
    key, nonce = AESGCM.generate_key(256), os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, data, None)
    cid = backend.add(sealed, cid_version=1, pin=True)
    return Attachment(
        cid,
        name[:200],
        mime[:100],
        len(data),
        key.hex(),
        nonce.hex(),
        hashlib.sha256(data).hexdigest(),
    )


def fetch_attachment(backend: IpfsBackend, attachment: Attachment) -> bytes:
    """Fetch an attachment from IPFS (verified against its CID) and decrypt it.

    Raises:
        MessagingError: It does not decrypt, or its hash is not the one the message names.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sealed = backend.cat(attachment.cid, max_size=MAX_ATTACHMENT + 16)
    try:
        data = AESGCM(bytes.fromhex(attachment.key)).decrypt(
            bytes.fromhex(attachment.nonce), sealed, None
        )
    except (InvalidTag, ValueError):
        raise MessagingError(f"attachment {attachment.cid} does not decrypt with its key") from None
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise MessagingError(
            f"attachment {attachment.cid}: its hash is not the one the message names"
        )
    return data


__all__ = [
    "MAX_ATTACHMENT",
    "Attachment",
    "Contact",
    "Message",
    "MessageTooLarge",
    "MessagingClient",
    "SendResult",
    "SyncReport",
    "ThreadSummary",
    "attach",
    "default_store_path",
    "fetch_attachment",
    "topic_hex",
]
