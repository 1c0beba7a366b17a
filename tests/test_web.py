"""``vidstyle live --serve``: the page, the MJPEG stream and the controls, end to end.

A real live session runs in a thread on 127.0.0.1 with port 0 (the OS picks a free one),
fed by a tiny clip whose frames are all the same picture: then any change in the served
frames comes from the controls, not from motion, and "the stream advances" is read from
the frame counter in ``/api/state``. The plain-HTTP tests need nothing more; the browser
test drives Debian's headless Chromium through selenium (``scripts/install-browser.sh``)
and skips, saying what is missing, where either is absent. Everything is loopback only,
and every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from clips import make_clip, pattern

from vidstyle.cli import main
from vidstyle.live import Action, LiveOptions, LiveSession
from vidstyle.styles import registry
from vidstyle.web.server import BOUNDARY

W, H = 64, 48
STYLES = ["alpha", "beta"]  # the fixture pack in conftest.style_home
TIMEOUT = 20.0  # seconds: the longest any single wait may take on a busy 2-core box


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Served:
    """A live session serving on loopback, run in a thread by the ``served`` fixture."""

    session: LiveSession
    thread: threading.Thread
    url: str
    port: int
    errors: list[BaseException] = field(default_factory=list)

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, str, bytes]:
        """(status, content type, body) of a GET; 4xx/5xx are returned, not raised."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers.get("Content-Type", ""), e.read()

    def post(self, path: str, body: object, ctype: str = "application/json"
             ) -> tuple[int, dict]:
        """(status, JSON answer) of a POST."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST",
                                     headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=10.0) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read())

    def state(self) -> dict:
        status, _, body = self.get("api/state")
        assert status == 200
        return json.loads(body)

    def frame_after(self, seq: int) -> np.ndarray:
        """A served frame (RGB) published after frame number ``seq``."""
        wait_for(f"a frame after #{seq}", lambda: self.state()["frame"] > seq)
        status, ctype, jpeg = self.get("frame.jpg")
        assert status == 200 and ctype == "image/jpeg"
        return decode_jpeg(jpeg)


def decode_jpeg(data: bytes) -> np.ndarray:
    """RGB pixels of a JPEG, checking it is one (magic bytes) and decodes."""
    assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9", data[:16]
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None, "not a decodable JPEG"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 pictures, in grey levels."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def port_is_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:``port`` (connect refused and bind succeeds)."""
    with contextlib.suppress(ConnectionRefusedError), \
            socket.create_connection(("127.0.0.1", port), timeout=2.0):
        return False
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR: a closed connection's TIME_WAIT is not "in use"; a listener still is.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def live_threads() -> list[str]:
    """Names of the session's threads still alive (server, clients, capture)."""
    return [t.name for t in threading.enumerate()
            if t.is_alive() and t.name.startswith(("vidstyle-web", "vidstyle-capture"))]


def start_served(clip: Path, serve: str, **kw: Any) -> Served:
    """Start a looping live session on ``serve`` in a thread; return once it answers."""
    opts = LiveOptions(style=STYLES[0], source=str(clip), size=None, window=False, serve=serve,
                       loop=True, threads=1, duration=120.0, smooth="none", **kw)
    session = LiveSession(opts, log=lambda msg: None)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            session.run()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="test-live-session", daemon=True)
    thread.start()
    server = wait_for("the web server", lambda: errors or session.server)
    if errors:
        raise errors[0]
    _, port = server.address
    served = Served(session, thread, server.url, port, errors)
    wait_for("the first frame", lambda: errors or served.state()["frame"] > 0)
    if errors:
        raise errors[0]
    return served


def stop_served(served: Served) -> None:
    """Quit the loop the way the window's q does, and check nothing is left behind."""
    served.session.submit(Action("quit"))
    served.thread.join(TIMEOUT)
    assert not served.thread.is_alive(), "the live loop did not stop"
    assert not served.errors, served.errors
    assert served.session.server is not None and served.session.server.threads() == []
    assert live_threads() == []
    assert port_is_free(served.port)


@pytest.fixture
def still_clip(tmp_path: Path) -> Path:
    """One picture repeated: served frames change only when a control changes them."""
    # Lossless: a lossy I-frame and the P-frames after it differ by a level or two, which
    # the net amplifies; the first run in a fresh CI clone failed "a still clip stays still".
    return make_clip(tmp_path / "still.mp4", size=(W, H), n_frames=25, fps=25,
                     frames=[pattern(W, H, 0)] * 25, pix_fmt="yuv444p", options={"crf": "0"})


