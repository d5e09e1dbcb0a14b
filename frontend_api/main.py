"""``uvicorn frontend_api.main:app``: the API configured from ``P2PCHAIN_API_*`` variables."""

from __future__ import annotations

from frontend_api.app import create_app

app = create_app(warm_up=True)
