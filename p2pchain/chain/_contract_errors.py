"""One Python exception per contract custom error, decoded from revert data in one place.

Every revert the library sees ends up in :func:`decode_revert`, which turns raw revert data into
an exception a person can act on:

* a contract custom error (``TermsChanged``, ``WindowClosed``...) becomes an instance of the class
  of the same name below, carrying the decoded arguments as snake_case attributes
  (``err.listing_id``, ``err.deadline``);
* ``Panic(uint256)`` becomes :class:`Panic` with its code and meaning;
* ``Error(string)`` becomes :class:`RevertReason`;
* anything else (unknown selectors, empty revert data) a plain :class:`ContractRevert` carrying
  the raw data.

All of them derive from :class:`p2pchain._errors.ContractError`; the base classes and the
revert-data extraction live in :mod:`p2pchain.chain._revert`.

The selector table is generated at import from the ABI error lists of the shipped artifacts
(``Marketplace``, ``Reputation``) plus the ERC-6093 errors an OpenZeppelin ERC-20 can bubble up
through a purchase. A class is looked up by the error's name; an error without a hand-written
class still decodes, to a generated class of that name with a generic message, and is listed in
:data:`UNDOCUMENTED_ERRORS` (a test keeps that list empty, so a new contract error cannot be
missed).

OpenZeppelin's ECDSA errors (``ECDSAInvalidSignature``...) cannot surface: the marketplace checks
signatures with ``ECDSA.tryRecover``, which returns instead of reverting, and reports a bad
signature as :class:`InvalidSignature`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from p2pchain.chain._booking_model import BookingState
from p2pchain.chain._model import ZERO_ADDRESS, TradeState
from p2pchain.chain._revert import (
    ERROR_STRING_SELECTOR,
    PANIC_SELECTOR,
    ContractRevert,
    CustomError,
    Panic,
    RevertReason,
    _snake,
    format_amount,
    format_duration,
    format_time,
    short_id,
)
from p2pchain.compiler._artifacts import load_artifact

#: Contracts whose ABI error lists generate the selector table.
ERROR_SOURCES = ("Marketplace", "Reputation", "Bookings")

#: ERC-6093 errors of OpenZeppelin's ERC-20, which ``SafeERC20.safeTransferFrom`` bubbles up when
#: a purchase cannot pull the buyer's tokens (no allowance, no balance).
TOKEN_ERRORS_ABI: tuple[Mapping[str, Any], ...] = tuple(
    {
        "type": "error",
        "name": name,
        "inputs": [{"name": n, "type": t, "internalType": t} for n, t in inputs],
    }
    for name, inputs in (
        ("ERC20InsufficientBalance", [("sender", "address"), ("balance", "uint256"), ("needed", "uint256")]),
        ("ERC20InvalidSender", [("sender", "address")]),
        ("ERC20InvalidReceiver", [("receiver", "address")]),
        ("ERC20InsufficientAllowance", [("spender", "address"), ("allowance", "uint256"), ("needed", "uint256")]),
        ("ERC20InvalidApprover", [("approver", "address")]),
        ("ERC20InvalidSpender", [("spender", "address")]),
        # Permit2's, passed on when a payment through Permit2 fails
        ("AllowanceExpired", [("deadline", "uint256")]),
        ("InsufficientAllowance", [("amount", "uint256")]),
        ("InvalidNonce", []),
        ("SignatureExpired", [("signatureDeadline", "uint256")]),
        ("InvalidSigner", []),
    )
)  # fmt: skip


def _token_name(token: str) -> str:
    return "ETH" if token == ZERO_ADDRESS else f"token {token}"


#: What each call does to a trade, completed by "trade 0x…" (for "X may not ... trade 0x…").
_ACTS_ON: Mapping[str, str] = {
    "release": "release the price of",
    "returnDeposit": "return the deposit of",
    "refund": "refund",
    "finalize": "finalize",
    "dispute": "dispute",
    "proposeSettlement": "propose a settlement of",
    "withdrawProposal": "withdraw the settlement proposal on",
    "acceptSettlement": "accept the settlement of",
    "rule": "rule on",
    "claimRulingTimeout": "claim the ruling timeout of",
    "rate": "rate",
    "cancel": "cancel",
    "pickup": "confirm the pickup of",
    "attachEvidence": "attach evidence to",
    "confirmReturn": "confirm the return of",
    "claimDamage": "claim damage on",
    "unblockPeriod": "unblock",
    "rateBooking": "rate",
}

#: Each call as a noun phrase (for "trade 0x… is completed, which does not allow ...").
_GERUNDS: Mapping[str, str] = {
    "release": "releasing the price",
    "returnDeposit": "returning the deposit",
    "refund": "a refund",
    "finalize": "finalizing",
    "dispute": "a dispute",
    "proposeSettlement": "a settlement proposal",
    "withdrawProposal": "withdrawing a settlement proposal",
    "acceptSettlement": "accepting a settlement",
    "rule": "a ruling",
    "claimRulingTimeout": "claiming the ruling timeout",
    "rate": "a rating",
    "cancel": "a cancellation",
    "pickup": "confirming the pickup",
    "confirmReturn": "confirming the return",
    "claimDamage": "a damage claim",
    "unblockPeriod": "unblocking",
}

#: Calls of the Bookings contract that name a booking (its errors reuse the trade errors'
#: signatures, so one selector means one error everywhere; the message names a booking).
_BOOKING_CALLS = frozenset(
    {
        "cancel",
        "pickup",
        "attachEvidence",
        "confirmReturn",
        "claimDamage",
        "unblockPeriod",
        "rateBooking",
        "book",
        "blockPeriod",
    }
)

#: Listing calls, for :class:`NotSeller`.
_LISTING_VERBS: Mapping[str, str] = {
    "list": "list",
    "updateListing": "update",
    "closeListing": "close",
    "cancelSignedListing": "cancel",
}


# --------------------------------------------------------------------------------------------
# Marketplace errors (see contracts/interfaces/IMarketplace.sol for their NatSpec)


class NotSeller(CustomError):
    """``terms.seller`` is not the caller."""

    caller: str
    seller: str

    def describe(self) -> str:
        return (
            f"the terms name {self.seller} as the seller, but the transaction comes from"
            f" {self.caller}: only the seller can {_LISTING_VERBS.get(self.action or '', 'manage')} their listing"
        )


class InvalidPrice(CustomError):
    """The price per unit is zero, or the price or deposit is above 2^128 - 1."""

    price: int
    deposit: int

    def describe(self) -> str:
        if self.price == 0:
            return "the price per unit must be above zero"
        return (
            f"the price per unit ({self.price}) and the deposit per unit ({self.deposit}) must"
            " each be at most 2^128 - 1"
        )


class ZeroQuantity(CustomError):
    """A quantity of zero units was given."""

    def describe(self) -> str:
        return "the quantity must be at least one unit"


class ArbitratorIsParty(CustomError):
    """The arbitrator would be the seller or the buyer of the trade."""

    arbitrator: str

    def describe(self) -> str:
        return (
            f"{self.arbitrator} is this listing's arbitrator, so it cannot also be the seller or"
            " the buyer"
        )


class InvalidArbitratorFee(CustomError):
    """The arbitrator fee is above the maximum, or set without an arbitrator."""

    fee_bps: int

    def describe(self) -> str:
        return (
            f"an arbitrator fee of {self.fee_bps / 100:g}% is not allowed: at most 10%, and 0%"
            " when no arbitrator is named"
        )


class InvalidReviewWindow(CustomError):
    """The review window is zero or longer than ``MAX_REVIEW_WINDOW``."""

    review_window: int

    def describe(self) -> str:
        return (
            f"a review window of {format_duration(self.review_window)} is not allowed: it must"
            " be between 1 second and 365 days"
        )


class InvalidExpiry(CustomError):
    """The expiry is already in the past."""

    expiry: int

    def describe(self) -> str:
        return f"the expiry {format_time(self.expiry)} is already in the past; use 0 for none"


class InvalidCid(CustomError):
    """The CID prefix or digest is zero."""

    cid_prefix: bytes
    cid_digest: bytes

    def describe(self) -> str:
        return "the terms carry no listing document: the CID prefix or digest is zero"


class InvalidRulingWindow(CustomError):
    """The ruling window given to the constructor is outside its bounds."""

    ruling_window: int

    def describe(self) -> str:
        return (
            f"a ruling window of {format_duration(self.ruling_window)} is not allowed: it must"
            " be between 1 hour and 90 days"
        )


class ListingExists(CustomError):
    """The seller already used this salt for a listing."""

    listing_id: bytes

    def describe(self) -> str:
        return (
            f"you already used this salt for listing {short_id(self.listing_id)}; list again"
            " with a new salt"
        )


class ListingNotActive(CustomError):
    """The listing is closed, cancelled, sold out or was never created."""

    listing_id: bytes

    def describe(self) -> str:
        return (
            f"listing {short_id(self.listing_id)} is not for sale: it was closed or cancelled,"
            " sold out, or never created"
        )


class TermsChanged(CustomError):
    """The terms passed are not the listing's current terms."""

    listing_id: bytes

    def describe(self) -> str:
        return "the listing's terms changed since you saw them; reload it and try again"


