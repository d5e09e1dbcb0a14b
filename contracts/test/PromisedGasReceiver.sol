// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Code for an account that needs exactly the gas a payout promises (the marketplace's
/// `PAYOUT_GAS`, given to the constructor) to accept the native currency, and refuses cheaply,
/// keeping the rest of its gas, when it gets less. Tests make an EOA an EIP-7702 delegated account
/// of it (`0xef0100 || address`), the costliest receiver to call on Prague chains: the payout then
/// also pays a cold access to this code. The threshold is an immutable, so it lives in the code and
/// holds in the delegating account too.
contract PromisedGasReceiver {
    /// @notice Gas `receive` needs left when it checks (the stipend covers what runs before).
    uint256 public immutable NEEDED_GAS;

    /// @notice Raised when called with less than `NEEDED_GAS`.
    error NotEnoughGas(uint256 left);

    constructor(uint256 neededGas) {
        NEEDED_GAS = neededGas;
    }

    /// @notice Accepts a payment if given at least `NEEDED_GAS`, else reverts at once.
    receive() external payable {
        if (gasleft() < NEEDED_GAS) revert NotEnoughGas(gasleft());
    }
}
