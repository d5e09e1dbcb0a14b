// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {IPayouts} from "./IPayouts.sol";
import {Booking, BookingState, RentalTerms} from "../types/BookingTypes.sol";
import {Permit} from "../types/MarketplaceTypes.sol";

/// @title p2pchain bookings
/// @notice Rentals booked by time: an owner lists an item with a rate per period, a deposit, a
/// bookable range, a lead time, a cancellation policy and a claim window; renters book free periods
/// of its calendar into escrow. Overlapping bookings are refused on-chain, and a booking costs the
/// same however many bookings the listing already has: the calendar is a bitmap, 255 periods per
/// storage word. There is no owner, admin, pause, upgrade or fee.
///
/// A booking's life:
/// - {book}: rent (rate x periods) plus the deposit go into escrow.
/// - {cancel}: the renter, before the start and before pickup, under the listing's policy (a full
///   refund until `freeCancelUntil`, then `lateRefundBps` of the rent; the deposit always comes
///   back); or the owner, at any time while booked, refunding everything.
/// - {pickup}: the renter confirms the handover, with photos; from then on it cannot cancel.
///   Without it, the start time is the pickup.
/// - {confirmReturn}: the owner confirms the return, from the start on: the rent goes to the owner
///   and the deposit back to the renter.
/// - {claimDamage}: the owner, from the start until `end + claimWindow`, disputes over the deposit
///   with evidence. The rent is paid to the owner at once; the arbitrator named in the listing
///   rules over the deposit, or the ruling window's end returns it to the renter.
/// - {dispute}: the renter, until `end + claimWindow`, puts everything held before the arbitrator.
/// - {finalize}: anyone, once `end + claimWindow` has passed: rent to the owner, deposit back.
/// Every state that holds money has an exit that needs nobody's cooperation: {finalize} after the
/// claim window, {claimRulingTimeout} after the ruling window.
///
/// Ratings: the Reputation contract (which deployed this one) rates settled bookings like trades,
/// one rating per side, valued by what the owner was paid (see {consumeRating}).
///
/// Errors: every error a call can revert with is declared here, ERC-6093's included.
interface IBookings is IERC20Errors, IPayouts {
    // ---------------------------------------------------------------- events

    /// @notice An owner listed an item for booking. `listingId = keccak256(abi.encodePacked(owner, salt))`.
    event RentalListed(bytes32 indexed listingId, address indexed owner, bytes32 salt, RentalTerms terms);

    /// @notice An owner changed a rental listing's terms, for future bookings only.
    event RentalUpdated(bytes32 indexed listingId, address indexed owner, RentalTerms terms);

    /// @notice A rental listing was closed: no new bookings; existing ones go on.
    event RentalClosed(bytes32 indexed listingId, address indexed owner);

    /// @notice A renter booked periods `firstSlot .. firstSlot + units - 1` and paid into escrow. The
    /// booking is fully determined by the listing's current terms (its latest {RentalListed} or
    /// {RentalUpdated}), the renter, `firstSlot` and `units`: `start = firstStart + firstSlot * unit`,
    /// `end = start + units * unit`, `freeCancelUntil = start - freeCancel` (0 if negative),
    /// `rent = rate * units`, `deadline = end + claimWindow`, state `Booked`, no flags, no share.
    /// @param bookingId `keccak256(abi.encode(listingId, firstSlot, block.number))`.
    event Booked(
        bytes32 indexed bookingId, bytes32 indexed listingId, address indexed renter, uint32 firstSlot, uint32 units
    );

    /// @notice The owner holds periods for themselves: a `Blocked` booking with renter = owner,
    /// times from the grid, no money, no policy, `deadline = end`.
    event PeriodBlocked(bytes32 indexed bookingId, bytes32 indexed listingId, uint32 firstSlot, uint32 units);

    /// @notice The owner released a blocked period; its record is deleted.
    event PeriodUnblocked(bytes32 indexed bookingId);

    /// @notice The renter cancelled before the start: `renterRefund` went back to it, `ownerShare`
    /// (the late-cancellation part of the rent) to the owner. The record is deleted and the periods
    /// are free again.
    event Cancelled(bytes32 indexed bookingId, uint256 renterRefund, uint256 ownerShare);

    /// @notice The owner cancelled: everything went back to the renter; state `Refunded`, and the
    /// periods are free again.
    event Refunded(bytes32 indexed bookingId);

    /// @notice The renter confirmed the pickup (flag bit 0), with evidence (photo CIDs) or none.
    event PickedUp(bytes32 indexed bookingId, bytes evidenceCid);

    /// @notice A party attached evidence (binary IPFS CID of photos or a report) to a booking.
    event Evidence(bytes32 indexed bookingId, address indexed by, bytes evidenceCid);

    /// @notice The owner confirmed the return: rent to the owner, deposit back; state `Completed`.
    event Returned(bytes32 indexed bookingId, bytes evidenceCid);

    /// @notice The claim window ended without a claim or dispute; rent to the owner, deposit back;
    /// state `Completed`.
    event Finalized(bytes32 indexed bookingId);

