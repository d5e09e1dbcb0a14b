"""Prepared calls: one validated contract call, to check, send, submit, or hand to a wallet.

Every action of :class:`~p2pchain.market._client.MarketplaceClient` has a ``prepare_*`` form
that returns a :class:`PreparedCall`; :meth:`PreparedCall.submit` gives a :class:`PendingCall`
whose result is awaited later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3.types import TxReceipt

from p2pchain.chain._pending import PendingTransaction
from p2pchain.market._reads import MarketReader
from p2pchain.market._views import (
    UnsignedTransaction,
)

T = TypeVar("T")


class PreparedCall(Generic[T]):
    """One validated contract call, ready to be checked, sent, or handed to a wallet.

    Attributes:
        action: The contract function (``buy``, ``release``...).
        sender: Who will send it.
        to: The contract called.
        data: The calldata.
        value: Wei sent along.
        before: Calls that must be mined first (an ERC-20 approval before a purchase).
    """

    def __init__(
        self,
        client: MarketReader,
        *,
        action: str,
        sender: ChecksumAddress,
        to: ChecksumAddress,
        data: bytes,
        value: int,
        finish: Callable[[TxReceipt], T],
        before: Sequence[PreparedCall[Any]] = (),
    ) -> None:
        self._client = client
        self.action = action
        self.sender = sender
        self.to = to
        self.data = data
        self.value = value
        self._finish = finish
        self.before: tuple[PreparedCall[Any], ...] = tuple(before)

    def __repr__(self) -> str:
        return f"<PreparedCall {self.action} from {self.sender} value {self.value}>"

    @property
    def call(self) -> dict[str, Any]:
        """``from``, ``to``, ``data``, ``value``: the call without gas, fees or nonce."""
        return {"from": self.sender, "to": self.to, "data": self.data, "value": self.value}

    def check(self) -> None:
        """Simulate the call (``eth_call`` on the pending block); raise its typed revert.

        Skipped while :attr:`before` is not empty: the call can only succeed once those are mined.

        Raises:
            ContractRevert: It would revert.
        """
        if not self.before:
            self._client.sender.check(self.call, action=self.action)

    def unsigned(self, *, nonce: int | None = None) -> UnsignedTransaction:
        """The transaction for a wallet to sign: gas estimated (and so checked), fees suggested.

        Args:
            nonce: Include this nonce (wallets normally pick it themselves).

        Raises:
            ContractRevert: It would revert (when it can be simulated; see :meth:`check`).
        """
        sender = self._client.sender
        tx: dict[str, Any] = {
            "from": self.sender,
            "to": self.to,
            "data": HexBytes(self.data).to_0x_hex(),
            "value": self.value,
            "chainId": sender.chain_id,
        }
        if not self.before:
            tx["gas"] = sender.estimate_gas(self.call, action=self.action)
        tx.update(sender.suggest_fees().as_params())
        if nonce is not None:
            tx["nonce"] = int(nonce)
        return cast(UnsignedTransaction, tx)

    def transactions(self) -> list[UnsignedTransaction]:
        """Every transaction to sign and send, in order: :attr:`before`, then this one."""
        out: list[UnsignedTransaction] = []
        for call in self.before:
            out.extend(call.transactions())
        out.append(self.unsigned())
        return out

    def send(self, *, timeout: float | None = None) -> T:
        """Sign with the client's account, send, wait, and return the result.

        :attr:`before` calls are sent (and awaited) first.

        Raises:
            WalletError: The client's account is not :attr:`sender`.
            ContractRevert: It would revert (nothing sent) or reverted on-chain.
            TransactionError: It could not be sent or mined.
        """
        return self.submit().result(timeout=timeout)

    def submit(self) -> PendingCall[T]:
        """Sign and send without waiting for the receipt (the nonce manager pipelines).

        :attr:`before` calls are sent and awaited first.
        """
        account = self._client._signer(self.sender)
        for call in self.before:
            call.send()
        pending = self._client.sender.submit(account, self.call, action=self.action)
        return PendingCall(self, pending)

    def finish(self, receipt: TxReceipt) -> T:
        """Build the result from the mined receipt."""
        return self._finish(receipt)


class PendingCall(Generic[T]):
    """A sent :class:`PreparedCall` whose result can be awaited.

    Attributes:
        call: The call.
        pending: The transaction (hash, nonce; replaceable with the sender).
    """

    def __init__(self, call: PreparedCall[T], pending: PendingTransaction) -> None:
        self.call = call
        self.pending = pending

    @property
    def tx_hash(self) -> str:
        """The transaction hash (0x hex)."""
        return self.pending.tx_hash

    def result(self, *, timeout: float | None = None) -> T:
        """Wait for the receipt and return the call's result.

        Raises:
            ContractRevert: It reverted on-chain.
            TransactionTimeout: Not mined in time.
        """
        client = self.call._client
        receipt = client.sender.wait(self.pending, timeout=timeout)
        value = self.call.finish(receipt)
        client._verify([value])
        return value


__all__ = ["PendingCall", "PreparedCall"]
