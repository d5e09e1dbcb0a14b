"""Deploying Marketplace + Reputation and the deployments file.

Uses the shipped artifacts once contracts/ has landed; until then, stand-ins with the same
deployment shape (tests/compiler/standins), so the pipeline is always exercised.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from eth_typing import HexStr
from web3 import Web3

from p2pchain._errors import DeploymentError
from p2pchain.chain._deploy import (
    Deployment,
    DeploymentsFile,
    constructor_arguments,
    deploy,
    load_deployment,
)
from p2pchain.chain._nodes import DevChain, EmbeddedChain
from p2pchain.compiler._artifacts import ARTIFACTS_DIR_ENV, clear_artifact_cache, list_artifacts
from p2pchain.compiler._solc import compile_contracts, write_artifacts

STANDINS = Path(__file__).parents[1] / "compiler" / "standins"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module", autouse=True)
def marketplace_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Shipped artifacts if they contain Marketplace, else compiled stand-ins."""
    if "Marketplace" in list_artifacts():
        yield
        return
    root = tmp_path_factory.mktemp("standins") / "project"
    shutil.copytree(STANDINS, root)
    out = root.parent / "artifacts"
    write_artifacts(compile_contracts(root), out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ARTIFACTS_DIR_ENV, str(out))
        clear_artifact_cache()
        yield
    clear_artifact_cache()


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"p2pchain_script_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deploy_puts_both_contracts_on_chain(dev_chain: DevChain, tmp_path: Path) -> None:
    deployer = dev_chain.accounts[0]
    deployment = deploy(dev_chain, deployer)
    w3 = dev_chain.w3
    assert deployment.network == dev_chain.name
    assert deployment.chain_id == dev_chain.chain_id
    assert deployment.deployer == deployer.address
    assert len(w3.eth.get_code(deployment.marketplace)) > 0
    assert len(w3.eth.get_code(deployment.reputation)) > 0
    receipt = w3.eth.get_transaction_receipt(HexStr(deployment.tx_hash))
    assert receipt["contractAddress"] == deployment.marketplace
    assert receipt["blockNumber"] == deployment.block
    assert w3.eth.get_block(deployment.block)["timestamp"] == deployment.timestamp

    store = DeploymentsFile(tmp_path / "deployments.json")
    store.save(deployment)
    assert DeploymentsFile(store.path).read() == {deployment.chain_id: deployment}
    assert load_deployment(dev_chain, store.path) == deployment
    assert load_deployment(w3, store.path) == deployment


@pytest.mark.parametrize("other_chain", ["anvil_chain", "ganache_chain"])
def test_load_deployment_refuses_another_chains_record(
    embedded_chain: EmbeddedChain, other_chain: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dev_chain: DevChain = request.getfixturevalue(other_chain)
    store = DeploymentsFile(tmp_path / "deployments.json")
    store.save(deploy(embedded_chain, embedded_chain.accounts[0]))
    with pytest.raises(DeploymentError) as info:
        load_deployment(dev_chain, store.path)
    message = str(info.value)
    assert f"no p2pchain deployment for chain id {dev_chain.chain_id}" in message
    assert "\n" not in message


def test_load_deployment_refuses_missing_or_foreign_code(
    embedded_chain: EmbeddedChain, tmp_path: Path
) -> None:
    good = deploy(embedded_chain, embedded_chain.accounts[0])
    store = DeploymentsFile(tmp_path / "deployments.json")

    nowhere = Web3.to_checksum_address("0x" + "ab" * 20)
    store.save(dataclasses.replace(good, marketplace=nowhere))
    with pytest.raises(DeploymentError, match="no contract code at Marketplace address"):
        load_deployment(embedded_chain, store.path)

    store.save(dataclasses.replace(good, marketplace=good.reputation))
    with pytest.raises(DeploymentError, match="is not the shipped Marketplace build"):
        load_deployment(embedded_chain, store.path)

    other = deploy(embedded_chain, embedded_chain.accounts[0])
    store.save(dataclasses.replace(good, reputation=other.reputation))
    with pytest.raises(DeploymentError, match="uses Reputation"):
        load_deployment(embedded_chain, store.path)


def test_deployments_file_keeps_one_entry_per_chain(tmp_path: Path) -> None:
    store = DeploymentsFile(tmp_path / "sub" / "deployments.json")
    assert store.read() == {}
    first = Deployment(
        network="anvil",
        chain_id=31337,
        marketplace=Web3.to_checksum_address("0x" + "11" * 20),
        reputation=Web3.to_checksum_address("0x" + "22" * 20),
        bookings=Web3.to_checksum_address("0x" + "33" * 20),
        block=1,
        tx_hash="0x" + "33" * 32,
        artifact_hash="44" * 32,
        deployer=Web3.to_checksum_address("0x" + "55" * 20),
        timestamp=1_700_000_000,
    )
    second = dataclasses.replace(first, network="ganache", chain_id=1337)
    store.save(first)
    store.save(second)
    store.save(dataclasses.replace(first, block=2))
    assert store.read() == {31337: dataclasses.replace(first, block=2), 1337: second}
    assert list(store.path.parent.iterdir()) == [store.path]  # no temp files left behind
    assert store.remove(1337) and not store.remove(1337)

    data = json.loads(store.path.read_text())
    data["deployments"]["31337"]["chain_id"] = 1
    store.path.write_text(json.dumps(data))
    with pytest.raises(DeploymentError, match="records chain id 1"):
        store.read()


def test_default_deployments_file_lives_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like the keystores and the IPFS store: $P2PCHAIN_DEPLOYMENTS, else <data dir>/."""
    monkeypatch.delenv("P2PCHAIN_DEPLOYMENTS")
    monkeypatch.setenv("P2PCHAIN_DATA_DIR", str(tmp_path / "data"))
    assert DeploymentsFile().path == tmp_path / "data" / "deployments.json"
    monkeypatch.setenv("P2PCHAIN_DEPLOYMENTS", str(tmp_path / "elsewhere.json"))
    assert DeploymentsFile().path == tmp_path / "elsewhere.json"


def test_constructor_arguments_follow_the_abi() -> None:
    from p2pchain.compiler._artifacts import load_artifact

    market = load_artifact("Marketplace")
    assert constructor_arguments(market, {"rulingWindow": 3600}) == [3600]
    assert constructor_arguments(market, None) == [7 * 24 * 3600]
    with pytest.raises(DeploymentError, match="has no parameter fee"):
        constructor_arguments(market, {"fee": 1})


def test_deploy_script_records_the_deployment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deployments.json"
    script = _load_script("deploy")
    assert script.main(["--network", "embedded", "--deployments", str(path)]) == 0
    out = capsys.readouterr().out
    (recorded,) = DeploymentsFile(path).read().values()
    assert recorded.marketplace in out and recorded.network == "embedded"


def test_deploy_script_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    script = _load_script("deploy")
    assert script.main(["--network", "nowhere"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown network 'nowhere'") and err.count("\n") == 1
