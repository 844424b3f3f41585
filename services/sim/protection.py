"""The protection life-cycle: (hotline call) -> opened -> assigned -> actions, escalations, regional help
and transfers -> closed -> sometimes reopened and closed again.

Cases come mostly from the migrant-worker destinations. Taiwan has no mission (KDEI Taipei is not one of
the 132), so cases there are held by the PWNI directorate. ``office`` is always the office holding the
case; the source is whoever acted (PWNI, the minister's staff or PTRI ASEAN may act on a mission's case).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.contracts.common import Channel, Personal
from services.contracts.passport import PassportService
from services.contracts.protection import (
    CaseAction,
    CaseAssigned,
    CaseCategory,
    CaseClosed,
    CaseEscalated,
    CaseOpened,
    CaseOutcome,
    CaseReopened,
    CaseTransferred,
    CaseUpdated,
    EscalationLevel,
    HotlineCallReceived,
    Urgency,
)
from services.sim import choices
from services.sim.data import ASEAN, CASE_COUNTRY_WEIGHTS
from services.sim.engine import DAY, HOUR, MIN, PTRI_ASEAN, PUSAT, PWNI, Flow, Person, Step
from services.sim.passports import PassportFlows

_CASE_COUNTRIES = choices.table(CASE_COUNTRY_WEIGHTS)
_HELPERS = {EscalationLevel.PWNI_DIRECTORATE: PWNI, EscalationLevel.MINISTER: PUSAT}


@dataclass(slots=True)
class _Case:
    """Who holds a case and who works it; both change on a transfer."""

    case_id: str
    holder: str
    officer: str
    category: CaseCategory
    country: str
    urgent: bool


class ProtectionFlows(PassportFlows):
    """Protection cases of citizens in trouble abroad."""

    def _case_spawner(self, mean_gap: int) -> Iterator[Step]:
        """Opens a new case every ``mean_gap`` ms on average, forever."""
        at = self._start_ms
        while True:
            at += self._exp(mean_gap)
            yield Step(at, "", None)
            self._spawn(self._case(self._weighted(_CASE_COUNTRIES), at))

    def _subject(self, country: str) -> tuple[Person, bool]:
        """Someone staying in ``country``: a registered resident if there is one, else a newcomer."""
        residents = self._residents.get(country)
        if residents:
            return self._pick(residents), True
        person = self._person(nik=True)
        person.phone = self._phone(country)
        return person, False

    def _case(self, country: str, at: int) -> Iterator[Step]:
        rng = self._rng
        office = self._office_in(country) or PWNI
        subject, registered = self._subject(country)
        category = self._weighted(choices.categories(country))
        urgency = self._weighted(choices.URGENCY[category])
        case_id, call_id = self._id("CS"), None
        opener, channel = office, self._weighted(choices.CASE_CHANNELS)
        if rng.random() < 0.45:
            opener = PWNI if rng.random() < 0.15 else office  # the national hotline, or the mission's
            call_id, channel = self._id("CL"), Channel.HOTLINE if rng.random() < 0.7 else Channel.WHATSAPP
            by_subject = rng.random() < 0.6
            taker = self._officer(opener)
            call = HotlineCallReceived(
                case_id=case_id,
                office=opener,
                call_id=call_id,
                line=self._sites[opener].hotline,
                category=category,
                urgency=urgency,
                caller_is_subject=by_subject,
                personal=Personal(full_name=subject.full_name, phone=subject.phone)
                if by_subject
                else Personal(full_name=subject.full_name, notes="A family member called for the subject."),
                channel=channel,
                officer_id=taker,
            )
            yield Step(at, opener, call)
            if rng.random() < 0.2:  # advice on the phone; nothing to open
                closed = CaseClosed(
                    case_id=case_id, office=opener, outcome=CaseOutcome.RESOLVED, officer_id=taker
                )
                yield Step(at + self._int(5 * MIN, 2 * HOUR), opener, closed)
                return
            at += self._int(10 * MIN, 6 * HOUR)
        elif channel is Channel.WALK_IN:
            at = self._work(office, at)
        opened = CaseOpened(
            case_id=case_id,
            office=opener,
            category=category,
            urgency=urgency,
            country=country,
            personal=subject.personal(),
            hotline_call_id=call_id,
            channel=channel,
            officer_id=self._officer(opener),
        )
        yield Step(at, opener, opened)
        if opener != office:  # the national hotline hands the case to the mission
            at += self._int(20 * MIN, 8 * HOUR)
            transferred = CaseTransferred(
                case_id=case_id,
                office=PWNI,
                to_office=office,
                reason="JURISDICTION",
                officer_id=self._officer(PWNI),
            )
            yield Step(at, PWNI, transferred)
        if category is CaseCategory.LOST_DOCUMENTS and registered and office != PWNI:
            self._spawn(
                self._passport(subject, office, at + self._exp(3 * DAY), PassportService.REPLACEMENT_LOST)
            )
        case = _Case(case_id, office, "", category, country, urgency in (Urgency.HIGH, Urgency.CRITICAL))
        at = yield from self._assign(case, at)
        for round_ in range(2):
            at = yield from self._act(case, at, first=round_ == 0)
            at = self._next_action(case, at)
            outcome = self._weighted(choices.OUTCOMES[category])
            closed = CaseClosed(case_id=case_id, office=case.holder, outcome=outcome, officer_id=case.officer)
            yield Step(at, case.holder, closed)
            if round_ or rng.random() >= 0.1:
                return
            at = self._work(case.holder, at + self._exp(20 * DAY))
            reason = self._pick(choices.REOPEN_REASONS)
            reopened = CaseReopened(
                case_id=case_id, office=case.holder, reason=reason, officer_id=case.officer
            )
            yield Step(at, case.holder, reopened)

    def _assign(self, case: _Case, at: int) -> Flow:
        if case.urgent:
            at += self._int(5 * MIN, HOUR)
        else:
            at = self._work(case.holder, at + self._int(10 * MIN, 4 * HOUR))
        case.officer = self._officer(case.holder)
        assigned = CaseAssigned(
            case_id=case.case_id,
            office=case.holder,
            officer_id=case.officer,
            assigned_by=self._officer(case.holder, senior=True),
        )
        yield Step(at, case.holder, assigned)
        return at

    def _next_action(self, case: _Case, at: int) -> int:
        if case.urgent:  # urgent cases are worked around the clock
            return at + self._exp(8 * HOUR)
        return self._work(case.holder, at + self._exp(2 * DAY))

    def _update(self, case: _Case, at: int, action: CaseAction, source: str) -> Step:
        notes = Personal(notes=self._pick(choices.NOTES[action])) if self._rng.random() < 0.4 else None
        officer = case.officer if source == case.holder else self._officer(source)
        updated = CaseUpdated(
            case_id=case.case_id, office=case.holder, action=action, personal=notes, officer_id=officer
        )
        return Step(at, source, updated)

    def _act(self, case: _Case, at: int, *, first: bool) -> Flow:
        """Actions on the case, with the escalations, regional help and transfers some cases get."""
        rng = self._rng
        for i in range(self._int(1, 4) if first else self._int(1, 2)):
            at = self._next_action(case, at)
            action = self._weighted(choices.ACTIONS[case.category])
            yield self._update(case, at, action, case.holder)
            if not first or i:
                continue
            if rng.random() < (0.5 if case.urgent else 0.08):
                at = yield from self._escalate(case, at)
            if case.country in ASEAN and case.category in choices.REGIONAL and rng.random() < 0.8:
                at += self._exp(2 * DAY)  # PTRI ASEAN takes it up with the regional mechanisms
                yield self._update(case, at, CaseAction.CONTACTED_AUTHORITIES, PTRI_ASEAN)
            if case.holder != PWNI and rng.random() < 0.08:
                at = yield from self._transfer(case, at, action)
        return at

    def _escalate(self, case: _Case, at: int) -> Flow:
        level = EscalationLevel.MINISTER if case.holder == PWNI else self._pick(choices.LEVELS)
        death = case.category is CaseCategory.DEATH
        at += self._int(30 * MIN, 12 * HOUR)
        escalated = CaseEscalated(
            case_id=case.case_id,
            office=case.holder,
            level=level,
            reason=self._pick(choices.DEATH_ESCALATION_REASONS if death else choices.ESCALATION_REASONS),
            officer_id=case.officer,
        )
        yield Step(at, case.holder, escalated)
        helper = _HELPERS.get(level)
        if helper is not None:  # the directorate, or the minister's staff, act on the mission's case
            at = self._work(helper, at + self._exp(DAY))
            yield self._update(case, at, self._pick(choices.CENTRAL_ACTIONS), helper)
        return at

    def _transfer(self, case: _Case, at: int, last: CaseAction) -> Flow:
        """To PWNI for follow-up at home after a repatriation, else to the office where the subject is now."""
        if last is CaseAction.REPATRIATION_ARRANGED:
            target, reason = PWNI, "REPATRIATED_FOLLOW_UP"
        else:
            other = self._other_office(case.holder)
            if other is None:
                return at
            target, reason = other, self._pick(choices.TRANSFER_REASONS)
        at = self._next_action(case, at)
        transferred = CaseTransferred(
            case_id=case.case_id,
            office=case.holder,
            to_office=target,
            reason=reason,
            officer_id=case.officer,
        )
        yield Step(at, case.holder, transferred)
        case.holder = target
        return (yield from self._assign(case, at))
