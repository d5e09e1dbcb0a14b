"""Development chains behind one small interface.

* :class:`EmbeddedChain`: py-evm in process (web3's ``EthereumTesterProvider``); fastest.
* :class:`AnvilChain`, :class:`GanacheChain`: the npm-installed nodes as subprocesses, bound
  to 127.0.0.1 on a free port and stopped by their own PID.
* :class:`RpcChain`: any JSON-RPC URL (a node you run yourself, or a real network).

Every chain exposes ``w3``, ``chain_id``, ``accounts`` (the ten accounts of the standard dev
mnemonic, funded on dev chains) and time/snapshot helpers. Transactions are always signed
locally with these keys and sent raw (see :mod:`p2pchain.chain._tx`), so the same code runs
unchanged against a real network.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from functools import cache, cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlparse

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers import HTTPProvider, LegacyWebSocketProvider
from web3.types import RPCEndpoint

from p2pchain._errors import ChainError
from p2pchain._paths import find_node_modules, find_node_tool

#: The well-known development mnemonic (Anvil's and Hardhat's default). Never use it for value.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
#: Number of dev accounts derived from :data:`DEV_MNEMONIC`.
DEV_ACCOUNT_COUNT = 10
#: BIP-44 path of dev account ``i``.
DEV_HD_PATH = "m/44'/60'/0'/0/{index}"
#: Balance of each dev account on chains p2pchain starts, in ether.
DEV_BALANCE_ETHER = 10_000
#: Hardfork every dev chain runs (matches the compiler's ``evmVersion``).
DEV_HARDFORK = "shanghai"
ANVIL_CHAIN_ID = 31337
GANACHE_CHAIN_ID = 1337

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@cache
def _derive_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=DEV_HD_PATH.format(index=index)
    )
    return account


def dev_accounts(count: int = DEV_ACCOUNT_COUNT) -> list[LocalAccount]:
    """Return the first ``count`` accounts of :data:`DEV_MNEMONIC` (public test keys)."""
    return [_derive_account(i) for i in range(count)]


class DevChain:
    """A chain p2pchain talks to: a web3 connection plus dev-time helpers.

    Use as a context manager (or call :meth:`stop`) to release what the chain started.

    Attributes:
        name: ``"embedded"``, ``"anvil"``, ``"ganache"`` or the RPC URL.
        w3: The web3 connection.
    """

    name: str
    w3: Web3

    def __init__(self, name: str, w3: Web3) -> None:
        self.name = name
        self.w3 = w3

    @cached_property
    def chain_id(self) -> int:
        """The chain id (EIP-155)."""
        return int(self.w3.eth.chain_id)

    @property
    def accounts(self) -> list[LocalAccount]:
        """The dev accounts, funded with :data:`DEV_BALANCE_ETHER` ether on dev chains."""
        return dev_accounts()

    def latest_timestamp(self) -> int:
        """Return the timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def increase_time(self, seconds: int) -> None:
        """Move the chain's clock forward: the next block is ``seconds`` later than otherwise."""
        raise ChainError(f"{self.name} cannot change its clock")

    def set_next_timestamp(self, timestamp: int) -> None:
        """Make the next mined block carry ``timestamp`` (must be after the latest block)."""
        raise ChainError(f"{self.name} cannot change its clock")

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        raise ChainError(f"{self.name} cannot mine on demand")

    def snapshot(self) -> str:
        """Save the chain state; returns an id for :meth:`revert` (usable once)."""
        raise ChainError(f"{self.name} does not support snapshots")

    def revert(self, snapshot_id: str) -> None:
        """Return to a state saved by :meth:`snapshot`, discarding later snapshots."""
        raise ChainError(f"{self.name} does not support snapshots")

    def stop(self) -> None:
        """Release the chain (stop the node if this object started it). Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# --------------------------------------------------------------------------------------------
# Embedded


class EmbeddedChain(DevChain):
    """An in-process chain (eth-tester + py-evm), Shanghai rules, mining each tx at once.

    The dev accounts are its genesis accounts, each funded with :data:`DEV_BALANCE_ETHER`.
    Its chain id is eth-tester's fixed ``131277322940537``.
    """

    def __init__(self) -> None:
        from eth.vm.forks import ShanghaiVM
        from eth_tester import EthereumTester, PyEVMBackend
        from web3.providers.eth_tester import EthereumTesterProvider

        from p2pchain.chain._permit2 import PERMIT2_ADDRESS, permit2_runtime

        hd_root = DEV_HD_PATH.rsplit("/", 1)[0]
        genesis = dict(
            PyEVMBackend.generate_genesis_state(
                mnemonic=DEV_MNEMONIC,
                num_accounts=DEV_ACCOUNT_COUNT,
                hd_path=hd_root,
                overrides={"balance": Web3.to_wei(DEV_BALANCE_ETHER, "ether")},
            )
        )
        # Permit2 at its canonical address from genesis, as on a real chain.
        genesis[bytes.fromhex(PERMIT2_ADDRESS[2:])] = {
            "balance": 0,
            "nonce": 0,
            "code": permit2_runtime(),
            "storage": {},
        }
        self._backend = PyEVMBackend(
            genesis_state=genesis,
            vm_configuration=((0, ShanghaiVM),),
            mnemonic=DEV_MNEMONIC,
            hd_path=hd_root,
        )
        # It derives a key per genesis account; Permit2 is not a dev account.
        self._backend.account_keys = self._backend.account_keys[:DEV_ACCOUNT_COUNT]
        self._tester = EthereumTester(self._backend)
        super().__init__("embedded", Web3(EthereumTesterProvider(self._tester)))

    def _pending_timestamp(self) -> int:
        return int(self._backend.chain.header.timestamp)

    def _set_pending_timestamp(self, timestamp: int) -> None:
        chain = self._backend.chain
        chain.header = chain.header.copy(timestamp=timestamp)

    def increase_time(self, seconds: int) -> None:
        """Move the clock forward by ``seconds`` (applies to the next block)."""
        if seconds < 0:
            raise ChainError("cannot move the clock backwards")
        self._set_pending_timestamp(self._pending_timestamp() + int(seconds))

    def set_next_timestamp(self, timestamp: int) -> None:
        """Make the next block carry exactly ``timestamp``."""
        latest = self.latest_timestamp()
        if timestamp <= latest:
            raise ChainError(f"timestamp {timestamp} is not after the latest block ({latest})")
        self._set_pending_timestamp(int(timestamp))

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        self._tester.mine_blocks(blocks)

    def snapshot(self) -> str:
        """Save the chain state."""
        return str(self._tester.take_snapshot())

    def revert(self, snapshot_id: str) -> None:
        """Return to a saved state."""
        from eth_tester.exceptions import SnapshotNotFound

        try:
            self._tester.revert_to_snapshot(int(snapshot_id))
        except (SnapshotNotFound, ValueError) as exc:
            raise ChainError(f"cannot revert to snapshot {snapshot_id!r}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# JSON-RPC


def _is_loopback(url: str) -> bool:
    return (urlparse(url).hostname or "") in _LOOPBACK_HOSTS


def _make_web3(url: str, *, timeout: float = 60.0, retry: bool = True) -> Web3:
    scheme = urlparse(url).scheme
    if scheme in ("http", "https"):
        session = requests.Session()
        if _is_loopback(url):
            session.trust_env = False  # never send loopback traffic through an env proxy
        kwargs: dict[str, Any] = {}
        if not retry:
            kwargs["exception_retry_configuration"] = None
        provider = HTTPProvider(url, session=session, request_kwargs={"timeout": timeout}, **kwargs)
        return Web3(provider)
    if scheme in ("ws", "wss"):
        return Web3(LegacyWebSocketProvider(url, websocket_timeout=int(max(timeout, 1))))
    raise ChainError(f"unsupported RPC URL {url!r}: use http(s):// or ws(s)://")


class RpcChain(DevChain):
    """A chain reached over JSON-RPC.

    Time and snapshot helpers use the ``evm_*`` methods of Anvil/Hardhat/Ganache; on a real
    network they raise :class:`ChainError`.

    Args:
        url: ``http(s)://`` or ``ws(s)://`` endpoint.
        name: Name to report; the URL by default.
        timeout: Seconds to wait for one answer.
        retry: Let web3 retry failed reads itself (off when a
            :class:`~p2pchain.chain._sender.TransactionSender` does it, by its policy).
    """

    def __init__(
        self, url: str, name: str | None = None, *, timeout: float = 60.0, retry: bool = True
    ) -> None:
        self.url = url
        super().__init__(name or url, _make_web3(url, timeout=timeout, retry=retry))

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Call a JSON-RPC method and return its result.

        Raises:
            ChainError: The node answered with an error.
        """
        response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in response:
            error = response["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(f"{self.name}: {method} failed: {message}")
        return response.get("result")

    def increase_time(self, seconds: int) -> None:
        """Move the clock forward by ``seconds`` (``evm_increaseTime``)."""
        if seconds < 0:
            raise ChainError("cannot move the clock backwards")
        self.rpc("evm_increaseTime", [int(seconds)])

    def set_next_timestamp(self, timestamp: int) -> None:
        """Make the next block carry ``timestamp`` (``evm_setNextBlockTimestamp``)."""
        self.rpc("evm_setNextBlockTimestamp", [int(timestamp)])

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks (``evm_mine``)."""
        for _ in range(blocks):
            self.rpc("evm_mine", [])

    def snapshot(self) -> str:
        """Save the chain state (``evm_snapshot``)."""
        return str(self.rpc("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        """Return to a saved state (``evm_revert``)."""
        if not self.rpc("evm_revert", [snapshot_id]):
            raise ChainError(f"{self.name}: no snapshot {snapshot_id!r}")

    def install_permit2(self) -> bool:
        """Put Permit2's canonical code at its address, if the node lets code be set
        (``anvil_setCode``, ``hardhat_setCode`` or Ganache's ``evm_setAccountCode``) and it is
        not there yet. Returns whether Permit2 is there afterwards."""
        from p2pchain.chain._permit2 import PERMIT2_ADDRESS, has_permit2, permit2_runtime

        if has_permit2(self.w3):
            return True
        code = "0x" + permit2_runtime().hex()
        for method in ("anvil_setCode", "hardhat_setCode", "evm_setAccountCode"):
            try:
                self.rpc(method, [PERMIT2_ADDRESS, code])
            except ChainError:
                continue
            if has_permit2(self.w3):
                return True
        return False

    def stop(self) -> None:
        """Nothing to release for a plain RPC connection."""


# --------------------------------------------------------------------------------------------
# Subprocess nodes


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rpc_ready(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=2) as response:
            return "result" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


class _NodeProcess:
    """A node subprocess with its log in a temp file, stopped by PID."""

    def __init__(self, name: str, argv: list[str], url: str, timeout: float) -> None:
        self.name = name
        self.returncode: int | None = None
        self._lock = threading.Lock()
        fd, log_path = tempfile.mkstemp(prefix=f"p2pchain-{name}-", suffix=".log")
        self.log_path = Path(log_path)
        try:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            os.close(fd)
            self.log_path.unlink(missing_ok=True)
            raise ChainError(f"cannot run {argv[0]}: {exc}") from exc
        os.close(fd)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while not _rpc_ready(url):
            if self.process.poll() is not None:
                tail = self.log_tail()
                self.stop()
                raise ChainError(f"{name} exited with code {self.returncode}: {tail}")
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise ChainError(f"{name} did not answer on {url} within {timeout:.0f}s: {tail}")
            time.sleep(0.05)

    @property
    def pid(self) -> int | None:
        """The node's PID while it runs."""
        return self.process.pid if self.process is not None else None

    def log_tail(self, lines: int = 12) -> str:
        """Return the last lines of the node's output, joined into one line."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(kept) or "(empty log)"

    def stop(self) -> None:
        """Terminate the node (SIGTERM, then SIGKILL after 10 s) and delete its log."""
        with self._lock:
            process, self.process = self.process, None
            if process is not None:
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=10)
                self.returncode = process.returncode
            atexit.unregister(self.stop)
            self.log_path.unlink(missing_ok=True)


def _start_node(
    name: str, build_argv: Callable[[int], list[str]], timeout: float, attempts: int = 3
) -> tuple[_NodeProcess, str]:
    """Start a node on a free port, retrying if another process grabbed the port first."""
    last: ChainError | None = None
    for _ in range(attempts):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        try:
            return _NodeProcess(name, build_argv(port), url, timeout), url
        except ChainError as exc:
            message = str(exc).lower()
            if "in use" not in message and "eaddrinuse" not in message:
                raise
            last = exc
    assert last is not None
    raise last


def _node_tool(tool: str, node_modules: Path | None) -> Path:
    found = find_node_tool(tool, node_modules)
    if found is None:
        raise ChainError(
            f"{tool} not found: run `npm install` in the p2pchain project"
            " (or set P2PCHAIN_NODE_MODULES, or put it on PATH)"
        )
    return found


def anvil_argv(binary: Path, port: int, hardfork: str = DEV_HARDFORK) -> list[str]:
    """The command line of a dev Anvil on 127.0.0.1:``port`` (Shanghai, funded dev accounts).

    ``--max-persisted-states 0`` keeps old block states in memory only: by default Anvil also
    writes them under ``~/.foundry/anvil/tmp``, gigabytes per long run, never removed after a kill.
    ``hardfork`` overrides the rules (e.g. ``prague`` to test EIP-7702 accounts against the same
    Shanghai bytecode).
    """
    return [
        str(binary),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--hardfork", hardfork,
        "--chain-id", str(ANVIL_CHAIN_ID),
        "--mnemonic", DEV_MNEMONIC,
        "--accounts", str(DEV_ACCOUNT_COUNT),
        "--balance", str(DEV_BALANCE_ETHER),
        "--max-persisted-states", "0",
    ]  # fmt: skip


class AnvilChain(RpcChain):
    """A fresh Anvil node (npm ``@foundry-rs/anvil-linux-amd64``) on 127.0.0.1.

    Shanghai rules, chain id 31337, the dev mnemonic's accounts with
    :data:`DEV_BALANCE_ETHER` ether each. Stopped by :meth:`stop`, on context exit, or at
    interpreter exit.

    Args:
        node_modules: Where to find ``.bin/anvil``; see :func:`p2pchain._paths.find_node_tool`.
        timeout: Seconds to wait for the RPC to answer.
        extra_args: More command-line options for anvil.
        hardfork: The rules to run (default :data:`DEV_HARDFORK`).
    """

    def __init__(
        self,
        node_modules: Path | None = None,
        timeout: float = 30.0,
        extra_args: Sequence[str] = (),
        hardfork: str = DEV_HARDFORK,
    ) -> None:
        binary = _node_tool("anvil", node_modules if node_modules else find_node_modules())

        def argv(port: int) -> list[str]:
            return [*anvil_argv(binary, port, hardfork), *extra_args]

        self._node, url = _start_node("anvil", argv, timeout)
        super().__init__(url, name="anvil")
        self.install_permit2()

    @property
    def pid(self) -> int | None:
        """PID of the anvil process while it runs."""
        return self._node.pid

    def stop(self) -> None:
        """Stop the anvil process."""
        self._node.stop()


def ganache_argv(binary: Path, port: int) -> list[str]:
    """The command line of a dev Ganache on 127.0.0.1:``port`` (Shanghai, funded dev accounts)."""
    return [
        str(binary),
        "--server.host", "127.0.0.1",
        "--server.port", str(port),
        "--chain.hardfork", DEV_HARDFORK,
        "--chain.chainId", str(GANACHE_CHAIN_ID),
        "--wallet.mnemonic", DEV_MNEMONIC,
        "--wallet.totalAccounts", str(DEV_ACCOUNT_COUNT),
        "--wallet.defaultBalance", str(DEV_BALANCE_ETHER),
    ]  # fmt: skip


class GanacheChain(RpcChain):
    """A fresh Ganache 7 node (npm ``ganache``) on 127.0.0.1.

    Shanghai rules, chain id 1337, the dev mnemonic's accounts with :data:`DEV_BALANCE_ETHER`
    ether each, instant mining.

    Args:
        node_modules: Where to find ``.bin/ganache``; see :func:`p2pchain._paths.find_node_tool`.
        timeout: Seconds to wait for the RPC to answer.
        extra_args: More command-line options for ganache.
    """

    def __init__(
        self,
        node_modules: Path | None = None,
        timeout: float = 60.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        binary = _node_tool("ganache", node_modules if node_modules else find_node_modules())

        def argv(port: int) -> list[str]:
            return [*ganache_argv(binary, port), *extra_args]

        self._node, url = _start_node("ganache", argv, timeout)
        super().__init__(url, name="ganache")
        self.install_permit2()

    @property
    def pid(self) -> int | None:
        """PID of the ganache process while it runs."""
        return self._node.pid

    def set_next_timestamp(self, timestamp: int) -> None:
        """Set the clock to ``timestamp`` (``evm_setTime``).

        Ganache has no ``evm_setNextBlockTimestamp``; its clock keeps running, so the next
        block carries exactly ``timestamp`` if it is mined within a second of this call.
        """
        latest = self.latest_timestamp()
        if timestamp <= latest:
            raise ChainError(f"timestamp {timestamp} is not after the latest block ({latest})")
        self.rpc("evm_setTime", [int(timestamp) * 1000])

    def stop(self) -> None:
        """Stop the ganache process."""
        self._node.stop()


def open_chain(name_or_url: str) -> DevChain:
    """Open a chain by name or URL.

    Args:
        name_or_url: ``"embedded"``, ``"anvil"``, ``"ganache"`` (each started fresh), or an
            ``http(s)://`` / ``ws(s)://`` JSON-RPC URL.

    Returns:
        The chain; stop it (or use it as a context manager) when done.

    Raises:
        ChainError: Unknown name, or the node could not be started.
    """
    key = name_or_url.strip()
    if key.lower() == "embedded":
        return EmbeddedChain()
    if key.lower() == "anvil":
        return AnvilChain()
    if key.lower() == "ganache":
        return GanacheChain()
    if urlparse(key).scheme in ("http", "https", "ws", "wss"):
        return RpcChain(key)
    raise ChainError(
        f"unknown network {name_or_url!r}: use embedded, anvil, ganache or an http(s)/ws(s) URL"
    )
