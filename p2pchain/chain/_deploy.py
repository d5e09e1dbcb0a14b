"""Deploying the contracts and remembering where they are.

:func:`deploy` deploys ``Marketplace`` (whose constructor deploys ``Reputation``, which deploys
``Bookings``) from the
shipped artifacts. :class:`DeploymentsFile` keeps one deployment per chain id in a JSON file;
:func:`load_deployment` reads it back and refuses anything that does not match the chain.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3Exception
from web3.types import TxParams

from p2pchain._errors import ChainError, DeploymentError
from p2pchain._paths import default_deployments_path
from p2pchain.chain._node_errors import MalformedAnswer
from p2pchain.chain._nodes import DevChain
from p2pchain.chain._rpc import NodeRpc
from p2pchain.chain._tx import send_transaction
from p2pchain.compiler._artifacts import Artifact, artifact_hash, load_artifact

#: Environment variable overriding the deployments file location.
DEPLOYMENTS_FORMAT = "p2pchain-deployments/1"
#: Contract deployed by :func:`deploy`.
MARKETPLACE = "Marketplace"
#: Contract the Marketplace constructor deploys, read back through this getter.
REPUTATION = "Reputation"
REPUTATION_GETTER = "REPUTATION"
#: Contract the Reputation constructor deploys, read back through this getter.
BOOKINGS = "Bookings"
BOOKINGS_GETTER = "BOOKINGS"
#: Constructor arguments by ABI parameter name; only those the constructor declares are used.
DEFAULT_CONSTRUCTOR_ARGS: Mapping[str, Any] = {
    "rulingWindow": 7 * 24 * 60 * 60,  # seconds a dispute may wait for a ruling
}


@dataclass(frozen=True)
class Deployment:
    """Where p2pchain's contracts live on one chain.

    Attributes:
        network: Name it was deployed through (``anvil``, a URL...), informational.
        chain_id: EIP-155 chain id.
        marketplace: Marketplace address.
        reputation: Reputation address (deployed by the Marketplace constructor).
        bookings: Bookings address (deployed by the Reputation constructor). Checked by the
            commands that use it, so sales never pay for the check.
        block: Block number of the deployment.
        tx_hash: Deployment transaction hash (0x hex).
        artifact_hash: :func:`p2pchain.compiler._artifacts.artifact_hash` of the build deployed.
        deployer: Address that deployed.
        timestamp: Timestamp of the deployment block.
    """

    network: str
    chain_id: int
    marketplace: ChecksumAddress
    reputation: ChecksumAddress
    bookings: ChecksumAddress
    block: int
    tx_hash: str
    artifact_hash: str
    deployer: ChecksumAddress
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object stored in a deployments file."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        """Parse one entry of a deployments file.

        Raises:
            DeploymentError: The entry is malformed.
        """
        try:
            names = {f.name for f in fields(cls)}
            missing = names - set(data)
            if missing:
                raise DeploymentError(f"deployment entry lacks {', '.join(sorted(missing))}")
            return cls(
                network=str(data["network"]),
                chain_id=int(data["chain_id"]),
                marketplace=Web3.to_checksum_address(data["marketplace"]),
                reputation=Web3.to_checksum_address(data["reputation"]),
                bookings=Web3.to_checksum_address(data["bookings"]),
                block=int(data["block"]),
                tx_hash=str(data["tx_hash"]),
                artifact_hash=str(data["artifact_hash"]),
                deployer=Web3.to_checksum_address(data["deployer"]),
                timestamp=int(data["timestamp"]),
            )
        except (TypeError, ValueError) as exc:
            raise DeploymentError(f"malformed deployment entry: {exc}") from exc


class DeploymentsFile:
    """A JSON file holding one :class:`Deployment` per chain id.

    Format: ``{"format": ..., "deployments": {"<chain id>": {...}}}``, keys sorted. Writes go
    to a temp file in the same folder, then ``os.replace``, so readers never see half a file.

    Args:
        path: File location; :func:`default_deployments_path` if None.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_deployments_path()

    def read(self) -> dict[int, Deployment]:
        """Return every deployment in the file (empty if the file does not exist).

        Raises:
            DeploymentError: The file is unreadable or malformed.
        """
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise DeploymentError(f"cannot read {self.path}: {exc}") from exc
        try:
            data = json.loads(raw)
            entries = data["deployments"]
            if data.get("format") != DEPLOYMENTS_FORMAT or not isinstance(entries, dict):
                raise ValueError(f"format {data.get('format')!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeploymentError(f"{self.path} is not a p2pchain deployments file: {exc}") from exc
        result: dict[int, Deployment] = {}
        for key, entry in entries.items():
            deployment = Deployment.from_json(entry)
            if str(deployment.chain_id) != key:
                raise DeploymentError(
                    f"{self.path}: entry {key} records chain id {deployment.chain_id}"
                )
            result[deployment.chain_id] = deployment
        return result

    def get(self, chain_id: int) -> Deployment | None:
        """Return the deployment recorded for ``chain_id``, if any."""
        return self.read().get(int(chain_id))

    def _write(self, deployments: Mapping[int, Deployment]) -> None:
        data = {
            "format": DEPLOYMENTS_FORMAT,
            "deployments": {str(cid): d.to_json() for cid, d in sorted(deployments.items())},
        }
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def save(self, deployment: Deployment) -> None:
        """Record ``deployment``, replacing any earlier one for its chain id."""
        deployments = self.read()
        deployments[deployment.chain_id] = deployment
        self._write(deployments)

    def remove(self, chain_id: int) -> bool:
        """Forget the deployment for ``chain_id``; returns whether there was one."""
        deployments = self.read()
        if deployments.pop(int(chain_id), None) is None:
            return False
        self._write(deployments)
        return True


def _web3_of(target: DevChain | Web3) -> Web3:
    return target.w3 if isinstance(target, DevChain) else target


def constructor_arguments(artifact: Artifact, overrides: Mapping[str, Any] | None) -> list[Any]:
    """Order constructor arguments by the ABI's parameter names.

    Args:
        artifact: The contract artifact.
        overrides: Values by parameter name, on top of :data:`DEFAULT_CONSTRUCTOR_ARGS`.

    Returns:
        Positional arguments for the constructor.

    Raises:
        DeploymentError: An override names no parameter, or a parameter has no value.
    """
    params: list[Mapping[str, Any]] = next(
        (list(e.get("inputs", [])) for e in artifact.abi if e.get("type") == "constructor"), []
    )
    names = [p.get("name", "") for p in params]
    given = dict(overrides or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise DeploymentError(
            f"{artifact.contract_name} constructor has no parameter {', '.join(unknown)}"
            f" (it takes: {', '.join(names) or 'nothing'})"
        )
    values = {**{k: v for k, v in DEFAULT_CONSTRUCTOR_ARGS.items() if k in names}, **given}
    missing = [n for n in names if n not in values]
    if missing:
        raise DeploymentError(
            f"no value for {artifact.contract_name} constructor parameter {', '.join(missing)}"
        )
    return [values[n] for n in names]


def _decode_address(answer: bytes) -> tuple[str]:
    """An ``address`` return value (one ABI word)."""
    if len(answer) != 32 or any(answer[:12]):
        raise ValueError(f"not an address: 0x{answer.hex()}")
    return ("0x" + answer[12:].hex(),)


def _child(
    w3: Web3, parent: Artifact, address: ChecksumAddress, getter: str, block: int
) -> ChecksumAddress:
    """The address a contract's constructor deployed, read from its getter at ``block``."""
    contract = w3.eth.contract(address=address, abi=list(parent.abi))
    try:
        return Web3.to_checksum_address(contract.functions[getter]().call(block_identifier=block))
    except (ContractLogicError, Web3Exception, ValueError) as exc:
        raise DeploymentError(f"{parent.contract_name}.{getter}() failed: {exc}") from exc


def _check_code(artifact: Artifact, address: ChecksumAddress, code: bytes) -> None:
    """Refuse ``code`` (the code at ``address``) unless it is ``artifact``'s shipped build."""
    if not code:
        raise DeploymentError(f"no contract code at {artifact.contract_name} address {address}")
    if not artifact.matches_runtime_code(code):
        raise DeploymentError(
            f"code at {address} is not the shipped {artifact.contract_name} build"
            " (redeploy with scripts/deploy.py)"
        )


def deploy(
    target: DevChain | Web3,
    deployer: LocalAccount,
    *,
    constructor_args: Mapping[str, Any] | None = None,
    network: str | None = None,
) -> Deployment:
    """Deploy Marketplace (which deploys Reputation, which deploys Bookings) from the shipped
    artifacts.

    Args:
        target: A :class:`~p2pchain.chain._nodes.DevChain` or a web3 connection.
        deployer: Account that signs and pays.
        constructor_args: Constructor values by parameter name; defaults from
            :data:`DEFAULT_CONSTRUCTOR_ARGS`.
        network: Name to record; the chain's name, or ``chain-<id>``, by default.

    Returns:
        The deployment, with the on-chain code checked against the artifacts.

    Raises:
        ArtifactError: The artifacts are missing.
        DeploymentError: The deployment failed or the code on chain is not as expected.
    """
    w3 = _web3_of(target)
    marketplace = load_artifact(MARKETPLACE)
    reputation = load_artifact(REPUTATION)
    args = constructor_arguments(marketplace, constructor_args)
    factory = w3.eth.contract(abi=list(marketplace.abi), bytecode=marketplace.bytecode)
    data = factory.constructor(*args).data_in_transaction
    try:
        receipt = send_transaction(w3, deployer, cast(TxParams, {"data": data}))
    except (ContractLogicError, ChainError, Web3Exception, ValueError) as exc:
        raise DeploymentError(f"deploying {MARKETPLACE} failed: {exc}") from exc
    address = receipt.get("contractAddress")
    if not address:
        raise DeploymentError(f"{MARKETPLACE} deployment receipt has no contract address")
    market_address = Web3.to_checksum_address(address)
    mined = int(receipt["blockNumber"])
    rep_address = _child(w3, marketplace, market_address, REPUTATION_GETTER, mined)
    bookings_address = _child(w3, reputation, rep_address, BOOKINGS_GETTER, mined)
    _check_code(marketplace, market_address, bytes(w3.eth.get_code(market_address)))
    _check_code(reputation, rep_address, bytes(w3.eth.get_code(rep_address)))
    _check_code(load_artifact(BOOKINGS), bookings_address, bytes(w3.eth.get_code(bookings_address)))
    block = w3.eth.get_block(receipt["blockNumber"])
    chain_id = int(w3.eth.chain_id)
    if network is None:
        network = target.name if isinstance(target, DevChain) else f"chain-{chain_id}"
    return Deployment(
        network=network,
        chain_id=chain_id,
        marketplace=market_address,
        reputation=rep_address,
        bookings=bookings_address,
        block=int(receipt["blockNumber"]),
        tx_hash=receipt["transactionHash"].to_0x_hex(),
        artifact_hash=artifact_hash(),
        deployer=deployer.address,
        timestamp=int(block["timestamp"]),
    )


def verify_deployment(
    target: DevChain | Web3,
    deployment: Deployment,
    *,
    chain_id: int | None = None,
    rpc: NodeRpc | None = None,
) -> None:
    """Check that ``deployment`` is live on the connected chain and runs the shipped code.

    Args:
        target: A chain or web3 connection.
        deployment: The recorded deployment.
        chain_id: The node's chain id, when the caller has just asked it (not asked again).
        rpc: The command's node connection: the code of both contracts and the Marketplace's
            Reputation address are then read in one batch.

    Raises:
        DeploymentError: Wrong chain id, no code, or code that is not the shipped build
            (compared with immutables masked).
    """
    w3 = _web3_of(target)
    if chain_id is None:
        chain_id = int(w3.eth.chain_id)
    if chain_id != deployment.chain_id:
        raise DeploymentError(
            f"deployment is for chain id {deployment.chain_id}, but the node is on {chain_id}"
        )
    marketplace = load_artifact(MARKETPLACE)
    reputation = load_artifact(REPUTATION)
    contract = w3.eth.contract(address=deployment.marketplace, abi=list(marketplace.abi))
    data = contract.encode_abi(REPUTATION_GETTER, [])
    getter = f"{MARKETPLACE}.{REPUTATION_GETTER}()"
    if rpc is not None and rpc.batching:
        answers = rpc.complete_batch(
            [
                ("eth_getCode", [deployment.marketplace, "latest"]),
                ("eth_getCode", [deployment.reputation, "latest"]),
                ("eth_call", [{"to": deployment.marketplace, "data": data}, "latest"]),
            ]
        )
        _check_code(marketplace, deployment.marketplace, _hex_result(answers[0], "eth_getCode"))
        _check_code(reputation, deployment.reputation, _hex_result(answers[1], "eth_getCode"))
        if answers[2].get("error") is not None:
            raise DeploymentError(f"{getter} failed: {answers[2]['error']}")
        answer = _hex_result(answers[2], "eth_call")
    else:
        for artifact, address in (
            (marketplace, deployment.marketplace),
            (reputation, deployment.reputation),
        ):
            _check_code(artifact, address, bytes(w3.eth.get_code(address)))
        try:  # a plain eth_call: web3's contract call would ask the chain id twice more
            answer = bytes(w3.eth.call({"to": deployment.marketplace, "data": data}))
        except (ContractLogicError, Web3Exception, ValueError) as exc:
            raise DeploymentError(f"{getter} failed: {exc}") from exc
    try:
        (value,) = _decode_address(answer)
        recorded = Web3.to_checksum_address(value)
    except (Web3Exception, ValueError) as exc:
        raise DeploymentError(f"{getter} failed: {exc}") from exc
    if recorded != deployment.reputation:
        raise DeploymentError(
            f"{MARKETPLACE} at {deployment.marketplace} uses Reputation {recorded},"
            f" not the recorded {deployment.reputation}"
        )


def _hex_result(answer: Mapping[str, Any], method: str) -> bytes:
    """The bytes of a batch answer's hex result.

    Raises:
        MalformedAnswer: An error where none is expected, or not hex.
    """
    result = answer.get("result")
    if answer.get("error") is not None or not isinstance(result, str) or result[:2] != "0x":
        raise MalformedAnswer(f"the node's answer to {method} is not hex data")
    try:
        return bytes.fromhex(result[2:])
    except ValueError:
        raise MalformedAnswer(f"the node's answer to {method} is not hex data") from None


def load_deployment(
    target: DevChain | Web3,
    path: Path | str | None = None,
    *,
    chain_id: int | None = None,
    rpc: NodeRpc | None = None,
) -> Deployment:
    """Return the recorded deployment for the connected chain, after verifying it.

    Args:
        target: A chain or web3 connection.
        path: Deployments file; :func:`default_deployments_path` if None.
        chain_id: The node's chain id, when the caller has just asked it (not asked again).
        rpc: The command's node connection (see :func:`verify_deployment`).

    Raises:
        DeploymentError: Nothing recorded for this chain id, or it fails
            :func:`verify_deployment`.
    """
    w3 = _web3_of(target)
    store = DeploymentsFile(path)
    if chain_id is None:
        chain_id = int(w3.eth.chain_id)
    deployment = store.get(chain_id)
    if deployment is None:
        raise DeploymentError(
            f"no p2pchain deployment for chain id {chain_id} in {store.path}:"
            " run scripts/deploy.py --network <network>"
        )
    verify_deployment(w3, deployment, chain_id=chain_id, rpc=rpc)
    return deployment


def verify_bookings(target: DevChain | Web3, deployment: Deployment) -> None:
    """Check that the deployment's Bookings contract runs the shipped code and belongs to its
    Reputation contract (one ``eth_getCode`` and one ``eth_call``; only rental commands need it).

    Raises:
        DeploymentError: No code, other code, or a Reputation contract that names another.
    """
    w3 = _web3_of(target)
    _check_code(
        load_artifact(BOOKINGS), deployment.bookings, bytes(w3.eth.get_code(deployment.bookings))
    )
    reputation = w3.eth.contract(
        address=deployment.reputation, abi=list(load_artifact(REPUTATION).abi)
    )
    data = reputation.encode_abi(BOOKINGS_GETTER, [])
    try:
        answer = bytes(w3.eth.call({"to": deployment.reputation, "data": data}))
        recorded = Web3.to_checksum_address(_decode_address(answer)[0])
    except (ContractLogicError, Web3Exception, ValueError) as exc:
        raise DeploymentError(f"{REPUTATION}.{BOOKINGS_GETTER}() failed: {exc}") from exc
    if recorded != deployment.bookings:
        raise DeploymentError(
            f"{REPUTATION} at {deployment.reputation} uses Bookings {recorded},"
            f" not the recorded {deployment.bookings}"
        )
