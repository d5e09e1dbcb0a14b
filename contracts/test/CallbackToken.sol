// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-777-style ERC-20: after a transfer to an account that registered for it, it calls
/// the account's `tokensReceived` hook with all remaining gas, and the transfer fails if the hook
/// fails. Open minting, for tests only.
contract CallbackToken is ERC20 {
    /// @notice The recipient's hook failed; the transfer is undone.
    error HookFailed(address to);

    /// @notice Accounts whose hook is called when they receive tokens.
    mapping(address account => bool registered) public registered;

    constructor() ERC20("Callback Token", "CBT") {}

    /// @notice Mint `amount` to `to` (no hook).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Have this token call the caller's `tokensReceived` whenever it receives tokens.
    function registerHook() external {
        registered[msg.sender] = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == address(0) || !registered[to]) return;
        (bool ok,) = to.call(
            abi.encodeWithSignature(
                "tokensReceived(address,address,address,uint256,bytes,bytes)", msg.sender, from, to, value, "", ""
            )
        );
        if (!ok) revert HookFailed(to);
    }
}
