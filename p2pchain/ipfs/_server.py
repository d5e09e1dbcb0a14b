"""A local IPFS dev node: a LocalStore behind the subset of Kubo's RPC API p2pchain uses.

Routes (all on 127.0.0.1 only):

* ``POST /api/v0/add`` (multipart; ``cid-version``, ``raw-leaves``, ``pin``, ``only-hash``,
  ``chunker=size-N``, ``hash=sha2-256``), answering like Kubo: one JSON line per file with
  ``Name``, ``Hash`` and ``Size`` (the DAG's cumulative size, as a string);
* ``POST /api/v0/cat``, ``/block/get``, ``/block/stat``, ``/pin/add``, ``/pin/rm``,
  ``/pin/ls``, ``/version``, taking their CID in ``arg`` like Kubo;
* ``GET /ipfs/<cid>``: a read-only gateway; ``?format=raw`` or
  ``Accept: application/vnd.ipld.raw`` returns the single raw block.

Like Kubo, ``/api/v0`` answers only POST (anything else: 405), and refuses requests whose
``Origin`` is not local (a web page cannot drive it). Unlike Kubo, bad input is a 4xx with a
Kubo-style JSON error ``{"Message": ..., "Code": ..., "Type": "error"}``, never a 500; only a
store that fails its own verification (a corrupted block on disk) answers 500.

Start it with :func:`serve` (blocking), :class:`DevNode` (a background thread, for tests and
scripts), or ``python -m p2pchain.ipfs serve --port N``.
"""

from __future__ import annotations

import json
import os
import platform
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from p2pchain._errors import ContentVerificationError, IpfsError
from p2pchain._serve import LoopbackServer
from p2pchain.ipfs._importer import parse_chunker
from p2pchain.ipfs._local import LocalStore
from p2pchain.ipfs._multiformats import CID

#: Hosts the dev node may bind to and answer for.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
#: The version string ``/api/v0/version`` reports.
DEV_NODE_VERSION = "0.1.0-p2pchain-devnode"

_KUBO_CODE = {400: 1, 403: 1, 404: 3, 405: 1, 413: 1, 500: 0}


