// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice The few Foundry cheatcodes these tests use (forge-std is not installable offline).
/// Signatures as in forge-std's `Vm.sol`; forge answers calls to `VM_ADDRESS`.
interface Vm {
    function warp(uint256 newTimestamp) external;
    function getBlockTimestamp() external view returns (uint256 timestamp);
    function prank(address msgSender) external;
    function deal(address account, uint256 newBalance) external;
    function label(address account, string calldata newLabel) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToStateAndDelete(uint256 snapshotId) external returns (bool success);
}

/// @dev `address(uint160(uint256(keccak256("hevm cheat code"))))`.
address constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;
Vm constant vm = Vm(VM_ADDRESS);
