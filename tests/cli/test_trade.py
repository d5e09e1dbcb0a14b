"""``p2pchain trade``: buying behind a confirmation, every way a trade settles, and reads."""

from __future__ import annotations

import json
from typing import Any

from _market import random_cid

from .conftest import Market

ETHER = 10**18


def _list(market: Market, *extra: str, price: str = "1eth") -> str:
    result = market(
        "listing", "create", "--account", "alice", "--title", "Camera", "--price", price,
        "--category", "electronics/cameras", "--quiet", *extra,
    )  # fmt: skip
    return result.stdout.strip()


def _buy(market: Market, listing_id: str) -> str:
    return market("trade", "buy", listing_id, "--account", "bob", "--yes", "--quiet").stdout.strip()


def _show(market: Market, trade_id: str) -> dict[str, Any]:
    return json.loads(market("trade", "show", trade_id, "--json").stdout)


def _balance(market: Market, name: str) -> int:
    return int(market.chain.w3.eth.get_balance(market.addresses[name]))


def test_trade_buy_shows_the_terms_and_asks_first(market: Market) -> None:
    listing_id = _list(market, "--arbitrator", "arb", "--arbitrator-fee", "250")
    result = market("trade", "buy", listing_id, "--account", "bob", input="n\n", ok=False)
    assert result.exit_code == 0  # a person's "no" is not an error
    assert "cancelled, nothing was sent" in result.stderr and "error" not in result.stderr
    summary = result.stderr  # stdout stays clean for `ID=$(... --quiet)`
    assert "you pay" not in result.stdout
    alice, arb = market.addresses["alice"], market.addresses["arb"]
    for expected in ("1 ETH (1000000000000000000 wei)", f"alice ({alice[:6]}…{alice[-4:]})",
                     f"arb ({arb[:6]}…{arb[-4:]})", "fee 2.5%", "7d", "no marketplace fee",
                     "network gas at most", "Camera (sale)"):  # fmt: skip
        assert expected in summary, (expected, summary)
    assert json.loads(market("listing", "show", listing_id, "--json").stdout)["sold"] == 0

    result = market("trade", "buy", listing_id, "--account", "bob", "--quiet", input="y\n")
    assert result.stdout.split()[-1].startswith("0x")  # CliRunner echoes the typed "y" first
    assert json.loads(market("listing", "show", listing_id, "--json").stdout)["sold"] == 1


def test_trade_buy_with_json_needs_yes(market: Market) -> None:
    listing_id = _list(market)
    line = market.fails("trade", "buy", listing_id, "--account", "bob", "--json")
    assert "--json needs --yes" in line


def test_trade_release_pays_the_seller(market: Market) -> None:
    trade_id = _buy(market, _list(market))
    assert _show(market, trade_id)["state"] == "paid"
    before = _balance(market, "alice")
    out = json.loads(
        market("trade", "release", trade_id, "--account", "bob", "--yes", "--json").stdout
    )
    assert out["state"] == "completed"
    assert _balance(market, "alice") == before + ETHER


def test_trade_refund_returns_the_payment(market: Market) -> None:
    trade_id = _buy(market, _list(market))
    before = _balance(market, "bob")
    market("trade", "refund", trade_id, "--account", "alice", "--yes")
    assert _show(market, trade_id)["state"] == "refunded"
    assert _balance(market, "bob") == before + ETHER


def test_trade_dispute_then_rule_splits_after_the_fee(market: Market) -> None:
    trade_id = _buy(market, _list(market, "--arbitrator", "arb", "--arbitrator-fee", "1000"))
    market("trade", "dispute", trade_id, "--account", "bob", "--yes")
    assert _show(market, trade_id)["state"] == "disputed"
    bob_before, alice_before = _balance(market, "bob"), _balance(market, "alice")
    market("trade", "rule", trade_id, "--buyer-share", "0.3eth", "--account", "arb", "--yes")
    assert _show(market, trade_id)["state"] == "ruled"
    assert _balance(market, "bob") == bob_before + 3 * ETHER // 10
    assert _balance(market, "alice") == alice_before + 6 * ETHER // 10  # 1 - 0.1 fee - 0.3


