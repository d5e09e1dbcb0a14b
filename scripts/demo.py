"""The whole marketplace in one run, on the embedded chain: nothing to set up.

A seller lists a car for a weekend (photo and document on IPFS, rent plus a refundable deposit,
an arbitrator named) and a helmet as a gasless signed listing; a buyer finds and checks the car,
rents it, releases the rent and gets the deposit back; both rate each other; the helmet trade is
disputed and the arbitrator rules a split. Each step prints its transaction hash and gas; the
run ends with balances, reputations and a gas table. The story itself is
:func:`p2pchain.demo._story.run_demo`, also behind ``p2pchain demo``.

Usage: ``python scripts/demo.py [--network embedded|anvil|ganache]`` (or ``make demo``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/demo.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchain._errors import P2PChainError
from p2pchain.demo._story import NETWORKS, run_demo


def main(argv: list[str] | None = None) -> int:
    """Run the demo; one line and exit status 1 on a p2pchain error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=NETWORKS, default="embedded")
    args = parser.parse_args(argv)
    try:
        run_demo(args.network)
    except P2PChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
