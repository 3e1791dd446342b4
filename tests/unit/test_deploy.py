"""Production deployment files, validated without a container engine.

* ``docker-compose.yml`` against the compose-spec JSON Schema that docker-compose 1.29.2 ships
  (vendored in ``tests/data/compose-spec.json``), and through ``docker-compose config -q`` when
  that executable is installed;
* cross-checked against the code: service packages, ports, the environment variables the
  settings classes and the CLI actually read, the databases ``deploy/postgres/init.sql`` creates,
  ``depends_on`` targets and conditions, build contexts, the Dockerfile's stages and user, and
  the entrypoint script.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import functools
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml

from shared.config import PLATFORM_WIDE_ENV, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = REPO / "tests" / "data" / "compose-spec.json"
APP_DOCKERFILE = "deploy/Dockerfile"
DOCKERFILE = REPO / APP_DOCKERFILE
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"
INIT_SQL = REPO / "deploy" / "postgres" / "init.sql"
DOCKERIGNORE = REPO / ".dockerignore"

#: Values for the variables docker-compose.yml interpolates; unset ones use their default.
INTERPOLATION_ENV = {"IPBRIDGE_JWT_SECRET": "test-secret-not-the-dev-one-0123456789abcdef",
                     "FINANCING_WEBHOOK_SECRET_KEY": "Y2hhbmdlLW1lLXRoaXMtaXMtMzItYnl0ZXMtbG9uZyE="}
#: First words of a compose `command` that deploy/entrypoint.sh dispatches.
ENTRYPOINT_COMMANDS = {"serve", "migrate", "topics", "cli"}
ONE_SHOT_COMMANDS = {"migrate", "topics"}


# ----------------------------------------------------------------------------- helpers

@functools.cache
def _compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


def compose() -> dict:
    """A fresh parse each call (callers may mutate it); YAML anchors and `<<` merges resolved."""
    return yaml.safe_load(_compose_text())


_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                  r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value: object, env: Mapping[str, str] = INTERPOLATION_ENV) -> str:
    """Compose-style ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""

    def sub(m: re.Match) -> str:
        if m.group("escaped"):
            return "$"
        name, op, arg = m.group("name") or m.group("bare"), m.group("op"), m.group("arg")
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return current if current is not None else arg
        if op in (":?", "?"):
            if current is None or (op == ":?" and not current):
                raise KeyError(f"{name} is required: {arg}")
            return current
        return current or ""

    return _VAR.sub(sub, str(value))


def environment(svc: Mapping) -> dict[str, object]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        return dict(tuple(item.split("=", 1)) if "=" in item else (item, None) for item in env)
    return {str(k): v for k, v in env.items()}


def command_words(svc: Mapping) -> list[str]:
    cmd = svc.get("command")
    if cmd is None:
        return []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def uses_app_image(svc: Mapping) -> bool:
    build = svc.get("build")
    if not isinstance(build, Mapping):
        return False
    dockerfile = os.path.normpath(build.get("dockerfile", "Dockerfile"))
    return dockerfile == os.path.normpath(APP_DOCKERFILE)


def app_services(doc: Mapping) -> dict[str, dict]:
    return {name: svc for name, svc in doc["services"].items() if uses_app_image(svc)}


def role(svc: Mapping) -> str:
    """serve (the Dockerfile's default CMD), migrate, topics or cli."""
    words = command_words(svc)
    return words[0] if words else "serve"


def servers(doc: Mapping) -> dict[str, dict]:
    return {name: svc for name, svc in app_services(doc).items() if role(svc) == "serve"}


def depends_on(svc: Mapping) -> dict[str, str]:
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def published_ports(svc: Mapping) -> list[tuple[int, int]]:
    """(host, container) pairs of the ports a service publishes."""
    out = []
    for entry in svc.get("ports") or []:
        if isinstance(entry, Mapping):
            out.append((int(entry["published"]), int(entry["target"])))
            continue
        spec = str(entry).split("/")[0]
        parts = spec.split(":")
        target = parts[-1]
        host = parts[-2] if len(parts) >= 2 else target
        out.append((int(host), int(target)))
    return out


