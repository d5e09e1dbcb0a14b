"""Fixtures for the chain tests: a fresh deployment (``market`` on the embedded chain,
``any_market`` on the embedded chain and Anvil) to send real transactions against."""

import _market

#: The shared fixtures.
any_market = _market.any_market
market = _market.market