class ApiError(Exception):
    """An error answered as a Kubo-style JSON error with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"Message": message, "Code": _KUBO_CODE.get(status, 1), "Type": "error"}
    return JSONResponse(body, status_code=status, headers=headers)


# --- parameters -----------------------------------------------------------------------------

_TRUE = {"1", "t", "T", "true", "TRUE", "True", ""}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def _bool_param(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ApiError(400, f"invalid value for {name!r}: {value!r} is not a boolean")


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"invalid value for {name!r}: {value!r} is not an integer") from None
    if number < 0:
        raise ApiError(400, f"invalid value for {name!r}: must not be negative")
    return number


def _cid_arg(request: Request) -> CID:
    values = request.query_params.getlist("arg")
    if not values:
        raise ApiError(400, "argument 'arg' is required (the CID)")
    if len(values) > 1:
        raise ApiError(400, "this dev node takes exactly one 'arg' per request")
    return _parse_cid(values[0])


def _parse_cid(text: str) -> CID:
    if "/" in text.removeprefix("/ipfs/"):
        raise ApiError(400, f"paths inside a CID are not supported: {text[:120]!r}")
    try:
        return CID.parse(text)
    except IpfsError as exc:
        raise ApiError(400, str(exc)) from None


# --- the app ---------------------------------------------------------------------------------


def create_app(store: LocalStore) -> FastAPI:
    """Build the dev node's ASGI app over ``store``.

    Args:
        store: The LocalStore to expose.

    Returns:
        A FastAPI app (serve it on 127.0.0.1 only; see :func:`serve`).
    """
    app = FastAPI(title="p2pchain IPFS dev node", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store

    @app.middleware("http")
    async def local_only(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if hostname not in LOCAL_HOSTS:
            return _error_response(403, f"host {host[:100]!r} refused: this dev node is local only")
        origin = request.headers.get("origin")
        if origin is not None and request.url.path.startswith("/api/"):
            origin_host = origin.split("://", 1)[-1].rsplit(":", 1)[0]
            if origin_host not in LOCAL_HOSTS:
                return _error_response(403, f"origin {origin[:100]!r} refused: RPC is local only")
        return await call_next(request)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.message)

    @app.exception_handler(ContentVerificationError)
    async def corrupted(request: Request, exc: ContentVerificationError) -> JSONResponse:
        return _error_response(500, f"the dev node's store is corrupted: {exc}")

    @app.exception_handler(IpfsError)
    async def ipfs_error(request: Request, exc: IpfsError) -> JSONResponse:
        return _error_response(400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    def require_block(cid: CID) -> None:
        if not store.has(cid):
            raise ApiError(404, f"block was not found locally (offline): {cid}")

    @app.post("/api/v0/add")
    async def add(request: Request) -> Response:
        cid_version = _int_param(request, "cid-version", 0)
        if cid_version not in (0, 1):
            raise ApiError(400, f"unsupported cid-version {cid_version} (use 0 or 1)")
        raw_leaves = _bool_param(request, "raw-leaves", cid_version == 1)
        pin = _bool_param(request, "pin", True)
        only_hash = _bool_param(request, "only-hash", False)
        try:
            chunk_size = parse_chunker(request.query_params.get("chunker"))
        except IpfsError as exc:
            raise ApiError(400, str(exc)) from None
        hash_name = request.query_params.get("hash", "sha2-256")
        if hash_name != "sha2-256":
            raise ApiError(400, f"unsupported hash {hash_name!r}: this dev node only does sha2-256")
        for flag in ("trickle", "wrap-with-directory", "nocopy", "inline", "recursive"):
            if _bool_param(request, flag, False):
                raise ApiError(400, f"option {flag!r} is not supported by this dev node")
        if not request.headers.get("content-type", "").startswith("multipart/"):
            raise ApiError(400, "expected a multipart/form-data body with the file(s) to add")
        try:
            form = await request.form(max_files=100, max_fields=100)
        except Exception as exc:  # noqa: BLE001 - starlette raises several types for bad bodies
            raise ApiError(400, f"malformed multipart body: {exc}") from None
        try:
            uploads: list[UploadFile] = []
            for _, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    raise ApiError(400, "each file must be a multipart file part (with a filename)")
                if (value.content_type or "").startswith("application/x-directory"):
                    raise ApiError(400, "directories are not supported by this dev node")
                uploads.append(value)
            if not uploads:
                raise ApiError(400, "no file in the request")
            lines = []
            for upload in uploads:
                result = await run_in_threadpool(
                    store.add_file,
                    upload.file,
                    cid_version=cid_version,
                    raw_leaves=raw_leaves,
                    chunk_size=chunk_size,
                    pin=pin,
                    only_hash=only_hash,
                )
                name = upload.filename or str(result.cid)
                lines.append(
                    json.dumps({"Name": name, "Hash": str(result.cid), "Size": str(result.size)})
                )
        finally:
            await form.close()
        return Response(
            "\n".join(lines) + "\n",
            media_type="application/json",
            headers={"X-Chunked-Output": "1"},
        )

    @app.post("/api/v0/cat")
    async def cat(request: Request) -> Response:
        cid = _cid_arg(request)
        offset = _int_param(request, "offset", 0) or 0
        length = _int_param(request, "length", None)
        require_block(cid)
        chunks = _sliced(store.iter_cat(cid, max_size=None), offset, length)
        first = await run_in_threadpool(
            next, chunks, b""
        )  # root errors become 4xx, not a cut stream
        return StreamingResponse(
            _prepend(first, iterate_in_threadpool(chunks)),
            media_type="text/plain",
            headers={"X-Stream-Output": "1", "X-Content-Type-Options": "nosniff"},
        )

    @app.post("/api/v0/block/get")
    async def block_get(request: Request) -> Response:
        cid = _cid_arg(request)
        require_block(cid)
        data = await run_in_threadpool(store.get_block, cid)
        return Response(
            data, media_type="text/plain", headers={"X-Content-Type-Options": "nosniff"}
        )

    @app.post("/api/v0/block/stat")
    async def block_stat(request: Request) -> JSONResponse:
        cid = _cid_arg(request)
        require_block(cid)
        size = await run_in_threadpool(store.block_size, cid)
        return JSONResponse({"Key": str(cid), "Size": size})

    @app.post("/api/v0/pin/add")
    async def pin_add(request: Request) -> JSONResponse:
        cid = _cid_arg(request)
        if not _bool_param(request, "recursive", True):
            raise ApiError(400, "only recursive pins are supported by this dev node")
        require_block(cid)
        await run_in_threadpool(store.pin, cid)
        return JSONResponse({"Pins": [str(cid)]})

    @app.post("/api/v0/pin/rm")
    async def pin_rm(request: Request) -> JSONResponse:
        cid = _cid_arg(request)
        if not store.is_pinned(cid):
            raise ApiError(400, f"{cid} is not pinned")
        store.unpin(cid)
        return JSONResponse({"Pins": [str(cid)]})

    @app.post("/api/v0/pin/ls")
    async def pin_ls(request: Request) -> JSONResponse:
        kind = request.query_params.get("type", "all")
        if kind not in ("all", "recursive", "direct", "indirect"):
            raise ApiError(400, f"invalid pin type {kind!r}")
        pinned = store.pins() if kind in ("all", "recursive") else []
        args = request.query_params.getlist("arg")
        if args:
            wanted = {str(_parse_cid(arg)) for arg in args}
            missing = wanted.difference(pinned)
            if missing:
                raise ApiError(400, f"path '{min(missing)}' is not pinned")
            pinned = [cid for cid in pinned if cid in wanted]
        return JSONResponse({"Keys": {cid: {"Type": "recursive"} for cid in pinned}})

    @app.post("/api/v0/version")
    async def version(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "Version": DEV_NODE_VERSION,
                "Commit": "",
                "Repo": "p2pchain-localstore-1",
                "System": f"{platform.machine()}/{platform.system().lower()}",
                "Golang": f"python{platform.python_version()}",
            }
        )

    @app.api_route("/api/v0/{command:path}", methods=["POST"])
    async def unknown_command(command: str) -> JSONResponse:
        return _error_response(
            404, f"unknown command {command!r} (this dev node implements a subset)"
        )

    @app.api_route(
        "/api/v0/{command:path}", methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]
    )
    async def post_only(command: str) -> JSONResponse:
        return _error_response(
            405, "405 - Method Not Allowed: the RPC API only accepts POST", {"Allow": "POST"}
        )

    @app.get("/ipfs/{path:path}")
    async def gateway(path: str, request: Request) -> Response:
        cid = _parse_cid(path.rstrip("/"))
        fmt = request.query_params.get("format")
        accept = request.headers.get("accept", "")
        if fmt not in (None, "", "raw"):
            raise ApiError(400, f"unsupported format {fmt!r} (this gateway serves 'raw' blocks)")
        require_block(cid)
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=29030400, immutable",
            "Etag": f'"{cid}"',
        }
        if fmt == "raw" or "application/vnd.ipld.raw" in accept:
            data = await run_in_threadpool(store.get_block, cid)
            return Response(data, media_type="application/vnd.ipld.raw", headers=headers)
        chunks = store.iter_cat(cid, max_size=None)
        first = await run_in_threadpool(next, chunks, b"")
        return StreamingResponse(
            _prepend(first, iterate_in_threadpool(chunks)),
            media_type="application/octet-stream",
            headers=headers,
        )

    return app


def _sliced(chunks: Iterator[bytes], offset: int, length: int | None) -> Iterator[bytes]:
    position = 0
    remaining = length
    for chunk in chunks:
        end = position + len(chunk)
        if end <= offset:
            position = end
            continue
        piece = chunk[max(0, offset - position) :]
        position = end
        if remaining is not None:
            piece = piece[:remaining]
            remaining -= len(piece)
        if piece:
            yield piece
        if remaining is not None and remaining <= 0:
            return


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


# --- running it ------------------------------------------------------------------------------


def _check_host(host: str) -> str:
    if host not in LOCAL_HOSTS:
        raise IpfsError(f"refusing to serve on {host!r}: the IPFS dev node binds to 127.0.0.1 only")
    return "127.0.0.1"


def _open_store(store: LocalStore | str | os.PathLike[str] | None) -> LocalStore:
    return store if isinstance(store, LocalStore) else LocalStore(store)


def serve(
    store: LocalStore | str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 5001,
    log_level: str = "info",
) -> None:
    """Run the dev node in the foreground until interrupted.

    Args:
        store: A LocalStore or its folder (default: the default store folder).
        host: Must be ``127.0.0.1`` (or ``localhost``).
        port: The TCP port (Kubo's RPC default is 5001).
        log_level: uvicorn's log level.

    Raises:
        IpfsError: If asked to bind anywhere but loopback, or the store cannot be opened.
    """
    bind = _check_host(host)
    with socket.socket() as probe:  # fail with one clear line instead of uvicorn's log and exit
        try:
            probe.bind((bind, port))
        except OSError as exc:
            raise IpfsError(
                f"cannot listen on {bind}:{port}: {exc.strerror}; choose another port"
            ) from None
    uvicorn.run(create_app(_open_store(store)), host=bind, port=port, log_level=log_level)


class DevNode(LoopbackServer):
    """The dev node in a background thread, on a free port by default.

    Use as a context manager::

        with DevNode(tmp_path) as node:
            KuboBackend(node.url).add(b"hello")

    Args:
        store: A LocalStore or its folder (default: the default store folder).
        host: Must be ``127.0.0.1`` (or ``localhost``).
        port: The TCP port; 0 picks a free one.
    """

    def __init__(
        self,
        store: LocalStore | str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        bind = _check_host(host)
        self.store = _open_store(store)
        super().__init__(
            create_app(self.store),
            host=bind,
            port=port,
            name="IPFS dev node",
            error=IpfsError,
            lifespan="off",
        )


def main_serve(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m p2pchain.ipfs serve``.

    Args:
        argv: Arguments after the module name (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m p2pchain.ipfs", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the local IPFS dev node (127.0.0.1 only)")
    run.add_argument("--port", type=int, default=5001, help="TCP port (default 5001)")
    run.add_argument("--host", default="127.0.0.1", help="only 127.0.0.1/localhost are accepted")
    run.add_argument("--data-dir", type=Path, default=None, help="LocalStore folder")
    run.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        serve(args.data_dir, host=args.host, port=args.port, log_level=args.log_level)
    except IpfsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
