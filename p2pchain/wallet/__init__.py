"""Wallet layer: keys kept only as encrypted keystores, and the passphrases that open them.

* ``_wallet``: :class:`~p2pchain.Wallet`, the keystore folder (create, import, list, export,
  delete, load an account).
* ``_keystore``: Web3 Secret Storage v3 files and the key material in them, handled so that no
  secret reaches a traceback.
* ``_passphrase``: a passphrase from a file, an environment variable, or a terminal prompt.

Public names are exported from :mod:`p2pchain`; this package imports nothing on its own.
"""
