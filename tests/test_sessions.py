"""SessionMiddleware with the cookie and memory stores: the session API, laziness, expiry,
every bad cookie, key rotation, cookie flags, options and the PasteDeploy filter."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import sys
import time
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from paste.deploy import loadapp
from werkzeug.http import parse_set_header
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Response

from middleware.sessions import (
    Changes,
    CookieStore,
    MemoryStore,
    RedisStore,
    Session,
    SessionMiddleware,
    SessionState,
    SQLiteStore,
    get_session,
)
from middleware.sessions.middleware import COOKIE_SALT, ID_SALT
from middleware.sessions.signing import SignedSerializer

KEY = "test-session-key-0123456789abcdef"
OLD_KEY = "old-session-key-fedcba9876543210"


def session_app(environ, start_response):
    """Routes that use the session the way applications do."""
    path = environ["PATH_INFO"]
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/untouched":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"nothing"]
    session = get_session(environ)
    if path == "/set":
        for key, value in args.items():
            session[key] = value
    elif path == "/incr":
        session["n"] = session.get("n", 0) + 1
    elif path == "/regenerate":
        session.regenerate()
    elif path == "/invalidate":
        session.invalidate()
    elif path == "/clear":
        session.clear()
    elif path == "/nested":
        session.setdefault("cart", [])
        session["cart"].append(args["item"])
        if "mark" in args:
            session.modified = True
    elif path == "/fail":
        session["lost"] = True
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"failed"]
    body = json.dumps({"data": dict(session), "new": session.new,
                       "id": session.id if path == "/id" else None}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def client(store="cookie", **options) -> tuple[Client, SessionMiddleware]:
    mw = SessionMiddleware(session_app, KEY, store=store, **options)
    return Client(mw), mw


def data(response) -> dict:
    return response.json["data"]


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def cookie_value(response) -> str:
    return set_cookies(response)[0].split(";", 1)[0].split("=", 1)[1]


STORES = ["cookie", "memory"]


# -- the session API ------------------------------------------------------------------------

@pytest.mark.parametrize("store", STORES)
def test_values_survive_between_requests(store):
    c, _ = client(store)
    assert data(c.get("/set?user=alice&role=admin")) == {"user": "alice", "role": "admin"}
    c.get("/incr")
    c.get("/incr")
    assert data(c.get("/")) == {"user": "alice", "role": "admin", "n": 2}


def test_get_session_without_middleware_names_the_fix(environ):
    with pytest.raises(LookupError, match="SessionMiddleware"):
        get_session(environ)


def test_session_is_in_environ_and_is_a_session():
    seen = {}

    def app(environ, start_response):
        seen["session"] = environ["middleware.session"]
        start_response("204 No Content", [])
        return []
    Client(SessionMiddleware(app, KEY)).get("/")
    assert isinstance(seen["session"], Session)
    assert seen["session"] is not None


def test_non_json_value_is_refused_at_assignment():
    session = Session(SessionState)
    for bad in (object(), {1: "int key"}, [b"bytes"], {"deep": [{"set": {1}}]}):
        with pytest.raises(TypeError, match="JSON"):
            session["when"] = bad
    session["fine"] = {"a": [1, 2.5, None, True, ("t", "u")], "b": {"c": "d"}}
    with pytest.raises(TypeError, match="strings"):
        session[1] = "x"


def test_new_and_modified_flags():
    seen = []

    def app(environ, start_response):
        session = get_session(environ)
        seen.append((session.new, session.modified))
        session["x"] = 1
        seen.append((session.new, session.modified))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]
    c = Client(SessionMiddleware(app, KEY))
    c.get("/")
    c.get("/")
    assert seen == [(True, False), (True, True), (False, False), (False, True)]


@pytest.mark.parametrize("store", STORES)
def test_nested_mutation_in_place_is_saved_without_marking_it(store):
    c, _ = client(store)
    c.get("/nested?item=book")  # setdefault assigns the new cart
    assert data(c.get("/"))["cart"] == ["book"]
    c.get("/nested?item=pen")  # session["cart"].append(...): no assignment, no flag
    assert data(c.get("/"))["cart"] == ["book", "pen"]
    c.get("/nested?item=ink&mark=1")  # the explicit flag still works
    assert data(c.get("/"))["cart"] == ["book", "pen", "ink"]


@pytest.mark.parametrize("store", STORES)
def test_reading_without_changing_sends_no_cookie(store):
    c, _ = client(store)
    c.get("/set?a=1")
    assert set_cookies(c.get("/")) == []


def test_change_after_start_response_is_an_error():
    def app(environ, start_response):
        session = get_session(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        with pytest.raises(RuntimeError, match="start_response"):
            session["late"] = 1
        return [b"ok"]
    assert Client(SessionMiddleware(app, KEY)).get("/").status_code == 200


@pytest.mark.parametrize("store", STORES)
def test_nothing_is_saved_on_a_5xx(store):
    c, _ = client(store)
    c.get("/set?a=1")
    response = c.get("/fail")
    assert set_cookies(response) == []
    assert data(c.get("/")) == {"a": "1"}


# -- fixation, logout --------------------------------------------------------------------------

@pytest.mark.parametrize("store", STORES)
def test_regenerate_changes_the_id_keeps_the_data_and_kills_the_old_id(store):
    c, mw = client(store)
    c.get("/set?user=alice")
    before = c.get("/id").json["id"]
    old_cookie = c.get_cookie("session").value
    c.get("/regenerate")
    after = c.get("/id").json
    assert after["id"] != before and after["data"] == {"user": "alice"}
    if store == "memory":  # a server store forgets the old id: a planted cookie is worthless
        attacker = Client(mw)
        attacker.set_cookie("session", old_cookie)
        assert attacker.get("/").json == {"data": {}, "new": True, "id": None}


@pytest.mark.parametrize("store", STORES)
def test_invalidate_drops_data_and_deletes_the_cookie(store):
    c, mw = client(store)
    c.get("/set?user=alice")
    old_cookie = c.get_cookie("session").value
    response = c.get("/invalidate")
    assert data(response) == {} and response.json["new"] is True
    assert "Max-Age=0" in set_cookies(response)[0]
    assert c.get_cookie("session") is None
    if store == "memory":
        replay = Client(mw)
        replay.set_cookie("session", old_cookie)
        assert data(replay.get("/")) == {}
        assert len(mw.store) == 0


@pytest.mark.parametrize("store", STORES)
def test_emptied_session_deletes_the_cookie_and_is_not_stored(store):
    c, mw = client(store)
    c.get("/set?a=1")
    assert "Max-Age=0" in set_cookies(c.get("/clear"))[0]
    assert c.get_cookie("session") is None
    if store == "memory":
        assert len(mw.store) == 0


def test_values_set_after_invalidate_go_into_a_new_session():
    def app(environ, start_response):
        session = get_session(environ)
        old = session.id
        session.invalidate()
        session["flash"] = "logged out"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [(old != session.id and "changed").encode()]
    mw = SessionMiddleware(app, KEY, store=MemoryStore())
    c = Client(mw)
    assert c.get("/").get_data() == b"changed"
    assert len(mw.store) == 1


# -- laziness -------------------------------------------------------------------------------

class CountingStore(MemoryStore):
    """A MemoryStore that counts calls (a real store, observed)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def load(self, session_id):
        self.calls.append("load")
        return super().load(session_id)

    def save(self, session_id, changes, ttl, *, new):
        self.calls.append("save")
        return super().save(session_id, changes, ttl, new=new)


