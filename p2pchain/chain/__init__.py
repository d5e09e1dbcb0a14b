"""Chain layer: nodes, deployment, signing and sending, and what the contracts say back.

* ``_nodes``: the embedded chain (py-evm), Anvil and Ganache from npm, any RPC URL.
* ``_deploy``: deploying the contracts and the deployments file.
* ``_tx``: one locally signed raw transaction (used by deploy).
* ``_sender``: :class:`~p2pchain.TransactionSender`, which never pays twice, built from
  ``_rpc`` (JSON-RPC with every answer validated), ``_preflight`` (the chain id check, fees, gas
  and the simulation before signing), ``_broadcast`` (sending signed bytes once, whatever comes
  back), ``_outstanding`` (unsettled transactions: orphans, reconciliation, status), ``_journal``
  (the journal on disk), ``_nonces`` (nonces reserved locally), ``_fees`` (EIP-1559 fees and the
  sender's policy), ``_node_errors`` (what a node's failures mean) and ``_pending`` (sent
  transactions and the errors sending ends in).
* ``_model``: typed mirrors of the contract's structs and the trade transitions.
* ``_events``: events decoded by topic, straight from the ABI.
* ``_revert`` and ``_contract_errors``: one Python exception per contract error, decoded from
  revert data.

Public names are exported from :mod:`p2pchain`; this package imports nothing on its own.
"""
