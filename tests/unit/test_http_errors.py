"""problem+json errors, the body-size limit and request/correlation ids, on a tiny in-process app.

The app is assembled like ``shared.app.create_service_app`` (same handlers, same middleware in
the same order) without lifespan, database or broker.
"""

from __future__ import annotations

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

import shared.errors
from shared.errors import Conflict, InvalidInput, NotFound, install_error_handlers
from shared.middleware import BodySizeLimitMiddleware, RequestContextMiddleware

PROBLEM_JSON = "application/problem+json"
MAX_BYTES = 256
SECRET_MESSAGE = "password=hunter2 at db.internal:5432"


class Owner(BaseModel):
    name: str = Field(min_length=1)
    share: float = Field(ge=0, le=1)


class ThingCreate(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    owner: Owner | None = None


class ThingTaken(Conflict):
    slug = "thing-taken"
    title = "Thing already exists"


def build_app(max_bytes: int = MAX_BYTES) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_bytes)
    app.add_middleware(RequestContextMiddleware, service="unit-test")

    @app.post("/things", status_code=201)
    async def create_thing(body: ThingCreate):
        return body

    @app.post("/raw")
    async def raw(request: Request):
        return {"received": len(await request.body())}

    @app.post("/ignore-body")
    async def ignore_body():
        app.state.ignore_body_calls += 1
        return {"ok": True}

    app.state.ignore_body_calls = 0

    @app.get("/things/{thing_id}")
    async def read_thing(thing_id: int):
        if thing_id == 1:
            raise ThingTaken("thing 1 exists", detail_zh="已存在", thing_id=thing_id)
        if thing_id == 2:
            raise InvalidInput("thing_id", "thing.reserved", "thing 2 is reserved",
                               message_zh="保留编号")
        raise NotFound(f"no thing {thing_id}")

    @app.get("/boom")
    async def boom():
        raise RuntimeError(SECRET_MESSAGE)

    @app.get("/context")
    async def context():
        ctx = structlog.contextvars.get_contextvars()
        return {"request_id": ctx.get("request_id"), "correlation_id": ctx.get("correlation_id")}

    return app


@pytest.fixture
def app() -> FastAPI:
    return build_app()


@pytest.fixture
async def client(app):
    # raise_app_exceptions=False: Starlette re-raises an unhandled error after sending the 500,
    # as a server would see it; the client should get the response.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:ipbridge:problem:")
    assert body["title"]
    return body


# --- validation (422) ----------------------------------------------------------------------------

async def test_pydantic_validation_names_the_body_field(client):
    r = await client.post("/things", json={"name": ""})
    body = assert_problem(r, 422)
    assert body["type"] == "urn:ipbridge:problem:validation-error"
    assert body["errors"][0]["field"] == "name"
    assert body["errors"][0]["rule"] == "string_too_short"
    assert body["errors"][0]["message"]
    assert body["detail"].startswith("name:")
    assert body["instance"] == "/things"


async def test_nested_field_path(client):
    r = await client.post("/things", json={"name": "ok", "owner": {"name": "x", "share": 1.5}})
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["owner.share"]
    assert body["errors"][0]["rule"] == "less_than_equal"


async def test_every_offending_field_is_listed(client):
    r = await client.post("/things", json={"owner": {"share": -1}})
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"name", "owner.name", "owner.share"}
    assert all(e["rule"] for e in body["errors"])
    assert "(and 2 more)" in body["detail"]


async def test_path_parameter_errors_keep_their_location(client):
    body = assert_problem(await client.get("/things/abc"), 422)
    assert body["errors"][0]["field"] == "path.thing_id"


async def test_malformed_json_is_a_422_problem(client):
    r = await client.post("/things", content=b"{not json",
                          headers={"content-type": "application/json"})
    body = assert_problem(r, 422)
    assert body["errors"][0]["rule"] == "json_invalid"


# --- ProblemError subclasses ---------------------------------------------------------------------

async def test_problem_error_subclass_keeps_status_type_and_extras(client):
    body = assert_problem(await client.get("/things/1"), 409)
    assert body["type"] == "urn:ipbridge:problem:thing-taken"
    assert body["title"] == "Thing already exists"
    assert body["detail"] == "thing 1 exists"
    assert body["detail_zh"] == "已存在"
    assert body["thing_id"] == 1
    assert body["instance"] == "/things/1"


async def test_invalid_input_names_field_and_rule(client):
    body = assert_problem(await client.get("/things/2"), 422)
    assert body["type"] == "urn:ipbridge:problem:validation-error"
    assert body["errors"] == [{"field": "thing_id", "rule": "thing.reserved",
                               "message": "thing 2 is reserved", "message_zh": "保留编号"}]


async def test_not_found_problem(client):
    body = assert_problem(await client.get("/things/3"), 404)
    assert body["type"] == "urn:ipbridge:problem:not-found"


async def test_unknown_route_is_a_404_problem(client):
    body = assert_problem(await client.get("/nowhere"), 404)
    assert body["type"] == "urn:ipbridge:problem:not-found"
    assert body["instance"] == "/nowhere"


