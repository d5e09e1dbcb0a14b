"""The whole marketplace in one run, through the public library, with nothing to set up.

:func:`run_demo` starts a chain (embedded py-evm by default; Anvil or Ganache, started and
stopped here), deploys the contracts and plays a short story with three dev accounts:

1. the seller publishes a car for a weekend rental (a photo and a document on IPFS, rent plus a
   refundable deposit, an arbitrator named) and a helmet as a gasless signed listing;
2. the buyer finds the car by searching a local index of the chain (:mod:`p2pchain.indexer`,
   SQLite in a temporary folder), fetches the listing (document and photo verified against their
   CIDs and the on-chain terms), rents it and releases the rent; the owner returns the deposit;
3. both rate each other;
4. the buyer buys the helmet, disputes it, and the arbitrator rules a split.

Messages go through a real Nostr relay the demo runs on 127.0.0.1 (:class:`LoopbackRelay`):
before renting, the renter asks whether the car has a child seat and the owner answers; in the
helmet dispute, the buyer sends a photo of the damage, shares the thread with the arbitrator,
and the arbitrator reads it (each author checked) before ruling.

Every step is printed with its transaction hash and gas used (from the receipts); the run ends
with balances, reputations and a gas table. The returned :class:`DemoResult` holds the same
figures for tests and ``--json``.
"""

from __future__ import annotations

import json
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from p2pchain._errors import ChainError, ListingError
from p2pchain.market._validation import InputError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from rich.console import Console
    from rich.table import Table

    from p2pchain.chain._deploy import Deployment
    from p2pchain.chain._nodes import DevChain
    from p2pchain.indexer._hints import PriceHint
    from p2pchain.ipfs import IpfsBackend
    from p2pchain.market._bookings import BookingView
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.market._listings import PublishedListing, VerifiedListing
    from p2pchain.market._rental_listings import PublishedRental
    from p2pchain.market._views import Listing, SignedListing, TradeView, TxInfo
    from p2pchain.messaging import LoopbackRelay, Message, MessagingClient

#: Networks the demo can start by itself.
NETWORKS = ("embedded", "anvil", "ganache")

