"""Fixtures for the contract tests: a freshly deployed marketplace per test."""

from __future__ import annotations

import pytest

from p2pchain.chain._nodes import DevChain, EmbeddedChain

from .market import Market


@pytest.fixture
def market(embedded_chain: EmbeddedChain) -> Market:
    """A fresh Marketplace + Reputation on the embedded chain (3-day ruling window)."""
    return Market(embedded_chain)


@pytest.fixture
def any_market(dev_chain: DevChain) -> Market:
    """A fresh Marketplace on each dev chain in turn: embedded, Anvil and Ganache."""
    return Market(dev_chain)
