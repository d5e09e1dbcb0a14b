"""Typed mirrors of the contracts' structs, and the trade state machine as pure functions.

The Marketplace stores only a hash per trade; callers pass the whole :class:`Trade` back on every
call. This module rebuilds that struct exactly as the contract does: from the listing's terms at
purchase time (:func:`open_trade`) and then one transition per event (:func:`apply_event`). The
transitions here must stay identical to ``contracts/Marketplace.sol``; the tests check every one of
them against the chain through ``checkTrade``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

#: Trade.flags bits (see ``Marketplace.sol``).
AMOUNT_RELEASED = 1
DEPOSIT_RETURNED = 2
PROPOSED_BY_BUYER = 4
PROPOSED_BY_SELLER = 8
PROPOSAL_MASK = PROPOSED_BY_BUYER | PROPOSED_BY_SELLER
#: The trade was disputed: a split of what it holds pays the arbitrator's fee first.
WAS_DISPUTED = 16

#: Bits of a stored trade record that hold the trade hash (bit 255 and the rating bits cleared).
TRADE_HASH_MASK = ((1 << 255) - 1) & ~3


@lru_cache(maxsize=65_536)
def checksum_address(value: str | bytes) -> ChecksumAddress:
    """EIP-55 form of an address, cached: the same few addresses recur in every batch of events,
    every listing read and every document check, and eth-utils' version hashes each time."""
    return to_checksum_address(value)


class TradeState(enum.IntEnum):
    """Where a trade is in its life; mirrors ``TradeState`` in ``MarketplaceTypes.sol``."""

    NONE = 0
    PAID = 1
    DISPUTED = 2
    COMPLETED = 3
    REFUNDED = 4
    SETTLED = 5
    RULED = 6
    RULING_TIMED_OUT = 7

    @property
    def is_final(self) -> bool:
        """Whether the trade holds no funds any more and can be rated."""
        return self >= TradeState.COMPLETED

    @property
    def is_open(self) -> bool:
        """Whether the trade still holds funds."""
        return self in (TradeState.PAID, TradeState.DISPUTED)


def split_cid(cid: bytes) -> tuple[bytes, bytes]:
    """Split a binary CID into the contract's ``(cidPrefix, cidDigest)``.

    Args:
        cid: A binary CIDv0 (a sha2-256 multihash) or CIDv1 whose digest is 32 bytes long.

    Returns:
        The prefix right-padded to 8 bytes, and the 32-byte digest.

    Raises:
        ValueError: If the CID's digest is not 32 bytes or its header is longer than 8 bytes.
    """
    if len(cid) < 34 or cid[-33] != 0x20:
        raise ValueError("CID must end in a 32-byte multihash digest")
    prefix, digest = cid[:-32], cid[-32:]
    if len(prefix) > 8:
        raise ValueError(f"CID header is {len(prefix)} bytes; at most 8 fit on-chain")
    return prefix.ljust(8, b"\0"), digest


def join_cid(prefix: bytes, digest: bytes) -> bytes:
    """Rebuild a binary CID from the contract's ``(cidPrefix, cidDigest)``."""
    return prefix.rstrip(b"\0") + digest


