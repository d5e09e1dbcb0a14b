// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 that burns 1% of every transfer between accounts, so the receiver gets 99%;
/// open minting, for tests only.
contract FeeOnTransferToken is ERC20 {
    /// @notice The fee, in basis points of the amount transferred.
    uint256 public constant FEE_BPS = 100;

    constructor() ERC20("Fee On Transfer Token", "FOT") {}

    /// @notice Mint `amount` to `to` (no fee).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value * FEE_BPS / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
