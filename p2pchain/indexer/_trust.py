"""Trust scores: EigenTrust over the rating graph, seeded by real value paid (docs/trust.md).

A plain average of stars is what fake reviews exploit: a ring of addresses trading cheaply with
each other and rating each other 5 stars has a perfect average. Here:

1. **Value weight.** Each rating weighs ``min(log1p(value / scale), EDGE_CAP)``. ``value`` is what
   the seller was actually paid (0 for a refund or a ruling timeout). ``scale`` is the mean rated
   value in its token after clipping every value at the total of the ``(k+1)``-th largest
   trading pair (``k``: a twentieth of the pairs, at least one): many cheap trades still add up
   to little, and a few huge ones cannot swamp everyone else. Trades opened and rated in one block (all that
   flash-borrowed capital can do) count for nothing.
2. **Seed (pre-trust) from money paid.** An address's teleport share is the sum, over the
   distinct sellers it paid and rated as a buyer, of ``min(log1p(paid / scale), EDGE_CAP)``:
   diverse, real-value purchases earn seed; cheap trades inside a ring earn almost none, and no
   one pair of addresses earns more than the cap.
3. **EigenTrust.** Local trust from rater ``i`` to subject ``j`` is the value-weighted positive
   part of ``(stars - 3) / 2``; each rater's row is normalized, so a rater hands out only the
   trust it has. ``t = a * seed + (1 - a) * C^T t`` (``a = 0.15``) by power iteration. A ring
   that only rates itself keeps just the little seed it has; trust cannot flow in from outside.
4. **Quality.** ``score = rank * quality``, quality being the trust-weighted share of positive
   evidence among all (negative ratings lower it), normalized so the best address scores 1.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

#: Teleport probability of the power iteration.
ALPHA = 0.15
#: Power iterations at most (stops earlier once the L1 change is below :data:`TOLERANCE`).
ITERATIONS = 100
TOLERANCE = 1e-12
#: Most weight one rater-subject edge carries: as much as a trade worth 10 times the scale.
EDGE_CAP = math.log1p(10)
#: Share of the largest trading pairs (value totals) whose excess the scale ignores (at least 1).
CLIP_SHARE = 0.05


@dataclass(frozen=True)
class RatingRow:
    """One rating, as the trust computation needs it."""

    rater: str
    subject: str
    score: int
    token: str
    value: int
    rater_is_buyer: bool
    #: The trade was opened and rated in the same block: flash-borrowed capital can do that,
    #: so the rating carries no value weight and earns no seed.
    same_block: bool = False


@dataclass
class TrustResult:
    """The trust of one address and its evidence (see :class:`~p2pchain.indexer.TrustView`)."""

    score: float = 0.0
    rating_count: int = 0
    average_stars: float | None = None
    weighted_stars: float | None = None
    volume: dict[str, int] = field(default_factory=dict)
    counterparties: int = 0
    details: dict[str, float] = field(default_factory=dict)


def _weight(value: int, scale: float) -> float:
    return min(math.log1p(value / scale), EDGE_CAP)


def _scales(ratings: list[RatingRow]) -> dict[str, float]:
    """Per token: the mean rated value, each value clipped at the ``(k+1)``-th largest pair total.

    A pair is two addresses that traded, whichever rated whom; ``k`` is a twentieth of the token's
    pairs, at least 1. Cheap trades hardly move a mean (count cannot buy scale), and the clip
    keeps the few largest pairs from moving it either.
    """
    pairs: dict[str, dict[frozenset[str], int]] = defaultdict(lambda: defaultdict(int))
    for r in ratings:
        pairs[r.token][frozenset((r.rater, r.subject))] += r.value
    scales: dict[str, float] = {}
    for token, totals in pairs.items():
        ranked = sorted(totals.values(), reverse=True)
        k = max(1, math.floor(CLIP_SHARE * len(ranked)))
        ceiling = ranked[min(k, len(ranked) - 1)]
        values = [min(r.value, ceiling) for r in ratings if r.token == token]
        scales[token] = max(sum(values) / len(values), 1.0)
    return scales


def _seeds(ratings: list[RatingRow], scales: dict[str, float]) -> dict[str, float]:
    paid: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in ratings:
        if r.rater_is_buyer and r.rater != r.subject:
            paid[(r.rater, r.subject, r.token)] += r.value
    seeds: dict[str, float] = defaultdict(float)
    for (buyer, _seller, token), value in paid.items():
        seeds[buyer] += _weight(value, scales[token])
    return seeds


def _local_trust(ratings: list[RatingRow], scales: dict[str, float]) -> dict[str, dict[str, float]]:
    weight: dict[tuple[str, str], float] = defaultdict(float)
    stars: dict[tuple[str, str], float] = defaultdict(float)
    values: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in ratings:
        if r.rater != r.subject:
            values[(r.rater, r.subject, r.token)] += r.value
    # each edge's weight is capped as a whole, then shared out by its ratings' stars
    for r in ratings:
        if r.rater != r.subject and r.value:
            key = (r.rater, r.subject, r.token)
            share = r.value / values[key]
            edge = _weight(values[key], scales[r.token])
            weight[(r.rater, r.subject)] += edge * share
            stars[(r.rater, r.subject)] += edge * share * (r.score - 3) / 2
    local: dict[str, dict[str, float]] = defaultdict(dict)
    for (rater, subject), value in stars.items():
        local[rater][subject] = value
    rows: dict[str, dict[str, float]] = {}
    for rater, out in local.items():
        positive = {s: v for s, v in out.items() if v > 0}
        total = sum(positive.values())
        if total > 0:
            rows[rater] = {s: v / total for s, v in positive.items()}
    return rows


def _eigentrust(
    nodes: list[str], seed: dict[str, float], rows: dict[str, dict[str, float]]
) -> dict[str, float]:
    seed_total = sum(seed.values())
    if seed_total <= 0:
        return {n: 0.0 for n in nodes}
    p = {n: seed.get(n, 0.0) / seed_total for n in nodes}
    t = dict(p)
    for _ in range(ITERATIONS):
        nxt = {n: ALPHA * p[n] for n in nodes}
        dangling = 0.0
        for n in nodes:
            mass = (1 - ALPHA) * t[n]
            out = rows.get(n)
            if out is None:
                dangling += mass
                continue
            for subject, share in out.items():
                nxt[subject] += mass * share
        if dangling:
            for n in nodes:
                nxt[n] += dangling * p[n]
        delta = sum(abs(nxt[n] - t[n]) for n in nodes)
        t = nxt
        if delta < TOLERANCE:
            break
    return t


def compute_trust(ratings: Iterable[RatingRow]) -> dict[str, TrustResult]:
    """Trust of every address that rated or was rated.

    Args:
        ratings: Every rating in the index.

    Returns:
        Address -> its score (0..1) and evidence.
    """
    given = list(ratings)
    if not given:
        return {}
    # a rating of a trade opened in the same block carries no value: flash capital
    rows = [replace(r, value=0) if r.same_block else r for r in given]
    counted = [r for r in rows if r.value > 0]
    scales = _scales(counted) if counted else {}
    scales.update({r.token: 1.0 for r in rows if r.token not in scales})
    seeds = _seeds(rows, scales)
    local = _local_trust(rows, scales)
    nodes = sorted({r.rater for r in rows} | {r.subject for r in rows})
    rank = _eigentrust(nodes, seeds, local)
    results = {n: TrustResult() for n in nodes}
    stars: dict[str, list[int]] = defaultdict(list)
    pos: dict[str, float] = defaultdict(float)
    neg: dict[str, float] = defaultdict(float)
    weighted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    raters: dict[str, set[str]] = defaultdict(set)
    rated_by: dict[str, set[str]] = defaultdict(set)
    same_block: dict[str, int] = defaultdict(int)
    for r in given:
        if r.same_block:
            same_block[r.subject] += 1
    for r in rows:
        res = results[r.subject]
        stars[r.subject].append(r.score)
        res.volume[r.token] = res.volume.get(r.token, 0) + r.value
        raters[r.subject].add(r.rater)
        rated_by[r.rater].add(r.subject)
        w = rank[r.rater] * _weight(r.value, scales[r.token])
        weighted[r.subject][0] += w * r.score
        weighted[r.subject][1] += w
        if r.score > 3:
            pos[r.subject] += w * (r.score - 3)
        elif r.score < 3:
            neg[r.subject] += w * (3 - r.score)
    raw: dict[str, float] = {}
    for n in nodes:
        evidence = pos[n] + neg[n]
        quality = pos[n] / evidence if evidence > 0 else (1.0 if not stars[n] else 0.5)
        raw[n] = rank[n] * quality
        res = results[n]
        res.rating_count = len(stars[n])
        res.average_stars = sum(stars[n]) / len(stars[n]) if stars[n] else None
        num, den = weighted[n]
        res.weighted_stars = num / den if den > 0 else res.average_stars
        res.counterparties = len(raters[n])
        reciprocal = raters[n] & rated_by[n]
        res.details = {
            "rank": rank[n],
            "seed": seeds.get(n, 0.0) / (sum(seeds.values()) or 1.0),
            "quality": quality,
            "reciprocal_share": len(reciprocal) / len(raters[n]) if raters[n] else 0.0,
            "same_block_ratings": float(same_block[n]),
        }
    top = max(raw.values())
    for n in nodes:
        results[n].score = raw[n] / top if top > 0 else 0.0
    return results
