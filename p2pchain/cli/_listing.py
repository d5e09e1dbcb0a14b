"""``p2pchain listing``: publish (IPFS first, then the chain), sign, update, close and show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from p2pchain.cli._common import (
    ZERO_ADDRESS,
    command,
    confirm,
    emit,
    format_amount,
    format_duration,
    format_time,
    hex_id,
    noun_app,
    opts,
    panel,
    parse_amount,
    parse_duration,
    parse_time,
    status,
    who,
)
from p2pchain.cli._errors import CliError
from p2pchain.cli._show import (
    listing_json,
    listing_titles,
    listings_table,
    show_listing,
    terms_json,
)

if TYPE_CHECKING:
    from p2pchain.ipfs import IpfsBackend
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.market._views import Listing, SignedListing

listing_app = noun_app("Create, sign, update, close and show listings.")

WRITE = ("network", "account", "passphrase_file", "ipfs", "json_output")
#: Listing changes ask first (``--yes`` skips the question), as every command that sends does.
WRITE_ASKING = (*WRITE, "yes")
ListingArg = Annotated[
    str, typer.Argument(help="A listing id (0x + 64 hex), or a signed-listing JSON file.")
]

#: Document fields the flags set (flag name -> document key).
_FLAG_FIELDS = ("title", "description", "category", "kind", "condition", "contact", "language")


def read_document_file(path: Path) -> dict[str, Any]:
    """Read a listing from a JSON or YAML file (an object of document fields).

    Raises:
        CliError: Missing, unreadable or malformed file, or not an object.
    """
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"listing file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read listing file {path}: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = " ".join(str(exc).split())
            raise CliError(f"listing file {path} is not valid YAML: {first}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CliError(f"listing file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"listing file {path} must hold an object of listing fields")
    return data


def _amount_field(data: dict[str, Any], key: str) -> None:
    value = data.get(key)
    token = data.get("token")
    if isinstance(value, str) and not value.strip().isdigit():
        data[key] = str(parse_amount(value, key, token if isinstance(token, str) else ZERO_ADDRESS))
    elif isinstance(value, int) and not isinstance(value, bool):
        data[key] = str(value)


def _images_from_file(data: dict[str, Any], base: Path) -> list[Path]:
    """Image paths listed in a listing file (relative to it); they are uploaded first."""
    images = data.pop("images", None) or []
    if not isinstance(images, list):
        raise CliError("images: must be a list of image files")
    return [(base / str(p)).expanduser() for p in images]


def build_document(
    fields: dict[str, Any], file: Path | None, images: list[Path]
) -> tuple[dict[str, Any], list[Path]]:
    """Merge a listing file and the flags (flags win) into document fields and image paths."""
    data: dict[str, Any] = {}
    all_images = list(images)
    if file is not None:
        data = read_document_file(file)
        all_images = _images_from_file(data, file.expanduser().parent) + all_images
    for key, value in fields.items():
        if value is not None and value != [] and value != ():
            data[key] = value
    for key in ("price", "deposit"):
        _amount_field(data, key)
    data.setdefault("schema_version", 1)
    if "title" not in data or "price" not in data or "category" not in data:
        missing = [k for k in ("title", "price", "category") if k not in data]
        raise CliError(f"a listing needs {', '.join(missing)}: pass --{missing[0]} or a --file")
    for image in all_images:
        if not image.is_file():
            raise CliError(f"image {image} does not exist")
    return data, all_images


def upload_images(backend: IpfsBackend, images: list[Path], json_mode: bool) -> list[str]:
    """Store and pin each image, with a progress bar on a terminal; returns their CIDs."""
    import sys

    if not images:
        return []
    from p2pchain.market._listings import IMAGE_FORMATS, MAX_IMAGE_SIZE, image_format

    for image in images:  # check every file before storing any
        try:
            size = image.stat().st_size
            with image.open("rb") as handle:
                head = handle.read(32)
        except OSError as exc:
            raise CliError(f"--image {image}: {exc.strerror or exc}") from None
        if size > MAX_IMAGE_SIZE:
            raise CliError(f"--image {image}: {size} bytes, over the {MAX_IMAGE_SIZE}-byte limit")
        if image_format(head) is None:
            raise CliError(f"--image {image}: not an image ({', '.join(IMAGE_FORMATS)})")
    cids: list[str] = []
    if json_mode or not sys.stderr.isatty():
        for image in images:
            cids.append(backend.add(image.read_bytes(), cid_version=1, pin=True))
        return cids
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from p2pchain.cli._common import console

    total = sum(p.stat().st_size for p in images)
    with Progress(
        TextColumn("uploading {task.description}"),
        BarColumn(),
        DownloadColumn(),
        console=console(err=True),
        transient=True,
    ) as progress:
        task = progress.add_task("images", total=total)
        for image in images:
            progress.update(task, description=image.name)
            cids.append(backend.add(image.read_bytes(), cid_version=1, pin=True))
            progress.advance(task, image.stat().st_size)
    return cids


def _arbitrator_field(
    o: Any, data: dict[str, Any], arbitrator: str | None, arbitrator_fee: int | None
) -> None:
    """``--arbitrator`` (an address or a wallet name) and ``--arbitrator-fee`` into the document."""
    if arbitrator is not None:
        data["arbitrator"] = {
            "address": o.resolve_address(arbitrator, "arbitrator"),
            "fee_bps": arbitrator_fee or 0,
        }
    elif arbitrator_fee:
        raise CliError("--arbitrator-fee needs --arbitrator")


def _create(
    *,
    signed: bool,
    out: Path | None,
    quiet: bool,
    file: Path | None,
    images: list[Path],
    fields: dict[str, Any],
    arbitrator: str | None,
    arbitrator_fee: int | None,
    review_window: str,
    expires_in: str | None,
) -> None:
    o = opts()
    data, image_paths = build_document(fields, file, images)
    _arbitrator_field(o, data, arbitrator, arbitrator_fee)
    window = parse_duration(review_window, "review window")
    client = o.client()  # starts the keystore's decryption before web3 is imported
    from p2pchain.market._listings import publish_listing

    data["seller"] = client.address
    data.setdefault("created_at", client.now())
    if not o.json:
        from p2pchain.cli._index import price_note

        price_note(o, data)
    rental = data.get("rental")
    if isinstance(rental, dict) and isinstance(rental.get("end"), int):
        # the window runs from the purchase: bought now, it must outlast the rental, or the
        # owner could no longer claim against the deposit for damage found at the return
        ends = client.now() + window
        if ends < rental["end"]:
            need = rental["end"] - client.now()
            raise CliError(
                f"the review window ({format_duration(window)}) would end at"
                f" {format_time(ends)} for a purchase made now, before the rental ends at"
                f" {format_time(rental['end'])}: after it, nobody can dispute (a damage claim"
                f" against the deposit, say); pass --review-window {need // 86_400 + 2}d"
            )
    expiry = client.now() + parse_duration(expires_in, "expiry") if expires_in else 0
    backend = o.backend()
    upload_images(backend, image_paths, o.json)
    with status(o, "storing the document and waiting for the listing transaction"):
        published = publish_listing(
            client,
            backend,
            data,
            image_paths,
            signed=signed,
            review_window=window,
            expiry=expiry,
        )
    if signed:
        assert published.signed_listing is not None
        _emit_signed(published.signed_listing, out, quiet)
        return
    listing = published.listing
    assert listing is not None
    if quiet:
        typer.echo(hex_id(listing.id))
        return
    result = {
        **listing_json(listing),
        "document_cid": published.document_cid,
        "image_cids": list(published.image_cids),
    }
    emit(
        result,
        lambda: panel(
            "listed",
            [
                ("id", hex_id(listing.id)),
                ("title", published.document.title),
                ("document", published.document_cid),
                ("images", ", ".join(published.image_cids) or "-"),
                ("tx", listing.tx.tx_hash if listing.tx else "-"),
                ("next", f"p2pchain listing show {hex_id(listing.id)}"),
            ],
            style="green",
        ),
    )


def _emit_signed(signed: SignedListing, out: Path | None, quiet: bool) -> None:
    text = json.dumps(signed.to_json(), indent=2) + "\n"
    if out is not None:
        try:
            out.expanduser().write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
    if quiet:
        typer.echo(str(out) if out is not None else hex_id(signed.id))
        return
    if out is None:
        typer.echo(text, nl=False)
        return
    emit(
        {"id": hex_id(signed.id), "file": str(out), "terms": terms_json(signed.terms)},
        lambda: panel(
            "signed (no gas spent)",
            [
                ("id", hex_id(signed.id)),
                ("file", out),
                ("next", f"share the file; buyers run: p2pchain trade buy {out}"),
            ],
            style="green",
        ),
    )


TitleOpt = Annotated[str | None, typer.Option(help="Short title (1-140 characters).")]
PriceOpt = Annotated[
    str | None, typer.Option(help="Unit price: 0.1eth, 50000gwei, or base units (wei).")
]
CategoryOpt = Annotated[str | None, typer.Option(help="Category path, e.g. sports/bikes.")]
KindOpt = Annotated[str | None, typer.Option(help="sale (default), service or rental.")]
ConditionOpt = Annotated[
    str | None, typer.Option(help="new, like_new, good, fair or for_parts (sales).")
]
DescriptionOpt = Annotated[str | None, typer.Option(help="Full description.")]
QuantityOpt = Annotated[int | None, typer.Option(min=1, help="Units on offer (default 1).")]
DepositOpt = Annotated[str | None, typer.Option(help="Refundable deposit per unit (rentals).")]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        help="Paid in this ERC-20 (its address) instead of ETH; then --price takes e.g. 25USDC."
    ),
]
ImageOpt = Annotated[
    list[Path] | None, typer.Option("--image", help="A photo to upload first (repeatable).")
]
FileOpt = Annotated[
    Path | None, typer.Option("--file", "-f", help="Listing fields from a JSON or YAML file.")
]
ArbitratorOpt = Annotated[
    str | None, typer.Option(help="Who rules disputes: an address or a wallet name.")
]
FeeOpt = Annotated[
    int | None, typer.Option(min=0, max=1000, help="Arbitrator fee in basis points (max 1000).")
]
WindowOpt = Annotated[str, typer.Option(help="Review window after a purchase: 3600, 12h, 7d...")]
ExpiresOpt = Annotated[
    str | None, typer.Option(help="Stop selling after this long, e.g. 30d (default: never).")
]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="A search tag (repeatable).")]
RentalFromOpt = Annotated[
    str | None,
    typer.Option(help="Rentals: start, as 2026-12-05, 2026-12-05T18:00 (UTC) or unix seconds."),
]
RentalUntilOpt = Annotated[
    str | None, typer.Option(help="Rentals: end (same forms as --rental-from).")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the listing id.")]
RateOpt = Annotated[
    str | None,
    typer.Option(help="Rentals by date: rent per period, e.g. 0.05eth/day or 2usdc/hour."),
]
MinLengthOpt = Annotated[str, typer.Option(help="Rentals by date: shortest booking, e.g. 1d.")]
MaxLengthOpt = Annotated[str, typer.Option(help="Rentals by date: longest booking, e.g. 14d.")]
LeadTimeOpt = Annotated[
    str, typer.Option(help="Rentals by date: notice needed before a booking starts, e.g. 12h.")
]
FreeCancelOpt = Annotated[
    str, typer.Option(help="Rentals by date: full refund if cancelled this long before the start.")
]
LateRefundOpt = Annotated[
    int,
    typer.Option(min=0, max=100, help="Rentals by date: % of the rent refunded on a later cancel."),
]
ClaimWindowOpt = Annotated[
    str, typer.Option(help="Rentals by date: time after the end for a damage claim, e.g. 3d.")
]
PickupOpt = Annotated[
    str | None, typer.Option(help="Rentals by date: pickup and return place and hours.")
]


def _fields(
    title: str | None,
    price: str | None,
    category: str | None,
    kind: str | None,
    condition: str | None,
    description: str | None,
    quantity: int | None,
    deposit: str | None,
    tags: list[str] | None,
    rental_from: str | None = None,
    rental_until: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    if (rental_from is None) != (rental_until is None):
        raise CliError("a rental period needs both --rental-from and --rental-until")
    rental = None
    if rental_from is not None and rental_until is not None:
        rental = {
            "start": parse_time(rental_from, "--rental-from"),
            "end": parse_time(rental_until, "--rental-until"),
        }
    return {
        "rental": rental,
        "title": title,
        "price": price,
        "category": category,
        "kind": kind,
        "condition": condition,
        "description": description,
        "quantity": quantity,
        "deposit": deposit,
        "tags": tags or None,
        "token": token,
    }


def _defaults(fields: dict[str, Any], file: Path | None) -> dict[str, Any]:
    if file is None:
        fields["kind"] = fields["kind"] or "sale"
        if fields["kind"] == "sale" and fields["condition"] is None:
            fields["condition"] = "good"
    return fields


def _create_from_flags(
    *,
    signed: bool,
    out: Path | None,
    quiet: bool,
    file: Path | None,
    image: list[Path] | None,
    title: str | None,
    price: str | None,
    category: str | None,
    kind: str | None,
    condition: str | None,
    description: str | None,
    quantity: int | None,
    deposit: str | None,
    tag: list[str] | None,
    rental_from: str | None,
    rental_until: str | None,
    token: str | None,
    arbitrator: str | None,
    arbitrator_fee: int | None,
    review_window: str,
    expires_in: str | None,
) -> None:
    """What ``listing create`` and ``listing sign`` share: their flags, then :func:`_create`."""
    fields = _fields(
        title,
        price,
        category,
        kind,
        condition,
        description,
        quantity,
        deposit,
        tag,
        rental_from,
        rental_until,
        token,
    )
    _create(
        signed=signed,
        out=out,
        quiet=quiet,
        file=file,
        images=list(image or []),
        fields=_defaults(fields, file),
        arbitrator=arbitrator,
        arbitrator_fee=arbitrator_fee,
        review_window=review_window,
        expires_in=expires_in,
    )


@command(listing_app, "create", shared=WRITE)
def create(
    title: TitleOpt = None,
    price: PriceOpt = None,
    category: CategoryOpt = None,
    kind: KindOpt = None,
    condition: ConditionOpt = None,
    description: DescriptionOpt = None,
    quantity: QuantityOpt = None,
    deposit: DepositOpt = None,
    token: TokenOpt = None,
    image: ImageOpt = None,
    tag: TagOpt = None,
    file: FileOpt = None,
    arbitrator: ArbitratorOpt = None,
    arbitrator_fee: FeeOpt = None,
    review_window: WindowOpt = "7d",
    expires_in: ExpiresOpt = None,
    rental_from: RentalFromOpt = None,
    rental_until: RentalUntilOpt = None,
    rate: RateOpt = None,
    min_length: MinLengthOpt = "1d",
    max_length: MaxLengthOpt = "30d",
    lead_time: LeadTimeOpt = "0",
    free_cancel: FreeCancelOpt = "2d",
    late_refund: LateRefundOpt = 50,
    claim_window: ClaimWindowOpt = "3d",
    pickup: PickupOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List on-chain: images and the document go to IPFS first, then one transaction.

    With ``--kind rental --rate 0.05eth/day``, a rental people book by date: the rate per hour,
    day or week, booking lengths, lead time, cancellation policy and claim window below, and the
    bookable range from --rental-from (its time of day is the pickup hour) to --rental-until.
    """
    if rate is not None:
        if (kind or "rental") != "rental" or quantity not in (None, 1) or expires_in:
            raise CliError(
                "--rate lists a rental booked by date: no --kind other than rental,"
                " --quantity or --expires-in"
            )
        fields = _fields(
            title,
            price,
            category,
            "rental",
            condition,
            description,
            None,
            deposit,
            tag,
            rental_from,
            rental_until,
            token,
        )
        create_rental(
            fields=fields,
            file=file,
            images=list(image or []),
            arbitrator=arbitrator,
            arbitrator_fee=arbitrator_fee,
            quiet=quiet,
            rate=rate,
            min_length=min_length,
            max_length=max_length,
            lead_time=lead_time,
            free_cancel=free_cancel,
            late_refund=late_refund,
            claim_window=claim_window,
            pickup=pickup,
        )
        return
    if pickup is not None:
        raise CliError("--pickup is for rentals booked by date (with --rate)")
    _create_from_flags(
        signed=False,
        out=None,
        quiet=quiet,
        file=file,
        image=image,
        title=title,
        price=price,
        category=category,
        kind=kind,
        condition=condition,
        description=description,
        quantity=quantity,
        deposit=deposit,
        tag=tag,
        rental_from=rental_from,
        rental_until=rental_until,
        token=token,
        arbitrator=arbitrator,
        arbitrator_fee=arbitrator_fee,
        review_window=review_window,
        expires_in=expires_in,
    )


