"""The API checked against its own OpenAPI document, in process: generated requests (valid and not) to
every operation, with no credentials and as each kind of principal, every answer held to the document
(status codes, content types, bodies with no undeclared field); without credentials every data endpoint
refuses with 401.

The front door is built when the module is collected (the operations are parametrised from its document),
over an account file in a temporary directory removed when the process ends.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from services.dashboard.app import PUBLIC

from .conftest import CLIENTS, PEOPLE, make_front_door, make_settings

FOLDER = tempfile.TemporaryDirectory(prefix="dashboard-openapi-")
DOOR = make_front_door(make_settings(Path(FOLDER.name)))
schema = schemathesis.openapi.from_asgi("/openapi.json", DOOR.app)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_document(case: schemathesis.Case[Any]) -> None:
    answer = case.call_and_validate()  # as generated: no credentials, or malformed ones
    if case.path not in {*PUBLIC, "/login"} and case.method.upper() == case.operation.method.upper():
        assert answer.status_code == 401
    for username in (*PEOPLE, *CLIENTS):
        case.call_and_validate(headers={"Authorization": f"Bearer {DOOR.tokens[username]}"})