def test_untouched_session_costs_no_store_call_and_sets_no_cookie():
    store = CountingStore()
    c, _ = client(store)
    c.get("/set?a=1")
    store.calls.clear()
    response = c.get("/untouched")
    assert store.calls == []
    assert set_cookies(response) == [] and "Vary" not in response.headers


def test_untouched_session_never_verifies_a_cookie(caplog):
    c, _ = client()
    c.set_cookie("session", "garbage-that-would-be-logged")
    with caplog.at_level(logging.INFO, "middleware.sessions"):
        response = c.get("/untouched")
    assert caplog.records == [] and set_cookies(response) == []


def test_read_only_request_loads_once_and_saves_nothing():
    store = CountingStore()
    c, _ = client(store)
    c.get("/set?a=1")
    store.calls.clear()
    response = c.get("/")
    assert store.calls == ["load"] and set_cookies(response) == []
    assert parse_set_header(response.headers["Vary"]) == parse_set_header("Cookie")


def test_vary_cookie_is_appended_to_an_existing_vary():
    def app(environ, start_response):
        get_session(environ).get("x")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Vary", "Accept-Encoding")])
        return [b""]
    response = Client(SessionMiddleware(app, KEY)).get("/")
    assert response.headers["Vary"] == "Accept-Encoding, Cookie"


