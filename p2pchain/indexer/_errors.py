"""The indexer's exception."""

from __future__ import annotations

from p2pchain._errors import P2PChainError


class IndexerError(P2PChainError):
    """The index database or the chain it follows cannot be used (bad URL, wrong chain...)."""
