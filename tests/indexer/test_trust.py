"""Trust scores (docs/trust.md): a planted self-dealing ring must not beat an honest seller."""

from __future__ import annotations

import itertools
from pathlib import Path

from _market import ONE, Market, make_market, random_cid
from eth_account import Account
from eth_account.signers.local import LocalAccount

from p2pchain.chain._nodes import AnvilChain
from p2pchain.indexer import Indexer, SearchQuery
from p2pchain.indexer._trust import RatingRow, compute_trust
from p2pchain.market._client import MarketplaceClient

CHEAP = 10**12  # a millionth of the honest price


def _funded(market: Market, count: int) -> list[MarketplaceClient]:
    clients = []
    for _ in range(count):
        account: LocalAccount = Account.create()
        market.seller.sender.send(market.deployer, {"to": account.address, "value": 10 * ONE})
        clients.append(market.seller.with_account(account))
    return clients


def _trade(seller: MarketplaceClient, buyer: MarketplaceClient, price: int, stars: int) -> None:
    listing = seller.create_listing(seller.make_terms(price=price, cid=random_cid()))
    trade = buyer.release(buyer.buy(listing))
    buyer.rate(trade, stars)
    seller.rate(trade, stars)


def test_a_planted_ring_scores_below_an_honest_seller(
    market: Market, tmp_path: Path, postgres_url: str
) -> None:
    ring = _funded(market, 4)
    for seller, buyer in itertools.permutations(ring, 2):  # 12 pairs, 2 cheap trades each
        for _ in range(2):
            _trade(seller, buyer, CHEAP, 5)
    honest = market.seller
    buyers = _funded(market, 4)
    for buyer, stars in zip(buyers, (5, 5, 4, 5), strict=True):
        _trade(honest, buyer, ONE, stars)

    for db_url in (f"sqlite:///{tmp_path}/index.sqlite", postgres_url):  # one chain, both engines
        indexer = Indexer(db_url, market.chain, market.seller.deployment, confirmations=0)
        indexer.sync()
        honest_view = indexer.trust(honest.address)
        ring_views = [indexer.trust(member.address) for member in ring]
        # the naive view the ring was built to fool: more ratings, a perfect average
        assert all(v.rating_count == 12 and v.average_stars == 5.0 for v in ring_views)
        assert honest_view.rating_count == 4 and honest_view.average_stars == 4.75
        # the trust score sees through it
        assert max(v.score for v in ring_views) < honest_view.score / 10
        assert honest_view.counterparties == 4
        assert honest_view.volume == {"ETH": 4 * ONE}
        listing_trust = {
            i.seller_trust
            for i in indexer.search(SearchQuery(available_only=False, limit=100)).items
            if i.seller == honest.address
        }
        assert listing_trust == {honest_view.score}
        indexer.close()


def _rows(pairs: list[tuple[str, str, int, int]]) -> list[RatingRow]:
    """Ratings both ways for each ``(seller, buyer, value, stars)`` trade."""
    rows = []
    for seller, buyer, value, stars in pairs:
        rows.append(RatingRow(buyer, seller, stars, "ETH", value, True))
        rows.append(RatingRow(seller, buyer, 5, "ETH", value, False))
    return rows


def test_a_large_ring_with_hundreds_of_trades_stays_below() -> None:
    ring = [f"ring{i}" for i in range(10)]
    trades = [(s, b, CHEAP, 5) for s, b in itertools.permutations(ring, 2) for _ in range(5)]
    trades += [("honest", f"buyer{i}", ONE, 5) for i in range(5)]
    scores = compute_trust(_rows(trades))
    assert len(trades) == 455
    assert max(scores[m].score for m in ring) < scores["honest"].score / 10
    assert scores["honest"].score == 1.0


def test_diverse_counterparties_beat_one_repeated_counterparty() -> None:
    trades = [("repeat", "loyal", ONE, 5)] * 4
    trades += [("diverse", f"b{i}", ONE, 5) for i in range(4)]
    scores = compute_trust(_rows(trades))
    assert scores["diverse"].score > scores["repeat"].score
    assert scores["repeat"].rating_count == scores["diverse"].rating_count == 4


def test_bad_ratings_lower_the_score() -> None:
    trades = [("good", f"g{i}", ONE, 5) for i in range(4)]
    trades += [("bad", f"b{i}", ONE, 1) for i in range(4)]
    trades += [("mixed", f"m{i}", ONE, 5 if i % 2 else 1) for i in range(4)]
    scores = compute_trust(_rows(trades))
    assert scores["good"].score > scores["mixed"].score > scores["bad"].score
    assert scores["bad"].weighted_stars == 1.0


