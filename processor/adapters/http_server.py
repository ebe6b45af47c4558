"""A small threaded HTTP/1.1 server with a route table, shared by OTLP/HTTP and the :9464 API.

Handlers are plain functions ``(Request) -> Response``. Other modules add routes with
:meth:`Routes.add` (``routes.add("GET", "/api/v1/costs", handler)``); a response body may be
bytes or an iterable of byte chunks (sent with chunked transfer encoding, for streaming exports).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO, Final
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
_POLL_S: Final = 0.05  # how quickly ``stop`` is noticed
IDLE_TIMEOUT_S: Final = 30.0
"""Keep-alive connections idle this long are closed."""


class BodyTooLarge(Exception):
    """The request body exceeds the limit the handler asked for."""


class BadBody(Exception):
    """The request body is malformed at the HTTP level (bad chunked encoding, bad length)."""


class Request:
    """One HTTP request; the body is read on demand with a size limit."""

    def __init__(self, method: str, target: str, headers: Message, rfile: BinaryIO) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self._rfile = rfile
        self._body: bytes | None = None
        self.body_consumed = not self._has_body()

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else str(value)

    def _has_body(self) -> bool:
        return bool(self.headers.get("Content-Length")) or "chunked" in self.header("Transfer-Encoding").lower()

    def read_body(self, limit: int = DEFAULT_MAX_BODY_BYTES) -> bytes:
        """The body (at most ``limit`` bytes, else :class:`BodyTooLarge` before reading it all)."""
        if self._body is not None:
            return self._body
        if "chunked" in self.header("Transfer-Encoding").lower():
            body = self._read_chunked(limit)
        else:
            raw = self.header("Content-Length", "0").strip() or "0"
            if not raw.isdigit():
                raise BadBody(f"Content-Length {raw!r} is not a number")
            length = int(raw)
            if length > limit:
                raise BodyTooLarge(f"body of {length} bytes exceeds the limit of {limit} bytes")
            body = self._rfile.read(length)
            if len(body) != length:
                raise BadBody(f"body ended after {len(body)} of {length} bytes")
        self._body = body
        self.body_consumed = True
        return body

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self._rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BadBody(f"bad chunk size {line!r}") from None
            if size == 0:
                while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > limit:
                raise BodyTooLarge(f"chunked body exceeds the limit of {limit} bytes")
            chunks.append(self._rfile.read(size))
            self._rfile.readline(1024)


@dataclass(slots=True)
class Response:
    """An HTTP response; ``body`` may be bytes or an iterable of chunks (streamed)."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, (text if text.endswith("\n") else text + "\n").encode(), headers=headers or {})


Handler = Callable[[Request], Response]
"""A route handler: runs on the connection's thread; may raise (answered 500, logged)."""


class Routes:
    """Exact-path routes by method; thread-safe to add to while serving."""

    def __init__(self) -> None:
        self._routes: dict[str, dict[str, Handler]] = {}
        self._lock = threading.Lock()

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Serve ``method path`` with ``handler`` (``HEAD`` is served by the ``GET`` handler)."""
        with self._lock:
            by_method = self._routes.setdefault(path, {})
            if method.upper() in by_method:
                raise ValueError(f"route {method.upper()} {path} is already registered")
            by_method[method.upper()] = handler

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._routes)

    def resolve(self, method: str, path: str) -> Handler | Response:
        """The handler, or a 404 / 405 response."""
        by_method = self._routes.get(path)
        if by_method is None:
            return Response.text(404, f"no route for {path}")
        handler = by_method.get("GET" if method == "HEAD" else method)
        if handler is None:
            allowed = ", ".join(sorted(by_method))
            return Response.text(405, f"{method} is not allowed on {path} (allowed: {allowed})", {"Allow": allowed})
        return handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        server = self.server
        with server.inflight_lock:
            server.inflight += 1
        try:
            request = Request(self.command, self.path, self.headers, self.rfile)  # type: ignore[arg-type]
            target = server.routes.resolve(self.command, request.path)
            if isinstance(target, Response):
                response = target
            else:
                try:
                    response = target(request)
                except Exception:
                    logger.exception("handler for %s %s failed", self.command, request.path)
                    response = Response.text(500, "internal error")
            if not request.body_consumed:
                self.close_connection = True  # an unread body would be read as the next request
            self._send(response)
        finally:
            with server.inflight_lock:
                server.inflight -= 1
                server.inflight_lock.notify_all()

    def _send(self, response: Response) -> None:
        body = response.body
        self.send_response(response.status, HTTPStatus(response.status).phrase)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if isinstance(body, bytes | bytearray):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in body:
            if chunk and self.command != "HEAD":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], routes: Routes) -> None:
        self.routes = routes
        self.inflight = 0
        self.inflight_lock = threading.Condition()
        super().__init__(address, _Handler)


class HttpServer:
    """Serves a :class:`Routes` table on one address, in a background thread."""

    def __init__(self, host: str, port: int, routes: Routes | None = None, *, name: str = "http") -> None:
        self.routes = routes or Routes()
        self._server = _Server((host, port), self.routes)
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL_S,), name=f"genai-cost-{self._name}", daemon=True
        )
        self._thread.start()

    def stop(self, grace_s: float = 5.0) -> bool:
        """Stop accepting, wait up to ``grace_s`` for requests in progress; False if some did not finish."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        server = self._server
        with server.inflight_lock:
            return server.inflight_lock.wait_for(lambda: server.inflight == 0, grace_s)
