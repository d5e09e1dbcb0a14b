// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What an owner offers for booking by time. Their hash (see {IBookings-hashTerms}) commits
/// a rental listing; the calendar of taken periods is kept beside it.
/// @dev Time is cut into periods of `unit` seconds from `firstStart`: period `i` runs from
/// `firstStart + i * unit` to `firstStart + (i + 1) * unit`. A booking takes whole periods, so the
/// time of day of `firstStart` is the pickup (and return) time for day rentals. `unit` and
/// `firstStart` fix the calendar's grid and can never change; everything else can, for future
/// bookings only.
struct RentalTerms {
    /// The account paid the rent, who confirms returns and may claim damage.
    address owner;
    /// ERC-20 token rent and deposit are paid in; `address(0)` for the chain's native currency.
    address token;
    /// Rent for one period, in the token's smallest unit. Never zero.
    uint256 rate;
    /// Refundable deposit per booking, returned after the end unless a damage claim succeeds.
    uint256 deposit;
    /// Who rules disputes and damage claims; `address(0)` for a listing without them.
    address arbitrator;
    /// The arbitrator's fee in basis points of the disputed funds, paid only when it rules.
    uint16 arbitratorFeeBps;
    /// Seconds in one period: from 15 minutes to 7 days (an hour or a day, usually).
    uint32 unit;
    /// Start of period 0: the earliest time a booking can start.
    uint40 firstStart;
    /// The latest time a booking can end.
    uint40 lastEnd;
    /// Fewest periods one booking may take (at least 1).
    uint16 minUnits;
    /// Most periods one booking may take (at most `MAX_UNITS`).
    uint16 maxUnits;
    /// Seconds that must be left between booking and start.
    uint32 leadTime;
    /// A renter who cancels at least this many seconds before the start gets everything back.
    uint32 freeCancel;
    /// Share of the rent, in basis points, a renter who cancels later (but before the start) gets
    /// back; the owner keeps the rest. The deposit always comes back on a cancellation.
    uint16 lateRefundBps;
    /// Seconds after a booking's end during which the owner may claim damage against the deposit
    /// and the renter may dispute; afterwards anyone can finalize the booking.
    uint32 claimWindow;
    /// The listing document's binary IPFS CID is `cidPrefix` (trailing zero bytes removed) followed
    /// by `cidDigest`, as in {ListingTerms}.
    bytes8 cidPrefix;
    /// The 32-byte multihash digest of the listing document's CID.
    bytes32 cidDigest;
}

/// @notice Where a booking is in its life. `Booked` and `Disputed` hold funds; every other state
/// after `None` is final and holds nothing. `Blocked` is an owner's own hold on the calendar.
enum BookingState {
    None,
    /// Rent and deposit are in escrow; the claim window runs until `deadline`.
    Booked,
    /// The renter disputed, or the owner claimed damage; the arbitrator may rule until `deadline`.
    Disputed,
    /// Returned or finalized: the rent went to the owner and the deposit back to the renter.
    Completed,
    /// The owner cancelled: everything went back to the renter.
    Refunded,
    /// The arbitrator ruled a split and took its fee.
    Ruled,
    /// The arbitrator did not rule in time; everything still held went back to the renter.
    RulingTimedOut,
    /// The owner holds these periods for themselves (own use, maintenance); no money is involved.
    Blocked
}

/// @notice Everything later calls need to know about a booking. Only its hash is stored; callers
/// pass the struct back, rebuilt off-chain from the events (see {IBookings-Booked}).
struct Booking {
    bytes32 listingId;
    /// The renter; the owner for a `Blocked` period.
    address renter;
    address owner;
    address token;
    address arbitrator;
    uint16 arbitratorFeeBps;
    /// First period taken, and how many.
    uint32 firstSlot;
    uint32 units;
    /// When the booking starts and ends (unix seconds).
    uint40 start;
    uint40 end;
    /// Until when a renter's cancellation refunds everything; after it, until `start`, only
    /// `lateRefundBps` of the rent.
    uint40 freeCancelUntil;
    uint16 lateRefundBps;
    /// Rent (rate x periods) and deposit held.
    uint256 rent;
    uint256 deposit;
    /// `Booked`: end of the claim window (`end + claimWindow`). `Disputed`: end of the ruling
    /// window. Final: the last deadline.
    uint40 deadline;
    BookingState state;
    /// Bit 0: the renter confirmed pickup (no cancellation any more). Bit 1: the rent was paid to
    /// the owner when it claimed damage, so only the deposit is held. Bit 2: disputed, by either.
    uint8 flags;
    /// `Ruled`: the renter's share of what was held, after the arbitrator's fee.
    uint256 renterShare;
}
