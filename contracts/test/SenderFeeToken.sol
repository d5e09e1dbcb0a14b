// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 that delivers the full amount but charges the sender an extra 1% on every
/// transfer (burnt), so a balance-delta check on arrival passes while every outgoing payout costs
/// the payer more than it pays. Open minting, for tests only.
contract SenderFeeToken is ERC20 {
    /// @notice The extra charge, in basis points of the amount transferred.
    uint256 public constant FEE_BPS = 100;

    constructor() ERC20("Sender Fee Token", "SFT") {}

    /// @notice Mint `amount` to `to` (no fee).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to != address(0)) super._update(from, address(0), value * FEE_BPS / 10_000);
    }
}
