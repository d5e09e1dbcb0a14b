"""The client side of offers: make, check, accept and cancel them, and fund ETH offers
(``MarketplaceClient`` inherits these from :class:`OfferCalls`). See :mod:`p2pchain.market._offers`
for the design.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address
from web3.types import TxReceipt

from p2pchain.chain._model import ZERO_ADDRESS, listing_terms_hash, open_trade
from p2pchain.chain._offer_model import NO_PERMIT, Offer
from p2pchain.chain._permit2 import PERMIT2_ADDRESS, unpack_permit2
from p2pchain.market import _validation as check
from p2pchain.market._offers import (
    MAX_OFFER_SECONDS,
    SignedOffer,
    recover_offer_signer,
    sign_permit,
)
from p2pchain.market._reads import MAX_UNIT_AMOUNT, MarketReader
from p2pchain.market._views import Listing, ListingStatus, TradeView, TxInfo

if TYPE_CHECKING:
    from p2pchain.market._calls import PreparedCall

ETH = ZERO_ADDRESS
#: How long an offer stays open unless told otherwise.
DEFAULT_OFFER_SECONDS = 3 * 86_400


class OfferStatus(enum.StrEnum):
    """Where an offer stands on-chain."""

    OPEN = "open"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class OfferState:
    """An offer as the chain sees it now.

    Attributes:
        status: Open, accepted (its trade has the offer's id), cancelled or expired.
        funded: Whether the buyer's balance (ERC-20) or credit (ETH) covers it now.
        approved: Whether the allowance, or the permit it carries, covers it (always True for
            ETH).
        listing_live: Whether the listing is still live with the offer's terms.
    """

    status: OfferStatus
    funded: bool
    approved: bool
    listing_live: bool


class OfferCalls(MarketReader):
    """Offer actions; mixed into :class:`~p2pchain.MarketplaceClient`."""

    _prepare: Callable[..., Any]
    _sender_address: Callable[[str | None], ChecksumAddress]

    # ------------------------------------------------------------------ buyer

    def make_offer(
        self,
        listing: Listing | bytes | str,
        price: int,
        quantity: int = 1,
        *,
        expiry: int | None = None,
        permit: bool = True,
        salt: bytes | None = None,
    ) -> SignedOffer:
        """Sign an offer for ``quantity`` units of a live listing at ``price`` per unit (no gas).

        For an ERC-20 that takes EIP-2612 permits, the offer carries a permit for exactly what
        it takes, valid until the offer's expiry (``permit=False``: none). Nothing is sent; share
        the result's :meth:`~SignedOffer.to_json` with the seller.

        Raises:
            InputError: Not a live listing, your own listing, a price of 0 or above the limit,
                more units than remain, an expiry in the past or more than 90 days away.
            WalletError: No account to sign with.
        """
        account = self._signer(self.address)
        found = listing if isinstance(listing, Listing) else self.listing(listing)
        unit, units, until = self.check_offer_inputs(found, price, quantity, expiry)
        offer = Offer(
            terms=found.terms,
            listing_id=found.id,
            buyer=account.address,
            quantity=units,
            price=unit,
            expiry=until,
            counter=self.offer_counter(account.address),
            salt=check.bytes32(salt, "salt") if salt is not None else os.urandom(32),
        )
        marketplace = self.deployment.marketplace
        typed = offer.typed_data(chain_id=self.chain_id, marketplace=marketplace)
        signature = bytes(account.sign_typed_data(full_message=typed).signature)
        signed_permit = None
        if permit and found.terms.token != ETH:
            signed_permit = sign_permit(self, found.terms.token, offer.total, until, owner=account)
        return SignedOffer(
            offer=offer,
            signature=signature,
            permit=signed_permit,
            chain_id=self.chain_id,
            marketplace=marketplace,
            id=offer.digest(chain_id=self.chain_id, marketplace=marketplace),
        )

    def check_offer_inputs(
        self, found: Listing, price: int, quantity: int = 1, expiry: int | None = None
    ) -> tuple[int, int, int]:
        """Check what :meth:`make_offer` is given; returns ``(price, quantity, expiry)``.

        Raises:
            InputError: See :meth:`make_offer`.
        """
        if found.status is not ListingStatus.LIVE:
            raise check.InputError(
                f"listing 0x{found.id.hex()} is {found.status.value}: offers are for live listings"
            )
        if found.terms.seller == self.address:
            raise check.InputError("this is your own listing: you cannot make an offer on it")
        unit = check.amount(price, "price")
        if not 0 < unit <= MAX_UNIT_AMOUNT:
            raise check.InputError(f"price must be above 0 and at most {MAX_UNIT_AMOUNT}")
        units = check.quantity(quantity)
        if units > found.remaining:
            raise check.InputError(f"only {found.remaining} units remain, not {units}")
        now = self.now()
        until = now + DEFAULT_OFFER_SECONDS if expiry is None else check.amount(expiry, "expiry")
        if not now < until <= now + MAX_OFFER_SECONDS:
            raise check.InputError("expiry must be in the future and at most 90 days away")
        return unit, units, until

    def offer_counter(self, buyer: str | None = None) -> int:
        """The counter ``buyer``'s new offers carry (``cancelAllOffers`` moves it on)."""
        who = self.address if buyer is None else check.address(buyer, "buyer")
        return int(self._eth_call_m("offerCounter", who)[0])

    def prepare_add_credit(
        self, amount: int, *, account: str | None = None, sender: str | None = None
    ) -> PreparedCall[TxInfo]:
        """Prepare adding ``amount`` wei to ``account``'s credit (default: the sender's), which
        backs ETH offers and can be withdrawn at any time."""
        wei = check.amount(amount, "amount")
        if wei == 0:
            raise check.InputError("amount must be above 0")
        who = self._sender_address(sender)
        target = who if account is None else check.address(account, "account", allow_zero=False)
        data = self._m.encode("addCredit", target)
        return self._prepare("addCredit", who, data, TxInfo.from_receipt, value=wei)

    def add_credit(self, amount: int, *, account: str | None = None) -> TxInfo:
        """Add ``amount`` wei to the account's credit (see :meth:`prepare_add_credit`)."""
        return self.prepare_add_credit(amount, account=account).send()

    def prepare_offer_funding(
        self, offer: Offer | SignedOffer | Mapping[str, Any], *, sender: str | None = None
    ) -> list[PreparedCall[TxInfo]]:
        """Prepare what the buyer must send before ``offer`` can be accepted, read from the chain
        now.

        ETH offers are paid from the buyer's marketplace credit: an ``addCredit`` of exactly
        what it lacks (credit already held counts). An ERC-20 offer is pulled from the buyer's
        balance: an ``approve`` of the marketplace for the offer's total when the allowance falls
        short and the offer carries no permit that covers the total (a missing one, a smaller
        value, a passed deadline, a Permit2 permit for a token not approved to Permit2). The
        buyer's ERC-20 balance is not checked here.

        Args:
            offer: The offer: signed (:class:`SignedOffer` or its ``p2pchain/offer/1``
                document) or not yet (:class:`~p2pchain.chain._offer_model.Offer`, which has no
                permit).
            sender: Who sends the calls (default: the client's account); must be the offer's
                buyer.

        Returns:
            The calls to send, in order: none, one ``addCredit`` or one ``approve``.

        Raises:
            InputError: Not an offer, a malformed document or one for another chain or
                marketplace, or a sender other than the offer's buyer.
        """
        if isinstance(offer, Offer):
            marketplace = self.deployment.marketplace
            digest = offer.digest(chain_id=self.chain_id, marketplace=marketplace)
            found = SignedOffer(offer, b"", None, self.chain_id, marketplace, digest)
        elif isinstance(offer, (SignedOffer, Mapping)):
            found = self._own_chain(offer)
        else:
            raise check.InputError(
                f"offer must be an Offer, a SignedOffer or an offer document,"
                f" not {type(offer).__name__}"
            )
        who = self._sender_address(sender)
        buyer, token, total = found.offer.buyer, found.offer.terms.token, found.offer.total
        if who != buyer:
            raise check.InputError(f"only the offer's buyer {buyer} can fund it, not {who}")
        if token == ETH:
            lacking = total - self.credit(buyer)
            return [self.prepare_add_credit(lacking, sender=who)] if lacking > 0 else []
        if self.offer_state(found).approved:
            return []
        data = self._erc20.encode("approve", self.deployment.marketplace, total)
        return [self._prepare("approve", who, data, TxInfo.from_receipt, to=token)]

    def prepare_cancel_offer(
        self, signed: SignedOffer | Mapping[str, Any], *, sender: str | None = None
    ) -> PreparedCall[TxInfo]:
        """Prepare revoking one offer (only its buyer can)."""
        found = self._own_chain(signed)
        who = self._sender_address(sender)
        if found.offer.buyer != who:
            raise check.InputError(f"only the offer's buyer {found.offer.buyer} can cancel it")
        data = self._m.encode("cancelOffer", found.offer.as_tuple())
        return self._prepare("cancelOffer", who, data, TxInfo.from_receipt)

    def cancel_offer(self, signed: SignedOffer | Mapping[str, Any]) -> TxInfo:
        """Revoke one offer; it can never be accepted afterwards."""
        return self.prepare_cancel_offer(signed).send()

    def prepare_cancel_all_offers(self, *, sender: str | None = None) -> PreparedCall[int]:
        """Prepare revoking every offer the sender signed so far."""
        who = self._sender_address(sender)

        def finish(receipt: TxReceipt) -> int:
            return int(self._one(receipt, "AllOffersCancelled").args["counter"])

        return self._prepare("cancelAllOffers", who, self._m.encode("cancelAllOffers"), finish)

    def cancel_all_offers(self) -> int:
        """Revoke every offer signed so far; returns the counter new offers carry."""
        return self.prepare_cancel_all_offers().send()

    # ------------------------------------------------------------------ seller

    def check_offer(self, signed: SignedOffer | Mapping[str, Any]) -> SignedOffer:
        """Validate an offer received from someone: this chain and marketplace, and the buyer's
        signature (an ECDSA signature must be the buyer's; an empty one is left to the buyer's
        contract wallet, ERC-1271, which the acceptance checks on-chain).

        Raises:
            InputError: Malformed, for another chain or marketplace, or not signed by its buyer.
        """
        found = self._own_chain(signed)
        if found.signature:
            signer = recover_offer_signer(found)
            if signer != found.offer.buyer:
                raise check.InputError(
                    f"offer 0x{found.id.hex()} is not signed by its buyer {found.offer.buyer}"
                )
        return found

    def offer_state(self, signed: SignedOffer | Mapping[str, Any]) -> OfferState:
        """Where an offer stands now: status, funds, allowance, listing (its contract and token
        reads in one batch, and the chain's clock)."""
        found = self._own_chain(signed)
        offer = found.offer
        token = offer.terms.token
        market = self.deployment.marketplace
        calls: list[tuple[str, bytes, str, Any]] = [
            (market, self._m.encode("record", found.id), "record", self._m),
            (market, self._m.encode("offerCounter", offer.buyer), "offerCounter", self._m),
            (market, self._m.encode("listingState", offer.listing_id), "listingState", self._m),
        ]
        if token == ETH:
            calls.append((market, self._m.encode("credit", ETH, offer.buyer), "credit", self._m))
        else:
            calls.append(
                (token, self._erc20.encode("balanceOf", offer.buyer), "balanceOf", self._erc20)
            )
            calls.append(
                (
                    token,
                    self._erc20.encode("allowance", offer.buyer, market),
                    "allowance",
                    self._erc20,
                )
            )
            if found.permit is not None and found.permit.v == 0:  # Permit2: its token approval
                calls.append(
                    (
                        token,
                        self._erc20.encode("allowance", offer.buyer, PERMIT2_ADDRESS),
                        "allowance",
                        self._erc20,
                    )
                )
        answers = self._calls_together(calls)
        record, counter = int(answers[0][0]), int(answers[1][0])
        live, tag, _, remaining = answers[2]
        terms_hash = int.from_bytes(listing_terms_hash(offer.terms), "big")
        now = self.now()
        if record == 1:
            status = OfferStatus.CANCELLED
        elif record != 0:  # its trade: accepted, whatever was cancelled after
            status = OfferStatus.ACCEPTED
        elif counter != offer.counter:
            status = OfferStatus.CANCELLED
        elif now >= offer.expiry:
            status = OfferStatus.EXPIRED
        else:
            status = OfferStatus.OPEN
        total = offer.total
        funded = int(answers[3][0]) >= total
        approved = True
        if token != ETH:
            permit = found.permit
            covers = permit is not None and permit.deadline > now
            if permit is not None and permit.v == 0:  # Permit2: amount, and the token approved
                covers = covers and unpack_permit2(permit)[0] >= total
                covers = covers and int(answers[5][0]) >= total
            else:
                covers = covers and permit is not None and permit.value >= total
            approved = int(answers[4][0]) >= total or covers
        listing_live = (
            bool(live) and int(tag) == terms_hash >> 65 and int(remaining) >= offer.quantity
        )
        return OfferState(status, funded, approved, listing_live)

    def prepare_accept_offer(
        self, signed: SignedOffer | Mapping[str, Any], *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare accepting an offer on your listing: one transaction that pulls the buyer's
        payment into escrow and opens the trade (its id is the offer's id).

        Raises:
            InputError: Not your listing, or a malformed or forged offer (see :meth:`check_offer`).
            CustomError: What the contract would refuse (``OfferExpired``, ``OfferRevoked``,
                ``OfferUsed``, ``OfferUnfunded``, ``OfferNotApproved``, ``TermsChanged``...),
                before any gas is spent.
        """
        found = self.check_offer(signed)
        who = self._sender_address(sender)
        offer = found.offer
        if offer.terms.seller != who:
            raise check.InputError(
                f"this offer is for a listing of {offer.terms.seller}: only its seller can accept"
            )
        permit = found.permit or NO_PERMIT
        data = self._m.encode("acceptOffer", offer.as_tuple(), found.signature, permit.as_tuple())

        def finish(receipt: TxReceipt) -> TradeView:
            event = self._one(receipt, "OfferAccepted")
            opened = self._timestamp(event.block_number)
            trade = open_trade(
                offer.terms, offer.buyer, offer.quantity, opened, unit_price=offer.price
            )
            return TradeView(
                id=bytes(event.args["tradeId"]),
                listing_id=offer.listing_id,
                trade=trade,
                quantity=offer.quantity,
                opened_at=opened,
                history=(self._trade_event(event, opened),),
                tx=TxInfo.from_receipt(receipt),
            )

        return self._prepare("acceptOffer", who, data, finish)

    def accept_offer(self, signed: SignedOffer | Mapping[str, Any]) -> TradeView:
        """Accept an offer on your listing (see :meth:`prepare_accept_offer`)."""
        return self.prepare_accept_offer(signed).send()

    # ------------------------------------------------------------------ internals

    def _own_chain(self, signed: SignedOffer | Mapping[str, Any]) -> SignedOffer:
        found = signed if isinstance(signed, SignedOffer) else SignedOffer.from_json(signed)
        if (
            found.chain_id != self.chain_id
            or to_checksum_address(found.marketplace) != self.deployment.marketplace
        ):
            raise check.InputError(
                f"offer 0x{found.id.hex()} is for chain {found.chain_id}, marketplace"
                f" {found.marketplace}: this is chain {self.chain_id},"
                f" marketplace {self.deployment.marketplace}"
            )
        return found


def offers_from(documents: Sequence[Any]) -> list[SignedOffer]:
    """Parse several ``p2pchain/offer/1`` documents (each validated)."""
    return [SignedOffer.from_json(d) for d in documents]
