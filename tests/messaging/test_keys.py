"""Messaging keys derived from the wallet, and key proofs."""

from __future__ import annotations

import os

from eth_account import Account

from p2pchain.messaging._keys import (
    ROOT_MESSAGE,
    channel_keys,
    check_proof,
    inbox_keys,
    make_proof,
    root_from_account,
    root_from_signature,
    thread_keys,
)

#: Anvil's first dev account ("test test ... junk", index 0).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#: Its inbox key, pinned: a change to the derivation changes every user's keys, and fails here.
DEV_INBOX = "7e13b17856b9b3013a3185b2c5a69e19a9832546942292a6f91035ea403032b7"


def test_root_is_deterministic_and_per_wallet() -> None:
    account = Account.from_key(DEV_KEY)
    assert root_from_account(account) == root_from_account(Account.from_key(DEV_KEY))
    assert root_from_account(account) != root_from_account(Account.create())


def test_root_is_the_hkdf_of_the_personal_sign_signature() -> None:
    """A browser wallet's ``personal_sign`` of ROOT_MESSAGE gives the same root (r || s only,
    so v as 0/1 or 27/28 does not matter)."""
    from eth_account.messages import encode_defunct

    account = Account.from_key(DEV_KEY)
    signature = bytes(account.sign_message(encode_defunct(text=ROOT_MESSAGE)).signature)
    assert root_from_signature(signature) == root_from_account(account)
    other_v = signature[:64] + bytes([signature[64] - 27])
    assert root_from_signature(other_v) == root_from_account(account)


def test_inbox_key_of_the_dev_account_is_pinned() -> None:
    assert inbox_keys(root_from_account(Account.from_key(DEV_KEY))).pubkey == DEV_INBOX


def test_thread_keys_differ_per_topic_and_chain() -> None:
    root = root_from_account(Account.create())
    a, b = os.urandom(32), os.urandom(32)
    keys = {
        thread_keys(root, 1, a).pubkey,
        thread_keys(root, 1, b).pubkey,
        thread_keys(root, 5, a).pubkey,
        inbox_keys(root).pubkey,
    }
    assert len(keys) == 4
    assert thread_keys(root, 1, a) == thread_keys(root, 1, a)


def test_both_parties_compute_the_same_channel_key() -> None:
    opener, responder = root_from_account(Account.create()), root_from_account(Account.create())
    topic = os.urandom(32)
    mine = thread_keys(opener, 7, topic)
    theirs = inbox_keys(responder)
    assert channel_keys(mine, theirs.pubkey, 7, topic) == channel_keys(
        theirs, mine.pubkey, 7, topic
    )
    assert channel_keys(mine, theirs.pubkey, 7, topic) != channel_keys(
        mine, theirs.pubkey, 8, topic
    )


def test_key_proof_binds_a_key_to_its_address_only() -> None:
    account, other = Account.create(), Account.create()
    key = inbox_keys(root_from_account(account)).pubkey
    proof = make_proof(account, key)
    assert check_proof(key, account.address, proof)
    assert not check_proof(key, other.address, proof)  # claimed by someone else
    assert not check_proof(inbox_keys(os.urandom(32)).pubkey, account.address, proof)  # other key
    tampered = proof[:40] + ("0" if proof[40] != "0" else "1") + proof[41:]
    assert not check_proof(key, account.address, tampered)
    assert not check_proof(key, account.address, "0xnothex")
