"""Request and response bodies. Amounts are decimal strings of base units (wei for ETH), ids are
0x hex, addresses are 0x + 40 hex digits (checksummed when mixed case)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from p2pchain.indexer import IndexedListing, IndexedTrade, TrustView

#: An address: 0x + 40 hex digits.
Address = Annotated[
    str,
    Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]),
]
#: A 32-byte id: 0x + 64 hex digits.
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
#: An amount in base units, as a decimal string.
Amount = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,77})$", examples=["1000000000000000000"])]
#: A positive amount in base units, as a decimal string.
PositiveAmount = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,77}$")]
#: A CID as text.
CidText = Annotated[str, Field(min_length=2, max_length=200, pattern=r"^[A-Za-z0-9]+$")]
#: Units of a listing.
Quantity = Annotated[int, Field(ge=1, le=2**32 - 1)]
ZERO = "0x0000000000000000000000000000000000000000"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """Every error: one line naming the problem."""

    detail: str


# ---------------------------------------------------------------------- transactions


class UnsignedTx(BaseModel):
    """A transaction for ``eth_sendTransaction``: quantities as 0x hex, as EIP-1193 wallets take them."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    data: str
    value: str
    chainId: str
    gas: str | None = None
    maxFeePerGas: str | None = None
    maxPriorityFeePerGas: str | None = None
    gasPrice: str | None = None


class PreparedOut(BaseModel):
    """Transactions to sign and send in order (an ERC-20 approval may come first).

    ``listing_id`` is set for a new listing: its id once the transaction is mined.
    """

    action: str
    transactions: list[UnsignedTx]
    listing_id: str | None = None


class TradeActionIn(_Body):
    """A party's action on a trade."""

    sender: Address
    trade_id: Hex32


class ShareIn(TradeActionIn):
    """A settlement proposal or ruling: the buyer's share of the held funds."""

    buyer_share: Amount


#: A short text stored on IPFS (a review, a dispute reason).
NoteText = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]


class DisputeIn(TradeActionIn):
    """A dispute, with the reason the arbitrator and the other party will read.

    The reason is stored and pinned on IPFS and its CID rides along in the transaction (after
    the arguments, where the contract ignores it), so anyone can read it back from the chain.
    """

    reason: NoteText | None = None


class RateIn(TradeActionIn):
    """A rating of the counterparty of a final trade, with an optional written review (stored
    and pinned on IPFS; the rating anchors its CID)."""

    score: Annotated[int, Field(ge=1, le=5)]
    review: NoteText | None = None


class ShownTermsIn(_Body):
    """The terms exactly as the buyer was shown them (``terms`` of ``GET /api/listings/{id}``).

    The purchase is built from these, not from the chain's current terms, so the contract
    refuses it with ``TermsChanged`` if the seller changed anything in the meantime.
    """

    seller: Address
    token: Address
    price: PositiveAmount
    deposit: Amount
    arbitrator: Address
    arbitrator_fee_bps: Annotated[int, Field(ge=0, le=1000)]
    review_window: Annotated[int, Field(ge=1, le=365 * 86_400)]
    expiry: Annotated[int, Field(ge=0, le=2**40 - 1)]
    cid: CidText


class BuyIn(_Body):
    """A purchase: an on-chain listing by id with the terms the buyer saw, or a signed listing
    as the seller shared it (its signature fixes its terms)."""

    buyer: Address
    listing_id: Hex32 | None = None
    terms: ShownTermsIn | None = Field(
        default=None,
        description="Required with listing_id: the terms as shown to the buyer.",
    )
    signed_listing: dict[str, Any] | None = None
    quantity: Quantity = 1


class WithdrawIn(_Body):
    """Withdrawing credited payouts."""

    sender: Address
    token: Address = ZERO
    to: Address | None = None


class TermsIn(_Body):
    """A seller's listing terms."""

    seller: Address
    price: PositiveAmount
    cid: CidText
    token: Address = ZERO
    deposit: Amount = "0"
    arbitrator: Address = ZERO
    arbitrator_fee_bps: Annotated[int, Field(ge=0, le=1000)] = 0
    review_window: Annotated[int, Field(ge=0, le=365 * 86_400)] = 7 * 86_400
    expiry: Annotated[int, Field(ge=0, le=2**40 - 1)] = 0
    quantity: Quantity = 1
    salt: Hex32 | None = None


