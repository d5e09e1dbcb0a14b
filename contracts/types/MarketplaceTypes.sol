// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice The terms a seller offers. Their EIP-712 struct hash commits a listing; the quantity on
/// offer is tracked separately so that buyers of a multi-unit listing do not race each other.
/// @dev EIP-712 type:
/// `ListingTerms(address seller,address token,uint256 price,uint256 deposit,address arbitrator,uint16 arbitratorFeeBps,uint32 reviewWindow,uint40 expiry,bytes8 cidPrefix,bytes32 cidDigest)`
struct ListingTerms {
    /// The account paid for the goods, service or rent.
    address seller;
    /// ERC-20 token the price is paid in; `address(0)` for the chain's native currency.
    address token;
    /// Price of one unit, in the token's smallest unit. Never zero.
    uint256 price;
    /// Refundable deposit per unit (rentals), returned to the buyer unless a damage claim succeeds.
    uint256 deposit;
    /// Who rules disputes; `address(0)` for a listing without a dispute path.
    address arbitrator;
    /// The arbitrator's fee in basis points of the disputed funds, paid only when it rules.
    uint16 arbitratorFeeBps;
    /// Seconds after the purchase during which either party may dispute; afterwards anyone can
    /// finalize the trade to its default outcome.
    uint32 reviewWindow;
    /// Unix time from which the listing can no longer be bought; 0 for never.
    uint40 expiry;
    /// The listing document's binary IPFS CID is `cidPrefix` (trailing zero bytes removed) followed by
    /// `cidDigest`. CIDv0: prefix 0x1220 (sha2-256 multihash header). CIDv1: version, codec and
    /// multihash header, e.g. 0x01701220 (dag-pb, sha2-256) or 0x01551220 (raw). Any CID whose
    /// digest is 32 bytes fits; the prefix always ends in the digest length byte 0x20, never 0x00.
    bytes8 cidPrefix;
    /// The 32-byte multihash digest of the listing document's CID.
    bytes32 cidDigest;
}

/// @notice Where a trade is in its life. `Paid` and `Disputed` hold funds; every other state after
/// `None` is final and holds nothing.
enum TradeState {
    None,
    /// Funds are in escrow; the review window runs until `deadline`.
    Paid,
    /// A party disputed; the arbitrator may rule until `deadline`.
    Disputed,
    /// Default outcome: the price went to the seller and any deposit back to the buyer.
    Completed,
    /// The seller refunded everything still held to the buyer.
    Refunded,
    /// The parties agreed a split of the held funds (after the arbitrator's fee, if the trade was
    /// disputed).
    Settled,
    /// The arbitrator ruled a split and took its fee.
    Ruled,
    /// The arbitrator did not rule in time; everything still held went back to the buyer.
    RulingTimedOut
}

/// @notice Everything later calls need to know about a trade. Only its hash is stored; callers pass
/// the struct back, rebuilt off-chain from the events. `Purchased` carries only the buyer, the
/// quantity and the ids: the initial struct follows from them, the listing's terms in force at the
/// purchase (its latest `Listed`, `ListingUpdated` or `SignedListingUsed`) and the purchase block's
/// timestamp (see {IMarketplace-Purchased}). Each later transition event gives the next value.
/// A final trade's struct also says what each party was paid, which is how a rating learns its
/// value (see {IMarketplace-consumeRating}).
struct Trade {
    address buyer;
    address seller;
    address token;
    address arbitrator;
    uint16 arbitratorFeeBps;
    /// Total price (unit price x quantity): the seller's by default.
    uint256 amount;
    /// Total deposit (deposit per unit x quantity): the buyer's by default.
    uint256 deposit;
    /// `Paid`: end of the review window. `Disputed`: end of the ruling window. Final: last deadline.
    uint40 deadline;
    TradeState state;
    /// Bit 0: the buyer released `amount` to the seller. Bit 1: the seller returned `deposit`.
    /// Bits 2-3: who made the standing settlement proposal (0 none, 1 buyer, 2 seller); once
    /// `Settled`, who made the accepted one. Bit 4: the trade was disputed, so a split of what it
    /// holds pays the arbitrator's fee first.
    uint8 flags;
    /// The buyer's share of the held funds under the standing settlement proposal (0 if none).
    /// Once `Settled`: the accepted proposal's share; once `Ruled`: the ruling's share.
    uint256 proposedBuyerShare;
}

/// @notice A buyer's offer for a listing, signed off-chain (EIP-712 `Offer`); the seller accepts it
/// with {IMarketplace-acceptOffer}, which pulls the buyer's payment into escrow.
/// @dev EIP-712 type:
/// `Offer(ListingTerms terms,bytes32 listingId,address buyer,uint32 quantity,uint256 price,uint40 expiry,uint64 counter,bytes32 salt)`
/// followed by the `ListingTerms` type. The offer commits to the listing's full terms as the buyer
/// saw them (so a wallet shows them, and a seller who changes them after the offer cannot accept
/// it) and to the listing id (so it cannot be replayed on another listing with the same terms);
/// the domain binds it to one chain and one marketplace.
struct Offer {
    /// The listing's terms as the buyer saw them; `terms.price` is the asking price.
    ListingTerms terms;
    /// The listing: an on-chain listing id, or the digest of a signed listing already bought once.
    bytes32 listingId;
    /// Who pays and signs.
    address buyer;
    /// Units wanted.
    uint32 quantity;
    /// Price offered per unit, in `terms.token`; the deposit per unit stays `terms.deposit`.
    uint256 price;
    /// Unix time from which the offer can no longer be accepted.
    uint40 expiry;
    /// The buyer's offer counter when signing; {IMarketplace-cancelAllOffers} moves it on, which
    /// revokes every offer signed before.
    uint64 counter;
    /// Any value, so that two otherwise equal offers differ.
    bytes32 salt;
}

/// @notice A signed approval passed with a purchase, a booking or an offer, so that an ERC-20
/// payment needs no separate `approve` transaction. `deadline` 0: no permit (the allowance is
/// already in place). Two kinds:
/// - `v` 27 or 28: the token's own EIP-2612 `permit` for the escrow contract.
/// - `v` 0: a Permit2 `PermitSingle` for the escrow contract (for a token without EIP-2612, which
///   the owner has approved to Permit2 once). `value` packs the allowance's amount (low 160 bits)
///   and Permit2's nonce (the next 48 bits); `deadline` is both the signature's deadline and the
///   allowance's expiration; `r` and `s` are the EIP-2098 compact signature (r, yParity and s).
struct Permit {
    /// The allowance the permit sets (at least the amount due); for Permit2, nonce << 160 | amount.
    uint256 value;
    /// The permit's deadline.
    uint256 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}