class ListingExpired(CustomError):
    """The listing expired."""

    listing_id: bytes
    expiry: int

    def describe(self) -> str:
        return f"listing {short_id(self.listing_id)} expired at {format_time(self.expiry)}"


class InsufficientQuantity(CustomError):
    """Fewer units remain than were asked for."""

    listing_id: bytes
    remaining: int
    requested: int

    def describe(self) -> str:
        units = "unit remains" if self.remaining == 1 else "units remain"
        return (
            f"only {self.remaining} {units} of listing {short_id(self.listing_id)}, but you"
            f" asked for {self.requested}"
        )


class QuantityOverflow(CustomError):
    """The sold-unit counter of a listing would overflow."""

    listing_id: bytes

    def describe(self) -> str:
        return (
            f"listing {short_id(self.listing_id)} cannot count more sold units (the limit is"
            " 4,294,967,295); create a new listing"
        )


class InvalidSignature(CustomError):
    """The signature over a signed listing (by its seller) or an offer (by its buyer) is
    invalid."""

    digest: bytes
    signer: str

    def describe(self) -> str:
        return (
            f"the signature on {short_id(self.digest)} is not {self.signer}'s: what was signed"
            " was altered, or signed for another chain or marketplace"
        )


class OfferExpired(CustomError):
    """The offer's expiry has passed."""

    offer_id: bytes
    expiry: int

    def describe(self) -> str:
        return f"offer {short_id(self.offer_id)} expired at {format_time(self.expiry)}"


