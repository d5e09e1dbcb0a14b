"""The README's "Using the library" example runs exactly as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    """The first python code block of the README's "Using the library" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Using the library", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "no python block in README's 'Using the library' section"
    return match.group(1)


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("P2PCHAIN_DATA_DIR", str(tmp_path / "data"))
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(readme_example(), str(README), "exec"), namespace)  # noqa: S102 (our README)
    trade = namespace["trade"]
    assert type(trade).__name__ == "TradeView"
    assert str(getattr(trade.trade.state, "name", "")) == "COMPLETED"  # type: ignore[attr-defined]
    seen = namespace["seen"]
    assert getattr(seen, "images", None) == (
        b"\xff\xd8\xff\xe0 pretend this is a JPEG of a road bike",
    )
    assert "data" in namespace["tx"]  # type: ignore[operator]
