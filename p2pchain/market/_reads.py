"""Reading the marketplace: listings, trades, ratings and balances, rebuilt from events.

:class:`MarketReader` holds a connection to one deployment and answers every read: a listing's
terms and state, a trade rebuilt from its events (``open_trade`` / ``apply_event``) and checked
against the contract (``checkTrade``), ratings, balances, allowances and credits. It is the base
of :class:`~p2pchain.market._client.MarketplaceClient`, which adds the actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Self, cast

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import event_abi_to_log_topic, to_checksum_address
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import BlockIdentifier, FilterParams, LogReceipt, TxReceipt

from p2pchain._errors import ChainError, P2PChainError, WalletError
from p2pchain.chain._deploy import Deployment
from p2pchain.chain._events import DecodedEvent, EventDecoder
from p2pchain.chain._model import (
    TRADE_TRANSITIONS,
    ZERO_ADDRESS,
    ListingTerms,
    Trade,
    apply_event,
    open_trade,
)
from p2pchain.chain._node_errors import MalformedAnswer, node_errors
from p2pchain.chain._nodes import DevChain
from p2pchain.chain._sender import TransactionSender
from p2pchain.compiler._artifacts import load_artifact
from p2pchain.market import _validation as check
from p2pchain.market._views import (
    Listing,
    ListingStatus,
    Rating,
    ReputationSummary,
    Role,
    SignedListing,
    TradeEvent,
    TradeView,
    TxInfo,
)

#: The zero address, which stands for the chain's native currency as a payment token.
ETH: ChecksumAddress = cast(ChecksumAddress, ZERO_ADDRESS)
DAY = 86_400

#: Events that carry a listing's terms.
LISTING_TERMS_EVENTS = ("Listed", "ListingUpdated", "SignedListingUsed")
#: Events that open a trade: a purchase at the asking price, or an accepted offer at its price.
TRADE_OPENINGS = ("Purchased", "OfferAccepted")
#: Highest arbitrator fee and review window (the contract's constants).
MAX_ARBITRATOR_FEE_BPS = 1_000
MAX_REVIEW_WINDOW = 365 * DAY
MAX_UNIT_AMOUNT = 2**128 - 1

_ERC20_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": mutability,
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": out}],
    }
    for name, mutability, inputs, out in (
        ("allowance", "view", [("owner", "address"), ("spender", "address")], "uint256"),
        ("approve", "nonpayable", [("spender", "address"), ("amount", "uint256")], "bool"),
        ("balanceOf", "view", [("account", "address")], "uint256"),
    )
]


def _batch_errors() -> tuple[type[BaseException], ...]:
    return (P2PChainError, *node_errors())


class NotFoundError(P2PChainError):
    """No listing or trade with that id exists on this deployment."""


class _Codec:
    """Calldata for one contract's functions, straight from its ABI (faster than web3's)."""

    def __init__(self, abi: Iterable[Mapping[str, Any]]) -> None:
        self._functions: dict[str, tuple[bytes, list[str], list[str]]] = {}
        for item in abi:
            if item.get("type") == "function":
                fn = cast(Any, item)
                self._functions[str(item["name"])] = (
                    function_abi_to_4byte_selector(fn),
                    list(get_abi_input_types(fn)),
                    list(get_abi_output_types(fn)),
                )

    def encode(self, name: str, *args: Any) -> bytes:
        selector, types, _ = self._functions[name]
        return selector + abi_encode(types, list(args))

    def decode(self, name: str, data: bytes) -> tuple[Any, ...]:
        return tuple(abi_decode(self._functions[name][2], data))

    def decode_input(self, name: str, data: bytes) -> tuple[Any, ...]:
        """The arguments of calldata made by :meth:`encode` (selector first)."""
        return tuple(abi_decode(self._functions[name][1], data[4:]))


class MarketReader:
    """Typed reads of one p2pchain deployment: listings, trades, ratings, balances.

    The base of :class:`~p2pchain.market._client.MarketplaceClient`, which adds the actions.

    Args:
        w3: Connection to the chain.
        deployment: Where the contracts are (already verified; see :meth:`MarketplaceClient.connect`).
        account: The local account that signs; None for a read-only client or for unsigned
            transactions only.
        sender: The transaction sender (shared by ``with_account`` clients, so nonces are
            managed per account across them).
        verify: Check every trade this client returns against the contract (``checkTrade``).
        max_log_range: Largest block range per ``eth_getLogs`` request (None: no limit), for
            nodes that cap it.
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        *,
        account: LocalAccount | None = None,
        sender: TransactionSender | None = None,
        verify: bool = True,
        max_log_range: int | None = None,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.account = account
        self.sender = sender or TransactionSender(w3, chain_id=deployment.chain_id)
        self.verify = verify
        self.max_log_range = max_log_range
        self._market_abi = list(load_artifact("Marketplace").abi)
        self._reputation_abi = list(load_artifact("Reputation").abi)
        self.market = w3.eth.contract(address=deployment.marketplace, abi=self._market_abi)
        self.reputation = w3.eth.contract(address=deployment.reputation, abi=self._reputation_abi)
        self._m = _Codec(self._market_abi)
        self._r = _Codec(self._reputation_abi)
        self._erc20 = _Codec(_ERC20_ABI)
        self._market_events = EventDecoder(self._market_abi)
        self._rep_events = EventDecoder(self._reputation_abi)
        self._topics = {
            str(e["name"]): event_abi_to_log_topic(cast(Any, e))
            for e in self._market_abi
            if e.get("type") == "event"
        }
        self._opening_topics = [self._topics[n] for n in TRADE_OPENINGS]
        self._rated_topic = next(
            event_abi_to_log_topic(cast(Any, e))
            for e in self._reputation_abi
            if e.get("type") == "event" and e["name"] == "Rated"
        )
        self._timestamps: dict[int, int] = {}
        self._owned: DevChain | None = None

    def close(self) -> None:
        """Stop the chain :meth:`connect` started, if any."""
        if self._owned is not None:
            self._owned.stop()
            self._owned = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def address(self) -> ChecksumAddress:
        """The client account's address.

        Raises:
            WalletError: The client has no account.
        """
        if self.account is None:
            raise WalletError(
                "this client has no account: connect with account=..., or use"
                " prepare_*(..., sender=address).unsigned() for a wallet to sign"
            )
        return self.account.address

    @property
    def chain_id(self) -> int:
        """The chain id."""
        return self.deployment.chain_id

    def _signer(self, sender: ChecksumAddress) -> LocalAccount:
        if self.account is None or self.account.address != sender:
            raise WalletError(
                f"this client signs as {self.account.address if self.account else 'nobody'},"
                f" not {sender}: use with_account(...) or unsigned()"
            )
        return self.account

    # ------------------------------------------------------------------ reads

    def now(self) -> int:
        """The latest block's timestamp (the chain's clock)."""
        block = self.sender.retry("eth_getBlockByNumber", lambda: self.w3.eth.get_block("latest"))
        return int(block["timestamp"])

    def balance(self, account: str | None = None, token: str = ETH) -> int:
        """``account``'s balance in ``token`` (ETH by default), in the smallest unit."""
        owner = self.address if account is None else check.address(account, "account")
        token_address = check.address(token, "token")
        if token_address == ETH:
            return int(self.sender.retry("eth_getBalance", lambda: self.w3.eth.get_balance(owner)))
        return int(
            self._eth_call(token_address, self._erc20.encode("balanceOf", owner), "balanceOf")[0]
        )

    def allowance(self, token: str, owner: str | None = None) -> int:
        """How much of ``token`` the marketplace may pull from ``owner``."""
        token_address = check.address(token, "token", allow_zero=False)
        who = self.address if owner is None else check.address(owner, "owner")
        data = self._erc20.encode("allowance", who, self.deployment.marketplace)
        return int(self._eth_call(token_address, data, "allowance")[0])

    def credit(self, account: str | None = None, token: str = ETH) -> int:
        """Payouts credited to ``account`` in ``token`` that it can :meth:`withdraw`."""
        who = self.address if account is None else check.address(account, "account")
        data = self._m.encode("credit", check.address(token, "token"), who)
        return int(self._eth_call(self.deployment.marketplace, data, "credit", self._m)[0])

    def reputation_of(self, subject: str, token: str = ETH) -> ReputationSummary:
        """The on-chain rating totals of ``subject`` for trades in ``token``."""
        who = check.address(subject, "subject")
        token_address = check.address(token, "token")
        data = self._r.encode("aggregate", who, token_address)
        ((count, score_sum, volume),) = self._eth_call(
            self.deployment.reputation, data, "aggregate", self._r
        )
        return ReputationSummary(who, token_address, int(count), int(score_sum), int(volume))

    def ratings_of(self, subject: str) -> list[Rating]:
        """Every rating ``subject`` received, oldest first (``Rated`` events by indexed subject)."""
        who = check.address(subject, "subject")
        logs = self._logs([self._rated_topic, None, None, _topic(who)], self.deployment.reputation)
        return [
            self._rating(e, None) for e in self._rep_events.decode(logs, self.deployment.reputation)
        ]

    def listing(self, listing: bytes | str | Listing | SignedListing) -> Listing:
        """A listing's current terms and state, from its events and ``listingState``.

        Args:
            listing: A listing id, or a listing or signed listing to refresh.

        Raises:
            NotFoundError: No such listing (signed listings are found from their
                :class:`SignedListing` even before their first purchase).
        """
        signed = listing if isinstance(listing, SignedListing) else None
        if isinstance(listing, (Listing, SignedListing)):
            listing_id = listing.id
        else:
            listing_id = check.bytes32(listing, "listing id")
        names = [*LISTING_TERMS_EVENTS, "ListingClosed"]
        events, (recorded, state) = self._events_and_calls(
            [[self._topics[n] for n in names], listing_id],
            ("record", listing_id),
            ("listingState", listing_id),
        )
        record = int(recorded[0])
        live, _, sold, remaining = state
        created = next((e for e in events if e.name in ("Listed", "SignedListingUsed")), None)
        if created is None:
            if signed is None:
                raise NotFoundError(f"no listing {_hex(listing_id)} on this marketplace")
            status = ListingStatus.UNUSED if record == 0 else ListingStatus.CLOSED
            return Listing(
                id=signed.id,
                seller=to_checksum_address(signed.terms.seller),
                salt=signed.salt,
                terms=signed.terms,
                listed_quantity=signed.quantity,
                sold=0,
                remaining=signed.quantity if status == ListingStatus.UNUSED else 0,
                status=status,
                signed=True,
                signature=signed.signature,
            )
        terms_events = [e for e in events if e.name in LISTING_TERMS_EVENTS]
        terms = ListingTerms.from_abi(terms_events[-1].args["terms"])
        if live:
            status = ListingStatus.LIVE
        elif record == 1 and any(e.name == "ListingClosed" for e in events):
            status = ListingStatus.CLOSED
        else:  # an accepted offer that took the last units also leaves the record spent
            status = ListingStatus.SOLD_OUT
        if not live:
            purchases = self._events([self._opening_topics, None, listing_id])
            sold = sum(int(e.args["quantity"]) for e in purchases)
            remaining = 0
        signature = signed.signature if signed is not None else None
        if signature is None and isinstance(listing, Listing):
            signature = listing.signature
        return Listing(
            id=listing_id,
            seller=to_checksum_address(created.args["seller"]),
            salt=bytes(created.args["salt"]),
            terms=terms,
            listed_quantity=int(created.args["quantity"]),
            sold=int(sold),
            remaining=int(remaining),
            status=status,
            signed=created.name == "SignedListingUsed",
            signature=signature,
            block_number=created.block_number,
        )

    def listings_of(self, seller: str) -> list[Listing]:
        """Every on-chain listing of ``seller`` and every signed one bought at least once."""
        who = check.address(seller, "seller")
        topics = [[self._topics["Listed"], self._topics["SignedListingUsed"]], None, _topic(who)]
        return [self.listing(bytes(e.args["listingId"])) for e in self._events(topics)]

    def trade(self, trade_id: bytes | str) -> TradeView:
        """A trade, rebuilt from its events and checked against the contract.

        Raises:
            NotFoundError: No trade with this id.
            ChainError: The node's logs do not rebuild the stored trade (incomplete logs).
        """
        tid = check.bytes32(trade_id, "trade id")
        for attempt in range(2):
            view = self._rebuild(tid)
            current, rated = self._eth_call_m("checkTrade", tid, view.trade.as_tuple())
            if current:
                return replace(
                    view, rated_by_buyer=bool(int(rated) & 1), rated_by_seller=bool(int(rated) & 2)
                )
            if attempt == 0:
                continue  # an event may have landed between the two reads
        raise ChainError(
            f"trade {_hex(tid)} rebuilt from the node's logs does not match the contract's"
            " record: the node may be missing logs (is it pruned?)"
        )

    def trades_of(self, account: str, role: Role | None = None) -> list[TradeView]:
        """Every trade ``account`` takes part in (as ``role``, or any), oldest first.

        Buyers are found through the indexed ``Purchased.buyer`` topic, sellers through their
        listings' indexed seller topic. Arbitrators are not indexed: finding their trades scans
        every listing's terms.
        """
        who = check.address(account, "account")
        ids: list[tuple[tuple[int, int], bytes]] = []
        if role in (None, Role.BUYER):
            for e in self._events([self._opening_topics, None, None, _topic(who)]):
                ids.append((e.position, bytes(e.args["tradeId"])))
        listing_ids: set[bytes] = set()
        if role in (None, Role.SELLER):
            topics = [
                [self._topics["Listed"], self._topics["SignedListingUsed"]],
                None,
                _topic(who),
            ]
            listing_ids.update(bytes(e.args["listingId"]) for e in self._events(topics))
        if role in (None, Role.ARBITRATOR):
            names = [self._topics[n] for n in LISTING_TERMS_EVENTS]
            for e in self._events([names]):
                if ListingTerms.from_abi(e.args["terms"]).arbitrator == who:
                    listing_ids.add(bytes(e.args["listingId"]))
        ordered = sorted(listing_ids)
        for start in range(0, len(ordered), 100):
            chunk = ordered[start : start + 100]
            for e in self._events([self._opening_topics, None, chunk]):
                ids.append((e.position, bytes(e.args["tradeId"])))
        seen: set[bytes] = set()
        views: list[TradeView] = []
        for _, tid in sorted(ids):
            if tid in seen:
                continue
            seen.add(tid)
            view = self.trade(tid)
            found = view.role_of(who)
            if found is not None and (role is None or found == role):
                views.append(view)
        return views

    # ------------------------------------------------------------------ internals

    def _eth_call(
        self, to: str, data: bytes, name: str, codec: _Codec | None = None
    ) -> tuple[Any, ...]:
        raw = self.sender.call({"to": to, "data": data})
        return (codec or self._erc20).decode(name, raw)

    def _eth_call_m(self, name: str, *args: Any) -> tuple[Any, ...]:
        return self._eth_call(
            self.deployment.marketplace, self._m.encode(name, *args), name, self._m
        )

    def _logs(self, topics: Sequence[Any], address: str | None = None) -> list[LogReceipt]:
        start = self.deployment.block
        encoded = [_topic_filter(t) for t in topics]
        if self.max_log_range is None:  # one read up to the head; no need to ask where it is
            params = cast(
                FilterParams,
                {
                    "address": address or self.deployment.marketplace,
                    "fromBlock": start,
                    "toBlock": "latest",
                    "topics": encoded,
                },
            )
            return self._get_logs(params)
        latest = int(self.sender.retry("eth_blockNumber", lambda: self.w3.eth.block_number))
        step = self.max_log_range
        out: list[LogReceipt] = []
        while start <= latest:
            end = min(latest, start + step - 1)
            params = cast(
                FilterParams,
                {
                    "address": address or self.deployment.marketplace,
                    "fromBlock": start,
                    "toBlock": end,
                    "topics": encoded,
                },
            )
            out.extend(self._get_logs(params))
            start = end + 1
        return out

    def _get_logs(self, params: FilterParams) -> list[LogReceipt]:
        return list(self.sender.retry("eth_getLogs", lambda: self.w3.eth.get_logs(params)))

    def _events(self, topics: Sequence[Any]) -> list[DecodedEvent]:
        events = self._market_events.decode(self._logs(topics), self.deployment.marketplace)
        return sorted(events, key=lambda e: e.position)

    def _events_and_calls(
        self, topics: Sequence[Any], *calls: tuple[str, Any]
    ) -> tuple[list[DecodedEvent], list[tuple[Any, ...]]]:
        """The Marketplace's events matching ``topics`` and the results of its view ``calls``
        (``(function, argument)``), read together: one batch to an HTTP node whose log range
        is not limited, at the latest block."""
        if self.max_log_range is not None or not self.sender.batching:
            return self._events(topics), [self._eth_call_m(name, arg) for name, arg in calls]
        market = self.deployment.marketplace
        requests: list[tuple[str, Sequence[Any]]] = [
            (
                "eth_getLogs",
                [
                    {
                        "address": market,
                        "fromBlock": hex(self.deployment.block),
                        "toBlock": "latest",
                        "topics": [_topic_filter(t) for t in topics],
                    }
                ],
            )
        ]
        for name, arg in calls:
            data = HexBytes(self._m.encode(name, arg)).to_0x_hex()
            requests.append(("eth_call", [{"to": market, "data": data}, "latest"]))

        def ask() -> tuple[list[LogReceipt], list[tuple[Any, ...]]]:
            logs, *answers = self.sender.batch(requests)
            return _formatted_logs(logs), [
                self._m.decode(name, _raw_result(answer))
                for (name, _), answer in zip(calls, answers, strict=True)
            ]

        logs, results = self.sender.retry("a batch of logs and calls", ask)
        events = self._market_events.decode(logs, market)
        return sorted(events, key=lambda e: e.position), results

    def _calls_together(
        self, calls: Sequence[tuple[str, bytes, str, _Codec]]
    ) -> list[tuple[Any, ...]]:
        """The results of view ``calls`` (``(contract, calldata, function, codec)``) at the latest
        block: one batch when the node takes batches, else one request each."""
        if not self.sender.batching or len(calls) < 2:
            return [self._eth_call(to, data, name, codec) for to, data, name, codec in calls]
        requests: list[tuple[str, Sequence[Any]]] = [
            ("eth_call", [{"to": to, "data": HexBytes(data).to_0x_hex()}, "latest"])
            for to, data, _, _ in calls
        ]

        def ask() -> list[tuple[Any, ...]]:
            answers = self.sender.batch(requests)
            return [
                codec.decode(name, _raw_result(answer))
                for (_, _, name, codec), answer in zip(calls, answers, strict=True)
            ]

        return self.sender.retry("a batch of calls", ask)

    def _one(self, receipt: TxReceipt, name: str) -> DecodedEvent:
        found = [
            e
            for e in self._market_events.decode(receipt["logs"], self.deployment.marketplace)
            if e.name == name
        ]
        if len(found) != 1:
            raise ChainError(f"expected one {name} event in the receipt, found {len(found)}")
        return found[0]

    def _timestamp(self, block_number: int) -> int:
        cached = self._timestamps.get(block_number)
        if cached is None:
            block = self.sender.retry(
                "eth_getBlockByNumber", lambda: self.w3.eth.get_block(block_number)
            )
            cached = self._timestamps[block_number] = int(block["timestamp"])
        return cached

    def _learn_time(self, receipt: Mapping[str, Any]) -> None:
        """Keep the block time a receipt carries (``blockTimestamp``, which newer nodes add), so
        building the result asks no block."""
        stamp = receipt.get("blockTimestamp")
        try:
            number = int(receipt["blockNumber"])
            if isinstance(stamp, str):
                value: int | None = int(stamp, 16)
            elif isinstance(stamp, int) and not isinstance(stamp, bool):
                value = stamp
            else:
                value = None
        except (KeyError, TypeError, ValueError):
            return
        if value is not None and value >= 0:
            self._timestamps.setdefault(number, value)

    def _prefetch_timestamps(self, blocks: Iterable[int]) -> None:
        missing = sorted({b for b in blocks if b not in self._timestamps})
        if len(missing) < 2:
            return
        calls = [("eth_getBlockByNumber", [hex(b), False]) for b in missing]
        try:
            answers = self.sender.retry("block batch", lambda: self.sender.batch(calls))
        except _batch_errors():
            return  # fetched one by one later
        for number, answer in zip(missing, answers, strict=True):
            result = answer.get("result")
            if isinstance(result, Mapping) and "timestamp" in result:
                self._timestamps[number] = int(result["timestamp"], 16)

    @staticmethod
    def _trade_event(event: DecodedEvent, timestamp: int) -> TradeEvent:
        return TradeEvent(
            name=event.name,
            args=dict(event.args),
            block_number=event.block_number,
            log_index=event.log_index,
            tx_hash=event.tx_hash,
            timestamp=timestamp,
        )

    def _advance(self, view: TradeView, receipt: TxReceipt) -> TradeView:
        trade = view.trade
        history = list(view.history)
        seen = {(e.tx_hash.lower(), e.log_index) for e in history}
        tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex().lower()
        for event in self._market_events.decode(receipt["logs"], self.deployment.marketplace):
            if (tx_hash, event.log_index) in seen:
                continue  # already in the view (an earlier transaction, resumed)
            if event.name in TRADE_TRANSITIONS and bytes(event.args["tradeId"]) == view.id:
                timestamp = self._timestamp(event.block_number)
                trade = apply_event(trade, event.name, event.args, timestamp)
                history.append(self._trade_event(event, timestamp))
        return replace(view, trade=trade, history=tuple(history), tx=TxInfo.from_receipt(receipt))

    def _view(self, trade: TradeView | bytes | str) -> TradeView:
        if isinstance(trade, TradeView):
            return trade
        return self.trade(trade)

    def _rebuild(self, tid: bytes) -> TradeView:
        events = self._events([None, tid])
        purchase = next(
            (e for e in events if e.name in TRADE_OPENINGS and bytes(e.args["tradeId"]) == tid),
            None,
        )
        if purchase is None:
            raise NotFoundError(f"no trade {_hex(tid)} on this marketplace")
        listing_id = bytes(purchase.args["listingId"])
        if listing_id == tid:
            listing_events = [e for e in events if e.name in LISTING_TERMS_EVENTS]
        else:
            listing_events = self._events(
                [[self._topics[n] for n in LISTING_TERMS_EVENTS], listing_id]
            )
        before = [e for e in listing_events if e.position < purchase.position]
        if not before:
            raise ChainError(f"no terms event before the purchase of trade {_hex(tid)}")
        terms = ListingTerms.from_abi(before[-1].args["terms"])
        opened = self._timestamp(purchase.block_number)
        quantity = int(purchase.args["quantity"])
        price = int(purchase.args["price"]) if purchase.name == "OfferAccepted" else None
        trade: Trade = open_trade(terms, purchase.args["buyer"], quantity, opened, unit_price=price)
        history = [self._trade_event(purchase, opened)]
        for event in events:
            if event.name in TRADE_TRANSITIONS and event.position > purchase.position:
                timestamp = self._timestamp(event.block_number)
                trade = apply_event(trade, event.name, event.args, timestamp)
                history.append(self._trade_event(event, timestamp))
        return TradeView(
            id=tid,
            listing_id=listing_id,
            trade=trade,
            quantity=quantity,
            opened_at=opened,
            history=tuple(history),
        )

    def _verify(self, values: Sequence[Any]) -> None:
        """Check returned trades against the contract (one batch when the node allows)."""
        views = [v for v in values if isinstance(v, TradeView)]
        if not self.verify or not views:
            return
        calls = [
            (
                "eth_call",
                [
                    {
                        "to": self.deployment.marketplace,
                        "data": HexBytes(
                            self._m.encode("checkTrade", v.id, v.trade.as_tuple())
                        ).to_0x_hex(),
                    },
                    hex(v.tx.block_number) if v.tx else "latest",
                ],
            )
            for v in views
        ]
        if self.sender.batching and len(calls) > 1:
            answers = self.sender.retry("checkTrade batch", lambda: self.sender.batch(calls))
            results = [HexBytes(a.get("result", "0x")) for a in answers]
        else:
            results = [self._check_trade_at(v) for v in views]
        for view, raw in zip(views, results, strict=True):
            current = bool(len(raw) >= 32 and self._m.decode("checkTrade", bytes(raw))[0])
            if not current:
                raise ChainError(
                    f"trade {_hex(view.id)} as rebuilt by the client does not match the contract"
                    " (a p2pchain bug: please report it)"
                )

    def _check_trade_at(self, view: TradeView) -> HexBytes:
        call = {
            "to": self.deployment.marketplace,
            "data": self._m.encode("checkTrade", view.id, view.trade.as_tuple()),
        }
        block: BlockIdentifier = view.tx.block_number if view.tx else "latest"
        return HexBytes(self.sender.call(call, block))

    def _rating(self, event: DecodedEvent, tx: TxInfo | None) -> Rating:
        args = event.args
        return Rating(
            trade_id=bytes(args["tradeId"]),
            rater=to_checksum_address(args["rater"]),
            subject=to_checksum_address(args["subject"]),
            score=int(args["score"]),
            token=to_checksum_address(args["token"]),
            value=int(args["value"]),
            review_cid=bytes(args["reviewCid"]),
            block_number=event.block_number,
            tx=tx,
        )