class OfferRevoked(CustomError):
    """The buyer cancelled the offer, or all offers signed before it."""

    offer_id: bytes

    def describe(self) -> str:
        return f"offer {short_id(self.offer_id)} was cancelled by its buyer"


class OfferUsed(CustomError):
    """The offer was already accepted."""

    offer_id: bytes

    def describe(self) -> str:
        return f"offer {short_id(self.offer_id)} was already accepted: its trade has the same id"


class OfferUnfunded(CustomError):
    """The buyer no longer has the funds the offer needs (ERC-20 balance, or ETH credit)."""

    offer_id: bytes
    buyer: str
    needed: int
    available: int

    def describe(self) -> str:
        return (
            f"the buyer {self.buyer} no longer has the funds for offer {short_id(self.offer_id)}:"
            f" it needs {self.needed} (base units) and {self.available} is there"
        )


class OfferNotApproved(CustomError):
    """The buyer's ERC-20 allowance is below what the offer needs, even after its permit."""

    offer_id: bytes
    buyer: str
    needed: int
    allowance: int

    def describe(self) -> str:
        return (
            f"the buyer {self.buyer} has not allowed the marketplace to take the {self.needed}"
            f" (base units) offer {short_id(self.offer_id)} needs (allowance {self.allowance},"
            " and its permit, if any, did not help)"
        )


class SelfPurchase(CustomError):
    """The seller tried to buy their own listing."""

    seller: str

    def describe(self) -> str:
        return f"{self.seller} cannot buy their own listing"


class WrongPayment(CustomError):
    """The ETH sent does not match the amount due."""

    expected: int
    sent: int

    def describe(self) -> str:
        if self.expected == 0:
            return (
                f"this listing is paid in an ERC-20 token, so send no ETH with it (you sent"
                f" {format_amount(self.sent)})"
            )
        return (
            f"{format_amount(self.expected)} is due (price and deposit times the quantity), but"
            f" {format_amount(self.sent)} was sent"
        )


class UnsupportedToken(CustomError):
    """The token delivered a different amount than was transferred."""

    token: str
    expected: int
    received: int

    def describe(self) -> str:
        return (
            f"token {self.token} delivered {self.received} units instead of {self.expected}:"
            " fee-on-transfer and rebasing tokens are not supported"
        )


class UnknownTrade(CustomError):
    """The trade passed does not match the stored record (wrong id, or stale data)."""

    trade_id: bytes

    def describe(self) -> str:
        return (
            f"trade {short_id(self.trade_id)} is not as you passed it: it changed since you"
            " loaded it, or it does not exist; reload it and try again"
        )


