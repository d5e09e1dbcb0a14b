// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {IPayouts} from "./IPayouts.sol";

import {ListingTerms, Offer, Permit, Trade, TradeState} from "../types/MarketplaceTypes.sol";

/// @title p2pchain marketplace escrow
/// @notice Sellers list goods, services and rentals (on-chain, or as EIP-712 signed terms that cost
/// them nothing); buyers pay into escrow; funds leave only by the rules in the listing's terms.
/// There is no owner, admin, pause, upgrade or fee.
/// @dev Storage is one `bytes32 => uint256` map of records. A record is one of:
/// - `0`: never used;
/// - `1` (spent): a closed or cancelled listing, never reusable;
/// - a live listing, bit 255 set: bits 64..254 the top 191 bits of the terms hash (signed listings:
///   of the EIP-712 digest), bits 32..63 units sold, bits 0..31 units remaining;
/// - a trade, bit 255 clear: bits 2..254 the trade's hash, bits 0..1 which parties have rated it.
/// When a purchase takes a listing's last units, the trade takes over the listing's record
/// (trade id = listing id), which saves a storage slot on the most common purchase.
///
/// Errors: every error a call can revert with is declared here, so this ABI alone decodes them.
/// That includes the ERC-6093 errors of {IERC20Errors}: a purchase passes a standard ERC-20's
/// revert on (no allowance, no balance) unchanged. A non-standard token's own errors pass through
/// the same way and are not listed.
interface IMarketplace is IERC20Errors, IPayouts {
    // ---------------------------------------------------------------- events

    /// @notice A seller announced a listing on-chain.
    /// @param listingId `keccak256(abi.encodePacked(seller, salt))`.
    /// @param seller The seller, also `terms.seller`.
    /// @param salt The seller's salt; it is needed to update or close the listing.
    /// @param quantity Units on offer.
    /// @param terms The full terms.
    event Listed(bytes32 indexed listingId, address indexed seller, bytes32 salt, uint32 quantity, ListingTerms terms);

    /// @notice A seller changed an on-chain listing. Units already sold stay sold.
    /// @param remaining Units now on offer.
    /// @param terms The new terms.
    event ListingUpdated(bytes32 indexed listingId, address indexed seller, uint32 remaining, ListingTerms terms);

    /// @notice A listing was closed (on-chain) or cancelled (signed); it can never be bought again.
    event ListingClosed(bytes32 indexed listingId, address indexed seller);

    /// @notice A signed listing was bought for the first time; from now on the chain knows its terms,
    /// as if it had been {Listed}. Emitted before its first {Purchased}.
    /// @param listingId The EIP-712 digest the seller signed.
    /// @param quantity Units the seller signed for.
    event SignedListingUsed(
        bytes32 indexed listingId, address indexed seller, bytes32 salt, uint32 quantity, ListingTerms terms
    );

    /// @notice A buyer paid into escrow. The trade is fully determined by the listing's current terms
    /// (from the latest {Listed}, {ListingUpdated} or {SignedListingUsed}), the buyer, the quantity
    /// and the block: `amount = price * quantity`, `deposit = deposit * quantity`,
    /// `deadline = block.timestamp + reviewWindow`, state `Paid`, no flags, no proposal.
    /// @param tradeId The trade's id: the listing id if this purchase took the last units, else
    /// `keccak256(abi.encode(listingId, unitsSoldBefore))`.
    /// @param listingId The on-chain listing id, or the EIP-712 digest of a signed listing.
    /// @param buyer The buyer.
    /// @param quantity Units bought.
    /// @param remaining Units of the listing still on offer afterwards.
    event Purchased(
        bytes32 indexed tradeId, bytes32 indexed listingId, address indexed buyer, uint32 quantity, uint32 remaining
    );

    /// @notice The buyer released the price to the seller: flag bit 0 set, proposal cleared. The trade
    /// is `Completed` if no deposit is held any more (none, or already returned).
    event Released(bytes32 indexed tradeId);

    /// @notice The seller returned the deposit to the buyer: flag bit 1 set, proposal cleared. The
    /// trade is `Completed` if the price was already released.
    event DepositReturned(bytes32 indexed tradeId);

    /// @notice The seller refunded everything still held to the buyer; state `Refunded`.
    event Refunded(bytes32 indexed tradeId);

