"""A rental booked by date on the page, in Chromium with the injected wallet against Anvil: the
month calendar read from the contract (booked days marked in words and with a sign, not by colour
alone), the booking form's quote (periods, rent, deposit, total) before the wallet opens, a
booking made, the calendar updated, overlapping dates refused before any wallet, screenshots at
desktop width and 375 px, and axe-core."""

from __future__ import annotations

from datetime import UTC, datetime

from api._browser import Pages, PageWallet, assert_accessible, click, screenshot, shows, wait_done
from api.conftest import ApiWorld, document, png
from p2pchain.chain._booking_model import BookingState
from p2pchain.market._bookings import DAY, HOUR
from p2pchain.market._rental_listings import publish_rental

RATE = 5 * 10**16


def _month_name(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%B %Y")


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def test_book_a_weekend_on_the_page(page_world: ApiWorld, pages: Pages) -> None:
    world, market = page_world, page_world.market
    now = int(market.chain.w3.eth.get_block("latest")["timestamp"])
    first = (now // DAY + 2) * DAY + 10 * HOUR
    doc = document(
        market,
        title="Red hatchback, 5 seats",
        description="Clean, full tank, child seat on request.",
        category="vehicles/cars",
        kind="rental",
        price=str(RATE),
        deposit=str(4 * RATE),
        rental={"start": first, "end": first + 120 * DAY},
        delivery=[{"method": "pickup", "note": "Main St 5, 10:00-18:00"}],
    )
    car = publish_rental(market.seller, world.store, doc, [png()], max_units=14).listing
    car_id = "0x" + car.id.hex()
    market.stranger.rentals.book(car.id, 3, 2)  # days 3 and 4 taken already
    world.sync()

    page = pages.open(PageWallet(world, market.buyer_account), f"/#/listing/{car_id}")
    shows(page, '[data-testid="rental-calendar"] .day')
    assert page.inner_text('[data-testid="rental-price"]').startswith("0.05 ETH / day")
    target = _day(first + 3 * DAY)
    if _month_name(first + 3 * DAY) not in page.inner_text('[data-testid="calendar-month"]'):
        page.click('[data-testid="calendar-next"]')  # the taken days are in the next month
    shows(page, f'.day[data-date="{target}"]')
    booked = page.eval_on_selector_all(
        '[data-testid="rental-calendar"] .day.booked', "els => els.map(e => e.dataset.date)"
    )
    assert target in booked
    label = page.get_attribute(f'.day[data-date="{target}"]', "aria-label")
    assert label is not None and label.endswith(": booked")

    # the quote before any wallet: 2 days, rent 0.1, deposit 0.2, total 0.3
    page.fill('[data-testid="book-from"]', _day(first + 10 * DAY))
    page.dispatch_event('[data-testid="book-from"]', "change")
    page.fill('[data-testid="book-until"]', _day(first + 12 * DAY))
    page.dispatch_event('[data-testid="book-until"]', "change")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=quote-total]')?.textContent.includes('0.3 ETH')"
    )
    assert "2 × 0.05 ETH = 0.1 ETH" in page.inner_text('[data-testid="quote-rent"]')
    screenshot(page, "11-rental")
    assert_accessible(page, "rental")
    click(page, '[data-testid="book"]')
    shows(page, '[data-testid="book-confirm"][open]')
    assert "0.3 ETH" in page.inner_text('[data-testid="confirm-total"]')
    screenshot(page, "12-rental-confirm")
    page.click('[data-testid="book-confirm-button"]')
    wait_done(page)
    (booking,) = [
        b
        for b in market.seller.rentals.bookings(car.id)
        if b.booking.renter == market.buyer_account.address
    ]
    assert booking.state is BookingState.BOOKED and booking.booking.rent == 2 * RATE
    assert booking.booking.start == first + 10 * DAY

    # the same dates again: refused on the page, the button disabled, no wallet opened
    page.fill('[data-testid="book-from"]', _day(first + 11 * DAY))
    page.dispatch_event('[data-testid="book-from"]', "change")
    shows(page, '[data-testid="quote-problem"]')
    assert "already booked" in page.inner_text('[data-testid="quote-problem"]')
    assert page.is_disabled('[data-testid="book"]')
    assert page.external_requests == [] and page.js_errors == []  # type: ignore[attr-defined]


def test_my_bookings_renter_cancels_owner_confirms_the_return(
    page_world: ApiWorld, pages: Pages
) -> None:
    """The "My trades" screen lists bookings with the moves open to each party now."""
    world, market = page_world, page_world.market
    now = int(market.chain.w3.eth.get_block("latest")["timestamp"])
    first = (now // DAY + 2) * DAY + 10 * HOUR
    doc = document(market, title="Cargo bike", category="vehicles/bikes", kind="rental",
                   price=str(RATE), deposit=str(2 * RATE),
                   rental={"start": first, "end": first + 60 * DAY})  # fmt: skip
    bike = publish_rental(market.seller, world.store, doc, max_units=7).listing
    cancel_me = market.buyer.rentals.book(bike.id, 10, 2)
    keep = market.buyer.rentals.book(bike.id, 3, 1)
    world.sync()

    renter = pages.open(PageWallet(world, market.buyer_account), "/#/trades")
    cid = "0x" + cancel_me.id.hex()
    shows(renter, f'[data-testid="booking-row"][data-id="{cid}"]')
    screenshot(renter, "13-my-bookings")
    assert_accessible(renter, "my bookings")
    renter.click(f'[data-testid="booking-cancel-{cid}"]')  # asks once more, says what happens
    assert "cancellation policy" in renter.inner_text(
        f'[data-testid="booking-row"][data-id="{cid}"]'
    )
    click(renter, f'[data-testid="booking-cancel-confirm-{cid}"]')
    wait_done(renter)
    assert market.seller.rentals.booking(cancel_me.id).state is BookingState.NONE

    market.chain.set_next_timestamp(keep.booking.start + HOUR)
    market.chain.mine(1)
    owner = pages.open(PageWallet(world, market.seller_account), "/#/trades")
    kid = "0x" + keep.id.hex()
    shows(owner, f'[data-testid="booking-return-{kid}"]')
    assert owner.locator(f'[data-testid="booking-pickup-{kid}"]').count() == 0  # the renter's move
    click(owner, f'[data-testid="booking-return-{kid}"]')
    wait_done(owner)
    assert market.seller.rentals.booking(keep.id).state is BookingState.COMPLETED
    shows(owner, f'[data-testid="booking-rate-{kid}"]')  # now both can rate
