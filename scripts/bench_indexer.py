"""Indexer figures: events ingested per second from Anvil, and search latency over 100k listings.

**Ingest.** A fresh Anvil (automine) gets ``--trades`` complete trades, each five events
(``Listed``, ``Purchased``, ``Released`` and two ``Rated``), sent through
:class:`p2pchain.MarketplaceClient` pipelined in rounds of ``--batch`` (the nonce manager sends
without waiting per receipt). Then :meth:`p2pchain.indexer.Indexer.sync` indexes them all from the
deployment block into a fresh database: every log fetched with ``eth_getLogs`` over HTTP,
decoded, applied, written, trust scores computed. Events per second = events / sync wall time.

**Search.** ``--listings`` listings are synthesized straight into a fresh index database (rows
written as the indexer writes them, with the SQLite FTS5 rows / PostgreSQL tsvectors; on-chain
creation of 100k listings would take the chain minutes and measure the chain, not the search).
Sellers get trust scores. Then ``--queries`` searches of a fixed mix (one or two words, with and
without filters, each sort order, first and later pages) are timed one by one through
:meth:`~p2pchain.indexer.IndexReader.search`, including building the result models.

Both run on SQLite, and on PostgreSQL when ``--postgres URL`` names an empty database.

Usage: ``python scripts/bench_indexer.py [--trades 2400] [--listings 100000] [--queries 400]
[--postgres postgresql://...]``. Prints the figures and writes ``docs/bench-indexer.md``. This
is a measurement, not a test: nothing asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/bench_indexer.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchain import AnvilChain, MarketplaceClient, P2PChainError, deploy
from p2pchain.indexer import Indexer, IndexReader, SearchQuery
from p2pchain.indexer._apply import BOOKED_COLUMNS, LISTING_COLUMNS, refresh_fulltext
from p2pchain.indexer._db import Database, price_key

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "bench-indexer.md"
ONE = 10**18
#: Item nouns: every title ends in one (about 1.4% of listings each).
NOUNS = [
    "bike",
    "road",
    "mountain",
    "vintage",
    "lamp",
    "desk",
    "chair",
    "table",
    "sofa",
    "camera",
    "lens",
    "phone",
    "laptop",
    "guitar",
    "piano",
    "drum",
    "tent",
    "kayak",
    "ski",
    "snowboard",
    "book",
    "novel",
    "comic",
    "watch",
    "ring",
    "necklace",
    "jacket",
    "boots",
    "shoes",
    "dress",
    "shirt",
    "repair",
    "cleaning",
    "tutoring",
    "lessons",
    "moving",
    "delivery",
    "garden",
    "plant",
    "tool",
    "drill",
    "saw",
    "ladder",
    "car",
    "van",
    "trailer",
    "apartment",
    "room",
    "studio",
    "parking",
    "printer",
    "monitor",
    "keyboard",
    "speaker",
    "headphones",
    "console",
    "game",
    "toy",
    "puzzle",
    "stroller",
    "crib",
    "bed",
    "mattress",
    "fridge",
    "oven",
    "kettle",
]
#: Adjectives: two per title (about 5% of listings each): the broad queries.
ADJECTIVES = [
    "red",
    "blue",
    "green",
    "black",
    "white",
    "grey",
    "small",
    "large",
    "compact",
    "heavy",
    "light",
    "new",
    "used",
    "antique",
    "modern",
    "classic",
    "electric",
    "wooden",
    "steel",
    "leather",
    "wireless",
    "portable",
    "folding",
    "premium",
    "cheap",
    "rare",
    "handmade",
    "solid",
    "soft",
    "quiet",
    "fast",
    "sturdy",
    "elegant",
    "retro",
    "digital",
    "manual",
    "organic",
]
#: Description filler: 3000 pseudo-words drawn with Zipf frequencies (never queried).
FILLER = [a + b + c for a in ("ka", "lo", "mi", "ne", "pu", "ri", "so", "ta", "ve", "zu")
          for b in ("ba", "de", "fi", "go", "hu", "ja", "ke", "lu", "mo", "ni")
          for c in ("r", "s", "t", "n", "l", "m", "k", "p", "d", "x", "y", "z", "v", "w", "q",
                    "b", "c", "f", "g", "h", "j", "ra", "to", "ne", "li", "su", "mo", "pa",
                    "de", "ki")]  # fmt: skip
FILLER_WEIGHTS = [1 / (rank + 1) ** 1.1 for rank in range(len(FILLER))]
CATEGORIES = (
    "sports/bikes", "sports/winter", "home/furniture", "home/kitchen", "electronics/phones",
    "electronics/computers", "music/instruments", "books", "fashion", "services/repair",
    "services/lessons", "vehicles", "rentals/housing", "kids", "garden",
)  # fmt: skip
KINDS = ("sale", "sale", "sale", "service", "rental")


@dataclass
class Ingest:
    engine: str
    events: int
    blocks: int
    seconds: float
    requests: int
    #: web3.py's ``get_logs`` + ``process_log`` over the same Anvil and events, in the same run.
    baseline_per_second: float = 0.0

    @property
    def per_second(self) -> float:
        return self.events / self.seconds

    @property
    def ratio(self) -> float:
        """Indexer ingest over the web3.py baseline (the figure the report guards)."""
        return self.per_second / self.baseline_per_second if self.baseline_per_second else 0.0


@dataclass
class Search:
    engine: str
    listings: int
    queries: int
    latencies_ms: list[float]
    load_seconds: float

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# ------------------------------------------------------------------------------------- ingest


def _cid() -> bytes:
    return bytes.fromhex("1220") + os.urandom(32)


def make_trades(
    seller: MarketplaceClient, buyer: MarketplaceClient, trades: int, batch: int
) -> None:
    """``trades`` complete, mutually rated trades, pipelined in rounds of ``batch``."""
    done = 0
    while done < trades:
        size = min(batch, trades - done)
        terms = [
            seller.make_terms(price=ONE // 1000 * (1 + i % 7), cid=_cid()) for i in range(size)
        ]
        listings = seller.results(
            seller.submit_all([seller.prepare_create_listing(t) for t in terms])
        )
        bought = buyer.results(buyer.submit_all([buyer.prepare_buy(x) for x in listings]))
        released = buyer.results(buyer.submit_all([buyer.prepare_release(t) for t in bought]))
        buyer.results(buyer.submit_all([buyer.prepare_rate(t, 5) for t in released]))
        seller.results(seller.submit_all([seller.prepare_rate(t, 4) for t in released]))
        done += size


def measure_ingest(chain: AnvilChain, deployment: Any, db_url: str, engine: str) -> Ingest:
    """Index everything from the deployment block; time the sync."""
    indexer = Indexer(db_url, chain, deployment, confirmations=0)
    try:
        report = indexer.sync()
    finally:
        indexer.close()
    return Ingest(
        engine,
        report.events,
        report.to_block - report.from_block + 1,
        report.seconds,
        report.requests,
    )


def measure_web3_baseline(chain: AnvilChain, deployment: Any) -> tuple[int, float]:
    """web3.py alone, as a dApp would read the same events: one ``eth_getLogs`` per contract
    over the whole range, then each log decoded with its contract event's ``process_log``.
    Nothing is written anywhere, so this is a floor the indexer's full pipeline is compared to.

    Returns:
        (events, events per second)
    """
    from eth_utils import event_abi_to_log_topic

    from p2pchain.compiler._artifacts import load_artifact

    w3 = chain.w3
    latest = w3.eth.block_number
    started = time.perf_counter()
    events = 0
    for name, address in (
        ("Marketplace", deployment.marketplace),
        ("Reputation", deployment.reputation),
    ):
        abi = list(load_artifact(name).abi)
        contract = w3.eth.contract(address=address, abi=abi)
        by_topic = {
            event_abi_to_log_topic(cast(Any, e)): getattr(contract.events, e["name"])()
            for e in abi
            if e.get("type") == "event"
        }
        logs = w3.eth.get_logs(
            {"address": address, "fromBlock": deployment.block, "toBlock": latest}
        )
        for log in logs:
            by_topic[bytes(log["topics"][0])].process_log(log)
            events += 1
    return events, events / (time.perf_counter() - started)


# ------------------------------------------------------------------------------------- search


def _address(rng: random.Random) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + rng.randbytes(20).hex())


#: Bookings per rental in the bookings index, and when its calendars begin.
BOOKINGS_PER_RENTAL = 10
CALENDAR_START = 1_800_000_000


def synthesize(db_url: str, listings: int, seed: int = 7, *, rentals: bool = False) -> float:
    """Write ``listings`` listings (and their sellers' trust) into a fresh index; returns seconds.

    With ``rentals``, every listing is a rental booked by date (80% by the day, 20% by the hour)
    with ``BOOKINGS_PER_RENTAL`` bookings spread over its first 90 days.
    """
    rng = random.Random(seed)
    sellers = [_address(rng) for _ in range(max(10, listings // 50))]
    token = _address(rng)
    places = _towns()
    started = time.monotonic()
    db = Database(db_url)
    rows: list[dict[str, Any]] = []
    booked: list[dict[str, Any]] = []
    for i in range(listings):
        noun = rng.choice(NOUNS)
        title = " ".join([*rng.sample(ADJECTIVES, 2), noun]).capitalize()
        description = " ".join([*rng.choices(FILLER, FILLER_WEIGHTS, k=20), noun])
        kind = "rental" if rentals else rng.choice(KINDS)
        price = rng.randint(1, 5_000) * 10**15
        calendar: dict[str, Any] = {"unit": 0, "rate_day_key": "", "first_start": 0, "last_end": 0}
        listing_id = "0x" + rng.randbytes(32).hex()
        if rentals:
            unit = 86_400 if rng.random() < 0.8 else 3_600
            first = CALENDAR_START + rng.randint(0, 23) * 3_600
            calendar = {
                "unit": unit,
                "rate_day_key": price_key(price * 86_400 // unit),
                "first_start": first,
                "last_end": first + 365 * 86_400,
            }
            for b in range(BOOKINGS_PER_RENTAL):
                start = first + (b * 9 + rng.randint(0, 5)) * 86_400
                booked.append(
                    {
                        "booking_id": "0x" + rng.randbytes(32).hex(),
                        "listing_id": listing_id,
                        "start_time": start,
                        "end_time": start + rng.randint(1, 4) * 86_400,
                        "renter": "0x" + "11" * 20,
                        "blocked": 0,
                        "holding": int(rng.random() < 0.9),
                        "block_number": i + 1,
                    }
                )
        rows.append(
            {
                "listing_id": listing_id,
                "seller": rng.choice(sellers),
                "signed": int(rng.random() < 0.2),
                "salt": "0x" + "00" * 32,
                "token": token if rng.random() < 0.1 else "ETH",
                "price": str(price),
                "price_key": price_key(price),
                "deposit": str(price // 2 if kind == "rental" else 0),
                "arbitrator": "0x" + "00" * 20,
                "arbitrator_fee_bps": 0,
                "review_window": 7 * 86_400,
                "expiry": 0,
                "cid": "bafkrei" + rng.randbytes(16).hex(),
                "listed_quantity": 1,
                "remaining": 0 if rng.random() < 0.3 else 1,
                "sold": 0,
                "closed": int(rng.random() < 0.05),
                "block_number": i + 1,
                "updated_block": i + 1,
                "listed_at": 1_700_000_000 + i,
                "content_status": "ok",
                "content_reason": None,
                "title": title,
                "description": description,
                "category": rng.choice(CATEGORIES),
                "kind": kind,
                "images": "[]",
                "document": None,
                **_somewhere(rng, places),
                **calendar,
            }
        )
    trust = {a: rng.random() for a in sellers}
    for row in rows:
        row["seller_trust"] = trust[row["seller"]]
    with db.transaction():
        db.insert_many("listings", (*LISTING_COLUMNS, "seller_trust"), rows)
        db.insert_many("booked", BOOKED_COLUMNS, booked)
        refresh_fulltext(db, [r["listing_id"] for r in rows])
        db.executemany(
            "INSERT INTO trust (address, score, rating_count, average_stars, weighted_stars,"
            " volume, counterparties, details) VALUES (:a, :s, 1, 5, 5, '{}', 1, '{}')",
            [{"a": a, "s": s} for a, s in trust.items()],
        )
        db.set_meta("head_time", str(1_700_000_000 + listings))
    if db.engine == "postgresql":
        db.execute("VACUUM ANALYZE")  # what autovacuum does on a live index
    else:
        db.execute("ANALYZE")
        db.execute("INSERT INTO listing_fts (listing_fts) VALUES ('optimize')")
    db.close()
    return time.monotonic() - started


def _towns(count: int = 40, seed: int = 5) -> list[tuple[float, float]]:
    """Town centres across Europe (latitude 36..60, longitude -10..30), the same every run."""
    rng = random.Random(seed)
    return [(rng.uniform(36, 60), rng.uniform(-10, 30)) for _ in range(count)]


def _somewhere(rng: random.Random, towns: list[tuple[float, float]]) -> dict[str, float | None]:
    """A listing's place: 80% near a town (spread about 20 km), the rest without coordinates."""
    if rng.random() >= 0.8:
        return {"lat": None, "lon": None}
    lat, lon = rng.choice(towns)
    return {"lat": lat + rng.gauss(0, 0.18), "lon": lon + rng.gauss(0, 0.28)}


def place_mix(count: int, seed: int = 13) -> list[SearchQuery]:
    """Searches around a point: near a town, within 5 to 50 km, under a price, nearest or
    cheapest first (the radius + price part of the bookings search)."""
    rng = random.Random(seed)
    towns = _towns()
    out = []
    for i in range(count):
        lat, lon = rng.choice(towns)
        out.append(
            SearchQuery(
                near_lat=lat + rng.gauss(0, 0.05),
                near_lon=lon + rng.gauss(0, 0.08),
                within_km=rng.choice((5, 10, 25, 50)),
                max_price=rng.randint(200, 5_000) * 10**15,
                sort="distance" if i % 2 == 0 else "price_asc",
                limit=20,
            )
        )
    return out


def booking_mix(count: int, seed: int = 17) -> list[SearchQuery]:
    """Rentals free for 1 to 7 days in the next 90, within 5 to 50 km of a town, at most a rate
    per day: nearest or cheapest first (the issue's date + radius + price query)."""
    rng = random.Random(seed)
    towns = _towns()
    out = []
    for i in range(count):
        lat, lon = rng.choice(towns)
        start = CALENDAR_START + rng.randint(0, 89) * 86_400 + 10 * 3_600
        out.append(
            SearchQuery(
                kind="rental",
                near_lat=lat + rng.gauss(0, 0.05),
                near_lon=lon + rng.gauss(0, 0.08),
                within_km=rng.choice((5, 10, 25, 50)),
                available_from=start,
                available_to=start + rng.randint(1, 7) * 86_400,
                max_rate_per_day=rng.randint(200, 5_000) * 10**15,
                sort="distance" if i % 2 == 0 else "price_asc",
                limit=20,
            )
        )
    return out


def query_mix(count: int, seed: int = 11) -> list[SearchQuery]:
    """A fixed mix of searches: words, filters, sort orders, pages."""
    rng = random.Random(seed)
    sorts = ("newest", "price_asc", "price_desc", "trust")
    out = []
    for i in range(count):
        fields: dict[str, Any] = {"sort": sorts[i % 4], "limit": 20}
        shape = i % 8
        if shape in (0, 1, 2, 3, 4):
            words = [rng.choice(NOUNS)]  # an item; with an adjective; or only an adjective
            pick = rng.random()
            if pick < 0.3:
                words.insert(0, rng.choice(ADJECTIVES))
            elif pick < 0.5:
                words = [rng.choice(ADJECTIVES)]
            fields["text"] = " ".join(words)
        if shape in (2, 5):
            fields["min_price"] = rng.randint(1, 2_000) * 10**15
            fields["max_price"] = fields["min_price"] + rng.randint(1, 2_000) * 10**15
            fields["token"] = "ETH"
        if shape in (3, 6):
            fields["kind"] = rng.choice(("sale", "service", "rental"))
        if shape in (4, 7):
            fields["min_trust"] = round(rng.random() * 0.8, 2)
        if i % 5 == 4:
            fields["offset"] = 20 * rng.randint(1, 5)
        out.append(SearchQuery(**fields))
    return out


def measure_search(
    db_url: str, engine: str, listings: int, queries: int, rentals_url: str | None = None
) -> list[Search]:
    """The text-and-filters mix, then the radius + price mix, on one synthesized index; with
    ``rentals_url``, the date + radius + rate mix on an index of rentals with bookings."""
    load = synthesize(db_url, listings)
    plan: list[tuple[str, list[SearchQuery], str, float]] = [
        (engine, query_mix(queries), db_url, load),
        (f"{engine}, radius", place_mix(queries), db_url, load),
    ]
    if rentals_url is not None:
        rentals_load = synthesize(rentals_url, listings, rentals=True)
        plan.append((f"{engine}, bookings", booking_mix(queries), rentals_url, rentals_load))
    out = []
    for name, mix, url, load in plan:
        latencies = []
        with IndexReader(url) as reader:
            for query in mix[: min(20, len(mix))]:  # warm the caches
                reader.search(query)
            for query in mix:
                started = time.perf_counter()
                reader.search(query)
                latencies.append((time.perf_counter() - started) * 1000)
        out.append(Search(name, listings, queries, latencies, load))
    return out


# ------------------------------------------------------------------------------------- report


def _anvil_version() -> str:
    from p2pchain._paths import find_node_modules, find_node_tool

    try:
        binary = find_node_tool("anvil", find_node_modules())
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        return out.stdout.strip().splitlines()[0]
    except (OSError, IndexError, P2PChainError, subprocess.SubprocessError):
        return "anvil (version unknown)"


def render(
    ingests: list[Ingest], searches: list[Search], trades: int, pg_version: str | None = None
) -> str:
    """The markdown report."""
    lines = [
        "# Indexer benchmark",
        "",
        (
            f"Written by `scripts/bench_indexer.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC;"
            " re-run it to refresh. Figures are measurements of one run, not guarantees."
        ),
        "",
        (
            f"- Machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python"
            f" {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}"
            f"; {_anvil_version()}; load average {os.getloadavg()[0]:.1f} at the end of the"
            " run (the machine is shared)."
        ),
        f"- PostgreSQL: {pg_version or 'not measured'}, a fresh cluster with default settings.",
        (
            "- Targets: at least 5,000 events/s ingested from Anvil; search p95 at most 20 ms over"
            " 100k listings."
        ),
        "",
        "## Ingest from Anvil",
        "",
        (
            f"{trades} complete trades (list, buy, release, two ratings: five events each) made on a"
            " fresh Anvil (automine; pipelined rounds put several transactions in a block), then"
            " indexed from the deployment block by `Indexer.sync()` over HTTP into an empty"
            " database: `eth_getLogs` over adaptive ranges (the next range read while the last is"
            " written), decoding, rebuilding listings and trades, writing, trust scores."
        ),
        "",
        (
            "The baseline, measured in the same run on the same Anvil and events, is web3.py"
            " alone: `eth_getLogs` per contract over the whole range and each log decoded with its"
            " contract event's `process_log`, writing nothing. Target: ingest at least 6x the"
            " baseline."
        ),
        "",
        (
            "| engine | events | blocks | eth_getLogs requests | seconds | events/s |"
            " web3.py baseline events/s | ratio |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ingests:
        lines.append(
            f"| {r.engine} | {r.events:,} | {r.blocks:,} | {r.requests} | {r.seconds:.2f} |"
            f" {r.per_second:,.0f} | {r.baseline_per_second:,.0f} | {r.ratio:.1f}x |"
        )
    lines += [
        "",
        "## Search",
        "",
        (
            "Listings are synthesized straight into the index database (the rows and full-text"
            " entries the indexer writes), because creating 100k listings on a chain would measure"
            " the chain. Titles are two adjectives (37, about 5% of listings each) and an item noun"
            " (66, about 1.5% each); descriptions are 20 filler words drawn with Zipf frequencies"
            " plus the noun; 15 categories (about 6.7% each, also searchable); 10% priced in an"
            " ERC-20 token, 30% sold out, 5% closed; 2,000 sellers with trust scores. The mix of"
            " 400 queries: half have text (an item, an adjective and an item, or one adjective: the"
            " broad ones; a few items are category words too), with price ranges, kinds or a"
            " minimum trust, every sort order, pages 1 to 6; totals are counted up to 1,000 (`SearchPage.total_exact`)."
            " Each query is timed alone through `IndexReader.search`, result models included,"
            " after 20 warm-up queries."
        ),
        "",
        (
            "The `radius` rows search the same index around a point: 80% of the listings lie"
            " within about 20 km of one of 40 towns across Europe (the rest give no"
            " coordinates); each query is near a town, within 5, 10, 25 or 50 km, under a"
            " maximum price, nearest or cheapest first (SQLite's R*Tree, PostgreSQL's"
            " cube/earthdistance GiST index)."
        ),
        "",
        (
            "The `bookings` rows search a second index where every listing is a rental booked by"
            f" date (80% by the day, 20% by the hour) with {BOOKINGS_PER_RENTAL} bookings each"
            " over its first 90 days (90% holding, 10% cancelled): each query asks for rentals free"
            " for 1 to 7 days in those 90 days, within 5 to 50 km of a town, at most a rate per"
            " day, nearest or cheapest first. The date test is a `NOT EXISTS` over the `booked`"
            " table's (listing, start, end) index, inside the same geo and rate filters. Target:"
            " p95 at most 30 ms."
        ),
        "",
        "| engine | listings | queries | p50 ms | p95 ms | p99 ms | max ms | load s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in searches:
        lines.append(
            f"| {s.engine} | {s.listings:,} | {s.queries} | {statistics.median(s.latencies_ms):.2f} |"
            f" {s.percentile(95):.2f} | {s.percentile(99):.2f} | {max(s.latencies_ms):.2f} |"
            f" {s.load_seconds:.1f} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=2400, help="trades to index (5 events each)")
    parser.add_argument("--batch", type=int, default=200, help="transactions per pipelined round")
    parser.add_argument("--listings", type=int, default=100_000, help="listings to search over")
    parser.add_argument("--queries", type=int, default=400, help="searches to time")
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database (also measured)")
    parser.add_argument("--report", type=Path, default=REPORT, help="where to write the report")
    args = parser.parse_args(argv)
    for name in ("trades", "batch", "listings", "queries"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.postgres and not args.postgres.startswith(("postgresql://", "postgres://")):
        parser.error("--postgres must be a postgresql:// URL")
    try:
        return _run(args)
    except P2PChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    ingests: list[Ingest] = []
    searches: list[Search] = []
    with tempfile.TemporaryDirectory() as tmp, AnvilChain() as chain:
        deployer, seller_account, buyer_account = chain.accounts[:3]
        deployment = deploy(chain, deployer)
        seller = MarketplaceClient.connect(chain, account=seller_account, deployments=deployment)
        buyer = seller.with_account(buyer_account)
        started = time.monotonic()
        make_trades(seller, buyer, args.trades, args.batch)
        print(
            f"made {args.trades} trades ({5 * args.trades} events) in {time.monotonic() - started:.1f} s"
        )
        engines = [("sqlite", f"sqlite:///{tmp}/ingest.sqlite")]
        pg_ingest = pg_search = pg_rentals = None
        if args.postgres:
            pg_ingest, pg_search, pg_rentals = _pg_databases(args.postgres)
            engines.append(("postgresql", pg_ingest))
        for engine, url in engines:
            _, baseline = measure_web3_baseline(chain, deployment)
            result = measure_ingest(chain, deployment, url, engine)
            result.baseline_per_second = baseline
            ingests.append(result)
            print(
                f"ingest {engine}: {result.events} events in {result.seconds:.2f} s = {result.per_second:,.0f} events/s"
                f"; web3.py baseline {baseline:,.0f} events/s; ratio {result.ratio:.1f}x"
            )
        search_engines = [
            ("sqlite", f"sqlite:///{tmp}/search.sqlite", f"sqlite:///{tmp}/rentals.sqlite")
        ]
        if pg_search and pg_rentals:
            search_engines.append(("postgresql", pg_search, pg_rentals))
        for engine, url, rentals_url in search_engines:
            for s in measure_search(url, engine, args.listings, args.queries, rentals_url):
                searches.append(s)
                print(
                    f"search {s.engine}: {s.listings} listings, p50 {statistics.median(s.latencies_ms):.2f} ms,"
                    f" p95 {s.percentile(95):.2f} ms, p99 {s.percentile(99):.2f} ms"
                )
    args.report.write_text(render(ingests, searches, args.trades, _pg_version(args.postgres)))
    print(f"report written to {args.report}")
    # The ratios `make bench` compares with the committed ones (scripts/bench_guard.py).
    args.report.with_suffix(".json").write_text(
        json.dumps(
            {"higher_is_better": {f"ingest_ratio_{i.engine}": round(i.ratio, 3) for i in ingests}},
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    print(json.dumps({"ingest": {i.engine: round(i.per_second) for i in ingests},
                      "ingest_ratio": {i.engine: round(i.ratio, 2) for i in ingests},
                      "search_p95_ms": {s.engine: round(s.percentile(95), 2) for s in searches
                                        if "," not in s.engine},
                      "radius_p95_ms": {s.engine.split(",")[0]: round(s.percentile(95), 2)
                                        for s in searches if ", radius" in s.engine},
                      "bookings_p95_ms": {s.engine.split(",")[0]: round(s.percentile(95), 2)
                                          for s in searches if ", bookings" in s.engine}}))  # fmt: skip
    return 0


def _pg_version(url: str | None) -> str | None:
    if not url:
        return None
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0]}" if row else None


def _pg_databases(url: str) -> tuple[str, str, str]:
    """Three fresh databases next to ``url`` (ingest, search, and the rentals search)."""
    import uuid

    import psycopg

    base, _, _ = url.rpartition("/")
    names = [f"bench_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("ingest", "search", "rentals")]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names:
                conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        raise P2PChainError(f"cannot create the benchmark databases: {str(exc).strip()}") from None
    return f"{base}/{names[0]}", f"{base}/{names[1]}", f"{base}/{names[2]}"


if __name__ == "__main__":
    sys.exit(main())
