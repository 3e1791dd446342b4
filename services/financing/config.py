"""Financing settings: env prefix ``FINANCING_`` (plus the platform-wide names)."""

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class FinancingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FINANCING_", extra="ignore")

    service_name: str = "financing"
    port: int = 8002
