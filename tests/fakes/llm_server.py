"""A local HTTP server speaking the real OpenAI and Anthropic wire formats (no network, no key).

Usage::

    from genai_cost.fakes.llm_server import FakeLLMServer, Script

    with FakeLLMServer(model_map={"gpt-4o": "gpt-4o-2024-08-06"}) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        server.script(Script(status=429), Script(output_tokens=7, chunks=20))
        ...                                    # 1st call -> RateLimitError, 2nd -> 20 chunks
        server.requests[-1].body["model"]      # what the SDK sent
        anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)

Endpoints (matched on the path's suffix, so OpenAI-compatible prefixes work too):
``POST .../chat/completions``, ``.../responses``, ``.../embeddings`` (OpenAI) and
``POST .../messages`` (Anthropic). JSON replies carry Content-Length; streams are SSE over
chunked transfer encoding, each event flushed on its own, so keep-alive works and a cut stream
is an incomplete body to the client. Each call gets a fresh provider-style id.

Scripts (`Script`) are consumed one per request to a known endpoint, in arrival order, falling
back to the server's default; unset fields use the realistic defaults in
`genai_cost.fakes.scripts` (chat 1200/1024 cached -> 300/128 reasoning, Responses 1210/1030 ->
310/130, embeddings 7 per input, Anthropic 50 + 10000 cache read + 2000 cache write -> 300).
Every request is recorded as a `RecordedRequest` in `server.requests`; `server.reset()` clears
scripts and records.

What the SDKs (openai 3.x, anthropic 2.x) make of the failure scripts: ``status`` -> the
matching ``RateLimitError``/``InternalServerError``/``OverloadedError``/...; ``malformed`` ->
``json.JSONDecodeError``; ``cut_after`` -> ``openai.APIConnectionError`` from the openai stream,
while anthropic lets ``httpx2.RemoteProtocolError`` through. openai 3.x stops reading at
``[DONE]`` and drops that connection, so the next call opens a new one (the real API behaves
the same).

Run it in the foreground: ``python -m genai_cost.fakes.llm_server --port 8089``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, Final, Self

from genai_cost.fakes import anthropic_wire, openai_wire
from genai_cost.fakes.replies import BadRequest, JsonReply, Reply, SseReply
from genai_cost.fakes.scripts import RecordedRequest, RequestLog, Script, ScriptQueue

__all__ = ["FakeLLMServer", "RecordedRequest", "Script"]

logger = logging.getLogger(__name__)

_IDLE_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True)
class _Provider:
    """How one provider shapes its errors."""

    error_reply: Callable[[int, Script | None], JsonReply]
    bad_request_reply: Callable[[BadRequest], JsonReply]
    require: Callable[[dict[str, Any], str], Any]
    invalid_json: str


_OPENAI: Final = _Provider(
    error_reply=openai_wire.error_reply,
    bad_request_reply=openai_wire.bad_request_reply,
    require=openai_wire.require,
    invalid_json="We could not parse the JSON body of your request. The body must be a JSON object.",
)
_ANTHROPIC: Final = _Provider(
    error_reply=anthropic_wire.error_reply,
    bad_request_reply=anthropic_wire.bad_request_reply,
    require=anthropic_wire.require,
    invalid_json="There was an error parsing the body of your request: expected a JSON object.",
)

_Build = Callable[[dict[str, Any], Script, str], Reply]
_ROUTES: Final[tuple[tuple[str, _Provider, _Build], ...]] = (
    ("/chat/completions", _OPENAI, openai_wire.chat_completion),
    ("/responses", _OPENAI, openai_wire.responses),
    ("/embeddings", _OPENAI, openai_wire.embeddings),
    ("/messages", _ANTHROPIC, anthropic_wire.messages),
)


class FakeLLMServer:
    """The fake provider server: threaded, on ``host:port`` (port 0 picks a free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default: Script | None = None,
        model_map: Mapping[str, str] | None = None,
    ) -> None:
        self._address = (host, port)
        self._scripts = ScriptQueue(default)
        self._log = RequestLog()
        self._model_map = dict(model_map or {})
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind, listen and serve in a background thread; returns once the socket is listening."""
        if self._httpd is not None:
            raise RuntimeError("FakeLLMServer.start: already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(self._address, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections (ending pending sleeps) and wait for the thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        thread.join(timeout=5)
        self._httpd = self._thread = None

    def serve_forever(self) -> None:
        """Block the calling thread until `stop()` is called from elsewhere (starts if needed)."""
        if self._thread is None:
            self.start()
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(timeout=0.5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeLLMServer.port: the server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._address[0]}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"``, the ``base_url`` an OpenAI client expects."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url``: the Anthropic SDK adds ``/v1/messages`` itself."""
        return self.base_url

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since `start()` (keep-alive reuses one for many requests)."""
        return self._httpd.accepted if self._httpd is not None else 0

    # --- scripting and records ---------------------------------------------------------------

    def script(self, *scripts: Script) -> None:
        """Queue scripts, consumed one per request (in arrival order) before the default applies."""
        self._scripts.push(scripts)

    @property
    def default(self) -> Script:
        """The script used when the queue is empty."""
        return self._scripts.default

    @default.setter
    def default(self, script: Script) -> None:
        self._scripts.default = script

    @property
    def pending_scripts(self) -> int:
        """Queued scripts not consumed yet."""
        return self._scripts.pending()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        return self._log.snapshot()

    def reset(self) -> None:
        """Forget queued scripts and recorded requests (the default script stays)."""
        self._scripts.clear()
        self._log.clear()

    # --- request handling (called on handler threads) ---------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        self._log.add(request)

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server stops first; ``False`` when stopping."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()

    def _dispatch(self, request: RecordedRequest) -> Reply | None:
        """The reply to a request; ``None`` when the server stopped while the request waited."""
        route = _route(request)
        if route is None:
            return _not_found(request)
        provider, build = route
        script = self._scripts.pop()
        if not self._wait(script.latency):
            return None
        if script.status is not None:
            return provider.error_reply(script.status, script)
        try:
            if request.body is None:
                raise BadRequest(provider.invalid_json, None)
            requested = provider.require(request.body, "model")
            if not isinstance(requested, str):
                raise BadRequest(f"model: {requested!r} is not a string", "model")
            model = script.model or self._model_map.get(requested, requested)
            return build(request.body, script, model)
        except BadRequest as exc:
            return provider.bad_request_reply(exc)


def _route(request: RecordedRequest) -> tuple[_Provider, _Build] | None:
    if request.method != "POST":
        return None
    path = request.path.rstrip("/")
    for suffix, provider, build in _ROUTES:
        if path.endswith(suffix):
            return provider, build
    return None


def _not_found(request: RecordedRequest) -> JsonReply:
    if "anthropic-version" in request.headers:
        return anthropic_wire.error_reply(404, None)
    reply = openai_wire.error_reply(404, None)
    body = json.loads(reply.body)
    body["error"] |= {"message": f"Invalid URL ({request.method} {request.path})", "code": None}
    return JsonReply(status=404, body=json.dumps(body).encode(), headers=reply.headers)


def _parse_body(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _HTTPServer(ThreadingHTTPServer):
    """Threaded server that tracks its connections so `stop()` can close idle keep-alive ones."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeLLMServer) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.accepted = 0
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level errors (a client gone, a keep-alive socket closed by stop()) are normal."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        logger.exception("fake LLM server: request from %s failed", client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks `FakeLLMServer` for the reply and writes it (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-llm-server"
    sys_version = ""
    timeout = _IDLE_TIMEOUT_S
    server: _HTTPServer

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        fake = self.server.fake
        path, _, query = self.path.partition("?")
        raw = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = RecordedRequest(self.command, path, headers, _parse_body(raw), raw, query)
        fake._record(request)
        try:
            reply = fake._dispatch(request)
        except Exception as exc:  # a bug in the fake: answer 500 in the provider's shape, keep serving
            logger.exception("fake LLM server failed on %s %s", self.command, path)
            reply = openai_wire.error_reply(500, Script(status=500, error_message=f"fake server error: {exc!r}"))
        try:
            if reply is None:
                self._cut()
            elif isinstance(reply, SseReply):
                self._write_stream(reply)
            else:
                self._write_json(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _start(self, status: int, content_type: str, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)

    def _write_json(self, reply: JsonReply) -> None:
        self._start(reply.status, reply.content_type, reply.headers)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _write_stream(self, reply: SseReply) -> None:
        fake = self.server.fake
        self._start(reply.status, reply.content_type, reply.headers)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, event in enumerate(reply.events):
            if reply.cut_after is not None and index >= reply.cut_after:
                break
            if index and not fake._wait(reply.interval):
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        else:
            if reply.cut_after is None:
                self.wfile.write(b"0\r\n\r\n")
                return
        self._cut()

    def _cut(self) -> None:
        """Close the connection mid-body: the client sees an incomplete chunked body."""
        self.close_connection = True
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def main(argv: list[str] | None = None) -> int:
    """Run the fake server in the foreground until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m genai_cost.fakes.llm_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port (default 8089)")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="REQUESTED=RESPONSE",
        help="report RESPONSE as the model when REQUESTED is asked for (repeatable)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    model_map: dict[str, str] = {}
    for item in args.map:
        requested, sep, response = item.partition("=")
        if not sep or not requested or not response:
            parser.error(f"--map: {item!r} is not REQUESTED=RESPONSE")
        model_map[requested] = response
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    server = FakeLLMServer(args.host, args.port, model_map=model_map)

    def _stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(f"fake LLM server listening on {server.base_url}", flush=True)
        server.serve_forever()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