    /// @notice The review window ended without a dispute and the default outcome was paid; state
    /// `Completed`.
    event Finalized(bytes32 indexed tradeId);

    /// @notice A party disputed; state `Disputed` with `deadline = rulingDeadline`, flag bit 4 set,
    /// and any standing proposal cleared (proposal bits and `proposedBuyerShare` zeroed).
    event Disputed(bytes32 indexed tradeId, address indexed by, uint40 rulingDeadline);

    /// @notice A party proposed a split of the held funds; it replaces any earlier proposal. Flag
    /// bits 2-3 name the proposer; `proposedBuyerShare = buyerShare`.
    event SettlementProposed(bytes32 indexed tradeId, address indexed by, uint256 buyerShare);

    /// @notice The proposer withdrew its standing proposal: proposal bits and `proposedBuyerShare`
    /// zeroed.
    event ProposalWithdrawn(bytes32 indexed tradeId, address indexed by);

    /// @notice The other party accepted the standing proposal; state `Settled`. The arbitrator got
    /// `fee` (nonzero only if the trade was disputed), the buyer `buyerShare`, the seller the rest
    /// of the held funds.
    event Settled(bytes32 indexed tradeId, uint256 buyerShare, uint256 fee);

    /// @notice The arbitrator ruled; state `Ruled`, proposal bits cleared,
    /// `proposedBuyerShare = buyerShare`. The seller got the held funds minus `fee` and `buyerShare`.
    event Ruled(bytes32 indexed tradeId, uint256 buyerShare, uint256 fee);

    /// @notice The ruling window ended without a ruling; everything held went to the buyer; state
    /// `RulingTimedOut`.
    event RulingTimedOut(bytes32 indexed tradeId);

    /// @notice The seller accepted a buyer's signed offer and the buyer's payment went into
    /// escrow. The trade is determined like a {Purchased} one, except `amount = price * quantity`
    /// with the offered `price`.
    /// @param tradeId The offer's EIP-712 digest ({offerDigest}); it is also the trade's id.
    /// @param listingId The listing the offer was for.
    /// @param buyer The offer's buyer.
    /// @param quantity Units bought.
    /// @param remaining Units of the listing still on offer afterwards.
    /// @param price The price per unit the buyer offered.
    event OfferAccepted(
        bytes32 indexed tradeId,
        bytes32 indexed listingId,
        address indexed buyer,
        uint32 quantity,
        uint32 remaining,
        uint256 price
    );

    /// @notice The buyer revoked one offer; it can never be accepted.
    event OfferCancelled(bytes32 indexed offerId, address indexed buyer);

    /// @notice The buyer revoked every offer signed with a counter below `counter`.
    event AllOffersCancelled(address indexed buyer, uint64 counter);

    // ---------------------------------------------------------------- errors

