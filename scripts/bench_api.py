"""Benchmark: the frontend API under ``wrk`` on loopback, search and listing detail.

Usage: ``python scripts/bench_api.py [--listings 200] [--duration 15] [--connections 16]
[--max-load 2.5] [--out docs/bench-api.md]``.

Sets up a real stack on this machine: Anvil (127.0.0.1), fresh contracts, ``--listings``
listings published with their documents in a local IPFS store, the index built from the chain
(SQLite). Then serves the API the way users run it (``uvicorn frontend_api.main:app``, one
process, configured by ``P2PCHAIN_API_*`` variables, on 127.0.0.1) and points ``wrk`` at:

* ``search``: ``GET /api/listings`` rotating over text queries, kind filters and sort orders;
* ``detail``: ``GET /api/listings/<id>`` rotating over every listing (the chain head read for
  each request, the listing read from the chain once and kept while no block touches it, the
  document fetched and verified from IPFS once, the seller's trust);
* ``detail, a block every 1 s``: the same while an empty block is mined every second (each new
  head costs one ``eth_getLogs`` of that block; no listing is touched, so views are kept);
* ``detail, head_max_age 1 s``: a second API process that reads the head at most once a second.

The baseline, measured in the same run: a minimal FastAPI app (:func:`minimal_app`, the same
uvicorn command) that answers the same URLs with the same bodies, already encoded; the report
gives each API run's rate as a ratio of it.

Prints requests per second and latency percentiles for each, writes a Markdown report, and
fails (exit 1) if wrk saw any socket error or non-2xx answer. A script that prints figures,
never a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import requests
from fastapi import FastAPI, Request
from fastapi.responses import Response

from p2pchain.chain._deploy import DeploymentsFile, deploy
from p2pchain.chain._nodes import AnvilChain, free_port
from p2pchain.indexer import Indexer
from p2pchain.ipfs import LocalStore
from p2pchain.market._client import MarketplaceClient
from p2pchain.market._listings import publish_listing

REPO_ROOT = Path(__file__).resolve().parent.parent
WORDS = ("bike", "lamp", "camera", "desk", "guitar", "tent", "drill", "sofa", "kettle", "boots")
KINDS = ("sale", "service", "rental")
#: The file of bodies :func:`minimal_app` serves (``{"/path?query": "<body>"}``).
BODIES_ENV = "P2PCHAIN_BENCH_BODIES"


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    name: str
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    paths: int
    load: float = 0.0


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(name: str, output: str, paths: int) -> WrkResult:
    """Read requests, rate, latency percentiles and errors from ``wrk --latency`` output."""
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", output, re.MULTILINE))
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.MULTILINE)
    if not (total and rate and len(percentiles) == 3):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return WrkResult(
        name=name,
        requests=int(total.group(1)),
        rps=float(rate.group(1)),
        p50_ms=_ms(percentiles["50"]),
        p90_ms=_ms(percentiles["90"]),
        p99_ms=_ms(percentiles["99"]),
        errors=errors,
        paths=paths,
    )


def _document(seller: str, index: int) -> dict[str, object]:
    word = WORDS[index % len(WORDS)]
    kind = KINDS[index % len(KINDS)]
    doc: dict[str, object] = {
        "schema_version": 1,
        "title": f"{word.title()} number {index}",
        "description": f"A used {word} in working order, listing {index}.",
        "category": f"bench/{word}",
        "kind": kind,
        "price": str(10**15 * (index + 1)),
        "seller": seller,
        "created_at": 1_700_000_000 + index,
        "tags": [word, "bench"],
    }
    if kind == "sale":
        doc["condition"] = "good"
    if kind == "rental":
        doc.update(deposit=str(10**15), rental={"start": 1_800_000_000, "end": 1_800_086_400})
    return doc


def _lua(paths: list[str]) -> str:
    quoted = ",\n".join(f'  "{p}"' for p in paths)
    return (
        f"local paths = {{\n{quoted}\n}}\nlocal i = 0\n"
        "request = function()\n  i = (i % #paths) + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
    )


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the API process exited before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the API did not listen on 127.0.0.1:{port}")


def run_wrk(
    wrk: str, base: str, name: str, paths: list[str], tmp: Path, args: argparse.Namespace
) -> WrkResult:
    """Run wrk over ``paths`` (rotating) and parse its figures."""
    script = tmp / (re.sub(r"\W+", "-", name) + ".lua")
    script.write_text(_lua(paths))
    argv = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    load = os.getloadavg()[0]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return replace(parse_wrk(name, out, len(paths)), load=load)


def wait_for_quiet(max_load: float, timeout: float = 180.0) -> float:
    """Wait (up to ``timeout`` s) for the 1-minute load average to fall below ``max_load``.

    Returns:
        The load average then (measuring goes on anyway after ``timeout``).
    """
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


@contextmanager
def mining(chain: AnvilChain, interval: float) -> Iterator[None]:
    """Mine an empty block every ``interval`` seconds while the block runs."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            chain.mine()

    thread = threading.Thread(target=run, name="bench-miner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def minimal_app() -> FastAPI:
    """The baseline: FastAPI answering the API's search and detail URLs with bodies read from
    the file named by ``$P2PCHAIN_BENCH_BODIES`` (the real API's answers), already encoded."""
    bodies = {
        url: body.encode()
        for url, body in json.loads(Path(os.environ[BODIES_ENV]).read_text()).items()
    }
    app = FastAPI()

    def answer(request: Request) -> Response:
        query = request.url.query
        body = bodies.get(request.url.path + ("?" + query if query else ""))
        if body is None:
            return Response(b'{"detail":"not found"}', 404, media_type="application/json")
        return Response(body, media_type="application/json")

    @app.get("/api/listings")
    async def search(request: Request) -> Response:
        return answer(request)

    @app.get("/api/listings/{listing_id}")
    async def detail(listing_id: str, request: Request) -> Response:
        return answer(request)

    return app


@contextmanager
def serve_api(env: dict[str, str], app: str = "frontend_api.main:app") -> Iterator[str]:
    """``uvicorn <app>`` on 127.0.0.1, configured by ``env``; its base URL."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        *(["--factory", "--app-dir", str(REPO_ROOT / "scripts")] if app.endswith("()") else []),
        app.removesuffix("()"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    api = subprocess.Popen(argv, env=env, cwd=REPO_ROOT)
    try:
        _wait_for(port, api)
        yield f"http://127.0.0.1:{port}"
    finally:
        api.terminate()
        api.wait(timeout=30)


def ratio(result: WrkResult, baselines: dict[str, WrkResult]) -> float | None:
    """``result``'s rate over the baseline's for the same URLs (None for a baseline run)."""
    if result.name.startswith(BASELINE):
        return None
    base = baselines.get("search" if result.name == "search" else "detail")
    return result.rps / base.rps if base is not None and base.rps else None


#: Name prefix of the baseline runs.
BASELINE = "minimal app"


def report(results: list[WrkResult], args: argparse.Namespace) -> str:
    """The Markdown report."""
    runs = {r.name: r for r in results}
    baselines = {
        r.name.removeprefix(BASELINE + ", "): r for r in results if r.name.startswith(BASELINE)
    }
    lines = [
        "# API benchmark",
        "",
        (
            f"Generated by `python scripts/bench_api.py` ({args.listings} listings, wrk"
            f" {args.threads} threads, {args.connections} connections, {args.duration} s per"
            " run, loopback)."
        ),
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with wrk and Anvil),"
            f" Python {platform.python_version()}. The API runs as"
            " `uvicorn frontend_api.main:app`, one process, index in SQLite, documents in a local"
            " IPFS store."
        ),
        (
            "Load: the 1-minute load average just before each run (other work on the machine"
            " skews the figures; compare runs on a quiet machine)."
        ),
        "",
        "| run | requests | req/s | × minimal app | p50 | p90 | p99 | errors | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        x = ratio(r, baselines)
        lines.append(
            f"| {r.name} | {r.requests:,} | {r.rps:,.0f} | {'' if x is None else f'{x:.2f}'}"
            f" | {r.p50_ms:.1f} ms | {r.p90_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.errors}"
            f" | {r.load:.1f} |"
        )
    lines += [
        "",
        (
            "- `search`: `GET /api/listings`, rotating over free-text words, kind filters and"
            f" sort orders ({runs['search'].paths} distinct URLs); answered from the index alone, on"
            " the server's event loop (SQLite, a connection per thread). The same query on an"
            " unchanged index (SQLite's `data_version`: nothing committed since) is answered"
            " from memory, so with the URLs repeated and no sync running this measures kept"
            " answers plus the request's own costs (parameters validated in one step, the"
            " `data_version` and trust reads, the answer put together from kept encodings); any"
            " commit to the index drops them."
        ),
        (
            f"- `detail`: `GET /api/listings/<id>` over all {runs['detail'].paths} listings. Each"
            " request waits for a read of the chain head (`eth_getBlockByNumber`) that started"
            " after it arrived, one read serving every request waiting for it (`head_max_age` 0,"
            " the default); the listing is"
            " read from the chain (logs and two calls to Anvil) only when no view of it is"
            " current at that head (its state at a block never changes; a new block drops only"
            " the views of listings its marketplace logs name, a reorg drops all). Its document"
            " is fetched from IPFS and verified against its CID once, then kept; the seller's"
            " trust comes from the index. No block is mined during this run. Requests wait for"
            " the head on the event loop (one worker thread reads it per wave of waiting"
            " requests) and a kept view is answered there, its chain-and-document part encoded"
            " once per view; a view to read, a new head's logs or a first document go to a"
            " worker thread."
        ),
        (
            "- `detail, a block every 1 s`: the same while the script mines an empty block every"
            " second: each new head costs one `eth_getLogs` of that block, and the views stay."
        ),
        (
            "- `detail, head_max_age 1 s`: another API process with"
            " `P2PCHAIN_API_HEAD_MAX_AGE=1`: the head is read at most once a second, so a change"
            " shows up to a second late."
        ),
        (
            f"- `{BASELINE}, search` and `{BASELINE}, detail`: the baseline, in the same run: a"
            " minimal FastAPI app (`scripts/bench_api.py:minimal_app`, the same uvicorn command)"
            " answering the same URLs with the API's own bodies, already encoded (no database,"
            " no chain, no validation). `× minimal app`: a run's req/s over the baseline's for"
            " the same URLs."
        ),
        (
            "- Order: search, its baseline, detail, its baseline (each right after the other, so"
            " that both see about the same load), then the two other detail runs."
        ),
        "- errors: socket errors plus non-2xx answers seen by wrk; the script fails unless all are 0.",
        "",
        "Earlier figures, for comparison (the same script and machine, 4-5 s runs, issue 14):",
        "",
        (
            "- before the API's fast paths (commit 9501f82): search 466 req/s (×0.06), detail"
            " 1,235 (×0.17), detail with `head_max_age` 1 s 1,745 (×0.23), against a minimal app"
            " at 7,917 and 7,469;"
        ),
        (
            "- with every step but the kept search answers (commit 354877f): search 1,884 req/s"
            " (×0.20), detail 3,411 (×0.39), against 9,431 and 8,731. A search on an index that"
            " changes between requests costs about this."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Set up, measure, print and write the report.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success; 1 if wrk is missing or saw any error.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=200)
    parser.add_argument("--duration", type=int, default=15, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--max-load",
        type=float,
        default=0.0,
        help="wait (up to 3 min) for the 1-minute load average to fall below this first",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "bench-api.md")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk not found: apt-get install wrk (or make browser)", file=sys.stderr)
        return 1
    with AnvilChain() as chain, tempfile.TemporaryDirectory(prefix="bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        deployer, seller_account = chain.accounts[:2]
        deployment = deploy(chain, deployer)
        deployments = tmp / "deployments.json"
        DeploymentsFile(deployments).save(deployment)
        seller = MarketplaceClient.connect(chain, account=seller_account, deployments=deployment)
        store = LocalStore(tmp / "ipfs")
        ids = []
        for i in range(args.listings):
            published = publish_listing(seller, store, _document(seller.address, i))
            ids.append("0x" + published.listing.id.hex())  # type: ignore[union-attr]
        index_db = f"sqlite:///{tmp / 'index.sqlite'}"
        synced = Indexer(index_db, chain, deployment, ipfs=store, confirmations=0)
        synced.sync()
        synced.close()
        print(f"{args.listings} listings published and indexed")

        env = {
            **os.environ,
            "P2PCHAIN_API_NETWORK": chain.url,
            "P2PCHAIN_API_DEPLOYMENTS": str(deployments),
            "P2PCHAIN_API_INDEX_DB": index_db,
            "P2PCHAIN_API_IPFS_STORE": str(tmp / "ipfs"),
            "P2PCHAIN_API_SYNC": "false",
            "P2PCHAIN_API_HEAD_MAX_AGE": "0",
        }
        searches = [f"/api/listings?text={w}" for w in WORDS]
        searches += [f"/api/listings?kind={k}&sort=price_asc" for k in KINDS]
        searches += ["/api/listings?sort=newest&limit=50", "/api/listings?sort=trust"]
        details = [f"/api/listings/{i}" for i in ids]
        session = requests.Session()
        session.trust_env = False
        results = []
        bodies: dict[str, str] = {}
        minimal_env = {**env, BODIES_ENV: str(tmp / "bodies.json")}
        with serve_api(env) as base:
            for path in (*searches, *details):  # every URL answers 200 before measuring
                answer = session.get(base + path, timeout=30)
                answer.raise_for_status()
                bodies[path] = answer.content.decode()
            (tmp / "bodies.json").write_text(json.dumps(bodies))
            with serve_api(minimal_env, "bench_api:minimal_app()") as minimal:
                for path in (*searches, *details):  # the same answers, byte for byte
                    answer = session.get(minimal + path, timeout=30)
                    answer.raise_for_status()
                    if answer.content.decode() != bodies[path]:
                        raise RuntimeError(f"the minimal app's answer to {path} differs")
                if args.max_load:
                    wait_for_quiet(args.max_load)
                # each run right next to its baseline: both see about the same load
                results.append(run_wrk(wrk, base, "search", searches, tmp, args))
                results.append(run_wrk(wrk, minimal, f"{BASELINE}, search", searches, tmp, args))
                results.append(run_wrk(wrk, base, "detail", details, tmp, args))
                results.append(run_wrk(wrk, minimal, f"{BASELINE}, detail", details, tmp, args))
            with mining(chain, 1.0):
                results.append(run_wrk(wrk, base, "detail, a block every 1 s", details, tmp, args))
        with serve_api({**env, "P2PCHAIN_API_HEAD_MAX_AGE": "1"}) as base:
            for path in details:
                session.get(base + path, timeout=30).raise_for_status()
            results.append(run_wrk(wrk, base, "detail, head_max_age 1 s", details, tmp, args))
    results.sort(key=lambda r: r.name.startswith(BASELINE))  # the baselines last
    baselines = {
        r.name.removeprefix(BASELINE + ", "): r for r in results if r.name.startswith(BASELINE)
    }
    for r in results:
        x = ratio(r, baselines)
        print(
            f"{r.name:26s} {r.rps:9.0f} req/s  {'' if x is None else f'x{x:.2f}':6s}"
            f"  p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms  errors {r.errors}  load {r.load:.1f}"
        )
    args.out.write_text(report(results, args))
    print(f"wrote {args.out}")
    # The ratios `make bench` compares with the committed ones (scripts/bench_guard.py).
    guarded = {}
    for r in results:
        x = ratio(r, baselines)
        if x is not None and r.name in ("search", "detail"):
            guarded[f"{r.name}_vs_minimal_app"] = round(x, 3)
    args.out.with_suffix(".json").write_text(
        json.dumps({"higher_is_better": guarded}, indent=2, sort_keys=True) + "\n"
    )
    return 0 if all(r.errors == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
