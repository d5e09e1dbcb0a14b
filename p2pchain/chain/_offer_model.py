"""Typed mirrors of a buyer's :class:`Offer` and an EIP-2612 :class:`Permit`, and the EIP-712
data each is signed over.

An offer is signed by the buyer in the Marketplace's EIP-712 domain (``Offer``, which nests the
listing's ``ListingTerms``, so a wallet shows the terms being agreed to). A permit is signed in the
token's own domain (EIP-2612 ``Permit``); it lets ``buyWithPermit`` and ``acceptOffer`` take an
ERC-20 payment without a separate ``approve`` transaction. Both must stay identical to
``contracts/types/MarketplaceTypes.sol``; the contract tests compare every digest with the
contract's own (``offerDigest``) and every permit with the token's ``permit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p2pchain.chain._model import (
    LISTING_EIP712_TYPES,
    ListingTerms,
    checksum_address,
    eip712_digest,
    typed_data,
)

#: EIP-712 types of an offer (``Offer`` nests ``ListingTerms``).
OFFER_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "ListingTerms": LISTING_EIP712_TYPES["ListingTerms"],
    "Offer": [
        {"name": "terms", "type": "ListingTerms"},
        {"name": "listingId", "type": "bytes32"},
        {"name": "buyer", "type": "address"},
        {"name": "quantity", "type": "uint32"},
        {"name": "price", "type": "uint256"},
        {"name": "expiry", "type": "uint40"},
        {"name": "counter", "type": "uint64"},
        {"name": "salt", "type": "bytes32"},
    ],
}

#: EIP-2612's ``Permit`` type.
PERMIT_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


@dataclass(frozen=True)
class Offer:
    """A buyer's offer for a listing; mirrors ``Offer`` in ``MarketplaceTypes.sol``.

    Attributes:
        terms: The listing's terms as the buyer saw them (``terms.price`` is the asking price).
        listing_id: The listing's id (on-chain id, or a signed listing's digest).
        buyer: Who pays and signs.
        quantity: Units wanted.
        price: Price offered per unit, in ``terms.token``.
        expiry: Unix time from which it can no longer be accepted.
        counter: The buyer's offer counter when signing (``cancelAllOffers`` moves it on).
        salt: 32 bytes that make otherwise equal offers differ.
    """

    terms: ListingTerms
    listing_id: bytes
    buyer: str
    quantity: int
    price: int
    expiry: int
    counter: int
    salt: bytes

    @property
    def total(self) -> int:
        """What accepting it takes from the buyer: offered price and deposit, per unit."""
        return (self.price + self.terms.deposit) * self.quantity

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in field order."""
        return (
            self.terms.as_tuple(),
            self.listing_id,
            checksum_address(self.buyer),
            self.quantity,
            self.price,
            self.expiry,
            self.counter,
            self.salt,
        )

    def typed_data(self, *, chain_id: int, marketplace: str) -> dict[str, Any]:
        """The full EIP-712 typed data the buyer signs (``eth_signTypedData_v4``)."""
        message = {
            "terms": self.terms.typed_data_message(),
            "listingId": self.listing_id,
            "buyer": checksum_address(self.buyer),
            "quantity": self.quantity,
            "price": self.price,
            "expiry": self.expiry,
            "counter": self.counter,
            "salt": self.salt,
        }
        return typed_data(
            OFFER_EIP712_TYPES, "Offer", message, chain_id=chain_id, contract=marketplace
        )

    def digest(self, *, chain_id: int, marketplace: str) -> bytes:
        """The offer's id: the EIP-712 digest its buyer signs (also its trade's id)."""
        from eth_account.messages import encode_typed_data

        signable = encode_typed_data(
            full_message=self.typed_data(chain_id=chain_id, marketplace=marketplace)
        )
        return eip712_digest(signable)


@dataclass(frozen=True)
class Permit:
    """An EIP-2612 permit signature for the Marketplace; mirrors ``Permit`` in
    ``MarketplaceTypes.sol``. ``deadline`` 0 means none (:data:`NO_PERMIT`)."""

    value: int
    deadline: int
    v: int
    r: bytes
    s: bytes

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.value, self.deadline, self.v, self.r, self.s)

    @classmethod
    def from_signature(cls, value: int, deadline: int, signature: bytes) -> Permit:
        """From a 65-byte ``r ‖ s ‖ v`` signature."""
        if len(signature) != 65:
            raise ValueError(f"a permit signature is 65 bytes, not {len(signature)}")
        v = signature[64]
        return cls(value, deadline, v if v >= 27 else v + 27, signature[:32], signature[32:64])


#: No permit: the allowance is already in place (or the payment is in ETH).
NO_PERMIT = Permit(0, 0, 0, b"\0" * 32, b"\0" * 32)


def permit_typed_data(
    *,
    token_name: str,
    token_version: str,
    chain_id: int,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """The EIP-712 typed data of an EIP-2612 permit, in the token's own domain."""
    message = {
        "owner": checksum_address(owner),
        "spender": checksum_address(spender),
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    return typed_data(
        PERMIT_EIP712_TYPES,
        "Permit",
        message,
        chain_id=chain_id,
        contract=token,
        name=token_name,
        version=token_version,
    )
