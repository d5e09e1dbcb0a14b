"""``p2pchain message`` (send, thread, list, share, announce, relay), ``p2pchain inbox`` and
``p2pchain watch``: end-to-end encrypted conversations per listing and trade, over Nostr relays.

Relays come from ``--relay`` (repeat it) or ``$P2PCHAIN_RELAYS`` (comma-separated). Messages are
kept in ``<data dir>/messaging/<address>.sqlite``; the messaging keys are derived from the
wallet (``docs/messaging.md``), so unlocking the wallet is all it takes. ``inbox`` and ``watch``
also read the index (``--db``, as the ``index`` commands; none if the default one does not
exist) for listings matching your requests, requests matching your listings, answers and offers.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from p2pchain.cli._common import command, emit, format_time, noun_app, opts, panel, table
from p2pchain.cli._errors import CliError
from p2pchain.cli._index import DEFAULT_DB, DbOption, _db_url

if TYPE_CHECKING:
    from p2pchain.indexer import IndexReader
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.messaging import Contact, Message, MessagingClient

message_app = noun_app("End-to-end encrypted messages about a listing or trade, over Nostr relays.")

SIGNER = ("network", "account", "passphrase_file", "ipfs", "json_output")
RelayOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--relay",
        "-r",
        help="A relay (ws:// or wss://) to read from and publish to; repeat for more."
        " Default: $P2PCHAIN_RELAYS (comma-separated).",
    ),
]
TargetArg = Annotated[str, typer.Argument(help="The listing or trade id (0x + 64 hex digits).")]


def _relays(given: list[str] | None) -> list[str]:
    from p2pchain.messaging._relays import check_relay_url

    urls = list(given or [])
    if not urls:
        urls = [u.strip() for u in os.environ.get("P2PCHAIN_RELAYS", "").split(",") if u.strip()]
    if not urls:
        raise CliError("no relay: pass --relay ws://HOST:PORT (or set P2PCHAIN_RELAYS)")
    return [check_relay_url(u) for u in urls]


def _open(relays: list[str] | None) -> tuple[MarketplaceClient, MessagingClient]:
    from p2pchain.messaging import MessagingClient

    o = opts()
    urls = _relays(relays)
    client = o.client()
    assert client.account is not None
    messaging = MessagingClient(client.account, urls, chain_id=client.chain_id)
    o._clients.append(messaging)  # closed with the command
    return client, messaging


def _topic(target: str) -> bytes:
    from p2pchain.messaging import topic_hex

    return bytes.fromhex(topic_hex(target)[2:])


def _trade_or_none(client: MarketplaceClient, topic: bytes) -> Any:
    from p2pchain.market._reads import NotFoundError

    try:
        return client.trade(topic)
    except NotFoundError:
        return None


def _parties(client: MarketplaceClient, topic: bytes) -> dict[str, str]:
    trade = _trade_or_none(client, topic)
    if trade is not None:
        return {"buyer": trade.buyer, "seller": trade.seller}
    try:
        return {"seller": client.listing(topic).terms.seller}
    except Exception:  # noqa: BLE001 - a topic we cannot place on this chain: no labels
        return {}


def _contact(client: MarketplaceClient, messaging: MessagingClient, topic: bytes) -> Contact:
    """Who to write to about ``topic``: the other party of the trade, or the listing's seller."""
    from p2pchain.market._listings import fetch_listing
    from p2pchain.messaging._contacts import seller_contact

    me = client.address
    trade = _trade_or_none(client, topic)
    listing_id = trade.listing_id if trade is not None else topic
    if trade is not None and me not in (trade.buyer, trade.seller):
        raise CliError(f"you are not a party of trade 0x{topic.hex()}")
    other = None if trade is None else (trade.seller if me == trade.buyer else trade.buyer)
    if other is None or other == client.listing(listing_id).terms.seller:
        seen = fetch_listing(client, opts().backend(read=True), listing_id, with_images=False)
        if seen.document.messaging is not None:
            return seller_contact(seen.document)
        other = seen.document.seller
    found = messaging.lookup(other)
    if found is None:
        raise CliError(
            f"{other} has no messaging key: not in the listing document (version 1) and no"
            " address card on these relays (they can run `p2pchain message announce`)"
        )
    return found


def message_json(m: Message) -> dict[str, Any]:
    """A message for --json."""
    return m.to_json()


def _render_thread(messages: list[Message]) -> None:
    if not messages:
        typer.echo("no messages yet")
        return
    rows = []
    for m in messages:
        who = m.party or (m.author_address or m.author[:16] + "…")
        if m.outgoing:
            who += " (you)"
        files = ", ".join(f"{a.name} ipfs://{a.cid}" for a in m.attachments)
        check = "signed" if m.signed and m.author_address else "unverified"
        rows.append(
            (
                format_time(m.created_at),
                who,
                m.text + (f"\n[{files}]" if files else ""),
                f"{m.status}, {check}",
            )
        )
    table(None, ["when", "from", "message", "status"], rows)


