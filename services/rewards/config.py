"""Rewards settings: env prefix ``REWARDS_`` (plus the platform-wide names)."""

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class RewardsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REWARDS_", extra="ignore")

    service_name: str = "rewards"
    port: int = 8004
