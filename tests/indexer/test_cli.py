"""``p2pchain index sync|search|trust`` through typer's CliRunner, against Anvil."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _market import ONE, make_market
from typer.testing import CliRunner

from indexer.conftest import publish
from p2pchain.chain._deploy import DeploymentsFile
from p2pchain.chain._nodes import AnvilChain
from p2pchain.cli import app
from p2pchain.indexer import IndexReader
from p2pchain.ipfs import LocalStore


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _synced(chain: AnvilChain, tmp_path: Path, market: Any) -> tuple[str, dict[str, str]]:
    """Record the deployment and build the index with `p2pchain index sync`: (db URL, env)."""
    chain.mine(2)
    deployments = tmp_path / "deployments.json"
    DeploymentsFile(deployments).save(market.seller.deployment)
    env = {"P2PCHAIN_DEPLOYMENTS": str(deployments)}
    db = f"sqlite:///{tmp_path}/index.sqlite"
    code, _, err = _run(
        "index", "sync", "--network", chain.url, "--db", db,
        "--ipfs", str(tmp_path / "ipfs"), env=env,
    )  # fmt: skip
    assert code == 0, err
    return db, env


def test_sync_search_and_trust(anvil_chain: AnvilChain, tmp_path: Path) -> None:
    market = make_market(anvil_chain)
    ipfs = LocalStore(tmp_path / "ipfs")
    listing = publish(market, ipfs, title="Vintage typewriter", category="office/typewriters")
    trade = market.buyer.release(market.buyer.buy(listing))
    market.buyer.rate(trade, 5)
    anvil_chain.mine(2)
    deployments = tmp_path / "deployments.json"
    DeploymentsFile(deployments).save(market.seller.deployment)
    env = {"P2PCHAIN_DEPLOYMENTS": str(deployments)}
    db = f"sqlite:///{tmp_path}/index.sqlite"

    code, out, err = _run(
        "index", "sync", "--network", anvil_chain.url, "--db", db,
        "--ipfs", str(tmp_path / "ipfs"), "--json", env=env,
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["listings"] == 1 and report["ratings"] == 1 and report["documents_fetched"] == 1

    code, out, err = _run("index", "search", "typewriters", "--db", db, "--all", "--json")
    assert code == 0, err
    page = json.loads(out)
    assert page["total"] == 1
    item = page["items"][0]
    assert item["listing_id"] == "0x" + listing.id.hex()
    assert item["price"] == str(ONE) and item["title"] == "Vintage typewriter"

    code, out, _ = _run("index", "search", "typewriters", "--db", db)  # sold: not available
    assert code == 0 and out.startswith("0 listing(s)")

    # prices in human units, both ways
    code, out, err = _run("index", "search", "--db", db, "--all", "--max-price", "1eth")
    assert code == 0 and "1 ETH  Vintage typewriter" in out, out + err
    code, out, _ = _run("index", "search", "--db", db, "--all", "--max-price", "0.5eth")
    assert code == 0 and out.startswith("0 listing(s)")

    code, out, err = _run("index", "trust", market.seller.address.lower(), "--db", db, "--json")
    assert code == 0, err
    view = json.loads(out)
    assert view["address"] == market.seller.address
    assert view["rating_count"] == 1 and view["score"] > 0 and view["volume"] == {"ETH": str(ONE)}

    code, out, _ = _run("index", "trust", market.seller.address, "--db", db)
    assert code == 0 and "1 rating(s)" in out


def test_search_shows_and_takes_erc20_prices_in_the_token_s_units(
    anvil_chain: AnvilChain, tmp_path: Path
) -> None:
    """An ERC-20 listing's price reads "25 TUSD" (symbol and decimals read from the token on the
    node), and `--max-price 30TUSD --token ADDRESS` means 30 of its units."""
    market = make_market(anvil_chain)
    token = market.deploy_token("TestERC20", "Test dollar", "TUSD")
    decimals = token.functions.decimals().call()
    ipfs = LocalStore(tmp_path / "ipfs")
    publish(market, ipfs, title="Lens", token=token.address, price=str(25 * 10**decimals))
    db, env = _synced(anvil_chain, tmp_path, market)
    network = ("--network", anvil_chain.url)
    search = ("index", "search", "--db", db, "--token", token.address, *network)
    code, out, err = _run(*search, "--max-price", "30TUSD", env=env)
    assert code == 0 and "25 TUSD  Lens" in out, out + err
    code, out, err = _run(*search, "--max-price", "20TUSD", env=env)
    assert code == 0 and out.startswith("0 listing(s)"), out + err
    code, _, err = _run(*search, "--max-price", "1eth", env=env)
    assert code == 1 and "paid in TUSD" in err, err


def test_hint_prints_what_comparable_items_sold_for(
    anvil_chain: AnvilChain, tmp_path: Path
) -> None:
    market = make_market(anvil_chain)
    ipfs = LocalStore(tmp_path / "ipfs")
    for tenths in (2, 4, 5, 6, 9):
        listing = publish(market, ipfs, title="Bike", price=str(tenths * ONE // 10))
        market.buyer.release(market.buyer.buy(listing))
    publish(market, ipfs, title="Bike on offer")
    db, _ = _synced(anvil_chain, tmp_path, market)
    code, out, err = _run("index", "hint", "--category", "sports/bikes", "--condition", "good",
                          "--db", db)  # fmt: skip
    assert code == 0, err
    assert "sold for 0.5 ETH (median)" in out and "between 0.4 ETH and 0.6 ETH" in out, out
    assert "1 on offer now" in out
    code, out, err = _run("index", "hint", "--category", "sports/skis", "--db", db, "--json")
    assert code == 0 and json.loads(out)["enough"] is False and json.loads(out)["median"] is None
    code, out, err = _run("index", "hint", "--category", "sports/bikes", "--kind", "auction",
                          "--db", db)  # fmt: skip
    assert code == 1 and err.startswith("error: ") and "kind" in err and "Traceback" not in err, err


def test_search_near_a_point_nearest_first(anvil_chain: AnvilChain, tmp_path: Path) -> None:
    market = make_market(anvil_chain)
    ipfs = LocalStore(tmp_path / "ipfs")
    for title, lat, lon in (("Potsdam bike", 52.3906, 13.0645), ("Mitte bike", 52.5200, 13.4050)):
        publish(market, ipfs, title=title, location={"text": title, "lat": lat, "lon": lon})
    db, _ = _synced(anvil_chain, tmp_path, market)
    near = ("index", "search", "--db", db, "--near", "52.52,13.405")
    code, out, err = _run(*near, "--within", "50km", "--sort", "distance")
    assert code == 0, err
    lines = out.splitlines()[1:]
    assert "Mitte bike  0.0 km" in lines[0] and "Potsdam bike  27.2 km" in lines[1], out
    code, out, _ = _run(*near, "--within", "800m")
    assert code == 0 and out.startswith("1 listing(s)") and "Mitte bike" in out, out
    code, _, err = _run("index", "search", "--db", db, "--near", "north")
    assert code == 1 and "invalid --near 'north'" in err, err
    code, _, err = _run("index", "search", "--db", db, "--sort", "distance")
    assert code == 1 and err.startswith("error: ") and "near_lat" in err, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "sync", "--network", "ftp://x", "--db", "x.sqlite"], "invalid network URL"),
        (["index", "sync", "--rpc", "ftp://example", "--db", "x.sqlite"], "invalid network URL"),
        (["index", "sync", "--network", "nowhere", "--db", "x.sqlite"], "unknown network"),
        (["index", "sync", "--network", "local", "--db", "x.sqlite"], "no local node is running"),
        (
            ["index", "sync", "--ipfs", "/no/such/dir", "--network", "http://127.0.0.1:1"],
            "not 'local', a Kubo RPC URL",
        ),
        (["index", "search", "--db", "{missing}"], "no index at"),
        (["index", "trust", "alice", "--db", "{db}"], "no keystore"),
        (["index", "search", "--db", "{db}", "--max-price", "0.2ethers"], "unknown unit"),
        (["index", "search", "--db", "mysql://h/db"], "unsupported database URL scheme"),
        (["index", "search", "--db", "{db}", "--sort", "cheapest"], "search query: sort"),
        (["index", "search", "--db", "{db}", "--min-price", "1.5"], "finer than one base unit"),
        (["index", "trust", "0x12", "--db", "{db}"], "'0x12' is not a 0x-prefixed 20-byte address"),
        (["index", "sync", "--rpc", "http://127.0.0.1:1", "--db", "{db}"], "cannot reach"),
    ],
)
def test_bad_input_fails_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    db = f"sqlite:///{tmp_path}/index.sqlite"
    IndexReader(db).close()  # an empty index (the reader creates the schema)
    missing = f"sqlite:///{tmp_path}/missing.sqlite"
    env = {"P2PCHAIN_DATA_DIR": str(tmp_path / "data"), "P2PCHAIN_CONFIG": str(tmp_path / "c.toml")}
    args = [a.replace("{db}", db).replace("{missing}", missing) for a in args]
    code, out, err = _run(*args, env=env)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
