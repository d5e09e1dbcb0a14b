// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ContractAccount} from "./ContractAccount.sol";

/// @notice A contract account that burns all the gas it is given on receive and on any unknown call
/// (so also in token hooks such as ERC-777's `tokensReceived`).
contract GasBurningReceiver is ContractAccount {
    /// @notice Loops until out of gas.
    receive() external payable override {
        _burn();
    }

    /// @notice Loops until out of gas.
    fallback() external payable {
        _burn();
    }

    function _burn() private pure {
        assembly ("memory-safe") {
            for {} 1 {} {}
        }
    }
}
