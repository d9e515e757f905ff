"""Authorisation and transitions of case actions, as tables (pure domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.cases import (
    ALLOWED_FROM,
    NOTE_MAX,
    Actor,
    CaseAction,
    checked_note,
    may_act,
    next_status,
    note_length,
    subordinates,
)
from bot.errors import NoteTooLong
from storage.models import Official, Petition, PetitionStatus, Role

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def official(
    oid: str, role: Role = Role.OFFICIAL, supervisor: str | None = None, active: bool = True
) -> Official:
    return Official(
        id=oid, name=oid, title="t", unit="u", role=role, supervisor_id=supervisor, is_active=active
    )


OFFICIALS = {
    o.id: o
    for o in [
        official("officer", supervisor="chair"),
        official("chair", Role.SUPERVISOR, supervisor="head"),
        official("head", Role.ADMIN),
        official("peer", supervisor="chair2"),
        official("chair2", Role.SUPERVISOR, supervisor="head"),
        official("gone", supervisor="chair", active=False),
        official("plain-above", Role.OFFICIAL),
    ]
}
OFFICIALS["officer"] = OFFICIALS["officer"].model_copy(update={"supervisor_id": "chair"})


def petition(status: PetitionStatus = PetitionStatus.SUBMITTED, assignee: str = "officer") -> Petition:
    return Petition(
        id="HT-2026-000001",
        citizen_id="tg:1",
        channel="tg",
        draft_id="d",
        locality_code="18073",
        category="land",
        type="report",
        description="x" * 20,
        is_anonymous=False,
        language="vi",
        status=status,
        created_at=NOW,
        updated_at=NOW,
        assignee_id=assignee,
    )


@pytest.mark.parametrize(
    ("who", "is_admin", "allowed"),
    [
        ("officer", False, True),  # the assignee
        ("chair", False, True),  # their supervisor
        ("head", False, True),  # the supervisor's supervisor (role admin)
        ("chair2", False, False),  # a supervisor of someone else
        ("peer", False, False),  # another official
        ("gone", False, False),  # deactivated
        (None, True, True),  # an ADMIN_IDS admin without an official record
        (None, False, False),  # a citizen
    ],
)
@pytest.mark.parametrize("action", list(CaseAction))
def test_who_may_act(who: str | None, is_admin: bool, allowed: bool, action: CaseAction) -> None:
    actor = Actor(1, OFFICIALS[who] if who else None, is_admin)
    assert may_act(actor, petition(), OFFICIALS) is allowed


@pytest.mark.parametrize(
    ("action", "status", "allowed", "result"),
    [
        (CaseAction.ACCEPT, PetitionStatus.SUBMITTED, True, PetitionStatus.ACCEPTED),
        (CaseAction.ACCEPT, PetitionStatus.ACCEPTED, False, None),
        (CaseAction.RESOLVE, PetitionStatus.SUBMITTED, False, None),
        (CaseAction.RESOLVE, PetitionStatus.IN_PROGRESS, True, PetitionStatus.RESOLVED),
        (CaseAction.REPLY, PetitionStatus.ACCEPTED, True, PetitionStatus.IN_PROGRESS),
        (CaseAction.ASK_INFO, PetitionStatus.SUBMITTED, True, PetitionStatus.IN_PROGRESS),
        (CaseAction.TRANSFER, PetitionStatus.IN_PROGRESS, True, PetitionStatus.SUBMITTED),
        (CaseAction.REJECT, PetitionStatus.ACCEPTED, True, PetitionStatus.REJECTED),
        (CaseAction.REPLY, PetitionStatus.RESOLVED, False, None),
        (CaseAction.TRANSFER, PetitionStatus.REJECTED, False, None),
    ],
)
def test_transitions(
    action: CaseAction, status: PetitionStatus, allowed: bool, result: PetitionStatus | None
) -> None:
    assert (status in ALLOWED_FROM[action]) is allowed
    if allowed:
        assert next_status(action, status) == result


def test_closed_statuses_are_closed_for_open311() -> None:
    assert {s for s in PetitionStatus if s.open311 == "closed"} == {
        PetitionStatus.RESOLVED,
        PetitionStatus.REJECTED,
        PetitionStatus.CLOSED,
    }


def test_subordinates_follow_the_chain() -> None:
    assert subordinates("head", list(OFFICIALS.values())) == ["chair", "chair2", "gone", "officer", "peer"]
    assert subordinates("chair", list(OFFICIALS.values())) == ["gone", "officer"]
    assert subordinates("officer", list(OFFICIALS.values())) == []


def test_a_note_over_the_limit_is_refused_with_its_length_never_cut() -> None:
    assert checked_note("đ" * NOTE_MAX) == "đ" * NOTE_MAX
    with pytest.raises(NoteTooLong) as refused:
        checked_note("đ" * (NOTE_MAX + 1))
    assert (refused.value.length, refused.value.maximum) == (NOTE_MAX + 1, NOTE_MAX)
    assert note_length("😀 ổn") == 5  # as Telegram counts: an emoji is two UTF-16 units
    with pytest.raises(NoteTooLong):
        checked_note("😀" * (NOTE_MAX // 2 + 1))
