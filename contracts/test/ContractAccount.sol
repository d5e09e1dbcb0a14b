// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice A minimal contract wallet for tests: its owner (or an operator the owner names) makes it
/// call anything, and it approves ERC-1271 signatures for hashes its owner set. Receivers with
/// hostile behaviour inherit it and override `receive`.
contract ContractAccount is IERC1271 {
    /// @notice The caller is neither the owner nor the operator.
    error NotOwner(address caller);

    /// @notice The deployer; the only one who can name an operator or approve hashes.
    address public immutable owner;
    /// @notice An extra account allowed to call {execute} (e.g. a token hook in a reentrancy test).
    address public operator;
    /// @notice Hashes this account accepts as signed (ERC-1271).
    mapping(bytes32 hash => bool approved) public approvedHashes;

    constructor() {
        owner = msg.sender;
    }

    /// @notice Accepts the native currency; hostile receivers override this.
    receive() external payable virtual {}

    /// @notice Call `target` with `value` and `data`; bubbles the callee's revert data unchanged.
    function execute(address target, uint256 value, bytes calldata data)
        external
        payable
        returns (bytes memory result)
    {
        if (msg.sender != owner && msg.sender != operator) revert NotOwner(msg.sender);
        bool ok;
        (ok, result) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    /// @notice Allow `operator_` to call {execute} as well (zero to remove).
    function setOperator(address operator_) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        operator = operator_;
    }

    /// @notice Approve or revoke `hash` as signed by this account.
    function approveHash(bytes32 hash, bool approved) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        approvedHashes[hash] = approved;
    }

    /// @notice ERC-1271: valid for any signature bytes over a hash the owner approved.
    function isValidSignature(bytes32 hash, bytes calldata) external view returns (bytes4) {
        return approvedHashes[hash] ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}
