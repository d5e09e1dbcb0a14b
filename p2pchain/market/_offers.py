"""Buyers' offers and one-transaction ERC-20 payments (EIP-2612 and Permit2 permits).

An offer is a buyer's EIP-712 signature (no gas) over a listing's terms, a listing id, a price
per unit, a quantity, an expiry and the buyer's offer counter (see ``Offer`` in
``contracts/types/MarketplaceTypes.sol``). The seller accepts it with one transaction that pulls
the buyer's payment into escrow; from then on it is an ordinary trade.

How the buyer pays:

* ERC-20 with EIP-2612 (USDC-style tokens): the offer carries the buyer's permit, so neither side
  sends an ``approve``. A token is used this way only when its ``DOMAIN_SEPARATOR`` is the one the
  permit is signed for (version "1" or "2"), so a signature is never made that the token would
  refuse.
* other ERC-20s the buyer has approved to Uniswap's Permit2 (once per token, as many wallets
  already have): the offer carries a Permit2 permit (:func:`permit2_support`).
* any other ERC-20: an allowance the buyer gives beforehand (one ``approve``).
* ETH: the buyer's credit in the marketplace (``addCredit``), which the buyer can withdraw at any
  time (which leaves the offer unfunded: it then fails with ``OfferUnfunded``). A signature cannot
  move ETH, so an ETH offer is backed by ETH already held for it; the credit is the buyer's own
  and one deposit backs any number of offers. WETH would need a permit-less ``approve`` as well,
  and a second token for a person to hold.

An offer travels as a JSON document (:meth:`SignedOffer.to_json`, schema ``p2pchain/offer/1``):
a file, a message, or the HTTP API. :meth:`SignedOffer.from_json` validates every field and
recomputes the offer's id; the seller's client checks the buyer's signature before anything is
sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from p2pchain.chain._model import ZERO_ADDRESS, ListingTerms, eip712_digest
from p2pchain.chain._offer_model import NO_PERMIT, Offer, Permit, permit_typed_data
from p2pchain.market import _validation as check

if TYPE_CHECKING:
    from p2pchain.market._reads import MarketReader

ETH = ZERO_ADDRESS
SCHEMA = "p2pchain/offer/1"
#: Permit domain versions tried for a token (OpenZeppelin's "1", USDC's "2").
PERMIT_VERSIONS = ("1", "2")
#: Longest an offer may stay open.
MAX_OFFER_SECONDS = 90 * 86_400

_UINT = r"^(0|[1-9][0-9]{0,77})$"
_HEX32 = r"^0x[0-9a-fA-F]{64}$"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _TermsJson(_Strict):
    seller: Annotated[str, Field(pattern=_ADDRESS)]
    token: Annotated[str, Field(pattern=_ADDRESS)]
    price: Annotated[str, Field(pattern=_UINT)]
    deposit: Annotated[str, Field(pattern=_UINT)]
    arbitrator: Annotated[str, Field(pattern=_ADDRESS)]
    arbitratorFeeBps: Annotated[int, Field(ge=0, le=10_000)]
    reviewWindow: Annotated[int, Field(ge=0, lt=2**32)]
    expiry: Annotated[int, Field(ge=0, lt=2**40)]
    cidPrefix: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{16}$")]
    cidDigest: Annotated[str, Field(pattern=_HEX32)]


class _PermitJson(_Strict):
    """An EIP-2612 permit (``v`` 27 or 28), or a Permit2 one (``v`` 0: ``value`` packs the
    nonce over the amount, the deadline fits in 48 bits; see ``p2pchain.chain._permit2``)."""

    value: Annotated[str, Field(pattern=_UINT)]
    deadline: Annotated[int, Field(gt=0, lt=2**64)]
    v: Literal[0, 27, 28]
    r: Annotated[str, Field(pattern=_HEX32)]
    s: Annotated[str, Field(pattern=_HEX32)]

    @model_validator(mode="after")
    def _permit2_fits(self) -> _PermitJson:
        if self.v == 0:
            if self.deadline >= 2**48:
                raise ValueError("a Permit2 permit's deadline fits in 48 bits")
            if int(self.value) >= 2**208 or int(self.value) % 2**160 == 0:
                raise ValueError("a Permit2 permit's value is nonce << 160 | amount, amount > 0")
        return self


class OfferJson(_Strict):
    """The wire form of a signed offer (``p2pchain/offer/1``); every field checked."""

    schema_: Literal["p2pchain/offer/1"] = Field(alias="schema")
    chainId: Annotated[int, Field(gt=0, lt=2**64)]
    marketplace: Annotated[str, Field(pattern=_ADDRESS)]
    listingId: Annotated[str, Field(pattern=_HEX32)]
    terms: _TermsJson
    buyer: Annotated[str, Field(pattern=_ADDRESS)]
    quantity: Annotated[int, Field(gt=0, lt=2**32)]
    price: Annotated[str, Field(pattern=_UINT)]
    expiry: Annotated[int, Field(gt=0, lt=2**40)]
    counter: Annotated[int, Field(ge=0, lt=2**64)]
    salt: Annotated[str, Field(pattern=_HEX32)]
    signature: Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{130})?$")]
    permit: _PermitJson | None = None
    id: Annotated[str | None, Field(pattern=_HEX32)] = None

    @field_validator("price")
    @classmethod
    def _positive(cls, value: str) -> str:
        if int(value) == 0:
            raise ValueError("the price must be above 0")
        return value


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


@dataclass(frozen=True)
class SignedOffer:
    """An offer and the buyer's signature, bound to one chain and marketplace.

    Attributes:
        offer: What the buyer offers.
        signature: The buyer's signature over it (65 bytes; empty for a contract wallet that
            approves the digest itself, ERC-1271).
        permit: The buyer's EIP-2612 permit for the payment, or None.
        chain_id: The chain it is signed for.
        marketplace: The marketplace it is signed for.
        id: The offer's id: the EIP-712 digest (also its trade's id once accepted).
    """

    offer: Offer
    signature: bytes
    permit: Permit | None
    chain_id: int
    marketplace: str
    id: bytes

    @property
    def total(self) -> int:
        """What accepting it takes from the buyer (offered price and deposit, per unit)."""
        return self.offer.total

    def to_json(self) -> dict[str, Any]:
        """The ``p2pchain/offer/1`` document (hex strings for bytes, decimal strings for amounts)."""
        o, t = self.offer, self.offer.terms
        permit = self.permit
        return {
            "schema": SCHEMA,
            "chainId": self.chain_id,
            "marketplace": self.marketplace,
            "listingId": _hex(o.listing_id),
            "terms": t.to_json(),
            "buyer": o.buyer,
            "quantity": o.quantity,
            "price": str(o.price),
            "expiry": o.expiry,
            "counter": o.counter,
            "salt": _hex(o.salt),
            "signature": _hex(self.signature),
            "permit": None
            if permit is None
            else {
                "value": str(permit.value),
                "deadline": permit.deadline,
                "v": permit.v,
                "r": _hex(permit.r),
                "s": _hex(permit.s),
            },
            "id": _hex(self.id),
        }

    @classmethod
    def from_json(cls, data: Any) -> SignedOffer:
        """Read a ``p2pchain/offer/1`` document; the id is recomputed, never trusted.

        The signature is not checked against the buyer here (that needs the chain for contract
        wallets): :meth:`p2pchain.MarketplaceClient.check_offer` does.

        Raises:
            InputError: A missing, extra or malformed field (named), or an ``id`` that is not
                the offer's.
        """
        try:
            doc = OfferJson.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the offer"
            raise check.InputError(f"offer: {where}: {first['msg']}") from None
        t = doc.terms
        terms = ListingTerms(
            seller=to_checksum_address(t.seller),
            token=to_checksum_address(t.token),
            price=int(t.price),
            deposit=int(t.deposit),
            arbitrator=to_checksum_address(t.arbitrator),
            arbitrator_fee_bps=t.arbitratorFeeBps,
            review_window=t.reviewWindow,
            expiry=t.expiry,
            cid_prefix=bytes.fromhex(t.cidPrefix[2:]),
            cid_digest=bytes.fromhex(t.cidDigest[2:]),
        )
        offer = Offer(
            terms=terms,
            listing_id=bytes.fromhex(doc.listingId[2:]),
            buyer=to_checksum_address(doc.buyer),
            quantity=doc.quantity,
            price=int(doc.price),
            expiry=doc.expiry,
            counter=doc.counter,
            salt=bytes.fromhex(doc.salt[2:]),
        )
        permit = None
        if doc.permit is not None:
            p = doc.permit
            permit = Permit(
                int(p.value), p.deadline, p.v, bytes.fromhex(p.r[2:]), bytes.fromhex(p.s[2:])
            )
        marketplace = to_checksum_address(doc.marketplace)
        digest = offer.digest(chain_id=doc.chainId, marketplace=marketplace)
        if doc.id is not None and bytes.fromhex(doc.id[2:]) != digest:
            raise check.InputError(f"offer: id {doc.id} is not this offer's id {_hex(digest)}")
        return cls(
            offer=offer,
            signature=bytes.fromhex(doc.signature[2:]),
            permit=permit,
            chain_id=doc.chainId,
            marketplace=marketplace,
            id=digest,
        )


# ---------------------------------------------------------------------------------- permits


def _domain_separator(name: str, version: str, chain_id: int, token: str) -> bytes:
    from eth_abi import encode

    type_hash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [type_hash, keccak(text=name), keccak(text=version), chain_id, token],
        )
    )


def _permit_reads(
    reader: MarketReader, token: str, owner: str, spender: str
) -> dict[str, Any] | None:
    """Every read a permit may need, in one JSON-RPC batch: the token's ``name``,
    ``DOMAIN_SEPARATOR`` and ``nonces(owner)`` (EIP-2612), and Permit2's code, the token's
    allowance for Permit2 and Permit2's allowance record (Permit2). A read that fails is None.
    None when the node takes no batches, or garbles this one (the two checks then read one by
    one)."""
    from p2pchain.chain._permit2 import PERMIT2_ABI, PERMIT2_ADDRESS
    from p2pchain.market._reads import _Codec, _raw_result

    if not reader.sender.batching:
        return None
    codec, permit2 = _Codec(_PERMIT_ABI), _Codec(PERMIT2_ABI)
    calls = [
        ("name", token, codec.encode("name"), codec),
        ("DOMAIN_SEPARATOR", token, codec.encode("DOMAIN_SEPARATOR"), codec),
        ("nonces", token, codec.encode("nonces", owner), codec),
        (
            "allowance",
            token,
            reader._erc20.encode("allowance", owner, PERMIT2_ADDRESS),
            reader._erc20,
        ),
        ("allowance", PERMIT2_ADDRESS, permit2.encode("allowance", owner, token, spender), permit2),
    ]
    requests: list[tuple[str, Sequence[Any]]] = [
        ("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for _, to, data, _ in calls
    ]
    requests.append(("eth_getCode", [PERMIT2_ADDRESS, "latest"]))
    try:
        answers = reader.sender.retry(
            "a batch of permit reads", lambda: reader.sender.batch(requests)
        )
    except Exception:  # noqa: BLE001 - a node that garbles batches: read one by one instead
        return None
    out: list[Any] = []
    for (name, _, _, c), answer in zip(calls, answers, strict=False):
        try:
            out.append(c.decode(name, _raw_result(answer)))
        except Exception:  # noqa: BLE001 - a revert or bad data: that function is not there
            out.append(None)
    try:
        code = bytes.fromhex(str(_raw_result(answers[-1], hexed=False))[2:])
    except Exception:  # noqa: BLE001 - no answer: no Permit2
        code = b""
    keys = ("name", "separator", "nonce", "permit2_approval", "permit2_allowance")
    return {**dict(zip(keys, out, strict=True)), "permit2_code": code}


def permit_support(
    reader: MarketReader, token: str, owner: str, *, reads: dict[str, Any] | None = None
) -> tuple[str, str, int] | None:
    """``(name, version, nonce)`` if ``token`` takes EIP-2612 permits we can sign, else None.

    The token's ``DOMAIN_SEPARATOR`` must equal the one computed from its ``name``, a version
    in :data:`PERMIT_VERSIONS`, the chain and its address; a token without these functions, or
    with another domain, is paid by ``approve``. ``reads``: what :func:`_permit_reads` read.
    """
    from p2pchain.market._reads import _Codec

    codec = _Codec(_PERMIT_ABI)
    token = to_checksum_address(token)
    try:
        if reads is not None:
            if reads["name"] is None or reads["separator"] is None or reads["nonce"] is None:
                return None
            name, separator = str(reads["name"][0]), bytes(reads["separator"][0])
            nonce = int(reads["nonce"][0])
        else:
            name = str(reader._eth_call(token, codec.encode("name"), "name", codec)[0])
            separator = bytes(
                reader._eth_call(
                    token, codec.encode("DOMAIN_SEPARATOR"), "DOMAIN_SEPARATOR", codec
                )[0]
            )
            nonce = int(reader._eth_call(token, codec.encode("nonces", owner), "nonces", codec)[0])
    except Exception:  # noqa: BLE001 - any failure (revert, no code, bad data) means no permit
        return None
    for version in PERMIT_VERSIONS:
        if _domain_separator(name, version, reader.chain_id, token) == separator:
            return name, version, nonce
    return None


def permit2_support(
    reader: MarketReader,
    token: str,
    owner: str,
    spender: str,
    value: int,
    *,
    reads: dict[str, Any] | None = None,
) -> int | None:
    """Permit2's next nonce for ``owner``'s allowance of ``token`` to ``spender``, if a Permit2
    permit can pay ``value``: Permit2's canonical code is on the chain and ``owner`` approved
    ``token`` to it for at least ``value``. Else None. ``reads``: what :func:`_permit_reads`
    read."""
    from p2pchain.chain._permit2 import (
        MAX_AMOUNT,
        PERMIT2_ABI,
        PERMIT2_ADDRESS,
        has_permit2,
        permit2_runtime,
    )
    from p2pchain.market._reads import _Codec

    if not 0 < value <= MAX_AMOUNT:
        return None
    try:
        if reads is not None:
            if reads["permit2_code"] != permit2_runtime() or reads["permit2_approval"] is None:
                return None
            if int(reads["permit2_approval"][0]) < value or reads["permit2_allowance"] is None:
                return None
            return int(reads["permit2_allowance"][2])
        if not reader.sender.retry("eth_getCode", lambda: has_permit2(reader.w3)):
            return None
        data = reader._erc20.encode("allowance", owner, PERMIT2_ADDRESS)
        if int(reader._eth_call(token, data, "allowance")[0]) < value:
            return None
        codec = _Codec(PERMIT2_ABI)
        call = codec.encode("allowance", owner, token, spender)
        return int(reader._eth_call(PERMIT2_ADDRESS, call, "allowance", codec)[2])
    except Exception:  # noqa: BLE001 - any failure (revert, no code, bad data) means no permit
        return None


def sign_permit(
    reader: MarketReader,
    token: str,
    value: int,
    deadline: int,
    *,
    owner: Any,
    spender: str | None = None,
) -> Permit | None:
    """``owner``'s permit letting the marketplace (or ``spender``: the Bookings contract) pull
    ``value`` of ``token``: the token's own EIP-2612 permit, or else a Permit2 permit when the
    owner approved the token to Permit2 (:func:`permit2_support`). None if neither can be signed."""
    to = spender or reader.deployment.marketplace
    token = to_checksum_address(token)
    reads = _permit_reads(reader, token, owner.address, to)
    found = permit_support(reader, token, owner.address, reads=reads)
    if found is None:
        return _sign_permit2(reader, token, value, deadline, owner=owner, spender=to, reads=reads)
    name, version, nonce = found
    typed = permit_typed_data(
        token_name=name,
        token_version=version,
        chain_id=reader.chain_id,
        token=token,
        owner=owner.address,
        spender=to,
        value=value,
        nonce=nonce,
        deadline=deadline,
    )
    signature = bytes(owner.sign_typed_data(full_message=typed).signature)
    return Permit.from_signature(value, deadline, signature)


def _sign_permit2(
    reader: MarketReader,
    token: str,
    value: int,
    deadline: int,
    *,
    owner: Any,
    spender: str,
    reads: dict[str, Any] | None,
) -> Permit | None:
    from p2pchain.chain._permit2 import sign_permit2

    nonce = permit2_support(reader, token, owner.address, spender, value, reads=reads)
    if nonce is None:
        return None
    return sign_permit2(
        owner,
        chain_id=reader.chain_id,
        token=token,
        amount=value,
        nonce=nonce,
        spender=spender,
        deadline=deadline,
    )


def recover_offer_signer(signed: SignedOffer) -> str | None:
    """Who signed the offer (ECDSA), or None for a signature that is not 65 bytes."""
    if len(signed.signature) != 65:
        return None
    typed = signed.offer.typed_data(chain_id=signed.chain_id, marketplace=signed.marketplace)
    signable = encode_typed_data(full_message=typed)
    if eip712_digest(signable) != signed.id:
        return None
    try:
        return str(Account.recover_message(signable, signature=signed.signature))
    except (ValueError, TypeError):
        return None


_PERMIT_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": "view",
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": out}],
    }
    for name, inputs, out in (
        ("name", [], "string"),
        ("DOMAIN_SEPARATOR", [], "bytes32"),
        ("nonces", [("owner", "address")], "uint256"),
    )
]

__all__ = [
    "MAX_OFFER_SECONDS",
    "NO_PERMIT",
    "OfferJson",
    "SignedOffer",
    "permit2_support",
    "permit_support",
    "recover_offer_signer",
    "sign_permit",
]
