// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarketplace} from "./interfaces/IMarketplace.sol";
import {IReputation} from "./interfaces/IReputation.sol";
import {Trade} from "./types/MarketplaceTypes.sol";

/// @title p2pchain reputation
/// @notice Ratings between the two parties of final marketplace trades. Deployed by the Marketplace,
/// which records who has rated each trade in the trade's own storage record, so a rating never
/// needs a new storage slot per trade.
contract Reputation is IReputation {
    /// @notice Longest review CID accepted, in bytes.
    uint256 public constant MAX_CID_LENGTH = 64;

    /// @inheritdoc IReputation
    address public immutable override MARKETPLACE;

    mapping(address subject => mapping(address token => Aggregate)) private _aggregates;

    /// @notice Deployed by the Marketplace constructor; the deployer is the marketplace.
    constructor() {
        MARKETPLACE = msg.sender;
    }

    /// @inheritdoc IReputation
    function rate(bytes32 tradeId, Trade calldata trade, uint8 score, bytes calldata reviewCid) external override {
        if (score == 0 || score > 5) revert InvalidScore(score);
        if (reviewCid.length > MAX_CID_LENGTH) revert InvalidReviewCid(reviewCid.length);

        // Reverts unless the trade is final, the caller is its buyer or seller, and has not rated it;
        // `value` is what the seller was really paid out of the trade (0 for a refund or timeout).
        (address subject, uint256 value) = IMarketplace(MARKETPLACE).consumeRating(tradeId, trade, msg.sender);

        Aggregate memory agg = _aggregates[subject][trade.token];
        // value <= amount + deposit < 2^161 (unit amounts and quantities are bounded by the
        // marketplace), so the sum of two values below 2^184 and 2^161 cannot overflow uint256;
        // saturate at the field's maximum.
        uint256 volume = uint256(agg.volume) + value;
        agg.volume = volume > type(uint184).max ? type(uint184).max : uint184(volume);
        agg.count += 1;
        agg.scoreSum += score;
        _aggregates[subject][trade.token] = agg;

        emit Rated(tradeId, msg.sender, subject, score, trade.token, value, reviewCid);
    }

    /// @inheritdoc IReputation
    function aggregate(address subject, address token) external view override returns (Aggregate memory) {
        return _aggregates[subject][token];
    }
}
