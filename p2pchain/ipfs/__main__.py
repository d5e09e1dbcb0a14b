"""``python -m p2pchain.ipfs serve --port N``: run the local IPFS dev node on 127.0.0.1."""

from __future__ import annotations

import sys

from p2pchain.ipfs._server import main_serve

if __name__ == "__main__":
    sys.exit(main_serve())
