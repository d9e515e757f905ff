"""Text formatting as Telegram does it: UTF-16 lengths, the HTML parse mode and entity helpers.

The HTML parser follows tdlib's ``parse_html`` closely, including its error messages, so a bot
that produces malformed markup is rejected here exactly as it would be in production.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request

Entity = dict[str, Any]

HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold", "italic",
        "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote", "code", "pre",
        "text_link", "text_mention", "custom_emoji", "date_time",
    }
)  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_URL_RE = re.compile(r"^(https?://|tg://)[^\s]+$", re.IGNORECASE)
_BARE_URL_RE = re.compile(r"^([a-z0-9-]+\.)+[a-z]{2,}(/\S*)?$", re.IGNORECASE)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts limits and offsets in."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_slice(text: str, offset: int, length: int) -> str:
    """Return the substring addressed by a UTF-16 ``offset``/``length`` pair."""
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def is_valid_url(url: str) -> bool:
    """Whether Telegram would accept ``url`` for a link or URL button (http, https, tg)."""
    return bool(_URL_RE.match(url)) or bool(_BARE_URL_RE.match(url))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode an HTML character reference starting at ``text[pos] == '&'``; None if not one."""
    end = text.find(";", pos + 1, pos + 12)
    if end == -1:
        return None
    body = text[pos + 1 : end]
    if body in _NAMED:
        return _NAMED[body], end + 1 - pos
    if body.startswith("#"):
        try:
            code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:], 10)
        except ValueError:
            return None
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1 - pos
    return None


class _Open:
    __slots__ = ("argument", "byte_pos", "expandable", "name", "offset")

    def __init__(self, name: str, argument: str, offset: int, byte_pos: int, expandable: bool) -> None:
        self.name = name
        self.argument = argument
        self.offset = offset
        self.byte_pos = byte_pos
        self.expandable = expandable