class TradeNotInState(CustomError):
    """The trade is not in a state that allows this call."""

    trade_id: bytes
    current: TradeState

    def describe(self) -> str:
        state = self.current.name.lower().replace("_", " ")
        return (
            f"trade {short_id(self.trade_id)} is {state}, which does not allow"
            f" {_GERUNDS.get(self.action or '', 'this call')}"
        )


class Unauthorized(CustomError):
    """The caller is not allowed to make this call on this trade."""

    trade_id: bytes
    caller: str

    _WHO: ClassVar[Mapping[str, str]] = {
        "release": "only the buyer can release the price",
        "returnDeposit": "only the seller can return the deposit",
        "refund": "only the seller can refund",
        "dispute": (
            "only the buyer or the seller can dispute, and not after giving up that right (the"
            " buyer by releasing the price, the seller by returning the deposit)"
        ),
        "proposeSettlement": "only the buyer or the seller can propose a settlement",
        "withdrawProposal": "only the party who made the proposal can withdraw it",
        "acceptSettlement": "only the party who did not make the proposal can accept it",
        "rule": "only the trade's arbitrator can rule",
        "rate": "only the buyer or the seller can rate a trade",
        "cancel": "only the renter (before the start) or the owner can cancel a booking",
        "pickup": "only the renter can confirm the pickup",
        "attachEvidence": "only the renter or the owner can attach evidence",
        "confirmReturn": "only the owner can confirm the return",
        "claimDamage": "only the owner can claim damage",
        "unblockPeriod": "only the owner can unblock a period",
        "rateBooking": "only the renter or the owner can rate a booking",
    }

    def describe(self) -> str:
        why = self._WHO.get(self.action or "", "this call is reserved to another party")
        act = _ACTS_ON.get(self.action or "", "act on")
        noun = "booking" if self.action in _BOOKING_CALLS else "trade"
        return f"{self.caller} may not {act} {noun} {short_id(self.trade_id)}: {why}"


class NoArbitrator(CustomError):
    """The listing has no arbitrator, so the trade cannot be disputed."""

    trade_id: bytes

    def describe(self) -> str:
        return f"trade {short_id(self.trade_id)} names no arbitrator, so it cannot be disputed"


class WindowClosed(CustomError):
    """The window for this call has closed at ``deadline``."""

    trade_id: bytes
    deadline: int

    def describe(self) -> str:
        when = format_time(self.deadline)
        if self.action in ("proposeSettlement", "acceptSettlement"):
            return (
                f"settlement proposals lapsed at {when}, when the trade's window closed; the"
                " default outcome now applies (finalize, or claim the ruling timeout)"
            )
        what = {"dispute": "the dispute window", "rule": "the ruling window"}.get(
            self.action or "", "the window for this call"
        )
        return f"{what} closed at {when}"


class WindowOpen(CustomError):
    """The window for this call is still open until ``deadline``."""

    trade_id: bytes
    deadline: int

    def describe(self) -> str:
        when = format_time(self.deadline)
        if self.action == "finalize":
            return f"the review window is open until {when}; the trade can be finalized from then"
        if self.action == "claimRulingTimeout":
            return f"the arbitrator may rule until {when}; the timeout can be claimed from then"
        return f"this is not possible before {when}"


class NothingToRelease(CustomError):
    """The caller already released / returned the deposit, or there is no deposit to return."""

    trade_id: bytes

    def describe(self) -> str:
        if self.action == "release":
            return f"the price of trade {short_id(self.trade_id)} was already released"
        if self.action == "returnDeposit":
            return (
                f"trade {short_id(self.trade_id)} holds no deposit to return (none was paid, or"
                " it was already returned)"
            )
        return f"trade {short_id(self.trade_id)} has nothing left to release"


class ShareTooLarge(CustomError):
    """A split gives the buyer more than there is to split."""

    trade_id: bytes
    buyer_share: int
    available: int

    def describe(self) -> str:
        return (
            f"a buyer's share of {self.buyer_share} is more than the {self.available} available"
            f" to split in trade {short_id(self.trade_id)}"
        )


class NoProposal(CustomError):
    """There is no standing settlement proposal (to accept or to withdraw)."""

    trade_id: bytes

    def describe(self) -> str:
        verb = "withdraw" if self.action == "withdrawProposal" else "accept"
        return f"there is no settlement proposal to {verb} on trade {short_id(self.trade_id)}"


