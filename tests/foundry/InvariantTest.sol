// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice The part of forge-std's `StdInvariant` these tests need: forge asks a test contract for
/// `targetContracts()` and `targetSelectors()` (by these names and return types) to know what its
/// invariant fuzzer may call.
abstract contract InvariantTest {
    /// @notice Functions of one contract the fuzzer may call (forge-std's `FuzzSelector`).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice An invariant does not hold.
    error InvariantViolated(string what, uint256 left, uint256 right);

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function _targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function _targetSelectors(address target, bytes4[] memory selectors) internal {
        _targetedSelectors.push(FuzzSelector(target, selectors));
    }

    function _assertEq(uint256 left, uint256 right, string memory what) internal pure {
        if (left != right) revert InvariantViolated(what, left, right);
    }

    function _assertLe(uint256 left, uint256 right, string memory what) internal pure {
        if (left > right) revert InvariantViolated(what, left, right);
    }
}
