"""ScriptedUser: a thin async helper that plays one simulated user in end-to-end tests."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from .models import Button, EmulatedUser, SentMessage

if TYPE_CHECKING:
    from .server import BotApiEmulator

DEMO_PHONE = "+84912345678"


class ScriptedUser:
    """Drives one user: send/tap actions, then ``expect`` bot output produced after the last action."""

    def __init__(self, emu: BotApiEmulator, user: EmulatedUser, chat_id: int | None = None) -> None:
        self.emu = emu
        self.user = user
        self.chat_id = user.id if chat_id is None else chat_id
        self._cursor = emu.current_seq
        self._last_query_id: str | None = None

    def _mark(self) -> None:
        self._cursor = self.emu.current_seq

    @property
    def last_bot_message(self) -> SentMessage:
        """The newest bot message in the user's chat (AssertionError if none)."""
        msg = self.emu.last_bot_message(self.chat_id)
        if msg is None:
            raise AssertionError(f"the bot has not sent anything to chat {self.chat_id}")
        return msg

    async def send(self, text: str, reply_to_message_id: int | None = None) -> dict[str, Any]:
        """Send a text message; returns the queued Update dict."""
        self._mark()
        return self.emu.user_sends_text(
            self.user, text, chat_id=self.chat_id, reply_to_message_id=reply_to_message_id
        )

    def _find_button(self, label: str) -> tuple[SentMessage, Button]:
        seen: list[str] = []
        for exact in (True, False):
            for msg in reversed(self.emu.bot_messages(self.chat_id)):
                for button in msg.iter_buttons():
                    if (button.text == label) if exact else (label in button.text):
                        return msg, button
                    if exact:
                        seen.append(f"#{msg.message_id}: {button.text!r}")
        raise AssertionError(f"no inline button {label!r} in chat {self.chat_id}; available: {seen}")

    async def tap(self, label: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Press the inline button labelled ``label`` (exact, else substring), newest message first;
        waits up to ``timeout`` for such a button to appear."""

        def present() -> bool:
            try:
                self._find_button(label)
            except AssertionError:
                return False
            return True

        # On timeout _find_button below raises with the list of available buttons.
        with contextlib.suppress(TimeoutError):
            await self.emu.wait_for(present, timeout)
        msg, button = self._find_button(label)
        if button.callback_data is None:
            raise AssertionError(f"button {button.text!r} is a URL/other button, it has no callback_data")
        self._mark()
        update = self.emu.user_presses(self.user, msg, button.callback_data, chat_id=self.chat_id)
        self._last_query_id = update["callback_query"]["id"]
        return update

    async def tap_reply(self, label: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Press a reply-keyboard button: sends its text, or the user's contact for request_contact;
        waits up to ``timeout`` for such a button to be shown."""

        def shown() -> bool:
            rows = self.emu.reply_keyboard(self.chat_id) or []
            return any(label in str(b.get("text", "")) for row in rows for b in row)

        with contextlib.suppress(TimeoutError):
            await self.emu.wait_for(shown, timeout)
        rows = self.emu.reply_keyboard(self.chat_id) or []
        buttons = [b for row in rows for b in row]
        match = next((b for b in buttons if b.get("text") == label), None) or next(
            (b for b in buttons if label in str(b.get("text", ""))), None
        )
        if match is None:
            raise AssertionError(
                f"no reply keyboard button {label!r}; available: {[b.get('text') for b in buttons]}"
            )
        if match.get("request_contact"):
            return await self.share_contact(self.user.phone_number or DEMO_PHONE)
        if match.get("request_location"):
            return await self.send_location()
        return await self.send(str(match["text"]))

    async def share_contact(self, phone: str = DEMO_PHONE) -> dict[str, Any]:
        """Share the user's own contact."""
        self._mark()
        return self.emu.user_sends_contact(self.user, phone, chat_id=self.chat_id)

    async def send_photo(self, caption: str | None = None, content: bytes | None = None) -> dict[str, Any]:
        """Send a photo (generated PNG by default)."""
        self._mark()
        return self.emu.user_sends_photo(self.user, caption=caption, chat_id=self.chat_id, content=content)

    async def send_document(
        self,
        filename: str = "document.pdf",
        content: bytes = b"%PDF-1.4\n%test\n",
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> dict[str, Any]:
        """Send a document."""
        self._mark()
        return self.emu.user_sends_document(
            self.user, filename, content, mime_type, caption, chat_id=self.chat_id
        )

    async def send_voice(self, duration: int = 3) -> dict[str, Any]:
        """Send a voice note."""
        self._mark()
        return self.emu.user_sends_voice(self.user, duration, chat_id=self.chat_id)

    async def send_location(self, latitude: float = 21.0285, longitude: float = 105.8542) -> dict[str, Any]:
        """Share a location."""
        self._mark()
        return self.emu.user_sends_location(self.user, latitude, longitude, chat_id=self.chat_id)

    async def send_sticker(self) -> dict[str, Any]:
        """Send a sticker."""
        self._mark()
        return self.emu.user_sends_sticker(self.user, chat_id=self.chat_id)

    async def expect(self, substring: str, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """Wait for a bot message sent/edited after the last action whose text contains ``substring``."""
        found: list[SentMessage] = []

        def check() -> bool:
            for msg in self.emu.changes_since(self.chat_id, self._cursor):
                if msg.from_bot and not msg.deleted and msg.text is not None and substring in msg.text:
                    found.append(msg)
                    return True
            return False

        try:
            await self.emu.wait_for(check, timeout)
        except TimeoutError:
            recent = [m for m in self.emu.changes_since(self.chat_id, self._cursor) if m.from_bot]
            shown = "\n".join(f"  {m}" for m in recent[-5:]) or "  (no new bot messages)"
            rejected = "\n".join(f"  {r}" for r in self.emu.rejections[-3:])
            raise AssertionError(
                f"{self.user.first_name}: no new bot message containing {substring!r} within {timeout}s; "
                f"new bot messages:\n{shown}" + (f"\nrecent rejections:\n{rejected}" if rejected else "")
            ) from None
        return found[0]

    async def expect_alert(self, substring: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait for the answerCallbackQuery of the last tap and check its text contains ``substring``."""
        query_id = self._last_query_id
        if query_id is None:
            raise AssertionError("expect_alert() needs a previous tap()")
        try:
            await self.emu.wait_for(lambda: query_id in self.emu.callback_answers, timeout)
        except TimeoutError:
            raise AssertionError(f"callback query {query_id} was not answered within {timeout}s") from None
        answer = self.emu.callback_answers[query_id]
        if substring not in (answer.get("text") or ""):
            raise AssertionError(f"callback answer {answer.get('text')!r} does not contain {substring!r}")
        return answer
