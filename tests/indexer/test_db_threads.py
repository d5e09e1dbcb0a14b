"""Readers on their own connections: a web server's request threads never wait for each other's
queries, nor for a writer's open transaction (SQLite in WAL mode; PostgreSQL sessions)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from _market import ONE, Market

from indexer.conftest import publish
from p2pchain.indexer import Indexer, IndexReader, SearchQuery
from p2pchain.indexer._db import Database
from p2pchain.indexer._errors import IndexerError
from p2pchain.ipfs import LocalStore


def _on_thread(fn: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result(timeout=30)


def test_each_thread_reads_on_its_own_connection(db_url: str) -> None:
    reader = IndexReader(db_url)
    try:
        db = reader.db
        assert db.per_thread
        here = db._connection()
        there = _on_thread(db._connection)
        assert here is not there and db._connection() is here
        barrier = threading.Barrier(4, timeout=30)

        def read(_: int) -> tuple[int, str | None]:
            barrier.wait()  # four readers at once
            return id(db._connection()), reader.db.get_meta("schema")

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(read, range(4)))
        assert len({conn for conn, _ in answers}) == 4
        assert {schema for _, schema in answers} == {"4"}
    finally:
        reader.close()
    with pytest.raises(IndexerError, match="closed"):
        _on_thread(lambda: reader.db.get_meta("schema"))


def test_connections_of_finished_threads_are_closed(db_url: str) -> None:
    db = Database(db_url, per_thread=True)
    try:
        for _ in range(5):
            _on_thread(lambda: db.get_meta("schema"))
        # Each new thread's connection closes those of the threads that have finished.
        assert len(db._threads) <= 2
    finally:
        db.close()


def test_readers_do_not_wait_for_a_writers_open_transaction(db_url: str) -> None:
    writer = Database(db_url)  # the indexer's shared connection
    reader = IndexReader(db_url)
    try:
        writer.set_meta("answer", "old")
        inside, release = threading.Event(), threading.Event()

        def write() -> None:
            with writer.transaction():
                writer.set_meta("answer", "new")
                inside.set()
                release.wait(30)

        thread = threading.Thread(target=write)
        thread.start()
        try:
            assert inside.wait(30)
            started = time.monotonic()
            seen = _on_thread(lambda: reader.db.get_meta("answer"))
            assert seen == "old" and time.monotonic() - started < 5  # the committed state
        finally:
            release.set()
            thread.join(30)
        assert _on_thread(lambda: reader.db.get_meta("answer")) == "new"
        assert reader.db.get_meta("answer") == "new"
    finally:
        reader.close()
        writer.close()


def test_an_in_memory_index_keeps_one_shared_connection() -> None:
    db = Database("sqlite:///:memory:", per_thread=True)
    try:
        assert not db.per_thread
        assert _on_thread(db._connection) is db._connection()
        assert _on_thread(lambda: db.get_meta("schema")) == "4"
    finally:
        db.close()


def test_data_version_changes_when_another_connection_commits(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/index.sqlite"
    writer = Database(url)
    reader = Database(url, per_thread=True)
    try:
        assert writer.data_version() is None  # a shared connection: not told
        before = reader.data_version()
        assert before is not None and reader.data_version() == before
        writer.set_meta("answer", "new")
        after = reader.data_version()
        assert after is not None and after != before and reader.data_version() == after
        # another thread's connection is another one: its versions are its own
        assert _on_thread(reader.data_version)[0] != after[0]
    finally:
        reader.close()
        writer.close()


def test_a_kept_search_answer_is_dropped_by_a_commit(
    market: Market, ipfs: LocalStore, tmp_path: Any
) -> None:
    url = f"sqlite:///{tmp_path}/index.sqlite"
    bike = publish(market, ipfs)
    publish(market, ipfs, title="Desk lamp", category="home/lamps", price=str(ONE // 2))
    indexer = Indexer(url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    reader = IndexReader(url)
    try:
        indexer.sync()
        query = SearchQuery(sort="price_asc")
        first = reader.search(query)
        assert [i.title for i in first.items] == ["Desk lamp", "Road bike, 56 cm"]
        assert reader.search(query) is first  # nothing committed: the same answer, kept
        market.buyer.buy(bike)  # the only unit: the bike is no longer available
        indexer.sync()
        second = reader.search(query)
        assert [i.title for i in second.items] == ["Desk lamp"]
        assert reader.search(query) is second
    finally:
        reader.close()
        indexer.close()
