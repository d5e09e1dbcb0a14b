"""Transaction fees (EIP-1559 caps or a legacy gas price) and the sender's policy: how it picks
fees and gas, retries and waits."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

GWEI = 10**9


# --------------------------------------------------------------------------------------------
# fees


@dataclass(frozen=True)
class Fees:
    """Fee fields of a transaction: EIP-1559 caps, or a legacy gas price.

    Attributes:
        max_fee_per_gas: EIP-1559 ``maxFeePerGas`` (wei).
        max_priority_fee_per_gas: EIP-1559 ``maxPriorityFeePerGas`` (wei).
        gas_price: Legacy ``gasPrice`` (wei); when set, the EIP-1559 fields are unused.
    """

    max_fee_per_gas: int = 0
    max_priority_fee_per_gas: int = 0
    gas_price: int | None = None

    @property
    def legacy(self) -> bool:
        """Whether these are legacy (pre-EIP-1559) fees."""
        return self.gas_price is not None

    def as_params(self) -> dict[str, int]:
        """The transaction fields."""
        if self.gas_price is not None:
            return {"gasPrice": self.gas_price}
        return {
            "maxFeePerGas": self.max_fee_per_gas,
            "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
        }

    def bumped(self, factor: Fraction) -> Fees:
        """Every fee field multiplied by ``factor``, rounded up (for a replacement)."""

        def up(value: int) -> int:
            return math.ceil(Fraction(value) * factor)

        if self.gas_price is not None:
            return Fees(gas_price=up(self.gas_price))
        return Fees(up(self.max_fee_per_gas), up(self.max_priority_fee_per_gas))

    def at_least(self, other: Fees) -> Fees:
        """Field by field, the higher of ``self`` and ``other`` (same kind of fees)."""
        if self.gas_price is not None or other.gas_price is not None:
            return Fees(gas_price=max(self.gas_price or 0, other.gas_price or 0))
        priority = max(self.max_priority_fee_per_gas, other.max_priority_fee_per_gas)
        return Fees(max(self.max_fee_per_gas, other.max_fee_per_gas, priority), priority)

    @classmethod
    def of(cls, tx: Mapping[str, Any]) -> Fees:
        """The fees of a filled transaction."""
        if "gasPrice" in tx:
            return cls(gas_price=int(tx["gasPrice"]))
        return cls(int(tx["maxFeePerGas"]), int(tx["maxPriorityFeePerGas"]))


@dataclass(frozen=True)
class SenderPolicy:
    """How a :class:`TransactionSender` picks fees and gas, retries and waits.

    Attributes:
        gas_margin: Gas limit = estimate x this.
        base_fee_multiplier: ``maxFeePerGas`` = latest base fee x this + priority fee (2 keeps a
            transaction valid through six full blocks of base-fee increases).
        priority_fee: Priority fee (wei); None uses the node's suggestion.
        min_priority_fee: Floor under the node's suggestion (wei).
        fallback_priority_fee: Priority fee when the node suggests none (wei).
        legacy: Force legacy ``gasPrice`` transactions (True) or EIP-1559 (False); None picks
            legacy only on chains whose blocks have no base fee.
        fee_cache_seconds: How long a fee suggestion is reused.
        replacement_bump: Fee multiplier for a replacement (1.125: +12.5%, above geth's 10% rule
            and equal to the strictest rule in use).
        receipt_timeout: Default seconds to wait for a receipt.
        poll_interval: Seconds between receipt polls.
        rpc_attempts: Attempts for a request that fails with a connection error.
        retry_delay: First delay between attempts (seconds); doubles, at most 2 s.
        fallback_gas: Gas limit used when the pre-flight ``eth_call`` succeeds but the node cannot
            estimate (eth-tester estimates on the latest block, not the pending one).
        replace_after: Seconds without progress after which waits replace (speed up) stuck
            transactions; None: only on Anvil in automine mode (see
            :meth:`TransactionSender.stall_replacement`).
        rebroadcast_after: Seconds a wait goes without a receipt before it checks that the node
            still has the transaction, and sends the identical signed bytes again if it lost
            them (a restarted node, an evicted pool entry); None: never.
        rpc_timeout: Seconds to wait for one answer from the node, for connections that
            :meth:`MarketplaceClient.connect` opens from a URL.
    """

    gas_margin: float = 1.2
    base_fee_multiplier: int = 2
    priority_fee: int | None = None
    min_priority_fee: int = 0
    fallback_priority_fee: int = GWEI
    legacy: bool | None = None
    fee_cache_seconds: float = 1.0
    replacement_bump: Fraction = Fraction(9, 8)
    receipt_timeout: float = 120.0
    poll_interval: float = 0.02
    rpc_attempts: int = 6
    retry_delay: float = 0.1
    fallback_gas: int = 1_000_000
    replace_after: float | None = None
    rebroadcast_after: float | None = 10.0
    rpc_timeout: float = 30.0

    def __post_init__(self) -> None:
        for name in ("receipt_timeout", "poll_interval", "retry_delay", "rpc_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"SenderPolicy.{name} must be a positive number of seconds")
        if not isinstance(self.rpc_attempts, int) or self.rpc_attempts < 1:
            raise ValueError("SenderPolicy.rpc_attempts must be at least 1")


__all__ = [
    "GWEI",
    "Fees",
    "SenderPolicy",
]
