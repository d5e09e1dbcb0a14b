"""``p2pchain config``: the config file (TOML or JSON) and the defaults it gives commands."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from .conftest import Cli, Market


def test_config_set_show_unset_round_trip(cli: Cli) -> None:
    path = Path(cli("config", "path").stdout.strip())
    assert path == Path(cli.env["P2PCHAIN_CONFIG"])
    cli("config", "set", "account", "alice")
    cli("config", "set", "networks.staging", "http://127.0.0.1:8545")
    stored = tomllib.loads(path.read_text())
    assert stored == {"account": "alice", "networks": {"staging": "http://127.0.0.1:8545"}}
    shown = json.loads(cli("config", "show", "--json").stdout)
    assert shown["settings"] == stored
    assert "[networks]" in cli("config", "show").stdout  # rich markup is escaped
    cli("config", "unset", "networks.staging")
    assert tomllib.loads(path.read_text()) == {"account": "alice"}
    assert cli.fails("config", "unset", "network") == "error: network is not set"


def test_config_json_file_is_read_and_written_as_json(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "p2pchain.json"
    json_cli = Cli(env={**cli.env, "P2PCHAIN_CONFIG": str(path)}, home=cli.home)
    json_cli("config", "set", "ipfs", "http://127.0.0.1:5001")
    assert json.loads(path.read_text()) == {"ipfs": "http://127.0.0.1:5001"}


def test_config_refuses_unknown_keys_and_bad_urls(cli: Cli) -> None:
    assert "unknown setting 'colour'" in cli.fails("config", "set", "colour", "red")
    assert "invalid URL" in cli.fails("config", "set", "networks.x", "ftp://example")
    assert "built-in network name" in cli.fails("config", "set", "networks.local", "http://a:1")


def test_config_malformed_file_is_one_clear_line(cli: Cli) -> None:
    path = Path(cli.env["P2PCHAIN_CONFIG"])
    path.parent.mkdir(parents=True)
    path.write_text("network = \n")
    line = cli.fails("config", "show")
    assert line.startswith(f"error: config file {path} is malformed")
    path.write_text('colour = "red"\n')
    assert "unknown setting 'colour'" in cli.fails("trade", "show", "0x" + "ab" * 32)


def test_config_named_network_and_default_account_drive_commands(market: Market) -> None:
    cli = market.cli
    cli("config", "set", "networks.dev", market.url)
    cli("config", "set", "network", "dev")
    cli("config", "set", "account", "alice")
    listing_id = cli(
        "listing", "create", "--title", "Kettle", "--price", "0.01eth", "--category", "home",
        "--quiet",
    ).stdout.strip()  # fmt: skip
    mine = json.loads(cli("listing", "mine", "--json").stdout)
    assert [x["id"] for x in mine] == [listing_id]
    # the option given before the noun beats the config's default
    assert json.loads(cli("--account", "bob", "listing", "mine", "--json").stdout) == []


def test_config_network_chain_id_pin_refuses_a_node_on_another_chain(market: Market) -> None:
    cli = market.cli
    cli("config", "set", "networks.dev", market.url)
    assert "set its URL first" in cli.fails("config", "set", "networks.other.chain_id", "5")
    assert "invalid chain id" in cli.fails("config", "set", "networks.dev.chain_id", "five")
    cli("config", "set", "networks.dev.chain_id", "5")
    stored = tomllib.loads(Path(cli.env["P2PCHAIN_CONFIG"]).read_text())
    assert stored["networks"] == {"dev": {"url": market.url, "chain_id": 5}}
    shown = json.loads(cli("config", "show", "--json").stdout)["settings"]["networks"]
    assert shown == {"dev": {"url": market.url, "chain_id": 5}}
    line = cli.fails("listing", "mine", "--network", "dev", "--account", "alice")
    assert "answers chain id 31337, but you asked for chain id 5" in line
    cli("config", "set", "networks.dev.chain_id", "31337")
    cli("config", "set", "networks.dev", market.url)  # a new URL keeps the pin
    assert tomllib.loads(Path(cli.env["P2PCHAIN_CONFIG"]).read_text())["networks"]["dev"] == {
        "url": market.url,
        "chain_id": 31337,
    }
    assert json.loads(cli("listing", "mine", "--network", "dev", "--account", "alice",
                          "--json").stdout) == []  # fmt: skip
    cli("config", "unset", "networks.dev.chain_id")
    assert tomllib.loads(Path(cli.env["P2PCHAIN_CONFIG"]).read_text())["networks"] == {
        "dev": market.url
    }