def test_value_weighs_more_than_count() -> None:
    trades = [("big", f"b{i}", ONE, 5) for i in range(3)]
    trades += [("small", f"s{i}", CHEAP, 5) for i in range(30)]
    scores = compute_trust(_rows(trades))
    assert scores["big"].score > scores["small"].score


def test_no_ratings_no_scores() -> None:
    assert compute_trust([]) == {}


HUGE = 10**30  # flash-minted: free for one transaction


def _honest(count: int = 4) -> list[tuple[str, str, int, int]]:
    return [("honest", f"buyer{i}", ONE, 5) for i in range(count)]


def test_same_block_trades_carry_no_trust() -> None:
    """A flash-capital round trip (opened and closed in one block) changes nobody's score."""
    alone = compute_trust(_rows(_honest()))
    ring = [
        RatingRow("ringbuyer", "ringseller", 5, "ETH", HUGE, True, same_block=True),
        RatingRow("ringseller", "ringbuyer", 5, "ETH", HUGE, False, same_block=True),
    ]
    scores = compute_trust(_rows(_honest()) + ring)
    assert scores["honest"].score == alone["honest"].score == 1.0
    assert scores["ringbuyer"].score == scores["ringseller"].score == 0.0
    assert scores["ringseller"].details["same_block_ratings"] == 1.0


def test_refunded_trades_carry_no_value() -> None:
    """Ratings of unpaid trades (value 0: refunds, ruling timeouts) earn no seed and no weight."""
    alone = compute_trust(_rows(_honest()))
    unpaid = _rows([("ringseller", "ringbuyer", 0, 5)])
    scores = compute_trust(_rows(_honest()) + unpaid)
    assert scores["honest"].score == alone["honest"].score == 1.0
    assert scores["ringseller"].score == 0.0


def test_one_huge_pair_does_not_swamp_the_scale() -> None:
    """Real capital held across blocks: one pair trading 1e30 is clipped out of the scale, and
    its edges are capped: the honest seller keeps most of its score and stays above the whale
    seller (with the plain mean as the scale, the honest seller fell to nearly 0). The whale's
    buyer paid real money, so it earns seed, but at most EDGE_CAP."""
    alone = compute_trust(_rows(_honest()))
    scores = compute_trust(_rows(_honest() + [("whale", "whalebuyer", HUGE, 5)]))
    assert alone["honest"].score == 1.0
    assert scores["honest"].score >= 0.8 * alone["honest"].score
    assert scores["whale"].score <= scores["honest"].score


def test_one_edge_weighs_at_most_the_cap() -> None:
    """However large, one buyer-seller pair earns at most EDGE_CAP of seed."""
    from p2pchain.indexer._trust import EDGE_CAP, _seeds

    rows = _rows(_honest() + [("whale", "whalebuyer", HUGE, 5)])
    seeds = _seeds(rows, {"ETH": float(ONE)})
    assert seeds["whalebuyer"] == EDGE_CAP
    assert seeds["buyer0"] < EDGE_CAP


def test_the_flash_mint_ring_on_a_real_chain_moves_nobody(
    anvil_chain: AnvilChain, tmp_path: Path
) -> None:
    """Issue 10's attack, on Anvil: flash-mint 10^30 of an ERC-3156 token, list, buy, end the trade
    (refund, then release), rate 5 stars both ways and repay, in one transaction each. The honest
    seller's trust stays within 10% of its value without the ring, and neither ring account
    scores above it."""
    from contracts.flash_ring import deploy_flash_ring, run_flash_ring

    market = make_market(anvil_chain)
    honest = market.seller
    for buyer, stars in zip(_funded(market, 4), (5, 5, 4, 5), strict=True):
        _trade(honest, buyer, ONE, stars)
    indexer = Indexer(
        f"sqlite:///{tmp_path}/index.sqlite", anvil_chain, honest.deployment, confirmations=0
    )
    try:
        indexer.sync()
        alone = indexer.trust(honest.address).score
        ring = deploy_flash_ring(anvil_chain.w3, market.deployer, honest.deployment.marketplace)
        runs = [run_flash_ring(anvil_chain.w3, ring, HUGE, ending=e) for e in ("refund", "release")]
        indexer.sync()
        with_ring = indexer.trust(honest.address).score
        ring_buyer = indexer.trust(runs[0].buyer)
        ring_seller = indexer.trust(runs[0].seller)
    finally:
        indexer.close()
    assert alone == 1.0
    assert abs(with_ring - alone) <= 0.1 * alone, (alone, with_ring)
    assert ring_buyer.score <= with_ring and ring_seller.score <= with_ring
    # both ring trades were rated both ways, and recognised as same-block round trips
    assert ring_seller.rating_count == 2 and ring_seller.details["same_block_ratings"] == 2.0
