"""The officials directory file: the shipped example, round trips, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.directory import Directory
from bot.domain.officials_directory import (
    OfficialsDirectory,
    OfficialsDirectoryError,
    dump_officials_directory,
    load_officials_directory,
    parse_officials_directory,
)
from bot.domain.routing import RoutingRule, route
from storage.models import Role, UnitKind

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "bot" / "provinces" / "hatinh" / "officials.yaml"

BASE = """\
format_version: 1
settings:
  fallback: desk
  evidence_required: [construction]
units:
  - key: ubnd-ts
    name: UBND phường Thành Sen
    kind: commune
    templates: ["Đã tiếp nhận."]
  - key: ban
    name: Ban Tiếp công dân tỉnh
    kind: board
officials:
  - id: ts-cb
    name: Nguyễn Văn An
    title: Công chức
    unit: ubnd-ts
    supervisor: ts-ct
    localities: ["18073"]
    telegram_id: 1001
  - id: ts-ct
    name: Trần Thị Bình
    title: Chủ tịch
    unit: ubnd-ts
    role: supervisor
    supervisor: boss
  - id: desk
    name: Lê Văn Cường
    title: Chuyên viên
    unit: ban
    fallback: true
    supervisor: boss
  - id: boss
    name: Phạm Thị Dung
    title: Trưởng Ban
    unit: ban
    role: admin
