"""One thin DB-API layer over SQLite and PostgreSQL, and the index schema.

SQL is written once with ``:name`` parameters (SQLite's named style) and rewritten to psycopg's
``%(name)s`` for PostgreSQL. Only the schema's types and the full-text parts differ: an FTS5
virtual table on SQLite, a generated ``tsvector`` column with a GIN index on PostgreSQL.

Big integers (prices, values: up to 2**256 - 1) are stored as decimal text; prices also as a
zero-padded 78-digit key (``C`` collation) so text order is numeric order.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from p2pchain.indexer._errors import IndexerError

Engine = Literal["sqlite", "postgresql"]
#: Version of the schema below; a database of another version is refused.
SCHEMA_VERSION = "4"
#: Width of the zero-padded price key (2**256 - 1 has 78 digits).
PRICE_KEY_WIDTH = 78

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def price_key(value: int) -> str:
    """The sortable text form of an amount: zero-padded decimal."""
    return str(value).zfill(PRICE_KEY_WIDTH)


def _tables(engine: Engine) -> list[str]:
    serial = "INTEGER PRIMARY KEY" if engine == "sqlite" else "BIGSERIAL PRIMARY KEY"
    collate = "" if engine == "sqlite" else ' COLLATE "C"'
    return [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        (
            "CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash TEXT NOT NULL,"
            " time BIGINT NOT NULL)"
        ),
        (
            "CREATE TABLE IF NOT EXISTS events (block BIGINT NOT NULL, log_index BIGINT NOT NULL,"
            " tx_hash TEXT NOT NULL, name TEXT NOT NULL, listing_id TEXT, trade_id TEXT,"
            " address TEXT NOT NULL, topics TEXT NOT NULL, data TEXT NOT NULL,"
            " PRIMARY KEY (block, log_index))"
        ),
        "CREATE INDEX IF NOT EXISTS events_listing ON events (listing_id)",
        "CREATE INDEX IF NOT EXISTS events_trade ON events (trade_id)",
        # offer cancellations (by name, then the offer or buyer in the topics), for notices
        "CREATE INDEX IF NOT EXISTS events_name ON events (name)",
        f"CREATE TABLE IF NOT EXISTS listings (seq {serial}, listing_id TEXT NOT NULL UNIQUE,"
        " seller TEXT NOT NULL, signed INTEGER NOT NULL, salt TEXT NOT NULL,"
        " token TEXT NOT NULL, price TEXT NOT NULL,"
        f" price_key TEXT{collate} NOT NULL, deposit TEXT NOT NULL, arbitrator TEXT NOT NULL,"
        " arbitrator_fee_bps INTEGER NOT NULL, review_window BIGINT NOT NULL,"
        " expiry BIGINT NOT NULL, cid TEXT NOT NULL, listed_quantity BIGINT NOT NULL,"
        " remaining BIGINT NOT NULL, sold BIGINT NOT NULL, closed INTEGER NOT NULL,"
        " block_number BIGINT NOT NULL, updated_block BIGINT NOT NULL,"
        " listed_at BIGINT NOT NULL, content_status TEXT NOT NULL, content_reason TEXT,"
        " title TEXT, description TEXT, category TEXT, kind TEXT, images TEXT, document TEXT,"
        " seller_trust DOUBLE PRECISION NOT NULL DEFAULT 0,"
        " lat DOUBLE PRECISION, lon DOUBLE PRECISION,"
        " unit BIGINT NOT NULL DEFAULT 0,"
        f" rate_day_key TEXT{collate} NOT NULL DEFAULT '',"
        " first_start BIGINT NOT NULL DEFAULT 0, last_end BIGINT NOT NULL DEFAULT 0"
        + (
            ""
            if engine == "sqlite"
            else ", search tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||"
            " setweight(to_tsvector('english'::regconfig, coalesce(category, '')), 'B') ||"
            " setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')"
            ") STORED"
        )
        + ")",
        "CREATE INDEX IF NOT EXISTS listings_seller ON listings (seller)",
        "CREATE INDEX IF NOT EXISTS listings_cid ON listings (cid)",
        "CREATE INDEX IF NOT EXISTS listings_price ON listings (price_key)",
        "CREATE INDEX IF NOT EXISTS listings_newest ON listings (block_number, seq)",
        "CREATE INDEX IF NOT EXISTS listings_trust ON listings (seller_trust)",
        "CREATE INDEX IF NOT EXISTS listings_content ON listings (content_status)",
        # Search joins full-text matches to listings by seq; this covering index holds every
        # filter and sort column, so the join never reads the wide rows (descriptions...).
        (
            "CREATE INDEX IF NOT EXISTS listings_filters ON listings (seq, closed, remaining,"
            " expiry, block_number, price_key, seller_trust, kind, token)"
        ),
        "CREATE INDEX IF NOT EXISTS listings_rate_day ON listings (rate_day_key)",
        # Rentals booked by period: one row per booking or owner's block; ``holding`` is 0 once
        # cancelled, refunded or unblocked (kept, so that a reorg can replay it). An overlap
        # test is an index range scan on (listing_id, start_time).
        (
            "CREATE TABLE IF NOT EXISTS booked (booking_id TEXT PRIMARY KEY,"
            " listing_id TEXT NOT NULL, start_time BIGINT NOT NULL, end_time BIGINT NOT NULL,"
            " renter TEXT NOT NULL, blocked INTEGER NOT NULL, holding INTEGER NOT NULL,"
            " block_number BIGINT NOT NULL)"
        ),
        (
            "CREATE INDEX IF NOT EXISTS booked_calendar ON booked"
            " (listing_id, start_time, end_time, holding)"
        ),
        (
            "CREATE TABLE IF NOT EXISTS trades (trade_id TEXT PRIMARY KEY,"
            " listing_id TEXT NOT NULL,"
            " buyer TEXT NOT NULL, seller TEXT NOT NULL, token TEXT NOT NULL,"
            " arbitrator TEXT NOT NULL, arbitrator_fee_bps INTEGER NOT NULL,"
            " quantity BIGINT NOT NULL, amount TEXT NOT NULL, deposit TEXT NOT NULL,"
            " deadline BIGINT NOT NULL, state INTEGER NOT NULL, flags INTEGER NOT NULL,"
            " proposed TEXT NOT NULL, buyer_rated INTEGER NOT NULL, seller_rated INTEGER NOT NULL,"
            " block_number BIGINT NOT NULL, updated_block BIGINT NOT NULL,"
            " opened_at BIGINT NOT NULL)"
        ),
        "CREATE INDEX IF NOT EXISTS trades_buyer ON trades (buyer)",
        "CREATE INDEX IF NOT EXISTS trades_seller ON trades (seller)",
        "CREATE INDEX IF NOT EXISTS trades_arbitrator ON trades (arbitrator)",
        "CREATE INDEX IF NOT EXISTS trades_listing ON trades (listing_id)",
        (
            "CREATE TABLE IF NOT EXISTS ratings (trade_id TEXT NOT NULL, rater TEXT NOT NULL,"
            " subject TEXT NOT NULL, score INTEGER NOT NULL, token TEXT NOT NULL,"
            " value TEXT NOT NULL, review_cid TEXT NOT NULL, block BIGINT NOT NULL,"
            " log_index BIGINT NOT NULL, PRIMARY KEY (trade_id, rater))"
        ),
        "CREATE INDEX IF NOT EXISTS ratings_subject ON ratings (subject)",
        "CREATE INDEX IF NOT EXISTS ratings_block ON ratings (block)",
        (
            "CREATE TABLE IF NOT EXISTS documents (cid TEXT PRIMARY KEY, status TEXT NOT NULL,"
            " reason TEXT, body TEXT, attempts INTEGER NOT NULL)"
        ),
        # Requests (signed off-chain, no events) and the signed listings answering them.
        (
            "CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY,"
            " requester TEXT NOT NULL, cid TEXT NOT NULL, expiry BIGINT NOT NULL,"
            " kind TEXT NOT NULL, category TEXT NOT NULL, token TEXT NOT NULL,"
            f" max_price TEXT NOT NULL, max_price_key TEXT{collate} NOT NULL,"
            " title TEXT NOT NULL, signed TEXT NOT NULL, document TEXT NOT NULL,"
            " added_at BIGINT NOT NULL)"
        ),
        (
            "CREATE INDEX IF NOT EXISTS requests_open ON requests"
            " (kind, token, category, expiry, max_price_key)"
        ),
        "CREATE INDEX IF NOT EXISTS requests_requester ON requests (requester)",
        (
            "CREATE TABLE IF NOT EXISTS request_answers (listing_id TEXT PRIMARY KEY,"
            " request_id TEXT NOT NULL, seller TEXT NOT NULL, price TEXT NOT NULL,"
            " expiry BIGINT NOT NULL, signed TEXT NOT NULL, document TEXT NOT NULL,"
            " added_at BIGINT NOT NULL)"
        ),
        "CREATE INDEX IF NOT EXISTS request_answers_request ON request_answers (request_id)",
        (
            "CREATE TABLE IF NOT EXISTS trust (address TEXT PRIMARY KEY,"
            " score DOUBLE PRECISION NOT NULL, rating_count INTEGER NOT NULL,"
            " average_stars DOUBLE PRECISION, weighted_stars DOUBLE PRECISION,"
            " volume TEXT NOT NULL, counterparties INTEGER NOT NULL, details TEXT NOT NULL)"
        ),
        # Buyers' signed offers (off-chain documents, see p2pchain/indexer/_offers.py).
        (
            f"CREATE TABLE IF NOT EXISTS offers (seq {serial}, offer_id TEXT NOT NULL UNIQUE,"
            " listing_id TEXT NOT NULL, buyer TEXT NOT NULL, seller TEXT NOT NULL,"
            " token TEXT NOT NULL, price TEXT NOT NULL, quantity BIGINT NOT NULL,"
            " expiry BIGINT NOT NULL, received_at BIGINT NOT NULL, document TEXT NOT NULL)"
        ),
        "CREATE INDEX IF NOT EXISTS offers_listing ON offers (listing_id, seq)",
        "CREATE INDEX IF NOT EXISTS offers_buyer ON offers (buyer, seq)",
        "CREATE INDEX IF NOT EXISTS offers_seller ON offers (seller, seq)",
    ]


def _math_functions(conn: sqlite3.Connection) -> None:
    """SQLite's math functions (for distances) where this SQLite was built without them."""
    try:
        conn.execute("SELECT sin(0), cos(0), acos(1), radians(0)").fetchone()
    except sqlite3.OperationalError:
        import math

        for name, fn in (("sin", math.sin), ("cos", math.cos), ("acos", math.acos),
                         ("radians", math.radians)):  # fmt: skip
            conn.create_function(name, 1, fn, deterministic=True)


