// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title p2pchain escrow payouts
/// @notice How every p2pchain escrow (the Marketplace for sales, Bookings for rentals) takes money in
/// and pays it out. A payment comes in as exact ETH or a measured ERC-20 pull. A payout is pushed with
/// bounded gas; if the receiver or the token refuses it, it is credited instead and the account
/// withdraws it later with {withdraw}, so a settlement never fails because of the other side.
interface IPayouts {
    /// @notice A payout could not be pushed (the receiver reverted or the token refused it) and was
    /// credited to `account` instead; withdraw it with {withdraw}.
    event Credited(address indexed token, address indexed account, uint256 amount);

    /// @notice `account` withdrew its credit in `token` to `to`.
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);

    /// @notice The ETH sent does not match the amount due.
    error WrongPayment(uint256 expected, uint256 sent);
    /// @notice The token delivered a different amount than was transferred (fee-on-transfer or
    /// rebasing tokens are refused).
    error UnsupportedToken(address token, uint256 expected, uint256 received);
    /// @notice The caller has no credit in this token.
    error NothingToWithdraw(address token, address account);
    /// @notice The withdrawal recipient is the zero address.
    error InvalidRecipient(address to);
    /// @notice The transaction did not carry enough gas to forward `gasLimit` to a payout; retry with
    /// a higher gas limit (unused gas is not charged).
    error PayoutGasTooLow(uint256 gasLimit);
    /// @notice A withdrawal could not be paid out; the credit is kept.
    error WithdrawalFailed(address token, address to, uint256 amount);

    /// @notice Withdraw the caller's credited payouts in `token` to `to`.
    function withdraw(address token, address to) external;

    /// @notice Credited payouts `account` can withdraw in `token`.
    function credit(address token, address account) external view returns (uint256);
}
