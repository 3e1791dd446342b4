"""Per-service settings: env prefixes, platform-wide variables, the prod secret guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.financing.config import FinancingSettings
from services.matching.config import MatchingSettings
from services.registry.config import RegistrySettings
from services.rewards.config import RewardsSettings
from shared.config import DEV_JWT_SECRET

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVICES = [
    (RegistrySettings, "registry", "REGISTRY_", 8001),
    (FinancingSettings, "financing", "FINANCING_", 8002),
    (MatchingSettings, "matching", "MATCHING_", 8003),
    (RewardsSettings, "rewards", "REWARDS_", 8004),
]
IDS = [s[1] for s in SERVICES]


@pytest.mark.parametrize("cls,name,prefix,port", SERVICES, ids=IDS)
def test_defaults(clean_env, cls, name, prefix, port):
    s = cls()
    assert s.service_name == name
    assert s.port == port
    assert s.env == "dev"
    assert s.jwt_secret == DEV_JWT_SECRET
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"


@pytest.mark.parametrize("cls,name,prefix,port", SERVICES, ids=IDS)
def test_default_database_is_sqlite_under_var_named_after_the_service(clean_env, cls, name,
                                                                      prefix, port):
    s = cls()
    assert s.database_url == f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / (name + '.db')}"


def test_prefixed_variable_wins(clean_env):
    clean_env.setenv("REGISTRY_PORT", "9101")
    clean_env.setenv("REGISTRY_DATABASE_URL", "postgresql+asyncpg://u:p@db/registry")
    s = RegistrySettings()
    assert s.port == 9101
    assert s.database_url == "postgresql+asyncpg://u:p@db/registry"
    # Another service's prefix does not leak in, and this one does not leak out.
    assert FinancingSettings().port == 8002
    clean_env.setenv("FINANCING_PORT", "9102")
    assert RegistrySettings().port == 9101


def test_prefix_is_required_for_per_service_settings(clean_env):
    clean_env.setenv("PORT", "9999")  # not platform-wide: ignored
    assert RegistrySettings().port == 8001


@pytest.mark.parametrize("cls,name,prefix,port", SERVICES, ids=IDS)
def test_platform_wide_kafka_bootstrap_applies_to_every_service(clean_env, cls, name, prefix,
                                                                port):
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-a:9092,kafka-b:9092")
    assert cls().kafka_bootstrap_servers == "kafka-a:9092,kafka-b:9092"


def test_prefixed_kafka_bootstrap_overrides_for_its_service_only(clean_env):
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    clean_env.setenv("REGISTRY_KAFKA_BOOTSTRAP_SERVERS", "registry-kafka:9092")
    assert RegistrySettings().kafka_bootstrap_servers == "registry-kafka:9092"
    for cls in (FinancingSettings, MatchingSettings, RewardsSettings):
        assert cls().kafka_bootstrap_servers == "kafka:9092"


def test_platform_wide_values_are_typed(clean_env):
    clean_env.setenv("IPBRIDGE_MAX_BODY_BYTES", "2048")
    clean_env.setenv("KAFKA_ENABLE_IDEMPOTENCE", "true")
    clean_env.setenv("IPBRIDGE_ENV", "test")
    s = MatchingSettings()
    assert s.max_body_bytes == 2048
    assert s.kafka_enable_idempotence is True
    assert s.env == "test"


def test_bad_platform_wide_value_is_a_validation_error(clean_env):
    clean_env.setenv("IPBRIDGE_MAX_BODY_BYTES", "a lot")
    with pytest.raises(ValidationError, match="max_body_bytes"):
        RewardsSettings()


def test_constructor_arguments_beat_the_environment(clean_env):
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    clean_env.setenv("REGISTRY_PORT", "9101")
    s = RegistrySettings(kafka_bootstrap_servers="explicit:9092", port=7000)
    assert (s.kafka_bootstrap_servers, s.port) == ("explicit:9092", 7000)


@pytest.mark.parametrize("cls,name,prefix,port", SERVICES, ids=IDS)
def test_prod_refuses_the_dev_secret(clean_env, cls, name, prefix, port):
    clean_env.setenv("IPBRIDGE_ENV", "prod")
    with pytest.raises(ValidationError, match="jwt_secret"):
        cls()


def test_prod_refuses_the_dev_secret_set_per_service(clean_env):
    clean_env.setenv("REGISTRY_ENV", "prod")
    with pytest.raises(ValidationError, match="jwt_secret"):
        RegistrySettings()
    assert FinancingSettings().env == "dev"


def test_prod_with_a_platform_wide_secret(clean_env):
    clean_env.setenv("IPBRIDGE_ENV", "prod")
    clean_env.setenv("IPBRIDGE_JWT_SECRET", "a-real-secret-from-the-vault-0123456789")
    for cls, *_ in SERVICES:
        s = cls()
        assert (s.env, s.jwt_secret) == ("prod", "a-real-secret-from-the-vault-0123456789")


def test_prod_with_a_per_service_secret(clean_env):
    clean_env.setenv("IPBRIDGE_ENV", "prod")
    clean_env.setenv("REGISTRY_JWT_SECRET", "registry-secret-from-the-vault-0123456789")
    assert RegistrySettings().jwt_secret == "registry-secret-from-the-vault-0123456789"
    with pytest.raises(ValidationError, match="jwt_secret"):
        FinancingSettings()  # still on the dev secret


def test_prod_refuses_a_short_secret(clean_env):
    clean_env.setenv("IPBRIDGE_ENV", "prod")
    clean_env.setenv("IPBRIDGE_JWT_SECRET", "x" * 31)
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        RegistrySettings()
    clean_env.setenv("IPBRIDGE_JWT_SECRET", "x" * 32)
    assert RegistrySettings().env == "prod"


@pytest.mark.parametrize("env", ["dev", "test"])
def test_dev_secret_is_fine_outside_prod(clean_env, env):
    clean_env.setenv("IPBRIDGE_ENV", env)
    assert RegistrySettings().jwt_secret == DEV_JWT_SECRET


def test_unknown_env_is_rejected(clean_env):
    clean_env.setenv("IPBRIDGE_ENV", "production")
    with pytest.raises(ValidationError, match="env"):
        RegistrySettings()
