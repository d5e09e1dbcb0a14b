"""The write side of the index: chain events in, listings, trades, ratings and trust out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from p2pchain._deploy import Deployment
from p2pchain.indexer._models import SyncReport
from p2pchain.indexer._reader import IndexReader

#: Default confirmation depth: blocks newer than ``head - confirmations`` are not indexed yet.
DEFAULT_CONFIRMATIONS = 2


class Indexer(IndexReader):
    """Follows one deployment's events into an index database (and reads it, as a reader).

    Args:
        db_url: ``sqlite:///path`` (or a plain path) or ``postgresql://...``.
        chain: A chain (``DevChain``), a ``Web3``, or an ``http(s)://`` RPC URL.
        deployment: The deployment to follow; read from the deployments file when ``None``.
        ipfs: Where to fetch listing documents from (any ``IpfsBackend``); ``None`` leaves them
            ``pending``.
        confirmations: Blocks to stay behind the head.
        max_range: Largest ``eth_getLogs`` block range.

    Raises:
        IndexerError: Bad URL, or the database already indexes another deployment.
    """

    def __init__(
        self,
        db_url: str,
        chain: Any,
        deployment: Deployment | None = None,
        *,
        ipfs: Any = None,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        max_range: int = 50_000,
    ) -> None:
        raise NotImplementedError

    def sync(self, to_block: int | None = None) -> SyncReport:
        """Index every confirmed block up to ``to_block`` (default: ``head - confirmations``)."""
        raise NotImplementedError

    def follow(
        self,
        *,
        poll_interval: float = 2.0,
        stop: threading.Event | None = None,
        on_sync: Callable[[SyncReport], None] | None = None,
    ) -> None:
        """Sync, then keep syncing every ``poll_interval`` seconds until ``stop`` is set."""
        raise NotImplementedError

    def rebuild(self) -> SyncReport:
        """Drop everything indexed and sync again from the deployment block."""
        raise NotImplementedError
