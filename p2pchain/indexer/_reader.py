"""The read side of the index: search, listings, trades and trust, from the database alone."""

from __future__ import annotations

from p2pchain.indexer._models import (
    IndexedListing,
    IndexedTrade,
    SearchPage,
    SearchQuery,
    TrustView,
)


class IndexReader:
    """Answers queries from an index database that an :class:`~p2pchain.indexer.Indexer` fills.

    Args:
        db_url: ``sqlite:///path/to/index.sqlite`` (or a plain file path) or
            ``postgresql://user@host:port/dbname``.

    Raises:
        IndexerError: The URL is not SQLite or PostgreSQL, or the database cannot be opened.
    """

    def __init__(self, db_url: str) -> None:
        raise NotImplementedError

    def search(self, query: SearchQuery) -> SearchPage:
        """Full-text search with filters and sorting (see :class:`SearchQuery`)."""
        raise NotImplementedError

    def listing(self, listing_id: str | bytes) -> IndexedListing | None:
        """One listing by id (0x hex or 32 bytes), or ``None`` if the index has never seen it."""
        raise NotImplementedError

    def trades_of(self, address: str) -> list[IndexedTrade]:
        """Every trade where ``address`` is buyer or seller, newest first."""
        raise NotImplementedError

    def trust(self, address: str) -> TrustView:
        """The trust score of ``address`` and its evidence (score 0 without any)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the database connection."""
        raise NotImplementedError
