"""What the routes use: the chain client, the IPFS backend and the index, opened on first use.

The API holds no keys: its :class:`~p2pchain.MarketplaceClient` has no account and only reads,
simulates, and prepares unsigned transactions. Opening is lazy so that the app (and its OpenAPI
spec) can be built without a chain; a node that cannot be reached answers 503 per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from frontend_api.chain_cache import AsyncHeads, Head, HeadTracker, ListingCache
from frontend_api.settings import ApiSettings

#: Verified listing documents kept in memory (each at most 64 KiB).
DOCUMENT_CACHE_SIZE = 512
#: Listings whose chain view is kept (one per listing, for the head it was read at).
LISTING_CACHE_SIZE = 4096
#: Most blocks whose logs are read to keep listing views across a head move (more: all dropped).
MAX_BLOCKS_FOLLOWED = 256

#: JSON encodings kept, one per object (index listings and trust views, listing views).
ENCODED_CACHE_SIZE = 8192

#: Review and dispute-reason texts kept in memory (each at most MAX_NOTE_BYTES).
TEXT_CACHE_SIZE = 1024
#: Largest review or dispute reason read back from IPFS.
MAX_NOTE_BYTES = 8 * 1024

if TYPE_CHECKING:
    from p2pchain.indexer import Indexer, IndexReader, SyncReport
    from p2pchain.ipfs import IpfsBackend
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.market._listings import ListingDocument
    from p2pchain.market._tokens import TokenCatalog
    from p2pchain.market._views import Listing

T = TypeVar("T")


class ChangeFeed:
    """What the background sync last indexed, for the page's event stream (``/api/events``).

    The sync thread publishes; each stream compares :attr:`version` with the one it last sent
    (a counter: no subscriber lists to leak, and a slow reader only skips to the newest change).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version = 0
        self.last: dict[str, int] = {}

    def publish(self, change: dict[str, int]) -> None:
        """Record a change (block numbers and counts) and bump :attr:`version`."""
        with self._lock:
            self.last = dict(change)
            self.version += 1

    def latest(self) -> tuple[int, dict[str, int]]:
        """The current version and change, read together."""
        with self._lock:
            return self.version, dict(self.last)


async def _in_thread(fn: Callable[[], T]) -> T:
    from fastapi.concurrency import run_in_threadpool

    return await run_in_threadpool(fn)


def _hex(value: str | bytes) -> str:
    """A hash from a raw JSON-RPC answer (0x hex) or an in-process one (bytes), as 0x hex."""
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


