"""Any ``Cookie`` header, and session cookies of any shape (random, tampered, truncated,
re-signed, oversized, duplicated), through the session middleware on the cookie, memory,
SQLite and Redis (a real server) stores and through the full pipeline: a fresh session, never an error, and a cookie
that was not ours is never adopted."""

from __future__ import annotations

from functools import partial

import pytest
from fuzz_checks import SESSION_KEY, check, full_stack, fuzzed, touching_app
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

from middleware.sessions import (
    MemoryStore,
    RedisStore,
    SessionMiddleware,
    SQLiteStore,
    get_session,
)
from redis_server import redis_server  # noqa: F401 - the fixture

LATIN1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=500)
COOKIE_CHARS = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


def _issue(store) -> str:
    """A real session cookie value from ``store`` (a session holding ``n = 41``)."""
    def app(environ, start_response):
        get_session(environ)["n"] = 41
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    response = Client(SessionMiddleware(app, SESSION_KEY, store=store)).get("/")
    return response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]


@pytest.fixture(scope="module")
def stores(tmp_path_factory, redis_server):  # noqa: F811 - the fixture
    """Each store with one valid cookie it issued."""
    sqlite = SQLiteStore(tmp_path_factory.mktemp("cookie-fuzz") / "sessions.db")
    made = {"cookie": "cookie", "memory": MemoryStore(), "sqlite": sqlite,
            "redis": RedisStore(redis_server.url, prefix="cookie-fuzz:")}
    return {name: (store, _issue(store)) for name, store in made.items()}


def _mutations(valid: str):
    """Strategies for values derived from a valid cookie."""
    index = st.integers(0, max(len(valid) - 1, 0))
    return st.one_of(
        index.map(lambda i: valid[:i]),                                   # truncated
        st.tuples(index, st.characters(min_codepoint=33, max_codepoint=126)).map(
            lambda t: valid[:t[0]] + t[1] + valid[t[0] + 1:]),            # one char changed
        COOKIE_CHARS.map(lambda s: valid + s),                            # extended
        st.integers(2, 40).map(lambda n: valid * n),                      # repeated, huge
        st.just(valid.replace(".", "", 1)), st.just(valid.swapcase()),
    )


def _header(value, name="session"):
    return st.one_of(
        st.just(f"{name}={value}"),
        st.just(f'{name}="{value}"'),
        st.just(f"other=1; {name}={value}; {name}=x"),
        st.just(f"{name}=x; {name}={value}"),
    )


@given(data=st.data(), store=st.sampled_from(["cookie", "memory", "sqlite", "redis"]),
       stack=st.sampled_from(["session", "pipeline"]))
def test_any_cookie_holds_the_properties(stores, data, store, stack):
    fuzzed("Cookie")
    backend, valid = stores[store]
    value = data.draw(st.one_of(LATIN1, COOKIE_CHARS, _mutations(valid)), label="value")
    header = data.draw(st.one_of(LATIN1, _header(value)), label="header")
    if stack == "session":
        factory = partial(SessionMiddleware, secret_key=SESSION_KEY, store=backend)
    else:
        factory = partial(full_stack, store=backend)
    seen = {}

    def make_app(tracker):
        inner = touching_app(tracker)

        def app(environ, start_response):
            seen["n"] = get_session(environ).get("n")
            return inner(environ, start_response)
        return app

    result = check(factory, make_app, HTTP_COOKIE=header, PATH_INFO="/public/x")
    assert result.status.startswith("200")
    # only the exact cookie we issued carries the session; anything else is a fresh one
    assert seen["n"] is None or valid in header, (header, seen)
    cookies = [v for k, v in result.headers if k.lower() == "set-cookie"]
    assert len(cookies) <= 1 and all(c.startswith("session=") for c in cookies)
