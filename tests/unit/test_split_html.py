"""split_html: long Telegram HTML cut into messages that each fit and parse, at lines or words."""

from __future__ import annotations

import html
import re

import pytest

from emulator.formatting import parse_html, utf16_len
from handlers.common import esc, split_html, visible_len

VIETNAMESE = (
    "Người dân tổ dân phố 3 phản ánh hàng rào lấn chiếm lối đi chung; nước thải chảy tràn ra đường "
    "sau mỗi trận mưa, ảnh hưởng đến việc đi lại của học sinh và người cao tuổi."
)


def shown(parts: list[str]) -> list[str]:
    """What Telegram shows of each part (and each part parses on its own, as Telegram checks it)."""
    return [parse_html(part)[0] for part in parts]


def words(text: str) -> list[str]:
    return html.unescape(re.sub(r"<[^>]+>", "", text)).split()


def test_a_short_text_is_one_message_unchanged() -> None:
    assert split_html("<b>Phản ánh</b> &amp; kiến nghị") == ["<b>Phản ánh</b> &amp; kiến nghị"]
    assert split_html("   ") == []


def test_lines_are_kept_whole_when_they_fit() -> None:
    lines = [f"{n}. {VIETNAMESE}" for n in range(60)]
    text = "\n".join(lines)
    parts = split_html(text, 1000)
    assert len(parts) > 1
    assert all(visible_len(p) <= 1000 for p in parts)
    assert [line for p in parts for line in p.split("\n")] == lines  # every cut at a line break


def test_a_long_paragraph_is_cut_between_words_never_inside_one() -> None:
    text = " ".join([VIETNAMESE] * 40)  # one line of ~7,000 characters
    parts = split_html(text, 4096)
    assert len(parts) == 2 and all(utf16_len(t) <= 4096 for t in shown(parts))
    assert [w for p in parts for w in words(p)] == words(text)
    assert utf16_len(shown(parts)[0]) > 4000  # full messages, not tiny ones


def test_tags_open_at_a_cut_are_closed_and_reopened() -> None:
    note = esc("Ý kiến <của> tổ dân phố & UBND: " + VIETNAMESE * 3)
    text = '<b>HT-2026-000123</b>\n<blockquote><a href="https://example.org/x">' + note + "</a></blockquote>"
    parts = split_html(text, 200)
    assert len(parts) > 2
    for part in parts:
        plain, _entities = parse_html(part)  # each part parses: no tag cut, none left open
        assert utf16_len(plain) <= 200
    assert parts[1].startswith('<blockquote><a href="https://example.org/x">')
    assert parts[1].endswith("</a></blockquote>") and parts[-1].endswith("</a></blockquote>")
    assert [w for p in parts for w in words(p)] == words(text)


def test_entities_are_never_split_and_count_as_one_character() -> None:
    text = "&amp;&lt;&gt;&quot;&#7845;&#x1F600;" * 50  # no space, no line break: cut between characters
    parts = split_html(text, 31)
    assert all(utf16_len(t) <= 31 for t in shown(parts))
    assert "".join(shown(parts)) == html.unescape(text)
    for part in parts:
        assert re.fullmatch(r"(&(amp|lt|gt|quot|#7845|#x1F600);)+", part)


def test_an_emoji_counts_two_units_as_telegram_counts_it() -> None:
    parts = split_html("😀" * 30, 10)
    assert [utf16_len(t) for t in shown(parts)] == [10] * 6


def test_a_caption_then_messages() -> None:
    text = "<b>📩 HT-2026-000123</b>\n" + esc(VIETNAMESE * 10)
    parts = split_html(text, 4096, first_limit=1024)
    assert len(parts) == 2
    assert visible_len(parts[0]) <= 1024 < visible_len(text) and parts[0].startswith("<b>📩")
    assert words(parts[0]) + words(parts[1]) == words(text)


@pytest.mark.parametrize("limit", [50, 333, 4096])
def test_every_part_fits_and_nothing_is_lost(limit: int) -> None:
    text = "\n".join(f"• <i>{esc(VIETNAMESE[: 20 + n * 7])}</i> &amp; <code>{n}</code>" for n in range(120))
    parts = split_html(text, limit)
    assert all(utf16_len(t) <= limit for t in shown(parts))
    assert [w for p in parts for w in words(p)] == words(text)
