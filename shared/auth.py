"""Bearer JWT auth: who the caller is (department, org) and what it may do (scopes).

Tokens are HS256 JWTs with ``sub``, ``department``, ``org``, ``scopes`` (space-separated),
``iss``, ``aud``, ``iat``, ``nbf`` and ``exp``. Routes declare what they need with
:func:`require`; missing or bad tokens get 401, a wrong department or scope 403, both as
problem+json.

Dev tokens: ``python -m shared.auth token --department miit [--org ORG]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from shared.config import DEV_JWT_SECRET
from shared.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"

DEPARTMENTS = (
    "market_regulation", "miit", "science_tech", "private_economy", "pboc", "nfra", "csrc",
    "credit", "bank", "enterprise", "university", "auditor", "ops",
)

#: Default scopes a dev token gets per department (production tokens come from the IdP).
DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "market_regulation": ("enterprises:read", "enterprises:write", "ip:write", "pool:write",
                          "qualifications:write", "rewards:decide", "rewards:read", "funds:manage",
                          "evaluations:read", "whitelist:read",
                          "valuations:write", "compensation:decide", "stats:read",
                          "openlicenses:publish", "licenses:write", "matching:push",
                          "matchmaking:write", "demands:write"),
    "miit": ("enterprises:read", "qualifications:write", "pool:cosign", "matchmaking:write",
             "rewards:decide",
             "rewards:read", "funds:manage", "evaluations:read"),
    "science_tech": ("enterprises:read", "qualifications:write", "matchmaking:write"),
    "private_economy": ("enterprises:read", "qualifications:write", "rewards:read",
                        "evaluations:read"),
    "pboc": ("enterprises:read", "stats:read", "whitelist:read"),
    "nfra": ("enterprises:read", "stats:read", "whitelist:read", "quotas:write"),
    "csrc": ("enterprises:read", "equity:write", "stats:read"),
    "credit": ("enterprises:read", "creditflags:write"),
    "bank": ("enterprises:read", "whitelist:read", "loans:write", "valuations:write",
             "webhooks:write", "compensation:claim"),
    "enterprise": ("enterprises:read:own", "products:write", "claims:write", "demands:write",
                   "loans:apply", "consents:write", "openlicenses:declare", "licenses:write",
                   "claims:read:own"),
    "university": ("enterprises:read:own", "licenses:write", "openlicenses:declare",
                   "claims:write", "claims:read:own"),
    "auditor": ("enterprises:read", "stats:read", "audit:read", "whitelist:read", "rewards:read",
                "evaluations:read"),
    "ops": ("ops",),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    department: str
    org: str | None
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def mint_token(
    *, department: str, org: str | None = None, scopes: list[str] | None = None,
    secret: str = DEV_JWT_SECRET, issuer: str = "ipbridge", audience: str = "ipbridge",
    ttl_s: int = 12 * 3600, subject: str | None = None, now: float | None = None,
) -> str:
    """Sign a token; used by the dev CLI and tests (production tokens come from the IdP)."""
    if department not in DEPARTMENTS:
        raise ValueError(f"unknown department {department!r}; one of {', '.join(DEPARTMENTS)}")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": subject or f"{department}:{org or 'dev'}",
        "department": department,
        "scopes": " ".join(scopes if scopes is not None else DEFAULT_SCOPES[department]),
        "iss": issuer, "aud": audience, "iat": issued, "nbf": issued, "exp": issued + ttl_s,
    }
    if org:
        claims["org"] = org
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str, issuer: str, audience: str) -> Principal:
    """Verify signature, algorithm, expiry, not-before, issuer and audience."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=issuer, audience=audience,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the bearer token has expired", detail_zh="令牌已过期") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"the bearer token is invalid: {exc}", detail_zh="令牌无效") from exc
    department = claims.get("department")
    if department not in DEPARTMENTS:
        raise Unauthorized("the bearer token names no known department",
                           detail_zh="令牌中的部门无效")
    scopes = claims.get("scopes", "")
    scope_set = frozenset(scopes.split() if isinstance(scopes, str) else scopes)
    return Principal(subject=str(claims["sub"]), department=department,
                     org=claims.get("org"), scopes=scope_set)


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required (Authorization: Bearer <JWT>)",
                           detail_zh="需要提供 Bearer 令牌")
    settings = request.app.state.settings
    principal = decode_token(token.strip(), secret=settings.jwt_secret,
                             issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    request.state.principal = principal
    return principal


def require(*, scopes: tuple[str, ...] = (), departments: tuple[str, ...] = ()):
    """Dependency factory: the caller must hold every scope and belong to one department listed."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if departments and principal.department not in departments:
            raise Forbidden(
                f"department {principal.department!r} may not do this; allowed: "
                f"{', '.join(departments)}", detail_zh="当前部门无权执行此操作",
                required_departments=list(departments))
        missing = [s for s in scopes if s not in principal.scopes]
        if missing:
            raise Forbidden(f"missing scope(s): {', '.join(missing)}",
                            detail_zh="令牌缺少所需权限范围", required_scopes=missing)
        return principal

    dependency.__name__ = f"require_{'_'.join(scopes or departments) or 'auth'}"
    return dependency


Caller = Annotated[Principal, Depends(current_principal)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.auth",
                                     description="Mint a local dev bearer token.")
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="print a signed dev token")
    tok.add_argument("--department", required=True, choices=DEPARTMENTS)
    tok.add_argument("--org", default=None, help="bank code or USCC of the caller's organisation")
    tok.add_argument("--scope", action="append", dest="scopes",
                     help="scope to grant (repeatable); default: the department's usual scopes")
    tok.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    import os

    secret = os.environ.get("IPBRIDGE_JWT_SECRET", DEV_JWT_SECRET)
    print(mint_token(department=args.department, org=args.org, scopes=args.scopes,
                     ttl_s=args.ttl, secret=secret))
    return 0



def ensure_can_read_enterprise(principal: Principal, uscc: str) -> None:
    """Departments with ``enterprises:read`` read any enterprise; an enterprise only itself."""
    if principal.has("enterprises:read"):
        return
    if principal.has("enterprises:read:own") and principal.org and principal.org.upper() == uscc:
        return
    raise Forbidden("this caller may read only its own organisation's records",
                    detail_zh="只能查看本单位的数据")


if __name__ == "__main__":
    raise SystemExit(main())
