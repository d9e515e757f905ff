"""Settings from the environment and an optional ``.env`` file, validated once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AnyUrl, Field, UrlConstraints, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from storage.connection import RedisTarget

RedisUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["redis", "rediss", "unix"])]
SUPPORTED_LANGUAGES = ("vi", "en")


class Settings(BaseSettings):
    """Everything the bot can be configured with (see the README's configuration table)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = Field(default=None, pattern=r"^\d+:[A-Za-z0-9_-]+$")
    telegram_api_url: Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https"])] = AnyUrl(
        "https://api.telegram.org"
    )
    redis_url: RedisUrl | None = None
    # Redis high availability (README "Redis high availability"): "<master name>@host:port,host:port" of the
    # sentinels, or "host:port,host:port" seed nodes of a Redis Cluster. REDIS_URL then only lends credentials.
    redis_sentinel: str | None = None
    redis_cluster: str | None = None
    redis_socket_timeout: float = Field(default=10.0, gt=0)  # a Redis that stops answering: error, not hang
    redis_connect_timeout: float = Field(default=5.0, gt=0)
    # Acknowledged by this many replicas (WAIT) before anything is sent to Telegram: 0 = do not wait.
    redis_wait_replicas: int = Field(default=0, ge=0)
    redis_wait_timeout_ms: int = Field(default=500, ge=1)
    redis_key_prefix: str = Field(default="tiengdan", pattern=r"^[A-Za-z0-9_.-]+$")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_language: str = "vi"
    directory_file: Path | None = None
    officials_file: Path | None = None
    deadlines_file: Path | None = None
    topics_file: Path | None = (
        None  # words per topic, for suggesting it (default: topics.yaml beside the province)
    )
    run_poller: bool = True  # false: an extra process that only fires timers (Telegram allows one poller)
    # Scaling out (README "Scaling out"): what this process does, and the webhook intake.
    role: Literal["all", "worker", "webhook"] = "all"
    webhook_url: Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https"])] | None = None
    webhook_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,256}$")
    webhook_listen: str = Field(default="0.0.0.0:8080", pattern=r"^[^\s:]*:\d{1,5}$")
    webhook_max_connections: int = Field(default=40, ge=1, le=100)  # Telegram's concurrent deliveries
    update_partitions: int = Field(default=16, ge=1, le=1024)  # keep it fixed once the bot ran
    partition_lease_seconds: float = Field(default=10.0, gt=0)  # a dead worker's partitions move after
    clock_file: str | None = None  # tests and demos only: read "now" from this file
    data_dir: Path = Path("data")
    max_concurrent_updates: int = Field(default=128, ge=1, le=512)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # Sends (new messages) per second across chats from conversations; edits and answers are not paced.
    telegram_send_rate: float = Field(default=30.0, gt=0)
    telegram_send_burst: int = Field(default=30, ge=1)  # how many of them may go at once
    log_format: str = Field(default="auto", pattern=r"^(auto|plain|json)$")  # auto: JSON when not a tty
    # Observability (issue 14): Prometheus metrics on host:port (empty: off), per-process heartbeats.
    metrics_listen: str = Field(default="", pattern=r"^(|\[[0-9A-Fa-f:.]+\]:\d{1,5}|[^\s:\[\]]*:\d{1,5})$")
    process_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,100}$")  # default host:pid
    health_stall_seconds: float = Field(default=90.0, gt=0)  # a loop silent this long fails `health`
    metrics_cache_seconds: float = Field(default=5.0, ge=0)  # Redis is read at most this often by scrapes
    broadcast_rate: float = Field(default=25.0, gt=0)  # messages/s overall (Telegram: about 30/s free)
    allow_paid_broadcast: bool = False  # Telegram's paid broadcasts: up to 1000 messages/s, in Stars
    broadcast_paid_rate: float = Field(default=1000.0, gt=0)  # the rate when allow_paid_broadcast
    broadcast_progress_seconds: float = Field(default=3.0, gt=0)  # at most one progress edit per this
    broadcast_lease_seconds: float = Field(default=60.0, gt=0)  # a dead sender's recipients come back after
    # Citizens' data rights and abuse (issue 6)
    retention_days: int = Field(default=1825, ge=1)  # closed petitions are anonymised after this
    retention_sweep_seconds: float = Field(default=3600, gt=0)  # how often a process tries the sweep
    max_petitions_per_day: int = Field(default=5, ge=1)  # per citizen, Asia/Ho_Chi_Minh days
    flood_max_updates: int = Field(default=20, ge=1)  # per citizen within flood_window_seconds
    flood_window_seconds: int = Field(default=60, ge=1)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("redis_sentinel", "redis_cluster")
    @classmethod
    def _redis_nodes(cls, value: str | None, info: ValidationInfo) -> str | None:
        from storage.connection import parse_nodes, parse_sentinel

        if value is None or not value.strip():
            return None
        if info.field_name == "redis_sentinel":
            parse_sentinel(value)
        else:
            parse_nodes(value)
        return value.strip()

    @model_validator(mode="after")
    def _one_redis_topology(self) -> Settings:
        if self.redis_sentinel and self.redis_cluster:
            raise ValueError("set REDIS_SENTINEL or REDIS_CLUSTER, not both")
        return self

    @property
    def has_redis(self) -> bool:
        """Whether an external Redis is configured (else the embedded one is started)."""
        return bool(self.redis_url or self.redis_sentinel or self.redis_cluster)

    def redis_target(self, url: str | None = None) -> RedisTarget:
        """Where Redis is, for storage.connection.connect (``url``: the embedded server's)."""
        from storage.connection import RedisTarget

        return RedisTarget(
            url=url or (str(self.redis_url) if self.redis_url else None),
            sentinel=self.redis_sentinel,
            cluster=self.redis_cluster,
            socket_timeout=self.redis_socket_timeout,
            connect_timeout=self.redis_connect_timeout,
            wait_replicas=self.redis_wait_replicas,
            wait_timeout_ms=self.redis_wait_timeout_ms,
        )

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("directory_file", "officials_file", "deadlines_file", "topics_file")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the webhook endpoint listens."""
        return (self.webhook_url.path if self.webhook_url else None) or "/"

    @property
    def listen_address(self) -> tuple[str, int]:
        """WEBHOOK_LISTEN as (host, port)."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host or "0.0.0.0", int(port)

    @property
    def api_base(self) -> str:
        """The Bot API URL without a trailing slash."""
        return str(self.telegram_api_url).rstrip("/")


def describe_error(exc: Exception) -> str:
    """One line naming the setting that is wrong, for the CLI."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for error in errors():
            name = ".".join(str(p) for p in error.get("loc", ())) or "settings"
            parts.append(f"{name.upper()}: {error.get('msg', 'invalid')}")
        if parts:
            return "invalid setting " + "; ".join(parts)
    return f"invalid settings: {exc}"
