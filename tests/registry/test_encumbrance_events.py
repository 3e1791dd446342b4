"""The registry records pledges and licences from financing / matching events (ARCHITECTURE
flow 7, registry side), on the real broker and both databases: the patent shows the pledge and
``patent.updated`` is published; an event about an unknown patent is parked (not dead-lettered)
and applied when the patent is registered; a release that overtakes its registration ends
released; a redelivered or stale event changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.registry.app import create_app
from services.registry.config import RegistrySettings
from services.registry.db import Base
from services.registry.patents import handlers
from services.registry.patents.handlers import EncumbranceEvent, yuan_to_10k
from shared.db import today_cn
from shared.events.catalogue import event_type
from shared.events.envelope import CloudEvent
from shared.migrate import upgrade
from tests.conftest import running_app
from tests.harness import TEST_FETCH_MAX_WAIT_MS, auth
from tests.kafka_utils import header, produce, read_topic, wait_async
from tests.registry.ip_factories import application_no, patent_body
from tests.registry.ip_fixtures import ip_events, new_enterprise, new_patent

LOAN_TOPIC = "financing.loan.v1"
LICENSE_TOPIC = "matching.license.v1"


# --- events as financing and matching send them -------------------------------------------------

def cloud_event(kind: str, key: str, data: dict) -> CloudEvent:
    etype = event_type(kind)
    return CloudEvent(type=kind, source=etype.source, subject=key, data=data,
                      dataschema=etype.dataschema, correlationid=f"corr-{uuid.uuid4()}")


def pledge_data(number: str, pledgor: str, *, pledge_id: str, revision: int = 1,
                amount: str = "6403000.00", registered_on: date | None = None) -> dict:
    return {
        "pledge_id": pledge_id, "loan_id": str(uuid.uuid4()), "application_no": number,
        "pledgor_uscc": pledgor, "pledgee_bank_code": "B001",
        "pledgee_name": "中国工商银行大同分行", "registration_no": "Y2026990000123",
        "registered_on": (registered_on or today_cn() - timedelta(days=10)).isoformat(),
        "secured_amount_cny": amount, "pledgee_consent_to_open_licence": False,
        "revision": revision, "registered_at": datetime.now(UTC).isoformat(),
    }


def registered(number: str, pledgor: str, **kw) -> CloudEvent:
    return cloud_event("pledge.registered", pledgor, pledge_data(number, pledgor, **kw))


def released(number: str, pledgor: str, *, revision: int = 2, released_on: date | None = None,
             **kw) -> CloudEvent:
    data = pledge_data(number, pledgor, revision=revision, **kw)
    data.pop("registered_at")
    data.update(released_on=(released_on or today_cn()).isoformat(), reason="repaid",
                released_at=datetime.now(UTC).isoformat())
    return cloud_event("pledge.released", pledgor, data)


def message(event: CloudEvent) -> tuple[bytes, bytes, list]:
    return event.subject.encode(), event.body(), event.headers()


async def send(broker, topic: str, *events: CloudEvent) -> None:
    await produce(broker.bootstrap, topic, [message(e) for e in events])


# --- reading back -------------------------------------------------------------------------------

async def patent(registry, number: str) -> dict:
    resp = await registry.get(f"/v1/patents/{number}", headers=auth())
    assert resp.status_code == 200, resp.text
    return resp.json()


def encumbrance(record: dict, reference: str) -> dict | None:
    return next((e for e in record["encumbrances"] if e["reference"] == reference), None)


async def until_encumbrance(registry, number: str, reference: str, check=lambda e: True,
                            timeout: float = 30) -> dict:
    async def seen():
        record = await patent(registry, number)
        found = encumbrance(record, reference)
        return record if found is not None and check(found) else None
    return await wait_async(seen, timeout=timeout)


async def held(app, reference: str) -> EncumbranceEvent | None:
    async with app.state.sessionmaker() as s:
        return await s.scalar(sa.select(EncumbranceEvent)
                              .where(EncumbranceEvent.reference == reference))


async def until_held(app, reference: str, check) -> EncumbranceEvent:
    async def seen():
        row = await held(app, reference)
        return row if row is not None and check(row) else None
    return await wait_async(seen, timeout=30)


async def consumer_ready(app) -> None:
    await asyncio.wait_for(app.state.runtime.consumer.started.wait(), 20)


async def owned_patent(registry, **body) -> tuple[str, str]:
    uscc = await new_enterprise(registry)
    created = await new_patent(registry, patent_body(uscc, **body))
    return uscc, created["application_no"]


# --- schema -------------------------------------------------------------------------------------

async def test_migration_0007_matches_the_model(registry_app):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with registry_app.state.runtime.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert [c for c in changes if "encumbrance_events" in repr(c)] == []


# --- unit: yuan → 万元 ---------------------------------------------------------------------------

def test_yuan_become_10k_yuan_exactly():
    assert yuan_to_10k("6403000.00") == Decimal("640.30")
    assert yuan_to_10k("123456789012.00") == Decimal("12345678.9012")
    assert yuan_to_10k("0.00") == Decimal("0.00")
    assert yuan_to_10k(None) is None
    # the register keeps six places of 万元: any amount in fen is exact
    assert yuan_to_10k("6403050.00") == Decimal("640.305")
    assert yuan_to_10k("6403050.37") == Decimal("640.305037")
    assert yuan_to_10k("0.01") == Decimal("0.000001")


# --- flow 7, registry side ----------------------------------------------------------------------

async def test_pledge_registered_shows_on_the_patent_and_publishes_patent_updated(
        registry_app, broker):
    registry = registry_app.state.client
    await consumer_ready(registry_app)
    uscc, number = await owned_patent(registry)
    pledge_id = str(uuid.uuid4())
    event = registered(number, uscc, pledge_id=pledge_id, amount="6403000.00")
    await send(broker, LOAN_TOPIC, event)

    record = await until_encumbrance(registry, number, pledge_id)
    pledge = encumbrance(record, pledge_id)
    assert pledge["kind"] == "pledge" and pledge["active"] is True
    assert pledge["pledgee_name"] == "中国工商银行大同分行" and pledge["pledgee_code"] == "B001"
    assert pledge["loan_id"] == event.data["loan_id"]
    assert Decimal(pledge["amount_10k_cny"]) == Decimal("640.30")
    assert pledge["starts_on"] == event.data["registered_on"] and pledge["ends_on"] is None
    assert "pledged_without_consent" in [b["rule"] for b in record["open_license_blockers"]]

    def pledged(records):
        return [r for r in records if header(r, "ce_type") == "patent.updated"
                and json.loads(r.value)["encumbrances"]["pledged"]]
    updates = pledged(await ip_events(broker, number, until=pledged))
    summary = json.loads(updates[0].value)["encumbrances"]
    assert summary["active_pledges"] == 1 and summary["pledgees"] == ["中国工商银行大同分行"]
    assert updates[0].key.decode() == uscc

    # Redelivery: the same event again, and the registration re-sent under a new event id,
    # change nothing (no new revision of the patent).
    revision = record["revision"]
    again = cloud_event("pledge.registered", uscc, event.data)
    await send(broker, LOAN_TOPIC, event, again)
    await until_held(registry_app, pledge_id, lambda row: row.event_id == event.id)
    marker = str(uuid.uuid4())  # a later event on the same partition: once it shows, both ran
    await send(broker, LOAN_TOPIC, registered(number, uscc, pledge_id=marker))
    record = await until_encumbrance(registry, number, marker)
    assert record["revision"] == revision + 1
    assert (await held(registry_app, pledge_id)).event_id == event.id


async def test_release_ends_the_pledge_and_a_stale_registration_does_not_roll_it_back(
        registry_app, broker):
    registry = registry_app.state.client
    await consumer_ready(registry_app)
    uscc, number = await owned_patent(registry)
    pledge_id = str(uuid.uuid4())
    first = registered(number, uscc, pledge_id=pledge_id)
    release = released(number, uscc, pledge_id=pledge_id, revision=2)
    stale = registered(number, uscc, pledge_id=pledge_id, revision=1)  # e.g. replayed
    await send(broker, LOAN_TOPIC, first, release, stale)

    await until_held(registry_app, pledge_id, lambda row: row.revision == 2)
    marker = str(uuid.uuid4())
    await send(broker, LOAN_TOPIC, registered(number, uscc, pledge_id=marker))
    record = await until_encumbrance(registry, number, marker)
    pledge = encumbrance(record, pledge_id)
    assert pledge["ends_on"] == today_cn().isoformat() and pledge["active"] is False
    assert (await held(registry_app, pledge_id)).event_id == release.id


async def test_unknown_patent_is_parked_not_dead_lettered_then_applied_on_registration(
        registry_app, broker):
    registry = registry_app.state.client
    await consumer_ready(registry_app)
    uscc = await new_enterprise(registry)
    number = application_no(today_cn().year - 3)
    pledge_id = str(uuid.uuid4())
    event = registered(number, uscc, pledge_id=pledge_id, amount="2000000.00")
    await send(broker, LOAN_TOPIC, event)

    row = await until_held(registry_app, pledge_id, lambda r: r.state == "pending")
    assert row.application_no == number and row.amount_cny == Decimal("2000000.00")
    dead = await read_topic(broker.bootstrap, f"{LOAN_TOPIC}.dlq", timeout=5)
    assert event.id not in [header(r, "ce_id") for r in dead]

    await new_patent(registry, patent_body(uscc, number=number))
    record = await until_encumbrance(registry, number, pledge_id)
    pledge = encumbrance(record, pledge_id)
    assert pledge["active"] is True and Decimal(pledge["amount_10k_cny"]) == Decimal("200.00")
    assert (await held(registry_app, pledge_id)).state == "applied"

    def pledged(records):
        return [r for r in records if header(r, "ce_type") == "patent.updated"
                and json.loads(r.value)["encumbrances"]["pledged"]]
    assert pledged(await ip_events(broker, number, until=pledged))


async def test_release_before_registration_of_an_unknown_patent_ends_released(
        registry_app, broker):
    registry = registry_app.state.client
    await consumer_ready(registry_app)
    uscc = await new_enterprise(registry)
    number = application_no(today_cn().year - 3)
    pledge_id = str(uuid.uuid4())
    released_on = today_cn() - timedelta(days=1)
    release = released(number, uscc, pledge_id=pledge_id, revision=2, released_on=released_on)
    late = registered(number, uscc, pledge_id=pledge_id, revision=1)
    await send(broker, LOAN_TOPIC, release, late)
    # The late registration is handled after the release (same key, same partition).
    await until_held(registry_app, pledge_id, lambda r: r.state == "pending")
    marker = str(uuid.uuid4())
    await send(broker, LOAN_TOPIC, registered(number, uscc, pledge_id=marker))
    await until_held(registry_app, marker, lambda r: r.state == "pending")
    assert (await held(registry_app, pledge_id)).event_id == release.id

    await new_patent(registry, patent_body(uscc, number=number))
    record = await until_encumbrance(registry, number, pledge_id)
    await until_encumbrance(registry, number, marker)
    pledge = encumbrance(await patent(registry, number), pledge_id)
    assert pledge["ends_on"] == released_on.isoformat() and pledge["active"] is False
    assert record["encumbrances"]


async def test_license_granted_is_recorded_with_its_type(registry_app, broker):
    registry = registry_app.state.client
    await consumer_ready(registry_app)
    uscc, number = await owned_patent(registry)
    licensee = await new_enterprise(registry)
    license_id = str(uuid.uuid4())
    data = {"license_id": license_id, "application_no": number, "license_type": "exclusive",
            "licensor": {"uscc": uscc, "name": "大同市示例新材料科技有限公司"},
            "licensee": {"uscc": licensee, "name": "太原市被许可科技有限公司"},
            "starts_on": (today_cn() - timedelta(days=3)).isoformat(),
            "ends_on": (today_cn() + timedelta(days=700)).isoformat(),
            "fee": {"lump_sum_cny": "300000.00", "royalty_rate": None},
            "granted_at": datetime.now(UTC).isoformat()}
    await send(broker, LICENSE_TOPIC, cloud_event("license.granted", uscc, data))

    record = await until_encumbrance(registry, number, license_id)
    licence = encumbrance(record, license_id)
    assert licence["kind"] == "licence" and licence["licence_type"] == "exclusive"
    assert licence["licensee_uscc"] == licensee and licence["active"] is True
    assert licence["ends_on"] == data["ends_on"]
    assert "exclusive_or_sole_licence" in [b["rule"] for b in record["open_license_blockers"]]


# --- the safety-net sweep (no consumer: only the sweep can apply what was parked) ---------------

@pytest.fixture
async def registry_without_consumer(db_url, broker):
    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                env="test", consumers_enabled=False,
                                kafka_fetch_max_wait_ms=TEST_FETCH_MAX_WAIT_MS)
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.client = client
        yield app


async def test_sweep_applies_events_parked_while_the_patent_was_being_registered(
        registry_without_consumer):
    app = registry_without_consumer
    registry = app.state.client
    uscc = await new_enterprise(registry)
    number = application_no(today_cn().year - 3)
    pledge_id = str(uuid.uuid4())
    async with app.state.sessionmaker() as session, session.begin():
        await handlers.on_pledge_registered(
            session, registered(number, uscc, pledge_id=pledge_id))
    assert (await held(app, pledge_id)).state == "pending"
    assert await handlers.retry_parked(app.state.sessionmaker) == {
        "patents": 0, "applied": 0, "failed": 0}

    await new_patent(registry, patent_body(uscc, number=number))
    assert encumbrance(await patent(registry, number), pledge_id) is None
    assert await handlers.retry_parked(app.state.sessionmaker) == {
        "patents": 1, "applied": 1, "failed": 0}
    record = await patent(registry, number)
    assert encumbrance(record, pledge_id)["active"] is True
    revision = record["revision"]
    assert (await handlers.retry_parked(app.state.sessionmaker))["applied"] == 0
    assert (await patent(registry, number))["revision"] == revision
