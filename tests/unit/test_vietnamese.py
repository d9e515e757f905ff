"""Unit tests for bot.domain.vietnamese (normalisation used by the locality search)."""

from __future__ import annotations

import unicodedata

import pytest

from bot.domain.vietnamese import (
    TONE_DIGITS,
    Syllable,
    canonical,
    fold_ascii,
    has_diacritics,
    nfc,
    search_tokens,
    sort_key,
)

ZWSP = "\u200b"
ZWJ = "\u200d"
BOM = "\ufeff"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_nfc_composes_decomposed_input() -> None:
    decomposed = nfd("Cẩm Lộc")
    assert decomposed != "Cẩm Lộc"
    assert nfc(decomposed) == "Cẩm Lộc"
    assert nfc("Cẩm Lộc") == "Cẩm Lộc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cẩm Lộc", "cam loc"),
        ("XÃ CẨM LỘC", "xa cam loc"),
        ("Đại Nài", "dai nai"),
        ("đường", "duong"),
        ("Ðại Nài", "dai nai"),  # legacy look-alike Ð (U+00D0)
        ("Người Việt", "nguoi viet"),
        ("  Thành   phố\tHà-Tĩnh!! ", "thanh pho ha tinh"),
        ("tp.Hà Tĩnh", "tp ha tinh"),
        ("Sơn Kim 1", "son kim 1"),
        (nfd("Hương Khê"), "huong khe"),
        (f"Cẩm{ZWSP} Lộc{ZWJ}", "cam loc"),
        (f"{BOM}Thạch\u00adHà", "thachha"),  # soft hyphen is a format char: removed, not a separator
        ("", ""),
        ("  ,.; ", ""),
    ],
)
def test_fold_ascii(text: str, expected: str) -> None:
    assert fold_ascii(text) == expected


@pytest.mark.parametrize(
    ("old_style", "new_style", "expected"),
    [
        ("hoà", "hòa", "hoa2"),
        ("hoá", "hóa", "hoa1"),
        ("thuý", "thúy", "thuy1"),
        ("thuỷ", "thủy", "thuy3"),
        ("khoẻ", "khỏe", "khoe3"),
        ("loè", "lòe", "loe2"),
        ("Yên Hoà", "Yên Hòa", "yên hoa2"),
        ("Lâm Trung Thuỷ", "Lâm Trung Thủy", "lâm trung thuy3"),
    ],
)
def test_canonical_makes_tone_placement_irrelevant(old_style: str, new_style: str, expected: str) -> None:
    assert canonical(old_style) == expected
    assert canonical(new_style) == expected
    assert canonical(nfd(old_style)) == expected
    assert canonical(old_style.upper()) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lộc", "lôc5"),
        ("Cẩm Xuyên", "câm3 xuyên"),
        ("Kỳ Lợi", "ky2 lơi5"),
        ("Đại Nài", "đai5 nai2"),
        ("Ngã Ba", "nga4 ba"),
        ("Sắc", "săc1"),
        ("Phường Thành Sen", "phương2 thanh2 sen"),
        ("Người", "ngươi2"),
        ("Sơn Kim 2", "sơn kim 2"),
        (nfd("CẨM LỘC"), "câm3 lôc5"),
        (f"Cẩm{ZWSP}Lộc", "câmlôc35"),  # zero-width removed: one token, tones in order
        ("  Hà --- Tĩnh ", "ha2 tinh4"),
    ],
)
def test_canonical(text: str, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [("hòa", "hóa"), ("hòa", "hoa"), ("Lộc", "Lốc"), ("Sơn", "Son"), ("Đức", "Dức"), ("cẩm", "cấm")],
)
def test_canonical_keeps_tones_and_vowel_shapes_apart(a: str, b: str) -> None:
    assert canonical(a) != canonical(b)
    assert fold_ascii(a) == fold_ascii(b)


def test_tone_digit_scheme_is_vni() -> None:
    assert sorted(TONE_DIGITS.values()) == ["1", "2", "3", "4", "5"]
    assert [canonical(s) for s in ("ma", "má", "mà", "mả", "mã", "mạ")] == [
        "ma",
        "ma1",
        "ma2",
        "ma3",
        "ma4",
        "ma5",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cẩm Lộc", True),
        ("Đan", True),
        ("đ", True),
        ("Ð", True),
        (nfd("Hà"), True),
        ("cam loc", False),
        ("CAM LOC 1", False),
        (f"cam{ZWSP}loc", False),
        ("", False),
    ],
)
def test_has_diacritics(text: str, expected: bool) -> None:
    assert has_diacritics(text) is expected


def test_search_tokens_align_both_forms() -> None:
    assert search_tokens("Xã Cẩm-Lộc") == (
        Syllable("xa", "xa4"),
        Syllable("cam", "câm3"),
        Syllable("loc", "lôc5"),
    )
    assert search_tokens("") == ()
    assert search_tokens(nfd("Cẩm Lộc")) == search_tokens("Cẩm Lộc")


def test_sort_key_orders_vietnamese_names() -> None:
    names = ["Đức Thọ", "Yên Hòa", "Cẩm Bình", "Can Lộc", "Đan Hải", "Ân Phú", "An Dũng", "Dương"]
    assert sorted(names, key=sort_key) == [
        "An Dũng",
        "Ân Phú",
        "Cẩm Bình",
        "Can Lộc",
        "Đan Hải",
        "Đức Thọ",
        "Dương",
        "Yên Hòa",
    ]
    assert sort_key("Hoà") == sort_key("Hòa")
