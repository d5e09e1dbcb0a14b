"""KuboBackend: a Kubo node (or the p2pchain dev node) over its RPC API.

Calls go through ipfshttpclient 0.7.0 where it still works with modern Kubo: we construct
``ipfshttpclient.Client`` directly, because its ``connect()`` refuses every daemon >= 0.8.0.
One call uses plain HTTP POST instead: ``block/get``, streamed with a size cap (ipfshttpclient
reads any body whole, so a hostile node could make us buffer gigabytes). ``has`` asks
``block/stat`` with Kubo's global ``offline`` option, so a missing block is not searched for on
the network.

Every import option is sent explicitly (``cid-version``, ``raw-leaves``, ``chunker``, ``hash``,
``pin``), because a daemon's ``Import.*`` config can change the defaults. The content is also
hashed locally while it is uploaded, and the CID the daemon returns must equal ours, so a
CID we hand to a contract is always the one Kubo's defaults give.

Reads never trust the node: ``cat`` walks the DAG with ``block/get`` and verifies every block.
"""

from __future__ import annotations

import io
import ipaddress
import os
import warnings
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import urlsplit

import requests

from p2pchain._errors import IpfsError
from p2pchain.ipfs._backend import CIDLike, VerifiedReader
from p2pchain.ipfs._http import read_block_body
from p2pchain.ipfs._importer import DEFAULT_CHUNK_SIZE, AddSource, ImportResult, UnixFSImporter
from p2pchain.ipfs._multiformats import CID

# ipfshttpclient 0.7.0 still passes urllib3's removed ``strict`` flag; harmless, and not ours.
warnings.filterwarnings(
    "ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning
)

#: Kubo's default RPC address.
DEFAULT_KUBO_URL = "http://127.0.0.1:5001"


