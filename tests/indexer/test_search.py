"""Search on SQLite (FTS5) and PostgreSQL (tsvector): text, filters, sorting, paging, input checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from _market import ONE

from indexer.conftest import Market, publish
from p2pchain.indexer import Indexer, IndexerError, SearchQuery
from p2pchain.ipfs import LocalStore


@dataclass
class Catalog:
    indexer: Indexer
    ids: dict[str, str]
    token: str


@pytest.fixture
def catalog(market: Market, db_url: str, ipfs: LocalStore) -> Catalog:
    """Seven listings of every kind, one closed, one expired, one in an ERC-20 token."""
    now = market.seller.now()
    token = market.deploy_token("TestERC20", "Test", "TST")
    made = {
        "road": publish(market, ipfs, title="Road bike", price=str(ONE)),
        "mtb": publish(
            market, ipfs, title="Mountain bikes, a pair", price=str(3 * ONE), quantity=2
        ),
        "repair": publish(
            market, ipfs, title="Bicycle repair", kind="service", condition=None,
            category="services/repair", description="I fix any bike in a day.", price=str(ONE // 2),
        ),
        "tent": publish(
            market, ipfs, title="Camping tent", kind="rental", condition=None,
            category="outdoor/camping", description="Sleeps four.", price=str(ONE // 5),
            deposit=str(ONE), rental={"start": now + 86_400, "end": now + 3 * 86_400},
        ),
        "kids": publish(market, ipfs, title="Kids bike", price=str(2 * ONE)),
        "expiring": publish(market, ipfs, title="Old bike", price=str(3 * ONE // 2), expiry=now + 500),
        "lamp": publish(
            market, ipfs, title="Desk lamp", category="home/lamps", description="Warm light.",
            price="5000000", token=token.address,
        ),
    }  # fmt: skip
    market.seller.close_listing(made["kids"])
    market.chain.increase_time(1_000)
    market.chain.mine(1)
    indexer = Indexer(db_url, market.chain, market.seller.deployment, ipfs=ipfs, confirmations=0)
    indexer.sync()
    return Catalog(indexer, {k: "0x" + v.id.hex() for k, v in made.items()}, token.address)


def _ids(catalog: Catalog, **query: Any) -> list[str]:
    page = catalog.indexer.search(SearchQuery(limit=100, **query))
    names = {v: k for k, v in catalog.ids.items()}
    return [names[item.listing_id] for item in page.items]


def test_text_matches_title_description_and_category_with_stemming(catalog: Catalog) -> None:
    assert sorted(_ids(catalog, text="bikes")) == ["mtb", "repair", "road"]
    assert sorted(_ids(catalog, text="BIKE road")) == ["road"]
    assert _ids(catalog, text="camping") == ["tent"]  # category only
    assert _ids(catalog, text="warm") == ["lamp"]  # description only
    assert _ids(catalog, text="submarine") == []
    assert _ids(catalog, text='"bike" -road*') == ["road"]  # query syntax is read as words
    assert _ids(catalog, text="NEAR( AND OR") == []


def test_availability_filter_hides_closed_and_expired(catalog: Catalog) -> None:
    available = set(_ids(catalog))
    assert available == {"road", "mtb", "repair", "tent", "lamp"}
    everything = set(_ids(catalog, available_only=False))
    assert everything == available | {"kids", "expiring"}
    kids = catalog.indexer.listing(catalog.ids["kids"])
    assert kids is not None and kids.closed and not kids.available


def test_kind_token_and_price_filters(catalog: Catalog) -> None:
    assert _ids(catalog, kind="service") == ["repair"]
    assert _ids(catalog, kind="rental") == ["tent"]
    assert _ids(catalog, token=catalog.token.lower()) == ["lamp"]
    assert "lamp" not in _ids(catalog, token="ETH")
    in_range = _ids(catalog, token="ETH", min_price=ONE // 2, max_price=ONE, sort="price_asc")
    assert in_range == ["repair", "road"]
    assert _ids(catalog, token="ETH", min_price=str(3 * ONE)) == ["mtb"]


def test_sorting_by_price_and_newest(catalog: Catalog) -> None:
    eth = {"token": "ETH", "available_only": False}
    assert _ids(catalog, sort="price_asc", **eth) == [
        "tent", "repair", "road", "expiring", "kids", "mtb"
    ]  # fmt: skip
    assert _ids(catalog, sort="price_desc", **eth) == [
        "mtb", "kids", "expiring", "road", "repair", "tent"
    ]  # fmt: skip
    assert _ids(catalog, sort="newest", available_only=False) == [
        "lamp", "expiring", "kids", "tent", "repair", "mtb", "road"
    ]  # fmt: skip


def test_paging_reports_the_total(catalog: Catalog) -> None:
    first = catalog.indexer.search(SearchQuery(limit=2, sort="price_asc", token="ETH"))
    second = catalog.indexer.search(SearchQuery(limit=2, offset=2, sort="price_asc", token="ETH"))
    assert first.total == second.total == 4
    assert len(first.items) == len(second.items) == 2
    assert not {i.listing_id for i in first.items} & {i.listing_id for i in second.items}


def test_trust_filter_and_sort(market: Market, catalog: Catalog) -> None:
    road = market.seller.listing(catalog.ids["road"])
    trade = market.buyer.buy(road)
    trade = market.buyer.release(trade)
    market.buyer.rate(trade, 5)
    market.seller.rate(trade, 5)
    catalog.indexer.sync()
    score = catalog.indexer.trust(market.seller.address).score
    assert score > 0
    items = catalog.indexer.search(SearchQuery(min_trust=score, sort="trust")).items
    assert items and all(i.seller_trust == score for i in items)
    assert catalog.indexer.search(SearchQuery(min_trust=1.0, text="nothing")).total == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"sort": "cheapest"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"min_price": "-1"}, "min_price"),
        ({"min_price": "5", "max_price": "4"}, "min_price: must not be above max_price"),
        ({"token": "DOGE"}, "token"),
        ({"kind": "auction"}, "kind"),
        ({"text": "x" * 500}, "text"),
        ({"min_trust": 2}, "min_trust"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_queries_fail_with_one_line_naming_the_field(
    db_url: str, query: dict[str, Any], message: str
) -> None:
    from p2pchain.indexer import IndexReader

    with pytest.raises(IndexerError, match=message) as info, IndexReader(db_url) as reader:
        reader.search(query)
    assert "\n" not in str(info.value)


def test_reader_inputs_are_checked(db_url: str) -> None:
    from p2pchain.indexer import IndexReader

    with IndexReader(db_url) as reader:
        with pytest.raises(IndexerError, match="not 32 bytes"):
            reader.listing("0x1234")
        with pytest.raises(IndexerError, match="not a 0x-prefixed 20-byte address"):
            reader.trust("bob")
        with pytest.raises(IndexerError, match="not a 0x-prefixed 20-byte address"):
            reader.trades_of("0x12")
        assert reader.listing("0x" + "00" * 32) is None
        assert reader.trust("0x" + "11" * 20).score == 0.0


def test_seller_and_category_filters_and_category_counts(catalog: Catalog, market: Market) -> None:
    seller = market.seller_account.address
    assert set(_ids(catalog, seller=seller.lower())) == {"road", "mtb", "repair", "tent", "lamp"}
    assert _ids(catalog, seller=market.buyer_account.address) == []
    assert _ids(catalog, category="outdoor") == ["tent"]  # a category and everything below it
    assert _ids(catalog, category="outdoor/camping") == ["tent"]
    assert _ids(catalog, category="outdoo") == []  # whole path segments only
    assert _ids(catalog, category="out_oor") == []  # LIKE wildcards are plain characters
    assert sorted(_ids(catalog, category="sports")) == ["mtb", "road"]
    assert catalog.indexer.categories() == [
        ("sports", 2),
        ("home", 1),
        ("outdoor", 1),
        ("services", 1),
    ]
    assert catalog.indexer.categories(available_only=False)[0] == ("sports", 4)
