// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Trade} from "../types/MarketplaceTypes.sol";

/// @title p2pchain reputation
/// @notice Buyers and sellers of trades that reached a final state rate each other once, 1 to 5
/// stars, with an optional review document on IPFS. Each rating is an event carrying the trade's
/// value and token, so off-chain scoring can weight ratings by value and by how diverse an
/// address's counterparties are; per-address aggregates are kept on-chain per token.
interface IReputation {
    /// @notice Running totals of the ratings an address received for trades in one token.
    struct Aggregate {
        /// Number of ratings received.
        uint32 count;
        /// Sum of their scores (1..5 each).
        uint40 scoreSum;
        /// Sum of the rated trades' values (saturating at the type's maximum).
        uint184 volume;
    }

    /// @notice `rater` rated `subject` for trade `tradeId`.
    /// @param token The trade's payment token (`address(0)` for ETH).
    /// @param value The trade's price (deposit excluded), in `token`.
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

    /// @notice Rate the counterparty of a final trade the caller was a party to.
    /// @param tradeId The trade.
    /// @param trade The trade's final state, as rebuilt from the marketplace's events.
    /// @param score 1 (worst) to 5 (best).
    /// @param reviewCid Binary IPFS CID of a review document, or empty.
    function rate(bytes32 tradeId, Trade calldata trade, uint8 score, bytes calldata reviewCid) external;

    /// @notice The marketplace whose trades are rated here.
    function MARKETPLACE() external view returns (address);

    /// @notice Ratings `subject` received for trades paid in `token`.
    function aggregate(address subject, address token) external view returns (Aggregate memory);
}
