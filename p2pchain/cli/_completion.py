"""``p2pchain completion``: shell completion scripts (bash, zsh, fish, PowerShell).

A command instead of typer's ``--install-completion`` flags: those flags make every
``p2pchain <noun> --help`` build typer's runtime converters (and import pydantic), which costs
more than the whole 0.3 s start-up budget on a busy machine.
"""

from __future__ import annotations

from typing import Annotated

import typer

from p2pchain.cli._common import command, noun_app
from p2pchain.cli._errors import CliError

completion_app = noun_app("Shell completion for p2pchain.")

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
ShellArg = Annotated[str, typer.Argument(help="bash, zsh, fish or powershell.")]


def _shell(name: str) -> str:
    if name not in SHELLS:
        raise CliError(f"unknown shell {name!r}: use {', '.join(SHELLS[:4])}")
    return name


@command(completion_app, "show", shared=())
def show(shell: ShellArg) -> None:
    """Print the completion script, e.g. eval "$(p2pchain completion show bash)"."""
    from typer._completion_shared import get_completion_script

    script = get_completion_script(
        prog_name="p2pchain", complete_var="_P2PCHAIN_COMPLETE", shell=_shell(shell)
    )
    typer.echo(script)


@command(completion_app, "install", shared=())
def install(shell: ShellArg) -> None:
    """Install completion into the shell's start-up file (restart the shell afterwards)."""
    from typer._completion_shared import install as install_script

    chosen, path = install_script(
        shell=_shell(shell), prog_name="p2pchain", complete_var="_P2PCHAIN_COMPLETE"
    )
    typer.echo(f"{chosen} completion installed in {path}; restart the shell to use it")
