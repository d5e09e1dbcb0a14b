// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ContractAccount} from "./ContractAccount.sol";

/// @notice A contract account that reverts with a huge revert payload on receive, to punish callers
/// that copy return data.
contract ReturnBombReceiver is ContractAccount {
    /// @notice Bytes of revert data: ~28k gas of memory, well within a 60k payout stipend.
    uint256 public constant BOMB_SIZE = 100_000;

    /// @notice Reverts with `BOMB_SIZE` bytes of data.
    receive() external payable override {
        assembly ("memory-safe") {
            revert(0, BOMB_SIZE)
        }
    }
}
