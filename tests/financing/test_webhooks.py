"""Webhooks for banks without Kafka, against a real HTTP receiver (a threaded ``http.server`` on a
free port) and both databases: signed structured CloudEvents, retries with backoff, a bound then
``failed``, replay, order per enterprise, one delivery per event across replicas, and a bank
never receiving another bank's loan events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from services.financing import events
from services.financing.webhooks.config import WebhookSettings
from services.financing.webhooks.dispatcher import Dispatcher
from services.financing.webhooks.models import WebhookDelivery
from services.financing.webhooks.service import check_url
from services.financing.webhooks.signing import SignatureError, verify
from shared.db import create_engine, create_sessionmaker
from shared.errors import InvalidInput
from tests.factories import make_uscc
from tests.financing.helpers import whitelisted_sme
from tests.harness import auth
from tests.registry.ip_factories import application_no

BANK_A, BANK_B = "BANKA01", "BANKB02"
BACKOFF_BASE_S = 0.3


@pytest.fixture(autouse=True)
def fast_webhooks(monkeypatch):
    """Short backoff and a small attempt bound (read by the dispatcher on every run)."""
    monkeypatch.setenv("FINANCING_WEBHOOK_BACKOFF_BASE_S", str(BACKOFF_BASE_S))
    monkeypatch.setenv("FINANCING_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("FINANCING_WEBHOOK_TIMEOUT_S", "3")
    monkeypatch.setenv("FINANCING_WEBHOOK_LEASE_S", "10")


class Receiver:
    """A bank's endpoint: records every request; answers from a per-path script, then 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"at": time.monotonic(), "path": self.path,
                                              "headers": dict(self.headers.items()),
                                              "body": body})
                    queue = receiver.script.get(self.path) or []
                    status = queue.pop(0) if queue else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def received(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    async def wait(self, path: str, count: int, timeout: float = 20) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(path)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.02)
        raise AssertionError(f"{path}: {len(self.received(path))} requests, wanted {count}")


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


async def subscribe(client, url: str, *, bank: str = BANK_A,
                    types: tuple[str, ...] = ("pledge.registered",)) -> dict:
    resp = await client.post("/v1/webhooks", json={"url": url, "event_types": list(types),
                                                   "description": "test receiver"},
                             headers=auth("bank", bank))
    assert resp.status_code == 201, resp.text
    return resp.json()


def pledge_payload(uscc: str, bank: str = BANK_A, revision: int = 1) -> dict:
    return {"pledge_id": str(uuid.uuid4()), "loan_id": str(uuid.uuid4()),
            "application_no": application_no(), "pledgor_uscc": uscc,
            "pledgee_bank_code": bank, "pledgee_name": "测试银行", "registered_on": "2026-03-01",
            "secured_amount_cny": "3200000.00", "revision": revision,
            "registered_at": datetime.now(UTC).isoformat()}


async def publish_pledge(app, uscc: str, *, bank: str = BANK_A, revision: int = 1):
    """Publish through financing's one publishing path, in a committed transaction."""
    async with app.state.sessionmaker() as session, session.begin():
        return await events.publish(session, "pledge.registered", key=uscc,
                                    data=pledge_payload(uscc, bank, revision), bank_code=bank)


