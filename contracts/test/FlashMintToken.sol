// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20FlashMint} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20FlashMint.sol";

/// @notice An ERC-20 that is its own ERC-3156 flash lender (OpenZeppelin's ERC20FlashMint): a flash
/// loan mints any amount up to `type(uint256).max - totalSupply()` for the length of one call, for
/// no fee, and burns it when the borrower pays it back. Capital is free for one transaction, which
/// is what a rating ring would use to make its trades look large (see FlashRing).
contract FlashMintToken is ERC20FlashMint {
    constructor() ERC20("Flash Mint Token", "FLASH") {}
}