@pytest.mark.parametrize(("lines", "expected"), [
    (["Accept-Encoding", "Accept-Language"], ["Accept-Encoding, Accept-Language, Cookie"]),
    (["*"], ["*"]),
    (["cookie"], ["cookie"]),
])
def test_vary_lines_are_merged_into_one_and_the_app_list_is_left_alone(lines, expected):
    seen = []

    def app(environ, start_response):
        get_session(environ)["x"] = 1
        headers = [("Content-Type", "text/plain"), *(("Vary", line) for line in lines),
                   ("X-After", "1")]
        seen.append(list(headers))
        start_response("200 OK", headers)
        seen.append(headers)
        return [b""]
    response = Client(SessionMiddleware(app, KEY)).get("/")
    assert response.headers.getlist("Vary") == expected
    assert response.headers["X-After"] == "1" and len(set_cookies(response)) == 1
    assert seen[0] == seen[1]  # the application's list was not edited


def test_a_second_start_response_needs_exc_info_and_then_passes_through():
    def app(environ, start_response):
        get_session(environ)["x"] = 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        with pytest.raises(AssertionError):
            start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("late")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"failed"]
    calls = []

    def server_start(status, headers, exc_info=None):
        calls.append((status, headers, exc_info))
    body = SessionMiddleware(app, KEY)(EnvironBuilder("/").get_environ(), server_start)
    assert list(body) == [b"failed"]
    (first, headers, _), (second, again, exc_info) = calls
    assert first == "200 OK" and [k for k, _ in headers].count("Set-Cookie") == 1
    # the restart goes to the server as the application sent it: no second cookie
    assert second.startswith("500") and again == [("Content-Type", "text/plain")]
    assert exc_info is not None and exc_info[0] is ValueError


# -- bad cookies: a fresh session and a log line, never an error --------------------------------

def record(session_id="A" * 43, created=None, last_seen=None, data=None, version=1) -> str:
    """A cookie-store session as the cookie carries it: a header array, then the data."""
    now = time.time()
    head = json.dumps([version, session_id, created or now, last_seen or now],
                      separators=(",", ":"))
    return head + json.dumps(data if data is not None else {"user": "mallory"})


def signed(payload: str, key: str = KEY) -> str:
    """A cookie-store token, signed as the middleware signs them (public codec and salt)."""
    return SignedSerializer([key], COOKIE_SALT).dumps(payload)


def signed_id(session_id: str, key: str = KEY) -> str:
    """A server-side store's cookie: the signed id."""
    return SignedSerializer([key], ID_SALT).sign(session_id)


def previous_format(data: dict, created: float, key: str = KEY) -> str:
    """A cookie of the format before 2.0: itsdangerous timestamped token of one JSON object."""
    text = json.dumps({"v": 1, "i": "E" * 43, "c": created, "t": created, "d": data},
                      separators=(",", ":"))
    signer = TimestampSigner(key, salt=COOKIE_SALT, key_derivation="hmac",
                             digest_method=hashlib.sha256)
    return signer.sign(base64.urlsafe_b64encode(text.encode()).rstrip(b"=")).decode()


