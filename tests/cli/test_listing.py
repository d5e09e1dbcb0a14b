"""``p2pchain listing``: create (flags or file, images first), sign, update, close, show, mine."""

from __future__ import annotations

import json
from pathlib import Path

from p2pchain.ipfs import LocalStore

from .conftest import Market, write_photo


def _create(market: Market, *extra: str) -> str:
    result = market(
        "listing", "create", "--account", "alice", "--title", "Road bike", "--price", "0.1eth",
        "--category", "sports/bikes", "--quiet", *extra,
    )  # fmt: skip
    listing_id = result.stdout.strip()
    assert listing_id.startswith("0x") and len(listing_id) == 66, result.stdout
    return listing_id


def test_listing_create_with_image_stores_it_and_show_verifies(market: Market) -> None:
    photo = write_photo(market.cli.home)
    listing_id = _create(market, "--image", str(photo), "--condition", "like_new")
    shown = json.loads(market("listing", "show", listing_id, "--json").stdout)
    assert shown["status"] == "live"
    assert shown["terms"]["price"] == str(10**17)
    assert shown["terms"]["seller"] == market.addresses["alice"]
    document = shown["document"]
    assert document["title"] == "Road bike" and document["condition"] == "like_new"
    [image_cid] = document["images"]
    store = LocalStore(Path(market.cli.env["P2PCHAIN_DATA_DIR"]) / "ipfs")
    assert store.cat(image_cid) == photo.read_bytes()
    assert store.is_pinned(image_cid) and store.is_pinned(shown["terms"]["cid"])


def test_listing_show_human_output_has_title_and_price(market: Market) -> None:
    listing_id = _create(market)
    out = market("listing", "show", listing_id).stdout
    assert "Road bike" in out and "0.1 ETH" in out and "live" in out


def test_an_image_must_be_an_image(market: Market) -> None:
    """`--image /etc/passwd` (or any non-image) is refused before anything is stored or sent."""
    home = market.cli.home
    fake = home / "bike.jpg"
    fake.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    for path in (fake, Path("/etc/passwd")):
        line = market.fails(
            "listing", "create", "--account", "alice", "--title", "Bike", "--price", "0.1eth",
            "--category", "sports", "--condition", "good", "--image", str(path),
        )  # fmt: skip
        assert f"--image {path}: not an image (JPEG, PNG" in line
    line = market.fails(
        "listing", "create", "--account", "alice", "--title", "Bike", "--price", "0.1eth",
        "--category", "sports", "--condition", "good", "--image", str(home / "none.jpg"),
    )  # fmt: skip
    assert "none.jpg does not exist" in line


def test_listing_create_from_yaml_file_uploads_its_images(market: Market) -> None:
    home = market.cli.home
    write_photo(home, "lamp.jpg")
    (home / "lamp.yaml").write_text(
        "title: Desk lamp\ncategory: home/lighting\nkind: sale\ncondition: good\n"
        "price: 20000000gwei\nquantity: 2\ntags: [lamp, desk]\nimages: [lamp.jpg]\n",
        encoding="utf-8",
    )
    out = market(
        "listing", "create", "--account", "alice", "--file", str(home / "lamp.yaml"), "--json"
    ).stdout  # fmt: skip
    created = json.loads(out)
    assert created["listed_quantity"] == 2 and created["terms"]["price"] == str(2 * 10**16)
    assert len(created["image_cids"]) == 1
    shown = json.loads(market("listing", "show", created["id"], "--json").stdout)
    assert shown["document"]["tags"] == ["lamp", "desk"]


def test_listing_create_from_json_file_flags_override(market: Market) -> None:
    home = market.cli.home
    (home / "desk.json").write_text(
        json.dumps({"title": "Desk", "category": "home", "kind": "sale", "condition": "fair",
                    "price": "1000"}),
        encoding="utf-8",
    )  # fmt: skip
    out = market(
        "listing", "create", "--account", "alice", "--file", str(home / "desk.json"),
        "--price", "2000wei", "--json",
    ).stdout  # fmt: skip
    assert json.loads(out)["terms"]["price"] == "2000"


def test_listing_sign_writes_a_file_a_buyer_can_buy(market: Market) -> None:
    out_file = market.cli.home / "signed.json"
    market(
        "listing", "sign", "--account", "alice", "--title", "Tent", "--price", "0.01eth",
        "--category", "outdoor", "--out", str(out_file),
    )  # fmt: skip
    signed = json.loads(out_file.read_text())
    assert signed["terms"]["seller"] == market.addresses["alice"]
    shown = json.loads(market("listing", "show", str(out_file), "--json").stdout)
    assert shown["status"] == "unused" and shown["signed"] is True
    trade = json.loads(
        market("trade", "buy", str(out_file), "--account", "bob", "--yes", "--json").stdout
    )
    assert trade["state"] == "paid" and trade["seller"] == market.addresses["alice"]