class CloseListingIn(_Body):
    """Closing an on-chain listing."""

    sender: Address
    listing_id: Hex32


class TypedDataOut(BaseModel):
    """EIP-712 typed data for ``eth_signTypedData_v4`` (bytes as 0x hex)."""

    typed_data: dict[str, Any]
    listing_id: str


class SignedListingIn(_Body):
    """Typed data and the seller's signature over it."""

    typed_data: dict[str, Any]
    signature: Annotated[
        str,
        Field(
            pattern=r"^0x([0-9a-fA-F]{130}|[0-9a-fA-F]{128})$",
            description="65 bytes r, s, v (v 27/28 or 0/1), or 64 bytes EIP-2098",
        ),
    ]


class SubmitIn(_Body):
    """A signed raw transaction (0x hex)."""

    raw: Annotated[str, Field(pattern=r"^0x([0-9a-fA-F][0-9a-fA-F])+$", max_length=262_146)]


class SubmittedOut(BaseModel):
    """A transaction the node accepted."""

    tx_hash: str


class TxStatusOut(BaseModel):
    """Whether a transaction is mined, and how it ended."""

    tx_hash: str
    status: Literal["pending", "success", "reverted"]
    block_number: int | None = None


# ---------------------------------------------------------------------- reads


class TokenOut(BaseModel):
    """How to show amounts of a token: ``amount / 10**decimals`` followed by ``symbol``.

    ``known`` is false for an address that does not answer as an ERC-20 token (amounts are then
    shown in base units, the symbol is the short address).
    """

    address: str
    symbol: str
    decimals: int
    known: bool


class ListingOut(IndexedListing):
    """An indexed listing, with its images' URLs through the gateway and its token's symbol."""

    image_urls: list[str] = Field(default_factory=list)
    token_info: TokenOut | None = None
    seller_trust_view: TrustView | None = None


class CategoryOut(BaseModel):
    """A top-level category and how many listings it holds."""

    name: str
    count: int


class CategoriesOut(BaseModel):
    """Top-level categories, most listings first."""

    items: list[CategoryOut]


class SearchOut(BaseModel):
    """One page of search results.

    ``total`` counts the matches up to 1,000; ``total_exact`` is false when more match (show
    "1000+").
    """

    items: list[ListingOut]
    total: int
    total_exact: bool
    limit: int
    offset: int


class TermsOut(BaseModel):
    """On-chain terms (amounts as decimal strings)."""

    seller: str
    token: str
    price: str
    deposit: str
    arbitrator: str
    arbitrator_fee_bps: int
    review_window: int
    expiry: int
    cid: str


class ListingDetailOut(BaseModel):
    """A listing read from the chain, with its document fetched and verified against its CID.

    ``document`` is None and ``document_error`` says why when the document cannot be fetched,
    does not verify, or disagrees with the terms.
    """

    id: str
    seller: str
    status: str
    signed: bool
    terms: TermsOut
    listed_quantity: int
    sold: int
    remaining: int
    document_cid: str
    document: dict[str, Any] | None = None
    document_error: str | None = None
    image_urls: list[str] = Field(default_factory=list)
    seller_trust: TrustView | None = None
    token: TokenOut | None = None
    now: int | None = Field(default=None, description="The latest block's timestamp.")


class NextStepOut(BaseModel):
    """Something a party may do with a trade (a ``/api/tx/<action>``), and when."""

    action: str
    actor: str | None
    not_before: int | None = None
    until: int | None = None


class TradeOut(IndexedTrade):
    """An indexed trade, with the caller's role, who may do what next, and what to show.

    ``held`` is what the escrow still holds (base units); ``title`` the listing's title when
    the index has its document; ``dispute_reason`` the text the disputing party gave, read back
    from the dispute transaction and IPFS.
    """

    role: str | None = None
    next_steps: list[NextStepOut] = Field(default_factory=list)
    title: str | None = None
    held: str = "0"
    token_info: TokenOut | None = None
    proposal_by: str | None = None
    disputed_by: str | None = None
    dispute_reason: str | None = None