async def deliveries(client, webhook_id: str, bank: str = BANK_A, **params) -> list[dict]:
    resp = await client.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params,
                            headers=auth("bank", bank))
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def wait_delivery(client, webhook_id: str, predicate, bank: str = BANK_A,
                        timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    items: list[dict] = []
    while time.monotonic() < deadline:
        items = await deliveries(client, webhook_id, bank)
        if predicate(items):
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery log never matched: {items}")


# --- subscriptions ----------------------------------------------------------------------------

async def test_subscription_rules_and_ownership(financing_app, receiver):
    client = financing_app.state.client
    created = await subscribe(client, receiver.url("/a"),
                              types=("whitelist.entry_added", "loan.approved"))
    assert created["secret"].startswith("whsec_") and created["bank_code"] == BANK_A
    assert created["event_types"] == ["loan.approved", "whitelist.entry_added"]

    listed = (await client.get("/v1/webhooks", headers=auth("bank", BANK_A))).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]
    # Another bank neither sees nor touches it.
    assert (await client.get("/v1/webhooks", headers=auth("bank", BANK_B))).json()["items"] == []
    for method, path in (("get", ""), ("delete", ""), ("get", "/deliveries"),
                         ("post", "/secret-rotation")):
        resp = await client.request(method.upper(), f"/v1/webhooks/{created['id']}{path}",
                                    headers=auth("bank", BANK_B))
        assert resp.status_code == 404, (method, path, resp.text)

    # The same URL twice is a 409 naming the first subscription.
    again = await client.post("/v1/webhooks", json={"url": receiver.url("/a"),
                                                    "event_types": ["whitelist.entry_added"]},
                              headers=auth("bank", BANK_A))
    assert again.status_code == 409 and again.json()["subscription_id"] == created["id"]

    cases = [({"url": "http://bank.example/hook"}, "url.https_required"),
             ({"url": "https://user:pw@bank.example/hook"}, "url.no_credentials"),
             ({"event_types": ["whitelist.entry_exploded"]}, "event_types.unknown"),
             ({"event_types": ["qualification.granted"]}, "event_types.not_for_banks"),
             ({"event_types": ["equity.listed"]}, "event_types.not_for_banks")]
    for change, rule in cases:
        body = {"url": receiver.url("/other"), "event_types": ["whitelist.entry_added"], **change}
        resp = await client.post("/v1/webhooks", json=body, headers=auth("bank", BANK_A))
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["rule"] == rule
    # Only banks subscribe.
    resp = await client.post("/v1/webhooks", json={"url": receiver.url("/x"),
                                                   "event_types": ["whitelist.entry_added"]},
                             headers=auth("market_regulation"))
    assert resp.status_code == 403

    rotated = await client.post(f"/v1/webhooks/{created['id']}/secret-rotation",
                                headers=auth("bank", BANK_A))
    assert rotated.status_code == 200
    assert rotated.json()["secret_version"] == 2
    assert rotated.json()["secret"] not in (created["secret"], None)

    assert (await client.delete(f"/v1/webhooks/{created['id']}",
                                headers=auth("bank", BANK_A))).status_code == 204
    assert (await client.get("/v1/webhooks", headers=auth("bank", BANK_A))).json()["items"] == []


def test_plain_http_is_refused_outside_dev_and_test():
    check_url("http://127.0.0.1:9000/hook", "test")
    for env in ("prod",):
        for url in ("http://127.0.0.1:9000/hook", "https://10.1.2.3/hook",
                    "https://169.254.169.254/latest"):
            with pytest.raises(InvalidInput):
                check_url(url, env)
    check_url("https://bank.example/hook", "prod")


# --- delivery ---------------------------------------------------------------------------------

async def test_delivery_is_a_signed_structured_cloudevent(financing_app, receiver):
    client = financing_app.state.client
    hook = await subscribe(client, receiver.url("/signed"))
    uscc = make_uscc()
    event = await publish_pledge(financing_app, uscc)

    request = (await receiver.wait("/signed", 1))[0]
    headers = request["headers"]
    verify(hook["secret"], headers, request["body"])  # raises if the signature is wrong
    assert headers["Webhook-Id"] == event.id
    assert headers["Content-Type"].startswith("application/cloudevents+json")
    body = json.loads(request["body"])
    assert {k: body[k] for k in ("specversion", "id", "source", "type", "subject",
                                 "dataschema")} == {
        "specversion": "1.0", "id": event.id, "source": "/ipbridge/financing",
        "type": "pledge.registered", "subject": uscc,
        "dataschema": "urn:ipbridge:schema:pledge.registered:v1"}
    assert body["time"] == event.time and body["data"] == event.data
    # Signed with this subscription's secret, not any other.
    with pytest.raises(SignatureError):
        verify("whsec_" + "A" * 44, headers, request["body"])

    log = await wait_delivery(client, hook["id"], lambda items: items
                              and items[0]["status"] == "delivered")
    assert log[0]["attempts"] == 1 and log[0]["last_status_code"] == 200
    assert log[0]["event_id"] == event.id and log[0]["subject"] == uscc
    assert log[0]["finished_at"] is not None and log[0]["next_attempt_at"] is None


