"""Middleware that refuses requests without a valid, fresh receipt of the edge.

- :class:`ReceiptMiddleware` for ASGI applications (FastAPI, Starlette, any ASGI 3 app);
- :class:`WsgiReceiptMiddleware` for WSGI applications (Flask, Django's WSGI handler, ...).

and two helpers that open a request straight from the framework's request object:
:func:`reveal_starlette` (FastAPI, Starlette) and :func:`reveal_wsgi` (Flask, Django, any WSGI
``environ``).

Both middlewares read the whole body (they must: the receipt binds it), verify the receipt with
:func:`pii_edge.verify_receipt`, and answer a refused request with ``403`` and an RFC 9457
``application/problem+json`` body whose ``type`` ends in the failed check
(``receipt-missing``, ``receipt-expired``, ``receipt-body``, ...). An accepted request reaches
the application with the :class:`pii_edge.Receipt` in ``scope["state"]["pii_edge_receipt"]``
(Starlette: ``request.state.pii_edge_receipt``) or ``environ["pii_edge.receipt"]`` (WSGI).

**Strict opening** (``keyring=`` and ``strict=``, a :class:`pii_edge.Policies` of the policies the
edge runs): the middleware also opens the request and refuses one in which a location the
policies encrypt holds plaintext with ``422`` (``plaintext-found``: a stale edge, a forged
receipt), or one it cannot inspect as the edge would with ``400`` (``uninspectable``). The
opened request is ``scope["state"]["pii_edge_revealed"]`` (``request.state.pii_edge_revealed``)
or ``environ["pii_edge.revealed"]``. Problem bodies never echo a value.

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

Example (strict opening, and opening in a route)::

    from pii_edge import Policies, PrivateKeyring
    from pii_edge.middleware import ReceiptMiddleware, reveal_starlette

    keyring = PrivateKeyring.from_file("private.jwks")
    app.add_middleware(ReceiptMiddleware, keys=receipt_keys, keyring=keyring,
                       strict=Policies.from_files(["policies/"]))

    @app.post("/api/users")
    async def signup(request: Request):
        revealed = await reveal_starlette(keyring, request, policy="signup")
"""

from __future__ import annotations

import io
import json
from typing import Any, Awaitable, Callable, Iterable, List, MutableMapping, Optional, Tuple
from urllib.parse import quote

from ._native import (
    Policies,
    PlaintextFound,
    PrivateKeyring,
    ReceiptError,
    ReceiptKeys,
    Revealed,
    Uninspectable,
    verify_receipt,
)

__all__ = ["ReceiptMiddleware", "WsgiReceiptMiddleware", "problem", "reveal_starlette", "reveal_wsgi"]

#: Largest body the middleware reads (bytes); larger requests are answered 413.
DEFAULT_MAX_BODY = 10 * 1024 * 1024


def problem(error: ReceiptError) -> Tuple[int, List[Tuple[str, str]], bytes]:
    """The RFC 9457 problem response for a refused receipt: ``(status, headers, body)``."""
    code = getattr(error, "code", "invalid")
    return _problem(403, f"receipt-{code}", "The request did not come through the edge", str(error))


def _problem(status: int, kind: str, title: str, detail: str) -> Tuple[int, List[Tuple[str, str]], bytes]:
    body = json.dumps(
        {"type": f"https://pii-edge.dev/problems/{kind}", "title": title, "status": status, "detail": detail}
    ).encode()
    return status, [("content-type", "application/problem+json"), ("content-length", str(len(body))),
                    ("cache-control", "no-store")], body


def _strict_open(
    keyring: Optional[PrivateKeyring], strict: Optional[Policies], method: str, target: str, headers: Any, body: bytes
) -> Tuple[Optional[Revealed], Optional[Tuple[int, List[Tuple[str, str]], bytes]]]:
    """Strict opening for the middlewares: ``(revealed, None)`` or ``(None, problem response)``."""
    if strict is None or keyring is None:
        return None, None
    try:
        return keyring.reveal(method, target, headers, body, strict=strict), None
    except PlaintextFound as error:
        where = getattr(error, "location", None) or "a location the policies encrypt"
        return None, _problem(422, "plaintext-found", "Plaintext where an envelope belongs", f"{where} holds plaintext")
    except Uninspectable as error:
        return None, _problem(400, "uninspectable", "Request cannot be inspected", str(error))


def _check_strict(keyring: Optional[PrivateKeyring], strict: Optional[Policies]) -> None:
    if strict is not None and not isinstance(strict, Policies):
        raise TypeError("strict must be a pii_edge.Policies")
    if strict is not None and not isinstance(keyring, PrivateKeyring):
        raise TypeError("strict opening needs keyring=, this region's PrivateKeyring")


def _asgi_target(scope: Scope) -> str:
    """The request target as received: the raw path (still percent-encoded) and the query."""
    raw_path = scope.get("raw_path") or quote(scope.get("path", "/")).encode()
    target = raw_path.decode("latin-1")
    query = scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    return target


def _wsgi_target(environ: dict) -> str:
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not target:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = quote(path.encode("latin-1"), safe="/;=,:@!$&'()*+~-._")
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
    return target


def _wsgi_headers(environ: dict) -> List[Tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), value))
    return headers


