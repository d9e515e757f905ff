"""The consent form's ticks travel in its buttons: encoding, decoding, toggling from what was shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.citizens import CitizenService, decode_choices, encode_choices
from bot.domain.clock import ManualClock
from storage.models import ConsentPurpose, Session

P, A = ConsentPurpose.PETITIONS, ConsentPurpose.ANNOUNCEMENTS


@pytest.mark.parametrize(
    ("choices", "code"),
    [({}, "00"), ({P: True}, "10"), ({A: True}, "01"), ({P: True, A: True}, "11"), ({P: False}, "00")],
)
def test_choices_round_trip(choices: dict[ConsentPurpose, bool], code: str) -> None:
    assert encode_choices(choices) == code
    assert decode_choices(code) == {P: choices.get(P, False), A: choices.get(A, False)}


@pytest.mark.parametrize("code", ["", "1", "111", "12", "ab", "1:0"])
def test_anything_else_is_not_a_form(code: str) -> None:
    assert decode_choices(code) is None


def test_a_tick_flips_what_the_form_showed_not_the_session() -> None:
    service = CitizenService(citizens=None, clock=ManualClock(datetime(2026, 12, 1, tzinfo=UTC)))  # type: ignore[arg-type]
    session = Session(citizen_id="tg:1", updated_at=datetime(2026, 12, 1, tzinfo=UTC))
    session.consent_choices = {P: False, A: False}  # another press got here first
    service.toggle_choice(session, A, {P: True, A: False})  # the form on screen showed petitions ticked
    assert session.consent_choices == {P: True, A: True}
    service.toggle_choice(session, A, {P: True, A: False})  # the same tap twice: the same result
    assert session.consent_choices == {P: True, A: True}
