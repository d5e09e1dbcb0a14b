"""``p2pchain deploy``: deploys the shipped build once per chain and records it."""

from __future__ import annotations

import json
from pathlib import Path

from p2pchain.chain._deploy import DeploymentsFile, verify_deployment
from p2pchain.chain._nodes import AnvilChain

from .conftest import Cli


def test_deploy_records_a_verified_deployment_once(cli: Cli, anvil_chain: AnvilChain) -> None:
    out = json.loads(cli("deploy", "--network", anvil_chain.url, "--json").stdout)
    assert out["deployed"] is True and out["chain_id"] == 31337
    recorded = DeploymentsFile(Path(cli.env["P2PCHAIN_DEPLOYMENTS"])).get(31337)
    assert recorded is not None and recorded.marketplace == out["marketplace"]
    verify_deployment(anvil_chain, recorded)
    again = json.loads(cli("deploy", "--network", anvil_chain.url, "--json").stdout)
    assert again["deployed"] is False and again["marketplace"] == out["marketplace"]
    forced = json.loads(cli("deploy", "--network", anvil_chain.url, "--force", "--json").stdout)
    assert forced["deployed"] is True and forced["marketplace"] != out["marketplace"]


def test_deploy_with_a_custom_ruling_window(cli: Cli, anvil_chain: AnvilChain) -> None:
    out = json.loads(
        cli("deploy", "--network", anvil_chain.url, "--ruling-window", "2d", "--json").stdout
    )
    market = anvil_chain.w3.eth.contract(
        address=out["marketplace"],
        abi=[{"type": "function", "name": "RULING_WINDOW", "inputs": [],
              "outputs": [{"type": "uint32", "name": ""}], "stateMutability": "view"}],
    )  # fmt: skip
    assert market.functions.RULING_WINDOW().call() == 2 * 86400


def test_commands_before_deploy_say_to_deploy(cli: Cli, anvil_chain: AnvilChain) -> None:
    line = cli.fails("trade", "show", "0x" + "ab" * 32, "--network", anvil_chain.url)
    assert "run `p2pchain deploy`" in line


def test_deploy_puts_permit2_on_a_dev_node_that_lacks_it(cli: Cli) -> None:
    """A bare Anvil someone started by hand has no Permit2; `p2pchain deploy` on it installs the
    canonical code at the canonical address (as a real chain has it) before deploying."""
    from p2pchain._paths import find_node_modules
    from p2pchain.chain._nodes import RpcChain, _node_tool, _start_node, anvil_argv
    from p2pchain.chain._permit2 import PERMIT2_ADDRESS, has_permit2

    binary = _node_tool("anvil", find_node_modules())
    node, url = _start_node("anvil", lambda port: anvil_argv(binary, port), 30.0)
    try:
        chain = RpcChain(url)
        assert bytes(chain.w3.eth.get_code(PERMIT2_ADDRESS)) == b""
        out = cli.run("deploy", "--network", url, "--json")
        assert out.returncode == 0, out.stderr
        assert has_permit2(chain.w3)
    finally:
        node.stop()
