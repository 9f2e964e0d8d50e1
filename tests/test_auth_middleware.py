"""AuthMiddleware: public paths, challenges by client, 403/429, bearer tokens, proxy trust,
throttling in memory and in a real Redis, PasteDeploy and a real HTTP server."""

from __future__ import annotations

import base64
import hashlib
import json
import textwrap
import time

import bcrypt
import pytest
import requests
import webtest
from paste.deploy import loadapp

from middleware.auth import (
    AuthMiddleware,
    BasicAuth,
    BearerTokenAuth,
    Identity,
    MemoryCounter,
    PublicPaths,
    Throttle,
    safe_next,
)
from redis_server import redis_server, redis_url, start_redis  # noqa: F401
from servers import serve_in_thread

HASH = bcrypt.hashpw(b"wonderland", bcrypt.gensalt(rounds=4)).decode()
TOKEN = "tok_" + "a1b2c3d4" * 4


def who(environ, start_response):
    identity = environ.get("middleware.identity")
    body = json.dumps({"user": environ.get("REMOTE_USER"), "type": environ.get("AUTH_TYPE"),
                       "claims": dict(identity.claims) if identity else None,
                       "proxy_header": environ.get("HTTP_X_REMOTE_USER")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def make(**options) -> webtest.TestApp:
    backends = options.pop("backends", None) or [BasicAuth(users={"alice": HASH}),
                                                 BearerTokenAuth(tokens={TOKEN: "ci-bot"})]
    if "login_url" in options:
        options.setdefault("secret_key", "test-auth-key-0123456789abcdef")
    return webtest.TestApp(AuthMiddleware(who, backends, **options))


# -- public paths --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/health", "/static", "/static/", "/static/app.css",
                                  "/static/a/b.js", "/static/a/", "/"])
def test_public_paths_need_no_login(path):
    client = make(public_paths=["/health", "/static/*", "/"])
    assert client.get(path).json["user"] is None


@pytest.mark.parametrize("path", [
    "/healthz", "/health/x", "/statics/x", "/static/../admin", "/static/x/../../admin",
    "/static%2F..%2Fadmin", "/static/%2e%2e/admin", "/static;x/../admin", "/static/..;/admin",
    "/static\\..\\admin", "/admin",
    # not public as the application sees them, whatever they resolve to
    "/static/./x", "//health", "/x/../health", "/static//x", "/health/", "/files/../static/x",
    "/static/%EF%BC%8E%EF%BC%8E/admin",  # FULLWIDTH FULL STOPs (NFKC: "..")
])
def test_lookalike_and_traversal_paths_stay_protected(path):
    client = make(public_paths=["/health", "/static/*"])
    client.get(path, status=401)


def test_traversal_decoded_by_a_real_server_stays_protected():
    app = AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], public_paths=["/public/*"])
    with serve_in_thread(app) as url:
        assert requests.get(url + "/public/x").status_code == 200
        for path in ("/public/%2e%2e/admin", "/public%2F..%2Fadmin", "/public/%2E%2E/admin"):
            assert requests.get(url + path).status_code == 401, path


def test_allow_callable_and_public_methods_make_requests_public():
    client = make(allow=lambda environ: environ.get("QUERY_STRING") == "open",
                  public_methods=["OPTIONS"])
    client.get("/x?open")
    client.options("/x")
    client.get("/x?closed", status=401)


@pytest.mark.parametrize("pattern", ["/*", "health", "/a/*/b", ""])
def test_bad_public_path_patterns_are_refused(pattern):
    with pytest.raises(ValueError, match="public_paths"):
        PublicPaths([pattern])


# -- challenges ----------------------------------------------------------------------------

def test_api_clients_get_401_with_one_challenge_per_backend():
    res = make(realm='Admin "zone"').get("/", status=401)
    assert res.headers.getall("WWW-Authenticate") == [
        'Basic realm="Admin \\"zone\\"", charset="UTF-8"', 'Bearer realm="Admin \\"zone\\""']
    assert res.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("headers", [{"X-Requested-With": "XMLHttpRequest"},
                                     {"Sec-Fetch-Mode": "cors", "Accept": "*/*"},
                                     {"Accept": "application/json"}])
