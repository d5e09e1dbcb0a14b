"""``p2pchain offer``: a buyer offers below the asking price, the file travels, the seller sees the
terms and accepts, and the trade is an ordinary trade; cancelled and broken offers end in one
line, on Anvil."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import Market

ETHER = 10**18


def _list(market: Market, price: str = "1eth", *extra: str) -> str:
    result = market(
        "listing", "create", "--account", "alice", "--title", "Drill", "--price", price,
        "--category", "tools/drills", "--quiet", *extra,
    )  # fmt: skip
    return result.stdout.strip()


def _flat(panel: str) -> str:
    """A rich panel's text without its box and line breaks."""
    return " ".join(panel.replace("│", " ").split())


def _offer(market: Market, listing_id: str, out: Path, price: str = "0.9eth") -> dict[str, Any]:
    result = market(
        "offer", "make", listing_id, "--price", price, "--account", "bob", "--out", str(out),
        "--yes", "--json",
    )  # fmt: skip
    return json.loads(result.stdout)


def test_eth_offer_made_shown_and_accepted(market: Market, tmp_path: Path) -> None:
    listing_id = _list(market)
    file = tmp_path / "offer.json"
    made = _offer(market, listing_id, file)
    assert made["price"] == str(9 * ETHER // 10) and made["buyer"] == market.addresses["bob"]
    assert json.loads(file.read_text())["id"] == made["id"]

    shown = json.loads(market("offer", "show", str(file), "--json").stdout)
    assert shown["state"] == {
        "status": "open",
        "funded": True,  # `offer make` added the credit
        "approved": True,
        "listingLive": True,
    }
    # The seller sees the terms and the discount, and a "no" sends nothing.
    result = market("offer", "accept", str(file), "--account", "alice", input="n\n", ok=False)
    assert result.exit_code == 0 and "cancelled, nothing was sent" in result.stderr
    shown_terms = _flat(result.stderr)
    assert "10.0% below the asking price" in shown_terms, shown_terms
    assert "0.9 ETH" in shown_terms

    out = json.loads(
        market("offer", "accept", str(file), "--account", "alice", "--yes", "--json").stdout
    )
    assert out["id"] == made["id"] and out["state"] == "paid"
    trade = json.loads(market("trade", "show", made["id"], "--json").stdout)
    assert trade["amount"] == str(9 * ETHER // 10)
    before = int(market.chain.w3.eth.get_balance(market.addresses["alice"]))
    market("trade", "release", made["id"], "--account", "bob", "--yes")
    after = int(market.chain.w3.eth.get_balance(market.addresses["alice"]))
    assert after - before == 9 * ETHER // 10

    kept = json.loads(market("offer", "list", "--json").stdout)
    assert [(k["id"], k["state"]["status"]) for k in kept] == [(made["id"], "accepted")]
    again = market.fails("offer", "accept", made["id"], "--account", "alice", "--yes")
    assert again == f"error: offer {made['id']} is accepted: nothing to accept"


def test_cancelled_offer_is_refused_in_one_line(market: Market, tmp_path: Path) -> None:
    listing_id = _list(market)
    made = _offer(market, listing_id, tmp_path / "o.json")
    market("offer", "cancel", made["id"], "--account", "bob", "--yes")
    line = market.fails("offer", "accept", str(tmp_path / "o.json"), "--account", "alice", "--yes")
    assert line == f"error: offer {made['id']} is cancelled: nothing to accept"

    second = _offer(market, listing_id, tmp_path / "p.json")
    market("offer", "cancel", "--all", "--account", "bob", "--yes")
    line = market.fails("offer", "accept", second["id"], "--account", "alice", "--yes")
    assert "is cancelled" in line


def test_bad_offer_input(market: Market, tmp_path: Path) -> None:
    listing_id = _list(market)
    made = _offer(market, listing_id, tmp_path / "o.json")
    line = market.fails("offer", "accept", str(tmp_path / "missing.json"), "--account", "alice")
    assert "is neither an offer file" in line
    tampered = dict(made, price=str(ETHER // 2))
    (tmp_path / "t.json").write_text(json.dumps(tampered))
    line = market.fails("offer", "accept", str(tmp_path / "t.json"), "--account", "alice")
    assert "is not this offer's id" in line and line.startswith("error: ")
    (tmp_path / "n.json").write_text("{not json")
    assert "is not JSON" in market.fails("offer", "show", str(tmp_path / "n.json"))
    line = market.fails("offer", "make", listing_id, "--price", "0eth", "--account", "bob")
    assert "price must be above 0" in line
    line = market.fails("offer", "make", listing_id, "--price", "1eth", "--account", "alice")
    assert "your own listing" in line
    line = market.fails("offer", "make", listing_id, "--price", "1eth", "--expires-in", "soon")
    assert "invalid --expires-in" in line
    line = market.fails("offer", "accept", str(tmp_path / "o.json"), "--account", "bob", "--yes")
    assert "only its seller can accept" in line
    assert "give one offer, or --all" in market.fails("offer", "cancel", "--account", "bob")


def _stablecoin(market: Market) -> str:
    """A TUSD (EIP-2612, 6 decimals) with 1,000 for bob."""
    from p2pchain.compiler._artifacts import load_artifact
    from p2pchain.market._client import MarketplaceClient

    w3 = market.chain.w3
    deployer = market.chain.accounts[8]
    client = MarketplaceClient.connect(market.chain, account=deployer)
    artifact = load_artifact("PermitToken", test=True)
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor("Test Dollar", "TUSD", 6).data_in_transaction
    token = client.sender.send(deployer, {"data": data})["contractAddress"]
    assert token is not None
    contract = w3.eth.contract(address=token, abi=list(artifact.abi))
    mint = contract.encode_abi("mint", [market.addresses["bob"], 1_000 * 10**6])
    client.sender.send(deployer, {"to": token, "data": mint})
    client.close()
    return str(token)


def test_stablecoin_offer_and_purchase_need_no_approve(market: Market, tmp_path: Path) -> None:
    """With an EIP-2612 token the offer carries a permit, and `trade buy` sends one transaction:
    bob's nonce moves by one per purchase, and no approve is ever sent."""
    token = _stablecoin(market)
    w3 = market.chain.w3
    bob = market.addresses["bob"]
    listing_id = _list(market, "40TUSD", "--token", token)
    nonce = w3.eth.get_transaction_count(bob)
    made = _offer(market, listing_id, tmp_path / "o.json", price="36TUSD")
    assert made["permit"] is not None and made["permit"]["value"] == str(36 * 10**6)
    assert w3.eth.get_transaction_count(bob) == nonce  # signing only
    out = json.loads(
        market("offer", "accept", str(tmp_path / "o.json"), "--account", "alice", "--yes",
               "--json").stdout
    )  # fmt: skip
    assert out["amount"] == str(36 * 10**6)

    second = _list(market, "40TUSD", "--token", token)
    market("trade", "buy", second, "--account", "bob", "--yes", "--quiet")
    assert w3.eth.get_transaction_count(bob) == nonce + 1  # the purchase, with its permit
    erc20 = w3.eth.contract(
        address=token,
        abi=[
            {"type": "function", "name": "balanceOf", "stateMutability": "view",
             "inputs": [{"name": "a", "type": "address"}],
             "outputs": [{"name": "", "type": "uint256"}]},
        ],
    )  # fmt: skip
    assert erc20.functions.balanceOf(bob).call() == (1_000 - 36 - 40) * 10**6


def test_stablecoin_offer_without_permit_approves_first(market: Market, tmp_path: Path) -> None:
    """`offer make --no-permit`: the offer carries no permit, so bob approves the marketplace for
    its total (one transaction) and the offer shows approved and is accepted."""
    token = _stablecoin(market)
    w3 = market.chain.w3
    bob = market.addresses["bob"]
    listing_id = _list(market, "40TUSD", "--token", token)
    nonce = w3.eth.get_transaction_count(bob)
    file = tmp_path / "o.json"
    result = market(
        "offer", "make", listing_id, "--price", "36TUSD", "--account", "bob", "--out", str(file),
        "--no-permit", "--yes", "--json",
    )  # fmt: skip
    made = json.loads(result.stdout)
    assert made["permit"] is None
    assert w3.eth.get_transaction_count(bob) == nonce + 1  # the approve
    shown = json.loads(market("offer", "show", str(file), "--json").stdout)
    assert shown["state"]["approved"] is True and shown["state"]["funded"] is True
    out = json.loads(
        market("offer", "accept", str(file), "--account", "alice", "--yes", "--json").stdout
    )
    assert out["amount"] == str(36 * 10**6)


def _plain_token_approved_to_permit2(market: Market) -> str:
    """A token without EIP-2612 (TestERC20, 18 decimals) with 1,000 for bob, who approved it to
    Permit2 once (as wallets do), never to the marketplace."""
    from p2pchain.chain._permit2 import PERMIT2_ADDRESS
    from p2pchain.compiler._artifacts import load_artifact
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.wallet._wallet import Wallet

    from .conftest import PASSPHRASE, TEST_SCRYPT_N

    w3 = market.chain.w3
    deployer = market.chain.accounts[8]
    client = MarketplaceClient.connect(market.chain, account=deployer)
    artifact = load_artifact("TestERC20", test=True)
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    data = factory.constructor("Plain Dollar", "PUSD").data_in_transaction
    token = client.sender.send(deployer, {"data": data})["contractAddress"]
    assert token is not None
    contract = w3.eth.contract(address=token, abi=list(artifact.abi))
    bob = market.addresses["bob"]
    client.sender.send(deployer, {"to": token, "data": contract.encode_abi("mint", [bob, 10**21])})
    bob_account = Wallet(kdf_iterations=TEST_SCRYPT_N).load_account("bob", PASSPHRASE)
    approve = contract.encode_abi("approve", [PERMIT2_ADDRESS, 2**256 - 1])
    client.sender.send(bob_account, {"to": token, "data": approve})
    client.close()
    return str(token)


def test_permit2_token_offer_and_purchase_need_no_approve(market: Market, tmp_path: Path) -> None:
    """A token without EIP-2612 that bob approved to Permit2: the offer carries a Permit2 permit
    and `trade buy` sends one transaction, with no approve for the marketplace."""
    token = _plain_token_approved_to_permit2(market)
    w3 = market.chain.w3
    bob = market.addresses["bob"]
    listing_id = _list(market, "40PUSD", "--token", token)
    nonce = w3.eth.get_transaction_count(bob)
    made = _offer(market, listing_id, tmp_path / "o.json", price="36PUSD")
    assert made["permit"] is not None and made["permit"]["v"] == 0
    assert int(made["permit"]["value"]) % 2**160 == 36 * 10**18
    shown = market("offer", "show", str(tmp_path / "o.json")).stdout
    assert "Permit2, included (no approve needed)" in shown, shown
    out = json.loads(
        market("offer", "accept", str(tmp_path / "o.json"), "--account", "alice", "--yes",
               "--json").stdout
    )  # fmt: skip
    assert out["amount"] == str(36 * 10**18)
    second = _list(market, "40PUSD", "--token", token)
    market("trade", "buy", second, "--account", "bob", "--yes", "--quiet")
    assert w3.eth.get_transaction_count(bob) == nonce + 1  # the purchase, with its permit
