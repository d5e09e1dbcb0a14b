// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ContractAccount} from "./ContractAccount.sol";

/// @notice An honest contract account that needs `NEEDED_GAS` to accept the native currency and
/// refuses cheaply (keeping the rest of its gas) when given less: the receiver a caller would try
/// to starve into a credit by sending a tight gas limit.
contract GasHungryReceiver is ContractAccount {
    /// @notice Gas this account needs on receive (below the marketplace's 60k payout stipend).
    uint256 public constant NEEDED_GAS = 50_000;

    /// @notice Raised when called with less than `NEEDED_GAS`.
    error NotEnoughGas(uint256 left);

    /// @notice Accepts a payment if given at least `NEEDED_GAS`, else reverts at once.
    receive() external payable override {
        if (gasleft() < NEEDED_GAS) revert NotEnoughGas(gasleft());
    }
}
