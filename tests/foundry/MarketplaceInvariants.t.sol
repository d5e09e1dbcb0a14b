// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Marketplace} from "../../contracts/Marketplace.sol";
import {IReputation} from "../../contracts/interfaces/IReputation.sol";
import {Trade, TradeState} from "../../contracts/types/MarketplaceTypes.sol";
import {InvariantTest} from "./InvariantTest.sol";
import {MarketplaceHandler} from "./MarketplaceHandler.sol";
import {vm} from "./Vm.sol";

/// @title Marketplace invariants under Foundry's fuzzer
/// @notice For each `invariant_*` function, forge runs a campaign of random sequences of
/// {MarketplaceHandler} actions and checks the invariant after every call. Run by
/// `tests/foundry/test_forge_invariants.py` and `make fuzz` (scripts/fuzz.py), which pass the
/// offline compiler; see foundry.toml here.
contract MarketplaceInvariantTest is InvariantTest {
    MarketplaceHandler internal handler;
    Marketplace internal market;

    function setUp() public {
        handler = new MarketplaceHandler();
        market = handler.market();
        bytes4[] memory actions = new bytes4[](18);
        actions[0] = MarketplaceHandler.listAndBuy.selector;
        actions[1] = MarketplaceHandler.listAndBuyWithArbitrator.selector;
        actions[2] = MarketplaceHandler.buyMore.selector;
        actions[3] = MarketplaceHandler.release.selector;
        actions[4] = MarketplaceHandler.returnDeposit.selector;
        actions[5] = MarketplaceHandler.refund.selector;
        actions[6] = MarketplaceHandler.finalize.selector;
        actions[7] = MarketplaceHandler.dispute.selector;
        actions[8] = MarketplaceHandler.propose.selector;
        actions[9] = MarketplaceHandler.accept.selector;
        actions[10] = MarketplaceHandler.rule.selector;
        actions[11] = MarketplaceHandler.claimRulingTimeout.selector;
        actions[12] = MarketplaceHandler.rate.selector;
        actions[13] = MarketplaceHandler.withdraw.selector;
        actions[14] = MarketplaceHandler.setBlocked.selector;
        actions[15] = MarketplaceHandler.donate.selector;
        actions[16] = MarketplaceHandler.wait.selector;
        actions[17] = MarketplaceHandler.waitForDeadline.selector;
        _targetContract(address(handler));
        _targetSelectors(address(handler), actions);
    }

    /// @notice Solvency, per token (ETH included): the escrow holds at least what it owes, i.e.
    /// what the open trades still hold plus every credit. What the trades hold is counted twice
    /// over, from the measured books (paid in - paid out) and from the modelled structs; both must
    /// agree. Donations make the escrow hold more than it owes, never less.
    function invariant_escrowCoversWhatItOwes() public view {
        uint256 n = handler.entryCount();
        for (uint256 j; j < handler.tokenCount(); ++j) {
            address token = handler.tokens(j);
            uint256 booked;
            uint256 modelled;
            for (uint256 k; k < n; ++k) {
                (, Trade memory t, uint256 paidIn, uint256 paidOut) = handler.entry(k);
                if (t.token != token) continue;
                _assertLe(paidOut, paidIn, "paid out vs paid in");
                booked += paidIn - paidOut;
                modelled += handler.held(t);
            }
            _assertEq(booked, modelled, "held by open trades: books vs model");
            _assertLe(booked + handler.credits(token), handler.escrow(token), "owed vs escrow balance");
        }
    }

    /// @notice No double payout: what left the escrow for a trade never exceeds what it took in,
    /// and a final trade has paid out exactly everything. Replays of stale trade data must fail.
    function invariant_noTradePaysOutMoreThanItTookIn() public view {
        uint256 n = handler.entryCount();
        for (uint256 k; k < n; ++k) {
            (, Trade memory t, uint256 paidIn, uint256 paidOut) = handler.entry(k);
            _assertLe(paidOut, paidIn, "paid out vs paid in");
            if (uint8(t.state) >= uint8(TradeState.Completed)) _assertEq(paidOut, paidIn, "final trade paid out");
        }
        _assertEq(handler.ghostStaleAccepted(), 0, "stale trade data accepted");
        _assertEq(handler.ghostBadWithdrawals(), 0, "withdrawals not delivering the credit");
    }

    /// @notice Every trade that is not final has an exit that needs nobody's cooperation: once its
    /// deadline has passed, a stranger can finalize it (Paid) or claim the ruling timeout
    /// (Disputed), whatever the parties, the token or the blocklist do, and it ends final. Each
    /// exit is tried in a state snapshot and undone.
    function invariant_everyOpenTradeHasAnExit() public {
        uint256 n = handler.entryCount();
        address stranger = handler.STRANGER();
        for (uint256 k; k < n; ++k) {
            (bytes32 id, Trade memory t,,) = handler.entry(k);
            if (t.state != TradeState.Paid && t.state != TradeState.Disputed) continue;
            uint256 snapshot = vm.snapshotState();
            if (vm.getBlockTimestamp() < t.deadline) vm.warp(t.deadline);
            Trade memory done = t;
            vm.prank(stranger);
            if (t.state == TradeState.Paid) {
                market.finalize(id, t);
                done.state = TradeState.Completed;
            } else {
                market.claimRulingTimeout(id, t);
                done.state = TradeState.RulingTimedOut;
            }
            (bool current,) = market.checkTrade(id, done);
            _assertEq(current ? 1 : 0, 1, "trade final after its exit");
            vm.revertToStateAndDelete(snapshot);
        }
    }

    /// @notice A rating counts only for a final trade, once per party: no rating of an open trade
    /// or a second rating was accepted, and Reputation's counts are exactly the accepted ratings.
    function invariant_ratingsOnlyForFinalTrades() public view {
        _assertEq(handler.ghostRatingsOfOpenTrades(), 0, "ratings of open trades");
        _assertEq(handler.ghostRepeatRatings(), 0, "repeat ratings");
        IReputation reputation = handler.reputation();
        for (uint256 i; i < handler.partyCount(); ++i) {
            address subject = handler.parties(i);
            for (uint256 j; j < handler.tokenCount(); ++j) {
                address token = handler.tokens(j);
                _assertEq(
                    reputation.aggregate(subject, token).count,
                    handler.ghostRatings(subject, token),
                    "ratings counted by Reputation"
                );
            }
        }
    }

    /// @notice The handler's model of every trade matched `checkTrade` after each transition (so the
    /// other invariants judge the real trades).
    function invariant_modelMatchesChain() public view {
        _assertEq(handler.ghostModelMismatches(), 0, "model mismatches");
    }
}
