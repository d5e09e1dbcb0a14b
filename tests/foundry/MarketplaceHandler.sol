// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {Marketplace} from "../../contracts/Marketplace.sol";
import {IReputation} from "../../contracts/interfaces/IReputation.sol";
import {BlocklistToken} from "../../contracts/test/BlocklistToken.sol";
import {GasBurningReceiver} from "../../contracts/test/GasBurningReceiver.sol";
import {RevertingReceiver} from "../../contracts/test/RevertingReceiver.sol";
import {TestERC20} from "../../contracts/test/TestERC20.sol";
import {ListingTerms, Trade, TradeState} from "../../contracts/types/MarketplaceTypes.sol";
import {vm} from "./Vm.sol";

/// @title Marketplace handler for Foundry's invariant fuzzer
/// @notice Every external non-view function is an action the fuzzer may call with random
/// arguments: open trades (ETH, a plain ERC-20, a USDC-style blocklist token; EOA and hostile
/// contract parties), move them on (release, returnDeposit, refund, finalize, dispute, propose,
/// accept, rule, claim the ruling timeout), rate, withdraw credits, freeze addresses, donate to the
/// escrow and let time pass. An action whose marketplace call reverts reverts too, so forge's
/// metrics table counts successful transitions per action (calls - reverts).
/// @dev Ghost books, measured on chain rather than modelled: per trade, what the escrow took in at
/// purchase and what left it on the trade's behalf (the escrow's balance drop plus the credits
/// created by the call). The handler also models each trade's struct to pass it back, and checks
/// the model against `checkTrade` after every transition; a mismatch is counted, never hidden.
/// Mostly the right party acts on a trade in the right state (the picks below steer there), but a
/// share of calls come from the wrong account or replay the trade's previous value.
contract MarketplaceHandler {
    /// @notice One trade as the handler knows it.
    struct Entry {
        bytes32 id;
        /// Its current value, as modelled (checked against the chain after each transition).
        Trade trade;
        /// Its value before the last transition: replayed now and then as stale data.
        Trade previous;
        /// Measured: what the escrow received at purchase.
        uint256 paidIn;
        /// Measured: escrow balance drop + credits created, over all calls on this trade.
        uint256 paidOut;
        /// Successful ratings: bit 0 by the buyer, bit 1 by the seller.
        uint8 rated;
    }

    /// @notice An on-chain listing with units left.
    struct Live {
        bytes32 id;
        ListingTerms terms;
        uint32 remaining;
        uint32 sold;
    }

    uint32 public constant RULING_WINDOW = 3 days;
    uint8 private constant AMOUNT_RELEASED = 1;
    uint8 private constant DEPOSIT_RETURNED = 2;
    uint8 private constant PROPOSED_BY_BUYER = 4;
    uint8 private constant PROPOSED_BY_SELLER = 8;
    uint8 private constant WAS_DISPUTED = 16;
    uint8 private constant PROPOSAL_MASK = 12;

    Marketplace public immutable market;
    IReputation public immutable reputation;
    TestERC20 public immutable plainToken;
    BlocklistToken public immutable blockToken;
    /// @notice Someone with no part in any trade (calls finalize and timeouts, donates).
    address public constant STRANGER = address(0x5757);

    /// @notice Payment tokens: ETH (0), the plain ERC-20, the blocklist token.
    address[] public tokens;
    /// @notice Buyers and sellers: three EOAs, a contract refusing ETH, one burning its gas.
    address[] public parties;
    /// @notice Arbitrator choices: none (0), two EOAs, one contract refusing ETH.
    address[] public arbitrators;
    /// @notice Every address that can hold a credit.
    address[] public accounts;

    Entry[] internal _entries;
    Live[] internal _live;
    uint256 private _salt;

    // ------------------------------------------------------------------ ghost variables

    /// @notice Calls that succeeded with a stale or altered trade value (must stay 0).
    uint256 public ghostStaleAccepted;
    /// @notice Transitions after which `checkTrade` rejected the modelled value (must stay 0).
    uint256 public ghostModelMismatches;
    /// @notice Ratings accepted for a trade that was not final (must stay 0).
    uint256 public ghostRatingsOfOpenTrades;
    /// @notice Second ratings of one trade by one party that were accepted (must stay 0).
    uint256 public ghostRepeatRatings;
    /// @notice Withdrawals that did not deliver exactly the credit (must stay 0).
    uint256 public ghostBadWithdrawals;
    /// @notice Ratings accepted, by subject and token (for Reputation's aggregate counts).
    mapping(address subject => mapping(address token => uint256 count)) public ghostRatings;

    constructor() {
        market = new Marketplace(RULING_WINDOW);
        reputation = IReputation(market.REPUTATION());
        plainToken = new TestERC20("Plain", "PLN");
        blockToken = new BlocklistToken(); // this handler owns its blocklist
        tokens = [address(0), address(plainToken), address(blockToken)];
        parties = [
            address(0xA11CE),
            address(0xB0B),
            address(0xCA401),
            address(new RevertingReceiver()),
            address(new GasBurningReceiver())
        ];
        arbitrators = [address(0), address(0xA4B1), address(0xA4B2), address(new RevertingReceiver())];
        for (uint256 i; i < parties.length; ++i) {
            accounts.push(parties[i]);
        }
        for (uint256 i = 1; i < arbitrators.length; ++i) {
            accounts.push(arbitrators[i]);
        }
        accounts.push(STRANGER);
        for (uint256 i; i < accounts.length; ++i) {
            for (uint256 j = 1; j < tokens.length; ++j) {
                vm.prank(accounts[i]);
                IERC20(tokens[j]).approve(address(market), type(uint256).max);
            }
        }
    }

    // ================================================================== actions: trades

    /// @notice A seller lists units on-chain and a buyer buys some of them at once.
    function listAndBuy(
        uint256 seed,
        uint256 price,
        uint256 deposit,
        uint32 reviewWindow,
        uint16 feeBps,
        uint8 listed,
        uint8 bought
    ) external {
        _listAndBuy(seed, price, deposit, reviewWindow, feeBps, listed, bought, false);
    }

    /// @notice As {listAndBuy}, always naming an arbitrator: trades that can be disputed.
    function listAndBuyWithArbitrator(
        uint256 seed,
        uint256 price,
        uint256 deposit,
        uint32 reviewWindow,
        uint16 feeBps,
        uint8 listed,
        uint8 bought
    ) external {
        _listAndBuy(seed, price, deposit, reviewWindow, feeBps, listed, bought, true);
    }

    /// @notice Another buyer takes units of a listing that still has some.
    function buyMore(uint256 pick, uint256 buyerSeed, uint8 bought) external {
        require(_live.length > 0, "no live listing");
        uint256 i = pick % _live.length;
        Live memory l = _live[i];
        address buyer = _otherParty(l.terms.seller, buyerSeed);
        uint32 quantity = uint32(_bound(bought, 1, l.remaining));
        _buy(l, buyer, quantity);
        if (quantity == l.remaining) {
            _live[i] = _live[_live.length - 1];
            _live.pop();
        } else {
            _live[i].remaining -= quantity;
            _live[i].sold += quantity;
        }
    }

    /// @notice The buyer releases the price to the seller.
    function release(uint256 pick, uint256 who, uint256 replay) external {
        bool stale = _oneIn8(replay); // now and then, replay the previous value
        uint256 k = _pick(pick, _OPEN);
        Trade memory t = _entries[k].trade;
        Trade memory next = _entries[k].trade; // a copy: `t` stays as it is
        next.flags = (t.flags | AMOUNT_RELEASED) & ~PROPOSAL_MASK;
        next.proposedBuyerShare = 0;
        if (t.deposit == 0 || next.flags & DEPOSIT_RETURNED != 0) next.state = TradeState.Completed;
        (bytes32 id, Trade memory passed) = _passed(k, stale);
        _run(k, _caller(t.buyer, who), abi.encodeCall(market.release, (id, passed)), next, stale);
    }

    /// @notice The seller returns the deposit to the buyer.
    function returnDeposit(uint256 pick, uint256 who, uint256 replay) external {
        bool stale = _oneIn8(replay); // now and then, replay the previous value
        uint256 k = _pick(pick, _OPEN);
        Trade memory t = _entries[k].trade;
        Trade memory next = _entries[k].trade; // a copy: `t` stays as it is
        next.flags = (t.flags | DEPOSIT_RETURNED) & ~PROPOSAL_MASK;
        next.proposedBuyerShare = 0;
        if (next.flags & AMOUNT_RELEASED != 0) next.state = TradeState.Completed;
        (bytes32 id, Trade memory passed) = _passed(k, stale);
        _run(k, _caller(t.seller, who), abi.encodeCall(market.returnDeposit, (id, passed)), next, stale);
    }

    /// @notice The seller refunds everything still held to the buyer.
    function refund(uint256 pick, uint256 who, uint256 replay) external {
        bool stale = _oneIn8(replay); // now and then, replay the previous value
        uint256 k = _pick(pick, _OPEN);
        Trade memory next = _entries[k].trade;
        next.state = TradeState.Refunded;
        (bytes32 id, Trade memory passed) = _passed(k, stale);
        _run(k, _caller(next.seller, who), abi.encodeCall(market.refund, (id, passed)), next, stale);
    }

    /// @notice Anyone finalizes a trade whose review window has ended (`late`: after waiting for it).
    function finalize(uint256 pick, uint256 who, uint256 replay, bool late) external {
        bool stale = _oneIn8(replay); // now and then, replay the previous value
        uint256 k = _pick(pick, _PAID);
        _waitFor(k, late);
        Trade memory next = _entries[k].trade;
        next.state = TradeState.Completed;
        (bytes32 id, Trade memory passed) = _passed(k, stale);
        _run(k, _anyone(who), abi.encodeCall(market.finalize, (id, passed)), next, stale);
    }

    /// @notice The buyer (or the seller) disputes a trade in its review window.
    function dispute(uint256 pick, uint256 who, bool bySeller) external {
        uint256 k = _pick(pick, _DISPUTABLE);
        Trade storage t = _entries[k].trade;
        _dispute(k, _caller(bySeller ? t.seller : t.buyer, who));
    }

    /// @notice The buyer or the seller proposes a split of what the trade holds.
    function propose(uint256 pick, uint256 who, bool bySeller, uint256 share) external {
        uint256 k = _pick(pick, _OPEN);
        Trade memory t = _entries[k].trade;
        _propose(k, _caller(bySeller ? t.seller : t.buyer, who), _share(share, _held(t)));
    }

    /// @notice The other party accepts the standing proposal.
    function accept(uint256 pick, uint256 who, uint256 replay) external {
        bool stale = _oneIn8(replay); // now and then, replay the previous value
        uint256 k = _pick(pick, _PROPOSED);
        Trade memory t = _entries[k].trade;
        Trade memory next = _entries[k].trade; // a copy: `t` stays as it is
        next.state = TradeState.Settled;
        address acceptor = t.flags & PROPOSAL_MASK == PROPOSED_BY_BUYER ? t.seller : t.buyer;
        (bytes32 id, Trade memory passed) = _passed(k, stale);
        _run(k, _caller(acceptor, who), abi.encodeCall(market.acceptSettlement, (id, passed)), next, stale);
    }

    /// @notice The arbitrator rules a split of a disputed trade.
    function rule(uint256 pick, uint256 who, uint256 share, uint256 replay) external {
        bool stale = _oneIn8(replay); // now and then, replay the previous value
        uint256 k = _pickDisputed(pick, _RULABLE);
        Trade memory t = _entries[k].trade;
        uint256 pot = _held(t);
        share = _share(share, pot - pot * t.arbitratorFeeBps / 10_000);
        Trade memory next = _entries[k].trade; // a copy: `t` stays as it is
        next.state = TradeState.Ruled;
        // the final struct records the ruling's split
        next.flags = t.flags & ~PROPOSAL_MASK;
        next.proposedBuyerShare = share;
        (bytes32 id, Trade memory passed) = _passed(k, stale);
        _run(k, _caller(t.arbitrator, who), abi.encodeCall(market.rule, (id, passed, share)), next, stale);
    }

    /// @notice Anyone claims the timeout of a dispute the arbitrator left unruled (`late`: after
    /// waiting for the ruling deadline).
    function claimRulingTimeout(uint256 pick, uint256 who, uint256 replay, bool late) external {
        bool stale = _oneIn8(replay); // now and then, replay the previous value
        uint256 k = _pickDisputed(pick, _DISPUTED);
        _waitFor(k, late);
        Trade memory next = _entries[k].trade;
        next.state = TradeState.RulingTimedOut;
        (bytes32 id, Trade memory passed) = _passed(k, stale);
        _run(k, _anyone(who), abi.encodeCall(market.claimRulingTimeout, (id, passed)), next, stale);
    }

    /// @notice A party rates the other (mostly of a final trade; sometimes of an open one, which
    /// must be refused).
    function rate(uint256 pick, bool bySeller, uint8 score, bool anyState) external {
        uint256 k = _pick(pick, anyState ? _ANY : _FINAL);
        Entry storage e = _entries[k];
        Trade memory t = e.trade;
        address rater = bySeller ? t.seller : t.buyer;
        score = uint8(_bound(score, 1, 5));
        vm.prank(rater);
        reputation.rate(e.id, t, score, "");
        if (uint8(t.state) < uint8(TradeState.Completed)) ++ghostRatingsOfOpenTrades;
        uint8 bit = bySeller ? 2 : 1;
        if (e.rated & bit != 0) ++ghostRepeatRatings;
        e.rated |= bit;
        ++ghostRatings[bySeller ? t.buyer : t.seller][t.token];
    }

    // ================================================================== actions: money and time

    /// @notice An account with a credit withdraws it (to an EOA of its choice).
    function withdraw(uint256 pick, uint256 toSeed) external {
        uint256 n = accounts.length * tokens.length;
        for (uint256 i; i < n; ++i) {
            uint256 j = (pick + i) % n;
            address account = accounts[j / tokens.length];
            address token = tokens[j % tokens.length];
            uint256 amount = market.credit(token, account);
            if (amount == 0) continue;
            address to = address(uint160(0xD00D0 + toSeed % 4));
            uint256 before = _balance(token, to);
            vm.prank(account);
            market.withdraw(token, to);
            if (_balance(token, to) != before + amount || market.credit(token, account) != 0) {
                ++ghostBadWithdrawals;
            }
            return;
        }
        revert("no credit");
    }

    /// @notice The blocklist token's owner freezes or unfreezes a party, an arbitrator or the escrow.
    function setBlocked(uint256 who, bool blocked) external {
        address account =
            who % (accounts.length + 1) == accounts.length ? address(market) : accounts[who % accounts.length];
        blockToken.setBlocked(account, blocked);
    }

    /// @notice Someone sends tokens or ETH to the escrow outside any trade (it owes nobody for them).
    function donate(uint256 tokenSeed, uint256 amount) external {
        address token = tokens[tokenSeed % tokens.length];
        amount = _bound(amount, 1, 1e24);
        if (token == address(0)) {
            vm.deal(address(market), address(market).balance + amount);
        } else if (!blockToken.blocked(address(market)) || token != address(blockToken)) {
            TestERC20(token).mint(address(market), amount);
        }
    }

    /// @notice Time passes: up to a day, or (one time in four) up to 40 days.
    function wait(uint256 secs) external {
        // Mostly within a ruling window, now and then far beyond every window.
        vm.warp(vm.getBlockTimestamp() + _bound(secs >> 2, 1, secs % 4 == 0 ? 40 days : 1 days));
    }

    /// @notice Time moves to a trade's deadline (review or ruling), one second before it, or after.
    function waitForDeadline(uint256 pick, uint8 offset) external {
        uint256 k = _pick(pick, _OPEN);
        uint256 target = uint256(_entries[k].trade.deadline) + (offset % 3) - 1;
        uint256 nowTs = vm.getBlockTimestamp();
        vm.warp(target > nowTs ? target : nowTs + 1);
    }

    // ================================================================== views for the invariants

    /// @notice Trades opened so far.
    function entryCount() external view returns (uint256) {
        return _entries.length;
    }

    /// @notice Trade `k`: its id, its modelled value and its measured books.
    function entry(uint256 k) external view returns (bytes32 id, Trade memory trade, uint256 paidIn, uint256 paidOut) {
        Entry storage e = _entries[k];
        return (e.id, e.trade, e.paidIn, e.paidOut);
    }

    /// @notice Number of payment tokens (ETH included).
    function tokenCount() external view returns (uint256) {
        return tokens.length;
    }

    /// @notice Number of buyers and sellers.
    function partyCount() external view returns (uint256) {
        return parties.length;
    }

    /// @notice Sum of every account's credit in `token`.
    function credits(address token) public view returns (uint256 sum) {
        for (uint256 i; i < accounts.length; ++i) {
            sum += market.credit(token, accounts[i]);
        }
    }

    /// @notice What the escrow holds in `token` (ETH for `address(0)`).
    function escrow(address token) public view returns (uint256) {
        return _balance(token, address(market));
    }

    /// @notice What an open trade still holds: the price unless released, the deposit unless returned.
    function held(Trade memory t) external pure returns (uint256) {
        return _held(t);
    }

    // ================================================================== internals

    function _dispute(uint256 k, address by) private {
        Trade memory t = _entries[k].trade;
        Trade memory next = _entries[k].trade; // a copy: `t` stays as it is
        next.state = TradeState.Disputed;
        next.deadline = uint40(vm.getBlockTimestamp() + RULING_WINDOW);
        // a dispute clears any standing proposal and marks the trade: a split then pays the fee
        next.flags = (t.flags & ~PROPOSAL_MASK) | WAS_DISPUTED;
        next.proposedBuyerShare = 0;
        _run(k, by, abi.encodeCall(market.dispute, (_entries[k].id, t)), next, false);
    }

    /// @dev A disputed trade as {_pick} finds one; when there is none, a party disputes one that
    /// can be disputed first, so rulings and timeouts keep finding work.
    function _pickDisputed(uint256 pick, uint256 want) private returns (uint256 k) {
        k = _pick(pick, want);
        if (_fits(_entries[k].trade, want) || _oneIn8(pick)) return k;
        uint256 d = _pick(pick, _DISPUTABLE);
        if (!_fits(_entries[d].trade, _DISPUTABLE)) return k;
        _dispute(d, pick % 2 == 0 ? _entries[d].trade.buyer : _entries[d].trade.seller);
        return d;
    }

    /// @dev The one place that calls `proposeSettlement` and models its effect: if the function's
    /// signature changes (an expiry, say), this is the function to edit.
    function _propose(uint256 k, address by, uint256 share) private {
        Entry storage e = _entries[k];
        Trade memory t = e.trade;
        Trade memory next = _entries[k].trade; // a copy: `t` stays as it is
        next.flags = (t.flags & ~PROPOSAL_MASK) | (by == t.seller ? PROPOSED_BY_SELLER : PROPOSED_BY_BUYER);
        next.proposedBuyerShare = share;
        _run(k, by, abi.encodeCall(market.proposeSettlement, (e.id, t, share)), next, false);
    }

    function _listAndBuy(
        uint256 seed,
        uint256 price,
        uint256 deposit,
        uint32 reviewWindow,
        uint16 feeBps,
        uint8 listed,
        uint8 bought,
        bool withArbitrator
    ) private {
        address token = tokens[seed % tokens.length];
        address seller = parties[(seed >> 8) % parties.length];
        address buyer = _otherParty(seller, seed >> 16);
        uint256 a = (seed >> 24) % arbitrators.length;
        if (withArbitrator && a == 0) a = 1 + (seed >> 32) % (arbitrators.length - 1);
        address arbitrator = arbitrators[a];
        // ETH prices stay affordable; tokens go up to the contract's limit.
        uint256 maxUnit = token == address(0) ? 1e24 : type(uint128).max;
        ListingTerms memory terms = ListingTerms({
            seller: seller,
            token: token,
            price: _bound(price, 1, maxUnit),
            deposit: (seed >> 40) % 3 == 0 ? _bound(deposit, 1, maxUnit) : 0,
            arbitrator: arbitrator,
            arbitratorFeeBps: arbitrator == address(0) ? 0 : uint16(_bound(feeBps, 0, 1_000)),
            reviewWindow: uint32(_bound(reviewWindow, 1, 30 days)),
            expiry: 0,
            cidPrefix: bytes8(hex"1220"),
            cidDigest: keccak256(abi.encode(seed))
        });
        uint32 quantity = uint32(_bound(listed, 1, 4));
        bytes32 salt = bytes32(++_salt);
        vm.prank(seller);
        bytes32 listingId = market.list(terms, salt, quantity);
        Live memory l = Live({id: listingId, terms: terms, remaining: quantity, sold: 0});
        uint32 take = uint32(_bound(bought, 1, quantity));
        _buy(l, buyer, take);
        if (take < quantity) {
            l.remaining -= take;
            l.sold += take;
            _live.push(l);
        }
    }

    function _buy(Live memory l, address buyer, uint32 quantity) private {
        ListingTerms memory terms = l.terms;
        uint256 total = (terms.price + terms.deposit) * quantity;
        uint256 value;
        if (terms.token == address(0)) {
            vm.deal(buyer, buyer.balance + total);
            value = total;
        } else {
            TestERC20(terms.token).mint(buyer, total);
        }
        uint256 before = escrow(terms.token);
        vm.prank(buyer);
        bytes32 tradeId = market.buy{value: value}(l.id, terms, quantity);
        uint256 paidIn = escrow(terms.token) - before;

        bytes32 expectedId = quantity == l.remaining ? l.id : keccak256(abi.encode(l.id, uint256(l.sold)));
        Trade memory t = Trade({
            buyer: buyer,
            seller: terms.seller,
            token: terms.token,
            arbitrator: terms.arbitrator,
            arbitratorFeeBps: terms.arbitratorFeeBps,
            amount: terms.price * quantity,
            deposit: terms.deposit * quantity,
            deadline: uint40(vm.getBlockTimestamp() + terms.reviewWindow),
            state: TradeState.Paid,
            flags: 0,
            proposedBuyerShare: 0
        });
        (bool current,) = market.checkTrade(tradeId, t);
        if (tradeId != expectedId || !current || paidIn != total) ++ghostModelMismatches;
        Entry storage e = _entries.push();
        e.id = tradeId;
        e.trade = t;
        e.previous = t;
        e.paidIn = paidIn;
    }

    /// @dev The value a caller passes for trade `k`: the current one, or (stale) the previous one.
    function _passed(uint256 k, bool stale) private view returns (bytes32 id, Trade memory t) {
        Entry storage e = _entries[k];
        return (e.id, stale ? e.previous : e.trade);
    }

    /// @dev Calls the marketplace as `caller`; on success books what left the escrow against the
    /// trade and moves the model to `next`; on failure reverts with the marketplace's error.
    function _run(uint256 k, address caller, bytes memory data, Trade memory next, bool stale) private {
        Entry storage e = _entries[k];
        address token = e.trade.token;
        uint256 escrowBefore = escrow(token);
        uint256 creditsBefore = credits(token);
        vm.prank(caller);
        (bool ok, bytes memory out) = address(market).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(out, 0x20), mload(out))
            }
        }
        // A settlement never raises the escrow; count it as a mismatch if it somehow did.
        uint256 escrowAfter = escrow(token);
        if (escrowAfter > escrowBefore) ++ghostModelMismatches;
        else e.paidOut += escrowBefore - escrowAfter;
        e.paidOut += credits(token) - creditsBefore;
        if (stale && keccak256(abi.encode(e.previous)) != keccak256(abi.encode(e.trade))) {
            // Stale data was accepted: the model cannot know the new value. Flag it and stop
            // acting on this trade's model (the payout books above still hold).
            ++ghostStaleAccepted;
            return;
        }
        (bool current,) = market.checkTrade(e.id, next);
        if (!current) ++ghostModelMismatches;
        e.previous = e.trade;
        e.trade = next;
    }

    // ---------------------------------------------------------------- picks

    uint256 private constant _ANY = 0;
    uint256 private constant _OPEN = 1;
    uint256 private constant _PAID = 2;
    uint256 private constant _DISPUTABLE = 3;
    uint256 private constant _DISPUTED = 4;
    uint256 private constant _RULABLE = 5;
    uint256 private constant _PROPOSED = 6;
    uint256 private constant _FINAL = 7;

    /// @dev A trade, starting the search at `pick`: the first (mod count) that is as wanted, or
    /// the one at `pick` if none is. One pick in eight ignores the wish (the wrong state, or the
    /// wrong time).
    function _pick(uint256 pick, uint256 want) private view returns (uint256) {
        uint256 n = _entries.length;
        require(n > 0, "no trade");
        uint256 start = pick % n;
        if (want == _ANY || _oneIn8(pick)) return start;
        for (uint256 i; i < n; ++i) {
            uint256 k = (start + i) % n;
            if (_fits(_entries[k].trade, want)) return k;
        }
        return start;
    }

    function _fits(Trade storage t, uint256 want) private view returns (bool) {
        TradeState s = t.state;
        bool open = s == TradeState.Paid || s == TradeState.Disputed;
        uint256 nowTs = vm.getBlockTimestamp();
        if (want == _OPEN) return open;
        if (want == _PAID) return s == TradeState.Paid;
        if (want == _DISPUTABLE) return s == TradeState.Paid && t.arbitrator != address(0) && nowTs < t.deadline;
        if (want == _DISPUTED) return s == TradeState.Disputed;
        if (want == _RULABLE) return s == TradeState.Disputed && nowTs < t.deadline;
        if (want == _PROPOSED) return open && t.flags & PROPOSAL_MASK != 0;
        return !open;
    }

    /// @dev When `late`, time moves on to trade `k`'s deadline (if it is still ahead).
    function _waitFor(uint256 k, bool late) private {
        uint256 deadline = _entries[k].trade.deadline;
        if (late && vm.getBlockTimestamp() < deadline) vm.warp(deadline);
    }

    /// @dev `entitled`, except one time in eight some other account.
    function _caller(address entitled, uint256 who) private view returns (address) {
        if (!_oneIn8(who)) return entitled;
        return accounts[(who >> 8) % accounts.length];
    }

    /// @dev True for one input in eight, spread by hashing: the fuzzer favours small and edge
    /// values, whose low bits are mostly zero.
    function _oneIn8(uint256 x) private pure returns (bool) {
        return uint256(keccak256(abi.encode(x))) % 8 == 0;
    }

    function _anyone(uint256 who) private view returns (address) {
        return accounts[who % accounts.length];
    }

    function _otherParty(address seller, uint256 seed) private view returns (address buyer) {
        buyer = parties[seed % parties.length];
        if (buyer == seller) buyer = parties[(seed + 1) % parties.length];
    }

    /// @dev Shares at the edges often: nothing, all, half, one too many; otherwise any value.
    function _share(uint256 share, uint256 available) private pure returns (uint256) {
        uint256 mode = share % 5;
        if (mode == 0) return 0;
        if (mode == 1) return available;
        if (mode == 2) return available / 2;
        if (mode == 3) return available + (share >> 8) % 2; // sometimes one too many
        return (share >> 8) % (available + 1);
    }

    function _held(Trade memory t) private pure returns (uint256) {
        if (t.state != TradeState.Paid && t.state != TradeState.Disputed) return 0;
        return (t.flags & AMOUNT_RELEASED == 0 ? t.amount : 0) + (t.flags & DEPOSIT_RETURNED == 0 ? t.deposit : 0);
    }

    function _balance(address token, address who) private view returns (uint256) {
        return token == address(0) ? who.balance : IERC20(token).balanceOf(who);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) private pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }
}