async def test_rotated_secret_signs_from_then_on(financing_app, receiver):
    client = financing_app.state.client
    hook = await subscribe(client, receiver.url("/rotate"))
    rotated = (await client.post(f"/v1/webhooks/{hook['id']}/secret-rotation",
                                 headers=auth("bank", BANK_A))).json()
    await publish_pledge(financing_app, make_uscc())
    request = (await receiver.wait("/rotate", 1))[0]
    verify(rotated["secret"], request["headers"], request["body"])
    with pytest.raises(SignatureError):
        verify(hook["secret"], request["headers"], request["body"])


async def test_failing_receiver_gets_retries_with_backoff(financing_app, receiver):
    client = financing_app.state.client
    receiver.script["/flaky"] = [500, 500]
    hook = await subscribe(client, receiver.url("/flaky"))
    event = await publish_pledge(financing_app, make_uscc())

    got = await receiver.wait("/flaky", 3)
    await asyncio.sleep(0.5)
    assert len(receiver.received("/flaky")) == 3, "no attempt after the 200"
    assert {r["headers"]["Webhook-Id"] for r in got} == {event.id}
    gaps = [b["at"] - a["at"] for a, b in zip(got, got[1:])]
    # Equal jitter: the n-th retry waits at least half of base × 2^(n-1).
    assert gaps[0] >= BACKOFF_BASE_S / 2 * 0.9, gaps
    assert gaps[1] >= BACKOFF_BASE_S * 0.9, gaps
    log = await wait_delivery(client, hook["id"],
                              lambda items: items and items[0]["status"] == "delivered")
    assert log[0]["attempts"] == 3 and log[0]["last_status_code"] == 200
    assert log[0]["last_error"] is None


async def test_permanent_failure_ends_failed_after_the_bound_and_replay_redelivers(
        financing_app, receiver):
    client = financing_app.state.client
    receiver.script["/down"] = [503] * 3
    hook = await subscribe(client, receiver.url("/down"))
    event = await publish_pledge(financing_app, make_uscc())

    log = await wait_delivery(client, hook["id"],
                              lambda items: items and items[0]["status"] == "failed")
    assert log[0]["attempts"] == 3 and log[0]["last_status_code"] == 503
    assert log[0]["last_error"].startswith("HTTP 503")
    await asyncio.sleep(1.0)
    assert len(receiver.received("/down")) == 3, "attempted beyond the bound"
    failed = await deliveries(client, hook["id"], status="failed")
    assert [d["id"] for d in failed] == [log[0]["id"]]

    # The receiver is back: replay by id re-sends the same event, once.
    resp = await client.post(f"/v1/webhooks/{hook['id']}/replay",
                             json={"delivery_ids": [log[0]["id"]]},
                             headers=auth("bank", BANK_A))
    assert resp.status_code == 202, resp.text
    assert resp.json()["requeued"] == 1
    new_id = resp.json()["delivery_ids"][0]
    got = await receiver.wait("/down", 4)
    assert got[3]["headers"]["Webhook-Id"] == event.id
    verify(hook["secret"], got[3]["headers"], got[3]["body"])
    log = await wait_delivery(client, hook["id"], lambda items: any(
        d["id"] == new_id and d["status"] == "delivered" for d in items))
    replayed = next(d for d in log if d["id"] == new_id)
    assert replayed["replay_of"] == log[-1]["id"] and replayed["attempts"] == 1

    # Replay by time: everything finished since `from`; other subscriptions' ids are refused.
    since = (await client.post(f"/v1/webhooks/{hook['id']}/replay",
                               json={"from": "2000-01-01T00:00:00+08:00"},
                               headers=auth("bank", BANK_A))).json()
    assert since["requeued"] == 2
    await receiver.wait("/down", 6)
    bad = await client.post(f"/v1/webhooks/{hook['id']}/replay",
                            json={"delivery_ids": [10**9]}, headers=auth("bank", BANK_A))
    assert bad.status_code == 422 and bad.json()["errors"][0]["rule"] == "delivery_ids.unknown"
    both = await client.post(f"/v1/webhooks/{hook['id']}/replay",
                             json={"delivery_ids": [1], "from": "2000-01-01T00:00:00Z"},
                             headers=auth("bank", BANK_A))
    assert both.status_code == 422