"""


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.default()


def parse(text: str, directory: Directory) -> OfficialsDirectory:
    return parse_officials_directory(text, directory, name="officials.yaml")


# ------------------------------------------------------------------------------ the shipped example


def test_shipped_example_is_valid_and_realistic(directory: Directory) -> None:
    loaded = load_officials_directory(EXAMPLE, directory)
    assert loaded.summary() == "imported 14 officials in 7 units; fallback desk: desk-ht"
    assert loaded.settings.fallback_official_id == "desk-ht"
    assert loaded.settings.evidence_required == ["construction", "environment"]
    by_id = {o.id: o for o in loaded.officials}
    assert all(len(i) <= 12 for i in by_id)
    assert all(o.telegram_id is None for o in loaded.officials)
    assert [o.id for o in loaded.officials if o.is_fallback] == ["desk-ht"]
    assert by_id["tcd-tb"].role is Role.ADMIN
    kinds = sorted(u.kind for u in loaded.units)
    assert kinds.count(UnitKind.COMMUNE) == 4 and kinds.count(UnitKind.DEPARTMENT) == 2
    assert all(2 <= len(u.templates) <= 3 for u in loaded.units)
    # Every commune officer is supervised by their chairman, who escalates to the board's head.
    for code in ("18073", "18652", "18742", "18562"):
        officer = next(o for o in loaded.officials if o.localities == [code])
        assert officer.categories == [] and officer.role is Role.OFFICIAL
        chairman = by_id[officer.supervisor_id or ""]
        assert chairman.role is Role.SUPERVISOR and chairman.unit == officer.unit
        assert not chairman.localities and not chairman.categories
        assert chairman.supervisor_id == "tcd-tb"
        assert directory.locality(code) is not None


@pytest.mark.parametrize(
    ("locality", "category", "expected", "rule"),
    [
        ("18073", "land", "ts-cb", RoutingRule.LOCALITY),
        ("18742", "construction", "ct-cb", RoutingRule.LOCALITY),
        ("18100", "environment", "nnmt-cv", RoutingRule.CATEGORY),  # Phường Trần Phú: no officer listed
        ("18100", "infrastructure", "xd-cv", RoutingRule.CATEGORY),
        ("18100", "health", "desk-ht", RoutingRule.FALLBACK),
    ],
)
def test_shipped_example_routes(
    directory: Directory, locality: str, category: str, expected: str, rule: RoutingRule
) -> None:
    loaded = load_officials_directory(EXAMPLE, directory)
    decision = route(locality, category, loaded.officials, {}, loaded.settings.fallback_official_id)
    assert (decision.official_id, decision.rule) == (expected, rule)


def test_dump_round_trips(directory: Directory) -> None:
    loaded = load_officials_directory(EXAMPLE, directory)
    text = dump_officials_directory(loaded.units, loaded.officials, loaded.settings)
    assert parse(text, directory) == loaded
    assert 'localities: ["18073"]' in text.replace("'", '"')
    assert "Nguyễn Văn An" in text  # readable, not \\u escapes


def test_dump_keeps_set_ids_and_writes_fallback_from_settings(directory: Directory) -> None:
    loaded = parse(BASE, directory)
    officials = [
        o.model_copy(update={"team_chat_id": -100123, "is_fallback": o.id in ("desk", "boss")})
        for o in loaded.officials
    ]
    again = parse(dump_officials_directory(loaded.units, officials, loaded.settings), directory)
    assert [o.id for o in again.officials if o.is_fallback] == ["desk"]
    assert {o.team_chat_id for o in again.officials} == {-100123}
    assert again.officials[0].telegram_id == 1001


def test_conversion_to_storage_models(directory: Directory) -> None:
    loaded = parse(BASE, directory)
    cb, ct, desk, boss = loaded.officials
    assert cb.supervisor_id == "ts-ct" and cb.is_active and not cb.is_fallback and cb.telegram_id == 1001
    assert ct.role is Role.SUPERVISOR and ct.supervisor_id == "boss"
    assert desk.is_fallback and boss.role is Role.ADMIN and boss.supervisor_id is None
    assert loaded.units[0].templates == ["Đã tiếp nhận."] and loaded.units[1].templates == []


def test_lenient_spellings(directory: Directory) -> None:
    text = BASE.replace('localities: ["18073"]', "localities: [18073]").replace(
        'templates: ["Đã tiếp nhận."]', "templates:"
    )
    loaded = parse(text, directory)
    assert loaded.officials[0].localities == ["18073"]
    assert loaded.units[0].templates == []


# ------------------------------------------------------------------------------------------- errors


# old text, new text, the line the error must name (None: any), expected "field: message" fragment
BROKEN = [
    pytest.param(
        '["18073"]',
        '["99999"]',
        19,
        "officials[0].localities[0]: unknown locality code '99999'",
        id="locality",
    ),
    pytest.param(
        '["18073"]',
        '["18073", "18073"]',
        19,
        "officials[0].localities[1]: locality '18073' is listed twice",
        id="locality-twice",
    ),
    pytest.param(
        'localities: ["18073"]',
        'localities: ["18073"]\n    categories: [land, weather]',
        20,
        "officials[0].categories[1]: unknown category 'weather'",
        id="category",
    ),
    pytest.param(
        "    unit: ban\n    fallback",
        "    unit: ubnd-x\n    fallback",
        30,
        "officials[2].unit: unknown unit 'ubnd-x'",
        id="unit",
    ),
    pytest.param(
        "supervisor: ts-ct",
        "supervisor: nobody",
        18,
        "officials[0].supervisor: unknown official 'nobody'",
        id="supervisor-unknown",
    ),
    pytest.param(
        "supervisor: ts-ct",
        "supervisor: desk",
        18,
        "officials[0].supervisor: 'desk' has role 'official'",
        id="supervisor-role",
    ),
    pytest.param(
        "    role: admin",
        "    role: admin\n    supervisor: ts-ct",
        26,
        "officials[1].supervisor: supervisor cycle: ts-ct → boss → ts-ct",
        id="supervisor-cycle",
    ),
    pytest.param(
        "    role: admin",
        "    role: admin\n    supervisor: boss",
        38,
        "officials[3].supervisor: an official cannot supervise themselves",
        id="supervisor-self",
    ),
    pytest.param(
        "  - id: boss",
        "  - id: ts-ct",
        33,
        "officials[3].id: duplicate official id 'ts-ct' (see officials[1])",
        id="dup-id",
    ),
    pytest.param(
        "  - key: ban", "  - key: ubnd-ts", 10, "units[1].key: duplicate unit key 'ubnd-ts'", id="dup-unit"
    ),
    pytest.param(
        "    role: admin",
        "    role: admin\n    telegram_id: 1001",
        38,
        "officials[3].telegram_id: telegram_id 1001 is already official 'ts-cb'",
        id="dup-telegram",
    ),
    pytest.param(
        "    role: admin",
        "    role: admin\n    fallback: true",
        38,
        "officials[3].fallback: only the fallback desk named in settings.fallback ('desk')",
        id="second-fallback",
    ),
    pytest.param(
        "  fallback: desk",
        "  fallback: nobody",
        3,
        "settings.fallback: unknown official 'nobody'",
        id="fallback-unknown",
    ),
    pytest.param(
        "    fallback: true\n",
        "    fallback: false\n",
        31,
        "officials[2].fallback: 'desk' is settings.fallback, so it must have fallback: true",
        id="fallback-flag-missing",
    ),
    pytest.param(
        "    fallback: true\n",
        "    fallback: true\n    active: false\n",
        32,
        "officials[2].active: the fallback desk 'desk' must be active",
        id="fallback-inactive",
    ),
    pytest.param(
        "[construction]",
        "[construction, weather]",
        4,
        "settings.evidence_required[1]: unknown category 'weather'",
        id="evidence",
    ),
    pytest.param(
        'localities: ["18073"]',
        'localitys: ["18073"]',
        19,
        "officials[0].localitys: unknown field",
        id="typo-field",
    ),
    pytest.param(
        "    name: Lê Văn Cường\n", "", 27, "officials[2].name: required field is missing", id="missing-field"
    ),
    pytest.param(
        "  - id: boss", "  - id: Boss", 33, "officials[3].id: String should match pattern", id="bad-id"
    ),
    pytest.param(
        "  - id: boss",
        "  - id: " + "b" * 25,
        33,
        "officials[3].id: String should match pattern",
        id="long-id",
    ),
    pytest.param("role: admin", "role: mayor", 37, "officials[3].role: Input should be", id="bad-role"),
    pytest.param("kind: board", "kind: ministry", 12, "units[1].kind: Input should be", id="bad-kind"),
    pytest.param(
        "telegram_id: 1001", "telegram_id: abc", 20, "officials[0].telegram_id: Input should be", id="bad-tg"
    ),
    pytest.param(
        "telegram_id: 1001",
        "telegram_id: -5",
        20,
        "officials[0].telegram_id: Input should be greater than 0",
        id="negative-tg",
    ),
    pytest.param(
        "format_version: 1", "format_version: 2", 1, "format_version: Input should be 1", id="version"
    ),
    pytest.param(
        "    title: Chủ tịch\n",
        "    title: Chủ tịch\n    title: Phó\n",
        24,
        "officials[1].title: 'title' is given twice",
        id="duplicate-key",
    ),
    pytest.param("templates: [", "templates: [[", None, "invalid YAML", id="yaml-syntax"),
]


@pytest.mark.parametrize(("old", "new", "line", "expected"), BROKEN)
def test_error_names_line_and_field(
    directory: Directory, old: str, new: str, line: int | None, expected: str
) -> None:
    assert BASE.count(old) >= 1
    with pytest.raises(OfficialsDirectoryError) as info:
        parse(BASE.replace(old, new, 1), directory)
    message = str(info.value)
    assert expected in message
    assert message.startswith(f"officials.yaml line {line if line is not None else ''}"), message
    if line is not None:
        assert message.startswith(f"officials.yaml line {line}: "), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "officials.yaml line 1: the file must be a YAML mapping"),
        ("- a\n- b\n", "officials.yaml line 1: the file must be a YAML mapping"),
        ("format_version: 1\n", "officials.yaml line 1: settings: required field is missing (and 2 more"),
        ("a: 1\n---\nb: 2\n", "invalid YAML"),
    ],
)
def test_whole_file_errors(directory: Directory, text: str, expected: str) -> None:
    with pytest.raises(OfficialsDirectoryError) as info:
        parse(text, directory)
    assert expected in str(info.value)


def test_missing_file(tmp_path: Path, directory: Directory) -> None:
    with pytest.raises(OfficialsDirectoryError, match="file not found"):
        load_officials_directory(tmp_path / "nope.yaml", directory)


def test_error_names_the_file(tmp_path: Path, directory: Directory) -> None:
    path = tmp_path / "my-officials.yaml"
    path.write_text(BASE.replace('["18073"]', '["99999"]'), encoding="utf-8")
    with pytest.raises(
        OfficialsDirectoryError, match=r"^my-officials\.yaml line 19: officials\[0\]\.localities\[0\]"
    ):
        load_officials_directory(path, directory)
