"""GatewayBackend: read-only access through an HTTP gateway, trusting nothing it says.

The gateway is asked only for single raw blocks (``GET /ipfs/<cid>?format=raw`` with
``Accept: application/vnd.ipld.raw``, the trustless gateway protocol). Each block is hashed
against its CID, and files are rebuilt locally by walking the DAG, so a gateway that lies,
truncates or serves another file is caught (:class:`~p2pchain.ContentVerificationError`).
Writes raise :class:`~p2pchain.IpfsError`.
"""

from __future__ import annotations

from typing import Self

import requests

from p2pchain._errors import IpfsError
from p2pchain.ipfs._backend import CIDLike, VerifiedReader
from p2pchain.ipfs._http import read_block_body
from p2pchain.ipfs._importer import AddSource
from p2pchain.ipfs._multiformats import CID

RAW_BLOCK_TYPE = "application/vnd.ipld.raw"


class GatewayBackend(VerifiedReader):
    """Read-only content from an IPFS HTTP gateway.

    Args:
        url: The gateway's base URL, e.g. ``http://127.0.0.1:8080`` (``/ipfs/<cid>`` is added).
        timeout: Seconds to wait for each HTTP call.
    """

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise IpfsError(f"invalid gateway URL {url!r}: expected http(s)://host[:port]")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"GatewayBackend({self.url!r})"

    def close(self) -> None:
        """Release the HTTP session's connections."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, cid: CID, headers: dict[str, str]) -> requests.Response:
        try:
            return self._session.get(
                f"{self.url}/ipfs/{cid}",
                params={"format": "raw"},
                headers={"Accept": RAW_BLOCK_TYPE, **headers},
                timeout=self.timeout,
                stream=True,
            )
        except requests.RequestException as exc:
            raise IpfsError(f"gateway {self.url}: cannot fetch {cid}: {exc}") from None

    def _fetch_block(self, cid: CID) -> bytes:
        with self._get(cid, {}) as response:
            if response.status_code != 200:
                raise IpfsError(
                    f"gateway {self.url}: {cid} not available (HTTP {response.status_code}: "
                    f"{response.text[:200].strip()})"
                )
            try:
                return read_block_body(response, cid, f"gateway {self.url}")
            except requests.RequestException as exc:
                raise IpfsError(f"gateway {self.url}: reading {cid} failed: {exc}") from None

    def has(self, cid: CIDLike) -> bool:
        """Tell whether the gateway can serve the block from its cache right now.

        Sends ``Cache-Control: only-if-cached`` (the gateway answers 412 rather than searching
        the network).

        Raises:
            IpfsError: If the gateway cannot be reached.
        """
        with self._get(CID.parse(cid), {"Cache-Control": "only-if-cached"}) as response:
            return response.status_code == 200

    def _read_only(self, action: str) -> IpfsError:
        return IpfsError(f"gateway {self.url} is read-only: cannot {action}")

    def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> str:
        """Refused: a gateway is read-only.

        Raises:
            IpfsError: Always.
        """
        raise self._read_only("add content")

    def pin(self, cid: CIDLike) -> None:
        """Refused: a gateway is read-only.

        Raises:
            IpfsError: Always.
        """
        raise self._read_only(f"pin {cid}")

    def unpin(self, cid: CIDLike) -> None:
        """Refused: a gateway is read-only.

        Raises:
            IpfsError: Always.
        """
        raise self._read_only(f"unpin {cid}")

    def pins(self) -> list[str]:
        """A gateway keeps no pins for us: always empty."""
        return []