async def test_snapshots_of_one_enterprise_go_out_in_order(financing_app, receiver,
                                                           monkeypatch):
    """A newer snapshot of an enterprise waits while an older one is being retried; another
    enterprise's events are not held up."""
    # The retry waits at least 1.5 s (equal jitter on 3 s): long enough that the other
    # enterprise's event, published right after, is due before it even on a loaded machine.
    monkeypatch.setenv("FINANCING_WEBHOOK_BACKOFF_BASE_S", "3")
    client = financing_app.state.client
    receiver.script["/order"] = [500]
    await subscribe(client, receiver.url("/order"))
    slow, other = make_uscc(), make_uscc()
    first = await publish_pledge(financing_app, slow, revision=1)
    second = await publish_pledge(financing_app, slow, revision=2)
    third = await publish_pledge(financing_app, other, revision=1)

    got = await receiver.wait("/order", 4)
    ids = [r["headers"]["Webhook-Id"] for r in got]
    assert ids[0] == first.id  # failed with 500
    assert ids.index(second.id) > ids.index(first.id, 1), ids  # only after the retry succeeded
    assert ids.index(third.id) < ids.index(first.id, 1), ids   # not blocked by the retry


async def test_loan_events_go_only_to_the_lending_bank(financing_app, receiver):
    client = financing_app.state.client
    a = await subscribe(client, receiver.url("/bank-a"), bank=BANK_A)
    b = await subscribe(client, receiver.url("/bank-b"), bank=BANK_B)
    event = await publish_pledge(financing_app, make_uscc(), bank=BANK_A)
    # A loan-topic event published without a bank goes to nobody.
    async with financing_app.state.sessionmaker() as session, session.begin():
        await events.publish(session, "pledge.registered", key=make_uscc(),
                             data=pledge_payload(make_uscc()))

    got = await receiver.wait("/bank-a", 1)
    assert got[0]["headers"]["Webhook-Id"] == event.id
    await wait_delivery(client, a["id"], lambda items: items[0]["status"] == "delivered")
    await asyncio.sleep(0.5)
    assert len(receiver.received("/bank-a")) == 1
    assert receiver.received("/bank-b") == []
    assert await deliveries(client, b["id"], BANK_B) == []


async def test_deleting_a_subscription_cancels_its_pending_deliveries(financing_app, receiver):
    client = financing_app.state.client
    receiver.script["/gone"] = [500] * 3
    hook = await subscribe(client, receiver.url("/gone"))
    await publish_pledge(financing_app, make_uscc())
    await receiver.wait("/gone", 1)
    assert (await client.delete(f"/v1/webhooks/{hook['id']}",
                                headers=auth("bank", BANK_A))).status_code == 204
    await asyncio.sleep(BACKOFF_BASE_S * 2)
    assert len(receiver.received("/gone")) == 1
    async with financing_app.state.sessionmaker() as session:
        statuses = (await session.scalars(sa.select(WebhookDelivery.status).where(
            WebhookDelivery.subscription_id == hook["id"]))).all()
    assert statuses == ["cancelled"]


