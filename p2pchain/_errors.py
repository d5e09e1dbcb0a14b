"""The exception hierarchy of p2pchain.

Every error the library raises derives from :class:`P2PChainError`, so front ends (the CLI, the
HTTP API) catch one type and print its message: one line, naming the problem and what to do.
Messages never contain private keys or passphrases.
"""

from __future__ import annotations


class P2PChainError(Exception):
    """Root of every error raised by p2pchain."""


class CompilerError(P2PChainError):
    """The Solidity compiler is missing, the wrong version, or rejected the sources."""


class ChainError(P2PChainError):
    """A chain could not be started, reached, or answered unexpectedly."""


class DeploymentError(P2PChainError):
    """Contracts could not be deployed, or a recorded deployment does not match the chain."""


class ArtifactError(P2PChainError):
    """The compiled artifacts shipped with the package are missing or inconsistent."""


class IpfsError(P2PChainError):
    """An IPFS backend could not store or return content."""


class ContentVerificationError(IpfsError):
    """Content read from IPFS does not hash to the CID it was requested by (tampered or truncated)."""


class WalletError(P2PChainError):
    """A keystore could not be created, read, decrypted or exported."""


class ListingError(P2PChainError):
    """A listing document is malformed, oversized, of an unknown version, or disagrees with the chain."""


class RequestError(P2PChainError):
    """A request (what a buyer asks for) or an answer to it is malformed, not signed by its
    requester, expired, for another marketplace, or disagrees with its signed fields."""


class ContractError(P2PChainError):
    """A contract call reverted; subclasses name the contract's custom error."""


class MessagingError(P2PChainError):
    """A message could not be built, sent, read or verified (see :mod:`p2pchain.messaging`)."""