    /// @notice `terms.seller` is not the caller.
    error NotSeller(address caller, address seller);
    /// @notice The price per unit is zero, or the price or deposit is above 2^128 - 1.
    error InvalidPrice(uint256 price, uint256 deposit);
    /// @notice A quantity of zero units was given.
    error ZeroQuantity();
    /// @notice The arbitrator would be the seller or the buyer of the trade.
    error ArbitratorIsParty(address arbitrator);
    /// @notice The arbitrator fee is above `MAX_ARBITRATOR_FEE_BPS`, or set without an arbitrator.
    error InvalidArbitratorFee(uint16 feeBps);
    /// @notice The review window is zero or longer than `MAX_REVIEW_WINDOW`.
    error InvalidReviewWindow(uint32 reviewWindow);
    /// @notice The expiry is already in the past.
    error InvalidExpiry(uint40 expiry);
    /// @notice The CID prefix or digest is zero.
    error InvalidCid(bytes8 cidPrefix, bytes32 cidDigest);
    /// @notice The ruling window given to the constructor is outside its bounds.
    error InvalidRulingWindow(uint32 rulingWindow);
    /// @notice The seller already used this salt for a listing.
    error ListingExists(bytes32 listingId);
    /// @notice The listing is closed, cancelled, sold out or was never created.
    error ListingNotActive(bytes32 listingId);
    /// @notice The terms passed are not the listing's current terms: they changed since the buyer saw
    /// them.
    error TermsChanged(bytes32 listingId);
    /// @notice The listing expired.
    error ListingExpired(bytes32 listingId, uint40 expiry);
    /// @notice Fewer units remain than were asked for.
    error InsufficientQuantity(bytes32 listingId, uint32 remaining, uint32 requested);
    /// @notice The sold-unit counter of a listing would overflow.
    error QuantityOverflow(bytes32 listingId);
    /// @notice The signature over a signed listing (by its seller) or an offer (by its buyer) is
    /// invalid.
    error InvalidSignature(bytes32 digest, address signer);
    /// @notice The seller tried to buy their own listing.
    error SelfPurchase(address seller);
    /// @notice The trade passed does not match the stored record (wrong id, or stale data).
    error UnknownTrade(bytes32 tradeId);
    /// @notice The trade is not in a state that allows this call.
    error TradeNotInState(bytes32 tradeId, TradeState current);
    /// @notice The caller is not allowed to make this call on this trade.
    error Unauthorized(bytes32 tradeId, address caller);
    /// @notice The listing has no arbitrator, so the trade cannot be disputed.
    error NoArbitrator(bytes32 tradeId);
    /// @notice The window for this call has closed at `deadline`.
    error WindowClosed(bytes32 tradeId, uint40 deadline);
    /// @notice The window for this call is still open until `deadline`.
    error WindowOpen(bytes32 tradeId, uint40 deadline);
    /// @notice The caller already released (buyer) or returned the deposit (seller), or there is no
    /// deposit to return.
    error NothingToRelease(bytes32 tradeId);
    /// @notice A split gives the buyer more than there is to split.
    error ShareTooLarge(bytes32 tradeId, uint256 buyerShare, uint256 available);
    /// @notice There is no standing settlement proposal (to accept or to withdraw).
    error NoProposal(bytes32 tradeId);
    /// @notice The trade has not reached a final state, so it cannot be rated yet.
    error TradeNotFinal(bytes32 tradeId, TradeState current);
    /// @notice The caller already rated this trade.
    error AlreadyRated(bytes32 tradeId, address rater);

    /// @notice The offer's expiry has passed.
    error OfferExpired(bytes32 offerId, uint40 expiry);
    /// @notice The buyer cancelled the offer, or cancelled all offers signed before it.
    error OfferRevoked(bytes32 offerId);
    /// @notice The offer was already accepted.
    error OfferUsed(bytes32 offerId);
    /// @notice The buyer no longer has the funds the offer needs: the ERC-20 balance, or for ETH
    /// the credit ({addCredit}).
    error OfferUnfunded(bytes32 offerId, address buyer, uint256 needed, uint256 available);
    /// @notice The buyer's ERC-20 allowance to the marketplace is below what the offer needs, even
    /// after its permit (if any) was tried.
    error OfferNotApproved(bytes32 offerId, address buyer, uint256 needed, uint256 allowance);

    // ---------------------------------------------------------------- listings

    /// @notice Announce a listing on-chain.
    /// @param terms The terms; `terms.seller` must be the caller.
    /// @param salt Any value not used before by this seller; with the seller it makes the listing id.
    /// @param quantity Units on offer.
    /// @return listingId `keccak256(abi.encodePacked(msg.sender, salt))`.
    function list(ListingTerms calldata terms, bytes32 salt, uint32 quantity) external returns (bytes32 listingId);

    /// @notice Change an on-chain listing's terms and the units on offer. Buyers who pass the old
    /// terms are refused with {TermsChanged}.
    /// @param salt The salt the listing was created with.
    /// @param terms The new terms; `terms.seller` must be the caller.
    /// @param remaining Units now on offer (nonzero; use {closeListing} to stop selling).
    function updateListing(bytes32 salt, ListingTerms calldata terms, uint32 remaining) external;

    /// @notice Close an on-chain listing. Open trades are not affected.
    /// @param salt The salt the listing was created with.
    function closeListing(bytes32 salt) external;

    /// @notice Cancel a signed listing so that its signature can no longer be used.
    /// @dev Callable by the seller while any units remain.
    function cancelSignedListing(ListingTerms calldata terms, uint32 quantity, bytes32 salt) external;

    // ---------------------------------------------------------------- buying

    /// @notice Buy `quantity` units of an on-chain listing, paying price and deposit into escrow (ETH as
    /// `msg.value`, or an ERC-20 pulled from the caller, who must have approved it).
    /// @param listingId The listing.
    /// @param terms The terms the buyer agreed to; the call fails if they are not the current ones.
    /// @param quantity Units to buy.
    /// @return tradeId The new trade's id.
    function buy(bytes32 listingId, ListingTerms calldata terms, uint32 quantity)
        external
        payable
        returns (bytes32 tradeId);

