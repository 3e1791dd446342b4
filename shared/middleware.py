"""ASGI middleware: request/correlation ids with an access log and metrics, and a body limit."""

from __future__ import annotations

import json
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import problem_type
from shared.logging import new_id
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("ipbridge.http")


class RequestContextMiddleware:
    """Binds ``request_id`` and ``correlation_id`` (from X-Request-ID / X-Correlation-ID or new),
    echoes them in the response, logs one line per request and records metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = headers.get("x-request-id") or new_id()
        correlation_id = headers.get("x-correlation-id") or request_id
        # Unhandled errors are answered outside this middleware (Starlette's
        # ServerErrorMiddleware), after the context variables are reset: keep the ids on the
        # request state for that handler (shared.errors).
        state = scope.setdefault("state", {})
        state["request_id"], state["correlation_id"] = request_id, correlation_id
        status = {"code": 500}
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode()),
                                      (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id,
                                                    correlation_id=correlation_id):
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                elapsed = time.perf_counter() - started
                route = scope.get("route")
                path_template = getattr(route, "path", None) or "unmatched"
                method = scope.get("method", "")
                HTTP_REQUESTS.labels(self.service, method, path_template,
                                     str(status["code"])).inc()
                HTTP_LATENCY.labels(self.service, method, path_template).observe(elapsed)
                if path_template not in ("/metrics", "/healthz", "/readyz"):
                    log.info("http.request", method=method, path=scope.get("path"),
                             route=path_template, status=status["code"],
                             duration_ms=round(elapsed * 1000, 2))


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413 problem+json, by Content-Length or streamed size."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope: Scope, send: Send) -> None:
        body = json.dumps({
            "type": problem_type("payload-too-large"), "title": "Request body too large",
            "status": 413, "detail": f"the request body exceeds {self.max_bytes} bytes",
            "detail_zh": f"请求体超过 {self.max_bytes} 字节上限", "instance": scope.get("path"),
            "errors": [{"field": "body", "rule": "max_bytes",
                        "message": f"at most {self.max_bytes} bytes"}],
        }, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(scope, send)
                return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLarge()
            return message

        replaced = False

        async def guarded_send(message: Message) -> None:
            # The app saw the overflow as a body error; answer 413 instead of what it produced.
            nonlocal replaced
            if too_large:
                if not replaced:
                    replaced = True
                    await self._reject(scope, send)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                await self._reject(scope, send)


class _TooLarge(Exception):
    pass