@command(listing_app, "sign", shared=WRITE)
def sign(
    title: TitleOpt = None,
    price: PriceOpt = None,
    category: CategoryOpt = None,
    kind: KindOpt = None,
    condition: ConditionOpt = None,
    description: DescriptionOpt = None,
    quantity: QuantityOpt = None,
    deposit: DepositOpt = None,
    token: TokenOpt = None,
    image: ImageOpt = None,
    tag: TagOpt = None,
    file: FileOpt = None,
    arbitrator: ArbitratorOpt = None,
    arbitrator_fee: FeeOpt = None,
    review_window: WindowOpt = "7d",
    expires_in: ExpiresOpt = None,
    rental_from: RentalFromOpt = None,
    rental_until: RentalUntilOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the signed listing JSON here.")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Sign a listing off-chain (EIP-712, no gas); buyers put it on-chain with their purchase."""
    _create_from_flags(signed=True, **locals())


def check_listing_ref(ref: str) -> None:
    """Fail early (before connecting) on something that is no listing reference.

    Raises:
        CliError: Neither ``0x`` + 64 hex digits nor an existing file.
    """
    text = ref.strip()
    if text.startswith(("0x", "0X")):
        from p2pchain.market._validation import bytes32

        bytes32(text, "a listing id")
    elif not Path(text).expanduser().is_file():
        raise CliError(
            f"{ref!r} is neither a listing id (0x + 64 hex digits) nor a signed-listing file"
        )


def resolve_listing(client: MarketplaceClient, ref: str) -> Listing | SignedListing:
    """A listing id, or a signed-listing file (its signature checked).

    Raises:
        CliError: Neither a listing id nor a readable signed-listing file.
    """
    from p2pchain.market._views import SignedListing

    check_listing_ref(ref)
    text = ref.strip()
    if text.startswith(("0x", "0X")):
        return client.listing(text)
    path = Path(text).expanduser()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        signed = SignedListing.from_json(raw)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"{path} is not a signed listing: {exc}") from None
    return client.signed_listing(signed.typed_data(), signed.signature)