    /// @notice Buy `quantity` units of a listing the seller signed off-chain (EIP-712 `Listing`).
    /// @param terms The signed terms.
    /// @param listedQuantity The number of units the seller signed for.
    /// @param salt The seller's salt in the signed listing.
    /// @param signature The seller's signature (65-byte ECDSA, or ERC-1271 for contract sellers).
    /// @param quantity Units to buy.
    /// @return tradeId The new trade's id.
    function buySigned(
        ListingTerms calldata terms,
        uint32 listedQuantity,
        bytes32 salt,
        bytes calldata signature,
        uint32 quantity
    ) external payable returns (bytes32 tradeId);

    /// @notice {buy} paying an ERC-20 with an EIP-2612 permit in the same transaction. The permit is
    /// tried first and its failure ignored (someone may have submitted it already): the purchase
    /// then needs the allowance to be in place, and reverts with the token's error if it is not.
    function buyWithPermit(bytes32 listingId, ListingTerms calldata terms, uint32 quantity, Permit calldata permit)
        external
        returns (bytes32 tradeId);

    /// @notice {buySigned} paying an ERC-20 with an EIP-2612 permit, as {buyWithPermit}.
    function buySignedWithPermit(
        ListingTerms calldata terms,
        uint32 listedQuantity,
        bytes32 salt,
        bytes calldata signature,
        uint32 quantity,
        Permit calldata permit
    ) external returns (bytes32 tradeId);

    // ---------------------------------------------------------------- offers

    /// @notice The seller: accept a buyer's signed offer. The buyer's payment (offered price x
    /// quantity, plus the listing's deposit x quantity) is pulled into escrow: an ERC-20 from the
    /// buyer's balance (after trying `permit`, as {buyWithPermit} does), ETH from the buyer's
    /// credit ({addCredit}). From then on it is an ordinary trade under `offer.terms`.
    /// @param offer The offer; `offer.terms` must be the listing's current terms.
    /// @param signature The buyer's signature over {offerDigest} (ECDSA, or ERC-1271).
    /// @param permit The buyer's EIP-2612 permit for an ERC-20 offer (`deadline` 0 for none).
    /// @return tradeId The offer's digest.
    function acceptOffer(Offer calldata offer, bytes calldata signature, Permit calldata permit)
        external
        returns (bytes32 tradeId);

    /// @notice The buyer: revoke one offer that has not been accepted.
    function cancelOffer(Offer calldata offer) external;

    /// @notice The buyer: revoke every offer signed so far (they carry a lower counter).
    /// @return counter The counter new offers must carry.
    function cancelAllOffers() external returns (uint64 counter);

    /// @notice Add the ETH sent to `account`'s credit. Credit backs ETH offers, and its owner can
    /// take it back at any time with {withdraw} (which also makes its ETH offers unfunded).
    function addCredit(address account) external payable;

    // ---------------------------------------------------------------- settling

    /// @notice Buyer: release the price to the seller. Ends the trade unless a deposit is still held.
    function release(bytes32 tradeId, Trade calldata trade) external;

    /// @notice Seller: return the deposit to the buyer. Ends the trade if the price was released.
    function returnDeposit(bytes32 tradeId, Trade calldata trade) external;

    /// @notice Seller: refund everything still held to the buyer. Works during a dispute too.
    function refund(bytes32 tradeId, Trade calldata trade) external;

    /// @notice Anyone, once the review window has ended without a dispute: pay the default outcome
    /// (price to the seller, deposit to the buyer).
    function finalize(bytes32 tradeId, Trade calldata trade) external;

    /// @notice Buyer or seller, before the review window ends: ask the arbitrator to rule. A party
    /// who released (buyer) or returned the deposit (seller) has waived this right.
    function dispute(bytes32 tradeId, Trade calldata trade) external;

