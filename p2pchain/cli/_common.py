"""What every CLI command shares: options, the config file, output, confirmations, errors.

Kept light at import time: web3, eth-account, rich and the IPFS backends are imported inside the
functions that need them, so ``p2pchain --help`` stays fast.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from p2pchain.cli._errors import CliError
from p2pchain.cli._noderecord import local_node_url

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from eth_typing import ChecksumAddress

    from p2pchain.ipfs import IpfsBackend
    from p2pchain.market._calls import PendingCall, PreparedCall
    from p2pchain.market._client import MarketplaceClient
    from p2pchain.wallet._wallet import Wallet

#: Shortest passphrase a new keystore may have (scrypt slows guessing, but not by magic).
MIN_PASSPHRASE_LENGTH = 8
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
CONFIG_ENV = "P2PCHAIN_CONFIG"
#: Names that mean "the dev node ``p2pchain node start`` runs".
LOCAL_NAMES = ("local", "anvil", "ganache")
#: Chain ids of the dev nodes (Anvil, Ganache); deploy may use the dev mnemonic's account there.
DEV_CHAIN_IDS = (31337, 1337)
#: Keys ``p2pchain config set`` accepts (plus ``networks.<name>``).
CONFIG_KEYS = {
    "network": "default network: local, a name from [networks], or an http(s) RPC URL",
    "account": "default account: a keystore name from `p2pchain wallet list`",
    "ipfs": "IPFS backend: local (the data folder's store) or a Kubo RPC URL",
    "gateway": "IPFS gateway URL used for reads instead of the backend",
}


def noun_app(help_text: str) -> typer.Typer:
    """A sub-app for one noun. Help is plain click text: typer's rich help costs ~0.1 s of
    start-up, and ``p2pchain <noun> --help`` must answer within 0.3 s."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
    )


# ------------------------------------------------------------------------------------- paths


def data_dir() -> Path:
    """The data folder: ``$P2PCHAIN_DATA_DIR``, else the user's data folder."""
    from p2pchain._paths import data_dir as library_data_dir

    return library_data_dir()


def config_path() -> Path:
    """The config file: ``$P2PCHAIN_CONFIG``, else ``<user config dir>/p2pchain/config.toml``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser().absolute()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "p2pchain" / "config.toml"


def deployments_path() -> Path:
    """The deployments file: ``$P2PCHAIN_DEPLOYMENTS``, else ``<data dir>/deployments.json``."""
    from p2pchain._paths import default_deployments_path

    return default_deployments_path()


# ------------------------------------------------------------------------------------ config


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the config file (TOML, or JSON when it ends in ``.json``); empty if missing.

    Raises:
        CliError: The file is unreadable or malformed, or holds unknown keys.
    """
    file = path or config_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read config file {file}: {exc}") from None
    try:
        if file.suffix == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except ValueError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CliError(f"config file {file} is malformed: {first}") from None
    if not isinstance(data, dict):
        raise CliError(f"config file {file} must hold a table of settings")
    for key, value in data.items():
        if key == "networks":
            if not isinstance(value, dict) or not all(_network_entry(v) for v in value.values()):
                raise CliError(
                    f"config file {file}: [networks] must map names to RPC URLs, or to tables"
                    " with a url and a chain_id (a whole number)"
                )
        elif key not in CONFIG_KEYS:
            raise CliError(
                f"config file {file}: unknown setting {key!r} (known: {', '.join(CONFIG_KEYS)},"
                " networks)"
            )
        elif not isinstance(value, str):
            raise CliError(f"config file {file}: {key} must be a string")
    return data


def _network_entry(value: Any) -> bool:
    """A named network: its URL, or ``{url = ..., chain_id = N}``."""
    if isinstance(value, str):
        return True
    if not isinstance(value, dict) or not isinstance(value.get("url"), str):
        return False
    if set(value) - {"url", "chain_id"}:
        return False
    chain_id = value.get("chain_id")
    return chain_id is None or (
        isinstance(chain_id, int) and not isinstance(chain_id, bool) and 0 < chain_id < 2**64
    )


def network_url(entry: Any) -> str:
    """The URL of a named network's config entry."""
    return str(entry["url"] if isinstance(entry, dict) else entry)


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def save_config(data: Mapping[str, Any], path: Path | None = None) -> Path:
    """Write the config file (TOML, or JSON for a ``.json`` path) atomically."""
    file = path or config_path()
    if file.suffix == ".json":
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    else:
        lines = [f"{k} = {_toml_string(v)}" for k, v in sorted(data.items()) if k != "networks"]
        networks = data.get("networks") or {}
        plain = {k: v for k, v in networks.items() if isinstance(v, str)}
        if plain:
            lines.append("")
            lines.append("[networks]")
            lines.extend(f"{_toml_string(k)} = {_toml_string(v)}" for k, v in sorted(plain.items()))
        for name, entry in sorted(networks.items()):
            if isinstance(entry, dict):
                lines.append("")
                lines.append(f"[networks.{_toml_string(name)}]")
                lines.append(f"url = {_toml_string(entry['url'])}")
                if entry.get("chain_id") is not None:
                    lines.append(f"chain_id = {int(entry['chain_id'])}")
        text = "\n".join(lines) + "\n"
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(file.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, file)
    except OSError as exc:
        raise CliError(f"cannot write config file {file}: {exc.strerror or exc}") from None
    return file


