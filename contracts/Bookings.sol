// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payouts} from "./base/Payouts.sol";
import {IBookings} from "./interfaces/IBookings.sol";
import {Booking, BookingState, RentalTerms} from "./types/BookingTypes.sol";
import {Permit} from "./types/MarketplaceTypes.sol";

/// @title p2pchain bookings
/// @notice See {IBookings}. No owner, no admin, no fee: the ruling window is the only
/// configuration, set once by the Reputation contract that deploys this one.
/// @dev Reentrancy: every function writes its state before any external call (checks, effects,
/// interactions), and payouts come last, through {Payouts} (bounded gas, credit on refusal).
contract Bookings is IBookings, Payouts {
    /// @notice Highest arbitrator fee a listing may name, in basis points (10%).
    uint16 public constant MAX_ARBITRATOR_FEE_BPS = 1_000;
    /// @notice Bounds of a period's length.
    uint32 public constant MIN_UNIT = 15 minutes;
    uint32 public constant MAX_UNIT = 7 days;
    /// @notice Longest bookable range of one listing, from `firstStart` to `lastEnd`.
    uint40 public constant MAX_SPAN = 10 * 365 days;
    /// @notice Most periods one booking may take.
    uint16 public constant MAX_UNITS = 1_000;
    /// @notice Longest lead time, free-cancellation time or claim window.
    uint32 public constant MAX_WINDOW = 365 days;
    /// @notice Highest rate or deposit, so that totals never overflow.
    uint256 public constant MAX_AMOUNT = type(uint128).max;
    /// @notice Latest `lastEnd` a listing may name (the year 19391), so that every time derived from
    /// it, windows added, fits in 40 bits.
    uint40 public constant LAST_TIME = 1 << 39;
    /// @notice Longest evidence CID accepted, in bytes.
    uint256 public constant MAX_CID_LENGTH = 64;

    /// @notice Hash type of {RentalTerms} (they are hashed like an EIP-712 struct).
    bytes32 public constant RENTAL_TERMS_TYPEHASH = keccak256(
        "RentalTerms(address owner,address token,uint256 rate,uint256 deposit,address arbitrator,"
        "uint16 arbitratorFeeBps,uint32 unit,uint40 firstStart,uint40 lastEnd,uint16 minUnits,uint16 maxUnits,"
        "uint32 leadTime,uint32 freeCancel,uint16 lateRefundBps,uint32 claimWindow,bytes8 cidPrefix,bytes32 cidDigest)"
    );

    uint256 private constant CLOSED = 1;
    uint256 private constant LIVE = 1 << 255;
    uint256 private constant SLOTS_PER_WORD = 255;
    uint256 private constant WORD_IN_USE = 1 << 255;
    uint256 private constant HASH_MASK = ~uint256(3);
    uint256 private constant RATED_BY_RENTER = 1;
    uint256 private constant RATED_BY_OWNER = 2;

    // Booking.flags bits.
    uint8 private constant PICKED_UP = 1;
    uint8 private constant RENT_PAID = 2;
    uint8 private constant WAS_DISPUTED = 4;

    /// @inheritdoc IBookings
    address public immutable override REPUTATION;
    /// @inheritdoc IBookings
    uint32 public immutable override RULING_WINDOW;

    mapping(bytes32 listingId => uint256 record) private _listings;
    mapping(bytes32 bookingId => uint256 record) private _bookings;
    mapping(bytes32 listingId => mapping(uint256 index => uint256 bits)) private _calendars;

    /// @param rulingWindow Seconds the arbitrator has to rule, checked by the deployer (the
    /// Reputation contract, deployed by the Marketplace, which checks its bounds).
    constructor(uint32 rulingWindow) {
        if (rulingWindow == 0) revert InvalidRulingWindow(rulingWindow);
        RULING_WINDOW = rulingWindow;
        REPUTATION = msg.sender;
    }

    // ================================================================ listings

    /// @inheritdoc IBookings
    function list(RentalTerms calldata terms, bytes32 salt) external override returns (bytes32 listingId) {
        if (terms.owner != msg.sender) revert NotOwner(msg.sender, terms.owner);
        _validateTerms(terms);
        listingId = keccak256(abi.encodePacked(msg.sender, salt));
        if (_listings[listingId] != 0) revert ListingExists(listingId);
        _listings[listingId] = _listingRecord(terms);
        // The first calendar word is opened by the owner, once, so that renters booking within the
        // first 255 periods never pay for a fresh storage word.
        _calendars[listingId][0] = WORD_IN_USE;
        emit RentalListed(listingId, msg.sender, salt, terms);
    }

    /// @inheritdoc IBookings
    function updateListing(bytes32 salt, RentalTerms calldata terms) external override {
        bytes32 listingId = keccak256(abi.encodePacked(msg.sender, salt));
        uint256 rec = _listings[listingId];
        if (rec & LIVE == 0) revert ListingNotActive(listingId);
        if (terms.owner != msg.sender) revert NotOwner(msg.sender, terms.owner);
        _validateTerms(terms);
        uint256 updated = _listingRecord(terms);
        if (updated >> 182 != rec >> 182) revert GridChanged(listingId);
        _listings[listingId] = updated;
        emit RentalUpdated(listingId, msg.sender, terms);
    }

    /// @inheritdoc IBookings
    function closeListing(bytes32 salt) external override {
        bytes32 listingId = keccak256(abi.encodePacked(msg.sender, salt));
        if (_listings[listingId] & LIVE == 0) revert ListingNotActive(listingId);
        _listings[listingId] = CLOSED;
        emit RentalClosed(listingId, msg.sender);
    }

    /// @inheritdoc IBookings
    function blockPeriod(bytes32 salt, uint32 firstSlot, uint32 units) external override returns (bytes32 bookingId) {
        bytes32 listingId = keccak256(abi.encodePacked(msg.sender, salt));
        uint256 rec = _listings[listingId];
        if (rec & LIVE == 0) revert ListingNotActive(listingId);
        if (units == 0 || units > MAX_UNITS) revert InvalidBookingLength(units, 1, MAX_UNITS);
        uint256 unit = uint32(rec >> 182);
        uint256 start = uint40(rec >> 214) + uint256(firstSlot) * unit;
        uint256 end = start + units * unit;
        if (end > uint40(rec >> 214) + MAX_SPAN) revert OutsideCalendar(start, end, uint40(rec >> 214) + MAX_SPAN);
        _take(listingId, firstSlot, units);

        Booking memory b;
        b.listingId = listingId;
        b.renter = msg.sender;
        b.owner = msg.sender;
        b.firstSlot = firstSlot;
        b.units = units;
        // end <= firstStart + MAX_SPAN <= LAST_TIME + MAX_SPAN < 2^40.
        b.start = uint40(start);
        b.end = uint40(end);
        b.deadline = uint40(end);
        b.state = BookingState.Blocked;
        bookingId = _store(b);
        emit PeriodBlocked(bookingId, listingId, firstSlot, units);
    }

    /// @inheritdoc IBookings
    function unblockPeriod(bytes32 bookingId, Booking calldata booking) external override {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Blocked) revert BookingNotInState(bookingId, b.state);
        if (msg.sender != b.owner) revert Unauthorized(bookingId, msg.sender);
        delete _bookings[bookingId];
        _free(b.listingId, b.firstSlot, b.units);
        emit PeriodUnblocked(bookingId);
    }

    // ================================================================ booking

    /// @inheritdoc IBookings
    function book(bytes32 listingId, RentalTerms calldata terms, uint32 firstSlot, uint32 units)
        external
        payable
        override
        returns (bytes32 bookingId)
    {
        return _book(listingId, terms, firstSlot, units, _noPermit());
    }

    /// @inheritdoc IBookings
    function bookWithPermit(
        bytes32 listingId,
        RentalTerms calldata terms,
        uint32 firstSlot,
        uint32 units,
        Permit calldata permit
    ) external override returns (bytes32 bookingId) {
        return _book(listingId, terms, firstSlot, units, _permit(terms.token, msg.sender, permit));
    }

    function _book(bytes32 listingId, RentalTerms calldata terms, uint32 firstSlot, uint32 units, bool viaPermit2)
        private
        returns (bytes32 bookingId)
    {
        uint256 rec = _listings[listingId];
        if (rec & LIVE == 0) revert ListingNotActive(listingId);
        if (rec != _listingRecord(terms)) revert TermsChanged(listingId);
        if (units < terms.minUnits || units > terms.maxUnits) {
            revert InvalidBookingLength(units, terms.minUnits, terms.maxUnits);
        }
        uint256 start = terms.firstStart + uint256(firstSlot) * terms.unit;
        uint256 end = start + uint256(units) * terms.unit;
        if (end > terms.lastEnd) revert OutsideCalendar(start, end, terms.lastEnd);
        if (start < block.timestamp + terms.leadTime) revert TooSoon(start, block.timestamp + terms.leadTime);
        if (msg.sender == terms.owner) revert SelfBooking(msg.sender);
        if (msg.sender == terms.arbitrator) revert ArbitratorIsParty(msg.sender);
        _take(listingId, firstSlot, units);

        Booking memory b;
        b.listingId = listingId;
        b.renter = msg.sender;
        b.owner = terms.owner;
        b.token = terms.token;
        b.arbitrator = terms.arbitrator;
        b.arbitratorFeeBps = terms.arbitratorFeeBps;
        b.firstSlot = firstSlot;
        b.units = units;
        // end <= lastEnd < 2^40, so start and end fit; freeCancel <= MAX_WINDOW and
        // claimWindow <= MAX_WINDOW keep the other two in range too.
        b.start = uint40(start);
        b.end = uint40(end);
        b.freeCancelUntil = start > terms.freeCancel ? uint40(start - terms.freeCancel) : 0;
        b.lateRefundBps = terms.lateRefundBps;
        // rate <= 2^128 - 1 and units <= MAX_UNITS: no overflow.
        b.rent = terms.rate * units;
        b.deposit = terms.deposit;
        b.deadline = uint40(end + terms.claimWindow);
        b.state = BookingState.Booked;
        bookingId = _store(b);
        emit Booked(bookingId, listingId, msg.sender, firstSlot, units);

        _collect(terms.token, b.rent + b.deposit, viaPermit2);
    }

    /// @inheritdoc IBookings
    function cancel(bytes32 bookingId, Booking calldata booking) external override {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Booked) revert BookingNotInState(bookingId, b.state);
        if (msg.sender == b.renter) {
            if (b.flags & PICKED_UP != 0 || block.timestamp >= b.start) revert WindowClosed(bookingId, b.start);
            uint256 refund = b.rent;
            if (block.timestamp >= b.freeCancelUntil) {
                // lateRefundBps <= 10_000 and rent < 2^145: no overflow, and refund <= rent.
                unchecked {
                    refund = b.rent * b.lateRefundBps / 10_000;
                }
            }
            delete _bookings[bookingId];
            _free(b.listingId, b.firstSlot, b.units);
            uint256 ownerShare;
            unchecked {
                ownerShare = b.rent - refund;
            }
            emit Cancelled(bookingId, refund + b.deposit, ownerShare);

            _pay(b.token, b.renter, refund + b.deposit);
            _pay(b.token, b.owner, ownerShare);
        } else if (msg.sender == b.owner) {
            b.state = BookingState.Refunded;
            _bookings[bookingId] = _hashBooking(b);
            _free(b.listingId, b.firstSlot, b.units);
            emit Refunded(bookingId);

            _pay(b.token, b.renter, b.rent + b.deposit);
        } else {
            revert Unauthorized(bookingId, msg.sender);
        }
    }

    /// @inheritdoc IBookings
    function pickup(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid) external override {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Booked || b.flags & PICKED_UP != 0) {
            revert BookingNotInState(bookingId, b.state);
        }
        if (msg.sender != b.renter) revert Unauthorized(bookingId, msg.sender);
        if (block.timestamp >= b.end) revert WindowClosed(bookingId, b.end);
        _checkEvidence(evidenceCid);
        b.flags |= PICKED_UP;
        _bookings[bookingId] = _hashBooking(b);
        emit PickedUp(bookingId, evidenceCid);
    }

    /// @inheritdoc IBookings
    function attachEvidence(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid)
        external
        override
    {
        Booking memory b = _load(bookingId, booking);
        if (msg.sender != b.renter && msg.sender != b.owner) revert Unauthorized(bookingId, msg.sender);
        if (evidenceCid.length == 0) revert InvalidEvidence(0);
        _checkEvidence(evidenceCid);
        emit Evidence(bookingId, msg.sender, evidenceCid);
    }

    /// @inheritdoc IBookings
    function confirmReturn(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid)
        external
        override
    {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Booked) revert BookingNotInState(bookingId, b.state);
        if (msg.sender != b.owner) revert Unauthorized(bookingId, msg.sender);
        if (block.timestamp < b.start) revert WindowOpen(bookingId, b.start);
        _checkEvidence(evidenceCid);
        b.state = BookingState.Completed;
        _bookings[bookingId] = _hashBooking(b);
        emit Returned(bookingId, evidenceCid);

        _pay(b.token, b.owner, b.rent);
        _pay(b.token, b.renter, b.deposit);
    }

    /// @inheritdoc IBookings
    function claimDamage(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid)
        external
        override
    {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Booked) revert BookingNotInState(bookingId, b.state);
        if (msg.sender != b.owner) revert Unauthorized(bookingId, msg.sender);
        if (b.arbitrator == address(0)) revert NoArbitrator(bookingId);
        if (b.deposit == 0) revert NothingToClaim(bookingId);
        if (block.timestamp < b.start) revert WindowOpen(bookingId, b.start);
        if (block.timestamp >= b.deadline) revert WindowClosed(bookingId, b.deadline);
        _checkEvidence(evidenceCid);
        _openDispute(bookingId, b, RENT_PAID, evidenceCid);

        _pay(b.token, b.owner, b.rent);
    }

    /// @inheritdoc IBookings
    function dispute(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid) external override {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Booked) revert BookingNotInState(bookingId, b.state);
        if (msg.sender != b.renter) revert Unauthorized(bookingId, msg.sender);
        if (b.arbitrator == address(0)) revert NoArbitrator(bookingId);
        if (block.timestamp >= b.deadline) revert WindowClosed(bookingId, b.deadline);
        _checkEvidence(evidenceCid);
        _openDispute(bookingId, b, 0, evidenceCid);
    }

    /// @inheritdoc IBookings
    function finalize(bytes32 bookingId, Booking calldata booking) external override {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Booked) revert BookingNotInState(bookingId, b.state);
        if (block.timestamp < b.deadline) revert WindowOpen(bookingId, b.deadline);
        b.state = BookingState.Completed;
        _bookings[bookingId] = _hashBooking(b);
        emit Finalized(bookingId);

        _pay(b.token, b.owner, b.rent);
        _pay(b.token, b.renter, b.deposit);
    }

    /// @inheritdoc IBookings
    function rule(bytes32 bookingId, Booking calldata booking, uint256 renterShare) external override {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Disputed) revert BookingNotInState(bookingId, b.state);
        if (msg.sender != b.arbitrator) revert Unauthorized(bookingId, msg.sender);
        if (block.timestamp >= b.deadline) revert WindowClosed(bookingId, b.deadline);
        (uint256 fee, uint256 available) = _feeAndRest(b);
        if (renterShare > available) revert ShareTooLarge(bookingId, renterShare, available);

        b.state = BookingState.Ruled;
        b.renterShare = renterShare;
        _bookings[bookingId] = _hashBooking(b);
        emit Ruled(bookingId, renterShare, fee);

        _pay(b.token, b.arbitrator, fee);
        _pay(b.token, b.renter, renterShare);
        // renterShare <= available was checked above.
        unchecked {
            _pay(b.token, b.owner, available - renterShare);
        }
    }

    /// @inheritdoc IBookings
    function claimRulingTimeout(bytes32 bookingId, Booking calldata booking) external override {
        Booking memory b = _load(bookingId, booking);
        if (b.state != BookingState.Disputed) revert BookingNotInState(bookingId, b.state);
        if (block.timestamp < b.deadline) revert WindowOpen(bookingId, b.deadline);
        b.state = BookingState.RulingTimedOut;
        _bookings[bookingId] = _hashBooking(b);
        emit RulingTimedOut(bookingId);

        _pay(b.token, b.renter, _held(b));
    }

    // ================================================================ reputation hook

    /// @inheritdoc IBookings
    function consumeRating(bytes32 bookingId, Booking calldata booking, address rater)
        external
        override
        returns (address subject, uint256 value)
    {
        if (msg.sender != REPUTATION) revert Unauthorized(bookingId, msg.sender);
        uint256 rec = _bookings[bookingId];
        Booking memory b = booking;
        if (rec == 0 || rec & HASH_MASK != _hashBooking(b)) revert UnknownBooking(bookingId);
        BookingState state = b.state;
        if (state < BookingState.Completed || state == BookingState.Blocked) {
            revert BookingNotFinal(bookingId, state);
        }
        uint256 bit;
        if (rater == b.renter) {
            bit = RATED_BY_RENTER;
            subject = b.owner;
        } else if (rater == b.owner) {
            bit = RATED_BY_OWNER;
            subject = b.renter;
        } else {
            revert Unauthorized(bookingId, rater);
        }
        if (rec & bit != 0) revert AlreadyRated(bookingId, rater);
        _bookings[bookingId] = rec | bit;

        if (state == BookingState.Completed) return (subject, b.rent);
        if (b.flags & RENT_PAID != 0) value = b.rent;
        if (state == BookingState.Ruled) {
            (, uint256 available) = _feeAndRest(b);
            // renterShare <= available (checked when ruled); value + available <= rent + deposit.
            unchecked {
                value += available - b.renterShare;
            }
        }
    }

    // ================================================================ views

    /// @inheritdoc IBookings
    function listingRecord(bytes32 listingId) external view override returns (uint256) {
        return _listings[listingId];
    }

    /// @inheritdoc IBookings
    function bookingRecord(bytes32 bookingId) external view override returns (uint256) {
        return _bookings[bookingId];
    }

    /// @inheritdoc IBookings
    function calendarWord(bytes32 listingId, uint256 index) external view override returns (uint256) {
        return _calendars[listingId][index];
    }

    /// @inheritdoc IBookings
    function isFree(bytes32 listingId, uint32 firstSlot, uint32 units) external view override returns (bool) {
        uint256 slot = firstSlot;
        uint256 endSlot = slot + units;
        while (slot < endSlot) {
            (uint256 index, uint256 mask, uint256 next) = _span(slot, endSlot);
            if (_calendars[listingId][index] & mask != 0) return false;
            slot = next;
        }
        return true;
    }

    /// @inheritdoc IBookings
    function hashTerms(RentalTerms calldata terms) external pure override returns (bytes32) {
        return _hashTerms(terms);
    }

    /// @inheritdoc IBookings
    function hashBooking(Booking calldata booking) external pure override returns (uint256) {
        return _hashBooking(booking);
    }

    // ================================================================ internals

    /// @dev Marks periods taken, reverting if any is taken already. Cost grows with the number of
    /// calendar words the booking spans (one for most), never with the bookings already made.
    function _take(bytes32 listingId, uint32 firstSlot, uint32 units) private {
        uint256 slot = firstSlot;
        uint256 endSlot = slot + units;
        mapping(uint256 => uint256) storage calendar = _calendars[listingId];
        while (slot < endSlot) {
            (uint256 index, uint256 mask, uint256 next) = _span(slot, endSlot);
            uint256 word = calendar[index];
            if (word & mask != 0) revert Unavailable(listingId, firstSlot, units);
            calendar[index] = word | mask | WORD_IN_USE;
            slot = next;
        }
    }

    /// @dev Marks periods free again. The word stays in use (nonzero), so booking it again is cheap.
    function _free(bytes32 listingId, uint32 firstSlot, uint32 units) private {
        uint256 slot = firstSlot;
        uint256 endSlot = slot + units;
        mapping(uint256 => uint256) storage calendar = _calendars[listingId];
        while (slot < endSlot) {
            (uint256 index, uint256 mask, uint256 next) = _span(slot, endSlot);
            calendar[index] &= ~mask;
            slot = next;
        }
    }

    /// @dev The calendar word holding `slot`, the mask of the periods from `slot` to `endSlot` (or
    /// the word's end), and the first period after them.
    function _span(uint256 slot, uint256 endSlot) private pure returns (uint256 index, uint256 mask, uint256 next) {
        index = slot / SLOTS_PER_WORD;
        uint256 bit = slot % SLOTS_PER_WORD;
        uint256 n = SLOTS_PER_WORD - bit;
        if (endSlot - slot < n) n = endSlot - slot;
        // n <= 255 - bit, so the mask stays below bit 255.
        mask = ((1 << n) - 1) << bit;
        next = slot + n;
    }

    /// @dev Stores a new booking under a fresh id.
    function _store(Booking memory b) private returns (bytes32 bookingId) {
        bookingId = keccak256(abi.encode(b.listingId, b.firstSlot, block.number));
        if (_bookings[bookingId] != 0) revert BookingExists(bookingId);
        _bookings[bookingId] = _hashBooking(b);
    }

    function _openDispute(bytes32 bookingId, Booking memory b, uint8 extraFlags, bytes calldata evidenceCid) private {
        b.state = BookingState.Disputed;
        b.flags |= WAS_DISPUTED | extraFlags;
        // Cannot overflow uint40 before the year 36812.
        b.deadline = uint40(block.timestamp + RULING_WINDOW);
        _bookings[bookingId] = _hashBooking(b);
        emit Disputed(bookingId, msg.sender, b.deadline, evidenceCid);
    }

    /// @dev Loads a booking passed by the caller, checking it against the stored hash.
    function _load(bytes32 bookingId, Booking calldata booking) private view returns (Booking memory b) {
        b = booking;
        uint256 rec = _bookings[bookingId];
        if (rec == 0 || rec & HASH_MASK != _hashBooking(b)) revert UnknownBooking(bookingId);
    }

    /// @dev What a booking holds: the deposit, and the rent unless it was paid at a damage claim.
    function _held(Booking memory b) private pure returns (uint256) {
        return b.flags & RENT_PAID == 0 ? b.rent + b.deposit : b.deposit;
    }

    /// @dev The arbitrator's fee on what a disputed booking holds, and the rest to split.
    function _feeAndRest(Booking memory b) private pure returns (uint256 fee, uint256 available) {
        available = _held(b);
        // held < 2^146 and fee bps <= 1000: the product cannot overflow, and fee <= held / 10.
        unchecked {
            fee = available * b.arbitratorFeeBps / 10_000;
            available -= fee;
        }
    }

    function _checkEvidence(bytes calldata evidenceCid) private pure {
        if (evidenceCid.length > MAX_CID_LENGTH) revert InvalidEvidence(evidenceCid.length);
    }

    function _validateTerms(RentalTerms calldata terms) private view {
        if (terms.rate == 0 || terms.rate > MAX_AMOUNT || terms.deposit > MAX_AMOUNT) {
            revert InvalidRate(terms.rate, terms.deposit);
        }
        if (terms.arbitrator == terms.owner) revert ArbitratorIsParty(terms.arbitrator);
        if (
            terms.arbitratorFeeBps > MAX_ARBITRATOR_FEE_BPS
                || (terms.arbitrator == address(0) && terms.arbitratorFeeBps != 0)
        ) revert InvalidArbitratorFee(terms.arbitratorFeeBps);
        if (
            terms.unit < MIN_UNIT || terms.unit > MAX_UNIT || terms.firstStart == 0
                || terms.lastEnd <= terms.firstStart || terms.lastEnd - terms.firstStart > MAX_SPAN
                || terms.lastEnd <= block.timestamp || terms.lastEnd > LAST_TIME
        ) revert InvalidCalendar(terms.unit, terms.firstStart, terms.lastEnd);
        if (terms.minUnits == 0 || terms.minUnits > terms.maxUnits || terms.maxUnits > MAX_UNITS) {
            revert InvalidLengths(terms.minUnits, terms.maxUnits);
        }
        if (
            terms.leadTime > MAX_WINDOW || terms.freeCancel > MAX_WINDOW || terms.claimWindow > MAX_WINDOW
                || terms.lateRefundBps > 10_000
        ) revert InvalidPolicy();
        if (terms.cidPrefix == 0 || terms.cidDigest == 0) revert InvalidCid(terms.cidPrefix, terms.cidDigest);
    }

    /// @dev The record of a live listing with these terms: the live bit, the grid and the top 182
    /// bits of the terms hash (see {IBookings-listingRecord}).
    function _listingRecord(RentalTerms calldata terms) private pure returns (uint256) {
        return LIVE | (uint256(terms.firstStart) << 214) | (uint256(terms.unit) << 182)
            | (uint256(_hashTerms(terms)) >> 74);
    }

    /// @dev `keccak256(typeHash || abi.encode(terms))`: the terms are 17 static fields, each one
    /// ABI word, hashed straight from calldata. Dirty padding can only fail the comparison.
    function _hashTerms(RentalTerms calldata terms) private pure returns (bytes32 h) {
        bytes32 typeHash = RENTAL_TERMS_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), terms, 0x220)
            h := keccak256(ptr, 0x240)
        }
    }

    /// @dev `keccak256(abi.encode(b))` with the two rating bits cleared: a memory struct of 18 value
    /// types is laid out like its ABI encoding, so it is hashed in place.
    function _hashBooking(Booking memory b) private pure returns (uint256 h) {
        assembly ("memory-safe") {
            h := keccak256(b, 576)
        }
        h &= HASH_MASK;
    }
}
