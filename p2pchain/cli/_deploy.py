"""``p2pchain deploy``: deploy the shipped contracts and record them in the deployments file."""

from __future__ import annotations

from typing import Annotated

import typer

from p2pchain.cli._common import (
    DEV_CHAIN_IDS,
    deployments_path,
    emit,
    opts,
    panel,
    parse_duration,
    status,
)
from p2pchain.cli._errors import CliError


def deploy(
    ruling_window: Annotated[
        str, typer.Option(help="How long an arbitrator has to rule (1h..90d).")
    ] = "7d",
    force: Annotated[
        bool, typer.Option(help="Deploy again even if a live deployment is recorded.")
    ] = False,
) -> None:
    """Deploy Marketplace + Reputation and record them for this chain id.

    On a dev node without --account, the dev mnemonic's first account pays.
    """
    from p2pchain._errors import ChainError, DeploymentError
    from p2pchain.chain._deploy import DeploymentsFile, verify_deployment
    from p2pchain.chain._deploy import deploy as deploy_contracts
    from p2pchain.chain._node_errors import CONNECTION_ERRORS
    from p2pchain.chain._nodes import RpcChain, dev_accounts

    o = opts()
    window = parse_duration(ruling_window, "ruling window")
    url = o.rpc_url()
    chain = RpcChain(url, name=o.network_name())
    try:
        chain_id = int(chain.w3.eth.chain_id)
    except CONNECTION_ERRORS as exc:
        raise ChainError(f"cannot reach the node at {url}: {exc}") from None
    store = DeploymentsFile(deployments_path())
    existing = store.get(chain_id)
    if existing is not None and not force:
        try:
            verify_deployment(chain, existing)
        except DeploymentError:
            existing = None  # recorded for a node that was reset: deploy again
        if existing is not None:
            emit(
                {**existing.to_json(), "deployed": False, "file": str(store.path)},
                lambda: typer.echo(
                    f"already deployed on chain {chain_id}: marketplace {existing.marketplace}"
                    " (--force deploys again)"
                ),
            )
            return
    if o.account_name(required=False):
        deployer = o.load_account()
    elif chain_id in DEV_CHAIN_IDS:
        deployer = dev_accounts(1)[0]
    else:
        raise CliError(f"chain {chain_id} is not a dev node: pass --account NAME to pay for it")
    if chain_id in DEV_CHAIN_IDS:
        chain.install_permit2()  # as a real chain has it (a node this CLI started has it already)
    with status(o, "deploying"):
        deployment = deploy_contracts(
            chain, deployer, constructor_args={"rulingWindow": window}, network=o.network_name()
        )
    store.save(deployment)
    emit(
        {**deployment.to_json(), "deployed": True, "file": str(store.path)},
        lambda: panel(
            "deployed",
            [
                ("chain id", deployment.chain_id),
                ("marketplace", deployment.marketplace),
                ("reputation", deployment.reputation),
                ("block", deployment.block),
                ("deployer", deployment.deployer),
                ("recorded in", store.path),
            ],
            style="green",
        ),
    )
