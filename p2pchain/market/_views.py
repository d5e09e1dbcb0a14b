"""What the client returns: typed, immutable views of listings, trades, ratings and transactions.

These are plain frozen dataclasses built by :class:`p2pchain.MarketplaceClient` from events and
contract reads. They carry the contract structs from :mod:`p2pchain.chain._model` and add what a
front end needs: listing status, funds held, deadlines, and who may do what next.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address
from web3.types import TxReceipt

from p2pchain.chain._model import (
    AMOUNT_RELEASED,
    DEPOSIT_RETURNED,
    ListingTerms,
    Trade,
    TradeState,
    signed_listing_id,
    signed_listing_typed_data,
)


@dataclass(frozen=True)
class TxInfo:
    """A mined transaction, as far as a front end cares.

    Attributes:
        tx_hash: 0x hex hash.
        block_number: Block it was mined in.
        gas_used: Gas it used.
        effective_gas_price: Wei paid per gas.
    """

    tx_hash: str
    block_number: int
    gas_used: int
    effective_gas_price: int

    @property
    def fee(self) -> int:
        """Wei the sender paid for gas."""
        return self.gas_used * self.effective_gas_price

    @classmethod
    def from_receipt(cls, receipt: TxReceipt) -> TxInfo:
        """Build from a web3 receipt."""
        return cls(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            effective_gas_price=int(receipt.get("effectiveGasPrice", 0)),
        )


#: A transaction for a browser wallet (``eth_sendTransaction``) or for eth-account to sign:
#: ``from``, ``to``, ``data`` (0x hex), ``value``, ``chainId``, ``gas`` and the fee fields, as
#: ints. ``nonce`` is absent unless asked for: wallets pick it. ``gas`` is absent when the
#: transaction can only be simulated after an earlier one (an ERC-20 approval) is mined.
UnsignedTransaction = TypedDict(
    "UnsignedTransaction",
    {
        "from": ChecksumAddress,
        "to": ChecksumAddress,
        "data": str,
        "value": int,
        "chainId": int,
        "gas": int,
        "maxFeePerGas": int,
        "maxPriorityFeePerGas": int,
        "gasPrice": int,
        "nonce": int,
    },
    total=False,
)

_QUANTITIES = (
    "value",
    "chainId",
    "gas",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "gasPrice",
    "nonce",
)


def to_json_rpc(tx: UnsignedTransaction) -> dict[str, str]:
    """The transaction with quantities as 0x hex strings, as EIP-1193 wallets expect them."""
    out: dict[str, str] = {}
    for key, value in tx.items():
        out[key] = hex(int(value)) if key in _QUANTITIES else str(value)  # type: ignore[call-overload]
    return out


class ListingStatus(enum.Enum):
    """Where a listing is in its life."""

    #: Units can be bought.
    LIVE = "live"
    #: A signed listing nobody has bought yet; buyable while its signature is valid.
    UNUSED = "unused"
    #: Every unit was bought.
    SOLD_OUT = "sold_out"
    #: The seller closed (on-chain) or cancelled (signed) it.
    CLOSED = "closed"


@dataclass(frozen=True)
class SignedListing:
    """A listing the seller signed off-chain (EIP-712); it costs the seller nothing.

    Share it however you like (its :meth:`to_json`); a buyer's first purchase puts it on-chain.

    Attributes:
        terms: The signed terms.
        quantity: Units the seller signed for.
        salt: The seller's salt.
        signature: The seller's 65-byte signature.
        chain_id: Chain the signature is bound to.
        marketplace: Marketplace the signature is bound to.
        id: The listing id: the EIP-712 digest the seller signed.
    """

    terms: ListingTerms
    quantity: int
    salt: bytes
    signature: bytes
    chain_id: int
    marketplace: ChecksumAddress
    id: bytes

    @property
    def seller(self) -> str:
        """The seller (``terms.seller``)."""
        return self.terms.seller

    def typed_data(self) -> dict[str, Any]:
        """The EIP-712 typed data that was signed."""
        return signed_listing_typed_data(
            self.terms,
            self.quantity,
            self.salt,
            chain_id=self.chain_id,
            marketplace=self.marketplace,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (hex strings for bytes) that :meth:`from_json` reads back."""
        return {
            "terms": self.terms.to_json(),
            "quantity": self.quantity,
            "salt": "0x" + self.salt.hex(),
            "signature": "0x" + self.signature.hex(),
            "chainId": self.chain_id,
            "marketplace": self.marketplace,
            "id": "0x" + self.id.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignedListing:
        """Read back :meth:`to_json`.

        The id is recomputed from the terms, quantity, salt, chain and marketplace (it is the
        digest the seller signed); an ``id`` field that disagrees is refused, never trusted. The
        signature is brought to the form the contract accepts (see
        :func:`p2pchain.market._validation.signature`) but not checked against the seller here:
        use :meth:`p2pchain.MarketplaceClient.signed_listing` on untrusted input.

        Raises:
            ValueError: Missing or malformed fields, or an ``id`` that is not the listing's.
        """
        from p2pchain.market._validation import signature as check_signature

        try:
            t = data["terms"]
            terms = ListingTerms(
                seller=to_checksum_address(t["seller"]),
                token=to_checksum_address(t["token"]),
                price=int(t["price"]),
                deposit=int(t["deposit"]),
                arbitrator=to_checksum_address(t["arbitrator"]),
                arbitrator_fee_bps=int(t["arbitratorFeeBps"]),
                review_window=int(t["reviewWindow"]),
                expiry=int(t["expiry"]),
                cid_prefix=bytes.fromhex(str(t["cidPrefix"]).removeprefix("0x")),
                cid_digest=bytes.fromhex(str(t["cidDigest"]).removeprefix("0x")),
            )
            quantity = int(data["quantity"])
            salt = bytes.fromhex(str(data["salt"]).removeprefix("0x"))
            chain_id = int(data["chainId"])
            marketplace = to_checksum_address(data["marketplace"])
            sig = check_signature(data["signature"])
            computed = signed_listing_id(
                terms, quantity, salt, chain_id=chain_id, marketplace=marketplace
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed signed listing: {exc!r}") from None
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"malformed signed listing: {exc}") from None
        given = data.get("id") if isinstance(data, Mapping) else None
        if given is not None:
            try:
                claimed = bytes.fromhex(str(given).removeprefix("0x"))
            except ValueError:
                claimed = b""
            if claimed != computed:
                raise ValueError(
                    f"its id {str(given)[:80]} is not the digest of its terms (0x{computed.hex()}):"
                    " the file was altered"
                )
        return cls(
            terms=terms,
            quantity=quantity,
            salt=salt,
            signature=sig,
            chain_id=chain_id,
            marketplace=marketplace,
            id=computed,
        )


@dataclass(frozen=True)
class Listing:
    """A listing as the chain knows it (from its events and ``listingState``).

    Attributes:
        id: On-chain listing id, or the EIP-712 digest of a signed listing.
        seller: The seller.
        salt: The seller's salt (needed to update or close an on-chain listing).
        terms: The current terms.
        listed_quantity: Units offered when it was listed (or signed for).
        sold: Units sold so far.
        remaining: Units still on offer (0 unless live or unused).
        status: Live, unused (signed, never bought), sold out or closed.
        signed: Whether it is a signed (off-chain) listing.
        signature: The seller's signature, for signed listings known to this client.
        block_number: Block of its first event, if it has one.
        tx: The transaction that produced this view, for results of writes.
    """

    id: bytes
    seller: ChecksumAddress
    salt: bytes
    terms: ListingTerms
    listed_quantity: int
    sold: int
    remaining: int
    status: ListingStatus
    signed: bool
    signature: bytes | None = None
    block_number: int | None = None
    tx: TxInfo | None = None

    @property
    def live(self) -> bool:
        """Whether units can be bought now (expiry aside)."""
        return self.status in (ListingStatus.LIVE, ListingStatus.UNUSED)

    def total(self, quantity: int = 1) -> int:
        """What a buyer pays into escrow for ``quantity`` units: (price + deposit) x quantity."""
        return (self.terms.price + self.terms.deposit) * quantity

    def expired(self, timestamp: int) -> bool:
        """Whether the listing can no longer be bought at ``timestamp``."""
        return self.terms.expiry != 0 and timestamp >= self.terms.expiry


@dataclass(frozen=True)
class HeldFunds:
    """What the escrow holds for a trade, by the side it goes to by default.

    Attributes:
        token: The payment token (zero address: ETH).
        seller_pot: The price, unless released.
        buyer_pot: The deposit, unless returned.
    """

    token: str
    seller_pot: int
    buyer_pot: int

    @property
    def total(self) -> int:
        """Everything held."""
        return self.seller_pot + self.buyer_pot


class Role(enum.Enum):
    """A party's role in a trade."""

    BUYER = "buyer"
    SELLER = "seller"
    ARBITRATOR = "arbitrator"


@dataclass(frozen=True)
class NextStep:
    """Something a party may do with a trade, and when.

    Attributes:
        action: The client method that does it (``release``, ``finalize``...).
        actor: Who may do it; None for anyone.
        not_before: Allowed from this timestamp on (inclusive), if limited.
        until: Allowed only before this timestamp (exclusive), if limited.
    """

    action: str
    actor: ChecksumAddress | None
    not_before: int | None = None
    until: int | None = None

    def open_at(self, timestamp: int) -> bool:
        """Whether the step is allowed at ``timestamp``."""
        if self.not_before is not None and timestamp < self.not_before:
            return False
        return not (self.until is not None and timestamp >= self.until)


@dataclass(frozen=True)
class TradeEvent:
    """One event in a trade's history.

    Attributes:
        name: ``Purchased``, ``Released``, ``Disputed``...
        args: Its decoded arguments.
        block_number: Block it was emitted in.
        log_index: Its position in the block.
        tx_hash: The transaction (0x hex).
        timestamp: The block's timestamp.
    """

    name: str
    args: Mapping[str, Any]
    block_number: int
    log_index: int
    tx_hash: str
    timestamp: int


@dataclass(frozen=True)
class TradeView:
    """A trade rebuilt from its events and verified against the contract (``checkTrade``).

    Attributes:
        id: The trade id.
        listing_id: The listing it was bought from.
        trade: The full contract struct, to pass back on every call.
        quantity: Units bought.
        opened_at: Timestamp of the purchase.
        rated_by_buyer: Whether the buyer rated the seller.
        rated_by_seller: Whether the seller rated the buyer.
        history: Its events, oldest first.
        tx: The transaction that produced this view, for results of writes.
    """

    id: bytes
    listing_id: bytes
    trade: Trade
    quantity: int
    opened_at: int
    rated_by_buyer: bool = False
    rated_by_seller: bool = False
    history: tuple[TradeEvent, ...] = field(default=())
    tx: TxInfo | None = None

    @property
    def state(self) -> TradeState:
        """The trade's state."""
        return self.trade.state

    @property
    def buyer(self) -> str:
        """The buyer."""
        return self.trade.buyer

    @property
    def seller(self) -> str:
        """The seller."""
        return self.trade.seller

    @property
    def arbitrator(self) -> str:
        """The arbitrator (zero address: none)."""
        return self.trade.arbitrator

    @property
    def token(self) -> str:
        """The payment token (zero address: ETH)."""
        return self.trade.token

    @property
    def held(self) -> HeldFunds:
        """What the escrow still holds for this trade (nothing once it is final)."""
        if not self.trade.state.is_open:
            return HeldFunds(self.trade.token, 0, 0)
        seller_pot, buyer_pot = self.trade.held
        return HeldFunds(self.trade.token, seller_pot, buyer_pot)

    @property
    def review_deadline(self) -> int | None:
        """While paid: the end of the review window (disputes before, finalize from then)."""
        return self.trade.deadline if self.trade.state == TradeState.PAID else None

    @property
    def ruling_deadline(self) -> int | None:
        """While disputed: the end of the ruling window (rule before, claim timeout from then)."""
        return self.trade.deadline if self.trade.state == TradeState.DISPUTED else None

    @property
    def proposal(self) -> tuple[str, int] | None:
        """The standing settlement proposal: ``(proposer, buyer's share)``, if any."""
        proposer = self.trade.proposer
        return None if proposer is None else (proposer, self.trade.proposed_buyer_share)

    def role_of(self, account: str) -> Role | None:
        """The role ``account`` plays in this trade, if any."""
        if account == self.trade.buyer:
            return Role.BUYER
        if account == self.trade.seller:
            return Role.SELLER
        if account == self.trade.arbitrator:
            return Role.ARBITRATOR
        return None

    def next_steps(self, at: int | None = None) -> tuple[NextStep, ...]:
        """Who may do what with this trade, mirroring the contract's rules.

        Args:
            at: A timestamp; if given, only the steps allowed then (e.g. the latest block's).

        Returns:
            The steps, each with its actor (None: anyone) and time limits.
        """
        t = self.trade
        buyer, seller = _cs(t.buyer), _cs(t.seller)
        steps: list[NextStep] = []
        if t.state.is_open:
            released = bool(t.flags & AMOUNT_RELEASED)
            returned = bool(t.flags & DEPOSIT_RETURNED)
            if not released:
                steps.append(NextStep("release", buyer))
            if t.deposit and not returned:
                steps.append(NextStep("return_deposit", seller))
            steps.append(NextStep("refund", seller))
            # Proposals live until the trade's deadline; then the default outcome is open to anyone.
            steps.append(NextStep("propose_settlement", buyer, until=t.deadline))
            steps.append(NextStep("propose_settlement", seller, until=t.deadline))
            proposer = t.proposer
            if proposer is not None:
                acceptor = seller if proposer == buyer else buyer
                steps.append(NextStep("accept_settlement", acceptor, until=t.deadline))
                steps.append(NextStep("withdraw_proposal", _cs(proposer)))
        if t.state == TradeState.PAID:
            if t.arbitrator != _ZERO:
                if not t.flags & AMOUNT_RELEASED:
                    steps.append(NextStep("dispute", buyer, until=t.deadline))
                if not t.flags & DEPOSIT_RETURNED:
                    steps.append(NextStep("dispute", seller, until=t.deadline))
            steps.append(NextStep("finalize", None, not_before=t.deadline))
        elif t.state == TradeState.DISPUTED:
            steps.append(NextStep("rule", _cs(t.arbitrator), until=t.deadline))
            steps.append(NextStep("claim_ruling_timeout", None, not_before=t.deadline))
        elif t.state.is_final:
            if not self.rated_by_buyer:
                steps.append(NextStep("rate", buyer))
            if not self.rated_by_seller:
                steps.append(NextStep("rate", seller))
        if at is not None:
            steps = [s for s in steps if s.open_at(at)]
        return tuple(steps)

    def may(self, account: str, action: str, at: int | None = None) -> bool:
        """Whether ``account`` may do ``action`` (a client method name), at ``at`` if given."""
        return any(
            s.action == action and s.actor in (None, _cs(account)) for s in self.next_steps(at)
        )


_ZERO = "0x0000000000000000000000000000000000000000"


def _cs(value: str) -> ChecksumAddress:
    return to_checksum_address(value)


@dataclass(frozen=True)
class ReputationSummary:
    """On-chain rating totals of an address for trades in one token.

    Attributes:
        subject: The rated address.
        token: The trades' token (zero address: ETH).
        count: Ratings received.
        score_sum: Sum of their scores.
        volume: Sum of the rated trades' prices (saturating).
    """

    subject: ChecksumAddress
    token: ChecksumAddress
    count: int
    score_sum: int
    volume: int

    @property
    def average(self) -> float | None:
        """Mean score, or None without ratings."""
        return self.score_sum / self.count if self.count else None


@dataclass(frozen=True)
class Rating:
    """One rating (a ``Rated`` event).

    Attributes:
        trade_id: The rated trade.
        rater: Who rated.
        subject: Who was rated.
        score: 1 to 5.
        token: The trade's token.
        value: The trade's price.
        review_cid: Binary CID of the review document, or empty.
        block_number: Block of the rating.
        tx: The transaction, for results of writes.
    """

    trade_id: bytes
    rater: ChecksumAddress
    subject: ChecksumAddress
    score: int
    token: ChecksumAddress
    value: int
    review_cid: bytes
    block_number: int
    tx: TxInfo | None = None


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal of credited payouts (a ``Withdrawn`` event).

    Attributes:
        token: The token (zero address: ETH).
        account: Whose credit it was.
        to: Where it went.
        amount: How much.
        tx: The transaction.
    """

    token: ChecksumAddress
    account: ChecksumAddress
    to: ChecksumAddress
    amount: int
    tx: TxInfo | None = None


__all__ = [
    "HeldFunds",
    "Listing",
    "ListingStatus",
    "NextStep",
    "Rating",
    "ReputationSummary",
    "Role",
    "SignedListing",
    "TradeEvent",
    "TradeView",
    "TxInfo",
    "UnsignedTransaction",
    "Withdrawal",
    "to_json_rpc",
]
