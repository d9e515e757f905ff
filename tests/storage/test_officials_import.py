"""Importing the officials directory into a real Redis, exporting it, and the CLI around it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.domain.directory import Directory
from bot.domain.officials_directory import (
    OfficialsDirectoryError,
    export_directory,
    import_directory,
    load_officials_directory,
    parse_officials_directory,
)
from storage.keys import Keys
from storage.officials import OfficialRepository

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "bot" / "provinces" / "hatinh" / "officials.yaml"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.default()


async def stored_keys(redis: aioredis.Redis, keys: Keys) -> list[str]:
    return sorted([str(k) async for k in redis.scan_iter(match=f"{keys.root}:*")])


async def snapshot(redis: aioredis.Redis, keys: Keys) -> dict[str, object]:
    """Every key of the prefix with its value (strings and sets are all the directory uses)."""
    state: dict[str, object] = {}
    for key in await stored_keys(redis, keys):
        kind = await redis.type(key)
        state[key] = await redis.get(key) if kind == "string" else (kind, sorted(await redis.smembers(key)))
    return state


def broken_copy(tmp_path: Path) -> tuple[Path, int]:
    """The shipped example with an unknown locality code; returns the file and that line."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count('localities: ["18742"]') == 1
    text = text.replace('localities: ["18742"]', 'localities: ["99999"]')
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "99999" in row)
    path = tmp_path / "officials.yaml"
    path.write_text(text, encoding="utf-8")
    return path, line


async def test_import_then_export_round_trips(
    redis: aioredis.Redis, keys: Keys, directory: Directory
) -> None:
    loaded = await import_directory(redis, keys, EXAMPLE, directory)
    repo = OfficialRepository(redis, keys)
    assert await repo.all() == sorted(loaded.officials, key=lambda o: o.id)
    assert await repo.units() == sorted(loaded.units, key=lambda u: u.key)
    assert await repo.settings() == loaded.settings
    desk = await repo.get("desk-ht")
    assert desk is not None and desk.is_fallback and desk.is_active

    exported = await export_directory(redis, keys)
    assert exported is not None
    again = parse_officials_directory(exported, directory, name="export.yaml")
    assert sorted(again.officials, key=lambda o: o.id) == sorted(loaded.officials, key=lambda o: o.id)
    assert sorted(again.units, key=lambda u: u.key) == sorted(loaded.units, key=lambda u: u.key)
    assert again.settings == loaded.settings


async def test_export_before_any_import_is_none(redis: aioredis.Redis, keys: Keys) -> None:
    assert await export_directory(redis, keys) is None


async def test_broken_file_names_the_line_and_writes_nothing(
    redis: aioredis.Redis, keys: Keys, directory: Directory, tmp_path: Path
) -> None:
    path, line = broken_copy(tmp_path)
    with pytest.raises(OfficialsDirectoryError) as info:
        await import_directory(redis, keys, path, directory)
    assert str(info.value).startswith(f"officials.yaml line {line}: officials[")
    assert "unknown locality code '99999'" in str(info.value)
    assert await stored_keys(redis, keys) == []

    # Over an existing directory: still untouched.
    await import_directory(redis, keys, EXAMPLE, directory)
    before = await snapshot(redis, keys)
    with pytest.raises(OfficialsDirectoryError):
        await import_directory(redis, keys, path, directory)
    assert await snapshot(redis, keys) == before


async def test_reimport_keeps_onboarded_telegram_id_and_deactivates_removed(
    redis: aioredis.Redis, keys: Keys, directory: Directory, tmp_path: Path
) -> None:
    repo = OfficialRepository(redis, keys)
    await import_directory(redis, keys, EXAMPLE, directory)
    officer = await repo.get("ts-cb")
    assert officer is not None
    await repo.save(officer.model_copy(update={"telegram_id": 777}))  # onboarding linked a Telegram user

    # The next version of the file drops Xã Thạch Hà's officer (th-cb) and still has no Telegram ids.
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("  - id: th-cb")
    end = text.index("  - id: th-ct")
    smaller = tmp_path / "officials.yaml"
    smaller.write_text(text[:start] + text[end:], encoding="utf-8")
    loaded = await import_directory(redis, keys, smaller, directory)
    assert "th-cb" not in {o.id for o in loaded.officials}

    kept = await repo.by_telegram(777)
    assert kept is not None and kept.id == "ts-cb" and kept.is_active
    removed = await repo.get("th-cb")
    assert removed is not None and not removed.is_active  # kept (its cases stay assigned), inactive
    assert {o.id for o in await repo.all()} == {o.id for o in loaded.officials} | {"th-cb"}


async def test_telegram_id_already_linked_to_another_official_is_refused(
    redis: aioredis.Redis, keys: Keys, directory: Directory, tmp_path: Path
) -> None:
    repo = OfficialRepository(redis, keys)
    await import_directory(redis, keys, EXAMPLE, directory)
    officer = await repo.get("ts-cb")
    assert officer is not None
    await repo.save(officer.model_copy(update={"telegram_id": 777}))
    before = await snapshot(redis, keys)

    text = EXAMPLE.read_text(encoding="utf-8")
    marker = "  - id: hht-cb\n"
    text = text.replace(marker, marker + "    telegram_id: 777\n")
    line = text.splitlines().index("    telegram_id: 777") + 1
    path = tmp_path / "officials.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OfficialsDirectoryError) as info:
        await import_directory(redis, keys, path, directory)
    assert str(info.value).startswith(f"officials.yaml line {line}: officials[2].telegram_id:")
    assert "'ts-cb'" in str(info.value)
    assert await snapshot(redis, keys) == before


# ---------------------------------------------------------------------------------------------- CLI


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,  # no .env from the working tree
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_broken_file_exits_2_with_one_line(
    redis: aioredis.Redis, redis_url: str, key_prefix: str, keys: Keys, tmp_path: Path
) -> None:
    path, line = broken_copy(tmp_path)
    env = {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": key_prefix}
    result = run_cli(tmp_path, env, "directory", "import", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"tiengdan: officials.yaml line {line}: ")
    assert "99999" in result.stderr
    assert result.stdout == ""
    assert await stored_keys(redis, keys) == []


async def test_cli_import_export_and_dry_run(
    redis: aioredis.Redis, redis_url: str, key_prefix: str, keys: Keys, tmp_path: Path, directory: Directory
) -> None:
    env = {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": key_prefix}
    dry = run_cli(tmp_path, env, "directory", "import", str(EXAMPLE), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("valid: 14 officials in 7 units; fallback desk: desk-ht")
    assert await stored_keys(redis, keys) == []

    missing = run_cli(tmp_path, env, "directory", "export")
    assert missing.returncode == 1 and "no officials directory" in missing.stderr

    imported = run_cli(tmp_path, env, "directory", "import", str(EXAMPLE))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "imported 14 officials in 7 units; fallback desk: desk-ht"

    out = tmp_path / "export.yaml"
    exported = run_cli(tmp_path, env, "directory", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr == ""
    original = load_officials_directory(EXAMPLE, directory)
    again = load_officials_directory(out, directory)
    assert sorted(again.officials, key=lambda o: o.id) == sorted(original.officials, key=lambda o: o.id)

    printed = run_cli(tmp_path, env, "directory", "export")
    assert printed.stdout == out.read_text(encoding="utf-8")