def bad_cookies(max_age: float = 1209600) -> dict[str, str]:
    good = signed(record())
    return {
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "payload_changed": "eyJ1c2VyIjoiYWRtaW4ifQ" + good[good.index("."):],
        "wrong_key": signed(record(), key="another-key-entirely-0123456789"),
        "garbage": "not a session at all",
        "truncated": good[: len(good) // 2],
        "huge": "A" * 9000,
        "empty_parts": "..",
        "not_a_record": signed(json.dumps(["a", "list"])),
        "no_header": signed(json.dumps({"user": "mallory"})),
        "unknown_format": signed(record(version=99)),
        "record_data_not_a_dict": signed(record()[:-len('{"user": "mallory"}')] + '"text"'),
        "expired_absolute": signed(record(created=time.time() - max_age - 5)),
        "non_ascii": "s\u00e9ssion\u2603",
        "previous_format_expired": previous_format({"u": 1}, time.time() - max_age - 5),
        "signed_id_not_a_record": signed_id("A" * 43),
    }


BAD = sorted(bad_cookies())


@pytest.mark.parametrize("case", BAD)
def test_bad_cookie_gives_a_fresh_session_and_a_log_line(case, caplog):
    c, mw = client()
    c.set_cookie("session", bad_cookies(mw.max_age)[case], max_size=0)
    with caplog.at_level(logging.INFO, "middleware.sessions"):
        response = c.get("/")
    assert response.status_code == 200
    assert response.json == {"data": {}, "new": True, "id": None}
    assert any("session cookie ignored" in r.getMessage() for r in caplog.records)
    assert "Max-Age=0" in set_cookies(response)[0]  # the bad cookie is deleted


def test_cookie_of_the_previous_format_still_loads_and_is_rewritten():
    c, _ = client()
    c.set_cookie("session", previous_format({"user": "alice"}, time.time() - 60))
    response = c.get("/")
    assert data(response) == {"user": "alice"} and set_cookies(response)
    assert data(c.get("/")) == {"user": "alice"}


@pytest.mark.parametrize("case", ["malformed_id", "unknown_id", "undecodable_record",
                                  "expired_idle", "cookie_store_token"])
def test_bad_server_session_gives_a_fresh_session(case, caplog):
    store = MemoryStore()
    c, mw = client(store, idle_timeout=600)
    sid, now = "B" * 43, time.time()
    stored = {"undecodable_record": Changes({"x": "\x00{not json"}, (), now, now),
              "expired_idle": Changes({"x": "1"}, (), now - 700, now - 700)}.get(case)
    if stored is not None:
        store.save(sid, stored, 60, new=True)
    cookie = {"malformed_id": signed_id("../../etc/passwd"),
              "cookie_store_token": signed(record(sid))}.get(case, signed_id(sid))
    c.set_cookie("session", cookie)
    with caplog.at_level(logging.INFO, "middleware.sessions"):
        response = c.get("/set?x=1")
    assert data(response) == {"x": "1"} and response.json["new"] is True
    assert any("session cookie ignored" in r.getMessage() for r in caplog.records)
    assert c.get("/id").json["id"] != sid  # an id the server did not issue is never adopted


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=255,
                                            exclude_characters=';,"\\'), max_size=300))
def test_any_cookie_value_gives_a_session_never_an_error(value):
    c, mw = client()
    c.set_cookie("session", value, max_size=0)
    response = c.get("/")
    assert response.status_code == 200 and response.json["data"] == {}


@settings(max_examples=150, deadline=None)
@given(header=st.text(alphabet=st.characters(max_codepoint=255), max_size=300))
def test_any_raw_cookie_header_gives_a_session_never_an_error(header):
    environ = EnvironBuilder("/").get_environ()
    environ["HTTP_COOKIE"] = "session=" + header  # as the server decoded it (latin-1)
    response = Response.from_app(SessionMiddleware(session_app, KEY), environ)
    assert response.status_code == 200 and response.json["data"] == {}


@given(tail=st.binary(max_size=200))
@settings(max_examples=100, deadline=None)
def test_any_signed_payload_that_is_not_a_record_gives_a_fresh_session(tail):
    c, mw = client()
    c.set_cookie("session", SignedSerializer([KEY], COOKIE_SALT).sign(tail.hex()))
    assert c.get("/").json["data"] == {}


# -- expiry ---------------------------------------------------------------------------------

@pytest.mark.parametrize("store", STORES)
def test_absolute_lifetime_is_enforced_on_the_server(store):
    c, mw = client(store, max_age=3600)
    c.get("/set?a=1")
    assert data(c.get("/")) == {"a": "1"}
    if store == "cookie":
        c.set_cookie("session", signed(record(created=time.time() - 3601)))
    else:
        sid, old = c.get("/id").json["id"], time.time() - 3601
        mw.store.save(sid, Changes({"a": '"1"'}, (), old, time.time()), 60, new=True)
    assert data(c.get("/")) == {}


def test_idle_timeout_ends_a_quiet_session_and_activity_refreshes_it():
    c, mw = client(idle_timeout=600)
    c.set_cookie("session", signed(record("D" * 43, last_seen=time.time() - 601)))
    assert data(c.get("/")) == {}
    c.set_cookie("session", signed(record("D" * 43, last_seen=time.time() - 300)))
    response = c.get("/")  # read only, but the last-seen time is due for a refresh
    assert data(response) == {"user": "mallory"} and set_cookies(response)
    assert set_cookies(c.get("/")) == []  # just refreshed: reads send nothing


def test_cookie_max_age_is_the_remaining_absolute_lifetime():
    c, mw = client(max_age=7200)
    c.set_cookie("session", signed(record(created=time.time() - 3600)))
    cookie = set_cookies(c.get("/set?a=1"))[0]
    assert 3590 <= int(attributes(cookie)["max-age"]) <= 3600


# -- key rotation ---------------------------------------------------------------------------

