"""Hostile input against the published contract: schemathesis generates requests for every
operation of /openapi.json (valid and invalid ones) and the desk must never answer 5xx, nor
answer anything its schema does not declare, nor a body that breaks the declared schema.

The app runs in-process (ASGI). Examples per operation are bounded, so the module stays within
a couple of minutes on two cores; it runs as one xdist group (one desk, one app).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from socialdesk.adapters.db import tables as t
from socialdesk.web.app import create_app
from tests.e2e.conftest import Api

pytestmark = pytest.mark.xdist_group("openapi_contract")

# Every status and media type answered must be declared (web/routing.py declares the problems
# any route can answer), besides never a 5xx and never a body that breaks its schema.
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
EXAMPLES = 15


@pytest.fixture(scope="module")
def app(module_api: Api) -> FastAPI:
    return create_app(module_api.desk, run_worker=False)


@pytest.fixture(scope="module")
def contract(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def own_tokens(module_api: Api) -> set[int]:
    """The ids of the role tokens the tests call with: a generated DELETE must not revoke them."""
    with module_api.desk.engine.connect() as conn:
        return set(conn.scalars(select(t.api_tokens.c.id)))


BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.explicit, Phase.generate],
)


def _fuzz(contract: Any, token: str, mode: GenerationMode, own_tokens: set[int]) -> list[str]:
    """Every operation with `EXAMPLES` generated requests; what broke, one line per operation."""
    failures = []
    for result in contract.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            token_id = (case.path_parameters or {}).get("token_id")
            if token_id in own_tokens:
                case.path_parameters["token_id"] = 10**9
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (no parameters): no negative case
            continue
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", ["admin", "agent"])
def test_every_operation_keeps_its_contract(
    contract: Any, module_api: Api, own_tokens: set[int], role: str, mode: GenerationMode
) -> None:
    """The admin reaches every operation, so generated input gets past the role checks; an
    agent meets the refusals as well. Negative input must be refused, never crash."""
    failures = _fuzz(contract, module_api.tokens[role], mode, own_tokens)
    assert not failures, "\n\n".join(failures)
