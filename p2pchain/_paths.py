"""Where things live on disk: the project checkout, its node_modules, the user's data folder.

Everything here only looks; nothing creates files except :func:`user_data_dir` callers.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

#: Environment variable naming a ``node_modules`` folder to use instead of the project's.
NODE_MODULES_ENV = "P2PCHAIN_NODE_MODULES"

_PACKAGE_DIR = Path(__file__).resolve().parent


def package_dir() -> Path:
    """Return the folder of the installed ``p2pchain`` package."""
    return _PACKAGE_DIR


def project_root() -> Path | None:
    """Return the source checkout this package runs from, if it runs from one.

    Returns:
        The folder holding ``package.json`` and ``pyproject.toml`` next to the ``p2pchain``
        package (an editable install or a plain checkout), or None for an installed wheel.
    """
    root = _PACKAGE_DIR.parent
    if (root / "package.json").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None


def find_node_modules(start: Path | None = None) -> Path | None:
    """Locate the ``node_modules`` folder holding the pinned JavaScript toolchain.

    Looks, in order, at ``$P2PCHAIN_NODE_MODULES``, ``start/node_modules``, the project
    checkout's ``node_modules`` and ``node_modules`` in the working directory or any parent.

    Args:
        start: A project folder to look in first (for example a compile root).

    Returns:
        The absolute path of the first existing folder, or None.
    """
    env = os.environ.get(NODE_MODULES_ENV)
    if env:
        path = Path(env).expanduser().resolve()
        return path if path.is_dir() else None
    candidates: list[Path] = []
    if start is not None:
        candidates.append(Path(start) / "node_modules")
    root = project_root()
    if root is not None:
        candidates.append(root / "node_modules")
    cwd = Path.cwd()
    candidates.extend(folder / "node_modules" for folder in (cwd, *cwd.parents))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None


def find_node_tool(name: str, node_modules: Path | None = None) -> Path | None:
    """Find an executable installed by npm (``anvil``, ``ganache``...).

    Args:
        name: The command name, as in ``node_modules/.bin/<name>``.
        node_modules: A ``node_modules`` folder to look in first; by default the one
            :func:`find_node_modules` finds.

    Returns:
        The executable's absolute path (from ``node_modules/.bin`` first, then ``PATH``), or
        None.
    """
    folder = node_modules if node_modules is not None else find_node_modules()
    if folder is not None:
        candidate = folder / ".bin" / name
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    found = shutil.which(name)
    return Path(found).absolute() if found else None


def user_data_dir() -> Path:
    """Return p2pchain's per-user data folder (not created).

    ``$XDG_DATA_HOME/p2pchain`` (default ``~/.local/share/p2pchain``) on Linux,
    ``~/Library/Application Support/p2pchain`` on macOS, ``%APPDATA%\\p2pchain`` on Windows.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "p2pchain"


#: Environment variable overriding p2pchain's data folder (keystores, IPFS store, deployments).
DATA_DIR_ENV = "P2PCHAIN_DATA_DIR"


def data_dir() -> Path:
    """Return p2pchain's data folder: ``$P2PCHAIN_DATA_DIR``, else :func:`user_data_dir` (not created)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser().absolute()
    return user_data_dir()


#: Environment variable overriding where deployments are recorded.
DEPLOYMENTS_ENV = "P2PCHAIN_DEPLOYMENTS"


def default_deployments_path() -> Path:
    """Return ``$P2PCHAIN_DEPLOYMENTS``, or ``deployments.json`` in the data folder
    (``$P2PCHAIN_DATA_DIR``, else the user data folder), next to the keystores and IPFS store."""
    env = os.environ.get(DEPLOYMENTS_ENV)
    return Path(env).expanduser() if env else data_dir() / "deployments.json"
