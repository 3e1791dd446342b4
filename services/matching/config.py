"""Matching settings: env prefix ``MATCHING_`` (plus the platform-wide names)."""

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class MatchingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHING_", extra="ignore")

    service_name: str = "matching"
    port: int = 8003
