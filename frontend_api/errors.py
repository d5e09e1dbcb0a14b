"""Errors as HTTP answers: one JSON shape, ``{"detail": "<one line>"}``, and never a 500 for bad input.

* A request that breaks the schema (a malformed address, a missing field): 422, naming the
  first bad field.
* Library errors map by kind: bad arguments 400, not found 404, a call the contract would refuse
  409 (the contract's error name and values in the message), content that fails verification
  502, a node or IPFS backend that cannot be reached 503 (also when the node goes away after
  start-up), a node that answers with an error 502.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from requests.exceptions import RequestException
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3.exceptions import Web3Exception

from p2pchain._errors import (
    ChainError,
    ContentVerificationError,
    ContractError,
    DeploymentError,
    IpfsError,
    ListingError,
    P2PChainError,
)

#: Longest error message returned (a node can echo long input back).
MAX_DETAIL = 300


class ApiError(Exception):
    """An error answered with ``status`` and a one-line ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def one_line(message: str) -> str:
    """The first line of ``message``, at most :data:`MAX_DETAIL` characters."""
    lines = str(message).strip().splitlines() or ["error"]
    line = lines[0]
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 3] + "..."


def error_response(status: int, detail: str) -> JSONResponse:
    """The API's error body."""
    return JSONResponse({"detail": one_line(detail)}, status_code=status)


def validation_message(exc: RequestValidationError) -> str:
    """``<where>: <what>`` for the first error of a request that breaks the schema."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def status_of(exc: P2PChainError) -> int:
    """The HTTP status a library error maps to."""
    from p2pchain.market._reads import NotFoundError

    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ContractError):
        return 409
    if isinstance(exc, ContentVerificationError):
        return 502
    if isinstance(exc, IpfsError):
        text = str(exc)
        if "-byte limit" in text:
            return 413
        if "invalid CID" in text or "not a UnixFS file" in text or "is a " in text:
            return 400
        if "not in the local store" in text or "not found" in text.lower():
            return 404
        return 503
    if isinstance(exc, (ChainError, DeploymentError)):
        return 503
    if isinstance(exc, ListingError):
        return 422
    return 400


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, validation_message(exc))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.detail)

    @app.exception_handler(P2PChainError)
    async def library_error(request: Request, exc: P2PChainError) -> JSONResponse:
        detail = str(exc)
        if isinstance(exc, ContractError):  # name the contract's error for programs to match
            detail = f"{type(exc).__name__}: {detail}"
        return error_response(status_of(exc), detail)

    @app.exception_handler(RequestException)
    async def node_unreachable(request: Request, exc: RequestException) -> JSONResponse:
        return error_response(503, f"cannot reach the node: {type(exc).__name__}")

    @app.exception_handler(Web3Exception)
    async def node_error(request: Request, exc: Web3Exception) -> JSONResponse:
        return error_response(502, f"the node answered with an error: {exc}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error_response(exc.status_code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
