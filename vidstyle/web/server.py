"""A small local web server for ``vidstyle live --serve``: the page, an MJPEG stream, controls.

Standard library only (``ThreadingHTTPServer``): one thread per client, the stream as
``multipart/x-mixed-replace`` JPEGs which every browser shows in a plain ``<img>``, and
JSON endpoints that turn button presses into the same ``Action``s as the keys.

Endpoints: ``GET /`` (page), ``/app.js``, ``/style.css``, ``/stream.mjpg``, ``/frame.jpg``
(the newest frame), ``/api/state``; ``POST /api/style {"index": N} | {"style": NAME}``,
``/api/strength {"strength": 0..1}``, ``/api/action {"action": next|prev|split|...}``.
Bad controls answer 4xx with ``{"error": "..."}`` saying what was wrong.

Publishing is O(1) for the live loop (it stores a reference); frames are JPEG-encoded
lazily, once per frame, outside the lock the loop publishes under, and only when someone
is watching. ``stop`` ends every open stream and keep-alive connection and joins their
threads, so the port is free and no thread outlives the session.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

from vidstyle.errors import UsageError
from vidstyle.live import Action
from vidstyle.web import ASSETS, asset

BOUNDARY = "vidstyle-frame"
_WEB_ACTIONS = {"next", "prev", "split", "snapshot", "record"}
_MAX_BODY = 65536
# A client that stops reading (or an idle keep-alive connection) must not pin a thread.
_SOCKET_TIMEOUT_S = 10.0


class ControlError(ValueError):
    """A control request the page (or a script) got wrong; answered 400 with the message."""


class FrameBox:
    """The newest frame and its JPEG, encoded on first request (once per frame)."""

    def __init__(self, quality: int = 80) -> None:
        self._cond = threading.Condition()
        self._rgb: np.ndarray | None = None
        self._jpeg: tuple[int, bytes] | None = None  # (seq, bytes) of the last encode
        self.seq = 0
        self.quality = quality
        self.closed = False

    def publish(self, rgb: np.ndarray) -> None:
        """Called by the live loop: store a reference only, so the loop never waits on JPEG."""
        with self._cond:
            self._rgb = rgb
            self.seq += 1
            self._cond.notify_all()

    def wait(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        """(seq, jpeg) of a frame newer than ``after``; jpeg None on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self.seq > after or self.closed, timeout)
            seq, rgb, cached = self.seq, self._rgb, self._jpeg
        if seq <= after or rgb is None:
            return seq, None
        if cached is not None and cached[0] == seq:
            return seq, cached[1]
        # Encoded outside the lock: publish() (the live loop) must not wait for cv2.
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        jpeg = buf.tobytes() if ok else b""
        with self._cond:
            if self._jpeg is None or self._jpeg[0] < seq:
                self._jpeg = (seq, jpeg)
        return seq, jpeg

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def _index(value: object, styles: Sequence[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(f"index must be an integer, got {value!r}")
    if not 0 <= value < len(styles):
        raise ControlError(f"index {value} out of range: {len(styles)} styles (0.."
                           f"{len(styles) - 1})")
    return value


def parse_control(path: str, body: dict[str, Any], styles: Sequence[str]) -> Action | None:
    """A POSTed control → an ``Action`` (None: no such endpoint); bad input → ControlError.

    ``styles`` is the live style list, so an unknown name or index is refused here with a
    message instead of being silently ignored by ``apply_action``.
    """
    if path == "/api/style":
        if "style" in body:
            name = body["style"]
            if name not in styles:
                raise ControlError(f"unknown style {name!r}; known: {', '.join(styles)}")
            return Action("pick", list(styles).index(name))
        if "index" in body:
            return Action("pick", _index(body["index"], styles))
        raise ControlError('expected {"style": NAME} or {"index": N}')
    if path == "/api/strength":
        s = body.get("strength")
        if isinstance(s, bool) or not isinstance(s, int | float) or not 0.0 <= s <= 1.0:
            raise ControlError(f'expected {{"strength": 0..1}}, got {s!r}')
        return Action("strength", float(s))
    if path == "/api/action":
        kind = body.get("action")
        if kind not in _WEB_ACTIONS:
            raise ControlError(f"action must be one of {', '.join(sorted(_WEB_ACTIONS))}, "
                               f"got {kind!r}")
        return Action(str(kind))
    return None


class _Server(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that remembers its client threads and sockets.

    The stdlib either joins non-daemon threads with no timeout (a stuck client would hang
    shutdown) or forgets daemon ones (they outlive the session). Here ``close_clients``
    shuts every open socket, which unblocks its thread, then joins each with a deadline.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kw: Any) -> None:
        self._clients: dict[threading.Thread, socket.socket] = {}
        self._clients_lock = threading.Lock()
        super().__init__(*args, **kw)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(target=self._serve_client, args=(request, client_address),
                             name="vidstyle-web-client", daemon=True)
        with self._clients_lock:
            self._clients[t] = request
        t.start()

    def _serve_client(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._clients_lock:
                self._clients.pop(threading.current_thread(), None)

    def close_clients(self, timeout: float) -> None:
        with self._clients_lock:
            clients = list(self._clients.items())
        for _, sock in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for t, _ in clients:
            t.join(max(0.0, deadline - time.monotonic()))

    def client_threads(self) -> list[threading.Thread]:
        with self._clients_lock:
            return [t for t in self._clients if t.is_alive()]


class _Server6(_Server):
    address_family = socket.AF_INET6


class LiveServer:
    """Serve the live page on ``host:port`` (port 0: any free port) in a background thread.

    ``submit(action) -> state`` applies a control in the live loop and returns the JSON
    state; ``state() -> dict`` is what ``/api/state`` answers (plus ``frame``, the number
    of frames published so far, so a client can see the stream advance).
    """

    def __init__(self, host: str, port: int, submit: Callable[[Action], dict],
                 state: Callable[[], dict]) -> None:
        self.frames = FrameBox()
        self.submit, self._state = submit, state
        handler = type("Handler", (_Handler,), {"live": self})
        server_cls = _Server6 if ":" in host else _Server  # an IPv6 literal such as ::1
        try:
            self.httpd = server_cls((host, port), handler)
        except OSError as exc:
            raise UsageError(f"--serve {host}:{port}: cannot listen there "
                             f"({exc.strerror or exc})") from None
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="vidstyle-web",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound: the port is the real one when 0 was asked."""
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def state(self) -> dict:
        return {**self._state(), "frame": self.frames.seq}

    def start(self) -> None:
        self._thread.start()

    def publish(self, rgb: np.ndarray) -> None:
        self.frames.publish(rgb)

    def threads(self) -> list[threading.Thread]:
        """The server's threads still alive (empty once ``stop`` has returned)."""
        alive = [self._thread] if self._thread.is_alive() else []
        return alive + self.httpd.client_threads()

    def stop(self, timeout: float = 5.0) -> None:
        """End open streams and connections, stop listening, join the threads; idempotent."""
        self.frames.close()
        if self._thread.is_alive():
            self.httpd.shutdown()
            self._thread.join(timeout)
        self.httpd.close_clients(timeout)
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    live: LiveServer
    protocol_version = "HTTP/1.1"
    timeout = _SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the live loop owns stderr
        pass

    def _send(self, body: bytes, ctype: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj: object, status: int = 200) -> None:
        self._send(json.dumps(obj).encode(), "application/json", status)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        name = "index.html" if path == "/" else path.lstrip("/")
        if name in ASSETS:
            self._send(asset(name), ASSETS[name])
        elif path == "/api/state":
            self._json(self.live.state())
        elif path == "/frame.jpg":
            _, jpeg = self.live.frames.wait(0, timeout=5.0)
            if jpeg:
                self._send(jpeg, "image/jpeg")
            else:
                self._json({"error": "no frame yet"}, HTTPStatus.SERVICE_UNAVAILABLE)
        elif path == "/stream.mjpg":
            self._stream()
        else:
            self._json({"error": f"not found: {path}"}, HTTPStatus.NOT_FOUND)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        box, seq = self.live.frames, 0
        try:
            while not box.closed:
                seq, jpeg = box.wait(seq, timeout=1.0)
                if not jpeg:
                    continue
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(jpeg)}\r\n\r\n".encode())
                self.wfile.write(jpeg + b"\r\n")
                self.wfile.flush()
        except OSError:
            pass  # the viewer went away, stopped reading (timeout), or stop() shut the socket

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if not 0 <= n <= _MAX_BODY:
            self.close_connection = True  # the body was not read: do not parse it as a request
            self._json({"error": f"body must be 0..{_MAX_BODY} bytes"},
                       HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        raw = self.rfile.read(n)
        # application/json only: a cross-site form or text/plain POST (which browsers send
        # without asking) cannot drive the page; a JSON one needs a CORS preflight we refuse.
        if ctype != "application/json":
            self._json({"error": "Content-Type must be application/json"},
                       HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ControlError("expected a JSON object")
            action = parse_control(path, body, self.live.state()["styles"])
        except ValueError as exc:  # ControlError, and bad JSON (JSONDecodeError)
            msg = str(exc) if isinstance(exc, ControlError) else f"bad JSON: {exc}"
            self._json({"error": msg}, HTTPStatus.BAD_REQUEST)
            return
        if action is None:
            self._json({"error": f"not found: {path}"}, HTTPStatus.NOT_FOUND)
        else:
            self._json({**self.live.submit(action), "frame": self.live.frames.seq})