# ------------------------------------------------------------------------------- input checks

_URL_RE = re.compile(r"^(https?|wss?)://[^\s/:?#]+(:\d{1,5})?(/[^\s]*)?$")


def check_url(value: str, what: str, schemes: Sequence[str] = ("http", "https")) -> str:
    """Return ``value`` if it is a URL with one of ``schemes`` and a host.

    Raises:
        CliError: It is not.
    """
    from urllib.parse import urlparse

    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.hostname or not _URL_RE.match(value):
        raise CliError(f"invalid {what} {value!r}: expected {schemes[0]}://host[:port][/path]")
    try:
        parsed.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise CliError(f"invalid {what} {value!r}: the port must be 1-65535") from None
    return value.rstrip("/")


_UNITS = {
    "wei": 0,
    "kwei": 3,
    "mwei": 6,
    "gwei": 9,
    "szabo": 12,
    "finney": 15,
    "eth": 18,
    "ether": 18,
}
_AMOUNT_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z][\w.\-]*|)\s*$")


def parse_amount(text: str, what: str = "amount", token: str = ZERO_ADDRESS) -> int:
    """Parse an amount into base units: for ETH ``0.5eth``, ``1.2 ether``, ``3 gwei``, ``100wei``;
    for an ERC-20 ``25USDC`` / ``25 usdc`` (its symbol, scaled by its decimals, read from the
    token); for either, plain base units (``1000``).

    Raises:
        CliError: Not a non-negative amount, a unit that is not the token's, or a fraction of a
            base unit.
    """
    match = _AMOUNT_RE.match(text or "")
    if not match:
        example = "25USDC" if token.lower() != ZERO_ADDRESS else "0.5eth, 20gwei"
        raise CliError(
            f"invalid {what} {text!r}: expected a number with an optional unit, like {example}"
            " or 1000 (base units)"
        )
    number, unit = match.group(1), match.group(2).lower()
    if token.lower() != ZERO_ADDRESS:
        decimals = _token_decimals(text, what, token, unit)
    elif unit in _UNITS or unit == "":
        decimals = _UNITS.get(unit, 0)
    else:
        raise CliError(f"invalid {what} {text!r}: unknown unit {unit!r} (use eth, gwei or wei)")
    try:
        value = Decimal(number) * (Decimal(10) ** decimals)
    except InvalidOperation:
        raise CliError(f"invalid {what} {text!r}") from None
    if value != value.to_integral_value():
        raise CliError(f"invalid {what} {text!r}: finer than one base unit")
    result = int(value)
    if result >= 2**256:
        raise CliError(f"invalid {what} {text!r}: too large")
    return result


def _token_decimals(text: str, what: str, token: str, unit: str) -> int:
    """The scale of ``unit`` for an ERC-20 amount: 0 for base units, its decimals for its
    symbol."""
    if unit == "":
        return 0
    if _token_catalog.get() is None:  # no chain yet: connect to read the token
        try:
            opts().client(signer=False)
        except CliError as exc:
            raise CliError(
                f"invalid {what} {text!r}: reading the token's symbol and decimals needs a node"
                f" ({exc}); or give base units (a plain number)"
            ) from None
    catalog = _token_catalog.get()
    info = catalog.info(token) if catalog is not None else None
    if info is None or not info.known:
        raise CliError(
            f"invalid {what} {text!r}: the token {token} does not tell its symbol and decimals,"
            " so give base units (a plain number)"
        )
    if unit != info.symbol.lower():
        raise CliError(
            f"invalid {what} {text!r}: this is paid in {info.symbol} ({token}): write e.g."
            f" 25{info.symbol}, or base units (a plain number)"
        )
    return int(info.decimals)


#: The ERC-20 symbols and decimals of the running command's chain (set with its first client).
_token_catalog: ContextVar[Any] = ContextVar("p2pchain_cli_tokens", default=None)


