"""``castkit serve``'s HTTP side: the page, the API it uses, and the rules that keep it safe on a
shared machine.

- Every request carries the secret token (``?token=`` or ``Authorization: Bearer``): 403
  without it.
- Only the Host names the server bound answer (a DNS-rebinding page gets 403).
- Writes (PATCH, POST) must be JSON and come from the page's own origin: a form or script of
  another site is refused (and no CORS header is ever sent).
- Files are served by index only (a segment's proxy, frame or card, a recipe output), never by
  a path taken from the request.

API (segments counted from 1, as castkit's messages do; times in seconds of the capture):
``GET /api/recipe``, ``PATCH /api/segments/N`` (JSON of the keys to change, with ``version``:
the recipe's version the page saw), ``POST /api/move`` (``{"from": N, "to": M, "version"}``),
``GET /api/frame/N?t=SECONDS``, ``GET /api/frames/N`` (the capture's picture times),
``GET /api/proxy/N``, ``POST /api/build``, ``GET /api/output/K``, ``GET /api/events``
(server-sent events: recipe, proxy, build, progress).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import queue
import re
import secrets
import socket
import sys
import threading
import webbrowser
from fractions import Fraction
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from castkit.base.progress import say
from castkit.errors import CastkitError, InputError, UsageError
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.serve.session import Conflict, Invalid, Session

DEFAULT_PORT = 8765
PORTS_TRIED = 20
MAX_BODY = 64 * 1024
_CHUNK = 256 * 1024
_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".dv": "video/x-dv", ".avi": "video/x-msvideo",
          ".jpg": "image/jpeg", ".png": "image/png"}


WILDCARDS = ("", "0.0.0.0", "::")
MAX_CONNECTIONS = 64  # at once; more wait for the kernel's backlog, then are refused
MAX_EVENT_STREAMS = 8  # pages listening for events at once


class CastkitServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], session: Session, token: str) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.session = session
        self.token = token
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.streams = threading.BoundedSemaphore(MAX_EVENT_STREAMS)
        port = self.server_address[1]
        self.port = port
        # Names that cannot be another site's (DNS rebinding needs a name the attacker's DNS
        # answers): this machine's own, and the address bound.
        names = {"127.0.0.1", "localhost", "[::1]", socket.gethostname().lower(), socket.getfqdn().lower()}
        if address[0] not in WILDCARDS:
            names.add(f"[{address[0]}]" if ":" in address[0] else address[0])
        self.names = names
        self.wildcard = address[0] in WILDCARDS

    def host_allowed(self, host: str) -> bool:
        """Whether a request's Host header names this server: a name of its own, or (bound to
        every address) any address literal, with its port."""
        name, _, port = host.lower().rpartition(":")
        if port != str(self.port) or not name:
            return False
        if name in self.names:
            return True
        if self.wildcard:
            try:
                ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                return False
            return True
        return False

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: this one is closed, not queued
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address) -> None:
        pass  # a client that went away, or a request that failed: answered, never a traceback

    @property
    def url(self) -> str:
        host = self.server_address[0]
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/?token={self.token}"


def make_server(recipe: Path, session: Session, host: str = "127.0.0.1",
                port: int | None = None) -> CastkitServer:
    """A server on ``port``, or on 8765 or the next free port."""
    token = secrets.token_urlsafe(24)
    ports = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED)
    last: OSError | None = None
    for candidate in ports:
        try:
            return CastkitServer((host, candidate), session, token)
        except socket.gaierror:
            raise UsageError(f"--host {host}: not an address of this machine") from None
        except OSError as exc:
            last = exc
    where = f"port {port}" if port is not None else f"ports {DEFAULT_PORT}-{DEFAULT_PORT + PORTS_TRIED - 1}"
    raise UsageError(f"cannot listen on {host} {where}: {last.strerror if last else 'in use'}")


class Handler(BaseHTTPRequestHandler):
    server: CastkitServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that sends half a request and waits is let go
    server_version = "castkit"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        pass  # the page is the interface; the terminal stays quiet

    # -- checks ---------------------------------------------------------------------------
    def _allowed(self) -> bool:
        host = self.headers.get("Host", "")
        if not self.server.host_allowed(host):
            self._error(HTTPStatus.FORBIDDEN, "this server answers only to the address it printed")
            return False
        query = parse_qs(urlsplit(self.path).query)
        given = (query.get("token") or [""])[0]
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[7:].strip()
        if not given or not hmac.compare_digest(given.encode(), self.server.token.encode()):
            self._error(HTTPStatus.FORBIDDEN, "a token is needed: open the address castkit printed")
            return False
        if self.command not in ("GET", "HEAD"):
            origin = self.headers.get("Origin")
            if origin is not None and origin != f"http://{host}":
                self._error(HTTPStatus.FORBIDDEN, "changes are taken only from castkit's own page")
                return False
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "changes are sent as JSON")
                return False
        return True

    # -- answers --------------------------------------------------------------------------
    def _headers(self, status: int, kind: str, length: int | None, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _json(self, status: int, data: object) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._headers(status, "application/json; charset=utf-8", len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, **more: object) -> None:
        self._json(status, {"error": message, **more})

    def _body(self) -> dict | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "the request is too large")
            return None
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            self._error(HTTPStatus.BAD_REQUEST, "the request is not JSON")
            return None
        if not isinstance(data, dict):
            self._error(HTTPStatus.BAD_REQUEST, "the request is not a JSON object")
            return None
        return data

    def _file(self, path: Path, kind: str | None = None) -> None:
        """``path`` whole or the byte range asked (players seek with ranges), streamed."""
        kind = kind or _TYPES.get(path.suffix.lower(), "application/octet-stream")
        try:
            f = path.open("rb")
        except OSError:
            self._error(HTTPStatus.NOT_FOUND, "not there (any more)")
            return
        with f:
            size = path.stat().st_size
            start, end = 0, size - 1
            status = HTTPStatus.OK
            asked = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
            if asked and (asked[1] or asked[2]):
                if asked[1]:
                    start = int(asked[1])
                    end = min(int(asked[2]), size - 1) if asked[2] else size - 1
                else:
                    start = max(0, size - int(asked[2]))
                if start >= size or start > end:
                    self._headers(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, kind, 0,
                                  {"Content-Range": f"bytes */{size}"})
                    return
                status = HTTPStatus.PARTIAL_CONTENT
            extra = {"Accept-Ranges": "bytes"}
            if status == HTTPStatus.PARTIAL_CONTENT:
                extra["Content-Range"] = f"bytes {start}-{end}/{size}"
            self._headers(status, kind, end - start + 1, extra)
            if self.command == "HEAD":
                return
            f.seek(start)
            left = end - start + 1
            try:
                while left > 0:
                    chunk = f.read(min(_CHUNK, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the player moved on (a seek): normal

    # -- routes ---------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._allowed():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        session = self.server.session
        try:
            if url.path in ("/", "/index.html"):
                page = resources.files("castkit.serve").joinpath("page.html").read_bytes()
                self._headers(HTTPStatus.OK, "text/html; charset=utf-8", len(page),
                              {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; "
                               "media-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self' 'unsafe-inline'; connect-src 'self'"})
                if self.command != "HEAD":
                    self.wfile.write(page)
            elif url.path == "/api/recipe":
                self._json(HTTPStatus.OK, session.state())
            elif url.path == "/api/events":
                self._events()
            elif m := re.fullmatch(r"/api/frame/(\d{1,6})", url.path):
                at = _time(query.get("t", [None])[0])
                self._file(session.frame(int(m[1]), at), "image/jpeg")
            elif m := re.fullmatch(r"/api/frames/(\d{1,6})", url.path):
                times = session.frame_times(int(m[1]))
                self._json(HTTPStatus.OK, {"times": [round(float(t), 6) for t in times]})
            elif m := re.fullmatch(r"/api/proxy/(\d{1,6})", url.path):
                state = session.proxy(int(m[1]))
                if state.status != "ready":
                    self._json(HTTPStatus.ACCEPTED, {"status": state.status, "done": state.done,
                                                     "error": state.error})
                else:
                    self._file(state.path, "video/mp4")
            elif m := re.fullmatch(r"/api/output/(\d{1,3})", url.path):
                self._file(session.output(int(m[1])))
            else:
                self._error(HTTPStatus.NOT_FOUND, "no such page")
        except LookupError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc).strip("'\""))
        except Invalid as exc:
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, "the recipe has problems", errors=exc.problems)
        except CastkitError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - answered in words; the server goes on
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    def do_PATCH(self) -> None:
        if not self._allowed():
            return
        m = re.fullmatch(r"/api/segments/(\d{1,6})", urlsplit(self.path).path)
        if not m:
            return self._error(HTTPStatus.NOT_FOUND, "no such page")
        body = self._body()
        if body is None:
            return
        version = body.pop("version", None)
        if not isinstance(version, str):
            return self._error(HTTPStatus.BAD_REQUEST, "a change names the recipe's version it was made on")
        self._change(lambda: self.server.session.edit(int(m[1]), body, version))

    def do_POST(self) -> None:
        if not self._allowed():
            return
        path = urlsplit(self.path).path
        body = self._body()
        if body is None:
            return
        session = self.server.session
        if path == "/api/build":
            if session.start_build():
                self._json(HTTPStatus.ACCEPTED, {"status": "started"})
            else:
                self._error(HTTPStatus.CONFLICT, "a build is running")
        elif path == "/api/move":
            source, target = body.get("from"), body.get("to")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (source, target)):
                return self._error(HTTPStatus.BAD_REQUEST, "from and to are segment numbers")
            if not isinstance(body.get("version"), str):
                return self._error(HTTPStatus.BAD_REQUEST, "a change names the recipe's version it was made on")
            self._change(lambda: session.move(source, target, body.get("version")))
        else:
            self._error(HTTPStatus.NOT_FOUND, "no such page")

    def _change(self, change) -> None:
        try:
            self._json(HTTPStatus.OK, change())
        except Conflict as exc:
            self._error(HTTPStatus.CONFLICT, str(exc))
        except Invalid as exc:
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, "not saved: castkit's checks refuse it",
                        errors=exc.problems)
        except LookupError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc).strip("'\""))
        except CastkitError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
        except Exception as exc:  # noqa: BLE001 - answered in words; the server goes on
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    def _events(self) -> None:
        if not self.server.streams.acquire(blocking=False):
            return self._error(HTTPStatus.TOO_MANY_REQUESTS, "too many pages are listening")
        try:
            self._stream_events()
        finally:
            self.server.streams.release()

    def _stream_events(self) -> None:
        session = self.server.session
        q = session.subscribe()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b": castkit\n\n")
            self.wfile.flush()
            while not session.stopping.is_set():
                try:
                    kind, data = q.get(timeout=10)
                except queue.Empty:
                    self.wfile.write(b": still here\n\n")
                else:
                    self.wfile.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            session.unsubscribe(q)


def serve(recipe: Path | str, host: str = "127.0.0.1", port: int | None = None,
          open_browser: bool = True, ffmpeg: Ffmpeg | None = None) -> int:
    """``castkit serve``: serve the page until Ctrl-C (status 130) or SIGTERM."""
    recipe = Path(recipe)
    if not recipe.is_file():
        raise InputError(recipe, "no such recipe" if not recipe.exists() else "is not a file")
    session = Session(recipe.absolute(), ffmpeg or find_ffmpeg())
    try:
        server = make_server(recipe, session, host, port)
    except BaseException:
        session.close()
        raise
    print(f"castkit: serving {recipe} at {server.url}", flush=True)
    say("note", "Ctrl-C stops the server; the recipe keeps every change made in the page")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("castkit: stopped", file=sys.stderr, flush=True)
        return 130
    finally:
        session.close()
        server.server_close()
    return 0


_SECONDS = re.compile(r"\d{1,7}(?:\.\d{1,9})?")


def _time(text: str | None) -> Fraction | None:
    """A time of the capture in plain decimal seconds (nothing Fraction would spend long on)."""
    if text is None:
        return None
    if not _SECONDS.fullmatch(text):
        raise Invalid([f"t={text[:40]!r}: a number of seconds, please (like 12.5)"])
    return Fraction(text)
