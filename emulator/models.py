"""Plain data objects of the emulator: users, chats, stored messages, files and call records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(slots=True)
class EmulatedUser:
    """A simulated Telegram user (a citizen, an official, an admin...)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    phone_number: str | None = None
    hide_forwards: bool = False  # privacy setting "forwarded messages: nobody"

    @property
    def full_name(self) -> str:
        """First and last name joined by a space."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_dict(self) -> dict[str, Any]:
        """The Telegram ``User`` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(slots=True)
class ForumTopic:
    """A topic of a forum supergroup."""

    message_thread_id: int
    name: str
    icon_color: int = 7322096
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The Telegram ``ForumTopic`` object."""
        data: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


class Button(NamedTuple):
    """A flattened inline keyboard button: label, callback data and URL."""

    text: str
    callback_data: str | None
    url: str | None


@dataclass(slots=True)
class SentMessage:
    """A message stored in a chat (sent by the bot or by a user), with edits applied."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender_id: int
    date: int
    kind: str = "text"
    text: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    file_id: str | None = None
    message_thread_id: int | None = None
    reply_to_message_id: int | None = None
    edited: bool = False
    edit_date: int | None = None
    deleted: bool = False
    seq: int = 0  # global change counter: bumped on send and on every edit
    edit_count: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        """Rows of inline keyboard button dicts (empty when there is no inline keyboard)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def buttons(self) -> list[list[Button]]:
        """Inline keyboard as rows of ``Button(text, callback_data, url)``."""
        return [
            [Button(str(b.get("text", "")), b.get("callback_data"), b.get("url")) for b in row]
            for row in self.inline_keyboard
        ]

    def iter_buttons(self) -> Iterator[Button]:
        """All inline buttons, row by row."""
        for row in self.buttons:
            yield from row

    def button(self, label: str) -> Button:
        """Find an inline button whose text equals ``label`` (else contains it); AssertionError if none."""
        buttons = list(self.iter_buttons())
        for b in buttons:
            if b.text == label:
                return b
        for b in buttons:
            if label in b.text:
                return b
        raise AssertionError(
            f"no button {label!r} on message {self.message_id}; have {[b.text for b in buttons]}"
        )

    @property
    def reply_keyboard(self) -> list[list[dict[str, Any]]] | None:
        """Rows of reply keyboard button dicts when this message set a reply keyboard, else None."""
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return None
        return [
            [b if isinstance(b, dict) else {"text": str(b)} for b in row]
            for row in self.reply_markup["keyboard"]
        ]

    def __str__(self) -> str:
        who = "bot" if self.from_bot else f"user {self.sender_id}"
        return f"#{self.message_id} [{who}, {self.kind}] {self.text!r}"


@dataclass(slots=True)
class StoredFile:
    """A file known to the emulator (uploaded by the bot or created for a user)."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def file_size(self) -> int:
        """Size of the content in bytes."""
        return len(self.data)


@dataclass(slots=True)
class ChatState:
    """A chat the emulator knows about and the messages in it."""

    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    username: str | None = None
    user: EmulatedUser | None = None  # the other side of a private chat
    is_forum: bool = False
    known_to_bot: bool = False
    bot_status: str = "member"  # member, administrator, kicked, left
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    messages: dict[int, SentMessage] = field(default_factory=dict)
    next_message_id: int = 1
    topics: dict[int, ForumTopic] = field(default_factory=dict)
    reply_keyboard: dict[str, Any] | None = None
    menu_button: dict[str, Any] | None = None
    change_log: list[tuple[int, SentMessage]] = field(default_factory=list)  # (seq, msg) of sends/edits

    def to_dict(self) -> dict[str, Any]:
        """The Telegram ``Chat`` object embedded in messages."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
        else:
            data["title"] = self.title or str(self.id)
            if self.username:
                data["username"] = self.username
            if self.is_forum:
                data["is_forum"] = True
        return data


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Bot API request made by the bot."""

    method: str
    params: dict[str, Any]
    time: float


@dataclass(frozen=True, slots=True)
class Rejection:
    """An error response the emulator returned to the bot."""

    method: str
    params: dict[str, Any]
    error_code: int
    description: str
    time: float = 0.0  # when it happened (time.time()); 0.0 when built by hand

    def __str__(self) -> str:
        return f"{self.method}: {self.error_code} {self.description}"


@dataclass(frozen=True, slots=True)
class EmulatorEvent:
    """A change pushed to listeners (see ``EmulatorState.add_listener``), e.g. to update a web page live.

    ``kind`` is one of ``message`` (a new message, the bot's or a user's), ``edited``, ``deleted``,
    ``rejection`` (an error returned to the bot), ``callback_answer`` (answerCallbackQuery: ``data``
    holds text, show_alert and user_id).
    """

    kind: str
    chat_id: int | None = None
    message: SentMessage | None = None
    rejection: Rejection | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Flood limits to enforce (all sliding windows); ``None`` disables a limit."""

    per_chat_per_second: float | None = 1
    global_per_second: float | None = 30
    per_group_per_minute: float | None = 20
    retry_after: int | None = None  # fixed value to report; None = computed from the window


@dataclass(slots=True)
class Fault:
    """A failure injected into matching Bot API calls (see ``BotApiEmulator.inject``).

    ``method`` (case-insensitive; None: every method but getUpdates) and ``chat_id`` (None: any chat)
    select the calls. What happens to each, in order: it waits ``delay`` seconds (network latency
    before the request reaches Telegram: a client that hangs up meanwhile leaves nothing done), then
    fails with ``status`` (and ``retry_after`` for a 429) or has its connection closed without an
    answer (``drop``). With ``after=True`` the call is performed first and only its answer is
    delayed, replaced by the error or lost (``drop``): Telegram did it, the bot cannot know.
    The first ``skip`` matching calls pass untouched; then ``count`` calls are affected (None: every
    matching call until ``clear_faults``).
    """

    method: str | None = None
    chat_id: int | str | None = None
    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    drop: bool = False
    after: bool = False
    delay: float = 0.0
    count: int | None = 1
    skip: int = 0
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        """Whether it has affected all the calls it was meant to."""
        return self.count is not None and self.hits >= self.count

    def matches(self, method: str, chat_id: Any) -> bool:
        """Whether a call of ``method`` (lower-case) to ``chat_id`` is affected (``hits`` not counted)."""
        if self.exhausted:
            return False
        if self.method is None:
            if method == "getupdates":
                return False
        elif self.method.lower() != method:
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    def error_body(self) -> dict[str, Any]:
        """The JSON Telegram answers with for ``status``."""
        assert self.status is not None
        description = self.description or {
            429: f"Too Many Requests: retry after {self.retry_after or 1}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(self.status, f"Error {self.status}")
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": description}
        if self.status == 429:
            body["parameters"] = {"retry_after": self.retry_after or 1}
        return body
