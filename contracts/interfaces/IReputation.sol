// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Booking, BookingState} from "../types/BookingTypes.sol";
import {Trade, TradeState} from "../types/MarketplaceTypes.sol";

/// @title p2pchain reputation
/// @notice Buyers and sellers of trades that reached a final state rate each other once, 1 to 5
/// stars, and so do renters and owners of settled bookings (the Bookings contract, which this
/// contract deploys; a booking is rated like a trade: the owner as the seller, the renter as the
/// buyer, the rent the owner was paid as the value), with an optional review document on IPFS. Each rating is an event carrying the trade's
/// token and value, so off-chain scoring can weight ratings by value and by how diverse an
/// address's counterparties are; per-address aggregates are kept on-chain per token.
///
/// A rating's value is the money the seller was really paid out of the trade, never its price
/// alone: a refunded or timed-out trade can be rated, but with value 0, so a trade whose money
/// went back to the buyer (for example one paid with flash-minted tokens and refunded in the same
/// transaction) adds nothing to any volume. See {IMarketplace-consumeRating} for each final state.
///
/// Errors: besides its own, {rate} passes on the marketplace's refusals from
/// {IMarketplace-consumeRating}; they are declared here too, so this ABI alone decodes every
/// revert of {rate}.
interface IReputation {
    /// @notice Running totals of the ratings an address received for trades in one token.
    struct Aggregate {
        /// Number of ratings received.
        uint32 count;
        /// Sum of their scores (1..5 each).
        uint40 scoreSum;
        /// Sum of the ratings' values: what the subject's counterparties, or the subject as a seller,
        /// were really paid out of the rated trades (saturating at the type's maximum).
        uint184 volume;
    }

    /// @notice `rater` rated `subject` for trade `tradeId`.
    /// @param token The trade's payment token (`address(0)` for ETH).
    /// @param value What the seller was paid (or credited) out of the trade, in `token`: the price
    /// for `Completed`; for `Settled` and `Ruled` a price released earlier plus the seller's part of
    /// the split; for `Refunded` and `RulingTimedOut` only a price released earlier (usually 0).
    /// @param reviewCid Binary IPFS CID of the review document, or empty.
    event Rated(
        bytes32 indexed tradeId,
        address indexed rater,
        address indexed subject,
        uint8 score,
        address token,
        uint256 value,
        bytes reviewCid
    );

    /// @notice The score is not between 1 and 5.
    error InvalidScore(uint8 score);
    /// @notice The review CID is longer than `MAX_CID_LENGTH` bytes.
    error InvalidReviewCid(uint256 length);
    /// @notice Only the marketplace that deployed this contract may call.
    error NotMarketplace(address caller);

    // Refusals of {IMarketplace-consumeRating}, passed on by {rate} unchanged.

    /// @notice The trade passed does not match the stored record (wrong id, or stale data).
    error UnknownTrade(bytes32 tradeId);
    /// @notice The trade has not reached a final state, so it cannot be rated yet.
    error TradeNotFinal(bytes32 tradeId, TradeState current);
    /// @notice The caller is neither the trade's buyer nor its seller.
    error Unauthorized(bytes32 tradeId, address caller);
    /// @notice The caller already rated this trade.
    error AlreadyRated(bytes32 tradeId, address rater);

    // Refusals of {IBookings-consumeRating}, passed on by {rateBooking} unchanged (its
    // `Unauthorized` and `AlreadyRated` are the ones above).

    /// @notice The booking passed does not match the stored record (wrong id, or stale data).
    error UnknownBooking(bytes32 bookingId);
    /// @notice The booking has not reached a rateable final state.
    error BookingNotFinal(bytes32 bookingId, BookingState current);

    /// @notice Rate the counterparty of a final trade the caller was a party to.
    /// @param tradeId The trade.
    /// @param trade The trade's final state, as rebuilt from the marketplace's events.
    /// @param score 1 (worst) to 5 (best).
    /// @param reviewCid Binary IPFS CID of a review document, or empty.
    function rate(bytes32 tradeId, Trade calldata trade, uint8 score, bytes calldata reviewCid) external;

    /// @notice Rate the counterparty of a final booking the caller was the renter or owner of. The
    /// {Rated} event carries the booking id as `tradeId`.
    function rateBooking(bytes32 bookingId, Booking calldata booking, uint8 score, bytes calldata reviewCid)
        external;

    /// @notice The marketplace whose trades are rated here.
    function MARKETPLACE() external view returns (address);

    /// @notice The Bookings contract whose bookings are rated here (deployed by this contract).
    function BOOKINGS() external view returns (address);

    /// @notice Ratings `subject` received for trades paid in `token`.
    function aggregate(address subject, address token) external view returns (Aggregate memory);
}
