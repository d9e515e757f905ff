"""Spec-driven parameter validation: coercion of basic types and checks of structured objects.

Every Bot API method goes through :func:`coerce_params`, which uses the field list from
``api.json``; structured parameters (keyboards, entities, commands, media) get the same checks
real Telegram performs, with the same error descriptions where they are known.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request
from .formatting import ENTITY_TYPES, is_valid_url
from .spec import ApiSpec, FieldSpec, MethodSpec

MAX_INLINE_BUTTONS = 100
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
MEDIA_TYPES = frozenset({"photo", "video", "animation", "audio", "document", "live_photo"})


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part received in a multipart/form-data request."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class FileRef:
    """A resolved InputFile parameter: either an upload or a file_id / URL string."""

    upload: UploadedFile | None = None
    ref: str | None = None


_MISSING_MESSAGES = {
    ("sendmessage", "text"): "message text is empty",
    ("editmessagetext", "text"): "message text is empty",
    (
        "answercallbackquery",
        "callback_query_id",
    ): "query is too old and response timeout expired or query ID is invalid",
}


def _missing(method: MethodSpec, f: FieldSpec) -> ApiError:
    special = _MISSING_MESSAGES.get((method.name.lower(), f.name))
    if special:
        return bad_request(special)
    if "InputFile" in f.types:
        return bad_request(f"there is no {f.name} in the request")
    return bad_request(f"{f.name} is empty")


def _type_error(name: str, expected: str) -> ApiError:
    return bad_request(f'field "{name}" must be of type {expected}')


def coerce_int(value: Any, name: str) -> int:
    """Coerce a form/JSON value to int or raise 400."""
    if isinstance(value, bool):
        raise _type_error(name, "Integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise _type_error(name, "Integer")


def coerce_bool(value: Any, name: str) -> bool:
    """Coerce a form/JSON value to bool or raise 400."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise _type_error(name, "Boolean")


def _coerce_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise _type_error(name, "Float")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _type_error(name, "Float")


