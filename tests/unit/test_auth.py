"""Bearer JWTs: minting, verification, the require() dependency and the dev token CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from shared.auth import (
    DEFAULT_SCOPES,
    DEPARTMENTS,
    Caller,
    Principal,
    decode_token,
    ensure_can_read_enterprise,
    mint_token,
    require,
)
from shared.config import DEV_JWT_SECRET
from shared.errors import Forbidden, Unauthorized, install_error_handlers

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "unit-test-secret-" + "s" * 64  # long enough for HS512 too (RFC 7518 §3.2)
ISS, AUD = "ipbridge", "ipbridge"
USCC = "91320500MA1B2C3D8W"
OTHER_USCC = "91140200MA0K1X2Y10"


def _python() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def tamper(token: str) -> str:
    """The same token with the end of its signature changed."""
    return token[:-4] + ("BBBB" if token.endswith("AAAA") else "AAAA")


def decode(token: str, **kw) -> Principal:
    return decode_token(token, **({"secret": SECRET, "issuer": ISS, "audience": AUD} | kw))


def b64url(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def principal(department: str, scopes: tuple[str, ...] | None = None,
              org: str | None = None) -> Principal:
    return Principal(subject=f"{department}:test", department=department, org=org,
                     scopes=frozenset(scopes if scopes is not None else DEFAULT_SCOPES[department]))


# --- mint / decode -------------------------------------------------------------------------------

def test_valid_token_gives_the_principal():
    token = mint_token(department="bank", org="ICBC-SX", scopes=["whitelist:read", "loans:write"],
                       secret=SECRET)
    p = decode(token)
    assert p.department == "bank"
    assert p.org == "ICBC-SX"
    assert p.scopes == frozenset({"whitelist:read", "loans:write"})
    assert p.subject == "bank:ICBC-SX"
    assert p.has("loans:write") and not p.has("enterprises:write")


def test_default_scopes_and_no_org():
    p = decode(mint_token(department="miit", secret=SECRET))
    assert p.scopes == frozenset(DEFAULT_SCOPES["miit"])
    assert p.org is None


def test_token_claims_follow_the_documented_layout():
    token = mint_token(department="miit", org="X", secret=SECRET, ttl_s=60, now=1_700_000_000)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUD,
                        options={"verify_exp": False})
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims["scopes"] == " ".join(DEFAULT_SCOPES["miit"])
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1_700_000_000, 1_700_000_000,
                                                              1_700_000_060)
    assert (claims["iss"], claims["aud"], claims["org"]) == (ISS, AUD, "X")


def test_mint_refuses_unknown_department():
    with pytest.raises(ValueError, match="unknown department"):
        mint_token(department="tax_bureau")


def _claims(**overrides) -> dict:
    now = int(time.time())
    return {"sub": "miit:x", "department": "miit", "scopes": "enterprises:read", "iss": ISS,
            "aud": AUD, "iat": now, "nbf": now, "exp": now + 600} | overrides


@pytest.mark.parametrize("make_token", [
    pytest.param(lambda: mint_token(department="miit", secret=SECRET, ttl_s=60,
                                    now=time.time() - 3600), id="expired"),
    pytest.param(lambda: mint_token(department="miit", secret=SECRET, now=time.time() + 3600),
                 id="not-yet-valid"),
    pytest.param(lambda: jwt.encode(_claims(nbf=int(time.time()) + 3600), SECRET,
                                    algorithm="HS256"), id="nbf-in-future"),
    pytest.param(lambda: mint_token(department="miit", secret=SECRET, audience="other"),
                 id="wrong-audience"),
    pytest.param(lambda: mint_token(department="miit", secret=SECRET, issuer="evil"),
                 id="wrong-issuer"),
    pytest.param(lambda: mint_token(department="miit", secret="another-secret-" + "a" * 32),
                 id="wrong-secret"),
    pytest.param(lambda: b64url({"alg": "none", "typ": "JWT"}) + "." + b64url(_claims()) + ".",
                 id="alg-none"),
    pytest.param(lambda: jwt.encode(_claims(), SECRET, algorithm="HS512"), id="other-algorithm"),
    pytest.param(lambda: jwt.encode(_claims(department="tax_bureau"), SECRET, algorithm="HS256"),
                 id="unknown-department"),
    pytest.param(lambda: jwt.encode({k: v for k, v in _claims().items() if k != "department"},
                                    SECRET, algorithm="HS256"), id="no-department"),
    pytest.param(lambda: jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, SECRET,
                                    algorithm="HS256"), id="no-exp"),
    pytest.param(lambda: jwt.encode({k: v for k, v in _claims().items() if k != "sub"}, SECRET,
                                    algorithm="HS256"), id="no-sub"),
    pytest.param(lambda: "not-a-jwt", id="garbage"),
    pytest.param(lambda: tamper(mint_token(department="miit", secret=SECRET)),
                 id="tampered-signature"),
])
def test_bad_tokens_are_unauthorized(make_token):
    with pytest.raises(Unauthorized) as excinfo:
        decode(make_token())
    assert excinfo.value.status == 401
    assert excinfo.value.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_alg_none_token_is_well_formed_apart_from_the_signature():
    # Guard for the case above: the hand-built token carries valid claims, so the algorithm
    # is the only reason for the rejection.
    token = b64url({"alg": "none", "typ": "JWT"}) + "." + b64url(_claims()) + "."
    claims = jwt.decode(token, options={"verify_signature": False}, algorithms=["none"])
    assert claims["department"] == "miit"
    with pytest.raises(Unauthorized):
        decode(token)


def test_payload_tampering_is_detected():
    header, _, signature = mint_token(department="miit", secret=SECRET).split(".")
    forged = header + "." + b64url(_claims(department="ops", scopes="ops")) + "." + signature
    with pytest.raises(Unauthorized):
        decode(forged)


# --- require() and the HTTP edge -----------------------------------------------------------------

def test_require_passes_the_principal_through():
    dep = require(scopes=("enterprises:write",), departments=("market_regulation",))
    p = principal("market_regulation")
    assert dep(p) is p


def test_require_wrong_department_is_forbidden():
    dep = require(scopes=("enterprises:read",), departments=("market_regulation",))
    with pytest.raises(Forbidden) as excinfo:
        dep(principal("miit"))
    assert excinfo.value.status == 403
    assert excinfo.value.extra["required_departments"] == ["market_regulation"]


def test_require_missing_scope_is_forbidden():
    dep = require(scopes=("enterprises:read", "qualifications:write", "loans:write"))
    with pytest.raises(Forbidden) as excinfo:
        dep(principal("miit"))
    assert excinfo.value.extra["required_scopes"] == ["loans:write"]


def _auth_app() -> FastAPI:
    app = FastAPI()
    app.state.settings = SimpleNamespace(jwt_secret=SECRET, jwt_issuer=ISS, jwt_audience=AUD)
    install_error_handlers(app)

    @app.post("/register")
    async def register(
        caller=Depends(require(scopes=("enterprises:write",), departments=("market_regulation",))),
    ):
        return {"department": caller.department}

    @app.get("/me")
    async def me(caller: Caller):
        return {"department": caller.department, "org": caller.org}

    return app


@pytest.fixture
async def auth_client():
    transport = httpx.ASGITransport(app=_auth_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_http_allowed(auth_client):
    token = mint_token(department="market_regulation", secret=SECRET)
    r = await auth_client.post("/register", headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {"department": "market_regulation"}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer not-a-jwt"},
])
async def test_http_missing_or_bad_token_is_401(auth_client, headers):
    r = await auth_client.get("/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["type"] == "urn:ipbridge:problem:unauthorized"


async def test_http_token_signed_with_another_secret_is_401(auth_client):
    r = await auth_client.get("/me", headers=bearer(mint_token(department="miit")))  # dev secret
    assert r.status_code == 401


@pytest.mark.parametrize("department,scopes", [
    ("miit", None),                                 # wrong department
    ("market_regulation", ["enterprises:read"]),    # right department, scope missing
])
async def test_http_wrong_department_or_scope_is_403(auth_client, department, scopes):
    token = mint_token(department=department, scopes=scopes, secret=SECRET)
    r = await auth_client.post("/register", headers=bearer(token))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:ipbridge:problem:forbidden"


async def test_http_bearer_scheme_is_case_insensitive(auth_client):
    token = mint_token(department="miit", org="X", secret=SECRET)
    r = await auth_client.get("/me", headers={"Authorization": f"bearer {token}"})
    assert r.status_code == 200
    assert r.json() == {"department": "miit", "org": "X"}


# --- reading enterprises -------------------------------------------------------------------------

@pytest.mark.parametrize("department", [d for d in DEPARTMENTS
                                        if "enterprises:read" in DEFAULT_SCOPES[d]])
def test_departments_with_enterprises_read_read_any(department):
    ensure_can_read_enterprise(principal(department), USCC)
    ensure_can_read_enterprise(principal(department), OTHER_USCC)


@pytest.mark.parametrize("org", [USCC, USCC.lower(), "91320500ma1B2C3D8w"])
def test_enterprise_reads_its_own_record(org):
    ensure_can_read_enterprise(principal("enterprise", org=org), USCC)


def test_enterprise_may_not_read_another():
    with pytest.raises(Forbidden):
        ensure_can_read_enterprise(principal("enterprise", org=USCC), OTHER_USCC)


def test_enterprise_without_org_reads_nothing():
    with pytest.raises(Forbidden):
        ensure_can_read_enterprise(principal("enterprise", org=None), USCC)


def test_own_org_without_the_own_scope_is_forbidden():
    with pytest.raises(Forbidden):
        ensure_can_read_enterprise(principal("enterprise", scopes=("claims:write",), org=USCC),
                                   USCC)


def test_ops_cannot_read_enterprises():
    with pytest.raises(Forbidden):
        ensure_can_read_enterprise(principal("ops"), USCC)


# --- dev token CLI -------------------------------------------------------------------------------

def _cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "IPBRIDGE_JWT_SECRET"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def test_cli_prints_a_dev_token():
    result = subprocess.run(
        [_python(), "-m", "shared.auth", "token", "--department", "miit", "--org", "X"],
        cwd=REPO_ROOT, env=_cli_env(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert "\n" not in token
    p = decode_token(token, secret=DEV_JWT_SECRET, issuer="ipbridge", audience="ipbridge")
    assert p.department == "miit"
    assert p.org == "X"
    assert p.scopes == frozenset(DEFAULT_SCOPES["miit"])


def test_cli_rejects_an_unknown_department():
    result = subprocess.run(
        [_python(), "-m", "shared.auth", "token", "--department", "tax_bureau"],
        cwd=REPO_ROOT, env=_cli_env(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert result.stdout == ""
