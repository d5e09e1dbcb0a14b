"""The committed OpenAPI spec is the live one, and operation ids stay stable."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from frontend_api import ApiSettings, create_app
from frontend_api.app import OPENAPI_PATH
from frontend_api.openapi import live_spec, render

#: Generated clients name their methods after these: renaming one breaks them.
STABLE_OPERATION_IDS = {
    ("get", "/api/listings"): "search_listings",
    ("get", "/api/listings/{listing_id}"): "get_listing",
    ("post", "/api/listings/signed"): "get_signed_listing",
    ("get", "/api/accounts/{address}/trades"): "trades_of",
    ("get", "/api/accounts/{address}/trust"): "trust_of",
    ("get", "/api/accounts/{address}/ratings"): "ratings_of",
    ("get", "/api/accounts/{address}/credits"): "credits_of",
    ("get", "/api/events"): "stream_changes",
    ("get", "/api/listings/categories"): "listing_categories",
    ("get", "/api/price-hint"): "price_hint",
    ("get", "/api/tokens/{address}"): "get_token",
    ("get", "/api/config"): "get_config",
    ("get", "/api/tx/{tx_hash}"): "transaction_status",
    ("post", "/api/tx/buy"): "prepare_buy",
    ("post", "/api/tx/release"): "prepare_release",
    ("post", "/api/tx/return-deposit"): "prepare_return_deposit",
    ("post", "/api/tx/refund"): "prepare_refund",
    ("post", "/api/tx/finalize"): "prepare_finalize",
    ("post", "/api/tx/dispute"): "prepare_dispute",
    ("post", "/api/tx/propose-settlement"): "prepare_propose_settlement",
    ("post", "/api/tx/accept-settlement"): "prepare_accept_settlement",
    ("post", "/api/tx/rule"): "prepare_rule",
    ("post", "/api/tx/claim-ruling-timeout"): "prepare_claim_ruling_timeout",
    ("post", "/api/tx/rate"): "prepare_rate",
    ("post", "/api/tx/withdraw"): "prepare_withdraw",
    ("post", "/api/tx/create-listing"): "prepare_create_listing",
    ("post", "/api/tx/close-listing"): "prepare_close_listing",
    ("post", "/api/tx/listing-typed-data"): "listing_typed_data",
    ("post", "/api/tx/signed-listing"): "verify_signed_listing",
    ("post", "/api/tx/submit"): "submit_raw_transaction",
    ("post", "/api/ipfs/upload"): "upload_file",
    ("post", "/api/ipfs/document"): "upload_listing_document",
    ("get", "/ipfs/{cid}"): "gateway_get",
    ("get", "/api/notifications"): "get_notifications",
    ("get", "/api/notifications/stream"): "stream_notifications",
    ("get", "/api/messaging/relays"): "get_messaging_relays",
    ("get", "/api/listings/{listing_id}/contact"): "get_listing_contact",
    ("get", "/api/accounts/{address}/contact"): "get_account_contact",
    ("get", "/api/rentals/{listing_id}"): "get_rental",
    ("get", "/api/rentals/{listing_id}/calendar"): "get_rental_calendar",
    ("get", "/api/rentals/{listing_id}/quote"): "quote_booking",
    ("get", "/api/rentals/{listing_id}/bookings"): "list_rental_bookings",
    ("get", "/api/bookings/{booking_id}"): "get_booking",
    ("post", "/api/tx/book"): "prepare_book",
    ("post", "/api/requests"): "post_request",
    ("post", "/api/requests/typed-data"): "request_typed_data",
    ("get", "/api/requests"): "list_requests",
    ("get", "/api/requests/{request_id}"): "get_request",
    ("get", "/api/requests/{request_id}/matches"): "request_matches",
    ("get", "/api/listings/{listing_id}/requests"): "listing_requests",
    ("post", "/api/requests/{request_id}/answer-typed-data"): "answer_typed_data",
    ("post", "/api/requests/{request_id}/answers"): "post_answer",
    ("get", "/api/requests/{request_id}/answers"): "list_answers",
    ("post", "/api/tx/booking/rule"): "prepare_booking_rule",
    ("post", "/api/tx/booking/rate"): "prepare_booking_rate",
    ("post", "/api/tx/booking/{action}"): "prepare_booking_action",
    ("get", "/api/accounts/{address}/bookings"): "bookings_of",
    ("post", "/api/offers"): "store_offer",
    ("get", "/api/offers"): "list_offers",
    ("get", "/api/offers/{offer_id}"): "get_offer",
    ("get", "/api/listings/{listing_id}/offers"): "listing_offers",
    ("post", "/api/tx/accept-offer"): "prepare_accept_offer",
    ("post", "/api/tx/cancel-offer"): "prepare_cancel_offer",
    ("post", "/api/tx/cancel-all-offers"): "prepare_cancel_all_offers",
    ("post", "/api/tx/add-credit"): "prepare_add_credit",
    ("post", "/api/offer-typed-data"): "offer_typed_data",
}


def test_committed_spec_equals_the_live_spec() -> None:
    committed = OPENAPI_PATH.read_text(encoding="utf-8")
    assert committed == render(live_spec()), (
        "frontend_api/openapi.json is stale: run python -m frontend_api.openapi and commit it"
    )


def test_operation_ids_are_stable_and_complete() -> None:
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    found = {
        (method, path): op["operationId"]
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    assert found == STABLE_OPERATION_IDS


def test_served_spec_is_the_committed_one() -> None:
    app = create_app(ApiSettings(network="http://127.0.0.1:1"))
    with TestClient(app) as client:
        served = client.get("/openapi.json").json()
    assert render(served) == OPENAPI_PATH.read_text(encoding="utf-8")


def test_every_operation_documents_its_errors() -> None:
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert {"400", "404", "422", "503"} <= set(op["responses"]), (method, path)
