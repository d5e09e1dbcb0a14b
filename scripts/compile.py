"""Regenerate the shipped contract artifacts in p2pchain/artifacts/ from contracts/.

Usage: ``python scripts/compile.py [--out DIR]`` (or ``make compile``). Works offline: the
compiler is py-solc-x's solc 0.8.30, provided from npm ``solc`` if no native one is installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/compile.py` without an install
    sys.path.insert(0, str(ROOT))

from p2pchain._errors import P2PChainError
from p2pchain.compiler._solc import compile_contracts, default_artifacts_dir, write_artifacts


def main(argv: Sequence[str] | None = None) -> int:
    """Compile contracts/ and write the artifacts; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="project root (has contracts/)")
    parser.add_argument(
        "--out", type=Path, default=None, help="artifacts folder (default: p2pchain/artifacts)"
    )
    args, _unknown = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    started = time.perf_counter()
    try:
        compiled = compile_contracts(args.root)
        written = write_artifacts(compiled, args.out)
    except P2PChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = args.out if args.out is not None else default_artifacts_dir()
    tests = sum(1 for c in compiled.values() if c.is_test)
    print(
        f"compiled {len(compiled)} contracts ({tests} test-only) into {out}"
        f" in {time.perf_counter() - started:.1f}s ({len(written)} files)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
