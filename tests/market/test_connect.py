"""Connecting: the deployment is found by chain id and checked against the code on chain."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from _market import Market, make_market

from p2pchain import (
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
