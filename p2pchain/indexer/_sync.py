"""The write side of the index: chain events in, listings, trades, ratings and trust out.

Reading: ``eth_getLogs`` for both contracts over a block range that adapts to the answers (it
doubles while answers are small, halves when they are big or the node refuses the range), block
headers in JSON-RPC batches. Each range is committed in one transaction together with the new
cursor, so a process killed at any point resumes from the last committed block with no
duplicates and no gaps. Only blocks at least ``confirmations`` deep are read. Before each sync the
stored hash of the cursor block is compared with the chain's: if it changed, the newest stored
block that is still on the chain is found, everything after it is rolled back (the entities it
touched are rebuilt from their remaining stored events), and reading resumes from there.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, cast

from web3.types import LogReceipt

from p2pchain._errors import P2PChainError
from p2pchain.chain._deploy import BOOKINGS, MARKETPLACE, REPUTATION, Deployment
from p2pchain.chain._events import DecodedEvent
from p2pchain.chain._model import TRADE_TRANSITIONS, checksum_address
from p2pchain.compiler._artifacts import load_artifact
from p2pchain.indexer._apply import Batch, refresh_fulltext
from p2pchain.indexer._content import MAX_ATTEMPTS, fetch_document, resolve
from p2pchain.indexer._decode import BulkEventDecoder
from p2pchain.indexer._errors import IndexerError
from p2pchain.indexer._models import SyncReport
from p2pchain.indexer._reader import IndexReader
from p2pchain.indexer._rpc import Rpc, RpcError, as_hex, as_int
from p2pchain.indexer._trust import RatingRow, compute_trust

#: Default confirmation depth: blocks newer than ``head - confirmations`` are not indexed yet.
DEFAULT_CONFIRMATIONS = 2
#: Default largest ``eth_getLogs`` block range.
DEFAULT_MAX_RANGE = 50_000
#: Logs per answer the adaptive range aims at.
TARGET_LOGS = 5_000
_HEADER_BATCH = 200
#: Stored blocks re-checked against the chain before each sync (one batched request).
RECHECKED_BLOCKS = 16
_CHUNK = 500
_BINDING = ("chain_id", "marketplace", "reputation", "bookings", "deployment_block")


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _marks(values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    return ", ".join(f":k{i}" for i in range(len(values))), {
        f"k{i}": v for i, v in enumerate(values)
    }


def _normalize_log(log: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "address": checksum_address(log["address"]),
        "topics": [bytes.fromhex(as_hex(t)[2:]) for t in log["topics"]],
        "data": bytes.fromhex(as_hex(log["data"])[2:]),
        "blockNumber": as_int(log["blockNumber"]),
        "blockHash": as_hex(log["blockHash"]),
        "logIndex": as_int(log["logIndex"]),
        "transactionHash": bytes.fromhex(as_hex(log["transactionHash"])[2:]),
        "blockTimestamp": log.get("blockTimestamp"),
        "removed": bool(log.get("removed", False)),
    }


class Indexer(IndexReader):
    """Follows one deployment's events into an index database (and reads it, as a reader).

    Args:
        db_url: ``sqlite:///relative.sqlite``, ``sqlite:////abs.sqlite``, a plain path, or
            ``postgresql://...``.
        chain: A chain (``DevChain``), a ``Web3``, or an ``http(s)://`` RPC URL.
        deployment: The deployment to follow; read from the deployments file when ``None``.
        ipfs: Where to fetch listing documents from (any ``IpfsBackend``); ``None`` leaves them
            ``pending``.
        confirmations: Blocks to stay behind the head (0..1000).
        max_range: Largest ``eth_getLogs`` block range (1..1,000,000).

    Raises:
        IndexerError: Bad arguments or URL, a node on another chain than the deployment, or a
            database that already indexes another deployment.
    """

    def __init__(
        self,
        db_url: str,
        chain: Any,
        deployment: Deployment | None = None,
        *,
        ipfs: Any = None,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        max_range: int = DEFAULT_MAX_RANGE,
    ) -> None:
        if isinstance(confirmations, bool) or not isinstance(confirmations, int):
            raise IndexerError("confirmations must be an integer")
        if not 0 <= confirmations <= 1000:
            raise IndexerError(f"confirmations must be 0..1000, not {confirmations}")
        if isinstance(max_range, bool) or not isinstance(max_range, int):
            raise IndexerError("max_range must be an integer")
        if not 1 <= max_range <= 1_000_000:
            raise IndexerError(f"max_range must be 1..1000000 blocks, not {max_range}")
        if ipfs is not None and not callable(getattr(ipfs, "cat", None)):
            raise IndexerError(
                f"ipfs must be an IPFS backend (LocalStore, KuboBackend...), not {type(ipfs).__name__}"
            )
        self.rpc = Rpc(chain)
        chain_id = as_int(self.rpc.call("eth_chainId"))  # fails first if the node is unreachable
        self.deployment = deployment if deployment is not None else _load_deployment(chain)
        if chain_id != self.deployment.chain_id:
            raise IndexerError(
                f"the deployment is on chain id {self.deployment.chain_id}, the node on {chain_id}"
            )
        super().__init__(db_url, per_thread=False)  # one writer: its transactions hold a lock
        self.ipfs = ipfs
        self.confirmations = confirmations
        self.max_range = max_range
        self._range = min(1_000, max_range)
        self._ceiling = max_range  # lowered when the node refuses a range
        self._market = BulkEventDecoder(load_artifact(MARKETPLACE).abi)
        self._reputation = BulkEventDecoder(load_artifact(REPUTATION).abi)
        self._bookings = BulkEventDecoder(load_artifact(BOOKINGS).abi)
        self._bind()

    def _bind(self) -> None:
        d = self.deployment
        want = {
            "chain_id": str(d.chain_id),
            "marketplace": d.marketplace,
            "reputation": d.reputation,
            "bookings": d.bookings,
            "deployment_block": str(d.block),
        }
        with self.db.transaction():
            for key in _BINDING:
                have = self.db.get_meta(key)
                if have is None:
                    self.db.set_meta(key, want[key])
                elif have != want[key]:
                    raise IndexerError(
                        f"this index follows {key} {have}, not {want[key]}: use another database"
                        " (or rebuild into a new one)"
                    )

    # ------------------------------------------------------------------ syncing

    def sync(self, to_block: int | None = None) -> SyncReport:
        """Index every confirmed block up to ``to_block`` (default: ``head - confirmations``).

        Rolls back blocks that vanished from the chain first, then reads, fetches pending
        listing documents (when an IPFS backend was given) and refreshes trust scores if ratings
        changed.

        Raises:
            IndexerError: The node or the database failed (everything committed so far stays).
        """
        started = time.monotonic()
        if to_block is not None and (
            isinstance(to_block, bool) or not isinstance(to_block, int) or to_block < 0
        ):
            raise IndexerError(f"to_block must be a block number >= 0, not {to_block!r}")
        head = as_int(self.rpc.call("eth_blockNumber"))
        target = head - self.confirmations
        if to_block is not None:
            target = min(target, to_block)
        reorged = self._check_reorg()
        cursor = self.cursor()
        start = (cursor if cursor is not None else self.deployment.block - 1) + 1
        first = start
        totals = {"events": 0, "listings": 0, "trades": 0, "ratings": 0, "requests": 0}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="getLogs") as reader:
            # One range is read ahead while the previous one is decoded and written.
            ahead = self._read_ahead(reader, start, target)
            while ahead is not None:
                (start, end), future = ahead
                totals["requests"] += 1
                try:
                    logs = future.result()
                except RpcError:
                    if end == start:
                        raise
                    self._ceiling = end - start  # never ask this node for as wide a range again
                    self._range = max(1, (end - start + 1) // 2)
                    ahead = self._read_ahead(reader, start, target)
                    continue
                if len(logs) > TARGET_LOGS:
                    self._range = max(1, self._range // 2)
                elif len(logs) < TARGET_LOGS // 4:
                    self._range = min(self.max_range, self._ceiling, self._range * 2)
                ahead = self._read_ahead(reader, end + 1, target)
                try:
                    counts = self._commit_range(start, end, logs)
                except BaseException:
                    if ahead is not None:
                        ahead[1].cancel()
                    raise
                for key, value in counts.items():
                    totals[key] += value
        fetched = self.fetch_documents() if self.ipfs is not None else 0
        if totals["ratings"] or reorged:
            self.refresh_trust()
        elif totals["listings"]:
            self._refresh_seller_trust(first)
        final = self.cursor()
        return SyncReport(
            from_block=first,
            to_block=final if final is not None else first - 1,
            head=head,
            reorged_blocks=reorged,
            documents_fetched=fetched,
            seconds=time.monotonic() - started,
            **totals,
        )

    def _read_ahead(
        self, reader: ThreadPoolExecutor, start: int, target: int
    ) -> tuple[tuple[int, int], Future[list[dict[str, Any]]]] | None:
        if start > target:
            return None
        end = min(start + self._range - 1, target)
        return (start, end), reader.submit(self._get_logs, start, end)

    def _get_logs(self, start: int, end: int) -> list[dict[str, Any]]:
        d = self.deployment
        raw = self.rpc.call(
            "eth_getLogs",
            [
                {
                    "fromBlock": hex(start),
                    "toBlock": hex(end),
                    "address": [d.marketplace, d.reputation, d.bookings],
                }
            ],
        )
        if not isinstance(raw, list):
            raise IndexerError(f"eth_getLogs answered {type(raw).__name__}, not a list")
        return [_normalize_log(log) for log in raw if not log.get("removed", False)]

    def _headers(self, numbers: Sequence[int]) -> dict[int, tuple[str, int] | None]:
        out: dict[int, tuple[str, int] | None] = {}
        for chunk in _chunks(list(numbers), _HEADER_BATCH):
            answers = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            for number, block in zip(chunk, answers, strict=True):
                out[number] = (
                    None if block is None else (as_hex(block["hash"]), as_int(block["timestamp"]))
                )
        return out

    def _commit_range(self, start: int, end: int, logs: list[dict[str, Any]]) -> dict[str, int]:
        events = self._decode(cast(list[LogReceipt], logs))
        by_position = {(log["blockNumber"], log["logIndex"]): log for log in logs}
        blocks: dict[int, tuple[str, int | None]] = {}
        for log in logs:
            stamp = log["blockTimestamp"]
            blocks[log["blockNumber"]] = (
                log["blockHash"],
                as_int(stamp) if stamp is not None else None,
            )
        missing = [n for n, (_, t) in blocks.items() if t is None]
        headers = self._headers(sorted({*missing, end}))
        if headers[end] is None:
            raise IndexerError(f"block {end} vanished while reading it; sync again")
        for number in missing:
            header = headers[number]
            if header is None or header[0] != blocks[number][0]:
                raise IndexerError(f"block {number} changed while reading it; sync again")
            blocks[number] = (header[0], header[1])
        end_header = headers[end]
        blocks[end] = (end_header[0], end_header[1]) if end_header else blocks[end]
        times = {n: int(t) for n, (_, t) in blocks.items() if t is not None}
        with _gc_paused(), self.db.transaction():
            batch = Batch(self.db, times, self.deployment.bookings)
            batch.prefetch(events)
            for event in events:
                batch.apply(event, by_position[event.position])
            listings, trades, ratings = batch.write()
            self.db.insert_many(  # blocks after the cursor are never stored yet
                "blocks",
                ("number", "hash", "time"),
                [{"number": n, "hash": h, "time": t} for n, (h, t) in sorted(blocks.items())],
            )
            self.db.set_meta("cursor", str(end))
            self.db.set_meta("head_time", str(times[end]))
        return {"events": len(events), "listings": listings, "trades": trades, "ratings": ratings}

    # ------------------------------------------------------------------ reorgs

    def _check_reorg(self) -> int:
        cursor = self.cursor()
        if cursor is None:
            return 0
        # The cursor block, and the newest blocks holding events: their logs were read a moment
        # before the cursor's header, so a reorg in between shows only on them.
        stored = self.db.all(
            "SELECT number, hash FROM blocks WHERE number <= :c ORDER BY number DESC LIMIT :n",
            {"c": cursor, "n": RECHECKED_BLOCKS},
        )
        current = self._headers([int(n) for n, _ in stored])
        unchanged = [
            (h := current[int(n)]) is not None and h[0] == stored_hash for n, stored_hash in stored
        ]
        if stored and int(stored[0][0]) == cursor and all(unchanged):
            return 0
        fork = self._find_fork(cursor)
        self._rollback(fork)
        return cursor - fork

    def _find_fork(self, cursor: int) -> int:
        below = cursor + 1
        while True:
            rows = self.db.all(
                "SELECT number, hash FROM blocks WHERE number < :b ORDER BY number DESC LIMIT 100",
                {"b": below},
            )
            if not rows:
                return self.deployment.block - 1
            headers = self._headers([int(r[0]) for r in rows])
            for number, stored_hash in rows:
                header = headers[int(number)]
                if header is not None and header[0] == stored_hash:
                    return int(number)
            below = int(rows[-1][0])

    def _rollback(self, fork: int) -> None:
        """Forget everything after block ``fork`` and rebuild what it touched."""
        db = self.db
        with db.transaction():
            removed = db.all(
                "SELECT listing_id, trade_id FROM events WHERE block > :f", {"f": fork}
            )
            listings = {r[0] for r in removed if r[0]}
            trades = {r[1] for r in removed if r[1]}
            for chunk in _chunks(sorted(trades)):
                marks, params = _marks(chunk)
                listings |= {
                    r[0]
                    for r in db.all(
                        f"SELECT listing_id FROM trades WHERE trade_id IN ({marks})", params
                    )
                }
            for chunk in _chunks(sorted(trades)):  # bookings: every event names its listing
                marks, params = _marks(chunk)
                listings |= {
                    r[0]
                    for r in db.all(
                        f"SELECT listing_id FROM booked WHERE booking_id IN ({marks})", params
                    )
                }
            for chunk in _chunks(sorted(listings)):
                marks, params = _marks(chunk)
                trades |= {
                    r[0]
                    for r in db.all(
                        f"SELECT trade_id FROM trades WHERE listing_id IN ({marks})"
                        f" UNION SELECT booking_id FROM booked WHERE listing_id IN ({marks})",
                        params,
                    )
                }
            for table, column in (("events", "block"), ("ratings", "block"), ("blocks", "number")):
                db.execute(f"DELETE FROM {table} WHERE {column} > :f", {"f": fork})
            self._delete("listings", "listing_id", sorted(listings))
            self._delete("trades", "trade_id", sorted(trades))
            self._delete("booked", "booking_id", sorted(trades))
            replay = self._stored_events(sorted(listings), sorted(trades))
            times = {int(n): int(t) for n, t in db.all("SELECT number, time FROM blocks")}
            batch = Batch(db, times, self.deployment.bookings)
            batch.prefetch(replay)
            for event in replay:
                batch.apply(event)
            batch.write(replay=True)
            if fork < self.deployment.block:
                db.execute("DELETE FROM meta WHERE key IN ('cursor', 'head_time')")
            else:
                db.set_meta("cursor", str(fork))
                row = db.one("SELECT time FROM blocks WHERE number = :n", {"n": fork})
                if row is not None:
                    db.set_meta("head_time", str(row[0]))

    def _delete(self, table: str, key: str, ids: Sequence[str]) -> None:
        for chunk in _chunks(ids):
            marks, params = _marks(chunk)
            if table == "listings" and self.db.engine == "sqlite":
                self.db.execute(
                    "DELETE FROM listing_fts WHERE rowid IN"
                    f" (SELECT seq FROM listings WHERE listing_id IN ({marks}))",
                    params,
                )
                self.db.execute(
                    "DELETE FROM listing_geo WHERE seq IN"
                    f" (SELECT seq FROM listings WHERE listing_id IN ({marks}))",
                    params,
                )
            self.db.execute(f"DELETE FROM {table} WHERE {key} IN ({marks})", params)

    def _stored_events(self, listings: Sequence[str], trades: Sequence[str]) -> list[DecodedEvent]:
        found: dict[tuple[int, int], dict[str, Any]] = {}
        for column, ids in (("listing_id", listings), ("trade_id", trades)):
            for chunk in _chunks(ids):
                marks, params = _marks(chunk)
                for block, index, tx, address, topics, data in self.db.all(
                    "SELECT block, log_index, tx_hash, address, topics, data FROM events"
                    f" WHERE {column} IN ({marks})",
                    params,
                ):
                    words = bytes.fromhex(topics)
                    found[(int(block), int(index))] = {
                        "address": address,
                        "topics": [words[i : i + 32] for i in range(0, len(words), 32)],
                        "data": bytes.fromhex(data),
                        "blockNumber": int(block),
                        "logIndex": int(index),
                        "transactionHash": bytes.fromhex(tx[2:]),
                    }
        logs = cast(list[LogReceipt], [found[k] for k in sorted(found)])
        return self._decode(logs)

    def _decode(self, logs: list[LogReceipt]) -> list[DecodedEvent]:
        d = self.deployment
        try:
            events = (
                self._market.decode(logs, d.marketplace)
                + self._reputation.decode(logs, d.reputation)
                + self._bookings.decode(logs, d.bookings)
            )
        except Exception as exc:  # noqa: BLE001 - eth_abi's errors: a node sent a bad log
            raise IndexerError(f"a log of the deployment does not decode: {exc}") from None
        events.sort(key=lambda e: e.position)
        return events

    # ------------------------------------------------------------------ documents and trust

    def fetch_documents(self, limit: int = 10_000) -> int:
        """Fetch the listing documents not fetched yet (and retry unavailable ones).

        Each document is verified against its CID, parsed, and checked against the terms of each
        listing that anchors it; the listings are marked ``ok``, ``unavailable`` or ``invalid``
        with the reason.

        Returns:
            Documents fetched.
        """
        if self.ipfs is None:
            raise IndexerError("no IPFS backend given: cannot fetch listing documents")
        rows = self.db.all(
            "SELECT DISTINCT l.cid FROM listings l LEFT JOIN documents d ON d.cid = l.cid"
            " WHERE d.cid IS NULL OR (d.status = 'unavailable' AND d.attempts < :max)"
            " ORDER BY l.cid LIMIT :limit",
            {"max": MAX_ATTEMPTS, "limit": limit},
        )
        for (cid,) in rows:
            self._store_document(cid, fetch_document(self.ipfs, cid))
        return len(rows)

    def _store_document(self, cid: str, fetched: Any) -> None:
        from p2pchain.indexer._apply import LISTING_COLUMNS

        db = self.db
        with db.transaction():
            db.execute(
                "INSERT INTO documents (cid, status, reason, body, attempts)"
                " VALUES (:cid, :status, :reason, :body, 1) ON CONFLICT (cid) DO UPDATE SET"
                " status = excluded.status, reason = excluded.reason, body = excluded.body,"
                " attempts = documents.attempts + 1",
                {
                    "cid": cid,
                    "status": fetched.status,
                    "reason": fetched.reason,
                    "body": fetched.body,
                },
            )
            rows = db.all(
                f"SELECT {', '.join(LISTING_COLUMNS)} FROM listings WHERE cid = :cid", {"cid": cid}
            )
            updates = []
            for values in rows:
                row = dict(zip(LISTING_COLUMNS, values, strict=True))
                resolve(row, (fetched.status, fetched.reason, fetched.body))
                updates.append(row)
            db.executemany(
                "UPDATE listings SET content_status = :content_status,"
                " content_reason = :content_reason, title = :title, description = :description,"
                " category = :category, kind = :kind, images = :images, document = :document,"
                " lat = :lat, lon = :lon WHERE listing_id = :listing_id",
                updates,
            )
            refresh_fulltext(db, [r["listing_id"] for r in updates])

    def refresh_trust(self) -> int:
        """Recompute every trust score from the indexed ratings (docs/trust.md).

        Returns:
            Addresses scored.
        """
        db = self.db
        # A booking is rated like a trade: the renter as the buyer, its last event as the close.
        transitions = ", ".join(f"'{name}'" for name in (*TRADE_TRANSITIONS, "Returned"))
        rows = db.all(
            "SELECT r.rater, r.subject, r.score, r.token, r.value, COALESCE(t.buyer, b.renter),"
            " COALESCE(t.block_number, b.block_number), c.closed FROM ratings r"
            " LEFT JOIN trades t ON t.trade_id = r.trade_id"
            " LEFT JOIN booked b ON b.booking_id = r.trade_id"
            # the last transition of each rated trade, aggregated once (not once per rating)
            " LEFT JOIN (SELECT e.trade_id, MAX(e.block) AS closed FROM events e"
            f" WHERE e.name IN ({transitions}) AND e.trade_id IN (SELECT trade_id FROM ratings)"
            " GROUP BY e.trade_id) c ON c.trade_id = r.trade_id"
        )
        results = compute_trust(
            RatingRow(
                rater,
                subject,
                int(score),
                token,
                int(value),  # what the seller was paid (the contract computes it)
                buyer == rater,
                same_block=opened is not None and closed is not None and opened == closed,
            )
            for rater, subject, score, token, value, buyer, opened, closed in rows
        )
        with db.transaction():
            db.execute("DELETE FROM trust")
            db.executemany(
                "INSERT INTO trust (address, score, rating_count, average_stars, weighted_stars,"
                " volume, counterparties, details) VALUES (:address, :score, :rating_count,"
                " :average_stars, :weighted_stars, :volume, :counterparties, :details)",
                [
                    {
                        "address": address,
                        "score": r.score,
                        "rating_count": r.rating_count,
                        "average_stars": r.average_stars,
                        "weighted_stars": r.weighted_stars,
                        "volume": json.dumps({k: str(v) for k, v in r.volume.items()}),
                        "counterparties": r.counterparties,
                        "details": json.dumps(r.details),
                    }
                    for address, r in results.items()
                ],
            )
            self._refresh_seller_trust(None)
        return len(results)

    def _refresh_seller_trust(self, since_block: int | None) -> None:
        """Copy sellers' scores into their listings, writing only rows whose score changed."""
        where = "" if since_block is None else " AND l.block_number >= :b"
        # One join of listings and scores (not a score lookup per listing, twice).
        self.db.execute(
            "UPDATE listings SET seller_trust = s.score FROM (SELECT l.listing_id,"
            " COALESCE(t.score, 0) AS score FROM listings l LEFT JOIN trust t"
            f" ON t.address = l.seller WHERE l.seller_trust <> COALESCE(t.score, 0){where}) s"
            " WHERE listings.listing_id = s.listing_id",
            {} if since_block is None else {"b": since_block},
        )

    # ------------------------------------------------------------------ loops

    def follow(
        self,
        *,
        poll_interval: float = 2.0,
        stop: threading.Event | None = None,
        on_sync: Callable[[SyncReport], None] | None = None,
    ) -> None:
        """Sync, then keep syncing every ``poll_interval`` seconds until ``stop`` is set.

        Raises:
            IndexerError: A sync failed (everything committed before stays).
        """
        if not 0 < poll_interval <= 3600:
            raise IndexerError(f"poll_interval must be in (0, 3600] seconds, not {poll_interval}")
        stop = stop or threading.Event()
        while not stop.is_set():
            report = self.sync()
            if on_sync is not None:
                on_sync(report)
            stop.wait(poll_interval)

    def rebuild(self) -> SyncReport:
        """Drop everything indexed and sync again from the deployment block."""
        db = self.db
        with db.transaction():
            for table in ("events", "blocks", "listings", "trades", "ratings", "trust"):
                db.execute(f"DELETE FROM {table}")
            if db.engine == "sqlite":
                db.execute("DELETE FROM listing_fts")
                db.execute("DELETE FROM listing_geo")
            db.execute("DELETE FROM meta WHERE key IN ('cursor', 'head_time')")
        return self.sync()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while a range is applied: its many short-lived rows are freed by refcount,
    and full collections over the whole process (web3's object graph) cost more than the work."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_deployment(chain: Any) -> Deployment:
    from p2pchain.chain._deploy import load_deployment
    from p2pchain.chain._nodes import RpcChain

    target = RpcChain(chain) if isinstance(chain, str) else chain
    try:
        return load_deployment(target)
    except P2PChainError as exc:
        raise IndexerError(str(exc)) from None
    except (OSError, ValueError) as exc:  # requests' connection errors are OSErrors
        raise IndexerError(f"cannot read the deployment from the node: {exc}") from None
