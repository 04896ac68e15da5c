"""Request guards: body size cap, per-client rate limit for the chat UI, API keys."""

from __future__ import annotations

import hmac
import json
import math
import time
from collections import deque
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GUARDED_PREFIXES = ("/api/", "/v1/")


async def _reply(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """413 for request bodies over ``max_bytes`` on the API, declared or streamed; the
    ``streamed`` (method, path) pairs pass unread (uploads: the route streams them to disk
    under a limit of its own, ``web/uploads.py``)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, streamed: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(GUARDED_PREFIXES)
            or (scope["method"], scope["path"]) in self.streamed
        ):
            await self.app(scope, receive, send)
            return
        message = f"request body over {self.max_bytes} bytes (RAG_MAX_BODY_BYTES) / 请求体过大"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _reply(send, 413, message)
            return
        # read the (small) body up front: a chunked body is counted as it arrives
        chunks: list[bytes] = []
        received = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunks.append(msg.get("body", b""))
            received += len(chunks[-1])
            if received > self.max_bytes:
                await _reply(send, 413, message)
                return
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RateLimit:
    """Sliding one-minute window per client for POSTs under ``prefix`` (the chat UI's calls):
    429 with ``Retry-After`` past ``per_minute``."""

    def __init__(self, app: ASGIApp, per_minute: int, prefix: str, window_s: float = 60.0) -> None:
        self.app = app
        self.per_minute = per_minute
        self.prefix = prefix
        self.window = window_s
        self._hits: dict[str, deque[float]] = {}

    def check(self, client: str, now: float | None = None) -> float:
        """Seconds to wait (0 when the call is allowed, and then it is counted)."""
        now = time.monotonic() if now is None else now
        q = self._hits.setdefault(client, deque())
        while q and now - q[0] >= self.window:
            q.popleft()
        if len(q) >= self.per_minute:
            return max(self.window - (now - q[0]), 0.001)
        q.append(now)
        if len(self._hits) > 10_000:  # forget idle clients
            for key in [k for k, v in self._hits.items() if not v]:
                del self._hits[key]
        return 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith(self.prefix)
        ):
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.check(client)
            if wait > 0:
                await _reply(
                    send,
                    429,
                    "too many requests / 请求过于频繁，请稍后再试",
                    {"retry-after": str(math.ceil(wait))},
                )
                return
        await self.app(scope, receive, send)


def require_api_key(request: Request) -> None:
    """When RAG_API_KEYS is set, /api/* and /v1/* need ``Authorization: Bearer <key>`` or
    ``X-API-Key: <key>``."""
    keys: frozenset[str] = request.app.state.settings.api_key_set()
    if not keys:
        return
    auth = request.headers.get("authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    given = given or request.headers.get("x-api-key", "")
    if not any(hmac.compare_digest(given.encode(), k.encode()) for k in keys):
        raise HTTPException(
            401,
            "missing or invalid API key / 缺少或无效的 API 密钥",
            headers={"WWW-Authenticate": "Bearer"},
        )


def client_of(request: Any) -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"
