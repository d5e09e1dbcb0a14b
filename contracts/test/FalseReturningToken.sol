// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice An ERC-20 that, once switched to failing, returns false from `transfer` and
/// `transferFrom` without moving anything instead of reverting. Open minting, for tests only.
contract FalseReturningToken {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    string public constant name = "False Returning Token";
    string public constant symbol = "FRT";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    /// @notice Whether transfers fail (return false).
    bool public failing;
    mapping(address account => uint256 amount) public balanceOf;
    mapping(address owner => mapping(address spender => uint256 amount)) public allowance;

    /// @notice Mint `amount` to `to`.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Switch failing on or off.
    function setFailing(bool failing_) external {
        failing = failing_;
    }

    /// @notice Approve `spender`.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @notice Transfer; returns false (moving nothing) when failing or short of funds.
    function transfer(address to, uint256 amount) external returns (bool) {
        return _move(msg.sender, to, amount);
    }

    /// @notice Transfer on behalf of `from`; returns false (moving nothing) when failing or short.
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (failing || allowed < amount) return false;
        allowance[from][msg.sender] = allowed - amount;
        return _move(from, to, amount);
    }

    function _move(address from, address to, uint256 amount) private returns (bool) {
        if (failing || balanceOf[from] < amount) return false;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        return true;
    }
}
