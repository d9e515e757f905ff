"""The receipt states the deadlines of the petition's own type and category, not one fixed promise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.domain.deadlines import DeadlineKind, DeadlinePolicy
from bot.domain.directory import Directory
from bot.i18n import Translator
from handlers.citizen.views import submitted_text
from storage.models import Deadline

DIRECTORY = Directory.load(Path("bot/provinces/hatinh/province.yaml"))
POLICY = DeadlinePolicy.default()
THANH_SEN = DIRECTORY.locality("18073")


def receipt(lang: str, category: str, petition_type: str, **kwargs: object) -> str:
    found = DIRECTORY.category(category)
    assert found is not None
    durations = POLICY.durations(category, petition_type, found.is_urgent)
    return submitted_text(Translator()(lang), "HT-2026-000001", THANH_SEN, durations, **kwargs)  # type: ignore[arg-type]


def test_a_complaint_says_seven_working_days_and_thirty_days() -> None:
    text = receipt("vi", "land", "complaint")
    assert "trong vòng 7 ngày làm việc" in text and "trong vòng 30 ngày" in text
    assert "1 ngày làm việc" not in text
    assert "within 7 working days" in receipt("en", "land", "complaint")


def test_an_urgent_category_says_four_working_hours() -> None:
    text = receipt("en", "disaster", "report")
    assert "accept it within 4 working hours and resolve it within 10 working days" in text
    assert "trong vòng 4 giờ làm việc" in receipt("vi", "security", "report")


def test_an_ordinary_report_says_one_working_day_with_its_due_date() -> None:
    due = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # 17:00 in Hà Tĩnh
    deadlines = {DeadlineKind.ACCEPT.value: Deadline(kind="accept", due_at=due)}
    text = receipt("en", "land", "report", deadlines=deadlines)
    assert "within 1 working day (by 08/12/2026 17:00)" in text


def test_without_deadlines_nothing_is_promised() -> None:
    text = submitted_text(Translator()("vi"), "HT-2026-000001", THANH_SEN)
    assert "HT-2026-000001" in text and "Phường Thành Sen" in text and "ngày làm việc" not in text
