"""The API's settings: one pydantic-settings object, read from ``P2PCHAIN_API_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Largest upload the API accepts (a listing image: 5 MiB; see ``p2pchain.market._listings``).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Chain ids of local dev chains (Anvil and Hardhat; Ganache and geth --dev), which mine a block
#: only when a transaction comes: waiting for confirmations there would wait forever.
DEV_CHAIN_IDS = frozenset({31337, 1337})


def _http_url(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{what} must be an http(s):// URL, got {value!r}")
    return value.rstrip("/")


class ApiSettings(BaseSettings):
    """Where the API reads and writes; every field has a ``P2PCHAIN_API_<NAME>`` variable.

    Attributes:
        network: The chain: an ``http(s)://`` / ``ws(s)://`` RPC URL, or ``embedded`` /
            ``anvil`` / ``ganache`` for a fresh dev chain (deploy it first).
        deployments: The deployments file to find the contracts in (default: the library's).
        index_db: The index database URL (``sqlite:///path`` or ``postgresql://...``); default
            ``index.sqlite`` in the library's data folder.
        sync: Keep the index in step with the chain from this process (a background thread);
            off when a separate indexer fills ``index_db``.
        confirmations: Blocks the index stays behind the chain head. Default: 0 on a dev chain
            (:data:`DEV_CHAIN_IDS`, where blocks are mined only on transactions), else 2.
        poll_interval: Seconds between index syncs. Default: 0.25 on a dev chain (so a change
            reaches the page within a second), else 2.
        head_max_age: Seconds a read of the chain head stays good. Listing details read from
            the chain are kept until a new head's block touches them; 0 reads the head for
            every request, so a change is shown as soon as it is mined (otherwise at most this
            much later).
        ipfs_url: A Kubo node's RPC URL (``http://127.0.0.1:5001``) for uploads and reads.
        ipfs_store: A local IPFS store folder, used when ``ipfs_url`` is not set (default: the
            library's data folder).
        gateway_url: Base URL of the gateway image URLs point to; None: this API's own ``/ipfs``.
        cors_origins: Origins allowed to call the API from a browser (``*`` for any).
        max_upload_bytes: Largest file ``/api/ipfs/upload`` accepts.
        relays: Nostr relays (``ws://`` / ``wss://``, comma-separated) the page talks through
            and the API reads address cards from; the page encrypts and publishes itself.
    """

    model_config = SettingsConfigDict(env_prefix="P2PCHAIN_API_", extra="ignore")

    network: str = Field(
        default="http://127.0.0.1:8545", description="Chain RPC URL or dev chain name."
    )
    deployments: Path | None = Field(default=None, description="Deployments file.")
    index_db: str | None = Field(default=None, description="Index database URL.")
    sync: bool = Field(
        default=True, description="Follow the chain into the index from this process."
    )
    confirmations: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Blocks behind the head (None: 0 on dev chains, else 2).",
    )
    poll_interval: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="Seconds between syncs (None: 0.25 on dev chains, else 2).",
    )
    head_max_age: float = Field(
        default=0.0, ge=0, le=60, description="Seconds a chain head read stays good."
    )
    ipfs_url: str | None = Field(default=None, description="Kubo RPC URL; None: the local store.")
    ipfs_store: Path | None = Field(default=None, description="Local IPFS store folder.")
    gateway_url: str | None = Field(default=None, description="Gateway base URL for image URLs.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS."
    )
    max_upload_bytes: int = Field(
        default=MAX_UPLOAD_BYTES, ge=1, le=64 * 1024 * 1024, description="Largest upload."
    )

    relays: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated Nostr relay URLs for messaging."
    )

    @field_validator("cors_origins", "relays", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*":
                _http_url(origin, "a CORS origin")
        return value

    @field_validator("relays")
    @classmethod
    def _check_relays(cls, value: list[str]) -> list[str]:
        from p2pchain.messaging._relays import RelayError, check_relay_url

        try:
            return list(dict.fromkeys(check_relay_url(url) for url in value))[:16]
        except RelayError as exc:
            raise ValueError(str(exc)) from None

    def confirmations_for(self, chain_id: int) -> int:
        """Blocks the index stays behind the head on chain ``chain_id``."""
        if self.confirmations is not None:
            return self.confirmations
        return 0 if chain_id in DEV_CHAIN_IDS else 2

    def poll_interval_for(self, chain_id: int) -> float:
        """Seconds between index syncs on chain ``chain_id``."""
        if self.poll_interval is not None:
            return self.poll_interval
        return 0.25 if chain_id in DEV_CHAIN_IDS else 2.0

    def index_url(self) -> str:
        """The index database URL, defaulting to ``index.sqlite`` in the data folder."""
        if self.index_db:
            return self.index_db
        from p2pchain.ipfs import default_store_dir

        path = default_store_dir().parent / "index.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    @field_validator("ipfs_url", "gateway_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _http_url(value, "the URL")
