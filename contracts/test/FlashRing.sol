// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC3156FlashBorrower} from "@openzeppelin/contracts/interfaces/IERC3156FlashBorrower.sol";
import {IERC3156FlashLender} from "@openzeppelin/contracts/interfaces/IERC3156FlashLender.sol";

import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IReputation} from "../interfaces/IReputation.sol";
import {ListingTerms, Trade, TradeState} from "../types/MarketplaceTypes.sol";

/// @notice A rating ring in one transaction with no capital: flash-mint `amount` of an ERC-3156
/// token, list it for sale from a second contract the ring controls ({RingSeller}), buy it, end the
/// trade, rate 5 stars both ways, and repay the loan.
/// @dev How the trade ends is the caller's choice:
/// - `Refund`: the seller refunds the buyer, who repays the loan. No money moved, so the
///   marketplace gives both ratings value 0 and the aggregate volume stays 0.
/// - `Release`: the buyer releases the price to the seller, which hands it back to repay. The
///   price really went to the seller, so it is the ratings' value: on-chain nothing tells two
///   addresses of one person apart. Off-chain scoring can, by the purchase and the ratings sharing
///   one transaction (see docs/trust.md).
contract FlashRing is IERC3156FlashBorrower {
    /// @notice How the ring's trade ends.
    enum Ending {
        Refund,
        Release
    }

    /// @notice Raised when anyone but the deployer runs the ring, or a stranger calls back.
    error NotRing(address caller);

    /// @notice One ring ran: trade `tradeId`, bought by this contract from `seller`, ended as `ending`.
    event RingClosed(bytes32 indexed tradeId, address seller, address token, uint256 amount, Ending ending);

    IMarketplace public immutable MARKET;
    IReputation public immutable REPUTATION;
    /// @notice The ring's selling side.
    RingSeller public immutable SELLER;
    /// @notice Who may run the ring.
    address public immutable OWNER;
    /// @notice Rings run so far (the next listing's salt).
    uint256 public runs;

    constructor(IMarketplace market) {
        MARKET = market;
        REPUTATION = IReputation(market.REPUTATION());
        SELLER = new RingSeller(market);
        OWNER = msg.sender;
    }

    /// @notice Run the ring once with `amount` flash-minted from `token` (an ERC-3156 lender of
    /// itself, such as FlashMintToken).
    function run(address token, uint256 amount, Ending ending) external {
        if (msg.sender != OWNER) revert NotRing(msg.sender);
        IERC3156FlashLender(token).flashLoan(this, token, amount, abi.encode(ending));
    }

    /// @inheritdoc IERC3156FlashBorrower
    function onFlashLoan(address initiator, address token, uint256 amount, uint256 fee, bytes calldata data)
        external
        override
        returns (bytes32)
    {
        if (msg.sender != token || initiator != address(this)) revert NotRing(msg.sender);
        Ending ending = abi.decode(data, (Ending));

        ListingTerms memory terms = ListingTerms({
            seller: address(SELLER),
            token: token,
            price: amount,
            deposit: 0,
            arbitrator: address(0),
            arbitratorFeeBps: 0,
            reviewWindow: 1,
            expiry: 0,
            cidPrefix: bytes8(bytes2(0x1220)),
            cidDigest: keccak256("p2pchain flash ring")
        });
        bytes32 listingId = SELLER.list(terms, bytes32(runs++));
        IERC20(token).approve(address(MARKET), amount);
        bytes32 tradeId = MARKET.buy(listingId, terms, 1);
        Trade memory trade = Trade({
            buyer: address(this),
            seller: address(SELLER),
            token: token,
            arbitrator: address(0),
            arbitratorFeeBps: 0,
            amount: amount,
            deposit: 0,
            deadline: uint40(block.timestamp + 1),
            state: TradeState.Paid,
            flags: 0,
            proposedBuyerShare: 0
        });

        if (ending == Ending.Refund) {
            SELLER.refund(tradeId, trade);
            trade.state = TradeState.Refunded;
        } else {
            MARKET.release(tradeId, trade);
            trade.state = TradeState.Completed;
            trade.flags = 1; // released
            SELLER.repay(token, amount);
        }
        REPUTATION.rate(tradeId, trade, 5, "");
        SELLER.rate(tradeId, trade, 5);

        emit RingClosed(tradeId, address(SELLER), token, amount, ending);
        IERC20(token).approve(token, amount + fee); // the lender burns the loan back
        return keccak256("ERC3156FlashBorrower.onFlashLoan");
    }
}

/// @notice The selling side of a {FlashRing}: lists, refunds, rates and hands money back when the
/// ring tells it to.
contract RingSeller {
    IMarketplace public immutable MARKET;
    address public immutable RING;

    constructor(IMarketplace market) {
        MARKET = market;
        RING = msg.sender;
    }

    modifier onlyRing() {
        if (msg.sender != RING) revert FlashRing.NotRing(msg.sender);
        _;
    }

    function list(ListingTerms calldata terms, bytes32 salt) external onlyRing returns (bytes32) {
        return MARKET.list(terms, salt, 1);
    }

    function refund(bytes32 tradeId, Trade calldata trade) external onlyRing {
        MARKET.refund(tradeId, trade);
    }

    function repay(address token, uint256 amount) external onlyRing {
        IERC20(token).transfer(RING, amount);
    }

    function rate(bytes32 tradeId, Trade calldata trade, uint8 score) external onlyRing {
        IReputation(MARKET.REPUTATION()).rate(tradeId, trade, score, "");
    }
}
