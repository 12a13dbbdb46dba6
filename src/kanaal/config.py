"""Settings from the environment (KANAAL_*) and business parameters from kanaal.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Process settings. Unset database URL means an embedded SQLite file under `data_dir`."""

    model_config = SettingsConfigDict(env_prefix="KANAAL_", extra="ignore")

    database_url: str | None = None
    # PostgreSQL only: the schema to use (tests give every run its own).
    database_schema: str | None = None
    redis_url: str | None = None
    # Prefix for every Redis key, so several deployments (or test runs) can share one Redis.
    redis_prefix: str = "kanaal"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = DEFAULT_DATA_DIR
    log_level: str = "INFO"
    auto_migrate: bool = True
    # Background loops (outbox delivery, sweepers, consumers). Turn off on API-only nodes.
    run_workers: bool = True
    # After start-up, move what exists to the collector's permanent generation (gc.freeze):
    # shorter full collections, so fewer long request pauses. Tests that build many apps in
    # one process turn it off.
    gc_freeze: bool = True
    config_file: Path | None = Field(default=None, description="path to kanaal.toml")
    # Secret used to sign session cookies and webhook payloads; generated into data_dir if unset.
    secret_key: str | None = None
    default_phone_region: str = "NL"
    # Requests per second per key (token bucket) and the burst it may take at once.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: float = 400.0
    # Origins allowed to call the browser endpoints (decisions, chat, SDK batch).
    cors_origins: list[str] = Field(default_factory=list)
    # Where people reach this hub (links in emails, QR codes); no trailing slash.
    public_base_url: str = "http://127.0.0.1:8000"
    # Outgoing email (SMTP); unset host means email stays queued in the outbox.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "Kanaal <noreply@localhost>"
    # SMS: a provider URL receiving JSON {"to", "body", "id"} (generic HTTP adapter), or
    # "file" to append messages to data_dir/sms-outbox.jsonl during development.
    sms_provider: str | None = None
    sms_provider_token: SecretStr | None = None

    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'kanaal.db').resolve()}"

    def business(self) -> dict[str, Any]:
        """Business parameters from kanaal.toml (empty when there is no file)."""
        path = self.config_file or Path("kanaal.toml")
        if not path.exists():
            return {}
        with path.open("rb") as handle:
            return tomllib.load(handle)
