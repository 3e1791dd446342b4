"""Settings common to every service, read from the environment (pydantic-settings).

Each service subclasses :class:`ServiceSettings` with its own env prefix (``REGISTRY_``,
``FINANCING_`` …). The names in :data:`PLATFORM_WIDE_ENV` are also read without a prefix
(``KAFKA_BOOTSTRAP_SERVERS``, ``IPBRIDGE_ENV``, ``IPBRIDGE_JWT_SECRET`` …) so one variable
configures all four services; a prefixed variable still overrides it per service.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Dev-only signing secret. The validator below refuses it outside ``env=dev``.
DEV_JWT_SECRET = "ipbridge-dev-only-secret-do-not-use-in-production"

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where the embedded default keeps its SQLite files and logs (``make run``).
VAR_DIR = Path(os.environ.get("IPBRIDGE_VAR_DIR", REPO_ROOT / "var"))
MIN_PROD_SECRET_BYTES = 32


#: Platform-wide variables: one setting for all four services. A prefixed variable
#: (``REGISTRY_KAFKA_BOOTSTRAP_SERVERS``) still wins for its own service.
PLATFORM_WIDE_ENV = {
    "env": "IPBRIDGE_ENV",
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "kafka_enable_idempotence": "KAFKA_ENABLE_IDEMPOTENCE",
    "kafka_fetch_max_wait_ms": "KAFKA_FETCH_MAX_WAIT_MS",
    "kafka_session_timeout_ms": "KAFKA_SESSION_TIMEOUT_MS",
    "kafka_heartbeat_interval_ms": "KAFKA_HEARTBEAT_INTERVAL_MS",
    "consumer_max_attempts": "IPBRIDGE_CONSUMER_MAX_ATTEMPTS",
    "jwt_secret": "IPBRIDGE_JWT_SECRET",
    "max_body_bytes": "IPBRIDGE_MAX_BODY_BYTES",
    "log_json": "IPBRIDGE_LOG_JSON",
    "log_level": "IPBRIDGE_LOG_LEVEL",
}


class ServiceSettings(BaseSettings):
    """Settings every service has; subclasses set ``service_name`` and the env prefix."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    env: Literal["dev", "test", "prod"] = Field("dev", description="dev | test | prod")

    host: str = "127.0.0.1"
    port: int = 8000

    database_url: str = Field("", description="SQLAlchemy async URL; default SQLite under ./var/")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enable_idempotence: bool = Field(
        False, description="On for Apache Kafka; the local Tansu broker rejects InitProducerId."
    )
    kafka_fetch_max_wait_ms: int = Field(
        20, description="Tansu answers a waiting fetch only when this expires: keep it low locally."
    )
    kafka_session_timeout_ms: int = Field(6000, description="Group joins wait ~half of this.")
    kafka_heartbeat_interval_ms: int = 1000
    kafka_request_timeout_ms: int = 5000

    relay_enabled: bool = Field(True, description="Run the outbox relay inside this process.")
    relay_batch_size: int = 200
    relay_poll_interval_s: float = Field(
        0.5, description="How often the relay looks for rows nobody woke it for (another "
                         "process's commits: the bulk import CLI, a crashed replica's backlog); "
                         "its own commits wake it at once.")
    relay_max_backoff_s: float = 5.0

    consumers_enabled: bool = True
    consumer_max_attempts: int = Field(5, description="Attempts before a message goes to the DLQ.")
    consumer_retry_base_s: float = 0.05
    consumer_retry_max_s: float = 2.0

    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "ipbridge"
    jwt_audience: str = "ipbridge"

    max_body_bytes: int = Field(1_048_576, description="Larger request bodies get 413.")
    log_json: bool = True
    log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _platform_wide(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field, var in PLATFORM_WIDE_ENV.items():
                if field not in data and var in os.environ:
                    data[field] = os.environ[var]
        return data

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> "ServiceSettings":
        if not self.database_url:
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            self.database_url = f"sqlite+aiosqlite:///{VAR_DIR / (self.service_name + '.db')}"
        if self.env == "prod" and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError(
                "jwt_secret is the dev-only secret; set IPBRIDGE_JWT_SECRET (or the service's "
                "<NAME>_JWT_SECRET) before running with env=prod"
            )
        if self.env == "prod" and os.environ.get("IPBRIDGE_CLOCK_FILE"):
            raise ValueError("IPBRIDGE_CLOCK_FILE (the controllable clock for replays and tests) "
                             "is refused with env=prod: production runs on the real date")
        if self.env == "prod" and len(self.jwt_secret.encode()) < MIN_PROD_SECRET_BYTES:
            raise ValueError(f"jwt_secret must be at least {MIN_PROD_SECRET_BYTES} bytes for "
                             "HS256 with env=prod")
        return self
