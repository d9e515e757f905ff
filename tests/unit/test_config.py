"""Settings: validation, and the CLI's one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings, describe_error

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 22,333")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.admin_ids == (1, 22, 333)
    assert settings.api_base == "http://127.0.0.1:8081"
    assert settings.redis_url is None
    assert settings.default_language == "vi"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_URL", "http://nope"),
        ("DEFAULT_LANGUAGE", "fr"),
        ("TELEGRAM_BOT_TOKEN", "not a token"),
        ("ADMIN_IDS", "1,abc"),
        ("DIRECTORY_FILE", "/no/such/file.yaml"),
        ("REDIS_SENTINEL", "10.0.0.1:26379"),  # no master name
        ("REDIS_SENTINEL", "tiengdan@10.0.0.1"),  # no port
        ("REDIS_CLUSTER", "10.0.0.1:6379,10.0.0.2:http"),
        ("REDIS_SOCKET_TIMEOUT", "0"),
    ],
)
def test_invalid_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert name in describe_error(info.value)


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_cli({"HOME": str(tmp_path)}, "run")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_invalid_setting_exits_2_naming_it(tmp_path: Path) -> None:
    result = run_cli({"TELEGRAM_BOT_TOKEN": "1:abc", "DEFAULT_LANGUAGE": "xx"}, "run")
    assert result.returncode == 2
    assert "DEFAULT_LANGUAGE" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_cli_unreachable_redis_says_so_in_one_line() -> None:
    result = run_cli({"TELEGRAM_BOT_TOKEN": "1:abc", "REDIS_URL": "redis://127.0.0.1:1/0"}, "run")
    assert result.returncode == 2
    assert "cannot reach Redis" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_redis_high_availability_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_SENTINEL", " tiengdan@10.0.0.1:26379, [::1]:26380 ")
    monkeypatch.setenv("REDIS_URL", "rediss://:secret@ignored:6379/2")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    target = settings.redis_target()
    assert settings.has_redis and target.sentinel == "tiengdan@10.0.0.1:26379, [::1]:26380"
    assert target.url == "rediss://:secret@ignored:6379/2"
    assert (target.socket_timeout, target.connect_timeout, target.wait_replicas) == (10.0, 5.0, 0)
    assert "secret" not in target.describe()

    monkeypatch.setenv("REDIS_CLUSTER", "10.0.0.1:6379")
    with pytest.raises(ValidationError, match="REDIS_SENTINEL or REDIS_CLUSTER, not both"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv("REDIS_SENTINEL")
    monkeypatch.delenv("REDIS_URL")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.has_redis and settings.redis_target().cluster == "10.0.0.1:6379"