def test_listing_update_price_stores_a_matching_document(market: Market) -> None:
    listing_id = _create(market)
    market("listing", "update", listing_id, "--account", "alice", "--price", "0.2eth", "--yes")
    shown = json.loads(market("listing", "show", listing_id, "--json").stdout)
    assert shown["terms"]["price"] == str(2 * 10**17)
    assert shown["document"]["price"] == str(2 * 10**17)  # verified against the terms


def test_listing_update_by_someone_else_is_refused(market: Market) -> None:
    listing_id = _create(market)
    line = market.fails("listing", "update", listing_id, "--account", "bob", "--remaining", "3")
    assert "only the seller" in line


def test_listing_close_by_someone_else_names_the_real_reason(market: Market) -> None:
    listing_id = _create(market)
    line = market.fails("listing", "close", listing_id, "--account", "bob", "--yes")
    assert f"only the seller {market.addresses['alice']} can close listing {listing_id}" in line


def test_listing_close_and_update_ask_first(market: Market) -> None:
    listing_id = _create(market)
    result = market("listing", "close", listing_id, "--account", "alice", input="n\n", ok=False)
    assert result.exit_code == 0 and "cancelled, nothing was sent" in result.stderr
    assert "cannot be reopened" in result.stderr
    result = market(
        "listing", "update", listing_id, "--account", "alice", "--remaining", "5", input="n\n",
        ok=False,
    )  # fmt: skip
    assert result.exit_code == 0 and "units on offer" in result.stderr
    shown = json.loads(market("listing", "show", listing_id, "--json").stdout)
    assert shown["status"] == "live" and shown["remaining"] == 1
    line = market.fails("listing", "close", listing_id, "--account", "alice", "--json")
    assert "--json needs --yes" in line


def test_listing_close_then_buying_fails(market: Market) -> None:
    listing_id = _create(market)
    market("listing", "close", listing_id, "--account", "alice", "--yes")
    shown = json.loads(market("listing", "show", listing_id, "--json").stdout)
    assert shown["status"] == "closed"
    line = market.fails("trade", "buy", listing_id, "--account", "bob", "--yes")
    assert "is not for sale" in line


def test_listing_mine_lists_live_listings_of_the_account(market: Market) -> None:
    first = _create(market)
    second = _create(market)
    market("listing", "close", first, "--account", "alice", "--yes")
    live = json.loads(market("listing", "mine", "--account", "alice", "--json").stdout)
    assert [x["id"] for x in live] == [second]
    everything = json.loads(
        market("listing", "mine", "--account", "alice", "--all", "--json").stdout
    )
    assert {x["id"] for x in everything} == {first, second}
    assert json.loads(market("listing", "mine", "--account", "bob", "--json").stdout) == []


def test_listing_create_without_price_names_the_flag(market: Market) -> None:
    line = market.fails(
        "listing", "create", "--account", "alice", "--title", "x", "--category", "a"
    )
    assert line == "error: a listing needs price: pass --price or a --file"


def test_listing_create_with_missing_image_fails_before_sending(market: Market) -> None:
    line = market.fails(
        "listing", "create", "--account", "alice", "--title", "x", "--category", "a",
        "--price", "1eth", "--image", str(market.cli.home / "nope.jpg"),
    )  # fmt: skip
    assert "nope.jpg does not exist" in line
    assert json.loads(market("listing", "mine", "--account", "alice", "--json").stdout) == []


def test_listing_close_a_signed_listing_cancels_its_signature(market: Market) -> None:
    out_file = market.cli.home / "signed.json"
    market(
        "listing", "sign", "--account", "alice", "--title", "Chair", "--price", "0.01eth",
        "--category", "home", "--out", str(out_file), "--quiet",
    )  # fmt: skip
    market("listing", "close", str(out_file), "--account", "alice", "--yes")
    shown = json.loads(market("listing", "show", str(out_file), "--json").stdout)
    assert shown["status"] == "closed"
    line = market.fails("trade", "buy", str(out_file), "--account", "bob", "--yes")
    assert line.startswith("error: ")


