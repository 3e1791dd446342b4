# ipbridge — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVICE ?= all
DEPARTMENT ?= market_regulation
ORG ?=

.PHONY: help venv run migrate topics test test-unit test-integration test-e2e bench token asyncapi compose-check clean

help:
	@echo "make run      - venv, local broker, migrations, four services on :8001-8004 (Ctrl-C stops)"
	@echo "make test     - venv and the whole test suite (unit, integration, end-to-end)"
	@echo "make bench    - event pipeline vs raw aiokafka; registry reads vs a bare endpoint; import rows/s; whitelist re-evaluation and latency to a bank; matching latency vs brute force, nDCG@10; rewards claims/s from a 10,000-event burst vs raw aiokafka, ledger invariant, report generation time; a synthetic province's pool year through the four services (SQLite and PostgreSQL) vs raw aiokafka"
	@echo "make migrate  - apply migrations (SERVICE=registry|financing|matching|rewards|all)"
	@echo "make topics   - create the catalogue topics and their DLQs on KAFKA_BOOTSTRAP_SERVERS"
	@echo "make token    - print a dev bearer token (DEPARTMENT=miit ORG=...)"
	@echo "make asyncapi - regenerate docs/asyncapi.yaml from the event catalogue"

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m shared.cli dev

migrate: $(STAMP)
	$(PY) -m shared.cli migrate $(SERVICE)

topics: $(STAMP)
	$(PY) -m shared.cli topics

test: $(STAMP)
	$(PY) -m pytest -q -n 4 --dist loadfile

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest -q tests/integration

test-e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP)
	$(PY) -m tests.bench.pipeline
	$(PY) -m tests.bench.registry
	$(PY) -m tests.bench.whitelist
	$(PY) -m tests.bench.matching
	$(PY) -m tests.bench.rewards
	$(PY) -m tests.bench.pool_year

token: $(STAMP)
	@$(PY) -m shared.auth token --department $(DEPARTMENT) $(if $(ORG),--org $(ORG))

asyncapi: $(STAMP)
	$(PY) -m shared.cli asyncapi

clean:
	rm -rf var .pytest_cache
