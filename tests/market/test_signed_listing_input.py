"""MarketplaceClient.signed_listing() on malformed typed data: an InputError naming the problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from _market import Market

from p2pchain import AddressError, IdError, InputError, QuantityError


def _typed_and_signature(market: Market) -> tuple[dict[str, Any], bytes]:
    typed = market.stranger.listing_typed_data(market.terms(), 2)
    signature = market.seller_account.sign_typed_data(full_message=typed).signature
    return typed, bytes(signature)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    *parents, last = path.split(".")

    def edit(typed: dict[str, Any]) -> Any:
        node = typed
        for key in parents:
            node = node[key]
        node[last] = value
        return typed

    return edit


def _drop(path: str) -> Callable[[dict[str, Any]], Any]:
    *parents, last = path.split(".")

    def edit(typed: dict[str, Any]) -> Any:
        node = typed
        for key in parents:
            node = node[key]
        del node[last]
        return typed

    return edit


CASES: list[tuple[str, Callable[[dict[str, Any]], Any], type[InputError], str]] = [
    ("not_a_mapping", lambda t: [t], InputError, "typed data must be an object, got list"),
    ("no_domain", _drop("domain"), InputError, "typed data: domain is missing"),
    ("domain_text", _set("domain", "x"), InputError, "domain must be an object, got str"),
    ("domain_list", _set("domain", [1]), InputError, "domain must be an object, got list"),
    ("chain_id_text", _set("domain.chainId", "abc"), InputError, "domain.chainId must be a whole"),
    ("chain_id_none", _set("domain.chainId", None), InputError, "domain.chainId must be a whole"),
    ("chain_id_missing", _drop("domain.chainId"), InputError, "domain.chainId must be a whole"),
    ("chain_id_bool", _set("domain.chainId", True), InputError, "domain.chainId must be a whole"),
    ("chain_id_float", _set("domain.chainId", 1.5), InputError, "domain.chainId must be a whole"),
    ("chain_id_other", _set("domain.chainId", 1), InputError, "for another chain or marketplace"),
    (
        "contract_garbage",
        _set("domain.verifyingContract", "0x12"),
        AddressError,
        "domain.verifyingContract must be an address",
    ),
    (
        "contract_other",
        _set("domain.verifyingContract", "0x" + "ab" * 20),
        InputError,
        "for another chain or marketplace",
    ),
    ("no_message", _drop("message"), InputError, "typed data: message is missing"),
    ("message_text", _set("message", "x"), InputError, "message must be an object, got str"),
    ("no_terms", _drop("message.terms"), InputError, "typed data: message.terms is missing"),
    ("terms_number", _set("message.terms", 5), InputError, "message.terms must be an object"),
    ("terms_no_seller", _drop("message.terms.seller"), InputError, "malformed listing terms"),
    ("terms_bad_price", _set("message.terms.price", "x"), InputError, "malformed listing terms"),
    (
        "quantity_text",
        _set("message.quantity", "two"),
        InputError,
        "message.quantity must be a whole number",
    ),
    ("quantity_zero", _set("message.quantity", 0), QuantityError, "at least 1"),
    ("no_salt", _drop("message.salt"), IdError, "message.salt must be 32 bytes"),
    ("salt_short", _set("message.salt", "0x12"), IdError, "message.salt must be 32 bytes"),
]


@pytest.mark.parametrize(
    ("edit", "error", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_malformed_typed_data_is_an_input_error_naming_it(
    market: Market,
    edit: Callable[[dict[str, Any]], Any],
    error: type[InputError],
    fragment: str,
) -> None:
    typed, signature = _typed_and_signature(market)
    with pytest.raises(error) as caught:
        market.stranger.signed_listing(edit(copy.deepcopy(typed)), signature)
    message = str(caught.value)
    assert fragment in message and "\n" not in message, message


@pytest.mark.parametrize("signature", ["0xzz", "not hex", "0x1234"])
def test_malformed_signature_is_an_input_error(market: Market, signature: str) -> None:
    typed, _ = _typed_and_signature(market)
    with pytest.raises(InputError, match="signature") as caught:
        market.stranger.signed_listing(typed, signature)
    assert "\n" not in str(caught.value)


def test_json_forms_of_numbers_are_accepted(market: Market) -> None:
    typed, signature = _typed_and_signature(market)
    expected = market.stranger.signed_listing(typed, signature)
    for chain_id in (str(expected.chain_id), hex(expected.chain_id)):
        edited = copy.deepcopy(typed)
        edited["domain"]["chainId"] = chain_id
        edited["message"]["quantity"] = "2"
        edited["message"]["salt"] = "0x" + typed["message"]["salt"].hex()
        assert market.stranger.signed_listing(edited, "0x" + signature.hex()) == expected
