// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ContractAccount} from "./ContractAccount.sol";

/// @notice A contract account that, once armed, makes one call of the owner's choosing from inside
/// its `receive` (e.g. back into the marketplace while being paid) and logs how it went.
/// @dev The call data is kept as contract code (SSTORE2-style) so that reading it back fits in a
/// 60k-gas payout stipend.
contract ReentrantReceiver is ContractAccount {
    /// @notice The armed call was made from `receive`.
    /// @param success Whether it succeeded.
    /// @param returnData What it returned, or its revert data.
    event Reentered(bool success, bytes returnData);

    /// @notice Deploying the call data as code failed.
    error StoreFailed();

    address private _target;
    bool private _armed;
    bool private _bubble;
    address private _script;

    /// @notice On the next receive, call `target` with `data`; if `bubble`, revert when that call fails.
    function arm(address target, bytes calldata data, bool bubble) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        // Runtime code = 0x00 (STOP, so it cannot be called) followed by `data`.
        bytes memory init = abi.encodePacked(hex"63", uint32(data.length + 1), hex"80600e6000396000f3", hex"00", data);
        address script;
        assembly ("memory-safe") {
            script := create(0, add(init, 0x20), mload(init))
        }
        if (script == address(0)) revert StoreFailed();
        (_target, _armed, _bubble, _script) = (target, true, bubble, script);
    }

    /// @notice Cancel the armed call (a bubbled failure rolls back the one-shot disarm).
    function disarm() external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _armed = false;
    }

    /// @notice If armed: disarm, make the armed call, log it (and revert if told to bubble).
    receive() external payable override {
        if (!_armed) return;
        _armed = false;
        address script = _script;
        bytes memory data;
        assembly ("memory-safe") {
            let size := sub(extcodesize(script), 1)
            data := mload(0x40)
            mstore(data, size)
            extcodecopy(script, add(data, 0x20), 1, size)
            mstore(0x40, add(add(data, 0x20), and(add(size, 31), not(31))))
        }
        (bool ok, bytes memory ret) = _target.call(data);
        emit Reentered(ok, ret);
        if (!ok && _bubble) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}
