// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IPayouts} from "../interfaces/IPayouts.sol";
import {Permit} from "../types/MarketplaceTypes.sol";

/// @title p2pchain escrow payouts
/// @notice See {IPayouts}. Shared by the Marketplace and Bookings, so both take and pay money the
/// same, tested way.
/// @dev Every call that gives outside code unbounded gas (ERC-20 pulls, withdrawals) runs under
/// OpenZeppelin's ReentrancyGuard, so such code can never start another of them. Payouts forward
/// bounded gas (`PAYOUT_GAS` for the native currency, `TOKEN_PAYOUT_GAS` for ERC-20s), so a hostile
/// receiver or token cannot make a settlement cost its caller more than that.
abstract contract Payouts is IPayouts, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Gas forwarded with a native-currency payout; a receiver that needs more (or reverts)
    /// is credited instead and withdraws with {withdraw}.
    uint256 public constant PAYOUT_GAS = 60_000;
    /// @notice Gas forwarded with an ERC-20 payout; a transfer that needs more (or fails) is credited
    /// instead and withdrawn with {withdraw}, which forwards all gas.
    uint256 public constant TOKEN_PAYOUT_GAS = 100_000;

    /// @dev Uniswap's Permit2, at its address on every chain that has it. A buyer who approved the
    /// token to it pays through it (`_pullToken`), after a signed Permit2 permit (`_permit`).
    address internal constant PERMIT2 = 0x000000000022D473030F116dDEE9F6B43aC78BA3;
    /// @dev Most gas a payout's CALL can cost the escrow before the receiver starts, so that
    /// {_requirePayoutGas} can promise the receiver all of `PAYOUT_GAS` (`TOKEN_PAYOUT_GAS`). Worst
    /// case on the newest schedule (Prague), for a native-currency payout:
    ///       2,600  cold access to the receiver (EIP-2929)
    ///     + 2,600  cold access to the receiver's code when it is an EIP-7702 delegated account
    ///     + 9,000  value transfer (its 2,300 stipend goes to the receiver, on top of `PAYOUT_GAS`)
    ///     +    55  the opcodes between the gas check and the CALL (measured, solc 0.8.30 viaIR)
    ///     = 14,255, plus a margin of 1,745 (12%) for compiler changes and gas repricings: 16,000.
    /// Not counted: the 25,000 for sending value to an account that does not exist yet. Such an
    /// account runs no code, so it cannot refuse a payout, and a gas limit too low to pay for its
    /// creation makes the escrow run out of gas and revert, never credit. ERC-20 payouts send
    /// no value, so they have 9,000 more to spare. The old allowance, 12,000, predated EIP-7702: a
    /// delegated receiver could be left with 57,780 instead of 60,000 (see
    /// tests/contracts/test_payout_gas_prague.py). Raising it costs no gas: it only raises the
    /// lowest gas limit a payout accepts (`eth_estimateGas` finds it).
    uint256 private constant PAYOUT_CALL_COST = 16_000;

    mapping(address token => mapping(address account => uint256 amount)) private _credits;

    /// @inheritdoc IPayouts
    function withdraw(address token, address to) external override nonReentrant {
        if (to == address(0)) revert InvalidRecipient(to);
        uint256 amount = _credits[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw(token, msg.sender);
        _credits[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, to, amount);

        bool ok;
        if (token == address(0)) {
            // All gas is forwarded: the account chose the recipient. Return data is not copied.
            assembly ("memory-safe") {
                ok := call(gas(), to, amount, 0, 0, 0, 0)
            }
        } else {
            ok = IERC20(token).trySafeTransfer(to, amount);
        }
        if (!ok) revert WithdrawalFailed(token, to, amount);
    }

    /// @inheritdoc IPayouts
    function credit(address token, address account) external view override returns (uint256) {
        return _credits[token][account];
    }

    /// @dev Takes `total` from the caller: exactly `msg.value` in ETH, or an ERC-20 pull (through
    /// the caller's Permit2 allowance if `viaPermit2`) whose arrival is measured, so a token that
    /// delivers less than it was asked for is refused.
    function _collect(address token, uint256 total, bool viaPermit2) internal {
        if (token == address(0)) {
            if (msg.value != total) revert WrongPayment(total, msg.value);
            return;
        }
        if (msg.value != 0) revert WrongPayment(0, msg.value);
        _pullToken(IERC20(token), msg.sender, total, viaPermit2);
    }

    /// @dev `false` (a call's data holds at least its selector), for the purchases and bookings
    /// made without a permit. Not a literal: with a literal `false` the optimizer kept a second copy
    /// of the whole purchase path, which made Bookings 870 bytes bigger.
    function _noPermit() internal pure returns (bool) {
        return msg.data.length == 0;
    }

    /// @dev Adds `amount` to `account`'s credit in `token`.
    function _addCredit(address token, address account, uint256 amount) internal {
        _credits[token][account] += amount;
        emit Credited(token, account, amount);
    }

    /// @dev Takes up to `amount` from `account`'s credit in `token`; returns what the credit was, so
    /// that the caller can refuse (and revert) when it was short. Nothing is taken then.
    function _takeCredit(address token, address account, uint256 amount) internal returns (uint256 had) {
        had = _credits[token][account];
        if (had >= amount) {
            unchecked {
                _credits[token][account] = had - amount;
            }
        }
    }

    /// @dev Tries the buyer's permit for `token`: the token's EIP-2612 `permit`, or (`v` 0) a
    /// Permit2 `PermitSingle` (see `Permit`), and says whether the payment is then to go through
    /// Permit2. A failure is ignored: a permit can be front-run (anyone may submit it), and then the
    /// allowance it set is already in place. If it is not, the payment that follows reverts.
    /// Guarded: token code runs here.
    function _permit(address token, address owner, Permit calldata permit)
        internal
        nonReentrant
        returns (bool viaPermit2)
    {
        if (permit.deadline == 0 || token == address(0)) return false;
        viaPermit2 = permit.v == 0;
        // Low-level calls (a try/catch of each cost 600 bytes of code), their results ignored.
        assembly ("memory-safe") {
            let m := mload(0x40)
            switch viaPermit2
            case 0 {
                // token.permit(owner, this, value, deadline, v, r, s): the Permit's fields in order.
                mstore(m, shl(224, 0xd505accf))
                mstore(add(m, 0x04), owner)
                mstore(add(m, 0x24), address())
                calldatacopy(add(m, 0x44), permit, 0xa0)
                pop(call(gas(), token, 0, m, 0xe4, 0, 0))
            }
            default {
                // Permit2.permit(owner, ((token, amount, expiration, nonce), this, sigDeadline),
                // signature): the PermitSingle is static, so its encoding is its fields in a row;
                // then the 64-byte compact signature.
                let value := calldataload(permit)
                let deadline := calldataload(add(permit, 0x20))
                mstore(m, shl(224, 0x2b67b570))
                mstore(add(m, 0x04), owner)
                mstore(add(m, 0x24), token)
                mstore(add(m, 0x44), shr(96, shl(96, value)))
                mstore(add(m, 0x64), and(deadline, 0xffffffffffff))
                mstore(add(m, 0x84), and(shr(160, value), 0xffffffffffff))
                mstore(add(m, 0xa4), address())
                mstore(add(m, 0xc4), deadline)
                mstore(add(m, 0xe4), 0x100)
                mstore(add(m, 0x104), 64)
                calldatacopy(add(m, 0x124), add(permit, 0x60), 0x40)
                pop(call(gas(), PERMIT2, 0, m, 0x164, 0, 0))
            }
        }
    }

    /// @dev Pushes a payout; if the receiver or the token refuses it, credits it instead, so that a
    /// settlement never reverts because of the other side.
    function _pay(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            _requirePayoutGas(PAYOUT_GAS);
            // Bounded gas, and no return data copied: a receiver cannot grief the caller.
            assembly ("memory-safe") {
                ok := call(PAYOUT_GAS, to, amount, 0, 0, 0, 0)
            }
        } else {
            ok = _pushToken(token, to, amount);
        }
        if (!ok) _addCredit(token, to, amount);
    }

    /// @dev Pulls `total` of `token` from `from` (the caller, or a buyer whose signed offer is
    /// being accepted), through `from`'s allowance for this contract or (`viaPermit2`) its Permit2
    /// allowance, and checks that exactly that much arrived. Permit2 refuses amounts over 160 bits. Guarded: token code runs here
    /// with all the gas it wants.
    function _pullToken(IERC20 token, address from, uint256 total, bool viaPermit2) internal nonReentrant {
        uint256 before = token.balanceOf(address(this));
        if (viaPermit2) {
            // Permit2's transferFrom(from, this, uint160 total, token); its revert is passed on.
            assembly ("memory-safe") {
                let m := mload(0x40)
                mstore(m, shl(224, 0x36c78516))
                mstore(add(m, 0x04), from)
                mstore(add(m, 0x24), address())
                mstore(add(m, 0x44), total)
                mstore(add(m, 0x64), token)
                if iszero(call(gas(), PERMIT2, 0, m, 0x84, 0, 0)) {
                    returndatacopy(m, 0, returndatasize())
                    revert(m, returndatasize())
                }
            }
        } else {
            token.safeTransferFrom(from, address(this), total);
        }
        uint256 received = token.balanceOf(address(this));
        received = received > before ? received - before : 0;
        if (received != total) revert UnsupportedToken(address(token), total, received);
    }

    /// @dev Tries to transfer `amount` of `token` to `to`, forwarding at most `TOKEN_PAYOUT_GAS`.
    /// Success is judged as SafeERC20.trySafeTransfer judges it (a token contract that returns
    /// nothing, or returns `true`); trySafeTransfer itself forwards all gas, which would let a token
    /// that calls the recipient (ERC-777 style) burn the caller's whole gas limit. Guarded: token code
    /// runs here.
    function _pushToken(address token, address to, uint256 amount) private nonReentrant returns (bool ok) {
        bytes memory data = abi.encodeCall(IERC20.transfer, (to, amount));
        uint256 gasLimit = TOKEN_PAYOUT_GAS;
        _requirePayoutGas(gasLimit);
        assembly ("memory-safe") {
            let success := call(gasLimit, token, 0, add(data, 0x20), mload(data), 0, 0x20)
            let size := returndatasize()
            ok := and(success, or(and(iszero(size), gt(extcodesize(token), 0)), and(gt(size, 0x1f), eq(mload(0), 1))))
        }
    }

    /// @dev Reverts unless `gasLimit` can really be forwarded to a payout, so that no caller can
    /// starve a payout into failing (and being credited) by sending too little gas. A call gets at
    /// most 63/64 of the gas left after its own cost, `PAYOUT_CALL_COST` at most.
    function _requirePayoutGas(uint256 gasLimit) private view {
        if (gasleft() < gasLimit + gasLimit / 63 + PAYOUT_CALL_COST) revert PayoutGasTooLow(gasLimit);
    }
}
