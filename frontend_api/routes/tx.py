"""Writes, for a browser wallet: unsigned transactions, EIP-712 typed data, raw submission.

The API holds no keys. Each ``POST /api/tx/<action>`` checks the call against the chain (a call
the contract would refuse answers 409 with the contract's error) and returns the transactions to
pass to ``eth_sendTransaction``, in order. ``POST /api/tx/submit`` forwards a transaction a
wallet signed itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

import rlp
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak
from fastapi import APIRouter, Path
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound, Web3RPCError

from frontend_api.deps import ClientDep, ServicesDep
from frontend_api.errors import ApiError
from frontend_api.schemas import (
    BuyIn,
    CloseListingIn,
    DisputeIn,
    PreparedOut,
    RateIn,
    ShareIn,
    ShownTermsIn,
    SignedListingIn,
    SubmitIn,
    SubmittedOut,
    TermsIn,
    TradeActionIn,
    TxStatusOut,
    TypedDataOut,
    UnsignedTx,
    WithdrawIn,
)
from p2pchain.chain._model import ListingTerms, listing_id
from p2pchain.market._calls import PreparedCall
from p2pchain.market._client import MarketplaceClient
from p2pchain.market._views import SignedListing, to_json_rpc

router = APIRouter(prefix="/api/tx", tags=["transactions"])

#: Trade actions that take only the sender and the trade: path name -> client method.
SIMPLE_TRADE_ACTIONS: dict[str, str] = {
    "release": "prepare_release",
    "return-deposit": "prepare_return_deposit",
    "refund": "prepare_refund",
    "finalize": "prepare_finalize",
    "accept-settlement": "prepare_accept_settlement",
    "claim-ruling-timeout": "prepare_claim_ruling_timeout",
}


def prepared(call: PreparedCall[Any]) -> PreparedOut:
    """The call's transactions (an approval first, if needed) in wallet form."""
    txs = [UnsignedTx.model_validate(to_json_rpc(tx)) for tx in call.transactions()]
    return PreparedOut(action=call.action, transactions=txs)


