"""The dev chains: accounts, clock, snapshots, raw transactions, process lifecycle."""

from __future__ import annotations

import os

import pytest
from web3 import Web3
from web3.types import Wei

from p2pchain._errors import ChainError
from p2pchain.chain._nodes import (
    ANVIL_CHAIN_ID,
    DEV_BALANCE_ETHER,
    GANACHE_CHAIN_ID,
    AnvilChain,
    DevChain,
    GanacheChain,
    RpcChain,
    dev_accounts,
    open_chain,
)
from p2pchain.chain._tx import send_transaction

# m/44'/60'/0'/0/{0,1} of "test test ... junk": the addresses every Ethereum dev tool shows.
DEV_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV_ADDRESS_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_dev_accounts_are_the_standard_mnemonic_keys() -> None:
    accounts = dev_accounts()
    assert len(accounts) == 10
    assert [a.address for a in accounts[:2]] == [DEV_ADDRESS_0, DEV_ADDRESS_1]


def test_chain_funds_the_dev_accounts(dev_chain: DevChain) -> None:
    assert dev_chain.chain_id == dev_chain.w3.eth.chain_id
    for account in dev_chain.accounts:
        balance = dev_chain.w3.eth.get_balance(account.address)
        assert balance > Web3.to_wei(DEV_BALANCE_ETHER // 2, "ether")


def test_chain_accepts_locally_signed_raw_transactions(dev_chain: DevChain) -> None:
    sender, receiver = dev_chain.accounts[8], dev_chain.accounts[9]
    before = dev_chain.w3.eth.get_balance(receiver.address)
    receipt = send_transaction(
        dev_chain.w3, sender, {"to": receiver.address, "value": Web3.to_wei(1, "ether")}
    )
    assert receipt["status"] == 1
    assert dev_chain.w3.eth.get_balance(receiver.address) - before == Web3.to_wei(1, "ether")


def test_chain_increase_time_moves_the_next_block(dev_chain: DevChain) -> None:
    start = dev_chain.latest_timestamp()
    dev_chain.increase_time(3600)
    dev_chain.mine()
    assert dev_chain.latest_timestamp() >= start + 3600


def test_chain_set_next_timestamp_is_exact(dev_chain: DevChain) -> None:
    target = dev_chain.latest_timestamp() + 86_400
    dev_chain.set_next_timestamp(target)
    dev_chain.mine()
    assert dev_chain.latest_timestamp() == target
    with pytest.raises(ChainError):
        dev_chain.set_next_timestamp(target - 10)


def test_chain_snapshot_and_revert_restore_state(dev_chain: DevChain) -> None:
    sender, receiver = dev_chain.accounts[7], dev_chain.accounts[6]
    block = dev_chain.w3.eth.block_number
    balance = dev_chain.w3.eth.get_balance(receiver.address)
    snapshot = dev_chain.snapshot()
    send_transaction(dev_chain.w3, sender, {"to": receiver.address, "value": Wei(12345)})
    dev_chain.mine(2)
    assert dev_chain.w3.eth.block_number == block + 3
    dev_chain.revert(snapshot)
    assert dev_chain.w3.eth.block_number == block
    assert dev_chain.w3.eth.get_balance(receiver.address) == balance


def test_rpc_chain_reaches_a_running_node(anvil_chain: AnvilChain) -> None:
    chain = open_chain(anvil_chain.url)
    assert isinstance(chain, RpcChain)
    assert chain.chain_id == ANVIL_CHAIN_ID
    assert chain.latest_timestamp() > 0


def test_open_chain_rejects_unknown_names() -> None:
    with pytest.raises(ChainError, match="unknown network 'mainnet'"):
        open_chain("mainnet")


@pytest.mark.parametrize("node", [AnvilChain, GanacheChain])
def test_node_process_stops_by_pid(node: type[AnvilChain | GanacheChain]) -> None:
    chain = node()
    pid = chain.pid
    assert pid is not None and _alive(pid)
    assert chain.url.startswith("http://127.0.0.1:")
    with chain:
        assert chain.w3.eth.chain_id in (ANVIL_CHAIN_ID, GANACHE_CHAIN_ID)
    assert not _alive(pid)
    chain.stop()  # idempotent


def test_node_start_failure_reports_the_log_tail() -> None:
    with pytest.raises(ChainError) as info:
        AnvilChain(extra_args=["--no-such-option"])
    message = str(info.value)
    assert "anvil exited" in message and "--no-such-option" in message
    assert "\n" not in message
