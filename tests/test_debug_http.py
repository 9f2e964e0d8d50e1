"""DebugMiddleware over real HTTP: real servers at each exception point, and the PIN-protected
console (``evalex=True``) with its cookie, CSRF token, Origin/Host checks and lockout."""

from __future__ import annotations

import contextlib
import logging
import re
import threading

import pytest
import requests
from waitress.server import create_server
from waitress.wasyncore import close_all

from middleware.debug import DebugMiddleware
from servers import serve_in_thread

QUIET = logging.getLogger("tests.debug.http")
QUIET.propagate = False
QUIET.addHandler(logging.NullHandler())
PIN = "123-456-789"
HTML = {"Accept": "text/html"}


class Boom(Exception):
    pass


def failing_app(environ, start_response):
    """404 for anything under /__debug__ (so pass-through is visible), else fails at a point
    chosen by the path."""
    path = environ["PATH_INFO"]
    if path.startswith("/__debug__"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"app 404"]
    answer = 21  # noqa: F841 - read through the console
    if path == "/after-start":
        start_response("200 OK", [("Content-Type", "application/json")])

        def body():
            raise Boom("after start_response, before the first byte")
            yield b"{}"
        return body()
    if path == "/mid-stream":
        start_response("200 OK", [("Content-Type", "application/json")])

        def stream():
            yield b'{"part": 1,'
            raise Boom("mid-stream")
        return stream()
    raise Boom("before start_response")


@contextlib.contextmanager
def serve_waitress(app):
    server = create_server(app, host="127.0.0.1", port=0, threads=2,
                           asyncore_loop_timeout=0.05)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()
        # Close every channel (kept-alive ones too) from inside the server's own loop: closing
        # them from this thread races its select() (EBADF). The loop ends when none is left.
        server.trigger.pull_trigger(lambda: close_all(server._map))
        thread.join(5)


@pytest.mark.parametrize("serve", [serve_in_thread, serve_waitress])
def test_real_servers_show_the_page_for_errors_before_the_first_byte(serve):
    with serve(DebugMiddleware(failing_app, logger=QUIET)) as url:
        for path in ("/", "/after-start"):
            response = requests.get(url + path, headers=HTML, timeout=10)
            assert response.status_code == 500, path
            assert response.headers["Content-Type"] == "text/html; charset=utf-8", path
            assert "<h1>test_debug_http.Boom</h1>" in response.text
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            _ = requests.get(url + "/mid-stream", timeout=10).content  # cut, never a page


def test_real_server_gives_a_remote_looking_client_a_plain_500():
    app = DebugMiddleware(failing_app, allowed_ips=["10.0.0.0/8"], logger=QUIET)
    with serve_in_thread(app) as url:
        response = requests.get(url, headers={**HTML, "X-Forwarded-For": "10.0.0.1"}, timeout=10)
    assert response.status_code == 500 and response.text == "Internal Server Error\n"