def test_xhr_clients_get_401_without_a_basic_challenge(headers):
    res = make(login_url="/login").get("/", headers=headers, status=401)
    assert res.headers.getall("WWW-Authenticate") == ['Bearer realm="Restricted"']


def test_json_clients_get_a_json_error():
    res = make().get("/", headers={"Accept": "application/json"}, status=401)
    assert res.json["error"] == "unauthorized"


def test_browsers_are_redirected_to_the_login_page_with_next():
    res = make(login_url="/login").get("/admin/page?x=1&y=%2F", headers={"Accept": "text/html"},
                                       extra_environ={"SCRIPT_NAME": "/app"}, status=303)
    assert res.headers["Location"] == "/app/login?next=%2Fapp%2Fadmin%2Fpage%3Fx%3D1%26y%3D%252F"


def test_browsers_without_login_url_get_the_basic_dialog():
    res = make().get("/", headers={"Accept": "text/html"}, status=401)
    assert res.headers.getall("WWW-Authenticate")[0].startswith("Basic ")


@pytest.mark.parametrize("target", [
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "https://evil.example", "http:\\\\evil.example", "/%2F%2Fevil.example",
    "%2F%2Fevil.example", "/%5Cevil.example", "/\t/evil.example", "\t//evil.example",
    "/x\r\nSet-Cookie: a=b", "evil.example", "", None, "/" + "a" * 3000, " /x",
])
def test_unsafe_next_targets_fall_back_to_root(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/a/b?c=d&e=%2F", "/search?q=a%20b", "/p;x=1#frag"])
def test_same_origin_next_targets_are_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(("option", "value"), [("realm", "a\r\nX-Injected: 1"),
                                               ("login_url", "/login\r\nX: 1"),
                                               ("login_url", "//evil.example/login"),
                                               ("login_url", "https://sso.example/login"),
                                               ("logout_url", "/out\n")])
def test_header_values_with_crlf_or_foreign_origins_are_refused(option, value):
    with pytest.raises(ValueError, match=option):
        AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], **{option: value})


# -- identity, authorize -------------------------------------------------------------------

def test_identity_is_exposed_to_the_application():
    assert make().get("/", headers=basic("alice", "wonderland")).json == {
        "user": "alice", "type": "Basic", "claims": {}, "proxy_header": None}


def test_authorize_gives_403_to_known_but_unauthorised_users():
    client = make(authorize=lambda identity, environ: identity.user != "alice"
                  or not environ["PATH_INFO"].startswith("/admin"))
    client.get("/page", headers=basic("alice", "wonderland"))
    client.get("/admin", headers=basic("alice", "wonderland"), status=403)


# -- bearer --------------------------------------------------------------------------------

def test_static_bearer_tokens_and_hashed_entries():
    digest = "sha256:" + hashlib.sha256(b"another-long-token-123").hexdigest()
    client = make(backends=[BearerTokenAuth(tokens={TOKEN: "ci-bot", digest: "deployer"})])
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).json["user"] == "ci-bot"
    assert client.get("/", headers={"Authorization": "bearer another-long-token-123"}
                      ).json["user"] == "deployer"
    res = client.get("/", headers={"Authorization": "Bearer wrong-token-000000"}, status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer ä-token", "Bearer =abc",
                                    "Bearer " + "a" * 5000])
def test_malformed_bearer_tokens_get_400(header):
    make().get("/", headers={"Authorization": header}, status=400)


def test_verify_callable_may_return_claims():
    def verify(token):
        return {"sub": "svc", "scope": "read"} if token == "valid.jwt.token" else None
    client = make(backends=[BearerTokenAuth(verify=verify)])
    res = client.get("/", headers={"Authorization": "Bearer valid.jwt.token"})
    assert res.json["claims"] == {"sub": "svc", "scope": "read"}
    client.get("/", headers={"Authorization": "Bearer invalid.jwt.token"}, status=401)