@command(listing_app, "show", shared=("network", "ipfs", "gateway", "json_output"))
def show(listing: ListingArg) -> None:
    """Show a listing: on-chain terms and state, and its document verified from IPFS."""
    from p2pchain._errors import IpfsError, ListingError
    from p2pchain.market._listings import fetch_listing

    o = opts()
    check_listing_ref(listing)
    client = o.client(signer=False)
    ref = resolve_listing(client, listing)
    current = client.listing(ref)
    verified = None
    problem = None
    try:
        verified = fetch_listing(client, o.backend(read=True), ref, with_images=False)
    except (IpfsError, ListingError) as exc:
        problem = str(exc)
    data = listing_json(current)
    if verified is not None:
        data["document"] = verified.document.model_dump(mode="json")
    else:
        data["document_error"] = problem
    now = client.now()
    emit(data, lambda: show_listing(current, verified, problem, now=now))


@command(listing_app, "mine", shared=("network", "account", "json_output"))
def mine(
    all_: Annotated[bool, typer.Option("--all", help="Include closed and sold-out ones.")] = False,
) -> None:
    """List your listings (live ones unless --all)."""
    o = opts()
    name = o.account_name()
    assert name is not None
    me = o.wallet().address(name)
    client = o.client(signer=False)
    listings = [x for x in client.listings_of(me) if all_ or x.live]
    emit(
        [listing_json(x) for x in listings],
        lambda: (
            listings_table(listings, listing_titles(client, o.backend(read=True), listings))
            if listings
            else typer.echo("no listings yet: create one with `p2pchain listing create`")
        ),
    )


