"""Bookings through the HTTP API over a real socket: a rental's terms, calendar and quote read
from the chain, a booking prepared for a wallet and signed as one, an overlapping booking refused
with 409 and the contract's error before the wallet opens, and the return."""

from __future__ import annotations

from typing import Any

import requests

from api.conftest import ApiWorld, get_json
from frontend_api.server import ApiServer
from p2pchain.chain._booking_model import BookingState

DAY = 86_400
RATE = 5 * 10**16


def _post(url: str, body: dict[str, Any]) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.post(url, json=body, timeout=30)


def _get(url: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(url, timeout=30)


def _car(world: ApiWorld) -> tuple[str, int]:
    m = world.market
    now = int(m.chain.w3.eth.get_block("latest")["timestamp"])
    first = (now // DAY + 2) * DAY + 10 * 3_600
    rentals = m.seller.rentals
    terms = rentals.make_terms(
        rate=RATE,
        unit=DAY,
        cid=world.bike.document_cid,
        first_start=first,
        last_end=first + 60 * DAY,
        deposit=2 * RATE,
        max_units=14,
    )
    return "0x" + rentals.create(terms).id.hex(), first


def _sign_and_send(world: ApiWorld, account: Any, prepared: dict[str, Any], url: str) -> None:
    for tx in prepared["transactions"]:
        raw = world.sign(account, tx)
        answer = _post(f"{url}/api/tx/submit", {"raw": raw})
        assert answer.status_code == 200, answer.text
        world.market.seller.w3.eth.wait_for_transaction_receipt(answer.json()["tx_hash"])


def test_book_through_the_api_over_http(world: ApiWorld) -> None:
    car, first = _car(world)
    renter = world.market.buyer_account
    with ApiServer(world.app) as server:
        url = server.url
        rental = get_json(f"{url}/api/rentals/{car}")
        assert rental["terms"]["rate"] == str(RATE) and rental["terms"]["rate_per_day"] == str(RATE)
        start, end = first + 5 * DAY, first + 7 * DAY
        quote = get_json(f"{url}/api/rentals/{car}/quote?start={start}&end={end}")
        assert (quote["periods"], quote["total"], quote["available"]) == (2, str(4 * RATE), True)
        body = {
            "sender": renter.address,
            "listing_id": car,
            "first_period": quote["first_period"],
            "periods": 2,
            "rate": str(RATE),
            "deposit": str(2 * RATE),
        }
        prepared = _post(f"{url}/api/tx/book", body).json()
        (tx,) = prepared["transactions"]
        assert int(tx["value"], 16) == 4 * RATE
        assert tx["to"] == world.market.seller.deployment.bookings
        _sign_and_send(world, renter, prepared, url)

        cal = get_json(
            f"{url}/api/rentals/{car}/calendar?from_time={first}&to_time={first + 30 * DAY}"
        )
        assert cal["taken"] == [[start, end]]
        quote = get_json(f"{url}/api/rentals/{car}/quote?start={start + DAY}&end={end + DAY}")
        assert quote["available"] is False and "already booked" in quote["problem"]

        # another renter, overlapping: 409 with the contract's error, before any wallet
        other = world.market.stranger_account
        refused = _post(f"{url}/api/tx/book", {**body, "sender": other.address,
                                                "first_period": quote["first_period"]})  # fmt: skip
        assert refused.status_code == 409, refused.text
        assert "Unavailable" in refused.text or "already booked" in refused.text
        # shown terms that changed since: 409 too
        stale = _post(f"{url}/api/tx/book", {**body, "sender": other.address, "rate": "1"})
        assert stale.status_code == 409 and "TermsChanged" in stale.text
        bad = _post(f"{url}/api/tx/book", {**body, "periods": 0})
        assert bad.status_code == 422

        # search by date: the car is not free that weekend, free the one after
        world.sync()
        taken = get_json(f"{url}/api/listings?available_from={start}&available_to={end}")
        assert car not in [i["listing_id"] for i in taken["items"]]
        later = f"available_from={start + 7 * DAY}&available_to={end + 7 * DAY}"
        free = get_json(f"{url}/api/listings?{later}&max_rate_per_day={RATE}")
        assert [i["listing_id"] for i in free["items"]] == [car]
        assert free["items"][0]["rate_per_day"] == str(RATE)
        half = _get(f"{url}/api/listings?available_from={start}")
        assert half.status_code == 422 and "go together" in half.text

        (booking,) = get_json(f"{url}/api/rentals/{car}/bookings")
        assert booking["state"] == "booked" and booking["renter"] == renter.address
        mine = get_json(f"{url}/api/accounts/{renter.address}/bookings")
        (item,) = mine["items"]  # the index lists it; the chain's events and record build it
        assert item["booking_id"] == booking["booking_id"] and item["role"] == "renter"
        assert {k: item[k] for k in booking} == booking
        world.chain.set_next_timestamp(start)
        world.chain.mine(1)
        action = {
            "sender": world.market.seller_account.address,
            "booking_id": booking["booking_id"],
        }
        prepared = _post(f"{url}/api/tx/booking/return", action).json()
        _sign_and_send(world, world.market.seller_account, prepared, url)
        done = get_json(f"{url}/api/bookings/{booking['booking_id']}")
        assert done["state"] == BookingState.COMPLETED.name.lower()
        assert done["history"] == ["Booked", "Returned"]
        wrong = _post(f"{url}/api/tx/booking/cancel", {**action, "sender": other.address})
        assert wrong.status_code == 409