def _fulltext(engine: Engine) -> list[str]:
    if engine == "sqlite":
        return [
            (
                "CREATE VIRTUAL TABLE IF NOT EXISTS listing_fts USING fts5("
                "title, category, description, tokenize = 'porter unicode61')"
            ),
            # where listings are: an R*Tree of points (SQLite's own spatial index)
            (
                "CREATE VIRTUAL TABLE IF NOT EXISTS listing_geo USING rtree("
                "seq, min_lat, max_lat, min_lon, max_lon)"
            ),
        ]
    return [
        "CREATE INDEX IF NOT EXISTS listings_search ON listings USING GIN (search)",
        # where listings are: earthdistance (contrib) over cube, with a GiST index of points
        "CREATE EXTENSION IF NOT EXISTS cube",
        "CREATE EXTENSION IF NOT EXISTS earthdistance",
        (
            "CREATE INDEX IF NOT EXISTS listings_geo ON listings USING gist"
            " (ll_to_earth(lat, lon)) WHERE lat IS NOT NULL"
        ),
    ]


def parse_db_url(url: str) -> tuple[Engine, str]:
    """Split a database URL into its engine and what the driver connects with.

    Args:
        url: ``sqlite:///relative/path``, ``sqlite:////absolute/path`` (SQLAlchemy's form),
            ``sqlite:///:memory:``, a plain file path, or a
            ``postgresql://`` / ``postgres://`` URL.

    Returns:
        ``("sqlite", path)`` or ``("postgresql", url)``.

    Raises:
        IndexerError: Another scheme, or an empty path.
    """
    if not isinstance(url, str) or not url.strip():
        raise IndexerError("database URL is empty: use sqlite:///path or postgresql://...")
    text = url.strip()
    scheme = urlparse(text).scheme.lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        return "postgresql", text
    if scheme == "sqlite":
        path = unquote(text.split("://", 1)[1]).removeprefix("/")  # sqlite:////abs, sqlite:///rel
        if not path:
            raise IndexerError(f"database URL {url!r} has no file path: use sqlite:///index.sqlite")
        return "sqlite", path
    if scheme:
        raise IndexerError(
            f"unsupported database URL scheme {scheme!r}: use sqlite:///path or postgresql://..."
        )
    return "sqlite", text


