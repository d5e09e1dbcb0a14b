// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ContractAccount} from "./ContractAccount.sol";

/// @notice A contract account that refuses every native-currency transfer.
contract RevertingReceiver is ContractAccount {
    /// @notice Raised on every receive.
    error ReceiveRefused();

    /// @notice Always reverts.
    receive() external payable override {
        revert ReceiveRefused();
    }
}