@pytest.mark.parametrize("store", STORES)
def test_cookie_signed_with_an_old_key_loads_and_is_resigned_with_the_new(store):
    store_obj = MemoryStore() if store == "memory" else "cookie"
    old = SessionMiddleware(session_app, OLD_KEY, store=store_obj)
    c = Client(old)
    c.get("/set?user=alice")
    rotated = SessionMiddleware(session_app, [KEY, OLD_KEY], store=store_obj)
    c.application = rotated
    response = c.get("/")
    assert data(response) == {"user": "alice"}
    resigned = cookie_value(response)
    new_only = Client(SessionMiddleware(session_app, KEY, store=store_obj))
    new_only.set_cookie("session", resigned)
    assert data(new_only.get("/")) == {"user": "alice"}
    assert set_cookies(c.get("/")) == []  # once re-signed, reads send nothing


# -- cookie attributes ----------------------------------------------------------------------

def attributes(cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in cookie.split(";")[1:]]
    return {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


def test_default_cookie_flags_are_safe_and_secure_follows_https():
    c, _ = client()
    plain = attributes(set_cookies(c.get("/set?a=1"))[0])
    assert {"httponly", "path", "samesite"} <= plain.keys() and "secure" not in plain
    assert plain["samesite"] == "Lax" and plain["path"] == "/"
    tls = attributes(set_cookies(c.get("/set?a=2", base_url="https://localhost/"))[0])
    assert "secure" in tls


def test_cookie_options_are_applied():
    c, _ = client(cookie_name="sid", path="/app", domain="example.com", secure=True,
                  httponly=False, samesite="Strict", partitioned=True)
    cookie = set_cookies(c.get("/set?a=1"))[0]
    attrs = attributes(cookie)
    assert cookie.startswith("sid=") and "httponly" not in attrs
    assert attrs["path"] == "/app" and attrs["domain"] == "example.com"
    assert attrs["samesite"] == "Strict" and {"secure", "partitioned"} <= attrs.keys()


def test_oversized_cookie_session_is_refused_logged_and_the_old_cookie_kept(caplog):
    c, _ = client(CookieStore(max_size=1000))
    c.get("/set?user=alice")
    with caplog.at_level(logging.ERROR, "middleware.sessions"):
        response = c.get("/set?blob=" + secrets.token_urlsafe(1500))
    assert response.status_code == 200 and set_cookies(response) == []
    assert any("session not saved" in r.getMessage() for r in caplog.records)
    assert data(c.get("/")) == {"user": "alice"}


def test_large_cookie_session_is_compressed_to_fit():
    c, _ = client()
    c.get("/set?blob=" + "ab" * 1500)
    assert len(c.get_cookie("session").value) < 1000
    assert data(c.get("/"))["blob"] == "ab" * 1500
    plain, _ = client(CookieStore(compress=False))
    assert set_cookies(plain.get("/set?blob=" + "ab" * 1500)) == []  # 4 KB without zlib


# -- options --------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "error", "name"), [
    ({"secret_key": ""}, ValueError, "secret_key"),
    ({"secret_key": []}, ValueError, "secret_key"),
    ({"secret_key": 42}, TypeError, "secret_key"),
    ({"store": "mysql://x"}, ValueError, "store"),
    ({"store": object()}, TypeError, "store"),
    ({"store": "sqlite:///"}, ValueError, "store"),
    ({"cookie_name": "bad name"}, ValueError, "cookie_name"),
    ({"max_age": 0}, ValueError, "max_age"),
    ({"max_age": "14d"}, TypeError, "max_age"),
    ({"idle_timeout": -1}, ValueError, "idle_timeout"),
    ({"path": "app"}, ValueError, "path"),
    ({"domain": "a;b"}, ValueError, "domain"),
    ({"secure": "yes"}, ValueError, "secure"),
    ({"httponly": "true"}, TypeError, "httponly"),
    ({"samesite": "lenient"}, ValueError, "samesite"),
    ({"samesite": "None", "secure": False}, ValueError, "samesite"),
    ({"partitioned": 1}, TypeError, "partitioned"),
])
def test_invalid_option_fails_at_construction_naming_it(options, error, name):
    options = {"secret_key": KEY, **options}
    with pytest.raises(error, match=name):
        SessionMiddleware(session_app, **options)


