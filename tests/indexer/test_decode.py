"""The indexer's bulk decoder gives exactly what p2pchain.chain._events.EventDecoder gives."""

from __future__ import annotations

from typing import Any

import pytest
from _market import DAY, ONE, Market

from indexer.test_sync import _activity
from p2pchain.chain._events import EventDecoder
from p2pchain.compiler._artifacts import load_artifact
from p2pchain.indexer._decode import BulkEventDecoder


def _logs(market: Market) -> list[Any]:
    d = market.seller.deployment
    return list(
        market.chain.w3.eth.get_logs(
            {"fromBlock": d.block, "toBlock": "latest", "address": [d.marketplace, d.reputation]}
        )
    )


def _both(logs: list[Any], market: Market) -> tuple[list[Any], list[Any]]:
    d = market.seller.deployment
    out = []
    for cls in (EventDecoder, BulkEventDecoder):
        market_decoder = cls(load_artifact("Marketplace").abi)
        reputation_decoder = cls(load_artifact("Reputation").abi)
        out.append(
            market_decoder.decode(logs, d.marketplace)
            + reputation_decoder.decode(logs, d.reputation)
        )
    return out[0], out[1]


def test_bulk_decoding_equals_the_library_decoder_on_every_event(market: Market) -> None:
    _activity(market)
    rental = market.seller.create_listing(market.terms(deposit=ONE))
    trade = market.buyer.release(market.buyer.buy(rental))
    market.seller.return_deposit(trade)
    disputed = market.buyer.dispute(market.buyer.buy(market.seller.create_listing(market.terms())))
    market.chain.increase_time(4 * DAY)
    market.stranger.claim_ruling_timeout(disputed)
    expected, got = _both(_logs(market), market)
    assert got == expected
    names = {e.name for e in got}
    assert names >= {
        "Listed", "ListingUpdated", "ListingClosed", "SignedListingUsed", "Purchased",
        "Released", "DepositReturned", "Refunded", "Finalized", "Disputed",
        "SettlementProposed", "Settled", "Ruled", "RulingTimedOut", "Rated",
    }  # fmt: skip


def test_malformed_words_fall_back_to_eth_abi(market: Market) -> None:
    market.seller.create_listing(market.terms())
    (log,) = _logs(market)
    bad = dict(log)
    bad["topics"] = [log["topics"][0], log["topics"][1], b"\xff" * 32]  # seller: not an address
    errors = []
    for cls in (EventDecoder, BulkEventDecoder):
        with pytest.raises(Exception) as info:
            cls(load_artifact("Marketplace").abi).decode(
                [bad], market.seller.deployment.marketplace
            )
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]
