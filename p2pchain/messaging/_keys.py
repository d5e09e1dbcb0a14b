"""Messaging keys derived from the wallet: nothing new to back up.

The derivation (also in ``docs/messaging.md``):

1. **Root.** The wallet signs :data:`ROOT_MESSAGE` with EIP-191 ``personal_sign``. Ethereum
   signatures are deterministic (RFC 6979), so the same wallet always gives the same 64 bytes
   ``r || s``; a browser wallet can do the same without ever exposing its private key.
   ``root = HKDF-SHA256(ikm = r || s, salt = "p2pchain-messaging-v1", info = "root")``.
2. **Derived keys.** ``derive(root, label)`` = ``HKDF-Expand(root, "p2pchain/" + label + [i])``
   for the first ``i = 0, 1, ...`` whose 32 bytes are a valid secp256k1 scalar.

   * the **inbox key**: ``label = "inbox"``. Published in listing documents (schema v2) and in
     the address card; it receives NIP-17 direct messages and thread invitations.
   * a **thread key**: ``label = "thread/<chain id>/<topic>"`` (topic: the listing or trade id,
     0x hex). Used by the party that opens a thread, for that thread only, so one person's
     threads cannot be linked through their keys.
3. **Channel key** (one per thread, Mostro-style): ``HKDF-SHA256(ikm = ECDH-x(opener's thread
   key, responder's inbox key), salt = "p2pchain-channel-v1", info = "<chain id>/<topic>")``
   as a secret key. Both parties compute it; relays see only its public key. It encrypts the
   thread and signs its wrappers (outsiders cannot post into a thread); every message inside is
   still signed by its author's own key. Disclosing the channel secret gives read-only access:
   the reader can decrypt, but cannot sign as either party.
4. **Key proofs.** A messaging key is bound to an Ethereum address by an EIP-191 signature of
   :func:`proof_message` by that address. Every message carries its author's proof, so a reader
   (the arbitrator) can check which on-chain party wrote it.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import TYPE_CHECKING

from p2pchain._errors import MessagingError
from p2pchain.messaging._events import Keys
from p2pchain.messaging._nip44 import shared_x

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

#: What the wallet signs (EIP-191) to derive the messaging root. Changing it changes every key.
ROOT_MESSAGE = (
    "p2pchain messaging keys\n"
    "\n"
    "Signing this derives your p2pchain messaging keys. It costs nothing and sends nothing.\n"
    "Only sign it in p2pchain.\n"
    "\n"
    "Version: 1"
)
_ROOT_SALT = b"p2pchain-messaging-v1"
_CHANNEL_SALT = b"p2pchain-channel-v1"


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def _scalar(prk: bytes, info: bytes) -> Keys:
    for i in range(256):
        candidate = hmac.new(prk, info + bytes([i]) + b"\x01", hashlib.sha256).digest()
        if 0 < int.from_bytes(candidate, "big") < _ORDER:
            return Keys(candidate)
    raise MessagingError("no valid key derived")  # pragma: no cover - probability 2**-32000


def root_from_signature(signature: bytes) -> bytes:
    """The messaging root from the wallet's 65-byte (or 64-byte) signature of ROOT_MESSAGE."""
    if len(signature) not in (64, 65):
        raise MessagingError(f"the root signature must be 64 or 65 bytes, got {len(signature)}")
    return _hkdf(signature[:64], _ROOT_SALT, b"root")


def root_from_account(account: LocalAccount) -> bytes:
    """Sign :data:`ROOT_MESSAGE` with a local account and derive the root."""
    from eth_account.messages import encode_defunct

    signed = account.sign_message(encode_defunct(text=ROOT_MESSAGE))
    return root_from_signature(bytes(signed.signature))


def derive(root: bytes, label: str) -> Keys:
    """The key for ``label`` under ``root`` (see the module docstring)."""
    if len(root) != 32:
        raise MessagingError("the messaging root must be 32 bytes")
    return _scalar(root, b"p2pchain/" + label.encode())


def inbox_keys(root: bytes) -> Keys:
    """The inbox key: published, receives direct messages and thread invitations."""
    return derive(root, "inbox")


def thread_label(chain_id: int, topic: bytes) -> str:
    """``<chain id>/0x<topic>``: what names a thread in derivations."""
    return f"{chain_id}/0x{topic.hex()}"


def thread_keys(root: bytes, chain_id: int, topic: bytes) -> Keys:
    """The opener's key for one thread (a listing or trade on one chain)."""
    return derive(root, "thread/" + thread_label(chain_id, topic))


def channel_keys(mine: Keys, their_pubkey: str, chain_id: int, topic: bytes) -> Keys:
    """The thread's channel key, from one party's secret key and the other's public key."""
    ikm = shared_x(mine.secret, bytes.fromhex(their_pubkey))
    prk = hmac.new(_CHANNEL_SALT, ikm, hashlib.sha256).digest()
    return _scalar(prk, thread_label(chain_id, topic).encode())


def proof_message(pubkey: str, address: str) -> str:
    """The text an address signs (EIP-191) to vouch for a messaging key."""
    return f"p2pchain messaging key\nkey: {pubkey}\naddress: {address}"


def make_proof(account: LocalAccount, pubkey: str) -> str:
    """The account's EIP-191 signature of :func:`proof_message`, 0x hex."""
    from eth_account.messages import encode_defunct

    signed = account.sign_message(encode_defunct(text=proof_message(pubkey, account.address)))
    return "0x" + bytes(signed.signature).hex()


@lru_cache(maxsize=4096)
def check_proof(pubkey: str, address: str, proof: str) -> bool:
    """Whether ``proof`` is ``address``'s signature vouching for ``pubkey``."""
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from eth_utils import is_address, to_checksum_address

    if not is_address(address):
        return False
    try:
        signature = bytes.fromhex(proof.removeprefix("0x"))
        signer = Account.recover_message(
            encode_defunct(text=proof_message(pubkey, to_checksum_address(address))),
            signature=signature,
        )
    except Exception:  # noqa: BLE001 - any malformed signature is simply not a proof
        return False
    return bool(signer == to_checksum_address(address))


__all__ = [
    "ROOT_MESSAGE",
    "channel_keys",
    "check_proof",
    "derive",
    "inbox_keys",
    "make_proof",
    "proof_message",
    "root_from_account",
    "root_from_signature",
    "thread_keys",
]