def _error(reason: str) -> Exception:
    return bad_request(f"can't parse entities: {reason}")


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)`` or raise a 400 ApiError."""
    out: list[str] = []
    pos16 = 0
    stack: list[_Open] = []
    entities: list[Entity] = []
    n = len(text)
    i = 0

    # byte offsets are reported in UTF-8, computed lazily only for errors
    def byte_at(k: int) -> int:
        return len(text[:k].encode("utf-8"))

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                pos16 += utf16_len(decoded[0])
                i += decoded[1]
                continue
        if c != "<":
            out.append(c)
            pos16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            if i >= n:
                raise _error(f"Unclosed start tag at byte offset {byte_at(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in HTML_TAGS:
                raise _error(f'Unsupported start tag "{tag}" at byte offset {byte_at(begin)}')
            argument = ""
            expandable = False
            while at(i) != ">":
                while i < n and text[i].isspace():
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise _error(f"Unclosed start tag at byte offset {byte_at(begin)}")
                attr_begin = i
                while i < n and not text[i].isspace() and text[i] not in "=>":
                    i += 1
                attr = text[attr_begin:i].lower()
                if not attr:
                    raise _error(f'Empty attribute name in the tag "{tag}" at byte offset {byte_at(begin)}')
                while i < n and text[i].isspace():
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr == "expandable":
                        expandable = True
                    if i >= n:
                        raise _error(f"Unclosed start tag at byte offset {byte_at(begin)}")
                    continue
                i += 1
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise _error(f"Unclosed start tag at byte offset {byte_at(begin)}")
                value_chars: list[str] = []
                if text[i] not in "'\"":
                    while i < n and (text[i].isalnum() or text[i] in ".-"):
                        value_chars.append(text[i])
                        i += 1
                    if not value_chars:
                        raise _error(
                            f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                            f"at byte offset {byte_at(begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i += decoded[1]
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                if i >= n:
                    raise _error(f"Unclosed start tag at byte offset {byte_at(begin)}")
                value = "".join(value_chars)
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif (
                    (tag == "tg-emoji" and attr == "emoji-id")
                    or (tag == "tg-time" and attr == "unix")
                    or (tag == "pre" and attr == "language")
                ):
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise _error(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_at(begin)}')
            if tag == "tg-emoji" and not argument.isdigit():
                raise bad_request("can't parse entities: Invalid custom emoji identifier specified")
            if tag == "tg-time" and not argument.lstrip("-").isdigit():
                raise _error(f'Tag "tg-time" must have attribute "unix" at byte offset {byte_at(begin)}')
            stack.append(_Open(tag, argument, pos16, byte_at(begin), expandable))
            i += 1  # skip '>'
        else:
            if not stack:
                raise _error(f"Unexpected end tag at byte offset {byte_at(begin)}")
            i += 1
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[begin + 2 : i].lower()
            while i < n and text[i].isspace():
                i += 1
            if at(i) != ">":
                raise _error(f"Unclosed end tag at byte offset {byte_at(begin)}")
            i += 1
            top = stack.pop()
            if end_name and end_name != top.name:
                raise _error(
                    f'Unmatched end tag at byte offset {byte_at(begin)}, expected "</{top.name}>", '
                    f'found "</{end_name}>"'
                )
            length = pos16 - top.offset
            if length <= 0:
                continue
            entity = _make_entity(top, length, "".join(out), stack, entities)
            if entity is not None:
                entities.append(entity)
    if stack:
        raise _error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _make_entity(
    tag: _Open, length: int, plain_so_far: str, stack: list[_Open], done: list[Entity]
) -> Entity | None:
    base: Entity = {"offset": tag.offset, "length": length}
    if tag.name in _SIMPLE_ENTITY:
        return {"type": _SIMPLE_ENTITY[tag.name], **base}
    if tag.name == "a":
        url = tag.argument or utf16_slice(plain_so_far, tag.offset, length)
        match = re.match(r"^tg://user\?id=(\d+)$", url)
        if match:
            return {
                "type": "text_mention",
                **base,
                "user": {"id": int(match.group(1)), "is_bot": False, "first_name": ""},
            }
        if not is_valid_url(url):
            return None  # tdlib silently drops links with invalid URLs
        return {"type": "text_link", **base, "url": url}
    if tag.name == "code":
        if stack and stack[-1].name == "pre" and tag.argument and stack[-1].argument == "":
            stack[-1].argument = tag.argument
            return None
        return {"type": "code", **base}
    if tag.name == "pre":
        # a nested <code class="language-x"> fills in the language and is not an entity of its own
        entity: Entity = {"type": "pre", **base}
        if tag.argument:
            entity["language"] = tag.argument
        return entity
    if tag.name == "blockquote":
        return {"type": "expandable_blockquote" if tag.expandable else "blockquote", **base}
    if tag.name == "tg-emoji":
        return {"type": "custom_emoji", **base, "custom_emoji_id": tag.argument}
    if tag.name == "tg-time":
        return {"type": "date_time", **base, "unix_time": int(tag.argument)}
    return None


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"


def check_markdown_v2(text: str) -> None:
    """Reject MarkdownV2 text with unescaped reserved characters the way Telegram reports them.

    This is a validation pass only (the stored plain text is not un-escaped); it recognises
    ``*bold*``, ``_italic_``, ``__underline__``, ``~strike~``, ``||spoiler||``, inline/pre code and
    ``[text](url)`` links, and rejects stray reserved characters and unclosed markup.
    """
    i = 0
    n = len(text)
    open_marks: list[str] = []
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 < n and ord(text[i + 1]) < 127:
                i += 2
                continue
            i += 1
            continue
        if c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            while end != -1 and text[end - 1] == "\\":
                end = text.find(fence, end + 1)
            if end == -1:
                raise bad_request(
                    f"can't parse entities: Can't find end of {'Pre' if fence == '```' else 'Code'} entity "
                    f"at byte offset {len(text[:i].encode())}"
                )
            i = end + len(fence)
            continue
        if c in "*~_|[" or (c == "]" and "[" in open_marks):
            mark = "||" if text.startswith("||", i) else "__" if text.startswith("__", i) else c
            if c == "|" and mark != "||":
                raise _reserved(c)
            if mark == "]":
                if "[" in open_marks:
                    while open_marks and open_marks.pop() != "[":
                        pass
                if text[i + 1 : i + 2] == "(":
                    close = text.find(")", i + 2)
                    if close == -1:
                        raise bad_request(
                            "can't parse entities: Can't find end of a URL at byte offset "
                            f"{len(text[: i + 1].encode())}"
                        )
                    i = close + 1
                else:
                    i += 1
                continue
            if open_marks and open_marks[-1] == mark and mark != "[":
                open_marks.pop()
            else:
                open_marks.append(mark)
            i += len(mark)
            continue
        if c in _MDV2_RESERVED:
            raise _reserved(c)
        i += 1
    if open_marks:
        names = {
            "*": "Bold",
            "_": "Italic",
            "__": "Underline",
            "~": "Strikethrough",
            "||": "Spoiler",
            "[": "TextUrl",
        }
        raise bad_request(f"can't parse entities: Can't find end of {names.get(open_marks[-1], '')} entity")


def _reserved(c: str) -> Exception:
    return bad_request(
        f"can't parse entities: Character '{c}' is reserved and must be escaped with the preceding '\\'"
    )


_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)"
    r"|(?P<url>\bhttps?://[^\s]+)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{4,32})"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
)


def detect_entities(text: str) -> list[Entity]:
    """Find the entities Telegram auto-detects in user messages (commands, URLs, mentions, hashtags)."""
    found: list[Entity] = []
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup or "url"
        found.append(
            {
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    return found


def trim_formatted(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace as Telegram does, shifting and clipping entity ranges."""
    stripped_left = text.lstrip()
    left16 = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    fixed: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - left16)
        end = min(total, entity["offset"] + entity["length"] - left16)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed
