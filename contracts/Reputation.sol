// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Bookings} from "./Bookings.sol";
import {IBookings} from "./interfaces/IBookings.sol";
import {IMarketplace} from "./interfaces/IMarketplace.sol";
import {IReputation} from "./interfaces/IReputation.sol";
import {Booking} from "./types/BookingTypes.sol";
import {Trade} from "./types/MarketplaceTypes.sol";

/// @title p2pchain reputation
/// @notice Ratings between the two parties of final marketplace trades and settled bookings.
/// Deployed by the Marketplace; deploys the Bookings contract. Each escrow records who has rated a
/// trade or booking in its own storage record, so a rating never needs a new storage slot.
contract Reputation is IReputation {
    /// @notice Longest review CID accepted, in bytes.
    uint256 public constant MAX_CID_LENGTH = 64;

    /// @inheritdoc IReputation
    address public immutable override MARKETPLACE;

    mapping(address subject => mapping(address token => Aggregate)) private _aggregates;

    /// @inheritdoc IReputation
    address public immutable override BOOKINGS;

    /// @notice Deployed by the Marketplace constructor; the deployer is the marketplace.
    /// @param rulingWindow The marketplace's ruling window (checked by it), used by Bookings too.
    constructor(uint32 rulingWindow) {
        MARKETPLACE = msg.sender;
        BOOKINGS = address(new Bookings(rulingWindow));
    }

    /// @inheritdoc IReputation
    function rate(bytes32 tradeId, Trade calldata trade, uint8 score, bytes calldata reviewCid) external override {
        _checkRating(score, reviewCid);
        // Reverts unless the trade is final, the caller is its buyer or seller, and has not rated it;
        // `value` is what the seller was really paid out of the trade (0 for a refund or timeout).
        (address subject, uint256 value) = IMarketplace(MARKETPLACE).consumeRating(tradeId, trade, msg.sender);
        _record(tradeId, subject, score, trade.token, value, reviewCid);
    }

    /// @inheritdoc IReputation
    function rateBooking(bytes32 bookingId, Booking calldata booking, uint8 score, bytes calldata reviewCid)
        external
        override
    {
        _checkRating(score, reviewCid);
        // Reverts unless the booking is final, the caller is its renter or owner, and has not rated
        // it; `value` is what the owner was really paid (0 for a cancellation or timeout).
        (address subject, uint256 value) = IBookings(BOOKINGS).consumeRating(bookingId, booking, msg.sender);
        _record(bookingId, subject, score, booking.token, value, reviewCid);
    }

    /// @inheritdoc IReputation
    function aggregate(address subject, address token) external view override returns (Aggregate memory) {
        return _aggregates[subject][token];
    }

    function _checkRating(uint8 score, bytes calldata reviewCid) private pure {
        if (score == 0 || score > 5) revert InvalidScore(score);
        if (reviewCid.length > MAX_CID_LENGTH) revert InvalidReviewCid(reviewCid.length);
    }

    function _record(
        bytes32 id,
        address subject,
        uint8 score,
        address token,
        uint256 value,
        bytes calldata reviewCid
    ) private {
        Aggregate memory agg = _aggregates[subject][token];
        // value <= amount + deposit < 2^161 (unit amounts and quantities are bounded by the
        // escrows), so the sum of two values below 2^184 and 2^161 cannot overflow uint256;
        // saturate at the field's maximum.
        uint256 volume = uint256(agg.volume) + value;
        agg.volume = volume > type(uint184).max ? type(uint184).max : uint184(volume);
        agg.count += 1;
        agg.scoreSum += score;
        _aggregates[subject][token] = agg;

        emit Rated(id, msg.sender, subject, score, token, value, reviewCid);
    }
}