def test_listing_sign_without_out_prints_the_signed_listing(market: Market) -> None:
    out = market(
        "listing", "sign", "--account", "alice", "--title", "Rug", "--price", "0.01eth",
        "--category", "home",
    ).stdout  # fmt: skip
    signed = json.loads(out)
    assert signed["terms"]["price"] == str(10**16) and signed["signature"].startswith("0x")


def test_listing_create_rental_from_flags_records_the_period(market: Market) -> None:
    listing_id = _create(
        market, "--kind", "rental", "--deposit", "0.5eth",
        "--rental-from", "2026-12-05", "--rental-until", "2026-12-07T18:00+01:00",
    )  # fmt: skip
    shown = json.loads(market("listing", "show", listing_id, "--json").stdout)
    assert shown["terms"]["deposit"] == str(5 * 10**17)
    assert shown["document"]["kind"] == "rental"
    assert shown["document"]["rental"] == {"start": 1_796_428_800, "end": 1_796_662_800}


def test_listing_create_rental_period_flags_are_checked(market: Market) -> None:
    base = ("listing", "create", "--account", "alice", "--title", "Tent", "--price", "1eth",
            "--category", "outdoor", "--kind", "rental")  # fmt: skip
    assert market.fails(*base, "--rental-from", "2026-12-05") == (
        "error: a rental period needs both --rental-from and --rental-until"
    )
    line = market.fails(*base, "--rental-from", "soon", "--rental-until", "2026-12-07")
    assert line.startswith("error: invalid --rental-from 'soon': expected e.g. 2026-12-05")
    line = market.fails(*base, "--rental-from", "2026-12-07", "--rental-until", "2026-12-05")
    assert "end must be after start" in line
    assert json.loads(market("listing", "mine", "--account", "alice", "--json").stdout) == []


def test_a_rental_outlasting_its_review_window_is_refused(market: Market) -> None:
    """A weekend rental three weeks out with a 7-day window: bought today, the window would
    close before the car is even picked up, so the owner could never claim for damage."""
    from datetime import UTC, datetime

    now = int(market.chain.w3.eth.get_block("latest")["timestamp"])  # other tests move it on
    start = datetime.fromtimestamp(now + 21 * 86_400, UTC).strftime("%Y-%m-%d")
    end = datetime.fromtimestamp(now + 23 * 86_400, UTC).strftime("%Y-%m-%d")
    base = ("listing", "create", "--account", "alice", "--title", "Car", "--price", "0.1eth",
            "--category", "cars", "--kind", "rental", "--deposit", "1eth",
            "--rental-from", start, "--rental-until", end)  # fmt: skip
    line = market.fails(*base)
    assert "before the rental ends" in line and "pass --review-window " in line
    assert json.loads(market("listing", "mine", "--account", "alice", "--json").stdout) == []
    suggested = line.rsplit("pass --review-window ", 1)[1].strip()
    out = market(*base, "--review-window", suggested, "--quiet").stdout.strip()
    shown = market("listing", "show", out).stdout
    assert "rental" in shown and "(2d)" in shown and "from the purchase" in shown
    assert "warning" not in shown


def test_listing_create_tells_what_comparable_items_sold_for(market: Market) -> None:
    """With an index at hand, `listing create` says what items like this one sold for before
    it stores anything; without one it says nothing about prices."""
    bare = market(
        "listing", "create", "--account", "alice", "--title", "Bike", "--price", "0.3eth",
        "--category", "sports/bikes", "--quiet",
    )  # fmt: skip
    assert "price hint" not in bare.stderr  # no index yet
    for price in ("0.2eth", "0.4eth", "0.5eth", "0.6eth", "0.9eth"):
        listing = market(
            "listing", "create", "--account", "alice", "--title", "Bike", "--price", price,
            "--category", "sports/bikes", "--quiet",
        ).stdout.strip()  # fmt: skip
        trade = market("trade", "buy", listing, "--account", "bob", "--yes", "--quiet").stdout
        market("trade", "release", trade.strip(), "--account", "bob", "--yes")
    db = f"sqlite:///{market.cli.home}/index.sqlite"
    market("index", "sync", "--db", db)
    market.cli.env["P2PCHAIN_INDEX_DB"] = db
    told = market(
        "listing", "create", "--account", "alice", "--title", "Bike", "--price", "0.5eth",
        "--category", "sports/bikes", "--quiet",
    )  # fmt: skip
    line = " ".join(told.stderr.split())
    assert "note: price hint: sports/bikes (sale, good): sold for 0.5 ETH (median)" in line, line
    assert "between 0.4 ETH and 0.6 ETH" in line and "1 on offer now" in line, line  # the first
    assert told.stdout.strip().startswith("0x")  # stdout still holds only the id
