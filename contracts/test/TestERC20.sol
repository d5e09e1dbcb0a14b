// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A plain, well-behaved ERC-20 with open minting, for tests and the gas report only.
contract TestERC20 is ERC20 {
    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) {}

    /// @notice Mint `amount` to `to`. Anyone may mint: this token is for tests.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
