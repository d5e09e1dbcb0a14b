// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The part of Uniswap's Permit2 (AllowanceTransfer) the escrows use
/// @notice Permit2 lives at the same address on every chain that has it
/// (0x000000000022D473030F116dDEE9F6B43aC78BA3). A token holder approves it once per token; a
/// signed `permit` then gives a spender an allowance in Permit2 (an amount, an expiry and a
/// per-(owner, token, spender) nonce), and `transferFrom` spends it.
interface IPermit2 {
    struct PermitDetails {
        address token;
        uint160 amount;
        uint48 expiration;
        uint48 nonce;
    }

    struct PermitSingle {
        PermitDetails details;
        address spender;
        uint256 sigDeadline;
    }

    /// @notice Sets `permitSingle.spender`'s allowance over `owner`'s tokens, given `owner`'s
    /// EIP-712 signature (65 bytes, or 64 in EIP-2098 compact form).
    function permit(address owner, PermitSingle calldata permitSingle, bytes calldata signature) external;

    /// @notice Moves `amount` of `token` from `from` to `to`, spending the caller's allowance.
    function transferFrom(address from, address to, uint160 amount, address token) external;
}