@command(message_app, "send", shared=SIGNER)
def send(
    target: TargetArg,
    text: Annotated[str, typer.Argument(help="The message (at most 64 KiB).")],
    attach: Annotated[
        list[Path] | None,
        typer.Option("--attach", help="A file (a photo...) to encrypt, store on IPFS and send."),
    ] = None,
    relay: RelayOpt = None,
    with_: Annotated[
        str | None,
        typer.Option(
            "--with",
            help="Whom to answer when several people wrote about it: an address or wallet name.",
        ),
    ] = None,
) -> None:
    """Send a message about a listing (before buying) or a trade; starts the thread if needed."""
    from p2pchain.messaging import attach as store_attachment

    topic = _topic(target)
    client, messaging = _open(relay)
    to = None
    if not messaging.store.channels(client.chain_id, "0x" + topic.hex()):
        to = _contact(client, messaging, topic)
    files = []
    for path in attach or []:
        mime = (
            "image/jpeg"
            if path.suffix.lower() in (".jpg", ".jpeg")
            else ("image/png" if path.suffix.lower() == ".png" else "application/octet-stream")
        )
        files.append(store_attachment(opts().backend(), path.read_bytes(), path.name, mime))
    answer = opts().resolve_address(with_, "--with") if with_ is not None else None
    result = messaging.send(topic, text, to=to, attachments=files, with_address=answer)
    data = {
        **message_json(result.message),
        "accepted_by": list(result.accepted_by),
        "pending": list(result.pending),
    }
    line = (
        f"sent to {len(result.accepted_by)} relay(s)"
        if result.accepted_by
        else "no relay reachable: kept in the outbox, sent by the next `p2pchain inbox` or `watch`"
    )
    emit(data, lambda: typer.echo(f"{line} (message {result.message.id[:16]}…)"))


@command(message_app, "thread", shared=SIGNER)
def thread(target: TargetArg, relay: RelayOpt = None) -> None:
    """Show the thread about a listing or trade: every message, who wrote it (checked)."""
    topic = _topic(target)
    client, messaging = _open(relay)
    messaging.sync()
    messages = messaging.thread(topic, parties=_parties(client, topic))
    messaging.mark_read(f"{client.chain_id}/0x{topic.hex()}")
    emit([message_json(m) for m in messages], lambda: _render_thread(messages))


@command(message_app, "list", shared=SIGNER)
def list_threads(relay: RelayOpt = None) -> None:
    """List your threads, the most recent first."""
    _client, messaging = _open(relay)
    messaging.sync()
    threads = messaging.threads()
    emit(
        [t.to_json() for t in threads],
        lambda: table(
            None,
            ["thread", "role", "messages", "unread", "last", "last message"],
            [
                (
                    t.topic or t.thread,
                    t.role,
                    t.messages,
                    t.unread,
                    format_time(t.last_at),
                    t.last_text[:60],
                )
                for t in threads
            ],
        ),
    )


@command(message_app, "share", shared=SIGNER)
def share(
    trade: Annotated[str, typer.Argument(help="The trade id.")],
    to: Annotated[
        str | None,
        typer.Option(help="Share with this address or wallet (default: the trade's arbitrator)."),
    ] = None,
    relay: RelayOpt = None,
) -> None:
    """Give someone (the arbitrator) read access to a trade's thread, as evidence."""
    topic = _topic(trade)
    client, messaging = _open(relay)
    messaging.sync()
    if to is None:
        view = _trade_or_none(client, topic)
        if view is None:
            raise CliError(f"no trade 0x{topic.hex()}: give --to ADDRESS")
        if int(view.arbitrator, 16) == 0:
            raise CliError("this trade names no arbitrator: give --to ADDRESS")
        who = view.arbitrator
    else:
        who = opts().resolve_address(to, "--to")
    contact = messaging.lookup(who)
    if contact is None:
        raise CliError(
            f"{who} has no address card on these relays: they run `p2pchain message announce`"
        )
    count = messaging.share(topic, contact)
    emit(
        {"shared_with": who, "channels": count},
        lambda: typer.echo(f"shared the thread with {who}: they can read it, not write in it"),
    )


@command(message_app, "announce", shared=SIGNER)
def announce(relay: RelayOpt = None) -> None:
    """Publish your address card and relay list, so others can message you by address."""
    _client, messaging = _open(relay)
    accepted = messaging.announce()
    emit(
        {
            "pubkey": messaging.inbox.pubkey,
            "relays": list(messaging.relays),
            "accepted_by": accepted,
        },
        lambda: panel(
            "announced",
            [
                ("messaging key", messaging.inbox.pubkey),
                ("accepted by", ", ".join(accepted) or "none yet (outbox)"),
            ],
        ),
    )