class Database:
    """A connection to the index database with the schema in place.

    Shared (the default): one connection for every thread, each statement and transaction
    holding its lock, so a writer's transaction is never interleaved with other statements.

    Per thread (``per_thread=True``, readers such as a web server's request threads): each
    thread opens its own connection on first use and never waits for another thread's
    statement. SQLite in WAL mode lets them read alongside each other and alongside a writer in
    another connection or process; PostgreSQL gives each its own session (at most as many as
    the threads that read: a web server's thread pool). An in-memory SQLite database cannot be
    shared by connections, so it keeps one shared connection.

    Args:
        url: See :func:`parse_db_url`.
        per_thread: One connection per thread instead of one shared connection.

    Raises:
        IndexerError: Bad URL, unreachable server, unwritable file, or another schema version.
    """

    def __init__(self, url: str, *, per_thread: bool = False) -> None:
        self.engine, target = parse_db_url(url)
        self.url = url
        self._target = target
        self.per_thread = per_thread and not (self.engine == "sqlite" and target == ":memory:")
        self._shared_in_tx = False
        self._lock = threading.RLock()
        self._local = threading.local()
        #: Per thread: each thread's connection (those of finished threads are closed when the
        #: next one opens, so a thread pool's turnover does not pile them up).
        self._threads: dict[threading.Thread, Any] = {}
        self._serials = itertools.count()  # tells connections apart (ids are reused)
        self._closed = False
        self._conn: Any = self._open() if not self.per_thread else self._connection()
        self._create_schema()

    def _open(self) -> Any:
        if self.engine == "sqlite":
            return self._open_sqlite(self._target)
        return self._open_postgres(self._target)

    def _connection(self) -> Any:
        """This thread's connection (opened on first use), or the shared one."""
        if not self.per_thread:
            return self._conn
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise IndexerError(f"index database error ({self.engine}): the index is closed")
            conn = self._local.conn = self._open()
            self._local.serial = next(self._serials)
            with self._lock:
                finished = [t for t in self._threads if not t.is_alive()]
                stale = [self._threads.pop(t) for t in finished]
                self._threads[threading.current_thread()] = conn
            self._close_all(stale)
        return conn

    def _close_all(self, connections: list[Any]) -> None:
        for conn in connections:
            try:
                conn.close()
            except self._driver_errors():
                pass

    def data_version(self) -> tuple[int, int] | None:
        """Which state of the database this thread reads: its connection and SQLite's
        ``PRAGMA data_version``, which changes whenever another connection (or process) commits.
        Equal answers on one thread mean nothing was written in between. None where that cannot
        be told this cheaply (PostgreSQL, a shared connection that also writes).

        Raises:
            IndexerError: The database cannot be read.
        """
        if self.engine != "sqlite" or not self.per_thread:
            return None
        row = self.one("PRAGMA data_version")
        return (self._local.serial, int(row[0])) if row is not None else None

    @property
    def _in_tx(self) -> bool:
        if self.per_thread:
            return bool(getattr(self._local, "in_tx", False))
        return self._shared_in_tx

    @_in_tx.setter
    def _in_tx(self, value: bool) -> None:
        if self.per_thread:
            self._local.in_tx = value
        else:
            self._shared_in_tx = value

    @contextmanager
    def _using(self) -> Iterator[Any]:
        """The connection to run a statement on: the shared one under its lock, or this
        thread's own."""
        if self.per_thread:
            yield self._connection()
            return
        with self._lock:
            yield self._conn

    @staticmethod
    def _open_sqlite(path: str) -> sqlite3.Connection:
        if path != ":memory:":
            folder = Path(path).expanduser().resolve().parent
            if not folder.is_dir():
                raise IndexerError(f"cannot open the index {path}: folder {folder} does not exist")
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA cache_size = -65536")
            _math_functions(conn)
        except sqlite3.Error as exc:
            raise IndexerError(f"cannot open the index {path}: {exc}") from None
        return conn

    @staticmethod
    def _open_postgres(url: str) -> Any:
        import psycopg

        try:
            # As SQLite's synchronous=NORMAL: a commit does not wait for its WAL flush. A crash
            # may lose the last commits, never consistency (the cursor is in the same
            # transactions), and the next sync reads those blocks from the chain again.
            return psycopg.connect(
                url, autocommit=True, connect_timeout=10, options="-c synchronous_commit=off"
            )
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise IndexerError(f"cannot connect to PostgreSQL: {first}") from None

    def _create_schema(self) -> None:
        with self.transaction():
            if self.engine == "postgresql":  # one creator at a time on a shared server
                self._conn.execute("SELECT pg_advisory_xact_lock(7262616)")
            for statement in _tables(self.engine) + _fulltext(self.engine):
                self._conn.execute(statement)
            row = self.one("SELECT value FROM meta WHERE key = 'schema'")
            if row is None:
                self.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', :v)", {"v": SCHEMA_VERSION}
                )
            elif row[0] != SCHEMA_VERSION:
                raise IndexerError(
                    f"index schema version {row[0]} is not this library's {SCHEMA_VERSION}:"
                    " rebuild the index into a new database"
                )

    def _sql(self, sql: str) -> str:
        return sql if self.engine == "sqlite" else _PARAM.sub(r"%(\1)s", sql)

    def _error(self, exc: Exception) -> IndexerError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return IndexerError(f"index database error ({self.engine}): {first}")

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        if self.engine == "sqlite":
            return (sqlite3.Error,)
        import psycopg

        return (psycopg.Error,)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run one statement; returns the driver's cursor (read rows with :meth:`all`)."""
        try:
            with self._using() as conn:
                return conn.execute(self._sql(sql), params or {})
        except self._driver_errors() as exc:
            raise self._error(exc) from None

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for each parameter set."""
        if not rows:
            return
        try:
            with self._using() as conn:
                self._executemany(conn, sql, rows)
        except self._driver_errors() as exc:
            raise self._error(exc) from None

    def _executemany(self, conn: Any, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if self.engine == "sqlite":
            conn.executemany(sql, rows)
        else:
            with conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert rows that cannot conflict: ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
        if not rows:
            return
        if self.engine == "sqlite":
            names = ", ".join(columns)
            marks = ", ".join(f":{c}" for c in columns)
            self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        try:
            with (
                self._using() as conn,
                conn.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        except self._driver_errors() as exc:
            raise self._error(exc) from None

    def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        try:
            with self._using() as conn:
                return list(conn.execute(self._sql(sql), params or {}).fetchall())
        except self._driver_errors() as exc:
            raise self._error(exc) from None

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        """The first row of a query, or ``None``."""
        try:
            with self._using() as conn:
                row = conn.execute(self._sql(sql), params or {}).fetchone()
        except self._driver_errors() as exc:
            raise self._error(exc) from None
        return tuple(row) if row is not None else None

    def columns(self, cursor: Any) -> list[str]:
        """Column names of a cursor's result."""
        return [d[0] for d in cursor.description]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction (nested calls join the outer one).

        A shared connection is used by threads (a web server's readers, a follower): a
        transaction holds the connection's lock, so other threads wait rather than interleave.
        Per thread, the transaction is this thread's connection's alone.
        """
        with self._using() as conn:
            if self._in_tx:
                yield
                return
            errors = self._driver_errors()
            try:
                conn.execute("BEGIN IMMEDIATE" if self.engine == "sqlite" else "BEGIN")
            except errors as exc:
                raise self._error(exc) from None
            self._in_tx = True
            try:
                yield
            except BaseException:
                self._in_tx = False
                try:
                    conn.execute("ROLLBACK")
                except errors:
                    pass
                raise
            self._in_tx = False
            try:
                conn.execute("COMMIT")
            except errors as exc:
                raise self._error(exc) from None

    def get_meta(self, key: str) -> str | None:
        """A value of the ``meta`` table."""
        row = self.one("SELECT value FROM meta WHERE key = :k", {"k": key})
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the ``meta`` table."""
        self.execute(
            "INSERT INTO meta (key, value) VALUES (:k, :v)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {"k": key, "v": value},
        )

    def close(self) -> None:
        """Close the connection (per thread: every thread's)."""
        with self._lock:
            self._closed = True
            opened = [self._conn, *self._threads.values()]
            self._threads.clear()
        self._close_all(opened)