class Client:
    """A browser-like client of one debug page: holds its cookie, token and traceback id."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        page = self.session.get(url + "/", headers=HTML, timeout=10)
        assert page.status_code == 500
        self.tb = re.search(r'data-tb="([^"]+)"', page.text).group(1)
        self.token = re.search(r'data-secret="([^"]+)"', page.text).group(1)
        self.frame = re.findall(r'<form class="console" data-frame="(\d+)"', page.text)[-1]

    def post(self, action: str, headers: dict[str, str] | None = None, **data: str):
        data.setdefault("secret", self.token)
        return self.session.post(f"{self.url}/__debug__/{action}", data=data,
                                 headers=headers or {}, timeout=10)

    def run(self, command: str, **kwargs):
        return self.post("console", tb=self.tb, frame=self.frame, cmd=command, **kwargs)


@pytest.fixture
def console_url():
    app = DebugMiddleware(failing_app, evalex=True, pin=PIN, logger=QUIET)
    with serve_in_thread(app) as url:
        yield url


def test_console_needs_the_pin_then_runs_code_in_the_frame(console_url):
    client = Client(console_url)
    refused = client.run("answer * 2")
    assert refused.status_code == 401 and refused.json() == {"auth": False,
                                                             "error": "PIN required."}
    assert client.post("status").json() == {"auth": False}
    assert client.post("pin", pin="000-000-000").status_code == 403
    unlocked = client.post("pin", pin=PIN.replace("-", ""))
    assert unlocked.status_code == 200 and unlocked.json() == {"auth": True}
    cookie = unlocked.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__debug__" in cookie
    assert client.post("status").json() == {"auth": True}
    ran = client.run("answer * 2")
    assert ran.status_code == 200 and ran.json()["output"].splitlines() == [
        ">>> answer * 2", "42"]
    printed = client.run("print('<b>escaped?</b>')")
    assert printed.json()["output"].splitlines()[-1] == "<b>escaped?</b>"  # JSON text, not HTML


def test_console_refuses_requests_without_the_page_token_or_from_other_sites(console_url):
    client = Client(console_url)
    assert client.post("pin", pin=PIN).status_code == 200
    assert client.run("1", secret="wrong").status_code == 403
    assert client.run("1", secret="").status_code == 403
    assert client.run("1", headers={"Origin": "http://attacker.example"}).status_code == 403
    assert client.run("1", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.run("1", headers={"Origin": console_url}).status_code == 200
    get = client.session.get(f"{console_url}/__debug__/console", timeout=10)
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    rebound = client.run("1", headers={"Host": "attacker.example"})
    assert rebound.status_code == 404 and rebound.text == "app 404"  # the app's, not ours
    too_big = client.post("console", cmd="x" * 100_000)
    assert too_big.status_code == 413


def test_a_forged_or_foreign_cookie_is_refused(console_url):
    client = Client(console_url)
    client.session.cookies.set("__debug_pin", "9999999999.deadbeef", path="/__debug__")
    assert client.run("1").status_code == 401
    other = DebugMiddleware(failing_app, evalex=True, pin=PIN, logger=QUIET)
    with serve_in_thread(other) as other_url:
        stranger = Client(other_url)
        assert stranger.post("pin", pin=PIN).status_code == 200
        stolen = stranger.session.cookies.get("__debug_pin")
    client.session.cookies.set("__debug_pin", stolen, path="/__debug__")
    assert client.run("1").status_code == 401  # signed with another process's key


def test_ten_wrong_pins_lock_the_console_and_its_cookies(console_url):
    holder, attacker = Client(console_url), Client(console_url)
    assert holder.post("pin", pin=PIN).status_code == 200
    for _ in range(10):
        assert attacker.post("pin", pin="111-111-111").status_code == 403
    locked = attacker.post("pin", pin=PIN)
    assert locked.status_code == 403 and "restart" in locked.json()["error"]
    assert holder.run("1").status_code == 401


def test_only_recent_tracebacks_keep_their_frames():
    app = DebugMiddleware(failing_app, evalex=True, pin=PIN, max_tracebacks=2, logger=QUIET)
    with serve_in_thread(app) as url:
        first = Client(url)
        assert first.post("pin", pin=PIN).status_code == 200
        assert first.run("answer").status_code == 200
        recent = [Client(url), Client(url)]
        gone = first.run("answer")
        assert gone.status_code == 404 and "gone" in gone.json()["error"]
        for client in recent:  # the two newest keep theirs
            assert client.post("pin", pin=PIN).status_code == 200
            assert client.run("answer").status_code == 200


@pytest.mark.parametrize("options", [{"evalex": False}, {"evalex": True,
                                                         "allowed_ips": ["10.0.0.0/8"]}])
def test_console_endpoints_belong_to_the_app_when_off_or_for_other_clients(options):
    app = DebugMiddleware(failing_app, pin=PIN, logger=QUIET, **options)
    with serve_in_thread(app) as url:
        response = requests.post(url + "/__debug__/pin", data={"pin": PIN}, timeout=10)
        page = requests.get(url, headers=HTML, timeout=10)
    assert response.status_code == 404 and response.text == "app 404"
    assert 'data-secret="' not in page.text


@pytest.mark.parametrize("cookie", [
    "1700000000.\u00e9t\u00e9".encode(),            # non-ASCII after the date
    f"{int(__import__('time').time())}.\u2603".encode(),  # a fresh date, then a snowman
    "\u00b2\u00b2\u00b2.abc".encode(),             # superscript digits: isdigit() but not int()
    "\u0663\u0663\u0663.abc".encode(),             # Arabic-Indic digits
    b"\xff\xfe.\x80",                              # not UTF-8 at all
])
def test_a_non_ascii_console_cookie_gets_a_4xx_not_a_500(console_url, cookie):
    """hmac.compare_digest raised TypeError on a non-ASCII str: a 500 out of the middleware."""
    client = Client(console_url)
    headers = {"Cookie": b"__debug_pin=" + cookie}
    status = client.post("status", headers=headers)
    assert status.status_code == 200 and status.json() == {"auth": False}
    assert client.run("1", headers=headers).status_code == 401


@pytest.mark.parametrize("field", ["secret", "pin", "frame", "tb"])
def test_non_ascii_console_form_fields_get_a_4xx_not_a_500(console_url, field):
    client = Client(console_url)
    assert client.post("pin", pin=PIN).status_code == 200
    value = {"secret": "t\u00f6ken\u2603", "pin": "\u0661\u0662\u0663\u0664\u0665\u0666",
             "frame": "\u00b2", "tb": "\u00e9\u00e9"}[field]
    if field == "pin":
        response = client.post("pin", pin=value)
    else:
        fields = {"tb": client.tb, "frame": client.frame, "cmd": "1", field: value}
        response = client.post("console", **fields)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])


def credential_holding_app(environ, start_response):
    """Holds every credential of the request in plain, innocently named variables."""
    import base64

    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme == "Basic":
        user, _, pw = base64.b64decode(value).decode().partition(":")
        raw = pw.encode()  # noqa: F841
        pair = f"{user}:{pw}"  # noqa: F841
    else:
        bearer = value  # noqa: F841
    cookies = dict(c.strip().split("=", 1) for c in environ.get("HTTP_COOKIE", "").split(";")
                   if "=" in c)
    sid = cookies.get("sid", "").split(".")[0]  # noqa: F841 - the id part of a signed cookie
    remembered = [cookies.get("theme")]  # noqa: F841
    raise Boom("the app fails after reading the credentials")


@pytest.mark.parametrize("accept", ["text/html", "text/plain", "application/json"])
def test_debug_page_masks_every_credential_of_the_request_in_plain_variables(accept):
    """The decoded Basic password showed on the page when the app held it in a variable."""
    app = DebugMiddleware(credential_holding_app, logger=QUIET)
    password, token = "Sekr1t-basic-pw", "tok-5e9a7c1d3b"
    session = "sess-id-7d41c0a9.signature-c2f5e8"
    with serve_in_thread(app) as url:
        basic = requests.get(url + "/", auth=("alice", password), timeout=10,
                             headers={"Accept": accept,
                                      "Cookie": f"sid={session}; theme=dark-theme-1"})
        short = requests.get(url + "/", auth=("bob", "pw"), timeout=10,
                             headers={"Accept": accept})
        bearer = requests.get(url + "/", timeout=10, headers={
            "Accept": accept, "Authorization": f"Bearer {token}"})
    for response in (basic, short, bearer):
        assert response.status_code == 500 and "Boom" in response.text
    for secret in (password, token, "sess-id-7d41c0a9", "signature-c2f5e8", "dark-theme-1",
                   f"alice:{password}"):
        for response in (basic, bearer):
            assert secret not in response.text, (secret, accept)
    assert "'pw'" not in short.text and '"\'pw\'"' not in short.text  # short, but equal: masked
    if accept != "text/plain":  # the text form has no locals
        assert "alice" in basic.text  # the user name is not a secret
