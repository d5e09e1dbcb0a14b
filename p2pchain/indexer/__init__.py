"""The indexer: the marketplace rebuilt from the chain into SQLite or PostgreSQL, searchable.

* :class:`Indexer` (write side) reads the Marketplace and Reputation events from any RPC
  (batched ``eth_getLogs`` over adaptive block ranges, a confirmation depth, reorgs rolled
  back), fetches and verifies the listing documents from IPFS, and keeps trust scores.
* :class:`IndexReader` (read side) answers searches, listings, trades and trust from the
  database alone, and price hints from comparable settled trades; an :class:`Indexer` is also
  a reader. Requests (signed off-chain) are added to it, verified, and matched to listings
  both ways with the search's own queries; :meth:`IndexReader.market_notices` tells an
  account of matches, answers and offers.

Anyone can run one and rebuild it from the deployment block: the chain is the only source.
"""

from p2pchain.indexer._errors import IndexerError
from p2pchain.indexer._hints import HintQuery, PriceHint, PricePoint
from p2pchain.indexer._models import (
    IndexedListing,
    IndexedRating,
    IndexedTrade,
    SearchPage,
    SearchQuery,
    SyncReport,
    TrustView,
)
from p2pchain.indexer._notices import MarketNotice
from p2pchain.indexer._reader import IndexReader
from p2pchain.indexer._requests import (
    IndexedAnswer,
    IndexedRequest,
    RequestNotice,
    RequestQuery,
)
from p2pchain.indexer._sync import Indexer

__all__ = [
    "HintQuery",
    "IndexReader",
    "IndexedAnswer",
    "IndexedListing",
    "IndexedRating",
    "IndexedRequest",
    "IndexedTrade",
    "Indexer",
    "IndexerError",
    "MarketNotice",
    "PriceHint",
    "PricePoint",
    "RequestNotice",
    "RequestQuery",
    "SearchPage",
    "SearchQuery",
    "SyncReport",
    "TrustView",
]