async def reveal_starlette(
    keyring: PrivateKeyring,
    request: Any,
    *,
    policy: Optional[str] = None,
    zone: Optional[str] = None,
    strict: Optional[Policies] = None,
    subject_keys: Any = None,
) -> Revealed:
    """Opens every envelope of a Starlette or FastAPI ``Request`` as
    :meth:`pii_edge.PrivateKeyring.reveal` does, from the request as it arrived: the method, the
    raw path and query (still percent-encoded), the raw headers and the body. With
    ``subject_keys`` (a :class:`pii_edge.erasure.SubjectKeys`) fields at rest (``pr1.``) open
    too; one of an erased subject raises ``Erased``.

    Raises what ``reveal`` raises (``NoKey``, ``WrongPolicy``, ``PlaintextFound`` with
    ``strict``, ...), and ``TypeError`` for an object that is not an ASGI request.
    """
    if not isinstance(keyring, PrivateKeyring):
        raise TypeError("keyring must be a pii_edge.PrivateKeyring")
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict) or scope.get("type") != "http":
        raise TypeError("reveal_starlette needs a Starlette/FastAPI Request (an object with an HTTP .scope)")
    body = await request.body()
    return keyring.reveal(
        scope["method"], _asgi_target(scope), scope.get("headers", []), body, policy=policy, zone=zone, strict=strict,
        subject_keys=subject_keys,
    )


def reveal_wsgi(
    keyring: PrivateKeyring,
    environ: dict,
    *,
    policy: Optional[str] = None,
    zone: Optional[str] = None,
    strict: Optional[Policies] = None,
    subject_keys: Any = None,
) -> Revealed:
    """Opens every envelope of a WSGI request (``environ``; Flask: ``request.environ``), reading
    the body from ``wsgi.input`` and putting it back, so the application can still read it.
    ``subject_keys`` as for :func:`reveal_starlette`."""
    if not isinstance(keyring, PrivateKeyring):
        raise TypeError("keyring must be a pii_edge.PrivateKeyring")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return keyring.reveal(
        environ.get("REQUEST_METHOD", "GET"), _wsgi_target(environ), _wsgi_headers(environ), body,
        policy=policy, zone=zone, strict=strict, subject_keys=subject_keys,
    )


def _too_large(limit: int) -> Tuple[int, List[Tuple[str, str]], bytes]:
    return _problem(413, "body-too-large", "Request body too large",
                    f"the body is larger than the {limit} bytes the receipt check reads")


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
    :param keyring: this region's private keys, for strict opening.
    :param strict: the policies the edge runs: refuse plaintext where they encrypt (422).
    :raises TypeError: ``strict`` without ``keyring``, or of another type.
    """

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        keys: ReceiptKeys,
        max_age: int = 300,
        exempt_paths: Iterable[str] = (),
        max_body: int = DEFAULT_MAX_BODY,
        keyring: Optional[PrivateKeyring] = None,
        strict: Optional[Policies] = None,
    ) -> None:
        _check_strict(keyring, strict)
        self.app = app
        self.keys = keys
        self.max_age = max_age
        self.exempt = frozenset(exempt_paths)
        self.max_body = max_body
        self.keyring = keyring
        self.strict = strict

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
        target = _asgi_target(scope)
        headers = scope.get("headers", [])
        try:
            receipt = verify_receipt(scope["method"], target, headers, body, self.keys, self.max_age)
        except ReceiptError as error:
            await _asgi_respond(send, problem(error))
            return
        revealed, refused = _strict_open(self.keyring, self.strict, scope["method"], target, headers, body)
        if refused is not None:
            await _asgi_respond(send, refused)
            return
        state = scope.setdefault("state", {})
        state["pii_edge_receipt"] = receipt
        if revealed is not None:
            state["pii_edge_revealed"] = revealed
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
        keyring: Optional[PrivateKeyring] = None,
        strict: Optional[Policies] = None,
    ) -> None:
        _check_strict(keyring, strict)
        self.app = app
        self.keys = keys
        self.max_age = max_age
        self.exempt = frozenset(exempt_paths)
        self.max_body = max_body
        self.keyring = keyring
        self.strict = strict

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
        method = environ.get("REQUEST_METHOD", "GET")
        target = _wsgi_target(environ)
        headers = _wsgi_headers(environ)
        try:
            receipt = verify_receipt(method, target, headers, body, self.keys, self.max_age)
        except ReceiptError as error:
            return _wsgi_respond(start_response, problem(error))
        revealed, refused = _strict_open(self.keyring, self.strict, method, target, headers, body)
        if refused is not None:
            return _wsgi_respond(start_response, refused)
        environ["pii_edge.receipt"] = receipt
        if revealed is not None:
            environ["pii_edge.revealed"] = revealed
        return self.app(environ, start_response)


def _wsgi_respond(start_response: Callable[..., Any], response: Tuple[int, List[Tuple[str, str]], bytes]) -> List[bytes]:
    status, headers, body = response
    reason = {400: "Bad Request", 403: "Forbidden", 413: "Payload Too Large", 422: "Unprocessable Content"}[status]
    start_response(f"{status} {reason}", headers)
    return [body]