def format_amount(value: int, token: str = ZERO_ADDRESS, *, short: bool = False) -> str:
    """``0.1 ETH (100000000000000000 wei)`` for ETH (``0.1 ETH`` if ``short``); an ERC-20 in
    its own units and symbol, read from the token (``25 USDC (25000000 base units of 0x…)``),
    or in base units when the command has no chain or the token does not say."""
    if token.lower() != ZERO_ADDRESS:
        catalog = _token_catalog.get()
        info = catalog.info(token) if catalog is not None else None
        if info is not None and info.known:
            human = f"{(Decimal(value) / Decimal(10**info.decimals)).normalize():f}"
            if short:
                return f"{human} {info.symbol}"
            return f"{human} {info.symbol} ({value} base units of {token})"
        return f"{value} units of {token[:10]}..." if short else f"{value} base units of {token}"
    ether = (Decimal(value) / Decimal(10**18)).normalize()
    text = f"{ether:f}"
    return f"{text} ETH" if short else f"{text} ETH ({value} wei)"


_DURATION_RE = re.compile(r"^\s*([0-9]+)\s*([smhdw]?)\s*$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, what: str = "duration") -> int:
    """Parse ``90``, ``90s``, ``15m``, ``12h``, ``7d`` or ``2w`` into seconds.

    Raises:
        CliError: Not a duration.
    """
    match = _DURATION_RE.match(text or "")
    if not match:
        raise CliError(f"invalid {what} {text!r}: expected e.g. 3600, 90m, 12h, 7d or 2w")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_time(text: str, what: str = "time") -> int:
    """Parse a moment: unix seconds, ``2026-12-05`` or ``2026-12-05T18:00`` (UTC unless an offset
    is given) into unix seconds.

    Raises:
        CliError: Not a date, a time or a timestamp.
    """
    from datetime import UTC, datetime

    value = (text or "").strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"invalid {what} {text!r}: expected e.g. 2026-12-05, 2026-12-05T18:00 or unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def format_duration(seconds: int) -> str:
    """``7d``, ``12h``, ``1d 6h``... for showing windows."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts)


def format_time(timestamp: int | None) -> str:
    """A unix timestamp as ``YYYY-MM-DD HH:MM:SS UTC``."""
    if timestamp is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def hex_id(value: bytes) -> str:
    """Bytes as ``0x`` hex."""
    return "0x" + bytes(value).hex()


# --------------------------------------------------------------------------------- options

NetworkOpt = Annotated[
    str | None,
    typer.Option(
        "--network",
        "-n",
        envvar="P2PCHAIN_NETWORK",
        show_envvar=True,
        help="local (the node from `p2pchain node start`), a name from the config, or an RPC URL.",
    ),
]
AccountOpt = Annotated[
    str | None,
    typer.Option(
        "--account",
        "-a",
        envvar="P2PCHAIN_ACCOUNT",
        show_envvar=True,
        help="Keystore name from `p2pchain wallet list`.",
    ),
]
PassphraseFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Read the passphrase from this file's first line (else $P2PCHAIN_PASSPHRASE or a prompt).",
    ),
]
IpfsOpt = Annotated[
    str | None,
    typer.Option(
        "--ipfs",
        envvar="P2PCHAIN_IPFS",
        show_envvar=True,
        help="IPFS backend: local (the data folder's store, default), a store folder, or a Kubo"
        " RPC URL.",
    ),
]
GatewayOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        envvar="P2PCHAIN_GATEWAY",
        show_envvar=True,
        help="Read listings from this IPFS gateway URL instead of the backend.",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")
]
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        envvar="P2PCHAIN_YES",
        show_envvar=True,
        help="Skip the confirmation prompt (for scripts).",
    ),
]


@dataclass
class Options:
    """The shared options of one command invocation."""

    network: str | None = None
    account: str | None = None
    passphrase_file: Path | None = None
    ipfs: str | None = None
    gateway: str | None = None
    json: bool = False
    yes: bool = False
    last_url: str | None = None
    tokens_tried: bool = False
    _config: dict[str, Any] | None = field(default=None, repr=False)
    _clients: list[Any] = field(default_factory=list, repr=False)

    # ------------------------------------------------------------ config-backed settings

    @property
    def config(self) -> dict[str, Any]:
        """The config file's settings (read once)."""
        if self._config is None:
            self._config = load_config()
        return self._config

    def network_name(self) -> str:
        """The network asked for: the option, the config's default, or ``local``."""
        return (self.network or self.config.get("network") or "local").strip()

    def rpc_url(self) -> str:
        """Resolve :meth:`network_name` to an RPC URL (remembered for error messages).

        Raises:
            CliError: Unknown name, a bad URL, or no local node running.
        """
        self.last_url = self._resolve_url(self.network_name())
        return self.last_url

    def _resolve_url(self, name: str) -> str:
        schemes = ("http", "https", "ws", "wss")
        if "://" in name:
            return check_url(name, "network URL", schemes)
        networks = self.config.get("networks") or {}
        if name in networks:
            return check_url(network_url(networks[name]), f"network {name!r} URL", schemes)
        if name.lower() in LOCAL_NAMES:
            return local_node_url(name.lower())
        if name.lower() == "embedded":
            raise CliError(
                "the embedded chain lives inside one process, so commands cannot share it:"
                " run `p2pchain node start` and use --network local"
            )
        known = ", ".join(["local", *networks]) if networks else "local"
        raise CliError(
            f"unknown network {name!r}: use {known}, an http(s) RPC URL, or add it with"
            f" `p2pchain config set networks.{name} URL`"
        )

    def account_name(self, required: bool = True) -> str | None:
        """The keystore name: the option, else the config's default."""
        name = self.account or self.config.get("account")
        if name is None and required:
            raise CliError(
                "no account: pass --account NAME (see `p2pchain wallet list`), set"
                " P2PCHAIN_ACCOUNT, or run `p2pchain wallet new NAME` first"
            )
        return name

    # ------------------------------------------------------------ library objects

    def wallet(self) -> Wallet:
        """The keystore folder (``<data dir>/keystores``)."""
        from p2pchain.wallet._wallet import Wallet

        return Wallet()

    def passphrase(self, label: str, confirm: bool = False) -> str:
        """The passphrase from ``--passphrase-file``, ``$P2PCHAIN_PASSPHRASE`` or a prompt.

        With ``confirm`` (a new keystore) it is asked twice and must have at least
        :data:`MIN_PASSPHRASE_LENGTH` characters.
        """
        from p2pchain.wallet._passphrase import resolve_passphrase

        passphrase = resolve_passphrase(
            file=self.passphrase_file, label=label, confirm=confirm, prompt=_prompt_hidden
        )
        if confirm and len(passphrase) < MIN_PASSPHRASE_LENGTH:  # a new keystore's passphrase
            raise CliError(
                f"the passphrase for {label} must have at least {MIN_PASSPHRASE_LENGTH}"
                " characters: it is all that protects the key if the file is copied"
            )
        return passphrase

    def load_account(self) -> LocalAccount:
        """Unlock the ``--account`` keystore (its agent's key, or the passphrase and scrypt)."""
        return self._unlock_in_background()()

    def _unlock_in_background(self) -> Callable[[], LocalAccount]:
        """Ask the ``--account`` keystore's passphrase, start decrypting it on a thread, and
        return what waits for the account (raising what the decryption raised)."""
        import threading

        name = self.account_name()
        assert name is not None
        wallet = self.wallet()
        wallet.address(name)  # unknown names fail before asking for a passphrase
        held = wallet.agent_account(name)  # `p2pchain wallet unlock`: no passphrase, no scrypt
        if held is not None:
            return lambda: held
        # ask first, then show progress: a spinner drawn over the prompt would erase it
        passphrase = self.passphrase(f"keystore {name!r}")
        done: list[LocalAccount | BaseException] = []

        def decrypt() -> None:
            try:
                done.append(wallet.load_account(name, passphrase))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                done.append(exc)

        thread = threading.Thread(target=decrypt, name="p2pchain-unlock", daemon=True)
        thread.start()

        def account() -> LocalAccount:
            if thread.is_alive():
                with status(self, f"unlocking keystore {name!r}"):
                    thread.join()
            (result,) = done
            if isinstance(result, BaseException):
                raise result
            return result

        return account

    def resolve_address(self, value: str, what: str = "address") -> ChecksumAddress:
        """An address, or the address of a keystore by that name."""
        from eth_utils import is_address, to_checksum_address

        text = value.strip()
        if text.startswith(("0x", "0X")):
            if not is_address(text):
                raise CliError(f"invalid {what} {value!r}: expected 0x and 40 hex digits")
            return to_checksum_address(text)
        return self.wallet().address(text)

    def client(self, *, signer: bool = True, reconcile: bool = True) -> MarketplaceClient:
        """Connect to the network's deployment, with the unlocked account when ``signer``.

        The session's chain id is the deployment's, checked against the network config's when
        it names one (the local node's record, or ``networks.NAME.chain_id``). With a signer,
        the account's journal is reconciled first (unless ``reconcile`` is False): what became
        of transactions whose outcome was unknown is printed on stderr, and lost ones are sent
        again byte for byte, before anything new is signed.
        """
        if signer:  # an unknown account fails before anything else
            name = self.account_name()
            assert name is not None
            self.wallet().address(name)
        url = self.rpc_url()
        path = deployments_path()
        if not path.is_file():
            raise CliError(
                f"no deployment recorded in {path}: run `p2pchain deploy` on this network first"
            )
        # The keystore decrypts (scrypt, the slow part) on a thread while web3 loads and the node
        # is reached: scrypt runs in C without the GIL, so they overlap. So it starts here,
        # before the heavy imports; the passphrase is asked first, as before.
        unlocking = self._unlock_in_background() if signer else None
        from p2pchain.chain._deploy import DeploymentsFile
        from p2pchain.market._client import MarketplaceClient

        if not DeploymentsFile(path).read():
            raise CliError(
                f"no deployment recorded in {path}: run `p2pchain deploy` on this network first"
            )
        policy = sender_policy()
        client = MarketplaceClient.connect(
            url, account=None, deployments=path, policy=policy, chain_id=self.chain_pin()
        )
        self._clients.append(client)
        if unlocking is not None:
            client = client.with_account(unlocking())
        if _token_catalog.get() is None:
            from p2pchain.market._tokens import TokenCatalog

            _token_catalog.set(TokenCatalog(client))
        if signer and reconcile:
            report_earlier(client.reconcile())
        return client

    def chain_pin(self) -> int | None:
        """The chain id the network config names for the network in use, if any."""
        name = self.network_name()
        if "://" in name:
            return None
        entry = (self.config.get("networks") or {}).get(name)
        if isinstance(entry, dict):
            pinned = entry.get("chain_id")
            return int(pinned) if pinned is not None else None
        if entry is None and name.lower() in LOCAL_NAMES:
            from p2pchain.cli._noderecord import read_record

            record = read_record() or {}
            pinned = record.get("chain_id")
            return int(pinned) if isinstance(pinned, int) else None
        return None

    def backend(self, *, read: bool = False) -> IpfsBackend:
        """The IPFS backend; for reads, the gateway when one is set."""
        from p2pchain.ipfs import GatewayBackend, KuboBackend, LocalStore

        gateway = self.gateway or self.config.get("gateway")
        if read and gateway:
            return GatewayBackend(check_url(gateway, "gateway URL"))
        spec = (self.ipfs or self.config.get("ipfs") or "local").strip()
        if spec.lower() == "local":
            return LocalStore(data_dir() / "ipfs")
        if "://" in spec:
            return KuboBackend(check_url(spec, "Kubo RPC URL"))
        folder = Path(spec).expanduser()
        if not folder.is_dir():
            raise CliError(
                f"--ipfs {spec}: not 'local', a Kubo RPC URL (http://...) or an existing"
                " IPFS store folder"
            )
        return LocalStore(folder)

    def close(self) -> None:
        """Close every client this invocation opened."""
        for client in self._clients:
            client.close()
        self._clients.clear()


#: Environment variables for the sender's patience (seconds).
TX_TIMEOUT_ENV = "P2PCHAIN_TX_TIMEOUT"
RPC_TIMEOUT_ENV = "P2PCHAIN_RPC_TIMEOUT"


def _seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        raise CliError(f"invalid {name} {text!r}: expected seconds, a number above 0")
    return value


def sender_policy() -> Any:
    """The sender's policy: how long to wait for a transaction (``$P2PCHAIN_TX_TIMEOUT``,
    default 120 s) and for one answer of the node (``$P2PCHAIN_RPC_TIMEOUT``, default 30 s)."""
    from p2pchain.chain._fees import SenderPolicy

    return SenderPolicy(
        receipt_timeout=_seconds(TX_TIMEOUT_ENV, 120.0),
        rpc_timeout=_seconds(RPC_TIMEOUT_ENV, 30.0),
    )


def note(message: str) -> None:
    """One ``note:`` line on stderr (stdout stays clean for scripts)."""
    typer.echo(f"note: {' '.join(message.split())}", err=True)


def earlier(call: PreparedCall[Any]) -> PendingCall[Any] | None:
    """The transaction an earlier run of this same command sent, if its outcome was unknown.

    Resuming it (instead of asking and sending again) is what keeps a re-run from paying twice.
    """
    found = call.resume()
    if found is not None:
        p = found.pending
        note(
            f"resuming transaction {p.tx_hash} ({p.action}, nonce {p.nonce}), sent by an earlier"
            " run whose outcome was unknown: nothing new was sent"
        )
    return found


def fees_row(call: PreparedCall[Any]) -> tuple[str, str]:
    """Simulate ``call`` (a revert fails here, before the prompt) and bound its network fee."""
    if call.before:  # an ERC-20 approval goes first; the call can only be simulated after it
        return ("fees", "no marketplace fee; network gas for the approval and the call")
    tx: dict[str, Any] = dict(call.unsigned())
    price = int(tx.get("maxFeePerGas") or tx.get("gasPrice") or 0)
    fee = int(tx["gas"]) * price
    return ("fees", f"no marketplace fee; network gas at most {format_amount(fee)}")


def report_earlier(found: Sequence[Any]) -> None:
    """Tell what became of earlier transactions whose outcome was unknown (reconciliation)."""
    for item in found:
        line = f"earlier {item.detail}"
        if item.state == "queued" and item.missing is not None:
            line += f" (fill it: p2pchain tx cancel --nonce {item.missing})"
        elif item.state in ("pending", "unknown"):
            line += f" (p2pchain tx status {item.pending.tx_hash})"
        note(line)


_current: ContextVar[Options] = ContextVar("p2pchain_cli_options")
#: Shared options given before the noun (``p2pchain --network URL trade show ID``).
_before_noun: ContextVar[dict[str, Any]] = ContextVar("p2pchain_cli_global_options")

_ENVVARS = {
    "network": "P2PCHAIN_NETWORK",
    "account": "P2PCHAIN_ACCOUNT",
    "ipfs": "P2PCHAIN_IPFS",
    "gateway": "P2PCHAIN_GATEWAY",
    "yes": "P2PCHAIN_YES",
}


def global_options(
    network: NetworkOpt = None,
    account: AccountOpt = None,
    passphrase_file: PassphraseFileOpt = None,
    ipfs: IpfsOpt = None,
    gateway: GatewayOpt = None,
    json_output: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """A decentralized peer-to-peer marketplace: escrow, reputation, listings on IPFS.

    The shared options work before the noun (for every command) or after the command.
    """
    _before_noun.set(
        {
            "network": network,
            "account": account,
            "passphrase_file": passphrase_file,
            "ipfs": ipfs,
            "gateway": gateway,
            "json_output": json_output,
            "yes": yes,
        }
    )


def _merged(key: str, value: Any) -> Any:
    """A command's option value, else the one given before the noun (which beats the env)."""
    before = _before_noun.get({}).get(key)
    if before in (None, False):
        return value
    if value in (None, False):
        return before
    env = os.environ.get(_ENVVARS.get(key, ""))
    if env is not None and str(value) == env and isinstance(value, str):
        return before  # the command's value came from the environment
    return value


def opts() -> Options:
    """The shared options of the running command."""
    return _current.get()


_names: ContextVar[dict[str, str] | None] = ContextVar("p2pchain_cli_names", default=None)


def wallet_names() -> dict[str, str]:
    """Lower-case address -> keystore name, for the wallets in the data folder (read once per
    command; no passphrase needed)."""
    names = _names.get()
    if names is None:
        try:
            from p2pchain.wallet._wallet import Wallet

            names = {e.address.lower(): e.name for e in Wallet().list()}
        except Exception:  # noqa: BLE001 - names are a nicety: an unreadable folder shows hex
            names = {}
        _names.set(names)
    return names


def who(address: str) -> str:
    """An address as a person reads it: ``alice (0xF832…60DE)`` for one of your wallets,
    ``none`` for the zero address, else the full address."""
    if address.lower() == ZERO_ADDRESS:
        return "none"
    name = wallet_names().get(address.lower())
    return f"{name} ({address[:6]}…{address[-4:]})" if name else address


def _prompt_hidden(prompt: str) -> str:
    """Ask on the terminal, never on stdout: ``X=$(p2pchain ...)`` captures only the result.

    The prompt goes to stderr and the answer is read without echo (``getpass`` on the terminal).
    """
    try:
        answer = typer.prompt(
            prompt.rstrip(": "), hide_input=True, default="", show_default=False, err=True
        )
    except typer.Abort:  # Ctrl-C or Ctrl-D at the prompt (typer's own click): exit 130
        raise KeyboardInterrupt from None
    return str(answer)


# ---------------------------------------------------------------------------------- output


def console(err: bool = False) -> Any:
    """A rich console on stdout (or stderr)."""
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=False)


def emit(data: Any, render: Callable[[], None] | None = None) -> None:
    """Print ``data`` as JSON with ``--json``, else run ``render`` (rich output)."""
    if opts().json or render is None:
        typer.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        render()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe_text(value: Any) -> str:
    """``value`` as text a terminal shows as is: rich markup escaped, and control characters
    (an escape sequence in a title or a review, say) replaced by U+FFFD."""
    from rich.markup import escape

    return escape(_CONTROL.sub("\ufffd", str(value)))


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a rich table."""
    from rich.table import Table

    t = Table(title=safe_text(title) if title else None, title_justify="left")
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*(safe_text(cell) for cell in row))
    console().print(t)


def panel(
    title: str, rows: Sequence[tuple[str, Any]], style: str = "cyan", *, err: bool = False
) -> None:
    """Print key/value rows in a rich panel (on stderr with ``err``)."""
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(safe_text(key), safe_text(value))
    console(err=err).print(
        Panel(grid, title=safe_text(title), title_align="left", border_style=style, expand=False)
    )


@contextmanager
def status(o: Options, message: str) -> Iterator[None]:
    """A progress bar on stderr while waiting, e.g. for a transaction to be mined.

    Only on a terminal, and never with ``--json``: scripts get clean output.
    """
    if o.json or not sys.stderr.isatty():
        yield
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console(err=True),
        transient=True,
    ) as progress:
        progress.add_task(message, total=None)
        yield


def confirm(o: Options, title: str, rows: Sequence[tuple[str, Any]]) -> None:
    """Show what is about to happen with money and ask; ``--yes`` skips the question.

    Raises:
        CliError: Not confirmed, or no terminal to ask on and no ``--yes``.
    """
    if o.yes:
        return
    if o.json:
        raise CliError("--json needs --yes for commands that move money (nothing to prompt on)")
    # On stderr, so `ID=$(p2pchain trade buy ... --quiet)` still shows the summary and asks.
    panel(title, rows, style="yellow", err=True)
    agreed = _ask_yes_no("Go ahead? [y/N]: ")
    if agreed is None:
        raise CliError(f"{title}: not confirmed (no answer); pass --yes to skip the prompt")
    if not agreed:  # a person's "no" is not an error: say so and exit 0
        typer.echo(f"{title}: cancelled, nothing was sent", err=True)
        raise typer.Exit(0)


def _ask_yes_no(question: str) -> bool | None:
    """Ask on stderr and read one line of stdin; None when there is no answer (end of input).

    Not ``click.confirm``: it reads with ``input(" ")``, which writes that space to stdout, so
    ``ID=$(p2pchain trade buy ... --quiet)`` would capture " 0x…".
    """
    while True:
        sys.stderr.write(question)
        sys.stderr.flush()
        try:
            line = sys.stdin.readline()
        except (OSError, ValueError):  # stdin closed
            return None
        if not line:
            sys.stderr.write("\n")
            return None
        answer = line.strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("", "n", "no"):
            return False
        sys.stderr.write("please answer y or n\n")


# ---------------------------------------------------------------------------------- errors


def _hint(exc: BaseException, o: Options | None) -> str | None:
    from p2pchain._errors import ChainError, DeploymentError, WalletError

    text = str(exc).lower()
    if isinstance(exc, ChainError) and ("cannot reach" in text or "connection" in text):
        return "is the node running? run `p2pchain node start`, or pass --network URL"
    if isinstance(exc, DeploymentError) and any(
        words in text
        for words in ("no p2pchain deployment", "no contract code", "no code", "not the shipped")
    ):
        return "run `p2pchain deploy` on this network"
    if isinstance(exc, WalletError) and "wrong passphrase" in text:
        return "check the passphrase (--passphrase-file or $P2PCHAIN_PASSPHRASE)"
    if "insufficient funds" in text:
        return "fund the account (on a dev node: `p2pchain node fund ACCOUNT`)"
    if type(exc).__name__ == "NotFoundError":
        noun = "trade" if text.startswith("no trade") else "listing"
        return f"check the id and --network; `p2pchain {noun} mine` lists yours"
    if "no keystore named" in text:
        return "see `p2pchain wallet list`, or create one with `p2pchain wallet new NAME`"
    return None


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Print ``error: message`` (and a hint) on one line of stderr and exit 1."""
    line = " ".join(str(message).split())
    if hint and hint.lower() not in line.lower():
        line = f"{line} (hint: {hint})"
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(1)


def _handle(exc: BaseException, o: Options | None) -> NoReturn:
    from p2pchain._errors import P2PChainError as Root

    if isinstance(exc, Root):
        _handle_library(exc, o)
    if isinstance(exc, KeyboardInterrupt):
        pendings = getattr(exc, "pendings", None)
        if pendings:  # a WaitInterrupted: sent transactions were left waiting
            first = pendings[0]
            more = (
                f" ({len(pendings) - 1} more: `p2pchain tx pending`)" if len(pendings) > 1 else ""
            )
            typer.echo(
                f"error: interrupted: {first.describe()} was signed and may have been sent, so"
                f" it may still be mined{more}. Check with `p2pchain tx status {first.tx_hash}`;"
                f" {_rerun_text(first)}",
                err=True,
            )
        else:
            typer.echo("error: interrupted", err=True)
        raise typer.Exit(130)
    if isinstance(exc, OSError):
        name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        fail(f"{exc.strerror or exc}{name}")
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):  # a query the index refuses (a wrong --kind, say)
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "input"
        fail(f"invalid {where}: {first.get('msg', 'invalid value')}")
    text = str(exc).lower()
    if "connection" in text or "max retries" in text or "refused" in text:
        fail(
            f"cannot reach the node: {str(exc).splitlines()[0][:200]}",
            "is the node running? run `p2pchain node start`, or pass --network URL",
        )
    first = str(exc).splitlines()[0] if str(exc) else ""
    fail(f"{type(exc).__name__}: {first}", "this is a bug in p2pchain; please report it")