@pytest.fixture
def served(style_home: Path, still_clip: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Served]:
    """A session on 127.0.0.1, port 0, cycling through the fixture pack's two styles only.

    The built-in pack is left out (it may be being retrained on this machine and is not
    what is under test), so the style list is exactly ``STYLES``.
    """
    monkeypatch.setattr(registry, "known_names", lambda: list(STYLES))
    s = start_served(still_clip, "127.0.0.1:0")
    try:
        yield s
    finally:
        if s.thread.is_alive():
            s.session.submit(Action("quit"))
            s.thread.join(TIMEOUT)


# --------------------------------------------------------------------------- plain HTTP

def test_page_and_assets_are_served(served: Served) -> None:
    status, ctype, body = served.get("")
    assert status == 200 and ctype.startswith("text/html")
    html = body.decode()
    for needle in ('id="stream"', 'src="stream.mjpg"', 'id="strength"', "app.js", "style.css"):
        assert needle in html
    assert served.get("app.js")[1].startswith("text/javascript")
    assert served.get("style.css")[1].startswith("text/css")
    status, _, body = served.get("no-such-thing")
    assert status == 404 and b"not found" in body
    stop_served(served)


def read_part(stream: Any) -> bytes:
    """One JPEG from a multipart/x-mixed-replace body (boundary, headers, payload)."""
    line = stream.readline(200)
    while line in (b"\r\n", b"\n"):
        line = stream.readline(200)
    assert line.strip() == f"--{BOUNDARY}".encode(), line
    headers = {}
    for _ in range(10):
        line = stream.readline(200).strip()
        if not line:
            break
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    assert headers.get("content-type") == "image/jpeg", headers
    n = int(headers["content-length"])
    assert 0 < n < 1_000_000
    return stream.read(n)


def test_stream_is_mjpeg_of_the_painted_frames(served: Served) -> None:
    with urllib.request.urlopen(served.url + "stream.mjpg", timeout=10.0) as r:
        ctype = r.headers["Content-Type"]
        assert ctype == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        first = decode_jpeg(read_part(r))
        second = decode_jpeg(read_part(r))
    assert first.shape == second.shape == (H, W, 3)
    # Painted, not passed through: alpha at full strength is far from the source picture.
    assert mad(first, pattern(W, H, 0)) > 8
    stop_served(served)


def test_controls_change_the_served_frames(served: Served) -> None:
    s0 = served.state()
    assert s0["styles"] == STYLES and s0["style"] == "alpha" and s0["strength"] == 1.0
    alpha = served.frame_after(s0["frame"])
    assert mad(alpha, served.frame_after(s0["frame"] + 1)) < 3  # a still clip stays still

    status, s1 = served.post("api/style", {"style": "beta"})
    assert status == 200 and s1["style"] == "beta" and s1["index"] == 1
    beta = served.frame_after(s1["frame"])
    assert mad(alpha, beta) > 5

    status, s2 = served.post("api/strength", {"strength": 0})
    assert status == 200 and s2["strength"] == 0.0
    assert mad(served.frame_after(s2["frame"]), pattern(W, H, 0)) < 4  # strength 0: the source

    status, s3 = served.post("api/action", {"action": "next"})
    assert status == 200 and s3["style"] == "alpha"
    status, s4 = served.post("api/style", {"index": 1})
    assert status == 200 and s4["style"] == "beta"
    assert served.state()["frame"] > s0["frame"]  # the counter advances
    stop_served(served)


def test_bad_controls_are_refused_with_a_reason(served: Served) -> None:
    status, answer = served.post("api/style", {"style": "nope"})
    assert status == 400
    assert "unknown style 'nope'" in answer["error"] and "alpha, beta" in answer["error"]
    status, answer = served.post("api/style", {"index": 7})
    assert status == 400 and "out of range" in answer["error"]
    status, answer = served.post("api/strength", {"strength": 1.5})
    assert status == 400 and "0..1" in answer["error"]
    status, answer = served.post("api/action", {"action": "quit"})  # the page cannot quit
    assert status == 400 and "must be one of" in answer["error"]
    status, answer = served.post("api/style", b"{not json")
    assert status == 400 and "bad JSON" in answer["error"]
    # A cross-site form or text/plain POST (no CORS preflight) must not drive the session.
    status, answer = served.post("api/style", {"style": "beta"}, ctype="text/plain")
    assert status == 415 and "application/json" in answer["error"]
    status, _ = served.post("api/nothing", {})
    assert status == 404
    assert served.state()["style"] == "alpha"  # nothing above changed anything
    stop_served(served)


def test_stop_ends_open_streams_and_idle_connections(served: Served) -> None:
    """The port is released and every thread joined, even with viewers still connected."""
    stream = urllib.request.urlopen(served.url + "stream.mjpg", timeout=10.0)
    idle = socket.create_connection(("127.0.0.1", served.port), timeout=5.0)
    try:
        read_part(stream)
        idle.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # then kept alive
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        t0 = time.monotonic()
        stop_served(served)
        assert time.monotonic() - t0 < 10, "stop waited for the clients' socket timeouts"
    finally:
        stream.close()
        idle.close()


