"""The marketplace client: every action and read, typed, without ever touching an ABI.

:class:`MarketplaceClient` connects to a chain, finds the deployment for its chain id and checks
the code on chain, then offers one method per marketplace action and read::

    client = MarketplaceClient.connect("http://127.0.0.1:8545", account=seller)
    listing = client.create_listing(client.make_terms(price=10**18, cid=cid))
    trade = client.with_account(buyer).buy(listing)
    trade = client.with_account(buyer).release(trade)

Every write exists in two forms:

* ``client.release(trade)`` signs with the client's account, sends, waits, and returns the new
  view (here a :class:`~p2pchain.market._views.TradeView`);
* ``client.prepare_release(trade, sender=...)`` returns a :class:`PreparedCall`, which can be
  checked (``check()``), turned into an unsigned transaction for a browser wallet
  (``unsigned()``), sent (``send()``), or submitted without waiting (``submit()``, then
  :meth:`MarketplaceClient.results` for many at once, pipelined by the nonce manager).

A call that would revert is refused before any gas is spent, with the contract's error as a typed
exception (:mod:`p2pchain.chain._contract_errors`). Arguments are validated first
(:mod:`p2pchain.market._validation`).

Listing documents: terms anchor a document by its CID (:meth:`MarketplaceClient.make_terms` takes
the binary CID). Publishing the document to IPFS is a separate step that yields that CID, so a
``publish_listing(document, images, backend)`` sits in front of :meth:`create_listing` without
changing it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from eth_abi import encode as eth_abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from p2pchain.chain._contract_errors import (
    ArbitratorIsParty,
    InvalidArbitratorFee,
    InvalidCid,
    InvalidExpiry,
    InvalidPrice,
    InvalidReviewWindow,
)
from p2pchain.chain._deploy import Deployment, load_deployment, verify_deployment
from p2pchain.chain._fees import SenderPolicy
from p2pchain.chain._journal import Journal
from p2pchain.chain._model import (
    ZERO_ADDRESS,
    ListingTerms,
    eip712_digest,
    open_trade,
    signed_listing_typed_data,
    split_cid,
)
from p2pchain.chain._node_errors import ChainMismatch
from p2pchain.chain._nodes import AnvilChain, DevChain, GanacheChain, RpcChain, open_chain
from p2pchain.chain._offer_model import Permit
from p2pchain.chain._pending import (
    BatchSubmitError,
    OutcomeUnknown,
    PendingTransaction,
    Reconciled,
)
from p2pchain.chain._sender import TransactionSender, intent_of
from p2pchain.market import _validation as check

if TYPE_CHECKING:
    from p2pchain.market._bookings import RentalsClient
from p2pchain.market._calls import PendingCall, PreparedCall, _built
from p2pchain.market._offer_calls import OfferCalls
from p2pchain.market._reads import (
    DAY,
    ETH,
    MAX_ARBITRATOR_FEE_BPS,
    MAX_REVIEW_WINDOW,
    MAX_UNIT_AMOUNT,
    NotFoundError,
)
from p2pchain.market._views import (
    Listing,
    ListingStatus,
    Rating,
    SignedListing,
    TradeView,
    TxInfo,
    Withdrawal,
)

T = TypeVar("T")
#: How long a purchase's permit stays valid.
PERMIT_SECONDS = 3_600


class MarketplaceClient(OfferCalls):
    """Every marketplace action and read on one deployment (see the module).

    Construct it with :meth:`connect`; the constructor arguments are :class:`MarketReader`'s.
    """

    # ------------------------------------------------------------------ connecting

    @classmethod
    def connect(
        cls,
        target: str | DevChain | Web3,
        *,
        account: LocalAccount | None = None,
        deployments: Deployment | Path | str | None = None,
        policy: SenderPolicy | None = None,
        verify: bool = True,
        chain_id: int | None = None,
        journal: Journal | Path | str | bool | None = None,
    ) -> MarketplaceClient:
        """Connect to a chain and find p2pchain's contracts on it by chain id.

        The session's chain id is fixed here, from the deployment record (and ``chain_id`` if
        given): every transaction is signed for it, and a node that later answers another chain
        id is refused before anything is signed (:class:`ChainMismatch`).

        Args:
            target: A :class:`~p2pchain.chain._nodes.DevChain`, a web3 connection, an
                ``http(s)://``/``ws(s)://`` RPC URL, or ``embedded``/``anvil``/``ganache`` to
                start a fresh dev chain (stopped by :meth:`close`).
            account: The signing account.
            deployments: A :class:`Deployment`, or the deployments file to look the chain id up
                in (default: :func:`p2pchain._paths.default_deployments_path`).
            policy: Fee, gas, retry and timeout settings of the transaction sender (for a URL,
                ``policy.rpc_timeout`` bounds each request).
            verify: See the class.
            chain_id: The chain id you mean to use (from your network config); a node on another
                one is refused.
            journal: Where signed transactions wait until their outcome is known, so a re-run
                after a crash or an unknown outcome never pays twice: a :class:`Journal`, its
                folder, True for ``<data dir>/journal``, False for none. Default: the data
                folder's journal for a node reached by URL (or a web3 connection to one); none
                for a dev chain this process started (Anvil, Ganache, embedded), which dies with
                the process.

        Raises:
            ChainError: The node cannot be reached, or answers garbage.
            ChainMismatch: The node is not on ``chain_id``.
            DeploymentError: No deployment for this chain id, a deployment recorded for another
                chain id, or code on chain that is not the shipped build.
        """
        chosen = policy or SenderPolicy()
        owned: DevChain | None = None
        if isinstance(target, str):
            if "://" in target:
                owned = RpcChain(target, timeout=chosen.rpc_timeout, retry=False)
            else:
                owned = open_chain(target)
            w3 = owned.w3
        elif isinstance(target, DevChain):
            w3 = target.w3
        else:
            w3 = target
        try:
            probe = TransactionSender(w3, chosen)
            facts = probe.rpc.first_contact()  # fail early and clearly if the node is unreachable
            answered = facts.chain_id
            if chain_id is not None and answered != int(chain_id):
                raise ChainMismatch(
                    f"the node answers chain id {answered}, but you asked for chain id"
                    f" {int(chain_id)}: refusing to use it (is the network URL right?)",
                    int(chain_id),
                    answered,
                )

            def locate() -> Deployment:
                if isinstance(deployments, Deployment):
                    verify_deployment(w3, deployments, chain_id=answered, rpc=probe.rpc)
                    return deployments
                return load_deployment(w3, deployments, chain_id=answered, rpc=probe.rpc)

            deployment = probe.retry("the deployment", locate)
            if deployment.chain_id != answered:
                raise ChainMismatch(
                    f"the node answered chain id {answered}, then {deployment.chain_id}:"
                    " refusing to use it",
                    answered,
                    deployment.chain_id,
                )
        except BaseException:
            if owned is not None:
                owned.stop()
            raise
        client = cls(
            w3,
            deployment,
            account=account,
            sender=TransactionSender(
                w3,
                chosen,
                chain_id=deployment.chain_id,
                journal=_journal(journal, probe.rpc.remote and not _dies_with_us(target, owned)),
                facts=facts,
            ),
            verify=verify,
        )
        client._owned = owned
        return client

    def with_account(self, account: LocalAccount | None) -> MarketplaceClient:
        """A client for another account on the same connection, sender and caches."""
        other = MarketplaceClient(
            self.w3,
            self.deployment,
            account=account,
            sender=self.sender,
            verify=self.verify,
            max_log_range=self.max_log_range,
        )
        other._timestamps = self._timestamps
        return other

    @functools.cached_property
    def rentals(self) -> RentalsClient:
        """Booking actions and reads (rentals by time), on this client's account and sender;
        one per client, so the Bookings deployment is checked once, not on every use."""
        from p2pchain.market._bookings import RentalsClient

        return RentalsClient(self)

    def _sender_address(self, sender: str | None) -> ChecksumAddress:
        if sender is None:
            return self.address
        return check.address(sender, "sender", allow_zero=False)

    def _prepare(
        self,
        action: str,
        sender: ChecksumAddress,
        data: bytes,
        finish: Callable[[TxReceipt], T],
        *,
        value: int = 0,
        to: ChecksumAddress | None = None,
        before: Sequence[PreparedCall[Any]] = (),
        intent: bytes | None = None,
    ) -> PreparedCall[T]:
        return PreparedCall(
            self,
            action=action,
            sender=sender,
            to=to or self.deployment.marketplace,
            data=data,
            value=value,
            finish=finish,
            before=before,
            intent=intent,
        )

    # ------------------------------------------------------------------ pipelining

    def submit_all(self, calls: Sequence[PreparedCall[T]]) -> list[PendingCall[T]]:
        """Send many prepared calls without waiting, in as few requests as the node allows.

        Pre-flight checks run first, as one batch: nothing is sent if any would revert.
        Nonces come from the sender's nonce manager, so calls from one account pipeline. Calls
        whose earlier transaction has an unknown outcome are resumed, not sent again. Calls
        with :attr:`PreparedCall.before` steps are refused (send those with
        :meth:`PreparedCall.send`).

        Raises:
            ContractRevert: One would revert (``err.batch_index``); nothing was sent.
            BatchSubmitError: Some could not be sent, or have an unknown outcome
                (``err.results``); ``err.calls`` holds a :class:`PendingCall` for every one that
                was signed and may be mined, to pass to :meth:`results` later. Submitting the
                same calls again resumes them instead of paying twice.
        """
        items: list[tuple[LocalAccount, Mapping[str, Any], str | None]] = []
        for call in calls:
            if call.before:
                raise check.InputError(
                    f"{call.action} needs {len(call.before)} earlier transaction(s) (an ERC-20"
                    " approval): send it on its own"
                )
            items.append((self._signer(call.sender), call.call, call.action))
        try:
            pendings = self.sender.submit_many(items, intents=[c.intent for c in calls])
        except BatchSubmitError as exc:
            for call, result in zip(calls, exc.results, strict=True):
                pending = result if isinstance(result, PendingTransaction) else None
                if isinstance(result, OutcomeUnknown):
                    pending = result.pending
                if pending is not None:
                    exc.calls.append(PendingCall(call, pending))
            raise
        return [PendingCall(c, p) for c, p in zip(calls, pendings, strict=True)]

    def results(
        self, pendings: Sequence[PendingCall[T]], *, timeout: float | None = None
    ) -> list[T]:
        """Wait for many submitted calls (receipts polled in batches); their results in order.

        Raises:
            ContractRevert: One reverted on-chain.
            OutcomeUnknown: One was not mined in time, or the node stopped answering.
        """
        receipts = self.sender.wait_many([p.pending for p in pendings], timeout=timeout)

        def build() -> list[T]:
            self._prefetch_timestamps(int(r["blockNumber"]) for r in receipts)
            values = [p.call.finish(r) for p, r in zip(pendings, receipts, strict=True)]
            self._verify(values)
            return values

        if not pendings:
            return []
        first = pendings[0].pending
        what = f"all {len(pendings)} transactions were mined (the first, {first.describe()}, in"
        what += f" block {int(receipts[0]['blockNumber'])})"
        return _built(what, build)

    def wait(
        self, pending: PendingTransaction | PendingCall[Any], *, timeout: float | None = None
    ) -> TxReceipt:
        """Wait for a transaction whose outcome was unknown (``err.pending``); its receipt.

        A transaction the node lost is sent again, byte for byte, while waiting.

        Raises:
            OutcomeUnknown: Still not mined in time, or the node is not answering.
            NonceConflict: Its nonce was used by another transaction: it will never be mined.
            TransactionCancelled: A cancellation was mined in its place.
            ContractRevert: It reverted on-chain.
        """
        target = pending.pending if isinstance(pending, PendingCall) else pending
        return self.sender.wait(target, timeout=timeout)

    def reconcile(self) -> list[Reconciled]:
        """Check the account's journaled transactions against the chain; see
        :meth:`TransactionSender.reconcile`. Call it when a script starts: a lost transaction is
        sent again byte for byte, a mined one is reported, before anything new is signed."""
        return self.sender.reconcile(self.address)

    # ------------------------------------------------------------------ terms and signed listings

    def make_terms(
        self,
        *,
        price: int,
        cid: bytes | str,
        seller: str | None = None,
        token: str = ETH,
        deposit: int = 0,
        arbitrator: str = ETH,
        arbitrator_fee_bps: int = 0,
        review_window: int = 7 * DAY,
        expiry: int = 0,
    ) -> ListingTerms:
        """Listing terms, validated, seller defaulting to the client's account.

        Args:
            price: Price per unit, in the token's smallest unit (wei for ETH).
            cid: The listing document's CID (CIDv0, or CIDv1 with a 32-byte digest): bytes, or
                text as an IPFS backend returns it (``Qm...``, ``b...``).
            seller: The seller; the client's account by default.
            token: ERC-20 token address; ETH (zero address) by default.
            deposit: Refundable deposit per unit (rentals).
            arbitrator: Who rules disputes; zero address for none.
            arbitrator_fee_bps: The arbitrator's fee in basis points (at most 1000).
            review_window: Seconds after a purchase during which the parties may dispute.
            expiry: Unix time from which the listing can no longer be bought; 0 for never.

        Raises:
            InputError: A value that cannot be encoded, or a CID that does not fit.
        """
        try:
            prefix, digest = split_cid(check.cid(cid))
        except ValueError as exc:
            raise check.IdError(f"cid: {exc}") from None
        return check.terms(
            ListingTerms(
                seller=seller if seller is not None else self.address,
                token=token,
                price=price,
                deposit=deposit,
                arbitrator=arbitrator,
                arbitrator_fee_bps=arbitrator_fee_bps,
                review_window=review_window,
                expiry=expiry,
                cid_prefix=prefix,
                cid_digest=digest,
            )
        )

    def check_terms(self, terms: ListingTerms, *, at: int | None = None) -> ListingTerms:
        """Check terms the way the contract will (for signed listings, which it sees late).

        Raises the same typed errors the contract would: :class:`InvalidPrice`,
        :class:`ArbitratorIsParty`, :class:`InvalidArbitratorFee`, :class:`InvalidReviewWindow`,
        :class:`InvalidCid`, and :class:`InvalidExpiry` for an expiry at or before ``at``
        (default: the latest block's time).
        """
        t = check.terms(terms)
        action = "buySigned"
        if t.price == 0 or t.price > MAX_UNIT_AMOUNT or t.deposit > MAX_UNIT_AMOUNT:
            raise InvalidPrice(t.price, t.deposit, action=action)
        if t.arbitrator == t.seller:
            raise ArbitratorIsParty(t.arbitrator, action=action)
        if t.arbitrator_fee_bps > MAX_ARBITRATOR_FEE_BPS or (
            t.arbitrator == ZERO_ADDRESS and t.arbitrator_fee_bps != 0
        ):
            raise InvalidArbitratorFee(t.arbitrator_fee_bps, action=action)
        if t.review_window == 0 or t.review_window > MAX_REVIEW_WINDOW:
            raise InvalidReviewWindow(t.review_window, action=action)
        if not any(t.cid_prefix) or not any(t.cid_digest):
            raise InvalidCid(t.cid_prefix, t.cid_digest, action=action)
        if t.expiry != 0 and t.expiry <= (self.now() if at is None else at):
            raise InvalidExpiry(t.expiry, action=action)
        return t

    def listing_typed_data(
        self, terms: ListingTerms, quantity: int = 1, *, salt: bytes | str | None = None
    ) -> dict[str, Any]:
        """The EIP-712 typed data a seller signs for a signed listing (``eth_signTypedData_v4``).

        Give the wallet's signature to :meth:`signed_listing` to get a shareable
        :class:`SignedListing`.

        Raises:
            InputError: Malformed arguments.
            CustomError: Terms the contract would refuse (see :meth:`check_terms`).
        """
        t = self.check_terms(terms)
        raw_salt = os.urandom(32) if salt is None else check.bytes32(salt, "salt")
        return signed_listing_typed_data(
            t,
            check.quantity(quantity),
            raw_salt,
            chain_id=self.chain_id,
            marketplace=self.deployment.marketplace,
        )

    def signed_listing(
        self, typed_data: Mapping[str, Any], signature: bytes | str
    ) -> SignedListing:
        """A :class:`SignedListing` from typed data and the seller's signature over it.

        Raises:
            InputError: Malformed typed data (not an object, a missing or malformed ``domain``,
                ``message`` or field), typed data for another chain or marketplace, or a
                signature that is malformed or not the seller's. The message names the field.
        """

        def section(parent: Any, key: str, where: str) -> Mapping[str, Any]:
            if not isinstance(parent, Mapping) or key not in parent:
                raise check.InputError(f"typed data: {where}{key} is missing")
            value = parent[key]
            if not isinstance(value, Mapping):
                kind = type(value).__name__
                raise check.InputError(f"typed data: {where}{key} must be an object, got {kind}")
            return value

        def whole(value: Any, what: str) -> int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip():
                text = value.strip()
                try:
                    return int(text, 16) if text[:2].lower() == "0x" else int(text, 10)
                except ValueError:
                    pass
            raise check.InputError(f"typed data: {what} must be a whole number, got {value!r:.80}")

        if not isinstance(typed_data, Mapping):
            kind = type(typed_data).__name__
            raise check.InputError(f"typed data must be an object, got {kind}")
        domain = section(typed_data, "domain", "")
        chain_id = whole(domain.get("chainId"), "domain.chainId")
        contract = check.address(
            domain.get("verifyingContract"), "typed data: domain.verifyingContract"
        )
        if chain_id != self.chain_id or contract != self.deployment.marketplace:
            raise check.InputError(
                f"the typed data is for another chain or marketplace (chain id {chain_id},"
                f" contract {contract}): this is chain {self.chain_id},"
                f" marketplace {self.deployment.marketplace}"
            )
        message = section(typed_data, "message", "")
        terms = _terms_from_message(section(message, "terms", "message."))
        quantity = check.quantity(
            whole(message.get("quantity"), "message.quantity"), "typed data: message.quantity"
        )
        salt = check.bytes32(message.get("salt"), "typed data: message.salt")
        sig = check.signature(signature)
        full = signed_listing_typed_data(
            terms, quantity, salt, chain_id=self.chain_id, marketplace=self.deployment.marketplace
        )
        signable = encode_typed_data(full_message=full)
        try:
            signer = Account.recover_message(signable, signature=sig)
        except (ValueError, TypeError) as exc:
            raise check.InputError(f"malformed signature: {exc}: 0x{sig.hex()}") from None
        if signer != terms.seller:
            raise check.InputError(
                f"the signature is by {signer}, not by the listing's seller {terms.seller}"
            )
        return SignedListing(
            terms=terms,
            quantity=quantity,
            salt=salt,
            signature=bytes(sig),
            chain_id=self.chain_id,
            marketplace=self.deployment.marketplace,
            id=eip712_digest(signable),
        )

    def sign_listing(
        self, terms: ListingTerms, quantity: int = 1, *, salt: bytes | str | None = None
    ) -> SignedListing:
        """Sign a listing off-chain with the client's account (EIP-712); costs no gas.

        Raises:
            WalletError: No account.
            InputError: ``terms.seller`` is not the client's account, or malformed arguments.
            CustomError: Terms the contract would refuse (see :meth:`check_terms`).
        """
        account = self._signer(self.address)
        if to_checksum_address(terms.seller) != account.address:
            raise check.InputError(
                f"terms.seller is {terms.seller}: only the seller can sign its listing"
            )
        typed = self.listing_typed_data(terms, quantity, salt=salt)
        signed = account.sign_typed_data(full_message=typed)
        return self.signed_listing(typed, bytes(signed.signature))

    # ------------------------------------------------------------------ listing actions

    def prepare_create_listing(
        self,
        terms: ListingTerms,
        quantity: int = 1,
        *,
        salt: bytes | str | None = None,
        sender: str | None = None,
    ) -> PreparedCall[Listing]:
        """Prepare listing ``quantity`` units on-chain under ``terms``; see :meth:`create_listing`."""
        t = check.terms(terms)
        units = check.quantity(quantity)
        raw_salt = os.urandom(32) if salt is None else check.bytes32(salt, "salt")
        who = self._sender_address(sender)

        def finish(receipt: TxReceipt) -> Listing:
            event = self._one(receipt, "Listed")
            return Listing(
                id=bytes(event.args["listingId"]),
                seller=to_checksum_address(event.args["seller"]),
                salt=raw_salt,
                terms=t,
                listed_quantity=units,
                sold=0,
                remaining=units,
                status=ListingStatus.LIVE,
                signed=False,
                block_number=event.block_number,
                tx=TxInfo.from_receipt(receipt),
            )

        return self._prepare(
            "list", who, self._m.encode("list", t.as_tuple(), raw_salt, units), finish
        )

    def create_listing(
        self, terms: ListingTerms, quantity: int = 1, *, salt: bytes | str | None = None
    ) -> Listing:
        """List ``quantity`` units on-chain under ``terms`` (the seller must be the account).

        Returns:
            The live listing.

        Raises:
            InputError: Malformed arguments.
            CustomError: The contract refuses (:class:`NotSeller`, :class:`InvalidPrice`,
                :class:`ListingExists`...), before any gas is spent.
        """
        return self.prepare_create_listing(terms, quantity, salt=salt).send()

    def _onchain_listing(self, listing: Listing | bytes | str) -> Listing:
        if not isinstance(listing, Listing):
            listing = self.listing(listing)
        if listing.signed:
            raise check.InputError(
                "this is a signed listing: cancel it with cancel_signed_listing; signed listings"
                " cannot be updated"
            )
        return listing

    @staticmethod
    def _check_owner(listing: Listing, who: ChecksumAddress, verb: str) -> None:
        """Refuse, before anything is simulated, a listing action by someone not its seller.

        The contract finds an on-chain listing by ``keccak(caller, salt)``, so a stranger's
        close would only say "no such listing": name the real reason instead.
        """
        if who != listing.seller:
            raise check.InputError(
                f"only the seller {listing.seller} can {verb} listing 0x{listing.id.hex()};"
                f" {who} is not its seller"
            )

    def prepare_update_listing(
        self,
        listing: Listing | bytes | str,
        terms: ListingTerms,
        remaining: int,
        *,
        sender: str | None = None,
    ) -> PreparedCall[Listing]:
        """Prepare changing an on-chain listing; see :meth:`update_listing`."""
        current = self._onchain_listing(listing)
        t = check.terms(terms)
        units = check.quantity(remaining, "remaining")
        who = self._sender_address(sender)
        self._check_owner(current, who, "update")

        def finish(receipt: TxReceipt) -> Listing:
            self._one(receipt, "ListingUpdated")
            return replace(
                current,
                terms=t,
                remaining=units,
                status=ListingStatus.LIVE,
                tx=TxInfo.from_receipt(receipt),
            )

        data = self._m.encode("updateListing", current.salt, t.as_tuple(), units)
        return self._prepare("updateListing", who, data, finish)

    def update_listing(
        self, listing: Listing | bytes | str, terms: ListingTerms, remaining: int
    ) -> Listing:
        """Change an on-chain listing's terms and units on offer (units sold stay sold).

        Buyers holding the old terms are then refused with :class:`TermsChanged`.
        """
        return self.prepare_update_listing(listing, terms, remaining).send()

    def prepare_close_listing(
        self, listing: Listing | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[Listing]:
        """Prepare closing an on-chain listing; see :meth:`close_listing`."""
        current = self._onchain_listing(listing)
        who = self._sender_address(sender)
        self._check_owner(current, who, "close")

        def finish(receipt: TxReceipt) -> Listing:
            self._one(receipt, "ListingClosed")
            return replace(
                current, remaining=0, status=ListingStatus.CLOSED, tx=TxInfo.from_receipt(receipt)
            )

        return self._prepare(
            "closeListing", who, self._m.encode("closeListing", current.salt), finish
        )

    def close_listing(self, listing: Listing | bytes | str) -> Listing:
        """Close an on-chain listing for good. Open trades are not affected."""
        return self.prepare_close_listing(listing).send()

    def prepare_cancel_signed_listing(
        self, listing: SignedListing | Listing, *, sender: str | None = None
    ) -> PreparedCall[Listing]:
        """Prepare cancelling a signed listing; see :meth:`cancel_signed_listing`."""
        view = self._listing_of_signed(listing)
        who = self._sender_address(sender)
        self._check_owner(view, who, "cancel")

        def finish(receipt: TxReceipt) -> Listing:
            self._one(receipt, "ListingClosed")
            return replace(
                view, remaining=0, status=ListingStatus.CLOSED, tx=TxInfo.from_receipt(receipt)
            )

        data = self._m.encode(
            "cancelSignedListing", view.terms.as_tuple(), view.listed_quantity, view.salt
        )
        return self._prepare("cancelSignedListing", who, data, finish)

    def cancel_signed_listing(self, listing: SignedListing | Listing) -> Listing:
        """Cancel a signed listing so its signature can no longer be used."""
        return self.prepare_cancel_signed_listing(listing).send()

    def _listing_of_signed(self, listing: SignedListing | Listing) -> Listing:
        if isinstance(listing, SignedListing):
            return self.listing(listing)
        if not listing.signed:
            raise check.InputError("this is an on-chain listing: close it with close_listing")
        return listing

    # ------------------------------------------------------------------ buying

    def prepare_approve(
        self, token: str, amount: int, *, spender: str | None = None, sender: str | None = None
    ) -> PreparedCall[TxInfo]:
        """Prepare an ERC-20 ``approve`` (of the marketplace by default)."""
        token_address = check.address(token, "token", allow_zero=False)
        value = check.amount(amount)
        target = (
            self.deployment.marketplace if spender is None else check.address(spender, "spender")
        )
        who = self._sender_address(sender)
        return self._prepare(
            "approve",
            who,
            self._erc20.encode("approve", target, value),
            TxInfo.from_receipt,
            to=token_address,
        )

    def approve(self, token: str, amount: int, *, spender: str | None = None) -> TxInfo:
        """Let the marketplace (or ``spender``) pull ``amount`` of ``token`` from the account."""
        return self.prepare_approve(token, amount, spender=spender).send()

    def prepare_buy(
        self,
        listing: Listing | SignedListing,
        quantity: int = 1,
        *,
        sender: str | None = None,
        permit_ok: bool = True,
    ) -> PreparedCall[TradeView]:
        """Prepare buying ``quantity`` units; see :meth:`buy`.

        For ERC-20 listings, when the buyer's allowance is short: if the token takes EIP-2612
        permits and this client signs for the buyer, the purchase carries a permit for exactly
        the amount due (``buyWithPermit``, one transaction, valid for an hour); otherwise
        (or with ``permit_ok=False``) the result's :attr:`PreparedCall.before` holds the
        approval (of exactly the amount due), and :meth:`PreparedCall.transactions` returns
        ``[approve, buy]`` for a wallet.
        """
        units = check.quantity(quantity)
        who = self._sender_address(sender)
        if isinstance(listing, SignedListing):
            terms, listing_id = listing.terms, listing.id
            data = self._m.encode(
                "buySigned",
                terms.as_tuple(),
                listing.quantity,
                listing.salt,
                listing.signature,
                units,
            )
            action = "buySigned"
        elif isinstance(listing, Listing):
            terms, listing_id = listing.terms, listing.id
            if listing.signed:  # known on-chain already: the signature is no longer checked
                data = self._m.encode(
                    "buySigned",
                    terms.as_tuple(),
                    listing.listed_quantity,
                    listing.salt,
                    listing.signature or b"",
                    units,
                )
                action = "buySigned"
            else:
                data = self._m.encode("buy", listing.id, terms.as_tuple(), units)
                action = "buy"
        else:
            raise check.InputError(
                f"listing must be a Listing or a SignedListing, got {type(listing).__name__}"
            )
        total = (terms.price + terms.deposit) * units
        before: list[PreparedCall[Any]] = []
        intent: bytes | None = None
        if terms.token != ETH and self.allowance(terms.token, who) < total:
            permit = self._purchase_permit(terms.token, total, who) if permit_ok else None
            if permit is None:
                before.append(self.prepare_approve(terms.token, total, sender=who))
            else:  # one transaction: the same purchase, with the permit in front of it
                # The permit's deadline changes on every try: what the call does is the purchase.
                intent = intent_of(self.deployment.marketplace, 0, data)
                args = self._m.decode_input(action, data)
                action = "buyWithPermit" if action == "buy" else "buySignedWithPermit"
                data = self._m.encode(action, *args, permit.as_tuple())

        def finish(receipt: TxReceipt) -> TradeView:
            event = self._one(receipt, "Purchased")
            opened = self._timestamp(event.block_number)
            trade = open_trade(terms, who, units, opened)
            return TradeView(
                id=bytes(event.args["tradeId"]),
                listing_id=listing_id,
                trade=trade,
                quantity=units,
                opened_at=opened,
                history=(self._trade_event(event, opened),),
                tx=TxInfo.from_receipt(receipt),
            )

        value = total if terms.token == ETH else 0
        return self._prepare(action, who, data, finish, value=value, before=before, intent=intent)

    def _purchase_permit(
        self, token: str, total: int, buyer: ChecksumAddress, spender: str | None = None
    ) -> Permit | None:
        """A permit for a purchase (or a booking: ``spender``), if the token takes one and this
        client signs for ``buyer``."""
        from p2pchain.market._offers import sign_permit

        if self.account is None or self.account.address != buyer:
            return None
        deadline = self.now() + PERMIT_SECONDS
        return sign_permit(self, token, total, deadline, owner=self.account, spender=spender)

    def buy(self, listing: Listing | SignedListing, quantity: int = 1) -> TradeView:
        """Buy ``quantity`` units of a listing, paying price and deposit into escrow.

        Works for on-chain and signed listings. For ERC-20 listings the allowance is checked and
        an approval of exactly the amount due is sent first when needed.

        Returns:
            The new trade (state ``PAID``).

        Raises:
            CustomError: The contract refuses (:class:`TermsChanged`, :class:`ListingExpired`,
                :class:`InsufficientQuantity`, :class:`SelfPurchase`...), before any gas is spent.
        """
        return self.prepare_buy(listing, quantity).send()

    # ------------------------------------------------------------------ settling

    def _trade_call(
        self, action: str, trade: TradeView | bytes | str, sender: str | None, *extra: Any
    ) -> PreparedCall[TradeView]:
        view = self._view(trade)
        who = self._sender_address(sender)

        def finish(receipt: TxReceipt) -> TradeView:
            return self._advance(view, receipt)

        data = self._m.encode(action, view.id, view.trade.as_tuple(), *extra)
        # The trade's struct is in the calldata, and changes once the call is mined: the intent
        # is the action on this trade id with these arguments, so a call prepared from the
        # reloaded trade resumes the earlier one.
        intent = keccak(
            b"p2pchain-trade-call"
            + bytes(HexBytes(self.deployment.marketplace))
            + action.encode()
            + view.id
            + eth_abi_encode(["uint256"] * len(extra), [int(x) for x in extra])
        )
        return self._prepare(action, who, data, finish, intent=intent)

    def prepare_release(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare the buyer's release of the price; see :meth:`release`."""
        return self._trade_call("release", trade, sender)

    def release(self, trade: TradeView | bytes | str) -> TradeView:
        """Buyer: release the price to the seller (completes the trade unless a deposit is held)."""
        return self.prepare_release(trade).send()

    def prepare_return_deposit(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare the seller's return of the deposit; see :meth:`return_deposit`."""
        return self._trade_call("returnDeposit", trade, sender)

    def return_deposit(self, trade: TradeView | bytes | str) -> TradeView:
        """Seller: return the deposit to the buyer (completes the trade if the price was released)."""
        return self.prepare_return_deposit(trade).send()

    def prepare_refund(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare the seller's refund; see :meth:`refund`."""
        return self._trade_call("refund", trade, sender)

    def refund(self, trade: TradeView | bytes | str) -> TradeView:
        """Seller: refund everything still held to the buyer (also during a dispute)."""
        return self.prepare_refund(trade).send()

    def prepare_finalize(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare finalizing; see :meth:`finalize`."""
        return self._trade_call("finalize", trade, sender)

    def finalize(self, trade: TradeView | bytes | str) -> TradeView:
        """Anyone, once the review window ended without a dispute: pay the default outcome."""
        return self.prepare_finalize(trade).send()

    def prepare_dispute(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare a dispute; see :meth:`dispute`."""
        return self._trade_call("dispute", trade, sender)

    def dispute(self, trade: TradeView | bytes | str) -> TradeView:
        """Buyer or seller, before the review window ends: ask the arbitrator to rule."""
        return self.prepare_dispute(trade).send()

    def prepare_propose_settlement(
        self, trade: TradeView | bytes | str, buyer_share: int, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare a settlement proposal; see :meth:`propose_settlement`."""
        return self._trade_call(
            "proposeSettlement", trade, sender, check.amount(buyer_share, "buyer_share")
        )

    def propose_settlement(self, trade: TradeView | bytes | str, buyer_share: int) -> TradeView:
        """Buyer or seller: propose that the buyer gets ``buyer_share`` of the held funds."""
        return self.prepare_propose_settlement(trade, buyer_share).send()

    def prepare_withdraw_proposal(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare withdrawing one's own standing proposal; see :meth:`withdraw_proposal`."""
        return self._trade_call("withdrawProposal", trade, sender)

    def withdraw_proposal(self, trade: TradeView | bytes | str) -> TradeView:
        """The proposer: withdraw the standing settlement proposal so it can't be accepted."""
        return self.prepare_withdraw_proposal(trade).send()

    def prepare_accept_settlement(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare accepting the standing proposal; see :meth:`accept_settlement`."""
        return self._trade_call("acceptSettlement", trade, sender)

    def accept_settlement(self, trade: TradeView | bytes | str) -> TradeView:
        """The party who did not propose: accept the standing proposal and pay it out."""
        return self.prepare_accept_settlement(trade).send()

    def prepare_rule(
        self, trade: TradeView | bytes | str, buyer_share: int, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare the arbitrator's ruling; see :meth:`rule`."""
        return self._trade_call("rule", trade, sender, check.amount(buyer_share, "buyer_share"))

    def rule(self, trade: TradeView | bytes | str, buyer_share: int) -> TradeView:
        """Arbitrator, before the ruling deadline: give the buyer ``buyer_share`` after the fee."""
        return self.prepare_rule(trade, buyer_share).send()

    def prepare_claim_ruling_timeout(
        self, trade: TradeView | bytes | str, *, sender: str | None = None
    ) -> PreparedCall[TradeView]:
        """Prepare the ruling-timeout claim; see :meth:`claim_ruling_timeout`."""
        return self._trade_call("claimRulingTimeout", trade, sender)

    def claim_ruling_timeout(self, trade: TradeView | bytes | str) -> TradeView:
        """Anyone, after the ruling deadline passed without a ruling: refund all to the buyer."""
        return self.prepare_claim_ruling_timeout(trade).send()

    def prepare_withdraw(
        self, token: str = ETH, to: str | None = None, *, sender: str | None = None
    ) -> PreparedCall[Withdrawal]:
        """Prepare withdrawing credited payouts; see :meth:`withdraw`."""
        token_address = check.address(token, "token")
        who = self._sender_address(sender)
        recipient = who if to is None else check.address(to, "to", allow_zero=False)

        def finish(receipt: TxReceipt) -> Withdrawal:
            event = self._one(receipt, "Withdrawn")
            return Withdrawal(
                token=to_checksum_address(event.args["token"]),
                account=to_checksum_address(event.args["account"]),
                to=to_checksum_address(event.args["to"]),
                amount=int(event.args["amount"]),
                tx=TxInfo.from_receipt(receipt),
            )

        return self._prepare(
            "withdraw", who, self._m.encode("withdraw", token_address, recipient), finish
        )

    def withdraw(self, token: str = ETH, to: str | None = None) -> Withdrawal:
        """Withdraw the account's credited payouts in ``token`` (to itself by default)."""
        return self.prepare_withdraw(token, to).send()

    def prepare_rate(
        self,
        trade: TradeView | bytes | str,
        score: int,
        review_cid: bytes = b"",
        *,
        sender: str | None = None,
    ) -> PreparedCall[Rating]:
        """Prepare a rating; see :meth:`rate`."""
        view = self._view(trade)
        stars = check.score(score)
        cid = check.review_cid(review_cid)
        who = self._sender_address(sender)

        def finish(receipt: TxReceipt) -> Rating:
            (event,) = [
                e
                for e in self._rep_events.decode(receipt["logs"], self.deployment.reputation)
                if e.name == "Rated"
            ]
            return self._rating(event, TxInfo.from_receipt(receipt))

        data = self._r.encode("rate", view.id, view.trade.as_tuple(), stars, cid)
        return self._prepare("rate", who, data, finish, to=self.deployment.reputation)

    def rate(self, trade: TradeView | bytes | str, score: int, review_cid: bytes = b"") -> Rating:
        """Rate the counterparty of a final trade, 1 to 5 stars, with an optional review CID."""
        return self.prepare_rate(trade, score, review_cid).send()


def _dies_with_us(target: object, owned: DevChain | None) -> bool:
    """Whether the node is a dev chain this process started: nothing to recover after it.

    A connection :meth:`MarketplaceClient.connect` opened to a URL is not: the node outlives it.
    """
    return isinstance(owned if owned is not None else target, (AnvilChain, GanacheChain))


def _journal(choice: Journal | Path | str | bool | None, remote: bool) -> Journal | None:
    if isinstance(choice, Journal):
        return choice
    if choice is None:
        return Journal() if remote else None
    if isinstance(choice, bool):
        return Journal() if choice else None
    return Journal(choice)


def _terms_from_message(message: Mapping[str, Any]) -> ListingTerms:
    try:
        return check.terms(
            ListingTerms(
                seller=message["seller"],
                token=message["token"],
                price=int(message["price"]),
                deposit=int(message["deposit"]),
                arbitrator=message["arbitrator"],
                arbitrator_fee_bps=int(message["arbitratorFeeBps"]),
                review_window=int(message["reviewWindow"]),
                expiry=int(message["expiry"]),
                cid_prefix=HexBytes(message["cidPrefix"]),
                cid_digest=HexBytes(message["cidDigest"]),
            )
        )
    except (KeyError, TypeError, ValueError, Web3Exception) as exc:
        if isinstance(exc, check.InputError):
            raise
        raise check.InputError(f"malformed listing terms in the typed data: {exc}") from None


__all__ = [
    "ETH",
    "MarketplaceClient",
    "NotFoundError",
    "PendingCall",
    "PreparedCall",
]
