"""The p2pchain HTTP API for dApp front ends, and the web page it serves.

Reads come from the index and the chain, writes are unsigned transactions for a browser wallet
(the API holds no keys), uploads go to the configured IPFS backend. Start it with
``p2pchain api serve`` or ``uvicorn frontend_api.main:app``.
"""

from __future__ import annotations

from frontend_api.app import create_app
from frontend_api.services import Services
from frontend_api.settings import ApiSettings

__all__ = ["ApiSettings", "Services", "create_app"]