@functools.cache
def service_packages() -> tuple[str, ...]:
    """Packages under services/ that are runnable services (an app.py and a config.py)."""
    return tuple(sorted(
        p.name for p in (REPO / "services").iterdir()
        if all((p / f).is_file() for f in ("__init__.py", "app.py", "config.py"))))


@functools.cache
def settings_classes() -> dict[str, type[ServiceSettings]]:
    out = {}
    for pkg in service_packages():
        module = importlib.import_module(f"services.{pkg}.config")
        found = [c for c in vars(module).values()
                 if isinstance(c, type) and issubclass(c, ServiceSettings)
                 and c is not ServiceSettings and c.__module__ == module.__name__]
        assert len(found) == 1, f"services/{pkg}/config.py should define one settings class"
        out[pkg] = found[0]
    return out


def component_settings(cls: type[ServiceSettings]) -> list[type]:
    """Settings a service's domains read on their own (``services/<pkg>/<domain>/config.py``,
    e.g. financing's ``FINANCING_WEBHOOK_*``)."""
    from pydantic_settings import BaseSettings

    pkg = cls.__module__.split(".")[1]
    found = []
    for path in sorted((REPO / "services" / pkg).glob("*/config.py")):
        module = importlib.import_module(f"services.{pkg}.{path.parent.name}.config")
        found += [c for c in vars(module).values() if isinstance(c, type)
                  and issubclass(c, BaseSettings) and c.__module__ == module.__name__]
    return found


def settings_env_names(cls: type[ServiceSettings]) -> set[str]:
    """Every variable name the settings class reads: its prefixed fields, the platform-wide
    names (shared.config.PLATFORM_WIDE_ENV), explicit aliases, and its domains' own settings."""
    names = set()
    for extra in component_settings(cls):
        prefix = extra.model_config.get("env_prefix", "")
        names |= {f"{prefix}{field}".upper() for field in extra.model_fields}
    return names | _own_env_names(cls)


