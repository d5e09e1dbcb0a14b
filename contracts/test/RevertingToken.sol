// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 that anyone can switch into reverting on every transfer (a paused token);
/// open minting, for tests only.
contract RevertingToken is ERC20 {
    /// @notice Raised by every transfer while reverting is on.
    error TransfersReverted(address from, address to, uint256 value);

    /// @notice Whether transfers revert.
    bool public reverting;

    constructor() ERC20("Reverting Token", "REV") {}

    /// @notice Mint `amount` to `to` (works while reverting).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Switch reverting on or off.
    function setReverting(bool reverting_) external {
        reverting = reverting_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (reverting && from != address(0)) revert TransfersReverted(from, to, value);
        super._update(from, to, value);
    }
}