def _coerce_str(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _type_error(name, "String")


def _parse_json(value: Any, name: str, label: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {label} JSON object") from None
    if isinstance(value, UploadedFile):
        raise _type_error(name, label)
    return value


_JSON_LABELS = {
    "reply_markup": "reply keyboard markup",
    "entities": "entities",
    "caption_entities": "entities",
    "commands": "commands",
    "media": "media",
}


def coerce_params(
    spec: ApiSpec, method: MethodSpec, raw: dict[str, Any], uploads: dict[str, UploadedFile]
) -> dict[str, Any]:
    """Validate ``raw`` against ``method``'s fields; return known params coerced to Python types."""
    result: dict[str, Any] = {}
    for f in method.fields:
        value = raw.get(f.name)
        if value is None and f.name in uploads:
            value = uploads[f.name]
        if value is None or (value == "" and f.types != ("String",)):
            if f.required:
                raise _missing(method, f)
            continue
        result[f.name] = _coerce_value(spec, method, f, value, uploads)
    return result


def _coerce_value(
    spec: ApiSpec, method: MethodSpec, f: FieldSpec, value: Any, uploads: dict[str, UploadedFile]
) -> Any:
    types = f.types
    name = f.name
    if types == ("Integer",):
        return coerce_int(value, name)
    if types == ("Boolean",):
        return coerce_bool(value, name)
    if types == ("Float",):
        return _coerce_float(value, name)
    if types == ("String",):
        return _coerce_str(value, name)
    if types == ("Integer", "String"):
        if isinstance(value, str) and not re.fullmatch(r"\s*-?\d+\s*", value):
            return value
        return coerce_int(value, name)
    if "InputFile" in types:
        return resolve_file(value, name, uploads, allow_ref="String" in types)
    parsed = _parse_json(value, name, _JSON_LABELS.get(name, name.replace("_", " ")))
    kind = " or ".join(types)
    if all(t.startswith("Array of") for t in types):
        if not isinstance(parsed, list):
            raise _type_error(name, kind)
        if types == ("Array of Integer",):
            return [coerce_int(v, name) for v in parsed]
        if types == ("Array of String",):
            return [_coerce_str(v, name) for v in parsed]
        if types == ("Array of MessageEntity",):
            return validate_entities(parsed)
        if types == ("Array of BotCommand",):
            return validate_commands(parsed)
        if name == "media" and any("InputMedia" in t for t in types):
            return validate_media_group(parsed, uploads)
        inner = types[0][len("Array of ") :]
        for item in parsed:
            validate_object(spec, inner, item, name)
        return parsed
    if not isinstance(parsed, dict):
        raise _type_error(name, kind)
    if "InlineKeyboardMarkup" in types:
        return validate_reply_markup(parsed, inline_only=types == ("InlineKeyboardMarkup",))
    if types == ("BotCommandScope",):
        return validate_scope(parsed)
    if types == ("ReplyParameters",):
        if "message_id" not in parsed:
            raise bad_request("can't parse reply parameters JSON object")
        parsed["message_id"] = coerce_int(parsed["message_id"], "message_id")
        return parsed
    if types == ("InputMedia",):
        return validate_media_group([parsed], uploads, single=True)[0]
    validate_object(spec, types[0], parsed, name)
    return parsed


def resolve_file(value: Any, name: str, uploads: dict[str, UploadedFile], allow_ref: bool = True) -> FileRef:
    """Turn an InputFile parameter (upload, ``attach://x``, file_id or URL) into a :class:`FileRef`."""
    if isinstance(value, UploadedFile):
        return FileRef(upload=value)
    if not isinstance(value, str):
        raise _type_error(name, "InputFile or String")
    if value.startswith("attach://"):
        part = uploads.get(value[len("attach://") :])
        if part is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return FileRef(upload=part)
    if not allow_ref:
        raise bad_request(f"there is no {name} in the request")
    return FileRef(ref=value.strip())


def validate_object(spec: ApiSpec, type_name: str, value: Any, path: str, depth: int = 0) -> None:
    """Generic structural check of a JSON object against the spec's type fields (required + basic types)."""
    fields = spec.types.get(type_name)
    if not fields or depth > 4:
        return  # unions and opaque types are not checked generically
    if not isinstance(value, dict):
        raise bad_request(f"can't parse {path}: expected an object of type {type_name}")
    for f in fields:
        if f.name not in value:
            if f.required:
                raise bad_request(f"can't parse {path}: Can't find field \"{f.name}\"")
            continue
        v = value[f.name]
        t = f.types
        if t == ("String",) and not isinstance(v, str):
            raise bad_request(f'can\'t parse {path}: Field "{f.name}" must be of type String')
        if t == ("Integer",) and (isinstance(v, bool) or not isinstance(v, int)):
            raise bad_request(f'can\'t parse {path}: Field "{f.name}" must be of type Integer')
        if t == ("Boolean",) and not isinstance(v, bool):
            raise bad_request(f'can\'t parse {path}: Field "{f.name}" must be of type Boolean')
        if len(t) == 1 and t[0] in spec.types:
            validate_object(spec, t[0], v, path, depth + 1)


def validate_entities(value: list[Any]) -> list[dict[str, Any]]:
    """Check an array of MessageEntity objects."""
    out: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("can't parse entities JSON object")
        kind = item.get("type")
        if kind not in ENTITY_TYPES:
            raise bad_request(f'can\'t parse entities: Unsupported entity type "{kind}"')
        offset = coerce_int(item.get("offset"), "offset")
        length = coerce_int(item.get("length"), "length")
        if offset < 0 or length < 0:
            raise bad_request("can't parse entities: entity offset and length must be non-negative")
        if kind == "text_link" and not is_valid_url(str(item.get("url", ""))):
            raise bad_request("can't parse entities: Wrong URL in text_link entity")
        if kind == "text_mention" and not isinstance(item.get("user"), dict):
            raise bad_request("can't parse entities: Can't find field \"user\"")
        if kind == "custom_emoji" and not item.get("custom_emoji_id"):
            raise bad_request("can't parse entities: Can't find field \"custom_emoji_id\"")
        out.append({**item, "offset": offset, "length": length})
    return out


def validate_reply_markup(value: dict[str, Any], inline_only: bool = False) -> dict[str, Any]:
    """Check InlineKeyboardMarkup / ReplyKeyboardMarkup / ReplyKeyboardRemove / ForceReply."""
    if "inline_keyboard" in value:
        return validate_inline_keyboard(value)
    if inline_only:
        raise bad_request("can't parse inline keyboard markup JSON object")
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                text = (
                    button
                    if isinstance(button, str)
                    else button.get("text")
                    if isinstance(button, dict)
                    else None
                )
                if not isinstance(text, str):
                    raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
                if not text.strip():
                    raise bad_request("keyboard button text must be non-empty")
        return value
    if "remove_keyboard" in value:
        if value["remove_keyboard"] is not True:
            raise bad_request('field "remove_keyboard" of the ReplyKeyboardRemove must be equal to True')
        return value
    if "force_reply" in value:
        if value["force_reply"] is not True:
            raise bad_request('field "force_reply" of the ForceReply must be equal to True')
        return value
    raise bad_request("can't parse reply keyboard markup JSON object")


def validate_inline_keyboard(value: dict[str, Any]) -> dict[str, Any]:
    """Check an InlineKeyboardMarkup: button text, exactly one action, callback_data bytes, URLs."""
    rows = value.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict):
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            if "text" not in button:
                raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
            if not isinstance(button["text"], str):
                raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
            actions = [a for a in INLINE_ACTIONS if a in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    f"can't parse inline keyboard button: only one of {', '.join(actions)} can be specified"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not is_valid_url(url):
                    raise bad_request("BUTTON_URL_INVALID")
            if not button["text"].strip():
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if count > MAX_INLINE_BUTTONS:
        raise bad_request("BUTTONS_TOO_MUCH")
    return value


def validate_commands(value: list[Any]) -> list[dict[str, str]]:
    """Check a setMyCommands ``commands`` array."""
    if len(value) > 100:
        raise bad_request("too many commands specified")
    out: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("command"), str):
            raise bad_request('can\'t parse BotCommand: Field "command" must be of type String')
        command = item["command"].removeprefix("/")
        if not COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        description = item.get("description")
        if not isinstance(description, str) or not len(description.strip()) >= 1 or len(description) > 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        out.append({"command": command, "description": description})
    return out


def validate_scope(value: dict[str, Any]) -> dict[str, Any]:
    """Check a BotCommandScope object."""
    kind = value.get("type")
    if kind not in SCOPE_TYPES:
        raise bad_request("can't parse BotCommandScope: unsupported type")
    if kind in ("chat", "chat_administrators", "chat_member") and "chat_id" not in value:
        raise bad_request("can't parse BotCommandScope: Can't find field \"chat_id\"")
    if kind == "chat_member" and "user_id" not in value:
        raise bad_request("can't parse BotCommandScope: Can't find field \"user_id\"")
    return value


def validate_media_group(
    value: list[Any], uploads: dict[str, UploadedFile], single: bool = False
) -> list[dict[str, Any]]:
    """Check InputMedia items; ``media`` is resolved into a :class:`FileRef` under key ``file``."""
    out: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("can't parse InputMedia: media must be an Object")
        kind = item.get("type")
        if kind not in MEDIA_TYPES:
            raise bad_request("can't parse InputMedia: unsupported media type")
        if "media" not in item:
            raise bad_request("can't parse InputMedia: Can't find field \"media\"")
        ref = resolve_file(item["media"], "media", uploads)
        if "caption_entities" in item:
            item = {**item, "caption_entities": validate_entities(item["caption_entities"])}
        out.append({**item, "file": ref})
    if not single and not 2 <= len(out) <= 10:
        raise bad_request("wrong number of media in the album: must include 2-10 items")
    return out
