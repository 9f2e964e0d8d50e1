"""Server-side stores against the real thing: SQLite files shared by several gunicorn worker
processes, a real redis-server, real parallel requests, and stores that are down."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl
from wsgiref.validate import validator

import pytest
import requests
from werkzeug.test import Client

from harness import make_environ, serve
from middleware.sessions import (
    Changes,
    MemoryStore,
    RedisStore,
    SessionMiddleware,
    SQLiteStore,
    StoreUnavailable,
    get_session,
)
from middleware.sessions.middleware import ID_SALT
from middleware.sessions.signing import SignedSerializer
from redis_server import redis_server, redis_url, start_redis  # noqa: F401
from servers import PYTHON, free_port, run_server, serve_in_thread

KEY = "store-test-key-0123456789abcdef"


def store_app(environ, start_response):
    """``/login``, ``/incr``, ``/pair?v=`` (writes two keys together), ``/`` (reads)."""
    session = get_session(environ)
    path = environ["PATH_INFO"]
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/login":
        session["user"] = args.get("user", "alice")
        session.regenerate()
    elif path == "/incr":
        session["n"] = session.get("n", 0) + 1
    elif path == "/pair":
        session["a"] = args["v"]
        time.sleep(0.002)  # widen the window in which requests overlap
        session["b"] = args["v"]
    elif path == "/logout":
        session.invalidate()
    body = json.dumps({"data": dict(session), "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def sqlite_app():
    """The gunicorn entry point: ``store_app`` on the SQLite file named by ``SESSION_DB``."""
    return SessionMiddleware(store_app, KEY, store=SQLiteStore(os.environ["SESSION_DB"]))


# -- the store contract, for every server-side store -------------------------------------------

@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryStore()
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "sessions.db")
    return RedisStore(request.getfixturevalue("redis_url"), prefix="test:")


def changes(set_=None, deleted=(), created=1000.0, last_seen=None):
    return Changes(set_ or {}, deleted, created, last_seen or time.time())


def test_store_saves_loads_and_deletes(store):
    sid = "x" * 43
    assert store.load(sid) is None
    assert store.save(sid, changes({"a": "1", "b": '"two"'}), 60, new=True) > 0
    loaded = store.load(sid)
    assert dict(loaded.values) == {"a": "1", "b": '"two"'} and loaded.created == 1000.0
    store.delete(sid)
    store.delete(sid)  # unknown ids are fine
    assert store.load(sid) is None
    store.ping()


def test_store_merges_changes_into_the_record(store):
    sid = "m" * 43
    store.save(sid, changes({"a": "1", "b": "2", "c": "3"}), 60, new=True)
    # two requests' changes, each naming only its own keys: both survive
    assert store.save(sid, changes({"a": "10"}, deleted=["c"], last_seen=5000.0), 60,
                      new=False) > 0
    assert store.save(sid, changes({"d": "4"}, last_seen=6000.0), 60, new=False) > 0
    loaded = store.load(sid)
    assert dict(loaded.values) == {"a": "10", "b": "2", "d": "4"}
    assert (loaded.created, loaded.last_seen) == (1000.0, 6000.0)
    # a merge that removes the last keys deletes the record
    assert store.save(sid, changes(deleted=["a", "b", "d"]), 60, new=False) == 0
    assert store.load(sid) is None


def test_store_does_not_resurrect_a_deleted_session(store):
    store.save("y" * 43, changes({"a": "1"}), 60, new=True)
    store.delete("y" * 43)  # a concurrent logout
    assert store.save("y" * 43, changes({"late": "1"}), 60, new=False) is None
    assert store.load("y" * 43) is None


def test_new_save_replaces_whatever_was_under_the_id(store):
    store.save("w" * 43, changes({"a": "1"}), 60, new=True)
    store.save("w" * 43, changes({"b": "2"}), 60, new=True)
    assert dict(store.load("w" * 43).values) == {"b": "2"}


def test_sqlite_store_purges_expired_rows(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    store.save("live", changes({"a": "1"}), 60, new=True)
    store.save("dead", changes({"a": "1"}), 60, new=True)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("UPDATE session_records SET expires = ? WHERE id = 'dead'",
                     (time.time() - 1,))
    assert store.load("dead") is None  # expired rows are never served, swept or not
    assert store.save("dead", changes({"b": "2"}), 60, new=False) is None
    assert store.purge() == 1
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM session_records")] == ["live"]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_redis_store_keys_have_the_prefix_and_a_ttl(redis_server, redis_url):  # noqa: F811
    c = Client(SessionMiddleware(store_app, KEY, store=RedisStore(redis_url, prefix="app1:"),
                                 max_age=3600, idle_timeout=600))
    c.get("/incr")
    client = redis_server.admin
    (key,) = client.keys("*")
    assert key.startswith(b"app1:") and 590 <= client.ttl(key) <= 600
    record = client.hgetall(key)
    assert record[b"key:n"] == b"1" and len(record.pop(b"times").split()) == 2
    assert record == {b"key:n": b"1"}


def test_redis_key_of_another_format_is_an_unknown_session_not_a_503(redis_server, redis_url):  # noqa: F811
    mw = SessionMiddleware(store_app, KEY, store=RedisStore(redis_url))
    c = Client(mw)
    redis_server.admin.set("session:" + "s" * 43, '{"c":1,"t":1,"d":{}}')  # a string record
    c.set_cookie("session", SignedSerializer([KEY], ID_SALT).sign("s" * 43))
    response = c.get("/incr")
    assert response.status_code == 200 and response.json["data"] == {"n": 1}
    assert c.get_cookie("session").value != SignedSerializer([KEY], ID_SALT).sign("s" * 43)


def test_redis_store_loads_its_script_again_after_redis_forgot_it(redis_server, redis_url):  # noqa: F811
    c = Client(SessionMiddleware(store_app, KEY, store=RedisStore(redis_url)))
    c.get("/incr")
    redis_server.admin.script_flush()  # as after a restart
    c.get("/incr")
    assert c.get("/").json["data"] == {"n": 2}


def test_redis_store_merges_thousands_of_keys(redis_url):  # noqa: F811
    store = RedisStore(redis_url, prefix="many:")
    sid = "t" * 43
    store.save(sid, changes({f"k{i}": str(i) for i in range(1500)}), 60, new=True)
    assert store.save(sid, changes({"k0": "-1", "new": "1"},
                                   deleted=[f"k{i}" for i in range(1, 1400)]), 60, new=False) > 0
    assert dict(store.load(sid).values) == {"k0": "-1", "new": "1",
                                             **{f"k{i}": str(i) for i in range(1400, 1500)}}
    assert store.save(sid, changes(deleted=["k0", "new", *(f"k{i}" for i in range(1400, 1500))]),
                      60, new=False) == 0
    assert store.load(sid) is None


def test_redis_store_with_a_client_that_decodes_responses(redis_url):  # noqa: F811
    import redis

    store = RedisStore(client=redis.Redis.from_url(redis_url, decode_responses=True))
    c = Client(SessionMiddleware(store_app, KEY, store=store))
    c.get("/incr")
    c.get("/incr")
    assert c.get("/").json["data"] == {"n": 2}


def test_redis_store_over_a_unix_socket(redis_server):  # noqa: F811
    c = Client(SessionMiddleware(store_app, KEY, store=redis_server.unix_url))
    c.get("/incr")
    assert c.get("/").json["data"] == {"n": 1}


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_middleware_round_trip_and_login_fixation_defence(kind, tmp_path, request):
    store = (SQLiteStore(tmp_path / "s.db") if kind == "sqlite"
             else RedisStore(request.getfixturevalue("redis_url")))
    mw = SessionMiddleware(store_app, KEY, store=store)
    c = Client(mw)
    c.get("/incr")
    planted = c.get_cookie("session").value
    c.get("/login?user=alice")
    assert c.get_cookie("session").value != planted
    assert c.get("/").json["data"] == {"n": 1, "user": "alice"}
    attacker = Client(mw)
    attacker.set_cookie("session", planted)
    assert attacker.get("/").json["data"] == {}
    c.get("/logout")
    assert c.get_cookie("session") is None


# -- several real processes on one SQLite file ---------------------------------------------------

@pytest.fixture(scope="module")
def gunicorn_sqlite(tmp_path_factory):
    db = tmp_path_factory.mktemp("sqlite") / "sessions.db"
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}",
            "--pythonpath", os.path.dirname(__file__), "test_sessions_stores:sqlite_app()"]
    with run_server(args, port, env={"SESSION_DB": str(db)}):
        yield f"http://127.0.0.1:{port}", db


def test_sqlite_sessions_are_shared_by_worker_processes(gunicorn_sqlite):
    url, _ = gunicorn_sqlite
    with requests.Session() as browser:
        browser.get(url + "/login")
        for _ in range(12):
            response = browser.get(url + "/incr", headers={"Connection": "close"})
        assert response.json()["data"] == {"user": "alice", "n": 12}


def overlapping_pairs(url: str, cookie: str, writers: int = 4, each: int = 8) -> set[int]:
    """``writers`` threads send ``/pair`` requests of one session at once; returns the pids."""
    start = threading.Barrier(writers)

    def write(writer: int) -> list[tuple[int, int]]:
        start.wait()
        seen = []
        for i in range(each):
            response = requests.get(f"{url}/pair", params={"v": f"{writer}-{i}"},
                                    cookies={"session": cookie}, timeout=30)
            seen.append((response.status_code, response.json()["pid"]))
        return seen

    with ThreadPoolExecutor(writers) as pool:
        results = [r for rs in pool.map(write, range(writers)) for r in rs]
    assert {status for status, _ in results} == {200}
    return {pid for _, pid in results}


def test_sqlite_overlapping_requests_from_several_processes_never_tear_a_session(
        gunicorn_sqlite):
    url, db = gunicorn_sqlite
    login = requests.get(url + "/login?user=bob", timeout=30)
    pids: set[int] = set()
    # Workers boot after the port opens and the kernel picks who accepts: a busy machine can
    # hand one round to one worker, so run rounds until several processes took part.
    for _ in range(10):
        pids |= overlapping_pairs(url, login.cookies["session"])
        if len(pids) >= 2:
            break
    assert len(pids) >= 2, "the requests should have been served by several processes"
    final = requests.get(url + "/", cookies=login.cookies, timeout=30).json()["data"]
    # last write wins per request: both keys come from the same request, never a mix
    assert final["a"] == final["b"] and final["user"] == "bob"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_redis_overlapping_requests_never_tear_a_session(redis_url):  # noqa: F811
    app = SessionMiddleware(store_app, KEY, store=RedisStore(redis_url))
    with serve_in_thread(app) as url:
        login = requests.get(url + "/login?user=carol", timeout=30)
        overlapping_pairs(url, login.cookies["session"])
        final = requests.get(url + "/", cookies=login.cookies, timeout=30).json()["data"]
    assert final["a"] == final["b"] and final["user"] == "carol"


# -- a store that is down: a 503 page and a log line -----------------------------------------------

def down_stores(tmp_path):
    folder = tmp_path / "removed-dir"
    folder.mkdir()
    sqlite = SQLiteStore(folder / "s.db")
    folder.rmdir()  # gone after start-up: the database can no longer be opened
    return {
        "redis_refused": RedisStore(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.5),
        "sqlite_unopenable": sqlite,
    }


@pytest.mark.parametrize("kind", ["redis_refused", "sqlite_unopenable"])
@pytest.mark.parametrize("path", ["/incr", "/"])
def test_store_down_gives_a_503_page_and_a_log_line(kind, path, tmp_path, caplog):
    store = down_stores(tmp_path)[kind]
    mw = SessionMiddleware(store_app, KEY, store=store)
    c = Client(mw)
    if path == "/":  # an existing session: the load fails
        c.set_cookie("session", SignedSerializer([KEY], ID_SALT).sign("z" * 43))
    with caplog.at_level(logging.ERROR, "middleware.sessions"):
        response = c.get(path)
    assert response.status_code == 503
    assert b"Sessions are temporarily unavailable" in response.get_data()
    assert response.headers["Retry-After"] and "Set-Cookie" not in response.headers
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert [r.getMessage() for r in caplog.records if "store unavailable" in r.getMessage()]


def test_redis_that_goes_away_mid_session_gives_503_then_recovers(tmp_path):
    with start_redis(tmp_path) as server:
        c = Client(SessionMiddleware(store_app, KEY, store=RedisStore(server.url)))
        c.get("/incr")
        assert c.get("/").json["data"] == {"n": 1}
        server.stop()
        assert c.get("/incr").status_code == 503
        assert c.get_cookie("session") is not None  # the user keeps the cookie meanwhile
    with start_redis(tmp_path, port=server.port):  # back, empty (no persistence)
        assert c.get("/incr").json["data"] == {"n": 1}


def test_store_error_raised_from_the_store_names_the_operation(tmp_path):
    store = down_stores(tmp_path)["sqlite_unopenable"]
    with pytest.raises(StoreUnavailable, match=r"SQLiteStore\.load") as info:
        store.load("x")
    assert isinstance(info.value.__cause__, sqlite3.Error) and info.value.operation == "load"


@pytest.mark.parametrize("kind", ["redis_refused", "sqlite_unopenable"])
def test_ping_of_a_store_that_is_down_raises_store_unavailable(kind, tmp_path):
    with pytest.raises(StoreUnavailable, match="ping"):
        down_stores(tmp_path)[kind].ping()


def test_store_failing_after_start_response_restarts_the_response_as_503(tmp_path):
    """The app already called start_response: the 503 replaces it through exc_info."""
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(get_session(environ).get("user")).encode()]

    store = down_stores(tmp_path)["sqlite_unopenable"]
    mw = SessionMiddleware(validator(app), KEY, store=store)
    environ = make_environ(HTTP_COOKIE="session=" + SignedSerializer([KEY], ID_SALT).sign("z" * 43))
    result = serve(validator(mw), environ)
    assert result.error is None and result.status.startswith("503")
    assert b"temporarily unavailable" in result.body


def test_store_failing_once_the_body_is_with_the_server_propagates_to_it(tmp_path):
    """A generator app that responds lazily: the 503 cannot replace a body already handed
    over, so the error reaches the server (which logs it) instead of a wrong page."""
    def app(environ, start_response):
        get_session(environ)["user"] = "alice"
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"hello"

    mw = SessionMiddleware(app, KEY, store=down_stores(tmp_path)["sqlite_unopenable"])
    result = serve(mw, make_environ())
    assert isinstance(result.error, StoreUnavailable) and result.chunks == []


def test_rolling_idle_timeout_refreshes_the_redis_ttl_on_a_read(redis_server, redis_url):  # noqa: F811
    mw = SessionMiddleware(store_app, KEY, store=RedisStore(redis_url), idle_timeout=600)
    c = Client(mw)
    c.get("/incr")
    client = redis_server.admin
    (key,) = client.keys("*")
    stale = time.time() - 400
    client.hset(key, "times", f"{stale} {stale}")  # as if last seen 400 s ago
    client.expire(key, 200)
    response = c.get("/")  # a read: due for a refresh (more than a tenth of 600 s)
    assert response.json["data"] == {"n": 1} and "Set-Cookie" not in response.headers
    last_seen = float(client.hget(key, "times").split()[1])
    assert client.ttl(key) > 590 and last_seen > time.time() - 5


def test_memory_store_stays_within_max_entries():
    store = MemoryStore(max_entries=10)
    for i in range(25):
        store.save(f"{i:043d}", changes({"a": "1"}), 60 + i, new=True)
    assert len(store) <= 10
    assert store.load(f"{24:043d}") is not None  # the newest (latest expiry) survive


def test_sqlite_store_in_a_missing_folder_fails_at_construction(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        SQLiteStore(tmp_path / "missing" / "sessions.db")
