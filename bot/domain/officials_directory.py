"""The officials directory file: units, officials and routing settings in one YAML file.

Contract:
* ``load_officials_directory(path, directory)`` reads the file (format in ``bot/provinces/OFFICIALS.md``),
  validates all of it against the province ``directory`` and returns an immutable ``OfficialsDirectory``
  of storage models; the first problem raises ``OfficialsDirectoryError`` whose message names the file,
  the line and the field, e.g. ``officials.yaml line 42: officials[3].unit: unknown unit 'ubnd-x'``.
* ``dump_officials_directory`` writes units, officials and settings back in the same format; its output
  loads again into equal models (the ``fallback`` flag is written from ``settings``).
* ``import_directory`` / ``export_directory`` move a directory file into / out of Redis (used by
  ``tiengdan directory import|export``). The import is all or nothing: nothing is written unless the
  whole file is valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import redis.asyncio as aioredis
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from bot.domain.directory import Directory
from bot.domain.vietnamese import nfc
from bot.domain.yaml_lines import Loc, dotted, line_of, node_lines
from storage.keys import Keys
from storage.models import Official, Role, Unit, UnitKind
from storage.officials import DirectorySettings, OfficialRepository

__all__ = [
    "FORMAT_VERSION",
    "OfficialsDirectory",
    "OfficialsDirectoryError",
    "dump_officials_directory",
    "export_directory",
    "import_directory",
    "load_officials_directory",
    "parse_officials_directory",
]

FORMAT_VERSION: Final = 1
_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,23}$"
_SUPERVISING_ROLES: Final = frozenset({Role.SUPERVISOR, Role.ADMIN})


class OfficialsDirectoryError(ValueError):
    """The officials directory file is missing or invalid (the message names the file, line and field)."""


@dataclass(frozen=True)
class OfficialsDirectory:
    """A validated officials directory, as the storage models Redis keeps."""

    units: tuple[Unit, ...]
    officials: tuple[Official, ...]
    settings: DirectorySettings

    @property
    def fallback(self) -> Official:
        """The fallback desk (validated to exist)."""
        return next(o for o in self.officials if o.id == self.settings.fallback_official_id)

    def summary(self, verb: str = "imported") -> str:
        """One line for the CLI: "imported 14 officials in 7 units; fallback desk: desk-ht"."""
        return (
            f"{verb} {len(self.officials)} officials in {len(self.units)} units; "
            f"fallback desk: {self.settings.fallback_official_id}"
        )


# --------------------------------------------------------------------------------------- file models

_Text = Annotated[str, Field(min_length=1)]
_Id = Annotated[str, Field(pattern=_ID_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_list(cls, value: object, info: ValidationInfo) -> object:
        # "templates:" with nothing after it is YAML null; read it as an empty list.
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        if value is None and field is not None and field.default_factory is list:
            return []
        return value


class _UnitModel(_Model):
    key: _Id
    name: _Text
    kind: UnitKind
    templates: list[_Text] = Field(default_factory=list)


class _OfficialModel(_Model):
    id: _Id
    name: _Text
    title: _Text
    unit: _Text
    role: Role = Role.OFFICIAL
    supervisor: _Text | None = None
    localities: list[_Text] = Field(default_factory=list)
    categories: list[_Text] = Field(default_factory=list)
    priority: int = 0
    active: bool = True
    fallback: bool = False
    telegram_id: Annotated[int, Field(gt=0)] | None = None
    team_chat_id: int | None = None


class _SettingsModel(_Model):
    fallback: _Id
    evidence_required: list[_Text] = Field(default_factory=list)


class _FileModel(_Model):
    format_version: Literal[1]
    settings: _SettingsModel
    units: list[_UnitModel] = Field(min_length=1)
    officials: list[_OfficialModel] = Field(min_length=1)


# ------------------------------------------------------------------------------------------- lines


class _Source:
    """The parsed file with the line of every key and list item, for error messages."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.lines: dict[Loc, int] = {}
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            self.lines, repeated = node_lines(node)
            if repeated:
                (child, line), key = repeated[0], repeated[0][0][-1]
                raise OfficialsDirectoryError(f"{name} line {line}: {dotted(child)}: '{key}' is given twice")
            self.data: object = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise OfficialsDirectoryError(f"{name}{where}: invalid YAML: {problem}") from None
        finally:
            loader.dispose()

    def error(self, loc: Sequence[str | int], message: str) -> OfficialsDirectoryError:
        """An error at ``loc`` (the nearest enclosing key that has a line gives the line)."""
        line = line_of(self.lines, loc)
        where = f" line {line}" if line is not None else " line 1"
        field = f" {dotted(loc)}:" if loc else ""
        return OfficialsDirectoryError(f"{self.name}{where}:{field} {message}")