def test_serves_on_loopback_only_by_default(style_home: Path, still_clip: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "known_names", lambda: list(STYLES))
    served = start_served(still_clip, "0")  # a port only, as in `--serve 8080`
    try:
        assert served.session.server is not None
        assert served.session.server.address[0] == "127.0.0.1"
        assert served.url.startswith("http://127.0.0.1:")
        if sys.platform.startswith("linux"):  # all of 127/8 is loopback there
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.2", served.port), timeout=2.0).close()
    finally:
        stop_served(served)


def test_cli_serve_as_in_the_readme(style_home: Path, still_clip: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``vidstyle live --serve PORT`` on a machine without a display, and without --style.

    The README's example names neither ``--style`` nor ``--no-window``: the first installed
    style is used, and a sink other than the window makes the missing display a note.
    """
    monkeypatch.setattr(registry, "known_names", lambda: list(STYLES))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = tmp_path / "served.mp4"
    code = main(["live", "--source", str(still_clip), "--serve", "0", "--record", str(out),
                 "--duration", "1", "--loop", "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "running without a window" in err
    assert "serving the live page on http://127.0.0.1:" in err
    assert out.exists() and "fps" in err
    assert live_threads() == []


# --------------------------------------------------------------------------- the browser

@pytest.fixture
def chrome(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium WebDriver, or skip saying which piece is missing.

    Requested before ``served`` so a skip happens before a live session is started.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no chromium/chromedriver on PATH (scripts/install-browser.sh installs them)")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (scripts/install-browser.sh installs it)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1000,700", "--no-proxy-server"):
        options.add_argument(arg)
    # "eager": the page never finishes loading in the classic sense, its <img> is a stream.
    options.page_load_strategy = "eager"
    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium-manager must not try the network
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    except WebDriverException as exc:
        pytest.skip(f"headless chromium would not start: {str(exc).splitlines()[0]}")
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        yield driver
    finally:
        driver.quit()


@pytest.mark.browser
def test_page_in_headless_chromium(chrome: Any, served: Served) -> None:
    """Stream shown, buttons and slider drive the session; stop works with the page open."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chrome
    wait = WebDriverWait(driver, TIMEOUT, poll_frequency=0.1)
    driver.get(served.url)
    js = driver.execute_script
    # The <img> shows the MJPEG stream: decoded, at the served size.
    wait.until(lambda d: js("return document.getElementById('stream').naturalWidth") > 0)
    assert js("const i = document.getElementById('stream');"
              "return [i.naturalWidth, i.naturalHeight]") == [W, H]
    # The page polled the state and built one button per style, the current one marked.
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#styles button")) == 2)
    buttons = driver.find_elements(By.CSS_SELECTOR, "#styles button")
    assert [b.text for b in buttons] == STYLES
    assert buttons[0].get_attribute("aria-pressed") == "true"
    frame0 = int(wait.until(lambda d: d.find_element(By.TAG_NAME, "body")
                            .get_attribute("data-frame")))
    wait.until(lambda d: int(d.find_element(By.TAG_NAME, "body")
                             .get_attribute("data-frame")) > frame0)  # it advances
    alpha = served.frame_after(served.state()["frame"])

    driver.find_element(By.CSS_SELECTOR, 'button[data-style="beta"]').click()
    wait_for("the server to switch to beta", lambda: served.state()["style"] == "beta")
    assert mad(alpha, served.frame_after(served.state()["frame"])) > 5
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body")
               .get_attribute("data-style") == "beta")
    assert driver.find_element(By.CSS_SELECTOR, 'button[data-style="beta"]'
                               ).get_attribute("aria-pressed") == "true"

    slider = driver.find_element(By.ID, "strength")
    slider.send_keys(Keys.HOME)  # a real input event, as a user's drag fires
    wait_for("the server's strength to reach 0", lambda: served.state()["strength"] == 0)
    shown = served.frame_after(served.state()["frame"])
    assert mad(shown, pattern(W, H, 0)) < 4  # strength 0 serves the source picture
    wait.until(lambda d: d.find_element(By.ID, "strength-value").text == "0%")
    slider.send_keys(Keys.ARROW_RIGHT)  # one step (0.05) up
    wait_for("the strength step", lambda: served.state()["strength"] == 0.05)

    driver.find_element(By.ID, "next").click()
    wait_for("next to wrap to alpha", lambda: served.state()["style"] == "alpha")
    assert driver.find_element(By.ID, "error").get_attribute("hidden") is not None
    assert js("return document.getElementById('stream').naturalWidth") == W
    stop_served(served)  # the page still holds its stream open: stop must end it