def test_trade_settle_propose_and_accept(market: Market) -> None:
    trade_id = _buy(market, _list(market))
    market("trade", "settle", "propose", trade_id, "--buyer-share", "0.25eth",
           "--account", "bob", "--yes")  # fmt: skip
    proposal = _show(market, trade_id)["proposal"]
    assert proposal == {"by": market.addresses["bob"], "buyer_share": str(ETHER // 4)}
    before = _balance(market, "bob")
    market("trade", "settle", "accept", trade_id, "--account", "alice", "--yes")
    assert _show(market, trade_id)["state"] == "settled"
    assert _balance(market, "bob") == before + ETHER // 4


def test_trade_settle_accept_without_proposal_fails(market: Market) -> None:
    trade_id = _buy(market, _list(market))
    line = market.fails("trade", "settle", "accept", trade_id, "--account", "alice", "--yes")
    assert line == "error: there is no settlement proposal on this trade to accept"


def test_trade_finalize_after_the_window_and_dispute_too_late(market: Market) -> None:
    listing_id = _list(market, "--arbitrator", "arb", "--review-window", "1h")
    trade_id = _buy(market, listing_id)
    early = market.fails("trade", "finalize", trade_id, "--account", "arb", "--yes")
    assert "window" in early.lower()
    market.chain.increase_time(3601)
    market.chain.mine()
    # simulated before the prompt: no question is asked for a call that would revert
    late = market.fails("trade", "dispute", trade_id, "--account", "bob")
    assert "window" in late.lower() and "closed" in late.lower()
    market("trade", "finalize", trade_id, "--account", "arb", "--yes")
    assert _show(market, trade_id)["state"] == "completed"


def test_trade_withdraw_with_no_credit_says_so(market: Market) -> None:
    line = market.fails("trade", "withdraw", "--account", "bob", "--yes")
    assert "nothing to withdraw" in line


def test_trade_mine_by_role(market: Market) -> None:
    first = _buy(market, _list(market))
    second = _buy(market, _list(market))
    as_buyer = json.loads(market("trade", "mine", "--account", "bob", "--json").stdout)
    assert [t["id"] for t in as_buyer] == [first, second]
    as_seller = json.loads(
        market("trade", "mine", "--account", "alice", "--role", "seller", "--json").stdout
    )
    assert {t["id"] for t in as_seller} == {first, second}
    assert (
        json.loads(
            market("trade", "mine", "--account", "alice", "--role", "buyer", "--json").stdout
        )
        == []
    )
    table = market("trade", "mine", "--account", "bob").stdout
    assert "buyer" in table and "paid" in table


def test_trade_show_lists_next_steps(market: Market) -> None:
    trade_id = _buy(market, _list(market))
    shown = _show(market, trade_id)
    actions = {(s["action"], s["actor"]) for s in shown["next_steps"]}
    assert ("release", market.addresses["bob"]) in actions
    assert ("refund", market.addresses["alice"]) in actions
    human = market("trade", "show", trade_id).stdout
    assert "release" in human and "Purchased" in human


def test_trade_rental_deposit_is_paid_and_returned(market: Market) -> None:
    now = market.chain.latest_timestamp()
    rental = market.cli.home / "van.yaml"
    rental.write_text(
        "title: Camper van, one weekend\ncategory: vehicles/rental\nkind: rental\n"
        f"price: 0.5eth\ndeposit: 2eth\nrental: {{start: {now + 86400}, end: {now + 3 * 86400}}}\n",
        encoding="utf-8",
    )
    listing_id = market(
        "listing", "create", "--account", "alice", "--file", str(rental), "--quiet"
    ).stdout.strip()  # fmt: skip
    summary = market("trade", "buy", listing_id, "--account", "bob", input="n\n", ok=False).stderr
    summary = " ".join(summary.replace("│", " ").split())
    assert "2.5 ETH" in summary and "refundable" in summary
    assert "Camper van, one weekend (rental)" in summary
    assert "rental" in summary and "(2d)" in summary  # the dates, before the buyer agrees
    trade_id = _buy(market, listing_id)
    assert _show(market, trade_id)["held"] == {
        "seller_pot": str(ETHER // 2), "buyer_pot": str(2 * ETHER)
    }  # fmt: skip
    bob_before = _balance(market, "bob")
    market("trade", "return-deposit", trade_id, "--account", "alice", "--yes")
    assert _balance(market, "bob") == bob_before + 2 * ETHER
    market("trade", "release", trade_id, "--account", "bob", "--yes")
    assert _show(market, trade_id)["state"] == "completed"


def test_erc20_amounts_show_in_the_token_s_units(market: Market) -> None:
    """An ERC-20 listing's price reads "25 USDT", from the token's own symbol() and decimals(),
    not as base units of an address."""
    from p2pchain.compiler._artifacts import load_artifact
    from p2pchain.market._client import MarketplaceClient

    w3 = market.chain.w3
    seller = market.chain.accounts[8]
    client = MarketplaceClient.connect(market.chain, account=seller)
    artifact = load_artifact("TestERC20", test=True)
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor("Tether USD", "USDT").data_in_transaction
    token = client.sender.send(seller, {"data": data})["contractAddress"]
    assert token is not None
    decimals = w3.eth.contract(address=token, abi=list(artifact.abi)).functions.decimals().call()
    price = 25 * 10**decimals
    listing = client.create_listing(client.make_terms(price=price, token=token, cid=random_cid()))
    shown = market("listing", "show", "0x" + listing.id.hex()).stdout
    assert f"25 USDT ({price} base units of" in shown, shown
    client.close()


def test_trade_and_listing_lists_show_titles(market: Market) -> None:
    listing_id = _list(market)
    _buy(market, listing_id)
    for args in (("trade", "mine", "--account", "bob"), ("listing", "mine", "--account", "alice",
                                                           "--all")):  # fmt: skip
        table = market(*args).stdout
        assert "title" in table and "Camera" in table, table


def test_a_buyer_share_over_what_is_held_is_refused_in_ether(market: Market) -> None:
    trade_id = _buy(market, _list(market, "--arbitrator", "arb", "--arbitrator-fee", "1000"))
    line = market.fails("trade", "settle", "propose", trade_id, "--buyer-share", "2eth",
                        "--account", "bob", "--yes")  # fmt: skip
    assert "the buyer share 2 ETH is more than the 1 ETH held" in line, line
    market("trade", "dispute", trade_id, "--account", "bob", "--yes")
    line = market.fails("trade", "rule", trade_id, "--buyer-share", "0.95eth",
                        "--account", "arb", "--yes")  # fmt: skip
    assert "0.95 ETH is more than the 0.9 ETH held after your fee" in line, line
    assert "wei" not in line


def test_erc20_amounts_are_typed_in_the_token_s_units(market: Market) -> None:
    """`--token` lists in an ERC-20 and `--price 25USDT` means 25 of its units; a share is
    typed the same way, and an ETH unit for a token trade is refused naming the token."""
    from p2pchain.compiler._artifacts import load_artifact
    from p2pchain.market._client import MarketplaceClient

    w3 = market.chain.w3
    deployer = market.chain.accounts[8]
    client = MarketplaceClient.connect(market.chain, account=deployer)
    artifact = load_artifact("TestERC20", test=True)
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor("Tether USD", "USDT").data_in_transaction
    token = client.sender.send(deployer, {"data": data})["contractAddress"]
    assert token is not None
    contract = w3.eth.contract(address=token, abi=list(artifact.abi))
    decimals = contract.functions.decimals().call()
    client.sender.send(
        deployer,
        {"to": token, "data": contract.encode_abi("mint", [market.addresses["bob"], 10**30])},
    )
    client.close()
    refused = market.fails(
        "listing", "create", "--account", "alice", "--title", "Lens", "--price", "0.1eth",
        "--token", token, "--category", "electronics", "--quiet",
    )  # fmt: skip
    assert "paid in USDT" in refused and "25USDT" in refused, refused
    listing_id = _list(market, "--token", token, price="25USDT")
    shown = json.loads(market("listing", "show", listing_id, "--json").stdout)
    assert shown["terms"]["price"] == str(25 * 10**decimals)
    assert shown["terms"]["token"] == token


def test_a_purchase_against_anvil_loads_no_embedded_chain_code(market: Market) -> None:
    """eth-tester, py-evm and py_ecc (about 0.7 s to import) are the embedded chain's, FastAPI
    and uvicorn (0.16 s) the dev IPFS node's and the API's: a purchase against Anvil signs,
    sends and waits without loading any of them."""
    import os
    import subprocess
    import sys

    listing_id = _list(market)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from p2pchain.cli import app\n"
        "result = CliRunner().invoke(app, sys.argv[1:])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = ('evm', 'py_ecc', 'eth_tester', 'fastapi', 'uvicorn', 'starlette')\n"
        "print('heavy=' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "trade", "buy", listing_id, "--account", "bob", "--yes",
         "--quiet", "--network", market.url],
        env={**os.environ, **market.cli.env}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "heavy=", done.stdout
    assert json.loads(market("listing", "show", listing_id, "--json").stdout)["sold"] == 1


def test_a_purchase_makes_at_most_8_requests_to_the_node(market: Market) -> None:
    """Counted through a loopback proxy (a JSON-RPC batch is one request): the node's facts,
    the deployment check, the listing, the estimate for the prompt (with the fees), the
    estimate before signing (with the chain id and the nonce), the send, the receipt, and the
    check of the result. 29 requests before the first trims, 23 before they were batched."""
    from chain._faulty_rpc import FaultyRpc

    listing_id = _list(market)
    with FaultyRpc(market.url) as proxy:
        market.cli("trade", "buy", listing_id, "--account", "bob", "--yes", "--quiet",
                   "--network", proxy.url)  # fmt: skip
        methods = list(proxy.methods)
        requests = list(proxy.requests)
    assert json.loads(market("listing", "show", listing_id, "--json").stdout)["sold"] == 1
    assert methods.count("eth_sendRawTransaction") == 1
    assert len(requests) <= 8, requests
    # Asked once per command, not once per step:
    assert methods.count("eth_getCode") == 2 and methods.count("web3_clientVersion") == 1
    assert methods.count("eth_maxPriorityFeePerGas") == 1
    assert methods.count("eth_getTransactionCount") == 1
    # The chain id: at first contact, and in the same request as the estimate before signing.
    assert methods.count("eth_chainId") == 2
    assert ["eth_chainId", "eth_estimateGas", "eth_getTransactionCount"] in requests


def test_a_node_that_takes_no_batches_still_sells(market: Market) -> None:
    """A node (or gateway) that answers any JSON-RPC batch with one error: the client asks the
    same requests one by one from then on, and the purchase goes through once."""
    from chain._faulty_rpc import Fault, FaultyRpc

    listing_id = _list(market)
    with FaultyRpc(market.url) as proxy:
        proxy.arm(Fault("*", "no-batches", times=None))
        market.cli("trade", "buy", listing_id, "--account", "bob", "--yes", "--quiet",
                   "--network", proxy.url)  # fmt: skip
        requests = list(proxy.requests)
    sizes = [len(r) for r in requests]
    first = next(i for i, size in enumerate(sizes) if size > 1)  # it tried a batch once...
    assert all(size == 1 for size in sizes[first + 1 :]), sizes  # ...then asked one by one
    assert [m for r in requests for m in r].count("eth_sendRawTransaction") == 1
    assert json.loads(market("listing", "show", listing_id, "--json").stdout)["sold"] == 1