@command(listing_app, "update", shared=WRITE_ASKING)
def update(
    listing: ListingArg,
    price: PriceOpt = None,
    remaining: Annotated[int | None, typer.Option(min=1, help="Units on offer from now.")] = None,
    review_window: Annotated[str | None, typer.Option(help="New review window.")] = None,
    expires_in: ExpiresOpt = None,
) -> None:
    """Change an on-chain listing's price, units, window or expiry (a new document is stored)."""
    from dataclasses import replace

    from p2pchain.market._listings import fetch_listing, parse_listing_document
    from p2pchain.market._views import Listing as ListingView

    o = opts()
    check_listing_ref(listing)
    client = o.client()
    current = resolve_listing(client, listing)
    if not isinstance(current, ListingView) or current.signed:
        raise CliError("signed listings cannot be updated: close it and sign a new one")
    if client.address != current.seller:
        raise CliError(f"only the seller {current.seller} can update this listing")
    if price is None and remaining is None and review_window is None and expires_in is None:
        raise CliError(
            "nothing to change: pass --price, --remaining, --review-window or --expires-in"
        )
    backend = o.backend()
    terms = current.terms
    if price is not None:
        new_price = parse_amount(price, "price", terms.token)
        verified = fetch_listing(client, o.backend(read=True), current, with_images=False)
        doc = verified.document.model_dump(mode="json")
        doc["price"] = str(new_price)
        body = parse_listing_document(doc).canonical_json()
        cid = backend.add(body, cid_version=1, pin=True)
        fresh = client.make_terms(
            price=new_price,
            cid=cid,
            token=terms.token,
            deposit=terms.deposit,
            arbitrator=terms.arbitrator,
            arbitrator_fee_bps=terms.arbitrator_fee_bps,
            review_window=terms.review_window,
            expiry=terms.expiry,
        )
        terms = fresh
    if review_window is not None:
        terms = replace(terms, review_window=parse_duration(review_window, "review window"))
    if expires_in is not None:
        terms = replace(terms, expiry=client.now() + parse_duration(expires_in, "expiry"))
    units = remaining if remaining is not None else max(current.remaining, 1)
    old = current.terms
    changes = [
        (what, before, after)
        for what, before, after in (
            ("price", format_amount(old.price, old.token), format_amount(terms.price, terms.token)),
            ("units on offer", current.remaining, units),
            (
                "review window",
                format_duration(old.review_window),
                format_duration(terms.review_window),
            ),
            ("expires", format_time(old.expiry or None), format_time(terms.expiry or None)),
        )
        if before != after
    ]
    confirm(
        o,
        f"update listing {hex_id(current.id)}",
        [(what, f"{before} -> {after}") for what, before, after in changes]
        + [
            (
                "note",
                "buyers holding the old terms are refused (TermsChanged); open trades keep theirs",
            )
        ],
    )
    with status(o, "waiting for the update transaction"):
        updated = client.update_listing(current, terms, units)
    emit(listing_json(updated), lambda: show_listing(updated, None, None))


