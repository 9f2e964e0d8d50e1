"""Identity on every path (issue 16): public paths are identified, never challenged; the
choice between protecting unknown paths (``protect="all"``) and only the listed ones.

Real SessionMiddleware, real bcrypt, a real Flask app; the only stand-ins count calls.
"""

from __future__ import annotations

import base64
import json
import textwrap

import bcrypt
import pytest
import webtest
from flask import Flask, request
from paste.deploy import loadapp

from middleware.auth import AuthMiddleware, BasicAuth, MemoryCounter, Throttle
from middleware.auth.throttle import ThrottleUnavailable
from middleware.sessions import SessionMiddleware

PASSWORD = "wonderland"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
KEY = "identity-test-key-0123456789abcdef0123"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PUBLIC = ["/", "/health", "/static/*"]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def who(environ, start_response):
    """Who the app sees, and whether anything touched the session."""
    session = environ.get("middleware.session")
    if environ.get("PATH_INFO") not in ("/", "/health", "/private", "/admin/x", "/about",
                                        "/static/app.css"):
        body = b"app's own 404"
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [body]
    body = json.dumps({"user": environ.get("REMOTE_USER"), "type": environ.get("AUTH_TYPE"),
                       "session_loaded": bool(session is not None and session.accessed)})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


class CountingBasicAuth(BasicAuth):
    """BasicAuth that counts full password checks (the expensive part)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checks = 0

    def check_password(self, user, password):
        self.checks += 1
        return super().check_password(user, password)


def stack(backend=None, throttle=None, app=who, **options):
    backend = backend or CountingBasicAuth(users={"alice": HASH})
    options.setdefault("public_paths", PUBLIC)
    auth = AuthMiddleware(app, [backend], realm="Staff", login_url="/login", secret_key=KEY,
                          throttle=throttle, **options)
    return webtest.TestApp(SessionMiddleware(auth, secret_key=KEY, store="memory")), backend


def form_login(client, user="alice", password=PASSWORD):
    form = client.get("/login", headers=BROWSER).forms[0]
    form["username"], form["password"] = user, password
    return form.submit(headers=BROWSER, status=303)


# -- identity on public paths --------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/health", "/static/app.css"])
def test_basic_credentials_identify_on_public_paths(path):
    client, _ = stack()
    seen = client.get(path, headers=basic("alice", PASSWORD)).json
    assert (seen["user"], seen["type"]) == ("alice", "Basic")


@pytest.mark.parametrize("path", ["/", "/health", "/static/app.css"])
def test_a_form_login_identifies_on_public_paths(path):
    client, _ = stack()
    form_login(client)
    seen = client.get(path, headers=BROWSER).json
    assert (seen["user"], seen["type"]) == ("alice", "Form")
    # and after logout the same public page is anonymous again
    page = client.get("/logout", headers=BROWSER)
    page.forms[0].submit(headers=BROWSER, status=303)
    assert client.get(path, headers=BROWSER).json["user"] is None


def test_an_anonymous_public_request_loads_no_session_and_hashes_nothing():
    client, backend = stack()
    seen = client.get("/health").json
    assert seen == {"user": None, "type": None, "session_loaded": False}
    assert backend.checks == 0


def test_flask_sees_remote_user_on_a_public_page():
    app = Flask(__name__)

    @app.route("/")
    def home():
        return f"remote_user={request.remote_user}"

    client, _ = stack(app=app.wsgi_app)
    assert client.get("/", headers=basic("alice", PASSWORD)).text == "remote_user=alice"
    form_login(client)
    assert client.get("/", headers=BROWSER).text == "remote_user=alice"
    assert webtest.TestApp(client.app).get("/").text == "remote_user=None"


def test_a_trusted_proxy_user_is_identified_on_public_paths():
    client, _ = stack(trusted_proxies=["10.0.0.0/8"], remote_user_header="X-Remote-User")
    seen = client.get("/health", headers={"X-Remote-User": "carol"},
                      extra_environ={"REMOTE_ADDR": "10.1.2.3"}).json
    assert (seen["user"], seen["type"]) == ("carol", "Proxy")
    spoofed = client.get("/health", headers={"X-Remote-User": "carol"},
                         extra_environ={"REMOTE_ADDR": "203.0.113.9"}).json
    assert spoofed["user"] is None


def test_authorize_never_refuses_a_public_path():
    client, _ = stack(authorize=lambda identity, environ: False)
    assert client.get("/health", headers=basic("alice", PASSWORD)).json["user"] == "alice"
    client.get("/private", headers=basic("alice", PASSWORD), status=403)


# -- bad credentials on public paths: ignored, but counted -----------------------------------

@pytest.mark.parametrize("header", [
    basic("alice", "wrong"), basic("nobody", "x"), {"Authorization": "Basic !!!"},
    {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    {"Authorization": "Basic " + "A" * 9000},
])
def test_bad_credentials_on_a_public_path_pass_anonymously(header):
    client, _ = stack()
    res = client.get("/health", headers=header)
    assert res.status_int == 200 and res.json["user"] is None
    assert "WWW-Authenticate" not in res.headers
    assert client.get("/private", headers=header, expect_errors=True).status_int in (400, 401)


def test_wrong_passwords_on_public_paths_count_against_the_throttle():
    throttle = Throttle(MemoryCounter(), max_failures=3, window=60)
    client, backend = stack(throttle=throttle)
    for guess in ("a", "b", "c"):
        assert client.get("/health", headers=basic("alice", guess)).json["user"] is None
    assert backend.checks == 3
    # the limit is reached: the right password is refused on protected paths ...
    res = client.get("/private", headers=basic("alice", PASSWORD), status=429)
    assert "Retry-After" in res.headers
    # ... and ignored unchecked on public ones: no hash, no way to keep guessing
    for guess in ("d", PASSWORD):
        assert client.get("/health", headers=basic("alice", guess)).json["user"] is None
    assert backend.checks == 3


def test_a_down_fail_closed_throttle_leaves_public_paths_anonymous_not_503():
    class DownCounter(MemoryCounter):
        def acquire(self, keys, limit, window):
            raise ThrottleUnavailable("down")

    client, backend = stack(throttle=Throttle(DownCounter(), fail_open=False))
    assert client.get("/health", headers=basic("alice", PASSWORD)).json["user"] is None
    client.get("/private", headers=basic("alice", PASSWORD), status=503)
    assert backend.checks == 0


# -- unknown paths: protected by default, or the application's 404 ---------------------------

def test_by_default_unknown_paths_ask_anonymous_clients_to_log_in():
    client, _ = stack()
    client.get("/no-such-page", status=401)
    assert client.get("/no-such-page", headers=BROWSER, status=303).headers[
        "Location"].startswith("/login?next=")
    client.get("/no-such-page", headers=basic("alice", PASSWORD), status=404)


def test_protect_listed_lets_unknown_paths_reach_the_404_and_guards_the_list():
    client, _ = stack(protect="listed", protected_paths=["/private", "/admin/*"],
                      public_paths=())
    assert client.get("/no-such-page", status=404).text == "app's own 404"
    assert client.get("/about").json["user"] is None
    assert client.get("/about", headers=basic("alice", PASSWORD)).json["user"] == "alice"
    for path in ("/private", "/private/", "/admin", "/admin/x", "/about/../admin/x",
                 "/about//admin", "/admin;x", "/%61dmin/x"):
        client.get(path, status=401)
    # the raw target counts too: a server that decoded %2e%2e does not make it public
    client.get("/about", extra_environ={"REQUEST_URI": "/static/%2e%2e/admin/x"}, status=401)
    assert client.get("/admin/x", headers=basic("alice", PASSWORD)).json["user"] == "alice"


def test_public_paths_carve_exceptions_out_of_protected_ones():
    client, _ = stack(protect="listed", protected_paths=["/admin/*"],
                      public_paths=["/admin/x"])
    assert client.get("/admin/x").json["user"] is None
    client.get("/admin/y", status=401)


@pytest.mark.parametrize(("kwargs", "error", "name"), [
    ({"protect": "some"}, ValueError, "protect"),
    ({"protect": "listed"}, ValueError, "protected_paths"),
    ({"protected_paths": ["/admin/*"]}, ValueError, "protected_paths"),
    ({"protect": "listed", "protected_paths": "/admin/*"}, TypeError, "protected_paths"),
    ({"protect": "listed", "protected_paths": ["/*"]}, ValueError, "protected_paths"),
    ({"protect": "listed", "protected_paths": ["admin"]}, ValueError, "protected_paths"),
    ({"protect": "listed", "protected_paths": ["/a/../b"]}, ValueError, "protected_paths"),
])
def test_protect_options_are_checked_at_construction(kwargs, error, name):
    with pytest.raises(error, match=name):
        AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], **kwargs)


def ini_app_factory(global_conf, **local_conf):
    return who


def test_protect_and_protected_paths_from_an_ini_file(tmp_path):
    (tmp_path / "users.htpasswd").write_text(f"alice:{HASH}\n")
    ini = tmp_path / "app.ini"
    ini.write_text(textwrap.dedent("""
        [pipeline:main]
        pipeline = auth app

        [filter:auth]
        use = egg:wsgi-middleware-suite#auth
        htpasswd = users.htpasswd
        protect = listed
        protected_paths = /private, /admin/*

        [app:app]
        paste.app_factory = test_auth_identity:ini_app_factory
    """))
    client = webtest.TestApp(loadapp(f"config:{ini}"))
    client.get("/no-such-page", status=404)
    client.get("/admin/x", status=401)
    assert client.get("/about", headers=basic("alice", PASSWORD)).json["user"] == "alice"
    ini.write_text(ini.read_text().replace("protect = listed", "protect = everything"))
    with pytest.raises(ValueError, match="protect"):
        loadapp(f"config:{ini}")


def test_a_session_store_that_is_down_leaves_public_pages_anonymous_not_503(caplog):
    from middleware.sessions import MemoryStore, StoreUnavailable

    class FlakyStore(MemoryStore):
        down = False

        def load(self, session_id):
            if self.down:
                raise StoreUnavailable(self, "load", ConnectionError("down"))
            return super().load(session_id)

    store = FlakyStore()
    auth = AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], login_url="/login",
                          secret_key=KEY, public_paths=PUBLIC, throttle=None)
    client = webtest.TestApp(SessionMiddleware(auth, secret_key=KEY, store=store))
    form_login(client)
    assert client.get("/health").json["user"] == "alice"
    store.down = True
    with caplog.at_level("ERROR", logger="middleware.sessions"):
        assert client.get("/health").json["user"] is None
    assert "answering 503" not in caplog.text  # the page was served: no false 503 line
    with caplog.at_level("ERROR", logger="middleware.sessions"):
        client.get("/private", headers=BROWSER, status=503)
    assert caplog.text.count("answering 503 to GET /private") == 1