    /// @notice A party disputed (the owner: a damage claim, with the rent paid out at once, flag bit
    /// 1); state `Disputed` with `deadline = rulingDeadline`, flag bit 2 set.
    event Disputed(bytes32 indexed bookingId, address indexed by, uint40 rulingDeadline, bytes evidenceCid);

    /// @notice The arbitrator ruled; state `Ruled`, `renterShare` recorded; the owner got the rest
    /// of the held funds after `fee`.
    event Ruled(bytes32 indexed bookingId, uint256 renterShare, uint256 fee);

    /// @notice The ruling window ended without a ruling; everything held went back to the renter;
    /// state `RulingTimedOut`.
    event RulingTimedOut(bytes32 indexed bookingId);

    // ---------------------------------------------------------------- errors

    /// @notice `terms.owner` is not the caller.
    error NotOwner(address caller, address owner);
    /// @notice The rate is zero, or the rate or deposit is above 2^128 - 1.
    error InvalidRate(uint256 rate, uint256 deposit);
    /// @notice The period length or the bookable range is out of bounds (see `MIN_UNIT`, `MAX_UNIT`,
    /// `MAX_SPAN`), or the range is empty.
    error InvalidCalendar(uint32 unit, uint40 firstStart, uint40 lastEnd);
    /// @notice The minimum or maximum number of periods is out of bounds, or the minimum is above
    /// the maximum.
    error InvalidLengths(uint16 minUnits, uint16 maxUnits);
    /// @notice A lead time, cancellation or claim window above `MAX_WINDOW`, or a late refund above
    /// 100%.
    error InvalidPolicy();
    /// @notice The arbitrator would be the owner or the renter.
    error ArbitratorIsParty(address arbitrator);
    /// @notice The arbitrator fee is above `MAX_ARBITRATOR_FEE_BPS`, or set without an arbitrator.
    error InvalidArbitratorFee(uint16 feeBps);
    /// @notice The CID prefix or digest is zero.
    error InvalidCid(bytes8 cidPrefix, bytes32 cidDigest);
    /// @notice An evidence CID longer than `MAX_CID_LENGTH` bytes.
    error InvalidEvidence(uint256 length);
    /// @notice The ruling window given to the constructor is outside its bounds.
    error InvalidRulingWindow(uint32 rulingWindow);
    /// @notice The owner already used this salt.
    error ListingExists(bytes32 listingId);
    /// @notice The rental listing is closed or was never created.
    error ListingNotActive(bytes32 listingId);
    /// @notice The terms passed are not the listing's current terms.
    error TermsChanged(bytes32 listingId);
    /// @notice An update tried to change the calendar's grid (`unit` or `firstStart`).
    error GridChanged(bytes32 listingId);
    /// @notice The number of periods is outside the listing's minimum and maximum.
    error InvalidBookingLength(uint32 units, uint16 minUnits, uint16 maxUnits);
    /// @notice The period asked for ends after the listing's last bookable time.
    error OutsideCalendar(uint256 start, uint256 end, uint40 lastEnd);
    /// @notice The booking would start sooner than the lead time allows.
    error TooSoon(uint256 start, uint256 earliest);
    /// @notice One of the periods asked for is already booked or blocked.
    error Unavailable(bytes32 listingId, uint32 firstSlot, uint32 units);
    /// @notice The owner tried to book their own listing.
    error SelfBooking(address owner);
    /// @notice A booking with this id exists (booked, cancelled and rebooked in one block).
    error BookingExists(bytes32 bookingId);
    /// @notice The booking passed does not match the stored record (wrong id, or stale data).
    error UnknownBooking(bytes32 bookingId);
    /// @notice The booking is not in a state that allows this call.
    error BookingNotInState(bytes32 bookingId, BookingState current);
    /// @notice The caller is not allowed to make this call on this booking.
    error Unauthorized(bytes32 bookingId, address caller);
    /// @notice The listing has no arbitrator, so the booking cannot be disputed or claimed against.
    error NoArbitrator(bytes32 bookingId);
    /// @notice There is no deposit to claim against.
    error NothingToClaim(bytes32 bookingId);
    /// @notice The window for this call closed at `deadline`.
    error WindowClosed(bytes32 bookingId, uint40 deadline);
    /// @notice The window for this call opens (or the one before it closes) at `time`.
    error WindowOpen(bytes32 bookingId, uint40 time);
    /// @notice A split gives the renter more than there is to split.
    error ShareTooLarge(bytes32 bookingId, uint256 renterShare, uint256 available);
    /// @notice The booking has not reached a rateable final state.
    error BookingNotFinal(bytes32 bookingId, BookingState current);
    /// @notice The caller already rated this booking.
    error AlreadyRated(bytes32 bookingId, address rater);

    // ---------------------------------------------------------------- listings

    /// @notice List an item for booking; `terms.owner` must be the caller.
    function list(RentalTerms calldata terms, bytes32 salt) external returns (bytes32 listingId);

    /// @notice Change a listing's terms for future bookings. The grid (`unit`, `firstStart`) stays.
    function updateListing(bytes32 salt, RentalTerms calldata terms) external;