async def test_wrong_method_is_a_405_problem(client):
    r = await client.delete("/things/1")
    body = assert_problem(r, 405)
    assert body["type"] == "urn:ipbridge:problem:method-not-allowed"
    assert "GET" in r.headers["allow"]


# --- unexpected errors (500) ---------------------------------------------------------------------

async def test_unexpected_error_is_an_opaque_500(client):
    r = await client.get("/boom")
    body = assert_problem(r, 500)
    assert body["type"] == "urn:ipbridge:problem:internal-error"
    assert "hunter2" not in r.text
    assert "RuntimeError" not in r.text
    assert "Traceback" not in r.text


async def test_500_carries_the_request_id_it_was_logged_with(client, monkeypatch):
    # A fresh logger, so capture works even if another test configured (and cached) structlog.
    monkeypatch.setattr(shared.errors, "log", structlog.get_logger("ipbridge.errors"))
    with structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars]) as logs:
        r = await client.get("/boom", headers={"X-Request-ID": "req-500",
                                               "X-Correlation-ID": "corr-500"})
    body = assert_problem(r, 500)
    assert body["request_id"] == "req-500"
    assert r.headers["x-request-id"] == "req-500"
    assert r.headers["x-correlation-id"] == "corr-500"
    errors = [e for e in logs if e["event"] == "http.unhandled_error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "req-500"
    assert errors[0]["correlation_id"] == "corr-500"
    assert errors[0]["error_type"] == "RuntimeError"


async def test_500_generates_a_request_id_when_none_was_sent(client):
    r = await client.get("/boom")
    body = assert_problem(r, 500)
    assert body["request_id"]
    assert r.headers["x-request-id"] == body["request_id"]


# --- body size limit (413) -----------------------------------------------------------------------

def assert_too_large(response: httpx.Response) -> None:
    body = assert_problem(response, 413)
    assert body["type"] == "urn:ipbridge:problem:payload-too-large"
    assert body["errors"][0]["field"] == "body"
    assert body["errors"][0]["rule"] == "max_bytes"
    assert str(MAX_BYTES) in body["detail"]


async def test_body_under_the_limit_is_accepted(client):
    r = await client.post("/raw", content=b"x" * MAX_BYTES)
    assert r.status_code == 200
    assert r.json() == {"received": MAX_BYTES}


async def test_body_over_the_limit_by_content_length(client):
    r = await client.post("/things", json={"name": "x" * (MAX_BYTES * 2)})
    assert int(r.request.headers["content-length"]) > MAX_BYTES
    assert_too_large(r)
    assert r.headers["x-request-id"]


async def test_declared_oversize_body_is_refused_before_the_route_runs(client, app):
    r = await client.post("/ignore-body", content=b"x" * (MAX_BYTES + 1))
    assert_too_large(r)
    assert app.state.ignore_body_calls == 0
    r = await client.post("/ignore-body", content=b"x" * MAX_BYTES)
    assert r.status_code == 200
    assert app.state.ignore_body_calls == 1


async def chunks(n: int, size: int = 64):
    for _ in range(n):
        yield b"x" * size


@pytest.mark.parametrize("path", ["/raw", "/things"])
async def test_streamed_body_over_the_limit(client, path):
    r = await client.post(path, content=chunks(10), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(r)


async def test_streamed_body_under_the_limit_is_accepted(client):
    r = await client.post("/raw", content=chunks(4))
    assert "content-length" not in r.request.headers
    assert r.status_code == 200
    assert r.json() == {"received": 4 * 64}


# --- request and correlation ids -----------------------------------------------------------------

async def test_request_id_is_echoed(client):
    r = await client.get("/context", headers={"X-Request-ID": "req-123"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "req-123"
    assert r.json()["request_id"] == "req-123"


async def test_request_id_is_generated_when_absent(client):
    first = await client.get("/context")
    second = await client.get("/context")
    rid = first.headers["x-request-id"]
    assert rid and rid != second.headers["x-request-id"]
    assert first.json()["request_id"] == rid


async def test_correlation_id_defaults_to_the_request_id(client):
    r = await client.get("/context", headers={"X-Request-ID": "req-9"})
    assert r.headers["x-correlation-id"] == "req-9"
    assert r.json() == {"request_id": "req-9", "correlation_id": "req-9"}
    r = await client.get("/context")
    assert r.headers["x-correlation-id"] == r.headers["x-request-id"]


async def test_correlation_id_is_kept_across_requests(client):
    r = await client.get("/context", headers={"X-Correlation-ID": "flow-7"})
    assert r.headers["x-correlation-id"] == "flow-7"
    assert r.headers["x-request-id"] != "flow-7"
    assert r.json()["correlation_id"] == "flow-7"


async def test_ids_are_on_error_responses_too(client):
    r = await client.get("/things/1", headers={"X-Request-ID": "req-409"})
    assert r.status_code == 409
    assert r.headers["x-request-id"] == "req-409"


async def test_ids_do_not_leak_between_requests(client):
    await client.get("/context", headers={"X-Request-ID": "req-a"})
    assert structlog.contextvars.get_contextvars().get("request_id") is None
    r = await client.get("/context")
    assert r.json()["request_id"] != "req-a"

