"""The page's vendored viem is the pinned npm viem, built by the committed esbuild step
(``make page``), and the page loads nothing from another origin."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from frontend_api.app import STATIC_DIR

REPO = Path(__file__).resolve().parents[2]
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"


def _make_flags() -> list[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^ESBUILD_FLAGS := (.+)$", text, re.MULTILINE)
    assert match, "Makefile: ESBUILD_FLAGS not found"
    return shlex.split(match.group(1))


@pytest.mark.parametrize("name", ["viem", "nostr"])
def test_the_committed_bundle_is_what_make_page_builds(name: str) -> None:
    assert ESBUILD.exists(), "esbuild missing from node_modules: run `make node`"
    built = subprocess.run(
        [str(ESBUILD), str(STATIC_DIR / "vendor" / f"{name}-entry.js"), *_make_flags()],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    assert built == (STATIC_DIR / "vendor" / f"{name}.js").read_bytes(), "run `make page`"


def test_the_page_names_no_other_origin() -> None:
    for path in STATIC_DIR.rglob("*"):
        if path.suffix not in (".js", ".html", ".css") or path.name in ("viem.js", "nostr.js"):
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
        assert not re.search(r"""(fetch|import)\s*\(?\s*["'](https?:)?//""", text), path