@dataclass(frozen=True)
class ListingTerms:
    """A seller's terms; mirrors ``ListingTerms`` in ``MarketplaceTypes.sol``."""

    seller: str
    token: str
    price: int
    deposit: int
    arbitrator: str
    arbitrator_fee_bps: int
    review_window: int
    expiry: int
    cid_prefix: bytes
    cid_digest: bytes

    @property
    def cid(self) -> bytes:
        """The listing document's binary CID."""
        return join_cid(self.cid_prefix, self.cid_digest)

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in field order."""
        return (
            self.seller,
            self.token,
            self.price,
            self.deposit,
            self.arbitrator,
            self.arbitrator_fee_bps,
            self.review_window,
            self.expiry,
            self.cid_prefix,
            self.cid_digest,
        )

    def to_json(self) -> dict[str, Any]:
        """The terms as JSON: the EIP-712 field names, amounts as decimal strings, bytes as 0x hex
        (how signed listings and offers carry them)."""
        return {
            "seller": self.seller,
            "token": self.token,
            "price": str(self.price),
            "deposit": str(self.deposit),
            "arbitrator": self.arbitrator,
            "arbitratorFeeBps": self.arbitrator_fee_bps,
            "reviewWindow": self.review_window,
            "expiry": self.expiry,
            "cidPrefix": "0x" + self.cid_prefix.hex(),
            "cidDigest": "0x" + self.cid_digest.hex(),
        }

    def typed_data_message(self) -> dict[str, Any]:
        """The terms as an EIP-712 message value (``ListingTerms`` type)."""
        return {
            "seller": self.seller,
            "token": self.token,
            "price": self.price,
            "deposit": self.deposit,
            "arbitrator": self.arbitrator,
            "arbitratorFeeBps": self.arbitrator_fee_bps,
            "reviewWindow": self.review_window,
            "expiry": self.expiry,
            "cidPrefix": self.cid_prefix,
            "cidDigest": self.cid_digest,
        }

    @classmethod
    def from_abi(cls, value: Mapping[str, Any] | tuple[Any, ...]) -> ListingTerms:
        """Build from a decoded ABI value (an event argument or a call result)."""
        v = tuple(value.values()) if isinstance(value, Mapping) else tuple(value)
        return cls(
            seller=checksum_address(v[0]),
            token=checksum_address(v[1]),
            price=int(v[2]),
            deposit=int(v[3]),
            arbitrator=checksum_address(v[4]),
            arbitrator_fee_bps=int(v[5]),
            review_window=int(v[6]),
            expiry=int(v[7]),
            cid_prefix=bytes(v[8]),
            cid_digest=bytes(v[9]),
        )


#: EIP-712 types of a signed listing (``Listing`` nests ``ListingTerms``).
LISTING_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "ListingTerms": [
        {"name": "seller", "type": "address"},
        {"name": "token", "type": "address"},
        {"name": "price", "type": "uint256"},
        {"name": "deposit", "type": "uint256"},
        {"name": "arbitrator", "type": "address"},
        {"name": "arbitratorFeeBps", "type": "uint16"},
        {"name": "reviewWindow", "type": "uint32"},
        {"name": "expiry", "type": "uint40"},
        {"name": "cidPrefix", "type": "bytes8"},
        {"name": "cidDigest", "type": "bytes32"},
    ],
    "Listing": [
        {"name": "terms", "type": "ListingTerms"},
        {"name": "quantity", "type": "uint32"},
        {"name": "salt", "type": "bytes32"},
    ],
}

#: The EIP-712 type of :class:`ListingTerms`.
LISTING_TERMS_TYPE = (
    "ListingTerms(address seller,address token,uint256 price,uint256 deposit,address arbitrator,"
    "uint16 arbitratorFeeBps,uint32 reviewWindow,uint40 expiry,bytes8 cidPrefix,bytes32 cidDigest)"
)


def listing_terms_hash(terms: ListingTerms) -> bytes:
    """``hashTerms(terms)``: the type hash followed by the ABI words, hashed (the contract's
    ``_hashTerms``)."""
    from eth_abi import encode

    types = ["address", "address", "uint256", "uint256", "address", "uint16", "uint32",
             "uint40", "bytes8", "bytes32"]  # fmt: skip
    return keccak(keccak(text=LISTING_TERMS_TYPE) + encode(types, list(terms.as_tuple())))


#: EIP-712 domain name and version of the Marketplace.
EIP712_NAME = "p2pchain Marketplace"
EIP712_VERSION = "1"


#: EIP-712's domain type, with the four fields every p2pchain domain (and EIP-2612's) has.
EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def typed_data(
    types: Mapping[str, list[dict[str, str]]],
    primary: str,
    message: Mapping[str, Any],
    *,
    chain_id: int,
    contract: str,
    name: str = EIP712_NAME,
    version: str = EIP712_VERSION,
) -> dict[str, Any]:
    """Full EIP-712 typed data (``eth_signTypedData_v4``) in a contract's domain: by default the
    Marketplace's (its name and version), bound to ``chain_id`` and ``contract``."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **types},
        "primaryType": primary,
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": checksum_address(contract),
        },
        "message": dict(message),
    }


