"""Constants shared by the wallet tests (public test keys only: never use them for value)."""

from __future__ import annotations

from collections.abc import Callable

#: Runs ``cast <args>`` (the ``cast`` fixture) and returns its stdout.
CastRunner = Callable[..., str]

#: scrypt cost for test keystores (production default: 262144), passed as ``kdf_iterations``.
LIGHT_SCRYPT_N = 1024

#: A fixed test key (eth-account's documentation example) and its address.
KEY_HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
PASSPHRASE = "correct horse battery staple 42"

#: The standard development mnemonic and its first two accounts (m/44'/60'/0'/0/i).
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV_ADDRESS_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