class NothingToWithdraw(CustomError):
    """The caller has no credit in this token."""

    token: str
    account: str

    def describe(self) -> str:
        return f"{self.account} has no credit to withdraw in {_token_name(self.token)}"


class InvalidRecipient(CustomError):
    """The withdrawal recipient is the zero address."""

    to: str

    def describe(self) -> str:
        return "the withdrawal recipient cannot be the zero address"


class PayoutGasTooLow(CustomError):
    """The transaction did not carry enough gas to forward ``gas_limit`` to a payout."""

    gas_limit: int

    def describe(self) -> str:
        return (
            f"the transaction's gas limit is too low to forward {self.gas_limit:,} gas to a"
            " payout; retry with a higher gas limit (unused gas is not charged)"
        )


class WithdrawalFailed(CustomError):
    """A withdrawal could not be paid out; the credit is kept."""

    token: str
    to: str
    amount: int

    def describe(self) -> str:
        return (
            f"{self.to} refused the withdrawal of {format_amount(self.amount, self.token)}; the"
            " credit is kept: withdraw to another address"
        )


class TradeNotFinal(CustomError):
    """The trade has not reached a final state, so it cannot be rated yet."""

    trade_id: bytes
    current: TradeState

    def describe(self) -> str:
        state = self.current.name.lower().replace("_", " ")
        return f"trade {short_id(self.trade_id)} is still {state}; rate it once it is final"


class AlreadyRated(CustomError):
    """The caller already rated this trade."""

    trade_id: bytes
    rater: str

    def describe(self) -> str:
        return f"{self.rater} already rated trade {short_id(self.trade_id)}"


# OpenZeppelin errors compiled into the Marketplace


class ReentrancyGuardReentrantCall(CustomError):
    """OpenZeppelin ReentrancyGuard: a guarded function was re-entered."""

    def describe(self) -> str:
        return (
            "a re-entrant call was refused: a token or receiver tried to call back into the"
            " marketplace"
        )


class SafeERC20FailedOperation(CustomError):
    """OpenZeppelin SafeERC20: the token's transfer failed or returned false."""

    token: str

    def describe(self) -> str:
        return f"token {self.token} refused the transfer (check your balance and allowance)"


class InvalidShortString(CustomError):
    """OpenZeppelin ShortStrings (EIP-712 domain, constructor only)."""

    def describe(self) -> str:
        return "the EIP-712 domain name or version is not a valid short string"


class StringTooLong(CustomError):
    """OpenZeppelin ShortStrings (EIP-712 domain, constructor only)."""

    str_: str

    def describe(self) -> str:
        return f"the EIP-712 domain string {self.str_!r} is too long"


# --------------------------------------------------------------------------------------------
# Bookings errors (see contracts/interfaces/IBookings.sol)


def _period(start: int, end: int) -> str:
    return f"{format_time(start)} to {format_time(end)}"


class NotOwner(CustomError):
    """``terms.owner`` is not the caller."""

    caller: str
    owner: str

    def describe(self) -> str:
        return (
            f"the terms name {self.owner} as the owner, but the transaction comes from"
            f" {self.caller}: only the owner can manage a rental listing"
        )


class InvalidRate(CustomError):
    """The rate is zero, or the rate or deposit is above 2^128 - 1."""

    rate: int
    deposit: int

    def describe(self) -> str:
        if self.rate == 0:
            return "the rate must be above zero"
        return "the rate and the deposit must each be below 2^128"


class InvalidCalendar(CustomError):
    """The period length or the bookable range is out of bounds, or the range is empty."""

    unit: int
    first_start: int
    last_end: int

    def describe(self) -> str:
        return (
            f"a rental's period must be 15 minutes to 7 days long (got {format_duration(self.unit)}),"
            f" and its bookable range ({_period(self.first_start, self.last_end)}) must be"
            " non-empty, at most 10 years long, and end in the future"
        )


class InvalidLengths(CustomError):
    """The minimum or maximum number of periods is out of bounds."""

    min_units: int
    max_units: int

    def describe(self) -> str:
        return (
            f"a booking's length must be between 1 and 1000 periods, minimum <= maximum"
            f" (got {self.min_units} to {self.max_units})"
        )


class InvalidPolicy(CustomError):
    """A lead time, cancellation or claim window above a year, or a late refund above 100%."""

    def describe(self) -> str:
        return (
            "the lead time, the free-cancellation time and the claim window must each be at most"
            " a year, and the late refund at most 100%"
        )


