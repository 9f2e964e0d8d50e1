"""Browser login end to end with the real SessionMiddleware: form, CSRF, regenerate, logout."""

from __future__ import annotations

import re
import shutil
import subprocess

import bcrypt
import pytest
import requests
import webtest

from browser import dump_dom, no_javascript
from middleware.auth import AuthMiddleware, BasicAuth, MemoryCounter, Throttle, login
from middleware.sessions import SessionMiddleware, get_session
from servers import serve_in_thread

HASH = bcrypt.hashpw(b"wonderland", bcrypt.gensalt(rounds=4)).decode()
KEY = "test-session-key-0123456789abcdef0123456789"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def who(environ, start_response):
    body = f"{environ.get('REMOTE_USER')}|{environ.get('AUTH_TYPE')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def stack(backend=None, store="memory", **options):
    options.setdefault("throttle", None)
    auth = AuthMiddleware(who, [backend or BasicAuth(users={"alice": HASH})],
                          realm="Staff <area>", login_url="/login", secret_key=KEY, **options)
    return SessionMiddleware(auth, secret_key=KEY, store=store)


def log_in(client, password="wonderland", next_="/admin?x=1", user="alice"):
    form = client.get("/login", params={"next": next_}, headers=BROWSER).forms[0]
    form["username"], form["password"] = user, password
    return form.submit(headers=BROWSER, expect_errors=True)


def test_browser_is_sent_to_the_form_and_back_after_login():
    client = webtest.TestApp(stack())
    res = client.get("/admin?x=1", headers=BROWSER, status=303)
    assert res.headers["Location"] == "/login?next=%2Fadmin%3Fx%3D1"
    page = res.follow(headers=BROWSER)
    assert page.status_int == 200 and "Staff &lt;area&gt;" in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store, no-transform"
    form = page.forms[0]
    assert form["next"].value == "/admin?x=1"
    form["username"], form["password"] = "alice", "wonderland"
    done = form.submit(headers=BROWSER, status=303)
    assert done.headers["Location"] == "/admin?x=1"
    assert client.get("/admin", headers=BROWSER).text == "alice|Form"


def test_wrong_password_shows_the_form_again_with_an_error():
    client = webtest.TestApp(stack())
    res = log_in(client, password="nope")
    assert res.status_int == 200 and "Wrong user name or password" in res.text
    assert "nope" not in res.text
    client.get("/admin", headers=BROWSER, status=303)


def test_login_regenerates_the_session_id_against_fixation():
    client = webtest.TestApp(stack())
    client.get("/login", headers=BROWSER)
    planted = client.cookies["session"]
    log_in(client)
    assert client.cookies["session"] != planted
    attacker = webtest.TestApp(client.app)
    attacker.set_cookie("session", planted)
    attacker.get("/admin", headers=BROWSER, status=303)


def test_logout_invalidates_the_session():
    client = webtest.TestApp(stack())
    log_in(client)
    stolen = client.cookies["session"]
    page = client.get("/logout", headers=BROWSER)
    res = page.forms[0].submit(headers=BROWSER, status=303)
    assert res.headers["Location"] == "/login"
    client.get("/admin", headers=BROWSER, status=303)
    replay = webtest.TestApp(client.app)
    replay.set_cookie("session", stolen)
    replay.get("/admin", headers=BROWSER, status=303)


def test_forms_without_a_valid_csrf_token_are_refused():
    client = webtest.TestApp(stack())
    client.get("/login", headers=BROWSER)
    client.post("/login", {"username": "alice", "password": "wonderland", "csrf_token": "x"},
                headers=BROWSER, status=400)
    log_in(client)
    client.post("/logout", {"csrf_token": "forged"}, headers=BROWSER)
    assert client.get("/admin", headers=BROWSER).text == "alice|Form"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil",
                                    "javascript:alert(1)", "/%2F%2Fevil.example"])
def test_login_never_redirects_off_site(target):
    client = webtest.TestApp(stack())
    assert log_in(client, next_=target).headers["Location"] == "/"


@pytest.mark.parametrize(("body", "content_type"), [
    (b"username=alice", "multipart/form-data; boundary=x"),
    (b"a=" + b"x" * 20000, "application/x-www-form-urlencoded"),
    (b"username=%ff%fe", "application/x-www-form-urlencoded"),
])
def test_unusable_login_bodies_get_400(body, content_type):
    client = webtest.TestApp(stack())
    res = client.post("/login", body, headers={"Content-Type": content_type}, status=400)
    assert "urlencoded" in res.text


def test_changing_the_password_ends_browser_sessions(tmp_path):
    path = tmp_path / "users.htpasswd"
    htpasswd = shutil.which("htpasswd")
    assert htpasswd, "Apache's htpasswd is missing: apt-get install apache2-utils"
    subprocess.run([htpasswd, "-cbB", "-C", "4", str(path), "alice", "wonderland"], check=True,
                   capture_output=True)
    client = webtest.TestApp(stack(BasicAuth(htpasswd=path, reload_interval=0)))
    log_in(client)
    assert client.get("/admin", headers=BROWSER).text == "alice|Form"
    subprocess.run([htpasswd, "-bB", "-C", "4", str(path), "alice", "new-password"], check=True,
                   capture_output=True)
    client.get("/admin", headers=BROWSER, status=303)


def test_form_failures_are_throttled():
    throttle = Throttle(MemoryCounter(), max_failures=2, window=60)
    client = webtest.TestApp(stack(throttle=throttle))
    log_in(client, password="a")
    log_in(client, password="b")
    res = log_in(client)
    assert res.status_int == 429 and res.headers["Retry-After"] == "60"


def test_login_form_without_session_middleware_names_the_fix():
    app = AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], login_url="/login", secret_key=KEY)
    with pytest.raises(RuntimeError, match="SessionMiddleware"):
        webtest.TestApp(app).get("/login")


def test_applications_with_their_own_login_page_use_the_login_helper():
    backend = BasicAuth(users={"alice": HASH})

    def own_login(environ, start_response):
        if environ["PATH_INFO"] == "/signin":
            login(environ, "alice", fingerprint=backend.fingerprint("alice"))
        get_session(environ)["seen"] = True
        return who(environ, start_response)

    auth = AuthMiddleware(own_login, [backend], login_url="/signin", login_form=False,
                          secret_key=KEY)
    client = webtest.TestApp(SessionMiddleware(auth, secret_key=KEY))
    client.get("/private", headers=BROWSER, status=303)
    client.get("/signin")
    assert client.get("/private", headers=BROWSER).text == "alice|Form"


def test_login_against_a_real_server_with_requests():
    with serve_in_thread(stack(store="cookie")) as url:
        with requests.Session() as browser:
            page = browser.get(url + "/admin", headers=BROWSER)
            assert page.url == url + "/login?next=%2Fadmin"
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            res = browser.post(url + "/login", data={
                "username": "alice", "password": "wonderland", "csrf_token": csrf,
                "next": "/admin"}, headers=BROWSER)
            assert res.url == url + "/admin" and res.text == "alice|Form"
            cookie = next(c for c in browser.cookies if c.name == "session")
            assert cookie.has_nonstandard_attr("HttpOnly")


def test_login_page_renders_in_chromium_without_scripts():
    with serve_in_thread(no_javascript(stack())) as url:
        dom = dump_dom(url + "/login?next=/admin")
    assert '<input type="password" id="password" name="password"' in dom
    assert 'name="next" value="/admin"' in dom and "<h1>Staff &lt;area&gt;</h1>" in dom
