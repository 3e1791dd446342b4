"""RFC 9457 problem details: one error base, one set of handlers, no internals leaked.

Every error body is ``application/problem+json`` with a stable ``type`` URN, a ``title``, the
``status``, a human ``detail`` (English, with the Chinese sentence in ``detail_zh`` where a person
reads it) and, for input errors, ``errors``: one entry per offending field naming the rule broken.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:ipbridge:problem:"

log = structlog.get_logger("ipbridge.errors")


def problem_type(slug: str) -> str:
    return f"{TYPE_PREFIX}{slug}"


class ProblemError(Exception):
    """Base of every expected failure; subclasses set status, slug and title."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        detail_zh: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = detail_zh
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.detail_zh:
            body["detail_zh"] = self.detail_zh
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        # Extension members never overwrite the standard ones (RFC 9457 §3.2).
        return {k: v for k, v in self.extra.items() if k not in body} | body


class InvalidInput(ProblemError):
    """A domain rule rejected a field (422); ``errors`` names the field and the rule."""

    status = 422
    slug = "validation-error"
    title = "Request failed validation"

    def __init__(self, field: str, rule: str, message: str, *, message_zh: str | None = None,
                 **extra: Any) -> None:
        super().__init__(
            f"{field}: {message}",
            detail_zh=message_zh,
            errors=[{"field": field, "rule": rule, "message": message}
                    | ({"message_zh": message_zh} if message_zh else {})],
            **extra,
        )


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "Resource not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class Unauthorized(ProblemError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="ipbridge"'})
        super().__init__(detail, **kw)


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this caller"


class PreconditionFailed(ProblemError):
    """The ``If-Match`` ETag is stale: someone changed the record since it was read (412)."""

    status = 412
    slug = "precondition-failed"
    title = "The record changed since it was read"


class PreconditionRequired(ProblemError):
    """An update without ``If-Match`` (428): read the record, then send its ETag."""

    status = 428
    slug = "precondition-required"
    title = "If-Match required"


def check_if_match(if_match: str | None, current_etag: str) -> None:
    """Optimistic concurrency for updates: 428 without If-Match, 412 when it is stale."""
    if not if_match:
        raise PreconditionRequired("send If-Match with the ETag from your last read",
                                   detail_zh="更新需携带 If-Match（上次读取时的 ETag）")
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and current_etag not in tags:
        raise PreconditionFailed(f"If-Match {if_match} does not match the current ETag "
                                 f"{current_etag}; re-read and retry",
                                 detail_zh="记录已被修改，请重新读取后再提交", current_etag=current_etag)


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class ServiceUnavailable(ProblemError):
    status = 503
    slug = "service-unavailable"
    title = "Temporarily unavailable"


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], headers=headers,
                        media_type=PROBLEM_JSON)


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else ".".join([where, *rest])
    return ".".join(parts)


def validation_problem(exc: RequestValidationError, instance: str) -> dict[str, Any]:
    errors = []
    for err in exc.errors():
        field = _loc_to_field(err.get("loc", ()))
        errors.append({"field": field or "body", "rule": err.get("type", "invalid"),
                       "message": err.get("msg", "invalid value")})
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return {
        "type": problem_type("validation-error"),
        "title": "Request failed validation",
        "status": 422,
        "detail": f"{first['field']}: {first['message']}"
        + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
        "detail_zh": "请求参数校验失败，详见 errors 字段",
        "instance": instance,
        "errors": errors,
    }


_STATUS_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                 405: "method-not-allowed", 406: "not-acceptable", 409: "conflict",
                 413: "payload-too-large", 415: "unsupported-media-type", 429: "too-many-requests"}


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem+json; unexpected ones are logged and kept opaque."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError):
        return problem_response(exc.to_problem(request.url.path), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return problem_response(validation_problem(exc, request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        slug = _STATUS_SLUGS.get(exc.status_code, "http-error")
        body = {"type": problem_type(slug), "title": slug.replace("-", " ").capitalize(),
                "status": exc.status_code, "detail": str(exc.detail), "instance": request.url.path}
        return problem_response(body, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # This runs outside RequestContextMiddleware: its context variables are gone and its
        # headers are not added, so take the ids from the request state it left behind.
        context = structlog.contextvars.get_contextvars()
        ids = {key: value for key in ("request_id", "correlation_id")
               if (value := getattr(request.state, key, None) or context.get(key))}
        with structlog.contextvars.bound_contextvars(**ids):
            log.exception("http.unhandled_error", path=request.url.path,
                          error_type=type(exc).__name__)
        body = {"type": problem_type("internal-error"), "title": "Internal error", "status": 500,
                "detail": "An unexpected error occurred; it has been logged with the request id.",
                "instance": request.url.path, "request_id": ids.get("request_id")}
        headers = {name: ids[key] for key, name in (("request_id", "X-Request-ID"),
                                                    ("correlation_id", "X-Correlation-ID"))
                   if key in ids}
        return problem_response(body, headers)
