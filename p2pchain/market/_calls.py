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

from p2pchain._errors import ChainError
from p2pchain.chain._pending import PendingTransaction, TransactionError
from p2pchain.chain._sender import intent_of
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
        intent: What the call does, as a key. While an earlier transaction with the same key
            has an unknown outcome, sending this call resumes that transaction instead of paying
            again (:meth:`resume`). By default the recipient, value and calldata; calls on a
            trade use the trade id and the action's own arguments, so a call prepared from a
            reloaded trade still matches.
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
        intent: bytes | None = None,
    ) -> None:
        self._client = client
        self.action = action
        self.sender = sender
        self.to = to
        self.data = data
        self.value = value
        self._finish = finish
        self.before: tuple[PreparedCall[Any], ...] = tuple(before)
        self.intent = intent if intent is not None else intent_of(to, value, data)

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

        :attr:`before` calls are sent and awaited first. An earlier transaction of this call
        whose outcome is unknown is resumed instead of a new one being signed (see
        :meth:`resume`).

        Raises:
            OutcomeUnknown: It may or may not have been sent (``err.pending``); sending the
                call again resumes it.
        """
        account = self._client._signer(self.sender)
        earlier = self.resume()
        if earlier is not None:
            return earlier
        for call in self.before:
            call.send()
        pending = self._client.sender.submit(
            account, self.call, action=self.action, intent=self.intent, resume=False
        )
        return PendingCall(self, pending)

    def resume(self) -> PendingCall[T] | None:
        """The earlier transaction of this same call, if its outcome is unknown; else None.

        The journal (and this process's memory) is reconciled against the chain first: a lost
        transaction is sent again byte for byte, a mined one comes back with its receipt. Wait
        for the result with :meth:`PendingCall.result`; nothing new is signed or paid.
        """
        pending = self._client.sender.adopt(self.sender, self.intent)
        return None if pending is None else PendingCall(self, pending)

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
            OutcomeUnknown: Not mined in time, or the node stopped answering (it may still be
                mined: call ``result`` again, or send the call again to resume it).
        """
        client = self.call._client
        receipt = client.sender.wait(self.pending, timeout=timeout)
        what = f"{self.pending.describe()} was mined in block {int(receipt['blockNumber'])}"
        return _built(what, lambda: _finish(self.call, receipt))


def _finish(call: PreparedCall[T], receipt: TxReceipt) -> T:
    call._client._learn_time(receipt)
    value = call.finish(receipt)
    call._client._verify([value])
    return value


def _built(what: str, build: Callable[[], T]) -> T:
    """The result of mined transactions; if reading it fails, say that they *were* mined.

    Args:
        what: ``transaction 0x... (...) was mined in block N``.
        build: Reads the result.
    """
    try:
        return build()
    except ChainError as exc:
        if isinstance(exc, TransactionError):
            raise
        raise ChainError(
            f"{what}, but reading the result failed ({exc}); nothing more will be sent for it"
        ) from exc


__all__ = ["PendingCall", "PreparedCall"]
