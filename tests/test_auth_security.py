"""Issue 14, authentication: each attack that was reproduced against the old code, through the
public API and real servers (werkzeug, gunicorn), real clients, threads and a real Redis."""

from __future__ import annotations

import base64
import os
import re
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import pytest
import requests
import webtest
from werkzeug.security import generate_password_hash

from auth_security_apps import HASH, PASSWORD, login_stack, protected_flask
from middleware import CompressionMiddleware, Pipeline
from middleware.auth import AuthMiddleware, BasicAuth, MemoryCounter, Throttle
from middleware.auth.hashes import parse_hash
from middleware.sessions import SessionMiddleware
from redis_server import redis_server, redis_url  # noqa: F401
from servers import PYTHON, free_port, from_every_worker, run_server, serve_in_thread

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "auth-security-test-secret-0123456789abcdef"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SHA_HASH = "{SHA}" + base64.b64encode(__import__("hashlib").sha1(b"pw").digest()).decode()


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Send the request line exactly as written (no client normalises the path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                     .encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


# -- 1. public_paths as the application sees them ---------------------------------------------

ATTACKS = ["/files/../static/x", "/files/%2e%2e/static/x", "/files/%2E%2E/static/x",
           "/admin/../static/x", "/admin/%2e%2e/static/x", "/files/..%2Fstatic/x",
           "/static/../files/x", "/static/%2e%2e/admin/x", "/files//../static/x",
           "/files/./../static/x", "/static/..;/admin/x", "/static/..%5Cadmin/x"]


def check_router(port: int) -> None:
    assert raw_get(port, "/static/x") == (200, b"public static: x")
    assert raw_get(port, "/files/x")[0] == 401
    for target in ATTACKS:
        status, body = raw_get(port, target)
        assert b"PROTECTED" not in body and status in (401, 404), (target, status, body)


def test_dot_segments_never_reach_protected_flask_views_under_werkzeug():
    import werkzeug.serving

    server = werkzeug.serving.make_server("127.0.0.1", 0, protected_flask(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        check_router(server.port)
    finally:
        server.shutdown()
        server.server_close()


def test_dot_segments_never_reach_protected_flask_views_under_gunicorn():
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "auth_security_apps:protected_flask()", "--bind",
            f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"]
    with run_server(args, port, env={"PYTHONPATH": HERE}):
        check_router(port)


# -- 2. the throttle decides before the verification cache ------------------------------------

class CountingBasicAuth(BasicAuth):
    """BasicAuth that counts how often the cache and the hash are consulted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lookups = 0

    def cached(self, credentials):
        self.lookups += 1
        return super().cached(credentials)

    def authenticate(self, credentials):
        self.lookups += 1
        return super().authenticate(credentials)


def test_a_throttled_client_is_refused_even_with_a_cached_password():
    backend = CountingBasicAuth(users={"alice": HASH}, cache_ttl=300)
    throttle = Throttle(MemoryCounter(), max_failures=3, window=60)
    app = webtest.TestApp(AuthMiddleware(protected_flask().app, [backend], throttle=throttle))
    real_user = {"REMOTE_ADDR": "192.0.2.1"}
    attacker = {"REMOTE_ADDR": "198.51.100.7"}
    app.get("/files/x", headers=basic("alice", PASSWORD), extra_environ=real_user)  # cached
    for guess in range(3):
        app.get("/files/x", headers=basic("alice", f"guess{guess}"), extra_environ=attacker,
                status=401)
    app.get("/files/x", headers=basic("alice", "guess3"), extra_environ=attacker, status=429)
    before = backend.lookups
    res = app.get("/files/x", headers=basic("alice", PASSWORD), extra_environ=attacker,
                  expect_errors=True)
    assert res.status_int == 429
    for guess in range(100):
        app.get("/files/x", headers=basic("alice", f"more{guess}"), extra_environ=attacker,
                status=429)
    assert backend.lookups == before  # a throttled guess costs no HMAC, no hash


# -- 3. parallel guesses are counted atomically -----------------------------------------------

SLOW_HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=8)).decode()


def parallel_guesses(urls: list[str], count: int) -> list[int]:
    barrier = threading.Barrier(count)

    def guess(i: int) -> int:
        barrier.wait(10)
        return requests.get(urls[i % len(urls)] + "/private",
                            headers=basic("alice", f"wrong{i}"), timeout=60).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(guess, range(count)))


def slow_stack(throttle):
    return AuthMiddleware(protected_flask().app, [BasicAuth(users={"alice": SLOW_HASH})],
                          throttle=throttle)


def test_parallel_wrong_guesses_past_the_limit_are_refused_in_memory():
    throttle = Throttle(max_failures=3, window=60)
    with serve_in_thread(slow_stack(throttle), threaded=True) as url:
        statuses = parallel_guesses([url], 40)
    assert statuses.count(401) == 3 and statuses.count(429) == 37, statuses


def test_parallel_wrong_guesses_are_refused_across_hosts_sharing_redis(redis_url):  # noqa: F811
    with serve_in_thread(slow_stack(Throttle(redis_url, max_failures=3, window=60))) as one, \
            serve_in_thread(slow_stack(Throttle(redis_url, max_failures=3, window=60))) as two:
        statuses = parallel_guesses([one, two], 40)
    assert statuses.count(401) == 3 and statuses.count(429) == 37, statuses


def test_a_right_password_gives_its_attempt_back(redis_url):  # noqa: F811
    for throttle in (Throttle(max_failures=2, window=60),
                     Throttle(redis_url, max_failures=2, window=60)):
        app = webtest.TestApp(slow_stack(throttle))
        for _ in range(5):
            app.get("/files/x", headers=basic("alice", PASSWORD))
        app.get("/files/x", headers=basic("alice", "bad"), status=401)
        app.get("/files/x", headers=basic("alice", "bad2"), status=401)
        app.get("/files/x", headers=basic("alice", PASSWORD), status=429)


# -- 4. a browser login holds in every worker and after a restart -----------------------------

def form_login(get, post) -> None:
    page = get("/login?next=/private")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    post("/login", {"username": "alice", "password": PASSWORD, "csrf_token": csrf,
                    "next": "/private"})


def test_a_login_made_by_one_stack_holds_in_another_built_independently():
    first = webtest.TestApp(login_stack(SECRET))
    page = first.get("/login", params={"next": "/private"}, headers=BROWSER)
    form = page.forms[0]
    form["username"], form["password"] = "alice", PASSWORD
    form.submit(headers=BROWSER, status=303)
    cookie = first.cookies["session"]
    for stack in (login_stack(SECRET), login_stack(SECRET)):  # another worker; a restart
        second = webtest.TestApp(stack)
        second.set_cookie("session", cookie)
        assert second.get("/private", headers=BROWSER).text.startswith("alice|")


def test_a_login_holds_on_both_gunicorn_workers_without_preload_and_after_a_restart():
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "auth_security_apps:login_stack()", "--bind",
            f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"]
    env = {"PYTHONPATH": HERE, "AUTH_TEST_SECRET": SECRET}
    url = f"http://127.0.0.1:{port}"
    with run_server(args, port, env=env):
        with requests.Session() as browser:
            form_login(lambda p: browser.get(url + p, headers=BROWSER).text,
                       lambda p, d: browser.post(url + p, data=d, headers=BROWSER))
            cookie = browser.cookies["session"]

        def ask():
            res = requests.get(url + "/private", cookies={"session": cookie},
                               headers={**BROWSER, "Connection": "close"},
                               allow_redirects=False, timeout=10)
            assert res.status_code == 200, res.status_code
            user, pid = res.text.split("|")
            return pid, user

        assert all(users == {"alice"} for users in from_every_worker(ask).values())
    with run_server(args, port, env=env):  # a restart keeps the login
        res = requests.get(url + "/private", cookies={"session": cookie}, headers=BROWSER,
                           allow_redirects=False, timeout=10)
        assert res.status_code == 200 and res.text.startswith("alice|")


def test_login_url_without_a_configured_secret_is_refused():
    with pytest.raises(ValueError, match="secret_key"):
        AuthMiddleware(protected_flask().app, [BasicAuth(users={"alice": HASH})],
                       login_url="/login")


def test_old_secrets_still_verify_a_login_and_are_rekeyed():
    old = webtest.TestApp(login_stack(SECRET))
    form = old.get("/login", headers=BROWSER).forms[0]
    form["username"], form["password"] = "alice", PASSWORD
    form.submit(headers=BROWSER, status=303)
    rotated_auth = AuthMiddleware(login_stack(SECRET).app.app,
                                  [BasicAuth(users={"alice": HASH})], login_url="/login",
                                  secret_key=["a-brand-new-secret-0123456789", SECRET],
                                  throttle=None)
    rotated = webtest.TestApp(SessionMiddleware(rotated_auth, secret_key=SECRET))
    rotated.set_cookie("session", old.cookies["session"])
    assert rotated.get("/private", headers=BROWSER).text.startswith("alice|")
    only_new = AuthMiddleware(rotated_auth.app, [BasicAuth(users={"alice": HASH})],
                              login_url="/login", secret_key="a-brand-new-secret-0123456789",
                              throttle=None)
    newest = webtest.TestApp(SessionMiddleware(only_new, secret_key=SECRET))
    newest.set_cookie("session", rotated.cookies["session"])  # re-keyed on the last request
    assert newest.get("/private", headers=BROWSER).text.startswith("alice|")


# -- 5. a next that is not latin-1 ------------------------------------------------------------

@pytest.mark.parametrize("target, location", [
    ("/日本?q=é", "/%E6%97%A5%E6%9C%AC?q=%C3%A9"),
    ("/caf\u00e9", "/caf%C3%A9"),
    ("/\u2028x", "/%E2%80%A8x"),
])
def test_a_non_latin1_next_is_percent_encoded_by_a_real_server(target, location):
    with serve_in_thread(login_stack(SECRET)) as url, requests.Session() as browser:
        page = browser.get(url + "/login", headers=BROWSER).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        res = browser.post(url + "/login", data={"username": "alice", "password": PASSWORD,
                                                  "csrf_token": csrf, "next": target},
                           headers=BROWSER, allow_redirects=False)
        assert res.status_code == 303 and res.headers["Location"] == location


def test_a_non_ascii_script_name_is_percent_encoded_in_the_redirect():
    app = webtest.TestApp(login_stack(SECRET))
    res = app.get("/private", headers=BROWSER, status=303,
                  extra_environ={"SCRIPT_NAME": "/\xe6\x97\xa5"})
    assert res.headers["Location"].startswith("/%E6%97%A5/login?next=")


# -- 6. IPv6 clients are counted per /64 ------------------------------------------------------

def test_ipv6_clients_are_counted_per_64():
    app = webtest.TestApp(AuthMiddleware(protected_flask().app,
                                         [BasicAuth(users={"alice": HASH})],
                                         throttle=Throttle(max_failures=3, window=60)))
    for i in range(3):  # a new address and a new user name for every try
        app.get("/files/x", headers=basic(f"user{i}", "x"), status=401,
                extra_environ={"REMOTE_ADDR": f"2001:db8:1:2::{i + 1:x}"})
    app.get("/files/x", headers=basic("user9", "x"), status=429,
            extra_environ={"REMOTE_ADDR": "2001:db8:1:2:ffff:ffff:ffff:fffe"})
    app.get("/files/x", headers=basic("user10", "x"), status=401,
            extra_environ={"REMOTE_ADDR": "2001:db8:1:3::1"})  # the next /64


# -- 7. unknown users cost what the slowest known user costs ----------------------------------

def test_the_dummy_check_uses_the_slowest_scheme_of_the_table(tmp_path):
    scrypt = generate_password_hash("pw", method="scrypt:16384:8:1")
    auth = BasicAuth(users={"sha-user": SHA_HASH, "bcrypt-user": HASH, "scrypt-user": scrypt})
    assert auth.dummy_hash().kind == "scrypt:16384:8:1"
    file = tmp_path / "users.htpasswd"
    file.write_text(f"sha-user:{SHA_HASH}\nbcrypt-user:{HASH}\n")
    from_file = BasicAuth(htpasswd=file, reload_interval=0)
    assert from_file.dummy_hash().kind == "bcrypt:04"
    file.write_text(f"sha-user:{SHA_HASH}\nbcrypt-user:{HASH}\nscrypt-user:{scrypt}\n")
    assert from_file.dummy_hash().kind == "scrypt:16384:8:1"
    assert not auth.check_password("nobody", "pw") and auth.check_password("sha-user", "pw")


def test_weak_werkzeug_parameters_are_flagged_like_sha(caplog):
    weak = generate_password_hash("pw", method="pbkdf2:md5:1000000")
    assert parse_hash(weak).weak and parse_hash(SHA_HASH).weak
    BasicAuth(users={"old": weak, "alice": HASH})
    assert "'old'" in caplog.text and "'alice'" not in caplog.text


# -- 15. BREACH: pages with the CSRF token are not compressed ---------------------------------

def test_pages_with_the_csrf_token_are_never_compressed():
    auth = AuthMiddleware(protected_flask().app, [BasicAuth(users={"alice": HASH})],
                          login_url="/login", secret_key=SECRET, throttle=None)
    stack = (Pipeline().use(CompressionMiddleware, min_size=0)
             .use(SessionMiddleware, secret_key=SECRET).wrap(auth))
    gzip = {**BROWSER, "Accept-Encoding": "gzip"}
    reflected = "/files/" + "secret-guess-" * 40
    with serve_in_thread(stack) as url, requests.Session() as browser:
        page = browser.get(url + "/login", params={"next": reflected}, headers=gzip)
        assert "Content-Encoding" not in page.headers and reflected in page.text
        assert "no-transform" in page.headers["Cache-Control"]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        failed = browser.post(url + "/login", headers=gzip, data={
            "username": "alice" * 50, "password": "x", "csrf_token": csrf, "next": reflected})
        assert "Content-Encoding" not in failed.headers and csrf in failed.text
        assert "Content-Encoding" not in browser.get(url + "/logout", headers=gzip).headers
        # the same stack does compress ordinary pages
        res = browser.get(url + "/files/" + "x" * 600,
                          headers={**gzip, **basic("alice", PASSWORD)})
        assert res.headers["Content-Encoding"] == "gzip"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
