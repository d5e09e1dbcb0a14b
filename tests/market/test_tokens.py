"""Token symbols and decimals for display: read once, kept, and never trusted blindly."""

from __future__ import annotations

from _market import Market

from p2pchain.market._reads import ETH
from p2pchain.market._tokens import ETH_INFO, TokenCatalog, clean_symbol


def test_erc20_symbol_and_decimals_are_read_once_and_kept(market: Market) -> None:
    token = market.deploy_token("TestERC20", "Test", "TST")
    catalog = TokenCatalog(market.seller)
    info = catalog.info(token.address)
    assert (info.symbol, info.decimals, info.known) == ("TST", 18, True)
    calls = []
    real_call = market.seller.sender.call
    market.seller.sender.call = lambda *a, **k: calls.append(a) or real_call(*a, **k)  # type: ignore[method-assign]
    try:
        assert catalog.info(token.address.lower()) == info  # any case, from the cache
    finally:
        market.seller.sender.call = real_call  # type: ignore[method-assign]
    assert calls == []


def test_eth_is_the_native_coin(market: Market) -> None:
    catalog = TokenCatalog(market.seller)
    assert catalog.info(ETH) == ETH_INFO == catalog.info("ETH")
    assert ETH_INFO.is_eth and ETH_INFO.decimals == 18


def test_an_address_without_a_token_is_shown_by_address_and_not_kept(market: Market) -> None:
    catalog = TokenCatalog(market.seller)
    nobody = market.stranger_account.address
    info = catalog.info(nobody)
    assert not info.known and info.decimals == 0
    assert info.symbol == f"{nobody[:6]}…{nobody[-4:]}"


def test_a_token_calling_itself_eth_cannot_pass_for_eth(market: Market) -> None:
    token = market.deploy_token("TestERC20", "Fake ether", "ETH")
    info = TokenCatalog(market.seller).info(token.address)
    assert info.symbol.startswith("ETH (0x") and not info.is_eth
    assert clean_symbol("U S\nD\x00C" + "X" * 20, token.address) == "USDCXXXXXXXX"
    assert clean_symbol("\n", token.address).startswith("0x")