class InvalidEvidence(CustomError):
    """An evidence CID longer than 64 bytes (or an empty one where evidence is required)."""

    length: int

    def describe(self) -> str:
        if self.length == 0:
            return "evidence must name a CID"
        return f"an evidence CID is at most 64 bytes (got {self.length})"


class GridChanged(CustomError):
    """An update tried to change the calendar's grid (``unit`` or ``firstStart``)."""

    listing_id: bytes

    def describe(self) -> str:
        return (
            f"rental {short_id(self.listing_id)}'s period length and first start cannot change:"
            " existing bookings are counted on them (close it and list anew instead)"
        )


class InvalidBookingLength(CustomError):
    """The number of periods is outside the listing's minimum and maximum."""

    units: int
    min_units: int
    max_units: int

    def describe(self) -> str:
        return (
            f"this rental is booked for {self.min_units} to {self.max_units} periods at a time,"
            f" not {self.units}"
        )


class OutsideCalendar(CustomError):
    """The period asked for ends after the listing's last bookable time."""

    start: int
    end: int
    last_end: int

    def describe(self) -> str:
        return (
            f"{_period(self.start, self.end)} ends after the last bookable time,"
            f" {format_time(self.last_end)}"
        )


class TooSoon(CustomError):
    """The booking would start sooner than the lead time allows."""

    start: int
    earliest: int

    def describe(self) -> str:
        return (
            f"a booking starting {format_time(self.start)} is too soon: the owner needs notice,"
            f" so the earliest start is {format_time(self.earliest)}"
        )


class Unavailable(CustomError):
    """One of the periods asked for is already booked or blocked."""

    listing_id: bytes
    first_slot: int
    units: int

    def describe(self) -> str:
        return (
            f"rental {short_id(self.listing_id)} is already booked for some of those dates"
            " (someone else got there first, or the owner blocked them): pick other dates"
        )


class SelfBooking(CustomError):
    """The owner tried to book their own listing."""

    owner: str

    def describe(self) -> str:
        return f"{self.owner} owns this rental and cannot book it (block the dates instead)"


class BookingExists(CustomError):
    """A booking with this id exists (booked, cancelled and rebooked in one block)."""

    booking_id: bytes

    def describe(self) -> str:
        return f"booking {short_id(self.booking_id)} was just made in this block; try again in the next one"


class UnknownBooking(CustomError):
    """The booking passed does not match the stored record (wrong id, or stale data)."""

    booking_id: bytes

    def describe(self) -> str:
        return (
            f"booking {short_id(self.booking_id)} is not as you passed it: it changed since you"
            " loaded it, was cancelled, or does not exist; reload it and try again"
        )


class BookingNotInState(CustomError):
    """The booking is not in a state that allows this call."""

    booking_id: bytes
    current: BookingState

    def describe(self) -> str:
        state = self.current.name.lower().replace("_", " ")
        what = _GERUNDS.get(self.action or "", "this call")
        if self.action == "pickup" and self.current == BookingState.BOOKED:
            return f"the pickup of booking {short_id(self.booking_id)} was already confirmed"
        return f"booking {short_id(self.booking_id)} is {state}, which does not allow {what}"


class NothingToClaim(CustomError):
    """There is no deposit to claim against."""

    booking_id: bytes

    def describe(self) -> str:
        return f"booking {short_id(self.booking_id)} holds no deposit to claim damage against"


class BookingNotFinal(CustomError):
    """The booking has not reached a rateable final state."""

    booking_id: bytes
    current: BookingState

    def describe(self) -> str:
        state = self.current.name.lower().replace("_", " ")
        return f"booking {short_id(self.booking_id)} is {state}: it can be rated once it is settled"


# --------------------------------------------------------------------------------------------
# Reputation errors (see contracts/interfaces/IReputation.sol)


class InvalidScore(CustomError):
    """The score is not between 1 and 5."""

    score: int

    def describe(self) -> str:
        return f"a rating must be 1 to 5 stars, not {self.score}"


class InvalidReviewCid(CustomError):
    """The review CID is longer than ``MAX_CID_LENGTH`` bytes."""

    length: int

    def describe(self) -> str:
        return f"the review CID is {self.length} bytes long; at most 64 bytes fit"


class NotMarketplace(CustomError):
    """Only the marketplace that deployed the Reputation contract may call."""

    caller: str

    def describe(self) -> str:
        return f"only the marketplace may call this, not {self.caller}"


