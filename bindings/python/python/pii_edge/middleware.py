"""Middleware that refuses requests without a valid, fresh receipt of the edge.

- :class:`ReceiptMiddleware` for ASGI applications (FastAPI, Starlette, any ASGI 3 app);
- :class:`WsgiReceiptMiddleware` for WSGI applications (Flask, Django's WSGI handler, ...).

Both read the whole body (they must: the receipt binds it), verify the receipt with
:func:`pii_edge.verify_receipt`, and answer a refused request with ``403`` and an RFC 9457
``application/problem+json`` body whose ``type`` ends in the failed check
(``receipt-missing``, ``receipt-expired``, ``receipt-body``, ...). An accepted request reaches
the application with the :class:`pii_edge.Receipt` in ``scope["state"]["pii_edge_receipt"]``
(Starlette: ``request.state.pii_edge_receipt``) or ``environ["pii_edge.receipt"]`` (WSGI).

Example (FastAPI)::

    from fastapi import FastAPI
    from pii_edge import ReceiptKeys
    from pii_edge.middleware import ReceiptMiddleware

    app = FastAPI()
    app.add_middleware(ReceiptMiddleware, keys=ReceiptKeys.from_file("receipt.jwks"), max_age=300)

Example (Flask)::

    from flask import Flask
    from pii_edge.middleware import WsgiReceiptMiddleware

    app = Flask(__name__)
    app.wsgi_app = WsgiReceiptMiddleware(app.wsgi_app, keys=ReceiptKeys.from_file("receipt.jwks"))
"""

from __future__ import annotations

import io
import json
from typing import Any, Awaitable, Callable, Iterable, List, MutableMapping, Optional, Tuple
from urllib.parse import quote

from ._native import ReceiptError, ReceiptKeys, verify_receipt

__all__ = ["ReceiptMiddleware", "WsgiReceiptMiddleware", "problem"]

#: Largest body the middleware reads (bytes); larger requests are answered 413.
DEFAULT_MAX_BODY = 10 * 1024 * 1024


def problem(error: ReceiptError) -> Tuple[int, List[Tuple[str, str]], bytes]:
    """The RFC 9457 problem response for a refused receipt: ``(status, headers, body)``."""
    code = getattr(error, "code", "invalid")
    body = json.dumps(
        {
            "type": f"https://pii-edge.dev/problems/receipt-{code}",
            "title": "The request did not come through the edge",
            "status": 403,
            "detail": str(error),
        }
    ).encode()
    headers = [
        ("content-type", "application/problem+json"),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
    ]
    return 403, headers, body


def _too_large(limit: int) -> Tuple[int, List[Tuple[str, str]], bytes]:
    body = json.dumps(
        {
            "type": "https://pii-edge.dev/problems/body-too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the body is larger than the {limit} bytes the receipt check reads",
        }
    ).encode()
    return 413, [("content-type", "application/problem+json"), ("content-length", str(len(body)))], body


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ReceiptMiddleware:
    """ASGI middleware: only requests with a valid, fresh edge receipt reach ``app``.

    :param app: the ASGI application.
    :param keys: the edge's public receipt keys.
    :param max_age: the oldest receipt accepted, in seconds.
    :param exempt_paths: paths (exact, e.g. ``"/healthz"``) served without a receipt.
    :param max_body: the largest body read, in bytes (413 above it).
    """

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        keys: ReceiptKeys,
        max_age: int = 300,
        exempt_paths: Iterable[str] = (),
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.app = app
        self.keys = keys
        self.max_age = max_age
        self.exempt = frozenset(exempt_paths)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _asgi_respond(send, _too_large(self.max_body))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        raw_path = scope.get("raw_path") or quote(scope.get("path", "/")).encode()
        target = raw_path.decode("latin-1")
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        try:
            receipt = verify_receipt(
                scope["method"], target, scope.get("headers", []), body, self.keys, self.max_age
            )
        except ReceiptError as error:
            await _asgi_respond(send, problem(error))
            return
        scope.setdefault("state", {})["pii_edge_receipt"] = receipt
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _asgi_respond(send: Send, response: Tuple[int, List[Tuple[str, str]], bytes]) -> None:
    status, headers, body = response
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class WsgiReceiptMiddleware:
    """WSGI middleware: only requests with a valid, fresh edge receipt reach ``app``.

    Parameters as :class:`ReceiptMiddleware`. The request target is ``REQUEST_URI`` (or
    ``RAW_URI``) when the server provides it, else ``PATH_INFO`` percent-encoded again plus
    ``QUERY_STRING``. WSGI servers join repeated headers with ``,``: a protected header sent
    twice is refused (``receipt-headers``), which is the safe answer.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        keys: ReceiptKeys,
        max_age: int = 300,
        exempt_paths: Iterable[str] = (),
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.app = app
        self.keys = keys
        self.max_age = max_age
        self.exempt = frozenset(exempt_paths)
        self.max_body = max_body

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in self.exempt:
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_body:
            return _wsgi_respond(start_response, _too_large(self.max_body))
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
        if not target:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            target = quote(path.encode("latin-1"), safe="/;=,:@!$&'()*+~-._")
            if environ.get("QUERY_STRING"):
                target += "?" + environ["QUERY_STRING"]
        headers = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-").lower(), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                headers.append((key.replace("_", "-").lower(), value))
        try:
            receipt = verify_receipt(
                environ.get("REQUEST_METHOD", "GET"), target, headers, body, self.keys, self.max_age
            )
        except ReceiptError as error:
            return _wsgi_respond(start_response, problem(error))
        environ["pii_edge.receipt"] = receipt
        return self.app(environ, start_response)


def _wsgi_respond(start_response: Callable[..., Any], response: Tuple[int, List[Tuple[str, str]], bytes]) -> List[bytes]:
    status, headers, body = response
    reason = {403: "Forbidden", 413: "Payload Too Large"}[status]
    start_response(f"{status} {reason}", headers)
    return [body]
