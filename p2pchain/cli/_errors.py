"""The CLI's own error: a problem with its input, raised below every command module."""

from __future__ import annotations

from p2pchain._errors import P2PChainError


class CliError(P2PChainError):
    """A problem with the command line's own input (a flag, a file, the config)."""


__all__ = ["CliError"]
