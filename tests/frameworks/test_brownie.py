"""brownie (eth-brownie 1.22) on the project: compile, test, deploy.

Each check runs brownie's command line from ``.venv-brownie`` on a copy of the project (see
``_project.py``): ``brownie compile`` builds byte-identical contracts offline, ``brownie test
tests/brownie`` passes on its development network (Anvil), and ``brownie run deploy`` records a
deployment that p2pchain's client then uses. brownie keeps its networks in
``~/.brownie/network-config.yaml``; each run gets its own, with the development Anvil on a port
of the run's choosing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from p2pchain import MarketplaceClient
from p2pchain.chain._deploy import DeploymentsFile, load_deployment
from p2pchain.chain._model import TradeState
from p2pchain.chain._nodes import DEV_MNEMONIC, AnvilChain, free_port
from p2pchain.compiler._solc import SOLC_VERSION

from ._bytecode import Code, differences, normalise, p2pchain_code
from ._project import FrameworkProject, Run

PASSED = re.compile(r"\b(\d+) passed\b")
_NETWORK_CONFIG = """\
live: []
development:
  - name: Anvil
    id: development
    cmd: anvil
    host: http://127.0.0.1
    cmd_settings:
      port: {port}
      gas_limit: 12000000
      base_fee: 0
      chain_id: 31337
      accounts: 10
      evm_version: shanghai
      mnemonic: {mnemonic}
"""


def _use_port(project: FrameworkProject, port: int) -> None:
    """Point brownie's development network (Anvil on 127.0.0.1) at ``port``."""
    folder = project.home / ".brownie"
    folder.mkdir(exist_ok=True)
    text = _NETWORK_CONFIG.format(port=port, mnemonic=DEV_MNEMONIC)
    (folder / "network-config.yaml").write_text(text, encoding="utf-8")


def _brownie_build(project: FrameworkProject) -> dict[str, Code]:
    found = {}
    for path in sorted((project.root / "build" / "contracts").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["contractName"]] = Code(
            normalise(data["bytecode"]), normalise(data["deployedBytecode"])
        )
    return found


def test_brownie_compile_builds_p2pchain_bytecode_offline(
    brownie_compiled: tuple[FrameworkProject, Run],
) -> None:
    project, run = brownie_compiled
    run.check()
    assert (
        f"Solc version: {SOLC_VERSION}" in run.output and "Project has been compiled" in run.output
    )
    assert project.solcx_files() == [f"solc-v{SOLC_VERSION}"]  # nothing downloaded
    ours = p2pchain_code()
    assert {"Marketplace", "Reputation"} <= set(ours)
    assert differences(ours, _brownie_build(project)) == []


def test_brownie_trade_test_passes_on_anvil(brownie_project: FrameworkProject) -> None:
    port = free_port()
    _use_port(brownie_project, port)
    run = brownie_project.run("test", "tests/brownie", "-p", "no:cacheprovider").check()
    match = PASSED.search(run.output)
    assert match is not None and int(match.group(1)) == 1 and " failed" not in run.output
    assert "Launching 'anvil " in run.output and f" --port {port} " in run.output


def test_brownie_run_deploy_is_usable_by_the_p2pchain_client(
    brownie_project: FrameworkProject,
) -> None:
    with AnvilChain() as chain:
        _use_port(brownie_project, int(chain.url.rsplit(":", 1)[1]))
        run = brownie_project.run("run", "deploy", offline=False).check()
        assert "Attached to local RPC client" in run.output  # brownie used our Anvil
        assert "verified     brownie deployed the shipped code (metadata hash aside)" in run.output
        (recorded,) = DeploymentsFile(brownie_project.deployments).read().values()
        assert recorded.network == "development"
        assert recorded.deployer == chain.accounts[0].address
        assert load_deployment(chain, brownie_project.deployments) == recorded

        seller = MarketplaceClient.connect(
            chain, account=chain.accounts[1], deployments=brownie_project.deployments
        )
        buyer = seller.with_account(chain.accounts[2])
        listing = seller.create_listing(
            seller.make_terms(price=10**16, cid=bytes.fromhex("1220") + bytes(range(32)))
        )
        trade = buyer.release(buyer.buy(listing))
        assert trade.state == TradeState.COMPLETED


def test_network_config_names_the_port(tmp_path: Path) -> None:
    project = FrameworkProject("brownie", tmp_path, tmp_path, tmp_path, tmp_path / "d.json")
    _use_port(project, 4242)
    text = (tmp_path / ".brownie" / "network-config.yaml").read_text(encoding="utf-8")
    assert "port: 4242" in text and "host: http://127.0.0.1" in text


def test_brownie_run_deploy_fails_in_one_line(brownie_project: FrameworkProject) -> None:
    _use_port(brownie_project, free_port())
    run = brownie_project.run("run", "deploy", P2PCHAIN_BROWNIE_ACCOUNT="nobody")
    assert run.returncode == 1
    assert "error: brownie could not deploy Marketplace: " in run.output
    assert "nobody" in run.output and "Traceback" not in run.output
    assert not brownie_project.deployments.exists()
