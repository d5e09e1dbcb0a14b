"""Messaging: end-to-end encrypted conversations between the parties of a trade, over Nostr.

* ``_nip44``: NIP-44 v2 encryption (checked against the official vectors).
* ``_events``: Nostr events (NIP-01): keys, ids, BIP-340 signatures, strict parsing.
* ``_wrap``: NIP-59 gift wraps (NIP-17 direct messages) and the per-thread channel wraps.
* ``_keys``: keys derived from the wallet (inbox, per-thread, channel) and key proofs.
* ``_relays``: relay connections (publish, query, live subscriptions) over WebSocket.
* ``_store``: the local SQLite store: messages, channels, outbox, seen wraps, drop counts.
* ``_client``: :class:`MessagingClient`: threads, direct messages, disclosure, sync, follow.
* ``_notify``: notices of what happens to an account's trades (from the chain).
* ``_contacts``: the seller's contact from a listing document (v2), and the field to put in one.
* ``_relayd``: :class:`LoopbackRelay`, a real relay process (PyPI ``nostr-relay``) on 127.0.0.1.

The protocol and the key derivation: ``docs/messaging.md``.
"""

from p2pchain.messaging._client import (
    Attachment,
    Contact,
    Message,
    MessagingClient,
    SendResult,
    SyncReport,
    ThreadSummary,
    attach,
    fetch_attachment,
    topic_hex,
)
from p2pchain.messaging._relayd import LoopbackRelay
from p2pchain.messaging._relays import RelayError
from p2pchain.messaging._wrap import MessageTooLarge

__all__ = [
    "Attachment",
    "Contact",
    "LoopbackRelay",
    "Message",
    "MessageTooLarge",
    "MessagingClient",
    "RelayError",
    "SendResult",
    "SyncReport",
    "ThreadSummary",
    "attach",
    "fetch_attachment",
    "topic_hex",
]
