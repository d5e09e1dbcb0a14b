"""The demo (``make demo``, ``p2pchain demo``): the whole story on real chains, checked on-chain."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from rich.console import Console

from p2pchain import MarketplaceClient, TradeState
from p2pchain.chain._booking_model import BookingState
from p2pchain.chain._nodes import DevChain, EmbeddedChain
from p2pchain.demo._story import (
    CAR_DEPOSIT,
    CAR_FEE_BPS,
    CAR_RENT,
    HELMET_BUYER_SHARE,
    HELMET_FEE_BPS,
    HELMET_PRICE,
    OTHER_FARES,
    RIDE_PRICE,
    DemoResult,
    car_photo,
    run_demo,
)
from p2pchain.ipfs import CID, LocalStore
from p2pchain.market._listings import parse_listing_document
from p2pchain.market._validation import InputError

ETHER = 10**18


def _quiet() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, highlight=False, color_system=None), out


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Parse a PNG (signature, chunk CRCs, IHDR, IDAT): width, height, raw scanlines."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == crc, tag
        chunks[tag] = body
        pos += 12 + length
    assert set(chunks) == {b"IHDR", b"IDAT", b"IEND"}
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color) == (8, 2)  # 8-bit RGB
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_car_photo_is_a_well_formed_png() -> None:
    width, height, raw = _png_pixels(car_photo(40, 20))
    assert (width, height) == (40, 20)
    assert len(raw) == height * (1 + 3 * width)
    assert len({raw[i : i + 3] for i in range(1, len(raw), 3)}) >= 4  # sky, body, wheels, road


def test_run_demo_refuses_an_unknown_network() -> None:
    with pytest.raises(InputError, match="unknown network 'mainnet'"):
        run_demo("mainnet", _quiet()[0])


@pytest.fixture(params=["embedded", "anvil"])
def demo_chain(request: pytest.FixtureRequest) -> DevChain:
    """A fresh embedded chain, or the session's Anvil node."""
    if request.param == "embedded":
        chain = EmbeddedChain()
        request.addfinalizer(chain.stop)
        return chain
    anvil: DevChain = request.getfixturevalue("anvil_chain")
    return anvil


def _check_balances(result: DemoResult, client: MarketplaceClient) -> None:
    fee = HELMET_PRICE * HELMET_FEE_BPS // 10_000
    moved = {
        "seller": CAR_RENT + HELMET_PRICE - fee - HELMET_BUYER_SHARE + RIDE_PRICE,
        "buyer": -CAR_RENT - HELMET_PRICE + HELMET_BUYER_SHARE - RIDE_PRICE,
        "arbitrator": fee,
        "neighbour": -(CAR_RENT + CAR_DEPOSIT),  # the next weekend, still held in escrow
    }
    for role, amount in moved.items():
        party = result.party(role)
        assert client.balance(party.address) == party.balance_after
        assert party.balance_after - party.balance_before + party.fees_paid == amount, role
        assert party.payout == party.expected_payout == amount
    assert client.balance(client.deployment.marketplace) == 0  # every escrowed wei paid out
    # the bookings escrow holds exactly the neighbour's booking
    assert client.balance(client.deployment.bookings) == CAR_RENT + CAR_DEPOSIT
    assert all(client.credit(p.address) == 0 for p in result.parties)


def _check_gas(result: DemoResult, chain: DevChain) -> None:
    sent = [s for s in result.steps if s.tx_hash is not None]
    assert len(sent) == 19 and len({s.tx_hash for s in sent}) == 19
    addresses = {p.role: p.address for p in result.parties}
    addresses["deployer"] = result.deployment.deployer
    for step in sent:
        receipt = chain.w3.eth.get_transaction_receipt(step.tx_hash)  # type: ignore[arg-type]
        assert receipt["status"] == 1
        assert receipt["from"] == addresses[step.actor], step.action
        assert step.gas_used == receipt["gasUsed"]
        assert step.fee == receipt["gasUsed"] * receipt["effectiveGasPrice"]
    for party in result.parties:
        assert party.fees_paid == sum(s.fee for s in sent if s.actor == party.role)
    assert result.total_gas == sum(s.gas_used or 0 for s in sent if s.section != "setup")
    assert [s.action for s in sent if s.section == "setup"][1:] == [
        "deploys TUSD, a test stablecoin (EIP-2612)",
        "mints 100 TUSD to the buyer",
    ]