def _own_env_names(cls: type[ServiceSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    names = {f"{prefix}{field}".upper() for field in cls.model_fields}
    for info in cls.model_fields.values():
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                names.add(alias.upper())
    return names | set(PLATFORM_WIDE_ENV.values())


def default_port(service: str) -> int:
    return settings_classes()[service].model_fields["port"].default


@functools.cache
def cli_commands() -> dict[str, set[str]]:
    """``shared.cli``'s typer commands and the ``envvar``s of their options, read from the
    source with ``ast`` (importing the CLI pulls in Alembic and costs ~0.4 s)."""
    tree = ast.parse((REPO / "shared" / "cli.py").read_text(encoding="utf-8"))
    commands: dict[str, set[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                    and deco.func.attr == "command"):
                continue
            name = node.name.replace("_", "-")
            if deco.args and isinstance(deco.args[0], ast.Constant):
                name = deco.args[0].value
            for kw in deco.keywords:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                    name = kw.value.value
            envvars: set[str] = set()
            for sub in ast.walk(node.args):
                if isinstance(sub, ast.keyword) and sub.arg == "envvar":
                    values = sub.value.elts if isinstance(sub.value, (ast.List, ast.Tuple)) \
                        else [sub.value]
                    envvars.update(v.value for v in values if isinstance(v, ast.Constant))
            commands[name] = envvars
    return commands


def cli_envvars(command: str) -> set[str]:
    return cli_commands()[command]


def env_problems(doc: Mapping) -> list[str]:
    """Every variable set on a service built from the app image must be one the code reads:

    * a server (``serve``): a field of its own settings class with its env prefix, a
      platform-wide name, or ``SERVICE``;
    * ``migrate``: a name any service's settings read (it migrates all four);
    * ``topics``: an ``envvar`` of the ``topics`` CLI command.
    """
    classes = settings_classes()
    every = set().union(*(settings_env_names(c) for c in classes.values()))
    problems = []
    for name, svc in sorted(app_services(doc).items()):
        env = environment(svc)
        kind = role(svc)
        if kind == "serve":
            target = env.get("SERVICE")
            if target not in classes:
                problems.append(f"{name}: SERVICE={target!r} is not a service package under "
                                f"services/ (one of {', '.join(classes)})")
                continue
            allowed, reader = settings_env_names(classes[target]) | {"SERVICE"}, \
                classes[target].__name__
        elif kind == "topics":
            allowed, reader = cli_envvars("topics"), "the `topics` CLI command"
        else:
            allowed, reader = every, "any service's settings"
        for var in env:
            if var not in allowed:
                problems.append(f"{name}: {var} is not read by {reader}")
    return problems


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions (NAME, args) grouped by stage; continuations joined, comments dropped."""
    instructions, buf = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not buf):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        name, _, args = buf.strip().partition(" ")
        instructions.append((name.upper(), args.strip()))
        buf = ""
    stages: list[list[tuple[str, str]]] = []
    for instr in instructions:
        if instr[0] == "FROM":
            stages.append([])
        assert stages, "a Dockerfile starts with FROM"
        stages[-1].append(instr)
    return stages


def env_instructions(stage) -> dict[str, str]:
    out = {}
    for name, args in stage:
        if name != "ENV":
            continue
        words = shlex.split(args)
        if words and "=" not in words[0]:  # legacy `ENV KEY value`
            out[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            out[key] = value
    return out


def copy_sources_and_dest(args: str) -> tuple[list[str], str]:
    if args.lstrip().startswith("["):
        words = json.loads(args)
    else:
        words = [w for w in shlex.split(args) if not w.startswith("--")]
    return words[:-1], words[-1]


def dockerignore_patterns() -> list[str]:
    return [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")]


def dockerignored(relpath: str) -> bool:
    parts = Path(relpath).parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in dockerignore_patterns():
        pat = pattern.strip("/")
        if pat.startswith("**/"):
            if any(fnmatch.fnmatch(part, pat[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatch(prefix, pat) for prefix in prefixes):
            return True
    return False


# ----------------------------------------------------------------------------- (a) schema

_PORT = re.compile(r"^((\d{1,3}\.){3}\d{1,3}:)?(\d{1,5}(-\d{1,5})?:)?"
                   r"\d{1,5}(-\d{1,5})?(/(tcp|udp|sctp))?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    @checker.checks("ports")
    def _ports(value) -> bool:  # docker-compose 1.29 checks this format too
        return not isinstance(value, str) or bool(_PORT.match(value))

    @checker.checks("duration")
    def _duration(value) -> bool:
        return not isinstance(value, str) or bool(_DURATION.match(value))

    return checker


def test_compose_file_matches_vendored_compose_spec_schema():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    doc = compose()
    # The file declares draft 2019-09 but uses draft-4 `id`s; docker-compose 1.29 validates it
    # with Draft4Validator. Use both: the tool's behaviour and the declared dialect.
    for validator_cls in (jsonschema.Draft4Validator, jsonschema.Draft201909Validator):
        validator_cls.check_schema(schema)
        validator = validator_cls(schema, format_checker=_format_checker())
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(
            f"{validator_cls.__name__}: {'.'.join(map(str, e.absolute_path)) or '<root>'}: "
            f"{e.message}" for e in errors)


def test_compose_file_has_no_obsolete_version_key():
    # docker-compose 1.29 treats a file without `version` as the Compose Specification;
    # modern `docker compose` warns that `version` is obsolete.
    assert "version" not in compose()


def test_required_secret_is_enforced_by_interpolation():
    for name, svc in servers(compose()).items():
        raw = environment(svc).get("IPBRIDGE_JWT_SECRET", "")
        assert re.fullmatch(r"\$\{IPBRIDGE_JWT_SECRET:\?[^}]+\}", str(raw)), \
            f"{name}: IPBRIDGE_JWT_SECRET must come from ${{IPBRIDGE_JWT_SECRET:?...}}"
        with pytest.raises(KeyError):
            interpolate(raw, {})


# ----------------------------------------------------------------------------- (b) docker-compose

def _compose_tool(kind: str) -> list[str] | None:
    """The compose executable of one kind, or None when this machine has none."""
    if kind == "docker-compose":  # 1.29 (Debian's package) or a v2 standalone binary
        exe = shutil.which("docker-compose")
        return [exe] if exe else None
    docker = shutil.which("docker")  # the v2 CLI plugin: `docker compose`
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    return [docker, "compose"] if probe.returncode == 0 else None


@pytest.mark.parametrize("kind", ["docker-compose", "docker compose"])
def test_compose_tool_accepts_the_file(kind):
    tool = _compose_tool(kind)
    if tool is None:
        hint = "apt-get install docker-compose" if kind == "docker-compose" else \
            "the docker compose CLI plugin"
        pytest.skip(f"`{kind}` is not installed ({hint}); the schema test above still "
                    f"validates the file")
    env = {**os.environ, **INTERPOLATION_ENV}
    result = subprocess.run([*tool, "-f", str(COMPOSE_FILE), "config", "-q"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or result.stdout
    assert "obsolete" not in result.stderr, result.stderr


# ----------------------------------------------------------------------------- (c) against the code

def test_each_service_package_runs_from_the_app_image():
    doc = compose()
    srv = servers(doc)
    assert sorted(srv) == list(service_packages()) == ["financing", "matching", "registry",
                                                       "rewards"]
    for name, svc in srv.items():
        target = environment(svc).get("SERVICE")
        assert target == name, f"{name}: SERVICE={target!r}; name the compose service after it"
        assert (REPO / "services" / target / "app.py").is_file()
        assert svc["build"] == {"context": ".", "dockerfile": APP_DOCKERFILE}
    images = {svc.get("image") for svc in app_services(doc).values()}
    assert len(images) == 1, f"all app-image services should share one image tag: {images}"
    for name, svc in app_services(doc).items():
        assert role(svc) in ENTRYPOINT_COMMANDS, f"{name}: command {command_words(svc)}"
    assert {role(s) for s in app_services(doc).values()} >= ONE_SHOT_COMMANDS | {"serve"}


def test_published_ports_equal_the_settings_default_ports():
    doc = compose()
    seen: dict[int, str] = {}
    for name, svc in servers(doc).items():
        port = default_port(name)
        assert published_ports(svc) == [(port, port)], f"{name}: publish {port}:{port}"
        assert f"{name.upper()}_PORT" not in environment(svc)
        assert port not in seen, f"{name} and {seen.get(port)} both publish {port}"
        seen[port] = name
    for name, svc in doc["services"].items():
        if name not in servers(doc):
            for host, _ in published_ports(svc):
                assert host not in seen, f"{name} publishes {host}, the port of {seen[host]}"


def test_every_environment_variable_is_read_by_the_code():
    assert env_problems(compose()) == []


def test_environment_check_catches_typos_and_wrong_prefixes():
    doc = compose()
    env = doc["services"]["registry"]["environment"]
    env["REGISTRY_DATABSE_URL"] = env.pop("REGISTRY_DATABASE_URL")
    doc["services"]["financing"]["environment"]["REGISTRY_HOST"] = "0.0.0.0"
    doc["services"]["topics"]["environment"]["KAFKA_TOPIC_PARTITION"] = "6"
    doc["services"]["migrate"]["environment"]["REWARDS_DB_URL"] = "x"
    bad = copy.deepcopy(doc)
    bad["services"]["matching"]["environment"]["SERVICE"] = "matchmaking"

    problems = env_problems(doc)
    assert problems == [
        "financing: REGISTRY_HOST is not read by FinancingSettings",
        "migrate: REWARDS_DB_URL is not read by any service's settings",
        "registry: REGISTRY_DATABSE_URL is not read by RegistrySettings",
        "topics: KAFKA_TOPIC_PARTITION is not read by the `topics` CLI command",
    ]
    assert any(p.startswith("matching: SERVICE='matchmaking' is not a service package")
               for p in env_problems(bad))
    assert env_problems(compose()) == []  # the real file is untouched


def _isolate_env(monkeypatch) -> None:
    prefixes = tuple(c.model_config.get("env_prefix", "") for c in settings_classes().values())
    platform = set(PLATFORM_WIDE_ENV.values()) | {"SERVICE"}
    for var in list(os.environ):
        if var.upper().startswith(prefixes) or var.upper() in platform:
            monkeypatch.delenv(var, raising=False)


def test_compose_environment_configures_each_service_as_intended(monkeypatch):
    """Build each settings object from exactly the environment compose gives the container."""
    doc = compose()
    kafka_env = environment(doc["services"]["kafka"])
    advertised = {listener.split("://", 1)[1]
                  for listener in str(kafka_env["KAFKA_ADVERTISED_LISTENERS"]).split(",")}
    migrate_env = environment(doc["services"]["migrate"])
    for name, svc in servers(doc).items():
        cls = settings_classes()[name]
        env = {k: interpolate(v) for k, v in environment(svc).items()}
        with monkeypatch.context() as m:
            _isolate_env(m)
            for key, value in env.items():
                m.setenv(key, value)
            settings = cls()
        assert settings.env == "prod"
        assert settings.host == "0.0.0.0"
        assert settings.port == default_port(name)
        assert settings.jwt_secret == INTERPOLATION_ENV["IPBRIDGE_JWT_SECRET"]
        assert settings.kafka_enable_idempotence is True
        assert settings.kafka_fetch_max_wait_ms == 100
        assert settings.kafka_session_timeout_ms == 10000
        assert settings.kafka_bootstrap_servers in advertised
        assert settings.database_url == env[f"{name.upper()}_DATABASE_URL"]
        # The migrate job must migrate the very database the service uses.
        assert interpolate(migrate_env.get(f"{name.upper()}_DATABASE_URL")) == settings.database_url

        with monkeypatch.context() as m:  # and the migrate job's view of the same service
            _isolate_env(m)
            for key, value in migrate_env.items():
                m.setenv(key, interpolate(value))
            assert cls().database_url == settings.database_url


def test_databases_in_urls_are_created_by_init_sql():
    doc = compose()
    created = {m.lower() for m in re.findall(r'(?im)^\s*CREATE\s+DATABASE\s+"?(\w+)"?',
                                             INIT_SQL.read_text(encoding="utf-8"))}
    assert created >= set(service_packages())
    postgres = doc["services"]["postgres"]
    mounts = [str(v) for v in postgres.get("volumes", [])]
    assert any(v.split(":")[0] in ("./deploy/postgres/init.sql", "deploy/postgres/init.sql")
               and v.split(":")[1].startswith("/docker-entrypoint-initdb.d/") for v in mounts)
    pg_user = environment(postgres)["POSTGRES_USER"]
    urls = 0
    for name, svc in app_services(doc).items():
        for var, value in environment(svc).items():
            if not var.endswith("_DATABASE_URL"):
                continue
            urls += 1
            url = urlsplit(interpolate(value))
            database = unquote(url.path.lstrip("/"))
            assert url.scheme == "postgresql+asyncpg", f"{name}: {var}"
            assert url.hostname in doc["services"], \
                f"{name}: {var} host {url.hostname} is no compose service"
            assert url.port == 5432
            assert unquote(url.username or "") == pg_user
            assert unquote(url.password or "") == \
                interpolate(environment(postgres)["POSTGRES_PASSWORD"])
            assert database in created, f"{name}: {var} names {database!r}, which " \
                                        f"deploy/postgres/init.sql does not create"
            assert database == var.removesuffix("_DATABASE_URL").lower(), \
                f"{name}: {var} should use its own service's database"
    assert urls == 2 * len(service_packages())  # each server, and the migrate job


def test_depends_on_targets_and_conditions():
    doc = compose()
    services = doc["services"]
    one_shots = {name for name, svc in app_services(doc).items() if role(svc) in ONE_SHOT_COMMANDS}
    assert one_shots == {"migrate", "topics"}
    for name, svc in services.items():
        for dep, condition in depends_on(svc).items():
            assert dep in services, f"{name} depends on undefined service {dep}"
            assert dep != name
            if condition == "service_healthy":
                hc = services[dep].get("healthcheck") or {}
                assert hc.get("test") and not hc.get("disable"), f"{dep} has no healthcheck"
            if condition == "service_completed_successfully":
                assert dep in one_shots, f"{name} waits for {dep} to exit, but it is no job"
    for name in one_shots:
        assert str(services[name].get("restart", "no")) in ("no", "on-failure"), \
            f"{name} is a one-shot job; it must not be restarted after it succeeds"
    assert depends_on(services["topics"]) == {"kafka": "service_healthy"}
    assert depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    for name, svc in servers(doc).items():
        assert depends_on(svc) == {"kafka": "service_healthy", "postgres": "service_healthy",
                                   "topics": "service_completed_successfully",
                                   "migrate": "service_completed_successfully"}, name

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"dependency cycle: {' -> '.join(path + (node,))}"
        for dep in depends_on(services[node]):
            visit(dep, path + (node,))

    for name in services:
        visit(name, ())


def test_kafka_and_topics_job_agree():
    doc = compose()
    kafka = environment(doc["services"]["kafka"])
    assert doc["services"]["kafka"]["image"] == "apache/kafka:3.9.0"
    assert set(str(kafka["KAFKA_PROCESS_ROLES"]).split(",")) == {"broker", "controller"}
    assert str(kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"
    assert str(kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == "1"
    node_id = str(kafka["KAFKA_NODE_ID"])
    assert str(kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"]).startswith(f"{node_id}@")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", str(kafka["CLUSTER_ID"])), "base64 UUID"
    topics = {k: interpolate(v) for k, v in environment(doc["services"]["topics"]).items()}
    assert topics["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert int(topics["KAFKA_TOPIC_PARTITIONS"]) == 6
    assert int(topics.get("KAFKA_REPLICATION_FACTOR", "1")) == 1  # a single broker


def test_build_contexts_dockerfiles_and_bind_mounts_exist():
    doc = compose()
    builds = 0
    for name, svc in doc["services"].items():
        build = svc.get("build")
        if build is not None:
            builds += 1
            context = build if isinstance(build, str) else build.get("context", ".")
            context_dir = (COMPOSE_FILE.parent / context).resolve()
            assert context_dir.is_dir(), f"{name}: build context {context} missing"
            if isinstance(build, Mapping):
                dockerfile = context_dir / build.get("dockerfile", "Dockerfile")
                assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        for volume in svc.get("volumes") or []:
            source = (volume.get("source") if isinstance(volume, Mapping)
                      else str(volume).split(":")[0])
            if source.startswith((".", "/")):
                assert (COMPOSE_FILE.parent / source).exists(), f"{name}: {source} missing"
            else:
                assert source in (doc.get("volumes") or {}), f"{name}: volume {source} undeclared"
    assert builds == len(app_services(doc)) == 6


def test_healthchecks_probe_the_right_port():
    doc = compose()
    for name, svc in servers(doc).items():
        test = " ".join(map(str, svc["healthcheck"]["test"]))
        assert re.search(rf"127\.0\.0\.1:{default_port(name)}/healthz", test), f"{name}: {test}"
    for name in ("kafka", "postgres"):
        assert doc["services"][name]["healthcheck"]["test"], name
    assert "kafka-broker-api-versions.sh" in str(doc["services"]["kafka"]["healthcheck"]["test"])
    assert "pg_isready" in str(doc["services"]["postgres"]["healthcheck"]["test"])


# ----------------------------------------------------------------------------- image files

def test_dockerfile_builds_runtime_only_and_runs_as_non_root():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage build"
    builder, final = stages[0], stages[-1]
    assert builder[0][1].split()[0] == "python:3.11-slim"
    assert final[0][1].split()[0] == "python:3.11-slim"

    runs = [args for name, args in builder if name == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert any(re.search(r"pip install (.* )?-c constraints\.txt (.* )?\.(\s|$)", r)
               for r in installs), installs
    all_runs = " ".join(args for stage in stages for name, args in stage if name == "RUN")
    assert "[dev]" not in all_runs and ".[" not in all_runs, "no dev extras in the image"

    users = [args for name, args in final if name == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"final USER is {user}"
    final_runs = " ".join(args for name, args in final if name == "RUN")
    assert re.search(rf"(useradd|adduser)\b[^&;]*\b{re.escape(user)}\b", final_runs), \
        f"user {user} is not created in the final stage"

    env = env_instructions(final)
    assert env.get("SERVICE") == "registry"
    classes = settings_classes()
    for var in env:
        for pkg, cls in classes.items():
            if var.startswith(cls.model_config["env_prefix"]):
                assert var in settings_env_names(cls), f"ENV {var} is not read by {cls.__name__}"

    exposed: set[int] = set()
    for name, args in final:
        if name == "EXPOSE":
            for word in args.split():
                lo, _, hi = word.split("/")[0].partition("-")
                exposed.update(range(int(lo), int(hi or lo) + 1))
    assert exposed >= {default_port(s) for s in service_packages()}

    healthchecks = [args for name, args in final if name == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0] and "urllib" in healthchecks[0]
    ports_in_check = {svc: int(p) for svc, p in re.findall(r"'(\w+)': (\d+)", healthchecks[0])}
    assert ports_in_check == {s: default_port(s) for s in service_packages()}

    copies = {}
    for stage in stages:
        for name, args in stage:
            if name in ("COPY", "ADD") and "--from" not in args:
                sources, dest = copy_sources_and_dest(args)
                for src in sources:
                    assert (REPO / src).exists(), f"COPY {src}: missing"
                    assert not dockerignored(src), f"COPY {src}: excluded by .dockerignore"
                    copies[src] = dest
    assert {"shared", "services", "deploy/entrypoint.sh"} <= set(copies)
    assert not any(src.startswith(("docs", "tests")) for src in copies)
    entrypoints = [json.loads(args) for name, args in final if name == "ENTRYPOINT"]
    assert entrypoints and entrypoints[-1][0] == copies["deploy/entrypoint.sh"]


def test_dockerignore_keeps_local_state_out_of_the_context():
    patterns = set(dockerignore_patterns())
    assert {".venv", "var", ".git", "tests", "__pycache__"} <= patterns
    for path in (".venv/bin/python", "var/registry.db", ".git/HEAD", "tests/unit/test_deploy.py",
                 "shared/__pycache__/config.cpython-311.pyc"):
        assert dockerignored(path), path
    for path in ("pyproject.toml", "constraints.txt", "shared/config.py", "deploy/entrypoint.sh"):
        assert not dockerignored(path), path


def _git_mode(path: Path) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    result = subprocess.run([git, "ls-files", "-s", "--", str(path.relative_to(REPO))],
                            cwd=REPO, capture_output=True, text=True)
    return result.stdout.split()[0] if result.returncode == 0 and result.stdout.strip() else None


def test_entrypoint_script_is_executable():
    assert ENTRYPOINT.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
    mode = _git_mode(ENTRYPOINT)
    if mode is not None:
        assert mode == "100755", f"git records deploy/entrypoint.sh as {mode}"
    else:  # not in the index yet: what `git add` records follows the file's x bit
        assert os.access(ENTRYPOINT, os.X_OK), "chmod +x deploy/entrypoint.sh"


@pytest.mark.parametrize(("args", "expected"), [
    ([], "-m shared.cli serve financing"),
    (["serve"], "-m shared.cli serve financing"),
    (["serve", "rewards"], "-m shared.cli serve rewards"),
    (["migrate"], "-m shared.cli migrate all"),
    (["migrate", "all"], "-m shared.cli migrate all"),
    (["topics"], "-m shared.cli topics"),
    (["cli", "outbox"], "-m shared.cli outbox"),
])
def test_entrypoint_dispatches_to_the_cli(tmp_path, args, expected):
    stub = tmp_path / "python"
    stub.write_text('#!/bin/sh\necho "$@"\n')
    stub.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "SERVICE": "financing"}
    result = subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
    words = expected.split()
    assert words[2] in cli_commands(), f"shared.cli has no `{words[2]}` command"
    if words[2] in ("serve", "migrate") and words[3] != "all":
        assert words[3] in service_packages()