# --------------------------------------------------------------------------------------------
# ERC-6093 errors of OpenZeppelin ERC-20 tokens, bubbled up by SafeERC20 during a purchase


class ERC20InsufficientBalance(CustomError):
    """The buyer holds fewer tokens than the purchase needs."""

    sender: str
    balance: int
    needed: int

    def describe(self) -> str:
        return (
            f"{self.sender} holds {self.balance} units of the token, but {self.needed} are needed"
        )


class ERC20InsufficientAllowance(CustomError):
    """The marketplace may not pull enough of the buyer's tokens."""

    spender: str
    allowance: int
    needed: int

    def describe(self) -> str:
        return (
            f"{self.spender} may spend only {self.allowance} units of your token, but"
            f" {self.needed} are needed: approve it first"
        )


class AllowanceExpired(CustomError):
    """Permit2: the buyer's Permit2 allowance for the escrow expired (or was never given)."""

    deadline: int

    def describe(self) -> str:
        if self.deadline == 0:
            return "the buyer gave the escrow no Permit2 allowance: sign a Permit2 permit first"
        return (
            f"the buyer's Permit2 allowance for the escrow expired at {format_time(self.deadline)}"
        )


class InsufficientAllowance(CustomError):
    """Permit2: the buyer's Permit2 allowance for the escrow is smaller than the payment."""

    amount: int

    def describe(self) -> str:
        return f"the buyer's Permit2 allowance for the escrow is only {self.amount} units"


class InvalidNonce(CustomError):
    """Permit2: the permit's nonce was used or invalidated."""

    def describe(self) -> str:
        return "the Permit2 permit's nonce was already used or invalidated"


class SignatureExpired(CustomError):
    """Permit2: the permit's signature deadline passed."""

    signature_deadline: int

    def describe(self) -> str:
        return f"the Permit2 permit expired at {format_time(self.signature_deadline)}"


class InvalidSigner(CustomError):
    """Permit2: the permit was not signed by the buyer."""

    def describe(self) -> str:
        return "the Permit2 permit was not signed by the buyer"


class ERC20InvalidSender(CustomError):
    """The token refused a transfer from this sender."""

    sender: str

    def describe(self) -> str:
        return f"the token refused a transfer from {self.sender}"


class ERC20InvalidReceiver(CustomError):
    """The token refused a transfer to this receiver."""

    receiver: str

    def describe(self) -> str:
        return f"the token refused a transfer to {self.receiver}"


class ERC20InvalidApprover(CustomError):
    """The token refused an approval by this owner."""

    approver: str

    def describe(self) -> str:
        return f"the token refused an approval by {self.approver}"


class ERC20InvalidSpender(CustomError):
    """The token refused an approval for this spender."""

    spender: str

    def describe(self) -> str:
        return f"the token refused an approval for {self.spender}"


# --------------------------------------------------------------------------------------------
# the selector table, generated from the ABI


