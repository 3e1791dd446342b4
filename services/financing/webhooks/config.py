"""Webhook dispatch settings: env prefix ``FINANCING_WEBHOOK_`` (read when the dispatcher
runs, so an operator's change needs only a restart, and tests can shorten the backoff)."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINANCING_WEBHOOK_", extra="ignore")

    max_attempts: int = Field(8, ge=1, le=50,
                              description="Attempts per delivery before it is marked failed")
    backoff_base_s: float = Field(5.0, gt=0, description="Delay before the first retry; doubles "
                                                          "per attempt (equal jitter)")
    backoff_max_s: float = Field(3600.0, gt=0, description="Cap of one retry delay")
    timeout_s: float = Field(10.0, gt=0, description="Connect + read timeout of one POST")
    lease_s: float = Field(60.0, gt=0, description="How long a claimed delivery is reserved for "
                                                   "one replica; after it another may retry")
    poll_interval_s: float = Field(1.0, gt=0, description="Longest wait between two claims "
                                                          "when no commit wakes the dispatcher")
    batch_size: int = Field(50, ge=1, le=1000, description="Deliveries claimed (and sent "
                                                          "concurrently) per round")
    replay_max: int = Field(1000, ge=1, description="Most deliveries one replay may re-queue")
    proxy: str | None = Field(None, description="Egress proxy for bank endpoints (environment "
                                                "proxy variables are ignored)")

    secret_key: SecretStr | None = Field(
        None, description="Fernet key (urlsafe base64 of 32 bytes; `python -c 'from "
                          "cryptography.fernet import Fernet; print(Fernet.generate_key()"
                          ".decode())'`) sealing the banks' signing secrets at rest; required "
                          "with IPBRIDGE_ENV=prod. Several keys, comma-separated, newest "
                          "first, rotate it: old secrets still open, new ones use the first.")

    @model_validator(mode="after")
    def _key_in_production(self) -> "WebhookSettings":
        if self.secret_key is None:
            if os.environ.get("IPBRIDGE_ENV", "dev") == "prod":
                raise ValueError("FINANCING_WEBHOOK_SECRET_KEY is required with IPBRIDGE_ENV=prod "
                                 "(the banks' signing secrets are sealed with it)")
            return self
        for key in self.secret_key.get_secret_value().split(","):
            try:
                Fernet(key.strip().encode())
            except (ValueError, TypeError) as exc:
                raise ValueError("FINANCING_WEBHOOK_SECRET_KEY must be Fernet keys (urlsafe "
                                 "base64 of 32 bytes), comma-separated") from exc
        return self

    @model_validator(mode="after")
    def _lease_outlives_a_request(self) -> "WebhookSettings":
        if self.lease_s <= self.timeout_s:
            raise ValueError("lease_s must exceed timeout_s, or a slow POST could be sent twice")
        return self
