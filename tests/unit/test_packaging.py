"""Deployment files say what the README promises (no Docker engine here: checked as data)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_the_bot_with_durable_redis() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    bot, redis = compose["services"]["bot"], compose["services"]["redis"]
    assert redis["image"] == "redis:7"
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    volume = redis["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # a named volume, not a bind mount
    assert bot["env_file"] == ".env"
    assert bot["environment"]["REDIS_URL"].startswith("redis://redis:6379")
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    for service in (bot, redis):
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./dev test" in readme and "exec ./dev test" in ci