def test_api_key_header():
    client = make(backends=[BearerTokenAuth(tokens={TOKEN: "ci-bot"}, header="X-API-Key")])
    assert client.get("/", headers={"X-API-Key": TOKEN}).json["user"] == "ci-bot"
    client.get("/", headers={"X-API-Key": "nope-nope-nope-nope"}, status=401)


def test_bearer_tokens_are_stored_only_as_hashes():
    backend = BearerTokenAuth(tokens={TOKEN: "ci-bot"})
    assert TOKEN not in repr(vars(backend)) and TOKEN not in repr(backend)


@pytest.mark.parametrize(("kwargs", "error"), [({}, ValueError), ({"tokens": ["x"]}, TypeError),
                                               ({"tokens": {"short": "u"}}, ValueError),
                                               ({"verify": "nope"}, TypeError),
                                               ({"verify": str, "header": "X Bad"}, ValueError)])
def test_bearer_options_are_validated(kwargs, error):
    with pytest.raises(error):
        BearerTokenAuth(**kwargs)


# -- trusted proxy -------------------------------------------------------------------------

def test_remote_user_header_is_trusted_only_from_configured_proxies():
    client = make(trusted_proxies=["10.0.0.0/8"], remote_user_header="X-Remote-User")
    res = client.get("/", headers={"X-Remote-User": "dana"},
                     extra_environ={"REMOTE_ADDR": "10.1.2.3"})
    assert res.json["user"] == "dana" and res.json["type"] == "Proxy"
    assert res.json["proxy_header"] is None  # consumed, not left for the app to trust again
    client.get("/", headers={"X-Remote-User": "dana"},
               extra_environ={"REMOTE_ADDR": "192.0.2.1"}, status=401)


def test_spoofed_proxy_header_never_reaches_the_app_on_public_paths():
    client = make(trusted_proxies=["10.0.0.1"], remote_user_header="X-Remote-User",
                  public_paths=["/"])
    res = client.get("/", headers={"X-Remote-User": "admin"},
                     extra_environ={"REMOTE_ADDR": "192.0.2.1"})
    assert res.json["proxy_header"] is None


def test_trusted_proxy_is_the_peer_even_behind_werkzeug_proxy_fix():
    from werkzeug.middleware.proxy_fix import ProxyFix
    auth = AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], trusted_proxies=["10.0.0.1"],
                          remote_user_header="X-Remote-User")
    client = webtest.TestApp(ProxyFix(auth, x_for=1))
    headers = {"X-Remote-User": "dana", "X-Forwarded-For": "198.51.100.7"}
    assert client.get("/", headers=headers, extra_environ={"REMOTE_ADDR": "10.0.0.1"}
                      ).json["user"] == "dana"
    client.get("/", headers={**headers, "X-Forwarded-For": "10.0.0.1"},
               extra_environ={"REMOTE_ADDR": "192.0.2.1"}, status=401)


def test_remote_user_header_without_trusted_proxies_is_refused():
    with pytest.raises(ValueError, match="trusted_proxies"):
        AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], remote_user_header="X-User")


# -- throttle ------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_failures_per_user_lock_out_with_retry_after_then_expire():
    clock = Clock()
    throttle = Throttle(MemoryCounter(clock=clock), max_failures=3, window=60)
    client = make(throttle=throttle)
    for i in range(3):
        client.get("/", headers=basic("alice", f"guess{i}"),
                   extra_environ={"REMOTE_ADDR": f"198.51.100.{i}"}, status=401)
    res = client.get("/", headers=basic("alice", "wonderland"),
                     extra_environ={"REMOTE_ADDR": "198.51.100.9"}, status=429)
    assert res.headers["Retry-After"] == "60"
    clock.now += 45
    res = client.get("/", headers=basic("alice", "wonderland"), status=429)
    assert res.headers["Retry-After"] == "15"
    clock.now += 15
    assert client.get("/", headers=basic("alice", "wonderland")).json["user"] == "alice"


