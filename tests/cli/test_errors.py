"""A new user's mistakes: each gives one ``error:`` line (with what to do), exit 1, no traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from p2pchain.chain._deploy import DeploymentsFile
from p2pchain.chain._nodes import free_port

from .conftest import Cli, Market

UNKNOWN_ID = "0x" + "ab" * 32


def test_error_wrong_passphrase(market: Market, tmp_path: os.PathLike[str]) -> None:
    env = {**market.cli.env, "P2PCHAIN_PASSPHRASE": "guess"}
    line = Cli(env=env, home=market.cli.home).fails(
        "listing", "create", "--account", "alice", "--title", "x", "--price", "1eth",
        "--category", "a", "--network", market.url,
    )  # fmt: skip
    assert line.startswith("error: wrong passphrase for keystore 'alice'")
    assert "P2PCHAIN_PASSPHRASE" in line


def test_error_unknown_listing_and_trade(market: Market) -> None:
    assert market.fails("listing", "show", UNKNOWN_ID) == (
        f"error: no listing {UNKNOWN_ID} on this marketplace"
        " (hint: check the id and --network; `p2pchain listing mine` lists yours)"
    )
    assert market.fails("trade", "show", UNKNOWN_ID) == (
        f"error: no trade {UNKNOWN_ID} on this marketplace"
        " (hint: check the id and --network; `p2pchain trade mine` lists yours)"
    )
    assert "p2pchain wallet list" in market.fails("trade", "mine", "--account", "zed")
    assert market.fails("trade", "buy", UNKNOWN_ID, "--account", "bob", "--yes").startswith(
        "error: no listing"
    )


def test_error_insufficient_funds(market: Market) -> None:
    listing_id = market(
        "listing", "create", "--account", "alice", "--title", "Car", "--price", "500eth",
        "--category", "vehicles", "--quiet",
    ).stdout.strip()  # fmt: skip
    line = market.fails("trade", "buy", listing_id, "--account", "bob", "--yes")
    assert "insufficient funds" in line and "p2pchain node fund" in line


def test_error_node_not_running(cli: Cli) -> None:
    line = cli.fails("trade", "show", UNKNOWN_ID)
    assert "p2pchain node start" in line
    url = f"http://127.0.0.1:{free_port()}"
    line = cli.fails("deploy", "--network", url)
    assert line.startswith(f"error: cannot reach the node at {url}") and "node start" in line


def test_error_malformed_listing_files(market: Market) -> None:
    home = market.cli.home
    cases = {
        "broken.json": ('{"title": "x",', "is not valid JSON"),
        "broken.yaml": ("title: [x\n", "is not valid YAML"),
        "list.json": ("[1, 2]", "must hold an object"),
        "extra.json": (
            json.dumps(
                {
                    "title": "x",
                    "price": "1",
                    "category": "a",
                    "kind": "sale",
                    "condition": "good",
                    "colour": "red",
                }
            ),
            "colour",
        ),
    }
    for name, (text, expected) in cases.items():
        (home / name).write_text(text)
        line = market.fails("listing", "create", "--account", "alice", "--file", str(home / name))
        assert expected in line, (name, line)
    line = market.fails(
        "listing", "create", "--account", "alice", "--file", str(home / "missing.yaml")
    )
    assert "does not exist" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("node", "fund", "bob", "--amount", "-1eth"), "invalid amount '-1eth'"),
        (("node", "fund", "bob", "--amount", "0.0000000000000000001eth"), "finer than one"),
        (("trade", "release", "0x1234", "--account", "bob", "--yes"), "a trade id must be 32 bytes"),
        (("trade", "show", UNKNOWN_ID, "--network", "mainnet-ish"), "unknown network"),
        (("trade", "show", UNKNOWN_ID, "--network", "http://"), "invalid network URL"),
        (("trade", "show", UNKNOWN_ID, "--network", "embedded"), "node start"),
        (("listing", "create", "--title", "x", "--price", "1eth", "--category", "a"),
         "no account"),
        (("trade", "buy", "not-a-file", "--account", "bob", "--yes"), "neither a listing id"),
        (("reputation", "0x1234"), "invalid address"),
        (("trade", "mine", "--account", "bob", "--role", "judge"), "invalid role"),
    ],
)  # fmt: skip
def test_error_bad_input_is_one_line(cli: Cli, args: tuple[str, ...], expected: str) -> None:
    assert expected in cli.fails(*args)


def test_usage_errors_exit_2(cli: Cli) -> None:
    result = cli("trade", "buy", "--no-such-flag", ok=False)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_error_from_the_installed_entry_point(cli: Cli) -> None:
    result = cli.run("trade", "show", UNKNOWN_ID)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: no local node")


def test_error_when_the_recorded_contracts_are_gone_says_to_deploy(market: Market) -> None:
    deployment = DeploymentsFile(Path(market.cli.env["P2PCHAIN_DEPLOYMENTS"])).get(31337)
    assert deployment is not None
    snapshot = market.chain.snapshot()
    try:
        market.chain.rpc("anvil_setCode", [deployment.marketplace, "0x"])
        line = market.fails("trade", "show", UNKNOWN_ID)
    finally:
        market.chain.revert(snapshot)
    assert "run `p2pchain deploy`" in line and "scripts/deploy.py" not in line
