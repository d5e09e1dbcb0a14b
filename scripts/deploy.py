"""Deploy p2pchain's contracts and record them in the deployments file.

Usage::

    python scripts/deploy.py --network embedded|anvil|ganache|<http(s)/ws(s) URL>
                             [--deployments FILE] [--ruling-window SECONDS] [--keep-running]

``embedded``, ``anvil`` and ``ganache`` start a fresh local chain (``--keep-running`` keeps an
Anvil/Ganache node up until Ctrl-C). The deployer key comes from ``P2PCHAIN_DEPLOYER_KEY``, or,
on a dev chain only, dev account 0. ``main()`` takes no required arguments, so ape and brownie
can call it; it then reads ``sys.argv`` leniently and ``P2PCHAIN_NETWORK``.

Under ``ape run deploy`` and ``brownie run deploy`` the framework's own network, accounts and
compiled ``Marketplace`` are used instead: the deployer is the framework's dev account 0, or the
account named by ``P2PCHAIN_APE_ACCOUNT`` (an ape alias) / ``P2PCHAIN_BROWNIE_ACCOUNT`` (a brownie
account id). The deployment is checked against p2pchain's shipped artifacts (the code on chain
must be the shipped code; solc's metadata hash may differ, as it does in ape's build, whose
OpenZeppelin source unit names differ) and recorded in the same deployments file (``P2PCHAIN_DEPLOYMENTS``; ape and brownie take no script options), so the
p2pchain client and CLI use it as is. A failure is one ``error:`` line and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/deploy.py` without an install
    sys.path.insert(0, str(ROOT))

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from p2pchain._errors import DeploymentError, P2PChainError
from p2pchain.chain._deploy import (
    MARKETPLACE,
    Deployment,
    DeploymentsFile,
    constructor_arguments,
    deploy,
    verify_deployment,
)
from p2pchain.chain._nodes import (
    ANVIL_CHAIN_ID,
    GANACHE_CHAIN_ID,
    DevChain,
    RpcChain,
    open_chain,
)
from p2pchain.compiler._artifacts import artifact_hash, load_artifact

#: Environment variable holding the deployer's private key (0x hex).
DEPLOYER_KEY_ENV = "P2PCHAIN_DEPLOYER_KEY"
#: Environment variable naming the network when --network is not given.
NETWORK_ENV = "P2PCHAIN_NETWORK"
#: ape account alias (``ape accounts list``) that deploys on networks without test accounts.
APE_ACCOUNT_ENV = "P2PCHAIN_APE_ACCOUNT"
#: brownie account id (``brownie accounts list``) that deploys outside development networks.
BROWNIE_ACCOUNT_ENV = "P2PCHAIN_BROWNIE_ACCOUNT"


def _deployer(chain: DevChain) -> LocalAccount:
    key = os.environ.get(DEPLOYER_KEY_ENV)
    if key:
        try:
            account: LocalAccount = Account.from_key(key.strip())
        except ValueError:
            raise DeploymentError(f"{DEPLOYER_KEY_ENV} is not a valid private key") from None
        return account
    dev_chain_ids = {ANVIL_CHAIN_ID, GANACHE_CHAIN_ID}
    if chain.name == "embedded" or chain.chain_id in dev_chain_ids:
        return chain.accounts[0]
    raise DeploymentError(
        f"chain id {chain.chain_id} is not a dev chain: set {DEPLOYER_KEY_ENV} to the deployer key"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--network",
        default=os.environ.get(NETWORK_ENV, "embedded"),
        help="embedded, anvil, ganache or a JSON-RPC URL (default: $P2PCHAIN_NETWORK or embedded)",
    )
    parser.add_argument(
        "--deployments", type=Path, default=None, help="deployments file (default: user data dir)"
    )
    parser.add_argument("--ruling-window", type=int, default=None, help="seconds (uint32)")
    parser.add_argument("--no-save", action="store_true", help="do not record the deployment")
    parser.add_argument(
        "--keep-running", action="store_true", help="keep a started node up until Ctrl-C"
    )
    return parser


def _ape_connected() -> bool:
    """Tell whether this runs inside ``ape run`` with a network connected."""
    ape = sys.modules.get("ape")
    if ape is None:
        return False
    try:
        return bool(ape.networks.active_provider is not None and ape.networks.provider.is_connected)
    except Exception:  # noqa: BLE001 - any ape failure means "not usable"
        return False


def _brownie_connected() -> bool:
    """Tell whether this runs inside ``brownie run`` with a network connected."""
    brownie = sys.modules.get("brownie")
    if brownie is None:
        return False
    try:
        return bool(brownie.network.is_connected() and brownie.project.get_loaded_projects())
    except Exception:  # noqa: BLE001 - any brownie failure means "not usable"
        return False


def _ruling_window_args(args: argparse.Namespace) -> list[Any]:
    overrides = {} if args.ruling_window is None else {"rulingWindow": args.ruling_window}
    return constructor_arguments(load_artifact(MARKETPLACE), overrides)


def _deploy_with_ape(args: argparse.Namespace) -> tuple[Deployment, Web3]:
    """Deploy the project's Marketplace with ape's provider and accounts."""
    from ape import accounts, chain, networks, project  # only present under `ape run`

    alias = os.environ.get(APE_ACCOUNT_ENV)
    if alias:
        sender = accounts.load(alias)
    elif len(accounts.test_accounts) > 0 and networks.provider.network.is_local:
        sender = accounts.test_accounts[0]
    else:
        raise DeploymentError(f"{networks.provider.network_choice}: set {APE_ACCOUNT_ENV}")
    market = project.Marketplace.deploy(*_ruling_window_args(args), sender=sender)
    receipt = networks.provider.get_receipt(str(market.txn_hash))
    block = int(receipt.block_number)
    deployment = Deployment(
        network=str(networks.provider.network_choice),
        chain_id=int(networks.provider.chain_id),
        marketplace=Web3.to_checksum_address(str(market.address)),
        reputation=Web3.to_checksum_address(str(market.REPUTATION())),
        bookings=Web3.to_checksum_address(
            str(project.Reputation.at(market.REPUTATION()).BOOKINGS())
        ),
        block=block,
        tx_hash=str(receipt.txn_hash),
        artifact_hash=artifact_hash(),
        deployer=Web3.to_checksum_address(str(sender.address)),
        timestamp=int(chain.blocks[block].timestamp),
    )
    return deployment, networks.provider.web3


def _deploy_with_brownie(args: argparse.Namespace) -> tuple[Deployment, Web3]:
    """Deploy the project's Marketplace with brownie's network and accounts."""
    from brownie import accounts, network, web3  # only present under `brownie run`
    from brownie.project import get_loaded_projects

    account_id = os.environ.get(BROWNIE_ACCOUNT_ENV)
    if account_id:
        sender = accounts.load(account_id)
    elif network.show_active() == "development" or len(accounts) > 0:
        sender = accounts[0]
    else:
        raise DeploymentError(f"{network.show_active()}: set {BROWNIE_ACCOUNT_ENV}")
    container = get_loaded_projects()[0][MARKETPLACE]
    market = container.deploy(*_ruling_window_args(args), {"from": sender})
    tx = market.tx
    deployment = Deployment(
        network=str(network.show_active()),
        chain_id=int(web3.eth.chain_id),
        marketplace=Web3.to_checksum_address(market.address),
        reputation=Web3.to_checksum_address(market.REPUTATION()),
        bookings=Web3.to_checksum_address(
            get_loaded_projects()[0]["Reputation"].at(market.REPUTATION()).BOOKINGS()
        ),
        block=int(tx.block_number),
        tx_hash=str(tx.txid),
        artifact_hash=artifact_hash(),
        deployer=Web3.to_checksum_address(sender.address),
        timestamp=int(tx.timestamp),
    )
    return deployment, web3


def _report(deployment: Deployment, store: DeploymentsFile | None) -> None:
    print(f"network      {deployment.network} (chain id {deployment.chain_id})")
    print(f"Marketplace  {deployment.marketplace}")
    print(f"Reputation   {deployment.reputation}")
    print(f"Bookings     {deployment.bookings}")
    print(f"block        {deployment.block}  tx {deployment.tx_hash}")
    print(f"deployer     {deployment.deployer}")
    print(f"artifacts    {deployment.artifact_hash}")
    if store is not None:
        print(f"recorded in  {store.path}")


def _framework_deploy(args: argparse.Namespace, framework: str) -> tuple[Deployment, Web3]:
    """Deploy through ``framework``; its own failures (a revert, an unknown account, a dropped
    node...) become one :class:`DeploymentError` line instead of a traceback."""
    deploy_with = _deploy_with_ape if framework == "ape" else _deploy_with_brownie
    try:
        return deploy_with(args)
    except P2PChainError:
        raise
    except Exception as exc:  # the framework's exception types vary by version
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DeploymentError(f"{framework} could not deploy {MARKETPLACE}: {detail}") from exc


def _framework_main(args: argparse.Namespace, framework: str) -> int:
    """Deploy through ape or brownie, check the code, record it; returns the exit code."""
    try:
        deployment, w3 = _framework_deploy(args, framework)
        verify_deployment(w3, deployment)  # the framework's build runs the shipped code
        store = None if args.no_save else DeploymentsFile(args.deployments)
        if store is not None:
            store.save(deployment)
        _report(deployment, store)
        print(f"verified     {framework} deployed the shipped code (metadata hash aside)")
    except P2PChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy and print the addresses; returns the process exit code.

    Under ``ape run``/``brownie run`` (no ``argv``), deploys through that framework instead.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` (unknown ones ignored) if None.
    """
    args, _unknown = _parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if argv is None and _ape_connected():
        return _exit_in_framework(_framework_main(args, "ape"))
    if argv is None and _brownie_connected():
        return _exit_in_framework(_framework_main(args, "brownie"))
    overrides = {} if args.ruling_window is None else {"rulingWindow": args.ruling_window}
    try:
        with open_chain(args.network) as chain:
            if isinstance(chain, RpcChain) and chain.chain_id in {ANVIL_CHAIN_ID, GANACHE_CHAIN_ID}:
                chain.install_permit2()  # a dev node given by URL: Permit2 as a real chain has it
            deployment = deploy(
                chain, _deployer(chain), constructor_args=overrides, network=args.network
            )
            store = DeploymentsFile(args.deployments)
            if not args.no_save:
                store.save(deployment)
            _report(deployment, None if args.no_save else store)
            url = getattr(chain, "url", None)
            if args.keep_running and args.network in ("anvil", "ganache") and url:
                print(f"{args.network} running at {url}; Ctrl-C to stop", flush=True)
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    pass
    except P2PChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _exit_in_framework(code: int) -> int:
    """ape and brownie ignore ``main()``'s return value: turn a failure into the exit status."""
    if code:
        raise SystemExit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