def test_store_urls_make_the_stores(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert isinstance(SessionMiddleware(session_app, KEY).store, CookieStore)
    assert isinstance(SessionMiddleware(session_app, KEY, store="memory").store, MemoryStore)
    relative = SessionMiddleware(session_app, KEY, store="sqlite:///s.db").store
    absolute = SessionMiddleware(session_app, KEY, store=f"sqlite:///{tmp_path}/a.db").store
    assert isinstance(relative, SQLiteStore) and relative.path == "s.db"
    assert absolute.path == f"{tmp_path}/a.db"
    redis_store = SessionMiddleware(session_app, KEY, store="redis://127.0.0.1:1/3").store
    assert isinstance(redis_store, RedisStore) and redis_store.prefix == "session:"


def test_repr_masks_the_secret():
    assert KEY not in repr(SessionMiddleware(session_app, KEY))


# -- PasteDeploy ----------------------------------------------------------------------------

def paste_app(global_conf, **local_conf):
    return session_app


def test_paste_filter_builds_the_middleware_from_ini_strings(tmp_path, monkeypatch):
    monkeypatch.setenv("SESSION_KEYS", f"{KEY}, {OLD_KEY}")
    ini = tmp_path / "app.ini"
    ini.write_text(f"""
[pipeline:main]
pipeline = session app

[filter:session]
use = egg:wsgi-middleware-suite#session
secret_key = env:SESSION_KEYS
store = sqlite:///{tmp_path}/sessions.db
max_age = 2h
idle_timeout = 15m
secure = auto
httponly = true
samesite = Strict

[app:app]
paste.app_factory = test_sessions:paste_app
""")
    app = loadapp(f"config:{ini}")
    assert isinstance(app, SessionMiddleware)
    assert (app.max_age, app.idle_timeout, app.samesite) == (7200, 900, "Strict")
    assert isinstance(app.store, SQLiteStore) and app.backend.codec.key_count == 2
    c = Client(app)
    c.get("/set?user=alice")
    assert data(c.get("/")) == {"user": "alice"}


def test_paste_filter_refuses_a_bad_value_naming_the_option(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("""
[pipeline:main]
pipeline = session app

[filter:session]
use = egg:wsgi-middleware-suite#session
secret_key = k
secure = maybe

[app:app]
paste.app_factory = test_sessions:paste_app
""")
    with pytest.raises(ValueError, match="secure"):
        loadapp(f"config:{ini}")


# -- structure and security ---------------------------------------------------------------------

def test_no_sessions_module_imports_a_private_name_of_another():
    """Each module of the package talks to the others through public names only."""
    import ast
    import pathlib

    import middleware.sessions as package

    crossings = []
    for path in pathlib.Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "")
                                                     .startswith("middleware")):
                crossings += [f"{path.name}: {node.module}.{alias.name}" for alias in node.names
                              if alias.name.startswith("_") and alias.name != "__future__"]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in {"base", "backend", "session", "signing", "cookie",
                                          "server", "memory", "sqlite", "redis"} \
                    and node.attr.startswith("_"):
                crossings.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert crossings == []


def test_request_data_in_session_log_lines_cannot_forge_a_line(caplog):
    c, _ = client()
    c.set_cookie("session", "tampered-value")
    with caplog.at_level(logging.INFO, "middleware.sessions"):
        c.get("/x%0aFORGED%20session%20line%0d", headers={"X-Forwarded-For": "1.2.3.4"})
    (line,) = [r.getMessage() for r in caplog.records]
    assert "session cookie ignored" in line
    assert "\n" not in line and "\r" not in line and "/x\\x0aFORGED" in line


def test_oversize_log_line_escapes_request_data(caplog):
    def app(environ, start_response):  # a key named by the client, as careless apps do
        get_session(environ)[environ["QUERY_STRING"]] = secrets.token_urlsafe(400)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]
    c = Client(SessionMiddleware(app, KEY, store=CookieStore(max_size=300)))
    with caplog.at_level(logging.ERROR, "middleware.sessions"):
        c.get("/set%0aFORGED?key%0d%0aFORGED")
    (line,) = [r.getMessage() for r in caplog.records]
    assert "session not saved" in line and "\n" not in line


def test_repr_of_a_redis_store_hides_its_password():
    store = RedisStore("redis://:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in repr(store) and "***" in repr(store)
    assert "hunter2" not in repr(SessionMiddleware(session_app, KEY, store=store))


def test_a_store_missing_protocol_methods_is_refused_at_construction_naming_them():
    class HalfStore:
        def load(self, session_id):
            return None

        def save(self, session_id, changes, ttl, *, new):
            return 0

    with pytest.raises(TypeError, match=r"SessionStore: missing delete\(\), ping\(\)"):
        SessionMiddleware(session_app, KEY, store=HalfStore())
