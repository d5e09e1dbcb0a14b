"""The committed OpenAPI spec: ``python -m frontend_api.openapi`` rewrites ``frontend_api/openapi.json``.

A test fails when the live spec and the committed file differ, so changes to the API surface are
always visible in review. Operation ids are stable names (``search_listings``, ``prepare_buy``...)
that generated clients use as method names.
"""

from __future__ import annotations

import json
from typing import Any

from frontend_api.app import OPENAPI_PATH, create_app


def live_spec() -> dict[str, Any]:
    """The spec the app serves at ``/openapi.json`` (built without connecting to anything)."""
    return create_app().openapi()


def render(spec: dict[str, Any]) -> str:
    """The spec as committed: sorted keys, two-space indent, a final newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """Write the live spec to :data:`~frontend_api.app.OPENAPI_PATH`."""
    OPENAPI_PATH.write_text(render(live_spec()), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")


if __name__ == "__main__":
    main()
