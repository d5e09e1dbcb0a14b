"""Connecting: the deployment is found by chain id and checked against the code on chain."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from _market import Market, make_market

from p2pchain import (
    AnvilChain,
    ChainError,
    DeploymentError,
    DeploymentsFile,
    EmbeddedChain,
    MarketplaceClient,
    RpcChain,
)
from p2pchain.chain._nodes import free_port


def test_connect_finds_deployment_by_chain_id(market: Market, tmp_path: Path) -> None:
    path = tmp_path / "deployments.json"
    DeploymentsFile(path).save(market.seller.deployment)
    client = MarketplaceClient.connect(market.chain, deployments=path)
    assert client.deployment == market.seller.deployment
    listing = market.seller.create_listing(market.terms())
    assert client.listing(listing.id).terms == listing.terms


def test_connect_by_rpc_url(anvil_chain: RpcChain) -> None:
    market = make_market(anvil_chain)
    with MarketplaceClient.connect(
        anvil_chain.url, account=market.buyer_account, deployments=market.seller.deployment
    ) as client:
        listing = market.seller.create_listing(market.terms())
        assert client.buy(listing).buyer == market.buyer.address


def test_connect_refuses_deployment_of_another_chain(market: Market) -> None:
    other = dataclasses.replace(market.seller.deployment, chain_id=1)
    with pytest.raises(DeploymentError, match="chain id 1"):
        MarketplaceClient.connect(market.chain, deployments=other)


def test_connect_refuses_address_without_the_shipped_code(market: Market) -> None:
    wrong = dataclasses.replace(market.seller.deployment, marketplace=market.buyer.address)
    with pytest.raises(DeploymentError, match="no contract code"):
        MarketplaceClient.connect(market.chain, deployments=wrong)
    swapped = dataclasses.replace(
        market.seller.deployment,
        marketplace=market.seller.deployment.reputation,
        reputation=market.seller.deployment.marketplace,
    )
    with pytest.raises(DeploymentError, match="not the shipped"):
        MarketplaceClient.connect(market.chain, deployments=swapped)


def test_connect_without_recorded_deployment_says_what_to_do(tmp_path: Path) -> None:
    with EmbeddedChain() as chain, pytest.raises(DeploymentError, match="scripts/deploy.py"):
        MarketplaceClient.connect(chain, deployments=tmp_path / "none.json")


def test_connect_to_unreachable_node_raises_chain_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError, match="cannot reach"):
        MarketplaceClient.connect(url, deployments=tmp_path / "none.json")


def test_connect_journals_for_a_node_reached_by_url_only(
    anvil_chain: AnvilChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node reached by URL outlives this process: its clients journal, in the data folder by
    default. A dev chain this process started dies with it: nothing to journal."""
    monkeypatch.setenv("P2PCHAIN_DATA_DIR", str(tmp_path / "data"))
    deployment = make_market(anvil_chain).seller.deployment
    by_url = MarketplaceClient.connect(anvil_chain.url, deployments=deployment)
    assert by_url.sender.journal is not None
    assert by_url.sender.journal.folder == tmp_path / "data" / "journal"
    assert MarketplaceClient.connect(anvil_chain, deployments=deployment).sender.journal is None
    off = MarketplaceClient.connect(anvil_chain.url, deployments=deployment, journal=False)
    assert off.sender.journal is None
    elsewhere = MarketplaceClient.connect(anvil_chain, deployments=deployment, journal=tmp_path)
    assert elsewhere.sender.journal is not None and elsewhere.sender.journal.folder == tmp_path
    assert elsewhere.sender.chain_id == 31337
