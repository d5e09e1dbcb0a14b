"""Reading one block's HTTP body with a size cap, shared by the Kubo and gateway backends."""

from __future__ import annotations

import requests

from p2pchain._errors import IpfsError
from p2pchain.ipfs._multiformats import CID
from p2pchain.ipfs._reader import MAX_BLOCK_SIZE


def read_block_body(response: requests.Response, cid: CID, source: str) -> bytes:
    """Read a streamed block body, refusing one over :data:`MAX_BLOCK_SIZE` bytes.

    Args:
        response: A streamed ``requests`` response for the block.
        cid: The block's CID, for the error message.
        source: Who served it, e.g. ``"Kubo at http://..."``, for the error message.

    Raises:
        IpfsError: The body is over the limit.
        requests.RequestException: Reading failed (callers word their own message).
    """
    data = bytearray()
    for piece in response.iter_content(65536):
        data += piece
        if len(data) > MAX_BLOCK_SIZE:
            raise IpfsError(f"{source}: block {cid} is over the {MAX_BLOCK_SIZE}-byte limit")
    return bytes(data)
