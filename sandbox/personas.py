"""The three people of the sandbox: a citizen, the officer of Phường Thành Sen and an admin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from emulator.scripted import DEMO_PHONE


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo Telegram user shown as one chat of the page."""

    key: str  # citizen | official | admin (used in the page's API)
    telegram_id: int
    first_name: str
    last_name: str | None
    titles: Mapping[str, str]  # the chat's heading on the page, by language
    phone: str
    official_id: str | None = None  # the official of the shipped directory this user is linked to
    hints: Mapping[str, str] = field(default_factory=dict)  # shown while the chat is empty, by language
    language: str = "vi"

    @property
    def full_name(self) -> str:
        """First and last name as Telegram shows them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def title(self, language: str | None) -> str:
        """The chat's heading in ``language`` (Vietnamese when it has none)."""
        return self.titles.get(language or "", self.titles["vi"])

    def hint(self, language: str | None) -> str:
        """What to try first, in ``language`` (Vietnamese when it has none)."""
        return self.hints.get(language or "", self.hints.get("vi", ""))


CITIZEN = Persona(
    key="citizen",
    telegram_id=900001,
    first_name="Hoa",
    last_name="Lê",
    titles={"vi": "Người dân", "en": "Citizen"},
    phone=DEMO_PHONE,
    hints={
        "vi": "Gửi /start để bắt đầu, rồi /new để gửi phản ánh. Phản ánh về Phường Thành Sen (kể cả tên cũ "
        "như Bắc Hà, Nam Hà, Tân Giang) đến cán bộ ở khung giữa; phản ánh về nơi khác đến cán bộ phụ trách "
        "nơi đó trong danh bạ, và quản trị viên được báo nếu người đó chưa tham gia bot.",
        "en": "Send /start to begin, then /new to send a petition. Petitions about Phường Thành Sen (old "
        "names too, like Bắc Hà, Nam Hà, Tân Giang) reach the official in the middle; petitions about other "
        "places go to their own official in the directory, and the admin is told when that person has not "
        "joined the bot.",
    },
)
OFFICIAL = Persona(
    key="official",
    telegram_id=900002,
    first_name="Nguyễn Văn An",
    last_name=None,
    titles={"vi": "Cán bộ — Phường Thành Sen", "en": "Official — Phường Thành Sen"},
    phone="+84912000002",
    official_id="ts-cb",
    hints={
        "vi": "Phản ánh về Phường Thành Sen đến đây dưới dạng thẻ hồ sơ. /inbox liệt kê các hồ sơ đang mở.",
        "en": "Petitions about Phường Thành Sen arrive here as case cards. /inbox lists open cases.",
    },
)
ADMIN = Persona(
    key="admin",
    telegram_id=900003,
    first_name="Trịnh Thị Thu",
    last_name=None,
    titles={"vi": "Quản trị viên", "en": "Admin"},
    phone="+84912000003",
    official_id="tcd-tb",
    hints={
        "vi": "Trưởng Ban Tiếp công dân tỉnh. Hãy thử /inbox, /officials hoặc /invite.",
        "en": "The head of the provincial citizen-reception board. Try /inbox, /officials or /invite.",
    },
)
PERSONAS: tuple[Persona, ...] = (CITIZEN, OFFICIAL, ADMIN)
BY_KEY = {p.key: p for p in PERSONAS}
BY_TELEGRAM_ID = {p.telegram_id: p for p in PERSONAS}