    /// @notice Buyer or seller, before the trade's deadline: propose that the buyer gets `buyerShare`
    /// of the held funds and the seller the rest. Replaces any standing proposal.
    /// @dev A proposal lives only in the window it was made in. It lapses when `trade.deadline`
    /// passes (the end of the review window while `Paid`, of the ruling window while `Disputed`):
    /// from then on the default outcome ({finalize}, {claimRulingTimeout}) is open to anyone, and a
    /// stale offer must not be accepted ahead of it. A dispute, a release or a returned deposit
    /// clears it, and its proposer can {withdrawProposal} it at any time.
    /// In a dispute the arbitrator's fee comes first: `buyerShare` is at most the held funds minus
    /// the fee, and accepting pays the fee, exactly as a ruling would. The fee is the price of the
    /// dispute, owed whether the dispute ends by a ruling or by an agreement (only the arbitrator's
    /// silence, {claimRulingTimeout}, pays none), so the arbitrator gains nothing by ruling ahead of
    /// an acceptance. A standing proposal does not stop the arbitrator from ruling.
    function proposeSettlement(bytes32 tradeId, Trade calldata trade, uint256 buyerShare) external;

    /// @notice The proposer: withdraw the standing settlement proposal, so it can no longer be
    /// accepted.
    function withdrawProposal(bytes32 tradeId, Trade calldata trade) external;

    /// @notice The party who did not make the standing proposal, before the trade's deadline: accept
    /// it and pay it out (the arbitrator's fee first if the trade was disputed).
    function acceptSettlement(bytes32 tradeId, Trade calldata trade) external;

    /// @notice Arbitrator, before the ruling window ends: give `buyerShare` of the held funds after
    /// the fee to the buyer and the rest to the seller, and take the fee.
    function rule(bytes32 tradeId, Trade calldata trade, uint256 buyerShare) external;

    /// @notice Anyone, once the ruling window has ended without a ruling: refund everything held to
    /// the buyer. The seller chose the arbitrator, so the seller bears its silence.
    function claimRulingTimeout(bytes32 tradeId, Trade calldata trade) external;

    // ---------------------------------------------------------------- reputation hook

    /// @notice Called by the Reputation contract when `rater` rates a trade: checks that the trade
    /// is final, that `rater` is its buyer or seller and has not rated it yet, and records that
    /// they have.
    /// @return subject The counterparty being rated.
    /// @return value What the seller was paid out of the trade (paid or credited), read from the
    /// final struct: `Completed` the price; `Settled` and `Ruled` the price if released earlier,
    /// plus the seller's part of the split (held funds minus the arbitrator's fee minus
    /// `proposedBuyerShare`, so it can include part of a deposit); `Refunded` and `RulingTimedOut`
    /// only a price released before (so 0 for a plain refund or timeout).
    function consumeRating(bytes32 tradeId, Trade calldata trade, address rater)
        external
        returns (address subject, uint256 value);

    // ---------------------------------------------------------------- views

    /// @notice The Reputation contract this marketplace deployed.
    function REPUTATION() external view returns (address);

    /// @notice Seconds the arbitrator has to rule after a dispute.
    function RULING_WINDOW() external view returns (uint32);

    /// @notice The raw record stored under `key` (see the storage layout above).
    function record(bytes32 key) external view returns (uint256);

    /// @notice A listing's stored state. `live` is false for unknown, closed, cancelled and sold-out
    /// listings; `termsTag` is the committed part of the terms hash.
    function listingState(bytes32 listingId)
        external
        view
        returns (bool live, uint256 termsTag, uint32 sold, uint32 remaining);

    /// @notice Whether `trade` is the current state of trade `tradeId`, and which parties have rated
    /// it (bit 0 buyer, bit 1 seller).
    function checkTrade(bytes32 tradeId, Trade calldata trade) external view returns (bool current, uint8 rated);

    /// @notice The EIP-712 struct hash of `terms`.
    function hashTerms(ListingTerms calldata terms) external pure returns (bytes32);

    /// @notice The EIP-712 digest a seller signs for a signed listing; also its listing id.
    function signedListingDigest(ListingTerms calldata terms, uint32 quantity, bytes32 salt)
        external
        view
        returns (bytes32);

    /// @notice The counter `buyer`'s new offers must carry.
    function offerCounter(address buyer) external view returns (uint64);

    /// @notice The EIP-712 digest a buyer signs for `offer`; also its id and its trade's id.
    function offerDigest(Offer calldata offer) external view returns (bytes32);

    /// @notice The hash stored for a trade (before the rating bits are added).
    function hashTrade(Trade calldata trade) external pure returns (uint256);
}