ETHER = 10**18
DAY = 86_400
#: The car, booked by the day: rate, rent for the weekend (Saturday 9:00 to Monday 9:00),
#: refundable deposit per booking, arbitrator fee (basis points).
CAR_RATE = ETHER // 4
CAR_RENT = 2 * CAR_RATE
CAR_DEPOSIT = ETHER
CAR_FEE_BPS = 200
#: The helmet: price, arbitrator fee, and the buyer's share the arbitrator rules.
HELMET_PRICE = ETHER // 10
HELMET_FEE_BPS = 500
HELMET_BUYER_SHARE = 3 * ETHER // 100
#: Seconds a dispute may wait for a ruling on the demo's deployment.
RULING_WINDOW = 3 * DAY
#: The offer scene: a bike lock at 40 TUSD (a test stablecoin with EIP-2612, 6 decimals),
#: offered 10% below.
TUSD = 10**6
#: The request scene: a ride to the airport, wanted for at most 0.004 ETH, listed at 0.0035 ETH.
RIDE_MAX = 4 * ETHER // 1000
RIDE_PRICE = 35 * ETHER // 10_000
#: Scene 9: the fares other drivers' rides sold at (with the buyer's ride: six sales), and the
#: fare of one still on offer.
OTHER_FARES = tuple(f * ETHER // 10_000 for f in (30, 32, 38, 40, 45))
OPEN_FARE = 42 * ETHER // 10_000
LOCK_PRICE = 40 * TUSD
LOCK_OFFER = LOCK_PRICE * 9 // 10
ROLES = ("seller", "buyer", "arbitrator", "neighbour")


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class DemoStep:
    """One thing that happened.

    Attributes:
        section: The part of the story (``listing``, ``rental``...).
        actor: ``deployer``, ``seller``, ``buyer`` or ``arbitrator``.
        action: What happened, in words.
        tx_hash: The transaction (0x hex), or None for an off-chain step.
        gas_used: Gas from the receipt, or None for an off-chain step.
        fee: Wei the actor paid for gas.
    """

    section: str
    actor: str
    action: str
    tx_hash: str | None = None
    gas_used: int | None = None
    fee: int = 0


@dataclass(frozen=True)
class PartySummary:
    """One party's figures at the end of the run.

    Attributes:
        role: ``seller``, ``buyer`` or ``arbitrator``.
        address: Its address.
        balance_before: ETH balance (wei) before the first listing.
        balance_after: ETH balance (wei) at the end.
        fees_paid: Wei it paid for gas in between.
        expected_payout: What the trades' terms say it should gain (negative: pay), gas aside.
        ratings: Ratings it received (ETH trades).
        score_sum: Sum of their scores.
        rated_volume: Sum of the rated trades' prices (wei).
    """

    role: str
    address: str
    balance_before: int
    balance_after: int
    fees_paid: int
    expected_payout: int
    ratings: int
    score_sum: int
    rated_volume: int

    @property
    def payout(self) -> int:
        """The balance change with gas fees added back: what the trades moved."""
        return self.balance_after - self.balance_before + self.fees_paid

    @property
    def average(self) -> float | None:
        """Mean score received, or None without ratings."""
        return self.score_sum / self.ratings if self.ratings else None


@dataclass(frozen=True)
class OfferSummary:
    """The offer scene: a buyer's offer below the asking price, in a stablecoin with a permit.

    Attributes:
        token: The test stablecoin's address.
        listing_id: The listing (0x hex).
        offer_id: The offer's id, also its trade's (0x hex).
        asking: The asking price (token base units).
        offered: The price offered and accepted.
        permit: Whether the offer carried an EIP-2612 permit (no approve transaction).
        state: The trade's final state.
        seller_received: Tokens the seller holds at the end.
        buyer_left: Tokens the buyer holds at the end.
    """

    token: str
    listing_id: str
    offer_id: str
    asking: int
    offered: int
    permit: bool
    state: str
    seller_received: int
    buyer_left: int


@dataclass(frozen=True)
class TradeSummary:
    """One trade of the run.

    Attributes:
        name: ``car`` or ``helmet``.
        listing_id: The listing (0x hex).
        trade_id: The trade (0x hex).
        signed_listing: Whether it was bought from a signed (gasless) listing.
        state: Its final state (``COMPLETED``, ``RULED``...).
        price: Price (rent) in wei.
        deposit: Deposit in wei.
        arbitrator_fee_bps: The arbitrator's fee in basis points.
        buyer_share: What the ruling gave the buyer, if ruled.
        arbitrator_fee: What the arbitrator was paid (wei).
        document_cid: The listing document's CID.
        image_cids: The photos' CIDs.
    """

    name: str
    listing_id: str
    trade_id: str
    signed_listing: bool
    state: str
    price: int
    deposit: int
    arbitrator_fee_bps: int
    buyer_share: int | None
    arbitrator_fee: int
    document_cid: str
    image_cids: tuple[str, ...]


@dataclass(frozen=True)
class BookingSummary:
    """One booking of the run.

    Attributes:
        name: ``weekend`` (the buyer's) or ``next weekend`` (the neighbour's).
        renter: The renter's role.
        listing_id: The rental listing (0x hex).
        booking_id: The booking (0x hex).
        state: Its state at the end (``COMPLETED``, ``BOOKED``...).
        start: When it starts (unix seconds).
        end: When it ends.
        rent: Rent in wei.
        deposit: Deposit in wei.
        document_cid: The listing document's CID.
        image_cids: The photos' CIDs.
    """

    name: str
    renter: str
    listing_id: str
    booking_id: str
    state: str
    start: int
    end: int
    rent: int
    deposit: int
    document_cid: str
    image_cids: tuple[str, ...]


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` did, with every figure it printed.

    Attributes:
        network: ``embedded``, ``anvil`` or ``ganache``.
        deployment: The contracts the run deployed (chain id, addresses, block).
        node_pid: PID of the node the demo started (already stopped), None in-process.
        found_via: How the buyer found the car (``indexer search``).
        steps: Every step, in order.
        parties: Seller, buyer and arbitrator at the end.
        trades: The helmet trade.
        elapsed: Wall time of the run in seconds.
        conversation: The messages, in order: ``(role, topic, text)``.
        bookings: The car's two weekend bookings.
        refused: The one-line refusal the neighbour got for overlapping dates.
        offer: The stablecoin offer scene.
        ride_matches: Listings the index matched to the ride request, and requests it matched
            to the driver's listing.
        price_hint: What the index tells a driver drafting a new ride listing: comparable
            completed sales over 90 days (median, interquartile range) and live listings.
    """

    network: str
    deployment: Deployment
    node_pid: int | None
    found_via: str
    steps: tuple[DemoStep, ...]
    parties: tuple[PartySummary, ...]
    trades: tuple[TradeSummary, ...]
    elapsed: float
    conversation: tuple[tuple[str, str, str], ...] = ()
    bookings: tuple[BookingSummary, ...] = ()
    refused: str = ""
    offer: OfferSummary | None = None
    ride_matches: tuple[int, int] = (0, 0)
    price_hint: PriceHint | None = None

    @property
    def chain_id(self) -> int:
        """The chain id."""
        return self.deployment.chain_id

    @property
    def marketplace(self) -> str:
        """The Marketplace address."""
        return self.deployment.marketplace

    def party(self, role: str) -> PartySummary:
        """The party playing ``role``."""
        return next(p for p in self.parties if p.role == role)

    def trade(self, name: str) -> TradeSummary:
        """The trade called ``name`` (``helmet``)."""
        return next(t for t in self.trades if t.name == name)

    def booking(self, name: str) -> BookingSummary:
        """The booking called ``name`` (``weekend`` or ``next weekend``)."""
        return next(b for b in self.bookings if b.name == name)

    @property
    def total_gas(self) -> int:
        """Gas of every transaction after the deployment."""
        return sum(s.gas_used or 0 for s in self.steps if s.section != "setup")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary; wei amounts as decimal strings."""
        return _jsonable(
            {
                **asdict(self),
                "total_gas": self.total_gas,
                "parties": [
                    {**asdict(p), "payout": p.payout, "average": p.average} for p in self.parties
                ],
                # the index's hint as it stands (prices in base units)
                "price_hint": None
                if self.price_hint is None
                else self.price_hint.model_dump(mode="json"),
            }
        )


_WEI_KEYS = {
    "fee",
    "balance_before",
    "balance_after",
    "fees_paid",
    "expected_payout",
    "rated_volume",
    "price",
    "rent",
    "deposit",
    "buyer_share",
    "arbitrator_fee",
    "payout",
}


def _jsonable(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, key) for v in value]
    if key in _WEI_KEYS and isinstance(value, int):
        return str(value)
    return value


# ---------------------------------------------------------------------- the photo


def car_photo(width: int = 48, height: int = 24) -> bytes:
    """A small PNG of a red car on a road (RGB, 8 bits), written with zlib and struct only."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows.extend(_car_pixel(x, y, width, height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def _car_pixel(x: int, y: int, width: int, height: int) -> tuple[int, int, int]:
    wheel_y = height - 6
    for wheel_x in (width * 3 // 10, width * 7 // 10):
        if (x - wheel_x) ** 2 + (y - wheel_y) ** 2 <= 9:
            return (20, 20, 20)
    if y >= height - 3:
        return (90, 90, 90)  # road
    left, right = width // 8, width * 7 // 8
    if left <= x < right and height // 2 - 2 <= y < height - 6:
        return (200, 30, 30)  # body
    if width * 3 // 10 <= x < width * 2 // 3 and height // 5 <= y < height // 2 - 2:
        inner = width * 3 // 10 + 1 <= x < width * 2 // 3 - 1 and y > height // 5
        return (170, 220, 255) if inner else (200, 30, 30)  # cabin and window
    return (135, 206, 235)  # sky


# ---------------------------------------------------------------------- the run


@dataclass
class _Ledger:
    """Steps so far, printed as they happen."""

    console: Console
    steps: list[DemoStep] = field(default_factory=list)

    def section(self, title: str) -> None:
        self.console.print(f"\n[bold]{title}[/]")

    def note(self, text: str) -> None:
        self.console.print(f"    {text}", highlight=False)

    def offchain(self, section: str, actor: str, action: str) -> None:
        self.steps.append(DemoStep(section, actor, action))
        self.console.print(
            f"  [green]✓[/] [cyan]{actor:<10}[/] {action:<52} [dim]no transaction, no gas[/]",
            highlight=False,
        )

    def tx(self, section: str, actor: str, action: str, info: TxInfo | None) -> None:
        if info is None:
            raise ChainError(f"{action}: the library returned no transaction")
        step = DemoStep(section, actor, action, info.tx_hash, info.gas_used, info.fee)
        self.steps.append(step)
        self.console.print(
            f"  [green]✓[/] [cyan]{actor:<10}[/] {action:<52} gas {info.gas_used:>9,}",
            highlight=False,
        )
        self.console.print(f"    {'':<10} [dim]tx {info.tx_hash}[/]", highlight=False)


@dataclass
class _Cast:
    """The clients and accounts of the story."""

    deployer: LocalAccount
    seller: MarketplaceClient
    buyer: MarketplaceClient
    arbitrator: MarketplaceClient
    neighbour: MarketplaceClient

    def address(self, role: str) -> str:
        client: MarketplaceClient = getattr(self, role)
        return client.address


def run_demo(
    network: str = "embedded",
    console: Console | None = None,
    *,
    chain: DevChain | None = None,
    ipfs: IpfsBackend | None = None,
) -> DemoResult:
    """Run the whole marketplace story and print it.

    Args:
        network: ``embedded``, ``anvil`` or ``ganache``: started here and stopped at the end.
        console: Where to print (a rich console); a new one on stdout by default.
        chain: A running dev chain to use instead (not stopped; ``network`` is ignored).
        ipfs: An IPFS backend to use instead of a LocalStore in a temporary folder.

    Returns:
        Every step and the final figures.

    Raises:
        InputError: An unknown network.
        P2PChainError: A chain, IPFS or contract step failed.
    """
    if chain is None and network not in NETWORKS:
        raise InputError(f"unknown network {network!r}: use one of {', '.join(NETWORKS)}")
    out = console if console is not None else _default_console()
    started = time.perf_counter()
    where = chain.name if chain is not None else network
    out.rule(f"[bold]p2pchain demo[/]: the whole marketplace on the {where} chain")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="p2pchain-demo-")))
        running = chain if chain is not None else stack.enter_context(_started(network, out))
        pid = getattr(running, "pid", None)
        store = ipfs if ipfs is not None else _local_store(tmp)
        relay = stack.enter_context(_relay(tmp, out))
        result = _Story(running, store, tmp, _Ledger(out), relay.url).play()
    result = _finish(result, pid, time.perf_counter() - started)
    _print_summary(out, result)
    return result


def _default_console() -> Console:
    """Stdout; 120 columns when it is not a terminal (logs, pipes), so lines do not wrap."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


@contextmanager
def _started(network: str, console: Console) -> Iterator[DevChain]:
    from p2pchain.chain._nodes import open_chain

    with console.status(f"starting the {network} chain"):
        chain = open_chain(network)
    try:
        yield chain
    finally:
        chain.stop()


@contextmanager
def _relay(folder: Path, console: Console) -> Iterator[LoopbackRelay]:
    from p2pchain.messaging import LoopbackRelay

    with console.status("starting the loopback Nostr relay"):
        relay = LoopbackRelay(folder / "relay").start()
    try:
        yield relay
    finally:
        relay.close()


def _local_store(folder: Path) -> IpfsBackend:
    from p2pchain.ipfs import LocalStore

    return LocalStore(folder / "ipfs")


def _finish(result: DemoResult, pid: int | None, elapsed: float) -> DemoResult:
    return replace(result, node_pid=pid, elapsed=elapsed)


class _Story:
    """The demo's story, one method per part."""

    def __init__(
        self, chain: DevChain, ipfs: IpfsBackend, tmp: Path, ledger: _Ledger, relay_url: str
    ) -> None:
        self.chain = chain
        self.ipfs = ipfs
        self.tmp = tmp
        self.log = ledger
        self.relay_url = relay_url
        self.found_via = ""
        self.chat: dict[str, MessagingClient] = {}
        self.conversation: list[tuple[str, str, str]] = []
        self.refused = ""
        self.ride_matches = (0, 0)

    def _messaging(self, cast: _Cast) -> None:
        from p2pchain.messaging import MessagingClient

        for role in ("seller", "buyer", "arbitrator"):
            client: MarketplaceClient = getattr(cast, role)
            assert client.account is not None
            self.chat[role] = MessagingClient(
                client.account,
                [self.relay_url],
                self.tmp / f"messages-{role}.sqlite",
                chain_id=client.chain_id,
            )
        self.chat["arbitrator"].announce()
        self.log.offchain("messages", "arbitrator", "announces its messaging key on the relay")

    def _say(self, role: str, topic: bytes, text: str, **kwargs: Any) -> None:
        self.chat[role].send(topic, text, **kwargs)
        self.conversation.append((role, "0x" + topic.hex(), text))
        self.log.offchain("messages", role, f"writes: {text[:44]}")

    def _read(self, role: str, topic: bytes, parties: Mapping[str, str]) -> list[Message]:
        self.chat[role].sync()
        return self.chat[role].thread(topic, parties=parties)

    def _close_chat(self) -> None:
        for client in self.chat.values():
            client.close()

    def play(self) -> DemoResult:
        """Run every part; the result (without PID and wall time)."""
        cast, deployment = self._setup()
        before = {role: cast.seller.balance(cast.address(role)) for role in ROLES}
        try:
            self._messaging(cast)
            car, helmet = self._list(cast)
            weekend, next_weekend = self._book(cast, car)
            self._rate(cast, weekend)
            helmet_trade = self._dispute(cast, helmet)
            offer = self._offer(cast)
            ride, ride_trade = self._ride(cast)
            hint = self._hint(cast)
        finally:
            self._close_chat()
        trades = (
            _trade_summary("helmet", helmet, helmet_trade),
            _trade_summary("ride", ride, ride_trade),
        )
        bookings = (
            _booking_summary("weekend", "buyer", car, weekend),
            _booking_summary("next weekend", "neighbour", car, next_weekend),
        )
        return DemoResult(
            network=self.chain.name,
            deployment=deployment,
            node_pid=None,
            found_via=self.found_via,
            steps=tuple(self.log.steps),
            parties=self._parties(cast, before, trades, bookings),
            trades=trades,
            elapsed=0.0,
            conversation=tuple(self.conversation),
            bookings=bookings,
            refused=self.refused,
            offer=offer,
            ride_matches=self.ride_matches,
            price_hint=hint,
        )

    # -- setup

    def _setup(self) -> tuple[_Cast, Deployment]:
        from p2pchain.chain._deploy import deploy
        from p2pchain.market._client import MarketplaceClient
        from p2pchain.market._views import TxInfo

        self.log.section(
            f"0. Deploy on the {self.chain.name} chain (chain id {self.chain.chain_id})"
        )
        deployer, seller, buyer, arbitrator, neighbour = self.chain.accounts[:5]
        deployment = deploy(self.chain, deployer, constructor_args={"rulingWindow": RULING_WINDOW})
        receipt = self.chain.w3.eth.get_transaction_receipt(deployment.tx_hash)  # type: ignore[arg-type]
        self.log.tx(
            "setup",
            "deployer",
            "deploys Marketplace (+ Reputation, Bookings)",
            TxInfo.from_receipt(receipt),
        )
        client = MarketplaceClient.connect(self.chain, account=seller, deployments=deployment)
        cast = _Cast(
            deployer,
            client,
            client.with_account(buyer),
            client.with_account(arbitrator),
            client.with_account(neighbour),
        )
        self.log.note(
            f"Marketplace {deployment.marketplace}, Reputation {deployment.reputation},"
            f" Bookings {deployment.bookings}"
        )
        for role in ROLES:
            self.log.note(f"{role:<10} {cast.address(role)}")
        return cast, deployment

    # -- listing

    def _list(self, cast: _Cast) -> tuple[PublishedRental, PublishedListing]:
        from p2pchain.market._listings import publish_listing
        from p2pchain.market._rental_listings import publish_rental
        from p2pchain.messaging._contacts import messaging_field

        self.log.section("1. The owner lists a car to book by the day, and a helmet (gasless)")
        contact = messaging_field(self.chat["seller"])
        photo = self.tmp / "car.png"
        photo.write_bytes(car_photo())
        car = publish_rental(
            cast.seller,
            self.ipfs,
            _car_document(cast, contact),
            [photo],
            unit=DAY,
            max_units=14,
            free_cancel=2 * DAY,
            late_refund_bps=5_000,
            claim_window=2 * DAY,
        )
        self.log.offchain("listing", "seller", "stores the car's photo + document on IPFS (pinned)")
        self.log.note(f"document {car.document_cid}, photo {car.image_cids[0]}")
        self.log.tx(
            "listing",
            "seller",
            f"lists the car: {_eth(CAR_RATE)}/day + {_eth(CAR_DEPOSIT)} deposit",
            car.listing.tx,
        )
        helmet = publish_listing(
            cast.seller,
            self.ipfs,
            _helmet_document(cast, contact),
            signed=True,
            review_window=7 * DAY,
        )
        self.log.offchain("listing", "seller", "signs the helmet listing off-chain (EIP-712)")
        self.log.note(f"signed listing 0x{_signed_of(helmet).id.hex()}")
        return car, helmet

    # -- rental

    def _find_car(self, cast: _Cast, car: PublishedRental) -> bytes:
        """The buyer syncs a local index and searches for a car free next weekend."""
        from p2pchain.indexer import Indexer, SearchQuery

        t = car.listing.terms
        query = SearchQuery(
            text="golf",
            kind="rental",
            available_from=t.first_start,
            available_to=t.first_start + 2 * DAY,
            max_rate_per_day=ETHER // 2,
        )
        database = f"sqlite:///{self.tmp / 'index.sqlite'}"
        deployment = cast.buyer.deployment
        with Indexer(database, self.chain, deployment, ipfs=self.ipfs, confirmations=0) as index:
            report = index.sync()
            page = index.search(query)
        self.log.offchain(
            "rental", "buyer", "indexes the chain; searches cars free Sat-Mon, <= 0.5 ETH/day"
        )
        self.log.note(
            f"index: blocks {report.from_block}..{report.to_block},"
            f" {_count(report.events, 'event')},"
            f" {_count(report.documents_fetched, 'document')} fetched and verified;"
            f" {_count(page.total, 'match', 'matches')}"
        )
        if not page.items:
            raise ListingError("the index search found no car: the listing is not indexed")
        hit = page.items[0]
        self.log.note(f"first hit: {hit.title!r}, seller trust {hit.seller_trust:.2f}")
        found = bytes.fromhex(hit.listing_id.removeprefix("0x"))
        if found != car.listing.id:
            raise ListingError(f"the index search found listing {hit.listing_id}, not the car")
        self.found_via = "indexer search"
        return found

    def _book(self, cast: _Cast, car: PublishedRental) -> tuple[BookingView, BookingView]:
        from p2pchain._errors import ContractError
        from p2pchain.ipfs import CID
        from p2pchain.market._rental_listings import rental_document

        self.log.section("2. The buyer finds the car, asks, and books a weekend")
        listing_id = self._find_car(cast, car)
        rentals = cast.buyer.rentals
        listing = rentals.listing(listing_id)
        doc = rental_document(cast.buyer, self.ipfs, listing)
        self.log.offchain("rental", "buyer", "fetches the listing: document verified, terms agree")
        t = listing.terms
        self.log.note(
            f"{doc.title!r}: {_eth(t.rate)}/day, deposit {_eth(t.deposit)}, free cancellation"
            f" until 2 days before; bookable from {_day(t.first_start)}"
        )
        self._ask_about_car(cast, listing_id, doc)
        weekend = rentals.book(listing, 0, 2)
        self.log.tx(
            "rental",
            "buyer",
            f"books {_day(weekend.booking.start)} to {_day(weekend.booking.end)}:"
            f" {_eth(CAR_RENT + CAR_DEPOSIT)} into escrow",
            weekend.tx,
        )

        self.log.section("3. A neighbour wants the car too")
        neighbour = cast.neighbour.rentals
        try:
            neighbour.prepare_book(listing, 1, 2).check()
        except ContractError as exc:
            self.refused = str(exc)
        else:
            raise ListingError("the overlapping booking was not refused")
        self.log.offchain(
            "rental", "neighbour", "asks for Sunday to Tuesday: refused, nothing sent"
        )
        self.log.note(f"[dim]{self.refused}[/]")
        next_weekend = neighbour.book(listing, 7, 2)
        self.log.tx(
            "rental",
            "neighbour",
            f"books the next weekend, {_day(next_weekend.booking.start)} to"
            f" {_day(next_weekend.booking.end)}",
            next_weekend.tx,
        )

        self.log.section("4. Pickup on Saturday, return on Monday")
        self.chain.set_next_timestamp(weekend.booking.start)
        self.chain.mine(1)
        self.log.note(f"[dim]the dev chain's clock moves to {_day(weekend.booking.start)} 9:00[/]")
        photo = bytes(CID.parse(car.image_cids[0]))
        weekend = rentals.pickup(weekend, photo)
        self.log.tx("rental", "buyer", "confirms the pickup, with a photo of the car", weekend.tx)
        self.chain.set_next_timestamp(weekend.booking.end)
        self.chain.mine(1)
        weekend = cast.seller.rentals.confirm_return(weekend)
        self.log.tx(
            "rental",
            "seller",
            f"confirms the return: {_eth(CAR_RENT)} rent paid, {_eth(CAR_DEPOSIT)} deposit back",
            weekend.tx,
        )
        self.log.note(f"booking state: [bold]{weekend.state.name}[/]")
        return weekend, next_weekend

    def _ask_about_car(self, cast: _Cast, listing_id: bytes, document: Any) -> None:
        from rich.markup import escape

        from p2pchain.messaging._contacts import seller_contact

        topic = listing_id
        owner = seller_contact(document)  # the key the owner vouched for in the document
        self._say(
            "buyer",
            topic,
            "Hi! Does the car have a child seat? We travel with a 3-year-old.",
            to=owner,
        )
        self.chat["seller"].sync()  # the owner's client takes the invitation and the question
        self._say("seller", topic, "Yes: a child seat for 15-36 kg. I will fit it before 9:00.")
        parties = {"buyer": cast.buyer.address, "seller": cast.seller.address}
        thread = self._read("buyer", topic, parties)
        self.log.offchain("messages", "buyer", f"reads the answer ({len(thread)} messages, relay)")
        for m in thread:
            self.log.note(escape(f"[{m.party}] {m.text}"))

    def _rate(self, cast: _Cast, booking: BookingView) -> None:
        self.log.section("5. Both rate each other")
        self.log.tx(
            "rating", "buyer", "rates the owner 5 stars", cast.buyer.rentals.rate(booking, 5)
        )
        self.log.tx(
            "rating", "seller", "rates the renter 4 stars", cast.seller.rentals.rate(booking, 4)
        )

    # -- dispute

    def _dispute(self, cast: _Cast, helmet: PublishedListing) -> TradeView:
        from p2pchain.market._listings import fetch_listing

        self.log.section("6. The helmet is bought, disputed and ruled")
        signed = _signed_of(helmet)
        seen = fetch_listing(cast.buyer, self.ipfs, signed)
        self.log.offchain("dispute", "buyer", "fetches the signed listing: document verified")
        trade = cast.buyer.buy(signed)
        bought = f"buys the helmet ({_eth(signed.terms.price)}) from the signature"
        self.log.tx("dispute", "buyer", bought, trade.tx)
        self.log.note(f"{seen.document.title!r} arrives scratched")
        trade = cast.buyer.dispute(trade)
        self.log.tx("dispute", "buyer", "disputes: the helmet is scratched", trade.tx)
        self._evidence(cast, seen, trade)
        trade = cast.arbitrator.rule(trade, HELMET_BUYER_SHARE)
        self.log.tx(
            "dispute",
            "arbitrator",
            f"rules: {_eth(HELMET_BUYER_SHARE)} back to the buyer",
            trade.tx,
        )
        self.log.note(f"trade state: [bold]{trade.state.name}[/]")
        return trade

    def _evidence(self, cast: _Cast, seen: VerifiedListing, trade: TradeView) -> None:
        from rich.markup import escape

        from p2pchain.messaging import attach
        from p2pchain.messaging._contacts import seller_contact

        photo = attach(self.ipfs, car_photo(32, 16), "scratch.png", "image/png")
        self._say(
            "buyer",
            trade.id,
            "The helmet arrived with a deep scratch on the shell: photo.",
            to=seller_contact(seen.document),
            attachments=[photo],
        )
        self.chat["seller"].sync()
        self._say("seller", trade.id, "It left here without a scratch; the courier dropped it?")
        self.chat["buyer"].sync()
        arbitrator = self.chat["buyer"].lookup(cast.arbitrator.address)
        if arbitrator is None:
            raise ListingError("the arbitrator's address card is not on the relay")
        self.chat["buyer"].share(trade.id, arbitrator)
        self.log.offchain("messages", "buyer", "shares the thread with the arbitrator")
        thread = self._read("arbitrator", trade.id, {"buyer": trade.buyer, "seller": trade.seller})
        checked = sum(1 for m in thread if m.party in ("buyer", "seller"))
        self.log.offchain(
            "messages", "arbitrator", f"reads the thread: {checked}/{len(thread)} authors checked"
        )
        for m in thread:
            files = (
                f" [{m.attachments[0].name}, ipfs://{m.attachments[0].cid[:16]}…]"
                if m.attachments
                else ""
            )
            self.log.note(escape(f"[{m.party}] {m.text}{files}"))

    # -- offers

    def _offer(self, cast: _Cast) -> OfferSummary:
        """The buyer offers 10% below the asking price in a stablecoin with a permit; the seller
        accepts in one transaction and the trade settles."""
        from p2pchain.chain._tx import send_transaction
        from p2pchain.compiler._artifacts import load_artifact
        from p2pchain.market._listings import publish_listing
        from p2pchain.market._offers import SignedOffer
        from p2pchain.market._views import TxInfo
        from p2pchain.messaging._contacts import messaging_field

        self.log.section("7. An offer below the asking price, paid in a stablecoin")
        w3 = self.chain.w3
        artifact = load_artifact("PermitToken", test=True)
        factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
        data = factory.constructor("Test Dollar", "TUSD", 6).data_in_transaction
        receipt = send_transaction(w3, cast.deployer, {"data": data})
        self.log.tx(
            "setup",
            "deployer",
            "deploys TUSD, a test stablecoin (EIP-2612)",
            TxInfo.from_receipt(receipt),
        )
        token = w3.eth.contract(address=receipt["contractAddress"], abi=list(artifact.abi))
        mint = token.functions.mint(cast.buyer.address, 100 * TUSD).build_transaction(
            {"from": cast.deployer.address}
        )
        receipt = send_transaction(w3, cast.deployer, mint)
        self.log.tx(
            "setup", "deployer", "mints 100 TUSD to the buyer", TxInfo.from_receipt(receipt)
        )
        document = {
            "schema_version": 2,
            "messaging": messaging_field(self.chat["seller"]),
            "title": "Folding bike lock",
            "category": "sports/bikes",
            "kind": "sale",
            "condition": "new",
            "price": str(LOCK_PRICE),
            "token": token.address,
            "seller": cast.seller.address,
            "created_at": cast.seller.now(),
            "delivery": [{"method": "pickup", "note": "Kreuzberg"}],
            "arbitrator": {"address": cast.arbitrator.address, "fee_bps": HELMET_FEE_BPS},
        }
        lock = _listing_of(publish_listing(cast.seller, self.ipfs, document))
        self.log.tx("offer", "seller", "lists a bike lock for 40 TUSD", lock.tx)
        signed = cast.buyer.make_offer(lock, LOCK_OFFER)
        self.log.offchain(
            "offer",
            "buyer",
            "signs an offer of 36 TUSD (10% below) with a permit: no gas, no approve",
        )
        received = cast.seller.check_offer(json.loads(json.dumps(signed.to_json())))
        assert isinstance(received, SignedOffer)
        self.log.offchain("offer", "seller", "receives the offer file: buyer's signature checked")
        trade = cast.seller.accept_offer(received)
        self.log.tx(
            "offer", "seller", "accepts: 36 TUSD pulled from the buyer into escrow", trade.tx
        )
        trade = cast.buyer.release(trade)
        self.log.tx("offer", "buyer", "releases the 36 TUSD to the seller", trade.tx)
        self.log.note(f"trade state: [bold]{trade.state.name}[/]")
        return OfferSummary(
            token=token.address,
            listing_id="0x" + lock.id.hex(),
            offer_id="0x" + signed.id.hex(),
            asking=LOCK_PRICE,
            offered=LOCK_OFFER,
            permit=signed.permit is not None,
            state=trade.state.name,
            seller_received=cast.seller.balance(cast.seller.address, token.address),
            buyer_left=cast.seller.balance(cast.buyer.address, token.address),
        )

    # -- requests

    def _ride(self, cast: _Cast) -> tuple[PublishedListing, TradeView]:
        """The buyer asks for a ride to the airport; the index matches it to a driver's listing
        (and the listing to it), and the buyer takes the ride."""
        from p2pchain.indexer import Indexer
        from p2pchain.market._listings import publish_listing
        from p2pchain.market._requests import publish_request
        from p2pchain.messaging._contacts import messaging_field

        self.log.section("8. A ride request, matched to a driver's listing")
        now = cast.seller.now()
        thamel = {"text": "Thamel, Kathmandu", "country": "NP", "lat": 27.7154, "lon": 85.3123}
        ride = publish_listing(
            cast.seller,
            self.ipfs,
            {
                "schema_version": 2,
                "messaging": messaging_field(self.chat["seller"]),
                "title": "Ride from Thamel to the airport",
                "description": "Sedan, up to 3 people with luggage; any time from 6:00.",
                "category": "transport/rides",
                "kind": "service",
                "price": str(RIDE_PRICE),
                "token": "ETH",
                "seller": cast.seller.address,
                "created_at": now,
                "location": {**thamel, "text": "Thamel (pick-up)"},
                "arbitrator": {"address": cast.arbitrator.address, "fee_bps": HELMET_FEE_BPS},
            },
            review_window=DAY,
        )
        self.log.tx(
            "request", "seller", "lists rides from Thamel to the airport", _listing_of(ride).tx
        )
        asked = publish_request(
            cast.buyer,
            self.ipfs,
            {
                "schema_id": "p2pchain/request/1",
                "title": "A ride from Thamel to the airport at 8:00",
                "kind": "service",
                "category": "transport/rides",
                "location": thamel,
                "radius_km": 2,
                "max_price": str(RIDE_MAX),
                "token": "ETH",
                "expiry": now + DAY,
                "requester": cast.buyer.address,
                "chain_id": cast.buyer.chain_id,
                "marketplace": cast.buyer.deployment.marketplace,
                "created_at": now,
            },
        )
        self.log.offchain(
            "request", "buyer", "signs a request: a ride at 8:00 for at most 0.004 ETH (no gas)"
        )
        database = f"sqlite:///{self.tmp / 'index.sqlite'}"
        with Indexer(
            database, self.chain, cast.buyer.deployment, ipfs=self.ipfs, confirmations=0
        ) as index:
            index.sync()
            index.add_request(asked.signed, asked.document.canonical_json())
            for_request = index.listings_for_request(asked.id)
            for_listing = index.requests_for_listing("0x" + _listing_of(ride).id.hex())
        self.log.offchain("request", "buyer", "the index matches the request to listings")
        hits = [h.listing_id for h in for_request.items]
        self.log.note(
            f"{_count(len(hits), 'listing matches', 'listings match')} the request;"
            f" the driver sees {_count(len(for_listing), 'matching request')}"
        )
        wanted = "0x" + _listing_of(ride).id.hex()
        if wanted not in hits or asked.id not in [r.request_id for r in for_listing]:
            raise ListingError("the index did not match the ride request and the driver's listing")
        trade = cast.buyer.buy(_listing_of(ride))
        self.log.tx(
            "request", "buyer", f"takes the ride ({_eth(RIDE_PRICE)} into escrow)", trade.tx
        )
        trade = cast.buyer.release(trade)
        self.log.tx("request", "buyer", "arrives at the airport: releases the fare", trade.tx)
        self.ride_matches = (len(hits), len(for_listing))
        return ride, trade

    def _hint(self, cast: _Cast) -> PriceHint:
        """Other drivers sell rides to other riders at their own fares (one ride stays on
        offer); then a driver drafting a new ride listing asks the index what rides sold for."""
        from p2pchain.indexer import Indexer
        from p2pchain.market._listings import publish_listing

        self.log.section("9. Price hints from the market's own data")
        drivers = [cast.seller.with_account(a) for a in self.chain.accounts[5:7]]
        riders = [cast.seller.with_account(a) for a in self.chain.accounts[7:9]]
        now = cast.seller.now()

        def ride_listing(driver: MarketplaceClient, fare: int) -> Listing:
            published = publish_listing(
                driver,
                self.ipfs,
                {
                    "schema_version": 2,
                    "title": "Ride to the airport",
                    "description": "Hatchback, two people with luggage.",
                    "category": "transport/rides",
                    "kind": "service",
                    "price": str(fare),
                    "token": "ETH",
                    "seller": driver.address,
                    "created_at": now,
                },
                review_window=DAY,
            )
            return _listing_of(published)

        for n, fare in enumerate(OTHER_FARES):
            driver, rider = drivers[n % 2], riders[n % 2]
            rider.release(rider.buy(ride_listing(driver, fare)))
        ride_listing(drivers[0], OPEN_FARE)
        self.log.offchain(
            "price hint",
            "others",
            f"{len(OTHER_FARES)} more rides sold and released, 1 on offer (not in the table)",
        )
        database = f"sqlite:///{self.tmp / 'index.sqlite'}"
        with Indexer(
            database, self.chain, cast.seller.deployment, ipfs=self.ipfs, confirmations=0
        ) as index:
            index.sync()
            hint = index.price_hint(
                {"category": "transport/rides", "kind": "service", "token": "ETH"}
            )
        self.log.offchain("price hint", "seller", "drafts a ride listing: asks the index")
        if not hint.enough or hint.median is None or hint.low is None or hint.high is None:
            raise ListingError(f"the index gave no price hint: {hint.note}")
        self.log.note(
            f"rides sold for a median {_eth(hint.median)} (middle half {_eth(hint.low)}"
            f" to {_eth(hint.high)}) over {_count(hint.trades, 'sale')} in"
            f" {hint.window_days} days; {_count(hint.live, 'comparable listing')} live now"
        )
        return hint

    # -- summary

    def _parties(
        self,
        cast: _Cast,
        before: dict[str, int],
        trades: tuple[TradeSummary, ...],
        bookings: tuple[BookingSummary, ...],
    ) -> tuple[PartySummary, ...]:
        expected = _expected_payouts(trades, bookings)
        parties = []
        for role in ROLES:
            address = cast.address(role)
            rep = cast.seller.reputation_of(address)
            fees = sum(s.fee for s in self.log.steps if s.actor == role)
            parties.append(
                PartySummary(
                    role=role,
                    address=address,
                    balance_before=before[role],
                    balance_after=cast.seller.balance(address),
                    fees_paid=fees,
                    expected_payout=expected[role],
                    ratings=rep.count,
                    score_sum=rep.score_sum,
                    rated_volume=rep.volume,
                )
            )
        return tuple(parties)


def _listing_of(published: PublishedListing) -> Listing:
    if published.listing is None:
        raise ListingError("publish_listing sent no on-chain listing")
    return published.listing


def _signed_of(published: PublishedListing) -> SignedListing:
    if published.signed_listing is None:
        raise ListingError("publish_listing returned no signed listing")
    return published.signed_listing


def _car_document(cast: _Cast, messaging: dict[str, Any]) -> dict[str, Any]:
    now = cast.seller.now()
    saturday = _next_saturday(now)
    return {
        "schema_version": 2,
        "messaging": messaging,
        "title": "VW Golf by the day, weekends welcome",
        "description": "Full tank, child seat on request. Return it clean and the deposit is yours.",
        "category": "vehicles/cars",
        "kind": "rental",
        "condition": "good",
        "price": str(CAR_RATE),
        "deposit": str(CAR_DEPOSIT),
        "token": "ETH",
        "seller": cast.seller.address,
        "created_at": now,
        "rental": {"start": saturday + 9 * 3600, "end": saturday + 90 * DAY},
        "location": {"text": "Berlin Kreuzberg", "country": "DE", "lat": 52.4986, "lon": 13.4031},
        "delivery": [{"method": "pickup", "note": "Wiener Str. 12, pickup and return 9:00"}],
        "arbitrator": {"address": cast.arbitrator.address, "fee_bps": CAR_FEE_BPS},
        "tags": ["car", "weekend"],
    }


def _next_saturday(timestamp: int) -> int:
    """Midnight (UTC) of the first Saturday after ``timestamp``; 1970-01-01 was a Thursday."""
    days = timestamp // DAY
    weekday = (days + 3) % 7  # Monday is 0
    return (days + ((5 - weekday) % 7 or 7)) * DAY


def _helmet_document(cast: _Cast, messaging: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 2,
        "messaging": messaging,
        "title": "Bike helmet, size M",
        "category": "sports/bikes",
        "kind": "sale",
        "condition": "like_new",
        "price": str(HELMET_PRICE),
        "token": "ETH",
        "seller": cast.seller.address,
        "created_at": cast.seller.now(),
        "delivery": [{"method": "shipping", "note": "within Germany"}],
        "arbitrator": {"address": cast.arbitrator.address, "fee_bps": HELMET_FEE_BPS},
    }


def _trade_summary(name: str, published: PublishedListing, view: TradeView) -> TradeSummary:
    ruled = next((e for e in view.history if e.name == "Ruled"), None)
    terms = published.terms
    return TradeSummary(
        name=name,
        listing_id="0x" + view.listing_id.hex(),
        trade_id="0x" + view.id.hex(),
        signed_listing=published.signed_listing is not None,
        state=view.state.name,
        price=terms.price,
        deposit=terms.deposit,
        arbitrator_fee_bps=terms.arbitrator_fee_bps,
        buyer_share=int(ruled.args["buyerShare"]) if ruled else None,
        arbitrator_fee=int(ruled.args["fee"]) if ruled else 0,
        document_cid=published.document_cid,
        image_cids=tuple(published.image_cids),
    )


def _booking_summary(
    name: str, renter: str, car: PublishedRental, view: BookingView
) -> BookingSummary:
    b = view.booking
    return BookingSummary(
        name=name,
        renter=renter,
        listing_id="0x" + b.listing_id.hex(),
        booking_id="0x" + view.id.hex(),
        state=b.state.name,
        start=b.start,
        end=b.end,
        rent=b.rent,
        deposit=b.deposit,
        document_cid=car.document_cid,
        image_cids=tuple(car.image_cids),
    )


def _expected_payouts(
    trades: tuple[TradeSummary, ...], bookings: tuple[BookingSummary, ...]
) -> dict[str, int]:
    """What each role gains from the trades and bookings by their terms (gas aside)."""
    out = dict.fromkeys(ROLES, 0)
    for b in bookings:
        if b.state == "COMPLETED":  # returned: rent to the owner, deposit back to the renter
            out["seller"] += b.rent
            out[b.renter] -= b.rent
        else:  # still booked: rent and deposit held in escrow
            out[b.renter] -= b.rent + b.deposit
    for t in trades:
        held = t.price + t.deposit
        if t.buyer_share is None:  # completed: rent to the seller, deposit back to the buyer
            out["seller"] += t.price
            out["buyer"] -= t.price
            continue
        fee = held * t.arbitrator_fee_bps // 10_000
        out["arbitrator"] += fee
        out["buyer"] += t.buyer_share - held
        out["seller"] += held - fee - t.buyer_share
    return out


# ---------------------------------------------------------------------- printing


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _eth(wei: int) -> str:
    text = f"{wei / ETHER:.6f}".rstrip("0").rstrip(".")
    return f"{text} ETH"


def _signed_eth(wei: int) -> str:
    return ("+" if wei > 0 else "") + _eth(wei) if wei else "0 ETH"


#: Parts of the story in the gas table, by step section.
_PARTS = {
    "setup": "deployment",
    "listing": "listings",
    "rental": "car bookings",
    "rating": "ratings",
    "dispute": "helmet dispute",
    "offer": "stablecoin offer",
    "request": "ride request",
}


def _day(timestamp: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%a %Y-%m-%d")


def _short(tx_hash: str | None) -> str:
    return f"{tx_hash[:10]}…{tx_hash[-6:]}" if tx_hash else ""


def _gas_table(result: DemoResult) -> Table:
    from rich.table import Table

    gas = Table(title="Gas used (from the receipts)", title_justify="left")
    for column in ("part", "step", "by", "gas", "tx"):
        gas.add_column(column, justify="right" if column == "gas" else "left")
    for section, part in _PARTS.items():
        steps = [s for s in result.steps if s.section == section and s.gas_used is not None]
        for i, s in enumerate(steps):
            gas.add_row(
                part if i == 0 else "", s.action, s.actor, f"{s.gas_used:,}", _short(s.tx_hash)
            )
        if len(steps) > 1:
            subtotal = sum(s.gas_used or 0 for s in steps)
            gas.add_row("", f"[dim]{part}, total", "", f"[dim]{subtotal:,}", "", end_section=True)
        elif steps:
            gas.rows[-1].end_section = True
    gas.add_row(
        "[bold]all", "[bold]every step after the deployment", "", f"[bold]{result.total_gas:,}", ""
    )
    return gas


def _print_summary(console: Console, result: DemoResult) -> None:
    from rich.panel import Panel
    from rich.table import Table

    console.print()
    balances = Table(title="Balances (ETH)", title_justify="left")
    for column in ("party", "before", "after", "gas paid", "trades moved", "terms say"):
        balances.add_column(column, justify="left" if column == "party" else "right")
    for p in result.parties:
        balances.add_row(
            p.role,
            _eth(p.balance_before),
            _eth(p.balance_after),
            _eth(p.fees_paid),
            _signed_eth(p.payout),
            _signed_eth(p.expected_payout),
        )
    console.print(balances)

    reputations = Table(title="Reputation (on-chain, ETH trades)", title_justify="left")
    for column in ("party", "ratings", "average", "rated volume"):
        reputations.add_column(column, justify="left" if column == "party" else "right")
    for p in result.parties:
        average = f"{p.average:.1f} ★" if p.average is not None else "-"
        reputations.add_row(p.role, str(p.ratings), average, _eth(p.rated_volume))
    console.print(reputations)

    console.print(_gas_table(result))

    offer = result.offer
    offered = ""
    if offer is not None:
        matches_offer = offer.seller_received == offer.offered and offer.state == "COMPLETED"
        permit = "with a permit, no approve" if offer.permit else "after an approve"
        offered = (
            f"; an offer of {offer.offered / 10**6:g} TUSD for a {offer.asking / 10**6:g} TUSD"
            f" lock accepted {permit}, the seller holds {offer.seller_received / 10**6:g} TUSD"
        )
    else:
        matches_offer = True
    matches = all(p.payout == p.expected_payout for p in result.parties) and matches_offer
    hint = result.price_hint
    hinted = ""
    if hint is not None and hint.median is not None:
        hinted = f" a price hint for rides: median {_eth(hint.median)} over {hint.trades} sales;"
    verdict = "every balance moved exactly as the terms say" if matches else "BALANCES DIFFER"
    console.print(
        Panel(
            f"{verdict}; car found by {result.found_via}; an overlapping booking refused"
            f"{offered}; a ride request matched to a driver's listing;{hinted}"
            f" {result.network} chain, {result.elapsed:.1f} s",
            title="p2pchain demo",
            border_style="green" if matches else "red",
        )
    )


__all__ = [
    "NETWORKS",
    "BookingSummary",
    "DemoResult",
    "DemoStep",
    "OfferSummary",
    "PartySummary",
    "TradeSummary",
    "car_photo",
    "run_demo",
]