def signed_listing_typed_data(
    terms: ListingTerms, quantity: int, salt: bytes, *, chain_id: int, marketplace: str
) -> dict[str, Any]:
    """The full EIP-712 typed data a seller signs for a signed listing (``eth_signTypedData_v4``)."""
    message = {"terms": terms.typed_data_message(), "quantity": quantity, "salt": salt}
    return typed_data(
        LISTING_EIP712_TYPES, "Listing", message, chain_id=chain_id, contract=marketplace
    )


def eip712_digest(signable: Any) -> bytes:
    """The digest an ``encode_typed_data`` result stands for: keccak(0x19 ‖ 0x01 ‖ domain ‖ struct)."""
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def signed_listing_id(
    terms: ListingTerms, quantity: int, salt: bytes, *, chain_id: int, marketplace: str
) -> bytes:
    """The id of a signed listing: the EIP-712 digest its seller signs,
    ``keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(Listing))``."""
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(
        full_message=signed_listing_typed_data(
            terms, quantity, salt, chain_id=chain_id, marketplace=marketplace
        )
    )
    return eip712_digest(signable)


def listing_id(seller: str, salt: bytes) -> bytes:
    """The id of an on-chain listing: ``keccak256(abi.encodePacked(seller, salt))``."""
    return keccak(bytes.fromhex(checksum_address(seller)[2:]) + salt)


def partial_trade_id(listing: bytes, sold_before: int) -> bytes:
    """The id of a trade that did not take a listing's last units."""
    return keccak(listing + sold_before.to_bytes(32, "big"))


