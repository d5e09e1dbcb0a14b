"""Uniswap's Permit2: signed allowances for any ERC-20, and its code on dev chains.

Permit2 lives at :data:`PERMIT2_ADDRESS` on every chain that has it. A holder approves a token to
it once; after that, a ``PermitSingle`` signed off-chain (EIP-712, domain ``Permit2``, no
version) gives a spender an allowance there: an amount, an expiration and a nonce that counts
per (owner, token, spender). The escrows take such a permit in the ``Permit`` struct with
``v == 0`` (see ``MarketplaceTypes.sol``): ``value`` packs ``nonce << 160 | amount``, ``deadline``
is both the signature's deadline and the allowance's expiration, and ``r``/``s`` are the EIP-2098
compact signature. :func:`permit2_permit` builds that struct from a signature.

The code is Permit2's runtime, copied from the npm package ``@uniswap/v4-periphery``
(``lib/permit2/test/utils/DeployPermit2.sol``, the bytes Uniswap's own tests etch at the
canonical address) into ``permit2.json``, with its two cached immutables set as the canonical
deployment has them (:func:`permit2_runtime`). Dev chains carry it at the canonical address
(``EmbeddedChain`` from genesis; ``RpcChain.install_permit2`` on Anvil and Ganache), as a real
chain has it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from eth_typing import ChecksumAddress, HexAddress, HexStr
from eth_utils import keccak, to_checksum_address

from p2pchain.chain._offer_model import Permit

if TYPE_CHECKING:
    from web3 import Web3

#: Permit2's address (the same on every chain: a CREATE2 deployment).
PERMIT2_ADDRESS = ChecksumAddress(HexAddress(HexStr("0x000000000022D473030F116dDEE9F6B43aC78BA3")))

#: The largest amount and expiration a Permit2 allowance holds.
MAX_AMOUNT = 2**160 - 1
MAX_EXPIRATION = 2**48 - 1

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

#: EIP-712 types of an allowance permit (``IAllowanceTransfer.PermitSingle``).
PERMIT_SINGLE_TYPES: dict[str, list[dict[str, str]]] = {
    "PermitSingle": [
        {"name": "details", "type": "PermitDetails"},
        {"name": "spender", "type": "address"},
        {"name": "sigDeadline", "type": "uint256"},
    ],
    "PermitDetails": [
        {"name": "token", "type": "address"},
        {"name": "amount", "type": "uint160"},
        {"name": "expiration", "type": "uint48"},
        {"name": "nonce", "type": "uint48"},
    ],
}


def _params(spec: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in filter(None, spec.split(",")):
        kind, name = item.split()
        if kind == "PermitSingle":
            details = _params("address token,uint160 amount,uint48 expiration,uint48 nonce")
            out.append(
                {
                    "name": name,
                    "type": "tuple",
                    "components": [
                        {"name": "details", "type": "tuple", "components": details},
                        *_params("address spender,uint256 sigDeadline"),
                    ],
                }
            )
        else:
            out.append({"name": name, "type": kind})
    return out


#: The part of Permit2's ABI p2pchain uses (the allowance functions and their errors).
PERMIT2_ABI: list[dict[str, Any]] = [
    *(
        {
            "type": "function",
            "name": name,
            "stateMutability": mutability,
            "inputs": _params(inputs),
            "outputs": _params(outputs),
        }
        for name, inputs, outputs, mutability in (
            ("permit", "address owner,PermitSingle permitSingle,bytes signature", "", "nonpayable"),
            (
                "transferFrom",
                "address from,address to,uint160 amount,address token",
                "",
                "nonpayable",
            ),
            (
                "approve",
                "address token,address spender,uint160 amount,uint48 expiration",
                "",
                "nonpayable",
            ),
            ("invalidateNonces", "address token,address spender,uint48 newNonce", "", "nonpayable"),
            (
                "allowance",
                "address owner,address token,address spender",
                "uint160 amount,uint48 expiration,uint48 nonce",
                "view",
            ),
            ("DOMAIN_SEPARATOR", "", "bytes32 separator", "view"),
        )
    ),
    *(
        {"type": "error", "name": name, "inputs": _params(inputs)}
        for name, inputs in (
            ("AllowanceExpired", "uint256 deadline"),
            ("InsufficientAllowance", "uint256 amount"),
            ("InvalidNonce", ""),
            ("SignatureExpired", "uint256 signatureDeadline"),
            ("InvalidSigner", ""),
        )
    ),
]


@cache
def _shipped() -> dict[str, Any]:
    text = resources.files("p2pchain.chain").joinpath("permit2.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def package_runtime() -> bytes:
    """The runtime code exactly as the npm package ships it (checked against its code hash)."""
    data = _shipped()
    code = bytes.fromhex(data["runtime"].removeprefix("0x"))
    if "0x" + keccak(code).hex() != data["codehash"]:
        raise RuntimeError("permit2.json: the runtime code does not match its code hash")
    return code


@cache
def permit2_runtime() -> bytes:
    """Permit2's runtime code as the canonical deployment holds it: the package's, with its two
    immutables (the chain id and EIP-712 domain separator it cached when it was created) set to
    the canonical deployment's. The package's were cached by a test deployment on chain 31337 at
    another address, which would make Permit2 sign-checks on chain 31337 use that address."""
    code = bytearray(package_runtime())
    for item in _shipped()["immutables"]:
        at = int(item["offset"])
        old = bytes.fromhex(item["package"].removeprefix("0x"))
        if code[at - 1] != 0x7F or bytes(code[at : at + 32]) != old:  # PUSH32 <value>
            raise RuntimeError(f"permit2.json: {item['name']} is not where it says")
        code[at : at + 32] = bytes.fromhex(item["canonical"].removeprefix("0x"))
    return bytes(code)


def canonical_domain_separator(chain_id: int) -> bytes:
    """Permit2's EIP-712 domain separator on ``chain_id`` (name "Permit2", no version)."""
    from eth_abi import encode

    type_hash = keccak(text="EIP712Domain(string name,uint256 chainId,address verifyingContract)")
    return keccak(
        encode(
            ["bytes32", "bytes32", "uint256", "address"],
            [type_hash, keccak(text="Permit2"), chain_id, PERMIT2_ADDRESS],
        )
    )