def _multiaddr(url: str) -> tuple[str, str]:
    """Turn ``http://host:port[/prefix]`` into (multiaddr, base path) for ipfshttpclient."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IpfsError(f"invalid Kubo RPC URL {url!r}: expected http(s)://host:port")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = ipaddress.ip_address(parts.hostname)
        proto = "ip4" if address.version == 4 else "ip6"
    except ValueError:
        proto = "dns"
    base = (parts.path.rstrip("/") + "/api/v0").lstrip("/")
    return f"/{proto}/{parts.hostname}/tcp/{port}/{parts.scheme}", base


class _TeeReader(io.RawIOBase):
    """A read-only stream that feeds everything read through it to a local importer."""

    def __init__(self, inner: IO[bytes], importer: UnixFSImporter, name: str) -> None:
        self._inner = inner
        self._importer = importer
        self.name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        self._importer.update(data)
        return len(data)


class KuboBackend(VerifiedReader):
    """Content on a Kubo node, through its RPC API.

    Args:
        url: The RPC base URL, e.g. ``http://127.0.0.1:5001`` (no ``/api/v0``).
        timeout: Seconds to wait for each HTTP call.

    Raises:
        IpfsError: If the URL is invalid.
    """

    def __init__(self, url: str = DEFAULT_KUBO_URL, *, timeout: float = 60.0) -> None:
        import ipfshttpclient  # slow to import (multiaddr pulls trio); only when needed

        self.url = url.rstrip("/")
        self.timeout = timeout
        addr, base = _multiaddr(self.url)
        self._api = f"{self.url}/api/v0"
        self._errors: tuple[type[BaseException], ...] = (ipfshttpclient.exceptions.Error,)
        # Client(), not connect(): connect() rejects every Kubo >= 0.8.0 (VersionMismatch).
        self._client = ipfshttpclient.Client(addr, base, timeout=timeout)
        self._http = requests.Session()  # block/get, one connection reused for a whole DAG walk

    def __repr__(self) -> str:
        return f"KuboBackend({self.url!r})"

    def close(self) -> None:
        """Release the HTTP client's connections."""
        self._client.close()
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers --------------------------------------------------------------------------

    def _fail(self, action: str, exc: BaseException) -> IpfsError:
        message = str(exc).strip() or type(exc).__name__
        return IpfsError(f"Kubo at {self.url}: {action} failed: {message}")

    def _post(
        self, command: str, params: dict[str, str], *, stream: bool = False
    ) -> requests.Response:
        try:
            response = self._http.post(
                f"{self._api}/{command}", params=params, timeout=self.timeout, stream=stream
            )
        except requests.RequestException as exc:
            raise self._fail(command, exc) from None
        return response

    @staticmethod
    def _error_message(response: requests.Response) -> str:
        try:
            return str(response.json().get("Message", response.text))
        except ValueError:
            return response.text[:300]

    # --- reads ----------------------------------------------------------------------------

    def _fetch_block(self, cid: CID) -> bytes:
        response = self._post("block/get", {"arg": str(cid)}, stream=True)
        with response:
            if response.status_code != 200:
                raise IpfsError(
                    f"Kubo at {self.url}: block/get {cid} failed "
                    f"(HTTP {response.status_code}): {self._error_message(response)}"
                )
            try:
                return read_block_body(response, cid, f"Kubo at {self.url}")
            except requests.RequestException as exc:
                raise self._fail(f"block/get {cid}", exc) from None

    def has(self, cid: CIDLike) -> bool:
        """Tell whether the node holds the block locally (asked offline: no network search).

        Raises:
            IpfsError: If the node cannot be reached or answers unexpectedly.
        """
        import ipfshttpclient

        parsed = CID.parse(cid)
        try:
            self._client.block.stat(str(parsed), offline=True)
        except ipfshttpclient.exceptions.ErrorResponse as exc:
            if "not found" in str(exc).lower():
                return False
            raise self._fail(f"block/stat {parsed}", exc) from None
        except self._errors as exc:
            raise self._fail(f"block/stat {parsed}", exc) from None
        return True

    def block_size(self, cid: CIDLike) -> int:
        """Return a block's size as the node reports it (``block/stat``; not verified).

        Raises:
            IpfsError: If the call fails.
        """
        try:
            stat = self._client.block.stat(str(CID.parse(cid)))
        except self._errors as exc:
            raise self._fail("block/stat", exc) from None
        return int(stat["Size"])

    def version(self) -> str:
        """Return the node's version string.

        Raises:
            IpfsError: If the node cannot be reached.
        """
        try:
            return str(self._client.version()["Version"])
        except self._errors as exc:
            raise self._fail("version", exc) from None

    # --- writes ---------------------------------------------------------------------------

    def add_file(
        self,
        data: AddSource,
        *,
        cid_version: int = 0,
        raw_leaves: bool | None = None,
        pin: bool = True,
        only_hash: bool = False,
    ) -> ImportResult:
        """Add content through ``/api/v0/add`` with every import option explicit.

        The content is hashed locally as it streams out; the node's CID must match ours.

        Args:
            data: Bytes, a path or a binary stream.
            cid_version: 0 or 1.
            raw_leaves: Raw leaves (default: True for CIDv1, as Kubo).
            pin: Pin the root recursively on the node.
            only_hash: Ask the node to compute the CID without storing.

        Returns:
            The root CID (as the node reported and we verified) and sizes.

        Raises:
            IpfsError: If the call fails or the node's CID differs from the local one.
        """
        importer = UnixFSImporter(cid_version=cid_version, raw_leaves=raw_leaves)
        opts = {
            "cid-version": str(cid_version),
            "raw-leaves": "true" if importer.raw_leaves else "false",
            "chunker": f"size-{DEFAULT_CHUNK_SIZE}",
            "hash": "sha2-256",
            "pin": "true" if pin else "false",
            "only-hash": "true" if only_hash else "false",
        }
        if isinstance(data, (bytes, bytearray, memoryview)):
            stream: IO[bytes] = io.BytesIO(bytes(data))
            name = "bytes"
            owned = True
        elif isinstance(data, (str, os.PathLike)):
            try:
                stream = open(Path(data), "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise IpfsError(f"cannot read {data}: {exc.strerror or exc}") from None
            name = Path(data).name
            owned = True
        else:
            stream = data
            name = str(getattr(data, "name", "") or "stream")
            owned = False
        tee = _TeeReader(stream, importer, os.path.basename(name) or "file")
        try:
            # ipfshttpclient merges its own flags over ``opts``: give it the same values.
            response = self._client.add(
                io.BufferedReader(tee, DEFAULT_CHUNK_SIZE),
                cid_version=cid_version,
                raw_leaves=importer.raw_leaves,
                chunker=f"size-{DEFAULT_CHUNK_SIZE}",
                pin=pin,
                only_hash=only_hash,
                opts=opts,
            )
        except self._errors as exc:
            raise self._fail("add", exc) from None
        finally:
            if owned:
                stream.close()
        local = importer.finish()
        try:
            remote = CID.parse(str(response["Hash"]))
            size = int(response.get("Size", local.size))
        except (KeyError, TypeError, ValueError):
            raise IpfsError(f"Kubo at {self.url}: unexpected add response {response!r}") from None
        if remote != local.cid:
            raise IpfsError(
                f"Kubo at {self.url} returned CID {remote} but the content hashes to {local.cid} "
                "with Kubo's default import settings; check the node's Import config"
            )
        return ImportResult(remote, size, local.file_size, local.blocks)

    def add(
        self,
        data: AddSource,
        *,
        cid_version: int = 0,
        pin: bool = True,
        raw_leaves: bool | None = None,
        only_hash: bool = False,
    ) -> str:
        """Add content to the node as a UnixFS file; return its CID.

        Args:
            data: Bytes, a path or a binary stream.
            cid_version: 0 or 1.
            pin: Pin the root recursively on the node.
            raw_leaves: Raw leaves (default: True for CIDv1).
            only_hash: Compute the CID without storing.

        Returns:
            The CID as text.

        Raises:
            IpfsError: If the call fails or the node's CID differs from ours.
        """
        return str(
            self.add_file(
                data, cid_version=cid_version, raw_leaves=raw_leaves, pin=pin, only_hash=only_hash
            ).cid
        )

    def pin(self, cid: CIDLike) -> None:
        """Pin a DAG recursively on the node (the node fetches what it lacks).

        Raises:
            IpfsError: If the call fails.
        """
        try:
            self._client.pin.add(str(CID.parse(cid)), recursive=True)
        except self._errors as exc:
            raise self._fail("pin/add", exc) from None

    def unpin(self, cid: CIDLike) -> None:
        """Remove a recursive pin on the node.

        Raises:
            IpfsError: If the CID is not pinned or the call fails.
        """
        try:
            self._client.pin.rm(str(CID.parse(cid)), recursive=True)
        except self._errors as exc:
            raise self._fail("pin/rm", exc) from None

    def pins(self) -> list[str]:
        """Return the node's recursive pins, sorted.

        Raises:
            IpfsError: If the call fails.
        """
        try:
            listing = self._client.pin.ls(type="recursive")
        except self._errors as exc:
            raise self._fail("pin/ls", exc) from None
        return sorted(str(key) for key in listing["Keys"])
