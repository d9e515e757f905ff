"""Emulator state: bot identity, users, chats and messages, the update queue, files and records.

:class:`EmulatorState` also carries the *control API* used by tests (and later the web sandbox) to
inject what simulated users do (``user_sends_text``, ``user_presses``...) and to observe what the
bot did (``messages``, ``callback_answers``, ``rejections``...). All of it is synchronous and runs
in the event loop of the HTTP server, so there are no races with the bot's requests.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .formatting import detect_entities
from .media import SAMPLE_STICKER, SAMPLE_VIDEO, SAMPLE_VOICE, image_size, sample_png
from .models import (
    ApiCall,
    ChatState,
    EmulatedUser,
    EmulatorEvent,
    RateLimits,
    Rejection,
    SentMessage,
    StoredFile,
)

log = logging.getLogger(__name__)
Listener = Callable[[EmulatorEvent], None]

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_FILE_PREFIX = {
    "photo": "AgAC",
    "document": "BQAC",
    "voice": "AwAC",
    "audio": "CQAC",
    "video": "BAAC",
    "sticker": "CAAC",
    "video_note": "DQAC",
    "animation": "CgAC",
}
_FILE_FOLDER = {
    "photo": "photos",
    "document": "documents",
    "voice": "voice",
    "audio": "music",
    "video": "videos",
    "sticker": "stickers",
    "video_note": "video_notes",
    "animation": "animations",
}


class EmulatorState:
    """Everything the emulated Telegram server knows, plus the synchronous control API."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "tiengdan_test_bot",
        bot_first_name: str = "Tiếng Dân (test)",
        rate_limits: RateLimits | None = None,
        max_recorded_calls: int = 10_000,
    ) -> None:
        prefix = token.split(":", 1)[0]
        if not prefix.isdigit() or ":" not in token:
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot_user = EmulatedUser(
            id=int(prefix), first_name=bot_first_name, username=bot_username, is_bot=True
        )
        self.rate_limits = rate_limits
        self.users: dict[int, EmulatedUser] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.blocked_by: set[int] = set()
        self.deactivated: set[int] = set()
        self.calls: deque[ApiCall] = deque(maxlen=max_recorded_calls)
        self.rejections: list[Rejection] = []
        self.rate_limited: list[Rejection] = []
        self.unimplemented_calls: list[ApiCall] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.bot_settings: dict[tuple[str, str], str] = {}  # (name|description|short_description, lang)
        self.default_menu_button: dict[str, Any] = {"type": "commands"}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.allow_http_webhook = False  # tests: a webhook on http://127.0.0.1 (Telegram wants HTTPS)
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0: no answer)
        self.webhook_last_error = ""
        self.webhook_retry_first = 0.1  # seconds before the first retry of a refused delivery
        self.webhook_retry_cap = 1.0  # the pause between retries grows up to this
        self.webhook_timeout = 10.0
        self._webhook_task: asyncio.Task[None] | None = None
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.dropped_updates: list[dict[str, Any]] = []
        self.confirmed_offset = 0
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._updates: deque[tuple[int, str, dict[str, Any]]] = deque()
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_counter = itertools.count(1)
        self._seq = 0
        self._event = asyncio.Event()
        self._listeners: list[Listener] = []

    # -- change notification -------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake everything waiting for a change (long polls, ``wait_for``)."""
        self._event.set()
        self._event = asyncio.Event()

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` on every :class:`EmulatorEvent` (new, edited and deleted messages,
        rejections, callback answers); returns a function that removes it. Listeners run synchronously
        in the server's event loop and must not block; their exceptions are logged and ignored."""
        self._listeners.append(listener)
        return lambda: self.remove_listener(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: EmulatorEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("emulator listener failed on %s", event.kind)

    def _mark_deleted(self, msg: SentMessage) -> None:
        """Delete a message (it stays stored with ``deleted=True``) and tell the listeners."""
        if msg.deleted:
            return
        msg.deleted = True
        self._emit(EmulatorEvent("deleted", msg.chat_id, msg))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @property
    def current_seq(self) -> int:
        """Global change counter: increases with every message sent or edited."""
        return self._seq

    # -- users and chats -----------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        started: bool = False,
        phone_number: str | None = None,
        hide_forwards: bool = False,
    ) -> EmulatedUser:
        """Register a user; ``started=True`` makes the private chat known to the bot already."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = EmulatedUser(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone_number=phone_number,
            hide_forwards=hide_forwards,
        )
        self.users[user_id] = user
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = ChatState(id=user_id, type="private", user=user)
        chat.user = user
        chat.known_to_bot = chat.known_to_bot or started
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        is_forum: bool = False,
        members: list[EmulatedUser | int] | None = None,
        admins: list[EmulatedUser | int] | None = None,
        creator: EmulatedUser | int | None = None,
        bot_is_admin: bool = True,
        username: str | None = None,
    ) -> ChatState:
        """Register a (super)group the bot is a member of; ids below -10**12 or forums are supergroups."""
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        kind = "supergroup" if is_forum or chat_id < -1_000_000_000_000 else "group"
        chat = ChatState(
            id=chat_id, type=kind, title=title, is_forum=is_forum, known_to_bot=True, username=username
        )
        chat.bot_status = "administrator" if bot_is_admin else "member"
        if is_forum:
            chat.next_message_id = 2  # thread id 1 is the General topic

        def uid(u: EmulatedUser | int) -> int:
            return u.id if isinstance(u, EmulatedUser) else u

        for member in members or []:
            chat.members[uid(member)] = "member"
        for admin in admins or []:
            chat.members[uid(admin)] = "administrator"
        if creator is not None:
            chat.members[uid(creator)] = "creator"
        self.chats[chat_id] = chat
        return chat

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: every send to their chat now fails with 403."""
        self.blocked_by.add(user_id)

    def unblock_bot(self, user_id: int) -> None:
        """The user unblocks the bot."""
        self.blocked_by.discard(user_id)

    def deactivate_user(self, user_id: int) -> None:
        """The user deletes their account: sends fail with 403 ``user is deactivated``."""
        self.deactivated.add(user_id)

    def kick_bot(self, chat_id: int) -> None:
        """Remove the bot from a group: sends fail with 403."""
        self.chats[chat_id].bot_status = "kicked"

    def _chat_for(self, user: EmulatedUser, chat_id: int | None) -> ChatState:
        if chat_id is None or chat_id == user.id:
            if user.id not in self.users:
                self.users[user.id] = user
            chat = self.chats.get(user.id)
            if chat is None:
                chat = self.chats[user.id] = ChatState(id=user.id, type="private", user=user)
            chat.known_to_bot = True
            self.blocked_by.discard(user.id)  # writing to the bot again implies /start: unblocks
            return chat
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}; call add_group first")
        if chat.type != "private" and user.id not in chat.members:
            chat.members[user.id] = "member"
        return chat

    # -- messages ------------------------------------------------------------------------------

    def _store_message(
        self,
        chat: ChatState,
        sender: EmulatedUser,
        content: dict[str, Any],
        *,
        kind: str,
        text: str | None = None,
        raw_text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        parse_mode: str | None = None,
        caption: bool = False,
        reply_markup: dict[str, Any] | None = None,
        thread_id: int | None = None,
        reply_to: SentMessage | None = None,
        file_id: str | None = None,
    ) -> SentMessage:
        """Create a message in ``chat``, build its Telegram dict and log the change."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        now = int(time.time())
        raw: dict[str, Any] = {
            "message_id": message_id,
            "from": sender.to_dict(),
            "chat": chat.to_dict(),
            "date": now,
        }
        if thread_id is not None:
            raw["message_thread_id"] = thread_id
            if chat.is_forum:
                raw["is_topic_message"] = True
        if reply_to is not None:
            raw["reply_to_message"] = {k: v for k, v in reply_to.raw.items() if k != "reply_to_message"}
        raw.update(content)
        if text is not None:
            raw["caption" if caption else "text"] = text
            if entities:
                raw["caption_entities" if caption else "entities"] = entities
        if reply_markup and "inline_keyboard" in reply_markup:
            raw["reply_markup"] = reply_markup
        msg = SentMessage(
            message_id=message_id,
            chat_id=chat.id,
            from_bot=sender.is_bot,
            sender_id=sender.id,
            date=now,
            kind=kind,
            text=text,
            raw_text=raw_text if raw_text is not None else text,
            parse_mode=parse_mode,
            entities=list(entities or []),
            reply_markup=reply_markup,
            file_id=file_id,
            message_thread_id=thread_id,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            seq=self._next_seq(),
            raw=raw,
        )
        chat.messages[message_id] = msg
        chat.change_log.append((msg.seq, msg))
        if sender.is_bot and reply_markup is not None:
            if "keyboard" in reply_markup:
                chat.reply_keyboard = reply_markup
            elif "remove_keyboard" in reply_markup:
                chat.reply_keyboard = None
        self._emit(EmulatorEvent("message", chat.id, msg))
        return msg

    def _touch(self, chat: ChatState, msg: SentMessage) -> None:
        """Record an edit of ``msg``."""
        msg.edited = True
        msg.edit_count += 1
        msg.edit_date = int(time.time())
        msg.raw["edit_date"] = msg.edit_date
        msg.seq = self._next_seq()
        chat.change_log.append((msg.seq, msg))
        self._emit(EmulatorEvent("edited", chat.id, msg))

    def _queue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update_id = next(self._update_ids)
        update: dict[str, Any] = {"update_id": update_id, kind: payload}
        if kind in self.allowed_updates:
            self._updates.append((update_id, kind, update))
        else:
            self.dropped_updates.append(update)
        self._notify()
        return update

    def _user_message(
        self,
        user: EmulatedUser,
        content: dict[str, Any],
        kind: str,
        chat_id: int | None = None,
        text: str | None = None,
        caption: bool = False,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        file_id: str | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        chat = self._chat_for(user, chat_id)
        reply_to = chat.messages.get(reply_to_message_id) if reply_to_message_id else None
        if reply_to_message_id and reply_to is None:
            raise KeyError(f"message {reply_to_message_id} not found in chat {chat.id}")
        if message_thread_id is None and reply_to is not None and chat.is_forum:
            message_thread_id = reply_to.message_thread_id
        if entities is None and text:
            entities = detect_entities(text)
        msg = self._store_message(
            chat,
            user,
            content,
            kind=kind,
            text=text,
            entities=entities,
            caption=caption,
            thread_id=message_thread_id,
            reply_to=reply_to,
            file_id=file_id,
        )
        return self._queue("message", msg.raw)

    def user_sends_text(
        self,
        user: EmulatedUser,
        text: str,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a text message (commands, mentions and URLs get their entities)."""
        if not text.strip():
            raise ValueError("Telegram clients cannot send an empty message")
        return self._user_message(
            user,
            {},
            "text",
            chat_id,
            text=text,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )

    def create_file(
        self,
        kind: str,
        data: bytes,
        file_name: str | None = None,
        mime_type: str | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        """Store file content and give it a fresh file_id / file_unique_id / file_path."""
        n = next(self._file_counter)
        ext = (file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else None) or {
            "photo": "jpg" if data.startswith(b"\xff\xd8") else "png",
            "voice": "oga",
            "audio": "mp3",
            "video": "mp4",
            "sticker": "webp",
            "video_note": "mp4",
            "animation": "mp4",
        }.get(kind, "bin")
        stored = StoredFile(
            file_id=f"{_FILE_PREFIX.get(kind, 'BQAC')}AgAD{n}{secrets.token_urlsafe(30)}",
            file_unique_id=f"AQAD{n}{secrets.token_urlsafe(6)}",
            kind=kind,
            data=data,
            file_path=f"{_FILE_FOLDER.get(kind, 'documents')}/file_{n}.{ext}",
            file_name=file_name,
            mime_type=mime_type,
            duration=duration,
        )
        if kind == "photo":
            stored.width, stored.height = image_size(data)
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def file_content(stored: StoredFile) -> dict[str, Any]:
        """The message content fields (``photo``, ``document``...) describing ``stored``."""
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.kind == "photo":
            return {"photo": [{**base, "width": stored.width or 320, "height": stored.height or 240}]}
        if stored.mime_type:
            base["mime_type"] = stored.mime_type
        if stored.kind == "document":
            if stored.file_name:
                base["file_name"] = stored.file_name
            return {"document": base}
        if stored.kind in ("voice", "audio"):
            return {stored.kind: {**base, "duration": stored.duration or 1}}
        if stored.kind in ("video", "animation"):
            return {stored.kind: {**base, "width": 320, "height": 240, "duration": stored.duration or 1}}
        if stored.kind == "video_note":
            return {"video_note": {**base, "length": 240, "duration": stored.duration or 1}}
        if stored.kind == "sticker":
            base.pop("mime_type", None)
            return {
                "sticker": {
                    **base,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "👍",
                }
            }
        return {stored.kind: base}

    def user_sends_photo(
        self,
        user: EmulatedUser,
        caption: str | None = None,
        chat_id: int | None = None,
        content: bytes | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (a generated PNG unless ``content`` is given)."""
        stored = self.create_file("photo", content or sample_png(8, 6))
        return self._user_message(
            user,
            self.file_content(stored),
            "photo",
            chat_id,
            text=caption,
            caption=True,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
            file_id=stored.file_id,
        )

    def user_sends_document(
        self,
        user: EmulatedUser,
        filename: str = "document.pdf",
        content: bytes = b"%PDF-1.4\n%test\n",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file as a document."""
        stored = self.create_file("document", content, file_name=filename, mime_type=mime_type)
        return self._user_message(
            user,
            self.file_content(stored),
            "document",
            chat_id,
            text=caption,
            caption=True,
            message_thread_id=message_thread_id,
            file_id=stored.file_id,
        )

    def user_sends_voice(
        self, user: EmulatedUser, duration: int = 3, chat_id: int | None = None, caption: str | None = None
    ) -> dict[str, Any]:
        """The user records a voice note."""
        stored = self.create_file("voice", SAMPLE_VOICE, mime_type="audio/ogg", duration=duration)
        return self._user_message(
            user,
            self.file_content(stored),
            "voice",
            chat_id,
            text=caption,
            caption=True,
            file_id=stored.file_id,
        )

    def user_sends_video_note(
        self, user: EmulatedUser, duration: int = 5, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user records a round video note."""
        stored = self.create_file("video_note", SAMPLE_VIDEO, duration=duration)
        return self._user_message(
            user, self.file_content(stored), "video_note", chat_id, file_id=stored.file_id
        )

    def user_sends_sticker(self, user: EmulatedUser, chat_id: int | None = None) -> dict[str, Any]:
        """The user sends a sticker."""
        stored = self.create_file("sticker", SAMPLE_STICKER)
        return self._user_message(user, self.file_content(stored), "sticker", chat_id, file_id=stored.file_id)

    def user_sends_location(
        self,
        user: EmulatedUser,
        latitude: float = 21.0285,
        longitude: float = 105.8542,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The user shares a location (default: Hà Nội)."""
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._user_message(user, content, "location", chat_id)

    def user_sends_contact(
        self,
        user: EmulatedUser,
        phone_number: str,
        first_name: str | None = None,
        user_id: int | None = None,
        chat_id: int | None = None,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """The user shares a contact (by default their own, as the request_contact button does)."""
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
            "user_id": user.id if user_id is None else user_id,
        }
        if last_name or (first_name is None and user.last_name):
            contact["last_name"] = last_name or user.last_name
        if contact["user_id"] == 0:
            del contact["user_id"]
        return self._user_message(user, {"contact": contact}, "contact", chat_id)

    def _resolve_message(
        self, user: EmulatedUser, message: SentMessage | int, chat_id: int | None
    ) -> SentMessage:
        if isinstance(message, SentMessage):
            chat_id = message.chat_id
            message_id = message.message_id
        else:
            message_id = message
        chat = self.chats.get(user.id if chat_id is None else chat_id)
        found = chat.messages.get(message_id) if chat else None
        if found is None or found.deleted:
            raise KeyError(f"message {message_id} not found in chat {chat_id or user.id}")
        return found

    def user_presses(
        self,
        user: EmulatedUser,
        message: SentMessage | int,
        callback_data: str,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> dict[str, Any]:
        """The user presses an inline button; ``strict`` requires the button to exist (as Telegram does)."""
        msg = self._resolve_message(user, message, chat_id)
        if strict and all(b.callback_data != callback_data for b in msg.iter_buttons()):
            raise ValueError(
                f"message {msg.message_id} has no button with callback_data {callback_data!r}; "
                f"buttons: {[(b.text, b.callback_data) for b in msg.iter_buttons()]}"
            )
        query_id = str(next(self._callback_ids))
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": msg.raw,
            "chat_instance": str(abs(msg.chat_id) * 7919 + self.bot_user.id),
            "data": callback_data,
        }
        self.callback_queries[query_id] = {
            "user_id": user.id,
            "chat_id": msg.chat_id,
            "message_id": msg.message_id,
            "data": callback_data,
            "answered": False,
            "time": time.monotonic(),
        }
        return self._queue("callback_query", query)

    def user_edits_text(
        self, user: EmulatedUser, message_id: int, new_text: str, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user edits one of their own text messages."""
        msg = self._resolve_message(user, message_id, chat_id)
        if msg.from_bot or msg.sender_id != user.id:
            raise ValueError("users can only edit their own messages")
        msg.text = msg.raw_text = new_text
        msg.entities = detect_entities(new_text)
        msg.raw["text"] = new_text
        msg.raw.pop("entities", None)
        if msg.entities:
            msg.raw["entities"] = msg.entities
        self._touch(self.chats[msg.chat_id], msg)
        return self._queue("edited_message", msg.raw)

    # -- observation ---------------------------------------------------------------------------

    def messages(self, chat_id: int, include_deleted: bool = False) -> list[SentMessage]:
        """All messages of a chat in order (bot's and users'), edits applied."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if include_deleted or not m.deleted]

    def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[SentMessage]:
        """Messages the bot sent to a chat, in order."""
        return [m for m in self.messages(chat_id, include_deleted) if m.from_bot]

    def last_bot_message(self, chat_id: int) -> SentMessage | None:
        """The newest non-deleted bot message in a chat."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return None
        for msg in reversed(chat.messages.values()):
            if msg.from_bot and not msg.deleted:
                return msg
        return None

    def changes_since(self, chat_id: int, seq: int) -> list[SentMessage]:
        """Messages of a chat sent or edited after change counter ``seq`` (oldest first, no duplicates)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        found: dict[int, SentMessage] = {}
        for logged_seq, msg in reversed(chat.change_log):
            if logged_seq <= seq:
                break
            found.setdefault(msg.message_id, msg)
        return sorted(found.values(), key=lambda m: m.seq)

    def reply_keyboard(self, chat_id: int) -> list[list[dict[str, Any]]] | None:
        """The reply keyboard currently shown in a chat (rows of button dicts), if any."""
        chat = self.chats.get(chat_id)
        if chat is None or chat.reply_keyboard is None:
            return None
        return [
            [b if isinstance(b, dict) else {"text": b} for b in row]
            for row in chat.reply_keyboard["keyboard"]
        ]

    def commands(
        self, scope_type: str = "default", language_code: str = "", chat_id: int | None = None
    ) -> list[dict[str, str]]:
        """Commands set with setMyCommands for a scope and language."""
        return list(
            self._commands.get((self._scope_key({"type": scope_type, "chat_id": chat_id}), language_code), [])
        )

    @staticmethod
    def _scope_key(scope: dict[str, Any] | None) -> str:
        scope = scope or {"type": "default"}
        key = str(scope.get("type", "default"))
        if scope.get("chat_id") is not None:
            key += f":{scope['chat_id']}"
        if scope.get("user_id") is not None:
            key += f":{scope['user_id']}"
        return key

    @property
    def pending_update_count(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    def record_rejection(self, method: str, params: dict[str, Any], code: int, description: str) -> Rejection:
        """Remember an error returned to the bot."""
        rejection = Rejection(method, params, code, description, time.time())
        self.rejections.append(rejection)
        if code == 429:
            self.rate_limited.append(rejection)
        chat_id = params.get("chat_id")
        self._emit(
            EmulatorEvent("rejection", chat_id if isinstance(chat_id, int) else None, rejection=rejection)
        )
        return rejection
