"""p2pchain: a decentralized peer-to-peer marketplace.

On-chain escrow and reputation contracts, driven from Python. Listings live on IPFS; the
contracts anchor their content hashes.
"""

from __future__ import annotations

from p2pchain._errors import (
    ArtifactError,
    ChainError,
    CompilerError,
    DeploymentError,
    P2PChainError,
)

__all__ = [
    "ArtifactError",
    "ChainError",
    "CompilerError",
    "DeploymentError",
    "P2PChainError",
]

__version__ = "0.1.0"
