"""Implementations of Bot API methods with real Telegram semantics.

Each ``api_<lowercased method name>`` receives the parameters already coerced by
:mod:`emulator.validation` and returns the ``result`` value, or raises :class:`ApiError`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import Any

from .errors import ApiError, bad_request, forbidden
from .formatting import check_markdown_v2, parse_html, trim_formatted, utf16_len
from .media import is_image
from .models import ChatState, EmulatorEvent, ForumTopic, SentMessage, StoredFile
from .state import DEFAULT_ALLOWED_UPDATES, EmulatorState
from .validation import FileRef

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
_KIND_TITLE = {
    "photo": "Photo",
    "document": "Document",
    "voice": "Voice",
    "audio": "Audio",
    "video": "Video",
    "sticker": "Sticker",
    "video_note": "VideoNote",
    "animation": "Animation",
}
_MAX_DOWNLOAD = 20 * 1024 * 1024


class PollConflict(ApiError):
    """409 returned to a long poll superseded by a newer getUpdates."""


class BotMethods(EmulatorState):
    """The Bot API surface of the emulator (mixed into :class:`emulator.BotApiEmulator`)."""

    _closing = False
    _poll_generation = 0

    # -- helpers -------------------------------------------------------------------------------

    def format_text(
        self, text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None, caption: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        """Apply parse_mode / entities, trim, and enforce the length limit; returns (plain, entities)."""
        mode = (parse_mode or "").lower()
        if mode == "html":
            plain, found = parse_html(text)
        elif mode == "markdownv2":
            check_markdown_v2(text)
            plain, found = text, []
        elif mode in ("markdown", ""):
            plain, found = text, list(entities or [])
        else:
            raise bad_request("unsupported parse_mode")
        plain, found = trim_formatted(plain, found)
        limit = CAPTION_LIMIT if caption else MESSAGE_LIMIT
        if not caption and not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return plain, found

    def chat_for_bot(self, chat_id: Any, sending: bool = True) -> ChatState:
        """Resolve ``chat_id`` (id or @username) to a chat the bot may use; 400/403 otherwise."""
        chat: ChatState | None = None
        if isinstance(chat_id, int):
            chat = self.chats.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            chat = next((c for c in self.chats.values() if c.username and c.username.lower() == name), None)
        if chat is None or not chat.known_to_bot:
            raise bad_request("chat not found")
        if sending:
            if chat.type == "private":
                if chat.id in self.deactivated:
                    raise forbidden("user is deactivated")
                if chat.id in self.blocked_by:
                    raise forbidden("bot was blocked by the user")
            elif chat.bot_status == "kicked":
                raise forbidden(f"bot was kicked from the {chat.type} chat")
            elif chat.bot_status == "left":
                raise forbidden(f"bot is not a member of the {chat.type} chat")
        return chat

    def _thread(self, chat: ChatState, p: dict[str, Any]) -> int | None:
        thread_id: int | None = p.get("message_thread_id")
        if thread_id is None:
            return None
        if chat.is_forum:
            if thread_id == 1:
                return None  # the General topic
            topic = chat.topics.get(thread_id)
            if topic is None:
                raise bad_request("message thread not found")
            if topic.closed and chat.bot_status != "administrator":
                raise bad_request("TOPIC_CLOSED")
            return thread_id
        if thread_id not in chat.messages:
            raise bad_request("message thread not found")
        return thread_id

    def _reply_to(self, chat: ChatState, p: dict[str, Any]) -> SentMessage | None:
        params = p.get("reply_parameters")
        if not params:
            return None
        target_chat = chat
        if params.get("chat_id") not in (None, chat.id):
            target_chat = self.chat_for_bot(params["chat_id"], sending=False)
        msg = target_chat.messages.get(params["message_id"])
        if msg is None or msg.deleted:
            if params.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return msg

    def _message(self, chat: ChatState, message_id: int, action: str) -> SentMessage:
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise bad_request(f"message to {action} not found")
        return msg

    def _send(
        self,
        p: dict[str, Any],
        content: dict[str, Any],
        kind: str,
        text: str | None = None,
        caption: bool = False,
        file_id: str | None = None,
    ) -> SentMessage:
        chat = self.chat_for_bot(p["chat_id"])
        thread_id = self._thread(chat, p)
        reply_to = self._reply_to(chat, p)
        plain: str | None = None
        entities: list[dict[str, Any]] = []
        if text is not None:
            entity_param = p.get("caption_entities" if caption else "entities")
            plain, entities = self.format_text(text, p.get("parse_mode"), entity_param, caption)
            if caption and not plain:
                plain = None
        markup = p.get("reply_markup")
        if markup and "keyboard" in markup and chat.type == "private":
            for row in markup["keyboard"]:
                for button in row:
                    if isinstance(button, dict) and button.get("request_users") and chat.type != "private":
                        raise bad_request("BUTTON_TYPE_INVALID")
        msg = self._store_message(
            chat,
            self.bot_user,
            content,
            kind=kind,
            text=plain,
            raw_text=text,
            entities=entities,
            parse_mode=p.get("parse_mode"),
            caption=caption,
            reply_markup=markup,
            thread_id=thread_id,
            reply_to=reply_to,
            file_id=file_id,
        )
        if p.get("protect_content"):
            msg.raw["has_protected_content"] = True
        return msg

    def _file(self, ref: FileRef, kind: str) -> StoredFile:
        if ref.upload is not None:
            data = ref.upload.data
            if not data:
                raise bad_request("file must be non-empty")
            if kind == "photo" and not is_image(data):
                raise bad_request("IMAGE_PROCESS_FAILED")
            mime = ref.upload.content_type if ref.upload.content_type != "application/octet-stream" else None
            return self.create_file(kind, data, file_name=ref.upload.filename or None, mime_type=mime)
        value = ref.ref or ""
        if value.startswith(("http://", "https://")):
            return self.create_file(kind, b"", file_name=value.rsplit("/", 1)[-1] or None)
        stored = self.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(
                f"can't use file of type {_KIND_TITLE.get(stored.kind, stored.kind)} as "
                f"{_KIND_TITLE.get(kind, kind)}"
            )
        return stored

    def _send_media(self, p: dict[str, Any], kind: str) -> dict[str, Any]:
        chat = self.chat_for_bot(p["chat_id"])  # fail on the chat before storing the file
        del chat
        stored = self._file(p[kind], kind)
        if p.get("duration") is not None:
            stored.duration = p["duration"]
        content = self.file_content(stored)
        return self._send(p, content, kind, text=p.get("caption"), caption=True, file_id=stored.file_id).raw

    # -- getUpdates & webhook ------------------------------------------------------------------

    async def api_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling with Telegram's offset/limit/timeout/allowed_updates semantics."""
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        if "allowed_updates" in p:
            allowed = frozenset(p["allowed_updates"])
            self.allowed_updates = allowed or DEFAULT_ALLOWED_UPDATES
        offset = p.get("offset", 0)
        if offset > 0:
            while self._updates and self._updates[0][0] < offset:
                self._updates.popleft()
            self.confirmed_offset = max(self.confirmed_offset, offset)
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        if any(kind not in self.allowed_updates for _, kind, _ in self._updates):
            self._updates = type(self._updates)(u for u in self._updates if u[1] in self.allowed_updates)
        limit = min(max(p.get("limit", 100), 1), 100)
        deadline = time.monotonic() + max(0, p.get("timeout", 0))
        while not self._updates and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                break
            if generation != self._poll_generation:
                raise PollConflict(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
        return [u for _, _, u in list(self._updates)[:limit]]

    def api_setwebhook(self, p: dict[str, Any]) -> bool:
        """Store the webhook and start delivering updates to it: one at a time, in order, with the
        ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set; an update is retried (with a
        growing pause) until the endpoint answers 2xx, like Telegram does."""
        url = p["url"]
        if (
            url
            and not url.startswith("https://")
            and not (self.allow_http_webhook and url.startswith("http://"))
        ):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        if "allowed_updates" in p:
            allowed = frozenset(p["allowed_updates"])
            self.allowed_updates = allowed or DEFAULT_ALLOWED_UPDATES
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret else None
        self._notify()
        if url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.ensure_future(self._deliver_to_webhook())
        return True

    def api_deletewebhook(self, p: dict[str, Any]) -> bool:
        """Remove the webhook, optionally dropping pending updates."""
        self.webhook_url = ""
        self.webhook_secret = None
        self._notify()
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _deliver_to_webhook(self) -> None:
        """POST queued updates to the webhook while it is set (see ``api_setwebhook``)."""
        import aiohttp

        pause = self.webhook_retry_first
        async with aiohttp.ClientSession() as session:
            while self.webhook_url and not self._closing:
                if not self._updates:
                    event = self._event
                    await event.wait()
                    continue
                update_id, kind, update = self._updates[0]
                if kind not in self.allowed_updates:
                    self._updates.popleft()
                    continue
                headers = (
                    {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
                )
                try:
                    async with session.post(
                        self.webhook_url,
                        json=update,
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    ) as response:
                        status = response.status
                except (aiohttp.ClientError, TimeoutError, OSError):
                    status = 0  # no answer: Telegram tries again
                self.webhook_deliveries.append((update_id, status))
                if 200 <= status < 300:
                    if self._updates and self._updates[0][0] == update_id:
                        self._updates.popleft()
                    self.confirmed_offset = max(self.confirmed_offset, update_id + 1)
                    pause = self.webhook_retry_first
                    continue
                self.webhook_last_error = f"{status or 'no answer'} for update {update_id}"
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.webhook_retry_cap)

    def api_getwebhookinfo(self, p: dict[str, Any]) -> dict[str, Any]:
        """WebhookInfo."""
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            **({"last_error_message": self.webhook_last_error} if self.webhook_last_error else {}),
        }

    def api_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        """The bot's User object."""
        return {
            **self.bot_user.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def api_logout(self, p: dict[str, Any]) -> bool:
        """Accept logOut."""
        return True

    def api_close(self, p: dict[str, Any]) -> bool:
        """Accept close."""
        return True

    # -- commands & bot profile ----------------------------------------------------------------

    @staticmethod
    def _lang(p: dict[str, Any]) -> str:
        lang = p.get("language_code", "") or ""
        if lang and (len(lang) != 2 or not lang.isalpha()):
            raise bad_request("invalid language code specified")
        return str(lang).lower()

    def api_setmycommands(self, p: dict[str, Any]) -> bool:
        """Store commands per scope and language."""
        key = (self._scope_key(p.get("scope")), self._lang(p))
        if p["commands"]:
            self._commands[key] = p["commands"]
        else:
            self._commands.pop(key, None)
        return True

    def api_getmycommands(self, p: dict[str, Any]) -> list[dict[str, str]]:
        """Commands stored for a scope and language."""
        return list(self._commands.get((self._scope_key(p.get("scope")), self._lang(p)), []))

    def api_deletemycommands(self, p: dict[str, Any]) -> bool:
        """Delete commands of a scope and language."""
        self._commands.pop((self._scope_key(p.get("scope")), self._lang(p)), None)
        return True

    def _set_setting(self, name: str, p: dict[str, Any], limit: int) -> bool:
        value = p.get(name, "") or ""
        if utf16_len(value) > limit:
            raise bad_request(f"{name.upper()}_INVALID" if name != "name" else "BOT_TITLE_INVALID")
        self.bot_settings[(name, self._lang(p))] = value
        return True

    def api_setmydescription(self, p: dict[str, Any]) -> bool:
        """Store the bot description (≤ 512)."""
        return self._set_setting("description", p, 512)

    def api_setmyshortdescription(self, p: dict[str, Any]) -> bool:
        """Store the bot short description (≤ 120)."""
        return self._set_setting("short_description", p, 120)

    def api_setmyname(self, p: dict[str, Any]) -> bool:
        """Store the bot name (≤ 64)."""
        return self._set_setting("name", p, 64)

    def api_getmydescription(self, p: dict[str, Any]) -> dict[str, str]:
        """BotDescription."""
        return {"description": self.bot_settings.get(("description", self._lang(p)), "")}

    def api_getmyshortdescription(self, p: dict[str, Any]) -> dict[str, str]:
        """BotShortDescription."""
        return {"short_description": self.bot_settings.get(("short_description", self._lang(p)), "")}

    def api_getmyname(self, p: dict[str, Any]) -> dict[str, str]:
        """BotName."""
        return {"name": self.bot_settings.get(("name", self._lang(p)), self.bot_user.first_name)}

    def api_setchatmenubutton(self, p: dict[str, Any]) -> bool:
        """Store the menu button for a private chat or as the default."""
        button = p.get("menu_button") or {"type": "default"}
        if button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button: unsupported type")
        if "chat_id" in p:
            self.chat_for_bot(p["chat_id"], sending=False).menu_button = button
        else:
            self.default_menu_button = button
        return True

    def api_getchatmenubutton(self, p: dict[str, Any]) -> dict[str, Any]:
        """The stored menu button."""
        if "chat_id" in p:
            chat = self.chat_for_bot(p["chat_id"], sending=False)
            return chat.menu_button or self.default_menu_button
        return self.default_menu_button

    # -- sending -------------------------------------------------------------------------------

    def api_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendMessage."""
        return self._send(p, {}, "text", text=p["text"]).raw

    def api_sendphoto(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendPhoto."""
        return self._send_media(p, "photo")

    def api_senddocument(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendDocument."""
        return self._send_media(p, "document")

    def api_sendvoice(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendVoice."""
        return self._send_media(p, "voice")

    def api_sendaudio(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendAudio."""
        return self._send_media(p, "audio")

    def api_sendvideo(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendVideo."""
        return self._send_media(p, "video")

    def api_sendanimation(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendAnimation."""
        return self._send_media(p, "animation")

    def api_sendsticker(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendSticker (no caption)."""
        p.pop("caption", None)
        return self._send_media(p, "sticker")

    def api_sendvideonote(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendVideoNote."""
        p.pop("caption", None)
        return self._send_media(p, "video_note")

    def api_sendlocation(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendLocation."""
        lat, lon = p["latitude"], p["longitude"]
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise bad_request("wrong latitude/longitude specified")
        return self._send(p, {"location": {"latitude": lat, "longitude": lon}}, "location").raw

    def api_sendcontact(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendContact."""
        contact = {k: p[k] for k in ("phone_number", "first_name", "last_name", "vcard") if p.get(k)}
        return self._send(p, {"contact": contact}, "contact").raw

    def api_sendmediagroup(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """sendMediaGroup: 2–10 items; documents and audio cannot be mixed with other types."""
        items = p["media"]
        kinds = {item["type"] for item in items}
        if ("document" in kinds or "audio" in kinds) and len(kinds) > 1:
            raise bad_request(
                "MEDIA_INVALID: documents and audio can't be mixed with other media in an album"
            )
        self.chat_for_bot(p["chat_id"])
        group_id = str(secrets.randbelow(10**18))
        result = []
        for item in items:
            stored = self._file(item["file"], item["type"])
            sub = {
                **p,
                "parse_mode": item.get("parse_mode"),
                "caption_entities": item.get("caption_entities"),
            }
            msg = self._send(
                sub,
                self.file_content(stored),
                item["type"],
                text=item.get("caption"),
                caption=True,
                file_id=stored.file_id,
            )
            msg.raw["media_group_id"] = group_id
            result.append(msg.raw)
        return result

    def api_sendchataction(self, p: dict[str, Any]) -> bool:
        """sendChatAction: records (chat_id, action)."""
        chat = self.chat_for_bot(p["chat_id"])
        if p["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append((chat.id, p["action"]))
        return True

    def _source(self, p: dict[str, Any], action: str) -> SentMessage:
        source_chat = self.chat_for_bot(p["from_chat_id"], sending=False)
        msg = source_chat.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request(f"message to {action} not found")
        if msg.raw.get("has_protected_content"):
            raise bad_request("message has protected content and can't be forwarded")
        return msg

    def _content_of(self, msg: SentMessage) -> dict[str, Any]:
        skip = {
            "message_id",
            "from",
            "chat",
            "date",
            "text",
            "entities",
            "caption",
            "caption_entities",
            "reply_markup",
            "edit_date",
            "reply_to_message",
            "message_thread_id",
            "is_topic_message",
            "forward_origin",
            "media_group_id",
            "has_protected_content",
        }
        return {k: v for k, v in msg.raw.items() if k not in skip}

    def api_copymessage(self, p: dict[str, Any]) -> dict[str, int]:
        """copyMessage: same content, no link to the original sender; returns MessageId."""
        src = self._source(p, "copy")
        caption = src.kind != "text"
        if caption and "caption" in p:
            text: str | None = p["caption"]
            sub = {**p}
        else:
            text = src.text
            sub = {**p, "parse_mode": None, "entities" if not caption else "caption_entities": src.entities}
        if src.kind in ("sticker", "video_note", "location", "contact"):
            text = None
        msg = self._send(
            sub, self._content_of(src), src.kind, text=text, caption=caption, file_id=src.file_id
        )
        return {"message_id": msg.message_id}

    def api_forwardmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        """forwardMessage: the copy carries ``forward_origin`` naming the original sender."""
        src = self._source(p, "forward")
        caption = src.kind != "text"
        sender = self.users.get(src.sender_id) if not src.from_bot else self.bot_user
        origin: dict[str, Any]
        if src.raw.get("forward_origin"):
            origin = src.raw["forward_origin"]
        elif sender is not None and sender.hide_forwards and not sender.is_bot:
            origin = {"type": "hidden_user", "date": src.date, "sender_user_name": sender.full_name}
        else:
            origin = {"type": "user", "date": src.date, "sender_user": (sender or self.bot_user).to_dict()}
        sub = {**p, "parse_mode": None, "caption_entities" if caption else "entities": src.entities}
        msg = self._send(
            sub, self._content_of(src), src.kind, text=src.text, caption=caption, file_id=src.file_id
        )
        msg.raw["forward_origin"] = origin
        msg.raw["forward_date"] = src.date
        if src.reply_markup and "inline_keyboard" in src.reply_markup:
            pass  # forwarded messages keep only URL buttons in Telegram; keep it simple: none
        return msg.raw

    # -- editing & deleting --------------------------------------------------------------------

    def _edit_target(self, p: dict[str, Any]) -> tuple[ChatState, SentMessage]:
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        if "chat_id" not in p:
            raise bad_request("chat_id is empty")
        if "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        msg = self._message(chat, p["message_id"], "edit")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(
        self,
        chat: ChatState,
        msg: SentMessage,
        text: str | None,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        raw_text: str | None,
        parse_mode: str | None,
        caption: bool,
    ) -> dict[str, Any]:
        old_markup = msg.reply_markup if msg.reply_markup and "inline_keyboard" in msg.reply_markup else None
        if text == msg.text and entities == msg.entities and markup == old_markup:
            raise bad_request(NOT_MODIFIED)
        msg.text, msg.entities, msg.raw_text, msg.parse_mode = text, entities, raw_text, parse_mode
        key, ekey = ("caption", "caption_entities") if caption else ("text", "entities")
        msg.raw.pop(key, None)
        msg.raw.pop(ekey, None)
        if text is not None:
            msg.raw[key] = text
            if entities:
                msg.raw[ekey] = entities
        msg.reply_markup = markup
        msg.raw.pop("reply_markup", None)
        if markup:
            msg.raw["reply_markup"] = markup
        self._touch(chat, msg)
        return msg.raw

    def api_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any]:
        """editMessageText (omitting reply_markup removes the inline keyboard, as in Telegram)."""
        chat, msg = self._edit_target(p)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        plain, entities = self.format_text(p["text"], p.get("parse_mode"), p.get("entities"))
        return self._apply_edit(
            chat, msg, plain, entities, p.get("reply_markup"), p["text"], p.get("parse_mode"), False
        )

    def api_editmessagecaption(self, p: dict[str, Any]) -> dict[str, Any]:
        """editMessageCaption."""
        chat, msg = self._edit_target(p)
        if msg.kind in ("text", "location", "contact", "sticker", "video_note"):
            raise bad_request("there is no caption in the message to edit")
        raw = p.get("caption")
        plain: str | None = None
        entities: list[dict[str, Any]] = []
        if raw:
            plain, entities = self.format_text(
                raw, p.get("parse_mode"), p.get("caption_entities"), caption=True
            )
        return self._apply_edit(
            chat, msg, plain or None, entities, p.get("reply_markup"), raw, p.get("parse_mode"), True
        )

    def api_editmessagereplymarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        """editMessageReplyMarkup."""
        chat, msg = self._edit_target(p)
        return self._apply_edit(
            chat,
            msg,
            msg.text,
            msg.entities,
            p.get("reply_markup"),
            msg.raw_text,
            msg.parse_mode,
            msg.kind != "text",
        )

    def api_deletemessage(self, p: dict[str, Any]) -> bool:
        """deleteMessage."""
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        msg = self._message(chat, p["message_id"], "delete")
        if chat.type != "private" and not msg.from_bot and chat.bot_status != "administrator":
            raise bad_request("message can't be deleted")
        self._mark_deleted(msg)
        return True

    def api_deletemessages(self, p: dict[str, Any]) -> bool:
        """deleteMessages: 1–100 ids; missing ones are skipped."""
        ids = p["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("too many messages to delete" if ids else "message_ids is empty")
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        for message_id in ids:
            msg = chat.messages.get(message_id)
            if msg is not None:
                self._mark_deleted(msg)
        return True

    def api_answercallbackquery(self, p: dict[str, Any]) -> bool:
        """answerCallbackQuery: each query can be answered once."""
        query_id = p["callback_query_id"]
        query = self.callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = p.get("text")
        if text is not None and utf16_len(text) > CALLBACK_TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        if p.get("url") and not str(p["url"]).startswith(("t.me/", "https://t.me/", "tg://")):
            raise bad_request("URL_INVALID")
        query["answered"] = True
        self.callback_answers[query_id] = {
            "text": text,
            "show_alert": bool(p.get("show_alert", False)),
            "url": p.get("url"),
            "cache_time": p.get("cache_time", 0),
            "user_id": query["user_id"],
        }
        self._emit(
            EmulatorEvent(
                "callback_answer",
                query["chat_id"],
                data={"query_id": query_id, **self.callback_answers[query_id]},
            )
        )
        return True

    # -- files ---------------------------------------------------------------------------------

    def api_getfile(self, p: dict[str, Any]) -> dict[str, Any]:
        """getFile: file_path for the download endpoint."""
        stored = self.files.get(p["file_id"])
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.file_size > _MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    # -- chats & members -----------------------------------------------------------------------

    def api_getchat(self, p: dict[str, Any]) -> dict[str, Any]:
        """getChat: ChatFullInfo."""
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        info = {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.type == "private" and chat.user and chat.user.language_code:
            info.setdefault("bio", "")
        return info

    def _member(self, chat: ChatState, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_user.id:
            status = chat.bot_status if chat.type != "private" else "member"
            user = self.bot_user.to_dict()
        else:
            known = self.users.get(user_id)
            if known is None:
                raise bad_request("user not found")
            user = known.to_dict()
            status = (
                "member"
                if chat.type == "private" and user_id == chat.id
                else chat.members.get(user_id, "left")
            )
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            rights = dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                    "can_manage_topics",
                ),
                True,
            )
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": user_id == self.bot_user.id,
                "is_anonymous": False,
                "can_promote_members": False,
                **rights,
            }
        return {"status": status, "user": user}

    def api_getchatmember(self, p: dict[str, Any]) -> dict[str, Any]:
        """getChatMember."""
        return self._member(self.chat_for_bot(p["chat_id"], sending=False), p["user_id"])

    def api_getchatadministrators(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """getChatAdministrators (creator, admins, and the bot if it is one)."""
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = [uid for uid, status in chat.members.items() if status in ("creator", "administrator")]
        if chat.bot_status == "administrator":
            ids.append(self.bot_user.id)
        return [self._member(chat, uid) for uid in ids]

    def api_getchatmembercount(self, p: dict[str, Any]) -> int:
        """getChatMemberCount."""
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        if chat.type == "private":
            return 2
        return 1 + sum(1 for s in chat.members.values() if s not in ("left", "kicked"))

    def api_createchatinvitelink(self, p: dict[str, Any]) -> dict[str, Any]:
        """createChatInviteLink (the bot must be an administrator)."""
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        if chat.type == "private" or chat.bot_status != "administrator":
            raise bad_request("not enough rights to manage chat invite link")
        link: dict[str, Any] = {
            "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
            "creator": self.bot_user.to_dict(),
            "creates_join_request": bool(p.get("creates_join_request", False)),
            "is_primary": False,
            "is_revoked": False,
        }
        for key in ("name", "expire_date", "member_limit"):
            if key in p:
                link[key] = p[key]
        return link

    def api_leavechat(self, p: dict[str, Any]) -> bool:
        """leaveChat."""
        chat = self.chat_for_bot(p["chat_id"], sending=False)
        chat.bot_status = "left"
        return True

    def api_pinchatmessage(self, p: dict[str, Any]) -> bool:
        """pinChatMessage."""
        chat = self.chat_for_bot(p["chat_id"])
        self._message(chat, p["message_id"], "pin")
        return True

    # -- forum topics --------------------------------------------------------------------------

    def _forum(self, p: dict[str, Any]) -> ChatState:
        chat = self.chat_for_bot(p["chat_id"])
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if chat.bot_status != "administrator":
            raise bad_request("not enough rights to create a topic")
        return chat

    def _topic(self, chat: ChatState, p: dict[str, Any]) -> ForumTopic:
        topic = chat.topics.get(p["message_thread_id"])
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def api_createforumtopic(self, p: dict[str, Any]) -> dict[str, Any]:
        """createForumTopic: the topic id is the id of its service message."""
        chat = self._forum(p)
        name = p["name"]
        if not 1 <= utf16_len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        topic_id = chat.next_message_id
        topic = ForumTopic(topic_id, name, p.get("icon_color", 7322096), p.get("icon_custom_emoji_id"))
        created = {"name": name, "icon_color": topic.icon_color}
        self._store_message(
            chat,
            self.bot_user,
            {"forum_topic_created": created},
            kind="forum_topic_created",
            thread_id=topic_id,
        )
        chat.topics[topic_id] = topic
        return topic.to_dict()

    def api_editforumtopic(self, p: dict[str, Any]) -> bool:
        """editForumTopic."""
        chat = self._forum(p)
        topic = self._topic(chat, p)
        if "name" in p:
            topic.name = p["name"]
        if "icon_custom_emoji_id" in p:
            topic.icon_custom_emoji_id = p["icon_custom_emoji_id"] or None
        return True

    def api_closeforumtopic(self, p: dict[str, Any]) -> bool:
        """closeForumTopic."""
        topic = self._topic(self._forum(p), p)
        if topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = True
        return True

    def api_reopenforumtopic(self, p: dict[str, Any]) -> bool:
        """reopenForumTopic."""
        topic = self._topic(self._forum(p), p)
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    def api_deleteforumtopic(self, p: dict[str, Any]) -> bool:
        """deleteForumTopic: removes the topic and marks its messages deleted."""
        chat = self._forum(p)
        topic = self._topic(chat, p)
        del chat.topics[topic.message_thread_id]
        for msg in chat.messages.values():
            if msg.message_thread_id == topic.message_thread_id:
                self._mark_deleted(msg)
        return True
