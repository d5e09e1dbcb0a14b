// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 that, once armed, makes one call of its arming caller's choosing from inside
/// its next transfer (after the balances moved), like an ERC-777 hook, and logs how it went. Open
/// minting, for tests only.
contract ReentrantToken is ERC20 {
    /// @notice The armed call was made from inside a transfer.
    /// @param success Whether it succeeded.
    /// @param returnData What it returned, or its revert data.
    event HookCalled(bool success, bytes returnData);

    address private _target;
    bytes private _data;
    bool private _armed;
    bool private _bubble;

    constructor() ERC20("Reentrant Token", "REN") {}

    /// @notice Mint `amount` to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice On the next transfer, call `target` with `data`; if `bubble`, make the transfer revert
    /// with the call's revert data when the call fails.
    function arm(address target, bytes calldata data, bool bubble) external {
        (_target, _data, _armed, _bubble) = (target, data, true, bubble);
    }

    /// @notice Cancel the armed call (a bubbled failure rolls back the one-shot disarm).
    function disarm() external {
        _armed = false;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (!_armed || from == address(0)) return;
        _armed = false;
        (bool ok, bytes memory ret) = _target.call(_data);
        emit HookCalled(ok, ret);
        if (!ok && _bubble) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}
