"""A small local web server for ``vidstyle live --serve``: the page, an MJPEG stream, controls.

Standard library only (``ThreadingHTTPServer``): one thread per client, the stream as
``multipart/x-mixed-replace`` JPEGs which every browser shows in a plain ``<img>``, and
JSON endpoints that turn button presses into the same ``Action``s as the keys.

Endpoints: ``GET /`` (page), ``/app.js``, ``/style.css``, ``/stream.mjpg``, ``/frame.jpg``
(the newest frame), ``/api/state``; ``POST /api/style {"index"|"style"}``,
``/api/strength {"strength"}``, ``/api/action {"action"}``.

Publishing is O(1) for the live loop (it stores a reference); frames are JPEG-encoded
lazily, once per frame, and only when someone is watching.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
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


class FrameBox:
    """The newest frame and its JPEG, encoded on first request (once per frame)."""

    def __init__(self, quality: int = 80) -> None:
        self._cond = threading.Condition()
        self._rgb: np.ndarray | None = None
        self._jpeg: bytes | None = None
        self.seq = 0
        self.quality = quality
        self.closed = False

    def publish(self, rgb: np.ndarray) -> None:
        with self._cond:
            self._rgb, self._jpeg = rgb, None
            self.seq += 1
            self._cond.notify_all()

    def wait(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        """(seq, jpeg) of a frame newer than ``after``; jpeg None on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self.seq > after or self.closed, timeout)
            if self.seq <= after or self._rgb is None:
                return self.seq, None
            if self._jpeg is None:
                bgr = cv2.cvtColor(self._rgb, cv2.COLOR_RGB2BGR)
                ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                self._jpeg = buf.tobytes() if ok else b""
            return self.seq, self._jpeg

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def parse_control(path: str, body: dict[str, Any]) -> Action | None:
    """A POSTed control → an ``Action`` (None: no such endpoint); bad input → ValueError."""
    if path == "/api/style":
        if "index" in body:
            return Action("pick", int(body["index"]))
        raise ValueError('expected {"index": N}')
    if path == "/api/strength":
        s = float(body.get("strength", "nan"))
        if not 0.0 <= s <= 1.0:
            raise ValueError("strength must be in [0, 1]")
        return Action("strength", s)
    if path == "/api/action":
        kind = str(body.get("action"))
        if kind not in _WEB_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(sorted(_WEB_ACTIONS))}")
        return Action(kind)
    return None


class LiveServer:
    """Serve the live page on ``host:port`` (port 0: any free port) in a background thread.

    ``submit(action) -> state`` applies a control in the live loop and returns the JSON
    state; ``state() -> dict`` is what ``/api/state`` answers.
    """

    def __init__(self, host: str, port: int, submit: Callable[[Action], dict],
                 state: Callable[[], dict]) -> None:
        self.frames = FrameBox()
        self.submit, self.state = submit, state
        handler = type("Handler", (_Handler,), {"live": self})
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise UsageError(f"--serve {host}:{port}: cannot listen there ({exc.strerror})"
                             ) from None
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="vidstyle-web",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        self._thread.start()

    def publish(self, rgb: np.ndarray) -> None:
        self.frames.publish(rgb)

    def stop(self) -> None:
        """End open streams, stop listening; idempotent."""
        self.frames.close()
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    live: LiveServer
    protocol_version = "HTTP/1.1"

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
            self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

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
        except (BrokenPipeError, ConnectionResetError):
            pass  # the viewer went away

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}") if n <= 65536 else {}
            action = parse_control(path, body if isinstance(body, dict) else {})
        except (ValueError, TypeError) as exc:  # includes bad JSON
            self._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
            return
        if action is None:
            self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
        else:
            self._json(self.live.submit(action))