async def test_replicas_never_send_one_delivery_twice(financing_app, receiver):
    """Two more dispatchers on their own engines (as other replicas would be) race the app's
    own: each delivery reaches the receiver exactly once."""
    client = financing_app.state.client
    await subscribe(client, receiver.url("/race"))
    url = financing_app.state.settings.database_url
    engines = [create_engine(url) for _ in range(2)]
    replicas = [Dispatcher(create_sessionmaker(e)) for e in engines]
    try:
        published = [await publish_pledge(financing_app, make_uscc()) for _ in range(30)]
        settings = WebhookSettings(batch_size=5)

        async def drain(dispatcher: Dispatcher) -> None:
            deadline = time.monotonic() + 20
            while len(receiver.received("/race")) < len(published) \
                    and time.monotonic() < deadline:
                await dispatcher.dispatch_once(settings)
                await asyncio.sleep(0)

        await asyncio.gather(*(drain(r) for r in replicas))
        await asyncio.sleep(0.5)
        ids = [r["headers"]["Webhook-Id"] for r in receiver.received("/race")]
        assert sorted(ids) == sorted(e.id for e in published)  # all, and none twice
    finally:
        for engine in engines:
            await engine.dispose()


async def test_whitelist_entries_reach_every_subscribed_bank(stack, receiver):
    """Registry facts → financing's whitelist → signed webhooks to each subscribed bank."""
    types = ("whitelist.entry_added", "whitelist.entry_updated", "whitelist.entry_removed")
    a = await subscribe(stack.financing, receiver.url("/wl-a"), bank=BANK_A, types=types)
    b = await subscribe(stack.financing, receiver.url("/wl-b"), bank=BANK_B, types=types)
    uscc, numbers = await whitelisted_sme(stack)

    for hook, path in ((a, "/wl-a"), (b, "/wl-b")):
        deadline = time.monotonic() + 20
        while not any(json.loads(r["body"])["subject"] == uscc for r in receiver.received(path)):
            assert time.monotonic() < deadline, f"{path} never got {uscc}"
            await asyncio.sleep(0.05)
        mine = [r for r in receiver.received(path) if json.loads(r["body"])["subject"] == uscc]
        for request in mine:
            verify(hook["secret"], request["headers"], request["body"])
        first = json.loads(mine[0]["body"])
        assert first["type"] == "whitelist.entry_added"
        assert first["data"]["uscc"] == uscc and first["data"]["listed"] is True
        last = json.loads(mine[-1]["body"])["data"]
        assert [p["application_no"] for p in last["pledgeable_patents"]] == numbers


async def test_signing_secrets_are_sealed_at_rest_and_still_sign(financing_app, receiver,
                                                                  monkeypatch):
    """With FINANCING_WEBHOOK_SECRET_KEY the database holds only ciphertext; the dispatcher
    opens it to sign, also after the key is rotated (new key first, old one kept to open)."""
    from cryptography.fernet import Fernet

    from services.financing.webhooks.models import WebhookSubscription

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("FINANCING_WEBHOOK_SECRET_KEY", old_key)
    client = financing_app.state.client
    hook = await subscribe(client, receiver.url("/sealed"))
    async with financing_app.state.sessionmaker() as session:
        stored = (await session.get(WebhookSubscription, hook["id"])).secret
    assert stored.startswith("fernet:") and hook["secret"] not in stored

    monkeypatch.setenv("FINANCING_WEBHOOK_SECRET_KEY", f"{new_key},{old_key}")
    await publish_pledge(financing_app, make_uscc())
    request = (await receiver.wait("/sealed", 1))[0]
    verify(hook["secret"], request["headers"], request["body"])


def test_production_refuses_to_start_without_a_sealing_key(monkeypatch):
    from services.financing.webhooks.config import WebhookSettings

    monkeypatch.setenv("IPBRIDGE_ENV", "prod")
    monkeypatch.delenv("FINANCING_WEBHOOK_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="FINANCING_WEBHOOK_SECRET_KEY is required"):
        WebhookSettings()
    monkeypatch.setenv("FINANCING_WEBHOOK_SECRET_KEY", "not-a-key")
    with pytest.raises(ValueError, match="must be Fernet keys"):
        WebhookSettings()