def _recorded_chains() -> list[int]:
    from p2pchain.chain._deploy import DeploymentsFile

    try:
        return sorted(DeploymentsFile(deployments_path()).read())
    except Exception:  # noqa: BLE001 - only for a better message
        return []


def _rerun_text(pending: Any) -> str:
    """What running the same command again does about ``pending``."""
    if pending.action == "list":  # a new document (a new timestamp) is a new listing
        return (
            "check it before running the command again: a second run lists the item a second"
            " time (`p2pchain tx pending` shows what waits)"
        )
    return "running the same command again resumes it and never pays twice"


def unknown_line(exc: Any) -> str:
    """The line for a transaction whose outcome is unknown: what, why, and how to find out."""
    pending = exc.pending
    why = str(exc.reason or "no answer")
    missing = getattr(exc, "missing", None)
    if missing is not None:
        why = (
            f"it waits behind nonce {missing}, which nothing was sent with; fill that nonce"
            f" with `p2pchain tx cancel --nonce {missing}`"
        )
    return (
        f"{pending.describe()} was signed and may have reached the node, but its outcome is"
        f" unknown: {why}. It may still be mined: check with `p2pchain tx status"
        f" {pending.tx_hash}`; {_rerun_text(pending)}"
    )


def _handle_library(exc: BaseException, o: Options | None) -> NoReturn:
    from p2pchain._errors import ChainError
    from p2pchain.chain._node_errors import ChainMismatch, MalformedAnswer
    from p2pchain.chain._pending import NotSent, OutcomeUnknown

    where = f" at {o.last_url}" if o is not None and o.last_url else ""
    text = str(exc)
    if isinstance(exc, OutcomeUnknown) and exc.pending is not None:
        fail(unknown_line(exc))
    if isinstance(exc, ChainMismatch):
        fail(f"the node{where} {text.removeprefix('the node ')}")
    if isinstance(exc, NotSent) and exc.pending is not None:
        fail(
            f"cannot reach the node{where} (connection refused): {exc.pending.describe()} was"
            " not sent, nothing was paid",
            _hint(exc, o),
        )
    sent = "; nothing was signed or sent" if "nothing was signed or sent" in text else ""
    if isinstance(exc, MalformedAnswer):
        fail(f"the node{where} answers garbage: {text}", "try again later, or another RPC URL")
    if isinstance(exc, ChainError) and text.startswith("cannot reach the node"):
        lowered = text.lower()
        refused = "connection refused" in lowered or "could be opened" in lowered
        reason = "connection refused" if refused else "no answer"
        fail(f"cannot reach the node{where} ({reason}){sent}", _hint(exc, o))
    from p2pchain._errors import DeploymentError

    if isinstance(exc, DeploymentError) and text.startswith("no p2pchain deployment for chain id"):
        other = _recorded_chains()
        if other:
            answered = text.removeprefix("no p2pchain deployment for chain id ").split()[0]
            fail(
                f"the node{where} answers chain id {answered}, and no deployment is recorded for"
                f" it (deployments are recorded for chain id {', '.join(map(str, other))}):"
                " is --network the right node? If it is, run `p2pchain deploy` there"
            )
    message = text
    for script_hint in (": run scripts/deploy.py --network <network>",
                        " (redeploy with scripts/deploy.py)"):  # fmt: skip
        message = message.replace(script_hint, "")  # the CLI's own hint follows
    fail(message, _hint(exc, o))