def _pydantic_message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field (see bot/provinces/OFFICIALS.md for the fields)"
    if kind == "missing":
        return "required field is missing"
    return str(error.get("msg", "invalid value"))


# ------------------------------------------------------------------------------------------ loading


def _clean(text: str) -> str:
    return " ".join(nfc(text).split())


def parse_officials_directory(
    text: str, directory: Directory, *, name: str = "officials.yaml"
) -> OfficialsDirectory:
    """Validate the text of an officials directory file; errors are reported against ``name``."""
    return _parse(text, directory, name)[0]


def load_officials_directory(path: Path, directory: Directory) -> OfficialsDirectory:
    """Read and validate an officials directory file; raise OfficialsDirectoryError on any problem."""
    path = Path(path)
    return _parse(_read(path), directory, path.name)[0]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise OfficialsDirectoryError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OfficialsDirectoryError(f"{path}: cannot read ({exc})") from None


def _parse(text: str, directory: Directory, name: str) -> tuple[OfficialsDirectory, _Source]:
    source = _Source(text, name)
    if not isinstance(source.data, dict):
        raise source.error((), "the file must be a YAML mapping (format_version, settings, units, officials)")
    try:
        model = _FileModel.model_validate(source.data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, (str, int)))
        message = str(source.error(loc, _pydantic_message(first)))
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem(s))"
        raise OfficialsDirectoryError(message) from None
    return _Checker(model, source, directory).build(), source