@message_app.command("relay")
def relay_serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port on 127.0.0.1.")] = 7447,
    folder: Annotated[
        Path | None, typer.Option(file_okay=False, help="Where the relay keeps its database.")
    ] = None,
) -> None:
    """Run a local Nostr relay on 127.0.0.1 (nostr-relay, SQLite) until Ctrl-C."""
    from p2pchain._paths import data_dir
    from p2pchain.messaging import LoopbackRelay

    where = folder or data_dir() / "relay"
    running = LoopbackRelay(where, port=port)
    try:
        running.start()
    except Exception as exc:  # noqa: BLE001
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"relay on {running.url} (database in {where}); Ctrl-C stops")
    try:
        while running.pid is not None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


def _index(db: str) -> IndexReader | None:
    """The index market notices come from (closed with the command); None when ``db`` is the
    default and no index is there. Checked before the wallet is unlocked."""
    from p2pchain.indexer import IndexReader

    try:
        url = _db_url(db)
    except CliError:
        if db == DEFAULT_DB:
            return None
        raise
    reader = IndexReader(url, per_thread=False)
    opts()._clients.append(reader)
    return reader


def _notices(
    client: MarketplaceClient,
    messaging: MessagingClient,
    index: IndexReader | None,
    mark: bool,
) -> list[Any]:
    from p2pchain.messaging._notify import inbox as gather

    return gather(messaging, client, index=index, mark_seen=mark)


def inbox(
    relay: RelayOpt = None,
    peek: Annotated[bool, typer.Option(help="Do not mark anything as seen.")] = False,
    new_only: Annotated[bool, typer.Option("--new", help="Only what was not seen before.")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """New messages, events on your trades (windows closing within 24 h too) and, from the
    index, matches, answers and offers, newest first."""
    index = _index(db)
    client, messaging = _open(relay)
    report = messaging.sync()
    notices = [n for n in _notices(client, messaging, index, not peek) if n.new or not new_only]
    data = {
        "notices": [n.to_json() for n in notices],
        "index": None if index is None else db,
        "dropped": messaging.drops(),
        "outbox": messaging.pending(),
        "relay_errors": report.relay_errors,
    }

    def render() -> None:
        if not notices:
            typer.echo("nothing yet")
        else:
            table(
                None,
                ["", "when", "what"],
                [("•" if n.new else "", format_time(n.at), n.text) for n in notices],
            )
        if messaging.pending():
            typer.echo(f"{messaging.pending()} message(s) waiting in the outbox for a relay")
        for url, why in report.relay_errors.items():
            typer.echo(f"relay {url}: {why}", err=True)

    emit(data, render)


def watch(
    relay: RelayOpt = None,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between chain checks.")] = 5.0,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many notices.")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this many seconds.")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Follow new messages (live), events on your trades and, from the index, new matches,
    answers and offers; with --json, one JSON per line."""
    from p2pchain.messaging._notify import market_notices, message_notice, trade_notices

    o = opts()
    index = _index(db)
    client, messaging = _open(relay)
    messaging.sync()

    def chain_and_index() -> list[Any]:
        found = trade_notices(client, messaging.address)
        if index is not None:
            keys = {n.key for n in found}
            found += [n for n in market_notices(index, messaging.address) if n.key not in keys]
            found.sort(key=lambda n: n.at, reverse=True)
        return found

    seen = {n.key for n in chain_and_index()}
    shown = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    next_chain = time.monotonic() + interval

    def show(notice: Any) -> bool:
        nonlocal shown
        if o.json:
            typer.echo(json.dumps(notice.to_json()))
        else:
            typer.echo(f"{format_time(notice.at)}  {notice.text}")
        shown += 1
        return count is not None and shown >= count

    if not o.json:
        typer.echo(
            f"watching as {messaging.address} on {', '.join(messaging.relays)}; Ctrl-C stops"
        )
    while deadline is None or time.monotonic() < deadline:
        window = min(interval, max(0.1, (deadline - time.monotonic()) if deadline else interval))
        for message in messaging.follow(
            timeout=min(window, max(0.1, next_chain - time.monotonic()))
        ):
            messaging.mark_read(message.thread)
            if show(message_notice(message)):
                return
        if time.monotonic() >= next_chain:
            next_chain = time.monotonic() + interval
            for notice in reversed(chain_and_index()):
                if notice.key not in seen:
                    seen.add(notice.key)
                    if show(notice):
                        return


__all__ = ["inbox", "message_app", "watch"]
