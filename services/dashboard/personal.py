"""Where the front door's personal-data answers come from: the processors' own views, asked with the service
credential, and the access logs on the bus.

The processors' ports answer personal data only to holders of the service credential
(``services.runtime.credential``); the front door holds it and says who asks, as it proved: the account
name and role as ``requested_by`` (``<username>/<ROLE>``), the account's office (or ``central_office`` for
an account that sees every office), the stated purpose, and the office an office-scoped account is limited
to. The worker records the lookup on ``registry.access`` / ``protection.access`` before it answers.

Each source is a small protocol, so the API can be tested with fakes at this boundary. A processor's own
refusal (400, 403, 404, 429) is relayed as ``Refused`` with its text (never personal data); a processor that
does not answer, or refuses the service credential, is ``SourceUnavailable`` (503).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.bus.errors import TopicMissing
from services.bus.reading import read_to_end
from services.contracts.protection_views import CaseAccessedModel
from services.contracts.registry import RecordAccessedModel
from services.dashboard.sources import CachedTopicRead, SourceUnavailable
from services.runtime.credential import ServiceCredential

RELAYED = frozenset({400, 403, 404, 429})
"""A processor's refusals the front door passes on (its text holds no personal data)."""
SCOPE = "X-Bus-Scope"
BIRTH_DATE = "X-Birth-Date"


class Refused(Exception):
    """A processor refused the request: its status and its reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks, as the front door proved it, and why."""

    requested_by: str
    office: str
    purpose: str
    scope: str | None
    """The one office the account is limited to; None: every office."""


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One recorded lookup of a person (no personal data): a citizen on ``registry.access`` or a case on
    ``protection.access``.
    """

    log: str
    access_id: str
    requested_by: str
    office: str
    accessed_at: datetime
    purpose: str
    found: bool
    citizen_id: str | None
    case_id: str | None
    lookup: str | None


class PersonalSource(Protocol):
    """What the lookups need of the processors."""

    def citizen(self, query: dict[str, str], asker: Asker) -> dict[str, Any]:
        """A citizen's golden record (``CitizenRecord`` as JSON), the lookup recorded by the registry."""
        ...

    def case(self, case_id: str, asker: Asker) -> dict[str, Any]:
        """A case (``ProtectionCase`` as JSON), the lookup recorded by the case view."""
        ...

    def passport_status(self, application_id: str, birth_date: str) -> dict[str, Any]:
        """The citizen-facing status answer of one application (its birth date the second factor)."""
        ...


class AccessLogSource(Protocol):
    """What the auditors' endpoint needs: every recorded lookup."""

    def entries(self) -> list[AccessEntry]:
        """Every lookup recorded on the access topics."""
        ...


@dataclass(frozen=True)
class ProcessorViews:
    """The processors' personal-data views on loopback, asked with the service credential."""

    registry_url: str
    protection_url: str
    passport_url: str
    credential: ServiceCredential
    timeout: float = 5.0

    def call(self, name: str, request: urllib.request.Request) -> dict[str, Any]:
        """The JSON object a view answered with 200; Refused or SourceUnavailable otherwise."""
        for header, value in self.credential.header().items():
            request.add_header(header, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in RELAYED:
                raise Refused(exc.code, error_text(exc, name)) from None
            if exc.code == 401:
                raise SourceUnavailable(f"the {name} refused the front door's service credential") from None
            raise SourceUnavailable(f"the {name} answered {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise SourceUnavailable(f"the {name} is not reachable ({type(exc).__name__})") from None
        if not isinstance(answer, dict):
            raise SourceUnavailable(f"the {name}'s answer was not understood")
        return answer

    def citizen(self, query: dict[str, str], asker: Asker) -> dict[str, Any]:
        """``POST /registry/lookup`` (the NIK or passport number only in the body)."""
        body = {
            **query,
            "requested_by": asker.requested_by,
            "office": asker.office,
            "purpose": asker.purpose,
            **({"scope": asker.scope} if asker.scope else {}),
        }
        request = urllib.request.Request(  # noqa: S310 - our own configured URL
            self.registry_url + "/registry/lookup",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self.call("registry", request)

    def case(self, case_id: str, asker: Asker) -> dict[str, Any]:
        """``GET /protection/cases/{case_id}`` with who asks in its headers."""
        headers = {"X-Requested-By": asker.requested_by, "X-Office": asker.office, "X-Purpose": asker.purpose}
        if asker.scope:
            headers[SCOPE] = asker.scope
        path = f"/protection/cases/{urllib.parse.quote(case_id, safe='')}"
        return self.call("case view", urllib.request.Request(self.protection_url + path, headers=headers))  # noqa: S310

    def passport_status(self, application_id: str, birth_date: str) -> dict[str, Any]:
        """``GET /passport/applications/{id}/status`` with the birth date in its header."""
        path = f"/passport/applications/{urllib.parse.quote(application_id, safe='')}/status"
        request = urllib.request.Request(self.passport_url + path, headers={BIRTH_DATE: birth_date})  # noqa: S310
        return self.call("passport status view", request)


def error_text(exc: urllib.error.HTTPError, name: str) -> str:
    """A view's ``{"error": ...}`` text, or a plain one if it gave none."""
    try:
        text = json.loads(exc.read()).get("error")
    except (ValueError, AttributeError):
        text = None
    return str(text) if text else f"the {name} answered {exc.code}"


class AccessLogTopics(CachedTopicRead[list[AccessEntry]]):
    """The access logs read from ``registry.access`` and ``protection.access`` (cached as
    ``CachedTopicRead`` says).
    """

    what = "the access logs"
    failures = (*CachedTopicRead.failures, ValueError)

    def records(self, topic: str) -> list[Any]:
        """Every record of ``topic``; none while it does not exist yet (its processor never ran)."""
        try:
            return list(read_to_end(self.settings, self.settings.topic(topic)))
        except TopicMissing:
            return []

    def read(self) -> list[AccessEntry]:
        """Every access record on both topics now, decoded by its contract."""
        found: list[AccessEntry] = []
        for message in self.records(RecordAccessedModel.TOPIC):
            seen = RecordAccessedModel.from_avro(self.codec.decode(message.value).record)
            found.append(
                AccessEntry(
                    log=RecordAccessedModel.TOPIC,
                    access_id=seen.access_id,
                    requested_by=seen.requested_by,
                    office=seen.office,
                    accessed_at=seen.accessed_at,
                    purpose=str(seen.purpose),
                    found=seen.found,
                    citizen_id=seen.citizen_id,
                    case_id=None,
                    lookup=str(seen.lookup),
                )
            )
        for message in self.records(CaseAccessedModel.TOPIC):
            case = CaseAccessedModel.from_avro(self.codec.decode(message.value).record)
            found.append(
                AccessEntry(
                    log=CaseAccessedModel.TOPIC,
                    access_id=case.access_id,
                    requested_by=case.requested_by,
                    office=case.office,
                    accessed_at=case.accessed_at,
                    purpose=str(case.purpose),
                    found=case.found,
                    citizen_id=case.citizen_id,
                    case_id=case.case_id,
                    lookup=None,
                )
            )
        return found

    def entries(self) -> list[AccessEntry]:
        """The access records, from the cache if it is fresh; SourceUnavailable if the bus cannot be read."""
        return list(self.cached())