@dataclass(frozen=True)
class Trade:
    """A trade's full state; mirrors ``Trade`` in ``MarketplaceTypes.sol``."""

    buyer: str
    seller: str
    token: str
    arbitrator: str
    arbitrator_fee_bps: int
    amount: int
    deposit: int
    deadline: int
    state: TradeState
    flags: int = 0
    proposed_buyer_share: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in field order."""
        return (
            self.buyer,
            self.seller,
            self.token,
            self.arbitrator,
            self.arbitrator_fee_bps,
            self.amount,
            self.deposit,
            self.deadline,
            int(self.state),
            self.flags,
            self.proposed_buyer_share,
        )

    @property
    def held(self) -> tuple[int, int]:
        """``(seller_pot, buyer_pot)``: the price unless released, the deposit unless returned."""
        seller_pot = 0 if self.flags & AMOUNT_RELEASED else self.amount
        buyer_pot = 0 if self.flags & DEPOSIT_RETURNED else self.deposit
        return seller_pot, buyer_pot

    @property
    def held_total(self) -> int:
        """Everything the escrow still holds for this trade."""
        return sum(self.held) if self.state.is_open else 0

    @property
    def proposer(self) -> str | None:
        """Who made the standing settlement proposal, if anyone."""
        if self.flags & PROPOSED_BY_BUYER:
            return self.buyer
        if self.flags & PROPOSED_BY_SELLER:
            return self.seller
        return None


def open_trade(
    terms: ListingTerms, buyer: str, quantity: int, timestamp: int, *, unit_price: int | None = None
) -> Trade:
    """The trade a purchase creates (see the ``Purchased`` event), or an accepted offer at
    ``unit_price`` (see ``OfferAccepted``)."""
    return Trade(
        buyer=checksum_address(buyer),
        seller=terms.seller,
        token=terms.token,
        arbitrator=terms.arbitrator,
        arbitrator_fee_bps=terms.arbitrator_fee_bps,
        amount=(terms.price if unit_price is None else unit_price) * quantity,
        deposit=terms.deposit * quantity,
        deadline=timestamp + terms.review_window,
        state=TradeState.PAID,
    )


#: Events that move a trade from one state to the next (what :func:`apply_event` takes).
TRADE_TRANSITIONS = (
    "Released",
    "DepositReturned",
    "Refunded",
    "Finalized",
    "Disputed",
    "SettlementProposed",
    "ProposalWithdrawn",
    "Settled",
    "Ruled",
    "RulingTimedOut",
)


def apply_event(trade: Trade, event: str, args: Mapping[str, Any], timestamp: int) -> Trade:
    """The trade after one of its events, exactly as the contract computed it.

    Args:
        trade: The trade before the event.
        event: The event name (``Released``, ``Disputed``...).
        args: The event's decoded arguments.
        timestamp: The timestamp of the event's block.

    Returns:
        The new trade. Events that do not change a trade (``Credited``...) return it unchanged.
    """
    del timestamp  # every transition's new values travel in the event itself
    if event == "Released":
        flags = (trade.flags | AMOUNT_RELEASED) & ~PROPOSAL_MASK
        done = trade.deposit == 0 or bool(flags & DEPOSIT_RETURNED)
        return replace(
            trade,
            flags=flags,
            proposed_buyer_share=0,
            state=TradeState.COMPLETED if done else trade.state,
        )
    if event == "DepositReturned":
        flags = (trade.flags | DEPOSIT_RETURNED) & ~PROPOSAL_MASK
        done = bool(flags & AMOUNT_RELEASED)
        return replace(
            trade,
            flags=flags,
            proposed_buyer_share=0,
            state=TradeState.COMPLETED if done else trade.state,
        )
    if event == "Refunded":
        return replace(trade, state=TradeState.REFUNDED)
    if event == "Finalized":
        return replace(trade, state=TradeState.COMPLETED)
    if event == "Disputed":
        # A dispute clears any standing proposal: proposals live only in their own window.
        return replace(
            trade,
            state=TradeState.DISPUTED,
            deadline=int(args["rulingDeadline"]),
            flags=(trade.flags & ~PROPOSAL_MASK) | WAS_DISPUTED,
            proposed_buyer_share=0,
        )
    if event == "SettlementProposed":
        by = checksum_address(args["by"])
        bit = PROPOSED_BY_BUYER if by == trade.buyer else PROPOSED_BY_SELLER
        return replace(
            trade,
            flags=(trade.flags & ~PROPOSAL_MASK) | bit,
            proposed_buyer_share=int(args["buyerShare"]),
        )
    if event == "ProposalWithdrawn":
        return replace(trade, flags=trade.flags & ~PROPOSAL_MASK, proposed_buyer_share=0)
    if event == "Settled":
        return replace(trade, state=TradeState.SETTLED)
    if event == "Ruled":
        # The final struct records the ruling's split (what the rating value is computed from).
        return replace(
            trade,
            state=TradeState.RULED,
            flags=trade.flags & ~PROPOSAL_MASK,
            proposed_buyer_share=int(args["buyerShare"]),
        )
    if event == "RulingTimedOut":
        return replace(trade, state=TradeState.RULING_TIMED_OUT)
    return trade


def trade_hash(trade: Trade) -> int:
    """The value the contract stores for ``trade`` (before rating bits)."""
    from eth_abi import encode

    encoded = encode(
        [
            "address",
            "address",
            "address",
            "address",
            "uint16",
            "uint256",
            "uint256",
            "uint40",
            "uint8",
            "uint8",
            "uint256",
        ],
        list(trade.as_tuple()),
    )
    return int.from_bytes(keccak(encoded), "big") & TRADE_HASH_MASK