class TradesOut(BaseModel):
    """An account's trades (as buyer, seller or arbitrator), newest first, and the chain's
    clock (the latest indexed block's time) to compare deadlines with."""

    address: str
    items: list[TradeOut]
    now: int


class RatingOut(BaseModel):
    """A rating received, with its written review read back from IPFS.

    ``review_error`` says why a review whose CID the rating anchors cannot be shown.
    """

    trade_id: str
    rater: str
    score: int
    token: TokenOut
    value: str
    review_cid: str | None = None
    review: str | None = None
    review_error: str | None = None
    rated_at: int | None = None


class RatingsOut(BaseModel):
    """Ratings an address received, newest first."""

    address: str
    items: list[RatingOut]


class CreditOut(BaseModel):
    """Payouts credited to an account that it can withdraw (``POST /api/tx/withdraw``)."""

    token: TokenOut
    amount: str


class CreditsOut(BaseModel):
    """An account's withdrawable credits, per token (only tokens with a credit)."""

    address: str
    items: list[CreditOut]


class TrustOut(BaseModel):
    """An address's trust: the index's score and evidence, and its on-chain ETH rating totals."""

    address: str
    trust: TrustView
    onchain_rating_count: int
    onchain_average: float | None


class UploadOut(BaseModel):
    """Content stored (and pinned) on IPFS."""

    cid: str
    size: int
    url: str


class ConfigOut(BaseModel):
    """What a page needs to know about the deployment and the index.

    ``confirmations``: blocks the index waits before showing a change (0 on dev chains), so a
    page can say a mined change is not shown yet; ``live``: whether ``/api/events`` pushes
    changes (this API follows the chain itself).
    """

    chain_id: int
    marketplace: str
    reputation: str
    gateway_url: str
    confirmations: int = 0
    live: bool = False


# ---------------------------------------------------------------------- messaging and notices


class NoticeOut(BaseModel):
    """One thing that happened to a trade of the account (from the chain), or a window closing,
    or something the index knows for it (a match, an answer, an offer).

    ``kind``: ``bought``, ``offer_accepted``, ``released``, ``deposit_returned``, ``refunded``,
    ``finalized``, ``disputed``, ``settlement_proposed``, ``settled``, ``ruled``,
    ``ruling_timed_out``, ``review_window_closing`` or ``ruling_window_closing``; from the
    index: ``listing_matches_request`` (a live listing, listed since one of the account's open
    requests, matches it), ``request_matches_listing`` (an open request matches one of its live
    listings), ``request_answered``, ``offer_received`` (an open offer on one of its listings)
    or ``offer_expiring`` (one of its open offers expires within 24 hours). ``at``: unix
    seconds (for a closing window or an expiring offer, when it closes). ``key``: a stable
    identity, to tell what the page already showed.
    """

    key: str
    kind: str
    at: int
    text: str
    trade: Hex32 | None = None
    request: Hex32 | None = Field(default=None, description="The request, for request notices.")
    listing: Hex32 | None = Field(
        default=None, description="The matching or answering listing, or the one offered on."
    )
    offer: Hex32 | None = Field(
        default=None, description="The offer (``offer_received``, ``offer_expiring``)."
    )


class NotificationsOut(BaseModel):
    """An account's trade notices, newest first, as ``p2pchain inbox`` lists them (messages
    are read by the page itself, from relays, with keys that never leave the browser)."""

    address: Address
    now: int
    notifications: list[NoticeOut]


class RelaysOut(BaseModel):
    """The Nostr relays this API's page talks through (the browser connects to them itself)."""

    relays: list[str]


class ContactOut(BaseModel):
    """Where to write to someone: their messaging inbox key (x-only secp256k1, 64 hex digits)
    and the relays they read, checked against their Ethereum address's EIP-191 key proof.

    ``source``: ``listing`` (the listing document, schema version 2) or ``card`` (the address
    card, a kind 30078 event found on the relays).
    """

    address: Address
    pubkey: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    relays: list[str]
    source: Literal["listing", "card"]