def _all_subclasses(cls: type[CustomError]) -> Iterable[type[CustomError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


#: Hand-written classes by Solidity error name.
ERROR_CLASSES: dict[str, type[CustomError]] = {c.__name__: c for c in _all_subclasses(CustomError)}


def abi_errors() -> list[Mapping[str, Any]]:
    """Every error fragment the table is built from: the shipped ABIs, then ERC-6093's."""
    items: list[Mapping[str, Any]] = []
    for name in ERROR_SOURCES:
        items.extend(e for e in load_artifact(name).abi if e.get("type") == "error")
    items.extend(TOKEN_ERRORS_ABI)
    return items


def _signature(fragment: Mapping[str, Any]) -> str:
    return f"{fragment['name']}({','.join(i['type'] for i in fragment['inputs'])})"


def _build_table(
    fragments: Sequence[Mapping[str, Any]],
) -> tuple[dict[bytes, type[CustomError]], list[str]]:
    table: dict[bytes, type[CustomError]] = {}
    undocumented: list[str] = []
    for fragment in fragments:
        name = str(fragment["name"])
        signature = _signature(fragment)
        selector = keccak(text=signature)[:4]
        if selector in table:
            continue
        cls = ERROR_CLASSES.get(name)
        if cls is None:  # a new contract error nobody wrote a class for: still decode it
            cls = type(name, (CustomError,), {"__doc__": f"``{signature}`` (no message yet)."})
            ERROR_CLASSES[name] = cls
            undocumented.append(signature)
        elif cls.signature and cls.signature != signature:
            raise TypeError(f"error {name} has two signatures: {cls.signature}, {signature}")
        cls.signature = signature
        cls.selector = selector
        cls.fields = tuple(
            _snake(str(i["name"]) or f"arg{n}") for n, i in enumerate(fragment["inputs"])
        )
        cls.abi_types = tuple(str(i["type"]) for i in fragment["inputs"])
        cls.internal_types = tuple(
            str(i.get("internalType", i["type"])) for i in fragment["inputs"]
        )
        table[selector] = cls
    return table, undocumented


_TABLE, UNDOCUMENTED_ERRORS = _build_table(abi_errors())
#: ``selector -> class`` for every decodable custom error.
ERRORS_BY_SELECTOR: Mapping[bytes, type[CustomError]] = _TABLE


def _convert(value: Any, abi_type: str, internal_type: str) -> Any:
    if internal_type == "enum TradeState":
        return TradeState(int(value))
    if internal_type == "enum BookingState":
        return BookingState(int(value))
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type.startswith("bytes"):
        return bytes(value)
    return value


def decode_revert(data: bytes | str, *, action: str | None = None) -> ContractRevert:
    """Turn raw revert data into the matching exception (not raised).

    Args:
        data: The revert data (bytes, or 0x-prefixed hex).
        action: The contract function that reverted, to make the message specific
            (``dispute`` makes :class:`WindowClosed` say "the dispute window closed at...").

    Returns:
        A :class:`CustomError` subclass for a known custom error, :class:`Panic`,
        :class:`RevertReason`, or a plain :class:`ContractRevert` for anything else.
    """
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    selector, body = raw[:4], raw[4:]
    call = f"the call to {action}" if action else "the call"
    if not raw:
        return ContractRevert(f"the contract refused {call} without giving a reason", action=action)
    try:
        if selector == ERROR_STRING_SELECTOR:
            (reason,) = abi_decode(["string"], body)
            return RevertReason(str(reason), data=raw, action=action)
        if selector == PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], body)
            return Panic(int(code), data=raw, action=action)
        cls = ERRORS_BY_SELECTOR.get(selector)
        if cls is not None:
            values = abi_decode(list(cls.abi_types), body)
            converted = [
                _convert(v, t, it)
                for v, t, it in zip(values, cls.abi_types, cls.internal_types, strict=True)
            ]
            return cls(*converted, data=raw, action=action)
    except (DecodingError, ValueError, OverflowError):
        pass
    return ContractRevert(
        f"the contract refused {call} with an unknown error (revert data 0x{raw.hex()})",
        data=raw,
        action=action,
    )


__all__ = [
    "ERRORS_BY_SELECTOR",
    "ERROR_CLASSES",
    "UNDOCUMENTED_ERRORS",
    "AllowanceExpired",
    "AlreadyRated",
    "ArbitratorIsParty",
    "ERC20InsufficientAllowance",
    "ERC20InsufficientBalance",
    "ERC20InvalidApprover",
    "ERC20InvalidReceiver",
    "ERC20InvalidSender",
    "ERC20InvalidSpender",
    "InsufficientAllowance",
    "InsufficientQuantity",
    "InvalidArbitratorFee",
    "InvalidCid",
    "InvalidExpiry",
    "InvalidNonce",
    "InvalidPrice",
    "InvalidRecipient",
    "InvalidReviewCid",
    "InvalidReviewWindow",
    "InvalidRulingWindow",
    "InvalidScore",
    "InvalidShortString",
    "InvalidSignature",
    "InvalidSigner",
    "ListingExists",
    "ListingExpired",
    "ListingNotActive",
    "NoArbitrator",
    "NoProposal",
    "NotMarketplace",
    "NotSeller",
    "NothingToRelease",
    "NothingToWithdraw",
    "OfferExpired",
    "OfferNotApproved",
    "OfferRevoked",
    "OfferUnfunded",
    "OfferUsed",
    "PayoutGasTooLow",
    "QuantityOverflow",
    "ReentrancyGuardReentrantCall",
    "SafeERC20FailedOperation",
    "SelfPurchase",
    "ShareTooLarge",
    "SignatureExpired",
    "StringTooLong",
    "TermsChanged",
    "TradeNotFinal",
    "TradeNotInState",
    "Unauthorized",
    "UnknownTrade",
    "UnsupportedToken",
    "WindowClosed",
    "WindowOpen",
    "WithdrawalFailed",
    "WrongPayment",
    "ZeroQuantity",
    "abi_errors",
    "decode_revert",
]