class _Checker:
    """The checks across fields and against the province directory, in file order."""

    def __init__(self, model: _FileModel, source: _Source, directory: Directory) -> None:
        self.model = model
        self.source = source
        self.directory = directory
        self.known_categories = [c.key for c in directory.categories]

    def fail(self, loc: Sequence[str | int], message: str) -> OfficialsDirectoryError:
        return self.source.error(loc, message)

    def build(self) -> OfficialsDirectory:
        model = self.model
        units = self._units()
        officials_by_id: dict[str, tuple[int, _OfficialModel]] = {}
        for index, official in enumerate(model.officials):
            if official.id in officials_by_id:
                first = officials_by_id[official.id][0]
                raise self.fail(
                    ("officials", index, "id"),
                    f"duplicate official id '{official.id}' (see officials[{first}])",
                )
            officials_by_id[official.id] = (index, official)

        desk = officials_by_id.get(model.settings.fallback)
        if desk is None:
            raise self.fail(("settings", "fallback"), f"unknown official '{model.settings.fallback}'")

        telegram_ids: dict[int, str] = {}
        for index, official in enumerate(model.officials):
            at: Loc = ("officials", index)
            if official.unit not in units:
                raise self.fail((*at, "unit"), f"unknown unit '{official.unit}' (units: {', '.join(units)})")
            self._localities(at, official.localities)
            self._categories((*at, "categories"), official.categories)
            if official.telegram_id is not None:
                if official.telegram_id in telegram_ids:
                    raise self.fail(
                        (*at, "telegram_id"),
                        f"telegram_id {official.telegram_id} is already official "
                        f"'{telegram_ids[official.telegram_id]}'",
                    )
                telegram_ids[official.telegram_id] = official.id
            if official.supervisor is not None:
                boss = officials_by_id.get(official.supervisor)
                if boss is None:
                    raise self.fail((*at, "supervisor"), f"unknown official '{official.supervisor}'")
                if boss[1].id == official.id:
                    raise self.fail((*at, "supervisor"), "an official cannot supervise themselves")
                if boss[1].role not in _SUPERVISING_ROLES:
                    raise self.fail(
                        (*at, "supervisor"),
                        f"'{boss[1].id}' has role '{boss[1].role}'; a supervisor must have role "
                        "'supervisor' or 'admin'",
                    )
            if official.fallback and official.id != model.settings.fallback:
                raise self.fail(
                    (*at, "fallback"),
                    f"only the fallback desk named in settings.fallback ('{model.settings.fallback}') "
                    "may have fallback: true",
                )
        self._cycles(officials_by_id)

        desk_index, desk_model = desk
        if not desk_model.fallback:
            raise self.fail(
                ("officials", desk_index, "fallback"),
                f"'{desk_model.id}' is settings.fallback, so it must have fallback: true",
            )
        if not desk_model.active:
            raise self.fail(
                ("officials", desk_index, "active"), f"the fallback desk '{desk_model.id}' must be active"
            )
        self._categories(("settings", "evidence_required"), model.settings.evidence_required)

        return OfficialsDirectory(
            units=tuple(units.values()),
            officials=tuple(self._official(o) for o in model.officials),
            settings=DirectorySettings(
                fallback_official_id=model.settings.fallback,
                evidence_required=list(model.settings.evidence_required),
            ),
        )

    def _units(self) -> dict[str, Unit]:
        units: dict[str, Unit] = {}
        for index, unit in enumerate(self.model.units):
            if unit.key in units:
                raise self.fail(("units", index, "key"), f"duplicate unit key '{unit.key}'")
            units[unit.key] = Unit(
                key=unit.key,
                name=_clean(unit.name),
                kind=unit.kind,
                templates=[nfc(t).strip() for t in unit.templates],
            )
        return units

    def _localities(self, at: Loc, codes: Sequence[str]) -> None:
        seen: set[str] = set()
        for i, code in enumerate(codes):
            loc = (*at, "localities", i)
            if self.directory.locality(code) is None:
                raise self.fail(
                    loc,
                    f"unknown locality code '{code}' (not a current commune-level unit of "
                    f'{self.directory.province_name}; quote codes: "18073")',
                )
            if code in seen:
                raise self.fail(loc, f"locality '{code}' is listed twice")
            seen.add(code)

    def _categories(self, at: Loc, keys: Sequence[str]) -> None:
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if self.directory.category(key) is None:
                raise self.fail(
                    (*at, i), f"unknown category '{key}' (known: {', '.join(self.known_categories)})"
                )
            if key in seen:
                raise self.fail((*at, i), f"category '{key}' is listed twice")
            seen.add(key)

    def _cycles(self, officials_by_id: Mapping[str, tuple[int, _OfficialModel]]) -> None:
        for official in self.model.officials:
            chain = [official.id]
            current = official.supervisor
            while current is not None:
                if current in chain:
                    # Report at the cycle's first member in the file, the loop starting from it.
                    members = chain[chain.index(current) :]
                    first = min(members, key=lambda i: officials_by_id[i][0])
                    start = members.index(first)
                    loop = " → ".join([*members[start:], *members[:start], first])
                    raise self.fail(
                        ("officials", officials_by_id[first][0], "supervisor"), f"supervisor cycle: {loop}"
                    )
                chain.append(current)
                current = officials_by_id[current][1].supervisor

    @staticmethod
    def _official(o: _OfficialModel) -> Official:
        return Official(
            id=o.id,
            telegram_id=o.telegram_id,
            name=_clean(o.name),
            title=_clean(o.title),
            unit=o.unit,
            role=o.role,
            supervisor_id=o.supervisor,
            localities=list(o.localities),
            categories=list(o.categories),
            priority=o.priority,
            is_active=o.active,
            is_fallback=o.fallback,
            team_chat_id=o.team_chat_id,
        )


