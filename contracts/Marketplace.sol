// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {Payouts} from "./base/Payouts.sol";
import {IMarketplace} from "./interfaces/IMarketplace.sol";
import {Reputation} from "./Reputation.sol";
import {ListingTerms, Offer, Permit, Trade, TradeState} from "./types/MarketplaceTypes.sol";

/// @title p2pchain marketplace escrow
/// @notice See {IMarketplace}. No owner, no admin, no fee: the constructor argument is the only
/// configuration, and it cannot change.
/// @dev Reentrancy: every function writes its state before any external call (checks, effects,
/// interactions), and each trade's state is its own record, so a call made from outside code can
/// only act on state that is already final. On top of that, every call that gives outside code
/// unbounded gas (ERC-20 transfers, withdrawals) runs under OpenZeppelin's ReentrancyGuard, so such
/// code can never start another of them. Payouts forward bounded gas (`PAYOUT_GAS` for the native
/// currency, `TOKEN_PAYOUT_GAS` for ERC-20s), so a hostile receiver or token cannot make a
/// settlement cost its caller more than that.
contract Marketplace is IMarketplace, EIP712, Payouts {
    /// @notice Highest arbitrator fee a listing may name, in basis points (10%).
    uint16 public constant MAX_ARBITRATOR_FEE_BPS = 1_000;
    /// @notice Longest review window a listing may name.
    uint32 public constant MAX_REVIEW_WINDOW = 365 days;
    /// @notice Bounds of the ruling window given to the constructor.
    uint32 public constant MIN_RULING_WINDOW = 1 hours;
    uint32 public constant MAX_RULING_WINDOW = 90 days;
    /// @notice Highest unit price or unit deposit, so that totals never overflow.
    uint256 public constant MAX_UNIT_AMOUNT = type(uint128).max;
    /// @notice EIP-712 type hash of {ListingTerms}.
    bytes32 public constant LISTING_TERMS_TYPEHASH = keccak256(
        "ListingTerms(address seller,address token,uint256 price,uint256 deposit,address arbitrator,"
        "uint16 arbitratorFeeBps,uint32 reviewWindow,uint40 expiry,bytes8 cidPrefix,bytes32 cidDigest)"
    );
    /// @notice EIP-712 type hash of a signed listing: the terms, the units on offer and a salt.
    bytes32 public constant LISTING_TYPEHASH = keccak256(
        "Listing(ListingTerms terms,uint32 quantity,bytes32 salt)"
        "ListingTerms(address seller,address token,uint256 price,uint256 deposit,address arbitrator,"
        "uint16 arbitratorFeeBps,uint32 reviewWindow,uint40 expiry,bytes8 cidPrefix,bytes32 cidDigest)"
    );

    /// @notice EIP-712 type hash of a buyer's {Offer}.
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(ListingTerms terms,bytes32 listingId,address buyer,uint32 quantity,uint256 price,uint40 expiry,"
        "uint64 counter,bytes32 salt)"
        "ListingTerms(address seller,address token,uint256 price,uint256 deposit,address arbitrator,"
        "uint16 arbitratorFeeBps,uint32 reviewWindow,uint40 expiry,bytes8 cidPrefix,bytes32 cidDigest)"
    );

    // Record encodings; see the storage layout in {IMarketplace}.
    uint256 private constant SPENT = 1;
    uint256 private constant LIVE_TAG_BIT = 1 << 191; // bit 255 of a record, once shifted left by 64
    uint256 private constant TRADE_HASH_MASK = type(uint256).max >> 1 & ~uint256(3);
    uint256 private constant RATED_BY_BUYER = 1;
    uint256 private constant RATED_BY_SELLER = 2;

    // Trade.flags bits.
    uint8 private constant AMOUNT_RELEASED = 1;
    uint8 private constant DEPOSIT_RETURNED = 2;
    uint8 private constant PROPOSED_BY_BUYER = 4;
    uint8 private constant PROPOSED_BY_SELLER = 8;
    uint8 private constant PROPOSAL_MASK = PROPOSED_BY_BUYER | PROPOSED_BY_SELLER;
    uint8 private constant WAS_DISPUTED = 16;

    /// @inheritdoc IMarketplace
    address public immutable override REPUTATION;
    /// @inheritdoc IMarketplace
    uint32 public immutable override RULING_WINDOW;

    mapping(bytes32 key => uint256 value) private _records;
    mapping(address buyer => uint64 counter) private _offerCounters;

    /// @param rulingWindow Seconds the arbitrator has to rule after a dispute, within
    /// [`MIN_RULING_WINDOW`, `MAX_RULING_WINDOW`].
    constructor(uint32 rulingWindow) EIP712("p2pchain Marketplace", "1") {
        if (rulingWindow < MIN_RULING_WINDOW || rulingWindow > MAX_RULING_WINDOW) {
            revert InvalidRulingWindow(rulingWindow);
        }
        RULING_WINDOW = rulingWindow;
        REPUTATION = address(new Reputation(rulingWindow));
    }

    // ================================================================ listings

    /// @inheritdoc IMarketplace
    function list(ListingTerms calldata terms, bytes32 salt, uint32 quantity)
        external
        override
        returns (bytes32 listingId)
    {
        if (terms.seller != msg.sender) revert NotSeller(msg.sender, terms.seller);
        if (quantity == 0) revert ZeroQuantity();
        _validateTerms(terms);
        if (terms.expiry != 0 && terms.expiry <= block.timestamp) revert InvalidExpiry(terms.expiry);

        listingId = keccak256(abi.encodePacked(msg.sender, salt));
        if (_records[listingId] != 0) revert ListingExists(listingId);
        _records[listingId] = _listingRecord(_hashTerms(terms), 0, quantity);
        emit Listed(listingId, msg.sender, salt, quantity, terms);
    }

    /// @inheritdoc IMarketplace
    function updateListing(bytes32 salt, ListingTerms calldata terms, uint32 remaining) external override {
        bytes32 listingId = keccak256(abi.encodePacked(msg.sender, salt));
        uint256 rec = _records[listingId];
        if (!_isLive(rec)) revert ListingNotActive(listingId);
        if (terms.seller != msg.sender) revert NotSeller(msg.sender, terms.seller);
        if (remaining == 0) revert ZeroQuantity();
        _validateTerms(terms);
        if (terms.expiry != 0 && terms.expiry <= block.timestamp) revert InvalidExpiry(terms.expiry);

        _records[listingId] = _listingRecord(_hashTerms(terms), uint32(rec >> 32), remaining);
        emit ListingUpdated(listingId, msg.sender, remaining, terms);
    }

    /// @inheritdoc IMarketplace
    function closeListing(bytes32 salt) external override {
        bytes32 listingId = keccak256(abi.encodePacked(msg.sender, salt));
        if (!_isLive(_records[listingId])) revert ListingNotActive(listingId);
        _records[listingId] = SPENT;
        emit ListingClosed(listingId, msg.sender);
    }

    /// @inheritdoc IMarketplace
    function cancelSignedListing(ListingTerms calldata terms, uint32 quantity, bytes32 salt) external override {
        if (terms.seller != msg.sender) revert NotSeller(msg.sender, terms.seller);
        bytes32 listingId = _signedListingDigest(terms, quantity, salt);
        uint256 rec = _records[listingId];
        // Unused (never bought) or partly sold: cancel. Spent, or taken over by its last trade: gone.
        if (rec != 0 && !_isLive(rec)) revert ListingNotActive(listingId);
        _records[listingId] = SPENT;
        emit ListingClosed(listingId, msg.sender);
    }

    // ================================================================ buying

    /// @inheritdoc IMarketplace
    function buy(bytes32 listingId, ListingTerms calldata terms, uint32 quantity)
        external
        payable
        override
        returns (bytes32 tradeId)
    {
        return _buy(listingId, terms, quantity, _noPermit());
    }

    /// @inheritdoc IMarketplace
    function buySigned(
        ListingTerms calldata terms,
        uint32 listedQuantity,
        bytes32 salt,
        bytes calldata signature,
        uint32 quantity
    ) external payable override returns (bytes32 tradeId) {
        return _buySigned(terms, listedQuantity, salt, signature, quantity, _noPermit());
    }

    /// @inheritdoc IMarketplace
    function buyWithPermit(bytes32 listingId, ListingTerms calldata terms, uint32 quantity, Permit calldata permit)
        external
        override
        returns (bytes32 tradeId)
    {
        return _buy(listingId, terms, quantity, _permit(terms.token, msg.sender, permit));
    }

    /// @inheritdoc IMarketplace
    function buySignedWithPermit(
        ListingTerms calldata terms,
        uint32 listedQuantity,
        bytes32 salt,
        bytes calldata signature,
        uint32 quantity,
        Permit calldata permit
    ) external override returns (bytes32 tradeId) {
        return _buySigned(terms, listedQuantity, salt, signature, quantity, _permit(terms.token, msg.sender, permit));
    }

    // ================================================================ offers

    /// @inheritdoc IMarketplace
    function acceptOffer(Offer calldata offer, bytes calldata signature, Permit calldata permit)
        external
        override
        returns (bytes32 tradeId)
    {
        ListingTerms calldata terms = offer.terms;
        if (terms.seller != msg.sender) revert NotSeller(msg.sender, terms.seller);
        bytes32 termsHash = _hashTerms(terms);
        tradeId = _offerDigest(offer, termsHash);
        if (block.timestamp >= offer.expiry) revert OfferExpired(tradeId, offer.expiry);
        uint256 used = _records[tradeId];
        if (used == SPENT) revert OfferRevoked(tradeId);
        if (used != 0) revert OfferUsed(tradeId);
        address buyer = offer.buyer;
        if (offer.counter != _offerCounters[buyer]) revert OfferRevoked(tradeId);
        if (offer.price == 0 || offer.price > MAX_UNIT_AMOUNT) revert InvalidPrice(offer.price, terms.deposit);
        bytes32 listingId = offer.listingId;
        uint256 rec = _records[listingId];
        if (!_isLive(rec)) revert ListingNotActive(listingId);
        if (rec >> 64 != _tag(termsHash)) revert TermsChanged(listingId);
        _checkSignature(buyer, tradeId, signature);

        (Trade memory t, uint32 remaining) = _newTrade(listingId, rec, terms, buyer, offer.price, offer.quantity);
        // The trade lives under the offer's digest, so the offer can never be accepted twice; a
        // listing whose last units it took is spent.
        _records[listingId] = remaining == 0 ? SPENT : _soldRecord(listingId, rec, offer.quantity, remaining);
        _records[tradeId] = _hashTrade(t);
        emit OfferAccepted(tradeId, listingId, buyer, offer.quantity, remaining, offer.price);

        _collectFrom(t.token, buyer, t.amount + t.deposit, permit, tradeId);
    }

    /// @inheritdoc IMarketplace
    function cancelOffer(Offer calldata offer) external override {
        bytes32 offerId = _offerDigest(offer, _hashTerms(offer.terms));
        if (offer.buyer != msg.sender) revert Unauthorized(offerId, msg.sender);
        uint256 used = _records[offerId];
        if (used == SPENT) revert OfferRevoked(offerId);
        if (used != 0) revert OfferUsed(offerId);
        _records[offerId] = SPENT;
        emit OfferCancelled(offerId, msg.sender);
    }

    /// @inheritdoc IMarketplace
    function cancelAllOffers() external override returns (uint64 counter) {
        // One call per increment: the counter cannot reach 2^64.
        unchecked {
            counter = _offerCounters[msg.sender] + 1;
        }
        _offerCounters[msg.sender] = counter;
        emit AllOffersCancelled(msg.sender, counter);
    }

    /// @inheritdoc IMarketplace
    function addCredit(address account) external payable override {
        if (account == address(0)) revert InvalidRecipient(account);
        if (msg.value == 0) revert WrongPayment(1, 0);
        _addCredit(address(0), account, msg.value);
    }

    // ================================================================ internals of buying

    function _buy(bytes32 listingId, ListingTerms calldata terms, uint32 quantity, bool viaPermit2)
        private
        returns (bytes32)
    {
        uint256 rec = _records[listingId];
        if (!_isLive(rec)) revert ListingNotActive(listingId);
        if (rec >> 64 != _tag(_hashTerms(terms))) revert TermsChanged(listingId);
        return _purchase(listingId, rec, terms, quantity, viaPermit2);
    }

    function _buySigned(
        ListingTerms calldata terms,
        uint32 listedQuantity,
        bytes32 salt,
        bytes calldata signature,
        uint32 quantity,
        bool viaPermit2
    ) private returns (bytes32 tradeId) {
        bytes32 listingId = _signedListingDigest(terms, listedQuantity, salt);
        uint256 rec = _records[listingId];
        if (rec == 0) {
            // First purchase: check the terms and the seller's signature once. Later purchases of
            // the same listing find its live record under the digest, which only this path writes.
            _validateTerms(terms);
            if (listedQuantity == 0) revert ZeroQuantity();
            _checkSignature(terms.seller, listingId, signature);
            rec = _listingRecord(listingId, 0, listedQuantity);
            emit SignedListingUsed(listingId, terms.seller, salt, listedQuantity, terms);
        } else if (!_isLive(rec)) {
            revert ListingNotActive(listingId);
        }
        return _purchase(listingId, rec, terms, quantity, viaPermit2);
    }

    // ================================================================ settling

    /// @inheritdoc IMarketplace
    function release(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _loadOpen(tradeId, trade);
        if (msg.sender != t.buyer) revert Unauthorized(tradeId, msg.sender);
        if (t.flags & AMOUNT_RELEASED != 0) revert NothingToRelease(tradeId);

        t.flags = (t.flags | AMOUNT_RELEASED) & ~PROPOSAL_MASK;
        t.proposedBuyerShare = 0;
        if (t.deposit == 0 || t.flags & DEPOSIT_RETURNED != 0) t.state = TradeState.Completed;
        _records[tradeId] = _hashTrade(t);
        emit Released(tradeId);

        _pay(t.token, t.seller, t.amount);
    }

    /// @inheritdoc IMarketplace
    function returnDeposit(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _loadOpen(tradeId, trade);
        if (msg.sender != t.seller) revert Unauthorized(tradeId, msg.sender);
        if (t.deposit == 0 || t.flags & DEPOSIT_RETURNED != 0) revert NothingToRelease(tradeId);

        t.flags = (t.flags | DEPOSIT_RETURNED) & ~PROPOSAL_MASK;
        t.proposedBuyerShare = 0;
        if (t.flags & AMOUNT_RELEASED != 0) t.state = TradeState.Completed;
        _records[tradeId] = _hashTrade(t);
        emit DepositReturned(tradeId);

        _pay(t.token, t.buyer, t.deposit);
    }

    /// @inheritdoc IMarketplace
    function refund(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _loadOpen(tradeId, trade);
        if (msg.sender != t.seller) revert Unauthorized(tradeId, msg.sender);

        (uint256 sellerPot, uint256 buyerPot) = _held(t);
        t.state = TradeState.Refunded;
        _records[tradeId] = _hashTrade(t);
        emit Refunded(tradeId);

        _pay(t.token, t.buyer, sellerPot + buyerPot);
    }

    /// @inheritdoc IMarketplace
    function finalize(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _load(tradeId, trade);
        if (t.state != TradeState.Paid) revert TradeNotInState(tradeId, t.state);
        if (block.timestamp < t.deadline) revert WindowOpen(tradeId, t.deadline);

        (uint256 sellerPot, uint256 buyerPot) = _held(t);
        t.state = TradeState.Completed;
        _records[tradeId] = _hashTrade(t);
        emit Finalized(tradeId);

        _pay(t.token, t.seller, sellerPot);
        _pay(t.token, t.buyer, buyerPot);
    }

    /// @inheritdoc IMarketplace
    function dispute(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _load(tradeId, trade);
        if (t.state != TradeState.Paid) revert TradeNotInState(tradeId, t.state);
        if (t.arbitrator == address(0)) revert NoArbitrator(tradeId);
        if (block.timestamp >= t.deadline) revert WindowClosed(tradeId, t.deadline);
        // A party may dispute unless it has waived its claim: the buyer by releasing the price, the
        // seller by returning the deposit.
        if (msg.sender == t.buyer) {
            if (t.flags & AMOUNT_RELEASED != 0) revert Unauthorized(tradeId, msg.sender);
        } else if (msg.sender == t.seller) {
            if (t.flags & DEPOSIT_RETURNED != 0) revert Unauthorized(tradeId, msg.sender);
        } else {
            revert Unauthorized(tradeId, msg.sender);
        }

        t.state = TradeState.Disputed;
        // A proposal lives only in the window it was made in (see {IMarketplace-proposeSettlement}).
        t.flags = (t.flags & ~PROPOSAL_MASK) | WAS_DISPUTED;
        t.proposedBuyerShare = 0;
        // Cannot overflow uint40 before the year 36812.
        t.deadline = uint40(block.timestamp + RULING_WINDOW);
        _records[tradeId] = _hashTrade(t);
        emit Disputed(tradeId, msg.sender, t.deadline);
    }

    /// @inheritdoc IMarketplace
    function proposeSettlement(bytes32 tradeId, Trade calldata trade, uint256 buyerShare) external override {
        Trade memory t = _loadOpen(tradeId, trade);
        uint8 proposer;
        if (msg.sender == t.buyer) proposer = PROPOSED_BY_BUYER;
        else if (msg.sender == t.seller) proposer = PROPOSED_BY_SELLER;
        else revert Unauthorized(tradeId, msg.sender);
        if (block.timestamp >= t.deadline) revert WindowClosed(tradeId, t.deadline);
        (, uint256 available) = _feeAndRest(t);
        if (buyerShare > available) revert ShareTooLarge(tradeId, buyerShare, available);

        t.flags = (t.flags & ~PROPOSAL_MASK) | proposer;
        t.proposedBuyerShare = buyerShare;
        _records[tradeId] = _hashTrade(t);
        emit SettlementProposed(tradeId, msg.sender, buyerShare);
    }

    /// @inheritdoc IMarketplace
    function withdrawProposal(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _loadOpen(tradeId, trade);
        uint8 proposer = t.flags & PROPOSAL_MASK;
        if (proposer == 0) revert NoProposal(tradeId);
        if (msg.sender != (proposer == PROPOSED_BY_BUYER ? t.buyer : t.seller)) {
            revert Unauthorized(tradeId, msg.sender);
        }

        t.flags &= ~PROPOSAL_MASK;
        t.proposedBuyerShare = 0;
        _records[tradeId] = _hashTrade(t);
        emit ProposalWithdrawn(tradeId, msg.sender);
    }

    /// @inheritdoc IMarketplace
    function acceptSettlement(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _loadOpen(tradeId, trade);
        uint8 proposer = t.flags & PROPOSAL_MASK;
        if (proposer == 0) revert NoProposal(tradeId);
        address acceptor = proposer == PROPOSED_BY_BUYER ? t.seller : t.buyer;
        if (msg.sender != acceptor) revert Unauthorized(tradeId, msg.sender);
        if (block.timestamp >= t.deadline) revert WindowClosed(tradeId, t.deadline);

        (uint256 fee, uint256 available) = _feeAndRest(t);
        uint256 buyerShare = t.proposedBuyerShare;
        t.state = TradeState.Settled;
        _records[tradeId] = _hashTrade(t);
        emit Settled(tradeId, buyerShare, fee);

        _pay(t.token, t.arbitrator, fee);
        _pay(t.token, t.buyer, buyerShare);
        // buyerShare <= available was checked when it was proposed. Only release, returnDeposit
        // and dispute change the pots or the fee, and each clears the proposal.
        unchecked {
            _pay(t.token, t.seller, available - buyerShare);
        }
    }

    /// @inheritdoc IMarketplace
    function rule(bytes32 tradeId, Trade calldata trade, uint256 buyerShare) external override {
        Trade memory t = _load(tradeId, trade);
        if (t.state != TradeState.Disputed) revert TradeNotInState(tradeId, t.state);
        if (msg.sender != t.arbitrator) revert Unauthorized(tradeId, msg.sender);
        if (block.timestamp >= t.deadline) revert WindowClosed(tradeId, t.deadline);

        (uint256 fee, uint256 available) = _feeAndRest(t);
        if (buyerShare > available) revert ShareTooLarge(tradeId, buyerShare, available);

        t.state = TradeState.Ruled;
        // The final struct records the split, so a rating can tell what the seller was paid.
        t.flags &= ~PROPOSAL_MASK;
        t.proposedBuyerShare = buyerShare;
        _records[tradeId] = _hashTrade(t);
        emit Ruled(tradeId, buyerShare, fee);

        _pay(t.token, t.arbitrator, fee);
        _pay(t.token, t.buyer, buyerShare);
        // buyerShare <= available was checked above.
        unchecked {
            _pay(t.token, t.seller, available - buyerShare);
        }
    }

    /// @inheritdoc IMarketplace
    function claimRulingTimeout(bytes32 tradeId, Trade calldata trade) external override {
        Trade memory t = _load(tradeId, trade);
        if (t.state != TradeState.Disputed) revert TradeNotInState(tradeId, t.state);
        if (block.timestamp < t.deadline) revert WindowOpen(tradeId, t.deadline);

        (uint256 sellerPot, uint256 buyerPot) = _held(t);
        t.state = TradeState.RulingTimedOut;
        _records[tradeId] = _hashTrade(t);
        emit RulingTimedOut(tradeId);

        _pay(t.token, t.buyer, sellerPot + buyerPot);
    }

    // ================================================================ reputation hook

    /// @inheritdoc IMarketplace
    function consumeRating(bytes32 tradeId, Trade calldata trade, address rater)
        external
        override
        returns (address subject, uint256 value)
    {
        if (msg.sender != REPUTATION) revert Unauthorized(tradeId, msg.sender);
        uint256 rec = _records[tradeId];
        if (!_matches(rec, _hashTrade(trade))) revert UnknownTrade(tradeId);
        if (trade.state < TradeState.Completed) revert TradeNotFinal(tradeId, trade.state);

        uint256 bit;
        if (rater == trade.buyer) {
            bit = RATED_BY_BUYER;
            subject = trade.seller;
        } else if (rater == trade.seller) {
            bit = RATED_BY_SELLER;
            subject = trade.buyer;
        } else {
            revert Unauthorized(tradeId, rater);
        }
        if (rec & bit != 0) revert AlreadyRated(tradeId, rater);
        _records[tradeId] = rec | bit;
        value = _sellerProceeds(trade);
    }

    // ================================================================ views

    /// @inheritdoc IMarketplace
    function record(bytes32 key) external view override returns (uint256) {
        return _records[key];
    }

    /// @inheritdoc IMarketplace
    function listingState(bytes32 listingId)
        external
        view
        override
        returns (bool live, uint256 termsTag, uint32 sold, uint32 remaining)
    {
        uint256 rec = _records[listingId];
        if (!_isLive(rec)) return (false, 0, 0, 0);
        return (true, (rec >> 64) & ~LIVE_TAG_BIT, uint32(rec >> 32), uint32(rec));
    }

    /// @inheritdoc IMarketplace
    function checkTrade(bytes32 tradeId, Trade calldata trade)
        external
        view
        override
        returns (bool current, uint8 rated)
    {
        uint256 rec = _records[tradeId];
        if (!_matches(rec, _hashTrade(trade))) return (false, 0);
        return (true, uint8(rec & 3));
    }

    /// @inheritdoc IMarketplace
    function hashTerms(ListingTerms calldata terms) external pure override returns (bytes32) {
        return _hashTerms(terms);
    }

    /// @inheritdoc IMarketplace
    function signedListingDigest(ListingTerms calldata terms, uint32 quantity, bytes32 salt)
        external
        view
        override
        returns (bytes32)
    {
        return _signedListingDigest(terms, quantity, salt);
    }

    /// @inheritdoc IMarketplace
    function offerCounter(address buyer) external view override returns (uint64) {
        return _offerCounters[buyer];
    }

    /// @inheritdoc IMarketplace
    function offerDigest(Offer calldata offer) external view override returns (bytes32) {
        return _offerDigest(offer, _hashTerms(offer.terms));
    }

    /// @inheritdoc IMarketplace
    function hashTrade(Trade calldata trade) external pure override returns (uint256) {
        return _hashTrade(trade);
    }

    /// @notice The EIP-712 domain separator of this marketplace (chain and address bound).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ================================================================ internals

    /// @dev Opens a trade for `quantity` units of the listing stored as `rec` under `listingId`,
    /// whose `terms` the caller has already matched, and collects the payment. Its checks and
    /// trade are those of {_newTrade} with the caller as buyer at the asking price, written out
    /// here: calling {_newTrade} instead cost every purchase 308 gas (measured on Anvil).
    function _purchase(
        bytes32 listingId,
        uint256 rec,
        ListingTerms calldata terms,
        uint32 quantity,
        bool viaPermit2
    )
        private
        returns (bytes32 tradeId)
    {
        if (quantity == 0) revert ZeroQuantity();
        if (terms.expiry != 0 && block.timestamp >= terms.expiry) revert ListingExpired(listingId, terms.expiry);
        if (msg.sender == terms.seller) revert SelfPurchase(msg.sender);
        if (msg.sender == terms.arbitrator) revert ArbitratorIsParty(msg.sender);
        uint32 remaining = uint32(rec);
        if (quantity > remaining) revert InsufficientQuantity(listingId, remaining, quantity);

        Trade memory t = Trade({
            buyer: msg.sender,
            seller: terms.seller,
            token: terms.token,
            arbitrator: terms.arbitrator,
            arbitratorFeeBps: terms.arbitratorFeeBps,
            // Unit amounts are <= 2^128 - 1 and quantity < 2^32: no overflow.
            amount: terms.price * quantity,
            deposit: terms.deposit * quantity,
            // reviewWindow <= 365 days: cannot overflow uint40 before the year 36812.
            deadline: uint40(block.timestamp + terms.reviewWindow),
            state: TradeState.Paid,
            flags: 0,
            proposedBuyerShare: 0
        });
        uint256 tradeHash = _hashTrade(t);

        // quantity <= remaining was checked above.
        unchecked {
            remaining -= quantity;
        }
        if (remaining == 0) {
            // The last units: the trade takes over the listing's record.
            tradeId = listingId;
            _records[listingId] = tradeHash;
        } else {
            uint256 sold = uint32(rec >> 32);
            // Unique: listing ids are never reused and `sold` only grows.
            tradeId = keccak256(abi.encode(listingId, sold));
            sold += quantity;
            if (sold > type(uint32).max) revert QuantityOverflow(listingId);
            _records[listingId] = ((rec >> 64) << 64) | (sold << 32) | remaining;
            _records[tradeId] = tradeHash;
        }
        emit Purchased(tradeId, listingId, msg.sender, quantity, remaining);

        _collect(t.token, t.amount + t.deposit, viaPermit2);
    }

    /// @dev The trade `buyer` opens by taking `quantity` units of the listing stored as `rec`, at
    /// `unitPrice` each (the asking price, or an accepted offer's), and the units left after it.
    function _newTrade(
        bytes32 listingId,
        uint256 rec,
        ListingTerms calldata terms,
        address buyer,
        uint256 unitPrice,
        uint32 quantity
    ) private view returns (Trade memory t, uint32 remaining) {
        if (quantity == 0) revert ZeroQuantity();
        if (terms.expiry != 0 && block.timestamp >= terms.expiry) revert ListingExpired(listingId, terms.expiry);
        if (buyer == terms.seller) revert SelfPurchase(buyer);
        if (buyer == terms.arbitrator) revert ArbitratorIsParty(buyer);
        remaining = uint32(rec);
        if (quantity > remaining) revert InsufficientQuantity(listingId, remaining, quantity);
        // quantity <= remaining was checked above.
        unchecked {
            remaining -= quantity;
        }
        t = Trade({
            buyer: buyer,
            seller: terms.seller,
            token: terms.token,
            arbitrator: terms.arbitrator,
            arbitratorFeeBps: terms.arbitratorFeeBps,
            // Unit amounts are <= 2^128 - 1 and quantity < 2^32: no overflow.
            amount: unitPrice * quantity,
            deposit: terms.deposit * quantity,
            // reviewWindow <= 365 days: cannot overflow uint40 before the year 36812.
            deadline: uint40(block.timestamp + terms.reviewWindow),
            state: TradeState.Paid,
            flags: 0,
            proposedBuyerShare: 0
        });
    }

    /// @dev A live listing record after `quantity` more units were sold, `remaining` (nonzero) left.
    function _soldRecord(bytes32 listingId, uint256 rec, uint32 quantity, uint32 remaining)
        private
        pure
        returns (uint256)
    {
        uint256 sold = uint256(uint32(rec >> 32)) + quantity;
        if (sold > type(uint32).max) revert QuantityOverflow(listingId);
        return ((rec >> 64) << 64) | (sold << 32) | remaining;
    }

    /// @dev Collects an accepted offer's `total` from its buyer: ETH from the buyer's credit, an
    /// ERC-20 from the buyer's balance after trying the permit. An offer whose funds or allowance
    /// are gone reverts with its own error before any pull.
    function _collectFrom(address token, address buyer, uint256 total, Permit calldata permit, bytes32 offerId)
        private
    {
        if (token == address(0)) {
            uint256 had = _takeCredit(address(0), buyer, total);
            if (had < total) revert OfferUnfunded(offerId, buyer, total, had);
            return;
        }
        bool viaPermit2 = _permit(token, buyer, permit);
        // Through Permit2, the token must be approved to Permit2 (whose own allowance the permit set).
        uint256 allowance = IERC20(token).allowance(buyer, viaPermit2 ? PERMIT2 : address(this));
        if (allowance < total) revert OfferNotApproved(offerId, buyer, total, allowance);
        uint256 balance = IERC20(token).balanceOf(buyer);
        if (balance < total) revert OfferUnfunded(offerId, buyer, total, balance);
        _pullToken(IERC20(token), buyer, total, viaPermit2);
    }

    /// @dev Accepts an ECDSA signature by `seller`, or, failing that, an ERC-1271 approval by the
    /// seller's contract. Trying ECDSA first spares EOA sellers (the usual case) a code-size lookup.
    function _checkSignature(address seller, bytes32 digest, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == seller) return;
        if (!SignatureChecker.isValidERC1271SignatureNow(seller, digest, signature)) {
            revert InvalidSignature(digest, seller);
        }
    }

    /// @dev Loads a trade passed by the caller, checking it against the stored hash.
    function _load(bytes32 tradeId, Trade calldata trade) private view returns (Trade memory t) {
        t = trade;
        if (!_matches(_records[tradeId], _hashTrade(t))) revert UnknownTrade(tradeId);
    }

    /// @dev As {_load}, and requires the trade to still hold funds (`Paid` or `Disputed`).
    function _loadOpen(bytes32 tradeId, Trade calldata trade) private view returns (Trade memory t) {
        t = _load(tradeId, trade);
        if (t.state != TradeState.Paid && t.state != TradeState.Disputed) revert TradeNotInState(tradeId, t.state);
    }

    /// @dev What the trade still holds: the price unless released, the deposit unless returned.
    function _held(Trade memory t) private pure returns (uint256 sellerPot, uint256 buyerPot) {
        sellerPot = t.flags & AMOUNT_RELEASED == 0 ? t.amount : 0;
        buyerPot = t.flags & DEPOSIT_RETURNED == 0 ? t.deposit : 0;
    }

    /// @dev How a split of what the trade holds begins: the arbitrator's fee if the trade was
    /// disputed (else 0), and the rest, `available`, to share between buyer and seller.
    function _feeAndRest(Trade memory t) private pure returns (uint256 fee, uint256 available) {
        (uint256 sellerPot, uint256 buyerPot) = _held(t);
        available = sellerPot + buyerPot;
        if (t.flags & WAS_DISPUTED != 0) {
            // held < 2^161 and fee bps <= 1000: the product cannot overflow, and fee <= held / 10.
            unchecked {
                fee = available * t.arbitratorFeeBps / 10_000;
                available -= fee;
            }
        }
    }

    /// @dev What the seller was paid (or credited) out of a final trade, from its struct alone:
    /// the price if it was released or the default outcome paid it, plus the seller's part of a
    /// settled or ruled split. See {IMarketplace-consumeRating}.
    function _sellerProceeds(Trade calldata trade) private pure returns (uint256 value) {
        TradeState state = trade.state;
        if (state == TradeState.Completed) return trade.amount;
        Trade memory t = trade;
        if (t.flags & AMOUNT_RELEASED != 0) value = t.amount;
        if (state == TradeState.Settled || state == TradeState.Ruled) {
            (, uint256 available) = _feeAndRest(t);
            // The buyer's share never exceeds `available` (checked when proposed or ruled), and
            // value + available <= amount + deposit < 2^161.
            unchecked {
                value += available - t.proposedBuyerShare;
            }
        }
    }

    function _validateTerms(ListingTerms calldata terms) private pure {
        if (terms.price == 0 || terms.price > MAX_UNIT_AMOUNT || terms.deposit > MAX_UNIT_AMOUNT) {
            revert InvalidPrice(terms.price, terms.deposit);
        }
        if (terms.arbitrator == terms.seller) revert ArbitratorIsParty(terms.arbitrator);
        if (
            terms.arbitratorFeeBps > MAX_ARBITRATOR_FEE_BPS
                || (terms.arbitrator == address(0) && terms.arbitratorFeeBps != 0)
        ) revert InvalidArbitratorFee(terms.arbitratorFeeBps);
        if (terms.reviewWindow == 0 || terms.reviewWindow > MAX_REVIEW_WINDOW) {
            revert InvalidReviewWindow(terms.reviewWindow);
        }
        if (terms.cidPrefix == 0 || terms.cidDigest == 0) revert InvalidCid(terms.cidPrefix, terms.cidDigest);
    }

    /// @dev EIP-712 `hashStruct(terms)`. The terms are ten static fields, and EIP-712 encodes each
    /// one exactly like the ABI does (one 32-byte word), so their calldata is hashed behind the
    /// type hash without decoding. Calldata with dirty padding hashes differently and can only
    /// fail (a terms mismatch or a bad signature); {list} and {updateListing} revert on it anyway,
    /// because emitting the terms ABI-validates every field.
    function _hashTerms(ListingTerms calldata terms) private pure returns (bytes32 h) {
        bytes32 typeHash = LISTING_TERMS_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), terms, 0x140)
            h := keccak256(ptr, 0x160)
        }
    }

    function _signedListingDigest(ListingTerms calldata terms, uint32 quantity, bytes32 salt)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(LISTING_TYPEHASH, _hashTerms(terms), quantity, salt)));
    }

    function _offerDigest(Offer calldata offer, bytes32 termsHash) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    OFFER_TYPEHASH,
                    termsHash,
                    offer.listingId,
                    offer.buyer,
                    offer.quantity,
                    offer.price,
                    offer.expiry,
                    offer.counter,
                    offer.salt
                )
            )
        );
    }

    /// @dev `keccak256(abi.encode(t))` with bit 255 and the two rating bits cleared. A memory struct
    /// of value types is laid out exactly like its ABI encoding (one clean word per field, 11
    /// fields), so it is hashed in place instead of being copied first.
    function _hashTrade(Trade memory t) private pure returns (uint256 h) {
        assembly ("memory-safe") {
            h := keccak256(t, 352)
        }
        h &= TRADE_HASH_MASK;
    }

    /// @dev Whether a stored record is the trade with hash `tradeHash` (ignoring its rating bits).
    function _matches(uint256 rec, uint256 tradeHash) private pure returns (bool) {
        return rec & TRADE_HASH_MASK == tradeHash && rec >> 255 == 0;
    }

    function _isLive(uint256 rec) private pure returns (bool) {
        return rec >> 255 != 0;
    }

    /// @dev The part of a live listing record above bit 64: the live bit and the top 191 bits of
    /// `termsHash`.
    function _tag(bytes32 termsHash) private pure returns (uint256) {
        return LIVE_TAG_BIT | (uint256(termsHash) >> 65);
    }

    function _listingRecord(bytes32 termsHash, uint256 sold, uint256 remaining) private pure returns (uint256) {
        return (_tag(termsHash) << 64) | (sold << 32) | remaining;
    }
}
