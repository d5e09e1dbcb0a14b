"""Schemathesis against the committed spec, over a real socket, with a real index: no input the
spec allows or forbids makes the API answer 5xx, and every answer matches the spec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.conftest import ApiWorld, make_world
from frontend_api.app import OPENAPI_PATH
from frontend_api.server import ApiServer
from p2pchain.chain._nodes import AnvilChain


@pytest.fixture(scope="module")
def fuzz_world(anvil_chain: AnvilChain, tmp_path_factory: pytest.TempPathFactory) -> ApiWorld:
    """One indexed world for every operation."""
    return make_world(anvil_chain, tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def fuzz_server(fuzz_world: ApiWorld) -> Iterator[ApiServer]:
    """The API on 127.0.0.1, a free port."""
    with ApiServer(fuzz_world.app) as server:
        yield server


@pytest.fixture
def api_schema(fuzz_server: ApiServer) -> schemathesis.BaseSchema:
    """The committed spec, aimed at the live server."""
    loaded = schemathesis.openapi.from_path(str(Path(OPENAPI_PATH)))
    loaded.config.update(base_url=fuzz_server.url)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_answers_match_the_spec(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )
