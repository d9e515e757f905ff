"""Unit tests for bot.domain.directory: loading the province file, look-ups, paging and locality search."""

from __future__ import annotations

import csv
import shutil
import time
import unicodedata
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from bot.domain.directory import (
    CATEGORY_KEYS,
    Category,
    Directory,
    DirectoryError,
    Locality,
    PetitionType,
)
from bot.domain.vietnamese import fold_ascii

HATINH = Path(__file__).resolve().parents[2] / "bot" / "provinces" / "hatinh"


def _read_csv(name: str) -> list[dict[str, str]]:
    with (HATINH / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


UNITS = _read_csv("units_2025.csv")
OLD_TO_NEW = _read_csv("old_to_new_2025.csv")
UNIT_BY_CODE = {row["code"]: row for row in UNITS}
SUCCESSORS: dict[str, set[str]] = defaultdict(set)
for _row in OLD_TO_NEW:
    SUCCESSORS[_row["old_code"]].add(_row["new_code"])
DISTRICT_UNITS: dict[str, set[str]] = defaultdict(set)
for _row in OLD_TO_NEW:
    DISTRICT_UNITS[_row["old_district"]].add(_row["new_code"])


def _short(name: str) -> str:
    for prefix in ("Phường ", "Xã ", "Thị trấn ", "Huyện ", "Thị xã ", "Thành phố "):
        if name.startswith(prefix):
            return " ".join(name[len(prefix) :].split())
    return name


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load(HATINH / "province.yaml")


def codes(directory: Directory, query: str, limit: int = 100) -> list[str]:
    return [m.locality.code for m in directory.search_localities(query, limit=limit).matches]


def first(directory: Directory, query: str) -> str | None:
    found = codes(directory, query)
    return found[0] if found else None


# ------------------------------------------------------------------------------------ the shipped file


def test_default_file_loads_the_whole_province(directory: Directory) -> None:
    default = Directory.default()
    assert default is Directory.default()  # loaded once
    assert len(default.localities) == 69
    assert sum(loc.kind == "xã" for loc in default.localities) == 60
    assert sum(loc.kind == "phường" for loc in default.localities) == 9
    assert {loc.code for loc in default.localities} == set(UNIT_BY_CODE)
    assert sum(len(unit.successors) for unit in default.former_units) == len(OLD_TO_NEW) == 213
    assert len(default.former_units) == len(SUCCESSORS) == 210
    assert default.province_code == "42"
    assert default.province_name == "Hà Tĩnh"
    assert default.ticket_prefix == "HT"
    assert default.timezone == "Asia/Ho_Chi_Minh"
    assert default.version_date == date(2025, 7, 1)
    assert all(loc.version_date == date(2025, 7, 1) for loc in default.localities)


def test_localities_are_sorted_vietnamese_alphabetically(directory: Directory) -> None:
    shorts = [loc.short_name for loc in directory.localities]
    assert shorts[0] == "Bắc Hồng Lĩnh"
    assert shorts[-1] == "Yên Hòa"
    assert shorts.index("Đan Hải") < shorts.index("Đức Thọ") < shorts.index("Gia Hanh")
    assert [fold_ascii(s) for s in shorts] == sorted(fold_ascii(s) for s in shorts)


@pytest.mark.parametrize(("code", "name", "kind"), [(r["code"], r["name"], r["type"]) for r in UNITS])
def test_locality_lookup_matches_the_csv(directory: Directory, code: str, name: str, kind: str) -> None:
    locality = directory.locality(code)
    assert locality is not None
    assert (locality.name, locality.kind) == (name, kind)
    assert locality.short_name == _short(name)


def test_locality_lookup_hand_checked(directory: Directory) -> None:
    thanh_sen = directory.locality("18073")
    assert thanh_sen is not None and thanh_sen.name == "Phường Thành Sen"  # the code once meant Nam Hà
    assert thanh_sen.short_name == "Thành Sen"
    cam_trung = directory.locality("18742")
    assert cam_trung is not None and cam_trung.name == "Xã Cẩm Trung"
    assert directory.locality("18730") is None  # former Xã Cẩm Lộc: not a current unit
    assert directory.locality("") is None


def test_former_units(directory: Directory) -> None:
    by_code = {unit.code: unit for unit in directory.former_units}
    for old_code, new_codes in SUCCESSORS.items():
        assert set(by_code[old_code].successors) == new_codes
    nam_ha = by_code["18073"]
    assert (nam_ha.name, nam_ha.district_name, nam_ha.successors) == (
        "Phường Nam Hà",
        "Thành phố Hà Tĩnh",
        ("18073",),
    )
    assert not nam_ha.is_split
    assert by_code["18082"].is_split and set(by_code["18082"].successors) == {"18073", "18652"}
    assert set(by_code["18796"].successors) == {"18754", "18823", "18832"}
    assert by_code["18136"].name == "Thị trấn Tây Sơn"  # double space in the CSV collapsed
    assert sorted(code for code, unit in by_code.items() if unit.is_split) == ["18082", "18796"]


# ------------------------------------------------------------------------------------------ categories

EXPECTED_CATEGORIES = [
    ("land", "Đất đai", "Land"),
    ("compensation", "Bồi thường, giải phóng mặt bằng", "Compensation and site clearance"),
    ("construction", "Xây dựng, trật tự đô thị", "Construction and urban order"),
    ("infrastructure", "Giao thông, hạ tầng kỹ thuật", "Transport and infrastructure"),
    ("environment", "Môi trường, rác thải", "Environment and waste"),
    ("agriculture", "Nông nghiệp, thủy lợi, nông thôn mới", "Agriculture, irrigation, rural development"),
    ("utilities", "Điện, nước sạch", "Electricity and clean water"),
    ("disaster", "Thiên tai, phòng chống lụt bão", "Natural disasters"),
    ("security", "An ninh, trật tự", "Security and public order"),
    ("welfare", "An sinh xã hội, chính sách", "Social welfare and policy"),
    ("health", "Y tế", "Health"),
    ("education", "Giáo dục", "Education"),
    ("procedures", "Thủ tục hành chính, dịch vụ công", "Administrative procedures and public services"),
    ("conduct", "Thái độ, trách nhiệm cán bộ", "Conduct of officials"),
    ("other", "Khác", "Other"),
]


def test_categories_in_file_order(directory: Directory) -> None:
    assert [(c.key, c.name_vi, c.name_en) for c in directory.categories] == EXPECTED_CATEGORIES
    assert [c.key for c in directory.categories] == list(CATEGORY_KEYS)
    assert {c.key for c in directory.categories if c.is_urgent} == {"disaster", "security"}
    assert all(c.emoji for c in directory.categories)


@pytest.mark.parametrize(("key", "vi", "en"), EXPECTED_CATEGORIES)
def test_category_lookup_and_names(directory: Directory, key: str, vi: str, en: str) -> None:
    category = directory.category(key)
    assert isinstance(category, Category)
    assert category.name("vi") == vi
    assert category.name("en") == en
    assert category.name("fr") == en


def test_unknown_category(directory: Directory) -> None:
    assert directory.category("weather") is None


def test_emergency_numbers_and_other_channels(directory: Directory) -> None:
    assert [(n.number, n.label("vi"), n.label("en")) for n in directory.emergency_numbers] == [
        ("113", "Công an", "Police"),
        ("114", "Cứu hỏa", "Fire and rescue"),
        ("115", "Cấp cứu", "Ambulance"),
    ]
    texts_vi = " ".join(t.text("vi") for t in directory.other_channels)
    texts_en = " ".join(t.text("en") for t in directory.other_channels)
    assert "Ủy ban nhân dân" in texts_vi
    assert "Ban Tiếp công dân tỉnh Hà Tĩnh" in texts_vi
    assert "https://dichvucong.gov.vn" in texts_vi and "https://dichvucong.gov.vn" in texts_en
    assert len(directory.other_channels) == 3


@pytest.mark.parametrize(
    ("kind", "formal"),
    [
        (PetitionType.REPORT, False),
        (PetitionType.PROPOSAL, False),
        (PetitionType.QUESTION, False),
        (PetitionType.SUGGESTION, False),
        (PetitionType.COMPLAINT, True),
        (PetitionType.DENUNCIATION, True),
    ],
)
def test_petition_type_is_formal(kind: PetitionType, formal: bool) -> None:
    assert kind.is_formal is formal
    assert PetitionType(kind.value) is kind


# ---------------------------------------------------------------------------------------------- paging


@pytest.mark.parametrize(
    ("page", "expected_page", "expected_len"),
    [(0, 0, 8), (1, 1, 8), (7, 7, 8), (8, 8, 5), (9, 8, 5), (100, 8, 5), (-1, 0, 8), (-50, 0, 8)],
)
def test_localities_page(directory: Directory, page: int, expected_page: int, expected_len: int) -> None:
    items, page_count = directory.localities_page(page)
    assert page_count == 9
    assert len(items) == expected_len
    assert items == directory.localities[expected_page * 8 : expected_page * 8 + 8]


def test_localities_pages_cover_everything_once(directory: Directory) -> None:
    seen: list[Locality] = []
    _, page_count = directory.localities_page(0, per_page=10)
    assert page_count == 7
    for page in range(page_count):
        seen.extend(directory.localities_page(page, per_page=10)[0])
    assert tuple(seen) == directory.localities
    assert directory.localities_page(0, per_page=100) == (directory.localities, 1)
    with pytest.raises(ValueError):
        directory.localities_page(0, per_page=0)


# ---------------------------------------------------------------------------------------------- search

ZWSP = "\u200b"


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Thành Sen", "18073"),
        ("thanh sen", "18073"),
        ("THÀNH SEN", "18073"),
        ("Phường Thành Sen", "18073"),
        ("phuong thanh sen", "18073"),
        ("P. Thành Sen", "18073"),
        ("p thanh sen", "18073"),
        ("  thành   sen  ", "18073"),
        ("thanhsen", "18073"),
        (f"Thành{ZWSP} Sen", "18073"),
        (_nfd("Phường Thành Sen"), "18073"),
        ("Cẩm Trung", "18742"),
        ("xã Cẩm Trung", "18742"),
        ("x. cam trung", "18742"),
        ("Xa Cam Trung", "18742"),
        ("Sơn Kim 1", "18196"),
        ("son kim 2", "18199"),
        ("Hà Huy Tập", "18652"),
        ("Trần Phú", "18100"),  # current Phường Trần Phú before former Phường Trần Phú (→ Thành Sen)
        ("Yên Hòa", "18682"),
        ("Yên Hoà", "18682"),  # old tone placement
        (_nfd("Yên Hoà"), "18682"),
        ("yen hoa", "18682"),
        ("Cẩm Xuyên", "18673"),  # current Xã Cẩm Xuyên, not the former district
        ("Hương Sơn", "18133"),
        ("Kỳ Anh", "18775"),
        ("Vũng Áng", "18823"),
        ("vung ang", "18823"),
        ("Cẩm Lộc, huyện Cẩm Xuyên", "18742"),
    ],
)
def test_search_current_names(directory: Directory, query: str, code: str) -> None:
    assert first(directory, query) == code


@pytest.mark.parametrize(("row"), [r for r in UNITS], ids=lambda r: r["code"])
def test_every_current_unit_is_found_first_by_its_name(directory: Directory, row: dict[str, str]) -> None:
    for query in (row["name"], _short(row["name"]), fold_ascii(row["name"]), fold_ascii(_short(row["name"]))):
        result = directory.search_localities(query)
        assert result.matches[0].locality.code == row["code"], query
        assert result.matches[0].via is None and result.split is None


@pytest.mark.parametrize(("old_code"), sorted(SUCCESSORS), ids=str)
def test_every_former_commune_leads_to_its_successors(directory: Directory, old_code: str) -> None:
    rows = [r for r in OLD_TO_NEW if r["old_code"] == old_code]
    old_name, district = rows[0]["old_name"], rows[0]["old_district"]
    expected = SUCCESSORS[old_code]
    for query in (f"{old_name}, {district}", fold_ascii(f"{old_name} {district}")):
        result = directory.search_localities(query, limit=20)
        found = {m.locality.code for m in result.matches}
        assert expected <= found, query
        if len(expected) > 1:
            assert result.split is not None and result.split.code == old_code
            assert found == expected


@pytest.mark.parametrize(
    ("query", "code", "via_name"),
    [
        ("Cẩm Lộc", "18742", "Xã Cẩm Lộc"),
        ("xã Cẩm Lộc", "18742", "Xã Cẩm Lộc"),
        ("cam loc", "18742", "Xã Cẩm Lộc"),
        ("xã Cẩm Lộc, huyện Cẩm Xuyên", "18742", "Xã Cẩm Lộc"),
        ("Cẩm Lộc Cẩm Xuyên", "18742", "Xã Cẩm Lộc"),
        ("cam loc cam xuyen", "18742", "Xã Cẩm Lộc"),
        ("huyện Cẩm Xuyên xã Cẩm Lộc", "18742", "Xã Cẩm Lộc"),
        ("x. Cẩm Lộc - h. Cẩm Xuyên - tỉnh Hà Tĩnh", "18742", "Xã Cẩm Lộc"),
        ("Cẩm Lộc cũ", "18742", "Xã Cẩm Lộc"),
        ("Nam Hà", "18073", "Phường Nam Hà"),
        ("phường Nam Hà, TP Hà Tĩnh", "18073", "Phường Nam Hà"),
        ("Thạch Hạ, Hà Tĩnh", "18100", "Phường Thạch Hạ"),
        ("Tây Sơn", "18172", "Thị trấn Tây Sơn"),
        ("thị trấn Phố Châu", "18133", "Thị trấn Phố Châu"),
        ("tt pho chau", "18133", "Thị trấn Phố Châu"),
        ("Thị trấn Nghèn", "18406", "Thị trấn Nghèn"),
        ("Cỗ Đạm", "18394", "Xã Cỗ Đạm"),  # old spelling, ngã
        ("Hoà Lạc", "18229", "Xã Hòa Lạc"),
        ("Hòa Lạc", "18229", "Xã Hòa Lạc"),
        ("Lâm Trung Thuỷ", "18277", "Xã Lâm Trung Thủy"),
        ("lam trung thuy", "18277", "Xã Lâm Trung Thủy"),
        ("Kỳ Trinh", "18754", "Phường Kỳ Trinh"),
    ],
)
def test_search_former_communes(directory: Directory, query: str, code: str, via_name: str) -> None:
    result = directory.search_localities(query)
    best = result.matches[0]
    assert best.locality.code == code
    assert best.via is not None and best.via.name == via_name
    assert best.via_district is None
    assert result.split is None


def test_cam_loc_is_now_cam_trung(directory: Directory) -> None:
    """Hand-checked: the former Xã Cẩm Lộc (Huyện Cẩm Xuyên, 18730) is part of Xã Cẩm Trung (18742)."""
    result = directory.search_localities("xã Cẩm Lộc, huyện Cẩm Xuyên")
    assert [m.locality.code for m in result.matches] == ["18742"]
    assert result.total == 1
    match = result.matches[0]
    assert match.locality.name == "Xã Cẩm Trung"
    assert match.via is not None
    assert (match.via.code, match.via.district_name, match.via.successors) == (
        "18730",
        "Huyện Cẩm Xuyên",
        ("18742",),
    )


@pytest.mark.parametrize(
    ("query", "district"),
    [
        ("huyện Cẩm Xuyên", "Huyện Cẩm Xuyên"),
        ("huyen cam xuyen", "Huyện Cẩm Xuyên"),
        ("Thành phố Hà Tĩnh", "Thành phố Hà Tĩnh"),
        ("TP. Hà Tĩnh", "Thành phố Hà Tĩnh"),
        ("tp ha tinh", "Thành phố Hà Tĩnh"),
        ("thị xã Kỳ Anh", "Thị xã Kỳ Anh"),
        ("tx ky anh", "Thị xã Kỳ Anh"),
        ("huyện Kỳ Anh", "Huyện Kỳ Anh"),
        ("thị xã Hồng Lĩnh", "Thị xã Hồng Lĩnh"),
        ("Huyện Đức Thọ", "Huyện Đức Thọ"),
        ("huyện Can Lộc", "Huyện Can Lộc"),
    ],
)
def test_search_former_districts(directory: Directory, query: str, district: str) -> None:
    result = directory.search_localities(query, limit=100)
    expected = DISTRICT_UNITS[district]
    via_district = {m.locality.code for m in result.matches if m.via_district == district}
    assert result.split is None
    assert result.matches[0].via_district == district  # the district prefix was typed: its units first
    assert expected <= {m.locality.code for m in result.matches}
    assert via_district <= expected
    assert len(via_district) >= len(expected) - 1  # a same-named current unit may be listed without via


@pytest.mark.parametrize(
    ("query", "current_code", "district"),
    [
        ("Cẩm Xuyên", "18673", "Huyện Cẩm Xuyên"),
        ("cam xuyen", "18673", "Huyện Cẩm Xuyên"),
        ("Hương Sơn", "18133", "Huyện Hương Sơn"),
        ("Kỳ Anh", "18775", "Huyện Kỳ Anh"),
        ("Đức Thọ", "18229", "Huyện Đức Thọ"),
        ("Nghi Xuân", "18352", "Huyện Nghi Xuân"),
        ("Can Lộc", "18406", "Huyện Can Lộc"),
        ("Thạch Hà", "18562", "Huyện Thạch Hà"),
        ("Vũ Quang", "18313", "Huyện Vũ Quang"),
        ("Hương Khê", "18496", "Huyện Hương Khê"),
    ],
)
def test_current_commune_named_like_a_former_district_ranks_first(
    directory: Directory, query: str, current_code: str, district: str
) -> None:
    result = directory.search_localities(query, limit=100)
    assert result.matches[0].locality.code == current_code
    assert result.matches[0].via_district is None
    rest = {m.locality.code for m in result.matches[1:] if m.via_district == district}
    assert rest == DISTRICT_UNITS[district] - {current_code}
    assert result.total == len(result.matches)


@pytest.mark.parametrize(
    ("query", "old_code", "successors"),
    [
        ("Đại Nài", "18082", {"18073", "18652"}),
        ("phường Đại Nài", "18082", {"18073", "18652"}),
        ("dai nai", "18082", {"18073", "18652"}),
        ("Đại Nài, thành phố Hà Tĩnh", "18082", {"18073", "18652"}),
        ("Kỳ Lợi", "18796", {"18754", "18823", "18832"}),
        ("xa ky loi", "18796", {"18754", "18823", "18832"}),
        ("Kỳ Lợi thị xã Kỳ Anh", "18796", {"18754", "18823", "18832"}),
    ],
)
def test_split_former_communes(directory: Directory, query: str, old_code: str, successors: set[str]) -> None:
    result = directory.search_localities(query)
    assert result.split is not None
    assert result.split.code == old_code and result.split.is_split
    assert {m.locality.code for m in result.matches} == successors
    assert all(m.via == result.split for m in result.matches)
    assert result.total == len(successors)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Hà Huy Tập", ["18652", "18073"]),  # current ward, then Thành Sen via the former ward of that name
        ("Trần Phú", ["18100", "18073"]),
    ],
)
def test_reused_names_keep_current_and_former_apart(
    directory: Directory, query: str, expected: list[str]
) -> None:
    result = directory.search_localities(query)
    assert [m.locality.code for m in result.matches] == expected
    assert result.matches[0].via is None
    assert result.matches[1].via is not None and result.matches[1].via.name.endswith(query)
    assert result.split is None


def test_tone_placement_does_not_matter_but_tones_do(directory: Directory) -> None:
    assert codes(directory, "Yên Hoà") == codes(directory, "Yên Hòa") == ["18682"]
    assert codes(directory, "Xã An Hoà Thịnh") == codes(directory, "An Hòa Thịnh") == ["18163"]
    # a wrong accent still finds the place through the accent-less fallback
    assert codes(directory, "Yên Hóa") == ["18682"]


def test_ranking_exact_then_prefix_then_partial(directory: Directory) -> None:
    result = directory.search_localities("Hồng Lộc", limit=100)
    assert result.matches[0].locality.code == "18409"  # exact current name
    prefix = directory.search_localities("Cẩm", limit=100)
    current_cam = [loc.code for loc in directory.localities if loc.short_name.startswith("Cẩm ")]
    assert [m.locality.code for m in prefix.matches[: len(current_cam)]] == current_cam
    partial = directory.search_localities("Sen", limit=100)
    assert partial.matches[0].locality.code == "18073"


def test_limit_and_total(directory: Directory) -> None:
    result = directory.search_localities("Hương", limit=3)
    assert len(result.matches) == 3
    assert result.total > 3
    assert (
        len({m.locality.code for m in directory.search_localities("Hương", limit=100).matches})
        == result.total
    )
    with pytest.raises(ValueError):
        directory.search_localities("Hương", limit=0)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        ZWSP,
        "xã",
        "phường",
        "huyện",
        "Thị xã",
        "thành phố",
        "tp.",
        "x.",
        "Đặc khu",
        "  ,. - ",
        "zzzz",
        "a",
    ],
)
def test_no_match(directory: Directory, query: str) -> None:
    result = directory.search_localities(query)
    assert result.matches == ()
    assert result.total == 0
    assert result.split is None
    assert result.query == query


def test_search_is_fast(directory: Directory) -> None:
    queries = ["Cẩm Lộc Cẩm Xuyên", "thanh sen", "Kỳ Anh", "huyện Cẩm Xuyên", "Hương", "zzzz", "Đại Nài"]
    for query in queries:  # warm up
        directory.search_localities(query)
    started = time.perf_counter()
    rounds = 50
    for _ in range(rounds):
        for query in queries:
            directory.search_localities(query)
    per_search = (time.perf_counter() - started) / (rounds * len(queries))
    assert per_search < 0.005  # generous bound for slow CI machines; typically ~0.3 ms


# ------------------------------------------------------------------------------------------ load errors


@pytest.fixture
def province(tmp_path: Path) -> Path:
    for name in ("province.yaml", "units_2025.csv", "old_to_new_2025.csv"):
        shutil.copy(HATINH / name, tmp_path / name)
    return tmp_path / "province.yaml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    return next(
        i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line
    )


def test_copied_province_loads(province: Path) -> None:
    assert len(Directory.load(province).localities) == 69


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        (
            "18766,Xã Kỳ Xuân,xã",
            "18x,Xã Kỳ Xuân,xã",
            ["units_2025.csv line 61:", "code '18x' must be 5 digits"],
        ),
        ("18766,Xã Kỳ Xuân,xã", "18073,Xã Kỳ Xuân,xã", ["units_2025.csv line 61:", "duplicate code '18073'"]),
        ("18766,Xã Kỳ Xuân,xã", "18766,Xã Kỳ Xuân,thôn", ["units_2025.csv line 61:", "type 'thôn'"]),
        ("18766,Xã Kỳ Xuân,xã", "18766,Kỳ Xuân,xã", ["units_2025.csv line 61:", "name 'Kỳ Xuân'"]),
        ("18766,Xã Kỳ Xuân,xã", "18766,Xã Kỳ Xuân", ["units_2025.csv line 61:", "expected 3 fields"]),
        ("code,name,type", "code,nmae,type", ["units_2025.csv line 1:", "missing column 'name'"]),
    ],
)
def test_units_csv_errors(province: Path, old: str, new: str, fragments: list[str]) -> None:
    units = province.parent / "units_2025.csv"
    assert _line_of(units, "18766,") == 61
    _edit(units, old, new)
    with pytest.raises(DirectoryError) as error:
        Directory.load(province)
    for fragment in fragments:
        assert fragment in str(error.value)


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        (
            "18730,Xã Cẩm Lộc,18742,Xã Cẩm Trung",
            "18730,Xã Cẩm Lộc,18999,Xã Cẩm Trung",
            ["old_to_new_2025.csv line", "new_code '18999' is not a unit in units_2025.csv"],
        ),
        (
            "18730,Xã Cẩm Lộc,18742,Xã Cẩm Trung",
            "18730,Xã Cẩm Lộc,18742,Xã Cẩm Trùng",
            ["old_to_new_2025.csv line", "new_name 'Xã Cẩm Trùng' does not match"],
        ),
        (
            "18730,Xã Cẩm Lộc,18742,Xã Cẩm Trung,full",
            "18730,Xã Cẩm Lộc,18742,Xã Cẩm Trung,merged",
            ["old_to_new_2025.csv line", "merge_type 'merged'"],
        ),
        (
            "18730,Xã Cẩm Lộc,18742",
            "1873,Xã Cẩm Lộc,18742",
            ["old_to_new_2025.csv line", "old_code '1873' must be 5 digits"],
        ),
        (
            "18733,Xã Cẩm Hưng,18736,Xã Cẩm Hưng,full",
            "18730,Xã Cẩm Lộc,18736,Xã Cẩm Hưng,full",
            ["old_to_new_2025.csv line", "old_code '18730'"],
        ),
    ],
)
def test_former_units_csv_errors(province: Path, old: str, new: str, fragments: list[str]) -> None:
    former = province.parent / "old_to_new_2025.csv"
    line = _line_of(former, old)
    _edit(former, old, new)
    with pytest.raises(DirectoryError) as error:
        Directory.load(province)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message
    assert f"line {line}:" in message