def test_failures_per_address_lock_out_every_user_name():
    throttle = Throttle(MemoryCounter(clock=Clock()), max_failures=2, window=60)
    client = make(throttle=throttle)
    for user in ("u1", "u2"):
        client.get("/", headers=basic(user, "x"), status=401)
    client.get("/", headers=basic("alice", "wonderland"), status=429)
    client.get("/", headers=basic("alice", "wonderland"),
               extra_environ={"REMOTE_ADDR": "203.0.113.5"})


def test_right_passwords_are_not_counted_as_failures():
    throttle = Throttle(MemoryCounter(clock=Clock()), max_failures=2, window=60)
    client = make(throttle=throttle)
    for _ in range(5):
        client.get("/", headers=basic("alice", "wonderland"))  # verified, then cached
    client.get("/", headers=basic("alice", "bad"), status=401)
    client.get("/", headers=basic("alice", "wonderland"))
    client.get("/", headers=basic("alice", "other-guess"), status=401)
    client.get("/", headers=basic("alice", "third-guess"), status=429)


def test_memory_counter_stays_bounded():
    counter = MemoryCounter(max_keys=100, clock=Clock())
    keys = [f"ip:{i}" for i in range(1000)]
    for key in keys:
        counter.incr([key], 60)
    remembered = [key for key, (count, _) in zip(keys, counter.get(keys), strict=True) if count]
    assert 0 < len(remembered) <= 100 and "ip:999" in remembered  # the oldest went first


def test_redis_throttle_is_shared_between_middleware_instances(redis_url):  # noqa: F811
    first = make(throttle=Throttle(redis_url, max_failures=2, window=60))
    second = make(throttle=Throttle(redis_url, max_failures=2, window=60))
    first.get("/", headers=basic("alice", "a"), status=401)
    second.get("/", headers=basic("alice", "b"), status=401)
    res = first.get("/", headers=basic("alice", "wonderland"), status=429)
    assert 0 < int(res.headers["Retry-After"]) <= 60


def test_redis_lockout_expires(redis_url):  # noqa: F811
    client = make(throttle=Throttle(redis_url, max_failures=1, window=0.3))
    client.get("/", headers=basic("alice", "a"), status=401)
    client.get("/", headers=basic("alice", "wonderland"), status=429)
    time.sleep(0.35)
    client.get("/", headers=basic("alice", "wonderland"))


def test_redis_outage_fails_open_or_closed_as_configured(tmp_path):
    with start_redis(tmp_path) as server:
        open_client = make(throttle=Throttle(server.url, max_failures=1, window=60))
        closed_client = make(throttle=Throttle(server.url, max_failures=1, window=60,
                                               fail_open=False))
        server.stop()
        open_client.get("/", headers=basic("alice", "wonderland"))
        open_client.get("/", headers=basic("alice", "bad"), status=401)
        closed_client.get("/", headers=basic("alice", "wonderland"), status=503)


@pytest.mark.parametrize(("kwargs", "error"), [({"max_failures": 0}, ValueError),
                                               ({"window": 0}, ValueError),
                                               ({"store": "mysql://x"}, ValueError),
                                               ({"store": 42}, TypeError)])
def test_throttle_options_are_validated(kwargs, error):
    with pytest.raises(error):
        Throttle(**kwargs)


# -- options, PasteDeploy, a real server ---------------------------------------------------

@pytest.mark.parametrize(("kwargs", "error", "name"), [
    ({"backends": "basic"}, TypeError, "backends"),
    ({"backends": [object()]}, TypeError, "backends"),
    ({"backends": []}, ValueError, "backends"),
    ({"realm": ""}, ValueError, "realm"),
    ({"allow": 1}, TypeError, "allow"),
    ({"authorize": "x"}, TypeError, "authorize"),
    ({"throttle": 5}, TypeError, "throttle"),
    ({"trusted_proxies": ["not-an-ip"]}, ValueError, "trusted_proxies"),
    ({"max_header_length": 10}, ValueError, "max_header_length"),
    ({"public_paths": "/health"}, TypeError, "public_paths"),
])
def test_invalid_middleware_options_fail_at_construction(kwargs, error, name):
    kwargs.setdefault("backends", [BasicAuth(users={"alice": HASH})])
    with pytest.raises(error, match=name):
        AuthMiddleware(who, **kwargs)


