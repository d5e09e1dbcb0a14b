"""Deploy p2pchain's contracts and record them in the deployments file.

Usage::

    python scripts/deploy.py --network embedded|anvil|ganache|<http(s)/ws(s) URL>
                             [--deployments FILE] [--ruling-window SECONDS] [--keep-running]

``embedded``, ``anvil`` and ``ganache`` start a fresh local chain (``--keep-running`` keeps an
Anvil/Ganache node up until Ctrl-C). The deployer key comes from ``P2PCHAIN_DEPLOYER_KEY``, or,
on a dev chain only, dev account 0. ``main()`` takes no required arguments, so ape and brownie
can call it; it then reads ``sys.argv`` leniently and ``P2PCHAIN_NETWORK``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

try:
    import p2pchain  # noqa: F401
except ImportError:  # plain `python scripts/deploy.py` without an install
    sys.path.insert(0, str(ROOT))

from eth_account import Account
from eth_account.signers.local import LocalAccount

from p2pchain._chains import ANVIL_CHAIN_ID, GANACHE_CHAIN_ID, DevChain, open_chain
from p2pchain._deploy import DeploymentsFile, deploy
from p2pchain._errors import DeploymentError, P2PChainError

#: Environment variable holding the deployer's private key (0x hex).
DEPLOYER_KEY_ENV = "P2PCHAIN_DEPLOYER_KEY"
#: Environment variable naming the network when --network is not given.
NETWORK_ENV = "P2PCHAIN_NETWORK"


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


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy and print the addresses; returns the process exit code.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` (unknown ones ignored) if None.
    """
    args, _unknown = _parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    overrides = {} if args.ruling_window is None else {"rulingWindow": args.ruling_window}
    try:
        with open_chain(args.network) as chain:
            deployment = deploy(
                chain, _deployer(chain), constructor_args=overrides, network=args.network
            )
            store = DeploymentsFile(args.deployments)
            if not args.no_save:
                store.save(deployment)
            print(f"network      {deployment.network} (chain id {deployment.chain_id})")
            print(f"Marketplace  {deployment.marketplace}")
            print(f"Reputation   {deployment.reputation}")
            print(f"block        {deployment.block}  tx {deployment.tx_hash}")
            print(f"deployer     {deployment.deployer}")
            print(f"artifacts    {deployment.artifact_hash}")
            if not args.no_save:
                print(f"recorded in  {store.path}")
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


if __name__ == "__main__":
    raise SystemExit(main())