@pytest.mark.parametrize(
    ("old", "new", "needle", "fragments"),
    [
        (
            "key: utilities,",
            "key: weather,",
            "key: weather",
            ["unknown category key 'weather'", "categories[6].key"],
        ),
        ("key: utilities,", "key: land,", 'key: land, vi: "Điện', ["duplicate category key 'land'"]),
        (
            'urgent: true, emoji: "🌀"',
            'urgent: maybe, emoji: "🌀"',
            "urgent: maybe",
            ["categories[7].urgent"],
        ),
        ('ticket_prefix: "HT"', 'ticket_prefix: "ht-1"', "ticket_prefix", ["province.ticket_prefix"]),
        ('timezone: "Asia/Ho_Chi_Minh"', 'timezone: "Asia/Hanoi_City"', "timezone:", ["province.timezone"]),
        ('code: "42"', 'code: "42"\n  capital: "Hà Tĩnh"', "capital:", ["province.capital", "Extra inputs"]),
        ("format_version: 1", "format_version: 2", "format_version", ["format_version"]),
        ("version_date: 2025-07-01", "version_date: July 2025", "version_date", ["units.version_date"]),
        ('number: "114"', 'number: "11a"', 'number: "11a"', ["emergency_numbers[1].number"]),
        ('number: "114"', 'number: "113"', 'number: "113", vi: "Cứu', ["duplicate number '113'"]),
    ],
)
def test_yaml_errors_name_file_line_and_field(
    province: Path, old: str, new: str, needle: str, fragments: list[str]
) -> None:
    _edit(province, old, new)
    line = _line_of(province, needle)
    with pytest.raises(DirectoryError) as error:
        Directory.load(province)
    message = str(error.value)
    assert message.startswith(f"province.yaml line {line}:"), message
    for fragment in fragments:
        assert fragment in message


def test_yaml_syntax_error(province: Path) -> None:
    _edit(province, '  ticket_prefix: "HT"', "  ticket_prefix: [HT")
    with pytest.raises(DirectoryError) as error:
        Directory.load(province)
    assert str(error.value).startswith("province.yaml line ")
    assert "invalid YAML" in str(error.value)


def test_missing_files(province: Path, tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"nothing\.yaml: file not found"):
        Directory.load(tmp_path / "nothing.yaml")
    (tmp_path / "units_2025.csv").unlink()
    with pytest.raises(DirectoryError, match=r"units_2025\.csv: file not found"):
        Directory.load(province)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "province.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match=r"province\.yaml: the file must be a YAML mapping"):
        Directory.load(path)


def test_former_units_are_optional(province: Path) -> None:
    _edit(province, "former_units:\n  file: old_to_new_2025.csv\n", "")
    directory = Directory.load(province)
    assert directory.former_units == ()
    assert first(directory, "Thành Sen") == "18073"
    assert codes(directory, "Cẩm Lộc") == []