# ------------------------------------------------------------------------------------------ dumping


class _Flow(list[str]):
    """A list written on one line: ``["18073"]``."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent "- " under its key, as people write it


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)

_HEADER: Final = (
    "# Tiếng Dân — officials directory (format documented in bot/provinces/OFFICIALS.md).\n"
    "# Load it with: tiengdan directory import FILE   (python -m bot directory import FILE)\n"
)


def _yaml(data: Mapping[str, object]) -> str:
    return yaml.dump(
        dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False
    )


def dump_officials_directory(
    units: Sequence[Unit], officials: Sequence[Official], settings: DirectorySettings
) -> str:
    """The directory as a YAML file in the import format (``fallback`` is true for settings' desk only)."""
    sections = [
        _yaml({"format_version": FORMAT_VERSION}),
        _yaml(
            {
                "settings": {
                    "fallback": settings.fallback_official_id,
                    "evidence_required": _Flow(settings.evidence_required),
                }
            }
        ),
        _yaml(
            {
                "units": [
                    {"key": u.key, "name": u.name, "kind": u.kind.value, "templates": list(u.templates)}
                    for u in units
                ]
            }
        ),
        _yaml(
            {
                "officials": [
                    {
                        "id": o.id,
                        "name": o.name,
                        "title": o.title,
                        "unit": o.unit,
                        "role": o.role.value,
                        "supervisor": o.supervisor_id,
                        "localities": _Flow(o.localities),
                        "categories": _Flow(o.categories),
                        "priority": o.priority,
                        "active": o.is_active,
                        "fallback": o.id == settings.fallback_official_id,
                        "telegram_id": o.telegram_id,
                        "team_chat_id": o.team_chat_id,
                    }
                    for o in officials
                ]
            }
        ),
    ]
    return _HEADER + "\n".join(sections)


# ------------------------------------------------------------------------------------------- Redis


async def import_directory(
    redis: aioredis.Redis, keys: Keys, path: Path, directory: Directory
) -> OfficialsDirectory:
    """Validate the file, then install it in Redis in one transaction (nothing is written on error).

    Officials missing from the file are deactivated and Telegram ids linked by onboarding are kept
    (``OfficialRepository.replace``); a Telegram id the file gives that would then belong to two
    officials is an error.
    """
    path = Path(path)
    loaded, source = _parse(_read(path), directory, path.name)
    repo = OfficialRepository(redis, keys)
    existing = {o.id: o for o in await repo.all()}
    effective: dict[str, int | None] = {i: o.telegram_id for i, o in existing.items()}
    for official in loaded.officials:
        old = existing.get(official.id)
        effective[official.id] = (
            official.telegram_id
            if official.telegram_id is not None
            else (old.telegram_id if old is not None else None)
        )
    for index, official in enumerate(loaded.officials):
        if official.telegram_id is None:
            continue
        for other_id, telegram_id in effective.items():
            if other_id != official.id and telegram_id == official.telegram_id:
                raise source.error(
                    ("officials", index, "telegram_id"),
                    f"telegram_id {official.telegram_id} is already linked to official '{other_id}' in Redis",
                )
    await repo.replace(list(loaded.units), list(loaded.officials), loaded.settings)
    return loaded


async def export_directory(redis: aioredis.Redis, keys: Keys) -> str | None:
    """The directory stored in Redis as an import file, or None when none was imported yet."""
    repo = OfficialRepository(redis, keys)
    settings = await repo.settings()
    if settings is None:
        return None
    return dump_officials_directory(await repo.units(), await repo.all(), settings)
