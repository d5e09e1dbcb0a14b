"""``p2pchain rate`` and ``p2pchain reputation``: on-chain ratings after a finished trade."""

from __future__ import annotations

from typing import Annotated

import typer

from p2pchain.cli._common import (
    ZERO_ADDRESS,
    emit,
    format_amount,
    hex_id,
    opts,
    panel,
    status,
    table,
)
from p2pchain.cli._common import who as name_of
from p2pchain.cli._errors import CliError
from p2pchain.cli._show import rating_json, review_texts


def rate(
    trade: Annotated[str, typer.Argument(help="The finished trade's id.")],
    score: Annotated[int, typer.Argument(help="1 (worst) to 5 (best).")],
    review: Annotated[
        str | None, typer.Option(help="A short review, stored on IPFS and anchored by its CID.")
    ] = None,
) -> None:
    """Rate the other party of a finished trade (once; the buyer rates the seller and back)."""
    from p2pchain.ipfs import CID

    o = opts()
    if not 1 <= score <= 5:
        raise CliError(f"invalid score {score}: give 1 to 5")
    text = trade.strip()
    if not text.startswith(("0x", "0X")) or len(text) != 66:
        raise CliError(f"invalid trade id {trade!r}: expected 0x and 64 hex digits")
    client = o.client()
    review_cid = b""
    if review is not None:
        if not review.strip() or len(review) > 2000:
            raise CliError("the review must be 1-2000 characters")
        cid = o.backend().add(review.encode(), cid_version=1, pin=True)
        review_cid = bytes(CID.parse(cid))
    with status(o, "waiting for the rating transaction"):
        rating = client.rate(text, score, review_cid)
    emit(
        rating_json(rating),
        lambda: typer.echo(
            f"rated {rating.subject} {rating.score}/5 for trade {hex_id(rating.trade_id)}"
        ),
    )


def reputation(
    who: Annotated[str, typer.Argument(help="An address or a wallet name.")],
    token: Annotated[str, typer.Option(help="Trades in this token (default: ETH).")] = ZERO_ADDRESS,
) -> None:
    """Show someone's on-chain reputation: count, average score, volume and each rating."""
    o = opts()
    address = o.resolve_address(who, "address")
    client = o.client(signer=False)
    summary = client.reputation_of(address, token)
    ratings = [r for r in client.ratings_of(address) if r.token.lower() == token.lower()]
    reviews = review_texts(o.backend(read=True), [r.review_cid for r in ratings])
    data = {
        "subject": summary.subject,
        "token": summary.token,
        "count": summary.count,
        "score_sum": summary.score_sum,
        "average": summary.average,
        "volume": str(summary.volume),
        "ratings": [rating_json(r, reviews.get(r.review_cid)) for r in ratings],
    }

    def render() -> None:
        average = f"{summary.average:.2f} / 5" if summary.average is not None else "no ratings yet"
        panel(
            f"reputation of {name_of(address)}",
            [("ratings", summary.count), ("average", average),
             ("volume", format_amount(summary.volume, summary.token))],
        )  # fmt: skip
        if ratings:
            table(
                None,
                ["trade", "by", "score", "value", "review"],
                [
                    (
                        hex_id(r.trade_id),
                        name_of(r.rater),
                        r.score,
                        format_amount(r.value, r.token, short=True),
                        reviews.get(r.review_cid, "-"),
                    )
                    for r in ratings
                ],
            )

    emit(data, render)