@command(listing_app, "close", shared=WRITE_ASKING)
def close(listing: ListingArg) -> None:
    """Close an on-chain listing, or cancel a signed one (open trades are not affected)."""
    from p2pchain.market._views import SignedListing

    o = opts()
    check_listing_ref(listing)
    client = o.client()
    current = resolve_listing(client, listing)
    signed = isinstance(current, SignedListing) or current.signed
    confirm(
        o,
        f"{'cancel signed' if signed else 'close'} listing {hex_id(current.id)}",
        [
            ("seller", who(current.seller)),
            ("units left", getattr(current, "remaining", getattr(current, "quantity", "-"))),
            ("note", "for good: the listing cannot be reopened; open trades are not affected"),
        ],
    )
    with status(o, "waiting for the transaction"):
        if isinstance(current, SignedListing) or current.signed:
            closed = client.cancel_signed_listing(current)
        else:
            closed = client.close_listing(current)
    emit(listing_json(closed), lambda: typer.echo(f"closed listing {hex_id(closed.id)}"))


def create_rental(
    *,
    fields: dict[str, Any],
    file: Path | None,
    images: list[Path],
    rate: str,
    arbitrator: str | None,
    arbitrator_fee: int | None,
    min_length: str,
    max_length: str,
    lead_time: str,
    free_cancel: str,
    late_refund: int,
    claim_window: str,
    pickup: str | None,
    quiet: bool,
) -> None:
    """``listing create --kind rental --rate 0.05eth/day``: a bookable rental."""
    from p2pchain.cli._booking import per_text, rate_text
    from p2pchain.market._bookings import parse_rate
    from p2pchain.market._rental_listings import publish_rental
    from p2pchain.market._validation import InputError

    o = opts()
    try:
        amount_text, unit = parse_rate(rate)
    except InputError as exc:
        raise CliError(str(exc)) from None
    if fields.get("price") is not None:
        raise CliError("a bookable rental has a --rate per period, not a --price")
    data, image_paths = build_document({**fields, "price": amount_text}, file, images)
    client = o.client()
    if data.get("rental") is None:
        raise CliError(
            "a bookable rental needs its dates: --rental-from (first pickup) and --rental-until"
        )
    _arbitrator_field(o, data, arbitrator, arbitrator_fee)
    if pickup:
        data.setdefault("delivery", []).append({"method": "pickup", "note": pickup})
    data["seller"] = client.address
    data.setdefault("created_at", client.now())

    def periods(text: str, what: str) -> int:
        seconds = parse_duration(text, what)
        if seconds % unit:
            raise CliError(f"{what} {text!r} is not a whole number of {per_text(unit)}s")
        return seconds // unit

    backend = o.backend()
    upload_images(backend, image_paths, o.json)
    with status(o, "storing the document and waiting for the listing transaction"):
        published = publish_rental(
            client,
            backend,
            data,
            image_paths,
            unit=unit,
            min_units=periods(min_length, "--min-length"),
            max_units=periods(max_length, "--max-length"),
            lead_time=parse_duration(lead_time, "--lead-time"),
            free_cancel=parse_duration(free_cancel, "--free-cancel"),
            late_refund_bps=late_refund * 100,
            claim_window=parse_duration(claim_window, "--claim-window"),
        )
    rental = published.listing
    if quiet:
        typer.echo(hex_id(rental.id))
        return
    t = rental.terms
    emit(
        {
            "id": hex_id(rental.id),
            "kind": "rental",
            "rate": str(t.rate),
            "unit": t.unit,
            "deposit": str(t.deposit),
            "token": t.token,
            "first_start": t.first_start,
            "last_end": t.last_end,
            "document_cid": published.document_cid,
            "image_cids": list(published.image_cids),
        },
        lambda: panel(
            "listed for booking",
            [
                ("id", hex_id(rental.id)),
                ("title", published.document.title),
                ("rate", rate_text(t)),
                ("deposit", format_amount(t.deposit, t.token)),
                ("bookable", f"{format_time(t.first_start)} to {format_time(t.last_end)}"),
                ("document", published.document_cid),
                ("next", f"p2pchain booking calendar {hex_id(rental.id)}"),
            ],
            style="green",
        ),
    )
