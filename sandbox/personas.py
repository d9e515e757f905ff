"""The three people of the sandbox: a citizen, the officer of Phường Thành Sen and an admin."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.scripted import DEMO_PHONE


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo Telegram user shown as one chat of the page."""

    key: str  # citizen | official | admin (used in the page's API)
    telegram_id: int
    first_name: str
    last_name: str | None
    title: str  # the chat's heading on the page
    phone: str
    official_id: str | None = None  # the official of the shipped directory this user is linked to
    hint: str = ""  # shown while the chat is empty
    language: str = "vi"

    @property
    def full_name(self) -> str:
        """First and last name as Telegram shows them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


CITIZEN = Persona(
    key="citizen",
    telegram_id=900001,
    first_name="Hoa",
    last_name="Lê",
    title="Citizen",
    phone=DEMO_PHONE,
    hint="Send /start to begin, then /new to send a petition about Phường Thành Sen.",
)
OFFICIAL = Persona(
    key="official",
    telegram_id=900002,
    first_name="Nguyễn Văn An",
    last_name=None,
    title="Official — Phường Thành Sen",
    phone="+84912000002",
    official_id="ts-cb",
    hint="Petitions about Phường Thành Sen arrive here as case cards. /inbox lists open cases.",
)
ADMIN = Persona(
    key="admin",
    telegram_id=900003,
    first_name="Trịnh Thị Thu",
    last_name=None,
    title="Admin",
    phone="+84912000003",
    official_id="tcd-tb",
    hint="The head of the provincial citizen-reception board. Try /inbox, /officials or /invite.",
)
PERSONAS: tuple[Persona, ...] = (CITIZEN, OFFICIAL, ADMIN)
BY_KEY = {p.key: p for p in PERSONAS}
BY_TELEGRAM_ID = {p.telegram_id: p for p in PERSONAS}