def _hexify(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _hexify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hexify(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # uint256 values exceed JavaScript's safe integers
    return value


def typed_data_json(typed: dict[str, Any]) -> dict[str, Any]:
    """Typed data as ``eth_signTypedData_v4`` takes it: bytes as 0x hex, integers as strings."""
    out = _hexify(typed)
    out["domain"]["chainId"] = int(typed["domain"]["chainId"])
    return out


def _make_trade_route(
    path: str, method: str
) -> Callable[[TradeActionIn, MarketplaceClient], PreparedOut]:
    def route(body: TradeActionIn, client: ClientDep) -> PreparedOut:
        call = getattr(client, method)(body.trade_id, sender=body.sender)
        return prepared(call)

    route.__name__ = method
    route.__doc__ = f"The unsigned ``{path}`` transaction of a trade, for the sender's wallet."
    return route


for _path, _method in SIMPLE_TRADE_ACTIONS.items():
    router.add_api_route(
        f"/{_path}",
        _make_trade_route(_path, _method),
        methods=["POST"],
        response_model=PreparedOut,
        operation_id=_method,
        summary=f"Prepare {_path.replace('-', ' ')}",
    )


@router.post("/propose-settlement", operation_id="prepare_propose_settlement")
def propose_settlement(body: ShareIn, client: ClientDep) -> PreparedOut:
    """A settlement proposal: the buyer gets ``buyer_share`` of the held funds."""
    return prepared(
        client.prepare_propose_settlement(body.trade_id, int(body.buyer_share), sender=body.sender)
    )


@router.post("/rule", operation_id="prepare_rule")
def rule(body: ShareIn, client: ClientDep) -> PreparedOut:
    """The arbitrator's ruling: the buyer gets ``buyer_share`` after the fee."""
    return prepared(client.prepare_rule(body.trade_id, int(body.buyer_share), sender=body.sender))


@router.post("/dispute", operation_id="prepare_dispute")
def dispute(body: DisputeIn, services: ServicesDep) -> PreparedOut:
    """A dispute (buyer or seller, before the review window ends), with an optional reason.

    The reason is stored and pinned on IPFS first; its CID is appended to the calldata (see
    :mod:`p2pchain.market._notes`) and read back into the trade's ``dispute_reason``.
    """
    client = services.client
    call = client.prepare_dispute(body.trade_id, sender=body.sender)
    out = prepared(call)  # checked against the chain before anything is stored
    if body.reason is not None:
        from p2pchain.market._notes import attach_note

        cid = services.store_text(body.reason.strip())
        for tx in out.transactions:
            tx.data = "0x" + attach_note(bytes.fromhex(tx.data[2:]), cid).hex()
            if tx.gas is not None:  # 16 gas per calldata byte, and a margin
                tx.gas = hex(int(tx.gas, 16) + 16 * (len(cid) + 32) + 2_000)
    return out


@router.post("/rate", operation_id="prepare_rate")
def rate(body: RateIn, services: ServicesDep) -> PreparedOut:
    """A 1-5 star rating of the counterparty of a final trade, with an optional review (stored
    and pinned on IPFS; the rating anchors its CID)."""
    client = services.client
    call = client.prepare_rate(body.trade_id, body.score, sender=body.sender)
    if body.review is None:
        return prepared(call)
    prepared(call)  # refused (409) before the review is stored
    cid = services.store_text(body.review.strip())
    return prepared(client.prepare_rate(body.trade_id, body.score, cid, sender=body.sender))


def parse_signed_listing(client: MarketplaceClient, data: dict[str, Any]) -> SignedListing:
    """A signed listing from its shared JSON, its signature checked (InputError: 400)."""
    try:
        shared = SignedListing.from_json(data)
    except ValueError as exc:
        raise ApiError(400, f"signed_listing: malformed: {exc}") from None
    return client.signed_listing(shared.typed_data(), shared.signature)


def shown_terms(client: MarketplaceClient, shown: ShownTermsIn) -> ListingTerms:
    """The terms a buyer was shown, as the contract takes them."""
    return client.make_terms(
        price=int(shown.price),
        cid=shown.cid,
        seller=shown.seller,
        token=shown.token,
        deposit=int(shown.deposit),
        arbitrator=shown.arbitrator,
        arbitrator_fee_bps=shown.arbitrator_fee_bps,
        review_window=shown.review_window,
        expiry=shown.expiry,
    )


@router.post("/buy", operation_id="prepare_buy")
def buy(body: BuyIn, client: ClientDep) -> PreparedOut:
    """A purchase of an on-chain listing (``listing_id`` with the ``terms`` the buyer was shown)
    or of a signed one (``signed_listing``).

    The transaction carries the shown terms, never the chain's current ones: if the seller
    changed them since (a shorter review window, a new price...), the call is refused with
    ``TermsChanged`` (409) here, and the contract refuses it on-chain if the change lands
    between this answer and the purchase.
    """
    if (body.listing_id is None) == (body.signed_listing is None):
        raise ApiError(422, "give listing_id or signed_listing, exactly one")
    listing: Any
    if body.signed_listing is not None:
        listing = parse_signed_listing(client, body.signed_listing)
        if body.terms is not None and shown_terms(client, body.terms) != listing.terms:
            raise ApiError(400, "terms: differ from the signed listing's terms")
    else:
        if body.terms is None:
            raise ApiError(422, "terms: required with listing_id (the terms shown to the buyer)")
        current = client.listing(body.listing_id or "")
        listing = replace(current, terms=shown_terms(client, body.terms))
    return prepared(client.prepare_buy(listing, body.quantity, sender=body.buyer))


@router.post("/withdraw", operation_id="prepare_withdraw")
def withdraw(body: WithdrawIn, client: ClientDep) -> PreparedOut:
    """Withdrawing the sender's credited payouts in ``token`` (to ``to``, default the sender)."""
    return prepared(client.prepare_withdraw(body.token, body.to, sender=body.sender))


def _terms(client: MarketplaceClient, body: TermsIn) -> Any:
    return client.make_terms(
        price=int(body.price),
        cid=body.cid,
        seller=body.seller,
        token=body.token,
        deposit=int(body.deposit),
        arbitrator=body.arbitrator,
        arbitrator_fee_bps=body.arbitrator_fee_bps,
        review_window=body.review_window,
        expiry=body.expiry,
    )


@router.post("/create-listing", operation_id="prepare_create_listing")
def create_listing(body: TermsIn, client: ClientDep) -> PreparedOut:
    """An on-chain listing of ``quantity`` units under the terms (the seller sends it)."""
    terms = _terms(client, body)
    salt = bytes.fromhex(body.salt[2:]) if body.salt else os.urandom(32)
    out = prepared(
        client.prepare_create_listing(terms, body.quantity, salt=salt, sender=body.seller)
    )
    out.listing_id = "0x" + listing_id(terms.seller, salt).hex()
    return out


@router.post("/close-listing", operation_id="prepare_close_listing")
def close_listing(body: CloseListingIn, client: ClientDep) -> PreparedOut:
    """Closing an on-chain listing for good (its seller sends it)."""
    return prepared(client.prepare_close_listing(body.listing_id, sender=body.sender))


@router.post("/listing-typed-data", operation_id="listing_typed_data")
def listing_typed_data(body: TermsIn, client: ClientDep) -> TypedDataOut:
    """The EIP-712 typed data of a signed listing, for the seller's ``eth_signTypedData_v4``."""
    terms = client.check_terms(_terms(client, body))
    typed = client.listing_typed_data(terms, body.quantity, salt=body.salt)
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=typed)
    digest = keccak(b"\x19" + signable.version + signable.header + signable.body)
    return TypedDataOut(typed_data=typed_data_json(typed), listing_id="0x" + digest.hex())


@router.post("/signed-listing", operation_id="verify_signed_listing")
def signed_listing(body: SignedListingIn, client: ClientDep) -> dict[str, Any]:
    """Check a seller's signature over listing typed data; return the shareable signed listing."""
    return client.signed_listing(body.typed_data, body.signature).to_json()


def _chain_id_of(raw: bytes) -> int | None:
    if raw[0] <= 0x7F:
        return int(TypedTransaction.from_bytes(HexBytes(raw)).as_dict()["chainId"])
    v = int.from_bytes(rlp.decode(raw)[6], "big")
    return (v - 35) // 2 if v >= 35 else None


@router.post("/submit", operation_id="submit_raw_transaction")
def submit(body: SubmitIn, client: ClientDep) -> SubmittedOut:
    """Send a transaction a wallet signed (``eth_sendRawTransaction``)."""
    raw = bytes.fromhex(body.raw[2:])
    try:
        Account.recover_transaction(raw)
        chain_id = _chain_id_of(raw)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is bad input
        raise ApiError(400, f"raw: not a signed transaction: {exc}") from None
    if chain_id is not None and chain_id != client.chain_id:
        raise ApiError(400, f"raw: signed for chain id {chain_id}, this is chain {client.chain_id}")
    try:
        tx_hash = client.w3.eth.send_raw_transaction(raw)
    except Web3RPCError as exc:
        message = exc.rpc_response.get("error", {}) if exc.rpc_response else {}
        text = message.get("message", str(exc)) if isinstance(message, dict) else str(exc)
        raise ApiError(400, f"the node refused the transaction: {text}") from None
    return SubmittedOut(tx_hash=HexBytes(tx_hash).to_0x_hex())


@router.get("/{tx_hash}", operation_id="transaction_status")
def status(
    tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")], client: ClientDep
) -> TxStatusOut:
    """Whether a transaction is pending, succeeded or reverted."""
    text = tx_hash.lower()
    try:
        receipt = client.w3.eth.get_transaction_receipt(text)  # type: ignore[arg-type]
    except TransactionNotFound:
        try:
            client.w3.eth.get_transaction(text)  # type: ignore[arg-type]
        except TransactionNotFound:
            raise ApiError(404, f"no transaction {text} on this chain") from None
        return TxStatusOut(tx_hash=text, status="pending")
    ok = int(receipt["status"]) == 1
    return TxStatusOut(
        tx_hash=text,
        status="success" if ok else "reverted",
        block_number=int(receipt["blockNumber"]),
    )