class Services:
    """The API's connections, shared by every request.

    Args:
        settings: Where to connect.
        client: A ready client to use instead of connecting (tests, embedding).
        backend: A ready IPFS backend to use instead of the settings'.
        indexer: A ready index (an ``Indexer`` or ``IndexReader``) to use instead of opening
            ``settings.index_db``; the caller syncs it.
    """

    def __init__(
        self,
        settings: ApiSettings,
        *,
        client: MarketplaceClient | None = None,
        backend: IpfsBackend | None = None,
        indexer: IndexReader | None = None,
    ) -> None:
        self.settings = settings
        self._client = client
        self._backend = backend
        self._indexer = indexer
        self._owns_index = indexer is None
        self._lock = threading.RLock()
        self._documents: OrderedDict[str, ListingDocument] = OrderedDict()
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._tokens: TokenCatalog | None = None
        self._token_json: dict[str, bytes] = {}
        self._encoded_lock = threading.Lock()
        self._encoded: OrderedDict[int, tuple[object, bytes]] = OrderedDict()
        #: Changes the background sync indexed, streamed to pages.
        self.feed = ChangeFeed()
        #: The chain head, read at most every ``settings.head_max_age`` seconds.
        self.heads = HeadTracker(self._read_head, settings.head_max_age)
        #: The same, awaited on the event loop (one worker thread per wave of callers).
        self.async_heads = AsyncHeads(self.heads, _in_thread)
        #: Chain views of listings, per head.
        self.listings = ListingCache(LISTING_CACHE_SIZE)
        self._advancing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Why the background sync stopped, if it did.
        self.follow_error: str | None = None

    @property
    def client(self) -> MarketplaceClient:
        """The read-only marketplace client (connected on first use).

        Raises:
            ChainError: The node cannot be reached.
            DeploymentError: No verified deployment on that chain.
        """
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from p2pchain.market._client import MarketplaceClient

                    self._client = MarketplaceClient.connect(
                        self.settings.network, deployments=self.settings.deployments
                    )
        return self._client

    @property
    def tokens(self) -> TokenCatalog:
        """Symbols and decimals of the tokens listings are priced in (read once each)."""
        if self._tokens is None:
            with self._lock:
                if self._tokens is None:
                    from p2pchain.market._tokens import TokenCatalog

                    self._tokens = TokenCatalog(self.client)
        return self._tokens

    def token_json(self, token: str) -> bytes:
        """The JSON of :class:`~frontend_api.schemas.TokenOut` for ``token`` (``"ETH"`` or an
        address), encoded once for a token the catalog knows (one that failed is asked again).

        Raises:
            InputError: ``token`` is not an address.
        """
        cached = self._token_json.get(token)
        if cached is not None:
            return cached
        from pydantic_core import to_json

        info = self.tokens.info(token)
        encoded = to_json(
            {
                "address": info.address,
                "symbol": info.symbol,
                "decimals": info.decimals,
                "known": info.known,
            }
        )
        if info.known:
            with self._lock:
                if len(self._token_json) >= ENCODED_CACHE_SIZE:
                    self._token_json.clear()
                self._token_json[token] = encoded
        return encoded

    def kept_token_json(self, token: str) -> bytes | None:
        """:meth:`token_json` if it is kept (no call to the node), else None."""
        return self._token_json.get(token)

    @property
    def index_inline(self) -> bool:
        """Whether index reads may run on the event loop: the index is open, in SQLite, read on
        a connection per thread (local reads of microseconds, never waiting for a writer)."""
        index = self._indexer
        return index is not None and index.db.engine == "sqlite" and index.db.per_thread

    def kept_encoded(self, value: object) -> bytes | None:
        """What :meth:`encoded` keeps for ``value``, or None."""
        with self._encoded_lock:
            hit = self._encoded.get(id(value))
        return hit[1] if hit is not None and hit[0] is value else None

    def encoded(self, value: T, encode: Callable[[T], bytes]) -> bytes:
        """``encode(value)``, computed once per object while kept (the last
        :data:`ENCODED_CACHE_SIZE`): for immutable values only (frozen index models, listing
        views), which the index and the listing cache hand out again while they are current."""
        key = id(value)
        with self._encoded_lock:
            hit = self._encoded.get(key)
            if hit is not None and hit[0] is value:
                self._encoded.move_to_end(key)
                return hit[1]
        data = encode(value)
        with self._encoded_lock:  # the entry holds the object: its id is not reused meanwhile
            self._encoded[key] = (value, data)
            self._encoded.move_to_end(key)
            while len(self._encoded) > ENCODED_CACHE_SIZE:
                self._encoded.popitem(last=False)
        return data

    @property
    def following(self) -> bool:
        """Whether this process keeps the index in step with the chain (and feeds the stream)."""
        return self._owns_index and self.settings.sync

    @property
    def backend(self) -> IpfsBackend:
        """The IPFS backend: Kubo at ``ipfs_url``, else the local store."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    from p2pchain.ipfs import KuboBackend, LocalStore

                    url = self.settings.ipfs_url
                    self._backend = (
                        KuboBackend(url) if url else LocalStore(self.settings.ipfs_store)
                    )
        return self._backend

    @property
    def index(self) -> IndexReader:
        """The index the reads come from; with ``settings.sync``, followed in the background."""
        if self._indexer is None:
            with self._lock:
                if self._indexer is None:
                    self._indexer = self._open_index()
        return self._indexer

    def _open_index(self) -> IndexReader:
        from p2pchain.indexer import Indexer, IndexReader

        url = self.settings.index_url()
        if not self.settings.sync:
            return IndexReader(url)
        client = self.client
        indexer = Indexer(
            url,
            client.w3,
            client.deployment,
            ipfs=self.backend,
            confirmations=self.settings.confirmations_for(client.chain_id),
        )
        indexer.sync()
        self._follow(indexer, self.settings.poll_interval_for(client.chain_id))
        return IndexReader(url)  # its own connection: reads never wait on the writer's

    def _on_sync(self, report: SyncReport) -> None:
        if report.events or report.reorged_blocks or report.documents_fetched:
            self.feed.publish(
                {
                    "block": report.to_block,
                    "events": report.events,
                    "listings": report.listings,
                    "trades": report.trades,
                    "ratings": report.ratings,
                    "reorged_blocks": report.reorged_blocks,
                }
            )

    def _follow(self, indexer: Indexer, poll_interval: float) -> None:
        def run() -> None:
            try:
                indexer.follow(poll_interval=poll_interval, stop=self._stop, on_sync=self._on_sync)
            except Exception as exc:  # noqa: BLE001 - reported, reads go on from the database
                self.follow_error = f"{type(exc).__name__}: {exc}"

        self._thread = threading.Thread(target=run, name="p2pchain-api-index", daemon=True)
        self._thread.start()

    def _read_head(self) -> Head:
        from p2pchain._errors import ChainError

        sender = self.client.sender

        def read() -> dict[str, object]:
            (answer,) = sender.batch([("eth_getBlockByNumber", ("latest", False))])
            return answer

        answer = sender.retry("eth_getBlockByNumber", read)
        block = answer.get("result")
        try:
            number = block["number"]  # type: ignore[index]
            return Head(
                number=int(number, 16) if isinstance(number, str) else int(number),
                hash=_hex(block["hash"]),  # type: ignore[index]
                parent_hash=_hex(block["parentHash"]),  # type: ignore[index]
                time=int(str(block["timestamp"]), 0),  # type: ignore[index]
            )
        except (TypeError, KeyError, ValueError):
            raise ChainError(
                f"the node's latest block cannot be read: {str(answer)[:120]}"
            ) from None

    def listing(self, listing_id: bytes) -> Listing:
        """The chain's view of an on-chain listing, read again only when a block touched it.

        A listing's state at a block never changes: the view is kept while the head stays, and
        across new blocks whose marketplace logs do not name it (the head is checked at most
        every ``settings.head_max_age`` seconds; see :mod:`frontend_api.chain_cache`).

        Raises:
            NotFoundError: No such listing (not kept: it may be created in the next block).
            ChainError: The node cannot be reached.
        """
        return self.listing_at(listing_id, self.heads.current())

    def listing_at(self, listing_id: bytes, head: Head) -> Listing:
        """:meth:`listing`, the head read already (by ``heads`` or ``async_heads``).

        Raises:
            NotFoundError: No such listing.
            ChainError: The node cannot be reached.
        """
        self._advance()
        view = self.listings.get(listing_id, head)
        if view is None:
            view = self.client.listing(listing_id)
            self.listings.put(listing_id, head, view)
        return view

    def kept_listing(self, listing_id: bytes, head: Head) -> Listing | None:
        """The view :meth:`listing_at` would answer without a call to the node, or None (the
        cache is not at the newest head yet, or holds no view of the listing)."""
        if self.listings.head != self.heads.latest:
            return None
        return self.listings.get(listing_id, head, count_miss=False)

    def _advance(self) -> None:
        """Bring the listing cache to the newest head read, keeping the views it left alone."""
        target = self.heads.latest
        if target is None or target == self.listings.head:
            return
        with self._advancing:
            current = self.listings.head
            if target == current:
                return
            touched = None
            if current is not None and 0 < target.number - current.number <= MAX_BLOCKS_FOLLOWED:
                touched = self._touched(current, target)
            self.listings.advance(target, touched)

    def _touched(self, old: Head, new: Head) -> set[bytes] | None:
        """Every topic the marketplace logged after ``old`` up to ``new`` (listing ids among
        them), or None when that cannot be told: ``new`` does not descend from ``old`` (a reorg),
        or the node fails. None drops every view, which is always safe."""
        client = self.client
        query: Any = {"address": client.deployment.marketplace}
        if new.parent_hash == old.hash:
            query["blockHash"] = new.hash  # exactly that block, whatever happens meanwhile
        else:
            query.update(fromBlock=old.number + 1, toBlock=new.number)
        try:
            logs = client.sender.retry("eth_getLogs", lambda: client.w3.eth.get_logs(query))
            if "blockHash" not in query:  # both ends still on the chain: the range was theirs
                ends = client.sender.batch(
                    [("eth_getBlockByNumber", (hex(h.number), False)) for h in (old, new)]
                )
                if [_hex(end["result"]["hash"]) for end in ends] != [old.hash, new.hash]:
                    return None
        except Exception:  # noqa: BLE001 - any failure only costs fresh reads
            return None
        return {bytes(topic) for log in logs for topic in log["topics"][1:]}

    def document(self, cid: str) -> ListingDocument:
        """The listing document stored under ``cid``, fetched, verified and parsed once.

        Content under a CID never changes, so a verified document is kept (the last
        :data:`DOCUMENT_CACHE_SIZE`); failures are not kept, so missing content is retried.

        Raises:
            IpfsError: Missing or unreachable (ContentVerificationError: does not match the CID).
            ListingError: Oversized or not a valid listing document.
        """
        with self._lock:
            cached = self._documents.get(cid)
            if cached is not None:
                self._documents.move_to_end(cid)
                return cached
        from p2pchain.market._listings import MAX_DOCUMENT_SIZE, parse_listing_document

        document = parse_listing_document(self.backend.cat(cid, max_size=MAX_DOCUMENT_SIZE))
        with self._lock:
            self._documents[cid] = document
            while len(self._documents) > DOCUMENT_CACHE_SIZE:
                self._documents.popitem(last=False)
        return document

    def text(self, cid: str) -> str:
        """A short UTF-8 text stored under ``cid`` (a review, a dispute reason), verified, kept.

        Raises:
            IpfsError: Missing, unreachable, over :data:`MAX_NOTE_BYTES`, or not matching the CID.
        """
        with self._lock:
            cached = self._texts.get(cid)
            if cached is not None:
                self._texts.move_to_end(cid)
                return cached
        text = self.backend.cat(cid, max_size=MAX_NOTE_BYTES).decode("utf-8", "replace")
        with self._lock:
            self._texts[cid] = text
            while len(self._texts) > TEXT_CACHE_SIZE:
                self._texts.popitem(last=False)
        return text

    def store_text(self, text: str) -> bytes:
        """Store and pin a short text on IPFS (CIDv1, as ``p2pchain rate --review`` does); its
        binary CID."""
        from p2pchain.ipfs import CID

        cid = self.backend.add(text.encode(), cid_version=1, pin=True)
        return bytes(CID.parse(cid))

    def warm_up(self) -> None:
        """Connect and open the index in a background thread, so the first request does not
        wait for the initial sync. Failures are left for the requests to report."""
        from p2pchain._errors import P2PChainError

        def run() -> None:
            try:
                self.index  # noqa: B018 - opens the client, the backend and the index
            except P2PChainError:
                pass

        threading.Thread(target=run, name="p2pchain-api-warm-up", daemon=True).start()

    def image_url(self, cid: str) -> str:
        """Where a browser fetches ``cid``: the configured gateway, or this API's ``/ipfs/``."""
        base = self.settings.gateway_url or ""
        return f"{base}/ipfs/{cid}"

    def close(self) -> None:
        """Stop the background sync and close what this object opened."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._owns_index and self._indexer is not None:
            self._indexer.close()
            self._indexer = None
