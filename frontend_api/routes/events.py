"""Live changes for the page: a Server-Sent Events stream fed by the index's background sync.

Each time the sync indexes something (a listing, a purchase, a dispute, a rating, a reorg), the
stream sends one ``change`` event with the new block and the counts, and the page reloads what
it shows. A connection ends after :data:`STREAM_SECONDS` (the browser reconnects on its own, as
``retry`` tells it), so a server can always shut down.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from frontend_api.deps import ServicesDep

router = APIRouter(prefix="/api", tags=["events"])

#: Seconds between checks for a new change.
TICK = 0.05
#: Seconds between keep-alive comments on a quiet stream.
KEEP_ALIVE = 15.0
#: Seconds one connection lasts before the browser reconnects.
STREAM_SECONDS = 60.0
#: Milliseconds the browser waits before reconnecting.
RETRY_MS = 500
#: Milliseconds before reconnecting to an API that does not follow the chain itself.
IDLE_RETRY_MS = 60_000


def sse_event(name: str, data: object, event_id: str | None = None) -> str:
    """One Server-Sent Event: its name, compact JSON data and, if given, its id (which the
    browser sends back as ``Last-Event-ID`` when it reconnects)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def sse_response(stream: AsyncIterator[str]) -> StreamingResponse:
    """A stream of events, never cached nor buffered by a proxy on the way."""
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/events",
    operation_id="stream_changes",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An SSE stream."}},
)
async def events(request: Request, services: ServicesDep) -> StreamingResponse:
    """A ``text/event-stream`` of ``change`` events (``{"block", "events", "listings",
    "trades", "ratings", "reorged_blocks"}``), one per sync that indexed something, and a
    ``hello`` event with ``following`` (false: this API does not sync the index itself, so no
    changes will come)."""
    await run_in_threadpool(lambda: services.index)  # opens the index and starts following
    feed = services.feed

    async def stream() -> AsyncIterator[str]:
        seen, _ = feed.latest()
        if not services.following:  # another process syncs the index: nothing to push, end
            yield f"retry: {IDLE_RETRY_MS}\n\n" + sse_event("hello", {"following": False})
            return
        yield f"retry: {RETRY_MS}\n\n" + sse_event("hello", {"following": True})
        started = quiet = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            version, change = feed.latest()
            if version != seen:
                seen = version
                quiet = time.monotonic()
                yield sse_event("change", change)
            elif time.monotonic() - quiet > KEEP_ALIVE:
                quiet = time.monotonic()
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(TICK)

    return sse_response(stream())
