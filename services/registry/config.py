"""Registry settings: env prefix ``REGISTRY_`` (plus the platform-wide names)."""

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    port: int = 8001
