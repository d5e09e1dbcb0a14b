"""``p2pchain tx``: find out what became of a transaction, and recover.

Every transaction this CLI signs is written to the journal (``<data dir>/journal``) before it is
sent, and stays there until its outcome is known. When a node drops the answer, garbles it, or
forgets the transaction, these commands tell the truth and fix it:

* ``tx status HASH``: mined (block, confirmations, fee), reverted, pending, queued behind a
  missing nonce, dropped (only the journal knows it), or replaced.
* ``tx pending``: the journal: every transaction whose outcome is not settled, with its status.
* ``tx resend [HASH]``: send the identical signed bytes again, for transactions the node lost.
* ``tx cancel HASH`` / ``tx cancel --nonce N``: a zero-value transfer to yourself at that nonce,
  with a higher fee: it replaces a stuck transaction, or fills a nonce gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from p2pchain.cli._common import (
    command,
    confirm,
    emit,
    fail,
    format_amount,
    noun_app,
    opts,
    panel,
    status,
    table,
)
from p2pchain.cli._errors import CliError

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

    from p2pchain.chain._outstanding import TxStatus
    from p2pchain.chain._pending import PendingTransaction
    from p2pchain.market._client import MarketplaceClient

tx_app = noun_app(
    "What became of your transactions, and how to recover: status, pending, resend, cancel."
)

HashArg = Annotated[str, typer.Argument(help="A transaction hash (0x + 64 hex digits).")]
OptionalHashArg = Annotated[
    str | None, typer.Argument(help="A transaction hash (0x + 64 hex digits); default: all.")
]

#: What each state means, for people.
MEANING = {
    "mined": "mined and succeeded",
    "reverted": "mined, but it reverted (only its gas was paid)",
    "pending": "the node has it; waiting to be mined",
    "queued": "the node has it, but it waits behind a nonce nothing was sent with",
    "dropped": "the node does not have it (only the journal does): resend it, or cancel it",
    "replaced": "its nonce was used by another transaction: it will never be mined",
    "unknown": "neither the node nor the journal knows it",
}


def _hash(value: str) -> str:
    text = value.strip()
    body = text[2:]
    if (
        not text.startswith(("0x", "0X"))
        or len(body) != 64
        or any(c not in "0123456789abcdefABCDEF" for c in body)
    ):
        raise CliError(f"invalid transaction hash {value!r}: expected 0x and 64 hex digits")
    return "0x" + body.lower()


def _status_json(st: TxStatus) -> dict[str, Any]:
    return {
        "hash": st.hash,
        "state": st.state,
        "meaning": MEANING.get(st.state, st.state),
        "from": st.sender,
        "nonce": st.nonce,
        "action": st.action,
        "block": st.block,
        "confirmations": st.confirmations,
        "fee": None if st.fee is None else str(st.fee),
        "missing_nonce": st.missing,
        "replaced_by": st.replaced_by,
        "in_journal": st.journaled,
        "next": _next_step(st),
    }


def _next_step(st: TxStatus) -> str | None:
    if st.state == "queued" and st.missing is not None:
        return f"p2pchain tx cancel --nonce {st.missing}   (fills the missing nonce)"
    if st.state == "dropped":
        return f"p2pchain tx resend {st.hash}   (or: p2pchain tx cancel {st.hash})"
    if st.state == "pending":
        return f"wait, or speed it up by cancelling it: p2pchain tx cancel {st.hash}"
    return None


def _show_status(st: TxStatus) -> None:
    rows: list[tuple[str, Any]] = [("transaction", st.hash), ("state", MEANING[st.state])]
    if st.action:
        rows.append(("what", st.action))
    if st.sender:
        rows.append(("from", f"{st.sender}, nonce {st.nonce}"))
    if st.block is not None:
        rows.append(("block", f"{st.block} ({st.confirmations} confirmations)"))
    if st.fee is not None:
        rows.append(("gas fee", format_amount(st.fee)))
    if st.replaced_by:
        rows.append(("mined instead", st.replaced_by))
    step = _next_step(st)
    if step:
        rows.append(("next", step))
    style = "green" if st.state == "mined" else "red" if st.state == "reverted" else "yellow"
    panel("transaction", rows, style=style)


@command(tx_app, "status", shared=("network", "json_output"))
def status_(tx_hash: HashArg) -> None:
    """What became of a transaction: mined, reverted, pending, queued, dropped or replaced."""
    text = _hash(tx_hash)
    client = opts().client(signer=False)
    st = client.sender.status(text)
    if st.state == "unknown":
        raise CliError(
            f"no transaction {text} on this chain, and none in the local journal"
            " (check the hash and --network)"
        )
    emit(_status_json(st), lambda: _show_status(st))


def _accounts(client: MarketplaceClient) -> list[ChecksumAddress]:
    o = opts()
    name = o.account_name(required=False)
    if name is not None:
        return [o.wallet().address(name)]
    journal = client.sender.journal
    if journal is None:
        return []
    return journal.accounts(client.sender.outstanding.chain())


@command(tx_app, "pending", shared=("network", "account", "json_output"))
def pending() -> None:
    """The journal: transactions signed here whose outcome is not settled yet, and their state."""
    client = opts().client(signer=False)
    rows: list[dict[str, Any]] = []
    for address in _accounts(client):
        for p in client.sender.orphans(address):
            st = client.sender.status(p.tx_hash)
            rows.append({**_status_json(st), "from": p.sender, "nonce": p.nonce,
                         "action": p.action, "versions": [h.to_0x_hex() for h in p.hashes]})  # fmt: skip

    def render() -> None:
        if not rows:
            typer.echo("no transactions waiting: the journal is settled")
            return
        table(
            "journal",
            ["nonce", "what", "transaction", "state", "next"],
            [
                (r["nonce"], r["action"] or "-", r["hash"], r["state"], r["next"] or "-")
                for r in rows
            ],
        )

    emit(rows, render)


def _journaled(client: MarketplaceClient, address: str, tx_hash: str) -> PendingTransaction:
    for p in client.sender.orphans(address):
        if any(h.to_0x_hex() == tx_hash for h in p.hashes):
            return p
    raise CliError(
        f"transaction {tx_hash} is not in the journal of {address} on this chain (only"
        " transactions signed here can be resent; see `p2pchain tx pending`)"
    )


def _describe(p: PendingTransaction) -> list[tuple[str, Any]]:
    tx = p.tx
    fee_cap = int(tx.get("maxFeePerGas") or tx.get("gasPrice") or 0) * int(tx.get("gas") or 0)
    return [
        ("transaction", f"{p.tx_hash} ({p.action or 'transaction'}, nonce {p.nonce})"),
        ("from", p.sender),
        ("to", tx.get("to") or "(contract creation)"),
        ("value", format_amount(int(tx.get("value") or 0))),
        ("network gas", f"at most {format_amount(fee_cap)}"),
    ]


@command(tx_app, "resend", shared=("network", "account", "json_output", "yes"))
def resend(tx_hash: OptionalHashArg = None) -> None:
    """Send again, byte for byte, transactions the node lost (`tx pending` shows them dropped).

    The same signed bytes can be mined at most once, so this never pays twice.
    """
    o = opts()
    wanted = _hash(tx_hash) if tx_hash is not None else None
    name = o.account_name()
    assert name is not None
    address = o.wallet().address(name)
    client = o.client(signer=False)
    targets = (
        [_journaled(client, address, wanted)]
        if wanted is not None
        else client.sender.orphans(address)
    )
    out: list[dict[str, Any]] = []
    for p in targets:
        st = client.sender.status(p.tx_hash)
        if st.state != "dropped":
            out.append({"hash": p.tx_hash, "nonce": p.nonce, "state": st.state, "resent": False})
            continue
        confirm(o, "send again", _describe(p))
        with status(o, "sending again"):
            outcome = client.sender.resend(p)
        out.append(
            {"hash": p.tx_hash, "nonce": p.nonce, "state": outcome, "resent": outcome == "resent"}
        )

    def render() -> None:
        if not out:
            typer.echo(f"nothing to resend: no transaction of {address} is waiting in the journal")
        for r in out:
            what = (
                "sent again (the identical signed bytes)"
                if r["resent"]
                else f"not resent: {MEANING.get(r['state'], r['state'])}"
            )
            typer.echo(f"{r['hash']} (nonce {r['nonce']}): {what}")

    emit(out, render)


@command(tx_app, "cancel", shared=("network", "account", "passphrase_file", "json_output", "yes"))
def cancel(
    tx_hash: Annotated[
        str | None, typer.Argument(help="The transaction to cancel (0x + 64 hex digits).")
    ] = None,
    nonce: Annotated[
        int | None,
        typer.Option(min=0, help="Fill this nonce instead (a gap that blocks later transactions)."),
    ] = None,
) -> None:
    """Replace a transaction with a zero-value transfer to yourself at a higher fee, or fill a
    nonce gap (--nonce). Whichever is mined first, the other never is."""
    from p2pchain.chain._pending import PendingTransaction, TransactionCancelled

    o = opts()
    if (tx_hash is None) == (nonce is None):
        raise CliError("give a transaction hash, or --nonce N (not both)")
    wanted = _hash(tx_hash) if tx_hash is not None else None
    client = o.client(reconcile=False)  # never send again what is about to be cancelled
    sender = client.sender
    address = client.address
    account = client.account
    assert account is not None
    target: PendingTransaction | int
    if wanted is not None:
        target = _cancellable(client, address, wanted)
        rows = [*_describe(target), ("replaced by", "a zero-value transfer to yourself")]
        rows.append(("fee", "raised by 12.5% (at least the current suggestion)"))
    else:
        target = int(nonce or 0)
        rows = [
            ("nonce", f"{target} of {address}"),
            ("transaction", "a zero-value transfer to yourself (21000 gas)"),
        ]
    confirm(o, "cancel" if wanted else "fill nonce", rows)
    with status(o, "waiting for the cancellation"):
        pending = sender.cancel(account, target)
        try:
            receipt = sender.wait(pending)
        except TransactionCancelled as done:
            mined = done.pending.mined_version if done.pending else None
            _cancelled(pending, mined.hash.to_0x_hex() if mined else pending.tx_hash, True)
            return
    if isinstance(target, PendingTransaction):
        fail(
            f"too late: {target.describe()} was mined in block {int(receipt['blockNumber'])}"
            " before the cancellation"
        )
    _cancelled(pending, receipt["transactionHash"].to_0x_hex(), False)


def _cancellable(client: MarketplaceClient, address: str, tx_hash: str) -> PendingTransaction:
    """The transaction to cancel: from the journal, or a pending one the node knows."""
    from hexbytes import HexBytes

    from p2pchain.chain._journal import decode_signed
    from p2pchain.chain._pending import PendingTransaction, SignedVersion

    sender = client.sender
    for p in sender.orphans(address):
        if any(h.to_0x_hex() == tx_hash for h in p.hashes):
            return p
    st = sender.status(tx_hash)
    if st.state in ("mined", "reverted"):
        raise CliError(f"transaction {tx_hash} was already mined in block {st.block}: too late")
    if st.state not in ("pending", "queued"):
        raise CliError(
            f"transaction {tx_hash} is neither in the journal of {address} nor pending on"
            " the node: nothing to cancel"
        )
    if st.sender != address:
        raise CliError(f"transaction {tx_hash} is from {st.sender}, not from {address}")
    raw = sender.retry(
        "eth_getRawTransactionByHash",
        lambda: sender.rpc.request("eth_getRawTransactionByHash", [tx_hash]),
    )
    try:
        fields = decode_signed(bytes(HexBytes(raw)))
    except (ValueError, TypeError):
        raise CliError(f"the node does not give the signed transaction {tx_hash}") from None
    version = SignedVersion(tx=fields, raw=bytes(HexBytes(raw)), hash=HexBytes(tx_hash))
    return PendingTransaction(
        sender=fields["from"], nonce=int(fields["nonce"]), action=st.action, versions=[version]
    )


def _cancelled(pending: PendingTransaction, mined: str, replaced: bool) -> None:
    data = {"nonce": pending.nonce, "from": pending.sender, "mined": mined, "cancelled": replaced}
    if replaced:
        original = pending.versions[0]
        data["replaced"] = original.hash.to_0x_hex()
        line = (
            f"cancelled: nonce {pending.nonce} was used by the zero-value transfer {mined};"
            f" {original.hash.to_0x_hex()} will never be mined (only the transfer's gas was paid)"
        )
    else:
        line = (
            f"nonce {pending.nonce} filled by the zero-value transfer {mined}: transactions"
            " waiting behind it can now be mined"
        )
    emit(data, lambda: typer.echo(line))


__all__ = ["tx_app"]
