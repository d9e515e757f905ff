"""The province directory: localities (current and pre-2025), petition categories, emergency numbers.

Contract:
* ``Directory.load(path)`` reads a province YAML file (format in ``bot/provinces/README.md``) and the CSV
  files it names, validates everything, and builds the search indexes once; any problem raises
  ``DirectoryError`` whose message names the file, the line and the field. A loaded ``Directory`` is
  immutable and safe to share between tasks.
* Locality codes are only meaningful together with ``version_date``: codes of the 2025 units reuse codes of
  former units for different territory (18073 was Phường Nam Hà, is now Phường Thành Sen), so former units
  (``FormerUnit``) are never returned by ``locality()``.
* ``search_localities`` accepts what citizens type: current names, former commune and district names,
  with or without diacritics or administrative prefixes, either tone placement. It never raises and returns
  no match for empty or prefix-only queries.
* Pure: no Telegram, no network, no clock; the only I/O is reading the files given to ``load``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Final, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.vietnamese import Syllable, nfc, search_tokens, sort_key
from bot.domain.yaml_lines import dotted, line_of, text_lines

__all__ = [
    "CATEGORY_KEYS",
    "LOCALITY_KINDS",
    "Category",
    "Directory",
    "DirectoryError",
    "EmergencyNumber",
    "FormerUnit",
    "Locality",
    "LocalityMatch",
    "LocalitySearch",
    "LocalizedText",
    "PetitionType",
]

#: The kinds of current commune-level units (the ``type`` column of the units CSV).
LOCALITY_KINDS: Final[tuple[str, ...]] = ("xã", "phường", "đặc khu")
#: The category keys the bot knows (translations and routing refer to them); a province file may use a
#: subset, in its own order, but no other key.
CATEGORY_KEYS: Final[tuple[str, ...]] = (
    "land",
    "compensation",
    "construction",
    "infrastructure",
    "environment",
    "agriculture",
    "utilities",
    "disaster",
    "security",
    "welfare",
    "health",
    "education",
    "procedures",
    "conduct",
    "other",
)
_FORMER_COMMUNE_PREFIXES: Final[tuple[str, ...]] = ("Thị trấn", "Phường", "Xã", "Đặc khu")
_DISTRICT_PREFIXES: Final[tuple[str, ...]] = ("Thành phố", "Thị xã", "Huyện", "Quận")


class DirectoryError(ValueError):
    """The province file or one of its CSV files is missing or invalid (the message says where)."""


# --------------------------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Locality:
    """A current (2025) commune-level unit: ``kind`` is "xã", "phường" or "đặc khu"."""

    code: str
    name: str
    kind: str
    version_date: date

    @property
    def short_name(self) -> str:
        """The name without its kind prefix ("Phường Thành Sen" → "Thành Sen")."""
        return _strip_prefix(self.name, (self.kind,))[1]


@dataclass(frozen=True, slots=True)
class FormerUnit:
    """A pre-2025 commune-level unit and the current unit codes its territory went to."""

    code: str
    name: str
    district_code: str
    district_name: str
    successors: tuple[str, ...]

    @property
    def is_split(self) -> bool:
        """Whether the territory went to several current units (the citizen must say which part)."""
        return len(self.successors) > 1


@dataclass(frozen=True, slots=True)
class Category:
    """A petition category; ``is_urgent`` ones (disasters, security) also show the emergency numbers."""

    key: str
    name_vi: str
    name_en: str
    is_urgent: bool
    emoji: str = ""

    def name(self, lang: str) -> str:
        """The name in ``lang`` ("vi" → Vietnamese, anything else → English)."""
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True, slots=True)
class EmergencyNumber:
    """A national emergency number with its service name."""

    number: str
    vi: str
    en: str

    def label(self, lang: str) -> str:
        """The service name in ``lang`` ("vi" → Vietnamese, anything else → English)."""
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """A short text in Vietnamese and English."""

    vi: str
    en: str

    def text(self, lang: str) -> str:
        """The text in ``lang`` ("vi" → Vietnamese, anything else → English)."""
        return self.vi if lang == "vi" else self.en


class PetitionType(StrEnum):
    """What the citizen is sending (Luật Tiếp công dân / Luật Khiếu nại / Luật Tố cáo vocabulary)."""

    REPORT = "report"  # phản ánh
    PROPOSAL = "proposal"  # kiến nghị
    QUESTION = "question"  # hỏi đáp
    SUGGESTION = "suggestion"  # góp ý
    COMPLAINT = "complaint"  # khiếu nại
    DENUNCIATION = "denunciation"  # tố cáo

    @property
    def is_formal(self) -> bool:
        """Complaints and denunciations follow a statutory procedure that is explained before continuing."""
        return self in (PetitionType.COMPLAINT, PetitionType.DENUNCIATION)


@dataclass(frozen=True, slots=True)
class LocalityMatch:
    """One search result; ``via``/``via_district`` say which former commune/district name matched."""

    locality: Locality
    via: FormerUnit | None = None
    via_district: str | None = None


@dataclass(frozen=True, slots=True)
class LocalitySearch:
    """Search results, best first; when ``split`` is set the caller must ask which of ``matches`` applies."""

    query: str
    matches: tuple[LocalityMatch, ...]
    split: FormerUnit | None
    total: int


# ------------------------------------------------------------------------------------ search internals

_EXACT: Final = 0
_PREFIX: Final = 1
_PARTIAL: Final = 2
_CURRENT: Final = 0
_FORMER: Final = 1
_DISTRICT: Final = 2

# Administrative prefixes as folded token sequences → the kind they announce (longest first).
_QUERY_PREFIXES: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (("thi", "tran"), "thi tran"),
    (("thi", "xa"), "thi xa"),
    (("thanh", "pho"), "thanh pho"),
    (("dac", "khu"), "dac khu"),
    (("xa",), "xa"),
    (("phuong",), "phuong"),
    (("huyen",), "huyen"),
    (("tp",), "thanh pho"),
    (("tx",), "thi xa"),
    (("tt",), "thi tran"),
    (("x",), "xa"),
    (("p",), "phuong"),
    (("h",), "huyen"),
)
_DISTRICT_KINDS: Final[frozenset[str]] = frozenset({"huyen", "thi xa", "thanh pho", "quan"})
_FILLER_WORDS: Final[frozenset[str]] = frozenset({"cu", "moi"})  # "xã Cẩm Lộc cũ", "... mới"
_SEGMENT_BREAKS: Final[dict[int, str]] = str.maketrans(dict.fromkeys(",;/|()[]\n\t-–—:", ","))
_TONES: Final[frozenset[str]] = frozenset("12345")


def _split_tone(token: str) -> tuple[str, str]:
    if len(token) > 1 and token[-1] in _TONES and token[-2].isalpha():
        return token[:-1], token[-1]
    return token, ""


@dataclass(frozen=True, slots=True)
class _Key:
    fold: tuple[str, ...]
    canon: tuple[str, ...]
    canon_split: tuple[tuple[str, str], ...]
    joined: str

    @classmethod
    def of(cls, tokens: Sequence[Syllable]) -> _Key:
        return cls(
            fold=tuple(t.fold for t in tokens),
            canon=tuple(t.canon for t in tokens),
            canon_split=tuple(_split_tone(t.canon) for t in tokens),
            joined="".join(t.fold for t in tokens),
        )


@dataclass(frozen=True, slots=True)
class _Part:
    """One piece of a query (between separators/prefixes), with the prefix kind typed before it."""

    tokens: tuple[Syllable, ...]
    hint: str | None
    key: _Key
    marked: bool

    @classmethod
    def of(cls, tokens: Sequence[Syllable], hint: str | None) -> _Part:
        return cls(tuple(tokens), hint, _Key.of(tokens), any(t.fold != t.canon for t in tokens))

    def sub(self, start: int, stop: int, hint: str | None) -> _Part:
        return _Part.of(self.tokens[start:stop], hint)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: _Key
    source: int
    kind: str  # folded kind: "xa", "phuong", "thi tran", "huyen", ...
    order: int
    localities: tuple[Locality, ...]
    former: FormerUnit | None
    district_name: str | None


_Hit = tuple[tuple[int, int, int, int], _Entry]


@dataclass(frozen=True, slots=True)
class _District:
    code: str
    name: str
    kind: str
    key: _Key
    entries: tuple[_Entry, ...]  # its former communes and the current units they went to


def _quality(part: _Part, key: _Key, canon: bool) -> int | None:
    """How well ``part`` matches ``key``: exact, prefix, partial (token/substring) or not at all."""
    q = part.key.canon if canon else part.key.fold
    k = key.canon if canon else key.fold
    if q == k:
        return _EXACT
    n = len(q)
    if canon:
        last_base, last_tone = part.key.canon_split[-1]
        starts = [b.startswith(last_base) and (not last_tone or last_tone == t) for b, t in key.canon_split]
    else:
        last = q[-1]
        starts = [token.startswith(last) for token in k]
    if n <= len(k) and q[: n - 1] == k[: n - 1] and starts[n - 1]:
        return _PREFIX
    if not canon:
        joined = part.key.joined
        if joined == key.joined:
            return _EXACT
        if len(joined) >= 3 and key.joined.startswith(joined):
            return _PREFIX
    if any(starts) and all(token in k for token in q[:-1]):
        return _PARTIAL
    if not canon and len(part.key.joined) >= 4 and part.key.joined in key.joined:
        return _PARTIAL
    return None


def _rank(part: _Part, entries: Iterable[_Entry], canon: bool) -> list[_Hit]:
    hits: list[_Hit] = []
    for entry in entries:
        quality = _quality(part, entry.key, canon)
        if quality is not None:
            mismatch = 0 if part.hint is None or part.hint == entry.kind else 1
            hits.append(((quality, mismatch, entry.source, entry.order), entry))
    hits.sort(key=lambda hit: hit[0])
    return hits


def _match(part: _Part, entries: Sequence[_Entry]) -> list[_Hit]:
    """Rank by canonical form when the query has diacritics, falling back to folded when that is worse."""
    accented: list[_Hit] = []
    if part.marked:
        accented = _rank(part, entries, canon=True)
        if accented and accented[0][0][0] == _EXACT:
            return accented
    folded = _rank(part, entries, canon=False)
    if accented and (not folded or accented[0][0][0] <= folded[0][0][0]):
        return accented
    return folded


# --------------------------------------------------------------------------------------- file models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class _ProvinceModel(_Model):
    code: str = Field(pattern=r"^\d{2}$")
    name: str = Field(min_length=1)
    ticket_prefix: str = Field(pattern=r"^[A-Z]{1,6}$")
    timezone: str = Field(min_length=1)


class _UnitsModel(_Model):
    file: str = Field(min_length=1)
    version_date: date


class _FormerUnitsModel(_Model):
    file: str = Field(min_length=1)


class _CategoryModel(_Model):
    key: str = Field(pattern=r"^[a-z][a-z_]*$")
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)
    urgent: bool = False
    emoji: str = ""


class _EmergencyModel(_Model):
    number: str = Field(pattern=r"^\d{2,6}$")
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _TextModel(_Model):
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _ProvinceFile(_Model):
    format_version: Literal[1]
    province: _ProvinceModel
    units: _UnitsModel
    former_units: _FormerUnitsModel | None = None
    categories: list[_CategoryModel] = Field(min_length=1)
    emergency_numbers: list[_EmergencyModel] = Field(default_factory=list)
    other_channels: list[_TextModel] = Field(default_factory=list)


def _clean(text: str) -> str:
    return " ".join(nfc(text).split())


def _strip_prefix(name: str, prefixes: Iterable[str]) -> tuple[str | None, str]:
    """Split "Xã Cẩm Lộc" into ("Xã", "Cẩm Lộc"), case-insensitively; (None, name) if no prefix fits."""
    lowered = name.casefold()
    for prefix in prefixes:
        head = prefix.casefold() + " "
        if lowered.startswith(head) and len(name) > len(head):
            return name[: len(head) - 1], name[len(head) :].strip()
    return None, name


def _fold_kind(prefix: str | None) -> str:
    return " ".join(t.fold for t in search_tokens(prefix)) if prefix else ""


class _CsvReader:
    """Reads a UTF-8 CSV file with a header, reporting errors as "<file> line N: ..."."""

    def __init__(self, path: Path, required: Sequence[str]) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise DirectoryError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DirectoryError(f"{path}: cannot read ({exc})") from None
        self.reader = csv.reader(text.splitlines())
        header = next(self.reader, None)
        if header is None:
            self.fail(1, "the file is empty (a header line is required)")
        self.columns = [column.strip() for column in header]
        for column in required:
            if column not in self.columns:
                self.fail(1, f"missing column '{column}' (expected {','.join(required)})")

    def fail(self, line: int, message: str) -> NoReturn:
        raise DirectoryError(f"{self.path.name} line {line}: {message}")

    def rows(self) -> Iterable[tuple[int, dict[str, str]]]:
        for row in self.reader:
            line = self.reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(self.columns):
                self.fail(line, f"expected {len(self.columns)} fields, found {len(row)}")
            yield line, {column: _clean(cell) for column, cell in zip(self.columns, row, strict=True)}


def _check_code(reader: _CsvReader, line: int, field: str, value: str, digits: int | None = 5) -> str:
    ok = value.isascii() and value.isdigit() and (digits is None or len(value) == digits)
    if not ok:
        reader.fail(
            line,
            f"{field} '{value}' must be {digits} digits" if digits else f"{field} '{value}' must be digits",
        )
    return value


# ------------------------------------------------------------------------------------------ directory

_DEFAULT_FILE: Final[Path] = Path(__file__).resolve().parent.parent / "provinces" / "hatinh" / "province.yaml"
_default_cache: list[Directory] = []


class Directory:
    """One province: its current localities, former units, categories and contact information."""

    __slots__ = (
        "_categories_by_key",
        "_district_entries",
        "_districts",
        "_entries",
        "_localities_by_code",
        "_province_key",
        "_strict_prefixes",
        "categories",
        "emergency_numbers",
        "former_units",
        "localities",
        "other_channels",
        "province_code",
        "province_name",
        "ticket_prefix",
        "timezone",
        "version_date",
    )

    def __init__(
        self,
        *,
        province_code: str,
        province_name: str,
        ticket_prefix: str,
        timezone: str,
        version_date: date,
        localities: Iterable[Locality],
        former_units: Iterable[FormerUnit] = (),
        categories: Iterable[Category] = (),
        emergency_numbers: Iterable[EmergencyNumber] = (),
        other_channels: Iterable[LocalizedText] = (),
    ) -> None:
        self.province_code = province_code
        self.province_name = province_name
        self.ticket_prefix = ticket_prefix
        self.timezone = timezone
        self.version_date = version_date
        self.localities: tuple[Locality, ...] = tuple(
            sorted(localities, key=lambda loc: (*sort_key(loc.short_name), loc.code))
        )
        self.former_units: tuple[FormerUnit, ...] = tuple(former_units)
        self.categories: tuple[Category, ...] = tuple(categories)
        self.emergency_numbers: tuple[EmergencyNumber, ...] = tuple(emergency_numbers)
        self.other_channels: tuple[LocalizedText, ...] = tuple(other_channels)
        self._localities_by_code = {loc.code: loc for loc in self.localities}
        self._categories_by_key = {cat.key: cat for cat in self.categories}
        self._province_key = _Key.of(search_tokens(_strip_prefix(province_name, ("Tỉnh",))[1]))
        self._build_indexes()

    # ------------------------------------------------------------------ index building

    def _build_indexes(self) -> None:
        entries: list[_Entry] = []
        for order, loc in enumerate(self.localities):
            kind = _fold_kind(loc.kind)
            entries.append(
                _Entry(_Key.of(search_tokens(loc.short_name)), _CURRENT, kind, order, (loc,), None, None)
            )
        current_entry = {entry.localities[0].code: entry for entry in entries}

        def successors(codes: Iterable[str]) -> tuple[Locality, ...]:
            found = {
                code: self._localities_by_code[code] for code in codes if code in self._localities_by_code
            }
            return tuple(sorted(found.values(), key=lambda loc: (*sort_key(loc.short_name), loc.code)))

        by_district: dict[str, list[FormerUnit]] = {}
        formers = sorted(
            self.former_units,
            key=lambda unit: (*sort_key(_strip_prefix(unit.name, _FORMER_COMMUNE_PREFIXES)[1]), unit.code),
        )
        former_entries: dict[str, _Entry] = {}
        for order, unit in enumerate(formers):
            prefix, short = _strip_prefix(unit.name, _FORMER_COMMUNE_PREFIXES)
            entry = _Entry(
                _Key.of(search_tokens(short)),
                _FORMER,
                _fold_kind(prefix),
                order,
                successors(unit.successors),
                unit,
                None,
            )
            former_entries[unit.code] = entry
            entries.append(entry)
            by_district.setdefault(unit.district_code, []).append(unit)

        districts: list[_District] = []
        district_units = sorted(
            by_district.values(),
            key=lambda units: (
                *sort_key(_strip_prefix(units[0].district_name, _DISTRICT_PREFIXES)[1]),
                units[0].district_code,
            ),
        )
        for order, units in enumerate(district_units):
            name = units[0].district_name
            prefix, short = _strip_prefix(name, _DISTRICT_PREFIXES)
            locs = successors(code for unit in units for code in unit.successors)
            key = _Key.of(search_tokens(short))
            kind = _fold_kind(prefix)
            entries.append(_Entry(key, _DISTRICT, kind, order, locs, None, name))
            scoped = [former_entries[unit.code] for unit in units]
            scoped += [current_entry[loc.code] for loc in locs]
            districts.append(_District(units[0].district_code, name, kind, key, tuple(scoped)))
        self._entries: tuple[_Entry, ...] = tuple(entries)
        self._districts: tuple[_District, ...] = tuple(districts)

        # Prefix words that also occur inside a name are only taken as prefixes at the start of a segment.
        strict: set[tuple[str, ...]] = set()
        for words, _kind in (*_QUERY_PREFIXES, *(((w,), "") for w in _FILLER_WORDS)):
            for entry in entries:
                fold = entry.key.fold
                if any(fold[i : i + len(words)] == words for i in range(len(fold))):
                    strict.add(words)
                    break
        self._strict_prefixes: frozenset[tuple[str, ...]] = frozenset(strict)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path) -> Directory:
        """Read and validate a province YAML file and its CSV files; raise DirectoryError on any problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise DirectoryError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DirectoryError(f"{path}: cannot read ({exc})") from None
        try:
            raw = yaml.safe_load(text)
            lines, _repeated = text_lines(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise DirectoryError(f"{path.name}{where}: invalid YAML: {problem}") from None

        def fail(loc: Sequence[str | int], message: str) -> DirectoryError:
            line = line_of(lines, loc)
            where = f" line {line}" if line is not None else ""
            field = f" {dotted(loc)}:" if loc else ""
            return DirectoryError(f"{path.name}{where}:{field} {message}")

        if not isinstance(raw, dict):
            raise fail((), "the file must be a YAML mapping (format_version, province, units, ...)")
        try:
            model = _ProvinceFile.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors()
            first = errors[0]
            message = str(fail(first["loc"], first["msg"]))
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more problem(s))"
            raise DirectoryError(message) from None

        try:
            ZoneInfo(model.province.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            if available_timezones():  # only judge when a time zone database is installed
                raise fail(
                    ("province", "timezone"), f"unknown time zone '{model.province.timezone}'"
                ) from None

        categories: list[Category] = []
        seen_keys: set[str] = set()
        for index, cat in enumerate(model.categories):
            if cat.key not in CATEGORY_KEYS:
                raise fail(
                    ("categories", index, "key"),
                    f"unknown category key '{cat.key}' (known: {', '.join(CATEGORY_KEYS)})",
                )
            if cat.key in seen_keys:
                raise fail(("categories", index, "key"), f"duplicate category key '{cat.key}'")
            seen_keys.add(cat.key)
            categories.append(
                Category(cat.key, _clean(cat.vi), _clean(cat.en), cat.urgent, cat.emoji.strip())
            )
        numbers: set[str] = set()
        for index, number in enumerate(model.emergency_numbers):
            if number.number in numbers:
                raise fail(("emergency_numbers", index, "number"), f"duplicate number '{number.number}'")
            numbers.add(number.number)

        base = path.parent
        localities = _read_units(base / model.units.file, model.units.version_date)
        former: list[FormerUnit] = []
        if model.former_units is not None:
            former = _read_former_units(base / model.former_units.file, localities, model.units.file)
        return cls(
            province_code=model.province.code,
            province_name=_clean(model.province.name),
            ticket_prefix=model.province.ticket_prefix,
            timezone=model.province.timezone,
            version_date=model.units.version_date,
            localities=localities.values(),
            former_units=former,
            categories=categories,
            emergency_numbers=(
                EmergencyNumber(n.number, _clean(n.vi), _clean(n.en)) for n in model.emergency_numbers
            ),
            other_channels=(LocalizedText(_clean(t.vi), _clean(t.en)) for t in model.other_channels),
        )

    @staticmethod
    def default_path() -> Path:
        """Where the shipped Hà Tĩnh province file is."""
        return _DEFAULT_FILE

    @classmethod
    def default(cls) -> Directory:
        """The shipped Hà Tĩnh directory (loaded once, then shared)."""
        if not _default_cache:
            _default_cache.append(cls.load(_DEFAULT_FILE))
        return _default_cache[0]

    # ------------------------------------------------------------------ look-ups

    def locality(self, code: str) -> Locality | None:
        """The current locality with this code, or None (former units are never returned)."""
        return self._localities_by_code.get(code)

    def category(self, key: str) -> Category | None:
        """The category with this key, or None."""
        return self._categories_by_key.get(key)

    def localities_page(self, page: int, per_page: int = 8) -> tuple[tuple[Locality, ...], int]:
        """Localities of the 0-based ``page`` (clamped into range) and the number of pages (at least 1)."""
        if per_page < 1:
            raise ValueError("per_page must be at least 1")
        page_count = max(1, -(-len(self.localities) // per_page))
        page = min(max(page, 0), page_count - 1)
        return self.localities[page * per_page : (page + 1) * per_page], page_count

    # ------------------------------------------------------------------ search

    def search_localities(self, query: str, limit: int = 8) -> LocalitySearch:
        """Find current localities by current or former (commune/district) name; best first."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        parts = self._parse(query)
        if not parts:
            return LocalitySearch(query, (), None, 0)
        if len(parts) == 1:
            part = parts[0]
            hits = _match(part, self._entries)
            if hits and hits[0][0][0] == _EXACT:
                return self._result(query, hits, limit)
            combined = self._split_single(part)
            if combined:
                return self._result(query, combined, limit)
            if not hits:
                trimmed = self._without_province(part)
                if trimmed is not None:
                    inner = self.search_localities(" ".join(t.canon for t in trimmed.tokens), limit)
                    return replace(inner, query=query)
            return self._result(query, hits, limit)
        combined = self._combine(parts)
        if combined:
            return self._result(query, combined, limit)
        commune_first = sorted(
            parts, key=lambda p: 2 if p.hint in _DISTRICT_KINDS else (1 if p.hint is None else 0)
        )
        for part in commune_first:
            hits = _match(part, self._entries)
            if hits:
                return self._result(query, hits, limit)
        return LocalitySearch(query, (), None, 0)

    def _parse(self, query: str) -> list[_Part]:
        """Split a query into parts at separators and administrative prefixes, dropping the province."""
        parts: list[_Part] = []
        province = self._province_key.fold
        for segment in query.translate(_SEGMENT_BREAKS).split(","):
            tokens = search_tokens(segment)
            folds = tuple(t.fold for t in tokens)
            current: list[Syllable] = []
            hint: str | None = None
            i = 0
            while i < len(tokens):
                if folds[i] == "tinh" and province and folds[i + 1 : i + 1 + len(province)] == province:
                    if current:
                        parts.append(_Part.of(current, hint))
                    current, hint = [], None
                    i += 1 + len(province)
                    continue
                found = self._prefix_at(folds, i)
                if found is not None:
                    words, kind = found
                    if current:
                        parts.append(_Part.of(current, hint))
                    current, hint = [], kind
                    i += len(words)
                    continue
                if folds[i] in _FILLER_WORDS and current and (folds[i],) not in self._strict_prefixes:
                    i += 1
                    continue
                current.append(tokens[i])
                i += 1
            if current:
                parts.append(_Part.of(current, hint))
        return [part for part in parts if len(part.key.joined) >= 2]

    def _prefix_at(self, folds: tuple[str, ...], i: int) -> tuple[tuple[str, ...], str] | None:
        for words, kind in _QUERY_PREFIXES:
            if folds[i : i + len(words)] == words and (i == 0 or words not in self._strict_prefixes):
                return words, kind
        return None

    def _without_province(self, part: _Part) -> _Part | None:
        province = self._province_key.fold
        n = len(province)
        if n and len(part.tokens) > n and part.key.fold[-n:] == province:
            return part.sub(0, len(part.tokens) - n, part.hint)
        return None

    def _in_district(self, commune: _Part, district: _Part, exact: bool) -> list[_Hit]:
        """Matches of ``commune`` among the units of the former district(s) named exactly by ``district``."""
        named = [d for d in self._districts if d.key.fold == district.key.fold]
        if district.hint in _DISTRICT_KINDS and any(d.kind == district.hint for d in named):
            named = [d for d in named if d.kind == district.hint]
        if not named:
            return []
        scoped = list({id(e): e for d in named for e in d.entries}.values())
        hits = _match(commune, scoped)
        if exact and hits and hits[0][0][0] != _EXACT:
            return []
        return hits

    def _split_single(self, part: _Part) -> list[_Hit]:
        """Read "Cẩm Lộc Cẩm Xuyên" as a commune followed (or preceded) by a former district."""
        n = len(part.tokens)
        for cut in range(n - 1, 0, -1):
            hits = self._in_district(part.sub(0, cut, part.hint), part.sub(cut, n, None), exact=True)
            if hits:
                return hits
        for cut in range(1, n):
            hits = self._in_district(part.sub(cut, n, None), part.sub(0, cut, part.hint), exact=True)
            if hits:
                return hits
        return []

    def _combine(self, parts: Sequence[_Part]) -> list[_Hit]:
        """Read two parts as commune + former district, preferring the part typed with a district prefix."""
        pairs = [(i, j) for i in range(len(parts)) for j in range(len(parts)) if i != j]
        pairs.sort(key=lambda ij: (parts[ij[1]].hint not in _DISTRICT_KINDS, ij[1] < ij[0], ij))
        for i, j in pairs:
            hits = self._in_district(parts[i], parts[j], exact=False)
            if hits:
                return hits
        return []

    @staticmethod
    def _result(query: str, hits: Sequence[_Hit], limit: int) -> LocalitySearch:
        if not hits:
            return LocalitySearch(query, (), None, 0)
        (quality, _, _, _), best = hits[0]
        if best.former is not None and best.former.is_split and (quality == _EXACT or len(hits) == 1):
            parts = tuple(LocalityMatch(loc, best.former, None) for loc in best.localities)
            return LocalitySearch(query, parts[:limit], best.former, len(parts))
        seen: set[str] = set()
        matches: list[LocalityMatch] = []
        for _, entry in hits:
            for loc in entry.localities:
                if loc.code not in seen:
                    seen.add(loc.code)
                    matches.append(LocalityMatch(loc, entry.former, entry.district_name))
        return LocalitySearch(query, tuple(matches[:limit]), None, len(matches))


# ----------------------------------------------------------------------------------------- CSV files


def _read_units(path: Path, version_date: date) -> dict[str, Locality]:
    reader = _CsvReader(path, ("code", "name", "type"))
    units: dict[str, Locality] = {}
    first_line: dict[str, int] = {}
    names: dict[str, int] = {}
    for line, row in reader.rows():
        code = _check_code(reader, line, "code", row["code"])
        kind = row["type"].lower()
        if kind not in LOCALITY_KINDS:
            reader.fail(line, f"type '{row['type']}' must be one of {', '.join(LOCALITY_KINDS)}")
        name = row["name"]
        prefix, short = _strip_prefix(name, (kind,))
        if prefix is None or not short:
            reader.fail(line, f"name '{name}' must start with its type ('{kind.capitalize()} ...')")
        if code in units:
            reader.fail(line, f"duplicate code '{code}' (first on line {first_line[code]})")
        folded = " ".join(t.canon for t in search_tokens(name))
        if folded in names:
            reader.fail(line, f"duplicate name '{name}' (first on line {names[folded]})")
        units[code] = Locality(code, name, kind, version_date)
        first_line[code] = line
        names[folded] = line
    if not units:
        reader.fail(2, "no units (at least one row is required)")
    return units


_FORMER_COLUMNS: Final[tuple[str, ...]] = (
    "old_district_code",
    "old_district",
    "old_code",
    "old_name",
    "new_code",
    "new_name",
    "merge_type",
)


def _read_former_units(path: Path, units: Mapping[str, Locality], units_file: str) -> list[FormerUnit]:
    reader = _CsvReader(path, _FORMER_COLUMNS)
    rows: dict[str, list[tuple[int, dict[str, str]]]] = {}
    districts: dict[str, tuple[str, int]] = {}
    for line, row in reader.rows():
        old_code = _check_code(reader, line, "old_code", row["old_code"])
        district_code = _check_code(reader, line, "old_district_code", row["old_district_code"], None)
        new_code = _check_code(reader, line, "new_code", row["new_code"])
        for field in ("old_name", "old_district"):
            if not row[field]:
                reader.fail(line, f"{field} is empty")
        unit = units.get(new_code)
        if unit is None:
            reader.fail(line, f"new_code '{new_code}' is not a unit in {units_file}")
        if row["new_name"] and nfc(row["new_name"]) != unit.name:
            reader.fail(line, f"new_name '{row['new_name']}' does not match {units_file} ('{unit.name}')")
        if row["merge_type"] not in ("full", "partial"):
            reader.fail(line, f"merge_type '{row['merge_type']}' must be 'full' or 'partial'")
        known = districts.setdefault(district_code, (row["old_district"], line))
        if known[0] != row["old_district"]:
            reader.fail(
                line, f"old_district '{row['old_district']}' differs from line {known[1]} ('{known[0]}')"
            )
        previous = rows.setdefault(old_code, [])
        if previous:
            first_line, first = previous[0]
            for field in ("old_name", "old_district_code"):
                if row[field] != first[field]:
                    reader.fail(
                        line,
                        f"{field} '{row[field]}' for old_code '{old_code}' differs from line {first_line}",
                    )
            if any(r["new_code"] == new_code for _, r in previous):
                reader.fail(line, f"duplicate row for old_code '{old_code}' → new_code '{new_code}'")
            if "full" in (row["merge_type"], first["merge_type"]):
                reader.fail(
                    line, f"old_code '{old_code}' has several successors: merge_type must be 'partial'"
                )
        previous.append((line, row))
    return [
        FormerUnit(
            code=code,
            name=group[0][1]["old_name"],
            district_code=group[0][1]["old_district_code"],
            district_name=group[0][1]["old_district"],
            successors=tuple(row["new_code"] for _, row in group),
        )
        for code, group in rows.items()
    ]