# ------------------------------------------------------------------------------ commands

_F = TypeVar("_F", bound=Callable[..., Any])

_SHARED: dict[str, tuple[Any, Any]] = {
    "network": (NetworkOpt, None),
    "account": (AccountOpt, None),
    "passphrase_file": (PassphraseFileOpt, None),
    "ipfs": (IpfsOpt, None),
    "gateway": (GatewayOpt, None),
    "json_output": (JsonOpt, False),
    "yes": (YesOpt, False),
}


def command(
    app: typer.Typer, name: str, *, shared: Sequence[str] = ("network", "json_output")
) -> Callable[[_F], _F]:
    """Register a command that gets the ``shared`` options and the one-line error handler.

    The shared options are added to the command's signature (so they work after the command
    name, e.g. ``p2pchain trade show ID --json``) and stored in :func:`opts`.
    """

    def decorate(func: _F) -> _F:
        sig = inspect.signature(func, eval_str=True)
        params = list(sig.parameters.values())
        for key in shared:
            annotation, default = _SHARED[key]
            params.append(
                inspect.Parameter(
                    key, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
                )
            )

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {key: _merged(key, kwargs.pop(key, _SHARED[key][1])) for key in shared}
            o = Options(
                network=values.get("network"),
                account=values.get("account"),
                passphrase_file=values.get("passphrase_file"),
                ipfs=values.get("ipfs"),
                gateway=values.get("gateway"),
                json=bool(values.get("json_output")),
                yes=bool(values.get("yes")),
            )
            token = _current.set(o)
            tokens = _token_catalog.set(None)  # each command reads its own chain's tokens
            names = _names.set(None)  # and its own data folder's wallet names
            try:
                return func(*args, **kwargs)
            except (typer.Exit, typer.Abort, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes one line
                _handle(exc, o)
            except KeyboardInterrupt as exc:
                _handle(exc, o)
            finally:
                o.close()
                _current.reset(token)
                _token_catalog.reset(tokens)
                _names.reset(names)

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        del wrapper.__wrapped__  # typer must see the new signature, not the original's
        app.command(name)(wrapper)
        return func

    return decorate
