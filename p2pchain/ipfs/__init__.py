"""IPFS for p2pchain: Kubo-identical CIDs, a local block store, verified reads, a dev node.

* :func:`import_file` / :func:`compute_cid`: chunk and hash content exactly as Kubo's
  ``ipfs add`` (CIDv0 by default; CIDv1 with raw leaves), streaming, for any size.
* :class:`IpfsBackend`: the one interface. :class:`LocalStore` (a folder on disk, the default),
  :class:`KuboBackend` (a Kubo node's RPC API) and :class:`GatewayBackend` (read-only HTTP
  gateway) implement it. Every read is verified against its CID: tampered or truncated content
  raises :class:`~p2pchain.ContentVerificationError`.
* :func:`serve` / :class:`DevNode`: a local dev node (Kubo RPC subset + gateway) on 127.0.0.1,
  also ``python -m p2pchain.ipfs serve --port N``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p2pchain._errors import ContentVerificationError, IpfsError
from p2pchain._paths import DATA_DIR_ENV
from p2pchain.ipfs._backend import CIDLike, IpfsBackend
from p2pchain.ipfs._gateway import GatewayBackend
from p2pchain.ipfs._importer import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_LINKS,
    AddSource,
    ImportResult,
    UnixFSImporter,
    compute_cid,
    import_file,
)
from p2pchain.ipfs._kubo import KuboBackend
from p2pchain.ipfs._local import LocalStore, default_store_dir
from p2pchain.ipfs._multiformats import CID, Multihash
from p2pchain.ipfs._reader import DEFAULT_MAX_CAT_SIZE, MAX_BLOCK_SIZE, verify_block

if TYPE_CHECKING:
    from p2pchain.ipfs._server import DevNode, create_app, serve

#: The dev node's names load FastAPI and uvicorn (0.16 s): only when one of them is used.
_SERVER_NAMES = frozenset({"DevNode", "create_app", "serve"})


def __getattr__(name: str) -> Any:
    if name in _SERVER_NAMES:
        from p2pchain.ipfs import _server

        return getattr(_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CID",
    "DATA_DIR_ENV",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_CAT_SIZE",
    "DEFAULT_MAX_LINKS",
    "MAX_BLOCK_SIZE",
    "AddSource",
    "CIDLike",
    "ContentVerificationError",
    "DevNode",
    "GatewayBackend",
    "ImportResult",
    "IpfsBackend",
    "IpfsError",
    "KuboBackend",
    "LocalStore",
    "Multihash",
    "UnixFSImporter",
    "compute_cid",
    "create_app",
    "default_store_dir",
    "import_file",
    "serve",
    "verify_block",
]