# --------------------------------------------------------------------------------------------
# helpers


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _topic(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _formatted_logs(answer: Mapping[str, Any]) -> list[LogReceipt]:
    """An ``eth_getLogs`` batch answer as web3 formats logs.

    Raises:
        Web3RPCError: The node's error (too many logs...).
        MalformedAnswer: Not a list of logs.
    """
    from web3._utils.method_formatters import log_entry_formatter
    from web3.datastructures import AttributeDict

    result = _raw_result(answer, hexed=False)
    if not isinstance(result, list):
        raise MalformedAnswer("the node's answer to eth_getLogs is not a list")
    try:
        return [cast(LogReceipt, AttributeDict.recursive(log_entry_formatter(e))) for e in result]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise MalformedAnswer(f"the node's answer to eth_getLogs is malformed ({exc})") from exc


def _raw_result(answer: Mapping[str, Any], *, hexed: bool = True) -> Any:
    """A batch answer's result (bytes when ``hexed``), or its error raised as web3 would.

    Raises:
        Web3RPCError: The node answered with an error (a revert, typically).
        MalformedAnswer: No result, or not hex data.
    """
    if answer.get("error") is not None:
        raise Web3RPCError(str(answer["error"]), rpc_response=cast(Any, answer))
    if "result" not in answer:
        raise MalformedAnswer("the node's answer has no result")
    result = answer["result"]
    if not hexed:
        return result
    if not isinstance(result, str) or result[:2] != "0x":
        raise MalformedAnswer("the node's answer to eth_call is not hex data")
    try:
        return bytes.fromhex(result[2:])
    except ValueError:
        raise MalformedAnswer("the node's answer to eth_call is not hex data") from None


def _topic_filter(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_topic_filter(v) for v in value]
    return HexBytes(value).to_0x_hex()


__all__ = [
    "DAY",
    "ETH",
    "LISTING_TERMS_EVENTS",
    "MAX_ARBITRATOR_FEE_BPS",
    "MAX_REVIEW_WINDOW",
    "MAX_UNIT_AMOUNT",
    "MarketReader",
    "NotFoundError",
]
