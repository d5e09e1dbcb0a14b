"""Compile layer: the contracts' Solidity source to the ABI and bytecode the library ships.

* ``_solc``: the offline compiler. py-solc-x finds an npm-solc (WebAssembly) wrapper named
  ``solc-v0.8.30`` (its template is ``_solcjs/solc_wrapper.js``); the settings (shanghai, viaIR,
  optimizer) are :func:`~p2pchain.compiler._solc.compiler_settings`.
* ``_artifacts``: the shipped artifacts in ``p2pchain/artifacts/`` (ABI, bytecode, metadata),
  loaded and hashed.

Public names are exported from :mod:`p2pchain`; this package imports nothing on its own.
"""