def test_pastedeploy_filter_builds_the_middleware_from_ini(tmp_path, monkeypatch):
    (tmp_path / "users.htpasswd").write_text(f"alice:{HASH}\n")
    monkeypatch.setenv("AUTH_TEST_TOKEN", f"ci-bot:{TOKEN}")
    (tmp_path / "app.ini").write_text(textwrap.dedent("""
        [pipeline:main]
        pipeline = auth app

        [filter:auth]
        use = egg:wsgi-middleware-suite#auth
        htpasswd = users.htpasswd
        bearer_tokens = env:AUTH_TEST_TOKEN
        realm = Ini Realm
        public_paths = /health, /static/*
        max_failures = 2
        throttle_window = 1m

        [app:app]
        paste.app_factory = test_auth_middleware:app_factory
    """))
    client = webtest.TestApp(loadapp(f"config:{tmp_path / 'app.ini'}"))
    client.get("/health")
    assert client.get("/", status=401).headers.getall("WWW-Authenticate") == [
        'Basic realm="Ini Realm", charset="UTF-8"', 'Bearer realm="Ini Realm"']
    assert client.get("/", headers=basic("alice", "wonderland")).json["user"] == "alice"
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).json["user"] == "ci-bot"
    client.get("/", headers=basic("bob", "x"), status=401)
    client.get("/", headers=basic("bob", "y"), status=401)
    client.get("/", headers=basic("alice", "other"), status=429)


def test_pastedeploy_filter_refuses_unknown_keys(tmp_path):
    (tmp_path / "app.ini").write_text(textwrap.dedent("""
        [pipeline:main]
        pipeline = auth app
        [filter:auth]
        use = egg:wsgi-middleware-suite#auth
        htpasswd = /dev/null
        relam = typo
        [app:app]
        paste.app_factory = test_auth_middleware:app_factory
    """))
    with pytest.raises(ValueError, match="relam"):
        loadapp(f"config:{tmp_path / 'app.ini'}")


def app_factory(global_conf, **local_conf):
    return who


def test_each_scheme_against_requests_and_a_real_server():
    app = AuthMiddleware(who, [BasicAuth(users={"alice": HASH, "jürgen": HASH}),
                               BearerTokenAuth(tokens={TOKEN: "ci-bot"})], throttle=None)
    with serve_in_thread(app) as url:
        assert requests.get(url, auth=("alice", "wonderland")).json()["user"] == "alice"
        assert requests.get(url, auth=("jürgen", "wonderland")).json()["user"] == "jürgen"
        assert requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}
                            ).json()["user"] == "ci-bot"
        res = requests.get(url, auth=("alice", "wrong"))
        assert res.status_code == 401 and "Basic" in res.headers["WWW-Authenticate"]
        for header in ("Basic !!", "Basic " + "A" * 9000, "Bearer ä"):
            raw = header.encode("utf-8").decode("latin-1")
            assert requests.get(url, headers={"Authorization": raw}).status_code == 400


def test_repr_lists_options_without_secrets():
    text = repr(AuthMiddleware(who, [BasicAuth(users={"alice": HASH}),
                                     BearerTokenAuth(tokens={TOKEN: "ci-bot"})]))
    assert "alice" not in text and HASH not in text and TOKEN not in text
    assert "Identity" in repr(Identity("a", "Basic"))


def test_pastedeploy_throttle_fail_open_option_builds_a_fail_closed_throttle(tmp_path):
    (tmp_path / "app.ini").write_text(textwrap.dedent("""
        [pipeline:main]
        pipeline = auth app
        [filter:auth]
        use = egg:wsgi-middleware-suite#auth
        htpasswd = /dev/null
        throttle_fail_open = false
        [app:app]
        paste.app_factory = test_auth_middleware:app_factory
    """))
    assert loadapp(f"config:{tmp_path / 'app.ini'}").throttle.fail_open is False