    /// @notice Close a listing: no new bookings.
    function closeListing(bytes32 salt) external;

    /// @notice The owner holds periods of its listing (created with `salt`) for itself.
    function blockPeriod(bytes32 salt, uint32 firstSlot, uint32 units) external returns (bytes32 bookingId);

    /// @notice The owner releases a period it blocked.
    function unblockPeriod(bytes32 bookingId, Booking calldata booking) external;

    // ---------------------------------------------------------------- bookings

    /// @notice Book periods `firstSlot .. firstSlot + units - 1` of a listing whose current terms are
    /// `terms`, paying rent and deposit (ETH as `msg.value`, or an ERC-20 pull).
    function book(bytes32 listingId, RentalTerms calldata terms, uint32 firstSlot, uint32 units)
        external
        payable
        returns (bytes32 bookingId);

    /// @notice {book} paying an ERC-20 with an EIP-2612 permit in the same transaction (no
    /// `approve`). The permit is tried first and its failure ignored (someone may have submitted
    /// it already); the booking then needs the allowance in place.
    function bookWithPermit(
        bytes32 listingId,
        RentalTerms calldata terms,
        uint32 firstSlot,
        uint32 units,
        Permit calldata permit
    ) external returns (bytes32 bookingId);

    /// @notice Renter (before the start and before pickup, under the policy) or owner (refunding
    /// everything, while booked): cancel, freeing the periods.
    function cancel(bytes32 bookingId, Booking calldata booking) external;

    /// @notice Renter, before the end: confirm the pickup, with optional evidence.
    function pickup(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid) external;

    /// @notice Renter or owner: attach evidence to a booking that is not deleted.
    function attachEvidence(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid) external;

    /// @notice Owner, from the start on: confirm the return; rent to the owner, deposit back.
    function confirmReturn(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid) external;

    /// @notice Owner, from the start until the claim window ends: claim damage against the deposit.
    /// The rent is paid out now; the arbitrator rules over the deposit.
    function claimDamage(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid) external;

    /// @notice Renter, until the claim window ends: dispute, putting everything held before the
    /// arbitrator.
    function dispute(bytes32 bookingId, Booking calldata booking, bytes calldata evidenceCid) external;

    /// @notice Anyone, once the claim window has ended: rent to the owner, deposit back.
    function finalize(bytes32 bookingId, Booking calldata booking) external;

    /// @notice Arbitrator, before the ruling window ends: give `renterShare` of the held funds after
    /// the fee to the renter and the rest to the owner.
    function rule(bytes32 bookingId, Booking calldata booking, uint256 renterShare) external;

    /// @notice Anyone, once the ruling window has ended without a ruling: everything held goes back
    /// to the renter (after a damage claim, that is the deposit; the rent was paid out already).
    function claimRulingTimeout(bytes32 bookingId, Booking calldata booking) external;

    // ---------------------------------------------------------------- reputation hook

    /// @notice Called by the Reputation contract when `rater` rates a booking: checks that it is
    /// final (`Completed`, `Refunded`, `Ruled` or `RulingTimedOut`), that `rater` is its renter or
    /// owner and has not rated it yet, and records that it has.
    /// @return subject The counterparty being rated.
    /// @return value What the owner was paid: the rent for `Completed`; for `Ruled` the rent if it
    /// was paid at a damage claim plus the owner's part of the split; for `RulingTimedOut` the rent
    /// if it was paid at a damage claim; 0 for `Refunded`.
    function consumeRating(bytes32 bookingId, Booking calldata booking, address rater)
        external
        returns (address subject, uint256 value);

    // ---------------------------------------------------------------- views

    /// @notice The Reputation contract that deployed this one.
    function REPUTATION() external view returns (address);

    /// @notice Seconds the arbitrator has to rule after a dispute.
    function RULING_WINDOW() external view returns (uint32);

    /// @notice A listing's stored record: 0 never used, 1 closed; a live one has bit 255 set, its
    /// grid's `firstStart` in bits 214..253 and `unit` in bits 182..213, and the top 182 bits of its
    /// terms hash in bits 0..181.
    function listingRecord(bytes32 listingId) external view returns (uint256);

    /// @notice A booking's stored record: 0 none (or cancelled, unblocked); else its hash in bits
    /// 2..255 and who rated it in bits 0..1 (bit 0 renter, bit 1 owner).
    function bookingRecord(bytes32 bookingId) external view returns (uint256);

    /// @notice Word `index` of a listing's calendar: bit `i` (i < 255) is period `index * 255 + i`,
    /// set when booked or blocked; bit 255 marks a word in use.
    function calendarWord(bytes32 listingId, uint256 index) external view returns (uint256);

    /// @notice Whether periods `firstSlot .. firstSlot + units - 1` are all free.
    function isFree(bytes32 listingId, uint32 firstSlot, uint32 units) external view returns (bool);

    /// @notice The hash that commits `terms`.
    function hashTerms(RentalTerms calldata terms) external pure returns (bytes32);

    /// @notice The hash stored for a booking (before the rating bits are added).
    function hashBooking(Booking calldata booking) external pure returns (uint256);
}
