"""Interop with an independent implementation: npm nostr-tools (run by node) reads what
p2pchain sends through a real relay, and p2pchain reads what nostr-tools writes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from p2pchain._paths import find_node_modules
from p2pchain.messaging import LoopbackRelay
from p2pchain.messaging._events import KIND_GIFT_WRAP
from p2pchain.messaging._keys import make_proof
from p2pchain.messaging._relays import RelayConnection

from ._helpers import CHAIN, Person

SCRIPT = Path(__file__).with_name("interop.mjs")


def node_modules_dir() -> Path:
    found = find_node_modules()
    assert found is not None, "no node_modules: run `npm install` (nostr-tools)"
    return found


def _node(request: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed for the interop tests (it runs npm nostr-tools)"
    assert (node_modules_dir() / "nostr-tools").is_dir(), "run `npm install` (nostr-tools)"
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(request).encode(),
        capture_output=True,
        timeout=60,
        cwd=node_modules_dir().parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _from_relay(url: str, **filters: Any) -> list[dict[str, Any]]:
    return RelayConnection(url).query([{"kinds": [KIND_GIFT_WRAP], **filters}])


def test_nostr_tools_opens_a_p2pchain_direct_message(person: Person, relay: LoopbackRelay) -> None:
    alice, bob = person(), person()
    alice.direct(bob.contact, "Grüße from p2pchain 🚗")
    (wrap,) = [w for w in _from_relay(relay.url, **{"#p": [bob.inbox.pubkey]})]
    got = _node({"op": "unwrap", "secret": bob.inbox.secret.hex(), "wrap": wrap})
    assert got["wrap_ok"] and got["seal_ok"]
    assert got["seal_pubkey"] == alice.inbox.pubkey == got["rumor"]["pubkey"]
    assert got["rumor"]["content"] == "Grüße from p2pchain 🚗" and got["rumor"]["kind"] == 14
    assert ["p", bob.inbox.pubkey] in got["rumor"]["tags"]


def test_nostr_tools_opens_a_thread_invitation_and_message(
    person: Person, relay: LoopbackRelay, topic: bytes
) -> None:
    buyer, seller = person(), person()
    buyer.send(topic, "Is the helmet size M?", to=seller.contact)
    (invite,) = _from_relay(relay.url, **{"#p": [seller.inbox.pubkey]})
    opened = _node({"op": "unwrap", "secret": seller.inbox.secret.hex(), "wrap": invite})
    assert opened["wrap_ok"] and opened["seal_ok"]
    channel = buyer.store.channels()[0]
    assert ["p2pchain-invite", channel.pubkey] in opened["rumor"]["tags"]
    (wrap,) = _from_relay(relay.url, authors=[channel.pubkey])
    got = _node({"op": "channel_open", "secret": channel.secret.hex(), "wrap": wrap})
    assert got["wrap_ok"] and got["message_ok"]
    assert got["message"]["content"] == "Is the helmet size M?"
    assert got["message"]["pubkey"] == opened["rumor"]["pubkey"] == channel.my_pubkey


def test_p2pchain_reads_a_nostr_tools_direct_message(person: Person, relay: LoopbackRelay) -> None:
    from p2pchain.messaging._events import Keys

    sender, bob = Keys.generate(), person()
    wrap = _node(
        {
            "op": "dm",
            "secret": sender.secret.hex(),
            "to": bob.inbox.pubkey,
            "text": "hello from nostr-tools",
        }
    )["wrap"]
    assert RelayConnection(relay.url).publish(wrap).accepted
    assert bob.sync().received == 1
    (message,) = bob.direct_thread(sender.pubkey)
    assert (message.text, message.author, message.outgoing) == (
        "hello from nostr-tools",
        sender.pubkey,
        False,
    )


def test_p2pchain_reads_a_thread_message_written_by_nostr_tools(
    person: Person, relay: LoopbackRelay, topic: bytes
) -> None:
    """The seller's side written with nostr-tools (its own signing and NIP-44), read by the
    buyer's p2pchain client and attributed to the seller through the key proof."""
    from eth_account import Account

    buyer, seller_account = person(), Account.create()
    seller = person(account=seller_account)
    buyer.send(topic, "When can I pick it up?", to=seller.contact)
    seller.sync()
    channel = seller.store.channels()[0]
    tags = [
        ["p", channel.peer_pubkey],
        ["p2pchain", str(CHAIN), channel.topic],
        ["proof", seller_account.address, make_proof(seller_account, seller.inbox.pubkey)],
    ]
    written = _node(
        {
            "op": "channel_write",
            "author": seller.inbox.secret.hex(),
            "channel": channel.secret.hex(),
            "tags": tags,
            "text": "Saturday at 9",
        }
    )
    assert RelayConnection(relay.url).publish(written["wrap"]).accepted
    assert buyer.sync().received == 1
    thread = buyer.thread(topic, parties={"buyer": buyer.address, "seller": seller_account.address})
    assert [(m.party, m.text) for m in thread] == [
        ("buyer", "When can I pick it up?"),
        ("seller", "Saturday at 9"),
    ]


@pytest.mark.parametrize("op", ["channel_open"])
def test_a_tampered_wrap_fails_in_nostr_tools_too(
    person: Person, relay: LoopbackRelay, topic: bytes, op: str
) -> None:
    buyer, seller = person(), person()
    buyer.send(topic, "original", to=seller.contact)
    channel = buyer.store.channels()[0]
    (wrap,) = _from_relay(relay.url, authors=[channel.pubkey])
    wrap["content"] = wrap["content"][:-8] + "AAAAAAA="
    node = shutil.which("node")
    assert node
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps({"op": op, "secret": channel.secret.hex(), "wrap": wrap}).encode(),
        capture_output=True,
        timeout=60,
        cwd=node_modules_dir().parent,
        check=False,
    )
    assert done.returncode != 0 or not json.loads(done.stdout)["wrap_ok"]
