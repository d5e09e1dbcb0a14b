// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Stand-in used by tests/compiler and tests/chain only while the real contracts/ have not landed: the same
// deployment shape (constructor(uint32 rulingWindow) deploys Reputation, REPUTATION() getter,
// immutables) so the compile/deploy pipeline is exercised end to end.

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Reputation} from "./Reputation.sol";

contract Marketplace is ReentrancyGuard {
    address public immutable REPUTATION;
    uint32 public immutable RULING_WINDOW;

    constructor(uint32 rulingWindow) {
        RULING_WINDOW = rulingWindow;
        REPUTATION = address(new Reputation());
    }

    function ping() external nonReentrant returns (uint32) {
        return RULING_WINDOW;
    }
}
