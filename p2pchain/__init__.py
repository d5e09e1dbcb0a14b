"""p2pchain: a decentralized peer-to-peer marketplace.

On-chain escrow and reputation contracts, driven from Python. Listings live on IPFS; the
contracts anchor their content hashes.
"""

from __future__ import annotations

from p2pchain._artifacts import Artifact, artifact_hash, load_artifact
from p2pchain._chains import (
    AnvilChain,
    DevChain,
    EmbeddedChain,
    GanacheChain,
    RpcChain,
    dev_accounts,
    open_chain,
)
from p2pchain._deploy import Deployment, DeploymentsFile, deploy, load_deployment
from p2pchain._errors import (
    ArtifactError,
    ChainError,
    CompilerError,
    ContentVerificationError,
    ContractError,
    DeploymentError,
    IpfsError,
    ListingError,
    P2PChainError,
    WalletError,
)
from p2pchain._model import ListingTerms, Trade, TradeState
from p2pchain._tx import send_transaction
from p2pchain._wallet import (
    KeystoreEntry,
    PassphraseSource,
    Wallet,
    default_keystore_dir,
    read_passphrase_file,
    resolve_passphrase,
)

__all__ = [
    "AnvilChain",
    "Artifact",
    "ArtifactError",
    "ChainError",
    "CompilerError",
    "ContentVerificationError",
    "ContractError",
    "Deployment",
    "DeploymentError",
    "DeploymentsFile",
    "DevChain",
    "EmbeddedChain",
    "GanacheChain",
    "IpfsError",
    "KeystoreEntry",
    "ListingError",
    "ListingTerms",
    "P2PChainError",
    "PassphraseSource",
    "RpcChain",
    "Trade",
    "TradeState",
    "Wallet",
    "WalletError",
    "artifact_hash",
    "default_keystore_dir",
    "deploy",
    "dev_accounts",
    "load_artifact",
    "load_deployment",
    "open_chain",
    "read_passphrase_file",
    "resolve_passphrase",
    "send_transaction",
]

__version__ = "0.1.0"
