// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Marketplace} from "../Marketplace.sol";

// A test-only contract: its artifact must land in artifacts/test/.
contract Probe {
    function window(Marketplace market) external view returns (uint32) {
        return market.RULING_WINDOW();
    }
}
