"""ape (eth-ape 0.8, ape-solidity, ape-foundry) on the project: compile, test, deploy.

Each check runs ape's own command line from ``.venv-ape`` on a copy of the project (see
``_project.py``): plain ``ape compile`` builds p2pchain's contracts offline, ``ape test tests/ape``
passes on ape's local network and on Anvil, and ``ape run deploy`` records a deployment that
p2pchain's client then uses.

ape's build is p2pchain's code with other metadata hashes. ape-solidity compiles OpenZeppelin as
an ape dependency (``dependencies:`` in ape-config.yaml), unpacked under
``contracts/.cache/openzeppelin/5.3.0/``, so those source unit names and ape's remapping enter the
solc metadata JSON whose IPFS hash ends each runtime object. The compile test checks that the
code is otherwise byte for byte p2pchain's, and that every hash in it is exactly the hash of
p2pchain's metadata with those names and that remapping, from the same solc.
"""

from __future__ import annotations

import json
import re
from typing import Any

from p2pchain import MarketplaceClient
from p2pchain.chain._deploy import DeploymentsFile, load_deployment
from p2pchain.chain._model import TradeState
from p2pchain.chain._nodes import AnvilChain
from p2pchain.compiler._artifacts import load_artifact
from p2pchain.compiler._solc import SOLC_VERSION

from ._bytecode import (
    Code,
    differences,
    metadata_trailers,
    normalise,
    p2pchain_code,
    unexplained_metadata,
)
from ._project import FrameworkProject, Run

PASSED = re.compile(r"\b(\d+) passed\b")
#: OpenZeppelin's remappings: p2pchain's (p2pchain.compiler._solc) and the one ape gives solc.
P2PCHAIN_REMAPPING = "@openzeppelin/=node_modules/@openzeppelin/"
APE_REMAPPING = "@openzeppelin/contracts=contracts/.cache/openzeppelin/5.3.0"


def _ape_manifest(project: FrameworkProject) -> dict[str, Any]:
    path = project.root / ".build" / "__local__.json"
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def _ape_build(project: FrameworkProject) -> dict[str, Code]:
    manifest = _ape_manifest(project)
    return {
        name: Code(
            normalise(ct["deploymentBytecode"]["bytecode"]),
            normalise(ct["runtimeBytecode"]["bytecode"]),
        )
        for name, ct in manifest["contractTypes"].items()
    }


def test_ape_compile_builds_p2pchain_bytecode_offline(
    ape_compiled: tuple[FrameworkProject, Run],
) -> None:
    project, run = ape_compiled
    run.check()
    assert "SUCCESS" in run.output and "'local project' compiled" in run.output
    assert project.solcx_files() == [f"solc-v{SOLC_VERSION}"]  # nothing downloaded
    # ape compiled in its temporary copy of the project, as in a developer's checkout.
    assert not (project.root / "contracts" / ".cache").exists()
    ours, theirs = p2pchain_code(), _ape_build(project)
    assert {"Marketplace", "Reputation"} <= set(ours)
    assert differences(ours, theirs, metadata=False) == []  # the code is p2pchain's


def test_ape_build_differs_from_p2pchain_only_by_source_unit_names_in_metadata(
    ape_compiled: tuple[FrameworkProject, Run],
) -> None:
    project, run = ape_compiled
    run.check()
    (compiler,) = _ape_manifest(project)["compilers"]
    assert compiler["settings"]["remappings"] == [APE_REMAPPING]
    ours, theirs = p2pchain_code(), _ape_build(project)
    assert load_artifact("Marketplace").compiler_settings["remappings"] == [P2PCHAIN_REMAPPING]
    # Every metadata hash differs, from the same solc...
    ape_hashes = metadata_trailers(theirs["Marketplace"].runtime)
    our_hashes = metadata_trailers(ours["Marketplace"].runtime)
    assert [solc for _, solc in ape_hashes] == [solc for _, solc in our_hashes] == [SOLC_VERSION]
    assert ape_hashes != our_hashes
    assert differences(ours, theirs) == [
        f"{name}: {kind} bytecode differs"
        for name in sorted(ours)
        if ours[name].runtime != "0x"
        for kind in ("deployed", "creation")
    ]
    # ...and is exactly the hash of p2pchain's metadata under ape's source names and remapping.
    assert unexplained_metadata(ours, theirs, P2PCHAIN_REMAPPING, APE_REMAPPING, SOLC_VERSION) == []


def _passed(run: Run) -> int:
    match = PASSED.search(run.output)
    return int(match.group(1)) if match else 0


def test_ape_tests_pass_on_the_local_network(ape_project: FrameworkProject) -> None:
    run = ape_project.run("test", "tests/ape", "-p", "no:cacheprovider").check()
    assert _passed(run) == 2 and " failed" not in run.output


def test_ape_tests_pass_on_anvil(ape_project: FrameworkProject) -> None:
    run = ape_project.run(
        "test", "tests/ape", "--network", "ethereum:local:foundry", "-p", "no:cacheprovider",
        "-v", "INFO",
    ).check()  # fmt: skip
    assert _passed(run) == 2 and " failed" not in run.output
    assert "Starting 'anvil' process" in run.output


def test_ape_run_deploy_is_usable_by_the_p2pchain_client(ape_project: FrameworkProject) -> None:
    with AnvilChain() as chain:
        run = ape_project.run(
            "run",
            "deploy",
            "--network",
            "ethereum:local:foundry",
            offline=False,
            APE_FOUNDRY_HOST=chain.url,
        ).check()
        assert "verified     ape deployed the shipped code (metadata hash aside)" in run.output
        (recorded,) = DeploymentsFile(ape_project.deployments).read().values()
        assert recorded.network == "ethereum:local:foundry"
        assert recorded.deployer == chain.accounts[0].address
        assert load_deployment(chain, ape_project.deployments) == recorded

        seller = MarketplaceClient.connect(
            chain, account=chain.accounts[1], deployments=ape_project.deployments
        )
        buyer = seller.with_account(chain.accounts[2])
        listing = seller.create_listing(
            seller.make_terms(price=10**16, cid=bytes.fromhex("1220") + bytes(range(32)))
        )
        trade = buyer.release(buyer.buy(listing))
        assert trade.state == TradeState.COMPLETED
        assert seller.deployment.marketplace == recorded.marketplace


def test_ape_run_deploy_fails_in_one_line(ape_project: FrameworkProject) -> None:
    run = ape_project.run("run", "deploy", P2PCHAIN_APE_ACCOUNT="nobody")
    assert run.returncode == 1
    assert "error: ape could not deploy Marketplace: " in run.output and "'nobody'" in run.output
    assert "Traceback" not in run.output
    assert not ape_project.deployments.exists()
