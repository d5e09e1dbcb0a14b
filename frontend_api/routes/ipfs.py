"""Uploads to the configured IPFS backend, and a verified ``/ipfs/<cid>`` gateway for images.

Uploads are stored and pinned, and the CID the backend answers must equal the CID computed here
(Kubo-identical import); a backend that disagrees is refused. The gateway reads through the
backend, so every byte served is verified against its CID.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import is_hex_address, to_checksum_address
from fastapi import APIRouter, Body, Path, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from frontend_api.deps import ServicesDep
from frontend_api.errors import ApiError
from frontend_api.schemas import UploadOut
from frontend_api.services import Services
from p2pchain._errors import IpfsError
from p2pchain.ipfs import CID, compute_cid
from p2pchain.market._listings import MAX_IMAGE_SIZE, parse_listing_document

router = APIRouter(tags=["ipfs"])

#: CID version of uploads (``bafk...``/``bafy...``), as ``publish_listing`` stores them.
UPLOAD_CID_VERSION = 1

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def media_type(data: bytes) -> str:
    """The content type of an image by its magic bytes; ``application/octet-stream`` otherwise."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def store(services: Services, data: bytes, what: str) -> UploadOut:
    """Store and pin ``data``; check the backend's CID against the one computed here."""
    expected = compute_cid(data, cid_version=UPLOAD_CID_VERSION)
    cid = services.backend.add(data, cid_version=UPLOAD_CID_VERSION, pin=True)
    if CID.parse(cid) != CID.parse(expected):
        raise ApiError(502, f"{what}: the IPFS backend stored it as {cid}, expected {expected}")
    return UploadOut(cid=expected, size=len(data), url=services.image_url(expected))


@router.post("/api/ipfs/upload", operation_id="upload_file", status_code=201)
async def upload(file: UploadFile, services: ServicesDep) -> UploadOut:
    """Store a listing image (or any file up to the upload limit) on IPFS, pinned."""
    limit = min(services.settings.max_upload_bytes, MAX_IMAGE_SIZE)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"file: over the {limit}-byte upload limit")
    if not data:
        raise ApiError(422, "file: empty")
    return await run_in_threadpool(store, services, data, "file")


def _checksummed(value: Any) -> Any:
    """An address without a checksum (all lower or upper case) in EIP-55 form; else unchanged."""
    if isinstance(value, str) and is_hex_address(value):
        body = value[2:]
        if body == body.lower() or body == body.upper():
            return to_checksum_address(value)
    return value


def with_checksums(document: dict[str, Any]) -> dict[str, Any]:
    """The document with ``seller`` and ``arbitrator.address`` checksummed when they carry no
    checksum (wallets often answer in lower case); a wrong checksum is left to be refused."""
    out = dict(document)
    if "seller" in out:
        out["seller"] = _checksummed(out["seller"])
    arbitrator = out.get("arbitrator")
    if isinstance(arbitrator, dict):
        out["arbitrator"] = {**arbitrator, "address": _checksummed(arbitrator.get("address"))}
    return out


@router.post("/api/ipfs/document", operation_id="upload_listing_document", status_code=201)
def upload_document(
    document: Annotated[dict[str, Any], Body(description="A listing document, schema version 1.")],
    services: ServicesDep,
) -> UploadOut:
    """Validate a listing document and store its canonical JSON on IPFS, pinned.

    Its CID goes into the listing's terms (``/api/tx/create-listing`` or
    ``/api/tx/listing-typed-data``).
    """
    parsed = parse_listing_document(with_checksums(document))
    for i, image in enumerate(parsed.images):
        if not services.backend.has(image):
            raise ApiError(422, f"images.{i}: {image} is not stored: upload it first")
    return store(services, parsed.canonical_json(), "listing document")


@router.get(
    "/ipfs/{cid}",
    operation_id="gateway_get",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def gateway(
    cid: Annotated[str, Path(min_length=2, max_length=200, pattern=r"^[A-Za-z0-9]+$")],
    request: Request,
    services: ServicesDep,
) -> Response:
    """A file from IPFS, verified against its CID (at most the image size limit)."""
    try:
        parsed = CID.parse(cid)
    except IpfsError as exc:
        raise ApiError(400, f"cid: {exc}") from None
    data = services.backend.cat(parsed, max_size=MAX_IMAGE_SIZE)
    headers = {
        "Cache-Control": "public, max-age=29030400, immutable",
        "ETag": f'"{parsed}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=media_type(data), headers=headers)


__all__ = ["router"]
