"""Sending transactions: always signed locally and sent raw (``eth_sendRawTransaction``).

Nodes never hold our keys, so the same code works on a dev chain and on a real network.
"""

from __future__ import annotations

from typing import Any, cast

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import TimeExhausted, Web3Exception
from web3.types import TxParams, TxReceipt, Wei

from p2pchain._errors import ChainError

#: Extra gas on top of ``eth_estimateGas`` (estimates can be tight when state changes).
GAS_MARGIN = 1.2
#: Priority fee used when the node cannot suggest one.
FALLBACK_PRIORITY_FEE = Web3.to_wei(1, "gwei")


def fill_transaction(w3: Web3, account: LocalAccount, tx: TxParams) -> TxParams:
    """Complete ``tx`` with sender, chain id, nonce, EIP-1559 fees and gas.

    Fields already present are kept. Gas is ``eth_estimateGas`` times :data:`GAS_MARGIN`; the
    fee cap is twice the latest base fee plus the node's suggested priority fee.

    Args:
        w3: Connection to the chain.
        account: The signer; ``from`` must be its address if given.
        tx: Partial transaction (``to``, ``data``, ``value``...).

    Returns:
        A new, complete transaction dict.

    Raises:
        ChainError: ``from`` differs from the signer.
        web3.exceptions.ContractLogicError: The call reverts during gas estimation.
    """
    filled: dict[str, Any] = dict(tx)
    sender = filled.setdefault("from", account.address)
    if Web3.to_checksum_address(sender) != account.address:
        raise ChainError(f"transaction 'from' {sender} is not the signer {account.address}")
    if "chainId" not in filled:
        filled["chainId"] = w3.eth.chain_id
    if "nonce" not in filled:
        filled["nonce"] = w3.eth.get_transaction_count(account.address, "pending")
    if "gasPrice" not in filled and "maxFeePerGas" not in filled:
        base_fee = w3.eth.get_block("latest").get("baseFeePerGas")
        if base_fee is None:
            filled["gasPrice"] = w3.eth.gas_price
        else:
            priority = filled.get("maxPriorityFeePerGas")
            if priority is None:
                try:
                    priority = w3.eth.max_priority_fee
                except (Web3Exception, ValueError, NotImplementedError):  # method not offered
                    priority = FALLBACK_PRIORITY_FEE
                filled["maxPriorityFeePerGas"] = priority
            filled["maxFeePerGas"] = Wei(2 * int(base_fee) + int(priority))
    if "gas" not in filled:
        estimate = w3.eth.estimate_gas(cast(TxParams, filled))
        filled["gas"] = int(estimate * GAS_MARGIN)
    return cast(TxParams, filled)


def send_transaction(
    w3: Web3,
    account: LocalAccount,
    tx: TxParams,
    *,
    timeout: float = 120.0,
    require_success: bool = True,
) -> TxReceipt:
    """Fill, sign locally, send raw and wait for the receipt.

    Args:
        w3: Connection to the chain.
        account: The signer.
        tx: Partial transaction; see :func:`fill_transaction`.
        timeout: Seconds to wait for the receipt.
        require_success: Raise if the transaction reverted (status 0).

    Returns:
        The mined transaction's receipt.

    Raises:
        ChainError: The transaction reverted (with ``require_success``) or was not mined in
            time.
        web3.exceptions.ContractLogicError: It reverts already during gas estimation.
    """
    filled = fill_transaction(w3, account, tx)
    signed = account.sign_transaction(cast(dict[str, Any], filled))
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05)
    except TimeExhausted as exc:
        raise ChainError(f"transaction {tx_hash.to_0x_hex()} not mined in {timeout:.0f}s") from exc
    if require_success and receipt["status"] != 1:
        raise ChainError(f"transaction {tx_hash.to_0x_hex()} reverted")
    return receipt
