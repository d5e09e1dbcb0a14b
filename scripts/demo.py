"""Demo placeholder: deploy on the embedded chain and print the contract addresses.

The contracts engineer will grow this into a walk through a whole trade.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/demo.py` without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchain._chains import EmbeddedChain
from p2pchain._deploy import deploy
from p2pchain._errors import P2PChainError


def main() -> int:
    """Deploy on a fresh embedded chain and print where the contracts landed."""
    try:
        with EmbeddedChain() as chain:
            deployment = deploy(chain, chain.accounts[0])
    except P2PChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"chain        embedded (chain id {deployment.chain_id})")
    print(f"Marketplace  {deployment.marketplace}")
    print(f"Reputation   {deployment.reputation}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
