"""The README's CLI tour, executed command by command, so the README cannot drift from the CLI.

The ``sh`` blocks of the section "A five-minute tour of the CLI" run in order, in one bash
session (variables like ``$LISTING`` carry over), through the installed ``p2pchain`` entry
point: a real Anvil started by ``p2pchain node start``, the embedded IPFS store, a private data
folder and config. Passphrase and confirmations come from the environment, as in a script.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import PASSPHRASE

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## A five-minute tour of the CLI"


def tour_commands(text: str) -> list[str]:
    """The commands of the tour's ``sh`` blocks, in order (continued lines joined)."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else len(text)]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        pending = ""
        for line in block.splitlines():
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_tour_section_covers_the_story() -> None:
    commands = tour_commands(README.read_text(encoding="utf-8"))
    words = [" ".join(c.split("$(")[-1].split()[:3]) for c in commands]
    story = ["p2pchain wallet new", "p2pchain node start", "p2pchain deploy",
             "p2pchain listing create", "p2pchain trade buy", "p2pchain trade release",
             "p2pchain rate", "p2pchain node stop"]  # fmt: skip
    positions = [next(i for i, w in enumerate(words) if w.startswith(s)) for s in story]
    assert positions == sorted(positions), words


def test_tour_runs_in_order(tmp_path: Path) -> None:
    commands = tour_commands(README.read_text(encoding="utf-8"))
    lines = ["set -euo pipefail"]
    for i, command in enumerate(commands):
        lines.append(command)
        lines.append(f"echo '::step {i} done'")
    script = tmp_path / "tour.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "P2PCHAIN_DATA_DIR": str(tmp_path / "data"),
        "P2PCHAIN_CONFIG": str(tmp_path / "config" / "config.toml"),
        "P2PCHAIN_DEPLOYMENTS": str(tmp_path / "data" / "deployments.json"),
        "P2PCHAIN_PASSPHRASE": PASSPHRASE,
        "P2PCHAIN_YES": "1",
    }
    for key in ("P2PCHAIN_NETWORK", "P2PCHAIN_ACCOUNT", "P2PCHAIN_IPFS", "P2PCHAIN_GATEWAY"):
        env.pop(key, None)
    workdir = tmp_path / "work"
    workdir.mkdir()
    try:
        result = subprocess.run(
            ["bash", str(script)], cwd=workdir, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
    finally:  # never leave the tour's node running, even when a step failed
        subprocess.run(["p2pchain", "node", "stop"], env=env, capture_output=True, check=False)
    done = re.findall(r"::step (\d+) done", result.stdout)
    assert result.returncode == 0, (
        f"tour stopped after step {len(done)}: {commands[len(done)]!r}\n{result.stderr[-2000:]}"
    )
    assert [int(i) for i in done] == list(range(len(commands)))
    out = result.stdout
    assert "Road bike, 56 cm" in out  # listing show read the document back from IPFS
    assert "ratings  1" in out and "average  5.00 / 5" in out  # reputation alice
    assert "stopped anvil" in out
    assert "Traceback" not in result.stderr
