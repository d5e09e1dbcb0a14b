// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A USDC-style ERC-20 whose owner can block addresses: transfers from or to a blocked
/// address revert. Open minting, for tests only.
contract BlocklistToken is ERC20 {
    /// @notice The account is blocked.
    error AccountBlocked(address account);
    /// @notice Only the owner may change the blocklist.
    error NotOwner(address caller);

    /// @notice The deployer, who manages the blocklist.
    address public immutable owner;
    /// @notice Blocked addresses.
    mapping(address account => bool blocked) public blocked;

    constructor() ERC20("Blocklist Token", "BLK") {
        owner = msg.sender;
    }

    /// @notice Mint `amount` to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Block or unblock `account`.
    function setBlocked(address account, bool blocked_) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        blocked[account] = blocked_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert AccountBlocked(from);
        if (blocked[to]) revert AccountBlocked(to);
        super._update(from, to, value);
    }
}