def test_demo_final_state_on_chain(demo_chain: DevChain, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "ipfs")
    console, out = _quiet()
    result = run_demo(console=console, chain=demo_chain, ipfs=store)
    client = MarketplaceClient.connect(demo_chain, deployments=result.deployment)
    seller, buyer, arbitrator = (result.party(r).address for r in ("seller", "buyer", "arbitrator"))

    weekend = client.rentals.booking(result.booking("weekend").booking_id)
    b = weekend.booking
    assert b.state == BookingState.COMPLETED
    assert (b.owner, b.renter, b.arbitrator) == (seller, buyer, arbitrator)
    assert (b.rent, b.deposit, b.arbitrator_fee_bps) == (CAR_RENT, CAR_DEPOSIT, CAR_FEE_BPS)
    assert b.end - b.start == 2 * 86_400
    assert [h[0] for h in weekend.history] == ["Booked", "PickedUp", "Returned"]
    neighbour = result.party("neighbour").address
    later = client.rentals.booking(result.booking("next weekend").booking_id).booking
    assert later.state == BookingState.BOOKED and later.renter == neighbour
    assert later.start == b.start + 7 * 86_400  # the next weekend, after the refusal
    assert "already booked" in result.refused
    assert [(r.rater, r.score, r.value) for r in client.ratings_of(seller)] == [
        (buyer, 5, CAR_RENT)
    ]
    assert [(r.rater, r.score) for r in client.ratings_of(buyer)] == [(seller, 4)]
    assert client.ratings_of(arbitrator) == []
    assert (result.party("seller").ratings, result.party("seller").average) == (1, 5.0)
    assert (result.party("buyer").ratings, result.party("buyer").average) == (1, 4.0)

    helmet = client.trade(result.trade("helmet").trade_id)
    assert helmet.state == TradeState.RULED
    assert client.listing(helmet.listing_id).signed
    (ruled,) = [e for e in helmet.history if e.name == "Ruled"]
    assert ruled.args["buyerShare"] == HELMET_BUYER_SHARE
    assert ruled.args["fee"] == HELMET_PRICE * HELMET_FEE_BPS // 10_000
    assert [e.name for e in helmet.history] == ["Purchased", "Disputed", "Ruled"]

    _check_balances(result, client)
    _check_gas(result, demo_chain)

    # The offer scene: 10% below the asking price in TUSD, with a permit, accepted and released.
    offer = result.offer
    assert offer is not None and offer.permit and offer.state == "COMPLETED"
    assert (offer.asking, offer.offered) == (40 * 10**6, 36 * 10**6)
    assert client.balance(client.deployment.marketplace, offer.token) == 0
    assert (offer.seller_received, offer.buyer_left) == (36 * 10**6, 64 * 10**6)
    # The ride: the index matched the request to the driver's listing and back; fare released.
    assert result.ride_matches == (1, 1)
    ride = client.trade(result.trade("ride").trade_id)
    assert ride.state.name == "COMPLETED" and ride.trade.amount == RIDE_PRICE
    assert "a ride request matched to a driver's listing" in " ".join(out.getvalue().split())
    # The price hint: the buyer's ride and five others sold (0.0030 to 0.0045 ETH), one on offer.
    hint = result.price_hint
    assert hint is not None and hint.enough and hint.trades == 6 and hint.live == 1
    fares = sorted((*OTHER_FARES, RIDE_PRICE))
    assert hint.median == (fares[2] + fares[3]) // 2 == 3_650_000_000_000_000
    assert (hint.low, hint.high) == (3_275_000_000_000_000, 3_950_000_000_000_000)
    assert "median 0.00365 ETH over 6 sales" in " ".join(out.getvalue().split())
    lock_trade = client.trade(offer.offer_id)  # rebuilt from OfferAccepted
    assert lock_trade.trade.amount == offer.offered and lock_trade.state.name == "COMPLETED"
    assert [e.name for e in lock_trade.history] == ["OfferAccepted", "Released"]

    # The car's document and photo are on IPFS under the CIDs the terms anchor.
    summary = result.booking("weekend")
    anchored = client.rentals.listing(b.listing_id).terms.cid
    assert CID.parse(anchored) == CID.parse(summary.document_cid)
    document = parse_listing_document(store.cat(summary.document_cid))
    assert document.kind == "rental" and document.images == list(summary.image_cids)
    width, height, _ = _png_pixels(store.cat(summary.image_cids[0]))
    assert (width, height) == (48, 24)

    text = out.getvalue()
    for step in result.steps:  # every step printed, with its hash and gas
        assert step.action in text
        if step.tx_hash is not None:
            assert step.tx_hash in text and f"{step.gas_used:,}" in text
    assert "every balance moved exactly as the terms say" in text
    assert result.found_via == "indexer search"  # the buyer found the car by searching
    assert "1 match" in text and "car found by indexer search" in text
    assert "refused, nothing sent" in text and "an overlapping booking refused" in text
    assert f"{result.total_gas:,}" in text

    # The conversation: a child-seat question and answer on the car; the helmet thread shared
    # with the arbitrator, who read both authors checked before ruling.
    car_topic, helmet_topic = summary.listing_id, result.trade("helmet").trade_id
    assert [(role, topic) for role, topic, _ in result.conversation] == [
        ("buyer", car_topic),
        ("seller", car_topic),
        ("buyer", helmet_topic),
        ("seller", helmet_topic),
    ]
    assert "child seat" in result.conversation[0][2] and "child seat" in result.conversation[1][2]
    assert "[buyer] Hi! Does the car have a child seat?" in text
    assert "reads the thread: 2/2 authors checked" in text
    assert text.index("reads the thread") < text.index("rules: ")
    assert document.messaging is not None and document.schema_version == 2


@pytest.mark.parametrize("network", ["anvil", "ganache"])
def test_demo_starts_and_stops_its_node(network: str) -> None:
    console, out = _quiet()
    result = run_demo(network, console)
    assert result.network == network
    assert result.node_pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(result.node_pid, 0)  # stopped and reaped
    assert all(p.payout == p.expected_payout for p in result.parties)
    assert result.booking("weekend").state == "COMPLETED"
    assert result.trade("helmet").state == "RULED"
    assert f"{network} chain" in out.getvalue()


def test_demo_script_runs_like_make_demo(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=repo_root,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "every balance moved exactly as the terms say" in result.stdout
    assert "Does the car have a child seat?" in result.stdout  # make demo tells the conversation
    assert "Traceback" not in result.stdout + result.stderr
