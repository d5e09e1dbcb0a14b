// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Stand-in, see Marketplace.sol.
contract Reputation {
    address public immutable MARKETPLACE;

    constructor() {
        MARKETPLACE = msg.sender;
    }
}