def permit2_source() -> dict[str, str]:
    """Where the shipped code comes from: ``{package, version, file}``."""
    return dict(_shipped()["source"])


def has_permit2(w3: Web3) -> bool:
    """Whether the chain has Permit2's canonical code at :data:`PERMIT2_ADDRESS`."""
    return bytes(w3.eth.get_code(PERMIT2_ADDRESS)) == permit2_runtime()


def permit_single_typed_data(
    *,
    chain_id: int,
    token: str,
    amount: int,
    expiration: int,
    nonce: int,
    spender: str,
    sig_deadline: int,
) -> dict[str, Any]:
    """The EIP-712 typed data (``eth_signTypedData_v4``) of a Permit2 ``PermitSingle``."""
    if not 0 < amount <= MAX_AMOUNT:
        raise ValueError(f"a Permit2 amount is 1 to 2^160 - 1, not {amount}")
    if not 0 < expiration <= MAX_EXPIRATION or not 0 <= nonce <= MAX_EXPIRATION:
        raise ValueError("a Permit2 expiration and nonce fit in 48 bits")
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, **PERMIT_SINGLE_TYPES},
        "primaryType": "PermitSingle",
        "domain": {
            "name": "Permit2",
            "chainId": chain_id,
            "verifyingContract": PERMIT2_ADDRESS,
        },
        "message": {
            "details": {
                "token": to_checksum_address(token),
                "amount": amount,
                "expiration": expiration,
                "nonce": nonce,
            },
            "spender": to_checksum_address(spender),
            "sigDeadline": sig_deadline,
        },
    }


def permit2_permit(amount: int, nonce: int, deadline: int, signature: bytes) -> Permit:
    """The escrows' ``Permit`` (``v`` 0) for a ``PermitSingle`` of ``amount`` with ``nonce``,
    expiring and with a signature deadline at ``deadline``, from its 65-byte signature."""
    if len(signature) != 65:
        raise ValueError(f"a Permit2 signature is 65 bytes here, not {len(signature)}")
    v = signature[64]
    parity = (v - 27 if v >= 27 else v) & 1
    s = int.from_bytes(signature[32:64], "big") | (parity << 255)
    return Permit((nonce << 160) | amount, deadline, 0, signature[:32], s.to_bytes(32, "big"))


def sign_permit2(
    owner: Any,
    *,
    chain_id: int,
    token: str,
    amount: int,
    nonce: int,
    spender: str,
    deadline: int,
) -> Permit:
    """``owner``'s (an eth-account signer) Permit2 permit letting ``spender`` pull ``amount`` of
    ``token`` until ``deadline`` (the signature's deadline and the allowance's expiration), as
    the escrows' ``Permit`` (``v`` 0)."""
    typed = permit_single_typed_data(
        chain_id=chain_id,
        token=token,
        amount=amount,
        expiration=deadline,
        nonce=nonce,
        spender=spender,
        sig_deadline=deadline,
    )
    signature = bytes(owner.sign_typed_data(full_message=typed).signature)
    return permit2_permit(amount, nonce, deadline, signature)


def unpack_permit2(permit: Permit) -> tuple[int, int]:
    """``(amount, nonce)`` of a Permit2 permit (``v`` 0)."""
    return permit.value & MAX_AMOUNT, (permit.value >> 160) & MAX_EXPIRATION


__all__ = [
    "MAX_AMOUNT",
    "MAX_EXPIRATION",
    "PERMIT2_ABI",
    "PERMIT2_ADDRESS",
    "PERMIT_SINGLE_TYPES",
    "canonical_domain_separator",
    "has_permit2",
    "package_runtime",
    "permit2_permit",
    "permit2_runtime",
    "permit2_source",
    "permit_single_typed_data",
    "sign_permit2",
    "unpack_permit2",
]
